#!/usr/bin/env python3
"""The checks of the real-Keystone suite (started by run.sh, which sets up
Keystone, the demo and nova users, osapi-compute and ec2-api in keystone
mode and the catalogue). One PASS/FAIL line per check; exit 1 on any FAIL.

Environment (from run.sh): KEYSTONE_URL, KEYSTONE_PID (stopped at the end),
OSAPI_URL, EC2_URL, TOKEN_CACHE_TIME, OPENSTACK, OS_CLIENT_CONFIG_FILE.
"""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore.exceptions
from botocore.config import Config

KEYSTONE = os.environ["KEYSTONE_URL"]
KEYSTONE_PID = int(os.environ["KEYSTONE_PID"])
OSAPI = os.environ["OSAPI_URL"]
EC2 = os.environ["EC2_URL"]
CACHE = float(os.environ["TOKEN_CACHE_TIME"])
OPENSTACK = os.environ.get("OPENSTACK", "openstack")
failures = []


def record(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""),
          flush=True)
    if not ok:
        failures.append(name)


def osc(cloud, *args, as_json=True):
    cmd = [OPENSTACK, "--os-cloud", cloud, *args] + (["-f", "json"] if as_json else [])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout) if as_json else done.stdout


def http(method, path, token=None, headers=None, base=OSAPI):
    h = dict(headers or {})
    if token is not None:
        h["X-Auth-Token"] = token
    req = urllib.request.Request(base + path, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def status(path, token, **kw):
    return http("GET", path, token, **kw)[0]


def issue(cloud):
    t = osc(cloud, "token", "issue")
    expires = datetime.datetime.fromisoformat(t["expires"].replace("Z", "+00:00"))
    return t["id"], expires


def attempt(name, fn):
    try:
        fn()
    except Exception as e:  # a setup step failing is this check's failure
        record(name, False, f"{type(e).__name__}: {e}")


def ec2_client(access, secret):
    return boto3.client("ec2", endpoint_url=EC2, region_name="RegionOne",
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def error_code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


# A demo token whose expiry is watched at the end.
expiring, expiring_at = issue("demo")
record("a fresh demo token is accepted", status("/v2.1/servers", expiring) == 200)


def unauthenticated():
    code, headers, body = http("GET", "/v2.1/servers", "not-a-token")
    www = headers.get("WWW-Authenticate") or headers.get("www-authenticate")
    record("an invalid token gets 401 with WWW-Authenticate: Keystone uri=...",
           code == 401 and www == f'Keystone uri="{KEYSTONE}"'
           and json.loads(body)["unauthorized"]["code"] == 401, f"{code} {www} {body}")
    record("no token gets 401", status("/v2.1/servers", None) == 401)


attempt("401 answers", unauthenticated)


def roles():
    demo, _ = issue("demo")
    forged = {"X-Roles": "admin", "X-Is-Admin-Project": "True"}
    code = status("/v2.1/os-availability-zone/detail", demo, headers=forged)
    record("a member token with a forged X-Roles: admin is not admin (403)", code == 403, str(code))
    admin, _ = issue("admin")
    code = status("/v2.1/os-availability-zone/detail", admin)
    record("an admin-role token is admin (200)", code == 200, str(code))


attempt("roles", roles)


def cli_servers():
    images = [i["Name"] for i in osc("demo", "image", "list")]
    record("openstack image list through the catalogue", bool(images), str(images))
    name = "ks-" + uuid.uuid4().hex[:8]
    server = osc("demo", "server", "create", "--flavor", "m1.tiny", "--image", images[0],
                 "--nic", "none", "--wait", name)
    record("openstack server create --wait (password clouds.yaml)",
           server.get("status") == "ACTIVE", str(server.get("status")))
    listed = [s["Name"] for s in osc("demo", "server", "list")]
    record("openstack server list shows it", name in listed, str(listed))
    osc("demo", "server", "delete", "--wait", name, as_json=False)
    listed = [s["Name"] for s in osc("demo", "server", "list")]
    record("openstack server delete --wait removes it", name not in listed, str(listed))


attempt("openstack CLI servers", cli_servers)


def ec2():
    cred = osc("demo", "ec2", "credentials", "create")
    access, secret = cred["Access"] if "Access" in cred else cred["access"], \
        cred["Secret"] if "Secret" in cred else cred["secret"]
    client = ec2_client(access, secret)
    image = client.describe_images()["Images"][0]["ImageId"]
    run = client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
    iid = run["Instances"][0]["InstanceId"]
    seen = [i["InstanceId"] for r in client.describe_instances()["Reservations"]
            for i in r["Instances"]]
    record("boto3 run_instances with `openstack ec2 credentials create` keys",
           iid in seen, f"{iid} not in {seen}")
    gone = client.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    record("boto3 terminate_instances", gone["InstanceId"] == iid
           and gone["CurrentState"]["Name"] in ("shutting-down", "terminated"), str(gone))
    code = error_code(lambda: ec2_client(access, secret + "x").describe_instances())
    record("a wrong secret gets AuthFailure", code[0] == "AuthFailure", str(code))
    return access, secret


creds = None
try:
    creds = ec2()
except Exception as e:
    record("boto3 through ec2-api", False, f"{type(e).__name__}: {e}")


def revocation():
    token, _ = issue("demo")
    record("token to revoke accepted (and cached)", status("/v2.1/servers", token) == 200)
    # The filter caches Keystone's answer just before it answers us, so the
    # cache's clock starts no later than now; starting it before the request
    # would count Keystone's validation time (over 0.5s on a busy machine)
    # as cache age and ask again too early.
    cached_at = time.monotonic()
    osc("admin", "token", "revoke", token, as_json=False)
    code = status("/v2.1/servers", token)
    elapsed = time.monotonic() - cached_at
    if elapsed < CACHE - 0.2:
        record(f"a revoked token is still served from the cache ({elapsed:.1f}s < {CACHE:g}s)",
               code == 200, str(code))
    else:
        record("revoked-token timing", False,
               f"revoking took {elapsed:.1f}s, longer than token_cache_time {CACHE:g}s")
    time.sleep(max(0.0, cached_at + CACHE + 0.5 - time.monotonic()))
    code = status("/v2.1/servers", token)
    record("a revoked token is refused once token_cache_time has passed", code == 401, str(code))


attempt("revocation", revocation)


def expiry():
    now = datetime.datetime.now(datetime.timezone.utc)
    wait = (expiring_at - now).total_seconds() + 1.0
    if wait > 0:
        print(f"... waiting {wait:.0f}s for the first token to expire", flush=True)
        time.sleep(wait)
    code = status("/v2.1/servers", expiring)
    record("an expired token is refused", code == 401, str(code))


attempt("expiry", expiry)


def keystone_down():
    cached, _ = issue("demo")
    uncached, _ = issue("demo")
    record("token accepted before Keystone stops", status("/v2.1/servers", cached) == 200)
    cached_at = time.monotonic()
    os.kill(KEYSTONE_PID, signal.SIGTERM)
    host, port = urllib.parse.urlsplit(KEYSTONE).netloc.split(":")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=0.2).close()
            time.sleep(0.1)
        except OSError:
            break
    else:
        raise RuntimeError("Keystone still listening 20s after SIGTERM")
    code = status("/v2.1/servers", cached)
    elapsed = time.monotonic() - cached_at
    if elapsed < CACHE - 0.2:
        record("Keystone down: a cached token is still served (token_cache_time)",
               code == 200, str(code))
    else:
        record("Keystone-down timing", False,
               f"stopping Keystone took {elapsed:.1f}s, longer than token_cache_time {CACHE:g}s")
    code, _, body = http("GET", "/v2.1/servers", uncached)
    record("Keystone down: an uncached token gets 503, nothing served",
           code == 503 and "servers" not in json.loads(body), f"{code} {body}")
    code = status("/v2.1/servers", "garbage-" + uuid.uuid4().hex)
    record("Keystone down: an unknown token gets 503 too", code == 503, str(code))
    if creds:
        code = error_code(lambda: ec2_client(*creds).describe_instances())
        record("Keystone down: EC2 gets 503 Unavailable, nothing served",
               code == ("Unavailable", 503), str(code))


attempt("Keystone down", keystone_down)

print(f"keystone-suite: {len(failures)} failed" + (f": {failures}" if failures else ""))
sys.exit(1 if failures else 0)
