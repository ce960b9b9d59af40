//! Floating IPs: an address of an external network's subnet, held by a
//! port `network:floatingip` (so it is allocated atomically and rests
//! `fixed_ip_reuse_delay` once freed, as any fixed IP), associated with a
//! fixed IPv4 address of a port that a router joins to that network.

use std::net::IpAddr;

use serde::Serialize;

use super::l3::{
    bad_request, DEVICE_OWNER_FLOATINGIP, DEVICE_OWNER_ROUTER_GATEWAY,
    DEVICE_OWNER_ROUTER_INTERFACE, L3_LOCK,
};
use super::listing::{self, ListQuery, Page};
use super::ports::{remove_port_rows, ServicePort};
use super::{
    check_text, owner_project, require_admin, FixedIpRequest, NetworkError, NetworkResult, Port,
};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

/// A floating IP as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloatingIp {
    /// The uuid.
    pub id: String,
    /// The owner project.
    pub project_id: String,
    /// The floating address.
    pub floating_ip_address: String,
    /// The external network it comes from.
    pub floating_network_id: String,
    /// The router that joins it to its port, while associated.
    pub router_id: Option<String>,
    /// The port it is associated with.
    pub port_id: Option<String>,
    /// The port's fixed address it maps to.
    pub fixed_ip_address: Option<String>,
    /// `ACTIVE` while associated, else `DOWN`.
    pub status: String,
    /// The description.
    pub description: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl FloatingIp {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "project_id",
        "floating_ip_address",
        "floating_network_id",
        "router_id",
        "port_id",
        "fixed_ip_address",
        "status",
        "description",
        "created_at",
        "updated_at",
    ];
}

/// What to create (`POST /v2.0/floatingips`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewFloatingIp {
    /// The external network.
    pub floating_network_id: String,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// Associated at once with this port.
    pub port_id: Option<String>,
    /// This fixed address of the port (its only IPv4 one when `None`).
    pub fixed_ip_address: Option<String>,
    /// This floating address (admin only).
    pub floating_ip_address: Option<String>,
    /// From this subnet of the external network.
    pub subnet_id: Option<String>,
    /// The description ('').
    pub description: Option<String>,
}

/// What to change (`PUT /v2.0/floatingips/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FloatingIpUpdate {
    /// Associate with this port (`Some(None)`: disassociate).
    pub port_id: Option<Option<String>>,
    /// This fixed address of the port.
    pub fixed_ip_address: Option<String>,
    /// The description.
    pub description: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FloatingIpRow {
    id: String,
    project_id: String,
    floating_ip_address: String,
    floating_network_id: String,
    router_id: Option<String>,
    fixed_port_id: Option<String>,
    fixed_ip_address: Option<String>,
    status: String,
    description: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, project_id, floating_ip_address, floating_network_id, router_id, \
    fixed_port_id, fixed_ip_address, status, description, created_at, updated_at";

impl From<FloatingIpRow> for FloatingIp {
    fn from(r: FloatingIpRow) -> Self {
        FloatingIp {
            id: r.id,
            project_id: r.project_id,
            floating_ip_address: r.floating_ip_address,
            floating_network_id: r.floating_network_id,
            router_id: r.router_id,
            port_id: r.fixed_port_id,
            fixed_ip_address: r.fixed_ip_address,
            status: r.status,
            description: r.description,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        }
    }
}

/// The port side of an association, checked before the transaction.
struct Target {
    port_id: String,
    network_id: String,
    subnet_id: String,
    fixed_ip: String,
}

/// An association found in the transaction: (port, fixed address, router).
type Association = (String, String, String);

/// Disassociates every floating IP of port `port` (it is being deleted),
/// inside `tx`.
pub(crate) async fn disassociate_port(tx: &mut Tx, port: &str) -> NetworkResult<()> {
    tx.execute(
        "UPDATE floating_ips SET fixed_port_id = NULL, fixed_ip_address = NULL, router_id = NULL, \
         status = 'DOWN', updated_at = $2 WHERE fixed_port_id = $1",
        args![port, now_micros()],
    )
    .await?;
    Ok(())
}

/// Checks that `port` may get a floating IP of `fip_project` on `fixed`
/// (or its only fixed IPv4 address), as Neutron does.
fn target(
    ctx: &RequestContext,
    fip_project: &str,
    port: &Port,
    fixed: Option<&str>,
) -> NetworkResult<Target> {
    let refuse = |m: String| bad_request("floatingip", m);
    if port.project_id != fip_project && !ctx.is_admin {
        return Err(refuse(format!(
            "Cannot process floating IP association with Port {}, since that port is owned by a different tenant",
            port.id
        )));
    }
    if port.device_owner.starts_with("network:") {
        return Err(refuse(format!(
            "Port {} is unable to be assigned a floating IP",
            port.id
        )));
    }
    let chosen = match fixed {
        Some(ip) => {
            if !ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4()) {
                return Err(refuse(format!(
                    "Cannot process floating IP association with {ip}, since that is not an IPv4 address"
                )));
            }
            port.fixed_ips
                .iter()
                .find(|f| f.ip_address == ip)
                .ok_or_else(|| refuse(format!("Port {} does not have fixed ip {ip}", port.id)))?
        }
        None => {
            let v4: Vec<_> = port
                .fixed_ips
                .iter()
                .filter(|f| f.ip_address.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4()))
                .collect();
            match v4.as_slice() {
                [] => {
                    return Err(refuse(format!(
                        "Cannot add floating IP to port {} that has no fixed IPv4 addresses",
                        port.id
                    )))
                }
                [one] => *one,
                _ => {
                    return Err(refuse(format!(
                        "Port {} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP",
                        port.id
                    )))
                }
            }
        }
    };
    Ok(Target {
        port_id: port.id.clone(),
        network_id: port.network_id.clone(),
        subnet_id: chosen.subnet_id.clone(),
        fixed_ip: chosen.ip_address.clone(),
    })
}

