"""Hostile input and the isolation/auth matrix, against the real binaries.

    python reliability/hostile.py [corpus] [matrix]

corpus: nasty requests (oversized bodies and headers, invalid UTF-8, deep
JSON, huge numbers, path traversal, CR/LF injection, bad Content-Length,
chunked abuse, bad methods, EC2 queries with duplicate/absent/oversized
parameters, slowloris) sent raw to osapi-compute, ec2-api and metadata-api
(2 workers each). Each must get a well-formed 4xx, never a 5xx: in the API's
own format (compute: JSON fault; ec2: XML Response/Errors; metadata: webob's
text) when the request reached the API, or the HTTP layer's bare 4xx when
the request is not HTTP at all (`proto` cases). Afterwards every worker is
the same process as before.

matrix: what another project and a non-admin caller get from the compute
API's resources, what the metadata service answers to callers that are not
the instance, and EC2 signatures (botocore's signers) wrong, expired,
replayed out of window, or over a tampered parameter.

Rows go to $RELIABILITY_RESULTS; exit status 1 when anything failed.
"""

import asyncio
import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402
from rlib import Result, Service, log  # noqa: E402

SECRET = "reliability-secret"


# ------------------------------------------------------------------ formats

def compute_format(r):
    try:
        (name, fault), = r.json().items()
        return isinstance(fault, dict) and fault.get("code") == r.status and \
            isinstance(fault.get("message"), str)
    except (ValueError, AttributeError, TypeError):
        return False


def ec2_format(r):
    return re.match(rb'<\?xml version="1.0" encoding="UTF-8"\?>\s*<Response><Errors><Error>'
                    rb'<Code>[A-Za-z.]+</Code><Message>[^<]*</Message></Error></Errors>'
                    rb'<Request(ID|Id)>[^<]*</Request(ID|Id)></Response>', r.body) is not None


def metadata_format(r):
    line = f"{r.status} ".encode()
    return r.body.startswith(line) or (b"<title>" + line) in r.body or \
        (r.body.startswith(b"{") and f'"code": "{r.status}'.encode() in r.body.replace(b'":"', b'": "'))


FORMATS = {"osapi_compute": compute_format, "ec2": ec2_format, "metadata": metadata_format}


def req(method, target, headers=None, body=b"", close=True):
    return rlib.build_request(method, target, headers, body, close)


def raw(*lines, body=b""):
    return b"\r\n".join(l if isinstance(l, bytes) else l.encode() for l in lines) + b"\r\n\r\n" + body


# ------------------------------------------------------------------- corpus
# (name, api, payload, kind) with kind "api" (the API's format), "proto"
# (HTTP-level 4xx, any body) or "any4xx" (4xx; the API's format when it has a body).

