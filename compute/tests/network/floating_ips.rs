//! Floating IPs on both engines: addresses of an external subnet given
//! atomically whatever the process, association through a router only,
//! what association protects, their project's alone, Neutron's quota.

use std::collections::BTreeSet;

use compute::network::NetworkQuotaLimits;
use compute::network::{
    FloatingIp, FloatingIpUpdate, ListQuery, NetworkUpdate, NewFloatingIp, NewPort, Port,
    RouterUpdate,
};
use compute::{Compute, Engine, NetworkError, RequestContext};

use super::routers::{by_subnet, external, gateway_to, router};
use super::{network, subnet, unseeded};
use crate::support::{admin, alice, bob};

on_both_engines!(
    a_floating_ip_comes_from_the_external_subnet_and_is_freed_on_delete,
    association_needs_a_router_between_the_ports_subnet_and_the_external_network,
    deleting_a_port_disassociates_its_floating_ip,
    floating_ips_are_their_projects_alone_within_neutrons_quota,
    concurrent_creates_on_separate_pools_never_share_an_address,
);

async fn fip(c: &Compute, ctx: &RequestContext, net: &str) -> FloatingIp {
    c.create_floating_ip(
        ctx,
        NewFloatingIp {
            floating_network_id: net.into(),
            ..Default::default()
        },
    )
    .await
    .expect("floating ip")
}

fn associate(port: Option<&str>) -> FloatingIpUpdate {
    FloatingIpUpdate {
        port_id: Some(port.map(str::to_string)),
        ..Default::default()
    }
}

/// Alice's network with a subnet on `cidr`, a port on it, and a router
/// with its gateway on `ext` and an interface on the subnet:
/// (subnet, port, router).
async fn reachable_port(c: &Compute, ext: &str, cidr: &str) -> (String, Port, String) {
    let net = network(c, &alice(), "tenant").await;
    let sub = subnet(c, &alice(), &net, cidr).await;
    let port = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = router(c, &alice(), Some(ext)).await;
    c.add_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap();
    (sub, port, r.id)
}

