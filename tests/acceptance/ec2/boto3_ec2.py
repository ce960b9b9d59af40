#!/usr/bin/env python3
"""Acceptance test of the EC2 Query API with boto3, unchanged.

Environment:
  EC2_URL                 endpoint, e.g. http://127.0.0.1:8773/
  AWS_ACCESS_KEY_ID       access key (noauth: user:project, e.g. demo:demo)
  AWS_SECRET_ACCESS_KEY   its secret (anything under noauth)
  EC2_AUTH_MODE           noauth (default) or signature: signature also checks
                          that bad signatures are refused
  EC2_REGION              region name the client signs for (default RegionOne)

Exits non-zero on the first failure, printing which check failed.
"""
import base64
import datetime
import os
import sys
import time
import urllib.request
import urllib.error
import uuid
from unittest import mock

import boto3
import botocore
from botocore.awsrequest import AWSRequest
from botocore.auth import SigV4Auth
from botocore.config import Config
from botocore.credentials import Credentials

URL = os.environ["EC2_URL"]
KEY = os.environ["AWS_ACCESS_KEY_ID"]
SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
MODE = os.environ.get("EC2_AUTH_MODE", "noauth")
REGION = os.environ.get("EC2_REGION", "RegionOne")
FAST = {"Delay": 1, "MaxAttempts": 60}


def client(key=KEY, secret=SECRET):
    return boto3.client("ec2", endpoint_url=URL, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


ec2 = client()
failures = []


def check(name, cond, detail=""):
    if cond:
        print(f"ok   {name}")
    else:
        print(f"FAIL {name} {detail}")
        failures.append(name)


def expect_error(name, code, fn, status=None):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        st = e.response["ResponseMetadata"]["HTTPStatusCode"]
        check(name, got == code and (status is None or st == status), f"got {got} {st}")
        return
    check(name, False, "no error raised")


def state_of(iid):
    r = ec2.describe_instances(InstanceIds=[iid])
    return r["Reservations"][0]["Instances"][0]["State"]["Name"]


# --- endpoint and account --------------------------------------------------
regions = ec2.describe_regions()["Regions"]
check("DescribeRegions", len(regions) >= 1 and regions[0]["RegionName"], regions)
zones = ec2.describe_availability_zones()["AvailabilityZones"]
check("DescribeAvailabilityZones", any(z["State"] == "available" for z in zones), zones)
zone = zones[0]["ZoneName"]
attrs = ec2.describe_account_attributes()["AccountAttributes"]
check("DescribeAccountAttributes", any(a["AttributeName"] == "supported-platforms" for a in attrs), attrs)
groups = ec2.describe_security_groups()["SecurityGroups"]
check("DescribeSecurityGroups default", any(g["GroupName"] == "default" for g in groups), groups)

# --- security groups --------------------------------------------------------
sgname = f"acc-{uuid.uuid4().hex[:8]}"
sg = ec2.create_security_group(GroupName=sgname, Description="acceptance")["GroupId"]
check("CreateSecurityGroup id", sg.startswith("sg-"), sg)
expect_error("CreateSecurityGroup duplicate", "InvalidGroup.Duplicate",
             lambda: ec2.create_security_group(GroupName=sgname, Description="again"), 400)
ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=ssh)
expect_error("AuthorizeSecurityGroupIngress duplicate", "InvalidPermission.Duplicate",
             lambda: ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=ssh), 400)
got = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"]
perms = got[0]["IpPermissions"] if got else []
check("DescribeSecurityGroups shows the rule",
      [(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), [r["CidrIp"] for r in p["IpRanges"]])
       for p in perms] == [("tcp", 22, 22, ["10.0.0.0/8"])], got)
byfilter = ec2.describe_security_groups(
    Filters=[{"Name": "ip-permission.cidr", "Values": ["10.0.0.0/8"]}])["SecurityGroups"]
check("DescribeSecurityGroups ip-permission filter", [g["GroupId"] for g in byfilter] == [sg], byfilter)
ec2.revoke_security_group_ingress(GroupName=sgname, IpProtocol="tcp", FromPort=22, ToPort=22,
                                  CidrIp="10.0.0.0/8")
