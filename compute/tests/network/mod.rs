//! The network domain on both engines: networks, subnets and ports,
//! their scoping, Neutron's typed errors, and address allocation that
//! never hands out an address in use, whatever the process; security
//! groups in [`security_groups`], routers in [`routers`], floating IPs in
//! [`floating_ips`], the order of an instance's interfaces in
//! [`instance_interfaces`].

use std::collections::BTreeSet;
use std::time::Duration;

use compute::network::{
    AllocationPool, FixedIpRequest, GatewayIp, ListQuery, NetworkUpdate, NewNetwork, NewPort,
    NewSubnet, PortUpdate, SubnetUpdate,
};
use compute::{Compute, Engine, NetworkError, RequestContext, SortDir};

use crate::support::{admin, alice, bob, Fixture};

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(compute::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(compute::Engine::Postgres).await
                }
            )*
        }
    };
}

mod floating_ips;
mod instance_interfaces;
mod listed_interfaces;
mod lookup;
mod quotas;
mod routers;
mod security_groups;

on_both_engines!(
    networks_are_scoped_to_their_project_unless_shared,
    subnets_get_neutron_defaults_and_typed_errors,
    ports_get_addresses_in_order_and_refuse_ones_in_use,
    resources_in_use_are_not_deleted,
    a_freed_address_stays_out_of_circulation_for_the_reuse_delay,
    concurrent_port_creates_on_separate_pools_never_share_an_address,
    lists_filter_sort_and_page,
    updates_change_what_they_name,
    the_first_migration_seeds_a_shared_private_and_an_external_public_network,
);

/// A fixture without the seeded catalogue and network, so that lists
/// hold only what a test made.
async fn unseeded(engine: Engine) -> Fixture {
    Fixture::builder(engine).seed(false).build().await
}

async fn network(c: &Compute, ctx: &RequestContext, name: &str) -> String {
    c.create_network(
        ctx,
        NewNetwork {
            name: Some(name.into()),
            ..Default::default()
        },
    )
    .await
    .expect("network")
    .id
}

async fn subnet(c: &Compute, ctx: &RequestContext, net: &str, cidr: &str) -> String {
    c.create_subnet(
        ctx,
        NewSubnet {
            network_id: net.into(),
            ip_version: if cidr.contains(':') { 6 } else { 4 },
            cidr: cidr.into(),
            ..Default::default()
        },
    )
    .await
    .expect("subnet")
    .id
}

async fn port(c: &Compute, ctx: &RequestContext, net: &str) -> compute::network::Port {
    c.create_port(
        ctx,
        NewPort {
            network_id: net.into(),
            ..Default::default()
        },
    )
    .await
    .expect("port")
}

