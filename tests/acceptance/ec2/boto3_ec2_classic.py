#!/usr/bin/env python3
"""Acceptance test of EC2-Classic's Elastic IPs, image and instance
attributes, GetPasswordData and tags on images, security groups and key
pairs, with boto3 unchanged, and of the Network API seeing the same
addresses.

A project of its own (`eipacc`, noauth), whose instances boot on the
shared `private` network; the acceptance setup gives that network
devstack's `router1` to `public`, so addresses associate, and the
association is seen the same through EC2, the Network API and the
Compute API.

Environment (as tests/acceptance/run.sh sets it): EC2_URL, OS_COMPUTE_URL,
OS_COMPUTE_ROOT. Exits non-zero on the first failure.
"""
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

import boto3
import botocore
from botocore.config import Config

PROJECT = "eipacc"
URL = os.environ["EC2_URL"]
COMPUTE = os.environ["OS_COMPUTE_URL"].rstrip("/")
ROOT = os.environ.get("OS_COMPUTE_ROOT", COMPUTE.rsplit("/", 1)[0]).rstrip("/")
NETWORK = ROOT + "/network/v2.0"
FAST = {"Delay": 1, "MaxAttempts": 60}

ec2 = boto3.client("ec2", endpoint_url=URL, region_name="RegionOne",
                   aws_access_key_id=f"{PROJECT}:{PROJECT}", aws_secret_access_key="x",
                   config=Config(retries={"max_attempts": 1}))
failures = []


def check(name, cond, detail=""):
    print(f"{'ok  ' if cond else 'FAIL'} {name} {'' if cond else detail}")
    if not cond:
        failures.append(name)


def expect_error(name, code, fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        check(name, got == code, f"got {got}")
        return
    check(name, False, "no error raised")


def api(method, path, body=None, base=NETWORK):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "X-Auth-Token": f"{PROJECT}:{PROJECT}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
        return json.loads(text) if text else None


public = api("GET", "/networks?name=public")["networks"][0]["id"]
image_id = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]
run = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
iid = run["Instances"][0]["InstanceId"]
ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

# --- Elastic IPs ------------------------------------------------------------
made = ec2.allocate_address(Domain="standard")
ip = made["PublicIp"]
check("AllocateAddress standard", made.get("Domain") == "standard" and ip, made)
fips = api("GET", "/floatingips")["floatingips"]
check("the Network API sees the address", [f["floating_ip_address"] for f in fips] == [ip], fips)
listed = ec2.describe_addresses()["Addresses"]
check("DescribeAddresses", [(a["PublicIp"], a["Domain"]) for a in listed] == [(ip, "standard")], listed)
other = api("POST", "/floatingips", {"floatingip": {"floating_network_id": public}})["floatingip"]
listed = ec2.describe_addresses(PublicIps=[other["floating_ip_address"]])["Addresses"]
check("an address made by the Network API is seen by DescribeAddresses",
      [a["PublicIp"] for a in listed] == [other["floating_ip_address"]], listed)
listed = ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [ip]}])["Addresses"]
check("DescribeAddresses public-ip filter", [a["PublicIp"] for a in listed] == [ip], listed)
ec2.disassociate_address(PublicIp=ip)
check("DisassociateAddress of an unassociated address", True)

# --- AssociateAddress / DisassociateAddress, seen through every API ---------
def instance():
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def fip_of(addr):
    return api("GET", "/floatingips?floating_ip_address=" + addr)["floatingips"][0]


def server_floating():
    server = api("GET", "/servers/" + server_uuid, base=COMPUTE)["server"]
    return [a["addr"] for n in server["addresses"].values() for a in n
            if a.get("OS-EXT-IPS:type") == "floating"]


fixed = instance()["PrivateIpAddress"]
server_uuid = [p["device_id"] for p in api("GET", "/ports")["ports"]
               if any(f["ip_address"] == fixed for f in p["fixed_ips"])][0]
before = instance()
check("an instance without an address has the fixed one as ipAddress",
      before.get("PublicIpAddress") in (None, fixed), before)
