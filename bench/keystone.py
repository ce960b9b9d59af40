#!/usr/bin/env python3
"""What the keystone auth strategy costs: GET /v2.1/servers/detail on
osapi-compute with auth_strategy = keystone and a cached token, beside the
same request under noauth2, in the same run, over the same SQLite file
(deploy/etc/nova/api-paste.ini, whose keystone pipeline has authtoken and
keystonecontext where noauth2 has noauth2).

The token is validated once per worker and then served from the filter's
cache (token_cache_time 300 s), so the figure is the cost of the cached
path: stripping and setting the identity headers, one cache lookup, and
keystonecontext. Keystone itself is a stub on 127.0.0.1 (stdlib
http.server) that answers the service login and that one validation, as a
real Keystone would (tests/keystone/run.sh covers the real one).

The two modes run alternately, ROUNDS times each; the best and the median
of each are printed, with the ratios keystone / noauth2 (target >= 0.90).
On a shared machine the runs vary: compare the load average printed.

Environment: BENCH_SERVERS (servers in the project, default 10, so that
the auth cost is not hidden behind a large listing), BENCH_WORKERS (1),
BENCH_ROUNDS (4), and benchlib's BENCH_DURATION/CONNECTIONS/THREADS.
Not a test: it asserts nothing, it measures.
"""
import http.server
import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

SERVERS = int(os.environ.get("BENCH_SERVERS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
MICROVERSION = "compute 2.96"
TOKEN = "bench-user-token"
SERVICE_TOKEN = "bench-service-token"
PATH = "/v2.1/servers/detail"


def token_body(user, project, roles):
    expires = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps({"token": {
        "methods": ["password"], "expires_at": expires, "issued_at": expires,
        "audit_ids": ["bench"], "is_domain": False, "catalog": [],
        "user": {"id": user, "name": user, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": project, "name": project, "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": r, "name": r} for r in roles]}}).encode()


class StubKeystone(http.server.BaseHTTPRequestHandler):
    """POST /v3/auth/tokens: the service token; GET: validates TOKEN only."""
    validations = 0

    def log_message(self, *args):
        pass

    def answer(self, code, body, subject=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if subject:
            self.send_header("X-Subject-Token", subject)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(201, token_body("nova", "service", ["service"]), SERVICE_TOKEN)

    def do_GET(self):
        StubKeystone.validations += 1
        if self.headers.get("X-Auth-Token") != SERVICE_TOKEN:
            self.answer(401, b'{"error": {"code": 401}}')
        elif self.headers.get("X-Subject-Token") == TOKEN:
            self.answer(200, token_body("demo", "demo", ["member", "reader"]), TOKEN)
        else:
            self.answer(404, b'{"error": {"code": 404}}')


def seed(port):
    headers = {"OpenStack-API-Version": MICROVERSION, "X-Auth-Token": "demo:demo"}
    demo = b.Client(port, headers)
    _, _, data = demo.request("GET", "/image/v2/images", expect={200})
    image = json.loads(data)["images"][0]["id"]
    demo.request("POST", "/v2.1/servers", {"server": {
        "name": "bench", "imageRef": image, "flavorRef": "1", "networks": "auto",
        "min_count": SERVERS, "max_count": SERVERS}}, expect={202})
    demo.close()


def measure(conf, state, token):
    svc = b.Service("osapi-compute", conf, WORKERS, state)
    try:
        client = b.Client(svc.port, {"X-Auth-Token": token, "OpenStack-API-Version": MICROVERSION})
        _, _, body = client.request("GET", PATH, expect={200})
        client.close()
        count = len(json.loads(body)["servers"])
        if count != SERVERS:
            sys.exit(f"{token}: expected {SERVERS} servers, saw {count}")
        result = b.wrk(svc.port, PATH, [f"X-Auth-Token: {token}",
                                         f"OpenStack-API-Version: {MICROVERSION}"])
        result["rss"] = svc.rss_mb()
        errors = svc.log_lines(r" ERROR |panicked")
        if errors:
            sys.exit(f"errors in the log: {errors[0][:300]}")
        return result
    finally:
        svc.stop()


def main():
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubKeystone)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    stub_url = f"http://127.0.0.1:{stub.server_address[1]}"
    keystone_section = f"""[keystone_authtoken]
auth_url = {stub_url}
www_authenticate_uri = {stub_url}
auth_type = password
username = nova
password = bench
project_name = service
token_cache_time = 300
"""
    with b.state_dir() as state:
        noauth_conf = b.write_conf(state, extra=keystone_section)
        with open(noauth_conf) as f:
            text = f.read()
        keystone_conf = os.path.join(state, "nova-keystone.conf")
        with open(keystone_conf, "w") as f:
            f.write(text.replace("auth_strategy = noauth2", "auth_strategy = keystone"))
        svc = b.Service("osapi-compute", noauth_conf, 1, state)
        try:
            seed(svc.port)
        finally:
            svc.stop()
        runs = {"noauth2": [], "keystone": []}
        for _ in range(ROUNDS):
            runs["noauth2"].append(measure(noauth_conf, state, "demo:demo"))
            runs["keystone"].append(measure(keystone_conf, state, TOKEN))
            time.sleep(0.5)
    stub.shutdown()
    best = {mode: max(rs, key=lambda r: r["rps"]) for mode, rs in runs.items()}
    print(f"GET {PATH} ({SERVERS} servers), osapi-compute {WORKERS} worker(s), "
          f"best of {ROUNDS} alternating runs ({b.machine()})")
    print("| auth_strategy | req/s (each run) | best req/s | p50 | p99 | non-2xx / socket errors | RSS |")
    print("|---|---|---|---|---|---|---|")
    for mode in ("noauth2", "keystone"):
        r = best[mode]
        each = ", ".join(f"{x['rps']:.0f}" for x in runs[mode])
        print(f"| {mode} | {each} | {r['rps']:.0f} | {r['p50']} | {r['p99']} | "
              f"{r['bad']} / {r['sock']} | {r['rss']:.1f} MB |")
    ratio = best["keystone"]["rps"] / best["noauth2"]["rps"]
    median = {mode: statistics.median(r["rps"] for r in rs) for mode, rs in runs.items()}
    print(f"ratio keystone (cached token) / noauth2: best {ratio:.3f}, median "
          f"{median['keystone'] / median['noauth2']:.3f} "
          f"({median['keystone']:.0f} / {median['noauth2']:.0f} req/s) (target >= 0.90)")
    print(f"Keystone validations answered by the stub: {StubKeystone.validations} "
          f"(one per worker start: the rest came from the cache)")


if __name__ == "__main__":
    main()