def http_cases(api, path, auth):
    h = dict(auth)
    hdr = "".join(f"{k}: {v}\r\n" for k, v in h.items())
    al = [f"{k}: {v}" for k, v in h.items()]

    def raw(first, *lines, body=b""):  # noqa: F811 - with the API's auth headers
        return globals()["raw"](first, *al, *lines, body=body)

    return [
        ("bare CR in a header value", "proto",
         f"GET {path} HTTP/1.1\r\nHost: x\r\n{hdr}X-A: a\rb\r\nConnection: close\r\n\r\n".encode()),
        # Bare LF ends a header line for lenient parsers (RFC 9112 allows it):
        # the second header is the client's own; it must not be echoed back.
        ("LF-only header injection", "no5xx",
         f"GET {path} HTTP/1.1\r\nHost: x\r\nX-A: a\nX-Roles: admin\r\n\r\n".encode()),
        ("obs-fold continuation line", "proto",
         f"GET {path} HTTP/1.1\r\nHost: x\r\n{hdr}X-Auth-Token: u:p1\r\n admin:admin\r\nConnection: close\r\n\r\n".encode()),
        ("non-numeric Content-Length", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Content-Length: abc", "Connection: close")),
        ("negative Content-Length", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Content-Length: -5", "Connection: close")),
        ("two different Content-Lengths", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Content-Length: 3", "Content-Length: 5",
             "Connection: close", body=b"abcde")),
        # Transfer-Encoding wins over Content-Length (RFC 9112 6.3); the
        # server must then close the connection, so the request smuggled
        # behind the body is never served.
        ("Content-Length plus chunked (smuggling)", "closes",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Content-Length: 4", "Transfer-Encoding: chunked",
             body=b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
        ("chunk size not hex", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Connection: close",
             body=b"zz\r\nabc\r\n0\r\n\r\n")),
        ("chunk size overflowing 64 bits", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Connection: close",
             body=b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n")),
        ("unknown transfer coding", "proto",
         raw(f"POST {path} HTTP/1.1", "Host: x", "Transfer-Encoding: gzip", "Connection: close",
             body=b"abc")),
        ("control byte in the method", "proto", f"G\x01T {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        ("NUL in the path", "proto", b"GET /\x00/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("space in the path", "proto", b"GET /a b/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("HTTP/9.9", "proto", f"GET {path} HTTP/9.9\r\nHost: x\r\n\r\n".encode()),
        ("garbage request line", "proto", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        ("request line of 20000 bytes", "proto",
         req("GET", path + "?" + "a" * 20000, auth)),
        ("header line of 20000 bytes", "proto", req("GET", path, {**auth, "X-Big": "b" * 20000})),
        ("300 headers", "proto",
         req("GET", path, {**auth, **{f"X-H{i}": "v" for i in range(300)}})),
        ("header name with invalid UTF-8", "proto",
         b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-\xff\xfe: v\r\nConnection: close\r\n\r\n"),
    ]


def compute_cases():
    a = {"X-Auth-Token": "u:p1"}
    j = {**a, "Content-Type": "application/json"}
    srv = lambda extra: json.dumps({"server": {"name": "h", "imageRef": "x", "flavorRef": "1", **extra}})  # noqa: E731
    return http_cases("osapi_compute", "/v2.1/servers", a) + [
        ("body of 300 KB", "api", req("POST", "/v2.1/servers", j, b'{"server": {"name": "' + b"a" * 300000 + b'"}}')),
        ("Content-Length of 10 GB, no body", "any4xx",
         raw("POST /v2.1/servers HTTP/1.1", "Host: x", "X-Auth-Token: u:p1", "Content-Type: application/json",
             "Content-Length: 10000000000", "Connection: close")),
        ("chunked body of 300 KB", "api",
         raw("POST /v2.1/servers HTTP/1.1", "Host: x", "X-Auth-Token: u:p1", "Content-Type: application/json",
             "Transfer-Encoding: chunked", "Connection: close",
             body=b"".join(b"%x\r\n%s\r\n" % (10000, b"a" * 10000) for _ in range(30)) + b"0\r\n\r\n")),
        ("invalid JSON", "api", req("POST", "/v2.1/servers", j, b'{"server": ')),
        ("invalid UTF-8 in the JSON body", "api", req("POST", "/v2.1/servers", j, b'{"server": {"name": "\xff\xfe"}}')),
        ("JSON nested 100000 deep", "api", req("POST", "/v2.1/servers", j, b"[" * 100000 + b"]" * 100000)),
        ("JSON object nested 5000 deep", "api",
         req("POST", "/v2.1/servers", j, b'{"server": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001)),
        ("number 1e400", "api",
         req("POST", "/v2.1/servers", j, b'{"server": {"name": "h", "imageRef": "x", "flavorRef": 1e400}}')),
        ("integer of 40 digits", "api",
         req("POST", "/v2.1/servers", j, b'{"server": {"name": "h", "imageRef": "x", "flavorRef": "1", "min_count": 1234567890123456789012345678901234567890}}')),
        ("NUL in the server name", "api", req("POST", "/v2.1/servers", j, srv({"name": "a\u0000b"}).encode())),
        ("10000 metadata items", "api",
         req("POST", "/v2.1/servers", j, srv({"metadata": {f"k{i}": "v" for i in range(10000)}}).encode())),
        ("body of the wrong type", "api", req("POST", "/v2.1/servers", j, b'["server"]')),
        ("XML body", "api", req("POST", "/v2.1/servers", {**a, "Content-Type": "application/xml"}, b"<server/>")),
        # noauth2 answers a request without a token as nova's NoAuthMiddleware
        # does: 204 with a token to use.
        ("no token", "no5xx", req("GET", "/v2.1/servers")),
        # Not UTF-8, so no token for noauth2: its 204 answer (nova decodes
        # latin-1 and would take it as a user name).
        ("token of invalid UTF-8", "no5xx", req("GET", "/v2.1/servers", {"X-Auth-Token": b"\xff\xfe:\xfe"})),
        ("dot-dot traversal", "api", req("GET", "/v2.1/servers/../../../etc/passwd", a)),
        ("encoded traversal", "api", req("GET", "/v2.1/%2e%2e/%2e%2e/etc/passwd", a)),
        ("raw non-ASCII byte in the path", "proto", req("GET", b"/v2.1/servers/\xff", a)),
        ("invalid UTF-8 escaped in the path", "api", req("GET", "/v2.1/servers/%ff%fe", a)),
        ("CRLF escaped in the path", "api", req("GET", "/v2.1/servers/%0d%0aSet-Cookie:%20x=1", a)),
        ("limit=-1", "api", req("GET", "/v2.1/servers?limit=-1", a)),
        # nova's schema takes any digits and caps at osapi_max_limit.
        ("limit of 30 digits", "no5xx", req("GET", "/v2.1/servers?limit=999999999999999999999999999999", a)),
        ("invalid UTF-8 in the query", "api", req("GET", "/v2.1/servers?name=%ff%fe&limit=%ff", a)),
        ("unknown marker", "api", req("GET", "/v2.1/servers?marker=nope", a)),
        ("bad changes-since", "api", req("GET", "/v2.1/servers?changes-since=yesterday", a)),
        ("microversion 99.99", "api", req("GET", "/v2.1/servers", {**a, "OpenStack-API-Version": "compute 99.99"})),
        ("microversion of 40 digits", "api",
         req("GET", "/v2.1/servers", {**a, "OpenStack-API-Version": "compute 2.1234567890123456789012345678901234567890"})),
        ("DELETE on a collection", "api", req("DELETE", "/v2.1/flavors", a)),
        ("unknown method PROPFIND", "any4xx", req("PROPFIND", "/v2.1/servers", a)),
        ("unknown server action", "api", req("POST", "/v2.1/servers/00000000-0000-0000-0000-000000000000/action", j, b'{"bogus": null}')),
        ("two actions at once", "api", req("POST", "/v2.1/servers/00000000-0000-0000-0000-000000000000/action", j, b'{"reboot": {"type": "HARD"}, "os-stop": null}')),
        ("keypair name of 10000 chars", "api", req("POST", "/v2.1/os-keypairs", j, json.dumps({"keypair": {"name": "k" * 10000}}).encode())),
        ("quota of 40 digits", "api",
         req("PUT", "/v2.1/os-quota-sets/p1", {"X-Auth-Token": "admin:admin", "Content-Type": "application/json"},
             b'{"quota_set": {"instances": 1234567890123456789012345678901234567890}}')),
    ]


def ec2_cases():
    base = "/?AWSAccessKeyId=u:p1&Version=2016-11-15&"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return http_cases("ec2", "/?Action=DescribeRegions&AWSAccessKeyId=u:p1", {}) + [
        ("no Action", "api", req("GET", "/?AWSAccessKeyId=u:p1&Version=2016-11-15")),
        ("unknown Action", "api", req("GET", base + "Action=DropDatabase")),
        ("Action twice", "api", req("GET", base + "Action=DescribeInstances&Action=TerminateInstances")),
        ("no access key", "api", req("GET", "/?Action=DescribeInstances&Version=2016-11-15")),
        ("empty access key", "api", req("GET", "/?Action=DescribeInstances&AWSAccessKeyId=&Version=2016-11-15")),
        ("Action of invalid UTF-8", "api", req("GET", base + "Action=Describe%ffInstances")),
        ("parameter name of invalid UTF-8", "api", req("GET", base + "Action=DescribeInstances&%ff%fe=1")),
        ("malformed percent escape", "api", req("GET", base + "Action=DescribeInstances&InstanceId.1=%zz")),
        ("MaxResults of 30 digits", "api", req("GET", base + "Action=DescribeInstances&MaxResults=999999999999999999999999999999")),
        ("MaxCount=-1", "api", req("GET", base + "Action=RunInstances&ImageId=ami-00000001&MinCount=-1&MaxCount=-1")),
        ("instance id traversal", "api", req("GET", base + "Action=DescribeInstances&InstanceId.1=i-../../etc/passwd")),
        ("instance id of 100 KB", "api", req("POST", "/", form,
                                              (base[2:] + "Action=DescribeInstances&InstanceId.1=i-" + "0" * 100000).encode())),
        ("100000 parameters", "api", req("POST", "/", form,
                                          (base[2:] + "Action=DescribeInstances&" + "&".join(f"InstanceId.{i}=i-1" for i in range(100000))).encode())),
        ("form body of 2 MB", "any4xx", req("POST", "/", form, (base[2:] + "Action=DescribeRegions&x=" + "a" * 2_000_000).encode())),
        ("Filter without a name", "api", req("GET", base + "Action=DescribeInstances&Filter.1.Value.1=x")),
        ("member index of 30 digits", "no5xx", req("GET", base + "Action=DescribeInstances&InstanceId.999999999999999999999999999999=i-1")),
        ("Authorization header garbage", "api", req("GET", "/?Action=DescribeRegions", {"Authorization": "AWS4-HMAC-SHA256 \xff"})),
        # nova's EC2 API reads parameters whatever the method.
        ("DELETE method", "no5xx", req("DELETE", base + "Action=DescribeRegions")),
    ]


def metadata_cases(instance_id):
    sig = hmac.new(SECRET.encode(), instance_id.encode(), hashlib.sha256).hexdigest()
    ok = {"X-Instance-ID": instance_id, "X-Tenant-ID": "p1", "X-Instance-ID-Signature": sig,
          "X-Forwarded-For": "10.0.0.5"}
    # The password endpoint reads the body, so body framing errors surface.
    return http_cases("metadata", "/openstack/latest/password", ok) + [
        ("dot-dot traversal", "api", req("GET", "/latest/meta-data/../../../../etc/passwd/x", ok)),
        ("encoded traversal", "api", req("GET", "/openstack/%2e%2e/%2e%2e/%2e%2e/etc/passwd", ok)),
        ("raw non-ASCII byte in the path", "proto", req("GET", b"/latest/meta-data/\xff\xfe", ok)),
        ("invalid UTF-8 escaped in the path", "api", req("GET", "/latest/meta-data/%ff%fe", ok)),
        ("unknown version", "api", req("GET", "/1999-01-01/meta-data/", ok)),
        ("unknown key", "api", req("GET", "/openstack/latest/nope.json", ok)),
        ("public key index 10^30", "api", req("GET", "/latest/meta-data/public-keys/1000000000000000000000000000000/openssh-key", ok)),
        ("no proxy headers", "api", req("GET", "/latest/meta-data/", {"X-Forwarded-For": "10.0.0.5"})),
        ("X-Instance-ID twice", "api",
         raw("GET /latest/meta-data/ HTTP/1.1", "Host: x", f"X-Instance-ID: {instance_id}", "X-Instance-ID: other",
             "X-Tenant-ID: p1", f"X-Instance-ID-Signature: {sig}", "X-Forwarded-For: 10.0.0.5", "Connection: close")),
        ("signature of invalid UTF-8", "any4xx", req("GET", "/latest/meta-data/", {**ok, "X-Instance-ID-Signature": b"\xff\xfe"})),
        ("password body of 300 KB", "api", req("POST", "/openstack/latest/password", ok, b"p" * 300000)),
        # nova's handler answers reads whatever the method.
        ("DELETE on meta-data", "no5xx", req("DELETE", "/latest/meta-data/", ok)),
        ("IMDSv2 token TTL of 30 digits", "api",
         req("PUT", "/latest/api/token", {**ok, "X-aws-ec2-metadata-token-ttl-seconds": "9" * 30})),
    ]


async def slowloris(port):
    """A request head trickled one byte a second: it must be cut, not kept."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    t0 = time.monotonic()
    r = await rlib.send_raw(port, None, timeout=20, chunks=[head] + [b"X"] * 20, delay=1.0)
    return r, time.monotonic() - t0


async def run_corpus(services, instance_id):
    res = Result("hostile corpus (3 APIs, 2 workers each)")
    pids_before = {api: sorted(s.children()) for api, s in services.items()}
    cases = {"osapi_compute": compute_cases(), "ec2": ec2_cases(), "metadata": metadata_cases(instance_id)}
    bad = []
    counts = {}
    for api, lst in cases.items():
        svc = services[api]
        for name, kind, payload in lst:
            r = await rlib.send_raw(svc.port, payload, timeout=20)
            res.sent += 1
            counts[api] = counts.get(api, 0) + 1
            verdict = ""
            if r.error == "refused":
                res.refused += 1
                verdict = "refused"
            elif r.status >= 500 or r.status == 0 and kind != "proto":
                verdict = f"{r.status or r.error}"
            elif r.status == 0:
                # A framing error may close the connection without a word;
                # that is a 4xx-equivalent only if nothing was answered at all.
                verdict = "" if r.error in ("eof", "reset") else r.error
            elif kind == "closes":
                verdict = "smuggled request served" if b"HTTP/1.1 " in r.body else ""
            elif kind == "no5xx" and r.status < 400:
                verdict = ""
            elif not 400 <= r.status < 500:
                verdict = f"{r.status} (not 4xx)"
            elif kind == "api" and not FORMATS[api](r):
                verdict = f"{r.status} not in the API's format: {r.body[:120]!r}"
            elif kind in ("any4xx", "no5xx") and r.body and not FORMATS[api](r):
                verdict = f"{r.status} body not in the API's format: {r.body[:120]!r}"
            if any(k.lower() in ("set-cookie", "x-roles") for k in r.headers):
                verdict = "injected header echoed"
            if verdict:
                res.failed += 1
                bad.append(f"{api}: {name}: {verdict}")
    for api, svc in services.items():
        r, held = await slowloris(svc.port)
        res.sent += 1
        if held > 16:
            res.failed += 1
            bad.append(f"{api}: slowloris held {held:.0f}s")
    for api, svc in services.items():
        after = sorted(svc.children())
        res.check(after == pids_before[api], f"{api} workers changed: {pids_before[api]} -> {after}")
        res.check(not svc.panics(), f"{api} panicked: {svc.panics()[:2]}")
    for b in bad:
        res.check(False, b)
    res.note(f"requests per API: {counts}; slowloris cut at client_socket_timeout (5 s)")
    res.lost = "-"
    return res.save()


# ------------------------------------------------------------------- matrix

def expect(res, label, r, ok_statuses, must_not_contain=None):
    res.sent += 1
    good = r.status in ok_statuses
    if good and must_not_contain and must_not_contain in r.text:
        good = False
    if not good:
        res.failed += 1
        res.check(False, f"{label}: got {r.status or r.error} {r.text[:160]!r}, expected {sorted(ok_statuses)}")


def compute_matrix(res, port, image):
    owner, other, admin = "alice:p1", "mallory:p2", "admin:admin"
    member_same = "bob:p1"   # same project, not admin
    r = rlib.call(port, "POST", "/v2.1/servers", owner,
                  {"server": {"name": "victim", "imageRef": image, "flavorRef": "1", "metadata": {"s": "1"}}})
    sid = r.json()["server"]["id"]
    rlib.call(port, "POST", "/v2.1/os-keypairs", owner, {"keypair": {"name": "alice-kp"}})
    time.sleep(0.3)
    hidden = {404}
    cases = [
        # another project: the server does not exist for it
        ("other project GET server", other, "GET", f"/v2.1/servers/{sid}", None, hidden),
        ("other project PUT server", other, "PUT", f"/v2.1/servers/{sid}", {"server": {"name": "x"}}, hidden),
        ("other project DELETE server", other, "DELETE", f"/v2.1/servers/{sid}", None, hidden),
        ("other project reboot", other, "POST", f"/v2.1/servers/{sid}/action", {"reboot": {"type": "HARD"}}, hidden),
        ("other project os-stop", other, "POST", f"/v2.1/servers/{sid}/action", {"os-stop": None}, hidden),
        ("other project lock", other, "POST", f"/v2.1/servers/{sid}/action", {"lock": None}, hidden),
        ("other project createImage", other, "POST", f"/v2.1/servers/{sid}/action", {"createImage": {"name": "i"}}, hidden),
        ("other project console output", other, "POST", f"/v2.1/servers/{sid}/action", {"os-getConsoleOutput": {}}, hidden),
        ("other project metadata", other, "GET", f"/v2.1/servers/{sid}/metadata", None, hidden),
        ("other project metadata PUT", other, "PUT", f"/v2.1/servers/{sid}/metadata/s", {"meta": {"s": "2"}}, hidden),
        ("other project tags", other, "GET", f"/v2.1/servers/{sid}/tags", None, hidden),
        ("other project ips", other, "GET", f"/v2.1/servers/{sid}/ips", None, hidden),
        ("other project instance actions", other, "GET", f"/v2.1/servers/{sid}/os-instance-actions", None, hidden),
        ("other project server password", other, "GET", f"/v2.1/servers/{sid}/os-server-password", None, hidden),
        ("other user's keypair", other, "GET", "/v2.1/os-keypairs/alice-kp", None, hidden),
        ("same project, other user's keypair", member_same, "GET", "/v2.1/os-keypairs/alice-kp", None, hidden),
        ("other user deletes keypair", other, "DELETE", "/v2.1/os-keypairs/alice-kp", None, hidden),
        ("keypair of another user by user_id", other, "GET", "/v2.1/os-keypairs/alice-kp?user_id=alice",
         None, {403, 404}),
        ("other project quota show", other, "GET", "/v2.1/os-quota-sets/p1", None, {403}),
        ("other project quota update", other, "PUT", "/v2.1/os-quota-sets/p1", {"quota_set": {"instances": 1000}}, {403}),
        ("non-admin own quota update", owner, "PUT", "/v2.1/os-quota-sets/p1", {"quota_set": {"instances": 1000}}, {403}),
        ("non-admin quota delete", owner, "DELETE", "/v2.1/os-quota-sets/p1", None, {403}),
        ("other project usage", other, "GET", "/v2.1/os-simple-tenant-usage/p1", None, {403}),
        ("non-admin all usage", owner, "GET", "/v2.1/os-simple-tenant-usage", None, {403}),
        ("non-admin hypervisors", owner, "GET", "/v2.1/os-hypervisors", None, {403}),
        ("non-admin hypervisors detail", owner, "GET", "/v2.1/os-hypervisors/detail", None, {403}),
        ("non-admin hypervisor statistics", owner, "GET", "/v2.1/os-hypervisors/statistics", None, {403}),
        ("non-admin hypervisor servers", owner, "GET", "/v2.1/os-hypervisors/1/servers", None, {403}),
        ("non-admin services", owner, "GET", "/v2.1/os-services", None, {403}),
        ("non-admin AZ detail", owner, "GET", "/v2.1/os-availability-zone/detail", None, {403}),
        ("non-admin flavor create", owner, "POST", "/v2.1/flavors",
         {"flavor": {"name": "evil", "ram": 1, "vcpus": 1, "disk": 1}}, {403}),
        ("non-admin flavor delete", owner, "DELETE", "/v2.1/flavors/1", None, {403}),
        ("non-admin flavor access add", owner, "POST", "/v2.1/flavors/1/action",
         {"addTenantAccess": {"tenant": "p2"}}, {403}),
        ("non-admin image delete", owner, "DELETE", f"/v2.1/images/{image}", None, {403, 404}),
        ("non-admin all_tenants list", other, "GET", "/v2.1/servers/detail?all_tenants=1", None, {403, 200}),
    ]
    for label, token, method, path, body, ok in cases:
        r = rlib.call(port, method, path, token, body)
        expect(res, f"compute: {label}", r, ok, must_not_contain=sid if 200 in ok else None)
    # Lists: the other project sees nothing of p1.
    for path in ("/v2.1/servers", "/v2.1/servers/detail", "/v2.1/servers/detail?project_id=p1",
                 "/v2.1/servers/detail?tenant_id=p1", "/v2.1/os-keypairs", "/v2.1/limits?tenant_id=p1"):
        r = rlib.call(port, "GET", path, other)
        expect(res, f"compute: other project lists {path}", r, {200, 400, 403}, must_not_contain=sid)
        if "keypairs" in path:
            expect(res, "compute: other user's keypair list", r, {200}, must_not_contain="alice-kp")
    # The owner still has it untouched, and the admin sees it.
    r = rlib.call(port, "GET", f"/v2.1/servers/{sid}/metadata", owner)
    expect(res, "compute: owner's metadata intact", r, {200})
    if r.status == 200 and r.json().get("metadata") != {"s": "1"}:
        res.check(False, f"owner's metadata changed by another project: {r.text}")
    r = rlib.call(port, "GET", f"/v2.1/servers/{sid}", admin)
    expect(res, "compute: admin sees the server", r, {200})
    r = rlib.call(port, "GET", f"/v2.1/servers/{sid}", member_same)
    expect(res, "compute: same project member sees the server", r, {200})
    # Admin-only server actions refused to the owner. (`forceDelete` is
    # not one: nova's os-deferred-delete:force lets the project's members
    # end their own soft-deleted servers.)
    for action in ({"os-resetState": {"state": "error"}}, {"migrate": None}, {"os-migrateLive": {"host": None}},
                   {"injectNetworkInfo": None}):
        r = rlib.call(port, "POST", f"/v2.1/servers/{sid}/action", owner, action)
        expect(res, f"compute: owner {next(iter(action))}", r, {403, 400, 404})
    # nova removed resetNetwork: 410 for everyone, whoever asks.
    r = rlib.call(port, "POST", f"/v2.1/servers/{sid}/action", owner, {"resetNetwork": None})
    expect(res, "compute: owner resetNetwork (removed)", r, {410})
    return sid


def metadata_matrix(res, meta_port, direct_port, osapi_port, image, victim_id):
    # A second instance in another project: the attacker.
    r = rlib.call(osapi_port, "POST", "/v2.1/servers", "eve:p3",
                  {"server": {"name": "attacker", "imageRef": image, "flavorRef": "1"}})
    eve_id = r.json()["server"]["id"]
    time.sleep(0.3)
    victim = rlib.call(osapi_port, "GET", f"/v2.1/servers/{victim_id}", "admin:admin").json()["server"]
    victim_ip = [a["addr"] for n in victim.get("addresses", {}).values() for a in n][0]

    def sign(v):
        return hmac.new(SECRET.encode(), v.encode(), hashlib.sha256).hexdigest()

    def md(port, headers, path="/openstack/latest/meta_data.json"):
        return rlib.call(port, "GET", path, headers=headers)

    good = {"X-Instance-ID": victim_id, "X-Tenant-ID": "p1", "X-Instance-ID-Signature": sign(victim_id),
            "X-Forwarded-For": victim_ip}
    r = md(meta_port, good)
    expect(res, "metadata: the instance itself (signed proxy)", r, {200})
    cases = [
        ("eve's signature over the victim's id", meta_port,
         {**good, "X-Instance-ID-Signature": sign(eve_id)}, {403}),
        ("signature with a wrong secret", meta_port,
         {**good, "X-Instance-ID-Signature": hmac.new(b"guess", victim_id.encode(), hashlib.sha256).hexdigest()}, {403}),
        ("signature truncated", meta_port, {**good, "X-Instance-ID-Signature": sign(victim_id)[:-2]}, {403}),
        ("signature upper-cased", meta_port, {**good, "X-Instance-ID-Signature": sign(victim_id).upper()}, {403}),
        ("empty signature", meta_port, {**good, "X-Instance-ID-Signature": ""}, {400, 403}),
        ("no signature", meta_port, {k: v for k, v in good.items() if k != "X-Instance-ID-Signature"}, {400, 403}),
        ("right signature, wrong tenant", meta_port, {**good, "X-Tenant-ID": "p3"}, {404}),
        ("eve's signed id, victim's tenant", meta_port,
         {**good, "X-Instance-ID": eve_id, "X-Instance-ID-Signature": sign(eve_id)}, {404}),
        ("victim's X-Forwarded-For only", meta_port, {"X-Forwarded-For": victim_ip}, {400, 404}),
        ("direct mode: X-Forwarded-For the victim's IP", direct_port, {"X-Forwarded-For": victim_ip}, {404}),
        ("direct mode: proxy headers ignored or refused", direct_port, good, {400, 404}),
    ]
    for label, port, headers, ok in cases:
        r = md(port, headers)
        expect(res, f"metadata: {label}", r, ok, must_not_contain=victim_id if 200 in ok else None)
        if victim_id in r.text:
            res.check(False, f"metadata: {label}: the victim's data leaked")
    for path in ("/latest/user-data", "/latest/meta-data/public-keys/0/openssh-key", "/openstack/latest/password"):
        r = md(meta_port, {**good, "X-Instance-ID-Signature": sign(eve_id)}, path)
        expect(res, f"metadata: forged signature on {path}", r, {403})


def ec2_matrix(res, sig_port, conf):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    def creds(user, project):
        out = subprocess.run([os.path.join(rlib.BIN_DIR, "ec2-api"), "--config-file", conf,
                              "credentials", "create", "--user", user, "--project", project],
                             capture_output=True, text=True, check=True).stdout
        access = re.search(r"access: (\S+)", out).group(1)
        secret = re.search(r"secret: (\S+)", out).group(1)
        return botocore.credentials.Credentials(access, secret)

    alice, bob = creds("alice", "p1"), creds("bob", "p2")
    url = f"http://127.0.0.1:{sig_port}/"

    def signed_v4(c, params, when=None, tamper=None, secret=None):
        ar = botocore.awsrequest.AWSRequest(method="POST", url=url, data=params,
                                            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        cred = botocore.credentials.Credentials(c.access_key, secret or c.secret_key)
        signer = botocore.auth.SigV4Auth(cred, "ec2", "RegionOne")
        if when is not None:
            orig = datetime.datetime
            class Fixed(orig):  # noqa: E306 - botocore reads datetime.datetime.utcnow
                @classmethod
                def utcnow(cls):
                    return when
                @classmethod
                def now(cls, tz=None):
                    return when.replace(tzinfo=tz) if tz else when
            botocore.auth.datetime.datetime = Fixed
            try:
                signer.add_auth(ar)
            finally:
                botocore.auth.datetime.datetime = orig
        else:
            signer.add_auth(ar)
        body = ar.body if isinstance(ar.body, (bytes, str)) else urllib.parse.urlencode(params)
        if isinstance(body, str):
            body = body.encode()
        if tamper:
            body = body.replace(tamper[0].encode(), tamper[1].encode())
        headers = {k: v for k, v in ar.headers.items() if k.lower() not in ("content-length",)}
        headers["Host"] = f"127.0.0.1:{sig_port}"
        return rlib.call(sig_port, "POST", "/", headers=headers, body=body)

    def signed_v2(c, params, when=None, expires=None, tamper=None):
        ar = botocore.awsrequest.AWSRequest(method="POST", url=url, data=dict(params))
        signer = botocore.auth.SigV2Auth(c)
        ar.params = {}
        signer.add_auth(ar)
        data = dict(ar.data)
        if when is not None or expires is not None:
            # Re-sign with the chosen time: botocore always stamps "now".
            data.pop("Signature", None)
            if expires is not None:
                data.pop("Timestamp", None)
                data["Expires"] = expires
            else:
                data["Timestamp"] = when
            signer2 = botocore.auth.SigV2Auth(c)
            req2 = botocore.awsrequest.AWSRequest(method="POST", url=url, data=data)
            _, sig = signer2.calc_signature(req2, data)
            data["Signature"] = sig
        body = urllib.parse.urlencode(data).encode()
        if tamper:
            body = body.replace(tamper[0].encode(), tamper[1].encode())
        return rlib.call(sig_port, "POST", "/", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                         "Host": f"127.0.0.1:{sig_port}"}, body=body)

    describe = {"Action": "DescribeInstances", "Version": "2016-11-15"}
    r = signed_v4(alice, describe)
    expect(res, "ec2: SigV4 right", r, {200})
    r = signed_v2(alice, describe)
    expect(res, "ec2: SigV2 right", r, {200})
    images = signed_v4(alice, {"Action": "DescribeImages", "Version": "2016-11-15"})
    ami = re.search(r"<imageId>(ami-[0-9a-f]+)</imageId>", images.text).group(1)
    run = signed_v4(alice, {"Action": "RunInstances", "Version": "2016-11-15", "ImageId": ami,
                            "InstanceType": "m1.tiny", "MinCount": "1", "MaxCount": "1"})
    expect(res, "ec2: alice runs an instance", run, {200})
    iid = re.search(r"<instanceId>(i-[0-9a-f]+)</instanceId>", run.text).group(1)
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    future = datetime.datetime.utcnow() + datetime.timedelta(hours=1)
    ts = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    refused = {400, 401, 403}

    def refused_as(r, codes, label):
        expect(res, f"ec2: {label}", r, refused)
        code = re.search(r"<Code>([^<]+)</Code>", r.text)
        if r.status in refused and (not code or code.group(1) not in codes):
            res.check(False, f"ec2: {label}: code {code.group(1) if code else None}, expected one of {codes}")

    auth_codes = {"AuthFailure", "SignatureDoesNotMatch", "IncompleteSignature"}
    time_codes = {"RequestExpired"}
    refused_as(signed_v4(alice, describe, secret="wrong" + alice.secret_key), auth_codes, "SigV4 wrong secret")
    refused_as(signed_v4(alice, describe, when=old), time_codes, "SigV4 signed an hour ago")
    refused_as(signed_v4(alice, describe, when=future), time_codes, "SigV4 signed an hour ahead")
    refused_as(signed_v4(alice, {**describe, "InstanceId.1": iid}, tamper=(iid, "i-00000000")),
               auth_codes, "SigV4 tampered parameter")
    refused_as(signed_v4(alice, describe, tamper=("DescribeInstances", "DescribeImages")),
               auth_codes, "SigV4 tampered Action")
    refused_as(signed_v2(alice, describe, when=ts(old)), time_codes, "SigV2 Timestamp an hour old")
    refused_as(signed_v2(alice, describe, when=ts(future)), time_codes, "SigV2 Timestamp an hour ahead")
    refused_as(signed_v2(alice, describe, expires=ts(old)), time_codes, "SigV2 Expires in the past")
    refused_as(signed_v2(alice, {**describe, "InstanceId.1": iid}, tamper=(iid, "i-00000000")),
               auth_codes, "SigV2 tampered parameter")
    r = rlib.call(sig_port, "GET", f"/?Action=DescribeInstances&AWSAccessKeyId={alice.access_key}&Version=2016-11-15")
    refused_as(r, auth_codes | {"MissingParameter"}, "unsigned request in signature mode")
    r = rlib.call(sig_port, "GET", "/?Action=DescribeInstances&AWSAccessKeyId=admin:admin&Version=2016-11-15")
    refused_as(r, auth_codes | {"MissingParameter"}, "noauth-style admin key in signature mode")
    refused_as(signed_v4(botocore.credentials.Credentials("AKIDUNKNOWN", "x"), describe),
               auth_codes | {"InvalidClientTokenId"}, "unknown access key")
    # Replay within the window is accepted (no nonce in EC2), out of it refused: covered above.
    # Cross-project: bob sees nothing of alice's and cannot act on it.
    r = signed_v4(bob, describe)
    expect(res, "ec2: bob's DescribeInstances", r, {200}, must_not_contain=iid)
    r = signed_v4(bob, {**describe, "InstanceId.1": iid})
    expect(res, "ec2: bob describes alice's instance", r, {400}, must_not_contain="<instancesSet><item>")
    for action in ("TerminateInstances", "StopInstances", "RebootInstances", "GetConsoleOutput"):
        params = {"Action": action, "Version": "2016-11-15", "InstanceId.1" if action != "GetConsoleOutput" else "InstanceId": iid}
        r = signed_v4(bob, params)
        expect(res, f"ec2: bob {action} on alice's instance", r, {400, 403})
    r = signed_v4(alice, {**describe, "InstanceId.1": iid})
    expect(res, "ec2: alice's instance still running", r, {200})
    if "<name>running</name>" not in r.text and "<name>pending</name>" not in r.text:
        res.check(False, f"ec2: alice's instance state changed: {r.text[:300]!r}")


def run_matrix(services, conf_sig, ec2_sig, direct):
    res = Result("isolation/auth matrix (compute, metadata, ec2)")
    osapi = services["osapi_compute"]
    image = rlib.call(osapi.port, "GET", "/v2.1/images", "u:p1").json()["images"][0]["id"]
    try:
        victim = compute_matrix(res, osapi.port, image)
        metadata_matrix(res, services["metadata"].port, direct.port, osapi.port, image, victim)
        ec2_matrix(res, ec2_sig.port, conf_sig)
    except Exception as ex:  # noqa: BLE001
        res.check(False, f"matrix error: {type(ex).__name__}: {ex}")
    for s in list(services.values()) + [ec2_sig, direct]:
        res.check(not s.panics(), f"{s.api} panicked: {s.panics()[:2]}")
    res.note(f"{res.sent} checks")
    return res.save()


def main():
    what = sys.argv[1:] or ["corpus", "matrix"]
    d = rlib.tmpdir("hostile")
    db = f"sqlite:///{d}/state/nova.sqlite"
    common = {"DEFAULT": {"osapi_compute_workers": "2", "ec2_workers": "2", "metadata_workers": "2"},
              "wsgi": {"client_socket_timeout": "5"}}
    conf = rlib.write_conf(d, db, common)
    os.makedirs(os.path.join(d, "sig"), exist_ok=True)
    conf_sig = rlib.write_conf(os.path.join(d, "sig"), db,
                               {**common, "ec2": {"auth_mode": "signature"}, "DEFAULT": {"ec2_workers": "1"}})
    os.makedirs(os.path.join(d, "direct"), exist_ok=True)
    conf_direct = rlib.write_conf(os.path.join(d, "direct"), db,
                                  {**common, "neutron": {"service_metadata_proxy": "false"},
                                   "DEFAULT": {"metadata_workers": "1"}})
    ok = True
    try:
        services = {}
        services["osapi_compute"] = Service("osapi_compute", conf, os.path.join(d, "osapi.log"))
        services["ec2"] = Service("ec2", conf, os.path.join(d, "ec2.log"))
        services["metadata"] = Service("metadata", conf, os.path.join(d, "metadata.log"))
        for s in services.values():
            s.wait_children(2)
        osapi = services["osapi_compute"]
        image = rlib.call(osapi.port, "GET", "/v2.1/images", "u:p1").json()["images"][0]["id"]
        r = rlib.call(osapi.port, "POST", "/v2.1/servers", "u:p1",
                      {"server": {"name": "md", "imageRef": image, "flavorRef": "1"}})
        instance_id = r.json()["server"]["id"]
        if "corpus" in what:
            ok = asyncio.run(run_corpus(services, instance_id)) and ok
        if "matrix" in what:
            ec2_sig = Service("ec2", conf_sig, os.path.join(d, "ec2-sig.log"))
            direct = Service("metadata", conf_direct, os.path.join(d, "metadata-direct.log"))
            ok = run_matrix(services, conf_sig, ec2_sig, direct) and ok
    except Exception as ex:  # noqa: BLE001
        res = Result("hostile set-up")
        res.check(False, f"{type(ex).__name__}: {ex}")
        res.save()
        ok = False
    finally:
        rlib.stop_all()
    log(f"hostile: logs in {d}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
