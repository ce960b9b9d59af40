//! Elastic IPs, EC2-Classic's (`domain = standard`): AllocateAddress,
//! ReleaseAddress, AssociateAddress, DisassociateAddress and
//! DescribeAddresses, as nova's EC2 API served them over its floating IPs.
//!
//! An address is a floating IP of the network domain, so one made by
//! `openstack floating ip create` is seen here and the other way round.
//! An allocation takes the external network `[neutron]
//! default_floating_pool` names (by name or id). An address is named by
//! its public IP; allocation and association ids belong to VPC, which this
//! cloud does not offer, so they name nothing (`InvalidAllocationID.NotFound`,
//! `InvalidAssociationID.NotFound`). Associating moves an associated
//! address to the new instance (EC2-Classic's reassociation); releasing
//! an associated address disassociates it first; disassociating an
//! address that is not associated succeeds, as on EC2-Classic.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use compute::network::lookup::Found;
use compute::network::{FloatingIp, FloatingIpUpdate, ListQuery, NetworkError, NewFloatingIp};
use compute::Instance;

use super::common::{any_matches, compute_ctx, map_err, unknown_filter};
use super::instances::{named_instances, visible_instances};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::query::Filter;
use crate::state::Ec2State;

/// The only domain EC2-Classic knows.
const STANDARD: &str = "standard";

/// A network error of an address action as EC2 names it; `ip` is the
/// public IP the request named.
fn map_net_err(e: NetworkError, ip: &str) -> Ec2Error {
    match e {
        NetworkError::FloatingIpNotFound(_) => Ec2Error::AddressNotFound(ip.to_string()),
        NetworkError::OverQuota(_) => {
            Ec2Error::AddressLimitExceeded("Too many addresses allocated".into())
        }
        NetworkError::ExternalIpAddressExhausted(_)
        | NetworkError::IpAddressGenerationFailure(_) => {
            Ec2Error::AddressLimitExceeded("No more addresses available in the pool".into())
        }
        NetworkError::PolicyNotAuthorized(_) => Ec2Error::UnauthorizedOperation,
        NetworkError::Compute(e) => map_err(e, None),
        other => Ec2Error::Internal(other.to_string()),
    }
}

/// `PublicIp` checked to be an IPv4 address.
fn checked_ip(value: &str) -> Result<String, Ec2Error> {
    value
        .parse::<Ipv4Addr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            Ec2Error::InvalidParameterValue(format!("Invalid value '{value}' for PublicIp."))
        })
}

/// The caller's floating IP with public address `ip`.
async fn address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ip: &str,
) -> Result<FloatingIp, Ec2Error> {
    let ctx = compute_ctx(req);
    match state
        .compute
        .find_floating_ip_by_address(&ctx, ip)
        .await
        .map_err(|e| map_net_err(e, ip))?
    {
        Found::One(fip) if ctx.is_admin || fip.project_id == ctx.project_id => Ok(fip),
        _ => Err(Ec2Error::AddressNotFound(ip.to_string())),
    }
}

/// The address a release or disassociation names: `PublicIp`, or an
/// `AllocationId`/`AssociationId` (VPC's, so never found); both at once
/// are refused.
async fn named_address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    vpc_id: &str,
) -> Result<FloatingIp, Ec2Error> {
    let ip = req.params.get("PublicIp").filter(|v| !v.is_empty());
    let id = req.params.get(vpc_id).filter(|v| !v.is_empty());
    match (ip, id) {
        (Some(_), Some(_)) => Err(Ec2Error::InvalidParameterCombination(format!(
            "You may specify PublicIp or {vpc_id}, but not both in the same call."
        ))),
        (None, None) => Err(Ec2Error::MissingParameter("PublicIp".into())),
        (None, Some(id)) if vpc_id == "AllocationId" => {
            Err(Ec2Error::AllocationIdNotFound(id.to_string()))
        }
        (None, Some(id)) => Err(Ec2Error::AssociationIdNotFound(id.to_string())),
        (Some(ip), None) => address(state, req, &checked_ip(ip)?).await,
    }
}

