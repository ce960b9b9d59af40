//! How a server looks on the wire, per microversion (nova's
//! `views/servers.py`): the `basic` entry of a list, the full `show` entry
//! of show/detail, and the reduced forms update and rebuild return.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha224};

use crate::links::RequestUrls;
use crate::microversion::ApiVersion;

/// nova's `utils.isotime`: `2013-09-03T04:01:32Z`.
pub fn isotime(t: &DateTime<Utc>) -> String {
    Iso(t).to_string()
}

/// A naive datetime as Python's `isoformat()` prints it (microseconds
/// only when non-zero), as nova's JSON shows `launched_at` and action times.
pub fn naive_iso(t: &DateTime<Utc>) -> String {
    NaiveIso(t).to_string()
}

/// Writes `utils.isotime` straight into the answer (no format string is
/// parsed, nothing is allocated).
struct Iso<'a>(&'a DateTime<Utc>);

impl fmt::Display for Iso<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_to_the_second(f, self.0)?;
        f.write_str("Z")
    }
}

/// `2013-09-03T04:01:32`: the part both forms share.
fn write_to_the_second(f: &mut fmt::Formatter<'_>, t: &DateTime<Utc>) -> fmt::Result {
    write!(
        f,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl Serialize for Iso<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Writes Python's naive `isoformat()` straight into the answer.
struct NaiveIso<'a>(&'a DateTime<Utc>);

impl fmt::Display for NaiveIso<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_to_the_second(f, self.0)?;
        match self.0.timestamp_subsec_micros() {
            0 => Ok(()),
            us => write!(f, ".{us:06}"),
        }
    }
}

impl Serialize for NaiveIso<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// nova's `hostId`: sha224 of project id + host, or "" without a host.
pub fn host_id(project_id: &str, host: Option<&str>) -> String {
    match host {
        Some(host) if !host.is_empty() => {
            let mut hasher = Sha224::new();
            hasher.update(project_id.as_bytes());
            hasher.update(host.as_bytes());
            hex_lower(&hasher.finalize())
        }
        _ => String::new(),
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Serializes a value built for the wire into a [`Value`] for the answers
/// that are edited after (create adds `adminPass`, and so on). Our views
/// have string keys only, so this cannot fail; if it ever did, the error
/// is logged and the answer is `null` rather than a panic.
fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or_else(|err| {
        tracing::error!(%err, "a server view did not serialize");
        Value::Null
    })
}

/// The `addresses` value: by network name, each fixed address of the
/// server's ports followed by the floating addresses of that port, as
/// nova's network info lists them; nothing while it is building.
pub fn addresses(instance: &compute::Instance, extended: bool) -> Value {
    to_value(Addresses { instance, extended })
}

/// [`addresses`] written straight into the answer: the networks in name
/// order, each with the addresses of its ports in port order.
struct Addresses<'a> {
    instance: &'a compute::Instance,
    extended: bool,
}

impl Serialize for Addresses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let instance = self.instance;
        if instance.vm_state == compute::VmState::Building {
            return s.serialize_map(Some(0))?.end();
        }
        let mut names: Vec<&str> = instance
            .vifs
            .iter()
            .map(|v| v.network_name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut map = s.serialize_map(Some(names.len()))?;
        for name in names {
            map.serialize_entry(
                name,
                &NetworkAddresses {
                    instance,
                    network_name: name,
                    extended: self.extended,
                },
            )?;
        }
        map.end()
    }
}

/// The addresses of one network in [`Addresses`].
struct NetworkAddresses<'a> {
    instance: &'a compute::Instance,
    network_name: &'a str,
    extended: bool,
}

impl Serialize for NetworkAddresses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for vif in self
            .instance
            .vifs
            .iter()
            .filter(|v| v.network_name == self.network_name)
        {
            let entry = |addr: IpAddr, kind: &'static str| AddressEntry {
                addr,
                kind,
                mac: self.extended.then_some(vif.mac_address.as_str()),
            };
            for ip in &vif.fixed_ips {
                seq.serialize_element(&entry(ip.address, "fixed"))?;
            }
            for ip in &vif.floating_ips {
                seq.serialize_element(&entry(IpAddr::V4(*ip), "floating"))?;
            }
        }
        seq.end()
    }
}

/// One address: `OS-EXT-IPS*` only in the extended form (`mac` set).
struct AddressEntry<'a> {
    addr: IpAddr,
    kind: &'static str,
    mac: Option<&'a str>,
}

