#!/usr/bin/env python3
"""Acceptance: cloud-init configures a server with two ports from
network_data.json (issue 21).

Through the Network v2 and compute APIs (noauth2, project `twoports`):
two networks with static (DHCP off) subnets, one with a DNS server and
one with its gateway at the top of the range; a port made beforehand on
the second, at an address chosen by the caller; a server booted with
`networks: [{"uuid": first}, {"port": premade}]`. The server's ports are
then read back from the Network API (MAC, fixed IP, subnet), and
read_instance.py reads the instance as cloud-init does (signed
neutron-proxy headers) and checks, with EXPECT_NETWORK, that cloud-init's
conversion of network_data.json gives the guest exactly these two
interfaces: each MAC with its port's address and prefix, its subnet's
gateway as the default route, and the DNS server. Everything is deleted
afterwards.

Run by tests/acceptance/run.sh, which exports OS_COMPUTE_URL,
OS_COMPUTE_ROOT, METADATA_URL, METADATA_SHARED_SECRET and cloud-init on
PYTHONPATH.
"""

import ipaddress
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = "twoports"
TOKEN = "%s:%s" % (PROJECT, PROJECT)
COMPUTE = os.environ["OS_COMPUTE_URL"].rstrip("/")
NETWORK = os.environ.get("OS_COMPUTE_ROOT", COMPUTE.rsplit("/", 1)[0]).rstrip("/") \
    + "/network/v2.0"


def call(method, url, body=None):
    """(status, body text) of one request as the project's user."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "X-Auth-Token": TOKEN, "Content-Type": "application/json",
        "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api(method, url, body=None, expect=(200, 201, 202, 204)):
    status, text = call(method, url, body)
    if status not in expect:
        raise AssertionError("%s %s answered %d: %s" % (method, url, status, text[:500]))
    return json.loads(text) if text else None


def make(collection, kind, body, cleanup):
    made = api("POST", "%s/%s" % (NETWORK, collection), {kind: body})[kind]
    cleanup.insert(0, ("%s/%s/%s" % (NETWORK, collection, made["id"]), None))
    return made


def wait_for_status(server_id, wanted):
    deadline = time.time() + 60
    while True:
        server = api("GET", "%s/servers/%s" % (COMPUTE, server_id))["server"]
        if server["status"] == wanted:
            return server
        if server["status"] == "ERROR" or time.time() > deadline:
            raise AssertionError("server %s is %s, not %s" % (server_id, server["status"], wanted))
        time.sleep(0.2)


def wait_gone(url):
    deadline = time.time() + 60
    while call("GET", url)[0] != 404:
        if time.time() > deadline:
            raise AssertionError("%s still there" % url)
        time.sleep(0.2)


def expected_interface(port, subnet):
    """EXPECT_NETWORK's entry for one port: what the guest must get."""
    ip = port["fixed_ips"][0]["ip_address"]
    prefix = ipaddress.ip_network(subnet["cidr"]).prefixlen
    return {"mac": port["mac_address"], "addresses": ["%s/%d" % (ip, prefix)],
            "gateway": subnet["gateway_ip"], "nameservers": subnet["dns_nameservers"]}


def scenario(cleanup):
    net_a = make("networks", "network", {"name": "twoports-a"}, cleanup)
    subnet_a = make("subnets", "subnet", {
        "network_id": net_a["id"], "name": "twoports-a-subnet", "ip_version": 4,
        "cidr": "192.168.71.0/24", "enable_dhcp": False,
        "dns_nameservers": ["192.0.2.53"]}, cleanup)
    net_b = make("networks", "network", {"name": "twoports-b"}, cleanup)
    subnet_b = make("subnets", "subnet", {
        "network_id": net_b["id"], "name": "twoports-b-subnet", "ip_version": 4,
        "cidr": "192.168.72.0/25", "gateway_ip": "192.168.72.126",
        "enable_dhcp": False}, cleanup)
    premade = make("ports", "port", {
        "network_id": net_b["id"], "name": "twoports-premade",
        "fixed_ips": [{"subnet_id": subnet_b["id"], "ip_address": "192.168.72.20"}]}, cleanup)

    image = api("GET", COMPUTE + "/images")["images"][0]["id"]
    server = api("POST", COMPUTE + "/servers", {"server": {
        "name": "twoports-vm", "imageRef": image, "flavorRef": "1",
        "networks": [{"uuid": net_a["id"]}, {"port": premade["id"]}]}})["server"]
    cleanup.insert(0, ("%s/servers/%s" % (COMPUTE, server["id"]), "wait"))
    shown = wait_for_status(server["id"], "ACTIVE")

    ports = api("GET", "%s/ports?device_id=%s" % (NETWORK, server["id"]))["ports"]
    by_network = {p["network_id"]: p for p in ports}
    if sorted(by_network) != sorted([net_a["id"], net_b["id"]]) or len(ports) != 2:
        raise AssertionError("the server's ports are %r" % ports)
    port_a, port_b = by_network[net_a["id"]], by_network[net_b["id"]]
    if port_b["id"] != premade["id"] or port_b["fixed_ips"][0]["ip_address"] != "192.168.72.20":
        raise AssertionError("the premade port is not the server's: %r" % port_b)
    addresses = {net: sorted(a["addr"] for a in addrs)
                 for net, addrs in shown["addresses"].items()}
    want = {"twoports-a": [port_a["fixed_ips"][0]["ip_address"]],
            "twoports-b": ["192.168.72.20"]}
    if addresses != want:
        raise AssertionError("server addresses %r, ports say %r" % (addresses, want))

    expected = [expected_interface(port_a, subnet_a), expected_interface(port_b, subnet_b)]
    print("expecting %s" % json.dumps(expected))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPECT_")}
    env.update({
        "METADATA_INSTANCE_ID": server["id"], "METADATA_TENANT_ID": shown["tenant_id"],
        "METADATA_FORWARDED_FOR": port_a["fixed_ips"][0]["ip_address"],
        "EXPECT_UUID": server["id"], "EXPECT_NETWORK": json.dumps(expected)})
    reader = subprocess.run([sys.executable, os.path.join(HERE, "read_instance.py")],
                            env=env, capture_output=True, text=True, timeout=120)
    print(reader.stdout + reader.stderr)
    if reader.returncode != 0:
        raise AssertionError("read_instance.py failed (exit %d)" % reader.returncode)


def main():
    cleanup = []  # (url, how), deleted first to last
    failed = False
    try:
        scenario(cleanup)
    except AssertionError as e:
        print("FAIL: %s" % e)
        failed = True
    finally:
        for url, how in cleanup:
            try:
                api("DELETE", url, expect=(202, 204, 404))
                if how == "wait":
                    wait_gone(url)
            except AssertionError as e:
                print("cleanup: %s" % e)
                failed = True
        left = api("GET", "%s/ports?project_id=%s" % (NETWORK, PROJECT))["ports"]
        if left:
            print("FAIL: ports left after clean-up: %r" % left)
            failed = True
    if failed:
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
