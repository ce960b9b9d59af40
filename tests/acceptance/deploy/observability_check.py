"""The observability check driven by observability.sh: JSON logs, the
metrics filter scraped with prometheus_client's parser, the introspection
report on its port and on SIGUSR2, against osapi-compute with two workers.

    python observability_check.py OSAPI_COMPUTE_BINARY API_PASTE_INI
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from prometheus_client.parser import text_string_to_metric_families

SECRET = "observability-" + uuid.uuid4().hex
FLUSH_WAIT = 1.6  # a worker writes its stats every second


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def log_records(path):
    """Every line of the log, each of which must be one JSON object."""
    records = []
    with open(path, encoding="utf-8") as log:
        for number, line in enumerate(log, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                # The SIGUSR2 report is written whole, not as a log line.
                records.append({"raw": line})
                continue
            for key in ("asctime", "process", "levelname", "name", "message"):
                if key not in record:
                    fail(f"log line {number} lacks {key!r}: {line!r}")
            records.append(record)
    return records


def wait_for_message(path, prefix, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for record in log_records(path):
            if record.get("message", "").startswith(prefix):
                return record["message"]
        time.sleep(0.1)
    fail(f"no log line starting {prefix!r} within {timeout}s")


def get(url, token="admin:admin"):
    request = urllib.request.Request(url, headers={"X-Auth-Token": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(base):
    status, text = get(base + "/metrics")
    if status != 200:
        fail(f"/metrics answered {status}")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return families, text


def sample(families, family, name, **labels):
    for s in families[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def read_report(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


def main():
    binary, stock_paste = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="nova-observability.")
    paste = os.path.join(work, "api-paste.ini")
    with open(stock_paste, encoding="utf-8") as stock:
        text = stock.read()
    # The operator's edit the README describes: the urlmap renamed, and a
    # pipeline of that name with the metrics filter in front of it.
    text = text.replace(
        "[composite:osapi_compute]\n",
        "[pipeline:osapi_compute]\npipeline = metrics osapi_compute_routes\n\n"
        "[filter:metrics]\npaste.filter_factory = nova_api_rs.metrics:filter_factory\n\n"
        "[composite:osapi_compute_routes]\n",
        1,
    )
    with open(paste, "w", encoding="utf-8") as out:
        out.write(text)
    conf = os.path.join(work, "nova.conf")
    with open(conf, "w", encoding="utf-8") as out:
        out.write(
            f"""[DEFAULT]
enabled_apis = osapi_compute
state_path = {work}/state
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
osapi_compute_workers = 2
use_json = true
backdoor_port = 0

[api]
auth_strategy = noauth2

[keystone_authtoken]
password = {SECRET}

[simulator]
transition_delay = 0

