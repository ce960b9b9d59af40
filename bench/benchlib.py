"""Shared pieces of the API benchmarks (compute_api.py, ec2.py, metadata.py):
a nova.conf in a temporary state directory, starting a release binary on
port 0 and stopping it, wrk runs, RSS per worker, the bare-server reference,
a small keep-alive HTTP client for seeding, and the table printer.

Same habits as runtime.py: every figure is measured in the run that prints
it, beside the bare axum server (target/release/examples/bare_server)
answering the same bytes with the same number of threads. Nothing here
asserts: a setup step that fails stops the program with its reason.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
BARE = os.path.join(RELEASE, "examples", "bare_server")
DURATION = os.environ.get("BENCH_DURATION", "5s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
THREADS = os.environ.get("BENCH_THREADS", "2")
# wrk's default 2 s would count the slow 1000-server listings as socket errors.
TIMEOUT = os.environ.get("BENCH_TIMEOUT", "10s")
PASTE = os.path.join(ROOT, "deploy", "etc", "nova", "api-paste.ini")
WORKER_COUNTS = (1, 2)


def write_conf(state, extra="", api=""):
    """One nova.conf for the three services over one SQLite file.

    The simulated driver completes every transition at once, and the host,
    the fixed network and the port quota are large enough for thousands of
    instances in one project.
    `api` adds lines to `[api]`; `extra` is appended (more sections)."""
    conf = os.path.join(state, "nova.conf")
    with open(conf, "w") as f:
        f.write(f"""[DEFAULT]
