//! An instance's network, as nova keeps it with Neutron: the ports bound to
//! it (device id = its uuid, device owner `compute:<zone>`). What a create
//! asks for ([`NetworkRequest`]), the checks nova makes before it builds
//! anything, the ports made or bound inside the create's transaction, what
//! a delete gives back, and the interfaces ([`Vif`]) the APIs show.
//!
//! There is one allocator of addresses, the network domain's
//! (`ip_allocations`): an instance holds no address of its own.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::network::ports::{bind_port, release_instance_port, InstancePort};
use crate::network::{FixedIpRequest, NetworkError};
use crate::store::{Arg, Tx};
use crate::{Compute, Error, Instance, RequestContext, Result};

/// The `networks` of a create.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum NetworkRequest {
    /// Not given (before 2.37): the one network available to the project,
    /// none when there is none.
    #[default]
    Unspecified,
    /// `"auto"`: the one network available to the project.
    Auto,
    /// `"none"`: no network at all.
    None,
    /// The networks, ports and addresses asked for, in order.
    List(Vec<RequestedNetwork>),
}

/// One entry of a `networks` list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestedNetwork {
    /// A network uuid (a port is made on it).
    pub network_id: Option<String>,
    /// A port of the caller's (bound as it is).
    pub port_id: Option<String>,
    /// The address to get on `network_id`.
    pub fixed_ip: Option<IpAddr>,
    /// nova's device tag (2.32 and 2.42 on).
    pub tag: Option<String>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VifIp {
    /// The address.
    pub address: IpAddr,
    /// Its subnet.
    pub subnet_id: String,
}

/// A security group of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VifGroup {
    /// The group's uuid.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A port of an instance (nova's VIF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vif {
    /// The port id.
    pub port_id: String,
    /// Its network.
    pub network_id: String,
    /// The network's name (the key of a server's `addresses`).
    pub network_name: String,
    /// The MAC address.
    pub mac_address: String,
    /// Its fixed addresses, in order.
    pub fixed_ips: Vec<VifIp>,
    /// The floating addresses associated with it (IPv4).
    pub floating_ips: Vec<Ipv4Addr>,
    /// Its security groups, in order.
    pub security_groups: Vec<VifGroup>,
    /// The device tag given when it was attached.
    pub tag: Option<String>,
}

