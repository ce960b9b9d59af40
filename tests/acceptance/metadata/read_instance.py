#!/usr/bin/env python3
"""Read everything one instance can see in the metadata service with
cloud-init's own readers, and fail on any error.

Run with cloud-init's package on PYTHONPATH (see run.sh):

  METADATA_URL=http://127.0.0.1:8775 python3 read_instance.py

How the instance is chosen:
  * signed proxy headers (the service runs with
    [neutron] service_metadata_proxy = true): set METADATA_INSTANCE_ID,
    METADATA_TENANT_ID and METADATA_SHARED_SECRET; every request carries
    X-Instance-ID, X-Tenant-ID and X-Instance-ID-Signature as neutron's
    metadata proxy sends them;
  * source address: set METADATA_SOURCE_IP to the instance's fixed IP (a
    loopback address such as 127.0.0.2 that this host can bind); every
    connection is made from that address.

Optional expectations (checked when set): EXPECT_UUID, EXPECT_USER_DATA,
EXPECT_KEY_NAME, EXPECT_PUBLIC_KEY, EXPECT_META (JSON object),
EXPECT_VENDOR_DATA (JSON), EXPECT_VENDOR_DATA2 (JSON), EXPECT_NETWORK (a
JSON list, one {"mac", "addresses": ["a.b.c.d/prefix"], "gateway",
"nameservers"} per interface: network_data.json as cloud-init converts it
for the guest, see check_network).

Exit status: 0 when every reader succeeded and every check held, 1 otherwise
(the failures are printed), 2 on a usage error.
"""
import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import sys

BASE = os.environ.get("METADATA_URL", "").rstrip("/")
if not BASE:
    print("METADATA_URL is required", file=sys.stderr)
    sys.exit(2)

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


class _FailOnWarnings(logging.Handler):
    """cloud-init's readers log (and swallow) failed reads: any warning from
    them is a failure here."""

    def emit(self, record):
        if record.name.startswith("cloudinit") and record.levelno >= logging.WARNING:
            fail("cloud-init logged: %s" % record.getMessage())


logging.basicConfig(level=logging.WARNING)
logging.getLogger().addHandler(_FailOnWarnings())

# Never reach a real metadata address: cloud-init falls back to
# 169.254.169.254 in places. Optionally connect from the instance's address.
SOURCE_IP = os.environ.get("METADATA_SOURCE_IP")
_orig_create_connection = socket.create_connection


def _guarded_create_connection(address, *args, **kwargs):
    host = address[0]
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        raise OSError("refusing connection to %r: only the local service is read" % (address,))
    if SOURCE_IP:
        kwargs["source_address"] = (SOURCE_IP, 0)
        if len(args) >= 2:
            args = args[:1]
    return _orig_create_connection(address, *args, **kwargs)


socket.create_connection = _guarded_create_connection
# urllib3 keeps its own reference to create_connection.
try:
    import urllib3.util.connection as _u3conn

    _orig_u3 = _u3conn.create_connection

    def _u3_create_connection(address, *args, **kwargs):
        host = address[0]
        if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
            raise OSError("refusing connection to %r" % (address,))
        if SOURCE_IP:
            kwargs["source_address"] = (SOURCE_IP, 0)
        return _orig_u3(address, *args, **kwargs)

    _u3conn.create_connection = _u3_create_connection
    import urllib3.connection as _u3c

    if hasattr(_u3c, "connection"):
        _u3c.connection.create_connection = _u3_create_connection
except ImportError:
    pass

import yaml  # noqa: E402  (cloud-init's own dependency)
from cloudinit import url_helper  # noqa: E402
from cloudinit.sources.helpers import openstack  # noqa: E402

try:  # cloud-init before 22.x
    from cloudinit import ec2_utils as ec2  # noqa: E402
except ImportError:
    from cloudinit.sources.helpers import ec2  # noqa: E402

