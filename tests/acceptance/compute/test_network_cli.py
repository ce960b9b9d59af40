#!/usr/bin/env python3
"""Acceptance: the unmodified `openstack` CLI against the built-in Network
v2 endpoint and the compute API's network features on it (issue 21).

Every resource goes through create, list, show, set and delete:
networks, subnets, ports, security groups and their rules, routers (with
an external gateway on the seeded `public` network and an interface on a
subnet of the test's own network) and floating IPs. Then servers use them:
`server create --network private --wait` (an address in private's
subnet), `server add/remove floating ip`, `server add/remove security
group` and `server add/remove port`, each checked from the other side
(the floating IP's fixed address, `server show`'s groups, the port's
device). Everything made is deleted again and the lists must show it
gone.

Runs the scenario with the `admin_token` configuration of
acceptance_common.py (the network endpoint given as an override, there is
no catalogue); test_network_cli_password.py runs it with password
authentication against the built-in identity (whose catalogue names the
`network` endpoint). Two scripts, as each takes some 150 openstack
commands: each has the runner's whole time limit.
"""

import ipaddress
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acceptance_common import (Cli, check, check_equal, main, unique,  # noqa: E402
                               write_clouds_yaml)


def names(rows, key="Name"):
    return [row[key] for row in rows]


def ids(rows):
    return [row["ID"] for row in rows]


def fixed_addresses(port):
    """The IP addresses of a port shown by `port show -f json`."""
    return [ip["ip_address"] for ip in port["fixed_ips"]]


def server_addresses(server):
    """{network name: [address, ...]} of `server show -f json`."""
    addresses = server["addresses"]
    if isinstance(addresses, str):  # older OSC: "net=1.2.3.4, 5.6.7.8; net2=..."
        parsed = {}
        for part in filter(None, addresses.split("; ")):
            net, _, ips = part.partition("=")
            parsed[net] = ips.split(", ")
        return parsed
    return addresses


def group_names(server):
    groups = server.get("security_groups") or []
    if isinstance(groups, str):  # older OSC: "name='default'"
        return [g.split("=", 1)[1].strip("'") for g in groups.split("\n") if "=" in g]
    return [g["name"] for g in groups]


def in_cidr(address, cidr):
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr)


