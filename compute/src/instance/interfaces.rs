//! What changes an instance's ports after its create: interfaces attached
//! and detached (`os-interface`), security groups added and removed, and
//! floating IPs added and removed through the compute API (nova's proxies
//! to Neutron). Each is nova's check of the instance, then the network
//! domain's own rules, in one transaction under the networks' locks.

use std::net::IpAddr;

use super::network::{from_network, place_after_others, Vif};
use crate::network::lookup::Found;
use crate::network::ports::{bind_port, release_instance_port, InstancePort};
use crate::network::{FixedIpRequest, FloatingIpUpdate, NetworkError};
use crate::states::VmState;
use crate::store::now_micros;
use crate::{actions, Compute, Error, Instance, Kind, RequestContext, Result};

/// `POST /servers/{id}/os-interface`: a network (a port is made on it,
/// with `fixed_ip` when given), a port of the caller's, or neither (the
/// one network available to the project).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttachInterface {
    /// The network.
    pub network_id: Option<String>,
    /// The port.
    pub port_id: Option<String>,
    /// The address on the network.
    pub fixed_ip: Option<IpAddr>,
    /// nova's device tag (2.49).
    pub tag: Option<String>,
}

/// nova's check of an interface change: not locked (for a non-admin), and
/// active, paused or stopped with no task.
fn check_attachable(ctx: &RequestContext, instance: &Instance, action: &str) -> Result<()> {
    if instance.locked && !ctx.is_admin {
        return Err(Error::Locked {
            uuid: instance.uuid.clone(),
        });
    }
    let vm = instance.vm_state;
    if !matches!(vm, VmState::Active | VmState::Paused | VmState::Stopped) {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: instance.uuid.clone(),
            attr: "vm_state",
            state: vm.as_str().into(),
        });
    }
    if let Some(task) = instance.task_state {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: instance.uuid.clone(),
            attr: "task_state",
            state: task.as_str().into(),
        });
    }
    Ok(())
}

impl Compute {
    /// Attaches an interface to an instance; the new interface.
    pub async fn attach_interface(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: AttachInterface,
    ) -> Result<Vif> {
        let instance = self.get_instance(ctx, uuid).await?;
        check_attachable(ctx, &instance, "attach_interface")?;
        let host = instance.host.clone().unwrap_or_default();
        let owner = self.device_owner();
        let (network_id, port_id): (String, Option<String>) = match (&req.port_id, &req.network_id)
        {
            (Some(port_id), _) => {
                let port = self.get_port(ctx, port_id).await.map_err(|e| match e {
                    NetworkError::PortNotFound(_) => Error::not_found(Kind::Port, port_id),
                    other => from_network(other),
                })?;
                if !port.device_id.is_empty() {
                    return Err(Error::Conflict(format!("Port {port_id} is still in use.")));
                }
                (port.network_id, Some(port.id))
            }
            (None, Some(network_id)) => {
                let network = self
                    .get_network(ctx, network_id)
                    .await
                    .map_err(|e| match e {
                        NetworkError::NetworkNotFound(_) => {
                            Error::not_found(Kind::Network, network_id)
                        }
                        other => from_network(other),
                    })?;
                if network.router_external && !network.shared && !ctx.is_admin {
                    return Err(Error::Forbidden(format!(
                        "It is not allowed to create an interface on external network {network_id}"
                    )));
                }
                (network.id, None)
            }
            (None, None) => {
                let available = self.available_networks(&ctx.project_id).await?;
                match available.as_slice() {
                    [one] => (one.clone(), None),
                    [] => {
                        return Err(Error::invalid(format!(
                            "No specific network was requested and none are available for project '{}'.",
                            ctx.project_id
                        )))
                    }
                    _ => {
                        return Err(Error::invalid(
                            "More than one possible network found. Specify network ID(s) to select which one(s) to connect to.",
                        ))
                    }
                }
            }
        };
        let groups = if port_id.is_none() {
            self.resolve_security_groups(ctx, &[]).await?
        } else {
            Vec::new()
        };
        // The project's quota lock first (a new port counts), then the
        // network's, as a server create takes them.
        let mut tx = self
            .store
            .begin_locked(&crate::network::quotas::quota_lock(&instance.project_id))
            .await?;
        tx.lock(&format!("network:{network_id}")).await?;
        let port_id = match port_id {
            Some(port_id) => {
                if !bind_port(&mut tx, &port_id, uuid, &owner, &host, req.tag.as_deref())
                    .await
                    .map_err(from_network)?
                {
                    return Err(Error::Conflict(format!("Port {port_id} is still in use.")));
                }
                port_id
            }
            None => {
                let fixed: Option<Vec<FixedIpRequest>> = req.fixed_ip.map(|ip| {
                    vec![FixedIpRequest {
                        subnet_id: None,
                        ip_address: Some(ip.to_string()),
                    }]
                });
                self.insert_instance_port(
                    &mut tx,
                    ctx,
                    &InstancePort {
                        network_id: &network_id,
                        project_id: &instance.project_id,
                        device_id: uuid,
                        device_owner: &owner,
                        binding_host: &host,
                        tag: req.tag.as_deref(),
                        fixed_ips: fixed.as_deref(),
                        security_groups: &groups,
                    },
                )
                .await
                .map_err(|e| match e {
                    NetworkError::IpAddressInUse { ip_address, .. } => Error::Conflict(format!(
                        "Fixed IP address {ip_address} is already in use on instance {uuid}."
                    )),
                    NetworkError::IpAddressGenerationFailure(net) => Error::invalid(format!(
                        "No fixed IP addresses available for network: {net}"
                    )),
                    other => from_network(other),
                })?
            }
        };
        place_after_others(&mut tx, &port_id, uuid).await?;
        tx.commit().await?;
        let host = instance.host.as_deref();
        let event = Some("compute_attach_interface");
        actions::record(
            self,
            ctx,
            uuid,
            "attach_interface",
            event,
            now_micros(),
            host,
            true,
        )
        .await?;
        self.interface(ctx, uuid, &port_id).await
    }

