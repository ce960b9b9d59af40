//! How a server looks on the wire, per microversion (nova's
//! `views/servers.py`): the `basic` entry of a list, the full `show` entry
//! of show/detail, and the reduced forms update and rebuild return.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha224};

use crate::links::RequestUrls;
use crate::microversion::ApiVersion;

/// nova's `utils.isotime`: `2013-09-03T04:01:32Z`.
pub fn isotime(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A naive datetime as Python's `isoformat()` prints it (microseconds
/// only when non-zero), as nova's JSON shows `launched_at` and action times.
pub fn naive_iso(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// nova's `hostId`: sha224 of project id + host, or "" without a host.
pub fn host_id(project_id: &str, host: Option<&str>) -> String {
    match host {
        Some(host) if !host.is_empty() => {
            let digest = Sha224::digest(format!("{project_id}{host}").as_bytes());
            hex_lower(&digest)
        }
        _ => String::new(),
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `addresses` value: by network name, each fixed address of the
/// server's ports followed by the floating addresses of that port, as
/// nova's network info lists them; nothing while it is building.
pub fn addresses(instance: &compute::Instance, extended: bool) -> Value {
    let mut out = Map::new();
    if instance.vm_state == compute::VmState::Building {
        return Value::Object(out);
    }
    for vif in &instance.vifs {
        let entry = |addr: String, version: u8, kind: &str| {
            let mut entry = json!({"version": version, "addr": addr});
            if extended {
                entry["OS-EXT-IPS:type"] = json!(kind);
                entry["OS-EXT-IPS-MAC:mac_addr"] = json!(vif.mac_address);
            }
            entry
        };
        let list = out
            .entry(vif.network_name.clone())
            .or_insert_with(|| json!([]));
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        for ip in &vif.fixed_ips {
            let version = if ip.address.is_ipv4() { 4 } else { 6 };
            list.push(entry(ip.address.to_string(), version, "fixed"));
        }
        for ip in &vif.floating_ips {
            list.push(entry(ip.to_string(), 4, "floating"));
        }
    }
    Value::Object(out)
}

/// The `security_groups` value: the names of the groups of the server's
/// ports, each once; `None` (the key left out) when it has none.
pub fn security_groups(instance: &compute::Instance) -> Option<Value> {
    let mut names: Vec<&str> = Vec::new();
    for g in instance.security_groups() {
        if !names.contains(&g.name.as_str()) {
            names.push(&g.name);
        }
    }
    (!names.is_empty())
        .then(|| Value::Array(names.into_iter().map(|n| json!({ "name": n })).collect()))
}

/// Which optional parts a view shows (nova's `show()` keyword arguments).
#[derive(Clone, Copy, Debug)]
pub struct ShowOpts {
    /// Extended addresses (`OS-EXT-IPS*`).
    pub extend_address: bool,
    /// `OS-EXT-AZ:availability_zone` (and 2.96's pinned zone).
    pub az: bool,
    /// `config_drive`.
    pub config_drive: bool,
    /// `OS-EXT-SRV-ATTR:*` (admins).
    pub extended_attr: bool,
    /// `host_status` (2.16, admins).
    pub host_status: bool,
    /// `key_name`.
    pub keypair: bool,
    /// `OS-SRV-USG:*`.
    pub srv_usg: bool,
    /// `security_groups`.
    pub sec_grp: bool,
    /// `OS-EXT-STS:*`.
    pub extended_status: bool,
    /// `os-extended-volumes:volumes_attached`.
    pub extended_volumes: bool,
    /// `server_groups` (2.71, show/update/rebuild only).
    pub server_groups: bool,
    /// `OS-EXT-SRV-ATTR:user_data` with the other extended attributes.
    pub user_data: bool,
}

impl ShowOpts {
    /// `GET /servers/{id}` and the entries of `GET /servers/detail`.
    pub fn full(is_admin: bool, version: ApiVersion, single: bool) -> Self {
        ShowOpts {
            extend_address: true,
            az: true,
            config_drive: true,
            extended_attr: is_admin,
            host_status: is_admin,
            keypair: true,
            srv_usg: true,
            sec_grp: true,
            extended_status: true,
            extended_volumes: true,
            server_groups: single && version.at_least(2, 71),
            user_data: true,
        }
    }

    /// The view `PUT /servers/{id}` answers: everything from 2.75, the
    /// reduced set before.
    pub fn for_update(is_admin: bool, version: ApiVersion) -> Self {
        if version.at_least(2, 75) {
            ShowOpts::full(is_admin, version, true)
        } else {
            ShowOpts::reduced(version)
        }
    }

    /// The view the `rebuild` action answers: as update, with `key_name`
    /// from 2.54 and never the user data.
    pub fn for_rebuild(is_admin: bool, version: ApiVersion) -> Self {
        ShowOpts {
            keypair: version.at_least(2, 54),
            user_data: false,
            ..ShowOpts::for_update(is_admin, version)
        }
    }

    /// The reduced view of update and rebuild before 2.75.
    pub fn reduced(version: ApiVersion) -> Self {
        ShowOpts {
            extend_address: false,
            az: false,
            config_drive: false,
            extended_attr: false,
            host_status: false,
            keypair: false,
            srv_usg: false,
            sec_grp: false,
            extended_status: false,
            extended_volumes: false,
            server_groups: version.at_least(2, 71),
            user_data: false,
        }
    }
}

/// The entry of `GET /servers`: id, name, links.
pub fn basic(urls: &RequestUrls, instance: &compute::Instance) -> Value {
    json!({
        "id": instance.uuid,
        "name": instance.name,
        "links": urls.links("servers", &instance.uuid),
    })
}

/// The image value: `{id, links}` (2.98: plus `properties`), or "".
pub fn image(
    urls: &RequestUrls,
    instance: &compute::Instance,
    version: ApiVersion,
    properties: Option<&Value>,
) -> Value {
    if instance.image_ref.is_empty() {
        return json!("");
    }
    let id = instance
        .image_ref
        .rsplit('/')
        .next()
        .unwrap_or(&instance.image_ref);
    let mut base = remove_version(urls);
    if let Some(prefix) = urls.glance_link_prefix.as_deref() {
        base = crate::links::update_link_prefix(&base, Some(prefix));
    }
    let href =
        crate::links::url_join(&[&base, urls.project.as_deref().unwrap_or(""), "images", id]);
    let mut value = json!({"id": id, "links": [{"rel": "bookmark", "href": href}]});
    if version.at_least(2, 98) {
        value["properties"] = properties.cloned().unwrap_or_else(|| json!({}));
    }
    value
}

fn remove_version(urls: &RequestUrls) -> String {
    crate::links::remove_trailing_version(&urls.raw_application_url)
}

/// The flavor value: a bookmark link before 2.47, the embedded flavor after.
pub fn flavor(
    urls: &RequestUrls,
    flavor: &compute::FlavorSnapshot,
    version: ApiVersion,
    extra_specs: bool,
) -> Value {
    if version.at_least(2, 47) {
        let mut value = json!({
            "vcpus": flavor.vcpus,
            "ram": flavor.ram,
            "disk": flavor.disk,
            "ephemeral": flavor.ephemeral,
            "swap": flavor.swap,
            "original_name": flavor.name,
        });
        if extra_specs {
            value["extra_specs"] = json!(flavor.extra_specs);
        }
        value
    } else {
        json!({
            "id": flavor.id,
            "links": [{"rel": "bookmark", "href": urls.bookmark("flavors", &flavor.id)}],
        })
    }
}

/// The full view of one server (nova's `show`).
pub fn show(
    urls: &RequestUrls,
    ctx: &compute::RequestContext,
    version: ApiVersion,
    instance: &compute::Instance,
    opts: ShowOpts,
    image_properties: Option<&Value>,
) -> Value {
    let status = if instance.deleted {
        "DELETED"
    } else {
        instance.status()
    };
    let mut s = Map::new();
    let mut put = |k: &str, v: Value| {
        s.insert(k.to_string(), v);
    };
    put(
        "accessIPv4",
        json!(instance.access_ip_v4.clone().unwrap_or_default()),
    );
    put(
        "accessIPv6",
        json!(instance.access_ip_v6.clone().unwrap_or_default()),
    );
    put("addresses", addresses(instance, opts.extend_address));
    put("created", json!(isotime(&instance.created_at)));
    put("flavor", flavor(urls, &instance.flavor, version, true));
    put(
        "hostId",
        json!(host_id(&instance.project_id, instance.host.as_deref())),
    );
    put("id", json!(instance.uuid));
    put("image", image(urls, instance, version, image_properties));
    put("links", urls.links("servers", &instance.uuid));
    put("metadata", json!(instance.metadata));
    put("name", json!(instance.name));
    put("status", json!(status));
    put("tenant_id", json!(instance.project_id));
    put("user_id", json!(instance.user_id));
    put(
        "updated",
        json!(isotime(
            instance.updated_at.as_ref().unwrap_or(&instance.created_at)
        )),
    );
    put(
        "OS-DCF:diskConfig",
        json!(disk_config(instance.auto_disk_config)),
    );
    if matches!(status, "ERROR" | "DELETED") {
        if let Some(fault) = &instance.fault {
            let mut f = json!({
                "code": fault.code,
                "created": isotime(&fault.created),
                "message": fault.message,
            });
            if !fault.details.is_empty() && (ctx.is_admin || fault.code != 500) {
                f["details"] = json!(fault.details);
            }
            put("fault", f);
        }
    }
    if matches!(
        status,
        "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
    ) {
        put("progress", json!(0));
    }
    if opts.az {
        put(
            "OS-EXT-AZ:availability_zone",
            json!(instance.availability_zone),
        );
    }
    if opts.config_drive {
        put(
            "config_drive",
            json!(if instance.config_drive { "True" } else { "" }),
        );
    }
    if opts.keypair {
        put("key_name", json!(instance.key_name));
    }
    if opts.srv_usg {
        put(
            "OS-SRV-USG:launched_at",
            json!(instance.launched_at.as_ref().map(naive_iso)),
        );
        put(
            "OS-SRV-USG:terminated_at",
            json!(instance.terminated_at.as_ref().map(naive_iso)),
        );
    }
    if opts.sec_grp && !instance.deleted {
        if let Some(groups) = security_groups(instance) {
            put("security_groups", groups);
        }
    }
    if opts.extended_attr {
        put("OS-EXT-SRV-ATTR:host", json!(instance.host));
        put(
            "OS-EXT-SRV-ATTR:instance_name",
            json!(format!("instance-{:08x}", instance.id)),
        );
        put("OS-EXT-SRV-ATTR:hypervisor_hostname", json!(instance.node));
        if version.at_least(2, 3) {
            put("OS-EXT-SRV-ATTR:hostname", json!(instance.hostname));
            put("OS-EXT-SRV-ATTR:kernel_id", json!(""));
            put("OS-EXT-SRV-ATTR:launch_index", json!(instance.launch_index));
            put("OS-EXT-SRV-ATTR:ramdisk_id", json!(""));
            put(
                "OS-EXT-SRV-ATTR:reservation_id",
                json!(instance.reservation_id),
            );
            put("OS-EXT-SRV-ATTR:root_device_name", json!("/dev/vda"));
            if opts.user_data {
                put("OS-EXT-SRV-ATTR:user_data", json!(instance.user_data));
            }
        }
    }
    if opts.extended_status {
        put(
            "OS-EXT-STS:task_state",
            json!(instance.task_state.map(|t| t.as_str())),
        );
        put("OS-EXT-STS:vm_state", json!(instance.vm_state.as_str()));
        put("OS-EXT-STS:power_state", json!(instance.power_state.code()));
    }
    if opts.extended_volumes {
        put("os-extended-volumes:volumes_attached", json!([]));
    }
    if version.at_least(2, 9) {
        put("locked", json!(instance.locked));
    }
    if version.at_least(2, 16) && opts.host_status {
        // The simulated hosts are always up; no host yet reads as "".
        let status = if instance.host.is_some() { "UP" } else { "" };
        put("host_status", json!(status));
    }
    if version.at_least(2, 19) {
        put("description", json!(instance.description));
    }
    if version.at_least(2, 26) {
        put("tags", json!(instance.tags));
    }
    if version.at_least(2, 63) {
        put("trusted_image_certificates", Value::Null);
    }
    if opts.server_groups {
        put("server_groups", json!([]));
    }
    if version.at_least(2, 73) {
        put("locked_reason", json!(instance.locked_reason));
    }
    if version.at_least(2, 90) && !opts.extended_attr {
        put("OS-EXT-SRV-ATTR:hostname", json!(instance.hostname));
    }
    if opts.az && version.at_least(2, 96) {
        put(
            "pinned_availability_zone",
            json!(instance.pinned_availability_zone),
        );
    }
    if version.at_least(2, 100) {
        put("scheduler_hints", json!(instance.scheduler_hints));
    }
    Value::Object(s)
}

/// `OS-DCF:diskConfig` as the API names it.
pub fn disk_config(auto: bool) -> &'static str {
    if auto {
        "AUTO"
    } else {
        "MANUAL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_id_is_sha224_of_project_and_host() {
        assert_eq!(host_id("p", None), "");
        assert_eq!(host_id("p", Some("")), "");
        // sha224("") is a well-known constant; "p"+"" hashes differently.
        assert_eq!(host_id("", Some("a")).len(), 56);
        assert_ne!(host_id("p", Some("h")), host_id("q", Some("h")));
    }

    #[test]
    fn naive_iso_drops_zero_microseconds() {
        let t = DateTime::parse_from_rfc3339("2013-09-23T13:37:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(naive_iso(&t), "2013-09-23T13:37:00");
        let t = DateTime::parse_from_rfc3339("2013-09-23T13:37:00.880302Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(naive_iso(&t), "2013-09-23T13:37:00.880302");
        assert_eq!(isotime(&t), "2013-09-23T13:37:00Z");
    }
}
