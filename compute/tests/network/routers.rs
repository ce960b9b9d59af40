//! Routers on both engines: their project's alone, within Neutron's
//! quota, a gateway port on an external network, interfaces at a subnet's
//! gateway address or on a port, and Neutron's refusals.

use compute::network::l3::{DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE};
use compute::network::NetworkQuotaLimits;
use compute::network::{
    GatewayIp, GatewayRequest, InterfaceRequest, ListQuery, NewNetwork, NewPort, NewRouter,
    NewSubnet, Router, RouterUpdate,
};
use compute::{Compute, Engine, NetworkError, RequestContext};

use super::{network, subnet, unseeded};
use crate::support::{admin, alice, bob};

on_both_engines!(
    routers_are_their_projects_alone_within_neutrons_quota,
    a_gateway_takes_an_address_of_an_external_network_only,
    interfaces_join_subnets_at_their_gateway_or_through_a_port,
);

/// An external network of the admin project with one subnet on `cidr`:
/// (network, subnet).
pub(super) async fn external(c: &Compute, cidr: &str) -> (String, String) {
    let net = c
        .create_network(
            &admin(),
            NewNetwork {
                name: Some("ext".into()),
                router_external: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("external network")
        .id;
    let sub = subnet(c, &admin(), &net, cidr).await;
    (net, sub)
}

/// A router of `ctx`'s project, with a gateway on `gateway` if given.
pub(super) async fn router(c: &Compute, ctx: &RequestContext, gateway: Option<&str>) -> Router {
    c.create_router(
        ctx,
        NewRouter {
            name: Some("r".into()),
            external_gateway_info: gateway.map(|n| GatewayRequest {
                network_id: n.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("router")
}

/// The change that puts a router's gateway on `network`.
pub(super) fn gateway_to(network: &str, enable_snat: Option<bool>) -> RouterUpdate {
    RouterUpdate {
        external_gateway_info: Some(Some(GatewayRequest {
            network_id: network.into(),
            enable_snat,
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn by_port(port: &str) -> InterfaceRequest {
    InterfaceRequest {
        subnet_id: None,
        port_id: Some(port.into()),
    }
}

pub(super) fn by_subnet(subnet: &str) -> InterfaceRequest {
    InterfaceRequest {
        subnet_id: Some(subnet.into()),
        port_id: None,
    }
}

async fn routers_are_their_projects_alone_within_neutrons_quota(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let mine = router(c, &alice(), None).await;
    assert_eq!(
        (
            mine.name.as_str(),
            mine.project_id.as_str(),
            mine.status.as_str(),
            mine.admin_state_up,
            mine.external_gateway_info.clone()
        ),
        ("r", "project-a", "ACTIVE", true, None)
    );
    assert!(matches!(
        c.get_router(&bob(), &mine.id).await,
        Err(NetworkError::RouterNotFound(id)) if id == mine.id
    ));
    assert!(matches!(
        c.delete_router(&bob(), &mine.id).await,
        Err(NetworkError::RouterNotFound(_))
    ));
    assert!(c
        .list_routers(&bob(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(c.get_router(&admin(), &mine.id).await.unwrap().id, mine.id);
    let renamed = c
        .update_router(
            &alice(),
            &mine.id,
            RouterUpdate {
                name: Some("edge".into()),
                admin_state_up: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.admin_state_up),
        ("edge", false)
    );

    for _ in 1..NetworkQuotaLimits::default().router {
        router(c, &alice(), None).await;
    }
    let over = c
        .create_router(&alice(), NewRouter::default())
        .await
        .unwrap_err();
    assert_eq!(
        (over.type_name(), over.to_string()),
        (
            "OverQuota",
            "Quota exceeded for resources: ['router'].".into()
        )
    );
    // Another project has its own quota; a deleted router frees a place.
    router(c, &bob(), None).await;
    c.delete_router(&alice(), &mine.id).await.unwrap();
    router(c, &alice(), None).await;
    assert_eq!(
        c.list_routers(&alice(), &ListQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        NetworkQuotaLimits::default().router as usize
    );
}

async fn a_gateway_takes_an_address_of_an_external_network_only(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, ext_subnet) = external(c, "172.24.9.0/24").await;
    let r = router(c, &alice(), Some(&ext)).await;
    let gw = r.external_gateway_info.clone().expect("a gateway");
    assert_eq!(
        (gw.network_id.as_str(), gw.enable_snat),
        (ext.as_str(), true)
    );
    assert_eq!(gw.external_fixed_ips.len(), 1);
    assert_eq!(
        (
            gw.external_fixed_ips[0].subnet_id.as_str(),
            gw.external_fixed_ips[0].ip_address.as_str()
        ),
        (ext_subnet.as_str(), "172.24.9.2")
    );
    // The gateway port is hidden from the project, and is no port to delete.
    let ports = c
        .list_ports(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    let gw_port = ports
        .iter()
        .find(|p| p.device_owner == DEVICE_OWNER_ROUTER_GATEWAY)
        .expect("the gateway port");
    assert_eq!(
        (gw_port.device_id.as_str(), gw_port.project_id.as_str()),
        (r.id.as_str(), "")
    );
    let refused = c.delete_port(&admin(), &gw_port.id).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "Port {} cannot be deleted directly via the port API: has device owner network:router_gateway.",
            gw_port.id
        )
    );

    // A tenant network is no gateway; SNAT and addresses are the admin's.
    let tenant = network(c, &alice(), "n").await;
    let not_external = c
        .update_router(&alice(), &r.id, gateway_to(&tenant, None))
        .await
        .unwrap_err();
    assert_eq!(
        (not_external.type_name(), not_external.to_string()),
        (
            "BadRequest",
            format!("Bad router request: Network {tenant} is not an external network.")
        )
    );
    let snat = c
        .update_router(&alice(), &r.id, gateway_to(&ext, Some(false)))
        .await
        .unwrap_err();
    assert_eq!(
        snat.to_string(),
        "(rule:update_router and rule:update_router:external_gateway_info:enable_snat) is disallowed by policy"
    );
    let by_admin = c
        .update_router(&admin(), &r.id, gateway_to(&ext, Some(false)))
        .await
        .unwrap();
    let kept = by_admin.external_gateway_info.unwrap();
    assert_eq!(
        (
            kept.enable_snat,
            kept.external_fixed_ips[0].ip_address.as_str()
        ),
        (false, "172.24.9.2")
    );

    // Clearing the gateway deletes its port; the address rests.
    let cleared = c
        .update_router(
            &alice(),
            &r.id,
            RouterUpdate {
                external_gateway_info: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.external_gateway_info, None);
    let again = c
        .update_router(&alice(), &r.id, gateway_to(&ext, None))
        .await
        .unwrap();
    assert_eq!(
        again.external_gateway_info.unwrap().external_fixed_ips[0].ip_address,
        "172.24.9.3"
    );
    // Deleting the router deletes its gateway port.
    c.delete_router(&alice(), &r.id).await.unwrap();
    assert!(!c
        .list_ports(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .any(|p| p.device_owner == DEVICE_OWNER_ROUTER_GATEWAY));
}

async fn interfaces_join_subnets_at_their_gateway_or_through_a_port(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    let sub = subnet(c, &alice(), &net, "10.1.0.0/24").await;
    let r = router(c, &alice(), None).await;

    let added = c
        .add_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap();
    assert_eq!(
        (
            added.id.as_str(),
            added.project_id.as_str(),
            added.network_id.as_str(),
            added.subnet_id.as_str(),
            added.subnet_ids.clone()
        ),
        (
            r.id.as_str(),
            "project-a",
            net.as_str(),
            sub.as_str(),
            vec![sub.clone()]
        )
    );
    let port = c.get_port(&alice(), &added.port_id).await.unwrap();
    assert_eq!(
        (
            port.device_id.as_str(),
            port.device_owner.as_str(),
            port.fixed_ips[0].ip_address.as_str()
        ),
        (r.id.as_str(), DEVICE_OWNER_ROUTER_INTERFACE, "10.1.0.1")
    );
    let twice = c
        .add_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap_err();
    assert_eq!(
        (twice.type_name(), twice.to_string()),
        (
            "BadRequest",
            format!("Bad router request: Router already has a port on subnet {sub}.")
        )
    );
    let neither = c
        .add_router_interface(&alice(), &r.id, InterfaceRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        neither.to_string(),
        "Bad router request: Either subnet_id or port_id must be specified."
    );
    let no_gw_net = network(c, &alice(), "no-gw").await;
    let no_gw = c
        .create_subnet(
            &alice(),
            NewSubnet {
                network_id: no_gw_net,
                ip_version: 4,
                cidr: "10.2.0.0/24".into(),
                gateway_ip: GatewayIp::None,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    assert_eq!(
        c.add_router_interface(&alice(), &r.id, by_subnet(&no_gw))
            .await
            .unwrap_err()
            .to_string(),
        "Bad router request: Subnet for router interface must have a gateway IP."
    );
    // Another project's subnet is not even found.
    let bobs_router = router(c, &bob(), None).await;
    assert!(matches!(
        c.add_router_interface(&bob(), &bobs_router.id, by_subnet(&sub))
            .await,
        Err(NetworkError::SubnetNotFound(_))
    ));

    // In use: the router, its interface port, the subnet.
    let in_use = c.delete_router(&alice(), &r.id).await.unwrap_err();
    assert_eq!(
        (in_use.type_name(), in_use.to_string()),
        ("RouterInUse", format!("Router {} still has ports", r.id))
    );
    assert_eq!(
        c.delete_port(&alice(), &added.port_id)
            .await
            .unwrap_err()
            .type_name(),
        "ServicePortInUse"
    );
    assert_eq!(
        c.delete_subnet(&alice(), &sub)
            .await
            .unwrap_err()
            .type_name(),
        "SubnetInUse"
    );

    let removed = c
        .remove_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap();
    assert_eq!(removed.port_id, added.port_id);
    assert!(matches!(
        c.get_port(&alice(), &added.port_id).await,
        Err(NetworkError::PortNotFound(_))
    ));
    let gone = c
        .remove_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap_err();
    assert_eq!(
        gone.to_string(),
        format!("Router {} has no interface on subnet {sub}", r.id)
    );

    // A port of the project becomes the interface, and goes with it.
    let own = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let through_port = c
        .add_router_interface(&alice(), &r.id, by_port(&own.id))
        .await
        .unwrap();
    assert_eq!(
        (
            through_port.port_id.as_str(),
            through_port.subnet_id.as_str()
        ),
        (own.id.as_str(), sub.as_str())
    );
    let taken = c
        .add_router_interface(&alice(), &bobs_router.id, by_port(&own.id))
        .await;
    assert!(matches!(taken, Err(NetworkError::RouterNotFound(_))));
    let other = router(c, &alice(), None).await;
    let attached = c
        .add_router_interface(&alice(), &other.id, by_port(&own.id))
        .await
        .unwrap_err();
    assert_eq!(
        attached.to_string(),
        format!(
            "Unable to complete operation on port {} for network {net}. Port already has an attached device {}.",
            own.id, r.id
        )
    );
    let unknown = c
        .remove_router_interface(&alice(), &other.id, by_port(&own.id))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        format!(
            "Router {} does not have an interface with id {}",
            other.id, own.id
        )
    );
    c.remove_router_interface(&alice(), &r.id, by_port(&own.id))
        .await
        .unwrap();
    c.delete_router(&alice(), &r.id).await.unwrap();
    c.delete_subnet(&alice(), &sub).await.unwrap();
}