async fn networks_are_scoped_to_their_project_unless_shared(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let mine = network(c, &alice(), "alice-net").await;
    let got = c.get_network(&alice(), &mine).await.unwrap();
    assert_eq!(
        (
            got.name.as_str(),
            got.project_id.as_str(),
            got.status.as_str()
        ),
        ("alice-net", "project-a", "ACTIVE")
    );
    assert_eq!(
        (got.shared, got.router_external, got.admin_state_up, got.mtu),
        (false, false, true, 1500)
    );
    assert!(matches!(
        c.get_network(&bob(), &mine).await,
        Err(NetworkError::NetworkNotFound(id)) if id == mine
    ));
    assert!(matches!(
        c.create_network(
            &alice(),
            NewNetwork {
                shared: Some(true),
                ..Default::default()
            }
        )
        .await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    assert!(matches!(
        c.create_network(
            &alice(),
            NewNetwork {
                project_id: Some("project-b".into()),
                ..Default::default()
            }
        )
        .await,
        Err(NetworkError::BadRequest(_))
    ));
    let shared = c
        .create_network(
            &admin(),
            NewNetwork {
                name: Some("public".into()),
                shared: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let ids = |p: compute::network::Page<compute::network::Network>| {
        p.items.into_iter().map(|n| n.id).collect::<BTreeSet<_>>()
    };
    let seen_by_bob = ids(c
        .list_networks(&bob(), &ListQuery::default())
        .await
        .unwrap());
    assert_eq!(seen_by_bob, BTreeSet::from([shared.clone()]));
    let seen_by_admin = ids(c
        .list_networks(&admin(), &ListQuery::default())
        .await
        .unwrap());
    assert!(seen_by_admin.contains(&mine) && seen_by_admin.contains(&shared));
    // A shared network: others may plug ports into it, not change it.
    subnet(c, &admin(), &shared, "172.24.4.0/24").await;
    let p = port(c, &bob(), &shared).await;
    assert_eq!(p.project_id, "project-b");
    assert!(matches!(
        c.create_subnet(
            &bob(),
            NewSubnet {
                network_id: shared.clone(),
                ip_version: 4,
                cidr: "10.9.0.0/24".into(),
                ..Default::default()
            }
        )
        .await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    assert!(matches!(
        c.delete_network(&bob(), &shared).await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    // Alice sees neither bob's port nor can she delete it.
    assert!(matches!(
        c.get_port(&alice(), &p.id).await,
        Err(NetworkError::PortNotFound(_))
    ));
    assert!(matches!(
        c.delete_port(&alice(), &p.id).await,
        Err(NetworkError::PortNotFound(_))
    ));
}

async fn subnets_get_neutron_defaults_and_typed_errors(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    let s = c
        .create_subnet(
            &alice(),
            NewSubnet {
                network_id: net.clone(),
                ip_version: 4,
                cidr: "10.1.0.0/24".into(),
                dns_nameservers: Some(vec!["8.8.8.8".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(s.gateway_ip.as_deref(), Some("10.1.0.1"));
    assert_eq!(
        s.allocation_pools,
        vec![AllocationPool {
            start: "10.1.0.2".into(),
            end: "10.1.0.254".into()
        }]
    );
    assert!(s.enable_dhcp);
    assert_eq!(
        c.get_network(&alice(), &net).await.unwrap().subnets,
        vec![s.id.clone()]
    );
    let v6 = c
        .create_subnet(
            &alice(),
            NewSubnet {
                network_id: net.clone(),
                ip_version: 6,
                cidr: "fd00:1::/64".into(),
                gateway_ip: GatewayIp::None,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v6.gateway_ip, None);
    assert_eq!(v6.allocation_pools[0].start, "fd00:1::1");

    let try_subnet = |cidr: &str,
                      version: i64,
                      gateway: GatewayIp,
                      pools: Option<Vec<AllocationPool>>| NewSubnet {
        network_id: net.clone(),
        ip_version: version,
        cidr: cidr.into(),
        gateway_ip: gateway,
        allocation_pools: pools,
        ..Default::default()
    };
    let pool = |a: &str, b: &str| AllocationPool {
        start: a.into(),
        end: b.into(),
    };
    let err = |r: Result<compute::network::Subnet, NetworkError>| r.unwrap_err();
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet("10.1.0.0/25", 4, GatewayIp::Default, None),
        )
        .await);
    assert_eq!(e.type_name(), "InvalidInput");
    assert_eq!(e.to_string(), format!("Invalid input for operation: Requested subnet with cidr: 10.1.0.0/25 for network: {net} overlaps with another subnet."));
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet("10.2.0.1/24", 4, GatewayIp::Default, None),
        )
        .await);
    assert_eq!(e.to_string(), "Invalid input for cidr. Reason: '10.2.0.1/24' isn't a recognized IP subnet cidr, '10.2.0.0/24' is recommended.");
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet("10.2.0.0/24", 6, GatewayIp::Default, None),
        )
        .await);
    assert_eq!(e.type_name(), "InvalidInput");
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet("10.2.0.0/24", 5, GatewayIp::Default, None),
        )
        .await);
    assert_eq!(e.type_name(), "HTTPBadRequest");
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet(
                "10.2.0.0/24",
                4,
                GatewayIp::Default,
                Some(vec![pool("10.2.0.9", "10.2.0.3")]),
            ),
        )
        .await);
    assert!(matches!(e, NetworkError::InvalidAllocationPool(_)), "{e:?}");
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet(
                "10.2.0.0/24",
                4,
                GatewayIp::Default,
                Some(vec![pool("10.2.0.9", "10.2.1.3")]),
            ),
        )
        .await);
    assert_eq!(
        e.to_string(),
        "The allocation pool 10.2.0.9-10.2.1.3 spans beyond the subnet cidr 10.2.0.0/24."
    );
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet(
                "10.2.0.0/24",
                4,
                GatewayIp::Default,
                Some(vec![
                    pool("10.2.0.2", "10.2.0.9"),
                    pool("10.2.0.5", "10.2.0.20"),
                ]),
            ),
        )
        .await);
    assert_eq!(e.type_name(), "OverlappingAllocationPools");
    let e = err(c
        .create_subnet(
            &alice(),
            try_subnet(
                "10.2.0.0/24",
                4,
                GatewayIp::Address("10.2.0.5".into()),
                Some(vec![pool("10.2.0.2", "10.2.0.9")]),
            ),
        )
        .await);
    assert_eq!(
        e.to_string(),
        "Gateway ip 10.2.0.5 conflicts with allocation pool 10.2.0.2-10.2.0.9."
    );
    let e = err(c
        .create_subnet(
            &alice(),
            NewSubnet {
                dns_nameservers: Some(vec!["1.1.1.1".into(), "1.1.1.1".into()]),
                ..try_subnet("10.2.0.0/24", 4, GatewayIp::Default, None)
            },
        )
        .await);
    assert_eq!(e.type_name(), "HTTPBadRequest");
    let e = err(c
        .create_subnet(
            &bob(),
            try_subnet("10.2.0.0/24", 4, GatewayIp::Default, None),
        )
        .await);
    assert!(matches!(e, NetworkError::NetworkNotFound(_)));
    // The store's own checks held: nothing was created by the failures.
    assert_eq!(
        c.get_network(&alice(), &net).await.unwrap().subnets.len(),
        2
    );
}

