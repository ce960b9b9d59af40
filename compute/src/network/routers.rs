//! Routers, just far enough for floating IPs: a gateway port on an
//! external network (`external_gateway_info`) and interface ports on
//! tenant subnets (at the subnet's gateway address, or a port given).
//! A floating IP reaches a port when one router has both an interface on
//! the port's subnet and its gateway on the floating IP's network.

use ipnet::IpNet;
use serde::Serialize;

use super::l3::{bad_request, DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE, L3_LOCK};
use super::listing::{self, ListQuery, Page};
use super::ports::{remove_port_rows, ServicePort};
use super::{
    check_text, owner_project, require_admin, FixedIp, FixedIpRequest, NetworkError, NetworkResult,
};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

/// A router's gateway, as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalGatewayInfo {
    /// The external network.
    pub network_id: String,
    /// Source NAT on the gateway.
    pub enable_snat: bool,
    /// The gateway port's addresses.
    pub external_fixed_ips: Vec<FixedIp>,
}

/// A router as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Router {
    /// The uuid.
    pub id: String,
    /// The owner project.
    pub project_id: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// The administrative state.
    pub admin_state_up: bool,
    /// `ACTIVE`.
    pub status: String,
    /// Its gateway, if any.
    pub external_gateway_info: Option<ExternalGatewayInfo>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Router {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "project_id",
        "name",
        "description",
        "admin_state_up",
        "status",
        "external_gateway_info",
        "created_at",
        "updated_at",
    ];
}

/// A gateway asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayRequest {
    /// The external network.
    pub network_id: String,
    /// Source NAT (true; setting it: admin only).
    pub enable_snat: Option<bool>,
    /// The gateway's addresses (one from the network's subnets; setting
    /// them: admin only).
    pub external_fixed_ips: Option<Vec<FixedIpRequest>>,
}

/// What to create (`POST /v2.0/routers`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRouter {
    /// The name ('').
    pub name: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// The administrative state (true).
    pub admin_state_up: Option<bool>,
    /// A gateway (none).
    pub external_gateway_info: Option<GatewayRequest>,
}

/// What to change (`PUT /v2.0/routers/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouterUpdate {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The administrative state.
    pub admin_state_up: Option<bool>,
    /// The gateway (`Some(None)`: none).
    pub external_gateway_info: Option<Option<GatewayRequest>>,
}

/// An interface to add or remove: a subnet, a port, or (removal only) both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceRequest {
    /// The subnet (add: a port at its gateway address is made).
    pub subnet_id: Option<String>,
    /// The port (add: it becomes the interface).
    pub port_id: Option<String>,
}

