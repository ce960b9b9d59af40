//! Ports: a MAC address and fixed IPs on a network. Addresses are
//! allocated under the network's write lock, recorded in `ip_allocations`
//! (unique per live subnet and address), and the whole create is retried
//! when the unique index refuses an address or MAC another writer took.

use std::net::IpAddr;

use rand::Rng;
use serde::Serialize;

use super::ipam::{self, SubnetSpace};
use super::listing::{self, ListQuery, Page};
use super::networks::visible_in_tx;
use super::subnets::Subnet;
use super::{check_text, owner_project, NetworkError, NetworkResult};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

/// One address of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixedIp {
    /// The subnet.
    pub subnet_id: String,
    /// The address.
    pub ip_address: String,
}

/// An address asked for: a subnet, an address, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixedIpRequest {
    /// From this subnet (of the port's network).
    pub subnet_id: Option<String>,
    /// This address.
    pub ip_address: Option<String>,
}

/// A port as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Port {
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
    /// The MAC address (`fa:16:3e:..` unless given).
    pub mac_address: String,
    /// Its addresses, in the order given.
    pub fixed_ips: Vec<FixedIp>,
    /// What uses it (an instance uuid, ...).
    pub device_id: String,
    /// What kind of user (`compute:nova`, ...).
    pub device_owner: String,
    /// The administrative state.
    pub admin_state_up: bool,
    /// `ACTIVE` while a device uses it, else `DOWN`.
    pub status: String,
    /// The ids of its security groups, in the order given.
    pub security_groups: Vec<String>,
    /// The compute host it is bound to ('' when unbound;
    /// `binding:host_id`, shown to admins only).
    #[serde(rename = "binding:host_id")]
    pub binding_host: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Port {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "network_id",
        "project_id",
        "name",
        "description",
        "mac_address",
        "fixed_ips",
        "device_id",
        "device_owner",
        "admin_state_up",
        "status",
        "security_groups",
        "binding:host_id",
        "created_at",
        "updated_at",
    ];
}

/// What to create (`POST /v2.0/ports`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewPort {
    /// The network (visible to the caller).
    pub network_id: String,
    /// The name ('').
    pub name: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// The MAC address (random in `fa:16:3e`).
    pub mac_address: Option<String>,
    /// The addresses (one from the first IPv4 and one from the first IPv6
    /// subnet with a free address).
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    /// The device id ('').
    pub device_id: Option<String>,
    /// The device owner ('').
    pub device_owner: Option<String>,
    /// The administrative state (true).
    pub admin_state_up: Option<bool>,
    /// Its security groups, of the port's project (its project's default
    /// group, made on first use, unless the device owner is a
    /// `network:` one; `[]` for none).
    pub security_groups: Option<Vec<String>>,
    /// The compute host (`binding:host_id`; admin only).
    pub binding_host: Option<String>,
}

/// What to change (`PUT /v2.0/ports/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortUpdate {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The addresses: kept when listed again, released when left out,
    /// allocated when new.
    pub fixed_ips: Option<Vec<FixedIpRequest>>,
    /// The device id.
    pub device_id: Option<String>,
    /// The device owner.
    pub device_owner: Option<String>,
    /// The administrative state.
    pub admin_state_up: Option<bool>,
    /// Its security groups, replacing the ones it has.
    pub security_groups: Option<Vec<String>>,
    /// The compute host (`binding:host_id`; admin only).
    pub binding_host: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PortRow {
    id: String,
    network_id: String,
    project_id: String,
    name: String,
    description: String,
    mac_address: String,
    device_id: String,
    device_owner: String,
    admin_state_up: bool,
    status: String,
    binding_host: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str =
    "p.id, p.network_id, p.project_id, p.name, p.description, p.mac_address, p.device_id, \
    p.device_owner, p.admin_state_up, p.status, p.binding_host, p.created_at, p.updated_at";

fn status_for(device_id: &str) -> &'static str {
    if device_id.is_empty() {
        "DOWN"
    } else {
        "ACTIVE"
    }
}