EXTRA_HEADERS = {}
if os.environ.get("METADATA_INSTANCE_ID"):
    instance_id = os.environ["METADATA_INSTANCE_ID"]
    secret = os.environ.get("METADATA_SHARED_SECRET", "")
    EXTRA_HEADERS = {
        "X-Instance-ID": instance_id,
        "X-Tenant-ID": os.environ.get("METADATA_TENANT_ID", ""),
        "X-Instance-ID-Signature": hmac.new(
            secret.encode(), instance_id.encode(), hashlib.sha256
        ).hexdigest(),
        "X-Forwarded-For": os.environ.get("METADATA_FORWARDED_FOR", "10.0.0.2"),
    }

if EXTRA_HEADERS:
    _orig_readurl = url_helper.readurl

    def _readurl_with_headers(url, *args, **kwargs):
        headers = dict(kwargs.get("headers") or {})
        headers.update(EXTRA_HEADERS)
        kwargs["headers"] = headers
        return _orig_readurl(url, *args, **kwargs)

    url_helper.readurl = _readurl_with_headers

# MetadataReader reads the EC2 tree from the default 169.254.169.254, not
# from its base URL: point it at the service under test.
openstack.MetadataReader._read_ec2_metadata = lambda self: ec2.get_instance_metadata(
    metadata_address=BASE, ssl_details=self.ssl_details, timeout=self.timeout,
    retries=self.retries)


def expect_equal(what, got, want):
    if got != want:
        fail("%s: got %r, expected %r" % (what, got, want))


def as_text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def check_network(net_config, expected):
    """The network configuration cloud-init made of network_data.json, in
    its own terms: one physical interface per expected {"mac",
    "addresses": ["a.b.c.d/prefix", ...], "gateway", "nameservers"}, in
    that order, each configured as the guest would be (cloud-init's
    network state, then the netplan it would write)."""
    if net_config is None:
        fail("no network configuration to check")
        return
    from cloudinit.net import netplan, network_state

    # The links keep the order of the server's interfaces (its create's
    # networks as asked for, then the ones attached).
    expect_equal("interfaces in order",
                 [c["mac_address"] for c in net_config["config"] if c["type"] == "physical"],
                 [e["mac"] for e in expected])
    state = network_state.parse_net_config_data(net_config)
    interfaces = {i["mac_address"]: i for i in state.iter_interfaces()
                  if i.get("type") == "physical"}
    rendered = yaml.safe_load(netplan.Renderer()._render_content(state))
    ethernets = rendered.get("network", {}).get("ethernets", {})
    for want in expected:
        iface = interfaces.get(want["mac"])
        if iface is None:
            continue
        name = iface["name"]
        got = ["%s/%s" % (s["address"], s["prefix"]) for s in iface["subnets"]
               if s["type"] == "static"]
        expect_equal("addresses of %s (%s)" % (name, want["mac"]), got, want["addresses"])
        eth = ethernets.get(name, {})
        expect_equal("netplan match of %s" % name, eth.get("match"),
                     {"macaddress": want["mac"]})
        expect_equal("netplan addresses of %s" % name, eth.get("addresses"), want["addresses"])
        default = [r.get("via") for r in eth.get("routes", []) if r.get("to") in
                   ("0.0.0.0/0", "default")]
        expect_equal("netplan default route of %s" % name, default,
                     [want["gateway"]] if want.get("gateway") else [])
    nameservers = sorted({a for e in expected for a in e.get("nameservers", [])})
    expect_equal("nameservers", sorted(state.dns_nameservers), nameservers)