perms = ec2.describe_security_groups(GroupNames=[sgname])["SecurityGroups"][0]["IpPermissions"]
check("RevokeSecurityGroupIngress", perms == [], perms)
again = ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=ssh)
check("RevokeSecurityGroupIngress again lists the unknown rule",
      again.get("Return") is True and [p.get("FromPort") for p in again.get("UnknownIpPermissions", [])] == [22],
      again)
ec2.delete_security_group(GroupId=sg)
expect_error("DeleteSecurityGroup gone", "InvalidGroup.NotFound",
             lambda: ec2.describe_security_groups(GroupIds=[sg]), 400)
expect_error("DeleteSecurityGroup default", "InvalidGroup.Reserved",
             lambda: ec2.delete_security_group(GroupName="default"), 400)

# --- images -----------------------------------------------------------------
images = ec2.describe_images()["Images"]
check("DescribeImages lists the seeded image", len(images) >= 1, images)
image_id = images[0]["ImageId"]
check("image id is ami-%08x", image_id.startswith("ami-") and len(image_id) == 12, image_id)
one = ec2.describe_images(ImageIds=[image_id])["Images"]
check("DescribeImages ImageId.N", [i["ImageId"] for i in one] == [image_id], one)
byname = ec2.describe_images(Filters=[{"Name": "name", "Values": [images[0].get("Name", "")]}])["Images"]
check("DescribeImages name filter", image_id in [i["ImageId"] for i in byname], byname)
expect_error("DescribeImages unknown id", "InvalidAMIID.NotFound",
             lambda: ec2.describe_images(ImageIds=["ami-7fffffff"]), 400)

# --- key pairs --------------------------------------------------------------
kname = f"acc-{uuid.uuid4().hex[:8]}"
kp = ec2.create_key_pair(KeyName=kname)
check("CreateKeyPair returns private key", "PRIVATE KEY" in kp.get("KeyMaterial", ""), kp.keys())
check("CreateKeyPair fingerprint", kp.get("KeyFingerprint"), kp)
expect_error("CreateKeyPair duplicate", "InvalidKeyPair.Duplicate",
             lambda: ec2.create_key_pair(KeyName=kname), 400)
pub = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC4AN/T3RiQWMIHhSthWTve5Q6L1Kh4FyVIlzUeasf58LG6JFvIBIyWiEIv3u/TlzpkZtpY1lsSW3KQWwDK4etO9eUi9WPUAQQmzDgaZlrV4SNnZPHDUPdbAIe877kU3YheOmE0oyY0OY+ssNuv6Ybv/uuB9uMTPEz4L5059Ls0tw== acc@test"
iname = kname + "-imp"
imp = ec2.import_key_pair(KeyName=iname, PublicKeyMaterial=pub.encode())
check("ImportKeyPair", imp.get("KeyName") == iname and imp.get("KeyFingerprint"), imp)
names = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
check("DescribeKeyPairs lists both", kname in names and iname in names, names)
only = ec2.describe_key_pairs(KeyNames=[kname])["KeyPairs"]
check("DescribeKeyPairs KeyName.N", [k["KeyName"] for k in only] == [kname], only)
expect_error("DescribeKeyPairs unknown", "InvalidKeyPair.NotFound",
             lambda: ec2.describe_key_pairs(KeyNames=["no-such-key-" + kname]), 400)

# --- instances --------------------------------------------------------------
token = str(uuid.uuid4())
user_data = "#!/bin/sh\necho hello\n"
run = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, InstanceType="m1.tiny",
                        KeyName=kname, UserData=user_data, ClientToken=token,
                        Placement={"AvailabilityZone": zone},
                        TagSpecifications=[{"ResourceType": "instance",
                                            "Tags": [{"Key": "Name", "Value": "acc-web"},
                                                     {"Key": "suite", "Value": kname}]}])
iids = [i["InstanceId"] for i in run["Instances"]]
check("RunInstances creates MinCount", len(iids) == 2, run)
check("instance id is i-%08x", all(i.startswith("i-") and len(i) == 10 for i in iids), iids)
check("RunInstances state pending or running",
      all(i["State"]["Name"] in ("pending", "running") for i in run["Instances"]), run["Instances"])
again = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, InstanceType="m1.tiny",
                          KeyName=kname, ClientToken=token)
check("RunInstances ClientToken is idempotent",
      sorted(i["InstanceId"] for i in again["Instances"]) == sorted(iids), again["Instances"])

ec2.get_waiter("instance_running").wait(InstanceIds=iids, WaiterConfig=FAST)
check("waiter instance_running", all(state_of(i) == "running" for i in iids))

desc = ec2.describe_instances(InstanceIds=iids)
insts = [i for r in desc["Reservations"] for i in r["Instances"]]
first = insts[0]
check("DescribeInstances InstanceId.N", sorted(i["InstanceId"] for i in insts) == sorted(iids), insts)
check("instance fields", first["ImageId"] == image_id and first["InstanceType"] == "m1.tiny"
      and first["KeyName"] == kname and first["Placement"]["AvailabilityZone"] == zone
      and first.get("PrivateIpAddress"), first)
tags = {t["Key"]: t["Value"] for t in first.get("Tags", [])}
check("TagSpecifications applied", tags.get("Name") == "acc-web" and tags.get("suite") == kname, tags)

def ids_for(filters):
    r = ec2.describe_instances(Filters=filters)
    return sorted(i["InstanceId"] for res in r["Reservations"] for i in res["Instances"])

check("filter tag:suite", ids_for([{"Name": "tag:suite", "Values": [kname]}]) == sorted(iids))
check("filter tag-key", set(iids) <= set(ids_for([{"Name": "tag-key", "Values": ["suite"]}])))
check("filter instance-state-name", set(iids) <= set(ids_for([{"Name": "instance-state-name", "Values": ["running"]}])))
check("filter instance-id", ids_for([{"Name": "instance-id", "Values": [iids[0]]}]) == [iids[0]])
check("filter instance-type", set(iids) <= set(ids_for([{"Name": "instance-type", "Values": ["m1.tiny"]}])))
check("filter image-id", set(iids) <= set(ids_for([{"Name": "image-id", "Values": [image_id]}])))
check("filter key-name", ids_for([{"Name": "key-name", "Values": [kname]}]) == sorted(iids))
check("filter availability-zone", set(iids) <= set(ids_for([{"Name": "availability-zone", "Values": [zone]}])))
check("filter private-ip-address",
      ids_for([{"Name": "private-ip-address", "Values": [first["PrivateIpAddress"]]}]) == [first["InstanceId"]])
check("filter with no match", ids_for([{"Name": "tag:suite", "Values": ["nothing-" + kname]}]) == [])

pages = list(ec2.get_paginator("describe_instances").paginate(
    Filters=[{"Name": "tag:suite", "Values": [kname]}], PaginationConfig={"PageSize": 5}))
