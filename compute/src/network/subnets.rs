//! Subnets: a cidr on a network, its gateway and allocation pools.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ipam;
use super::listing::{self, ListQuery, Page};
use super::networks::visible_in_tx;
use super::{check_text, owner_project, NetworkError, NetworkResult};
use crate::store::{args, from_micros, now_micros};
use crate::{Compute, RequestContext};

/// A range of addresses ports are given from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPool {
    /// The first address.
    pub start: String,
    /// The last address.
    pub end: String,
}

/// A static route handed to hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRoute {
    /// The destination cidr.
    pub destination: String,
    /// The next hop address.
    pub nexthop: String,
}

/// A subnet as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subnet {
    /// The uuid.
    pub id: String,
    /// Its network.
    pub network_id: String,
    /// The owner project.
    pub project_id: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// 4 or 6.
    pub ip_version: i64,
    /// The cidr.
    pub cidr: String,
    /// The gateway, if any.
    pub gateway_ip: Option<String>,
    /// Where port addresses come from.
    pub allocation_pools: Vec<AllocationPool>,
    /// DNS servers handed to hosts.
    pub dns_nameservers: Vec<String>,
    /// Static routes handed to hosts.
    pub host_routes: Vec<HostRoute>,
    /// DHCP on the subnet (only recorded: the simulation runs no agent).
    pub enable_dhcp: bool,
    /// Whether its network is external (`router:external`, Neutron's
    /// `subnet-external-network`: read only).
    #[serde(rename = "router:external")]
    pub router_external: bool,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Subnet {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "network_id",
        "project_id",
        "name",
        "description",
        "ip_version",
        "cidr",
        "gateway_ip",
        "allocation_pools",
        "dns_nameservers",
        "host_routes",
        "enable_dhcp",
        "router:external",
        "created_at",
        "updated_at",
    ];
}

/// A requested gateway.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum GatewayIp {
    /// Not given: the first host address.
    #[default]
    Default,
    /// `null`: no gateway.
    None,
    /// This address.
    Address(String),
}

/// What to create (`POST /v2.0/subnets`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSubnet {
    /// The network (visible to the caller, and its own unless admin).
    pub network_id: String,
    /// 4 or 6.
    pub ip_version: i64,
    /// The cidr (no host bits set).
    pub cidr: String,
    /// The name ('').
    pub name: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// The gateway.
    pub gateway_ip: GatewayIp,
    /// The pools (the host range without the gateway).
    pub allocation_pools: Option<Vec<AllocationPool>>,
    /// DNS servers ([]).
    pub dns_nameservers: Option<Vec<String>>,
    /// Static routes ([]).
    pub host_routes: Option<Vec<HostRoute>>,
    /// DHCP (true).
    pub enable_dhcp: Option<bool>,
}