impl Instance {
    /// Its first fixed IPv4 address (EC2's `privateIpAddress`, the
    /// metadata service's `local-ipv4`).
    pub fn fixed_ipv4(&self) -> Option<Ipv4Addr> {
        self.vifs
            .iter()
            .flat_map(|v| &v.fixed_ips)
            .find_map(|ip| match ip.address {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
    }

    /// Its first floating address (EC2's `ipAddress`, `public-ipv4`).
    pub fn floating_ipv4(&self) -> Option<Ipv4Addr> {
        self.vifs
            .iter()
            .flat_map(|v| &v.floating_ips)
            .next()
            .copied()
    }

    /// Its ports' security groups, each once, in order.
    pub fn security_groups(&self) -> Vec<&VifGroup> {
        let mut groups: Vec<&VifGroup> = Vec::new();
        for g in self.vifs.iter().flat_map(|v| &v.security_groups) {
            if !groups.iter().any(|seen| seen.id == g.id) {
                groups.push(g);
            }
        }
        groups
    }
}

/// What a create will attach to each of its instances.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlannedNetworks {
    items: Vec<Planned>,
    /// The security groups of the ports it makes (ids).
    groups: Vec<String>,
}

#[derive(Debug, Clone)]
enum Planned {
    Network {
        network_id: String,
        fixed_ip: Option<IpAddr>,
        tag: Option<String>,
    },
    Port {
        port_id: String,
        network_id: String,
        tag: Option<String>,
    },
}

fn failed_launch(reason: &str) -> Error {
    Error::invalid(format!("Failed to launch instances: {reason}"))
}

/// A network-domain error met by a compute call, as nova answers it: its
/// store errors stay what they are, the port quota is nova's 403
/// `PortLimitExceeded`, the rest is a bad request.
pub(crate) fn from_network(e: NetworkError) -> Error {
    match e {
        NetworkError::Compute(e) => e,
        // nova's PortLimitExceeded.
        NetworkError::OverQuota(resources) if resources.iter().any(|r| r == "port") => {
            Error::Forbidden("Maximum number of ports exceeded".into())
        }
        other => Error::invalid(other.to_string()),
    }
}

/// `$first, $first+1, ...` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows per `IN (...)` list.
const CHUNK: usize = 500;

impl Compute {
    /// The networks a project may boot on without naming one (nova's
    /// available networks): its own unshared ones and the shared ones.
    /// External networks are left out (a decision: nova lists the admin
    /// project's external network too, so an admin without a network
    /// would always be asked to choose; see ARCHITECTURE.md).
    pub(super) async fn available_networks(&self, project: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT id FROM networks WHERE router_external = FALSE AND admin_state_up = TRUE \
                 AND (shared = TRUE OR project_id = $1) ORDER BY created_at, id",
                crate::store::args![project],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The ids of `names_or_ids` among the project's security groups
    /// (nova's checks: an unknown one is 400, a name two groups share 409);
    /// the project's default group when empty.
    pub(super) async fn resolve_security_groups(
        &self,
        ctx: &RequestContext,
        names_or_ids: &[String],
    ) -> Result<Vec<String>> {
        if names_or_ids.is_empty() {
            let default = self
                .ensure_default_security_group(ctx, &ctx.project_id)
                .await
                .map_err(from_network)?;
            return Ok(default.into_iter().collect());
        }
        let rows: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT id, name FROM security_groups WHERE project_id = $1",
                crate::store::args![&ctx.project_id],
            )
            .await?;
        let mut ids = Vec::new();
        for wanted in names_or_ids {
            if wanted == "default" {
                let default = self
                    .ensure_default_security_group(ctx, &ctx.project_id)
                    .await
                    .map_err(from_network)?;
                ids.extend(default);
                continue;
            }
            let by_id: Vec<&String> = rows
                .iter()
                .filter(|(id, _)| id == wanted)
                .map(|(id, _)| id)
                .collect();
            let by_name: Vec<&String> = rows
                .iter()
                .filter(|(_, name)| name == wanted)
                .map(|(id, _)| id)
                .collect();
            match (by_id.as_slice(), by_name.as_slice()) {
                ([id], _) | ([], [id]) => ids.push((*id).clone()),
                ([], []) => {
                    return Err(Error::invalid(format!(
                        "Security group {wanted} not found."
                    )))
                }
                _ => {
                    return Err(Error::Conflict(format!(
                        "Multiple security groups found matching '{wanted}'. Use an ID to be more specific."
                    )))
                }
            }
        }
        ids.dedup();
        Ok(ids)
    }

    /// nova's checks of a create's `networks` and `security_groups` for
    /// `max` instances, before anything is built.
    pub(crate) async fn plan_networks(
        &self,
        ctx: &RequestContext,
        request: &NetworkRequest,
        security_groups: &[String],
        max: u64,
    ) -> Result<PlannedNetworks> {
        let list = match request {
            NetworkRequest::None => return Ok(PlannedNetworks::default()),
            NetworkRequest::Unspecified | NetworkRequest::Auto => {
                let available = self.available_networks(&ctx.project_id).await?;
                match available.as_slice() {
                    // nova asks the network service for the project's
                    // auto-allocated topology.
                    [] if *request == NetworkRequest::Auto => {
                        let topology = self
                            .auto_allocated_topology(ctx, &ctx.project_id)
                            .await
                            .map_err(|e| match e {
                                NetworkError::Compute(e) => e,
                                _ => Error::invalid(format!(
                                    "Unable to automatically allocate a network for project {}",
                                    ctx.project_id
                                )),
                            })?;
                        vec![RequestedNetwork {
                            network_id: Some(topology.network_id),
                            ..RequestedNetwork::default()
                        }]
                    }
                    [] => return Ok(PlannedNetworks::default()),
                    [one] => vec![RequestedNetwork {
                        network_id: Some(one.clone()),
                        ..RequestedNetwork::default()
                    }],
                    _ => return Err(Error::Conflict(
                        "Multiple possible networks found, use a Network ID to be more specific."
                            .into(),
                    )),
                }
            }
            NetworkRequest::List(list) => list.clone(),
        };
        let mut items = Vec::with_capacity(list.len());
        for wanted in list {
            items.push(self.plan_one(ctx, wanted, max).await?);
        }
        let groups = if items.iter().any(|p| matches!(p, Planned::Network { .. })) {
            self.resolve_security_groups(ctx, security_groups).await?
        } else {
            Vec::new()
        };
        Ok(PlannedNetworks { items, groups })
    }

