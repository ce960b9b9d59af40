//! The order of an instance's interfaces, as nova keeps it in the
//! instance's network info: the create's `networks` in the order asked
//! for, then each attached interface after the others. It is the order
//! the guest sees (network_data.json's links, the first fixed address as
//! `local-ipv4`), whenever the ports were made.

use compute::{
    AttachInterface, CreateInstance, Engine, NetworkRequest, RequestedNetwork, CIRROS_IMAGE_UUID,
};

use super::{network, port, subnet};
use crate::support::{alice, Fixture};

on_both_engines!(interfaces_keep_the_order_asked_for_then_of_attaching);

fn port_ids(instance: &compute::Instance) -> Vec<String> {
    instance.vifs.iter().map(|v| v.port_id.clone()).collect()
}

async fn interfaces_keep_the_order_asked_for_then_of_attaching(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    let mut nets = Vec::new();
    for (name, cidr) in [
        ("a", "10.61.0.0/24"),
        ("b", "10.62.0.0/24"),
        ("c", "10.63.0.0/24"),
    ] {
        let net = network(c, &ctx, name).await;
        subnet(c, &ctx, &net, cidr).await;
        nets.push(net);
    }
    // Ports made before the instance: older than the one its create makes.
    let on_b = port(c, &ctx, &nets[1]).await.id;
    let on_c = port(c, &ctx, &nets[2]).await.id;

    let created = c
        .create_instances(
            &ctx,
            CreateInstance {
                name: "ordered".into(),
                flavor_id: "1".into(),
                image_ref: CIRROS_IMAGE_UUID.into(),
                networks: NetworkRequest::List(vec![
                    RequestedNetwork {
                        network_id: Some(nets[0].clone()),
                        ..Default::default()
                    },
                    RequestedNetwork {
                        port_id: Some(on_b.clone()),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
        )
        .await
        .expect("create")
        .instances
        .remove(0);
    let uuid = created.uuid.clone();
    let made = created.vifs[0].port_id.clone();
    assert_eq!(
        created
            .vifs
            .iter()
            .map(|v| v.network_id.as_str())
            .collect::<Vec<_>>(),
        vec![nets[0].as_str(), nets[1].as_str()],
        "the create's answer"
    );
    let shown = c.get_instance(&ctx, &uuid).await.unwrap();
    assert_eq!(port_ids(&shown), vec![made.clone(), on_b.clone()]);
    assert_eq!(
        shown.fixed_ipv4().map(|a| a.to_string()).as_deref(),
        Some("10.61.0.2"),
        "the first address is the first network's"
    );

    // An interface attached comes after the others, a port made earlier too.
    let attach = |network_id: Option<&str>, port_id: Option<&str>| AttachInterface {
        network_id: network_id.map(str::to_string),
        port_id: port_id.map(str::to_string),
        ..Default::default()
    };
    c.attach_interface(&ctx, &uuid, attach(None, Some(&on_c)))
        .await
        .unwrap();
    let on_a = c
        .attach_interface(&ctx, &uuid, attach(Some(&nets[0]), None))
        .await
        .unwrap()
        .port_id;
    let shown = c.get_instance(&ctx, &uuid).await.unwrap();
    assert_eq!(
        port_ids(&shown),
        vec![made.clone(), on_b.clone(), on_c.clone(), on_a.clone()]
    );

    // Detached and attached again, a port goes to the end.
    c.detach_interface(&ctx, &uuid, &on_b).await.unwrap();
    c.attach_interface(&ctx, &uuid, attach(None, Some(&on_b)))
        .await
        .unwrap();
    let shown = c.get_instance(&ctx, &uuid).await.unwrap();
    assert_eq!(port_ids(&shown), vec![made, on_c, on_a, on_b]);
}