class Cleanup:
    """Deletes what a scenario made, newest first, even after a failure;
    a failed delete is reported, not raised over the first failure."""

    def __init__(self, cli):
        self.cli = cli
        self.steps = []

    def add(self, *args):
        self.steps.append(args)

    def done(self, *args):
        """`args` was deleted by the scenario itself."""
        if args in self.steps:
            self.steps.remove(args)

    def run(self):
        for args in reversed(self.steps):
            cmd = [self.cli.binary, "--os-cloud", self.cli.cloud] + list(args)
            proc = subprocess.run(cmd, env=self.cli.env, capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                print("  cleanup failed: openstack %s: %s" % (" ".join(args), proc.stderr.strip()))
        self.steps = []


def scenario(cloud):
    def run(tmp):
        cli = Cli(write_clouds_yaml(tmp), cloud)
        cleanup = Cleanup(cli)
        try:
            steps(cli, cleanup)
        finally:
            cleanup.run()

    return run


def steps(cli, cleanup):
    # A /24 no other run of this script picked (10.200-249.x.0/24).
    third = random.randrange(0, 256)
    cidr = "10.%d.%d.0/24" % (random.randrange(200, 250), third)
    net = ipaddress.ip_network(cidr)
    gateway = str(net.network_address + 1)

    # --- networks -------------------------------------------------------
    nname = unique("acc-net")
    created = cli.json("network", "create", "--description", "made by the CLI", nname)
    check_equal(created["name"], nname, "network create name")
    check_equal(created["description"], "made by the CLI", "network create description")
    check_equal(created["admin_state_up"], True, "network create admin_state_up")
    nid = created["id"]
    cleanup.add("network", "delete", nid)
    check(nname in names(cli.json("network", "list")), "network missing from network list")
    check_equal(cli.json("network", "show", nname)["id"], nid, "network show id")
    cli.run("network", "set", "--description", "changed", "--mtu", "1400", nname)
    shown = cli.json("network", "show", nid)
    check_equal(shown["description"], "changed", "network description after set")
    check_equal(shown["mtu"], 1400, "network mtu after set")

    public = cli.json("network", "show", "public")
    check_equal(public["router:external"], True, "public is external")
    public_cidr = cli.json("subnet", "show", public["subnets"][0])["cidr"]
    private_cidr = cli.json("subnet", "show", "private-subnet")["cidr"]

    # --- subnets --------------------------------------------------------
    sname = unique("acc-subnet")
    created = cli.json("subnet", "create", "--network", nname, "--subnet-range", cidr, sname)
    check_equal(created["name"], sname, "subnet create name")
    check_equal(created["cidr"], cidr, "subnet create cidr")
    check_equal(created["gateway_ip"], gateway, "subnet gateway (the first host)")
    check_equal(created["network_id"], nid, "subnet network_id")
    check_equal(created["ip_version"], 4, "subnet ip_version")
    pools = created["allocation_pools"]
    check_equal(pools, [{"start": str(net.network_address + 2),
                         "end": str(net.broadcast_address - 1)}], "subnet allocation pools")
    subid = created["id"]
    cleanup.add("subnet", "delete", subid)
    listed = cli.json("subnet", "list", "--network", nname)
    check_equal([(r["Name"], r["Subnet"]) for r in listed], [(sname, cidr)],
                "subnet list --network")
    check_equal(cli.json("network", "show", nid)["subnets"], [subid], "network's subnets")
    cli.run("subnet", "set", "--description", "acceptance subnet", "--name", sname + "-x", sname)
    sname += "-x"
    shown = cli.json("subnet", "show", subid)
    check_equal(shown["name"], sname, "subnet name after set")
    check_equal(shown["description"], "acceptance subnet", "subnet description after set")

    # --- ports ----------------------------------------------------------
    pname = unique("acc-port")
    port = cli.json("port", "create", "--network", nname, pname)
    check_equal(port["name"], pname, "port create name")
    check_equal(port["network_id"], nid, "port network_id")
    pid = port["id"]
    cleanup.add("port", "delete", pid)
    paddrs = fixed_addresses(port)
    check(len(paddrs) == 1 and in_cidr(paddrs[0], cidr) and paddrs[0] != gateway,
          "port address %r not a host of %s" % (paddrs, cidr))
    check_equal(port["fixed_ips"][0]["subnet_id"], subid, "port fixed_ips subnet")
    check_equal(port["device_id"], "", "a new port's device")
    fixed_name = unique("acc-port-fixed")
    fixed_addr = str(net.network_address + 200)
    fixed = cli.json("port", "create", "--network", nname,
                     "--fixed-ip", "subnet=%s,ip-address=%s" % (subid, fixed_addr), fixed_name)
    cleanup.add("port", "delete", fixed["id"])
    check_equal(fixed_addresses(fixed), [fixed_addr], "port created with --fixed-ip")
    listed = cli.json("port", "list", "--network", nname)
    check_equal(sorted(names(listed)), sorted([pname, fixed_name]), "port list --network")
    row = [r for r in listed if r["ID"] == pid][0]
    check_equal(row["MAC Address"], port["mac_address"], "port list MAC Address")
    cli.run("port", "set", "--description", "acceptance port", "--name", pname + "-x", pid)
    pname += "-x"
    shown = cli.json("port", "show", pid)
    check_equal(shown["name"], pname, "port name after set")
    check_equal(shown["description"], "acceptance port", "port description after set")
    cli.run("port", "delete", fixed["id"])
    cleanup.done("port", "delete", fixed["id"])
    check(fixed["id"] not in ids(cli.json("port", "list")), "deleted port still listed")

    # --- security groups and rules --------------------------------------
    gname = unique("acc-sg")
    group = cli.json("security", "group", "create", "--description", "ssh in", gname)
    check_equal(group["name"], gname, "security group create name")
    check_equal(group["description"], "ssh in", "security group description")
    gid = group["id"]
    cleanup.add("security", "group", "delete", gid)
    # Neutron's two egress rules come with every group.
    check_equal(sorted((r["direction"], r["ethertype"]) for r in group["rules"]),
                [("egress", "IPv4"), ("egress", "IPv6")], "a new group's rules")
    check(gname in names(cli.json("security", "group", "list")), "group missing from list")
    check_equal(cli.json("security", "group", "show", gname)["id"], gid, "group show id")
    cli.run("security", "group", "set", "--description", "ssh and ping", gname)
    check_equal(cli.json("security", "group", "show", gid)["description"], "ssh and ping",
                "group description after set")
    rule = cli.json("security", "group", "rule", "create", "--protocol", "tcp",
                    "--dst-port", "22", "--remote-ip", "192.0.2.0/24", gname)
    check_equal((rule["protocol"], rule["port_range_min"], rule["port_range_max"],
                 rule["remote_ip_prefix"], rule["direction"], rule["ether_type"]),
                ("tcp", 22, 22, "192.0.2.0/24", "ingress", "IPv4"), "rule create")
    rid = rule["id"]
    icmp = cli.json("security", "group", "rule", "create", "--protocol", "icmp", gname)
    check_equal((icmp["protocol"], icmp["remote_ip_prefix"]), ("icmp", "0.0.0.0/0"),
                "icmp rule (any source)")
    rules = cli.json("security", "group", "rule", "list", gname)
    check_equal(len(rules), 4, "rule list: two egress, two ingress")
    check(rid in ids(rules) and icmp["id"] in ids(rules), "new rules missing from rule list")
    shown = cli.json("security", "group", "rule", "show", rid)
    check_equal(shown["security_group_id"], gid, "rule show security_group_id")
    cli.run("security", "group", "rule", "delete", icmp["id"])
    check(icmp["id"] not in ids(cli.json("security", "group", "rule", "list", gname)),
          "deleted rule still listed")

    # --- routers --------------------------------------------------------
    rname = unique("acc-router")
    router = cli.json("router", "create", "--external-gateway", "public", rname)
    check_equal(router["name"], rname, "router create name")
    rtid = router["id"]
    cleanup.add("router", "delete", rtid)
    gw = router["external_gateway_info"]
    check_equal(gw["network_id"], public["id"], "router gateway network")
    gw_ips = [ip["ip_address"] for ip in gw["external_fixed_ips"]]
    check(len(gw_ips) == 1 and in_cidr(gw_ips[0], public_cidr),
          "router gateway address %r not in public's %s" % (gw_ips, public_cidr))
    check(rname in names(cli.json("router", "list")), "router missing from router list")
    cli.run("router", "add", "subnet", rname, sname)
    cleanup.add("router", "remove", "subnet", rtid, subid)
    shown = cli.json("router", "show", rtid)
    check_equal([(i["subnet_id"], i["ip_address"]) for i in shown["interfaces_info"]],
                [(subid, gateway)], "router interface on the subnet's gateway")
    check_equal(shown["external_gateway_info"]["network_id"], public["id"],
                "router show gateway network")
    cli.run("router", "set", "--description", "acceptance router", "--name", rname + "-x", rtid)
    rname += "-x"
    shown = cli.json("router", "show", rtid)
    check_equal((shown["name"], shown["description"]), (rname, "acceptance router"),
                "router after set")

    # --- floating IPs ---------------------------------------------------
    fip = cli.json("floating", "ip", "create", "--description", "acceptance fip", "public")
    fid, faddr = fip["id"], fip["floating_ip_address"]
    cleanup.add("floating", "ip", "delete", fid)
    check(in_cidr(faddr, public_cidr), "floating IP %s not in %s" % (faddr, public_cidr))
    check(faddr not in gw_ips, "floating IP reuses the router's gateway address")
    check_equal(fip["floating_network_id"], public["id"], "floating IP network")
    check_equal(fip["fixed_ip_address"], None, "a new floating IP's fixed address")
    listed = cli.json("floating", "ip", "list")
    check(faddr in names(listed, "Floating IP Address"), "floating IP missing from list")
    check_equal(cli.json("floating", "ip", "show", faddr)["id"], fid, "floating ip show")
    cli.run("floating", "ip", "set", "--port", pid, faddr)
    shown = cli.json("floating", "ip", "show", fid)
    check_equal((shown["port_id"], shown["fixed_ip_address"]), (pid, paddrs[0]),
                "floating IP after set --port")
    cli.run("floating", "ip", "unset", "--port", fid)
    shown = cli.json("floating", "ip", "show", fid)
    check_equal((shown["port_id"], shown["fixed_ip_address"]), (None, None),
                "floating IP after unset --port")
    cli.run("floating", "ip", "set", "--description", "changed", fid)
    check_equal(cli.json("floating", "ip", "show", fid)["description"], "changed",
                "floating IP description after set")

    # --- servers on these networks --------------------------------------
    image = [n for n in names(cli.json("image", "list")) if n.startswith("cirros")][0]
    vm1 = unique("acc-vm-private")
    server = cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                      "--network", "private", "--wait", vm1)
    cleanup.add("server", "delete", "--wait", server["id"])
    check_equal(server["status"], "ACTIVE", "server on private after --wait")
    addrs = server_addresses(cli.json("server", "show", server["id"]))
    check_equal(list(addrs), ["private"], "server's networks")
    check(len(addrs["private"]) == 1 and in_cidr(addrs["private"][0], private_cidr),
          "address %r not in private's %s" % (addrs, private_cidr))

    vm2 = unique("acc-vm-own")
    server2 = cli.json("server", "create", "--flavor", "m1.tiny", "--image", image,
                       "--network", nname, "--wait", vm2)
    sid = server2["id"]
    cleanup.add("server", "delete", "--wait", sid)
    check_equal(server2["status"], "ACTIVE", "server on the new network after --wait")
    vm_ports = cli.json("port", "list", "--server", sid)
    check_equal(len(vm_ports), 1, "ports of the server")
    vm_port = cli.json("port", "show", vm_ports[0]["ID"])
    vm_addr = fixed_addresses(vm_port)[0]
    check(in_cidr(vm_addr, cidr), "server address %s not in %s" % (vm_addr, cidr))
    check_equal(vm_port["device_owner"], "compute:nova", "the server port's owner")

    # server add/remove floating ip
    cli.run("server", "add", "floating", "ip", vm2, faddr)
    shown = cli.json("floating", "ip", "show", fid)
    check_equal((shown["fixed_ip_address"], shown["port_id"]), (vm_addr, vm_port["id"]),
                "floating IP after server add floating ip")
    check_equal(sorted(server_addresses(cli.json("server", "show", sid))[nname]),
                sorted([vm_addr, faddr]), "server addresses with the floating IP")
    cli.run("server", "remove", "floating", "ip", vm2, faddr)
    shown = cli.json("floating", "ip", "show", fid)
    check_equal((shown["fixed_ip_address"], shown["port_id"]), (None, None),
                "floating IP after server remove floating ip")
    check_equal(server_addresses(cli.json("server", "show", sid))[nname], [vm_addr],
                "server addresses without the floating IP")

    # server add/remove security group
    check_equal(group_names(cli.json("server", "show", sid)), ["default"],
                "a new server's groups")
    cli.run("server", "add", "security", "group", vm2, gname)
    check_equal(sorted(group_names(cli.json("server", "show", sid))), sorted(["default", gname]),
                "server groups after server add security group")
    check(gid in cli.json("port", "show", vm_port["id"])["security_group_ids"],
          "the server's port lacks the added group")
    cli.run("server", "remove", "security", "group", vm2, gname)
    check_equal(group_names(cli.json("server", "show", sid)), ["default"],
                "server groups after server remove security group")

    # server add/remove port
    cli.run("server", "add", "port", vm2, pid)
    shown = cli.json("port", "show", pid)
    check_equal((shown["device_id"], shown["device_owner"]), (sid, "compute:nova"),
                "port device after server add port")
    check_equal(sorted(server_addresses(cli.json("server", "show", sid))[nname]),
                sorted([vm_addr, paddrs[0]]), "server addresses with the added port")
    check_equal(sorted(ids(cli.json("port", "list", "--server", sid))),
                sorted([vm_port["id"], pid]), "port list --server after server add port")
    cli.run("server", "remove", "port", vm2, pid)
    shown = cli.json("port", "show", pid)
    check_equal((shown["device_id"], shown["device_owner"]), ("", ""),
                "port device after server remove port")
    check_equal(server_addresses(cli.json("server", "show", sid))[nname], [vm_addr],
                "server addresses after server remove port")

    # --- everything deleted again ---------------------------------------
    for server_id in (sid, server["id"]):
        cli.run("server", "delete", "--wait", server_id)
        cleanup.done("server", "delete", "--wait", server_id)
    check(not set(ids(cli.json("server", "list"))) & {sid, server["id"]}, "servers still listed")
    check(vm_port["id"] not in ids(cli.json("port", "list")),
          "the port the compute API made is not deleted with the server")
    cli.run("floating", "ip", "delete", fid)
    cleanup.done("floating", "ip", "delete", fid)
    check(fid not in ids(cli.json("floating", "ip", "list")), "floating IP still listed")
    cli.run("router", "remove", "subnet", rtid, subid)
    cleanup.done("router", "remove", "subnet", rtid, subid)
    check_equal(cli.json("router", "show", rtid)["interfaces_info"], [],
                "router interfaces after router remove subnet")
    cli.run("router", "delete", rtid)
    cleanup.done("router", "delete", rtid)
    check(rtid not in ids(cli.json("router", "list")), "router still listed")
    cli.run("security", "group", "rule", "delete", rid)
    cli.run("security", "group", "delete", gid)
    cleanup.done("security", "group", "delete", gid)
    check(gid not in ids(cli.json("security", "group", "list")), "group still listed")
    cli.run("port", "delete", pid)
    cleanup.done("port", "delete", pid)
    check(pid not in ids(cli.json("port", "list")), "port still listed")
    cli.run("subnet", "delete", subid)
    cleanup.done("subnet", "delete", subid)
    check(subid not in ids(cli.json("subnet", "list")), "subnet still listed")
    cli.run("network", "delete", nid)
    cleanup.done("network", "delete", nid)
    check(nid not in ids(cli.json("network", "list")), "network still listed")


if __name__ == "__main__":
    main([("openstack network CLI, admin_token configuration", scenario("noauth"))])
