//! Security groups on both engines: each project's default group made
//! once on first use (whatever the process), Neutron's rule checks, the
//! protected default and in-use groups, quotas, the groups of ports, and
//! project scoping.

use compute::network::NetworkQuotaLimits;
use compute::network::{
    ListQuery, NewPort, NewSecurityGroup, NewSecurityGroupRule, PortUpdate, SecurityGroup,
    SecurityGroupUpdate,
};
use compute::{Compute, Engine, NetworkError, RequestContext};

use super::{network, subnet, unseeded};
use crate::support::{admin, alice, bob};

on_both_engines!(
    a_project_gets_neutrons_default_group_on_first_use,
    concurrent_first_uses_on_separate_pools_make_one_default_group,
    concurrent_creates_asking_unique_names_make_one_group_of_a_name,
    a_new_group_has_two_egress_rules_and_is_its_projects_alone,
    rules_are_checked_and_a_rule_with_the_same_meaning_is_refused,
    a_batch_of_rules_is_made_whole_or_not_at_all_and_rules_are_found_by_meaning,
    the_default_group_and_groups_in_use_are_protected,
    quotas_stop_at_neutrons_defaults,
    ports_carry_security_groups_of_their_project,
);

async fn groups(c: &Compute, ctx: &RequestContext) -> Vec<SecurityGroup> {
    c.list_security_groups(ctx, &ListQuery::default())
        .await
        .expect("list")
        .items
}

async fn group(c: &Compute, ctx: &RequestContext, name: &str) -> SecurityGroup {
    c.create_security_group(
        ctx,
        NewSecurityGroup {
            name: Some(name.into()),
            ..Default::default()
        },
    )
    .await
    .expect("group")
}

fn tcp(group: &str, port: i64) -> NewSecurityGroupRule {
    NewSecurityGroupRule {
        security_group_id: group.into(),
        direction: "ingress".into(),
        protocol: Some("tcp".into()),
        port_range_min: Some(port),
        port_range_max: Some(port),
        ..Default::default()
    }
}

/// (direction, ethertype, protocol, remote group) of each rule, sorted.
fn shape(g: &SecurityGroup) -> Vec<(String, String, Option<String>, Option<String>)> {
    let mut rules: Vec<_> = g
        .security_group_rules
        .iter()
        .map(|r| {
            (
                r.direction.clone(),
                r.ethertype.clone(),
                r.protocol.clone(),
                r.remote_group_id.clone(),
            )
        })
        .collect();
    rules.sort();
    rules
}

fn egress_any() -> Vec<(String, String, Option<String>, Option<String>)> {
    vec![
        ("egress".into(), "IPv4".into(), None, None),
        ("egress".into(), "IPv6".into(), None, None),
    ]
}

async fn a_project_gets_neutrons_default_group_on_first_use(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;

    let first = groups(c, &alice()).await;
    let again = groups(c, &alice()).await;

    assert_eq!(first.len(), 1, "{first:?}");
    let default = &first[0];
    assert_eq!(
        (
            default.name.as_str(),
            default.description.as_str(),
            default.project_id.as_str(),
            default.stateful
        ),
        ("default", "Default security group", "project-a", true)
    );
    let mut expected = egress_any();
    expected.push((
        "ingress".into(),
        "IPv4".into(),
        None,
        Some(default.id.clone()),
    ));
    expected.push((
        "ingress".into(),
        "IPv6".into(),
        None,
        Some(default.id.clone()),
    ));
    assert_eq!(shape(default), expected);
    assert!(default
        .security_group_rules
        .iter()
        .all(|r| r.project_id == "project-a" && r.remote_ip_prefix.is_none()));
    assert_eq!(again, first);
    // Bob's first use is a port: his own default group, bound to it.
    let net = network(c, &bob(), "b").await;
    subnet(c, &bob(), &net, "10.9.0.0/24").await;
    let p = c
        .create_port(
            &bob(),
            NewPort {
                network_id: net,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let bobs = groups(c, &bob()).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(p.security_groups, vec![bobs[0].id.clone()]);
    assert_ne!(bobs[0].id, default.id);
}

async fn concurrent_first_uses_on_separate_pools_make_one_default_group(engine: Engine) {
    let f = unseeded(engine).await;
    let net = network(&f.compute, &alice(), "n").await;
    subnet(&f.compute, &alice(), &net, "10.7.0.0/24").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        // Each task is its own "process": a separate connection pool.
        let c = f.reconnect(1).await;
        let net = net.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = alice();
            match i % 3 {
                0 => c
                    .list_security_groups(&ctx, &ListQuery::default())
                    .await
                    .map(|_| None),
                1 => c
                    .create_security_group(
                        &ctx,
                        NewSecurityGroup {
                            name: Some(format!("g{i}")),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| None),
                _ => c
                    .create_port(
                        &ctx,
                        NewPort {
                            network_id: net,
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|p| Some(p.security_groups)),
            }
        }));
    }
    let mut bound = Vec::new();
    for t in tasks {
        if let Some(groups) = t.await.unwrap().expect("first use") {
            bound.push(groups);
        }
    }

    let all = groups(&f.compute, &alice()).await;
    let defaults: Vec<&SecurityGroup> = all.iter().filter(|g| g.name == "default").collect();
    assert_eq!((all.len(), defaults.len()), (5, 1), "{all:?}");
    assert_eq!(defaults[0].security_group_rules.len(), 4);
    assert_eq!(bound, vec![vec![defaults[0].id.clone()]; 4]);
}

