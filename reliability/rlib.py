"""Shared support of the reliability suite: the three release binaries
started with a generated nova.conf, a raw asyncio HTTP/1.1 client (raw, so
that what goes on the wire is exactly what a scenario says and a reset is
told apart from a refused connection), a load generator, /proc readings and
the results file that run.sh turns into the figures table.

Everything listens on 127.0.0.1 only.
"""

import asyncio
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.environ.get("NOVA_API_BIN_DIR", os.path.join(REPO_ROOT, "target", "release"))
PASTE = os.path.join(REPO_ROOT, "deploy", "etc", "nova", "api-paste.ini")
RESULTS = os.environ.get("RELIABILITY_RESULTS", "")
BINARIES = {"osapi_compute": "osapi-compute", "ec2": "ec2-api", "metadata": "metadata-api"}

# Every process this run started, so that a failing scenario still stops them.
_STARTED = []


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} [reliability] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- results

@dataclass
class Result:
    """One row of the figures table, plus the assertions behind its verdict."""
    scenario: str
    sent: int = 0
    failed: int = 0
    refused: int = 0
    lost: object = "-"
    notes: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def check(self, ok, what):
        """Records an assertion; a false one fails the row (and the run)."""
        if not ok:
            self.failures.append(what)
            log(f"ASSERTION FAILED [{self.scenario}]: {what}")
        return ok

    def note(self, text):
        self.notes.append(text)
        log(f"[{self.scenario}] {text}")

    def save(self):
        row = {
            "scenario": self.scenario, "sent": self.sent, "failed": self.failed,
            "refused": self.refused, "lost": self.lost,
            "verdict": "FAIL" if self.failures else "ok",
            "notes": self.notes, "failures": self.failures,
        }
        if RESULTS:
            with open(RESULTS, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        return not self.failures


# -------------------------------------------------------------------- services

def write_conf(dir_, db_url, extra=None, paste=None):
    """Writes DIR/nova.conf: noauth2, loopback, port 0 everywhere, instances
    ACTIVE at once, metadata behind a signed proxy, no metadata cache.
    `extra` is {group: {option: value}} laid over that."""
    groups = {
        "DEFAULT": {
            "state_path": os.path.join(dir_, "state"),
            "osapi_compute_listen": "127.0.0.1", "ec2_listen": "127.0.0.1",
            "metadata_listen": "127.0.0.1",
            "osapi_compute_workers": "2", "ec2_workers": "1", "metadata_workers": "1",
            "graceful_shutdown_timeout": "30",
        },
        "api": {"auth_strategy": "noauth2", "metadata_cache_expiration": "0"},
        "neutron": {"service_metadata_proxy": "true",
                    "metadata_proxy_shared_secret": "reliability-secret"},
        "simulator": {"transition_delay": "0", "fixed_ip_range": "10.0.0.0/16"},
        # Load runs make more servers (each a port) in one project than
        # Neutron's default port quota allows.
        "quotas": {"quota_port": "-1"},
        "wsgi": {"api_paste_config": paste or PASTE},
        "database": {"connection": db_url},
    }
    for g, opts in (extra or {}).items():
        groups.setdefault(g, {}).update(opts)
    os.makedirs(os.path.join(dir_, "state"), exist_ok=True)
    path = os.path.join(dir_, "nova.conf")
    with open(path, "w", encoding="utf-8") as f:
        for g, opts in groups.items():
            f.write(f"[{g}]\n")
            for k, v in opts.items():
                f.write(f"{k} = {v}\n")
            f.write("\n")
    return path


class Service:
    """One binary started directly (not through deploy/nova-api), so that the
    scenarios signal its parent and workers themselves."""

    def __init__(self, api, conf, log_path, args=()):
        self.api = api
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN_DIR, BINARIES[api]), "--config-file", conf, "--port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf,
            env={k: v for k, v in os.environ.items() if k != "RUST_LOG"},
            start_new_session=True)
        _STARTED.append(self)
        if os.environ.get("RELIABILITY_PIDS"):
            with open(os.environ["RELIABILITY_PIDS"], "a", encoding="ascii") as f:
                f.write(f"{self.proc.pid}\n")
        self.port = None
        deadline = time.time() + 60
        while self.port is None:
            m = re.search(r" listening on [^\s]*:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"{api} exited {self.proc.returncode} before listening:\n{self.log()[-3000:]}")
            if time.time() > deadline:
                raise RuntimeError(f"{api} never listened:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        self.wait_healthy()

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_healthy(self, limit=60):
        deadline = time.time() + limit
        while time.time() < deadline:
            try:
                st, _, _ = get_sync(self.port, "/healthcheck")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.api} not healthy:\n{self.log()[-3000:]}")

    def children(self):
        return children_of(self.pid)

    def wait_children(self, n, limit=30):
        deadline = time.time() + limit
        while time.time() < deadline:
            kids = self.children()
            if len(kids) == n:
                return kids
            time.sleep(0.05)
        return self.children()

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, limit=60):
        try:
            return self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            kids = self.children()
            self.signal(signal.SIGTERM)
            if self.wait(30) is None:
                for p in kids + [self.pid]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait()
        self.logf.close()
        if self in _STARTED:
            _STARTED.remove(self)
        return self.proc.returncode

    def panics(self):
        return [l for l in self.log().splitlines() if "panicked" in l]