/// The external network `[neutron] default_floating_pool` names.
async fn pool(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let ctx = compute_ctx(req);
    let name = state.options.default_floating_pool.as_str();
    let mut query = ListQuery::default();
    query
        .filters
        .push(("router:external".into(), vec!["true".into()]));
    let networks = state
        .compute
        .list_networks(&ctx, &query)
        .await
        .map_err(|e| map_net_err(e, ""))?
        .items;
    let mut found: Vec<_> = networks
        .into_iter()
        .filter(|n| n.id == name || n.name == name)
        .collect();
    match found.len() {
        1 => Ok(found.remove(0).id),
        0 => Err(Ec2Error::AddressLimitExceeded(format!(
            "No pool of addresses: no external network '{name}'"
        ))),
        _ => Err(Ec2Error::Internal(format!(
            "several external networks are named '{name}'"
        ))),
    }
}

/// AllocateAddress: a new address from the pool (`Domain` `standard` or
/// none; `vpc` needs VPC, anything else is invalid).
pub async fn allocate_address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    match req.params.get("Domain") {
        None | Some(STANDARD) => {}
        Some("vpc") => {
            return Err(Ec2Error::UnsupportedOperation(
                "The vpc domain is not supported: this cloud offers EC2-Classic only.".into(),
            ))
        }
        Some(other) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{other}' for domain."
            )))
        }
    }
    // EC2 tags an address by its allocation id, which only VPC addresses
    // have: an EC2-Classic address is named by its IP and takes no tags.
    if !req.params.tag_specifications()?.is_empty() {
        return Err(Ec2Error::InvalidParameterValue(
            "Tags are not supported on EC2-Classic addresses (they have no allocation id).".into(),
        ));
    }
    let ctx = compute_ctx(req);
    let network = pool(state, req).await?;
    let fip = state
        .compute
        .create_floating_ip(
            &ctx,
            NewFloatingIp {
                floating_network_id: network,
                ..NewFloatingIp::default()
            },
        )
        .await
        .map_err(|e| map_net_err(e, ""))?;
    Ok(req.respond(|x| {
        x.text("publicIp", &fip.floating_ip_address)
            .text("domain", STANDARD);
    }))
}

/// ReleaseAddress: the address (disassociated first) goes back to the pool.
pub async fn release_address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let fip = named_address(state, req, "AllocationId").await?;
    state
        .compute
        .delete_floating_ip(&compute_ctx(req), &fip.id)
        .await
        .map_err(|e| map_net_err(e, &fip.floating_ip_address))?;
    Ok(req.respond_true())
}

/// AssociateAddress: the address now maps to the instance's fixed IPv4
/// address (moved from any other instance).
pub async fn associate_address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    if req.params.get("NetworkInterfaceId").is_some() {
        return Err(Ec2Error::InvalidParameterCombination(
            "Network interfaces belong to VPC, which this cloud does not offer.".into(),
        ));
    }
    let instance_id = req.params.require("InstanceId")?.to_string();
    let ip = match (req.params.get("PublicIp"), req.params.get("AllocationId")) {
        (Some(_), Some(_)) => {
            return Err(Ec2Error::InvalidParameterCombination(
                "You may specify PublicIp or AllocationId, but not both in the same call.".into(),
            ))
        }
        (None, Some(id)) => return Err(Ec2Error::AllocationIdNotFound(id.to_string())),
        (None, None) => return Err(Ec2Error::MissingParameter("PublicIp".into())),
        (Some(ip), None) => checked_ip(ip)?,
    };
    let instance = named_instances(state, req, std::slice::from_ref(&instance_id))
        .await?
        .remove(0);
    if instance.deleted {
        return Err(Ec2Error::IncorrectInstanceState(format!(
            "The instance '{instance_id}' is not in a state from which it can be associated with an address."
        )));
    }
    address(state, req, &ip).await?;
    let fixed = req.params.get("PrivateIpAddress").filter(|v| !v.is_empty());
    state
        .compute
        .add_floating_ip(&compute_ctx(req), &instance.uuid, &ip, fixed)
        .await
        .map_err(|e| map_err(e, Some(&instance_id)))?;
    Ok(req.respond_true())
}