/// A random MAC address in OpenStack's `fa:16:3e` range.
fn new_mac() -> String {
    let b: [u8; 3] = rand::thread_rng().gen();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

fn check_mac(mac: &str) -> NetworkResult<String> {
    let parts: Vec<&str> = mac.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(NetworkError::invalid_attribute(
            "mac_address",
            &format!("'{mac}' is not a valid MAC address"),
        ));
    }
    Ok(mac.to_ascii_lowercase())
}

fn check_device(field: &str, value: &str) -> NetworkResult<()> {
    if value.chars().count() > 255 {
        return Err(NetworkError::invalid_attribute(
            field,
            &format!("'{value}' exceeds maximum length of 255"),
        ));
    }
    Ok(())
}

/// The row of a new port.
struct PortRowInsert<'a> {
    id: &'a str,
    network_id: &'a str,
    project_id: &'a str,
    name: &'a str,
    description: &'a str,
    mac: &'a str,
    device_id: &'a str,
    device_owner: &'a str,
    admin_state_up: bool,
}

async fn insert_port_row(tx: &mut Tx, p: &PortRowInsert<'_>) -> NetworkResult<()> {
    tx.execute(
        "INSERT INTO ports (id, network_id, project_id, name, description, mac_address, device_id, \
         device_owner, admin_state_up, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        args![
            p.id,
            p.network_id,
            p.project_id,
            p.name,
            p.description,
            p.mac,
            p.device_id,
            p.device_owner,
            p.admin_state_up,
            status_for(p.device_id),
            now_micros()
        ],
    )
    .await?;
    Ok(())
}

/// A port the router and floating IP code makes for itself inside its own
/// transaction (which holds the network's lock): no name, no security
/// groups, a random MAC address.
pub(crate) struct ServicePort<'a> {
    /// The network.
    pub network_id: &'a str,
    /// The owner ('' for the ports Neutron hides from projects).
    pub project_id: &'a str,
    /// The router or floating IP.
    pub device_id: &'a str,
    /// `network:router_interface`, `network:router_gateway`, `network:floatingip`.
    pub device_owner: &'a str,
    /// The addresses (the default ones when `None`).
    pub fixed_ips: Option<&'a [FixedIpRequest]>,
}

/// Deletes port `id` inside `tx`: its addresses are released (and rest
/// `fixed_ip_reuse_delay`), its group bindings go. The number of ports
/// deleted (0 when there was none).
pub(crate) async fn remove_port_rows(tx: &mut Tx, id: &str) -> NetworkResult<u64> {
    tx.execute(
        "UPDATE ip_allocations SET released_at = $2 WHERE port_id = $1 AND released_at IS NULL",
        args![id, now_micros()],
    )
    .await?;
    tx.execute(
        "DELETE FROM port_security_groups WHERE port_id = $1",
        args![id],
    )
    .await?;
    Ok(tx
        .execute("DELETE FROM ports WHERE id = $1", args![id])
        .await?)
}

/// The port the compute API makes for an instance inside the create or
/// attach transaction: a random MAC address free on the network, the
/// addresses asked for (the default ones when `None`), the given groups.
pub(crate) struct InstancePort<'a> {
    /// The network (its lock is taken here).
    pub network_id: &'a str,
    /// The instance's project.
    pub project_id: &'a str,
    /// The instance uuid.
    pub device_id: &'a str,
    /// `compute:<availability zone>`.
    pub device_owner: &'a str,
    /// The instance's compute host.
    pub binding_host: &'a str,
    /// The tag of the request (nova's device tag).
    pub tag: Option<&'a str>,
    /// The addresses asked for.
    pub fixed_ips: Option<&'a [FixedIpRequest]>,
    /// Its security groups (ids of the project's groups).
    pub security_groups: &'a [String],
}