impl Serialize for AddressEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(mac) = self.mac {
            map.serialize_entry("OS-EXT-IPS-MAC:mac_addr", mac)?;
            map.serialize_entry("OS-EXT-IPS:type", self.kind)?;
        }
        map.serialize_entry("addr", &AsJsonString(&self.addr))?;
        let version: u8 = if self.addr.is_ipv4() { 4 } else { 6 };
        map.serialize_entry("version", &version)?;
        map.end()
    }
}

/// Any `Display` value serialized as a string without a `String` between.
struct AsJsonString<'a, T: fmt::Display>(&'a T);

impl<T: fmt::Display> Serialize for AsJsonString<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// The `security_groups` value: the names of the groups of the server's
/// ports, each once; `None` (the key left out) when it has none.
pub fn security_groups(instance: &compute::Instance) -> Option<Value> {
    SecurityGroups::of(instance).map(to_value)
}

/// [`security_groups`] written straight into the answer.
struct SecurityGroups<'a>(Vec<&'a str>);

impl<'a> SecurityGroups<'a> {
    fn of(instance: &'a compute::Instance) -> Option<Self> {
        let mut names: Vec<&str> = Vec::new();
        for g in instance.security_groups() {
            if !names.contains(&g.name.as_str()) {
                names.push(&g.name);
            }
        }
        (!names.is_empty()).then_some(SecurityGroups(names))
    }
}

impl Serialize for SecurityGroups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for name in &self.0 {
            seq.serialize_element(&NameOnly(name))?;
        }
        seq.end()
    }
}

/// `{"name": ...}`.
struct NameOnly<'a>(&'a str);

impl Serialize for NameOnly<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("name", self.0)?;
        map.end()
    }
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

/// The URL prefixes every server of one answer links to, joined once per
/// answer instead of once per server (nova's `url_join` of the same parts).
pub struct ViewUrls {
    servers_self: String,
    servers_bookmark: String,
    flavors_bookmark: String,
    images_bookmark: String,
}

impl ViewUrls {
    /// The prefixes of this request's links.
    pub fn new(urls: &RequestUrls) -> Self {
        let project = urls.project.as_deref().unwrap_or("");
        let mut image_base = remove_version(urls);
        if let Some(prefix) = urls.glance_link_prefix.as_deref() {
            image_base = crate::links::update_link_prefix(&image_base, Some(prefix));
        }
        let join = crate::links::url_join;
        ViewUrls {
            servers_self: join(&[&urls.application_url, project, "servers"]),
            servers_bookmark: join(&[&urls.base_url, project, "servers"]),
            flavors_bookmark: join(&[&urls.base_url, project, "flavors"]),
            images_bookmark: join(&[&image_base, project, "images"]),
        }
    }
}

/// `prefix/id` as `url_join` of the prefix's parts and `id` makes it.
struct Href<'a>(&'a str, &'a str);

impl fmt::Display for Href<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Href(prefix, id) = *self;
        if id.is_empty() {
            f.write_str(prefix)
        } else {
            write!(f, "{prefix}/{}", id.trim_matches('/'))
        }
    }
}

/// One `{"href", "rel"}` link.
struct Link<'a> {
    href: Href<'a>,
    rel: &'static str,
}

impl Serialize for Link<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("href", &AsJsonString(&self.href))?;
        map.serialize_entry("rel", self.rel)?;
        map.end()
    }
}

/// nova's `links` pair of a server: `self` then `bookmark`.
struct ServerLinks<'a>(&'a ViewUrls, &'a str);

impl Serialize for ServerLinks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ServerLinks(urls, id) = *self;
        let mut seq = s.serialize_seq(Some(2))?;
        seq.serialize_element(&Link {
            href: Href(&urls.servers_self, id),
            rel: "self",
        })?;
        seq.serialize_element(&Link {
            href: Href(&urls.servers_bookmark, id),
            rel: "bookmark",
        })?;
        seq.end()
    }
}

/// The entry of `GET /servers`: id, links, name.
pub struct BasicView<'a> {
    /// The request's link prefixes.
    pub urls: &'a ViewUrls,
    /// The server.
    pub instance: &'a compute::Instance,
}

impl Serialize for BasicView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.instance;
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("id", &i.uuid)?;
        map.serialize_entry("links", &ServerLinks(self.urls, &i.uuid))?;
        map.serialize_entry("name", &i.name)?;
        map.end()
    }
}

