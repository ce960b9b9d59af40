//! What osapi-compute serves, as data: every route of the Compute API with
//! its methods and their microversion ranges, and the paths and methods of
//! the identity, image and network apps.
//!
//! The routers are built by calls (axum's `route`), so these tables are the
//! written record they are checked against: `tests/api/served.rs` reads the
//! paths each router holds and the methods each path answers, and asks the
//! whole pipeline every route at every microversion; a route, a method or a
//! version gate that differs from its row fails there. `docs/served.md` is
//! printed from these tables by `cargo run -p served-doc` (the server
//! actions' table is [`crate::servers::actions::ACTIONS`], which the
//! dispatcher itself reads).

use crate::microversion::{ApiVersion, MAX_VERSION};

/// A range of the 2.x microversions, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// The first minor version served.
    pub first: u32,
    /// The last minor version served; `None`: up to the newest.
    pub last: Option<u32>,
}

impl Versions {
    /// Every microversion.
    pub const ALL: Versions = Versions {
        first: 1,
        last: None,
    };

    /// From `2.first` on.
    pub const fn from(first: u32) -> Versions {
        Versions { first, last: None }
    }

    /// Up to `2.last`: removed in the version after it.
    pub const fn until(last: u32) -> Versions {
        Versions {
            first: 1,
            last: Some(last),
        }
    }

    /// Whether `version` is in the range.
    pub fn contains(&self, version: ApiVersion) -> bool {
        version.major == 2
            && version.minor >= self.first
            && self.last.is_none_or(|last| version.minor <= last)
    }

    /// The range as the docs print it: `2.1-2.35`, `2.55-2.100`.
    pub fn describe(&self) -> String {
        let last = self.last.unwrap_or(MAX_VERSION.minor);
        format!("2.{}-2.{last}", self.first)
    }
}

/// One path of the Compute API (without the optional `/{project_id}`
/// prefix, below `/v2.1`).
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The path, in axum's syntax (`{id}` for a segment).
    pub path: &'static str,
    /// Each method the path serves with the microversions it serves it at
    /// (`HEAD` is implied by `GET`).
    pub methods: &'static [(&'static str, Versions)],
    /// What it is, in a few words.
    pub what: &'static str,
}

const ALL: Versions = Versions::ALL;
/// nova's proxies of Glance and nova-network's successors end at 2.35.
const PROXY: Versions = Versions::until(35);
/// The image metadata proxy ends at 2.38.
const IMAGE_META: Versions = Versions::until(38);
/// os-hosts ends at 2.42.
const HOSTS: Versions = Versions::until(42);

macro_rules! route {
    ($path:literal, [$($method:literal $(@ $versions:expr)?),+], $what:literal) => {
        Route {
            path: $path,
            methods: &[$(($method, route!(@versions $($versions)?))),+],
            what: $what,
        }
    };
    (@versions) => { ALL };
    (@versions $versions:expr) => { $versions };
}