    /// The interface `port_id` of an instance ([`Error::NotFound`] `Port`
    /// when the instance has no such port).
    pub async fn interface(&self, ctx: &RequestContext, uuid: &str, port_id: &str) -> Result<Vif> {
        self.get_instance(ctx, uuid)
            .await?
            .vifs
            .into_iter()
            .find(|v| v.port_id == port_id)
            .ok_or_else(|| Error::not_found(Kind::Port, port_id))
    }

    /// Detaches interface `port_id` from an instance: a port the compute
    /// API made goes, one a user gave is unbound.
    pub async fn detach_interface(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        port_id: &str,
    ) -> Result<()> {
        let instance = self.get_instance(ctx, uuid).await?;
        check_attachable(ctx, &instance, "detach_interface")?;
        let vif = instance
            .vifs
            .iter()
            .find(|v| v.port_id == port_id)
            .ok_or_else(|| Error::not_found(Kind::Port, port_id))?;
        let mut tx = self
            .store
            .begin_locked(&format!("network:{}", vif.network_id))
            .await?;
        tx.lock(crate::network::l3::L3_LOCK).await?;
        release_instance_port(&mut tx, port_id)
            .await
            .map_err(from_network)?;
        tx.commit().await?;
        let event = Some("compute_detach_interface");
        let host = instance.host.as_deref();
        actions::record(
            self,
            ctx,
            uuid,
            "detach_interface",
            event,
            now_micros(),
            host,
            true,
        )
        .await
    }

    /// Adds the project's group `name_or_id` to every port of an instance
    /// (nova's `addSecurityGroup`).
    pub async fn add_security_group(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        name_or_id: &str,
    ) -> Result<()> {
        let instance = self.get_instance(ctx, uuid).await?;
        let group = self.group_of_project(ctx, &instance, name_or_id).await?;
        if instance.vifs.is_empty() {
            return Err(Error::not_found(Kind::SecurityGroup, name_or_id));
        }
        if instance
            .vifs
            .iter()
            .any(|v| v.security_groups.iter().any(|g| g.id == group))
        {
            return Err(Error::invalid(format!(
                "Security group {name_or_id} is already associated with the instance {uuid}"
            )));
        }
        self.regroup_ports(ctx, &instance, |groups| groups.push(group.clone()))
            .await
    }

    /// Removes group `name_or_id` from every port of an instance (nova's
    /// `removeSecurityGroup`).
    pub async fn remove_security_group(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        name_or_id: &str,
    ) -> Result<()> {
        let instance = self.get_instance(ctx, uuid).await?;
        let group = self.group_of_project(ctx, &instance, name_or_id).await?;
        if !instance
            .vifs
            .iter()
            .any(|v| v.security_groups.iter().any(|g| g.id == group))
        {
            return Err(Error::invalid(format!(
                "Security group {name_or_id} not associated with the instance {uuid}"
            )));
        }
        self.regroup_ports(ctx, &instance, |groups| groups.retain(|g| g != &group))
            .await
    }

    /// The id of the instance's project's group named (or with id)
    /// `name_or_id`: 404 when there is none, 409 when two share the name.
    async fn group_of_project(
        &self,
        ctx: &RequestContext,
        instance: &Instance,
        name_or_id: &str,
    ) -> Result<String> {
        let owner = RequestContext::new(&instance.user_id, &instance.project_id);
        let ctx = if ctx.is_admin { &owner } else { ctx };
        match self
            .resolve_security_groups(ctx, &[name_or_id.to_string()])
            .await
        {
            Ok(ids) => ids
                .into_iter()
                .next()
                .ok_or_else(|| Error::not_found(Kind::SecurityGroup, name_or_id)),
            Err(Error::Invalid(_)) => Err(Error::not_found(Kind::SecurityGroup, name_or_id)),
            Err(e) => Err(e),
        }
    }

