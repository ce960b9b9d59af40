#!/usr/bin/env python3
"""Client smoke test of a running deployment (the containers, or any other):
the openstack CLI creates, lists and deletes a server; boto3 describes, runs
and terminates an instance; cloud-init's readers read a server's metadata
through signed proxy headers.

  smoke.py --compute URL --ec2 URL --metadata URL --metadata-secret SECRET

URL forms: compute http://host:port/v2.1, ec2 http://host:port/, metadata
http://host:port. Needs the venv's clients on PATH and Debian's cloud-init
on PYTHONPATH (scripts/install-test-deps). Exit status 0 when every step
held; each step prints one line."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
READ_INSTANCE = os.path.join(HERE, "..", "metadata", "read_instance.py")


def step(name):
    print("smoke: " + name, flush=True)


def openstack(env, *args):
    """Runs the openstack CLI; returns its parsed JSON output."""
    out = subprocess.run(["openstack", *args, "-f", "json"], env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout) if out.stdout.strip() else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compute", required=True)
    ap.add_argument("--ec2", required=True)
    ap.add_argument("--metadata", required=True)
    ap.add_argument("--metadata-secret", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    clouds = os.path.join(tmp, "clouds.yaml")
    with open(clouds, "w") as f:
        f.write(
            "clouds:\n  smoke:\n    auth_type: admin_token\n    auth:\n"
            f"      endpoint: {a.compute}\n      token: admin:admin\n"
            f"    identity_api_version: '3'\n    identity_endpoint_override: {a.compute}\n")
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds, OS_CLOUD="smoke")
    for k in [k for k in env if k.startswith("OS_") and k not in ("OS_CLIENT_CONFIG_FILE", "OS_CLOUD")]:
        del env[k]

    # --- openstack CLI ---------------------------------------------------
    name = "smoke-%d" % os.getpid()
    step("openstack image list; server create --wait " + name)
    images = openstack(env, "image", "list")
    assert images, "openstack image list: no image"
    server = openstack(env, "server", "create", "--flavor", "m1.tiny", "--image", images[0]["ID"],
                       "--nic", "none", "--wait", name)
    assert server["status"] == "ACTIVE", server
    step("openstack server list")
    names = [s["Name"] for s in openstack(env, "server", "list")]
    assert name in names, names

    # --- cloud-init readers, as the new server ---------------------------
    step("cloud-init readers for " + server["id"])
    md_env = dict(os.environ, METADATA_URL=a.metadata, METADATA_INSTANCE_ID=server["id"],
                  METADATA_TENANT_ID=server.get("project_id") or "admin",
                  METADATA_SHARED_SECRET=a.metadata_secret, EXPECT_UUID=server["id"])
    subprocess.run([sys.executable, READ_INSTANCE], env=md_env, check=True, timeout=120)

    step("openstack server delete --wait " + name)
    subprocess.run(["openstack", "server", "delete", "--wait", name], env=env, check=True,
                   timeout=120)
    names = [s["Name"] for s in openstack(env, "server", "list")]
    assert name not in names, names

    # --- boto3 -------------------------------------------------------------
    ec2 = boto3.client("ec2", endpoint_url=a.ec2, region_name="RegionOne",
                       aws_access_key_id="admin:admin", aws_secret_access_key="admin")
    step("boto3 describe_images")
    images = ec2.describe_images()["Images"]
    assert images, "no image"
    step("boto3 run_instances")
    run = ec2.run_instances(ImageId=images[0]["ImageId"], InstanceType="m1.tiny",
                            MinCount=1, MaxCount=1)
    iid = run["Instances"][0]["InstanceId"]
    deadline = time.time() + 60
    state = None
    while time.time() < deadline:
        res = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        state = res[0]["Instances"][0]["State"]["Name"]
        if state == "running":
            break
        time.sleep(0.5)
    assert state == "running", state
    step("boto3 terminate_instances " + iid)
    ec2.terminate_instances(InstanceIds=[iid])
    deadline = time.time() + 60
    while time.time() < deadline:
        res = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
        if not res or res[0]["Instances"][0]["State"]["Name"] in ("terminated", "shutting-down"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("instance %s not terminated" % iid)
    step("ok")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", None) or ""
        print("smoke: FAILED: %r %s" % (e, detail), file=sys.stderr)
        sys.exit(1)
