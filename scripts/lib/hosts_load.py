#!/usr/bin/env python3
"""Write load for scripts/test-hosts: creates key pairs through the load
balancer from several threads, kills one API host part-way through (by
running --kill-cmd), then checks every acknowledged write through a host
that stayed up. Prints the figures as one JSON object; exit status 0 when
no acknowledged write was lost, the balancer's health check took the host
out, and failures stayed within the window around the kill.

Only stdlib plus `cryptography` (from the venv) for a real SSH key."""

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

PER_USER = 50  # keypairs per user, under nova's default quota of 100


def public_key():
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " load@test"


def request(base, method, path, token, body=None, timeout=10):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        headers = {"X-Auth-Token": token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, u.path.rstrip("/") + path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def haproxy_server_state(sock_path, backend, server):
    """The balancer's view of one server: UP, DOWN, ... (from `show stat`)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == backend and row.get("svname") == server:
            return row.get("status", "")
    return "missing"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--balancer", required=True, help="compute URL through haproxy (…/v2.1)")
    ap.add_argument("--survivor", required=True, help="compute URL of a host that stays up")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--duration", type=float, default=12.0)
    ap.add_argument("--kill-after", type=float, default=4.0)
    ap.add_argument("--kill-cmd", required=True)
    ap.add_argument("--haproxy-socket", required=True)
    ap.add_argument("--backend", default="compute")
    ap.add_argument("--victim", default="h1")
    a = ap.parse_args()

    pub = public_key()
    lock = threading.Lock()
    acked = []          # (token, name)
    failures = []       # (time since start, what)
    sent = [0]
    start = time.monotonic()
    stop_at = start + a.duration

    def worker(w):
        n = 0
        while time.monotonic() < stop_at:
            name = "load-%d-%d" % (w, n)
            token = "load%d-%d:loadproj" % (w, n // PER_USER)
            n += 1
            with lock:
                sent[0] += 1
            try:
                status, body = request(a.balancer, "POST", "/os-keypairs", token,
                                       {"keypair": {"name": name, "public_key": pub}})
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    failures.append((time.monotonic() - start, "%s: %s" % (name, e)))
                continue
            if status in (200, 201):
                with lock:
                    acked.append((token, name))
            else:
                with lock:
                    failures.append((time.monotonic() - start, "%s: HTTP %d %s" % (name, status, body[:120])))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.threads)]
    for t in threads:
        t.start()
    time.sleep(a.kill_after)
    kill_t = time.monotonic() - start
    subprocess.run(["bash", "-c", a.kill_cmd], check=True)
    down_after = None
    while time.monotonic() < stop_at + 10:
        state = haproxy_server_state(a.haproxy_socket, a.backend, a.victim)
        if state.startswith("DOWN"):
            down_after = time.monotonic() - start - kill_t
            break
        time.sleep(0.05)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start

    # Every acknowledged write must be readable through a surviving host.
    lost = []
    for token, name in acked:
        status, _ = request(a.survivor, "GET", "/os-keypairs/" + name, token)
        if status != 200:
            lost.append("%s (HTTP %d)" % (name, status))

    late = [f for f in failures if down_after is None or f[0] > kill_t + down_after + 1.0]
    figures = {
        "requests_sent": sent[0],
        "acknowledged_writes": len(acked),
        "failed": len(failures),
        "failed_after_host_taken_out": len(late),
        "acknowledged_writes_lost": len(lost),
        "host_killed_at_s": round(kill_t, 2),
        "host_taken_out_after_s": None if down_after is None else round(down_after, 2),
        "requests_per_s": round(sent[0] / elapsed, 1),
    }
    print(json.dumps(figures, indent=2))
    for f in failures[:10]:
        print("failure at %.2fs: %s" % f, file=sys.stderr)
    for l in lost[:10]:
        print("lost: " + l, file=sys.stderr)
    ok = not lost and down_after is not None and not late and acked
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
