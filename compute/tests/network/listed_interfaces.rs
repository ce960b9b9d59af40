//! A listing shows an instance's network as the database holds it, at
//! once after any change: the per-process cache a listing reads through
//! keeps interfaces only as long as nothing they are made of changed
//! (ports, addresses, floating addresses, security groups, the names of
//! networks and groups), whoever changed it.

use compute::network::{
    FixedIpRequest, FloatingIpUpdate, NetworkUpdate, NewFloatingIp, NewSecurityGroup, PortUpdate,
    SecurityGroupUpdate,
};
use compute::{
    Compute, CreateInstance, Engine, InstanceFilter, NetworkRequest, RequestContext,
    RequestedNetwork, CIRROS_IMAGE_UUID,
};

use super::routers::{by_subnet, external, router};
use super::{network, subnet};
use crate::support::{alice, Fixture};

on_both_engines!(a_listing_shows_each_change_to_an_instances_network_at_once);

/// What a listing shows of the one instance's interfaces: per port its
/// network name, fixed addresses, floating addresses and group names.
async fn listed(
    c: &Compute,
    ctx: &RequestContext,
) -> Vec<(String, Vec<String>, Vec<String>, Vec<String>)> {
    let mut instances = c
        .list_instances(ctx, &InstanceFilter::default())
        .await
        .expect("list");
    assert_eq!(instances.len(), 1);
    instances
        .remove(0)
        .vifs
        .into_iter()
        .map(|v| {
            (
                v.network_name,
                v.fixed_ips
                    .iter()
                    .map(|ip| ip.address.to_string())
                    .collect(),
                v.floating_ips.iter().map(|ip| ip.to_string()).collect(),
                v.security_groups.into_iter().map(|g| g.name).collect(),
            )
        })
        .collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

async fn a_listing_shows_each_change_to_an_instances_network_at_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    let net = network(c, &ctx, "before").await;
    let sub = subnet(c, &ctx, &net, "10.71.0.0/24").await;
    let group = c
        .create_security_group(
            &ctx,
            NewSecurityGroup {
                name: Some("web".into()),
                ..Default::default()
            },
        )
        .await
        .expect("group");
    let created = c
        .create_instances(
            &ctx,
            CreateInstance {
                name: "listed".into(),
                flavor_id: "1".into(),
                image_ref: CIRROS_IMAGE_UUID.into(),
                networks: NetworkRequest::List(vec![RequestedNetwork {
                    network_id: Some(net.clone()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
        )
        .await
        .expect("create")
        .instances
        .remove(0);
    let port = created.vifs[0].port_id.clone();
    let row = |name: &str, fixed: &[&str], floating: &[&str], groups: &[&str]| {
        (
            name.to_string(),
            strings(fixed),
            strings(floating),
            strings(groups),
        )
    };
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("before", &["10.71.0.2"], &[], &["default"])],
        "first listing (now cached)"
    );

    c.update_network(
        &ctx,
        &net,
        NetworkUpdate {
            name: Some("after".into()),
            ..Default::default()
        },
    )
    .await
    .expect("rename the network");
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("after", &["10.71.0.2"], &[], &["default"])],
        "the network renamed"
    );

    c.update_port(
        &ctx,
        &port,
        PortUpdate {
            fixed_ips: Some(vec![FixedIpRequest {
                subnet_id: Some(sub.clone()),
                ip_address: Some("10.71.0.9".into()),
            }]),
            security_groups: Some(vec![group.id.clone()]),
            ..Default::default()
        },
    )
    .await
    .expect("update the port");
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("after", &["10.71.0.9"], &[], &["web"])],
        "a new address and another group"
    );

    c.update_security_group(
        &ctx,
        &group.id,
        SecurityGroupUpdate {
            name: Some("www".into()),
            ..Default::default()
        },
    )
    .await
    .expect("rename the group");
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("after", &["10.71.0.9"], &[], &["www"])],
        "the group renamed"
    );

    let (ext, _) = external(c, "172.24.9.0/24").await;
    let r = router(c, &ctx, Some(&ext)).await;
    c.add_router_interface(&ctx, &r.id, by_subnet(&sub))
        .await
        .expect("router interface");
    let fip = c
        .create_floating_ip(
            &ctx,
            NewFloatingIp {
                floating_network_id: ext.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("floating ip");
    c.update_floating_ip(
        &ctx,
        &fip.id,
        FloatingIpUpdate {
            port_id: Some(Some(port.clone())),
            ..Default::default()
        },
    )
    .await
    .expect("associate");
    let floating = fip.floating_ip_address.clone();
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("after", &["10.71.0.9"], &[&floating], &["www"])],
        "a floating address associated"
    );

    c.update_floating_ip(
        &ctx,
        &fip.id,
        FloatingIpUpdate {
            port_id: Some(None),
            ..Default::default()
        },
    )
    .await
    .expect("disassociate");
    assert_eq!(
        listed(c, &ctx).await,
        vec![row("after", &["10.71.0.9"], &[], &["www"])],
        "the floating address disassociated"
    );

    c.detach_interface(&ctx, &created.uuid, &port)
        .await
        .expect("detach");
    assert_eq!(listed(c, &ctx).await, vec![], "the interface detached");
}