def main():
    # 1. The OpenStack tree through cloud-init's MetadataReader.
    try:
        result = openstack.MetadataReader(BASE, timeout=5, retries=0).read_v2()
    except Exception as e:  # the reader raises NonReadable/BrokenMetadata
        fail("MetadataReader.read_v2: %s: %s" % (type(e).__name__, e))
        return
    md = result["metadata"]
    for key in ("uuid", "hostname", "name", "launch_index", "availability_zone"):
        if key not in md:
            fail("meta_data.json lacks %r" % key)
    if "random_seed" in md and len(md["random_seed"]) != 512:
        fail("random_seed decodes to %d bytes, not 512" % len(md["random_seed"]))
    for name in ("vendordata", "vendordata2", "networkdata"):
        if name not in result:
            fail("MetadataReader found no %s" % name)
    net_config = None
    if "networkdata" in result and result["networkdata"]:
        try:
            # On a guest the MACs name its own NICs; here none exist, so
            # each link's MAC is mapped to a made-up interface name.
            links = result["networkdata"].get("links", [])
            known = {link["ethernet_mac_address"]: "eth%d" % i for i, link in enumerate(links)}
            net_config = openstack.convert_net_json(result["networkdata"], known_macs=known)
        except Exception as e:
            fail("network_data.json is not consumable: %s" % e)
    ec2_md_via_reader = result.get("ec2-metadata") or {}
    if not ec2_md_via_reader.get("instance-id"):
        fail("MetadataReader's EC2 walk found no instance-id")

    # 2. The EC2 tree through cloud-init's EC2 helpers.
    ec2_md = ec2.get_instance_metadata("2009-04-04", BASE, timeout=5, retries=0)
    ec2_ud = ec2.get_instance_userdata("2009-04-04", BASE, timeout=5, retries=0)
    for key in ("instance-id", "ami-id", "hostname", "local-hostname", "local-ipv4",
                "instance-type", "reservation-id", "placement", "block-device-mapping"):
        if key not in ec2_md:
            fail("EC2 meta-data lacks %r" % key)
    expect_equal("EC2 hostname vs meta_data.json hostname", ec2_md.get("hostname"),
                 md.get("hostname"))
    expect_equal("user-data of both trees", as_text(ec2_ud) or "",
                 as_text(result.get("userdata")) or "")

    keys = md.get("public_keys") or {}
    if keys:
        name, key = next(iter(keys.items()))
        ec2_keys = ec2_md.get("public-keys") or {}
        expect_equal("EC2 public key", ec2_keys.get(name), key)

    # 3. Expectations from the caller.
    env = os.environ
    if env.get("EXPECT_UUID"):
        expect_equal("uuid", md.get("uuid"), env["EXPECT_UUID"])
    if "EXPECT_USER_DATA" in env:
        expect_equal("user data", as_text(result.get("userdata")) or "",
                     env["EXPECT_USER_DATA"])
    if env.get("EXPECT_KEY_NAME"):
        if env["EXPECT_KEY_NAME"] not in keys:
            fail("key %r not in public_keys %r" % (env["EXPECT_KEY_NAME"], list(keys)))
    if env.get("EXPECT_PUBLIC_KEY"):
        if env["EXPECT_PUBLIC_KEY"].strip() not in [k.strip() for k in keys.values()]:
            fail("expected public key not served")
    if env.get("EXPECT_META"):
        expect_equal("meta", md.get("meta", {}), json.loads(env["EXPECT_META"]))
    if env.get("EXPECT_VENDOR_DATA"):
        expect_equal("vendor_data.json", result.get("vendordata"),
                     json.loads(env["EXPECT_VENDOR_DATA"]))
    if env.get("EXPECT_VENDOR_DATA2"):
        expect_equal("vendor_data2.json", result.get("vendordata2"),
                     json.loads(env["EXPECT_VENDOR_DATA2"]))
    if env.get("EXPECT_NETWORK"):
        check_network(net_config, json.loads(env["EXPECT_NETWORK"]))

    summary = {
        "uuid": md.get("uuid"),
        "hostname": md.get("hostname"),
        "instance-id": ec2_md.get("instance-id"),
        "keys": sorted(keys),
        "user-data-bytes": len(as_text(result.get("userdata")) or ""),
        "meta": md.get("meta", {}),
        "vendordata": result.get("vendordata"),
        "vendordata2": result.get("vendordata2"),
        "networkdata": bool(result.get("networkdata")),
        "random_seed_bytes": len(md.get("random_seed") or b""),
    }
    print(json.dumps(summary, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        sys.exit(1)
    print("OK")