/// Gives the free port `port` to instance `device_id` inside `tx` (the
/// caller holds the network's lock); false when a device took it
/// meanwhile.
pub(crate) async fn bind_port(
    tx: &mut Tx,
    port: &str,
    device_id: &str,
    device_owner: &str,
    binding_host: &str,
    tag: Option<&str>,
) -> NetworkResult<bool> {
    let bound = tx
        .execute(
            "UPDATE ports SET device_id = $2, device_owner = $3, binding_host = $4, device_tag = $5, \
             status = 'ACTIVE', updated_at = $6 WHERE id = $1 AND device_id = ''",
            args![port, device_id, device_owner, binding_host, tag, now_micros()],
        )
        .await?;
    Ok(bound > 0)
}

/// Takes port `port` from its instance inside `tx` (the caller holds the
/// network's lock): a port the compute API made is deleted, with its
/// addresses (they rest `fixed_ip_reuse_delay`) and floating IP
/// associations; one a user gave is only unbound, and keeps them.
pub(crate) async fn release_instance_port(tx: &mut Tx, port: &str) -> NetworkResult<()> {
    let preserve: Option<(bool,)> = tx
        .fetch_optional(
            "SELECT preserve_on_delete FROM ports WHERE id = $1",
            args![port],
        )
        .await?;
    match preserve {
        Some((true,)) => {
            tx.execute(
                "UPDATE ports SET device_id = '', device_owner = '', binding_host = '', \
                 device_tag = NULL, status = 'DOWN', updated_at = $2 WHERE id = $1",
                args![port, now_micros()],
            )
            .await?;
        }
        Some((false,)) => {
            super::floating_ips::disassociate_port(tx, port).await?;
            remove_port_rows(tx, port).await?;
        }
        None => {}
    }
    Ok(())
}

impl Compute {
    /// Inserts an instance's port inside `tx`, under its network's lock,
    /// within the project's port quota; its id. The caller holds the
    /// project's quota lock ([`super::quotas::quota_lock`]) already.
    pub(crate) async fn insert_instance_port(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        port: &InstancePort<'_>,
    ) -> NetworkResult<String> {
        tx.lock(&format!("network:{}", port.network_id)).await?;
        super::quotas::check(tx, &self.config.network_quota, port.project_id, "port", 1).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let mac = loop {
            let mac = new_mac();
            let (n,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM ports WHERE network_id = $1 AND mac_address = $2",
                    args![port.network_id, &mac],
                )
                .await?;
            if n == 0 {
                break mac;
            }
        };
        insert_port_row(
            tx,
            &PortRowInsert {
                id: &id,
                network_id: port.network_id,
                project_id: port.project_id,
                name: "",
                description: "",
                mac: &mac,
                device_id: port.device_id,
                device_owner: port.device_owner,
                admin_state_up: true,
            },
        )
        .await?;
        tx.execute(
            "UPDATE ports SET binding_host = $2, device_tag = $3, preserve_on_delete = FALSE \
             WHERE id = $1",
            args![&id, port.binding_host, port.tag],
        )
        .await?;
        self.assign_ips(tx, &id, port.network_id, port.fixed_ips, &[])
            .await?;
        self.bind_security_groups(tx, ctx, &id, port.project_id, port.security_groups)
            .await?;
        Ok(id)
    }

