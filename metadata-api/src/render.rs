//! Rendering of an instance snapshot: the EC2-style tree with nova's
//! listing rules, `meta_data.json` with the fields of each OpenStack version,
//! the OpenStack version directory and `network_data.json`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Map, Value};

use crate::instance::{InstanceView, SubnetView};
use crate::versions::{Ec2Version, OsVersion};

/// A node of the EC2-style tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory. `label` is what the parent's listing shows for it in
    /// place of `<key>/` (nova's `_name`, used for `public-keys/0`).
    Dir {
        /// The listing label override.
        label: Option<String>,
        /// The entries, sorted by key as nova sorts them.
        entries: BTreeMap<String, Node>,
    },
    /// A text leaf.
    Text(String),
    /// A list leaf, printed one item a line.
    List(Vec<String>),
    /// Raw bytes (user data).
    Bytes(Vec<u8>),
}

impl Node {
    fn dir(entries: BTreeMap<String, Node>) -> Node {
        Node::Dir {
            label: None,
            entries,
        }
    }

    /// The body nova prints for this node (`ec2_md_print`): a directory
    /// lists its keys, sub-directories with a trailing `/`.
    pub fn print(&self) -> Vec<u8> {
        match self {
            Node::Dir { entries, .. } => entries
                .iter()
                .map(|(key, child)| match child {
                    Node::Dir {
                        label: Some(label), ..
                    } => label.clone(),
                    Node::Dir { label: None, .. } => format!("{key}/"),
                    _ => key.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            Node::Text(t) => t.clone().into_bytes(),
            Node::List(items) => items.join("\n").into_bytes(),
            Node::Bytes(b) => b.clone(),
        }
    }

    /// Follows `path` down the tree. Paths that run into a leaf miss: nova
    /// fails those with a 500; a miss (404) is the sane answer.
    pub fn find(&self, path: &[String]) -> Option<&Node> {
        let mut node = self;
        for segment in path {
            match node {
                Node::Dir { entries, .. } => node = entries.get(segment)?,
                _ => return None,
            }
        }
        Some(node)
    }
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(s.into())
}

/// The hostname guests see: `<hostname>.<dhcp_domain>`, or the bare
/// hostname when the domain is empty.
pub fn full_hostname(instance: &InstanceView, dhcp_domain: &str) -> String {
    if dhcp_domain.is_empty() {
        instance.hostname.clone()
    } else {
        format!("{}.{}", instance.hostname, dhcp_domain)
    }
}

/// The EC2-style tree of one version: `meta-data/` and, when the instance
/// has user data, `user-data`.
pub fn ec2_tree(
    instance: &InstanceView,
    version: Ec2Version,
    dhcp_domain: &str,
    caller_address: Option<&str>,
) -> Node {
    let hostname = full_hostname(instance, dhcp_domain);
    let mut md = BTreeMap::new();
    md.insert("ami-id".to_owned(), text(&instance.ec2_ami_id));
    md.insert(
        "ami-launch-index".to_owned(),
        text(instance.launch_index.to_string()),
    );
    md.insert("ami-manifest-path".to_owned(), text("FIXME"));
    md.insert("instance-id".to_owned(), text(&instance.ec2_instance_id));
    md.insert("hostname".to_owned(), text(&hostname));
    let local_ipv4 = instance
        .fixed_ips
        .iter()
        .find(|ip| !ip.contains(':'))
        .cloned()
        .or_else(|| caller_address.map(str::to_owned))
        .unwrap_or_default();
    md.insert("local-ipv4".to_owned(), text(local_ipv4));
    md.insert("reservation-id".to_owned(), text(&instance.reservation_id));
    md.insert(
        "security-groups".to_owned(),
        Node::List(instance.security_groups.clone()),
    );
    if let Some(key_name) = &instance.key_name {
        let mut key0 = BTreeMap::new();
        key0.insert(
            "openssh-key".to_owned(),
            text(instance.key_data.clone().unwrap_or_default()),
        );
        let mut keys = BTreeMap::new();
        keys.insert(
            "0".to_owned(),
            Node::Dir {
                label: Some(format!("0={key_name}")),
                entries: key0,
            },
        );
        md.insert("public-keys".to_owned(), Node::dir(keys));
    }
    if version >= Ec2Version::V2007_01_19 {
        md.insert("local-hostname".to_owned(), text(&hostname));
        md.insert("public-hostname".to_owned(), text(&hostname));
        md.insert(
            "public-ipv4".to_owned(),
            text(instance.floating_ips.first().cloned().unwrap_or_default()),
        );
    }
    if version >= Ec2Version::V2007_08_29 {
        md.insert("instance-type".to_owned(), text(&instance.flavor_name));
    }
    if version >= Ec2Version::V2007_12_15 {
        md.insert(
            "block-device-mapping".to_owned(),
            Node::dir(
                instance
                    .block_device_mapping
                    .iter()
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect(),
            ),
        );
        if let Some(kernel) = &instance.ec2_kernel_id {
            md.insert("kernel-id".to_owned(), text(kernel));
        }
        if let Some(ramdisk) = &instance.ec2_ramdisk_id {
            md.insert("ramdisk-id".to_owned(), text(ramdisk));
        }
    }
    if version >= Ec2Version::V2008_02_01 {
        let mut placement = BTreeMap::new();
        placement.insert(
            "availability-zone".to_owned(),
            text(instance.availability_zone.clone().unwrap_or_default()),
        );
        md.insert("placement".to_owned(), Node::dir(placement));
    }
    if version >= Ec2Version::V2008_09_01 {
        md.insert("instance-action".to_owned(), text("none"));
    }
    let mut top = BTreeMap::new();
    top.insert("meta-data".to_owned(), Node::dir(md));
    if let Some(ud) = &instance.user_data {
        top.insert("user-data".to_owned(), Node::Bytes(ud.clone()));
    }
    Node::dir(top)
}

/// The files of an OpenStack version directory, in nova's order.
pub fn openstack_listing(instance: &InstanceView, version: OsVersion) -> Vec<&'static str> {
    let mut out = vec!["meta_data.json"];
    if instance.user_data.is_some() {
        out.push("user_data");
    }
    if version >= OsVersion::GRIZZLY {
        out.push("password");
    }
    if version >= OsVersion::HAVANA {
        out.push("vendor_data.json");
    }
    if version >= OsVersion::LIBERTY {
        out.push("network_data.json");
    }
    if version >= OsVersion::NEWTON_TWO {
        out.push("vendor_data2.json");
    }
    out
}

/// The key under `openstack/content/` of the instance's `index`th
/// personality file (nova's `%04i`).
pub fn content_key(index: usize) -> String {
    format!("{index:04}")
}

/// The contents of the personality file stored under `key`, if any.
pub fn content<'a>(instance: &'a InstanceView, key: &str) -> Option<&'a [u8]> {
    instance
        .files
        .iter()
        .enumerate()
        .find(|(index, _)| content_key(*index) == key)
        .map(|(_, file)| file.contents.as_slice())
}