    async fn plan_one(
        &self,
        ctx: &RequestContext,
        wanted: RequestedNetwork,
        max: u64,
    ) -> Result<Planned> {
        if let Some(port_id) = wanted.port_id {
            if max > 1 {
                return Err(failed_launch(
                    "Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.",
                ));
            }
            let port = self.get_port(ctx, &port_id).await.map_err(|e| match e {
                NetworkError::PortNotFound(_) => {
                    Error::invalid(format!("Port id {port_id} could not be found."))
                }
                other => from_network(other),
            })?;
            if !port.device_id.is_empty() {
                return Err(Error::Conflict(format!("Port {port_id} is still in use.")));
            }
            if port.fixed_ips.is_empty() {
                return Err(Error::invalid(format!(
                    "Port {port_id} requires a FixedIP in order to be used."
                )));
            }
            return Ok(Planned::Port {
                port_id,
                network_id: port.network_id,
                tag: wanted.tag,
            });
        }
        let network_id = wanted.network_id.unwrap_or_default();
        let network = self
            .get_network(ctx, &network_id)
            .await
            .map_err(|e| match e {
                NetworkError::NetworkNotFound(_) => {
                    Error::invalid(format!("Network {network_id} could not be found."))
                }
                other => from_network(other),
            })?;
        if network.router_external && !network.shared && !ctx.is_admin {
            return Err(Error::Forbidden(format!(
                "It is not allowed to create an interface on external network {network_id}"
            )));
        }
        if network.subnets.is_empty() {
            return Err(Error::invalid(format!(
                "Network {network_id} requires a subnet in order to boot instances on."
            )));
        }
        if let Some(ip) = wanted.fixed_ip {
            if max > 1 {
                return Err(failed_launch(
                    "max_count cannot be greater than 1 if an fixed_ip is specified.",
                ));
            }
            if let Some(holder) = self.address_holder(&network_id, ip).await? {
                return Err(Error::invalid(format!(
                    "Fixed IP address {ip} is already in use on instance {holder}."
                )));
            }
        }
        Ok(Planned::Network {
            network_id,
            fixed_ip: wanted.fixed_ip,
            tag: wanted.tag,
        })
    }

    /// What holds `ip` on `network` now (the device, or the port when no
    /// device has it).
    async fn address_holder(&self, network: &str, ip: IpAddr) -> Result<Option<String>> {
        let row: Option<(String, String)> = self
            .store
            .fetch_optional(
                "SELECT p.id, p.device_id FROM ip_allocations a JOIN ports p ON p.id = a.port_id \
                 WHERE a.network_id = $1 AND a.ip_address = $2 AND a.released_at IS NULL",
                crate::store::args![network, ip.to_string()],
            )
            .await?;
        Ok(row.map(|(port, device)| if device.is_empty() { port } else { device }))
    }