async fn ports_get_addresses_in_order_and_refuse_ones_in_use(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    // No subnet: a port without addresses.
    assert!(port(c, &alice(), &net).await.fixed_ips.is_empty());
    let s4 = subnet(c, &alice(), &net, "10.1.0.0/24").await;
    let s6 = subnet(c, &alice(), &net, "fd00:1::/64").await;
    let p = port(c, &alice(), &net).await;
    let ips: Vec<(&str, &str)> = p
        .fixed_ips
        .iter()
        .map(|f| (f.subnet_id.as_str(), f.ip_address.as_str()))
        .collect();
    assert_eq!(
        ips,
        vec![(s4.as_str(), "10.1.0.2"), (s6.as_str(), "fd00:1::2")]
    );
    assert!(p.mac_address.starts_with("fa:16:3e:"));
    assert_eq!((p.status.as_str(), p.admin_state_up), ("DOWN", true));
    let second = port(c, &alice(), &net).await;
    assert_eq!(second.fixed_ips[0].ip_address, "10.1.0.3");

    let ask = |subnet: Option<&str>, ip: Option<&str>| NewPort {
        network_id: net.clone(),
        fixed_ips: Some(vec![FixedIpRequest {
            subnet_id: subnet.map(str::to_string),
            ip_address: ip.map(str::to_string),
        }]),
        ..Default::default()
    };
    let chosen = c
        .create_port(&alice(), ask(None, Some("10.1.0.50")))
        .await
        .unwrap();
    assert_eq!(chosen.fixed_ips[0].subnet_id, s4);
    let e = c
        .create_port(&alice(), ask(Some(&s4), Some("10.1.0.50")))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Unable to complete operation for network {net}. The IP address 10.1.0.50 is in use."
        )
    );
    let e = c
        .create_port(&alice(), ask(Some(&s4), Some("10.7.0.5")))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidIpForSubnet");
    let e = c
        .create_port(&alice(), ask(None, Some("10.7.0.5")))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidIpForNetwork");
    let e = c
        .create_port(&alice(), ask(Some("no-such-subnet"), None))
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "InvalidInput");
    let only_v6 = c.create_port(&alice(), ask(Some(&s6), None)).await.unwrap();
    assert_eq!(only_v6.fixed_ips.len(), 1);
    let e = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net.clone(),
                mac_address: Some(p.mac_address.to_uppercase()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "MacAddressInUse");
    let e = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net.clone(),
                mac_address: Some("zz".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "HTTPBadRequest");
    // A full subnet: no more addresses.
    let tiny_net = network(c, &alice(), "tiny").await;
    subnet(c, &alice(), &tiny_net, "10.3.0.0/30").await;
    assert_eq!(
        port(c, &alice(), &tiny_net).await.fixed_ips[0].ip_address,
        "10.3.0.2"
    );
    let e = c
        .create_port(
            &alice(),
            NewPort {
                network_id: tiny_net.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("No more IP addresses available on network {tiny_net}.")
    );
}

