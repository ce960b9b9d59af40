#!/usr/bin/env python3
"""Acceptance: python-novaclient's Python API at its negotiated microversion.

novaclient negotiates the highest version both sides know (2.96 for
novaclient 18); at that version keypairs must be imported (2.92), the image
proxy is gone (2.36) and servers are deleted with 204. Runs once with the
admin_token plugin and once with password auth against the built-in
Identity v3 endpoint. Exits non-zero on any failure; see
acceptance_common.py for the environment variables.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keystoneauth1 import session as ks_session  # noqa: E402
from keystoneauth1.loading import get_plugin_loader  # noqa: E402
from novaclient import api_versions, client, exceptions as nova_exc  # noqa: E402

from acceptance_common import (admin_token, check, check_equal, compute_url,  # noqa: E402
                               identity_url, main, password, unique, wait_for)

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCh8GJzaFw5kbbgYOk8q1xyYFAGl/"
              "ZDEgZ7nXcuD6Z5 acceptance")


def session_for(mode):
    if mode == "noauth":
        auth = get_plugin_loader("admin_token").load_from_options(
            endpoint=compute_url(), token=admin_token())
    else:
        user, _, project = admin_token().partition(":")
        auth = get_plugin_loader("password").load_from_options(
            auth_url=identity_url(), username=user, password=password(),
            project_name=project or user, user_domain_name="Default",
            project_domain_name="Default")
    return ks_session.Session(auth=auth)


def negotiated_client(sess):
    probe = client.Client("2.1", session=sess)
    version = api_versions.discover_version(probe, api_versions.APIVersion("2.latest"))
    return client.Client(version, session=sess)


def image_id(nc, sess, mode):
    """The id of the seeded cirros image, found as the real clients find it."""
    if mode == "noauth":
        # No catalogue: the only image API is compute's own proxy at 2.1.
        resp = sess.get(compute_url() + "/images",
                        headers={"X-OpenStack-Nova-API-Version": "2.1"})
        images = [i for i in resp.json()["images"] if i["name"].startswith("cirros")]
        check(images, "image proxy lists no cirros image: %r" % resp.json())
        return images[0]["id"]
    names = [i.name for i in nc.glance.list() if i.name.startswith("cirros")]
    check(names, "no cirros image in the image service")
    return nc.glance.find_image(names[0]).id


def scenario(mode):
    def run(_tmp):
        sess = session_for(mode)
        nc = negotiated_client(sess)
        check(nc.api_version >= api_versions.APIVersion("2.92"),
              "negotiated only %s" % nc.api_version.get_string())
        print("  negotiated %s" % nc.api_version.get_string())

        # Flavors and extra specs.
        check("m1.tiny" in [f.name for f in nc.flavors.list()], "m1.tiny not listed")
        fname = unique("nc-flavor")
        flavor = nc.flavors.create(fname, 128, 1, 1, description="acceptance")
        check_equal(flavor.description, "acceptance", "flavor description (2.55)")
        flavor.set_keys({"hw:cpu_policy": "shared"})
        check_equal(nc.flavors.get(flavor.id).get_keys(), {"hw:cpu_policy": "shared"},
                    "extra specs")
        flavor.unset_keys(["hw:cpu_policy"])
        check_equal(nc.flavors.get(flavor.id).get_keys(), {}, "extra specs after unset")
        nc.flavors.delete(flavor.id)
        try:
            nc.flavors.get(flavor.id)
            raise AssertionError("deleted flavor still shown")
        except nova_exc.NotFound:
            pass

        # Keypairs: from 2.92 a public key is required.
        kname = unique("nc-kp")
        kp = nc.keypairs.create(kname, public_key=PUBLIC_KEY)
        check_equal(kp.type, "ssh", "keypair type")
        check(kname in [k.name for k in nc.keypairs.list()], "keypair not listed")
        # novaclient itself refuses to ask for generation at 2.92; the raw
        # call shows the server refuses it too.
        try:
            nc.client.post("/os-keypairs", body={"keypair": {"name": unique("nc-kp")}})
            raise AssertionError("key generation accepted at %s" % nc.api_version.get_string())
        except nova_exc.BadRequest as err:
            check("public_key" in str(err), "unexpected refusal: %s" % err)
        nc.keypairs.delete(kname)
        check(kname not in [k.name for k in nc.keypairs.list()], "keypair still listed")

        # Limits, quotas, availability zones.
        absolute = {item.name: item.value for item in nc.limits.get().absolute}
        check("maxTotalInstances" in absolute, "limits lack maxTotalInstances")
        check("maxPersonality" not in absolute, "personality limits shown after 2.57")
        project = admin_token().partition(":")[2] or "admin"
        quotas = nc.quotas.get(project)
        check(quotas.instances > 0, "quota instances: %r" % quotas.instances)
        check("nova" in [z.zoneName for z in nc.availability_zones.list(detailed=False)],
              "zone nova missing")

        # Servers.
        sname = unique("nc-vm")
        server = nc.servers.create(sname, image=image_id(nc, sess, mode), flavor="1",
                                   nics="none")

        def status_is(wanted):
            def probe():
                status = nc.servers.get(server.id).status
                check(status != "ERROR", "server went to ERROR")
                return status == wanted
            return probe

        wait_for("ACTIVE", status_is("ACTIVE"))
        check(server.id in [s.id for s in nc.servers.list()], "server not listed")
        nc.servers.update(server.id, name=sname + "-renamed")
        check_equal(nc.servers.get(server.id).name, sname + "-renamed", "name after update")
        nc.servers.set_meta(server.id, {"role": "acceptance"})
        check_equal(nc.servers.get(server.id).metadata, {"role": "acceptance"}, "metadata")
        nc.servers.stop(server.id)
        wait_for("SHUTOFF", status_is("SHUTOFF"))
        nc.servers.start(server.id)
        wait_for("ACTIVE after start", status_is("ACTIVE"))
        nc.servers.reboot(server.id)
        wait_for("ACTIVE after reboot", status_is("ACTIVE"))
        nc.servers.delete(server.id)

        def gone():
            try:
                nc.servers.get(server.id)
                return False
            except nova_exc.NotFound:
                return True

        wait_for("server deleted", gone)

    return run


if __name__ == "__main__":
    main([
        ("novaclient, admin_token plugin", scenario("noauth")),
        ("novaclient, password auth against the built-in identity", scenario("password")),
    ])
