#!/usr/bin/env python3
"""Acceptance: openstacksdk against the Compute API, unmodified.

Connects twice (admin_token straight at compute, and password auth through
the built-in Identity v3 endpoint) and drives flavors, extra specs,
keypairs, limits, quotas, availability zones, images and the server
lifecycle. Exits non-zero on any failure; see acceptance_common.py for the
environment variables.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import openstack  # noqa: E402
from openstack import exceptions as sdk_exc  # noqa: E402

from acceptance_common import (check, check_equal, main, unique, wait_for,  # noqa: E402
                               write_clouds_yaml)


def connect(tmp, cloud):
    os.environ["OS_CLIENT_CONFIG_FILE"] = write_clouds_yaml(tmp)
    return openstack.connect(cloud=cloud)


def scenario(cloud):
    def run(tmp):
        conn = connect(tmp, cloud)
        compute = conn.compute

        # Flavors and extra specs.
        names = [f.name for f in compute.flavors()]
        check("m1.tiny" in names, "m1.tiny missing: %r" % names)
        fname = unique("sdk-flavor")
        flavor = compute.create_flavor(name=fname, ram=256, vcpus=1, disk=1)
        check_equal(flavor.name, fname, "created flavor name")
        compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "shared"})
        specs = compute.fetch_flavor_extra_specs(flavor).extra_specs
        check_equal(specs, {"hw:cpu_policy": "shared"}, "extra specs")
        compute.update_flavor_extra_specs_property(flavor, "hw:cpu_policy", "dedicated")
        check_equal(compute.get_flavor_extra_specs_property(flavor, "hw:cpu_policy"),
                    "dedicated", "extra spec after update")
        compute.delete_flavor_extra_specs_property(flavor, "hw:cpu_policy")
        check_equal(compute.fetch_flavor_extra_specs(flavor).extra_specs, {},
                    "extra specs after delete")
        shown = compute.get_flavor(flavor.id)
        check_equal(shown.ram, 256, "flavor ram")
        compute.delete_flavor(flavor)
        try:
            compute.get_flavor(flavor.id)
            raise AssertionError("deleted flavor still shown")
        except sdk_exc.NotFoundException:
            pass

        # Keypairs (the SDK's keypair max microversion is 2.10: import a key).
        kname = unique("sdk-kp")
        public = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCh8GJzaFw5kbbgYOk8q1xyY"
                  "FAGl/ZDEgZ7nXcuD6Z5 acceptance")
        kp = compute.create_keypair(name=kname, public_key=public)
        check_equal(kp.name, kname, "keypair name")
        check(kp.fingerprint, "keypair has no fingerprint")
        check(kname in [k.name for k in compute.keypairs()], "keypair not listed")
        check_equal(compute.get_keypair(kname).public_key, public, "keypair public key")
        compute.delete_keypair(kname)
        check(kname not in [k.name for k in compute.keypairs()], "keypair still listed")

        # Limits, quotas, availability zones, images.
        limits = compute.get_limits()
        check(limits.absolute.instances is not None, "limits lack maxTotalInstances")
        check(limits.absolute.instances_used is not None, "limits lack totalInstancesUsed")
        project_id = conn.current_project_id or "admin"
        quota = compute.get_quota_set(project_id)
        check(quota.instances is not None and quota.cores is not None,
              "quota set lacks instances/cores")
        zones = [z.name for z in compute.availability_zones()]
        check("nova" in zones, "zone nova missing: %r" % zones)
        cirros = [i.name for i in conn.image.images() if (i.name or "").startswith("cirros")]
        check(cirros, "no cirros image listed")
        image = conn.image.find_image(cirros[0])
        check(image is not None, "image %s not found by name" % cirros[0])

        # Servers.
        sname = unique("sdk-vm")
        flavor = compute.find_flavor("m1.tiny")
        server = compute.create_server(name=sname, flavor_id=flavor.id,
                                       image_id=image.id, networks="none")
        server = compute.wait_for_server(server, status="ACTIVE", wait=120)
        check(sname in [s.name for s in compute.servers()], "server not listed")
        check_equal(compute.get_server(server.id).name, sname, "server show name")
        compute.update_server(server, name=sname + "-renamed")
        compute.set_server_metadata(server, role="acceptance")
        check_equal(compute.get_server_metadata(server).metadata.get("role"),
                    "acceptance", "server metadata")
        compute.stop_server(server)
        compute.wait_for_server(server, status="SHUTOFF", wait=120)
        compute.start_server(server)
        compute.wait_for_server(server, status="ACTIVE", wait=120)
        compute.reboot_server(server, "SOFT")
        compute.wait_for_server(server, status="ACTIVE", wait=120)
        compute.delete_server(server)
        compute.wait_for_delete(server, wait=120)
        wait_for("server gone from list",
                 lambda: server.id not in [s.id for s in compute.servers()])

    return run


if __name__ == "__main__":
    main([
        ("openstacksdk, admin_token configuration", scenario("noauth")),
        ("openstacksdk, password auth against the built-in identity", scenario("password")),
    ])