/// What `add_router_interface` and `remove_router_interface` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterInterface {
    /// The router.
    pub id: String,
    /// The interface port's project.
    pub project_id: String,
    /// The interface port.
    pub port_id: String,
    /// Its network.
    pub network_id: String,
    /// Its (first) subnet.
    pub subnet_id: String,
    /// All its subnets.
    pub subnet_ids: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct RouterRow {
    id: String,
    project_id: String,
    name: String,
    description: String,
    admin_state_up: bool,
    status: String,
    enable_snat: bool,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, project_id, name, description, admin_state_up, status, enable_snat, \
    created_at, updated_at";

/// Refuses what only an admin may set in a gateway (Neutron's policy).
fn check_gateway_policy(
    ctx: &RequestContext,
    action: &str,
    gw: &GatewayRequest,
) -> NetworkResult<()> {
    if gw.enable_snat.is_some() {
        require_admin(ctx, action, "external_gateway_info:enable_snat")?;
    }
    if gw.external_fixed_ips.is_some() {
        require_admin(ctx, action, "external_gateway_info:external_fixed_ips")?;
    }
    Ok(())
}

/// The subnets (id, cidr) a router's ports of `device_owner` hold
/// addresses in, inside `tx`.
async fn router_subnets(
    tx: &mut Tx,
    router: &str,
    device_owner: &str,
) -> NetworkResult<Vec<(String, String)>> {
    Ok(tx
        .fetch_all(
            "SELECT DISTINCT a.subnet_id, s.cidr FROM ports p \
             JOIN ip_allocations a ON a.port_id = p.id AND a.released_at IS NULL \
             JOIN subnets s ON s.id = a.subnet_id \
             WHERE p.device_id = $1 AND p.device_owner = $2",
            args![router, device_owner],
        )
        .await?)
}

/// Neutron's check before a router gets ports on `new` subnets (id,
/// cidr): none it has a port on already, and none overlapping a subnet of
/// its ports of the same kind (interfaces, or the gateway).
async fn check_router_subnets(
    tx: &mut Tx,
    router: &str,
    new: &[(String, String)],
    gateway: bool,
) -> NetworkResult<()> {
    let interfaces = router_subnets(tx, router, DEVICE_OWNER_ROUTER_INTERFACE).await?;
    let gateways = router_subnets(tx, router, DEVICE_OWNER_ROUTER_GATEWAY).await?;
    for (id, _) in interfaces.iter().chain(&gateways) {
        if new.iter().any(|(n, _)| n == id) {
            return Err(bad_request(
                "router",
                format!("Router already has a port on subnet {id}"),
            ));
        }
    }
    let same_kind = if gateway { &gateways } else { &interfaces };
    for (sub_id, cidr) in same_kind {
        let Ok(have) = cidr.parse::<IpNet>() else {
            continue;
        };
        for (new_id, new_cidr) in new {
            let Ok(want) = new_cidr.parse::<IpNet>() else {
                continue;
            };
            if have.contains(&want.network()) || want.contains(&have.network()) {
                return Err(bad_request(
                    "router",
                    format!(
                        "Cidr {new_cidr} of subnet {new_id} overlaps with cidr {cidr} of subnet {sub_id}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The router's gateway port (id, network), inside `tx`.
async fn gateway_port(tx: &mut Tx, router: &str) -> NetworkResult<Option<(String, String)>> {
    let rows: Vec<(String, String)> = tx
        .fetch_all(
            "SELECT id, network_id FROM ports WHERE device_id = $1 AND device_owner = $2",
            args![router, DEVICE_OWNER_ROUTER_GATEWAY],
        )
        .await?;
    Ok(rows.into_iter().next())
}

/// Removes the router's gateway port, unless a floating IP reaches its
/// port through it.
async fn detach_gateway(tx: &mut Tx, router: &str) -> NetworkResult<()> {
    let Some((port, network)) = gateway_port(tx, router).await? else {
        return Ok(());
    };
    let (fips,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM floating_ips WHERE router_id = $1",
            args![router],
        )
        .await?;
    if fips > 0 {
        return Err(NetworkError::RouterExternalGatewayInUseByFloatingIp {
            router_id: router.to_string(),
            net_id: network,
        });
    }
    remove_port_rows(tx, &port).await?;
    Ok(())
}

/// Refuses removing the router's interface on `subnet` while a floating
/// IP reaches a fixed address of that subnet through the router.
async fn check_interface_unused(tx: &mut Tx, router: &str, subnet: &str) -> NetworkResult<()> {
    let cidr: Vec<(String,)> = tx
        .fetch_all("SELECT cidr FROM subnets WHERE id = $1", args![subnet])
        .await?;
    let Some(Ok(net)) = cidr.into_iter().next().map(|(c,)| c.parse::<IpNet>()) else {
        return Ok(());
    };
    let fixed: Vec<(String,)> = tx
        .fetch_all(
            "SELECT fixed_ip_address FROM floating_ips WHERE router_id = $1 \
             AND fixed_ip_address IS NOT NULL",
            args![router],
        )
        .await?;
    if fixed
        .iter()
        .filter_map(|(ip,)| ip.parse::<std::net::IpAddr>().ok())
        .any(|ip| net.contains(&ip))
    {
        return Err(NetworkError::RouterInterfaceInUseByFloatingIp {
            router_id: router.to_string(),
            subnet_id: subnet.to_string(),
        });
    }
    Ok(())
}

/// The (subnet id, ip) pairs port `port` holds, inside `tx`.
async fn port_addresses(tx: &mut Tx, port: &str) -> NetworkResult<Vec<(String, String)>> {
    Ok(tx
        .fetch_all(
            "SELECT subnet_id, ip_address FROM ip_allocations WHERE port_id = $1 \
             AND released_at IS NULL ORDER BY position",
            args![port],
        )
        .await?)
}

impl Compute {
    async fn router_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> NetworkResult<Vec<Router>> {
        let (sql, a) = super::l3::owned_rows(COLUMNS, "routers", ctx, id);
        let rows: Vec<RouterRow> = self.store.fetch_all(&sql, a).await?;
        let gateways: Vec<(String, String, Option<String>, Option<String>)> = self
            .store
            .fetch_all(
                "SELECT p.device_id, p.network_id, a.subnet_id, a.ip_address FROM ports p \
                 LEFT JOIN ip_allocations a ON a.port_id = p.id AND a.released_at IS NULL \
                 WHERE p.device_owner = $1 ORDER BY p.device_id, a.position",
                args![DEVICE_OWNER_ROUTER_GATEWAY],
            )
            .await?;
        let mut by_router: std::collections::HashMap<String, (String, Vec<FixedIp>)> =
            std::collections::HashMap::new();
        for (router, network, subnet, ip) in gateways {
            let entry = by_router
                .entry(router)
                .or_insert_with(|| (network, Vec::new()));
            if let (Some(subnet_id), Some(ip_address)) = (subnet, ip) {
                entry.1.push(FixedIp {
                    subnet_id,
                    ip_address,
                });
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| Router {
                external_gateway_info: by_router.remove(&r.id).map(|(network_id, ips)| {
                    ExternalGatewayInfo {
                        network_id,
                        enable_snat: r.enable_snat,
                        external_fixed_ips: ips,
                    }
                }),
                id: r.id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                admin_state_up: r.admin_state_up,
                status: r.status,
                created_at: from_micros(r.created_at),
                updated_at: from_micros(r.updated_at),
            })
            .collect())
    }

    /// The router `id`, when it is the caller's (any, for an admin).
    pub async fn get_router(&self, ctx: &RequestContext, id: &str) -> NetworkResult<Router> {
        self.router_rows(ctx, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::RouterNotFound(id.to_string()))
    }

    /// The caller's routers (all, for an admin), filtered, sorted and
    /// paged by `query`.
    pub async fn list_routers(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<Router>> {
        let rows = self.router_rows(ctx, None).await?;
        listing::page(
            rows,
            query,
            Router::FIELDS,
            |r| r.id.as_str(),
            NetworkError::RouterNotFound,
        )
    }

    /// Gives router `router` a gateway port on `gw`'s external network,
    /// inside `tx` (which holds that network's lock).
    async fn attach_gateway(
        &self,
        tx: &mut Tx,
        router: &str,
        gw: &GatewayRequest,
    ) -> NetworkResult<()> {
        let net: Vec<(bool,)> = tx
            .fetch_all(
                "SELECT router_external FROM networks WHERE id = $1",
                args![&gw.network_id],
            )
            .await?;
        match net.first() {
            None => return Err(NetworkError::NetworkNotFound(gw.network_id.clone())),
            Some((false,)) => {
                return Err(bad_request(
                    "router",
                    format!("Network {} is not an external network", gw.network_id),
                ))
            }
            Some((true,)) => {}
        }
        let subnets: Vec<(String, String, Option<String>)> = tx
            .fetch_all(
                "SELECT id, cidr, gateway_ip FROM subnets WHERE network_id = $1",
                args![&gw.network_id],
            )
            .await?;
        for ip in gw.external_fixed_ips.iter().flatten() {
            if let Some(a) = &ip.ip_address {
                if subnets
                    .iter()
                    .any(|(_, _, g)| g.as_deref() == Some(a.as_str()))
                {
                    return Err(bad_request(
                        "router",
                        format!("External IP {a} is the same as the gateway IP"),
                    ));
                }
            }
        }
        let new: Vec<(String, String)> = subnets.into_iter().map(|(id, c, _)| (id, c)).collect();
        check_router_subnets(tx, router, &new, true).await?;
        self.insert_service_port(
            tx,
            &ServicePort {
                network_id: &gw.network_id,
                project_id: "",
                device_id: router,
                device_owner: DEVICE_OWNER_ROUTER_GATEWAY,
                fixed_ips: gw.external_fixed_ips.as_deref(),
            },
        )
        .await?;
        Ok(())
    }

    /// Begins the transaction of a router change: the lock of `network`
    /// (where it allocates), if any, then [`L3_LOCK`].
    async fn begin_l3(&self, network: Option<&str>) -> NetworkResult<Tx> {
        let mut tx = match network {
            Some(n) => self.store.begin_locked(&format!("network:{n}")).await?,
            None => self.store.begin_locked(L3_LOCK).await?,
        };
        if network.is_some() {
            tx.lock(L3_LOCK).await?;
        }
        Ok(tx)
    }

    /// Creates a router of the caller's project (or, admin only, the one
    /// given), with a gateway when asked; within the project's quota.
    pub async fn create_router(
        &self,
        ctx: &RequestContext,
        req: NewRouter,
    ) -> NetworkResult<Router> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let name = req.name.clone().unwrap_or_default();
        check_text("name", &name)?;
        let description = req.description.clone().unwrap_or_default();
        check_text("description", &description)?;
        if let Some(gw) = &req.external_gateway_info {
            check_gateway_policy(ctx, "create_router", gw)?;
        }
        let gw = req.external_gateway_info.as_ref();
        let id = uuid::Uuid::new_v4().to_string();
        retry_unique!({
            let mut tx = self.begin_l3(gw.map(|g| g.network_id.as_str())).await?;
            super::quotas::check(&mut tx, &self.config.network_quota, &project, "router", 1)
                .await?;
            let now = now_micros();
            tx.execute(
                    "INSERT INTO routers (id, project_id, name, description, admin_state_up, status, \
                     enable_snat, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'ACTIVE', $6, $7, $7)",
                    args![
                        &id,
                        &project,
                        &name,
                        &description,
                        req.admin_state_up.unwrap_or(true),
                        gw.and_then(|g| g.enable_snat).unwrap_or(true),
                        now
                    ],
                )
                .await?;
            if let Some(gw) = gw {
                self.attach_gateway(&mut tx, &id, gw).await?;
            }
            tx.commit().await?;
            Ok(())
        })?;
        self.get_router(ctx, &id).await
    }

    /// Changes a router's name, description, state or gateway (its owner
    /// or an admin). A gateway to another network replaces the old one,
    /// which no floating IP may need; `Some(None)` removes it.
    pub async fn update_router(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: RouterUpdate,
    ) -> NetworkResult<Router> {
        let current = self.get_router(ctx, id).await?;
        if let Some(n) = &req.name {
            check_text("name", n)?;
        }
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        if let Some(Some(gw)) = &req.external_gateway_info {
            check_gateway_policy(ctx, "update_router", gw)?;
        }
        let current_net = current
            .external_gateway_info
            .as_ref()
            .map(|g| g.network_id.clone());
        let lock_net = match &req.external_gateway_info {
            Some(Some(gw)) => Some(gw.network_id.clone()),
            _ => None,
        };
        retry_unique!({
            let mut tx = self.begin_l3(lock_net.as_deref()).await?;
            let mut enable_snat = current
                .external_gateway_info
                .as_ref()
                .is_none_or(|g| g.enable_snat);
            match &req.external_gateway_info {
                None => {}
                Some(None) => {
                    detach_gateway(&mut tx, id).await?;
                    enable_snat = true;
                }
                Some(Some(gw)) => {
                    let same = current_net.as_deref() == Some(gw.network_id.as_str());
                    if !same {
                        detach_gateway(&mut tx, id).await?;
                        self.attach_gateway(&mut tx, id, gw).await?;
                    } else if gw.external_fixed_ips.is_some() {
                        // New addresses on the same network: the gateway
                        // stays, floating IPs keep their route.
                        if let Some((port, _)) = gateway_port(&mut tx, id).await? {
                            remove_port_rows(&mut tx, &port).await?;
                        }
                        self.attach_gateway(&mut tx, id, gw).await?;
                    }
                    enable_snat = gw
                        .enable_snat
                        .unwrap_or(if same { enable_snat } else { true });
                }
            }
            tx.execute(
                "UPDATE routers SET name = $2, description = $3, admin_state_up = $4, \
                     enable_snat = $5, updated_at = $6 WHERE id = $1",
                args![
                    id,
                    req.name.clone().unwrap_or(current.name.clone()),
                    req.description
                        .clone()
                        .unwrap_or(current.description.clone()),
                    req.admin_state_up.unwrap_or(current.admin_state_up),
                    enable_snat,
                    now_micros()
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })?;
        self.get_router(ctx, id).await
    }

    /// Deletes a router and its gateway port ([`NetworkError::RouterInUse`]
    /// while it has interfaces).
    pub async fn delete_router(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        self.get_router(ctx, id).await?;
        let mut tx = self.begin_l3(None).await?;
        let (interfaces,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM ports WHERE device_id = $1 AND device_owner = $2",
                args![id, DEVICE_OWNER_ROUTER_INTERFACE],
            )
            .await?;
        if interfaces > 0 {
            return Err(NetworkError::RouterInUse(id.to_string()));
        }
        detach_gateway(&mut tx, id).await?;
        if tx
            .execute("DELETE FROM routers WHERE id = $1", args![id])
            .await?
            == 0
        {
            return Err(NetworkError::RouterNotFound(id.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds an interface to a router: a new port at a subnet's gateway
    /// address (the subnet the caller's, or the caller an admin), or a
    /// port of the caller's that no device uses.
    pub async fn add_router_interface(
        &self,
        ctx: &RequestContext,
        router_id: &str,
        req: InterfaceRequest,
    ) -> NetworkResult<RouterInterface> {
        let router = self.get_router(ctx, router_id).await?;
        match (&req.subnet_id, &req.port_id) {
            (None, None) => Err(bad_request(
                "router",
                "Either subnet_id or port_id must be specified".into(),
            )),
            (Some(_), Some(_)) => Err(bad_request(
                "router",
                "Cannot specify both subnet-id and port-id".into(),
            )),
            (Some(subnet_id), None) => self.add_interface_by_subnet(ctx, &router, subnet_id).await,
            (None, Some(port_id)) => self.add_interface_by_port(ctx, &router, port_id).await,
        }
    }

    async fn add_interface_by_subnet(
        &self,
        ctx: &RequestContext,
        router: &Router,
        subnet_id: &str,
    ) -> NetworkResult<RouterInterface> {
        let subnet = self.get_subnet(ctx, subnet_id).await?;
        let Some(gateway) = subnet.gateway_ip.clone() else {
            return Err(bad_request(
                "router",
                "Subnet for router interface must have a gateway IP".into(),
            ));
        };
        if !ctx.is_admin && subnet.project_id != ctx.project_id {
            return Err(bad_request(
                "router",
                format!(
                    "Cannot add interface to router because subnet {subnet_id} is not owned by project making the request"
                ),
            ));
        }
        let mut tx = self.begin_l3(Some(&subnet.network_id)).await?;
        check_router_subnets(
            &mut tx,
            &router.id,
            &[(subnet.id.clone(), subnet.cidr.clone())],
            false,
        )
        .await?;
        let wanted = [FixedIpRequest {
            subnet_id: Some(subnet.id.clone()),
            ip_address: Some(gateway),
        }];
        let port_id = self
            .insert_service_port(
                &mut tx,
                &ServicePort {
                    network_id: &subnet.network_id,
                    project_id: &router.project_id,
                    device_id: &router.id,
                    device_owner: DEVICE_OWNER_ROUTER_INTERFACE,
                    fixed_ips: Some(&wanted),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(RouterInterface {
            id: router.id.clone(),
            project_id: router.project_id.clone(),
            port_id,
            network_id: subnet.network_id,
            subnet_id: subnet.id.clone(),
            subnet_ids: vec![subnet.id],
        })
    }

    async fn add_interface_by_port(
        &self,
        ctx: &RequestContext,
        router: &Router,
        port_id: &str,
    ) -> NetworkResult<RouterInterface> {
        let port = self.owned_port(ctx, port_id, "update_port").await?;
        if !port.device_id.is_empty() {
            return Err(NetworkError::PortInUse {
                port_id: port.id,
                net_id: port.network_id,
                device_id: port.device_id,
            });
        }
        if port.fixed_ips.is_empty() {
            return Err(bad_request(
                "router",
                "Router port must have at least one fixed IP".into(),
            ));
        }
        let mut tx = self.begin_l3(Some(&port.network_id)).await?;
        let mut subnets = Vec::new();
        for ip in &port.fixed_ips {
            let cidr: (String,) = tx
                .fetch_one(
                    "SELECT cidr FROM subnets WHERE id = $1",
                    args![&ip.subnet_id],
                )
                .await?;
            subnets.push((ip.subnet_id.clone(), cidr.0));
        }
        check_router_subnets(&mut tx, &router.id, &subnets, false).await?;
        let v4 = subnets
            .iter()
            .filter(|(_, c)| c.parse::<IpNet>().is_ok_and(|n| matches!(n, IpNet::V4(_))))
            .count();
        if v4 > 1 {
            return Err(bad_request(
                "router",
                "Cannot have multiple IPv4 subnets on router port".into(),
            ));
        }
        tx.execute(
            "UPDATE ports SET device_id = $2, device_owner = $3, status = 'ACTIVE', updated_at = $4 \
             WHERE id = $1",
            args![
                port_id,
                &router.id,
                DEVICE_OWNER_ROUTER_INTERFACE,
                now_micros()
            ],
        )
        .await?;
        tx.commit().await?;
        let subnet_ids: Vec<String> = subnets.into_iter().map(|(id, _)| id).collect();
        Ok(RouterInterface {
            id: router.id.clone(),
            project_id: port.project_id,
            port_id: port.id,
            network_id: port.network_id,
            subnet_id: subnet_ids.last().cloned().unwrap_or_default(),
            subnet_ids,
        })
    }

    /// Removes a router's interface, named by its port (and, if given, a
    /// subnet it must have) or by its subnet; the port is deleted. Refused
    /// while a floating IP reaches a port through it.
    pub async fn remove_router_interface(
        &self,
        ctx: &RequestContext,
        router_id: &str,
        req: InterfaceRequest,
    ) -> NetworkResult<RouterInterface> {
        self.get_router(ctx, router_id).await?;
        let (port_id, network_id) = match (&req.port_id, &req.subnet_id) {
            (None, None) => {
                return Err(bad_request(
                    "router",
                    "Either subnet_id or port_id must be specified".into(),
                ))
            }
            (Some(port_id), _) => {
                let rows: Vec<(String,)> = self
                    .store
                    .fetch_all(
                        "SELECT network_id FROM ports WHERE id = $1 AND device_id = $2 \
                         AND device_owner = $3",
                        args![port_id, router_id, DEVICE_OWNER_ROUTER_INTERFACE],
                    )
                    .await?;
                let Some((network,)) = rows.into_iter().next() else {
                    return Err(NetworkError::RouterInterfaceNotFound {
                        router_id: router_id.to_string(),
                        port_id: port_id.clone(),
                    });
                };
                (Some(port_id.clone()), network)
            }
            (None, Some(subnet_id)) => {
                let subnet = self.get_subnet(ctx, subnet_id).await?;
                (None, subnet.network_id)
            }
        };
        let mut tx = self.begin_l3(Some(&network_id)).await?;
        let port_id = match port_id {
            Some(p) => p,
            None => {
                let subnet_id = req.subnet_id.clone().unwrap_or_default();
                let rows: Vec<(String,)> = tx
                    .fetch_all(
                        "SELECT p.id FROM ports p JOIN ip_allocations a ON a.port_id = p.id \
                         AND a.released_at IS NULL WHERE p.device_id = $1 AND p.device_owner = $2 \
                         AND a.subnet_id = $3",
                        args![router_id, DEVICE_OWNER_ROUTER_INTERFACE, &subnet_id],
                    )
                    .await?;
                match rows.into_iter().next() {
                    Some((p,)) => p,
                    None => {
                        return Err(NetworkError::RouterInterfaceNotFoundForSubnet {
                            router_id: router_id.to_string(),
                            subnet_id,
                        })
                    }
                }
            }
        };
        let addresses = port_addresses(&mut tx, &port_id).await?;
        let subnet_ids: Vec<String> = addresses.into_iter().map(|(s, _)| s).collect();
        if let Some(s) = &req.subnet_id {
            if !subnet_ids.contains(s) {
                return Err(NetworkError::SubnetMismatchForPort {
                    port_id: port_id.clone(),
                    subnet_id: s.clone(),
                });
            }
        }
        for s in &subnet_ids {
            check_interface_unused(&mut tx, router_id, s).await?;
        }
        let (project,): (String,) = tx
            .fetch_one(
                "SELECT project_id FROM ports WHERE id = $1",
                args![&port_id],
            )
            .await?;
        remove_port_rows(&mut tx, &port_id).await?;
        tx.commit().await?;
        Ok(RouterInterface {
            id: router_id.to_string(),
            project_id: project,
            port_id,
            network_id,
            subnet_id: req
                .subnet_id
                .clone()
                .or_else(|| subnet_ids.first().cloned())
                .unwrap_or_default(),
            subnet_ids,
        })
    }
}