    /// Sets the groups of each port of `instance` to `change` of its own.
    async fn regroup_ports(
        &self,
        ctx: &RequestContext,
        instance: &Instance,
        change: impl Fn(&mut Vec<String>),
    ) -> Result<()> {
        let mut networks: Vec<&str> = instance
            .vifs
            .iter()
            .map(|v| v.network_id.as_str())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let Some(first) = networks.first() else {
            return Ok(());
        };
        let mut tx = self.store.begin_locked(&format!("network:{first}")).await?;
        for network in networks.iter().skip(1) {
            tx.lock(&format!("network:{network}")).await?;
        }
        for vif in &instance.vifs {
            let mut groups: Vec<String> =
                vif.security_groups.iter().map(|g| g.id.clone()).collect();
            change(&mut groups);
            self.bind_security_groups(&mut tx, ctx, &vif.port_id, &instance.project_id, &groups)
                .await
                .map_err(from_network)?;
        }
        tx.commit().await
    }

    /// Associates the floating IP `address` with the instance's fixed
    /// address `fixed` (its first IPv4 one when `None`), as nova's
    /// `addFloatingIp` does.
    pub async fn add_floating_ip(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        address: &str,
        fixed: Option<&str>,
    ) -> Result<()> {
        let instance = self.get_instance(ctx, uuid).await?;
        if instance.vifs.is_empty() {
            return Err(Error::invalid("Instance network is not ready yet"));
        }
        let fixed_ips: Vec<(&Vif, IpAddr)> = instance
            .vifs
            .iter()
            .flat_map(|v| v.fixed_ips.iter().map(move |ip| (v, ip.address)))
            .collect();
        if fixed_ips.is_empty() {
            return Err(Error::invalid("No fixed IPs associated to instance"));
        }
        let (vif, fixed) = match fixed {
            Some(f) => fixed_ips
                .iter()
                .find(|(_, ip)| ip.to_string() == f)
                .copied()
                .ok_or_else(|| {
                    Error::invalid("Specified fixed address not assigned to instance")
                })?,
            None => fixed_ips
                .iter()
                .find(|(_, ip)| ip.is_ipv4())
                .copied()
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Unable to associate floating IP {address} to any fixed IPs for instance {uuid}. Instance has no fixed IPv4 addresses to associate."
                    ))
                })?,
        };
        // An associated floating IP moves to this server, as nova's
        // re-assignment does.
        let fip = self.floating_ip_by_address(ctx, address).await?;
        let update = FloatingIpUpdate {
            port_id: Some(Some(vif.port_id.clone())),
            fixed_ip_address: Some(fixed.to_string()),
            description: None,
        };
        self.update_floating_ip(ctx, &fip.id, update)
            .await
            .map_err(|e| match e {
                NetworkError::Compute(e) => e,
                other => Error::invalid(format!(
                    "Unable to associate floating IP {address} to fixed IP {fixed} for instance {uuid}. Error: {other}"
                )),
            })?;
        Ok(())
    }

    /// Disassociates the floating IP `address` from the instance (nova's
    /// `removeFloatingIp`): 409 when it is not associated with it.
    pub async fn remove_floating_ip(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        address: &str,
    ) -> Result<()> {
        let instance = self.get_instance(ctx, uuid).await?;
        let fip = self.floating_ip_by_address(ctx, address).await?;
        let on_instance = fip
            .port_id
            .as_ref()
            .is_some_and(|p| instance.vifs.iter().any(|v| &v.port_id == p));
        if !on_instance {
            return Err(Error::Conflict(format!(
                "Floating IP {address} is not associated with instance {uuid}."
            )));
        }
        let update = FloatingIpUpdate {
            port_id: Some(None),
            ..FloatingIpUpdate::default()
        };
        self.update_floating_ip(ctx, &fip.id, update)
            .await
            .map_err(from_network)?;
        Ok(())
    }

    /// The floating IP with address `address` the caller sees.
    async fn floating_ip_by_address(
        &self,
        ctx: &RequestContext,
        address: &str,
    ) -> Result<crate::network::FloatingIp> {
        match self
            .find_floating_ip_by_address(ctx, address)
            .await
            .map_err(from_network)?
        {
            Found::One(fip) => Ok(fip),
            Found::Nothing | Found::Several => Err(Error::not_found(Kind::FloatingIp, address)),
        }
    }
}