resp = ec2.associate_address(InstanceId=iid, PublicIp=ip)
check("AssociateAddress answers", resp["ResponseMetadata"]["HTTPStatusCode"] == 200, resp)
now = instance()
check("ipAddress follows AssociateAddress", now.get("PublicIpAddress") == ip, now)
check("dnsName follows AssociateAddress", now.get("PublicDnsName") == ip, now)
listed = ec2.describe_addresses(PublicIps=[ip])["Addresses"]
check("DescribeAddresses shows the instance and its private address",
      [(a.get("InstanceId"), a.get("PrivateIpAddress")) for a in listed] == [(iid, fixed)], listed)
listed = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [iid]}])["Addresses"]
check("DescribeAddresses instance-id filter", [a["PublicIp"] for a in listed] == [ip], listed)
fip = fip_of(ip)
check("the Network API sees the association",
      (fip["fixed_ip_address"], fip["port_id"] is not None) == (fixed, True), fip)
check("the Compute API lists the floating address", server_floating() == [ip], server_floating())
expect_error("AssociateAddress of an unknown address", "InvalidAddress.NotFound",
             lambda: ec2.associate_address(InstanceId=iid, PublicIp="192.0.2.254"))
ec2.disassociate_address(PublicIp=ip)
now = instance()
check("ipAddress leaves with DisassociateAddress", now.get("PublicIpAddress") != ip, now)
fip = fip_of(ip)
check("the Network API sees the disassociation",
      (fip["fixed_ip_address"], fip["port_id"]) == (None, None), fip)
check("the Compute API drops the floating address", server_floating() == [], server_floating())
# and the other way round: the Network API associates, EC2 sees it
port = [p for p in api("GET", "/ports")["ports"] if p["device_id"] == server_uuid][0]
api("PUT", "/floatingips/" + other["id"], {"floatingip": {"port_id": port["id"]}})
listed = ec2.describe_addresses(PublicIps=[other["floating_ip_address"]])["Addresses"]
check("an association made by the Network API is seen by DescribeAddresses",
      [a.get("InstanceId") for a in listed] == [iid], listed)
check("and by DescribeInstances", instance().get("PublicIpAddress") == other["floating_ip_address"],
      instance())
ec2.disassociate_address(PublicIp=other["floating_ip_address"])
check("EC2 disassociates what the Network API associated",
      fip_of(other["floating_ip_address"])["port_id"] is None)
expect_error("DescribeAddresses invalid ip", "InvalidParameterValue",
             lambda: ec2.describe_addresses(PublicIps=["invalidIp"]))
expect_error("ReleaseAddress both forms", "InvalidParameterCombination",
             lambda: ec2.release_address(PublicIp=ip, AllocationId="eipalloc-00000001"))
ec2.release_address(PublicIp=ip)
expect_error("ReleaseAddress released", "InvalidAddress.NotFound",
             lambda: ec2.release_address(PublicIp=ip))
ec2.release_address(PublicIp=other["floating_ip_address"])
check("released addresses leave the Network API", api("GET", "/floatingips")["floatingips"] == [])

