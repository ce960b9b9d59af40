//! The network domain: Neutron's core resources (networks, subnets,
//! ports), security groups, routers and floating IPs over the shared
//! store, for the built-in Network v2 endpoint.
//!
//! | module | holds |
//! |---|---|
//! | [`error`] | [`NetworkError`]: Neutron's exceptions, typed |
//! | [`networks`] | [`Network`]: create, show, list, update, delete |
//! | [`subnets`] | [`Subnet`]: cidr, gateway and allocation pools checked as Neutron does |
//! | [`ports`] | [`Port`]: MAC and fixed IPs, allocated atomically across processes; its security groups |
//! | [`routers`] | [`Router`]: a gateway on an external network, interfaces on subnets |
//! | [`floating_ips`] | [`FloatingIp`]: an external address, associated with a port a router reaches |
//! | [`l3`] | what routers and floating IPs share: device owners, lock |
//! | [`quotas`] | [`NetworkQuotaLimits`]: Neutron's quotas, nova.conf's `[quotas]` and each project's own |
//! | [`security_groups`] | [`SecurityGroup`] and [`SecurityGroupRule`]: each project's default group, Neutron's rule checks, quotas |
//! | [`listing`] | [`ListQuery`]: Neutron's field filters, sorting and paging |
//! | [`auto_topology`] | [`AutoAllocatedTopology`]: a project's network, subnet and router made on first asking |
//! | [`lookup`] | a security group by name or id, a floating IP by address, as nova's actions name them |
//!
//! Scoping: a non-admin caller sees its own networks plus the shared and
//! external ones, the subnets of those networks, its own ports plus the ports on
//! its networks, its own security groups, and the rules it owns or that
//! belong to its groups, its own routers and floating IPs; only an owner
//! (or an admin) changes a resource.
//!
//! Addresses: a port's fixed IPs are rows of `ip_allocations`, unique per
//! live (subnet, address) whatever the process; allocation runs under a
//! per-network write lock and is retried when the unique index refuses an
//! address another writer took. A released address stays out of automatic
//! allocation for `[simulator] fixed_ip_reuse_delay`, as instance fixed
//! IPs do.

/// How often a write is tried again after a unique index refused an
/// address or MAC address a concurrent writer took.
pub(crate) const ATTEMPTS: usize = 5;

/// Runs `$body` (the contents of an async block that ends in
/// `NetworkResult<()>`, one transaction) again while a unique index
/// refuses a row a concurrent writer inserted first, at most
/// [`ATTEMPTS`] times; its last result.
macro_rules! retry_unique {
    ($body:block) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: $crate::network::NetworkResult<()> = async $body.await;
            match result {
                Err(e)
                    if $crate::network::retryable(&e) && attempt < $crate::network::ATTEMPTS =>
                {
                    continue
                }
                other => break other,
            }
        }
    }};
}

pub mod auto_topology;
pub mod error;
pub mod floating_ips;
pub(crate) mod ipam;
pub mod l3;
pub mod listing;
pub mod lookup;
pub mod networks;
pub mod ports;
pub mod quotas;
pub mod routers;
pub mod security_groups;
pub mod subnets;

pub use auto_topology::AutoAllocatedTopology;
pub use error::{NetworkError, NetworkResult};
pub use floating_ips::{FloatingIp, FloatingIpUpdate, NewFloatingIp};
pub use listing::{ListQuery, Page};
pub use networks::{Network, NetworkUpdate, NewNetwork};
pub use ports::{FixedIp, FixedIpRequest, NewPort, Port, PortUpdate};
pub use quotas::{NetworkQuotaLimits, QuotaUsage, NETWORK_QUOTA_RESOURCES};
pub use routers::{
    ExternalGatewayInfo, GatewayRequest, InterfaceRequest, NewRouter, Router, RouterInterface,
    RouterUpdate,
};
pub use security_groups::{
    NewSecurityGroup, NewSecurityGroupRule, SecurityGroup, SecurityGroupRule, SecurityGroupUpdate,
};
pub use subnets::{AllocationPool, GatewayIp, HostRoute, NewSubnet, Subnet, SubnetUpdate};

