"""Faults under load against the release binaries (see reliability/run.sh).

    python reliability/faults.py [SCENARIO...]

Scenarios: kill9, sighup, sigterm, sqlite_outage, postgres_outage, limits
(all by default). postgres_outage needs RELIABILITY_PG_URL (a private
server run.sh starts) and RELIABILITY_PG_CTL (the command that stops and
starts it: `<ctl> stop` / `<ctl> start`). Each scenario appends its row to
$RELIABILITY_RESULTS; the exit status is 1 when any assertion failed.
"""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402
from rlib import Result, Service, log  # noqa: E402

ADMIN = {"X-Auth-Token": "admin:admin"}
LOAD_SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "30"))
CONCURRENCY = int(os.environ.get("RELIABILITY_CONCURRENCY", "16"))


def slow_paste(dir_, delay):
    """deploy/etc/nova/api-paste.ini plus paste's slow app at /slow of the
    compute API, so that requests are in flight when a signal lands."""
    with open(rlib.PASTE, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("/image: image\n", "/image: image\n/slow: slowapp\n", 1)
    text += f"\n[app:slowapp]\nuse = egg:Paste#slow\ndelay = {delay}\n"
    path = os.path.join(dir_, "api-paste.ini")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def compute_service(name, extra=None, slow=None, db=None):
    d = rlib.tmpdir(name)
    paste = slow_paste(d, slow) if slow else None
    conf = rlib.write_conf(d, db or f"sqlite:///{d}/state/nova.sqlite", extra, paste)
    return d, conf, Service("osapi_compute", conf, os.path.join(d, "osapi.log"))


def reads():
    return ("GET", "/v2.1/flavors", {"X-Auth-Token": "u:rel"}, b"")


# ------------------------------------------------------------------ a. kill -9

async def kill9():
    res = Result("a. kill -9 a worker every 1 s (2 workers)")
    _, _, svc = compute_service("kill9")
    try:
        svc.wait_children(2)
        stop = asyncio.Event()
        killed, in_flight = [], 0

        async def killer():
            nonlocal in_flight
            await asyncio.sleep(1)
            t_end = time.monotonic() + LOAD_SECONDS
            while time.monotonic() < t_end:
                kids = svc.children()
                if kids:
                    victim = kids[len(killed) % len(kids)]
                    # Stopped first, so that the connections it holds can be
                    # counted before it dies and none is accepted meanwhile.
                    os.kill(victim, signal.SIGSTOP)
                    in_flight += rlib.established_on(victim, svc.port)
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                await asyncio.sleep(1)
            stop.set()

        stats, _ = await asyncio.gather(
            rlib.load(svc.port, reads, LOAD_SECONDS + 5, CONCURRENCY, stop=stop,
                      good=lambda r: r.status == 200),
            killer())
        res.sent, res.failed, res.refused = stats.sent, stats.failed, stats.refused
        res.note(stats.summary())
        res.note(f"{len(killed)} workers killed; connections in flight on them: {in_flight}")
        res.check(len(killed) >= LOAD_SECONDS * 0.8, f"only {len(killed)} kills")
        res.check(stats.refused == 0, f"{stats.refused} connections refused")
        res.check(stats.failed <= in_flight,
                  f"{stats.failed} failed > {in_flight} in flight on the killed workers")
        kids = svc.wait_children(2)
        res.check(len(kids) == 2, f"{len(kids)} workers after the kills, not 2")
        res.check(not svc.panics(), f"panics: {svc.panics()[:3]}")
        res.lost = f"in-flight {in_flight}"
    finally:
        svc.stop()
    return res.save()


# ------------------------------------------------------------ b. SIGHUP rolling

async def sighup():
    res = Result("b. SIGHUP every 5 s (2 workers)")
    _, _, svc = compute_service("sighup", slow=0.2)
    try:
        svc.wait_children(2)
        stop = asyncio.Event()
        hups = 0

        async def hupper():
            nonlocal hups
            t_end = time.monotonic() + LOAD_SECONDS
            await asyncio.sleep(2)
            while time.monotonic() < t_end:
                svc.signal(signal.SIGHUP)
                hups += 1
                await asyncio.sleep(5)
            stop.set()

        n = [0]

        def mixed():
            n[0] += 1
            if n[0] % 4 == 0:   # a quarter of the requests stay 0.2 s in flight
                return ("GET", "/slow", {}, b"")
            return reads()

        stats, _ = await asyncio.gather(
            rlib.load(svc.port, mixed, LOAD_SECONDS + 5, CONCURRENCY, stop=stop,
                      good=lambda r: r.status == 200),
            hupper())
        res.sent, res.failed, res.refused = stats.sent, stats.failed, stats.refused
        res.note(stats.summary())
        replaced = len(re.findall(r"(?i)(reload|sighup)", svc.log()))
        res.note(f"{hups} SIGHUPs; reload lines in log: {replaced}")
        res.check(stats.failed == 0, f"{stats.failed} requests failed across SIGHUPs")
        res.check(stats.refused == 0, f"{stats.refused} connections refused")
        res.check(svc.proc.poll() is None, "the service exited")
        res.check(not svc.panics(), f"panics: {svc.panics()[:3]}")
    finally:
        svc.stop()
    return res.save()


# ---------------------------------------------------------- c. SIGTERM drained

async def sigterm():
    res = Result("c. SIGTERM under load (2 workers)")
    _, _, svc = compute_service("sigterm", slow=1.0)
    try:
        svc.wait_children(2)
        stop = asyncio.Event()
        term_at = [None]

        n = [0]

        def mixed():
            n[0] += 1
            return ("GET", "/slow", {}, b"") if n[0] % 2 else reads()

        async def terminator():
            await asyncio.sleep(3)
            term_at[0] = time.monotonic()
            svc.signal(signal.SIGTERM)
            while svc.proc.poll() is None:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            stop.set()

        lost_detail = {}

        def on_reply(r, req_):
            if r.connected and r.status == 0:
                since = time.monotonic() - term_at[0] if term_at[0] else -1
                key = f"{req_[1]} reset after {r.elapsed:.1f}s, {since:+.1f}s from SIGTERM"
                lost_detail[key] = lost_detail.get(key, 0) + 1

        stats, _ = await asyncio.gather(
            rlib.load(svc.port, mixed, 60, CONCURRENCY, stop=stop,
                      good=lambda r: r.status == 200, on_reply=on_reply),
            terminator())
        code = svc.proc.returncode
        if lost_detail:
            res.note(f"accepted but unanswered, by request and time: {lost_detail}")
        # After SIGTERM the socket closes: refusals are expected; a connection
        # that was accepted and then reset without an answer is a lost request.
        unanswered = stats.by_error.get("reset", 0) + stats.by_error.get("eof", 0) \
            + stats.by_error.get("timeout", 0)
        res.sent, res.refused = stats.sent, stats.refused
        res.failed = stats.failed
        res.note(stats.summary())
        res.note(f"exit code {code}; drain took {time.monotonic() - term_at[0]:.1f}s "
                 f"(refusals after the socket closed are expected)")
        res.lost = f"unanswered {unanswered}"
        res.check(code == 0, f"exit code {code}, not 0")
        res.check(unanswered == 0, f"{unanswered} accepted requests got no answer")
        res.check(stats.failed == unanswered,
                  f"{stats.failed - unanswered} answers were errors: {stats.by_status}")
        res.check(not svc.panics(), f"panics: {svc.panics()[:3]}")
    finally:
        svc.stop()
    return res.save()


# ------------------------------------------------------------ d. store outages

def quota_unlimited(port, project):
    r = rlib.call(port, "PUT", f"/v2.1/os-quota-sets/{project}", "admin:admin",
                  {"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
    if r.status != 200:
        raise RuntimeError(f"quota update: {r.status} {r.text[:300]}")


def first_image(port):
    r = rlib.call(port, "GET", "/v2.1/images", "u:rel")
    return r.json()["images"][0]["id"]


def compute_fault_ok(r):
    """A 5xx in nova's fault JSON: {"<fault>": {"code": 5xx, "message": ...}}."""
    try:
        body = r.json()
        (name, fault), = body.items()
        return isinstance(fault, dict) and fault.get("code") == r.status and \
            isinstance(fault.get("message"), str) and \
            r.headers.get("content-type", "").startswith("application/json")
    except (ValueError, AttributeError, TypeError):
        return False


def ec2_error_ok(r):
    return r.headers.get("content-type", "").startswith(("text/xml", "application/xml")) and \
        re.search(rb"<Response><Errors><Error><Code>[^<]+</Code><Message>", r.body) is not None


def metadata_error_ok(r):
    return r.status >= 500 and b"Internal Server Error" in r.body


def list_server_ids(port, token):
    ids, marker = set(), None
    while True:
        q = "/v2.1/servers?limit=1000" + (f"&marker={marker}" if marker else "")
        r = rlib.call(port, "GET", q, token, timeout=60)
        if r.status != 200:
            raise RuntimeError(f"list servers: {r.status} {r.text[:300]}")
        page = [s["id"] for s in r.json()["servers"]]
        ids.update(page)
        if len(page) < 1000:
            return ids
        marker = page[-1]


def ec2_instance_ids(port, access):
    r = rlib.call(port, "GET", f"/?Action=DescribeInstances&AWSAccessKeyId={access}&Version=2016-11-15",
                  timeout=60)
    return set(re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", r.text))


async def store_outage(backend, db_url, break_store, restore_store):
    name = f"d{'i' if backend == 'SQLite' else 'ii'}. {backend} outage ~5 s under writes"
    res = Result(name)
    d = rlib.tmpdir(f"outage-{backend.lower()}")
    # A short pool_timeout: a request waiting for a connection to a store
    # that is gone fails within the outage instead of waiting it out.
    conf = rlib.write_conf(d, db_url, {"DEFAULT": {"osapi_compute_workers": "2"},
                                       "database": {"pool_timeout": "2"}})
    if backend != "SQLite":
        out = subprocess.run([os.path.join(rlib.BIN_DIR, "osapi-compute"), "--config-file", conf,
                              "db", "sync"], capture_output=True, text=True)
        if out.returncode != 0:
            res.check(False, f"db sync: {out.stderr[-500:]}")
            return res.save()
    services = []
    try:
        osapi = Service("osapi_compute", conf, os.path.join(d, "osapi.log"))
        services.append(osapi)
        ec2 = Service("ec2", conf, os.path.join(d, "ec2.log"))
        services.append(ec2)
        meta = Service("metadata", conf, os.path.join(d, "metadata.log"))
        services.append(meta)
        quota_unlimited(osapi.port, "rel")
        image = first_image(osapi.port)
        ami = re.search(r"<imageId>(ami-[0-9a-f]+)</imageId>", rlib.call(
            ec2.port, "GET", "/?Action=DescribeImages&AWSAccessKeyId=u:rel&Version=2016-11-15").text)
        ami = ami.group(1) if ami else None
        # One instance for the metadata reader (signed proxy headers).
        r = rlib.call(osapi.port, "POST", "/v2.1/servers", "u:rel",
                      {"server": {"name": "md", "imageRef": image, "flavorRef": "1"}})
        md_id = r.json()["server"]["id"]
        import hmac, hashlib  # noqa: E401
        md_headers = {"X-Instance-ID": md_id, "X-Tenant-ID": "rel", "X-Forwarded-For": "10.0.0.9",
                      "X-Instance-ID-Signature": hmac.new(b"reliability-secret", md_id.encode(),
                                                          hashlib.sha256).hexdigest()}

        acked, acked_ec2 = set(), set()
        bad_format = []
        phase = {"now": "before"}
        timeline = {"before": [0, 0], "outage": [0, 0], "after": [0, 0]}   # [2xx, 5xx]
        after_fail_tail = []
        n = [0]

        def create():
            n[0] += 1
            body = json.dumps({"server": {"name": f"rel-{n[0]}", "imageRef": image,
                                          "flavorRef": "1"}}).encode()
            return ("POST", "/v2.1/servers",
                    {"X-Auth-Token": "u:rel", "Content-Type": "application/json"}, body)

        def on_compute(r, _req):
            slot = timeline[phase["now"]]
            if r.status == 202:
                slot[0] += 1
                acked.add(r.json()["server"]["id"])
            elif r.status >= 500 or r.error:
                slot[1] += 1
                if not compute_fault_ok(r):
                    bad_format.append(f"compute {r.status} {r.error} {r.body[:200]!r}")
                if phase["now"] == "after":
                    after_fail_tail.append((time.monotonic(), r.status, r.body[:300]))

        def run_instances():
            return ("GET", f"/?Action=RunInstances&AWSAccessKeyId=u:rel&ImageId={ami}"
                           "&InstanceType=m1.tiny&MinCount=1&MaxCount=1&Version=2016-11-15", {}, b"")

        def on_ec2(r, _req):
            if r.status == 200:
                acked_ec2.update(re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", r.text))
            elif r.status >= 500 or r.error:
                if not ec2_error_ok(r):
                    bad_format.append(f"ec2 {r.status} {r.error} {r.body[:200]!r}")

        def md_read():
            return ("GET", "/openstack/latest/meta_data.json", md_headers, b"")

        def on_md(r, _req):
            if (r.status >= 500 or r.error) and not metadata_error_ok(r):
                bad_format.append(f"metadata {r.status} {r.error} {r.body[:200]!r}")

        stop = asyncio.Event()
        outage = {}

        async def fault():
            await asyncio.sleep(3)
            phase["now"] = "outage"
            outage["start"] = time.monotonic()
            break_store()
            await asyncio.sleep(5)
            restore_store()
            outage["end"] = time.monotonic()
            phase["now"] = "after"
            await asyncio.sleep(7)
            stop.set()

        good = lambda r: r.status in (200, 202)  # noqa: E731
        c, e, m, _ = await asyncio.gather(
            rlib.load(osapi.port, create, 60, 4, stop=stop, good=good, on_reply=on_compute),
            rlib.load(ec2.port, run_instances, 60, 2, stop=stop, good=good, on_reply=on_ec2),
            rlib.load(meta.port, md_read, 60, 2, stop=stop, good=good, on_reply=on_md),
            fault())
        res.sent = c.sent + e.sent + m.sent
        res.failed = c.failed + e.failed + m.failed
        res.refused = c.refused + e.refused + m.refused
        res.note(f"compute {c.summary()}")
        res.note(f"ec2 {e.summary()}")
        res.note(f"metadata {m.summary()}")
        res.note(f"compute creates [2xx, 5xx] by phase: {timeline}")
        res.check(timeline["outage"][1] > 0, "no write failed during the outage: the fault did not bite")
        res.check(not bad_format, f"errors not in the API's format: {bad_format[:3]}")
        # Recovery without a restart: the last 3 s of writes all succeed.
        late = [f for f in after_fail_tail if f[0] > outage["end"] + 4]
        res.check(not late, f"writes still failing {late[-1][0] - outage['end']:.1f}s after the store "
                  f"came back (no restart): {late[-1][1]} {late[-1][2]!r}" if late else "")
        probe = rlib.call(osapi.port, "POST", "/v2.1/servers", "u:rel",
                          {"server": {"name": "probe", "imageRef": image, "flavorRef": "1"}})
        res.check(probe.status == 202, f"a write after recovery: {probe.status} {probe.text[:300]}")
        if probe.status == 202:
            acked.add(probe.json()["server"]["id"])
        try:
            present = list_server_ids(osapi.port, "u:rel")
            present_ec2 = ec2_instance_ids(ec2.port, "u:rel")
        except RuntimeError as ex:
            res.check(False, f"reading back after recovery: {ex}")
            if not db_url.startswith("sqlite:///"):
                raise
            # The API cannot read: count what the database file holds.
            import sqlite3
            db = sqlite3.connect(f"file:{db_url[len('sqlite:///'):]}?mode=ro", uri=True)
            rows = db.execute("SELECT uuid, id FROM instances WHERE project_id = 'rel'").fetchall()
            db.close()
            present = {u for u, _ in rows}
            present_ec2 = {f"i-{i:08x}" for _, i in rows}
            res.note("acknowledged writes counted in the database file (the API could not read)")
        lost = acked - present
        lost_ec2 = acked_ec2 - present_ec2
        res.lost = len(lost) + len(lost_ec2)
        res.note(f"acknowledged: {len(acked)} compute, {len(acked_ec2)} ec2; lost {len(lost)} + {len(lost_ec2)}")
        res.check(not lost, f"{len(lost)} acknowledged servers missing, e.g. {sorted(lost)[:3]}")
        res.check(not lost_ec2, f"{len(lost_ec2)} acknowledged EC2 instances missing")
        for s in services:
            res.check(not s.panics(), f"{s.api} panicked: {s.panics()[:2]}")
            res.check(s.proc.poll() is None, f"{s.api} exited")
    except Exception as ex:  # noqa: BLE001 - the row records it
        res.check(False, f"scenario error: {type(ex).__name__}: {ex}")
    finally:
        restore_store()
        for s in services:
            s.stop()
    return res.save()


async def sqlite_outage():
    d = rlib.tmpdir("sqlite-db")
    state = os.path.join(d, "db")
    os.makedirs(state)
    db = os.path.join(state, "nova.sqlite")
    files = [state, db, db + "-wal"]

    def chattr(flag):
        existing = [f for f in files if os.path.exists(f)]
        subprocess.run(["chattr", flag, *existing], check=False)

    if os.geteuid() != 0:
        res = Result("di. SQLite outage ~5 s under writes")
        res.check(False, "needs root (chattr +i)")
        return res.save()
    return await store_outage("SQLite", f"sqlite:///{db}", lambda: chattr("+i"), lambda: chattr("-i"))


async def postgres_outage():
    url = os.environ.get("RELIABILITY_PG_URL")
    ctl = os.environ.get("RELIABILITY_PG_CTL")
    if not url or not ctl:
        res = Result("dii. PostgreSQL outage ~5 s under writes")
        res.check(False, "RELIABILITY_PG_URL / RELIABILITY_PG_CTL not set (run through reliability/run.sh)")
        return res.save()
    state = {"down": False}

    def stop_pg():
        subprocess.run([ctl, "stop"], check=True, capture_output=True)
        state["down"] = True

    def start_pg():
        if state["down"]:
            subprocess.run([ctl, "start"], check=True, capture_output=True)
            state["down"] = False

    return await store_outage("PostgreSQL", url, stop_pg, start_pg)


# ------------------------------------------------------------------- e. limits

async def limits():
    res = Result("e. limits: pool 20, socket timeout 3 s (1 worker)")
    timeout_s = 3
    _, _, svc = compute_service("limits", extra={
        "DEFAULT": {"osapi_compute_workers": "1"},
        "wsgi": {"default_pool_size": "20", "client_socket_timeout": str(timeout_s)}})
    sent = failed = 0
    try:
        # With one worker the service serves in-process: the parent is the worker.
        worker = (svc.wait_children(1, 2) or [svc.pid])[0]
        await rlib.load(svc.port, reads, 2, 8)   # warm-up
        rss0 = rlib.rss_kb(worker)
        # 1. Idle connections fill the pool; a request beyond it waits in the
        #    kernel's queue (not refused) until the idle ones are cut.
        idle = [await asyncio.open_connection("127.0.0.1", svc.port) for _ in range(20)]
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        r = await rlib.request(svc.port, *reads()[:2], reads()[2], timeout=30)
        waited = time.monotonic() - t0
        sent += 1
        res.note(f"request beyond a full pool: {r.status or r.error} after {waited:.1f}s")
        res.check(r.status == 200, f"request behind a full pool got {r.status or r.error}")
        res.check(waited >= timeout_s * 0.7, f"answered after {waited:.1f}s: the pool did not hold it back")
        cut = 0
        for rd, wr in idle:
            try:
                data = await asyncio.wait_for(rd.read(1), 1)
                cut += data == b""
            except (asyncio.TimeoutError, ConnectionError):
                pass
            wr.close()
        res.note(f"idle connections cut by client_socket_timeout: {cut}/20")
        res.check(cut == 20, f"only {cut}/20 idle connections were cut")
        # 2. A flood of 400 concurrent connections, 10x the pool, twice.
        flood = None
        for _ in range(2):
            flood = await rlib.load(svc.port, reads, 4, 400, good=lambda r: r.status == 200, timeout=60)
            sent += flood.sent
            failed += flood.failed
        rss1 = rlib.rss_kb(worker)
        res.note(f"flood x400: {flood.summary()}")
        res.note(f"worker RSS before {rss0 / 1024:.1f} MB, after floods {rss1 / 1024:.1f} MB")
        res.check(flood.refused == 0 and flood.failed == 0, f"flood: {flood.summary()}")
        res.check(rss1 - rss0 < 32 * 1024, f"RSS grew by {(rss1 - rss0) / 1024:.1f} MB")
        # 3. Slowloris: a header byte every second, never finishing.
        head = b"GET /v2.1/flavors HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        chunks = [head] + [b"X"] * 30
        t0 = time.monotonic()
        r = await rlib.send_raw(svc.port, None, timeout=30, chunks=chunks, delay=1.0)
        slow_cut = time.monotonic() - t0
        sent += 1
        res.note(f"slowloris (1 byte/s) cut after {slow_cut:.1f}s with {r.status or r.error}")
        res.check(slow_cut <= timeout_s + 2.5, f"slowloris held {slow_cut:.1f}s (> {timeout_s}s + 2.5)")
        # 4. Silent after connect.
        t0 = time.monotonic()
        r = await rlib.send_raw(svc.port, None, timeout=30, chunks=[b"GET /v2.1 HTTP/1.1\r\n"])
        silent_cut = time.monotonic() - t0
        sent += 1
        res.note(f"silent client cut after {silent_cut:.1f}s with {r.status or r.error}")
        res.check(silent_cut <= timeout_s + 2.5, f"silent client held {silent_cut:.1f}s")
        after = await rlib.request(svc.port, *reads()[:2], reads()[2])
        sent += 1
        res.check(after.status == 200, f"service after the limits: {after.status or after.error}")
        res.check(not svc.panics(), f"panics: {svc.panics()[:3]}")
        res.lost = f"RSS {rss0 // 1024}->{rss1 // 1024} MB"
    finally:
        res.sent, res.failed = sent, failed
        svc.stop()
    return res.save()


SCENARIOS = {"kill9": kill9, "sighup": sighup, "sigterm": sigterm,
             "sqlite_outage": sqlite_outage, "postgres_outage": postgres_outage,
             "limits": limits}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    ok = True
    try:
        for name in names:
            log(f"scenario {name}")
            t0 = time.monotonic()
            try:
                ok = asyncio.run(SCENARIOS[name]()) and ok
            except Exception as ex:  # noqa: BLE001 - one broken scenario, not the run
                res = Result(name)
                res.check(False, f"scenario error: {type(ex).__name__}: {ex}")
                res.save()
                ok = False
            log(f"scenario {name} done in {time.monotonic() - t0:.1f}s")
    finally:
        rlib.stop_all()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
