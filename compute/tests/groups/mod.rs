//! Server groups, the scheduler and host aggregates on both engines:
//! group members made by a create's `group` hint and gone with their
//! server, the group quotas, the hosts the scheduler picks over three
//! configured hosts (affinity, anti-affinity across a batch, NoValidHost
//! with its fault), and aggregates' hosts, metadata and zones.

use std::collections::BTreeMap;

use compute::{
    CreateInstance, Engine, Error, Kind, NewServerGroup, SchedulerHints, ServerGroupPolicy,
    ServiceUpdate, SimHost, VmState, CIRROS_IMAGE_UUID,
};

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

on_both_engines!(
    groups_are_made_listed_scoped_and_deleted,
    members_join_by_hint_and_leave_when_deleted,
    group_quotas_limit_groups_and_members,
    affinity_keeps_a_batch_and_later_members_on_one_host,
    anti_affinity_spreads_a_batch_then_ends_in_no_valid_host,
    same_and_different_host_hints_are_honoured,
    disabled_hosts_and_zones_from_aggregates_steer_creates,
    aggregates_keep_hosts_metadata_and_zones_with_nova_s_rules,
    an_admin_forces_a_host_with_zone_and_host,
);

async fn three_hosts(engine: Engine) -> Fixture {
    Fixture::builder(engine)
        .config(|c| {
            c.hosts = vec![SimHost::new("h1"), SimHost::new("h2"), SimHost::new("h3")];
        })
        .build()
        .await
}

fn server(name: &str, count: u32, hints: SchedulerHints) -> CreateInstance {
    CreateInstance {
        name: name.into(),
        flavor_id: "1".into(),
        image_ref: CIRROS_IMAGE_UUID.into(),
        min_count: count,
        max_count: count,
        scheduler_hints: given(hints),
        ..Default::default()
    }
}

/// `hints` as a create body gives them.
fn given(hints: SchedulerHints) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut map = std::collections::BTreeMap::new();
    if let Some(group) = hints.group {
        map.insert("group".to_string(), serde_json::json!(group));
    }
    if !hints.same_host.is_empty() {
        map.insert("same_host".to_string(), serde_json::json!(hints.same_host));
    }
    if !hints.different_host.is_empty() {
        map.insert(
            "different_host".to_string(),
            serde_json::json!(hints.different_host),
        );
    }
    map
}

fn in_group(uuid: &str) -> SchedulerHints {
    SchedulerHints {
        group: Some(uuid.into()),
        ..Default::default()
    }
}

async fn group(f: &Fixture, policy: ServerGroupPolicy, max: Option<i64>) -> String {
    f.compute
        .create_server_group(
            &alice(),
            NewServerGroup {
                name: "g".into(),
                policy,
                max_server_per_host: max,
            },
        )
        .await
        .unwrap()
        .uuid
}

/// The hosts of the instances a create made, in launch order.
async fn hosts_of(f: &Fixture, req: CreateInstance) -> Vec<Option<String>> {
    f.compute
        .create_instances(&alice(), req)
        .await
        .unwrap()
        .instances
        .into_iter()
        .map(|i| i.host)
        .collect()
}

async fn groups_are_made_listed_scoped_and_deleted(engine: Engine) {
    let f = Fixture::new(engine).await;
    let made = f
        .compute
        .create_server_group(
            &alice(),
            NewServerGroup {
                name: "web".into(),
                policy: ServerGroupPolicy::AntiAffinity,
                max_server_per_host: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            made.name.as_str(),
            made.project_id.as_str(),
            made.user_id.as_str()
        ),
        ("web", "project-a", "alice")
    );
    let shown = f
        .compute
        .get_server_group(&alice(), &made.uuid)
        .await
        .unwrap();
    assert_eq!(shown, made);
    assert_eq!(shown.max_server_per_host, Some(2));
    // Rules are anti-affinity's only.
    let err = f
        .compute
        .create_server_group(
            &alice(),
            NewServerGroup {
                name: "x".into(),
                policy: ServerGroupPolicy::Affinity,
                max_server_per_host: Some(2),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Invalid(m) if m == "Only anti-affinity policy supports rules."));
    // Another project sees none of them and may not touch it.
    assert!(f
        .compute
        .list_server_groups(&bob(), false)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        f.compute.get_server_group(&bob(), &made.uuid).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        f.compute.delete_server_group(&bob(), &made.uuid).await,
        Err(Error::Forbidden(_))
    ));
    // An admin sees every project's only when asking for all.
    assert!(f
        .compute
        .list_server_groups(&admin(), false)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        f.compute
            .list_server_groups(&admin(), true)
            .await
            .unwrap()
            .len(),
        1
    );
    f.compute
        .delete_server_group(&alice(), &made.uuid)
        .await
        .unwrap();
    let gone = f
        .compute
        .get_server_group(&alice(), &made.uuid)
        .await
        .unwrap_err();
    assert_eq!(
        gone.to_string(),
        format!("Instance group {} could not be found.", made.uuid)
    );
    assert!(matches!(
        gone,
        Error::NotFound {
            kind: Kind::ServerGroup,
            ..
        }
    ));
}

