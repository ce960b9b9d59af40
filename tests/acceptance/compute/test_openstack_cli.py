#!/usr/bin/env python3
"""Acceptance: the unmodified `openstack` CLI against the Compute API.

Runs the same scenario twice: with the `admin_token` configuration (no
identity service) and with a clouds.yaml doing password authentication
against the built-in Identity v3 endpoint. Exits non-zero on any failure.
See acceptance_common.py for the environment variables.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acceptance_common import (Cli, check, check_equal, main, project,  # noqa: E402
                               unique, wait_for, write_clouds_yaml)


def names(rows, key="Name"):
    return [row[key] for row in rows]


def scenario(cloud):
    def run(tmp):
        cli = Cli(write_clouds_yaml(tmp), cloud)

        # Flavors: the seeded ones, then an admin's own with an extra spec.
        flavors = cli.json("flavor", "list")
        check("m1.tiny" in names(flavors), "m1.tiny missing from %r" % names(flavors))
        fname = unique("acc-flavor")
        created = cli.json("flavor", "create", "--ram", "128", "--disk", "1",
                           "--vcpus", "1", "--property", "hw:cpu_policy=shared", fname)
        check_equal(created["name"], fname, "created flavor name")
        check_equal(created["ram"], 128, "created flavor ram")
        shown = cli.json("flavor", "show", fname)
        check_equal(shown["id"], created["id"], "flavor show id")
        cli.run("flavor", "set", "--property", "quota:cpu_shares=512", fname)
        props = cli.json("flavor", "show", fname)["properties"]
        check_equal(props.get("quota:cpu_shares"), "512", "flavor property after set")
        check_equal(props.get("hw:cpu_policy"), "shared", "flavor property from create")
        cli.run("flavor", "unset", "--property", "quota:cpu_shares", fname)
        props = cli.json("flavor", "show", fname)["properties"]
        check("quota:cpu_shares" not in props, "property still there after unset: %r" % props)
        listed = cli.json("flavor", "list", "--all")
        check(fname in names(listed), "new flavor missing from flavor list --all")
        cli.run("flavor", "delete", fname)
        cli.run("flavor", "show", fname, expect_ok=False)

        # Keypairs: OSC generates the key locally and imports the public half.
        kname = unique("acc-kp")
        key_file = os.path.join(tmp, kname)
        kp = cli.json("keypair", "create", "--private-key", key_file, kname)
        check_equal(kp["name"], kname, "keypair name")
        check(os.path.getsize(key_file) > 0, "no private key written")
        check(kname in names(cli.json("keypair", "list")), "keypair missing from list")
        shown = cli.json("keypair", "show", kname)
        check_equal(shown["fingerprint"], kp["fingerprint"], "keypair fingerprint")
        cli.run("keypair", "delete", kname)
        check(kname not in names(cli.json("keypair", "list")), "keypair still listed")

        # Limits, quotas, availability zones, images.
        limits = cli.json("limits", "show", "--absolute")
        by_name = {row["Name"]: row["Value"] for row in limits}
        # OSC shows nova's names or, through the SDK, snake_case ones.
        check(by_name.get("maxTotalInstances", by_name.get("max_total_instances")) == 10,
              "limits lack maxTotalInstances: %r" % by_name)
        check(by_name.get("totalInstancesUsed", by_name.get("total_instances_used")) is not None,
              "limits lack totalInstancesUsed: %r" % by_name)
        quota = cli.json("quota", "show", "--compute", project())
        rows = {row["Resource"]: row["Limit"] for row in quota} if isinstance(quota, list) \
            else quota
        check("instances" in rows and "cores" in rows, "quota show lacks instances/cores: %r" % rows)
        zones = cli.json("availability", "zone", "list", "--compute")
        check("nova" in [z["Zone Name"] for z in zones], "zone nova missing: %r" % zones)
        images = cli.json("image", "list")
        cirros = [n for n in names(images) if n.startswith("cirros")]
        check(cirros, "no cirros image in image list: %r" % images)
        image_name = cirros[0]

        # Servers: create and wait, list, show, set, stop/start/reboot, delete.
        sname = unique("acc-vm")
        server = cli.json("server", "create", "--flavor", "m1.tiny", "--image", image_name,
                          "--nic", "none", "--wait", sname)
        check_equal(server["status"], "ACTIVE", "server status after --wait")
        sid = server["id"]
        check(sname in names(cli.json("server", "list")), "server missing from list")
        shown = cli.json("server", "show", sname)
        check_equal(shown["id"], sid, "server show id")
        new_name = sname + "-renamed"
        cli.run("server", "set", "--name", new_name, "--property", "role=acceptance", sid)
        shown = cli.json("server", "show", sid)
        check_equal(shown["name"], new_name, "server name after set")
        check("role" in str(shown.get("properties")), "property missing: %r" % shown)

        def status_is(wanted):
            return lambda: cli.json("server", "show", sid)["status"] == wanted

        cli.run("server", "stop", sid)
        wait_for("SHUTOFF", status_is("SHUTOFF"))
        cli.run("server", "start", sid)
        wait_for("ACTIVE after start", status_is("ACTIVE"))
        cli.run("server", "reboot", "--wait", sid)
        wait_for("ACTIVE after reboot", status_is("ACTIVE"))
        cli.run("server", "delete", "--wait", sid)
        check(sid not in names(cli.json("server", "list"), "ID"), "server still listed")

    return run


if __name__ == "__main__":
    main([
        ("openstack CLI, admin_token configuration", scenario("noauth")),
        ("openstack CLI, password auth against the built-in identity", scenario("password")),
    ])
