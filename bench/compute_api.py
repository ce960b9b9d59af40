#!/usr/bin/env python3
"""Compute API benchmark: osapi-compute (noauth2, SQLite in a temporary state
directory, deploy/etc/nova/api-paste.ini) with 1 and 2 workers under wrk:

- GET /v2.1/flavors and GET /v2.1/flavors/detail (the five seeded flavors);
- GET /v2.1/servers/detail with 1000 ACTIVE servers in the project (one
  page: nova's default max_limit is 1000);
- POST /v2.1/servers rate (wrk posting a one-server body into a second
  project whose quota is unlimited), in creates/s.

Each row is printed beside the bare axum server answering the same bytes
with as many threads (for the POST row: a GET of the create response's
bytes, since the bare server only answers GET). RSS is the largest worker's
resident set after the run. Not a test: it asserts nothing, it measures.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

SERVERS = int(os.environ.get("BENCH_SERVERS", "1000"))
MICROVERSION = "compute 2.96"
DEMO = ["X-Auth-Token: demo:demo", f"OpenStack-API-Version: {MICROVERSION}"]


def seed(port):
    """Unlimited quotas for `demo` and `bench`; SERVERS servers in `demo`.
    Returns the image id and the seeding time."""
    headers = {"OpenStack-API-Version": MICROVERSION}
    admin = b.Client(port, dict(headers, **{"X-Auth-Token": "admin:admin"}))
    unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    for project in ("demo", "bench"):
        admin.request("PUT", f"/v2.1/os-quota-sets/{project}", unlimited, expect={200})
    admin.close()
    demo = b.Client(port, dict(headers, **{"X-Auth-Token": "demo:demo"}))
    _, _, data = demo.request("GET", "/image/v2/images", expect={200})
    image = json.loads(data)["images"][0]["id"]
    t0 = time.monotonic()
    demo.request("POST", "/v2.1/servers", {"server": {
        "name": "bench", "imageRef": image, "flavorRef": "1", "networks": "auto",
        "min_count": SERVERS, "max_count": SERVERS}}, expect={202})
    seconds = time.monotonic() - t0
    _, _, data = demo.request("GET", "/v2.1/servers/detail", expect={200})
    servers = json.loads(data)["servers"]
    active = sum(1 for s in servers if s["status"] == "ACTIVE")
    if active != SERVERS:
        sys.exit(f"expected {SERVERS} ACTIVE servers, found {active} of {len(servers)}")
    demo.close()
    return image, seconds


def measure_get(svc, state, workers, path):
    client = b.Client(svc.port, {"X-Auth-Token": "demo:demo", "OpenStack-API-Version": MICROVERSION})
    _, headers, body = client.request("GET", path, expect={200})
    client.close()
    ours = b.wrk(svc.port, path, DEMO)
    ours["rss"] = svc.rss_mb()
    ref = b.bare(state, body, headers.get("Content-Type"), workers, path)
    return ours, ref, len(body)


def measure_post(svc, state, workers, image):
    body = json.dumps({"server": {"name": "rate", "imageRef": image, "flavorRef": "1",
                                  "networks": "auto"}})
    headers = {"X-Auth-Token": "bench:bench", "OpenStack-API-Version": MICROVERSION,
               "Content-Type": "application/json"}
    client = b.Client(svc.port, headers)
    _, resp_headers, created = client.request("POST", "/v2.1/servers", body, expect={202})
    client.close()
    script = b.lua_post(state, "post-server.lua", "/v2.1/servers", body, headers)
    ours = b.wrk(svc.port, "/v2.1/servers", script=script)
    ours["rss"] = svc.rss_mb()
    ref = b.bare(state, created, resp_headers.get("Content-Type"), workers, "/v2.1/servers")
    return ours, ref


def main():
    rows = []
    notes = []
    with b.state_dir() as state:
        conf = b.write_conf(state)
        image = None
        for workers in b.WORKER_COUNTS:
            svc = b.Service("osapi-compute", conf, workers, state)
            try:
                if image is None:
                    image, seconds = seed(svc.port)
                    notes.append(f"seeding {SERVERS} servers with one POST (min_count={SERVERS}): "
                                 f"{seconds:.2f} s")
                for path in ("/v2.1/flavors", "/v2.1/flavors/detail", "/v2.1/servers/detail"):
                    ours, ref, size = measure_get(svc, state, workers, path)
                    what = f"GET {path}" + (f" ({SERVERS} servers, {size / 1e6:.1f} MB)"
                                            if "servers" in path else "")
                    rows.append((what, workers, ours, ref))
                ours, ref = measure_post(svc, state, workers, image)
                rows.append(("POST /v2.1/servers (creates/s; bare: GET of the reply)", workers, ours, ref))
                errors = svc.log_lines(r" ERROR |panicked")
                if errors:
                    notes.append(f"{workers} worker(s): {len(errors)} ERROR lines in the log, first: "
                                 f"{errors[0][:300]}")
            finally:
                svc.stop()
    b.print_table(f"osapi-compute, noauth2, SQLite, microversion 2.96 ({b.machine()})", rows)
    print("| nova 34 under uWSGI, GET /v2.1/flavors (quoted from the compute issue, "
          "NOT measured here) | 1 | ~150 | | | | ~150 MB | | | | |")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