paged = sorted(i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"])
check("paginator describe_instances", paged == sorted(iids), paged)
# More instances than a page, to see NextToken at work.
extra = ec2.run_instances(ImageId=image_id, MinCount=5, MaxCount=5, InstanceType="m1.tiny",
                          TagSpecifications=[{"ResourceType": "instance",
                                              "Tags": [{"Key": "suite", "Value": kname}]}])
extra_ids = [i["InstanceId"] for i in extra["Instances"]]
pages = list(ec2.get_paginator("describe_instances").paginate(
    Filters=[{"Name": "tag:suite", "Values": [kname]}], PaginationConfig={"PageSize": 5}))
paged = sorted(i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"])
check("paginator walks NextToken pages", len(pages) >= 2 and paged == sorted(iids + extra_ids),
      (len(pages), paged))
expect_error("MaxResults with InstanceId", "InvalidParameterCombination",
             lambda: ec2.describe_instances(InstanceIds=iids, MaxResults=5), 400)

st = ec2.describe_instance_status(InstanceIds=iids)["InstanceStatuses"]
check("DescribeInstanceStatus", sorted(s["InstanceId"] for s in st) == sorted(iids)
      and all(s["InstanceState"]["Name"] == "running" for s in st), st)
pages = list(ec2.get_paginator("describe_instance_status").paginate(InstanceIds=iids))
check("paginator describe_instance_status", sum(len(p["InstanceStatuses"]) for p in pages) == 2)

iid = iids[0]
ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
check("DescribeInstanceAttribute userData",
      base64.b64decode(ud["UserData"]["Value"]).decode() == user_data, ud)
it = ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")
check("DescribeInstanceAttribute instanceType", it["InstanceType"]["Value"] == "m1.tiny", it)
rd = ec2.describe_instance_attribute(InstanceId=iid, Attribute="rootDeviceName")
check("DescribeInstanceAttribute rootDeviceName", rd["RootDeviceName"]["Value"].startswith("/dev/"), rd)
ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
da = ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
check("ModifyInstanceAttribute disableApiTermination", da["DisableApiTermination"]["Value"] is True, da)
expect_error("TerminateInstances protected", "OperationNotPermitted",
             lambda: ec2.terminate_instances(InstanceIds=[iid]), 400)
ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
expect_error("DescribeInstanceAttribute bad attribute", "InvalidParameterValue",
             lambda: ec2.describe_instance_attribute(InstanceId=iid, Attribute="colour"), 400)

out = ec2.get_console_output(InstanceId=iid)
check("GetConsoleOutput", out["InstanceId"] == iid and "Output" in out, out)

stop = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
check("StopInstances states", stop["PreviousState"]["Name"] == "running"
      and stop["CurrentState"]["Name"] in ("stopping", "stopped"), stop)
ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
check("waiter instance_stopped", state_of(iid) == "stopped")
expect_error("RebootInstances when stopped", "IncorrectInstanceState",
             lambda: ec2.reboot_instances(InstanceIds=[iid]), 400)
start = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
check("StartInstances states", start["PreviousState"]["Name"] == "stopped"
      and start["CurrentState"]["Name"] in ("pending", "running"), start)
ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
ec2.reboot_instances(InstanceIds=[iid])
check("RebootInstances", True)

# No block storage: every root is the instance store, and CreateImage
# answers as nova's EC2 API did (snapshots are the compute API's).
expect_error("CreateImage on an instance-store root", "InvalidParameterValue",
             lambda: ec2.create_image(InstanceId=iid, Name="acc-snap-" + kname), 400)
expect_error("CreateImage with a name the project uses", "InvalidAMIName.Duplicate",
             lambda: ec2.create_image(InstanceId=iid, Name=images[0]["Name"]), 400)
ec2.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig=FAST)
check("waiter image_available", True)
mine = ec2.describe_images(Owners=["self"])["Images"]
check("DescribeImages Owner self", image_id in [i["ImageId"] for i in mine], mine)

# --- tags -------------------------------------------------------------------
ec2.create_tags(Resources=iids, Tags=[{"Key": "env", "Value": "acc"}, {"Key": "owner", "Value": "qa"}])
tagged = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
check("CreateTags/DescribeTags", {"env", "owner", "Name", "suite"} <= {t["Key"] for t in tagged}
      and all(t["ResourceType"] == "instance" for t in tagged), tagged)
pages = list(ec2.get_paginator("describe_tags").paginate(
    Filters=[{"Name": "key", "Values": ["env"]}, {"Name": "resource-id", "Values": iids}],
    PaginationConfig={"PageSize": 5}))
check("paginator describe_tags", sum(len(p["Tags"]) for p in pages) == 2, pages)
ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env"}, {"Key": "owner", "Value": "not-qa"}])
left = {t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]}
check("DeleteTags (key only, value mismatch kept)", "env" not in left and "owner" in left, left)

# --- errors -----------------------------------------------------------------
expect_error("unknown instance", "InvalidInstanceID.NotFound",
             lambda: ec2.describe_instances(InstanceIds=["i-7ffffff0"]), 400)
expect_error("malformed instance id", "InvalidInstanceID.Malformed",
             lambda: ec2.terminate_instances(InstanceIds=["instance-1"]), 400)