/// Every route of the Compute API but the removed ones
/// ([`crate::removed`]), in the order the docs list them.
pub const COMPUTE_ROUTES: &[Route] = &[
    route!("/", ["GET"], "the v2.1 version document"),
    route!(
        "/servers",
        ["GET", "POST"],
        "list servers (ids, names, links); create one or more"
    ),
    route!(
        "/servers/detail",
        ["GET"],
        "list servers with every attribute"
    ),
    route!(
        "/servers/{id}",
        ["GET", "PUT", "DELETE"],
        "show, update (name, description, access IPs, hostname), delete"
    ),
    route!(
        "/servers/{id}/action",
        ["POST"],
        "the server actions (table below)"
    ),
    route!(
        "/servers/{id}/metadata",
        ["GET", "POST", "PUT"],
        "the server's metadata: list, merge, replace"
    ),
    route!(
        "/servers/{id}/metadata/{key}",
        ["GET", "PUT", "DELETE"],
        "one metadata item"
    ),
    route!("/servers/{id}/tags", ["GET" @ Versions::from(26), "PUT" @ Versions::from(26), "DELETE" @ Versions::from(26)], "the server's tags: list, replace, remove all"),
    route!("/servers/{id}/tags/{tag}", ["GET" @ Versions::from(26), "PUT" @ Versions::from(26), "DELETE" @ Versions::from(26)], "one tag: check, add, remove"),
    route!(
        "/servers/{id}/ips",
        ["GET"],
        "the server's addresses by network"
    ),
    route!(
        "/servers/{id}/ips/{network}",
        ["GET"],
        "the server's addresses on one network"
    ),
    route!(
        "/servers/{id}/os-instance-actions",
        ["GET"],
        "the actions taken on the server"
    ),
    route!(
        "/servers/{id}/os-instance-actions/{request_id}",
        ["GET"],
        "one action with its events"
    ),
    route!("/servers/{id}/migrations", ["GET" @ Versions::from(23)], "the server's live migrations in progress (admin)"),
    route!("/servers/{id}/migrations/{mid}", ["GET" @ Versions::from(23), "DELETE" @ Versions::from(24)], "one live migration in progress; abort it (admin)"),
    route!("/servers/{id}/migrations/{mid}/action", ["POST" @ Versions::from(22)], "`force_complete` a running live migration (admin)"),
    route!(
        "/servers/{id}/os-server-password",
        ["GET", "DELETE"],
        "the encrypted password the guest posted; clear it"
    ),
    route!(
        "/servers/{id}/diagnostics",
        ["GET"],
        "what the simulated hypervisor reports of the guest (admin)"
    ),
    route!("/servers/{id}/remote-consoles", ["POST" @ Versions::from(6)], "a remote console URL with a new token (vnc, spice, serial, mks)"),
    route!(
        "/servers/{id}/os-interface",
        ["GET", "POST"],
        "the server's ports; attach one"
    ),
    route!(
        "/servers/{id}/os-interface/{port_id}",
        ["GET", "DELETE"],
        "one attached port; detach it"
    ),
    route!(
        "/servers/{id}/os-security-groups",
        ["GET"],
        "the security groups of the server's ports"
    ),
    route!(
        "/servers/{id}/os-volume_attachments",
        ["GET", "POST"],
        "volume attachments: always none; an attach is 404 (no block storage)"
    ),
    route!(
        "/servers/{id}/os-volume_attachments/{volume_id}",
        ["GET", "PUT", "DELETE"],
        "one volume attachment: 404 (no block storage)"
    ),
    route!(
        "/flavors",
        ["GET", "POST"],
        "list flavors; create one (admin)"
    ),
    route!(
        "/flavors/detail",
        ["GET"],
        "list flavors with every attribute"
    ),
    route!("/flavors/{id}", ["GET", "PUT" @ Versions::from(55), "DELETE"], "show; update the description (admin); delete (admin)"),
    route!(
        "/flavors/{id}/action",
        ["POST"],
        "`addTenantAccess`, `removeTenantAccess` (admin)"
    ),
    route!(
        "/flavors/{id}/os-flavor-access",
        ["GET"],
        "the projects a private flavor is shared with"
    ),
    route!(
        "/flavors/{id}/os-extra_specs",
        ["GET", "POST"],
        "the flavor's extra specs: list, add"
    ),
    route!(
        "/flavors/{id}/os-extra_specs/{key}",
        ["GET", "PUT", "DELETE"],
        "one extra spec"
    ),
    route!(
        "/os-keypairs",
        ["GET", "POST"],
        "list keypairs; create or import one"
    ),
    route!("/os-keypairs/{name}", ["GET", "DELETE"], "one keypair"),
    route!(
        "/limits",
        ["GET"],
        "absolute limits and usage of the project"
    ),
    route!(
        "/os-quota-sets/{id}",
        ["GET", "PUT", "DELETE"],
        "a project's quotas: show, update, revert to defaults (admin)"
    ),
    route!(
        "/os-quota-sets/{id}/defaults",
        ["GET"],
        "the default quotas"
    ),
    route!(
        "/os-quota-sets/{id}/detail",
        ["GET"],
        "quotas with usage and reservations"
    ),
    route!(
        "/os-quota-class-sets/{id}",
        ["GET", "PUT"],
        "a quota class's limits; `default` is what projects get (admin)"
    ),
    route!(
        "/os-instance_usage_audit_log",
        ["GET"],
        "the instance usage audit of the last completed period (admin)"
    ),
    route!(
        "/os-instance_usage_audit_log/{before}",
        ["GET"],
        "the audit of the period completed before a time (admin)"
    ),
    route!("/os-availability-zone", ["GET"], "the availability zones"),
    route!(
        "/os-availability-zone/detail",
        ["GET"],
        "the zones with their hosts and services (admin)"
    ),
    route!(
        "/os-hypervisors",
        ["GET"],
        "the simulated hypervisors (admin)"
    ),
    route!(
        "/os-hypervisors/detail",
        ["GET"],
        "the hypervisors with every attribute (admin)"
    ),
    route!("/os-hypervisors/statistics", ["GET" @ Versions::until(87)], "totals over the hypervisors (admin)"),
    route!("/os-hypervisors/{id}", ["GET"], "one hypervisor (admin)"),
    route!("/os-hypervisors/{id}/uptime", ["GET" @ Versions::until(87)], "a hypervisor's uptime (admin)"),
    route!("/os-hypervisors/{id}/search", ["GET" @ Versions::until(52)], "hypervisors whose name matches (admin)"),
    route!("/os-hypervisors/{id}/servers", ["GET" @ Versions::until(52)], "hypervisors whose name matches, with their servers (admin)"),
    route!("/os-services", ["GET"], "the compute services (admin)"),
    route!(
        "/os-migrations",
        ["GET"],
        "every migration record: cold and live migrations, resizes, evacuations (admin)"
    ),
    route!(
        "/os-server-groups",
        ["GET", "POST"],
        "the project's server groups (every project's with `all_projects`, admin); create one"
    ),
    route!(
        "/os-server-groups/{id}",
        ["GET", "DELETE"],
        "one server group with its members; delete it"
    ),
    route!(
        "/os-aggregates",
        ["GET", "POST"],
        "host aggregates (admin): list, create"
    ),
    route!(
        "/os-aggregates/{id}",
        ["GET", "PUT", "DELETE"],
        "one aggregate: show, update name or zone, delete (admin)"
    ),
    route!(
        "/os-aggregates/{id}/action",
        ["POST"],
        "`add_host`, `remove_host`, `set_metadata` (admin)"
    ),
    route!("/os-aggregates/{id}/images", ["POST" @ Versions::from(81)], "cache images on the aggregate's hosts (admin)"),
    route!("/os-hosts", ["GET" @ HOSTS], "the hosts of the enabled services (admin)"),
    route!("/os-hosts/{id}", ["GET" @ HOSTS, "PUT" @ HOSTS], "a compute host's resources; its status and maintenance (admin)"),
    route!("/os-hosts/{id}/startup", ["GET" @ HOSTS], "start a host up: the fake driver's answer (admin)"),
    route!("/os-hosts/{id}/shutdown", ["GET" @ HOSTS], "shut a host down: the fake driver's answer (admin)"),
    route!("/os-hosts/{id}/reboot", ["GET" @ HOSTS], "reboot a host: the fake driver's answer (admin)"),
    route!(
        "/os-console-auth-tokens/{id}",
        ["GET"],
        "a console token's connection details (admin; 400 before 2.31)"
    ),
    route!(
        "/os-server-external-events",
        ["POST"],
        "events of other services about servers (admin or the service role)"
    ),
    route!(
        "/os-simple-tenant-usage",
        ["GET"],
        "usage of every project over a period (admin)"
    ),
    route!(
        "/os-simple-tenant-usage/{tenant_id}",
        ["GET"],
        "usage of one project over a period"
    ),
    route!("/images", ["GET" @ PROXY], "the image proxy: list images"),
    route!("/images/detail", ["GET" @ PROXY], "the image proxy: list images with every attribute"),
    route!("/images/{id}", ["GET" @ PROXY, "DELETE" @ PROXY], "the image proxy: show, delete"),
    route!("/images/{id}/metadata", ["GET" @ IMAGE_META, "POST" @ IMAGE_META, "PUT" @ IMAGE_META], "an image's properties: list, merge, replace"),
    route!("/images/{id}/metadata/{key}", ["GET" @ IMAGE_META, "PUT" @ IMAGE_META, "DELETE" @ IMAGE_META], "one image property"),
    route!("/os-security-groups", ["GET" @ PROXY, "POST" @ PROXY], "the security group proxy: list, create"),
    route!("/os-security-groups/{id}", ["GET" @ PROXY, "PUT" @ PROXY, "DELETE" @ PROXY], "one security group"),
    route!("/os-security-group-rules", ["POST" @ PROXY], "add an ingress rule"),
    route!("/os-security-group-rules/{id}", ["DELETE" @ PROXY], "remove a rule"),
    route!("/os-floating-ip-pools", ["GET" @ PROXY], "the external networks' names"),
    route!("/os-floating-ips", ["GET" @ PROXY, "POST" @ PROXY], "the floating IP proxy: list, allocate"),
    route!("/os-floating-ips/{id}", ["GET" @ PROXY, "DELETE" @ PROXY], "one floating IP: show, release"),
    route!("/os-networks", ["GET" @ PROXY, "POST"], "the networks in nova-network's shape; create: 410"),
    route!(
        "/os-networks/add",
        ["POST"],
        "410 (nova-network's, removed)"
    ),
    route!("/os-networks/{id}", ["GET" @ PROXY, "DELETE"], "one network; delete: 410"),
    route!(
        "/os-networks/{id}/action",
        ["POST"],
        "410 (nova-network's actions, removed)"
    ),
    route!("/os-tenant-networks", ["GET" @ PROXY, "POST"], "the project's networks; create: 410"),
    route!("/os-tenant-networks/{id}", ["GET" @ PROXY, "DELETE"], "one project network; delete: 410"),
    route!("/extensions", ["GET"], "nova's fixed list of extensions"),
    route!("/extensions/{alias}", ["GET"], "one extension"),
];

