#!/usr/bin/env python3
"""Side by side with nova 34: the real nova-api (PyPI `nova==34.0.0` under
uWSGI 2.0.31, as devstack runs it) and ours (this checkout's release
binaries), same machine, same run, same data, 1 and 2 workers.

nova runs from its own venv (`.state/nova34-venv`, installed on first use,
about 4 minutes) with a generated nova.conf and api-paste.ini in a temporary
directory: SQLite for the API, cell0 and cell1 databases, `transport_url =
fake:/`, nova's `keystone` pipeline with `side_by_side/token_headers.py` where
`authtoken` stands (`X-Auth-Token: user:project`, as our noauth2). Neutron and
Glance are stood in for by `side_by_side/standin.py` (canned answers; its CPU
is reported apart). nova's ACTIVE instances are inserted with nova's own
objects (`side_by_side/seed_instances.py`, run in nova's venv) with the same
UUIDs, names and addresses as ours, which are created through our API.

Measured per path: server CPU per request (utime + stime of every server
process from /proc/PID/stat across the run, divided by the completed
requests), req/s, p50/p99, RSS per worker (and private memory for ours).
Paths nova answers in more than 100 ms (the server listings) are measured
with as many lone clients as workers: wrk for ours, sequential requests for
nova (a wrk run of a few seconds would complete one or two of nova's).
`POST /v2.1/servers`: ours creates the server (simulated driver); nova stops
at BUILD (no conductor), its build requests are deleted after each run.

Writes the figures to docs/bench/nova34.json and the charts with svg.py.
Knobs: BENCH_DURATION (5s), BENCH_CONNECTIONS (32), NOVA34_VENV,
BENCH_NO_PLOTS=1. Not a test: it asserts nothing, it measures.
"""
import base64
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HELPERS = os.path.join(HERE, "side_by_side")
VENV = os.environ.get("NOVA34_VENV", os.path.join(b.ROOT, ".state", "nova34-venv"))
PACKAGES = ["nova==34.0.0", "uwsgi==2.0.31"]
MICROVERSION = "compute 2.96"
SECRET = "bench-shared-secret"
USER_DATA = base64.b64encode(b"#!/bin/sh\necho side-by-side\n").decode()
SLOW = 0.1  # seconds: a path nova answers slower than this is measured with lone clients
OUT = os.path.join(b.ROOT, "docs", "bench", "nova34.json")
# (label, path, user:project, microversion): the image proxy is gone from 2.36 on.
GETS = [
    ("GET /v2.1/flavors", "/v2.1/flavors", "u100:p100", MICROVERSION),
    ("GET /v2.1/flavors/detail", "/v2.1/flavors/detail", "u100:p100", MICROVERSION),
    ("GET /v2.1/os-keypairs", "/v2.1/os-keypairs", "u100:p100", MICROVERSION),
    ("GET /v2.1/limits", "/v2.1/limits", "u100:p100", MICROVERSION),
    ("GET /v2.1/images (2.35)", "/v2.1/images", "u100:p100", "compute 2.35"),
    ("GET /v2.1/servers/detail (100)", "/v2.1/servers/detail", "u100:p100", MICROVERSION),
    ("GET /v2.1/servers/detail (1000)", "/v2.1/servers/detail", "u1000:p1000", MICROVERSION),
]
METADATA = [
    ("GET /openstack/latest/meta_data.json", "/openstack/latest/meta_data.json"),
    ("GET /openstack/latest/user_data", "/openstack/latest/user_data"),
    ("GET /latest/meta-data/ (EC2)", "/latest/meta-data/"),
]


# ---- nova's venv and deployment ----------------------------------------------

def ensure_venv():
    """nova 34 and uWSGI in their own venv; skipped when both are there."""
    py = os.path.join(VENV, "bin", "python")
    if os.path.exists(os.path.join(VENV, "bin", "uwsgi")) and subprocess.run(
            [py, "-c", "import nova.version"], capture_output=True).returncode == 0:
        return 0.0
    t0 = time.monotonic()
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return time.monotonic() - t0