/// The router that joins `target`'s subnet to `external` (the one whose
/// interface is the subnet's gateway first), and no other floating IP of
/// that network on the same fixed address; inside `tx`.
async fn associate(
    tx: &mut Tx,
    target: &Target,
    external: &str,
    fip_id: &str,
    fip_address: &str,
) -> NetworkResult<Association> {
    let (exists,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM ports WHERE id = $1",
            args![&target.port_id],
        )
        .await?;
    if exists == 0 {
        return Err(NetworkError::PortNotFound(target.port_id.clone()));
    }
    let routers: Vec<(String, String)> = tx
        .fetch_all(
            "SELECT DISTINCT i.device_id, a.ip_address FROM ports i \
             JOIN ip_allocations a ON a.port_id = i.id AND a.released_at IS NULL \
             JOIN ports g ON g.device_id = i.device_id AND g.device_owner = $1 AND g.network_id = $2 \
             WHERE i.device_owner = $3 AND i.network_id = $4 AND a.subnet_id = $5 \
             ORDER BY i.device_id",
            args![
                DEVICE_OWNER_ROUTER_GATEWAY,
                external,
                DEVICE_OWNER_ROUTER_INTERFACE,
                &target.network_id,
                &target.subnet_id
            ],
        )
        .await?;
    let gateway: Vec<(Option<String>,)> = tx
        .fetch_all(
            "SELECT gateway_ip FROM subnets WHERE id = $1",
            args![&target.subnet_id],
        )
        .await?;
    let gateway = gateway.into_iter().next().and_then(|(g,)| g);
    let router = routers
        .iter()
        .find(|(_, ip)| Some(ip) == gateway.as_ref())
        .or(routers.first())
        .map(|(r, _)| r.clone())
        .ok_or_else(|| NetworkError::ExternalGatewayForFloatingIpNotFound {
            external_network_id: external.to_string(),
            subnet_id: target.subnet_id.clone(),
            port_id: target.port_id.clone(),
        })?;
    let (taken,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM floating_ips WHERE floating_network_id = $1 \
             AND fixed_port_id = $2 AND fixed_ip_address = $3 AND id <> $4",
            args![external, &target.port_id, &target.fixed_ip, fip_id],
        )
        .await?;
    if taken > 0 {
        return Err(NetworkError::FloatingIpPortAlreadyAssociated {
            floating_ip_address: fip_address.to_string(),
            fip_id: fip_id.to_string(),
            port_id: target.port_id.clone(),
            fixed_ip: target.fixed_ip.clone(),
            net_id: external.to_string(),
        });
    }
    Ok((target.port_id.clone(), target.fixed_ip.clone(), router))
}

