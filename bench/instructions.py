#!/usr/bin/env python3
"""Instructions per request: GET /v2.1 of osapi-compute (one worker) and
the bare axum server answering the same bytes, each run under valgrind's
callgrind and counted over the same number of keep-alive requests after a
warm-up. Unlike requests/s on a shared 2-core machine, the count does not
move from run to run, so it shows what a change to the request path costs
or saves. Kernel time (the socket calls both servers make alike) is not
counted.

Needs valgrind (apt-get install valgrind) and the release binaries.
`BENCH_OSAPI` names another osapi-compute binary to measure (an older
build, say) in place of target/release/osapi-compute.
Not a test: it asserts nothing, it measures.
"""
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runtime import RELEASE, start, wait_200, write_conf  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
WARMUP = 200


def requests(port, path, count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"{path} answered {response.status}")
    conn.close()


def instructions(cmd, path, out):
    """Instructions the process executes for REQUESTS requests."""
    proc, port = start(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"] + cmd,
        r"listening on \S+:(\d+)")
    try:
        wait_200(port, path, limit=120)
        requests(port, path, WARMUP)
        control = lambda *args: subprocess.run(["callgrind_control", *args, str(proc.pid)],
                                               check=True, capture_output=True)
        control("-i", "on")
        requests(port, path, REQUESTS)
        control("-d")
    finally:
        proc.kill()
        proc.wait(timeout=60)
    total = 0
    for name in os.listdir(os.path.dirname(out)):
        if name.startswith(os.path.basename(out)):
            with open(os.path.join(os.path.dirname(out), name)) as f:
                m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
                total += int(m.group(1)) if m else 0
    return total / REQUESTS


def main():
    binary = os.environ.get("BENCH_OSAPI") or os.path.join(RELEASE, "osapi-compute")
    bare = os.path.join(RELEASE, "examples", "bare_server")
    with tempfile.TemporaryDirectory() as state:
        conf = write_conf(state)
        proc, port = start([binary, "--config-file", conf, "--port", "0", "--workers", "1"],
                           r"listening on \S+:(\d+)")
        body, content_type = wait_200(port, "/v2.1")
        proc.terminate()
        proc.wait()
        body_file = os.path.join(state, "body")
        with open(body_file, "wb") as f:
            f.write(body)
        ours = instructions([binary, "--config-file", conf, "--port", "0", "--workers", "1"],
                            "/v2.1", os.path.join(state, "ours.out"))
        health = instructions([binary, "--config-file", conf, "--port", "0", "--workers", "1"],
                              "/healthcheck", os.path.join(state, "health.out"))
        reference = instructions([bare, "0", body_file, content_type, "1"],
                                 "/v2.1", os.path.join(state, "bare.out"))
    print(f"user-space instructions per request, {REQUESTS} keep-alive requests after {WARMUP} (callgrind)")
    print("| what | instructions/request | over bare |")
    print("|---|---|---|")
    print(f"| bare axum server, same bytes | {reference:,.0f} | |")
    print(f"| osapi-compute GET /healthcheck (server, access log, no pipeline) | {health:,.0f} | {health / reference:.2f} |")
    print(f"| osapi-compute GET /v2.1 (full nova pipeline) | {ours:,.0f} | {ours / reference:.2f} |")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.0f} s")