state_path = {state}
osapi_compute_listen = 127.0.0.1
ec2_listen = 127.0.0.1
metadata_listen = 127.0.0.1
[api]
auth_strategy = noauth2
{api}
[wsgi]
api_paste_config = {PASTE}
[database]
connection = sqlite:///{state}/nova.sqlite
[simulator]
transition_delay = 0
fixed_ip_range = 10.0.0.0/16
host_vcpus = 10000000
host_memory_mb = 10000000000
host_local_gb = 10000000000
[quotas]
quota_port = -1
{extra}""")
    return conf


class Service:
    """A release binary started on port 0 with N workers; its log goes to a
    file in the state directory (kept for the error report)."""

    def __init__(self, binary, conf, workers, state):
        self.name = binary
        self.log_path = os.path.join(state, f"{binary}-{workers}w.log")
        self.log = open(self.log_path, "wb")
        cmd = [os.path.join(RELEASE, binary), "--config-file", conf, "--port", "0",
               "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = wait_listening(self.proc, self.log_path, r"listening on \S+:(\d+)")

    def worker_pids(self):
        return children(self.proc.pid) or [self.proc.pid]

    def rss_mb(self):
        """The largest resident set among the workers, in MB."""
        return max(rss_kb(p) for p in self.worker_pids()) / 1024

    def log_lines(self, pattern):
        with open(self.log_path, errors="replace") as f:
            return [line.rstrip() for line in f if re.search(pattern, line)]

    def stop(self):
        stop(self.proc)
        self.log.close()


def wait_listening(proc, log_path, pattern, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        with open(log_path, errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    with open(log_path, errors="replace") as f:
        sys.exit("did not start: " + f.read())


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Client:
    """A keep-alive HTTP/1.1 client for seeding and for reading one answer."""

    def __init__(self, port, headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = headers or {}

    def request(self, method, path, body=None, headers=None, expect=None):
        h = dict(self.headers)
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if expect is not None and r.status not in expect:
            sys.exit(f"{method} {path}: {r.status} {data[:500]!r}")
        return r.status, r.headers, data

    def close(self):
        self.conn.close()


def wrk(port, path, headers=(), script=None, connections=None, duration=None, threads=None):
    """One wrk run; returns req/s, p50, p99, non-2xx/3xx count, socket errors
    and the number of completed requests."""
    connections = connections or CONNECTIONS
    threads = min(int(threads or THREADS), int(connections))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration or DURATION}",
           f"--timeout={TIMEOUT}", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    return {
        "requests": int(done.group(1)) if done else 0,
        "rps": rps,
        "p50": lat.get("50", "?"),
        "p99": lat.get("99", "?"),
        "bad": int(bad.group(1)) if bad else 0,
        "sock": sum(int(x) for x in sock.groups()) if sock else 0,
    }


def bare(state, body, content_type, workers, path="/", connections=None):
    """wrk on the bare server answering `body` with `workers` threads."""
    body_file = os.path.join(state, "bare-body")
    with open(body_file, "wb") as f:
        f.write(body)
    log_path = os.path.join(state, "bare.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([BARE, "0", body_file, content_type, str(workers)],
                                stdout=log, stderr=subprocess.STDOUT)
    port = wait_listening(proc, log_path, r"listening on \S+:(\d+)")
    try:
        result = wrk(port, path, connections=connections)
        result["rss"] = rss_kb(proc.pid) / 1024
    finally:
        stop(proc)
    return result


def lua_post(state, name, path, body, headers):
    """A wrk script that POSTs `body` to `path` with `headers`."""
    script = os.path.join(state, name)
    lines = [f"wrk.method = \"POST\"", f"wrk.path = {lua_str(path)}", f"wrk.body = {lua_str(body)}"]
    for k, v in headers.items():
        lines.append(f"wrk.headers[{lua_str(k)}] = {lua_str(v)}")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    return script


def metadata_signature(secret, instance_id):
    """The neutron metadata proxy's `X-Instance-ID-Signature`."""
    import hashlib
    import hmac
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def lua_metadata(directory, name, instances, path, secret):
    """A wrk script asking `path` for each (uuid, project, ip) in turn,
    with the headers a neutron metadata proxy signs with `secret`."""
    entries = ",\n".join(
        f'  {{"{uuid}", "{project}", "{ip}", "{metadata_signature(secret, uuid)}"}}'
        for uuid, project, ip in instances)
    script = os.path.join(directory, name)
    with open(script, "w") as f:
        f.write(f"""-- {len(instances)} instances behind a neutron metadata proxy, in turn.
local ids = {{
{entries}
}}
local n = #ids
i = 0
local threads = 0
function setup(thread)
  thread:set("i", threads * 397)
  threads = threads + 1
end
function request()
  i = i + 1
  local e = ids[(i % n) + 1]
  wrk.headers["X-Instance-ID"] = e[1]
  wrk.headers["X-Tenant-ID"] = e[2]
  wrk.headers["X-Forwarded-For"] = e[3]
  wrk.headers["X-Instance-ID-Signature"] = e[4]
  return wrk.format("GET", "{path}")
end
""")
    return script


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def machine():
    """The conditions of the run; the load average shows whether something
    else shared the cores."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}, wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}"


HEADER = ("| what | workers | ours req/s | p50 | p99 | non-2xx / socket errors | RSS/worker | "
          "bare req/s | bare p50 | bare p99 | ratio |")


def print_table(title, rows):
    """rows: (what, workers, ours, bare) with wrk dicts; ours has `rss`."""
    print(title)
    print(HEADER)
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for what, workers, ours, ref in rows:
        print(f"| {what} | {workers} | {ours['rps']:.0f} | {ours['p50']} | {ours['p99']} | "
              f"{ours['bad']} / {ours['sock']} | {ours['rss']:.1f} MB | {ref['rps']:.0f} | {ref['p50']} | "
              f"{ref['p99']} | {ours['rps'] / ref['rps']:.3f} |")


def state_dir():
    return tempfile.TemporaryDirectory(prefix="nova-bench-")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU of the processes (all their threads), in seconds;
    a process that has exited counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLOCK_TICKS


def quiesce(pids, limit=60):
    """Waits until the processes stop using CPU (work a batch create or
    requests wrk left queued still do), at most `limit` seconds."""
    last = cpu_seconds(pids)
    deadline = time.time() + limit
    while time.time() < deadline:
        time.sleep(0.3)
        now = cpu_seconds(pids)
        if now - last < 0.005:
            return
        last = now


def private_kb(pid):
    """Private (clean + dirty) memory of a process, in kB."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        text = f.read()
    return sum(int(x) for x in re.findall(r"^Private_(?:Clean|Dirty):\s+(\d+)", text, re.M))


def latency_ms(text):
    """wrk's latency ('812.00us', '4.51ms', '1.20s') in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text or "")
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def fmt_seconds(s):
    """A duration for the tables: µs below a millisecond, ms below a second."""
    if s != s:  # NaN
        return "?"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"
