#!/usr/bin/env python3
"""Inserts ACTIVE instances into nova 34's cell1 with nova's own objects, for
the side-by-side benchmark's listings and metadata (nova has no conductor,
scheduler or compute service here, so a POST never gets past BUILD).

Run with nova's venv Python: seed_instances.py CONFIG_DIR SPEC_JSON
SPEC_JSON: {"flavor": "1", "image": ID, "user_data": BASE64,
            "instances": [{"uuid", "project", "user", "name", "ip"}, ...]}
Each instance gets one port on one network with its fixed IP in its
network info cache, the metadata {"role": "bench"}, an InstanceMapping to
cell1. Prints the number of instances created and the seconds it took.
"""
import json
import os
import sys
import time

from oslo_utils import timeutils

from nova import config
from nova import context as nova_context
from nova import objects
from nova.network import model as network_model

NETWORK = "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def network_info(uuid, ip):
    subnet = network_model.Subnet(
        cidr="10.0.0.0/16", gateway=network_model.IP(address="10.0.0.1", type="gateway"),
        ips=[network_model.FixedIP(address=ip)], dns=[], routes=[])
    network = network_model.Network(id=NETWORK, bridge="br-int", label="private",
                                    subnets=[subnet], meta={"injected": False})
    vif = network_model.VIF(id=uuid, address="fa:16:3e:00:00:01", network=network,
                            type="ovs", devname="tap" + uuid[:11], active=True)
    return network_model.NetworkInfo([vif])


def main():
    config_dir, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    config.parse_args(["seed_instances", "--config-file", os.path.join(config_dir, "nova.conf")])
    objects.register_all()
    ctxt = nova_context.get_admin_context()
    cell = next(c for c in objects.CellMappingList.get_all(ctxt) if c.name == "cell1")
    flavor = objects.Flavor.get_by_flavor_id(ctxt, spec["flavor"])
    started = time.monotonic()
    now = timeutils.utcnow()
    with nova_context.target_cell(ctxt, cell) as cctxt:
        for i in spec["instances"]:
            inst = objects.Instance(
                context=cctxt, uuid=i["uuid"], project_id=i["project"], user_id=i["user"],
                display_name=i["name"], hostname=i["name"], vm_state="active", power_state=1,
                task_state=None, image_ref=spec["image"], flavor=flavor,
                instance_type_id=flavor.id, memory_mb=flavor.memory_mb, vcpus=flavor.vcpus,
                root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb, host="bench-host",
                launched_on="bench-host", launched_at=now, availability_zone="nova",
                user_data=spec["user_data"], metadata={"role": "bench"}, system_metadata={},
                config_drive="", key_name=None, root_device_name="/dev/vda",
                reservation_id="r-bench", launch_index=0,
                info_cache=objects.InstanceInfoCache(network_info=network_info(i["uuid"], i["ip"])),
                keypairs=objects.KeyPairList(objects=[]),
                security_groups=objects.SecurityGroupList(objects=[]))
            inst.create()
            objects.InstanceMapping(
                ctxt, instance_uuid=i["uuid"], cell_mapping=cell, project_id=i["project"],
                user_id=i["user"], queued_for_delete=False).create()
    print(json.dumps({"created": len(spec["instances"]),
                      "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