/// DisassociateAddress: the address maps to no instance any more (an
/// address that maps to none stays so).
pub async fn disassociate_address(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let fip = named_address(state, req, "AssociationId").await?;
    if fip.port_id.is_some() {
        let update = FloatingIpUpdate {
            port_id: Some(None),
            ..FloatingIpUpdate::default()
        };
        state
            .compute
            .update_floating_ip(&compute_ctx(req), &fip.id, update)
            .await
            .map_err(|e| map_net_err(e, &fip.floating_ip_address))?;
    }
    Ok(req.respond_true())
}

/// One address as DescribeAddresses shows it.
struct AddressView {
    public_ip: String,
    instance_id: Option<String>,
    private_ip: Option<String>,
}

fn filter_matches(f: &Filter, a: &AddressView) -> Result<bool, Ec2Error> {
    Ok(match f.name.as_str() {
        "public-ip" => any_matches(f, Some(&a.public_ip)),
        "domain" => any_matches(f, Some(STANDARD)),
        "instance-id" => any_matches(f, a.instance_id.as_deref()),
        "private-ip-address" => any_matches(f, a.private_ip.as_deref()),
        // VPC's attributes: no standard address has them.
        "allocation-id"
        | "association-id"
        | "network-interface-id"
        | "network-interface-owner-id"
        | "network-border-group" => false,
        other => return Err(unknown_filter(other)),
    })
}

/// DescribeAddresses: the caller's addresses, those named by `PublicIp.N`
/// (each must exist) and `Filter.N`.
pub async fn describe_addresses(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let wanted: Vec<String> = req
        .params
        .list("PublicIp")
        .iter()
        .map(|ip| checked_ip(ip))
        .collect::<Result<_, _>>()?;
    if let Some(id) = req.params.list("AllocationId").first() {
        return Err(Ec2Error::AllocationIdNotFound(id.clone()));
    }
    let filters = req.params.filters()?;
    let ctx = compute_ctx(req);
    let mut query = ListQuery::default();
    query
        .filters
        .push(("project_id".into(), vec![ctx.project_id.clone()]));
    let fips = state
        .compute
        .list_floating_ips(&ctx, &query)
        .await
        .map_err(|e| map_net_err(e, ""))?
        .items;
    for ip in &wanted {
        if !fips.iter().any(|f| &f.floating_ip_address == ip) {
            return Err(Ec2Error::AddressNotFound(ip.clone()));
        }
    }
    let instances = if fips.iter().any(|f| f.port_id.is_some()) {
        visible_instances(state, req, None).await?
    } else {
        Vec::new()
    };
    let by_port: HashMap<&str, &Instance> = instances
        .iter()
        .filter(|i| !i.deleted)
        .flat_map(|i| i.vifs.iter().map(move |v| (v.port_id.as_str(), i)))
        .collect();
    let mut views = Vec::new();
    for fip in &fips {
        if !wanted.is_empty() && !wanted.contains(&fip.floating_ip_address) {
            continue;
        }
        let view = AddressView {
            public_ip: fip.floating_ip_address.clone(),
            instance_id: fip
                .port_id
                .as_deref()
                .and_then(|p| by_port.get(p))
                .map(|i| i.ec2_id()),
            private_ip: fip.fixed_ip_address.clone(),
        };
        let mut keep = true;
        for f in &filters {
            keep &= filter_matches(f, &view)?;
        }
        if keep {
            views.push(view);
        }
    }
    views.sort_by(|a, b| a.public_ip.cmp(&b.public_ip));
    Ok(req.respond(|x| {
        x.set("addressesSet", &views, |x, a| {
            x.text("publicIp", &a.public_ip).text("domain", STANDARD);
            x.opt("instanceId", a.instance_id.as_deref());
            x.opt("privateIpAddress", a.private_ip.as_deref());
        });
    }))
}