[wsgi]
api_paste_config = {paste}
"""
        )
    os.makedirs(os.path.join(work, "state"))
    log = os.path.join(work, "osapi-compute.log")
    with open(log, "w", encoding="utf-8") as err:
        service = subprocess.Popen([binary, "--config-file", conf], stderr=err, stdout=subprocess.DEVNULL)
    try:
        check(service, log)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    shutil.rmtree(work, ignore_errors=True)
    print("PASS: JSON logs, metrics of two workers through prometheus_client, restarts, report on port and SIGUSR2")


def check(service, log):
    listening = wait_for_message(log, "osapi_compute listening on ")
    base = "http://" + listening.rsplit(" ", 1)[1]
    backdoor = wait_for_message(log, "osapi_compute introspection report on ")
    backdoor_port = int(backdoor.rsplit(":", 1)[1])
    deadline = time.time() + 30
    while get(base + "/healthcheck")[0] != 200:
        if time.time() > deadline:
            fail("no healthcheck")
        time.sleep(0.1)

    # Requests over fresh connections, until both workers have served
    # some (the access log names the process of each).
    sent = 0
    while True:
        for _ in range(20):
            status, _ = get(base + "/v2.1/flavors")
            if status != 200:
                fail(f"GET /v2.1/flavors answered {status}")
            sent += 1
        pids = {r["process"] for r in log_records(log)
                if r.get("name") == "wsgi" and "/v2.1/flavors" in r.get("message", "")}
        if len(pids) >= 2 or sent >= 400:
            break
    if len(pids) < 2:
        fail(f"{sent} requests all went to one worker: {pids}")
    server = str(uuid.uuid4())
    status, _ = get(f"{base}/v2.1/flavors/1")
    if status != 200:
        fail(f"GET /v2.1/flavors/1 answered {status}")
    status, _ = get(f"{base}/v2.1/servers/{server}")
    if status != 404:
        fail(f"GET /v2.1/servers/<unknown> answered {status}")
    time.sleep(FLUSH_WAIT)

    families, text = scrape(base)
    count = sample(families, "nova_http_requests", "nova_http_requests_total",
                   method="GET", route="/v2.1/flavors", status="200")
    if count != sent:
        fail(f"nova_http_requests_total of /v2.1/flavors is {count}, {sent} were sent by two workers\n{text}")
    if sample(families, "nova_http_requests", "nova_http_requests_total",
              method="GET", route="/v2.1/flavors/{id}", status="200") != 1:
        fail(f"/v2.1/flavors/1 is not counted under its template\n{text}")
    if server in text:
        fail("a raw id reached a label")
    histogram = dict(method="GET", route="/v2.1/flavors", status="200")
    if sample(families, "nova_http_request_duration_seconds",
              "nova_http_request_duration_seconds_count", **histogram) != sent:
        fail(f"the histogram's count is not {sent}\n{text}")
    if sample(families, "nova_http_request_duration_seconds",
              "nova_http_request_duration_seconds_bucket", le="+Inf", **histogram) != sent:
        fail(f"the histogram's +Inf bucket is not {sent}\n{text}")
    if sample(families, "nova_workers", "nova_workers") != 2:
        fail(f"nova_workers is not 2\n{text}")
    if sample(families, "nova_http_connection_pool_size", "nova_http_connection_pool_size") != 2000:
        fail(f"the pool is not 2 x 1000\n{text}")
    if sample(families, "nova_worker_restarts", "nova_worker_restarts_total") != 0:
        fail(f"restarts before any worker died\n{text}")

    report = read_report(backdoor_port)
    workers = [line.split()[2] for line in report.splitlines() if line.startswith("worker  pid ")]
    if sorted(workers) != sorted(str(p) for p in pids):
        fail(f"the report's workers {workers} are not the serving ones {pids}\n{report}")
    if SECRET in report or "password = ****" not in report:
        fail(f"the report does not mask [keystone_authtoken] password\n{report}")
    if "connections " not in report or "use_json = true" not in report:
        fail(f"the report lacks connections or configuration\n{report}")

    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    deadline = time.time() + 20
    while True:
        families, text = scrape(base)
        if (sample(families, "nova_worker_restarts", "nova_worker_restarts_total") == 1
                and sample(families, "nova_workers", "nova_workers") == 2):
            break
        if time.time() > deadline:
            fail(f"worker {victim} killed: no restart counted\n{text}")
        time.sleep(0.2)
    count = sample(families, "nova_http_requests", "nova_http_requests_total",
                   method="GET", route="/v2.1/flavors", status="200")
    if count != sent:
        fail(f"after a worker died the count is {count}, not {sent}\n{text}")

    os.kill(service.pid, signal.SIGUSR2)
    deadline = time.time() + 10
    while not any("==== nova-api-rs introspection report ====" in r.get("raw", "")
                  for r in log_records(log)):
        if time.time() > deadline:
            fail("SIGUSR2 wrote no report to the log")
        time.sleep(0.1)
    with open(log, encoding="utf-8") as text:
        if SECRET in text.read():
            fail("the secret reached the log")

    service.send_signal(signal.SIGTERM)
    try:
        code = service.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fail("SIGTERM: still running after 30 s")
    if code != 0:
        fail(f"SIGTERM: exit {code}")


if __name__ == "__main__":
    main()