fn status_for(association: &Option<Association>) -> &'static str {
    if association.is_some() {
        "ACTIVE"
    } else {
        "DOWN"
    }
}

impl Compute {
    async fn floating_ip_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> NetworkResult<Vec<FloatingIp>> {
        let (sql, a) = super::l3::owned_rows(COLUMNS, "floating_ips", ctx, id);
        let rows: Vec<FloatingIpRow> = self.store.fetch_all(&sql, a).await?;
        Ok(rows.into_iter().map(FloatingIp::from).collect())
    }

    /// The floating IP `id`, when it is the caller's (any, for an admin).
    pub async fn get_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> NetworkResult<FloatingIp> {
        self.floating_ip_rows(ctx, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::FloatingIpNotFound(id.to_string()))
    }

    /// The caller's floating IPs (all, for an admin), filtered, sorted
    /// and paged by `query`.
    pub async fn list_floating_ips(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<FloatingIp>> {
        let rows = self.floating_ip_rows(ctx, None).await?;
        listing::page(
            rows,
            query,
            FloatingIp::FIELDS,
            |f| f.id.as_str(),
            NetworkError::FloatingIpNotFound,
        )
    }

    /// The port side of an association asked for, checked.
    async fn target_of(
        &self,
        ctx: &RequestContext,
        fip_project: &str,
        port_id: Option<&str>,
        fixed: Option<&str>,
    ) -> NetworkResult<Option<Target>> {
        match port_id {
            None if fixed.is_some() => Err(bad_request(
                "floatingip",
                "fixed_ip_address cannot be specified without a port_id".into(),
            )),
            None => Ok(None),
            Some(p) => {
                let port = self.get_port(ctx, p).await?;
                target(ctx, fip_project, &port, fixed).map(Some)
            }
        }
    }

    /// Creates a floating IP of an external network (the address from its
    /// subnets, never one in use), associated at once when a port is
    /// given; within the project's quota.
    pub async fn create_floating_ip(
        &self,
        ctx: &RequestContext,
        req: NewFloatingIp,
    ) -> NetworkResult<FloatingIp> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let description = req.description.clone().unwrap_or_default();
        check_text("description", &description)?;
        if req.floating_ip_address.is_some() {
            require_admin(ctx, "create_floatingip", "floating_ip_address")?;
        }
        let target = self
            .target_of(
                ctx,
                &project,
                req.port_id.as_deref(),
                req.fixed_ip_address.as_deref(),
            )
            .await?;
        let net = req.floating_network_id.as_str();
        let wanted = (req.subnet_id.is_some() || req.floating_ip_address.is_some()).then(|| {
            vec![FixedIpRequest {
                subnet_id: req.subnet_id.clone(),
                ip_address: req.floating_ip_address.clone(),
            }]
        });
        let id = uuid::Uuid::new_v4().to_string();
        retry_unique!({
            let mut tx = self.store.begin_locked(&format!("network:{net}")).await?;
            tx.lock(L3_LOCK).await?;
            let found: Vec<(bool,)> = tx
                .fetch_all(
                    "SELECT router_external FROM networks WHERE id = $1",
                    args![net],
                )
                .await?;
            match found.first() {
                None => return Err(NetworkError::NetworkNotFound(net.to_string())),
                Some((false,)) => {
                    return Err(bad_request(
                        "floatingip",
                        format!("Network {net} is not a valid external network"),
                    ))
                }
                Some((true,)) => {}
            }
            let (v4,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM subnets WHERE network_id = $1 AND ip_version = 4",
                    args![net],
                )
                .await?;
            if v4 == 0 {
                return Err(bad_request(
                    "floatingip",
                    format!("Network {net} does not contain any IPv4 subnet"),
                ));
            }
            super::quotas::check(
                &mut tx,
                &self.config.network_quota,
                &project,
                "floatingip",
                1,
            )
            .await?;
            let port = self
                .insert_service_port(
                    &mut tx,
                    &ServicePort {
                        network_id: net,
                        project_id: "",
                        device_id: &id,
                        device_owner: DEVICE_OWNER_FLOATINGIP,
                        fixed_ips: wanted.as_deref(),
                    },
                )
                .await?;
            let held: Vec<(String,)> = tx
                .fetch_all(
                    "SELECT ip_address FROM ip_allocations WHERE port_id = $1 \
                         AND released_at IS NULL ORDER BY position",
                    args![&port],
                )
                .await?;
            let address = held
                .into_iter()
                .map(|(a,)| a)
                .find(|a| a.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv4()))
                .ok_or_else(|| NetworkError::ExternalIpAddressExhausted(net.to_string()))?;
            let association = match &target {
                Some(t) => Some(associate(&mut tx, t, net, &id, &address).await?),
                None => None,
            };
            let (fixed_port, fixed_ip, router) = match &association {
                Some((p, ip, r)) => (Some(p.clone()), Some(ip.clone()), Some(r.clone())),
                None => (None, None, None),
            };
            tx.execute(
                    "INSERT INTO floating_ips (id, project_id, floating_network_id, floating_port_id, \
                     floating_ip_address, fixed_port_id, fixed_ip_address, router_id, status, description, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                    args![
                        &id,
                        &project,
                        net,
                        &port,
                        &address,
                        fixed_port,
                        fixed_ip,
                        router,
                        status_for(&association),
                        &description,
                        now_micros()
                    ],
                )
                .await?;
            tx.commit().await?;
            Ok(())
        })?;
        self.get_floating_ip(ctx, &id).await
    }

    /// Associates a floating IP with a port (`port_id`), disassociates it
    /// (`port_id: null`), or changes its description (its owner or an
    /// admin).
    pub async fn update_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: FloatingIpUpdate,
    ) -> NetworkResult<FloatingIp> {
        let current = self.get_floating_ip(ctx, id).await?;
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        let wanted_port = match &req.port_id {
            Some(p) => p.as_deref(),
            None if req.fixed_ip_address.is_some() => current.port_id.as_deref(),
            None => None,
        };
        let target = match (&req.port_id, wanted_port) {
            (None, None) => None,
            (_, port) => {
                self.target_of(
                    ctx,
                    &current.project_id,
                    port,
                    req.fixed_ip_address.as_deref(),
                )
                .await?
            }
        };
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", current.floating_network_id))
            .await?;
        tx.lock(L3_LOCK).await?;
        let association = match (&req.port_id, &target) {
            (_, Some(t)) => Some(
                associate(
                    &mut tx,
                    t,
                    &current.floating_network_id,
                    id,
                    &current.floating_ip_address,
                )
                .await?,
            ),
            (Some(None), None) => None,
            // Neither port nor address named: the association stays.
            _ => match (
                &current.port_id,
                &current.fixed_ip_address,
                &current.router_id,
            ) {
                (Some(p), Some(ip), Some(r)) => Some((p.clone(), ip.clone(), r.clone())),
                _ => None,
            },
        };
        let (fixed_port, fixed_ip, router) = match &association {
            Some((p, ip, r)) => (Some(p.clone()), Some(ip.clone()), Some(r.clone())),
            None => (None, None, None),
        };
        tx.execute(
            "UPDATE floating_ips SET fixed_port_id = $2, fixed_ip_address = $3, router_id = $4, \
             status = $5, description = $6, updated_at = $7 WHERE id = $1",
            args![
                id,
                fixed_port,
                fixed_ip,
                router,
                status_for(&association),
                req.description
                    .clone()
                    .unwrap_or(current.description.clone()),
                now_micros()
            ],
        )
        .await?;
        tx.commit().await?;
        self.get_floating_ip(ctx, id).await
    }

    /// Deletes a floating IP (its owner or an admin); its address is
    /// released and rests `fixed_ip_reuse_delay`.
    pub async fn delete_floating_ip(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        let fip = self.get_floating_ip(ctx, id).await?;
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", fip.floating_network_id))
            .await?;
        tx.lock(L3_LOCK).await?;
        let ports: Vec<(String,)> = tx
            .fetch_all(
                "SELECT floating_port_id FROM floating_ips WHERE id = $1",
                args![id],
            )
            .await?;
        let Some((port,)) = ports.into_iter().next() else {
            return Err(NetworkError::FloatingIpNotFound(id.to_string()));
        };
        tx.execute("DELETE FROM floating_ips WHERE id = $1", args![id])
            .await?;
        remove_port_rows(&mut tx, &port).await?;
        tx.commit().await?;
        Ok(())
    }
}