# --- instance attributes, password ------------------------------------------
expect_error("DescribeInstanceAttribute sourceDestCheck", "InvalidParameterCombination",
             lambda: ec2.describe_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck"))
expect_error("ModifyInstanceAttribute without a value", "MissingParameter",
             lambda: ec2.modify_instance_attribute(InstanceId=iid, Attribute="disableApiTermination"))
expect_error("ModifyInstanceAttribute nothing", "InvalidParameterCombination",
             lambda: ec2.modify_instance_attribute(InstanceId=iid))
expect_error("ResetInstanceAttribute instanceType", "InvalidParameterValue",
             lambda: ec2.reset_instance_attribute(InstanceId=iid, Attribute="instanceType"))
ec2.reset_instance_attribute(InstanceId=iid, Attribute="kernel")
check("ResetInstanceAttribute kernel", True)
pw = ec2.get_password_data(InstanceId=iid)
check("GetPasswordData", pw["InstanceId"] == iid and "PasswordData" in pw and pw.get("Timestamp"), pw)

# --- images -----------------------------------------------------------------
expect_error("DescribeImageAttribute of another project's image", "AuthFailure",
             lambda: ec2.describe_image_attribute(ImageId=image_id, Attribute="description"))
expect_error("DescribeImageAttribute unsupported", "InvalidRequest",
             lambda: ec2.describe_image_attribute(ImageId=image_id, Attribute="unsupported"))
expect_error("ModifyImageAttribute of another project's image", "AuthFailure",
             lambda: ec2.modify_image_attribute(ImageId=image_id, Description={"Value": "x"}))
expect_error("ResetImageAttribute of another project's image", "AuthFailure",
             lambda: ec2.reset_image_attribute(ImageId=image_id, Attribute="launchPermission"))
expect_error("DeregisterImage of another project's image", "AuthFailure",
             lambda: ec2.deregister_image(ImageId=image_id))
expect_error("CreateImage on an instance-store root", "InvalidParameterValue",
             lambda: ec2.create_image(InstanceId=iid, Name="acc-" + uuid.uuid4().hex[:8]))

# --- tags on images and security groups -------------------------------------
sg = ec2.create_security_group(
    GroupName="acc-" + uuid.uuid4().hex[:8], Description="tagged",
    TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "tier", "Value": "web"}]}])["GroupId"]
ec2.create_tags(Resources=[image_id], Tags=[{"Key": "seen-by", "Value": PROJECT}])
tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [image_id, sg]}])["Tags"]
check("DescribeTags across images and groups",
      sorted((t["ResourceType"], t["Key"], t["Value"]) for t in tags)
      == [("image", "seen-by", PROJECT), ("security-group", "tier", "web")], tags)
imgs = ec2.describe_images(Filters=[{"Name": "tag:seen-by", "Values": [PROJECT]}])["Images"]
check("DescribeImages tag filter", [i["ImageId"] for i in imgs] == [image_id], imgs)
groups = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"]
check("DescribeSecurityGroups tagSet", groups[0].get("Tags") == [{"Key": "tier", "Value": "web"}], groups)
pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
check("paginator describe_tags", sum(len(p["Tags"]) for p in pages) >= 2, pages)
kp_name = "acc-" + uuid.uuid4().hex[:8]
kp = ec2.create_key_pair(KeyName=kp_name, TagSpecifications=[
    {"ResourceType": "key-pair", "Tags": [{"Key": "tier", "Value": "ops"}]}])
check("CreateKeyPair TagSpecifications", kp.get("KeyPairId", "").startswith("key-")
      and kp.get("Tags") == [{"Key": "tier", "Value": "ops"}], {k: v for k, v in kp.items() if k != "KeyMaterial"})
keys = ec2.describe_key_pairs(Filters=[{"Name": "tag:tier", "Values": ["ops"]}])["KeyPairs"]
check("DescribeKeyPairs tag filter", [(k["KeyName"], k.get("Tags")) for k in keys]
      == [(kp_name, [{"Key": "tier", "Value": "ops"}])], keys)
tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["key-pair"]}])["Tags"]
check("DescribeTags key-pair", [(t["ResourceId"], t["Key"]) for t in tags] == [(kp["KeyPairId"], "tier")], tags)
expect_error("CreateKeyPair with another kind's TagSpecifications", "InvalidParameterValue",
             lambda: ec2.create_key_pair(KeyName=kp_name + "x", TagSpecifications=[
                 {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]))
ec2.delete_key_pair(KeyName=kp_name)
tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["key-pair"]}])["Tags"]
check("DeleteKeyPair takes its tags", tags == [], tags)
ec2.delete_tags(Resources=[image_id], Tags=[{"Key": "seen-by"}])
ec2.delete_security_group(GroupId=sg)
left = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [image_id, sg]}])["Tags"]
check("DeleteTags and DeleteSecurityGroup leave no tags", left == [], left)

ec2.terminate_instances(InstanceIds=[iid])
ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