expect_error("RunInstances unknown image", "InvalidAMIID.NotFound",
             lambda: ec2.run_instances(ImageId="ami-7ffffff0", MinCount=1, MaxCount=1), 400)
expect_error("RunInstances unknown key", "InvalidKeyPair.NotFound",
             lambda: ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, KeyName="nokey-" + kname), 400)
expect_error("RunInstances over quota", "InstanceLimitExceeded",
             lambda: ec2.run_instances(ImageId=image_id, MinCount=100000, MaxCount=100000), 400)
expect_error("RunInstances missing ImageId", "MissingParameter",
             lambda: ec2._make_api_call("RunInstances", {"MinCount": 1, "MaxCount": 1}), 400)
expect_error("RunInstances bad count", "InvalidParameterValue",
             lambda: ec2.run_instances(ImageId=image_id, MinCount=3, MaxCount=1), 400)


def raw_post(body, headers=None):
    req = urllib.request.Request(URL, data=body.encode(), method="POST",
                                 headers=headers or {"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def signed_post(body):
    req = AWSRequest(method="POST", url=URL, data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(KEY, SECRET), "ec2", REGION).add_auth(req)
    return raw_post(body, dict(req.headers.items()))


st, body = signed_post(f"Action=LaunchRockets&Version=2016-11-15&AWSAccessKeyId={KEY}")
check("InvalidAction", st == 400 and "<Code>InvalidAction</Code>" in body, (st, body))

# --- auth -------------------------------------------------------------------
if MODE == "signature":
    expect_error("wrong secret", "SignatureDoesNotMatch",
                 lambda: client(secret=SECRET + "x").describe_regions(), 403)
    expect_error("unknown access key", "AuthFailure",
                 lambda: client(key="AKIDUNKNOWN" + kname, secret="x").describe_regions(), 401)
    # A request signed ten minutes ago.
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    req = AWSRequest(method="POST", url=URL, data="Action=DescribeRegions&Version=2016-11-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    with mock.patch("botocore.auth.get_current_datetime", return_value=old):
        SigV4Auth(Credentials(KEY, SECRET), "ec2", REGION).add_auth(req)
    st, body = raw_post(req.body if isinstance(req.body, str) else req.body.decode(), dict(req.headers.items()))
    check("expired signature is RequestExpired", st == 400 and "<Code>RequestExpired</Code>" in body, (st, body))
    # A tampered parameter after signing.
    req = AWSRequest(method="POST", url=URL, data="Action=DescribeRegions&Version=2016-11-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(KEY, SECRET), "ec2", REGION).add_auth(req)
    st, body = raw_post("Action=DescribeAccountAttributes&Version=2016-11-15", dict(req.headers.items()))
    check("tampered parameter is refused", st == 403 and "SignatureDoesNotMatch" in body, (st, body))
    # A presigned URL.
    url = ec2.generate_presigned_url("describe_regions", ExpiresIn=60, HttpMethod="GET")
    with urllib.request.urlopen(url) as r:
        check("presigned URL", r.status == 200 and b"regionInfo" in r.read())
else:
    noauth = client(key="someone:" + kname, secret="whatever")
    mine = noauth.describe_instances(Filters=[{"Name": "tag:suite", "Values": [kname]}])["Reservations"]
    check("noauth scopes to the access key's project", mine == [], mine)

# --- clean up ---------------------------------------------------------------
term = ec2.terminate_instances(InstanceIds=iids + extra_ids)["TerminatingInstances"]
check("TerminateInstances states", all(t["CurrentState"]["Name"] in ("shutting-down", "terminated")
                                       and t["PreviousState"]["Name"] in ("running", "pending", "stopped")
                                       for t in term), term)
ec2.get_waiter("instance_terminated").wait(InstanceIds=iids, WaiterConfig=FAST)
check("waiter instance_terminated", all(state_of(i) == "terminated" for i in iids))
ec2.delete_key_pair(KeyName=kname)
ec2.delete_key_pair(KeyName=iname)
names = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
check("DeleteKeyPair", kname not in names and iname not in names, names)

if failures:
    print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    sys.exit(1)
print("all boto3 checks passed")