async fn resources_in_use_are_not_deleted(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    let s = subnet(c, &alice(), &net, "10.1.0.0/24").await;
    let p = port(c, &alice(), &net).await;
    assert_eq!(
        c.delete_network(&alice(), &net)
            .await
            .unwrap_err()
            .type_name(),
        "NetworkInUse"
    );
    assert_eq!(
        c.delete_subnet(&alice(), &s).await.unwrap_err().type_name(),
        "SubnetInUse"
    );
    c.delete_port(&alice(), &p.id).await.unwrap();
    assert!(matches!(
        c.get_port(&alice(), &p.id).await,
        Err(NetworkError::PortNotFound(_))
    ));
    c.delete_subnet(&alice(), &s).await.unwrap();
    subnet(c, &alice(), &net, "10.1.0.0/24").await;
    c.delete_network(&alice(), &net).await.unwrap();
    assert!(matches!(
        c.get_network(&alice(), &net).await,
        Err(NetworkError::NetworkNotFound(_))
    ));
    assert!(matches!(
        c.delete_network(&alice(), &net).await,
        Err(NetworkError::NetworkNotFound(_))
    ));
}

async fn a_freed_address_stays_out_of_circulation_for_the_reuse_delay(engine: Engine) {
    let f = Fixture::builder(engine)
        .seed(false)
        // Long enough for the six creates below on a slow machine.
        .config(|c| c.fixed_ip_reuse_delay = Duration::from_secs(3))
        .build()
        .await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    // 10.1.0.0/29: .1 is the gateway, .2 to .6 are given out.
    subnet(c, &alice(), &net, "10.1.0.0/29").await;
    let first = port(c, &alice(), &net).await;
    assert_eq!(first.fixed_ips[0].ip_address, "10.1.0.2");
    c.delete_port(&alice(), &first.id).await.unwrap();

    // The allocator goes on after the address it gave last...
    let mut next = Vec::new();
    for _ in 0..4 {
        next.push(
            port(c, &alice(), &net).await.fixed_ips[0]
                .ip_address
                .clone(),
        );
    }
    assert_eq!(next, ["10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]);
    // ...and, the pool used up, the freed .2 still rests.
    let resting = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(resting.type_name(), "IpAddressGenerationFailure");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        port(c, &alice(), &net).await.fixed_ips[0].ip_address,
        "10.1.0.2"
    );
}

async fn concurrent_port_creates_on_separate_pools_never_share_an_address(engine: Engine) {
    let f = unseeded(engine).await;
    let net = network(&f.compute, &alice(), "n").await;
    // 10.5.0.0/28: 13 addresses after the gateway, for 20 creates.
    subnet(&f.compute, &alice(), &net, "10.5.0.0/28").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = f.reconnect(1).await;
        let net = net.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = alice();
            c.create_port(
                &ctx,
                NewPort {
                    network_id: net,
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
            Ok(p) => {
                assert_eq!(p.fixed_ips.len(), 1);
                assert!(addresses.insert(p.fixed_ips[0].ip_address.clone()), "{p:?}");
            }
            Err(NetworkError::IpAddressGenerationFailure(_)) => exhausted += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((addresses.len(), exhausted), (13, 7));
    // Two creates that race for one explicit address: one wins.
    let net2 = network(&f.compute, &alice(), "n2").await;
    let s2 = subnet(&f.compute, &alice(), &net2, "10.6.0.0/24").await;
    let (a, b) = (f.reconnect(1).await, f.reconnect(1).await);
    let ask = || NewPort {
        network_id: net2.clone(),
        fixed_ips: Some(vec![FixedIpRequest {
            subnet_id: Some(s2.clone()),
            ip_address: Some("10.6.0.77".into()),
        }]),
        ..Default::default()
    };
    let (ctx_a, ctx_b) = (alice(), alice());
    let (ra, rb) = tokio::join!(a.create_port(&ctx_a, ask()), b.create_port(&ctx_b, ask()));
    let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{ra:?} {rb:?}");
    let lost = match (ra, rb) {
        (Err(e), _) | (_, Err(e)) => e,
        _ => unreachable!("one create lost"),
    };
    assert_eq!(lost.type_name(), "IpAddressInUse");
}

async fn lists_filter_sort_and_page(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    for name in ["c", "a", "b", "a"] {
        network(c, &alice(), name).await;
    }
    let q = |filters: &[(&str, &[&str])],
             sort: &[(&str, SortDir)],
             limit: Option<usize>,
             marker: Option<String>| ListQuery {
        filters: filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        sort: sort.iter().map(|(k, d)| (k.to_string(), *d)).collect(),
        limit,
        marker,
        page_reverse: false,
    };
    let names = |p: &compute::network::Page<compute::network::Network>| {
        p.items.iter().map(|n| n.name.clone()).collect::<Vec<_>>()
    };
    let a = c
        .list_networks(&alice(), &q(&[("name", &["a"])], &[], None, None))
        .await
        .unwrap();
    assert_eq!(names(&a), ["a", "a"]);
    let ab = c
        .list_networks(
            &alice(),
            &q(
                &[("name", &["a", "b"]), ("shared", &["False"])],
                &[("name", SortDir::Desc)],
                None,
                None,
            ),
        )
        .await
        .unwrap();
    assert_eq!(names(&ab), ["b", "a", "a"]);
    let by_tenant = c
        .list_networks(
            &alice(),
            &q(&[("tenant_id", &["project-a"])], &[], None, None),
        )
        .await
        .unwrap();
    assert_eq!(by_tenant.items.len(), 4);
    let first = c
        .list_networks(&alice(), &q(&[], &[("name", SortDir::Asc)], Some(3), None))
        .await
        .unwrap();
    assert_eq!(
        (names(&first), first.more),
        (vec!["a".to_string(), "a".into(), "b".into()], true)
    );
    let marker = first.items.last().map(|n| n.id.clone());
    let rest = c
        .list_networks(
            &alice(),
            &q(&[], &[("name", SortDir::Asc)], Some(3), marker),
        )
        .await
        .unwrap();
    assert_eq!((names(&rest), rest.more), (vec!["c".to_string()], false));
    let bad = c
        .list_networks(&alice(), &q(&[("colour", &["red"])], &[], None, None))
        .await
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "[colour] is invalid attribute for filtering"
    );
    let bad = c
        .list_networks(&alice(), &q(&[], &[], Some(1), Some("nope".into())))
        .await
        .unwrap_err();
    assert!(matches!(bad, NetworkError::NetworkNotFound(_)));
    // Ports by address.
    let net = network(c, &alice(), "p").await;
    subnet(c, &alice(), &net, "10.1.0.0/24").await;
    port(c, &alice(), &net).await;
    let p2 = port(c, &alice(), &net).await;
    let found = c
        .list_ports(
            &alice(),
            &q(&[("fixed_ips", &["ip_address=10.1.0.3"])], &[], None, None),
        )
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [p2.id]
    );
    assert!(c
        .list_ports(&bob(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn updates_change_what_they_name(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    let updated = c
        .update_network(
            &alice(),
            &net,
            NetworkUpdate {
                name: Some("renamed".into()),
                mtu: Some(1450),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.mtu), ("renamed", 1450));
    assert!(matches!(
        c.update_network(
            &alice(),
            &net,
            NetworkUpdate {
                shared: Some(true),
                ..Default::default()
            }
        )
        .await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    assert!(matches!(
        c.update_network(&bob(), &net, NetworkUpdate::default())
            .await,
        Err(NetworkError::NetworkNotFound(_))
    ));
    let s = subnet(c, &alice(), &net, "10.1.0.0/24").await;
    let s2 = c
        .update_subnet(
            &alice(),
            &s,
            SubnetUpdate {
                gateway_ip: Some(None),
                dns_nameservers: Some(vec!["9.9.9.9".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (s2.gateway_ip, s2.dns_nameservers),
        (None, vec!["9.9.9.9".to_string()])
    );
    let p = port(c, &alice(), &net).await;
    let moved = c
        .update_port(
            &alice(),
            &p.id,
            PortUpdate {
                device_id: Some("vm-1".into()),
                fixed_ips: Some(vec![FixedIpRequest {
                    subnet_id: Some(s.clone()),
                    ip_address: Some("10.1.0.40".into()),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            moved.status.as_str(),
            moved.fixed_ips[0].ip_address.as_str()
        ),
        ("ACTIVE", "10.1.0.40")
    );
    assert_eq!(moved.fixed_ips.len(), 1);
    // Listing the address again keeps it.
    let kept = c
        .update_port(
            &alice(),
            &p.id,
            PortUpdate {
                fixed_ips: Some(vec![
                    FixedIpRequest {
                        subnet_id: None,
                        ip_address: Some("10.1.0.40".into()),
                    },
                    FixedIpRequest {
                        subnet_id: Some(s.clone()),
                        ip_address: None,
                    },
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ips: Vec<&str> = kept
        .fixed_ips
        .iter()
        .map(|f| f.ip_address.as_str())
        .collect();
    assert_eq!(ips.len(), 2);
    assert_eq!(ips[0], "10.1.0.40");
}

async fn the_first_migration_seeds_a_shared_private_and_an_external_public_network(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    // Every project sees both, as devstack's `private` and `public`.
    let seen = c
        .list_networks(&bob(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(seen.len(), 2);
    let named = |name: &str| seen.iter().find(|n| n.name == name).expect(name);
    let private = named(compute::PRIVATE_NETWORK_NAME);
    assert_eq!(
        (
            private.name.as_str(),
            private.project_id.as_str(),
            private.shared,
            private.router_external
        ),
        (compute::PRIVATE_NETWORK_NAME, "admin", true, false)
    );
    let public = named(compute::PUBLIC_NETWORK_NAME);
    assert_eq!(
        (
            public.project_id.as_str(),
            public.shared,
            public.router_external
        ),
        ("admin", false, true)
    );
    let public_subnet = c.get_subnet(&bob(), &public.subnets[0]).await.unwrap();
    assert_eq!(
        (
            public_subnet.name.as_str(),
            public_subnet.cidr.as_str(),
            public_subnet.gateway_ip.as_deref(),
            public_subnet.enable_dhcp
        ),
        (
            compute::PUBLIC_SUBNET_NAME,
            "172.24.4.0/24",
            Some("172.24.4.1"),
            false
        )
    );
    assert_eq!(
        public_subnet.allocation_pools,
        vec![AllocationPool {
            start: "172.24.4.2".into(),
            end: "172.24.4.254".into()
        }]
    );
    let subnet = c.get_subnet(&bob(), &private.subnets[0]).await.unwrap();
    assert_eq!(subnet.name, compute::PRIVATE_SUBNET_NAME);
    assert_eq!(subnet.cidr, f.config.fixed_ip_range.to_string());
    assert_eq!(subnet.gateway_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(
        subnet.allocation_pools,
        vec![AllocationPool {
            start: "10.0.0.2".into(),
            end: "10.0.0.254".into()
        }]
    );
    // Any project may plug a port into it; it is not theirs to change.
    let p = port(c, &alice(), &private.id).await;
    assert_eq!(p.fixed_ips[0].ip_address, "10.0.0.2");
    assert!(matches!(
        c.delete_network(&alice(), &private.id).await,
        Err(NetworkError::PolicyNotAuthorized(_))
    ));
    // Migrating again seeds nothing more; without seeding there is none.
    f.compute.store().migrate().await.unwrap();
    assert_eq!(
        c.list_networks(&admin(), &ListQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let bare = unseeded(engine).await;
    assert!(bare
        .compute
        .list_networks(&admin(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

/// The seeded subnets follow `[simulator] fixed_ip_range` and
/// `floating_ip_range`.
#[tokio::test]
async fn the_seeded_subnet_follows_the_configured_range() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
    let store = compute::Store::connect(
        &url,
        compute::StoreOptions {
            seed_network: "192.168.77.0/26".parse().unwrap(),
            seed_external_network: "203.0.113.0/28".parse().unwrap(),
            ..compute::StoreOptions::default()
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let c = Compute::new(store, compute::ComputeConfig::instant());
    let subnets = c
        .list_subnets(&alice(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    let cidr_of = |name: &str| {
        let s = subnets.iter().find(|s| s.name == name).expect(name);
        (s.cidr.clone(), s.allocation_pools[0].end.clone())
    };
    assert_eq!(
        cidr_of(compute::PRIVATE_SUBNET_NAME),
        ("192.168.77.0/26".to_string(), "192.168.77.62".to_string())
    );
    assert_eq!(
        cidr_of(compute::PUBLIC_SUBNET_NAME),
        ("203.0.113.0/28".to_string(), "203.0.113.14".to_string())
    );
}