/// One path of a companion app (identity, image, network): these have no
/// microversions.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// The path below the app's mount point, in axum's syntax.
    pub path: &'static str,
    /// The methods it serves (`HEAD` is implied by `GET`).
    pub methods: &'static [&'static str],
}

macro_rules! endpoints {
    ($($path:literal: [$($method:literal),+]),+ $(,)?) => {
        &[$(Endpoint { path: $path, methods: &[$($method),+] }),+]
    };
}

/// The Identity v3 app (`/identity`) over the store, as
/// `auth_strategy = keystone` without a Keystone serves it; noauth2's
/// serves a part of it.
pub const IDENTITY_ROUTES: &[Endpoint] = endpoints![
    "/": ["GET"],
    "/v3": ["GET"],
    "/v3/": ["GET"],
    "/v3/auth/tokens": ["GET", "POST", "DELETE"],
    "/v3/auth/catalog": ["GET"],
    "/v3/auth/projects": ["GET"],
    "/v3/auth/domains": ["GET"],
    "/v3/auth/system": ["GET"],
    "/v3/projects": ["GET", "POST"],
    "/v3/projects/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/projects/{id}/users/{user_id}/roles": ["GET"],
    "/v3/projects/{id}/users/{user_id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/projects/{id}/groups/{group_id}/roles": ["GET"],
    "/v3/projects/{id}/groups/{group_id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/domains": ["GET", "POST"],
    "/v3/domains/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/domains/{id}/users/{user_id}/roles": ["GET"],
    "/v3/domains/{id}/users/{user_id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/domains/{id}/groups/{group_id}/roles": ["GET"],
    "/v3/domains/{id}/groups/{group_id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/system/users/{id}/roles": ["GET"],
    "/v3/system/users/{id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/system/groups/{id}/roles": ["GET"],
    "/v3/system/groups/{id}/roles/{role_id}": ["GET", "PUT", "DELETE"],
    "/v3/users": ["GET", "POST"],
    "/v3/users/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/users/{id}/password": ["POST"],
    "/v3/users/{id}/projects": ["GET"],
    "/v3/users/{id}/groups": ["GET"],
    "/v3/users/{user_id}/credentials/OS-EC2": ["GET", "POST"],
    "/v3/users/{user_id}/credentials/OS-EC2/{access}": ["GET", "DELETE"],
    "/v3/users/{id}/application_credentials": ["GET", "POST"],
    "/v3/users/{id}/application_credentials/{app_cred_id}": ["GET", "DELETE"],
    "/v3/users/{id}/access_rules": ["GET"],
    "/v3/users/{id}/access_rules/{access_rule_id}": ["GET", "DELETE"],
    "/v3/credentials": ["GET", "POST"],
    "/v3/credentials/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/groups": ["GET", "POST"],
    "/v3/groups/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/groups/{id}/users": ["GET"],
    "/v3/groups/{id}/users/{user_id}": ["HEAD", "PUT", "DELETE"],
    "/v3/roles": ["GET", "POST"],
    "/v3/roles/{id}": ["GET", "PATCH", "DELETE"],
    "/v3/roles/{id}/implies": ["GET"],
    "/v3/roles/{id}/implies/{implied}": ["GET", "PUT", "DELETE"],
    "/v3/role_inferences": ["GET"],
    "/v3/role_assignments": ["GET"],
];