/// `meta_data.json` of a version. `random_seed` is fresh on every call, as
/// nova makes it (512 random bytes, base64).
pub fn meta_data_json(instance: &InstanceView, version: OsVersion, dhcp_domain: &str) -> Value {
    let mut md = Map::new();
    md.insert("uuid".into(), json!(instance.uuid));
    if !instance.metadata.is_empty() {
        md.insert("meta".into(), json!(instance.metadata));
    }
    if !instance.files.is_empty() {
        let files: Vec<Value> = instance
            .files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                json!({ "path": file.path, "content_path": format!("/content/{}", content_key(index)) })
            })
            .collect();
        md.insert("files".into(), Value::Array(files));
    }
    if instance.key_name.is_some() {
        if let Some(kp) = &instance.keypair {
            md.insert(
                "public_keys".into(),
                json!({ kp.name.clone(): kp.public_key }),
            );
            md.insert(
                "keys".into(),
                json!([{ "name": kp.name, "type": kp.kind, "data": kp.public_key }]),
            );
        }
    }
    md.insert(
        "hostname".into(),
        json!(full_hostname(instance, dhcp_domain)),
    );
    md.insert("name".into(), json!(instance.name));
    md.insert("launch_index".into(), json!(instance.launch_index));
    md.insert(
        "availability_zone".into(),
        json!(instance.availability_zone),
    );
    if version >= OsVersion::GRIZZLY {
        let mut seed = vec![0u8; 512];
        rand::thread_rng().fill_bytes(&mut seed);
        md.insert("random_seed".into(), json!(STANDARD.encode(seed)));
    }
    if version >= OsVersion::LIBERTY {
        md.insert("project_id".into(), json!(instance.project_id));
    }
    if version >= OsVersion::NEWTON_ONE {
        // No device tags are recorded for our instances: nova lists none then.
        md.insert("devices".into(), json!([]));
    }
    if version >= OsVersion::VICTORIA {
        // No dedicated (pinned) CPUs in the simulated driver.
        md.insert("dedicated_cpus".into(), json!([]));
    }
    Value::Object(md)
}