async fn members_join_by_hint_and_leave_when_deleted(engine: Engine) {
    let f = Fixture::new(engine).await;
    let g = group(&f, ServerGroupPolicy::SoftAntiAffinity, None).await;
    let created = f
        .compute
        .create_instances(&alice(), server("m", 2, in_group(&g)))
        .await
        .unwrap();
    let uuids: Vec<String> = created.instances.iter().map(|i| i.uuid.clone()).collect();
    assert_eq!(
        f.compute
            .get_server_group(&alice(), &g)
            .await
            .unwrap()
            .members,
        uuids
    );
    assert_eq!(
        f.compute.server_groups_of(&uuids[0]).await.unwrap(),
        vec![g.clone()]
    );
    f.compute
        .delete_instance(&alice(), &uuids[0])
        .await
        .unwrap();
    f.compute.get_instance(&alice(), &uuids[0]).await.ok();
    assert_eq!(
        f.compute
            .get_server_group(&alice(), &g)
            .await
            .unwrap()
            .members,
        vec![uuids[1].clone()]
    );
    // A hint naming no group is the group's NotFound.
    let missing = "6f1d9ab8-9a9c-4ee7-8b5e-0c6a3c0d4e11";
    let err = f
        .compute
        .create_instances(&alice(), server("x", 1, in_group(missing)))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: Kind::ServerGroup,
            ..
        }
    ));
}