/// The Image v2 app (`/image`).
pub const IMAGE_ROUTES: &[Endpoint] = endpoints![
    "/": ["GET"],
    "/versions": ["GET"],
    "/v2/images": ["GET", "POST"],
    "/v2/images/{id}": ["GET", "PATCH", "DELETE"],
    "/v2/images/{id}/file": ["GET", "PUT"],
    "/v2/images/{id}/stage": ["PUT"],
    "/v2/images/{id}/import": ["POST"],
    "/v2/images/{id}/tags/{tag}": ["PUT", "DELETE"],
    "/v2/images/{id}/actions/deactivate": ["POST"],
    "/v2/images/{id}/actions/reactivate": ["POST"],
    "/v2/images/{id}/members": ["GET", "POST"],
    "/v2/images/{id}/members/{member}": ["GET", "PUT", "DELETE"],
    "/v2/images/{id}/tasks": ["GET"],
    "/v2/tasks": ["GET", "POST"],
    "/v2/tasks/{id}": ["GET"],
    "/v2/metadefs/namespaces": ["GET", "POST"],
    "/v2/metadefs/namespaces/{namespace}": ["GET", "PUT", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/objects": ["GET", "POST", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/objects/{name}": ["GET", "PUT", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/properties": ["GET", "POST", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/properties/{name}": ["GET", "PUT", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/tags": ["GET", "POST", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/tags/{name}": ["GET", "POST", "PUT", "DELETE"],
    "/v2/metadefs/namespaces/{namespace}/resource_types": ["GET", "POST"],
    "/v2/metadefs/namespaces/{namespace}/resource_types/{name}": ["DELETE"],
    "/v2/metadefs/resource_types": ["GET"],
    "/v2/info/import": ["GET"],
    "/v2/info/stores": ["GET"],
    "/v2/schemas/image": ["GET"],
    "/v2/schemas/images": ["GET"],
    "/v2/schemas/member": ["GET"],
    "/v2/schemas/members": ["GET"],
    "/v2/schemas/task": ["GET"],
    "/v2/schemas/tasks": ["GET"],
    "/v2/schemas/metadefs/{name}": ["GET"],
];

/// The Network v2 app (`/network`). Each collection answers with a `.json`
/// suffix too, as Neutron's does.
pub const NETWORK_ROUTES: &[Endpoint] = endpoints![
    "/": ["GET"],
    "/v2.0": ["GET"],
    "/v2.0/": ["GET"],
    "/v2.0/extensions": ["GET"],
    "/v2.0/extensions/{alias}": ["GET"],
    "/v2.0/networks": ["GET", "POST"],
    "/v2.0/networks.json": ["GET", "POST"],
    "/v2.0/networks/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/subnets": ["GET", "POST"],
    "/v2.0/subnets.json": ["GET", "POST"],
    "/v2.0/subnets/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/ports": ["GET", "POST"],
    "/v2.0/ports.json": ["GET", "POST"],
    "/v2.0/ports/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/security-groups": ["GET", "POST"],
    "/v2.0/security-groups.json": ["GET", "POST"],
    "/v2.0/security-groups/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/security-group-rules": ["GET", "POST"],
    "/v2.0/security-group-rules.json": ["GET", "POST"],
    "/v2.0/security-group-rules/{id}": ["GET", "DELETE"],
    "/v2.0/routers": ["GET", "POST"],
    "/v2.0/routers.json": ["GET", "POST"],
    "/v2.0/routers/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/routers/{id}/add_router_interface": ["PUT"],
    "/v2.0/routers/{id}/remove_router_interface": ["PUT"],
    "/v2.0/floatingips": ["GET", "POST"],
    "/v2.0/floatingips.json": ["GET", "POST"],
    "/v2.0/floatingips/{id}": ["GET", "PUT", "DELETE"],
    "/v2.0/quotas": ["GET"],
    "/v2.0/quotas.json": ["GET"],
    "/v2.0/quotas/{project}": ["GET", "PUT", "DELETE"],
    "/v2.0/quotas/{project}/default": ["GET"],
    "/v2.0/quotas/{project}/default.json": ["GET"],
    "/v2.0/quotas/{project}/details": ["GET"],
    "/v2.0/quotas/{project}/details.json": ["GET"],
    "/v2.0/auto-allocated-topology/{project}": ["GET", "DELETE"],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_holds_its_ends_and_nothing_beyond() {
        let proxy = Versions::until(35);
        assert!(proxy.contains(ApiVersion::new(2, 1)));
        assert!(proxy.contains(ApiVersion::new(2, 35)));
        assert!(!proxy.contains(ApiVersion::new(2, 36)));
        let tags = Versions::from(26);
        assert!(!tags.contains(ApiVersion::new(2, 25)));
        assert!(tags.contains(MAX_VERSION));
        assert_eq!(proxy.describe(), "2.1-2.35");
        assert_eq!(tags.describe(), "2.26-2.104");
    }
}