def stop_all():
    for s in list(_STARTED):
        try:
            s.stop()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            log(f"stopping {s.api}: {e}")


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def established_on(pid, port):
    """TCP connections to local `port` that process `pid` holds open."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local_port = int(cols[1].rsplit(":", 1)[1], 16)
                    if local_port == port and cols[3] != "0A" and cols[9] in inodes:
                        n += 1
        except OSError:
            pass
    return n


# ------------------------------------------------------------------ HTTP client

@dataclass
class Reply:
    status: int = 0          # 0: no status line
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    error: str = ""          # refused | reset | timeout | eof | ""
    connected: bool = False
    elapsed: float = 0.0

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def build_request(method, target, headers=None, body=b"", close=True):
    if isinstance(body, str):
        body = body.encode()
    if isinstance(target, str):
        target = target.encode("latin-1") if all(ord(c) < 256 for c in target) else target.encode()
    hdrs = dict(headers or {})
    host = next((hdrs.pop(k) for k in list(hdrs) if str(k).lower() == "host"), "127.0.0.1")
    host = host.encode("latin-1") if isinstance(host, str) else host
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: " + host]
    if body or method in ("POST", "PUT"):
        hdrs.setdefault("Content-Length", str(len(body)))
    if close:
        hdrs.setdefault("Connection", "close")
    for k, v in hdrs.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        lines.append(k + b": " + v)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_reply(raw):
    r = Reply()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        r.status = int(parts[1])
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        r.headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if r.headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = out
    r.body = body
    return r


async def send_raw(port, payload, timeout=30.0, host="127.0.0.1", chunks=None, delay=0.0):
    """Sends `payload` (or `chunks` with `delay` between them) on a fresh
    connection and reads until the server closes. Errors are classified, never raised."""
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except ConnectionRefusedError:
        return Reply(error="refused", elapsed=time.monotonic() - t0)
    except (asyncio.TimeoutError, OSError) as e:
        return Reply(error=f"connect:{type(e).__name__}", elapsed=time.monotonic() - t0)
    buf = b""
    err = ""

    async def read_all():
        nonlocal buf
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data

    async def write_all():
        for i, c in enumerate(chunks if chunks is not None else [payload]):
            if i and delay:
                await asyncio.sleep(delay)
            writer.write(c)
            await writer.drain()

    # Read while writing: a server that answers early (413) and closes must
    # not have its answer lost to the reset of the rest of our upload.
    reading = asyncio.ensure_future(read_all())
    try:
        try:
            await asyncio.wait_for(write_all(), timeout)
        except (ConnectionResetError, BrokenPipeError, OSError):
            pass
        except asyncio.TimeoutError:
            err = "timeout"
        if not err:
            await asyncio.wait_for(asyncio.shield(reading), max(0.1, timeout - (time.monotonic() - t0)))
    except asyncio.TimeoutError:
        err = "timeout"
    except (ConnectionResetError, BrokenPipeError, OSError):
        err = "reset"
    finally:
        if not reading.done():
            reading.cancel()
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass
    r = parse_reply(buf) if buf else Reply()
    r.connected = True
    r.elapsed = time.monotonic() - t0
    if r.status == 0:
        r.error = err or "eof"
    elif err == "reset" and not r.body and r.headers.get("content-length", "0") != "0":
        r.error = "reset"
    return r


async def request(port, method, target, headers=None, body=b"", timeout=30.0):
    return await send_raw(port, build_request(method, target, headers, body), timeout)


def run_sync(coro):
    """Runs `coro` to completion from synchronous code, even when called
    inside a running event loop (set-up steps of an async scenario)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def get_sync(port, target, headers=None):
    r = run_sync(request(port, "GET", target, headers, timeout=5))
    if r.error:
        raise OSError(r.error)
    return r.status, r.headers, r.body


def call(port, method, target, token=None, body=None, headers=None, timeout=30):
    """One synchronous JSON call for set-up steps."""
    h = dict(headers or {})
    if token:
        h["X-Auth-Token"] = token
    data = b""
    if body is not None:
        data = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else body
        h.setdefault("Content-Type", "application/json")
    return run_sync(request(port, method, target, h, data, timeout))


# ------------------------------------------------------------------------ load

@dataclass
class LoadStats:
    sent: int = 0
    ok: int = 0
    refused: int = 0
    failed: int = 0                     # 5xx, resets, EOF, timeouts
    by_error: dict = field(default_factory=dict)
    by_status: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)

    def add(self, r, good):
        self.sent += 1
        self.latencies.append(r.elapsed)
        if r.error == "refused":
            self.refused += 1
        elif good(r):
            self.ok += 1
        else:
            self.failed += 1
        key = r.error or str(r.status)
        if r.error:
            self.by_error[key] = self.by_error.get(key, 0) + 1
        else:
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def summary(self):
        return f"sent={self.sent} ok={self.ok} failed={self.failed} refused={self.refused} " \
               f"statuses={self.by_status} errors={self.by_error}"


async def load(port, make, duration, concurrency, stop=None, good=None, on_reply=None, timeout=30):
    """`concurrency` clients each sending `make()` -> (method, target,
    headers, body) one after the other for `duration` seconds (or until the
    `stop` event), Connection: close. Returns LoadStats."""
    stats = LoadStats()
    good = good or (lambda r: 200 <= r.status < 500)
    end = time.monotonic() + duration
    stop = stop or asyncio.Event()

    async def client():
        while time.monotonic() < end and not stop.is_set():
            method, target, headers, body = make()
            r = await request(port, method, target, headers, body, timeout)
            stats.add(r, good)
            if on_reply:
                on_reply(r, (method, target, headers, body))
            if r.error == "refused":
                await asyncio.sleep(0.01)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return stats


def tmpdir(name):
    base = os.environ.get("RELIABILITY_WORK") or tempfile.gettempdir()
    return tempfile.mkdtemp(prefix=f"{name}-", dir=base)