    /// Inserts `port` with its addresses inside `tx`; its id.
    pub(crate) async fn insert_service_port(
        &self,
        tx: &mut Tx,
        port: &ServicePort<'_>,
    ) -> NetworkResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        insert_port_row(
            tx,
            &PortRowInsert {
                id: &id,
                network_id: port.network_id,
                project_id: port.project_id,
                name: "",
                description: "",
                mac: &new_mac(),
                device_id: port.device_id,
                device_owner: port.device_owner,
                admin_state_up: true,
            },
        )
        .await?;
        self.assign_ips(tx, &id, port.network_id, port.fixed_ips, &[])
            .await?;
        Ok(id)
    }

    fn reuse_delay_micros(&self) -> i64 {
        i64::try_from(self.config.fixed_ip_reuse_delay.as_micros()).unwrap_or(i64::MAX)
    }

    async fn port_rows(&self, ctx: &RequestContext, id: Option<&str>) -> NetworkResult<Vec<Port>> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM ports p JOIN networks n ON n.id = p.network_id WHERE 1 = 1"
        );
        let mut a = args![];
        if !ctx.is_admin {
            a.push(ctx.project_id.clone().into());
            sql.push_str(&format!(
                " AND (p.project_id = ${0} OR n.project_id = ${0})",
                a.len()
            ));
        }
        if let Some(id) = id {
            a.push(id.into());
            sql.push_str(&format!(" AND p.id = ${}", a.len()));
        }
        let rows: Vec<PortRow> = self.store.fetch_all(&sql, a).await?;
        let ips: Vec<(String, String, String)> = if let Some(id) = id {
            self.store
                .fetch_all(
                    "SELECT port_id, subnet_id, ip_address FROM ip_allocations \
                     WHERE released_at IS NULL AND port_id = $1 ORDER BY position",
                    args![id],
                )
                .await?
        } else {
            self.store
                .fetch_all(
                    "SELECT port_id, subnet_id, ip_address FROM ip_allocations \
                     WHERE released_at IS NULL ORDER BY port_id, position",
                    args![],
                )
                .await?
        };
        let bindings: Vec<(String, String)> = if let Some(id) = id {
            self.store
                .fetch_all(
                    "SELECT port_id, security_group_id FROM port_security_groups \
                     WHERE port_id = $1 ORDER BY position",
                    args![id],
                )
                .await?
        } else {
            self.store
                .fetch_all(
                    "SELECT port_id, security_group_id FROM port_security_groups \
                     ORDER BY port_id, position",
                    args![],
                )
                .await?
        };
        let mut groups_of: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (port, group) in bindings {
            groups_of.entry(port).or_default().push(group);
        }
        let mut by_port: std::collections::HashMap<String, Vec<FixedIp>> =
            std::collections::HashMap::new();
        for (port, subnet_id, ip_address) in ips {
            by_port.entry(port).or_default().push(FixedIp {
                subnet_id,
                ip_address,
            });
        }
        Ok(rows
            .into_iter()
            .map(|r| Port {
                fixed_ips: by_port.remove(&r.id).unwrap_or_default(),
                security_groups: groups_of.remove(&r.id).unwrap_or_default(),
                id: r.id,
                network_id: r.network_id,
                project_id: r.project_id,
                name: r.name,
                description: r.description,
                mac_address: r.mac_address,
                device_id: r.device_id,
                device_owner: r.device_owner,
                admin_state_up: r.admin_state_up,
                status: r.status,
                binding_host: r.binding_host,
                created_at: from_micros(r.created_at),
                updated_at: from_micros(r.updated_at),
            })
            .collect())
    }

    /// The port `id`, when the caller may see it (its own, or on one of
    /// its networks; any for an admin).
    pub async fn get_port(&self, ctx: &RequestContext, id: &str) -> NetworkResult<Port> {
        self.port_rows(ctx, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::PortNotFound(id.to_string()))
    }

    /// The ports the caller sees, filtered, sorted and paged by `query`.
    pub async fn list_ports(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<Port>> {
        let rows = self.port_rows(ctx, None).await?;
        listing::page(
            rows,
            query,
            Port::FIELDS,
            |p| p.id.as_str(),
            NetworkError::PortNotFound,
        )
    }

    /// Creates a port on a network the caller sees, with a MAC address and
    /// fixed IPs never held by another live port (see the module doc).
    pub async fn create_port(&self, ctx: &RequestContext, req: NewPort) -> NetworkResult<Port> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let name = req.name.clone().unwrap_or_default();
        check_text("name", &name)?;
        let description = req.description.clone().unwrap_or_default();
        check_text("description", &description)?;
        let mac = req.mac_address.as_deref().map(check_mac).transpose()?;
        let device_id = req.device_id.clone().unwrap_or_default();
        check_device("device_id", &device_id)?;
        let device_owner = req.device_owner.clone().unwrap_or_default();
        check_device("device_owner", &device_owner)?;
        let binding_host = req.binding_host.clone().filter(|h| !h.is_empty());
        if let Some(host) = &binding_host {
            super::require_admin(ctx, "create_port", "binding:host_id")?;
            check_device("binding:host_id", host)?;
        }
        let groups = match req.security_groups.clone() {
            Some(groups) => groups,
            None if device_owner.starts_with("network:") => Vec::new(),
            None => self
                .ensure_default_security_group(ctx, &project)
                .await?
                .into_iter()
                .collect(),
        };
        let id = uuid::Uuid::new_v4().to_string();
        retry_unique!({
            let mut tx = self
                .store
                .begin_locked(&super::quotas::quota_lock(&project))
                .await?;
            tx.lock(&format!("network:{}", req.network_id)).await?;
            visible_in_tx(&mut tx, ctx, &req.network_id).await?;
            super::quotas::check(&mut tx, &self.config.network_quota, &project, "port", 1).await?;
            let mac = match &mac {
                Some(m) => {
                    let (n,): (i64,) = tx
                        .fetch_one(
                            "SELECT COUNT(*) FROM ports WHERE network_id = $1 AND mac_address = $2",
                            args![&req.network_id, m],
                        )
                        .await?;
                    if n > 0 {
                        return Err(NetworkError::MacAddressInUse {
                            net_id: req.network_id.clone(),
                            mac: m.clone(),
                        });
                    }
                    m.clone()
                }
                None => new_mac(),
            };
            insert_port_row(
                &mut tx,
                &PortRowInsert {
                    id: &id,
                    network_id: &req.network_id,
                    project_id: &project,
                    name: &name,
                    description: &description,
                    mac: &mac,
                    device_id: &device_id,
                    device_owner: &device_owner,
                    admin_state_up: req.admin_state_up.unwrap_or(true),
                },
            )
            .await?;
            if let Some(host) = &binding_host {
                tx.execute(
                    "UPDATE ports SET binding_host = $2 WHERE id = $1",
                    args![&id, host],
                )
                .await?;
            }
            self.assign_ips(&mut tx, &id, &req.network_id, req.fixed_ips.as_deref(), &[])
                .await?;
            self.bind_security_groups(&mut tx, ctx, &id, &project, &groups)
                .await?;
            tx.commit().await?;
            Ok(())
        })?;
        self.get_port(ctx, &id).await
    }

    /// Gives port `port` the addresses `wanted` asks for (the default
    /// ones when `None`), inside `tx`; `kept` are addresses it holds
    /// already and keeps (they are not allocated again).
    async fn assign_ips(
        &self,
        tx: &mut Tx,
        port: &str,
        network: &str,
        wanted: Option<&[FixedIpRequest]>,
        kept: &[FixedIp],
    ) -> NetworkResult<()> {
        let rows: Vec<(String, String, Option<String>, String)> = tx
            .fetch_all(
                "SELECT id, cidr, gateway_ip, allocation_pools FROM subnets WHERE network_id = $1 \
                 ORDER BY created_at, id",
                args![network],
            )
            .await?;
        let subnets: Vec<SubnetSpace> = rows
            .into_iter()
            .filter_map(|(id, cidr, gateway, pools)| {
                Some(SubnetSpace {
                    id,
                    cidr: cidr.parse().ok()?,
                    gateway: gateway.and_then(|g| g.parse().ok()),
                    pools: serde_json::from_str(&pools).ok()?,
                })
            })
            .collect();
        let delay = self.reuse_delay_micros();
        let mut chosen: Vec<(String, IpAddr)> = Vec::new();
        match wanted {
            None => {
                for v4 in [true, false] {
                    let family: Vec<&SubnetSpace> = subnets
                        .iter()
                        .filter(|s| s.cidr.network().is_ipv4() == v4)
                        .collect();
                    if family.is_empty() {
                        continue;
                    }
                    let mut got = None;
                    for s in family {
                        if let Some(ip) = ipam::next_free(tx, s, delay).await? {
                            got = Some((s.id.clone(), ip));
                            break;
                        }
                    }
                    match got {
                        Some(g) => chosen.push(g),
                        None => {
                            return Err(NetworkError::IpAddressGenerationFailure(
                                network.to_string(),
                            ))
                        }
                    }
                }
                for (subnet, ip) in &chosen {
                    self.insert_allocation(tx, port, network, subnet, &ip.to_string(), 0, true)
                        .await?;
                }
                return Ok(());
            }
            Some(list) => {
                for (position, request) in list.iter().enumerate() {
                    let ip = match &request.ip_address {
                        Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
                            NetworkError::invalid_attribute(
                                "fixed_ips",
                                &format!("'{a}' is not a valid IP address"),
                            )
                        })?),
                        None => None,
                    };
                    let subnet = match (&request.subnet_id, ip) {
                        (Some(sid), _) => subnets.iter().find(|s| &s.id == sid).ok_or_else(|| {
                            NetworkError::InvalidInput(format!(
                                "Failed to create port on network {network}, because fixed_ips included invalid subnet {sid}"
                            ))
                        })?,
                        (None, Some(ip)) => subnets
                            .iter()
                            .find(|s| s.cidr.contains(&ip))
                            .ok_or_else(|| NetworkError::InvalidIpForNetwork(ip.to_string()))?,
                        (None, None) => {
                            return Err(NetworkError::invalid_attribute(
                                "fixed_ips",
                                "each entry needs a subnet_id or an ip_address",
                            ))
                        }
                    };
                    let position = i64::try_from(position).unwrap_or(i64::MAX);
                    let address = match ip {
                        Some(ip) => {
                            if !subnet.cidr.contains(&ip) {
                                return Err(NetworkError::InvalidIpForSubnet(ip.to_string()));
                            }
                            if kept
                                .iter()
                                .any(|k| k.subnet_id == subnet.id && k.ip_address == ip.to_string())
                            {
                                tx.execute(
                                    "UPDATE ip_allocations SET position = $3 WHERE port_id = $1 \
                                     AND ip_address = $2 AND released_at IS NULL",
                                    args![port, ip.to_string(), position],
                                )
                                .await?;
                                continue;
                            }
                            if ipam::held(tx, &subnet.id, &ip.to_string()).await? {
                                return Err(NetworkError::IpAddressInUse {
                                    net_id: network.to_string(),
                                    ip_address: ip.to_string(),
                                });
                            }
                            ip
                        }
                        None => ipam::next_free(tx, subnet, delay).await?.ok_or_else(|| {
                            NetworkError::IpAddressGenerationFailure(network.to_string())
                        })?,
                    };
                    self.insert_allocation(
                        tx,
                        port,
                        network,
                        &subnet.id,
                        &address.to_string(),
                        position,
                        ip.is_none(),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Records that `port` holds `ip`; `automatic` when the allocator
    /// chose it (the next automatic choice starts after it).
    #[allow(clippy::too_many_arguments)]
    async fn insert_allocation(
        &self,
        tx: &mut Tx,
        port: &str,
        network: &str,
        subnet: &str,
        ip: &str,
        position: i64,
        automatic: bool,
    ) -> NetworkResult<()> {
        tx.execute(
            "INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id, position, \
             allocated_at, automatic) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![subnet, ip, port, network, position, now_micros(), automatic],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn owned_port(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: &str,
    ) -> NetworkResult<Port> {
        let port = self.get_port(ctx, id).await?;
        if ctx.is_admin || port.project_id == ctx.project_id {
            return Ok(port);
        }
        // The network's owner may change ports on it.
        let network = self.get_network(ctx, &port.network_id).await?;
        if network.project_id == ctx.project_id {
            return Ok(port);
        }
        Err(super::not_owner(action))
    }

    /// Changes a port (its owner, its network's owner or an admin).
    pub async fn update_port(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: PortUpdate,
    ) -> NetworkResult<Port> {
        let current = self.owned_port(ctx, id, "update_port").await?;
        if let Some(n) = &req.name {
            check_text("name", n)?;
        }
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        if let Some(d) = &req.device_id {
            check_device("device_id", d)?;
        }
        if let Some(d) = &req.device_owner {
            check_device("device_owner", d)?;
        }
        let device_id = req.device_id.clone().unwrap_or(current.device_id.clone());
        if let Some(host) = &req.binding_host {
            if *host != current.binding_host {
                super::require_admin(ctx, "update_port", "binding:host_id")?;
            }
            check_device("binding:host_id", host)?;
        }
        let binding_host = req
            .binding_host
            .clone()
            .unwrap_or(current.binding_host.clone());
        retry_unique!({
            let mut tx = self
                .store
                .begin_locked(&format!("network:{}", current.network_id))
                .await?;
            tx.execute(
                "UPDATE ports SET name = $2, description = $3, device_id = $4, device_owner = $5, \
                     admin_state_up = $6, status = $7, updated_at = $8, binding_host = $9 WHERE id = $1",
                args![
                    id,
                    req.name.clone().unwrap_or(current.name.clone()),
                    req.description
                        .clone()
                        .unwrap_or(current.description.clone()),
                    &device_id,
                    req.device_owner
                        .clone()
                        .unwrap_or(current.device_owner.clone()),
                    req.admin_state_up.unwrap_or(current.admin_state_up),
                    status_for(&device_id),
                    now_micros(),
                    &binding_host
                ],
            )
            .await?;
            if let Some(wanted) = &req.fixed_ips {
                // Addresses listed again (by address) are kept; the rest go.
                let keep: Vec<FixedIp> = current
                    .fixed_ips
                    .iter()
                    .filter(|f| {
                        wanted.iter().any(|w| {
                            w.ip_address.as_deref() == Some(f.ip_address.as_str())
                                && w.subnet_id.as_deref().is_none_or(|s| s == f.subnet_id)
                        })
                    })
                    .cloned()
                    .collect();
                for gone in current.fixed_ips.iter().filter(|f| !keep.contains(f)) {
                    tx.execute(
                        "UPDATE ip_allocations SET released_at = $3 WHERE port_id = $1 \
                             AND ip_address = $2 AND released_at IS NULL",
                        args![id, &gone.ip_address, now_micros()],
                    )
                    .await?;
                }
                self.assign_ips(&mut tx, id, &current.network_id, Some(wanted), &keep)
                    .await?;
            }
            if let Some(groups) = &req.security_groups {
                self.bind_security_groups(&mut tx, ctx, id, &current.project_id, groups)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })?;
        self.get_port(ctx, id).await
    }

    /// Deletes a port; its addresses stay out of circulation for
    /// `fixed_ip_reuse_delay`. A floating IP on it is disassociated; the
    /// port of a router or a floating IP is not deleted this way
    /// ([`NetworkError::ServicePortInUse`]).
    pub async fn delete_port(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        let port = self.owned_port(ctx, id, "delete_port").await?;
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", port.network_id))
            .await?;
        tx.lock(super::l3::L3_LOCK).await?;
        if super::l3::serves_l3_device(&mut tx, &port.device_owner, &port.device_id).await? {
            return Err(NetworkError::ServicePortInUse {
                port_id: id.to_string(),
                device_owner: port.device_owner,
            });
        }
        super::floating_ips::disassociate_port(&mut tx, id).await?;
        if remove_port_rows(&mut tx, id).await? == 0 {
            return Err(NetworkError::PortNotFound(id.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Subnet {
    /// Whether `ip` is one of this subnet's pool addresses.
    pub fn in_pools(&self, ip: IpAddr) -> bool {
        ipam::in_pools(ip, &self.allocation_pools)
    }
}