    /// Makes or binds the planned ports of instance `uuid` on `host`,
    /// inside the create's transaction.
    pub(crate) async fn attach_planned(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        plan: &PlannedNetworks,
        uuid: &str,
        host: &str,
    ) -> Result<()> {
        let owner = self.device_owner();
        for item in &plan.items {
            match item {
                Planned::Network {
                    network_id,
                    fixed_ip,
                    tag,
                } => {
                    let fixed: Option<Vec<FixedIpRequest>> = fixed_ip.map(|ip| {
                        vec![FixedIpRequest {
                            subnet_id: None,
                            ip_address: Some(ip.to_string()),
                        }]
                    });
                    let port = self
                        .insert_instance_port(
                            tx,
                            ctx,
                            &InstancePort {
                                network_id,
                                project_id: &ctx.project_id,
                                device_id: uuid,
                                device_owner: &owner,
                                binding_host: host,
                                tag: tag.as_deref(),
                                fixed_ips: fixed.as_deref(),
                                security_groups: &plan.groups,
                            },
                        )
                        .await
                        .map_err(|e| match e {
                            NetworkError::IpAddressInUse { ip_address, .. } => Error::invalid(
                                format!("Fixed IP address {ip_address} is already in use."),
                            ),
                            other => from_network(other),
                        })?;
                    place_after_others(tx, &port, uuid).await?;
                }
                Planned::Port {
                    port_id,
                    network_id,
                    tag,
                } => {
                    tx.lock(&format!("network:{network_id}")).await?;
                    let bound = bind_port(tx, port_id, uuid, &owner, host, tag.as_deref())
                        .await
                        .map_err(from_network)?;
                    if !bound {
                        return Err(Error::Conflict(format!("Port {port_id} is still in use.")));
                    }
                    place_after_others(tx, port_id, uuid).await?;
                }
            }
        }
        Ok(())
    }

    /// nova's device owner of an instance's ports.
    pub(crate) fn device_owner(&self) -> String {
        format!("compute:{}", self.config.availability_zone)
    }

    /// Gives back what instance `uuid` holds on networks: the ports the
    /// compute API made are deleted (their addresses rest
    /// `fixed_ip_reuse_delay`, their floating IPs are disassociated), the
    /// ports a user gave are unbound. Idempotent.
    pub(crate) async fn release_instance_network(&self, uuid: &str) -> Result<()> {
        let ports: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT id, network_id FROM ports WHERE device_id = $1 AND device_owner LIKE 'compute:%' \
                 ORDER BY network_id, id",
                crate::store::args![uuid],
            )
            .await?;
        if ports.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", ports[0].1))
            .await?;
        for (_, network) in ports.iter().skip(1) {
            tx.lock(&format!("network:{network}")).await?;
        }
        tx.lock(crate::network::l3::L3_LOCK).await?;
        for (port, _) in &ports {
            release_instance_port(&mut tx, port)
                .await
                .map_err(from_network)?;
        }
        tx.commit().await
    }

    /// Fills the `vifs` of `instances` (one read per kind for the lot).
    pub(crate) async fn attach_network_info(&self, instances: &mut [Instance]) -> Result<()> {
        let all: Vec<usize> = (0..instances.len()).collect();
        self.attach_network_info_at(instances, &all).await
    }

    /// Fills the `vifs` of the instances at `positions` in `instances`.
    pub(crate) async fn attach_network_info_at(
        &self,
        instances: &mut [Instance],
        positions: &[usize],
    ) -> Result<()> {
        if positions.is_empty() {
            return Ok(());
        }
        let uuids: Vec<&str> = positions
            .iter()
            .map(|&i| instances[i].uuid.as_str())
            .collect();
        let mut vifs = self.vifs_of(&uuids).await?;
        for &i in positions {
            instances[i].vifs = vifs.remove(&instances[i].uuid).unwrap_or_default();
        }
        Ok(())
    }