/// EC2 names a group once per project: of concurrent creates of one name
/// that ask for unique names (each on its own pool, as separate processes
/// are), exactly one makes it; Neutron's repeats stay allowed.
async fn concurrent_creates_asking_unique_names_make_one_group_of_a_name(engine: Engine) {
    let f = unseeded(engine).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = f.reconnect(1).await;
        tasks.push(tokio::spawn(async move {
            c.create_security_group(
                &alice(),
                NewSecurityGroup {
                    name: Some("web".into()),
                    unique_name: true,
                    ..Default::default()
                },
            )
            .await
        }));
    }
    let (mut made, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(NetworkError::SecurityGroupNameExists(name)) if name == "web" => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let repeat = group(&f.compute, &alice(), "web").await;

    assert_eq!((made, refused), (1, 7));
    assert_eq!(repeat.name, "web");
    let webs = groups(&f.compute, &alice())
        .await
        .into_iter()
        .filter(|g| g.name == "web")
        .count();
    assert_eq!(webs, 2);
}

async fn a_new_group_has_two_egress_rules_and_is_its_projects_alone(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;

    let web = c
        .create_security_group(
            &alice(),
            NewSecurityGroup {
                name: Some("web".into()),
                description: Some("front".into()),
                stateful: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(
        (web.name.as_str(), web.description.as_str(), web.stateful),
        ("web", "front", false)
    );
    assert_eq!(shape(&web), egress_any());
    let names: Vec<String> = groups(c, &alice())
        .await
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"default".to_string()) && names.contains(&"web".to_string()));
    assert!(matches!(
        c.get_security_group(&bob(), &web.id).await,
        Err(NetworkError::SecurityGroupNotFound(id)) if id == web.id
    ));
    let rule = &web.security_group_rules[0].id;
    assert!(matches!(
        c.get_security_group_rule(&bob(), rule).await,
        Err(NetworkError::SecurityGroupRuleNotFound(_))
    ));
    assert!(matches!(
        c.delete_security_group(&bob(), &web.id).await,
        Err(NetworkError::SecurityGroupNotFound(_))
    ));
    let bobs_rules = c
        .list_security_group_rules(&bob(), &ListQuery::default())
        .await
        .unwrap();
    assert!(bobs_rules.items.is_empty(), "{bobs_rules:?}");
    assert_eq!(c.get_security_group(&admin(), &web.id).await.unwrap(), web);
    let everyone = c
        .list_security_groups(
            &admin(),
            &ListQuery {
                filters: vec![("project_id".into(), vec!["project-a".into()])],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(everyone.items.len(), 2);
    let renamed = c
        .update_security_group(
            &alice(),
            &web.id,
            SecurityGroupUpdate {
                name: Some("www".into()),
                description: Some("public".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_str()),
        ("www", "public")
    );
}

async fn a_batch_of_rules_is_made_whole_or_not_at_all_and_rules_are_found_by_meaning(
    engine: Engine,
) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let web = group(c, &alice(), "web").await;
    c.create_security_group_rule(&alice(), tcp(&web.id, 22))
        .await
        .unwrap();
    let ingress = |c: &SecurityGroup| {
        c.security_group_rules
            .iter()
            .filter(|r| r.direction == "ingress")
            .map(|r| r.port_range_min)
            .collect::<Vec<_>>()
    };

    // One rule repeats the group's: none of the batch is made.
    let repeat = c
        .create_security_group_rules(&alice(), vec![tcp(&web.id, 80), tcp(&web.id, 22)])
        .await
        .unwrap_err();
    // Two rules of the batch with one meaning: none is made either.
    let twice = c
        .create_security_group_rules(
            &alice(),
            vec![
                tcp(&web.id, 443),
                NewSecurityGroupRule {
                    protocol: Some("6".into()),
                    ..tcp(&web.id, 443)
                },
            ],
        )
        .await
        .unwrap_err();
    let after_refusals = c.get_security_group(&alice(), &web.id).await.unwrap();
    let made = c
        .create_security_group_rules(&alice(), vec![tcp(&web.id, 443), tcp(&web.id, 80)])
        .await
        .unwrap();
    let after = c.get_security_group(&alice(), &web.id).await.unwrap();

    assert!(
        matches!(repeat, NetworkError::SecurityGroupRuleExists(_)),
        "{repeat:?}"
    );
    assert!(
        matches!(twice, NetworkError::SecurityGroupRuleExists(_)),
        "{twice:?}"
    );
    assert_eq!(ingress(&after_refusals), vec![Some(22)]);
    assert_eq!(made.len(), 2);
    // Listed in the order given.
    assert_eq!(ingress(&after), vec![Some(22), Some(443), Some(80)]);

    // Found by meaning: a protocol number for a name, the whole range.
    let found = c
        .find_security_group_rule(
            &alice(),
            &NewSecurityGroupRule {
                protocol: Some("6".into()),
                ..tcp(&web.id, 443)
            },
        )
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(made[0].id.clone()));
    let missing = c
        .find_security_group_rule(&alice(), &tcp(&web.id, 8080))
        .await
        .unwrap();
    assert!(missing.is_none());
    let hidden = c
        .find_security_group_rule(&bob(), &tcp(&web.id, 443))
        .await
        .unwrap_err();
    assert!(
        matches!(hidden, NetworkError::SecurityGroupNotFound(_)),
        "{hidden:?}"
    );
}

async fn rules_are_checked_and_a_rule_with_the_same_meaning_is_refused(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let web = group(c, &alice(), "web").await;

    let ssh = c
        .create_security_group_rule(&alice(), tcp(&web.id, 22))
        .await
        .unwrap();
    let same_by_number = c
        .create_security_group_rule(
            &alice(),
            NewSecurityGroupRule {
                protocol: Some("6".into()),
                ..tcp(&web.id, 22)
            },
        )
        .await
        .unwrap_err();
    let everywhere = c
        .create_security_group_rule(
            &alice(),
            NewSecurityGroupRule {
                security_group_id: web.id.clone(),
                direction: "ingress".into(),
                ethertype: Some("ipv6".into()),
                protocol: Some("icmp".into()),
                remote_ip_prefix: Some("2001:db8::/32".into()),
                description: Some("ping".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(
        (
            ssh.protocol.as_deref(),
            ssh.port_range_min,
            ssh.port_range_max,
            ssh.ethertype.as_str(),
            ssh.project_id.as_str()
        ),
        (Some("tcp"), Some(22), Some(22), "IPv4", "project-a")
    );
    assert_eq!(
        same_by_number.to_string(),
        format!("Security group rule already exists. Rule id is {}.", ssh.id)
    );
    assert_eq!(same_by_number.type_name(), "SecurityGroupRuleExists");
    assert_eq!(
        (
            everywhere.protocol.as_deref(),
            everywhere.ethertype.as_str(),
            everywhere.remote_ip_prefix.as_deref(),
            everywhere.description.as_str()
        ),
        (Some("ipv6-icmp"), "IPv6", Some("2001:db8::/32"), "ping")
    );
    let refused = |r: NewSecurityGroupRule| async move {
        c.create_security_group_rule(&alice(), r).await.unwrap_err()
    };
    let e = refused(NewSecurityGroupRule {
        remote_ip_prefix: Some("10.0.0.0/8".into()),
        ethertype: Some("IPv6".into()),
        ..tcp(&web.id, 80)
    })
    .await;
    assert_eq!(
        e.to_string(),
        "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"
    );
    let e = refused(NewSecurityGroupRule {
        port_range_max: Some(79),
        ..tcp(&web.id, 80)
    })
    .await;
    assert_eq!(e.type_name(), "SecurityGroupInvalidPortRange");
    let bobs = group(c, &bob(), "bobs").await;
    let e = refused(NewSecurityGroupRule {
        remote_group_id: Some(bobs.id.clone()),
        ..tcp(&web.id, 80)
    })
    .await;
    assert!(matches!(e, NetworkError::SecurityGroupNotFound(id) if id == bobs.id));
    let e = refused(tcp(&bobs.id, 80)).await;
    assert!(matches!(e, NetworkError::SecurityGroupNotFound(id) if id == bobs.id));
    let rules = c.get_security_group(&alice(), &web.id).await.unwrap();
    assert_eq!(rules.security_group_rules.len(), 4);
    c.delete_security_group_rule(&alice(), &ssh.id)
        .await
        .unwrap();
    assert!(matches!(
        c.delete_security_group_rule(&alice(), &ssh.id).await,
        Err(NetworkError::SecurityGroupRuleNotFound(_))
    ));
    c.create_security_group_rule(&alice(), tcp(&web.id, 22))
        .await
        .unwrap();
}

async fn the_default_group_and_groups_in_use_are_protected(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let web = group(c, &alice(), "web").await;
    let default = groups(c, &alice())
        .await
        .into_iter()
        .find(|g| g.name == "default")
        .unwrap();
    let net = network(c, &alice(), "n").await;
    subnet(c, &alice(), &net, "10.3.0.0/24").await;
    let port = c
        .create_port(
            &alice(),
            NewPort {
                network_id: net,
                security_groups: Some(vec![web.id.clone()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let update = |id: &str, u: SecurityGroupUpdate| {
        let id = id.to_string();
        async move {
            c.update_security_group(&alice(), &id, u)
                .await
                .unwrap_err()
                .type_name()
        }
    };
    let named = |name: &str| SecurityGroupUpdate {
        name: Some(name.into()),
        ..Default::default()
    };
    assert_eq!(
        c.delete_security_group(&alice(), &default.id)
            .await
            .unwrap_err()
            .type_name(),
        "SecurityGroupCannotRemoveDefault"
    );
    assert_eq!(
        update(&default.id, named("renamed")).await,
        "SecurityGroupCannotUpdateDefault"
    );
    assert_eq!(
        update(&web.id, named("default")).await,
        "SecurityGroupDefaultAlreadyExists"
    );
    assert_eq!(
        c.create_security_group(
            &alice(),
            NewSecurityGroup {
                name: Some("Default".into()),
                ..Default::default()
            }
        )
        .await
        .unwrap_err()
        .type_name(),
        "SecurityGroupDefaultAlreadyExists"
    );
    let described = c
        .update_security_group(
            &alice(),
            &default.id,
            SecurityGroupUpdate {
                description: Some("mine".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.description, "mine");
    let in_use = c
        .delete_security_group(&alice(), &web.id)
        .await
        .unwrap_err();
    assert_eq!(
        in_use.to_string(),
        format!("Security Group {} in use.", web.id)
    );
    assert_eq!(
        update(
            &web.id,
            SecurityGroupUpdate {
                stateful: Some(false),
                ..Default::default()
            }
        )
        .await,
        "SecurityGroupInUse"
    );
    // Released by the port, it goes, with the rules that named it remote.
    let from_web = c
        .create_security_group_rule(
            &alice(),
            NewSecurityGroupRule {
                remote_group_id: Some(web.id.clone()),
                ..tcp(&default.id, 443)
            },
        )
        .await
        .unwrap();
    c.update_port(
        &alice(),
        &port.id,
        PortUpdate {
            security_groups: Some(vec![]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.delete_security_group(&alice(), &web.id).await.unwrap();
    assert!(matches!(
        c.get_security_group_rule(&alice(), &from_web.id).await,
        Err(NetworkError::SecurityGroupRuleNotFound(_))
    ));
    // An admin may delete a default group; the next first use makes another.
    c.delete_security_group(&admin(), &default.id)
        .await
        .unwrap();
    let next = groups(c, &alice()).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].name, "default");
    assert_ne!(next[0].id, default.id);
}

async fn quotas_stop_at_neutrons_defaults(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let mut made = Vec::new();
    // The default group counts: 9 more fill the quota of 10.
    for i in 1..NetworkQuotaLimits::default().security_group {
        made.push(group(c, &alice(), &format!("g{i}")).await);
    }

    let over = c
        .create_security_group(
            &alice(),
            NewSecurityGroup {
                name: Some("one-too-many".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();

    assert_eq!(
        over.to_string(),
        "Quota exceeded for resources: ['security_group']."
    );
    assert_eq!(over.type_name(), "OverQuota");
    group(c, &bob(), "bobs-first").await;
    // 4 default rules and 2 in each of the 9 groups: 22 of 100.
    let mut rules = 4 + 2 * (NetworkQuotaLimits::default().security_group - 1);
    let mut port = 1;
    while rules < NetworkQuotaLimits::default().security_group_rule {
        c.create_security_group_rule(&alice(), tcp(&made[0].id, port))
            .await
            .unwrap();
        rules += 1;
        port += 1;
    }
    let over = c
        .create_security_group_rule(&alice(), tcp(&made[0].id, port))
        .await
        .unwrap_err();
    assert_eq!(
        over.to_string(),
        "Quota exceeded for resources: ['security_group_rule']."
    );
    c.delete_security_group(&alice(), &made[1].id)
        .await
        .unwrap();
    c.create_security_group_rule(&alice(), tcp(&made[0].id, port))
        .await
        .unwrap();
}

async fn ports_carry_security_groups_of_their_project(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let net = network(c, &alice(), "n").await;
    subnet(c, &alice(), &net, "10.4.0.0/24").await;
    let web = group(c, &alice(), "web").await;
    let db = group(c, &alice(), "db").await;
    let bobs = group(c, &bob(), "bobs").await;
    let port = |groups: Option<Vec<String>>, owner: Option<&str>| NewPort {
        network_id: net.clone(),
        security_groups: groups,
        device_owner: owner.map(str::to_string),
        ..Default::default()
    };

    let both = c
        .create_port(
            &alice(),
            port(Some(vec![db.id.clone(), web.id.clone()]), None),
        )
        .await
        .unwrap();
    let dhcp = c
        .create_port(&alice(), port(None, Some("network:dhcp")))
        .await
        .unwrap();
    let foreign = c
        .create_port(
            &alice(),
            port(Some(vec![web.id.clone(), bobs.id.clone()]), None),
        )
        .await
        .unwrap_err();

    assert_eq!(both.security_groups, vec![db.id.clone(), web.id.clone()]);
    assert!(dhcp.security_groups.is_empty());
    assert!(
        matches!(&foreign, NetworkError::SecurityGroupNotFound(id) if *id == bobs.id),
        "{foreign:?}"
    );
    let changed = c
        .update_port(
            &alice(),
            &both.id,
            PortUpdate {
                security_groups: Some(vec![web.id.clone()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.security_groups, vec![web.id.clone()]);
    let with_web = c
        .list_ports(
            &alice(),
            &ListQuery {
                filters: vec![("security_groups".into(), vec![web.id.clone()])],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        with_web
            .items
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        [both.id.as_str()]
    );
    c.delete_port(&alice(), &both.id).await.unwrap();
    c.delete_security_group(&alice(), &web.id).await.unwrap();
}