/// The image value: `{id, links}` (2.98: plus `properties`), or "".
struct ImageView<'a> {
    urls: &'a ViewUrls,
    image_ref: &'a str,
    properties: Option<&'a Value>,
}

impl Serialize for ImageView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.image_ref.is_empty() {
            return s.serialize_str("");
        }
        let id = self.image_ref.rsplit('/').next().unwrap_or(self.image_ref);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", id)?;
        map.serialize_entry(
            "links",
            &[Link {
                href: Href(&self.urls.images_bookmark, id),
                rel: "bookmark",
            }],
        )?;
        if let Some(properties) = self.properties {
            map.serialize_entry("properties", properties)?;
        }
        map.end()
    }
}

fn remove_version(urls: &RequestUrls) -> String {
    crate::links::remove_trailing_version(&urls.raw_application_url)
}

/// The flavor value: a bookmark link before 2.47, the embedded flavor
/// (with its extra specs) after.
struct FlavorView<'a> {
    urls: &'a ViewUrls,
    flavor: &'a compute::FlavorSnapshot,
    embedded: bool,
}

impl Serialize for FlavorView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.flavor;
        let mut map = s.serialize_map(None)?;
        if self.embedded {
            map.serialize_entry("disk", &f.disk)?;
            map.serialize_entry("ephemeral", &f.ephemeral)?;
            map.serialize_entry("extra_specs", &f.extra_specs)?;
            map.serialize_entry("original_name", &f.name)?;
            map.serialize_entry("ram", &f.ram)?;
            map.serialize_entry("swap", &f.swap)?;
            map.serialize_entry("vcpus", &f.vcpus)?;
        } else {
            map.serialize_entry("id", &f.id)?;
            map.serialize_entry(
                "links",
                &[Link {
                    href: Href(&self.urls.flavors_bookmark, &f.id),
                    rel: "bookmark",
                }],
            )?;
        }
        map.end()
    }
}

/// A fault as a server shows it: the details to admins, and to others
/// unless it is a 500 (a traceback in nova).
struct FaultView<'a> {
    fault: &'a compute::InstanceFault,
    details: bool,
}

impl Serialize for FaultView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.fault;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("code", &f.code)?;
        map.serialize_entry("created", &Iso(&f.created))?;
        if self.details {
            map.serialize_entry("details", &f.details)?;
        }
        map.serialize_entry("message", &f.message)?;
        map.end()
    }
}

/// The full view of one server (nova's `show`), written straight into
/// the answer. Its keys come out in byte order, as a JSON object built
/// first and serialized after would have them (a unit test holds that).
pub struct ServerView<'a> {
    /// The request's link prefixes.
    pub urls: &'a ViewUrls,
    /// Who asks (a fault's details are for admins).
    pub ctx: &'a compute::RequestContext,
    /// The microversion asked.
    pub version: ApiVersion,
    /// The server.
    pub instance: &'a compute::Instance,
    /// The optional parts shown.
    pub opts: ShowOpts,
    /// The image's properties (2.98+), `{}` when the image is gone.
    pub image_properties: Option<&'a Value>,
}

/// The full view of one server (nova's `show`) as a [`Value`], for the
/// answers that add to it.
pub fn show(
    urls: &RequestUrls,
    ctx: &compute::RequestContext,
    version: ApiVersion,
    instance: &compute::Instance,
    opts: ShowOpts,
    image_properties: Option<&Value>,
) -> Value {
    let urls = ViewUrls::new(urls);
    to_value(ServerView {
        urls: &urls,
        ctx,
        version,
        instance,
        opts,
        image_properties,
    })
}