async fn group_quotas_limit_groups_and_members(engine: Engine) {
    let f = Fixture::new(engine).await;
    let limits: BTreeMap<String, i64> = [
        ("server_groups".to_string(), 1),
        ("server_group_members".to_string(), 2),
    ]
    .into();
    f.compute
        .update_quotas(&admin(), "project-a", &limits, false)
        .await
        .unwrap();
    let g = group(&f, ServerGroupPolicy::SoftAffinity, None).await;
    let err = f
        .compute
        .create_server_group(
            &alice(),
            NewServerGroup {
                name: "second".into(),
                policy: ServerGroupPolicy::Affinity,
                max_server_per_host: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Quota exceeded, too many server groups.");
    let usage = f
        .compute
        .quota_usage(&alice(), "project-a", None)
        .await
        .unwrap();
    assert_eq!(usage.server_groups, 1);
    f.compute
        .create_instances(&alice(), server("a", 2, in_group(&g)))
        .await
        .unwrap();
    let err = f
        .compute
        .create_instances(&alice(), server("b", 1, in_group(&g)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::QuotaExceeded { resource, .. } if resource == "server_group_members")
    );
    assert_eq!(err.to_string(), "Quota exceeded, too many servers in group");
}

async fn affinity_keeps_a_batch_and_later_members_on_one_host(engine: Engine) {
    let f = three_hosts(engine).await;
    // Load h1 so that the least-loaded choice is not the first host.
    hosts_of(&f, server("load", 1, SchedulerHints::default())).await;
    let g = group(&f, ServerGroupPolicy::Affinity, None).await;
    let batch = hosts_of(&f, server("a", 3, in_group(&g))).await;
    assert_eq!(batch, vec![Some("h2".to_string()); 3]);
    let later = hosts_of(&f, server("b", 1, in_group(&g))).await;
    assert_eq!(later, vec![Some("h2".to_string())]);
}

async fn anti_affinity_spreads_a_batch_then_ends_in_no_valid_host(engine: Engine) {
    let f = three_hosts(engine).await;
    let g = group(&f, ServerGroupPolicy::AntiAffinity, None).await;
    let mut batch = hosts_of(&f, server("a", 2, in_group(&g))).await;
    let third = hosts_of(&f, server("b", 1, in_group(&g))).await;
    batch.extend(third);
    batch.sort();
    assert_eq!(
        batch,
        vec![Some("h1".into()), Some("h2".into()), Some("h3".into())]
    );
    // A fourth member fits nowhere: ERROR with nova's fault, no host, and
    // still a member, as nova leaves it.
    let created = f
        .compute
        .create_instances(&alice(), server("c", 1, in_group(&g)))
        .await
        .unwrap();
    let failed = &created.instances[0];
    assert_eq!(failed.vm_state, VmState::Error);
    assert_eq!(failed.task_state, None);
    assert_eq!(failed.host, None);
    let fault = failed.fault.as_ref().expect("a fault");
    assert_eq!(fault.code, 500);
    assert_eq!(
        fault.message,
        "No valid host was found. There are not enough hosts available."
    );
    assert!(f
        .compute
        .get_server_group(&alice(), &g)
        .await
        .unwrap()
        .members
        .contains(&failed.uuid));
    // Its create action ended in error.
    let actions = f
        .compute
        .list_instance_actions(&alice(), &failed.uuid)
        .await
        .unwrap();
    assert_eq!(actions[0].action, "create");
    assert_eq!(actions[0].message.as_deref(), Some("Error"));
}

async fn same_and_different_host_hints_are_honoured(engine: Engine) {
    let f = three_hosts(engine).await;
    let first = f
        .compute
        .create_instances(&alice(), server("s1", 1, SchedulerHints::default()))
        .await
        .unwrap()
        .instances
        .remove(0);
    let same = SchedulerHints {
        same_host: vec![first.uuid.clone()],
        ..Default::default()
    };
    assert_eq!(
        hosts_of(&f, server("s2", 2, same)).await,
        vec![first.host.clone(); 2]
    );
    let different = SchedulerHints {
        different_host: vec![first.uuid.clone()],
        ..Default::default()
    };
    let others = hosts_of(&f, server("d", 2, different)).await;
    assert!(
        others.iter().all(|h| h.is_some() && h != &first.host),
        "{others:?}"
    );
}

async fn disabled_hosts_and_zones_from_aggregates_steer_creates(engine: Engine) {
    let f = three_hosts(engine).await;
    for host in ["h1", "h2"] {
        f.compute
            .update_service(
                &admin(),
                host,
                "nova-compute",
                ServiceUpdate {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        hosts_of(&f, server("a", 2, SchedulerHints::default())).await,
        vec![Some("h3".to_string()); 2]
    );
    // h3 in zone az2 through an aggregate: the default zone has no
    // enabled host left, az2 has h3.
    let agg = f
        .compute
        .create_aggregate(&admin(), "rack", Some("az2"))
        .await
        .unwrap();
    let err = f
        .compute
        .add_aggregate_host(&admin(), agg.id, "h3")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict(m) if m.contains("the host already has 2 instance(s)")),
        "{err}"
    );
    let f = three_hosts(engine).await;
    let agg = f
        .compute
        .create_aggregate(&admin(), "rack", Some("az2"))
        .await
        .unwrap();
    f.compute
        .add_aggregate_host(&admin(), agg.id, "h3")
        .await
        .unwrap();
    let mut req = server("z", 2, SchedulerHints::default());
    req.availability_zone = Some("az2".into());
    let created = f.compute.create_instances(&alice(), req).await.unwrap();
    for i in &created.instances {
        assert_eq!(
            (i.host.as_deref(), i.availability_zone.as_str()),
            (Some("h3"), "az2")
        );
    }
    let mut nowhere = server("n", 1, SchedulerHints::default());
    nowhere.availability_zone = Some("az9".into());
    let err = f
        .compute
        .create_instances(&alice(), nowhere)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "The requested availability zone is not available: az9"
    );
    let zones = f
        .compute
        .list_availability_zones(&alice(), false)
        .await
        .unwrap();
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["nova", "az2"]);
    let services = f
        .compute
        .list_services(&admin(), Some("h3"), None)
        .await
        .unwrap();
    assert_eq!(services[0].zone, "az2");
}

