#!/usr/bin/env python3
"""How ours scales with the size of the cloud (osapi-compute, 1 worker,
release binary, noauth2, microversion 2.96, simulated driver):

1. `GET /v2.1/servers/detail?limit=1000` with 0, 100, 500, 1000, 2000
   servers in the project (wrk with 2 connections, a client alone): p50,
   p99, server CPU per request and per listed server; then the
   1000-server page at 16 connections against the bare axum server
   sending the same bytes (when target/release/examples/bare_server is
   built);
2. a batch: `POST /v2.1/servers` with min_count 500, then 2000 (into fresh
   projects): seconds each and their ratio (linear would be 4);
3. per-create cost: wrk posting one-server creates (2 connections) into a
   project that starts empty and into one holding 5000 servers (the 2000
   project topped up with a min_count 3000 batch): CPU per create, ratio;
4. memory: a fresh worker's RSS and private memory sampled every 0.2 s
   while idle, during a hundred 1000-server listings (2 clients), idle, a
   burst (wrk, BENCH_CONNECTIONS connections on the same listing), idle.

On SQLite (a temporary state directory) by default; `--postgres URL` (or
BENCH_POSTGRES_URL; `scripts/postgres start` prints one) runs the same on
PostgreSQL in a fresh database created and dropped by the program (`psql`
must be on PATH; the role needs CREATEDB). `--db both` runs SQLite then
PostgreSQL; memory is measured on the first only.
Writes docs/bench/scaling.json and the charts (svg.py). Not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

MICROVERSION = "compute 2.96"
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "0,100,500,1000,2000").split(",")]
PAGE = "/v2.1/servers/detail?limit=1000"
OUT = os.path.join(b.ROOT, "docs", "bench", "scaling.json")


def client(port, token):
    return b.Client(port, {"X-Auth-Token": token, "OpenStack-API-Version": MICROVERSION})


def batch(svc, image, project, n):
    """One POST with min_count = max_count = n; returns the seconds to its
    202 and the seconds until the worker is idle again (the simulated
    driver's transitions done)."""
    c = client(svc.port, f"{project}:{project}")
    t0 = time.monotonic()
    c.request("POST", "/v2.1/servers", {"server": {
        "name": f"s-{project}", "imageRef": image, "flavorRef": "1", "networks": "auto",
        "min_count": n, "max_count": n}}, expect={202})
    seconds = time.monotonic() - t0
    c.close()
    b.quiesce(pids(svc))
    return seconds, time.monotonic() - t0


def pids(svc):
    return [svc.proc.pid] + b.children(svc.proc.pid)


def wrk_cpu(svc, path, token, script=None, connections=2):
    b.quiesce(pids(svc))
    c0 = b.cpu_seconds(pids(svc))
    r = b.wrk(svc.port, path, [f"X-Auth-Token: {token}", f"OpenStack-API-Version: {MICROVERSION}"],
              script=script, connections=connections)
    r["cpu_per_req"] = (b.cpu_seconds(pids(svc)) - c0) / max(r["requests"], 1)
    r["p50_ms"], r["p99_ms"] = b.latency_ms(r["p50"]), b.latency_ms(r["p99"])
    return r


def setup(port):
    admin = client(port, "admin:admin")
    projects = ["list", "b500", "b2000", "empty"]
    for p in projects:
        admin.request("PUT", f"/v2.1/os-quota-sets/{p}",
                      {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}, expect={200})
    admin.close()
    c = client(port, "list:list")
    _, _, data = c.request("GET", "/image/v2/images", expect={200})
    c.close()
    return json.loads(data)["images"][0]["id"]


def against_bare(svc, state):
    """The 1000-server page at 16 connections, ours against the bare server
    sending the same bytes with one thread (issue 23: at least a tenth)."""
    c = client(svc.port, "list:list")
    _, headers, body = c.request("GET", PAGE, expect={200})
    c.close()
    ours = wrk_cpu(svc, PAGE, "list:list", connections=16)
    ref = b.bare(state, body, headers.get("Content-Type"), 1, PAGE, connections=16)
    out = {"bytes": len(body), "ours_rps": ours["rps"], "bare_rps": ref["rps"],
           "ratio": ours["rps"] / ref["rps"], "ours_p50": ours["p50"], "ours_p99": ours["p99"]}
    print(f"  1000-server page ({len(body) / 1e6:.2f} MB) at 16 connections: ours "
          f"{ours['rps']:.0f} req/s, bare {ref['rps']:.0f} req/s, ratio {out['ratio']:.3f}", flush=True)
    return out


def detail_series(svc, image):
    rows = []
    have = 0
    for n in SIZES:
        if n > have:
            batch(svc, image, "list", n - have)
            have = n
        r = wrk_cpu(svc, PAGE, "list:list")
        listed = min(n, 1000)
        r.update(servers=n, listed=listed,
                 cpu_per_server=r["cpu_per_req"] / listed if listed else None)
        rows.append(r)
        per = f", {r['cpu_per_server'] * 1e6:.1f} µs/server" if listed else ""
        print(f"  detail, {n} servers: p50 {r['p50']} p99 {r['p99']}, "
              f"{b.fmt_seconds(r['cpu_per_req'])} CPU/req{per}", flush=True)
    return rows


def create_series(svc, state, image):
    out = {}
    out["batch_500_s"], out["batch_500_idle_s"] = batch(svc, image, "b500", 500)
    out["batch_2000_s"], out["batch_2000_idle_s"] = batch(svc, image, "b2000", 2000)
    out["batch_ratio"] = out["batch_2000_s"] / out["batch_500_s"]
    print(f"  batch 500: {out['batch_500_s']:.2f} s (idle after {out['batch_500_idle_s']:.2f} s), "
          f"2000: {out['batch_2000_s']:.2f} s (idle after {out['batch_2000_idle_s']:.2f} s), "
          f"ratio {out['batch_ratio']:.2f} (linear: 4)", flush=True)
    out["batch_3000_s"], _ = batch(svc, image, "b2000", 3000)
    body = json.dumps({"server": {"name": "one", "imageRef": image, "flavorRef": "1",
                                  "networks": "auto"}})
    for project, key in (("empty", "create_empty"), ("b2000", "create_5000")):
        headers = {"X-Auth-Token": f"{project}:{project}", "OpenStack-API-Version": MICROVERSION,
                   "Content-Type": "application/json"}
        script = b.lua_post(state, f"post-{project}.lua", "/v2.1/servers", body, headers)
        r = wrk_cpu(svc, "/v2.1/servers", f"{project}:{project}", script=script)
        out[key] = r
        print(f"  creates into {project}: {r['rps']:.0f}/s, {b.fmt_seconds(r['cpu_per_req'])} "
              f"CPU/create, p50 {r['p50']}", flush=True)
    out["create_ratio"] = out["create_5000"]["cpu_per_req"] / out["create_empty"]["cpu_per_req"]
    return out


def memory_series(svc):
    worker = svc.proc.pid  # one worker: the process itself serves (no fork)
    samples, phases = [], []
    t0 = time.monotonic()
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                samples.append({"t": round(time.monotonic() - t0, 2),
                                "rss_mb": b.rss_kb(worker) / 1024,
                                "private_mb": b.private_kb(worker) / 1024})
            except FileNotFoundError:
                return
            time.sleep(0.2)

    def phase(what):
        phases.append({"t": round(time.monotonic() - t0, 1), "what": what})

    def listings(n):
        c = client(svc.port, "list:list")
        for _ in range(n):
            c.request("GET", PAGE, expect={200})
        c.close()

    b.quiesce(pids(svc))
    th = threading.Thread(target=sample)
    th.start()
    try:
        phase("idle")
        time.sleep(2)
        phase("100 listings")
        ts = [threading.Thread(target=listings, args=(50,)) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        phase("idle")
        time.sleep(3)
        phase("burst")
        b.wrk(svc.port, PAGE, ["X-Auth-Token: list:list", f"OpenStack-API-Version: {MICROVERSION}"],
              connections=b.CONNECTIONS)
        phase("idle")
        time.sleep(5)
    finally:
        done.set()
        th.join()

    def at(t):
        return [s for s in samples if s["t"] <= t][-1]

    marks = {"start": samples[0]}
    marks["after_listings"] = at(phases[2]["t"] + 2.5)
    marks["after_burst"] = samples[-1]
    marks["peak"] = max(samples, key=lambda s: s["private_mb"])
    for k, s in marks.items():
        print(f"  memory {k}: RSS {s['rss_mb']:.1f} MB, private {s['private_mb']:.1f} MB", flush=True)
    return {"samples": samples, "phases": phases, "marks": marks}


def postgres_db(url):
    """A fresh database beside the one in `url`; returns its URL and a drop."""
    name = "bench_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True)
    base = url.rsplit("/", 1)[0]

    def drop():
        subprocess.run(["psql", url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       check=False)
    return f"{base}/{name}", drop


def run(db, url, with_memory):
    print(f"== {db}", flush=True)
    drop = None
    with b.state_dir() as state:
        if db == "postgresql":
            conn, drop = postgres_db(url)
        conf = b.write_conf(state)
        if db == "postgresql":
            with open(conf) as f:
                text = f.read()
            text = text.replace(f"connection = sqlite:///{state}/nova.sqlite", f"connection = {conn}")
            with open(conf, "w") as f:
                f.write(text)
            # PostgreSQL is migrated (and seeded) by `db sync` only.
            subprocess.run([os.path.join(b.RELEASE, "osapi-compute"), "--config-file", conf,
                            "db", "sync"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        svc = b.Service("osapi-compute", conf, 1, state)
        try:
            image = setup(svc.port)
            result = {"detail": detail_series(svc, image)}
            if os.path.exists(b.BARE):
                result["bare"] = against_bare(svc, state)
            if with_memory:
                # A fresh worker: its memory from its first request on.
                svc.stop()
                svc = b.Service("osapi-compute", conf, 1, state)
                result["memory"] = memory_series(svc)
            result["creates"] = create_series(svc, state, image)
            result["private_mb_end"] = b.private_kb(svc.proc.pid) / 1024
            errors = svc.log_lines(r" ERROR |panicked")
            result["errors"] = errors[:5]
        finally:
            svc.stop()
            if drop:
                drop()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default=None)
    ap.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL"))
    args = ap.parse_args()
    db = args.db or ("both" if args.postgres else "sqlite")
    if db != "sqlite" and not args.postgres:
        sys.exit("--postgres URL (or BENCH_POSTGRES_URL) is needed for PostgreSQL")
    started = time.monotonic()
    dbs = ["sqlite", "postgresql"] if db == "both" else [db]
    results = {d: run(d, args.postgres, i == 0) for i, d in enumerate(dbs)}
    took = time.monotonic() - started
    print_tables(results)
    print(f"took {took:.0f} s")
    doc = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": b.machine(),
           "seconds": round(took), "detail": {d: r["detail"] for d, r in results.items()},
           "creates": {d: r["creates"] for d, r in results.items()},
           "bare": {d: r.get("bare") for d, r in results.items()},
           "memory": next((r["memory"] for r in results.values() if "memory" in r), None),
           "errors": {d: r["errors"] for d, r in results.items()}}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
    if not os.environ.get("BENCH_NO_PLOTS"):
        import svg
        print("charts:", ", ".join(svg.scaling_charts(OUT)))


def print_tables(results):
    print(f"\nosapi-compute, 1 worker, scaling ({b.machine()})")
    print("| database | servers in project | listed | p50 | p99 | req/s | CPU/req | CPU/server |")
    print("|---|---|---|---|---|---|---|---|")
    for d, r in results.items():
        for x in r["detail"]:
            per = f"{x['cpu_per_server'] * 1e6:.1f} µs" if x["cpu_per_server"] else "-"
            print(f"| {d} | {x['servers']} | {x['listed']} | {x['p50']} | {x['p99']} | "
                  f"{x['rps']:.0f} | {b.fmt_seconds(x['cpu_per_req'])} | {per} |")
    print("\n| database | batch 500 (202; idle) | batch 2000 (202; idle) | ratio (linear 4) | "
          "CPU/create, empty project | CPU/create, 5000 servers | ratio |")
    print("|---|---|---|---|---|---|---|")
    for d, r in results.items():
        c = r["creates"]
        print(f"| {d} | {c['batch_500_s']:.2f} s; {c['batch_500_idle_s']:.2f} s | "
              f"{c['batch_2000_s']:.2f} s; {c['batch_2000_idle_s']:.2f} s | {c['batch_ratio']:.2f} | "
              f"{b.fmt_seconds(c['create_empty']['cpu_per_req'])} | "
              f"{b.fmt_seconds(c['create_5000']['cpu_per_req'])} | {c['create_ratio']:.2f} |")
    for d, r in results.items():
        if r.get("bare"):
            x = r["bare"]
            print(f"\n{d}: the 1000-server page ({x['bytes'] / 1e6:.2f} MB) at 16 connections: "
                  f"ours {x['ours_rps']:.0f} req/s (p50 {x['ours_p50']}, p99 {x['ours_p99']}), "
                  f"bare server {x['bare_rps']:.0f} req/s: {x['ratio']:.3f}")
    for d, r in results.items():
        if "memory" in r:
            m = r["memory"]["marks"]
            print(f"\nmemory ({d}): " + "; ".join(
                f"{k} RSS {s['rss_mb']:.1f} / private {s['private_mb']:.1f} MB" for k, s in m.items()))
        if r["errors"]:
            print(f"{d}: ERROR lines in the log, first: {r['errors'][0][:300]}")


if __name__ == "__main__":
    main()
