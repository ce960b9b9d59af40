#!/usr/bin/env python3
"""Metadata benchmark: metadata-api behind a neutron metadata proxy
(`[neutron] service_metadata_proxy = true` and a shared secret; SQLite in a
temporary state directory, deploy/etc/nova/api-paste.ini) with 1 and 2
workers under wrk: `GET /openstack/latest/meta_data.json` asked by 1000
distinct instances. A wrk Lua script rotates through the 1000 header sets
(`X-Instance-ID`, `X-Tenant-ID`, `X-Forwarded-For`, and
`X-Instance-ID-Signature` = hex HMAC-SHA256(secret, instance id)), each wrk
thread starting at a different place in the list.

The instances are created through osapi-compute on the same SQLite file
(one POST with min_count=max_count=1000). The bare axum server answers the
meta_data.json bytes of one instance with as many threads. Each metadata
worker caches an instance's answer for `[api] metadata_cache_expiration`
(nova's 15 s); a second set of rows turns the cache off (0) so every request
reads the store. Not a test: it asserts nothing, it measures.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

INSTANCES = int(os.environ.get("BENCH_SERVERS", "1000"))
SECRET = "bench-shared-secret"
PATH = "/openstack/latest/meta_data.json"
PROXY = f"""[neutron]
service_metadata_proxy = true
metadata_proxy_shared_secret = {SECRET}
"""


def seed(state, conf):
    """INSTANCES instances in project `demo` through the Compute API;
    returns (uuid, project, fixed ip) triples and the seeding time."""
    svc = b.Service("osapi-compute", conf, 1, state)
    try:
        headers = {"OpenStack-API-Version": "compute 2.96"}
        admin = b.Client(svc.port, dict(headers, **{"X-Auth-Token": "admin:admin"}))
        admin.request("PUT", "/v2.1/os-quota-sets/demo",
                      {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}, expect={200})
        admin.close()
        demo = b.Client(svc.port, dict(headers, **{"X-Auth-Token": "demo:demo"}))
        _, _, data = demo.request("GET", "/image/v2/images", expect={200})
        image = json.loads(data)["images"][0]["id"]
        t0 = time.monotonic()
        demo.request("POST", "/v2.1/servers", {"server": {
            "name": "meta", "imageRef": image, "flavorRef": "1", "networks": "auto",
            "metadata": {"role": "bench"}, "min_count": INSTANCES, "max_count": INSTANCES}},
            expect={202})
        seconds = time.monotonic() - t0
        _, _, data = demo.request("GET", "/v2.1/servers/detail", expect={200})
        demo.close()
    finally:
        svc.stop()
    instances = []
    for s in json.loads(data)["servers"]:
        ips = [a["addr"] for net in s.get("addresses", {}).values() for a in net]
        instances.append((s["id"], s["tenant_id"], ips[0] if ips else "10.0.0.2"))
    if len(instances) != INSTANCES:
        sys.exit(f"expected {INSTANCES} servers, found {len(instances)}")
    return instances, seconds


def signature(instance_id):
    return b.metadata_signature(SECRET, instance_id)


def write_script(state, instances):
    """The wrk script: one request per header set, in turn."""
    return b.lua_metadata(state, "metadata.lua", instances, PATH, SECRET)


def one_answer(port, instance):
    uuid, project, ip = instance
    client = b.Client(port)
    _, headers, body = client.request("GET", PATH, headers={
        "X-Instance-ID": uuid, "X-Tenant-ID": project, "X-Forwarded-For": ip,
        "X-Instance-ID-Signature": signature(uuid)}, expect={200})
    client.close()
    return body, headers.get("Content-Type")


def main():
    rows = []
    notes = []
    with b.state_dir() as state:
        conf = b.write_conf(state, PROXY)
        instances, seconds = seed(state, conf)
        notes.append(f"seeding {INSTANCES} instances through osapi-compute (one POST, "
                     f"min_count={INSTANCES}): {seconds:.2f} s")
        script = write_script(state, instances)
        for cache in ("15", "0"):
            conf = b.write_conf(state, PROXY, api=f"metadata_cache_expiration = {cache}")
            for workers in b.WORKER_COUNTS:
                svc = b.Service("metadata-api", conf, workers, state)
                try:
                    body, content_type = one_answer(svc.port, instances[0])
                    ours = b.wrk(svc.port, PATH, script=script)
                    ours["rss"] = svc.rss_mb()
                    errors = svc.log_lines(r" ERROR |panicked")
                    if errors:
                        notes.append(f"{workers} worker(s), cache {cache} s: {len(errors)} ERROR "
                                     f"lines in the log, first: {errors[0][:300]}")
                finally:
                    svc.stop()
                ref = b.bare(state, body, content_type, workers, PATH)
                what = (f"GET meta_data.json, {INSTANCES} instances, signed, "
                        f"cache {cache} s ({len(body)} B)")
                rows.append((what, workers, ours, ref))
    b.print_table(f"metadata-api behind a neutron proxy, SQLite ({b.machine()})", rows)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