async fn aggregates_keep_hosts_metadata_and_zones_with_nova_s_rules(engine: Engine) {
    let f = three_hosts(engine).await;
    assert!(matches!(
        f.compute.create_aggregate(&alice(), "x", None).await,
        Err(Error::Forbidden(_))
    ));
    let a = f
        .compute
        .create_aggregate(&admin(), "a", Some("az1"))
        .await
        .unwrap();
    assert_eq!(a.availability_zone.as_deref(), Some("az1"));
    assert_eq!(
        a.metadata.get("availability_zone").map(String::as_str),
        Some("az1")
    );
    let dup = f
        .compute
        .create_aggregate(&admin(), "a", None)
        .await
        .unwrap_err();
    assert_eq!(dup.to_string(), "Aggregate a already exists.");
    let b = f
        .compute
        .create_aggregate(&admin(), "b", None)
        .await
        .unwrap();
    assert!(b.id > a.id);
    // Hosts: unknown 404, twice 409, another zone 409.
    let unknown = f
        .compute
        .add_aggregate_host(&admin(), a.id, "nope")
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), "Compute host nope could not be found.");
    f.compute
        .add_aggregate_host(&admin(), a.id, "h1")
        .await
        .unwrap();
    let twice = f
        .compute
        .add_aggregate_host(&admin(), a.id, "h1")
        .await
        .unwrap_err();
    assert_eq!(
        twice.to_string(),
        format!("Aggregate {} already has host h1.", a.id)
    );
    let c = f
        .compute
        .create_aggregate(&admin(), "c", Some("az2"))
        .await
        .unwrap();
    let clash = f
        .compute
        .add_aggregate_host(&admin(), c.id, "h1")
        .await
        .unwrap_err();
    assert_eq!(
        clash.to_string(),
        format!(
            "Cannot add host to aggregate {}. Reason: One or more hosts already in availability zone(s) ['az1'].",
            c.id
        )
    );
    // A zone-less aggregate takes the host; its metadata merges and drops.
    f.compute
        .add_aggregate_host(&admin(), b.id, "h1")
        .await
        .unwrap();
    let meta: BTreeMap<String, Option<String>> = [
        ("ssd".to_string(), Some("true".to_string())),
        ("gone".to_string(), None),
    ]
    .into();
    let b = f
        .compute
        .set_aggregate_metadata(&admin(), b.id, &meta)
        .await
        .unwrap();
    assert_eq!(b.metadata.len(), 1);
    assert!(b.updated_at.is_some());
    let empty_zone: BTreeMap<String, Option<String>> =
        [("availability_zone".to_string(), None)].into();
    let err = f
        .compute
        .set_aggregate_metadata(&admin(), b.id, &empty_zone)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.ends_with("Reason: Aggregate b does not support empty named availability zone.")),
        "{err}"
    );
    assert_eq!(
        f.compute
            .aggregate_zones()
            .await
            .unwrap()
            .get("h1")
            .map(String::as_str),
        Some("az1")
    );
    // Rename, and the zone follows the update.
    let a2 = f
        .compute
        .update_aggregate(&admin(), a.id, Some("a2"), Some(Some("az3")))
        .await
        .unwrap();
    assert_eq!(
        (a2.name.as_str(), a2.availability_zone.as_deref()),
        ("a2", Some("az3"))
    );
    // Not empty: no delete; emptied: deleted, and its id is gone.
    let err = f
        .compute
        .delete_aggregate(&admin(), a.id)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot remove host from aggregate {}. Reason: Host aggregate is not empty.",
            a.id
        )
    );
    f.compute
        .remove_aggregate_host(&admin(), a.id, "h1")
        .await
        .unwrap();
    assert!(matches!(
        f.compute.remove_aggregate_host(&admin(), a.id, "h1").await,
        Err(Error::NotFound { .. })
    ));
    f.compute.delete_aggregate(&admin(), a.id).await.unwrap();
    let gone = f.compute.get_aggregate(&admin(), a.id).await.unwrap_err();
    assert_eq!(
        gone.to_string(),
        format!("Aggregate {} could not be found.", a.id)
    );
    let names: Vec<String> = f
        .compute
        .list_aggregates(&admin())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["b", "c"]);
}

async fn an_admin_forces_a_host_with_zone_and_host(engine: Engine) {
    let f = three_hosts(engine).await;
    f.compute
        .update_service(
            &admin(),
            "h2",
            "nova-compute",
            ServiceUpdate {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Forced past the disabled service, as nova's force_hosts.
    let mut forced = server("f", 2, SchedulerHints::default());
    forced.availability_zone = Some("nova:h2".into());
    let created = f
        .compute
        .create_instances(&admin(), forced.clone())
        .await
        .unwrap();
    for i in &created.instances {
        assert_eq!(
            (i.host.as_deref(), i.availability_zone.as_str()),
            (Some("h2"), "nova")
        );
    }
    let refused = f
        .compute
        .create_instances(&alice(), forced)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
    );
    let mut unknown = server("u", 1, SchedulerHints::default());
    unknown.availability_zone = Some(":nope".into());
    assert!(matches!(
        f.compute.create_instances(&admin(), unknown).await,
        Err(Error::NotFound {
            kind: Kind::Host,
            ..
        })
    ));
}