use crate::RequestContext;

/// The MTU of a network created without one (Neutron's
/// `global_physnet_mtu` with no tunnel overhead).
pub const DEFAULT_MTU: i64 = 1500;

/// A network seeded on the first migration, with one IPv4 subnet whose
/// gateway is the first host address and the rest one pool.
pub(crate) struct SeededNetwork<'a> {
    pub name: &'a str,
    pub subnet_name: &'a str,
    pub cidr: ipnet::Ipv4Net,
    pub shared: bool,
    pub external: bool,
    pub enable_dhcp: bool,
}

/// Inserts `seed`, owned by the admin project: what a fresh cloud lists
/// (the shared `private` and the external `public`).
pub(crate) async fn seed_network(
    tx: &mut crate::store::Tx,
    seed: &SeededNetwork<'_>,
    now: i64,
) -> crate::Result<()> {
    use crate::store::args;
    let net = ipnet::IpNet::V4(seed.cidr);
    let network_id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO networks (id, project_id, name, description, shared, router_external, \
         is_default, admin_state_up, mtu, status, created_at, updated_at) \
         VALUES ($1, $2, $3, '', $4, $5, $5, TRUE, $6, 'ACTIVE', $7, $7)",
        args![
            &network_id,
            crate::seed::SEED_OWNER,
            seed.name,
            seed.shared,
            seed.external,
            DEFAULT_MTU,
            now
        ],
    )
    .await?;
    let (first, _) = ipam::host_range(&net);
    let gateway = ipam::from_num(first, net.network());
    let pools = ipam::default_pools(&net, Some(gateway));
    tx.execute(
        "INSERT INTO subnets (id, network_id, project_id, name, description, ip_version, cidr, gateway_ip, \
         allocation_pools, dns_nameservers, host_routes, enable_dhcp, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', 4, $5, $6, $7, '[]', '[]', $8, $9, $9)",
        args![
            uuid::Uuid::new_v4().to_string(),
            &network_id,
            crate::seed::SEED_OWNER,
            seed.subnet_name,
            net.to_string(),
            gateway.to_string(),
            subnets::json(&pools),
            seed.enable_dhcp,
            now
        ],
    )
    .await?;
    Ok(())
}

/// Refuses a non-admin setting `attribute` in `action`, as Neutron's
/// admin-only attribute rules do.
pub(crate) fn require_admin(
    ctx: &RequestContext,
    action: &str,
    attribute: &str,
) -> NetworkResult<()> {
    if ctx.is_admin {
        Ok(())
    } else {
        Err(NetworkError::PolicyNotAuthorized(format!(
            "(rule:{action} and rule:{action}:{attribute})"
        )))
    }
}

/// The refusal of `action` on a resource the caller sees but does not own.
pub(crate) fn not_owner(action: &str) -> NetworkError {
    NetworkError::PolicyNotAuthorized(format!("rule:{action}"))
}

/// The project a create is for: the caller's, or (admin only) another.
pub(crate) fn owner_project(
    ctx: &RequestContext,
    requested: Option<&str>,
) -> NetworkResult<String> {
    match requested {
        Some(p) if p != ctx.project_id => {
            if !ctx.is_admin {
                return Err(NetworkError::BadRequest(
                    "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges".into(),
                ));
            }
            if p.is_empty() {
                return Err(NetworkError::invalid_attribute(
                    "project_id",
                    "'' is too short",
                ));
            }
            Ok(p.to_string())
        }
        _ => Ok(ctx.project_id.clone()),
    }
}

/// Whether an error is worth another attempt: a unique index refused a
/// row a concurrent writer inserted first.
pub(crate) fn retryable(err: &NetworkError) -> bool {
    matches!(err, NetworkError::Compute(e) if crate::store::is_unique_violation(e))
}

/// A name or description: at most 255 characters.
pub(crate) fn check_text(field: &str, value: &str) -> NetworkResult<()> {
    if value.chars().count() > 255 {
        return Err(NetworkError::invalid_attribute(
            field,
            &format!("'{value}' exceeds maximum length of 255"),
        ));
    }
    Ok(())
}