/// `network_data.json`: links, networks and DNS services built the way
/// nova's `get_network_metadata` builds them; `{}` without interfaces.
pub fn network_data_json(instance: &InstanceView) -> Value {
    let mut links = Vec::new();
    let mut networks = Vec::new();
    let mut services: Vec<Value> = Vec::new();
    let mut net_num = 0usize;
    for (ifc_num, vif) in instance
        .vifs
        .iter()
        .filter(|v| v.ipv4.is_some() || v.ipv6.is_some())
        .enumerate()
    {
        let link_id = vif
            .devname
            .clone()
            .unwrap_or_else(|| format!("interface{ifc_num}"));
        let any_dhcp = vif.ipv4.iter().chain(vif.ipv6.iter()).any(|s| s.dhcp);
        links.push(json!({
            "id": link_id,
            "vif_id": vif.id,
            "type": "phy",
            "mtu": if any_dhcp { None } else { vif.mtu },
            "ethernet_mac_address": vif.mac,
        }));
        for (version, subnet) in [(4u8, &vif.ipv4), (6u8, &vif.ipv6)] {
            let Some(subnet) = subnet else { continue };
            networks.push(network_entry(
                version,
                subnet,
                net_num,
                &link_id,
                &vif.network_id,
            ));
            net_num += 1;
            for dns in dns_services(subnet) {
                if !services.contains(&dns) {
                    services.push(dns);
                }
            }
        }
    }
    if links.is_empty() {
        return json!({});
    }
    json!({ "links": links, "networks": networks, "services": services })
}

fn dns_services(subnet: &SubnetView) -> Vec<Value> {
    subnet
        .dns
        .iter()
        .map(|a| json!({ "type": "dns", "address": a }))
        .collect()
}

fn network_entry(
    version: u8,
    subnet: &SubnetView,
    net_num: usize,
    link_id: &str,
    network_id: &str,
) -> Value {
    if subnet.dhcp {
        return json!({
            "id": format!("network{net_num}"),
            "type": format!("ipv{version}_dhcp"),
            "link": link_id,
            "network_id": network_id,
        });
    }
    let routes = match &subnet.gateway {
        Some(gw) if version == 4 => {
            vec![json!({ "network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": gw })]
        }
        Some(gw) => vec![json!({ "network": "::", "netmask": "::", "gateway": gw })],
        None => Vec::new(),
    };
    json!({
        "id": format!("network{net_num}"),
        "type": format!("ipv{version}"),
        "link": link_id,
        "ip_address": subnet.address.to_string(),
        "netmask": subnet.netmask,
        "routes": routes,
        "network_id": network_id,
        "services": dns_services(subnet),
    })
}
