//! Neutron's JSON of networks, subnets, ports, security groups and their
//! rules, routers and floating IPs.

use compute::network::{
    FloatingIp, Network, Port, Router, RouterInterface, SecurityGroup, SecurityGroupRule, Subnet,
};
use serde_json::{json, Map, Value};

fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A network; an external one says whether it is the default
/// (`is_default`), as Neutron's views do.
pub fn network(n: &Network) -> Map<String, Value> {
    let mut view = object(json!({
        "id": n.id,
        "name": n.name,
        "tenant_id": n.project_id,
        "project_id": n.project_id,
        "admin_state_up": n.admin_state_up,
        "status": n.status,
        "subnets": n.subnets,
        "shared": n.shared,
        "router:external": n.router_external,
        "mtu": n.mtu,
        "description": n.description,
        "created_at": timestamp(&n.created_at),
        "updated_at": timestamp(&n.updated_at),
    }));
    if n.router_external {
        view.insert("is_default".into(), n.is_default.into());
    }
    view
}

/// A subnet.
pub fn subnet(s: &Subnet) -> Map<String, Value> {
    object(json!({
        "id": s.id,
        "name": s.name,
        "tenant_id": s.project_id,
        "project_id": s.project_id,
        "network_id": s.network_id,
        "ip_version": s.ip_version,
        "cidr": s.cidr,
        "gateway_ip": s.gateway_ip,
        "allocation_pools": s.allocation_pools,
        "dns_nameservers": s.dns_nameservers,
        "host_routes": s.host_routes,
        "enable_dhcp": s.enable_dhcp,
        "router:external": s.router_external,
        "ipv6_ra_mode": null,
        "ipv6_address_mode": null,
        "subnetpool_id": null,
        "description": s.description,
        "created_at": timestamp(&s.created_at),
        "updated_at": timestamp(&s.updated_at),
    }))
}

/// A port; an admin sees its binding (`binding:*`, Neutron's
/// `binding` extension: a port bound to a host is an OVS port there).
pub fn port(p: &Port, admin: bool) -> Map<String, Value> {
    let mut view = object(json!({
        "id": p.id,
        "name": p.name,
        "tenant_id": p.project_id,
        "project_id": p.project_id,
        "network_id": p.network_id,
        "mac_address": p.mac_address,
        "admin_state_up": p.admin_state_up,
        "status": p.status,
        "fixed_ips": p.fixed_ips,
        "device_id": p.device_id,
        "device_owner": p.device_owner,
        "security_groups": p.security_groups,
        "description": p.description,
        "created_at": timestamp(&p.created_at),
        "updated_at": timestamp(&p.updated_at),
    }));
    if admin {
        let bound = !p.binding_host.is_empty();
        view.insert("binding:host_id".into(), json!(p.binding_host));
        view.insert(
            "binding:vif_type".into(),
            json!(if bound { "ovs" } else { "unbound" }),
        );
        view.insert("binding:vif_details".into(), json!({}));
        view.insert("binding:vnic_type".into(), json!("normal"));
        view.insert("binding:profile".into(), json!({}));
    }
    view
}

/// A security group, with its rules.
pub fn security_group(g: &SecurityGroup) -> Map<String, Value> {
    let rules: Vec<Value> = g
        .security_group_rules
        .iter()
        .map(|r| Value::Object(security_group_rule(r)))
        .collect();
    object(json!({
        "id": g.id,
        "name": g.name,
        "tenant_id": g.project_id,
        "project_id": g.project_id,
        "description": g.description,
        "stateful": g.stateful,
        "security_group_rules": rules,
        "created_at": timestamp(&g.created_at),
        "updated_at": timestamp(&g.updated_at),
    }))
}

/// A security group rule.
pub fn security_group_rule(r: &SecurityGroupRule) -> Map<String, Value> {
    object(json!({
        "id": r.id,
        "tenant_id": r.project_id,
        "project_id": r.project_id,
        "security_group_id": r.security_group_id,
        "direction": r.direction,
        "ethertype": r.ethertype,
        "protocol": r.protocol,
        "port_range_min": r.port_range_min,
        "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix,
        "remote_group_id": r.remote_group_id,
        "description": r.description,
        "created_at": timestamp(&r.created_at),
        "updated_at": timestamp(&r.updated_at),
    }))
}

/// A router (`external_gateway_info` null without a gateway).
pub fn router(r: &Router) -> Map<String, Value> {
    object(json!({
        "id": r.id,
        "name": r.name,
        "tenant_id": r.project_id,
        "project_id": r.project_id,
        "admin_state_up": r.admin_state_up,
        "status": r.status,
        "external_gateway_info": r.external_gateway_info,
        "description": r.description,
        "created_at": timestamp(&r.created_at),
        "updated_at": timestamp(&r.updated_at),
    }))
}

/// What adding or removing a router interface answers.
pub fn router_interface(i: &RouterInterface) -> Map<String, Value> {
    object(json!({
        "id": i.id,
        "tenant_id": i.project_id,
        "project_id": i.project_id,
        "port_id": i.port_id,
        "network_id": i.network_id,
        "subnet_id": i.subnet_id,
        "subnet_ids": i.subnet_ids,
    }))
}

/// A floating IP.
pub fn floating_ip(f: &FloatingIp) -> Map<String, Value> {
    object(json!({
        "id": f.id,
        "tenant_id": f.project_id,
        "project_id": f.project_id,
        "floating_ip_address": f.floating_ip_address,
        "floating_network_id": f.floating_network_id,
        "router_id": f.router_id,
        "port_id": f.port_id,
        "fixed_ip_address": f.fixed_ip_address,
        "status": f.status,
        "description": f.description,
        "created_at": timestamp(&f.created_at),
        "updated_at": timestamp(&f.updated_at),
    }))
}

/// `view` cut to `fields` (all when empty).
pub fn select(mut view: Map<String, Value>, fields: &[String]) -> Value {
    if !fields.is_empty() {
        view.retain(|k, _| fields.iter().any(|f| f == k));
    }
    Value::Object(view)
}
