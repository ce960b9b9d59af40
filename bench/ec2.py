#!/usr/bin/env python3
"""EC2 API benchmark: ec2-api (Havana-style noauth: the access key is
`user:project`, signatures are not checked; SQLite in a temporary state
directory, deploy/etc/nova/api-paste.ini) with 1 and 2 workers under wrk:

- DescribeInstances with 1000 running instances in the project, as a Query
  API GET (`AWSAccessKeyId=demo:demo`) and as the form POST boto3 sends,
  with a Signature Version 4 `Authorization` header computed here;
- RunInstances rate (wrk posting one-instance forms into a second project),
  in creates/s;
- RunInstances with a fresh ClientToken on every request (what boto3
  sends), into an empty project and into the project of 1000 instances:
  the token is looked up through an index, so the two rates should match.

The 1000 instances come from one RunInstances with MinCount=MaxCount=1000
(the `[quota]` defaults are unlimited in the benchmark's nova.conf). Each
row is printed beside the bare axum server answering the same bytes with
as many threads (for POST rows, a GET of those bytes: the bare server only
answers GET). Not a test: it asserts nothing, it measures.
"""
import datetime
import hashlib
import hmac
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

INSTANCES = int(os.environ.get("BENCH_SERVERS", "1000"))
VERSION = "2016-11-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
UNLIMITED = "[quota]\ninstances = -1\ncores = -1\nram = -1\n"


def query(action, access, **params):
    return urllib.parse.urlencode(dict(Action=action, Version=VERSION, AWSAccessKeyId=access, **params))


def sigv4_headers(port, body, access="demo:demo", secret="not-checked-under-noauth"):
    """The headers botocore sends for a form POST, signed with SigV4."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    host = f"127.0.0.1:{port}"
    payload_hash = hashlib.sha256(body.encode()).hexdigest()
    signed = "content-type;host;x-amz-date"
    canonical = "\n".join(["POST", "/", "", f"content-type:{FORM}", f"host:{host}",
                           f"x-amz-date:{amz_date}", "", signed, payload_hash])
    scope = f"{day}/nova/ec2/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, "nova", "ec2", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": FORM,
        "X-Amz-Date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                         f"SignedHeaders={signed}, Signature={signature}",
    }


def seed(port):
    """INSTANCES instances in `demo` with one RunInstances; returns the AMI
    id and the seeding time."""
    client = b.Client(port)
    _, _, data = client.request("GET", "/?" + query("DescribeImages", "demo:demo"), expect={200})
    ami = re.search(rb"<imageId>(ami-\w+)</imageId>", data).group(1).decode()
    t0 = time.monotonic()
    body = query("RunInstances", "demo:demo", ImageId=ami, InstanceType="m1.tiny",
                 MinCount=INSTANCES, MaxCount=INSTANCES)
    client.request("POST", "/", body, {"Content-Type": FORM}, expect={200})
    seconds = time.monotonic() - t0
    _, _, data = client.request("GET", "/?" + query("DescribeInstances", "demo:demo"), expect={200})
    running = data.count(b"<name>running</name>")
    if running != INSTANCES:
        sys.exit(f"expected {INSTANCES} running instances, found {running}")
    client.close()
    return ami, seconds


def measure(svc, state, workers, method, path, body=None, headers=None):
    """One wrk run of `method path` (a POST through a Lua script), and the
    bare server answering the first reply's bytes."""
    client = b.Client(svc.port)
    _, resp_headers, reply = client.request(method, path, body, headers, expect={200})
    client.close()
    if method == "GET":
        ours = b.wrk(svc.port, path)
    else:
        script = b.lua_post(state, "ec2-post.lua", path, body, headers)
        ours = b.wrk(svc.port, path, script=script)
    ours["rss"] = svc.rss_mb()
    ref = b.bare(state, reply, resp_headers.get("Content-Type"), workers, path)
    return ours, ref, len(reply)


def token_script(state, access, ami):
    """A wrk script posting one-instance RunInstances with a ClientToken no
    other request used (a per-thread prefix and a counter), as boto3 does."""
    base = query("RunInstances", access, ImageId=ami, InstanceType="m1.tiny",
                 MinCount=1, MaxCount=1)
    script = os.path.join(state, f"ec2-token-{access.split(':')[0]}.lua")
    with open(script, "w") as f:
        f.write(f"""local base = {b.lua_str(base)}
local prefix, n = "", 0
function init(args)
  prefix = string.gsub(tostring({{}}), "[^%x]", "") .. tostring(math.random(1, 1000000000))
end
function request()
  n = n + 1
  return wrk.format("POST", "/", {{["Content-Type"] = {b.lua_str(FORM)}}},
                    base .. "&ClientToken=" .. prefix .. "-" .. n)
end
""")
    return script


def main():
    rows = []
    notes = []
    with b.state_dir() as state:
        conf = b.write_conf(state, UNLIMITED)
        ami = None
        for workers in b.WORKER_COUNTS:
            svc = b.Service("ec2-api", conf, workers, state)
            try:
                if ami is None:
                    ami, seconds = seed(svc.port)
                    notes.append(f"seeding {INSTANCES} instances with one RunInstances "
                                 f"(MinCount=MaxCount={INSTANCES}): {seconds:.2f} s")
                path = "/?" + query("DescribeInstances", "demo:demo")
                ours, ref, size = measure(svc, state, workers, "GET", path)
                rows.append((f"DescribeInstances GET ({INSTANCES} instances, {size / 1e6:.2f} MB)",
                             workers, ours, ref))
                body = urllib.parse.urlencode({"Action": "DescribeInstances", "Version": VERSION})
                ours, ref, _ = measure(svc, state, workers, "POST", "/", body,
                                       sigv4_headers(svc.port, body))
                rows.append(("DescribeInstances POST, SigV4 header (bare: GET)", workers, ours, ref))
                body = query("RunInstances", "bench:bench", ImageId=ami, InstanceType="m1.tiny",
                             MinCount=1, MaxCount=1)
                ours, ref, _ = measure(svc, state, workers, "POST", "/", body, {"Content-Type": FORM})
                rows.append(("RunInstances, 1 instance (creates/s; bare: GET)", workers, ours, ref))
                rates = {}
                for access, label in (("fresh:fresh", "empty project"),
                                      ("demo:demo", f"{INSTANCES}+ instances")):
                    ours = b.wrk(svc.port, "/", script=token_script(state, access, ami))
                    ours["rss"] = svc.rss_mb()
                    rates[label] = ours["rps"]
                    rows.append((f"RunInstances + fresh ClientToken, {label} (creates/s; bare: GET)",
                                 workers, ours, ref))
                empty, full = rates.values()
                notes.append(f"{workers} worker(s): RunInstances with a ClientToken, empty project "
                             f"{empty:.0f}/s vs {INSTANCES}+ instances {full:.0f}/s "
                             f"(ratio {empty / full:.2f})")
                errors = svc.log_lines(r" ERROR |panicked")
                if errors:
                    notes.append(f"{workers} worker(s): {len(errors)} ERROR lines in the log, first: "
                                 f"{errors[0][:300]}")
            finally:
                svc.stop()
    b.print_table(f"ec2-api, noauth, SQLite, Version {VERSION} ({b.machine()})", rows)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
