#!/usr/bin/env python3
"""Runtime benchmark: GET /v2.1 of osapi-compute with 1 and 2 workers under
wrk, beside a bare axum server answering the same bytes (built from this
project, measured in the same run). Also RSS per worker and exec-to-first-200.

Prints a table; the README keeps the last figures. Not a test: it asserts
nothing, it measures.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import children, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def median(runs):
    """The run with the median requests/s."""
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


def write_conf(state):
    paste = os.path.join(ROOT, "deploy", "etc", "nova", "api-paste.ini")
    conf = os.path.join(state, "nova.conf")
    with open(conf, "w") as f:
        f.write(f"""[DEFAULT]
state_path = {state}
osapi_compute_listen = 127.0.0.1
[api]
auth_strategy = noauth2
[wsgi]
api_paste_config = {paste}
[database]
connection = sqlite:///{state}/nova.sqlite
""")
    return conf


def start(cmd, pattern):
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        m = re.search(pattern, log.read().decode(errors="replace"))
        if m:
            return proc, int(m.group(1))
        time.sleep(0.01)
    proc.kill()
    log.seek(0)
    sys.exit("did not start: " + log.read().decode(errors="replace"))


def wait_200(port, path, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return r.read(), r.headers.get("Content-Type")
        except Exception:
            pass
        time.sleep(0.005)
    sys.exit(f"no 200 on {path}")


def wrk(port, path):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat.get("50", "?"), lat.get("99", "?"), int(errors.group(1)) if errors else 0


def memory_kb(pid):
    """(RSS, PSS, private) of a process in kB. A forked worker's RSS counts
    the pages of the binary it shares with its parent and siblings; PSS
    splits those among the sharers; private is what the worker alone holds."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    field = lambda name: int(re.search(rf"^{name}:\s+(\d+)", text, re.M).group(1))
    return field("Rss"), field("Pss"), field("Private_Clean") + field("Private_Dirty")


def main():
    binary = os.environ.get("BENCH_OSAPI") or os.path.join(RELEASE, "osapi-compute")
    bare = os.path.join(RELEASE, "examples", "bare_server")
    rows = []
    with tempfile.TemporaryDirectory() as state:
        conf = write_conf(state)
        body_file = os.path.join(state, "body")
        content_type = "application/json"
        for workers in (1, 2):
            # Ours and the bare server take turns, ROUNDS times each, and
            # the median round is kept: the load of a 2-core machine drifts
            # more within a minute than the difference being measured.
            ours_runs, bare_runs = [], []
            for _ in range(ROUNDS):
                proc, port = start([binary, "--config-file", conf, "--port", "0", "--workers", str(workers)],
                                   r"listening on \S+:(\d+)")
                body, content_type = wait_200(port, "/v2.1")
                with open(body_file, "wb") as f:
                    f.write(body)
                rps, p50, p99, bad = wrk(port, "/v2.1")
                pids = children(proc.pid) or [proc.pid]
                rss = max(memory_kb(p) for p in pids)
                stop(proc)
                ours_runs.append((rps, p50, p99, bad, rss))
                bproc, bport = start([bare, "0", body_file, content_type, str(workers)], r"listening on \S+:(\d+)")
                wait_200(bport, "/")
                brps, bp50, bp99, _ = wrk(bport, "/v2.1")
                brss = memory_kb(bproc.pid)
                stop(bproc)
                bare_runs.append((brps, bp50, bp99, brss))
            rps, p50, p99, bad, rss = median(ours_runs)
            brps, bp50, bp99, brss = median(bare_runs)
            rows.append((workers, rps, p50, p99, bad, rss, brps, bp50, bp99, brss))
        starts = []
        for _ in range(5):
            t0 = time.monotonic()
            proc, port = start([binary, "--config-file", conf, "--port", "0", "--workers", "1"],
                               r"listening on \S+:(\d+)")
            wait_200(port, "/v2.1")
            starts.append((time.monotonic() - t0) * 1000)
            stop(proc)
    print(f"GET /v2.1, wrk -t2 -c{CONNECTIONS} -d{DURATION}, median of {ROUNDS} alternating rounds, {os.cpu_count()} cores")
    print("| workers | ours req/s | p50 | p99 | non-2xx | RSS / PSS / private per worker | bare req/s | bare p50 | bare p99 | bare RSS | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for w, rps, p50, p99, bad, rss, brps, bp50, bp99, brss in rows:
        print(f"| {w} | {rps:.0f} | {p50} | {p99} | {bad} | {rss[0]/1024:.1f} / {rss[1]/1024:.1f} / {rss[2]/1024:.1f} MB | {brps:.0f} | {bp50} | {bp99} | {brss[0]/1024:.1f} MB | {rps/brps:.2f} |")
    starts.sort()
    print(f"exec to first 200 (5 runs, ms): median {starts[2]:.0f}, max {starts[-1]:.0f}")


if __name__ == "__main__":
    main()