PASTE = """[composite:metadata]
use = egg:Paste#urlmap
/: meta

[pipeline:meta]
pipeline = cors http_proxy_to_wsgi metaapp

[app:metaapp]
paste.app_factory = nova.api.metadata.handler:MetadataRequestHandler.factory

[composite:osapi_compute]
use = call:nova.api.openstack.urlmap:urlmap_factory
/: oscomputeversions
/v2.1: oscomputeversion_v2
/v2.1/+: openstack_compute_api_v21

[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21

[filter:request_log]
paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory

[filter:compute_req_id]
paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory

[filter:faultwrap]
paste.filter_factory = nova.api.openstack:FaultWrapper.factory

[filter:osprofiler]
paste.filter_factory = nova.profiler:WsgiMiddleware.factory

[filter:sizelimit]
paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory

[app:osapi_compute_app_v21]
paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory

[pipeline:oscomputeversions]
pipeline = cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp

[pipeline:oscomputeversion_v2]
pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi oscomputeversionapp_v2

[app:oscomputeversionapp]
paste.app_factory = nova.api.openstack.compute.versions:Versions.factory

[app:oscomputeversionapp_v2]
paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = nova

[filter:keystonecontext]
paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory

# In place of keystonemiddleware's authtoken: X-Auth-Token user:project.
[filter:authtoken]
paste.filter_factory = token_headers:filter_factory
"""


def write_nova_conf(d, standin_port):
    stand_in = f"http://127.0.0.1:{standin_port}/"
    with open(os.path.join(d, "nova.conf"), "w") as f:
        f.write(f"""[DEFAULT]
transport_url = fake:/
state_path = {d}
my_ip = 127.0.0.1
host = bench-host
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = {d}/api-paste.ini
[api_database]
connection = sqlite:///{d}/api.sqlite
[database]
connection = sqlite:///{d}/cell1.sqlite
[neutron]
endpoint_override = {stand_in}
auth_type = none
service_metadata_proxy = true
metadata_proxy_shared_secret = {SECRET}
[glance]
endpoint_override = {stand_in}
[oslo_concurrency]
lock_path = {d}/lock
[oslo_messaging_notifications]
driver = noop
[quota]
instances = -1
cores = -1
ram = -1
key_pairs = -1
""")
    with open(os.path.join(d, "api-paste.ini"), "w") as f:
        f.write(PASTE)


def nova_env(d):
    env = dict(os.environ, OS_NOVA_CONFIG_DIR=d, PYTHONPATH=HELPERS)
    env["PATH"] = os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", "")
    return env


def nova_manage(d, *args):
    subprocess.run([os.path.join(VENV, "bin", "nova-manage"), "--config-file",
                    os.path.join(d, "nova.conf"), *args], env=nova_env(d), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setup_nova_dbs(d):
    t0 = time.monotonic()
    nova_manage(d, "api_db", "sync")
    nova_manage(d, "cell_v2", "map_cell0", "--database_connection", f"sqlite:///{d}/cell0.sqlite")
    nova_manage(d, "cell_v2", "create_cell", "--name", "cell1", "--transport-url", "fake:/",
                "--database_connection", f"sqlite:///{d}/cell1.sqlite")
    nova_manage(d, "db", "sync")
    return time.monotonic() - t0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Uwsgi:
    """nova's WSGI application under uWSGI with the reference flags."""

    def __init__(self, d, module, workers, tag):
        self.port = free_port()
        self.log_path = os.path.join(d, f"uwsgi-{tag}-{workers}w.log")
        self.log = open(self.log_path, "wb")
        cmd = [os.path.join(VENV, "bin", "uwsgi"), "--http-socket", f"127.0.0.1:{self.port}",
               "--module", module, "--home", VENV, "--master", "--processes", str(workers),
               "--threads", "1", "--enable-threads", "--lazy-apps", "--die-on-term",
               "--buffer-size", "65535", "--need-app", "--disable-logging"]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=nova_env(d), stdout=self.log, stderr=subprocess.STDOUT)
        self.first_200 = wait_http(self.port, self.proc, self.log_path, "/" if "osapi" in module else "/latest/") - t0

    def pids(self):
        return [self.proc.pid] + b.children(self.proc.pid)

    def worker_pids(self):
        return b.children(self.proc.pid) or [self.proc.pid]

    def stop(self):
        b.stop(self.proc)
        self.log.close()