async fn a_floating_ip_comes_from_the_external_subnet_and_is_freed_on_delete(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, _) = external(c, "172.24.8.0/24").await;
    let first = fip(c, &alice(), &ext).await;
    assert_eq!(
        (
            first.floating_ip_address.as_str(),
            first.floating_network_id.as_str(),
            first.project_id.as_str(),
            first.status.as_str(),
            first.port_id.clone(),
            first.fixed_ip_address.clone(),
            first.router_id.clone()
        ),
        (
            "172.24.8.2",
            ext.as_str(),
            "project-a",
            "DOWN",
            None,
            None,
            None
        )
    );
    // Its port holds the address, hidden from the project.
    let ports = c
        .list_ports(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    let holder = ports
        .iter()
        .find(|p| p.device_id == first.id)
        .expect("the floating IP's port");
    assert_eq!(
        (holder.device_owner.as_str(), holder.project_id.as_str()),
        ("network:floatingip", "")
    );
    assert!(c
        .list_ports(&alice(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());

    let tenant = network(c, &alice(), "n").await;
    let not_external = c
        .create_floating_ip(
            &alice(),
            NewFloatingIp {
                floating_network_id: tenant.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (not_external.type_name(), not_external.to_string()),
        (
            "BadRequest",
            format!("Bad floatingip request: Network {tenant} is not a valid external network.")
        )
    );
    // Choosing the address is the admin's.
    let chosen = NewFloatingIp {
        floating_network_id: ext.clone(),
        floating_ip_address: Some("172.24.8.200".into()),
        ..Default::default()
    };
    assert!(matches!(
        c.create_floating_ip(&alice(), chosen.clone()).await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    let mut for_alice = chosen.clone();
    for_alice.project_id = Some("project-a".into());
    let picked = c.create_floating_ip(&admin(), for_alice).await.unwrap();
    assert_eq!(
        (
            picked.floating_ip_address.as_str(),
            picked.project_id.as_str()
        ),
        ("172.24.8.200", "project-a")
    );
    assert_eq!(
        c.create_floating_ip(&admin(), chosen)
            .await
            .unwrap_err()
            .type_name(),
        "IpAddressInUse"
    );

    // Deleted, its port goes and its address rests (the reuse delay).
    c.delete_floating_ip(&alice(), &first.id).await.unwrap();
    assert!(matches!(
        c.get_floating_ip(&alice(), &first.id).await,
        Err(NetworkError::FloatingIpNotFound(_))
    ));
    assert!(!c
        .list_ports(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .any(|p| p.device_id == first.id));
    assert_eq!(
        fip(c, &alice(), &ext).await.floating_ip_address,
        "172.24.8.3"
    );
}

async fn association_needs_a_router_between_the_ports_subnet_and_the_external_network(
    engine: Engine,
) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, _) = external(c, "172.24.7.0/24").await;
    let net = network(c, &alice(), "tenant").await;
    let sub = subnet(c, &alice(), &net, "10.3.0.0/24").await;
    let port = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let floating = fip(c, &alice(), &ext).await;

    // No router: Neutron's 404.
    let unreachable = c
        .update_floating_ip(&alice(), &floating.id, associate(Some(&port.id)))
        .await
        .unwrap_err();
    assert_eq!(
        (unreachable.type_name(), unreachable.to_string()),
        (
            "ExternalGatewayForFloatingIPNotFound",
            format!(
                "External network {ext} is not reachable from subnet {sub}.  Therefore, cannot associate Port {} with a Floating IP.",
                port.id
            )
        )
    );
    // A router with an interface but no gateway is not enough either.
    let r = router(c, &alice(), None).await;
    c.add_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap();
    assert_eq!(
        c.update_floating_ip(&alice(), &floating.id, associate(Some(&port.id)))
            .await
            .unwrap_err()
            .type_name(),
        "ExternalGatewayForFloatingIPNotFound"
    );
    c.update_router(&alice(), &r.id, gateway_to(&ext, None))
        .await
        .unwrap();

    let associated = c
        .update_floating_ip(&alice(), &floating.id, associate(Some(&port.id)))
        .await
        .unwrap();
    assert_eq!(
        (
            associated.status.as_str(),
            associated.port_id.as_deref(),
            associated.fixed_ip_address.as_deref(),
            associated.router_id.as_deref()
        ),
        (
            "ACTIVE",
            Some(port.id.as_str()),
            Some(port.fixed_ips[0].ip_address.as_str()),
            Some(r.id.as_str())
        )
    );
    // One floating IP per fixed address.
    let second = fip(c, &alice(), &ext).await;
    let twice = c
        .update_floating_ip(&alice(), &second.id, associate(Some(&port.id)))
        .await
        .unwrap_err();
    assert_eq!(
        twice.to_string(),
        format!(
            "Cannot associate floating IP {} ({}) with port {} using fixed IP {}, as that fixed IP already has a floating IP on external network {ext}.",
            second.floating_ip_address, second.id, port.id, port.fixed_ips[0].ip_address
        )
    );
    // What the association needs stays.
    let interface = c
        .remove_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap_err();
    assert_eq!(
        (interface.type_name(), interface.to_string()),
        (
            "RouterInterfaceInUseByFloatingIP",
            format!(
                "Router interface for subnet {sub} on router {} cannot be deleted, as it is required by one or more floating IPs.",
                r.id
            )
        )
    );
    let gateway = c
        .update_router(
            &alice(),
            &r.id,
            RouterUpdate {
                external_gateway_info: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        gateway.to_string(),
        format!(
            "Gateway cannot be updated for router {}, since a gateway to external network {ext} is required by one or more floating IPs.",
            r.id
        )
    );
    // A wrong fixed address, or none without a port, is refused.
    let wrong = c
        .update_floating_ip(
            &alice(),
            &second.id,
            FloatingIpUpdate {
                port_id: Some(Some(port.id.clone())),
                fixed_ip_address: Some("10.3.0.99".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        wrong.to_string(),
        format!(
            "Bad floatingip request: Port {} does not have fixed ip 10.3.0.99.",
            port.id
        )
    );

    // The external network stays external while it serves them.
    let stays = c
        .update_network(
            &admin(),
            &ext,
            NetworkUpdate {
                router_external: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (stays.type_name(), stays.to_string()),
        (
            "ExternalNetworkInUse",
            format!("External network {ext} cannot be updated to be made non-external, since it has existing gateway ports")
        )
    );

    // Disassociated, it is DOWN and the interface may go.
    let free = c
        .update_floating_ip(&alice(), &floating.id, associate(None))
        .await
        .unwrap();
    assert_eq!(
        (
            free.status.as_str(),
            free.port_id.clone(),
            free.fixed_ip_address.clone(),
            free.router_id.clone()
        ),
        ("DOWN", None, None, None)
    );
    c.remove_router_interface(&alice(), &r.id, by_subnet(&sub))
        .await
        .unwrap();
}

async fn deleting_a_port_disassociates_its_floating_ip(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, _) = external(c, "172.24.6.0/24").await;
    let (_, port, _) = reachable_port(c, &ext, "10.4.0.0/24").await;
    let created = c
        .create_floating_ip(
            &alice(),
            NewFloatingIp {
                floating_network_id: ext.clone(),
                port_id: Some(port.id.clone()),
                description: Some("web".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            created.status.as_str(),
            created.port_id.as_deref(),
            created.description.as_str()
        ),
        ("ACTIVE", Some(port.id.as_str()), "web")
    );

    c.delete_port(&alice(), &port.id).await.unwrap();

    let after = c.get_floating_ip(&alice(), &created.id).await.unwrap();
    assert_eq!(
        (
            after.status.as_str(),
            after.port_id.clone(),
            after.fixed_ip_address.clone(),
            after.router_id.clone(),
            after.floating_ip_address.clone()
        ),
        (
            "DOWN",
            None,
            None,
            None,
            created.floating_ip_address.clone()
        )
    );
}

async fn floating_ips_are_their_projects_alone_within_neutrons_quota(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, _) = external(c, "172.25.0.0/24").await;
    let (_, port, _) = reachable_port(c, &ext, "10.5.0.0/24").await;
    let alices = fip(c, &alice(), &ext).await;
    assert!(matches!(
        c.get_floating_ip(&bob(), &alices.id).await,
        Err(NetworkError::FloatingIpNotFound(_))
    ));
    assert!(matches!(
        c.update_floating_ip(&bob(), &alices.id, associate(None))
            .await,
        Err(NetworkError::FloatingIpNotFound(_))
    ));
    assert!(matches!(
        c.delete_floating_ip(&bob(), &alices.id).await,
        Err(NetworkError::FloatingIpNotFound(_))
    ));
    // Bob's floating IP cannot reach Alice's port.
    let bobs = fip(c, &bob(), &ext).await;
    assert!(matches!(
        c.update_floating_ip(&bob(), &bobs.id, associate(Some(&port.id)))
            .await,
        Err(NetworkError::PortNotFound(_))
    ));
    assert_eq!(
        c.list_floating_ips(&bob(), &ListQuery::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|f| f.id.clone())
            .collect::<Vec<_>>(),
        vec![bobs.id.clone()]
    );
    assert_eq!(
        c.list_floating_ips(&admin(), &ListQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    for _ in 1..NetworkQuotaLimits::default().floatingip {
        fip(c, &alice(), &ext).await;
    }
    let over = c
        .create_floating_ip(
            &alice(),
            NewFloatingIp {
                floating_network_id: ext.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (over.type_name(), over.to_string()),
        (
            "OverQuota",
            "Quota exceeded for resources: ['floatingip'].".into()
        )
    );
    fip(c, &bob(), &ext).await;
}

async fn concurrent_creates_on_separate_pools_never_share_an_address(engine: Engine) {
    let f = unseeded(engine).await;
    // 172.26.0.0/28: 13 addresses after the gateway, for 20 creates.
    let (ext, _) = external(&f.compute, "172.26.0.0/28").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let c = f.reconnect(1).await;
        let ext = ext.clone();
        tasks.push(tokio::spawn(async move {
            // Two projects, so that no quota is near.
            let ctx = if i % 2 == 0 { alice() } else { bob() };
            c.create_floating_ip(
                &ctx,
                NewFloatingIp {
                    floating_network_id: ext,
                    ..Default::default()
                },
            )
            .await
        }));
    }
    let mut addresses = BTreeSet::new();
    let mut exhausted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(fip) => assert!(addresses.insert(fip.floating_ip_address.clone()), "{fip:?}"),
            Err(NetworkError::IpAddressGenerationFailure(net)) if net == ext => exhausted += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((addresses.len(), exhausted), (13, 7));
    let listed: BTreeSet<String> = f
        .compute
        .list_floating_ips(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.floating_ip_address)
        .collect();
    assert_eq!(listed, addresses);
}
