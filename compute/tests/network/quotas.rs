//! Neutron's quotas on both engines (nova.conf's `[quotas]`, a project's
//! own limits set by an admin, the ports of servers counted), and the
//! auto-allocated topology a project gets on first asking.

use compute::network::{
    GatewayIp, ListQuery, NetworkQuotaLimits, NetworkUpdate, NewNetwork, NewPort, NewSubnet,
};
use compute::{Compute, Engine, NetworkError, RequestContext};

use super::{network, subnet, unseeded};
use crate::support::{admin, alice, bob, Fixture};

on_both_engines!(
    creates_stop_at_the_configured_limits,
    an_admin_sets_and_forgets_a_projects_own_limits,
    concurrent_port_creates_never_pass_the_port_quota,
    a_project_gets_one_auto_allocated_topology_on_the_default_external_network,
    auto_allocation_needs_a_default_external_network,
);

async fn quota_fixture(engine: Engine, limits: NetworkQuotaLimits) -> Fixture {
    Fixture::builder(engine)
        .seed(false)
        .config(|c| c.network_quota = limits)
        .build()
        .await
}

fn new_port(net: &str) -> NewPort {
    NewPort {
        network_id: net.into(),
        ..Default::default()
    }
}

fn over(result: Result<impl std::fmt::Debug, NetworkError>) -> Vec<String> {
    match result {
        Err(NetworkError::OverQuota(resources)) => resources,
        other => panic!("expected OverQuota, got {other:?}"),
    }
}

async fn creates_stop_at_the_configured_limits(engine: Engine) {
    let f = quota_fixture(
        engine,
        NetworkQuotaLimits {
            network: 2,
            subnet: 1,
            port: 2,
            ..NetworkQuotaLimits::default()
        },
    )
    .await;
    let c = &f.compute;
    let net = network(c, &alice(), "a").await;
    network(c, &alice(), "b").await;
    let refused = c
        .create_network(&alice(), NewNetwork::default())
        .await
        .map(|n| n.id);
    assert_eq!(over(refused), ["network"]);
    assert_eq!(
        over(
            c.create_network(&alice(), NewNetwork::default())
                .await
                .map(|n| n.id)
        )
        .len(),
        1
    );
    // Another project has its own count.
    network(c, &bob(), "b").await;

    subnet(c, &alice(), &net, "10.9.0.0/24").await;
    let second = c
        .create_subnet(
            &alice(),
            NewSubnet {
                network_id: net.clone(),
                ip_version: 4,
                cidr: "10.9.1.0/24".into(),
                gateway_ip: GatewayIp::Default,
                ..Default::default()
            },
        )
        .await
        .map(|s| s.id);
    assert_eq!(over(second), ["subnet"]);

    let first = c.create_port(&alice(), new_port(&net)).await.expect("port");
    c.create_port(&alice(), new_port(&net)).await.expect("port");
    let third = c.create_port(&alice(), new_port(&net)).await.map(|p| p.id);
    assert_eq!(over(third), ["port"]);
    // A deleted port frees its place.
    c.delete_port(&alice(), &first.id).await.unwrap();
    c.create_port(&alice(), new_port(&net))
        .await
        .expect("a freed place");
    assert_eq!(
        c.network_quota_details(&alice(), &alice().project_id)
            .await
            .unwrap()["port"]
            .used,
        2
    );
}

async fn an_admin_sets_and_forgets_a_projects_own_limits(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let project = alice().project_id;
    assert_eq!(
        c.network_quota(&alice(), &project).await.unwrap(),
        NetworkQuotaLimits::default()
    );
    // Only an admin changes limits; a project reads only its own.
    let refused = c
        .update_network_quota(&alice(), &project, &[("network".into(), 1)])
        .await;
    assert_eq!(refused.unwrap_err().type_name(), "PolicyNotAuthorized");
    let other = c.network_quota(&bob(), &project).await;
    assert_eq!(other.unwrap_err().type_name(), "PolicyNotAuthorized");

    let limits = c
        .update_network_quota(&admin(), &project, &[("network".into(), 1)])
        .await
        .unwrap();
    assert_eq!((limits.network, limits.port), (1, 500));
    network(c, &alice(), "only").await;
    assert_eq!(
        over(
            c.create_network(&alice(), NewNetwork::default())
                .await
                .map(|n| n.id)
        ),
        ["network"]
    );
    let listed = c.list_network_quotas(&admin()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].0.as_str(), listed[0].1.network),
        (project.as_str(), 1)
    );

    // Unknown resources and limits below -1 are refused, nothing changes.
    let unknown = c
        .update_network_quota(&admin(), &project, &[("volume".into(), 1)])
        .await;
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "Unrecognized attribute(s) 'volume'"
    );
    let negative = c
        .update_network_quota(&admin(), &project, &[("port".into(), -2)])
        .await;
    assert_eq!(negative.unwrap_err().type_name(), "HTTPBadRequest");
    assert_eq!(c.network_quota(&alice(), &project).await.unwrap().port, 500);

    // -1 is unlimited; forgetting the limits brings the defaults back.
    c.update_network_quota(&admin(), &project, &[("network".into(), -1)])
        .await
        .unwrap();
    network(c, &alice(), "more").await;
    c.delete_network_quota(&admin(), &project).await.unwrap();
    assert_eq!(
        c.network_quota(&alice(), &project).await.unwrap(),
        NetworkQuotaLimits::default()
    );
    let again = c.delete_network_quota(&admin(), &project).await;
    assert_eq!(
        again.unwrap_err().to_string(),
        format!("Quota for tenant {project} could not be found.")
    );
}