def wait_http(port, proc, log_path, path, limit=120):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path)
            status = c.getresponse().status
            c.close()
            if status < 500:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    with open(log_path, errors="replace") as f:
        sys.exit(f"uWSGI did not answer: {f.read()[-3000:]}")


class StandIn:
    def __init__(self, d, images):
        path = os.path.join(d, "images.json")
        with open(path, "w") as f:
            json.dump({"images": images}, f)
        self.log_path = os.path.join(d, "standin.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HELPERS, "standin.py"), path],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = b.wait_listening(self.proc, self.log_path, r"listening on \S+:(\d+)")

    def cpu(self):
        return b.cpu_seconds([self.proc.pid])

    def stop(self):
        b.stop(self.proc)
        self.log.close()


# ---- requests ----------------------------------------------------------------

def call(port, method, path, token, body=None, expect=None, microversion=MICROVERSION):
    """One request on a fresh connection (uWSGI's --http-socket closes it)."""
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": microversion}
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t0 = time.monotonic()
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    elapsed = time.monotonic() - t0
    c.close()
    if expect is not None and r.status not in expect:
        sys.exit(f"{method} {path} as {token}: {r.status} {data[:600]!r}")
    return r.status, data, elapsed


def seed_ours(port):
    """Unlimited quotas; 100 servers for u100 in p100, 1000 for u1000 in
    p1000 (with user data), a keypair for u100. Returns what nova needs to
    hold the same data."""
    for project in ("p100", "p1000", "bench"):
        call(port, "PUT", f"/v2.1/os-quota-sets/{project}", "admin:admin",
             {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}, expect={200})
    _, data, _ = call(port, "GET", "/image/v2/images", "u100:p100", expect={200})
    images = json.loads(data)["images"]
    image = images[0]["id"]
    seconds = {}
    for user, project, n in (("u100", "p100", 100), ("u1000", "p1000", 1000)):
        _, _, elapsed = call(port, "POST", "/v2.1/servers", f"{user}:{project}", {"server": {
            "name": f"vm-{project}", "imageRef": image, "flavorRef": "1", "networks": "auto",
            "user_data": USER_DATA, "metadata": {"role": "bench"},
            "min_count": n, "max_count": n}}, expect={202})
        seconds[project] = elapsed
    pub = keypair_public()
    call(port, "POST", "/v2.1/os-keypairs", "u100:p100",
         {"keypair": {"name": "bench", "public_key": pub}}, expect={200, 201})
    _, data, _ = call(port, "GET", "/v2.1/flavors/detail", "admin:admin", expect={200})
    flavors = json.loads(data)["flavors"]
    instances = []
    for user, project in (("u100", "p100"), ("u1000", "p1000")):
        _, data, _ = call(port, "GET", "/v2.1/servers/detail", f"{user}:{project}", expect={200})
        for s in json.loads(data)["servers"]:
            if s["status"] != "ACTIVE":
                sys.exit(f"ours: server {s['id']} is {s['status']}")
            ips = [a["addr"] for net in s.get("addresses", {}).values() for a in net]
            instances.append({"uuid": s["id"], "project": project, "user": user,
                              "name": s["name"], "ip": ips[0] if ips else "10.0.0.2"})
    return {"images": images, "image": image, "flavors": flavors, "instances": instances,
            "public_key": pub, "seconds": seconds}


def keypair_public():
    with b.state_dir() as d:
        key = os.path.join(d, "k")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        with open(key + ".pub") as f:
            return f.read().strip()


def seed_nova(d, port, data):
    """The same flavors (through the API), keypair and instances (nova's
    objects) as ours."""
    for fl in data["flavors"]:
        body = {"flavor": {"name": fl["name"], "id": fl["id"], "ram": fl["ram"],
                           "vcpus": fl["vcpus"], "disk": fl["disk"],
                           "OS-FLV-EXT-DATA:ephemeral": fl.get("OS-FLV-EXT-DATA:ephemeral", 0),
                           "swap": fl.get("swap") or 0,
                           "os-flavor-access:is_public": fl.get("os-flavor-access:is_public", True)}}
        call(port, "POST", "/v2.1/flavors", "admin:admin", body, expect={200})
    call(port, "POST", "/v2.1/os-keypairs", "u100:p100",
         {"keypair": {"name": "bench", "public_key": data["public_key"]}}, expect={200, 201})
    spec = os.path.join(d, "seed.json")
    with open(spec, "w") as f:
        json.dump({"flavor": "1", "image": data["image"], "user_data": USER_DATA,
                   "instances": data["instances"]}, f)
    out = subprocess.run([os.path.join(VENV, "bin", "python"),
                          os.path.join(HELPERS, "seed_instances.py"), d, spec],
                         env=nova_env(d), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"seeding nova's instances failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def drop_build_requests(d):
    """nova's POSTs leave build requests (no conductor); every list loads them."""
    with sqlite3.connect(os.path.join(d, "api.sqlite")) as db:
        db.execute("DELETE FROM build_requests")
        db.execute("DELETE FROM request_specs WHERE instance_uuid IN "
                   "(SELECT instance_uuid FROM instance_mappings WHERE cell_id IS NULL)")
        db.execute("DELETE FROM instance_mappings WHERE cell_id IS NULL")


# ---- measuring ---------------------------------------------------------------

def measure_wrk(port, pids, path, token, script=None, connections=None, microversion=MICROVERSION):
    b.quiesce(pids)
    c0 = b.cpu_seconds(pids)
    headers = [f"X-Auth-Token: {token}", f"OpenStack-API-Version: {microversion}"]
    r = b.wrk(port, path, headers, script=script, connections=connections)
    cpu = b.cpu_seconds(pids) - c0  # at once: queued requests wrk abandoned are not counted
    r["cpu_per_req"] = cpu / r["requests"] if r["requests"] else float("nan")
    r["p50_ms"], r["p99_ms"] = b.latency_ms(r["p50"]), b.latency_ms(r["p99"])
    r["mode"] = f"wrk -c{connections or b.CONNECTIONS}"
    return r


def measure_serial(port, pids, method, path, token, clients, body=None, microversion=MICROVERSION):
    """`clients` threads each sending requests one after another for
    BENCH_DURATION (at least 3 requests in all); exact CPU per request."""
    b.quiesce(pids)
    duration = float(b.DURATION.rstrip("s"))
    lat, bad = [], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def run(i):
        n = 0
        while time.monotonic() < stop_at or (i == 0 and len(lat) < 3):
            status, _, elapsed = call(port, method, path, token, body, microversion=microversion)
            with lock:
                lat.append(elapsed)
                bad[0] += status >= 300
            n += 1

    c0 = b.cpu_seconds(pids)
    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu = b.cpu_seconds(pids) - c0
    lat.sort()
    return {"requests": len(lat), "rps": len(lat) / wall, "cpu_per_req": cpu / len(lat),
            "p50_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            "bad": bad[0], "sock": 0, "mode": f"{clients} sequential client(s)"}


def metadata_script(d, instances, path):
    name = "metadata-" + path.strip("/").replace("/", "_") + ".lua"
    return b.lua_metadata(d, name, [(i["uuid"], i["project"], i["ip"]) for i in instances],
                          path, SECRET)


def signature(instance_id):
    return b.metadata_signature(SECRET, instance_id)


def probe_metadata(port, inst, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path, headers={
        "X-Instance-ID": inst["uuid"], "X-Tenant-ID": inst["project"],
        "X-Forwarded-For": inst["ip"], "X-Instance-ID-Signature": signature(inst["uuid"])})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        sys.exit(f"metadata {path}: {r.status} {data[:500]!r}")
    return len(data)


def memory(worker_pids, private=False):
    rss = max(b.rss_kb(p) for p in worker_pids) / 1024
    if not private:
        return rss, None
    return rss, max(b.private_kb(p) for p in worker_pids) / 1024


def ours_conf(state):
    return b.write_conf(state, f"""[neutron]
service_metadata_proxy = true
metadata_proxy_shared_secret = {SECRET}
""")


def row(label, workers, nova, ours, standin_cpu, size):
    return {"path": label, "workers": workers, "bytes": size, "nova": nova, "ours": ours,
            "standin_cpu_per_req": standin_cpu}


def compare(rows, label, workers, size, nova_fn, ours_fn, standin):
    s0 = standin.cpu()
    nova = nova_fn()
    standin_cpu = (standin.cpu() - s0) / max(nova["requests"], 1)
    ours = ours_fn()
    r = row(label, workers, nova, ours, standin_cpu, size)
    rows.append(r)
    print(f"  {label} ({workers}w): nova {b.fmt_seconds(nova['cpu_per_req'])}/req "
          f"[{nova['mode']}, {nova['requests']} req], ours {b.fmt_seconds(ours['cpu_per_req'])}/req "
          f"[{ours['mode']}, {ours['requests']} req], ratio "
          f"{nova['cpu_per_req'] / ours['cpu_per_req']:.0f}x", flush=True)


def main():
    started = time.monotonic()
    install = ensure_venv()
    print(f"nova 34 venv: {VENV} (install {install:.0f} s)", flush=True)
    rows, notes = [], []
    with b.state_dir() as state, b.state_dir() as nd:
        conf = ours_conf(state)
        svc = b.Service("osapi-compute", conf, 1, state)
        try:
            data = seed_ours(svc.port)
        finally:
            svc.stop()
        notes.append("ours: seeding 100 + 1000 servers through the API (min_count): "
                     + ", ".join(f"{k} {v:.2f} s" for k, v in data["seconds"].items()))
        standin = StandIn(nd, data["images"])
        try:
            write_nova_conf(nd, standin.port)
            os.makedirs(os.path.join(nd, "lock"), exist_ok=True)
            notes.append(f"nova: nova-manage db syncs {setup_nova_dbs(nd):.1f} s")
            first = Uwsgi(nd, "nova.wsgi.osapi_compute:application", 1, "seed")
            try:
                notes.append(f"nova: first 200 after {first.first_200:.1f} s (1 worker)")
                seconds = seed_nova(nd, first.port, data)
                notes.append(f"nova: {len(data['instances'])} instances inserted with nova's "
                             f"objects in {seconds:.1f} s")
            finally:
                first.stop()
            by_project = {p: [i for i in data["instances"] if i["project"] == p]
                          for p in ("p100", "p1000")}
            create = {"server": {"name": "rate", "imageRef": data["image"], "flavorRef": "1",
                                 "networks": "none"}}
            for workers in b.WORKER_COUNTS:
                print(f"== {workers} worker(s)", flush=True)
                nova = Uwsgi(nd, "nova.wsgi.osapi_compute:application", workers, "osapi")
                ours = b.Service("osapi-compute", conf, workers, state)
                ours_pids = lambda: [ours.proc.pid] + b.children(ours.proc.pid)  # noqa: E731
                try:
                    for label, path, token, mv in GETS:
                        # The second answer's time: the first of a path warms nova up.
                        for _ in range(2):
                            _, body, elapsed = call(nova.port, "GET", path, token, expect={200},
                                                    microversion=mv)
                        call(ours.port, "GET", path, token, expect={200}, microversion=mv)
                        if elapsed > SLOW:
                            compare(rows, label, workers, len(body),
                                    lambda: measure_serial(nova.port, nova.pids(), "GET", path,
                                                           token, workers, microversion=mv),
                                    lambda: measure_wrk(ours.port, ours_pids(), path, token,
                                                        connections=workers, microversion=mv),
                                    standin)
                        else:
                            compare(rows, label, workers, len(body),
                                    lambda: measure_wrk(nova.port, nova.pids(), path, token,
                                                        microversion=mv),
                                    lambda: measure_wrk(ours.port, ours_pids(), path, token,
                                                        microversion=mv),
                                    standin)
                        rows[-1]["nova"]["rss"], _ = memory(nova.worker_pids())
                        rows[-1]["ours"]["rss"], rows[-1]["ours"]["private"] = memory(
                            ours.worker_pids(), private=True)
                    # POST: ours creates; nova stops at BUILD.
                    body = json.dumps(create)
                    hdrs = {"X-Auth-Token": "bench:bench", "OpenStack-API-Version": MICROVERSION,
                            "Content-Type": "application/json"}
                    script = b.lua_post(state, "post.lua", "/v2.1/servers", body, hdrs)
                    call(nova.port, "POST", "/v2.1/servers", "bench:bench", create, expect={202})
                    call(ours.port, "POST", "/v2.1/servers", "bench:bench", create, expect={202})
                    compare(rows, "POST /v2.1/servers", workers, 0,
                            lambda: measure_serial(nova.port, nova.pids(), "POST", "/v2.1/servers",
                                                   "bench:bench", workers, body=create),
                            lambda: measure_wrk(ours.port, ours_pids(), "/v2.1/servers",
                                                "bench:bench", script=script,
                                                connections=workers),
                            standin)
                    rows[-1]["nova"]["rss"], _ = memory(nova.worker_pids())
                    rows[-1]["ours"]["rss"], rows[-1]["ours"]["private"] = memory(
                        ours.worker_pids(), private=True)
                    errors = ours.log_lines(r" ERROR |panicked")
                    if errors:
                        notes.append(f"ours {workers}w: {len(errors)} ERROR lines, first: "
                                     f"{errors[0][:300]}")
                finally:
                    nova.stop()
                    ours.stop()
                    drop_build_requests(nd)
                # The metadata services: 1000 instances in turn, signed headers.
                nova_md = Uwsgi(nd, "nova.wsgi.metadata:application", workers, "metadata")
                ours_md = b.Service("metadata-api", conf, workers, state)
                try:
                    for label, path in METADATA:
                        size = probe_metadata(nova_md.port, by_project["p1000"][0], path)
                        probe_metadata(ours_md.port, by_project["p1000"][0], path)
                        script = metadata_script(state, by_project["p1000"], path)
                        compare(rows, label, workers, size,
                                lambda: measure_wrk(nova_md.port, nova_md.pids(), path, "-",
                                                    script=script),
                                lambda: measure_wrk(ours_md.port,
                                                    [ours_md.proc.pid] + b.children(ours_md.proc.pid),
                                                    path, "-", script=script),
                                standin)
                        rows[-1]["nova"]["rss"], _ = memory(nova_md.worker_pids())
                        rows[-1]["ours"]["rss"], rows[-1]["ours"]["private"] = memory(
                            ours_md.worker_pids(), private=True)
                finally:
                    nova_md.stop()
                    ours_md.stop()
        finally:
            standin.stop()
    print_table(rows)
    for note in notes:
        print(note)
    took = time.monotonic() - started
    print(f"took {took:.0f} s (install {install:.0f} s)")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "machine": b.machine(), "duration": b.DURATION, "seconds": round(took),
                   "rows": rows, "notes": notes}, f, indent=1)
    if not os.environ.get("BENCH_NO_PLOTS"):
        import svg
        print("charts:", ", ".join(svg.side_by_side_charts(OUT)))


def print_table(rows):
    print(f"\nnova 34 (uWSGI, SQLite) and ours side by side ({b.machine()})")
    print("| path | workers | nova CPU/req | ours CPU/req | ratio | nova p50 / p99 | "
          "ours p50 / p99 | nova req/s | ours req/s | RSS/worker nova | RSS (private) ours | "
          "stand-in CPU/req | errors nova / ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n, o = r["nova"], r["ours"]
        print(f"| {r['path']} | {r['workers']} | {b.fmt_seconds(n['cpu_per_req'])} | "
              f"{b.fmt_seconds(o['cpu_per_req'])} | {n['cpu_per_req'] / o['cpu_per_req']:.0f}× | "
              f"{n['p50_ms']:.3g} / {n['p99_ms']:.3g} ms | {o['p50_ms']:.3g} / {o['p99_ms']:.3g} ms | "
              f"{n['rps']:.1f} | {o['rps']:.0f} | {n['rss']:.0f} MB | "
              f"{o['rss']:.1f} ({o['private']:.1f}) MB | {b.fmt_seconds(r['standin_cpu_per_req'])} | "
              f"{n['bad']} / {o['bad']} |")
    print("nova's socket errors are uWSGI closing each connection (--http-socket has no "
          "keep-alive); wrk reconnects. POST: ours creates the server, nova stops at BUILD.")


if __name__ == "__main__":
    main()