/// What to change (`PUT /v2.0/subnets/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubnetUpdate {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The gateway (`Some(None)`: none).
    pub gateway_ip: Option<Option<String>>,
    /// The pools.
    pub allocation_pools: Option<Vec<AllocationPool>>,
    /// DNS servers.
    pub dns_nameservers: Option<Vec<String>>,
    /// Static routes.
    pub host_routes: Option<Vec<HostRoute>>,
    /// DHCP.
    pub enable_dhcp: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct SubnetRow {
    id: String,
    network_id: String,
    project_id: String,
    name: String,
    description: String,
    ip_version: i64,
    cidr: String,
    gateway_ip: Option<String>,
    allocation_pools: String,
    dns_nameservers: String,
    host_routes: String,
    enable_dhcp: bool,
    router_external: bool,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "s.id, s.network_id, s.project_id, s.name, s.description, s.ip_version, s.cidr, \
    s.gateway_ip, s.allocation_pools, s.dns_nameservers, s.host_routes, s.enable_dhcp, n.router_external, s.created_at, s.updated_at";

impl SubnetRow {
    fn into_subnet(self) -> Subnet {
        Subnet {
            id: self.id,
            network_id: self.network_id,
            project_id: self.project_id,
            name: self.name,
            description: self.description,
            ip_version: self.ip_version,
            cidr: self.cidr,
            gateway_ip: self.gateway_ip,
            allocation_pools: serde_json::from_str(&self.allocation_pools).unwrap_or_default(),
            dns_nameservers: serde_json::from_str(&self.dns_nameservers).unwrap_or_default(),
            host_routes: serde_json::from_str(&self.host_routes).unwrap_or_default(),
            enable_dhcp: self.enable_dhcp,
            router_external: self.router_external,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

fn parse_ip(field: &str, value: &str, version: i64) -> NetworkResult<IpAddr> {
    let ip: IpAddr = value.parse().map_err(|_| {
        NetworkError::invalid_attribute(field, &format!("'{value}' is not a valid IP address"))
    })?;
    if (version == 4) != ip.is_ipv4() {
        return Err(NetworkError::InvalidInput(format!(
            "{field} '{value}' does not match the ip_version '{version}'"
        )));
    }
    Ok(ip)
}

fn parse_cidr(value: &str, version: i64) -> NetworkResult<IpNet> {
    if version != 4 && version != 6 {
        return Err(NetworkError::invalid_attribute(
            "ip_version",
            &format!("{version} is not in [4, 6]"),
        ));
    }
    let net: IpNet = value.parse().map_err(|_| {
        NetworkError::invalid_attribute("cidr", &format!("'{value}' is not a valid IP subnet"))
    })?;
    if net.trunc() != net {
        return Err(NetworkError::invalid_attribute(
            "cidr",
            &format!(
                "'{value}' isn't a recognized IP subnet cidr, '{}' is recommended",
                net.trunc()
            ),
        ));
    }
    if (version == 4) != matches!(net, IpNet::V4(_)) {
        return Err(NetworkError::InvalidInput(format!(
            "Cidr {value} does not match the ip_version {version}"
        )));
    }
    let max = if version == 4 { 30 } else { 126 };
    if net.prefix_len() == 0 || net.prefix_len() > max {
        return Err(NetworkError::InvalidInput(format!(
            "Invalid CIDR {value} for IPv{version} subnet: the prefix length must be between 1 and {max}"
        )));
    }
    Ok(net)
}

fn check_dns(servers: &[String], version: i64) -> NetworkResult<()> {
    let mut seen = std::collections::HashSet::new();
    for s in servers {
        let ip: IpAddr = s.parse().map_err(|_| {
            NetworkError::invalid_attribute(
                "dns_nameservers",
                &format!("'{s}' is not a valid nameserver"),
            )
        })?;
        let _ = version;
        if !seen.insert(ip) {
            return Err(NetworkError::invalid_attribute(
                "dns_nameservers",
                &format!("Duplicate nameserver '{s}'"),
            ));
        }
    }
    Ok(())
}

fn check_routes(routes: &[HostRoute], version: i64) -> NetworkResult<()> {
    for r in routes {
        let dest: IpNet = r.destination.parse().map_err(|_| {
            NetworkError::invalid_attribute(
                "host_routes",
                &format!("'{}' is not a valid IP subnet", r.destination),
            )
        })?;
        let hop = parse_ip("host_routes", &r.nexthop, version)?;
        if dest.network().is_ipv4() != hop.is_ipv4() {
            return Err(NetworkError::InvalidInput(format!(
                "Host route {}/{} mixes address families",
                r.destination, r.nexthop
            )));
        }
    }
    Ok(())
}

/// The gateway, pools, DNS servers and routes of a subnet, checked.
struct Layout {
    gateway: Option<IpAddr>,
    pools: Vec<AllocationPool>,
}

fn layout(
    net: &IpNet,
    version: i64,
    gateway: &GatewayIp,
    pools: Option<&Vec<AllocationPool>>,
) -> NetworkResult<Layout> {
    let gateway = match gateway {
        GatewayIp::None => None,
        GatewayIp::Default => Some(ipam::from_num(ipam::host_range(net).0, net.network())),
        GatewayIp::Address(a) => {
            let ip = parse_ip("gateway_ip", a, version)?;
            let n = ipam::to_num(ip);
            if net.contains(&ip)
                && (n == ipam::to_num(net.network())
                    || (version == 4 && n == ipam::to_num(net.broadcast())))
            {
                return Err(NetworkError::InvalidInput(format!(
                    "Gateway is not valid on subnet: {a} is the network or broadcast address of {net}"
                )));
            }
            Some(ip)
        }
    };
    let pools = match pools {
        Some(p) => {
            ipam::check_pools(net, gateway, p)?;
            p.clone()
        }
        None => ipam::default_pools(net, gateway),
    };
    Ok(Layout { gateway, pools })
}

impl Compute {
    async fn subnet_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
        network: Option<&str>,
    ) -> NetworkResult<Vec<Subnet>> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM subnets s JOIN networks n ON n.id = s.network_id WHERE 1 = 1"
        );
        let mut a = args![];
        if !ctx.is_admin {
            a.push(ctx.project_id.clone().into());
            sql.push_str(&format!(
                " AND (s.project_id = ${0} OR n.project_id = ${0} OR n.shared = TRUE \
                 OR n.router_external = TRUE)",
                a.len()
            ));
        }
        if let Some(id) = id {
            a.push(id.into());
            sql.push_str(&format!(" AND s.id = ${}", a.len()));
        }
        if let Some(net) = network {
            a.push(net.into());
            sql.push_str(&format!(" AND s.network_id = ${}", a.len()));
        }
        sql.push_str(" ORDER BY s.created_at, s.id");
        let rows: Vec<SubnetRow> = self.store.fetch_all(&sql, a).await?;
        Ok(rows.into_iter().map(SubnetRow::into_subnet).collect())
    }

    /// Creates a subnet on a network the caller owns (or any, for an
    /// admin), checking the cidr (no overlap with the network's other
    /// subnets), the gateway, the pools, DNS servers and routes.
    pub async fn create_subnet(
        &self,
        ctx: &RequestContext,
        req: NewSubnet,
    ) -> NetworkResult<Subnet> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let name = req.name.clone().unwrap_or_default();
        check_text("name", &name)?;
        let description = req.description.clone().unwrap_or_default();
        check_text("description", &description)?;
        let net = parse_cidr(&req.cidr, req.ip_version)?;
        let Layout { gateway, pools } = layout(
            &net,
            req.ip_version,
            &req.gateway_ip,
            req.allocation_pools.as_ref(),
        )?;
        let dns = req.dns_nameservers.clone().unwrap_or_default();
        check_dns(&dns, req.ip_version)?;
        let routes = req.host_routes.clone().unwrap_or_default();
        check_routes(&routes, req.ip_version)?;

        let mut tx = self
            .store
            .begin_locked(&super::quotas::quota_lock(&project))
            .await?;
        tx.lock(&format!("network:{}", req.network_id)).await?;
        let (owner, _) = visible_in_tx(&mut tx, ctx, &req.network_id).await?;
        if !ctx.is_admin && owner != ctx.project_id {
            return Err(super::not_owner("create_subnet"));
        }
        super::quotas::check(&mut tx, &self.config.network_quota, &project, "subnet", 1).await?;
        let others: Vec<(String,)> = tx
            .fetch_all(
                "SELECT cidr FROM subnets WHERE network_id = $1",
                args![&req.network_id],
            )
            .await?;
        for (cidr,) in others {
            if let Ok(other) = cidr.parse::<IpNet>() {
                if other.contains(&net.network()) || net.contains(&other.network()) {
                    return Err(NetworkError::InvalidInput(format!(
                        "Requested subnet with cidr: {} for network: {} overlaps with another subnet",
                        req.cidr, req.network_id
                    )));
                }
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        tx.execute(
            "INSERT INTO subnets (id, network_id, project_id, name, description, ip_version, cidr, gateway_ip, \
             allocation_pools, dns_nameservers, host_routes, enable_dhcp, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
            args![
                &id,
                &req.network_id,
                project,
                name,
                description,
                req.ip_version,
                net.to_string(),
                gateway.map(|g| g.to_string()),
                json(&pools),
                json(&dns),
                json(&routes),
                req.enable_dhcp.unwrap_or(true),
                now
            ],
        )
        .await?;
        tx.execute(
            "UPDATE networks SET updated_at = $2 WHERE id = $1",
            args![&req.network_id, now],
        )
        .await?;
        tx.commit().await?;
        self.get_subnet(ctx, &id).await
    }

    /// The subnet `id`, when the caller may see it.
    pub async fn get_subnet(&self, ctx: &RequestContext, id: &str) -> NetworkResult<Subnet> {
        self.subnet_rows(ctx, Some(id), None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::SubnetNotFound(id.to_string()))
    }

    /// The subnets the caller sees (its own and those of the networks it
    /// sees), filtered, sorted and paged by `query`.
    pub async fn list_subnets(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<Subnet>> {
        let rows = self.subnet_rows(ctx, None, None).await?;
        listing::page(
            rows,
            query,
            Subnet::FIELDS,
            |s| s.id.as_str(),
            NetworkError::SubnetNotFound,
        )
    }

    async fn owned_subnet(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: &str,
    ) -> NetworkResult<Subnet> {
        let subnet = self.get_subnet(ctx, id).await?;
        if !ctx.is_admin && subnet.project_id != ctx.project_id {
            return Err(super::not_owner(action));
        }
        Ok(subnet)
    }

    /// Changes a subnet (its owner or an admin). Addresses already given
    /// out stay with their ports even outside new pools, as in Neutron.
    pub async fn update_subnet(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: SubnetUpdate,
    ) -> NetworkResult<Subnet> {
        let current = self.owned_subnet(ctx, id, "update_subnet").await?;
        if let Some(n) = &req.name {
            check_text("name", n)?;
        }
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        let net = parse_cidr(&current.cidr, current.ip_version)?;
        let gateway = match &req.gateway_ip {
            None => match &current.gateway_ip {
                Some(g) => GatewayIp::Address(g.clone()),
                None => GatewayIp::None,
            },
            Some(None) => GatewayIp::None,
            Some(Some(g)) => GatewayIp::Address(g.clone()),
        };
        let pools = req
            .allocation_pools
            .clone()
            .unwrap_or_else(|| current.allocation_pools.clone());
        let Layout { gateway, pools } = layout(&net, current.ip_version, &gateway, Some(&pools))?;
        let dns = req
            .dns_nameservers
            .clone()
            .unwrap_or_else(|| current.dns_nameservers.clone());
        check_dns(&dns, current.ip_version)?;
        let routes = req
            .host_routes
            .clone()
            .unwrap_or_else(|| current.host_routes.clone());
        check_routes(&routes, current.ip_version)?;
        self.store
            .execute(
                "UPDATE subnets SET name = $2, description = $3, gateway_ip = $4, allocation_pools = $5, \
                 dns_nameservers = $6, host_routes = $7, enable_dhcp = $8, updated_at = $9 WHERE id = $1",
                args![
                    id,
                    req.name.unwrap_or(current.name),
                    req.description.unwrap_or(current.description),
                    gateway.map(|g| g.to_string()),
                    json(&pools),
                    json(&dns),
                    json(&routes),
                    req.enable_dhcp.unwrap_or(current.enable_dhcp),
                    now_micros()
                ],
            )
            .await?;
        self.get_subnet(ctx, id).await
    }

    /// Deletes a subnet ([`NetworkError::SubnetInUse`] while a port holds
    /// one of its addresses).
    pub async fn delete_subnet(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        let subnet = self.owned_subnet(ctx, id, "delete_subnet").await?;
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", subnet.network_id))
            .await?;
        let (held,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = $1 AND released_at IS NULL",
                args![id],
            )
            .await?;
        if held > 0 {
            return Err(NetworkError::SubnetInUse(id.to_string()));
        }
        tx.execute("DELETE FROM ip_allocations WHERE subnet_id = $1", args![id])
            .await?;
        if tx
            .execute("DELETE FROM subnets WHERE id = $1", args![id])
            .await?
            == 0
        {
            return Err(NetworkError::SubnetNotFound(id.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