async fn concurrent_port_creates_never_pass_the_port_quota(engine: Engine) {
    let f = quota_fixture(
        engine,
        NetworkQuotaLimits {
            port: 5,
            ..NetworkQuotaLimits::default()
        },
    )
    .await;
    // Two networks, so that the creates do not all meet at one network's
    // lock: only the project's quota lock serializes them.
    let nets = [
        network(&f.compute, &alice(), "n1").await,
        network(&f.compute, &alice(), "n2").await,
    ];
    subnet(&f.compute, &alice(), &nets[0], "10.7.0.0/24").await;
    subnet(&f.compute, &alice(), &nets[1], "10.8.0.0/24").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let c = f.reconnect(1).await;
        let net = nets[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            c.create_port(&alice(), new_port(&net)).await.map(|p| p.id)
        }));
    }
    let (mut made, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(NetworkError::OverQuota(_)) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((made, refused), (5, 7));
    let ports = f
        .compute
        .list_ports(&alice(), &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(ports.items.len(), 5);
}

/// The default external network with a subnet, as the seed makes it.
async fn default_external(c: &Compute) -> String {
    let (net, _) = super::routers::external(c, "172.30.0.0/24").await;
    c.update_network(
        &admin(),
        &net,
        NetworkUpdate {
            is_default: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("default external network");
    net
}

async fn a_project_gets_one_auto_allocated_topology_on_the_default_external_network(
    engine: Engine,
) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let external = default_external(c).await;
    let project = alice().project_id;
    c.check_auto_allocation(&alice(), &project).await.unwrap();

    let topology = c.auto_allocated_topology(&alice(), "None").await.unwrap();
    assert_eq!(topology.project_id, project);
    let net = c.get_network(&alice(), &topology.network_id).await.unwrap();
    assert_eq!(
        (
            net.name.as_str(),
            net.project_id.as_str(),
            net.shared,
            net.admin_state_up
        ),
        ("auto_allocated_network", project.as_str(), false, true)
    );
    let sub = c.get_subnet(&alice(), &net.subnets[0]).await.unwrap();
    assert_eq!(
        (
            sub.name.as_str(),
            sub.cidr.as_str(),
            sub.gateway_ip.as_deref()
        ),
        (
            "auto_allocated_subnet_v4",
            "10.128.0.0/26",
            Some("10.128.0.1")
        )
    );
    let routers = c
        .list_routers(&alice(), &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(routers.items.len(), 1);
    let router = &routers.items[0];
    assert_eq!(router.name, "auto_allocated_router");
    assert_eq!(
        router
            .external_gateway_info
            .as_ref()
            .map(|g| g.network_id.as_str()),
        Some(external.as_str())
    );

    // Asked again: the same network. Another project gets the next block.
    let again = c.auto_allocated_topology(&alice(), &project).await.unwrap();
    assert_eq!(again, topology);
    let bobs = c.auto_allocated_topology(&bob(), "None").await.unwrap();
    let bob_net = c.get_network(&bob(), &bobs.network_id).await.unwrap();
    let bob_sub = c.get_subnet(&bob(), &bob_net.subnets[0]).await.unwrap();
    assert_eq!(bob_sub.cidr, "10.128.0.64/26");

    // Only an admin asks for another project's.
    let refused = c.auto_allocated_topology(&bob(), &project).await;
    assert_eq!(refused.unwrap_err().type_name(), "PolicyNotAuthorized");

    // Deleted: router, subnet and network go; a later asking builds anew.
    c.delete_auto_allocated_topology(&alice(), &project)
        .await
        .unwrap();
    assert_eq!(
        c.get_network(&alice(), &topology.network_id)
            .await
            .unwrap_err()
            .type_name(),
        "NetworkNotFound"
    );
    let mine = |ctx: RequestContext| async move {
        c.list_routers(&ctx, &ListQuery::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|r| r.project_id == ctx.project_id)
            .count()
    };
    assert_eq!(mine(alice()).await, 0);
    c.delete_auto_allocated_topology(&alice(), &project)
        .await
        .expect("nothing to delete is not an error");
    let rebuilt = c.auto_allocated_topology(&alice(), &project).await.unwrap();
    assert_ne!(rebuilt.network_id, topology.network_id);
}

async fn auto_allocation_needs_a_default_external_network(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let expected = "Deployment error: No default router:external network.";
    let dry = c.check_auto_allocation(&alice(), "None").await;
    assert_eq!(dry.unwrap_err().to_string(), expected);
    let built = c.auto_allocated_topology(&alice(), "None").await;
    assert_eq!(built.unwrap_err().to_string(), expected);
    assert!(c
        .list_networks(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());

    // One default at most, and only an admin makes one.
    let first = default_external(c).await;
    let (second, _) = super::routers::external(c, "172.31.0.0/24").await;
    let refused = c
        .update_network(
            &admin(),
            &second,
            NetworkUpdate {
                is_default: Some(true),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        refused.unwrap_err().to_string(),
        format!("A default external network already exists: {first}.")
    );
    let not_admin = c
        .create_network(
            &alice(),
            NewNetwork {
                is_default: Some(true),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(not_admin.unwrap_err().type_name(), "PolicyNotAuthorized");
}