impl Serialize for ServerView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (i, opts, version) = (self.instance, self.opts, self.version);
        let at = |major, minor| version.at_least(major, minor);
        let status = if i.deleted { "DELETED" } else { i.status() };
        let empty_properties = Value::Object(Map::new());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("OS-DCF:diskConfig", disk_config(i.auto_disk_config))?;
        if opts.az {
            m.serialize_entry("OS-EXT-AZ:availability_zone", &i.availability_zone)?;
        }
        let extended_attr = opts.extended_attr;
        if extended_attr {
            m.serialize_entry("OS-EXT-SRV-ATTR:host", &i.host)?;
        }
        if (extended_attr && at(2, 3)) || (!extended_attr && at(2, 90)) {
            m.serialize_entry("OS-EXT-SRV-ATTR:hostname", &i.hostname)?;
        }
        if extended_attr {
            m.serialize_entry("OS-EXT-SRV-ATTR:hypervisor_hostname", &i.node)?;
            m.serialize_entry(
                "OS-EXT-SRV-ATTR:instance_name",
                &AsJsonString(&format_args!("instance-{:08x}", i.id)),
            )?;
            if at(2, 3) {
                m.serialize_entry("OS-EXT-SRV-ATTR:kernel_id", "")?;
                m.serialize_entry("OS-EXT-SRV-ATTR:launch_index", &i.launch_index)?;
                m.serialize_entry("OS-EXT-SRV-ATTR:ramdisk_id", "")?;
                m.serialize_entry("OS-EXT-SRV-ATTR:reservation_id", &i.reservation_id)?;
                m.serialize_entry("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda")?;
                if opts.user_data {
                    m.serialize_entry("OS-EXT-SRV-ATTR:user_data", &i.user_data)?;
                }
            }
        }
        if opts.extended_status {
            m.serialize_entry("OS-EXT-STS:power_state", &i.power_state.code())?;
            m.serialize_entry("OS-EXT-STS:task_state", &i.task_state.map(|t| t.as_str()))?;
            m.serialize_entry("OS-EXT-STS:vm_state", i.vm_state.as_str())?;
        }
        if opts.srv_usg {
            m.serialize_entry(
                "OS-SRV-USG:launched_at",
                &i.launched_at.as_ref().map(NaiveIso),
            )?;
            m.serialize_entry(
                "OS-SRV-USG:terminated_at",
                &i.terminated_at.as_ref().map(NaiveIso),
            )?;
        }
        m.serialize_entry("accessIPv4", i.access_ip_v4.as_deref().unwrap_or(""))?;
        m.serialize_entry("accessIPv6", i.access_ip_v6.as_deref().unwrap_or(""))?;
        m.serialize_entry(
            "addresses",
            &Addresses {
                instance: i,
                extended: opts.extend_address,
            },
        )?;
        if opts.config_drive {
            m.serialize_entry("config_drive", if i.config_drive { "True" } else { "" })?;
        }
        m.serialize_entry("created", &Iso(&i.created_at))?;
        if at(2, 19) {
            m.serialize_entry("description", &i.description)?;
        }
        if matches!(status, "ERROR" | "DELETED") {
            if let Some(fault) = &i.fault {
                let details = !fault.details.is_empty() && (self.ctx.is_admin || fault.code != 500);
                m.serialize_entry("fault", &FaultView { fault, details })?;
            }
        }
        m.serialize_entry(
            "flavor",
            &FlavorView {
                urls: self.urls,
                flavor: &i.flavor,
                embedded: at(2, 47),
            },
        )?;
        m.serialize_entry("hostId", &host_id(&i.project_id, i.host.as_deref()))?;
        if at(2, 16) && opts.host_status {
            // The simulated hosts are always up; no host yet reads as "".
            m.serialize_entry("host_status", if i.host.is_some() { "UP" } else { "" })?;
        }
        m.serialize_entry("id", &i.uuid)?;
        let image_properties =
            at(2, 98).then(|| self.image_properties.unwrap_or(&empty_properties));
        m.serialize_entry(
            "image",
            &ImageView {
                urls: self.urls,
                image_ref: &i.image_ref,
                properties: image_properties,
            },
        )?;
        if opts.keypair {
            m.serialize_entry("key_name", &i.key_name)?;
        }
        m.serialize_entry("links", &ServerLinks(self.urls, &i.uuid))?;
        if at(2, 9) {
            m.serialize_entry("locked", &i.locked)?;
        }
        if at(2, 73) {
            m.serialize_entry("locked_reason", &i.locked_reason)?;
        }
        m.serialize_entry("metadata", &i.metadata)?;
        m.serialize_entry("name", &i.name)?;
        if opts.extended_volumes {
            m.serialize_entry("os-extended-volumes:volumes_attached", &[(); 0])?;
        }
        if opts.az && at(2, 96) {
            m.serialize_entry("pinned_availability_zone", &i.pinned_availability_zone)?;
        }
        if matches!(
            status,
            "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
        ) {
            m.serialize_entry("progress", &0)?;
        }
        if at(2, 100) {
            m.serialize_entry("scheduler_hints", &i.scheduler_hints)?;
        }
        if opts.sec_grp && !i.deleted {
            if let Some(groups) = SecurityGroups::of(i) {
                m.serialize_entry("security_groups", &groups)?;
            }
        }
        if opts.server_groups {
            m.serialize_entry("server_groups", &[(); 0])?;
        }
        m.serialize_entry("status", status)?;
        if at(2, 26) {
            m.serialize_entry("tags", &i.tags)?;
        }
        m.serialize_entry("tenant_id", &i.project_id)?;
        if at(2, 63) {
            m.serialize_entry("trusted_image_certificates", &())?;
        }
        m.serialize_entry(
            "updated",
            &Iso(i.updated_at.as_ref().unwrap_or(&i.created_at)),
        )?;
        m.serialize_entry("user_id", &i.user_id)?;
        m.end()
    }
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
    use serde_json::json;

    #[test]
    fn host_id_is_sha224_of_project_and_host() {
        assert_eq!(host_id("p", None), "");
        assert_eq!(host_id("p", Some("")), "");
        // sha224("") is a well-known constant; "p"+"" hashes differently.
        assert_eq!(host_id("", Some("a")).len(), 56);
        assert_ne!(host_id("p", Some("h")), host_id("q", Some("h")));
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A server with every optional part a view can show: an error fault,
    /// ports on two networks (given out of name order) with a floating
    /// address and security groups, metadata, tags and scheduler hints.
    fn everything_server() -> compute::Instance {
        let vif = |port: &str, net: &str, ips: &[&str], floating: &[&str]| compute::Vif {
            port_id: port.into(),
            network_id: format!("{net}-id"),
            network_name: net.into(),
            mac_address: format!("fa:16:3e:00:00:{port}"),
            fixed_ips: ips
                .iter()
                .map(|ip| compute::VifIp {
                    address: ip.parse().unwrap(),
                    subnet_id: "sub".into(),
                })
                .collect(),
            floating_ips: floating.iter().map(|ip| ip.parse().unwrap()).collect(),
            security_groups: vec![compute::VifGroup {
                id: "sg".into(),
                name: "default".into(),
            }],
            tag: None,
        };
        compute::Instance {
            id: 42,
            uuid: "4b1b4a06-5c3d-4bc4-9ab8-60c2b4fd4a2e".into(),
            name: "web".into(),
            description: Some("the web server".into()),
            hostname: "web".into(),
            project_id: "p1".into(),
            user_id: "u1".into(),
            flavor: compute::FlavorSnapshot {
                id: "1".into(),
                name: "m1.tiny".into(),
                vcpus: 1,
                ram: 512,
                disk: 1,
                ephemeral: 0,
                swap: 0,
                extra_specs: [("hw:cpu_policy".to_string(), "dedicated".to_string())].into(),
            },
            old_flavor: None,
            new_flavor: None,
            image_ref: "70a599e0-31e7-49b7-b260-868f441e862b".into(),
            key_name: Some("k".into()),
            key_data: None,
            user_data: Some("IyEvYmluL3No".into()),
            metadata: [("role".to_string(), "web".to_string())].into(),
            tags: vec!["a".into(), "b".into()],
            availability_zone: "nova".into(),
            host: Some("compute1".into()),
            node: Some("compute1".into()),
            launch_index: 0,
            reservation_id: "r-1".into(),
            vm_state: compute::VmState::Error,
            task_state: None,
            power_state: compute::PowerState::Running,
            created_at: at("2026-01-02T03:04:05Z"),
            updated_at: Some(at("2026-01-02T03:04:06.000123Z")),
            launched_at: Some(at("2026-01-02T03:04:06.000123Z")),
            terminated_at: None,
            deleted_at: None,
            deleted: false,
            vifs: vec![
                vif("02", "private", &["10.0.0.3", "fd00::3"], &["172.24.4.9"]),
                vif("01", "alpha", &["10.1.0.4"], &[]),
            ],
            access_ip_v4: Some("1.2.3.4".into()),
            access_ip_v6: None,
            locked: true,
            locked_by: Some("admin".into()),
            locked_reason: Some("maintenance".into()),
            config_drive: true,
            pinned_availability_zone: Some("nova".into()),
            scheduler_hints: [("same_host".to_string(), json!(["x"]))].into(),
            auto_disk_config: false,
            fault: Some(compute::InstanceFault {
                code: 500,
                message: "NoValidHost".into(),
                details: "traceback".into(),
                created: at("2026-01-02T03:04:07Z"),
            }),
        }
    }

    fn urls() -> RequestUrls {
        RequestUrls {
            application_url: "http://h:8774/v2.1".into(),
            base_url: "http://h:8774".into(),
            project: None,
            query: vec![],
            max_limit: 1000,
            glance_link_prefix: None,
            raw_application_url: "http://h:8774/v2.1".into(),
        }
    }

    #[test]
    fn a_server_view_writes_its_keys_in_byte_order_at_every_microversion() {
        let instance = everything_server();
        let view_urls = ViewUrls::new(&urls());
        let properties = json!({"os_distro": "cirros"});
        for minor in 1..=104 {
            let version = ApiVersion { major: 2, minor };
            for ctx in [
                compute::RequestContext::admin("a", "admin"),
                compute::RequestContext::new("u1", "p1"),
            ] {
                for single in [false, true] {
                    let view = ServerView {
                        urls: &view_urls,
                        ctx: &ctx,
                        version,
                        instance: &instance,
                        opts: ShowOpts::full(ctx.is_admin, version, single),
                        image_properties: Some(&properties),
                    };
                    // A `Value` keeps its keys sorted: written again, it is
                    // the same bytes only if the view wrote them sorted.
                    let written = serde_json::to_string(&view).unwrap();
                    let sorted =
                        serde_json::to_string(&serde_json::to_value(&view).unwrap()).unwrap();
                    assert_eq!(written, sorted, "2.{minor}, admin {}", ctx.is_admin);
                }
            }
        }
    }

    #[test]
    fn a_server_view_shows_what_nova_shows_at_the_latest_microversion() {
        let instance = everything_server();
        let ctx = compute::RequestContext::new("u1", "p1");
        let version = ApiVersion {
            major: 2,
            minor: 104,
        };
        let opts = ShowOpts::full(false, version, false);
        let value = show(&urls(), &ctx, version, &instance, opts, None);
        assert_eq!(
            value["addresses"],
            json!({
                "alpha": [{"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01", "OS-EXT-IPS:type": "fixed",
                           "addr": "10.1.0.4", "version": 4}],
                "private": [
                    {"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02", "OS-EXT-IPS:type": "fixed",
                     "addr": "10.0.0.3", "version": 4},
                    {"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02", "OS-EXT-IPS:type": "fixed",
                     "addr": "fd00::3", "version": 6},
                    {"OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02", "OS-EXT-IPS:type": "floating",
                     "addr": "172.24.4.9", "version": 4},
                ],
            })
        );
        assert_eq!(
            value["links"],
            json!([
                {"href": "http://h:8774/v2.1/servers/4b1b4a06-5c3d-4bc4-9ab8-60c2b4fd4a2e", "rel": "self"},
                {"href": "http://h:8774/servers/4b1b4a06-5c3d-4bc4-9ab8-60c2b4fd4a2e", "rel": "bookmark"},
            ])
        );
        assert_eq!(
            value["image"],
            json!({"id": "70a599e0-31e7-49b7-b260-868f441e862b", "properties": {}, "links": [
                {"href": "http://h:8774/images/70a599e0-31e7-49b7-b260-868f441e862b", "rel": "bookmark"}]})
        );
        // A 500's details are for admins only.
        assert_eq!(
            value["fault"],
            json!({"code": 500, "created": "2026-01-02T03:04:07Z", "message": "NoValidHost"})
        );
        assert_eq!(value["created"], "2026-01-02T03:04:05Z");
        assert_eq!(value["updated"], "2026-01-02T03:04:06Z");
        assert_eq!(
            value["OS-SRV-USG:launched_at"],
            "2026-01-02T03:04:06.000123"
        );
        assert_eq!(value["OS-SRV-USG:terminated_at"], Value::Null);
        assert_eq!(value["security_groups"], json!([{"name": "default"}]));
        assert_eq!(value["OS-EXT-SRV-ATTR:hostname"], "web");
        assert!(value.get("OS-EXT-SRV-ATTR:host").is_none());
        assert_eq!(
            value["flavor"]["extra_specs"],
            json!({"hw:cpu_policy": "dedicated"})
        );
        assert_eq!(value["hostId"], host_id("p1", Some("compute1")));
        assert_eq!(value["trusted_image_certificates"], Value::Null);
        assert!(value.get("progress").is_none(), "no progress in ERROR");
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