    /// The interfaces of the instances `uuids`, by uuid.
    pub(crate) async fn vifs_of(&self, uuids: &[&str]) -> Result<HashMap<String, Vec<Vif>>> {
        let mut out: HashMap<String, Vec<Vif>> = HashMap::new();
        for chunk in uuids.chunks(CHUNK) {
            let args: Vec<Arg> = chunk.iter().map(|u| Arg::from(*u)).collect();
            let ports: Vec<(String, String, String, String, String, Option<String>)> = self
                .store
                .fetch_all(
                    &format!(
                        "SELECT p.device_id, p.id, p.network_id, n.name, p.mac_address, p.device_tag \
                         FROM ports p JOIN networks n ON n.id = p.network_id \
                         WHERE p.device_id IN ({}) AND p.device_owner LIKE 'compute:%' \
                         ORDER BY p.device_position, p.created_at, p.id",
                        placeholders(1, chunk.len())
                    ),
                    args,
                )
                .await?;
            if ports.is_empty() {
                continue;
            }
            let port_ids: Vec<Arg> = ports.iter().map(|p| Arg::from(p.1.as_str())).collect();
            let list = placeholders(1, port_ids.len());
            let ips: Vec<(String, String, String)> = self
                .store
                .fetch_all(
                    &format!(
                        "SELECT port_id, subnet_id, ip_address FROM ip_allocations \
                         WHERE released_at IS NULL AND port_id IN ({list}) ORDER BY port_id, position"
                    ),
                    port_ids.clone(),
                )
                .await?;
            let floating: Vec<(String, String)> = self
                .store
                .fetch_all(
                    &format!(
                        "SELECT fixed_port_id, floating_ip_address FROM floating_ips \
                         WHERE fixed_port_id IN ({list}) ORDER BY created_at, id"
                    ),
                    port_ids.clone(),
                )
                .await?;
            let groups: Vec<(String, String, String)> = self
                .store
                .fetch_all(
                    &format!(
                        "SELECT b.port_id, g.id, g.name FROM port_security_groups b \
                         JOIN security_groups g ON g.id = b.security_group_id \
                         WHERE b.port_id IN ({list}) ORDER BY b.port_id, b.position"
                    ),
                    port_ids,
                )
                .await?;
            let mut ips_of: HashMap<String, Vec<VifIp>> = HashMap::new();
            for (port, subnet_id, ip) in ips {
                if let Ok(address) = ip.parse() {
                    ips_of
                        .entry(port)
                        .or_default()
                        .push(VifIp { address, subnet_id });
                }
            }
            let mut floating_of: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
            for (port, ip) in floating {
                if let Ok(address) = ip.parse() {
                    floating_of.entry(port).or_default().push(address);
                }
            }
            let mut groups_of: HashMap<String, Vec<VifGroup>> = HashMap::new();
            for (port, id, name) in groups {
                groups_of
                    .entry(port)
                    .or_default()
                    .push(VifGroup { id, name });
            }
            for (device, port_id, network_id, network_name, mac_address, tag) in ports {
                let vif = Vif {
                    fixed_ips: ips_of.remove(&port_id).unwrap_or_default(),
                    floating_ips: floating_of.remove(&port_id).unwrap_or_default(),
                    security_groups: groups_of.remove(&port_id).unwrap_or_default(),
                    port_id,
                    network_id,
                    network_name,
                    mac_address,
                    tag,
                };
                out.entry(device).or_default().push(vif);
            }
        }
        Ok(out)
    }

    /// The uuid of the live instance with fixed address `ip` on one of its
    /// ports, if any (the first made when several networks reuse it).
    pub(crate) async fn instance_at_address(&self, ip: IpAddr) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT p.device_id FROM ip_allocations a JOIN ports p ON p.id = a.port_id \
                 WHERE a.ip_address = $1 AND a.released_at IS NULL \
                 AND p.device_owner LIKE 'compute:%' ORDER BY a.allocated_at LIMIT 1",
                crate::store::args![ip.to_string()],
            )
            .await?;
        Ok(row.map(|(uuid,)| uuid))
    }
}

/// Puts port `port`, just made for or bound to instance `device_id` inside
/// `tx`, after the instance's other interfaces: nova appends each one to
/// the instance's network info, in the order of the create's `networks`,
/// then of the attachments, and the guest sees them in that order.
pub(crate) async fn place_after_others(tx: &mut Tx, port: &str, device_id: &str) -> Result<()> {
    tx.execute(
        "UPDATE ports SET device_position = (SELECT COALESCE(MAX(device_position), 0) + 1 \
         FROM ports WHERE device_id = $2 AND id <> $1) WHERE id = $1",
        crate::store::args![port, device_id],
    )
    .await?;
    Ok(())
}
