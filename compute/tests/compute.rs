//! Integration tests of the compute domain. Every scenario runs on both
//! engines: `sqlite::<name>` on a temporary file and `postgres::<name>` on
//! the server named by `NOVA_TEST_POSTGRES_URL` (which fails when unset).

mod support;

#[path = "network/mod.rs"]
mod network;

#[path = "groups/mod.rs"]
mod groups;

use std::collections::BTreeMap;
use std::time::Duration;

use compute::{
    ClientTokenOutcome, Compute, ComputeConfig, CreateInstance, Engine, Error, FlavorFilter,
    ImageFilter, InstanceFilter, KeyType, NewFlavor, NewKeypair, PowerState, RebuildInstance,
    RequestContext, Seed, ServiceUpdate, SortDir, SortKey, Store, StoreOptions, TaskState, VmState,
    CIRROS_IMAGE_UUID, LATEST_SCHEMA_VERSION,
};
use support::{admin, alice, bob, Fixture};

fn server(name: &str) -> CreateInstance {
    CreateInstance {
        name: name.into(),
        flavor_id: "1".into(),
        image_ref: CIRROS_IMAGE_UUID.into(),
        ..Default::default()
    }
}

async fn create_one(c: &compute::Compute, ctx: &RequestContext, name: &str) -> compute::Instance {
    c.create_instances(ctx, server(name))
        .await
        .expect("create")
        .instances
        .remove(0)
}

fn quota(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Runs each scenario once per engine.
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

#[path = "image/mod.rs"]
mod image;

#[path = "server_actions/mod.rs"]
mod server_actions;

#[path = "consoles/mod.rs"]
mod consoles;
#[path = "migrations/mod.rs"]
mod migrations;

on_both_engines!(
    migrate_is_idempotent_and_seeds_once,
    newer_schema_is_refused,
    a_worker_store_connects_on_first_use_and_checks_the_schema_then,
    seeding_can_be_turned_off_and_seed_files_apply_once,
    create_reaches_active_with_ip_reservation_and_action,
    lifecycle_advances_lazily_through_nova_states,
    actions_follow_nova_state_rules,
    resize_confirm_and_revert_switch_flavors,
    resizing_a_stopped_instance_confirms_at_once_and_it_stays_stopped,
    delete_keeps_a_soft_deleted_row_and_frees_quota_and_ip,
    fixed_ips_go_past_the_highest_given_then_back_to_the_smallest_free,
    injected_failures_end_in_error_with_a_fault,
    personality_files_are_kept_replaced_by_a_rebuild_and_dropped_on_delete,
    quota_limits_creates_and_reports_nova_message,
    concurrent_creates_on_separate_pools_end_at_the_quota,
    servers_made_and_deleted_on_two_hosts_never_share_an_address_and_lose_no_release,
    concurrent_creates_with_one_client_token_make_one_reservation,
    a_client_token_is_claimed_only_by_a_create_that_commits,
    concurrent_transitions_on_one_instance_end_consistent,
    concurrent_readers_advance_a_transition_once,
    projects_are_isolated,
    locked_instances_refuse_non_admin_actions,
    keypairs_generate_import_and_validate,
    flavors_private_access_and_extra_specs,
    inputs_are_validated_with_typed_errors,
    list_filters_sort_and_paginate,
    ec2_ids_are_stable_across_reconnects,
    metadata_password_is_set_once,
    ec2_credentials_round_trip,
    ec2_tags_are_per_project_replaced_by_key_and_forgotten_with_their_resource,
    services_hypervisors_zones_and_usage,
    images_catalogue_and_visibility,
    lists_see_changes_made_through_another_pool,
    a_page_a_completed_delete_left_short_is_refilled_in_its_own_order,
    a_limit_of_zero_lists_nothing_whatever_the_filters,
);

/// A create takes the address after the highest one given so far (one
/// index lookup, however many instances there are), so a freed address
/// rests until the range is used up; then the smallest free one is found.
async fn fixed_ips_go_past_the_highest_given_then_back_to_the_smallest_free(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| {
            // 10.0.0.0/29: .1 is the gateway, .2 to .6 are given out.
            c.fixed_ip_range = "10.0.0.0/29".parse().unwrap();
            c.fixed_ip_reuse_delay = Duration::ZERO;
        })
        .build()
        .await;
    let (c, ctx) = (&f.compute, alice());
    let first = create_one(c, &ctx, "first").await;
    c.delete_instance(&ctx, &first.uuid).await.unwrap();

    let mut ips = Vec::new();
    for name in ["b", "c", "d", "e"] {
        ips.push(
            create_one(c, &ctx, name)
                .await
                .fixed_ipv4()
                .unwrap()
                .to_string(),
        );
    }
    let wrapped = create_one(c, &ctx, "wrapped").await;
    let full = c.create_instances(&ctx, server("full")).await;

    assert_eq!(first.fixed_ipv4().unwrap().to_string(), "10.0.0.2");
    assert_eq!(ips, ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    assert_eq!(wrapped.fixed_ipv4().unwrap().to_string(), "10.0.0.2");
    assert!(
        matches!(&full, Err(Error::Invalid(m)) if m.starts_with("No more IP addresses available on network ")),
        "{full:?}"
    );
}

async fn migrate_is_idempotent_and_seeds_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let store = f.compute.store();
    let again = store.migrate().await.unwrap();
    assert_eq!(
        (again.from_version, again.to_version, again.seeded),
        (LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION, false)
    );
    store.check_schema().await.unwrap();
    let flavors = f
        .compute
        .list_flavors(&alice(), &FlavorFilter::default())
        .await
        .unwrap();
    let got: Vec<(&str, &str, i64, i64, i64)> = flavors
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str(), f.vcpus, f.ram, f.disk))
        .collect();
    assert_eq!(got, compute::DEFAULT_FLAVORS.to_vec());
    let img = f
        .compute
        .get_image(&alice(), CIRROS_IMAGE_UUID)
        .await
        .unwrap();
    assert_eq!(img.name.as_deref(), Some(compute::CIRROS_IMAGE_NAME));
    assert_eq!(
        (img.status.as_str(), img.visibility.as_str()),
        ("active", "public")
    );
    assert_eq!(
        (img.disk_format.as_deref(), img.container_format.as_deref()),
        (Some("qcow2"), Some("bare"))
    );
    assert_eq!(img.ec2_id(), "ami-00000001");
    // A second process migrating the same database changes nothing either.
    let other = f.reconnect(2).await;
    assert!(!other.store().migrate().await.unwrap().seeded);
    assert_eq!(
        other
            .list_images(&alice(), &ImageFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn newer_schema_is_refused(engine: Engine) {
    let f = Fixture::new(engine).await;
    // Simulate a newer release having migrated this database.
    insert_schema_version(&f, 99).await;
    let store = f.compute.store();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::SchemaTooNew {
                found: 99,
                supported: LATEST_SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!(
            "version 99, newer than the latest this release knows ({LATEST_SCHEMA_VERSION})"
        )),
        "{err}"
    );
    assert!(matches!(
        store.check_schema().await,
        Err(Error::SchemaTooNew { found: 99, .. })
    ));
    assert_eq!(store.schema_version().await.unwrap(), 99);
}

async fn a_worker_store_connects_on_first_use_and_checks_the_schema_then(engine: Engine) {
    let f = Fixture::new(engine).await;
    // A worker's store: opening it makes no connection, its first query
    // runs on the schema this build knows.
    let worker = Compute::new(
        Store::connect_lazy(&f.url, StoreOptions::default())
            .await
            .unwrap(),
        f.config.clone(),
    );
    let flavors = worker
        .list_flavors(&alice(), &FlavorFilter::default())
        .await
        .unwrap();
    assert_eq!(flavors.len(), 5);

    // Another worker opened after a newer release migrated the database
    // refuses its first query, and every later one, with the schema error.
    insert_schema_version(&f, 99).await;
    let late = Compute::new(
        Store::connect_lazy(&f.url, StoreOptions::default())
            .await
            .unwrap(),
        f.config.clone(),
    );
    for _ in 0..2 {
        let err = late
            .list_flavors(&alice(), &FlavorFilter::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::SchemaTooNew {
                    found: 99,
                    supported: LATEST_SCHEMA_VERSION
                }
            ),
            "{err:?}"
        );
    }
}

async fn insert_schema_version(f: &Fixture, v: i64) {
    // The tests reach the table through the crate's own URL handling.
    match f.compute.store().engine() {
        Engine::Sqlite => {
            let path = f.url.trim_start_matches("sqlite:///").to_string();
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query("INSERT INTO schema_version (version, description, applied_at) VALUES ($1, 'future', 0)")
                .bind(v)
                .execute(&pool)
                .await
                .unwrap();
        }
        Engine::Postgres => {
            let url = f
                .url
                .replacen("postgresql+psycopg2://", "postgres://", 1)
                .replacen("postgresql://", "postgres://", 1);
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query("INSERT INTO schema_version (version, description, applied_at) VALUES ($1, 'future', 0)")
                .bind(v)
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

async fn seeding_can_be_turned_off_and_seed_files_apply_once(engine: Engine) {
    let f = Fixture::builder(engine).seed(false).build().await;
    assert!(f
        .compute
        .list_flavors(&admin(), &FlavorFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        f.compute.get_image(&admin(), CIRROS_IMAGE_UUID).await,
        Err(Error::NotFound { .. })
    ));
    let seed = Seed::from_json(
        r#"{"flavors": [{"id": "6", "name": "m1.huge", "vcpus": 16, "ram": 32768, "disk": 320}],
            "images": [{"name": "ubuntu", "disk_format": "qcow2", "container_format": "bare", "properties": {"os_distro": "ubuntu"}}]}"#,
    )
    .unwrap();
    let first = f.compute.apply_seed(&admin(), &seed).await.unwrap();
    assert_eq!(first.flavors_created, vec!["6".to_string()]);
    assert_eq!(first.images_created.len(), 1);
    let second = f.compute.apply_seed(&admin(), &seed).await.unwrap();
    assert!(second.flavors_created.is_empty() && second.images_created.is_empty());
    let img = f
        .compute
        .get_image(&alice(), &first.images_created[0])
        .await
        .unwrap();
    assert_eq!(img.properties["os_distro"], "ubuntu");
    assert!(matches!(
        f.compute.apply_seed(&alice(), &seed).await,
        Err(Error::Forbidden(_))
    ));
}

async fn create_reaches_active_with_ip_reservation_and_action(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let mut req = server("My Web_1");
    req.metadata.insert("role".into(), "web".into());
    req.tags = vec!["b".into(), "a".into()];
    req.user_data = Some("I2Nsb3VkLWNvbmZpZwo=".into());
    let created = f.compute.create_instances(&ctx, req).await.unwrap();
    assert_eq!(created.admin_password.len(), 12);
    let rid = &created.reservation_id;
    assert!(
        rid.len() == 10
            && rid.starts_with("r-")
            && rid[2..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{rid}"
    );
    let vm = &created.instances[0];
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.power_state),
        (VmState::Active, None, PowerState::Running)
    );
    assert_eq!(vm.status(), "ACTIVE");
    assert_eq!(vm.hostname, "my-web-1");
    assert_eq!(vm.fixed_ipv4().unwrap().to_string(), "10.0.0.2");
    assert_eq!(vm.tags, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(vm.metadata["role"], "web");
    assert_eq!(vm.user_data.as_deref(), Some("I2Nsb3VkLWNvbmZpZwo="));
    assert_eq!(
        (vm.flavor.id.as_str(), vm.flavor.vcpus, vm.flavor.ram),
        ("1", 1, 512)
    );
    assert_eq!(
        (vm.project_id.as_str(), vm.user_id.as_str()),
        ("project-a", "alice")
    );
    assert_eq!(vm.host.as_deref(), Some("compute1"));
    assert_eq!(vm.availability_zone, "nova");
    assert!(vm.launched_at.is_some());
    assert!(vm.vifs[0].mac_address.starts_with("fa:16:3e:"));
    let second = create_one(&f.compute, &ctx, "two").await;
    assert_eq!(second.fixed_ipv4().unwrap().to_string(), "10.0.0.3");
    let actions = f
        .compute
        .list_instance_actions(&ctx, &vm.uuid)
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(
        (actions[0].action.as_str(), actions[0].request_id.as_str()),
        ("create", ctx.request_id.as_str())
    );
    let detail = f
        .compute
        .get_instance_action(&ctx, &vm.uuid, &ctx.request_id)
        .await
        .unwrap();
    assert_eq!(detail.events.len(), 1);
    assert_eq!(detail.events[0].event, "compute__do_build_and_run_instance");
    assert_eq!(detail.events[0].result.as_deref(), Some("Success"));
    // Multi-create names instances name-1..n and shares the reservation.
    let mut multi = server("batch");
    multi.min_count = 2;
    multi.max_count = 3;
    let many = f.compute.create_instances(&ctx, multi).await.unwrap();
    let names: Vec<_> = many
        .instances
        .iter()
        .map(|i| (i.name.as_str(), i.launch_index))
        .collect();
    assert_eq!(names, vec![("batch-1", 0), ("batch-2", 1), ("batch-3", 2)]);
    assert!(many
        .instances
        .iter()
        .all(|i| i.reservation_id == many.reservation_id));
}

async fn lifecycle_advances_lazily_through_nova_states(engine: Engine) {
    // One second per step: reads at ~1.3 s fall well inside the second step.
    let f = Fixture::builder(engine)
        .delay(Duration::from_secs(1))
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "slow").await;
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.status()),
        (VmState::Building, Some(TaskState::Scheduling), "BUILD")
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let vm = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.power_state),
        (
            VmState::Building,
            Some(TaskState::Spawning),
            PowerState::NoState
        )
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let vm = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.power_state),
        (VmState::Active, None, PowerState::Running)
    );
    let vm = f.compute.stop_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.status()),
        (VmState::Active, Some(TaskState::PoweringOff), "ACTIVE")
    );
    let err = f.compute.stop_instance(&ctx, &vm.uuid).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'stop' instance {} while it is in task_state powering-off",
            vm.uuid
        )
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // A list read advances it as well.
    let listed = f
        .compute
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (
            listed[0].vm_state,
            listed[0].task_state,
            listed[0].power_state
        ),
        (VmState::Stopped, None, PowerState::Shutdown)
    );
    assert_eq!(listed[0].status(), "SHUTOFF");
}

async fn actions_follow_nova_state_rules(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    let id = create_one(c, &ctx, "vm").await.uuid;
    let err = c.start_instance(&ctx, &id).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidState { attr: "vm_state", state, .. } if state == "active")
    );
    assert_eq!(
        err.to_string(),
        format!("Cannot 'start' instance {id} while it is in vm_state active")
    );
    let vm = c.stop_instance(&ctx, &id).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.power_state),
        (VmState::Stopped, PowerState::Shutdown)
    );
    assert_eq!(
        c.stop_instance(&ctx, &id).await.unwrap_err().to_string(),
        format!("Cannot 'stop' instance {id} while it is in vm_state stopped")
    );
    assert!(matches!(
        c.reboot_instance(&ctx, &id, false).await,
        Err(Error::InvalidState { .. })
    ));
    let vm = c.reboot_instance(&ctx, &id, true).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.power_state),
        (VmState::Active, PowerState::Running)
    );
    let vm = c.pause_instance(&ctx, &id).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.power_state, vm.status()),
        (VmState::Paused, PowerState::Paused, "PAUSED")
    );
    assert!(matches!(
        c.suspend_instance(&ctx, &id).await,
        Err(Error::InvalidState { .. })
    ));
    let vm = c.unpause_instance(&ctx, &id).await.unwrap();
    assert_eq!(vm.vm_state, VmState::Active);
    let vm = c.suspend_instance(&ctx, &id).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.power_state, vm.status()),
        (VmState::Suspended, PowerState::Suspended, "SUSPENDED")
    );
    let vm = c.resume_instance(&ctx, &id).await.unwrap();
    assert_eq!(vm.vm_state, VmState::Active);
    let vm = c.reboot_instance(&ctx, &id, false).await.unwrap();
    assert_eq!((vm.vm_state, vm.task_state), (VmState::Active, None));
    let (vm, pw) = c
        .rebuild_instance(
            &ctx,
            &id,
            RebuildInstance {
                image_ref: CIRROS_IMAGE_UUID.into(),
                name: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (vm.vm_state, vm.name.as_str(), pw.len()),
        (VmState::Active, "renamed", 12)
    );
    c.change_admin_password(&ctx, &id, "s3cret").await.unwrap();
    let names: Vec<String> = c
        .list_instance_actions(&ctx, &id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        names,
        [
            "changePassword",
            "rebuild",
            "reboot",
            "resume",
            "suspend",
            "unpause",
            "pause",
            "reboot",
            "stop",
            "create"
        ]
        .map(String::from)
    );
}

async fn resize_confirm_and_revert_switch_flavors(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    let id = create_one(c, &ctx, "vm").await.uuid;
    assert_eq!(
        c.resize_instance(&ctx, &id, "1")
            .await
            .unwrap_err()
            .to_string(),
        "When resizing, instances must change flavor!"
    );
    let vm = c.resize_instance(&ctx, &id, "2").await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.status()),
        (VmState::Resized, None, "VERIFY_RESIZE")
    );
    assert_eq!(vm.flavor.id, "2");
    assert_eq!(vm.old_flavor.as_ref().map(|f| f.id.as_str()), Some("1"));
    let vm = c.confirm_resize(&ctx, &id).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.flavor.id.as_str(), vm.old_flavor.is_none()),
        (VmState::Active, "2", true)
    );
    let vm = c.resize_instance(&ctx, &id, "3").await.unwrap();
    assert_eq!(vm.flavor.id, "3");
    let vm = c.revert_resize(&ctx, &id).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.flavor.id.as_str(), vm.flavor.ram),
        (VmState::Active, "2", 2048)
    );
    assert_eq!(
        c.quota_usage(&ctx, "project-a", None).await.unwrap().ram,
        2048
    );
    // The resize is refused when it would exceed the cores quota.
    c.update_quotas(&admin(), "project-a", &quota(&[("cores", 2)]), false)
        .await
        .unwrap();
    let err = c.resize_instance(&ctx, &id, "4").await.unwrap_err();
    assert!(
        matches!(err, Error::QuotaExceeded { ref resource, .. } if resource == "cores"),
        "{err:?}"
    );
}

async fn resizing_a_stopped_instance_confirms_at_once_and_it_stays_stopped(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let stopped = create_one(&f.compute, &ctx, "stopped").await.uuid;
    f.compute.stop_instance(&ctx, &stopped).await.unwrap();
    let running = create_one(&f.compute, &ctx, "running").await.uuid;
    let mut failing = server("failing");
    failing
        .metadata
        .insert(compute::FAIL_METADATA_KEY.into(), "resize".into());
    let failing = f
        .compute
        .create_instances(&ctx, failing)
        .await
        .unwrap()
        .instances
        .remove(0)
        .uuid;
    f.compute.stop_instance(&ctx, &failing).await.unwrap();
    // A driver whose every step takes an hour: nothing may wait for one.
    let c = Compute::new(
        f.compute.store().clone(),
        ComputeConfig {
            transition_delay: Duration::from_secs(3600),
            ..ComputeConfig::instant()
        },
    );

    let vm = c
        .resize_stopped_instance(&ctx, &stopped, "2")
        .await
        .unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.power_state, vm.status()),
        (VmState::Stopped, None, PowerState::Shutdown, "SHUTOFF")
    );
    assert_eq!((vm.flavor.id.as_str(), vm.flavor.ram), ("2", 2048));
    assert_eq!((vm.old_flavor, vm.new_flavor), (None, None));
    let names: Vec<String> = c
        .list_instance_actions(&ctx, &stopped)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(names, ["confirmResize", "resize", "stop", "create"]);
    let usage = c.quota_usage(&ctx, "project-a", None).await.unwrap();
    assert_eq!(usage.ram, 2048 + 512 + 512);

    // Refused, and nothing changed: an active instance, the same flavor.
    let err = c
        .resize_stopped_instance(&ctx, &running, "2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err:?}");
    let err = c
        .resize_stopped_instance(&ctx, &stopped, "2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    let vm = c.get_instance(&ctx, &running).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.flavor.id.as_str()),
        (VmState::Active, None, "1")
    );

    // An injected resize failure ends as a failed resize does.
    let vm = c
        .resize_stopped_instance(&ctx, &failing, "2")
        .await
        .unwrap();
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.flavor.id.as_str()),
        (VmState::Error, None, "1")
    );
    assert_eq!(
        vm.fault.unwrap().message,
        "Simulated resize failure injected by sim:fail=resize"
    );
}

async fn delete_keeps_a_soft_deleted_row_and_frees_quota_and_ip(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let vm = create_one(c, &ctx, "doomed").await;
    c.delete_instance(&ctx, &vm.uuid).await.unwrap();
    assert!(matches!(
        c.get_instance(&ctx, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(c
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()
        .is_empty());
    let gone = c
        .get_instance_including_deleted(&ctx, &vm.uuid)
        .await
        .unwrap();
    assert_eq!(
        (
            gone.vm_state,
            gone.task_state,
            gone.power_state,
            gone.deleted
        ),
        (VmState::Deleted, None, PowerState::NoState, true)
    );
    assert!(gone.deleted_at.is_some() && gone.terminated_at.is_some());
    assert_eq!(gone.ec2_state(), (48, "terminated"));
    let since = c
        .list_instances(
            &ctx,
            &InstanceFilter {
                changes_since: Some(before),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        since
            .iter()
            .map(|i| (i.uuid.as_str(), i.deleted))
            .collect::<Vec<_>>(),
        vec![(vm.uuid.as_str(), true)]
    );
    let deleted = c
        .list_instances(
            &admin(),
            &InstanceFilter {
                all_projects: true,
                deleted: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        c.quota_usage(&ctx, "project-a", None)
            .await
            .unwrap()
            .instances,
        0
    );
    // Its IP is released but kept out of circulation for
    // `fixed_ip_reuse_delay` (the metadata service knows guests by address).
    let next = create_one(c, &ctx, "next").await;
    assert_ne!(next.fixed_ipv4(), vm.fixed_ipv4());
    assert!(matches!(
        c.delete_instance(&ctx, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
}

async fn injected_failures_end_in_error_with_a_fault(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    let mut req = server("fails");
    req.metadata
        .insert(compute::FAIL_METADATA_KEY.into(), "spawn".into());
    let vm = c
        .create_instances(&ctx, req)
        .await
        .unwrap()
        .instances
        .remove(0);
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.status()),
        (VmState::Error, None, "ERROR")
    );
    let fault = vm.fault.expect("fault");
    assert_eq!(fault.code, 500);
    assert_eq!(
        fault.message,
        format!(
            "Build of instance {} aborted: simulated spawn failure injected by sim:fail=spawn",
            vm.uuid
        )
    );
    let detail = c
        .get_instance_action(&ctx, &vm.uuid, &ctx.request_id)
        .await
        .unwrap();
    assert_eq!(
        (
            detail.message.as_deref(),
            detail.events[0].result.as_deref()
        ),
        (Some("Error"), Some("Error"))
    );
    // A flavor extra spec fails the stop step of every instance built with it.
    let mut nf = NewFlavor::new("flaky", 1, 256, 1);
    nf.id = Some("flaky".into());
    nf.extra_specs
        .insert(compute::FAIL_EXTRA_SPEC.into(), "reboot, stop".into());
    c.create_flavor(&admin(), nf).await.unwrap();
    let mut req = server("flaky");
    req.flavor_id = "flaky".into();
    let vm = c
        .create_instances(&ctx, req)
        .await
        .unwrap()
        .instances
        .remove(0);
    assert_eq!(vm.vm_state, VmState::Active);
    let vm = c.stop_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        (vm.vm_state, vm.power_state),
        (VmState::Error, PowerState::Running)
    );
    assert_eq!(
        vm.fault.unwrap().message,
        "Simulated stop failure injected by sim:fail_on=stop"
    );
    // A hard reboot of an errored instance fails the same way; delete works.
    let vm = c.reboot_instance(&ctx, &vm.uuid, true).await.unwrap();
    assert_eq!(vm.vm_state, VmState::Error);
    c.delete_instance(&ctx, &vm.uuid).await.unwrap();
}

async fn personality_files_are_kept_replaced_by_a_rebuild_and_dropped_on_delete(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    let file = |path: &str| compute::InjectedFile {
        path: path.into(),
        contents: "aGVsbG8=".into(),
    };
    let mut req = server("with-files");
    req.injected_files = vec![file("/etc/motd"), file("/etc/issue")];
    let id = c.create_instances(&ctx, req).await.unwrap().instances[0]
        .uuid
        .clone();
    assert_eq!(
        c.injected_files(&ctx, &id).await.unwrap(),
        [file("/etc/motd"), file("/etc/issue")]
    );

    let rebuild = RebuildInstance {
        image_ref: CIRROS_IMAGE_UUID.into(),
        injected_files: vec![file("/etc/hosts")],
        ..Default::default()
    };
    c.rebuild_instance(&ctx, &id, rebuild).await.unwrap();
    assert_eq!(
        c.injected_files(&ctx, &id).await.unwrap(),
        [file("/etc/hosts")]
    );
    assert!(matches!(
        c.injected_files(&bob(), &id).await,
        Err(Error::NotFound { .. })
    ));

    c.delete_instance(&ctx, &id).await.unwrap();
    assert_eq!(count_rows(&f, "instance_injected_files").await, 0);
}

/// The rows of `table`, read past the crate as `insert_schema_version` writes.
async fn count_rows(f: &Fixture, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match f.compute.store().engine() {
        Engine::Sqlite => {
            let path = f.url.trim_start_matches("sqlite:///").to_string();
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap()
        }
        Engine::Postgres => {
            let url = f
                .url
                .replacen("postgresql+psycopg2://", "postgres://", 1)
                .replacen("postgresql://", "postgres://", 1);
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap()
        }
    }
}

async fn quota_limits_creates_and_reports_nova_message(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let c = &f.compute;
    c.update_quotas(&admin(), "project-a", &quota(&[("instances", 3)]), false)
        .await
        .unwrap();
    assert_eq!(c.get_quotas(&ctx, "project-a").await.unwrap().instances, 3);
    assert_eq!(c.get_quotas(&ctx, "project-a").await.unwrap().cores, 20);
    let mut req = server("many");
    req.max_count = 5;
    assert_eq!(
        c.create_instances(&ctx, req).await.unwrap().instances.len(),
        3
    );
    let err = c.create_instances(&ctx, server("over")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances"
    );
    assert!(matches!(
        err,
        Error::QuotaExceeded {
            requested: 1,
            used: 3,
            allowed: 3,
            ..
        }
    ));
    // Other projects keep the defaults; -1 is unlimited.
    assert_eq!(
        c.get_quotas(&bob(), "project-b").await.unwrap().instances,
        10
    );
    assert!(matches!(
        c.get_quotas(&bob(), "project-a").await,
        Err(Error::Forbidden(_))
    ));
    c.update_quotas(
        &admin(),
        "project-a",
        &quota(&[("instances", -1), ("ram", 1024)]),
        true,
    )
    .await
    .unwrap();
    let err = c.create_instances(&ctx, server("ram")).await.unwrap_err();
    assert!(
        matches!(err, Error::QuotaExceeded { ref resource, .. } if resource == "ram"),
        "{err:?}"
    );
    let err = c
        .update_quotas(&admin(), "project-a", &quota(&[("cores", 1)]), false)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Quota limit 1 for cores must be greater than or equal to already used and reserved 3."
    );
    assert!(matches!(
        c.update_quotas(&ctx, "project-a", &quota(&[("cores", 1)]), true)
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        c.update_quotas(&admin(), "project-a", &quota(&[("bogus", 1)]), true)
            .await,
        Err(Error::Invalid(_))
    ));
    c.delete_quotas(&admin(), "project-a").await.unwrap();
    assert_eq!(
        c.get_quotas(&ctx, "project-a").await.unwrap(),
        c.default_quotas().await.unwrap()
    );
}

async fn concurrent_creates_on_separate_pools_end_at_the_quota(engine: Engine) {
    let f = Fixture::new(engine).await;
    f.compute
        .update_quotas(&admin(), "project-a", &quota(&[("instances", 5)]), false)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        // Each task is its own "process": a separate connection pool.
        let c = f.reconnect(1).await;
        tasks.push(tokio::spawn(async move {
            c.create_instances(&alice(), server(&format!("race-{i}")))
                .await
        }));
    }
    let mut ok = 0;
    let mut over = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::QuotaExceeded { .. }) => over += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((ok, over), (5, 7));
    let live = f
        .compute
        .list_instances(&alice(), &InstanceFilter::default())
        .await
        .unwrap();
    assert_eq!(live.len(), 5);
    let ips: std::collections::BTreeSet<_> = live.iter().map(|i| i.fixed_ipv4()).collect();
    assert_eq!(ips.len(), 5);
}

/// Two "hosts" (separate pools) create and delete servers on one network
/// at once: no two live servers ever hold one address, and every address a
/// delete freed is given out again (none is lost).
async fn servers_made_and_deleted_on_two_hosts_never_share_an_address_and_lose_no_release(
    engine: Engine,
) {
    let f = Fixture::builder(engine)
        .config(|c| {
            // 10.0.0.0/27: .1 is the gateway, .2 to .30 are 29 addresses.
            c.fixed_ip_range = "10.0.0.0/27".parse().unwrap();
            c.fixed_ip_reuse_delay = Duration::ZERO;
        })
        .build()
        .await;
    f.compute
        .update_quotas(
            &admin(),
            "project-a",
            &quota(&[("instances", -1), ("cores", -1), ("ram", -1)]),
            false,
        )
        .await
        .unwrap();
    let hosts = [f.reconnect(2).await, f.reconnect(2).await];
    let live_addresses = || async {
        let live = f
            .compute
            .list_instances(&alice(), &InstanceFilter::default())
            .await
            .unwrap();
        let ips: std::collections::BTreeSet<_> = live.iter().map(|i| i.fixed_ipv4()).collect();
        assert_eq!(ips.len(), live.len(), "two live servers share an address");
        assert!(!ips.contains(&None));
        live
    };
    let create_on = |host: &Compute, i: usize| {
        let c = host.clone();
        tokio::spawn(async move {
            c.create_instances(&alice(), server(&format!("s{i}")))
                .await
                .map(|r| r.instances[0].uuid.clone())
        })
    };

    let first: Vec<_> = (0..20).map(|i| create_on(&hosts[i % 2], i)).collect();
    let mut made = Vec::new();
    for t in first {
        made.push(t.await.unwrap().expect("create"));
    }
    assert_eq!(live_addresses().await.len(), 20);

    // Host 0 deletes ten while host 1 creates nine: 29 live at most.
    let mut tasks = Vec::new();
    for uuid in made.drain(..10) {
        let c = hosts[0].clone();
        tasks.push(tokio::spawn(async move {
            c.delete_instance(&alice(), &uuid)
                .await
                .map(|_| String::new())
        }));
    }
    for i in 20..29 {
        tasks.push(create_on(&hosts[1], i));
    }
    for t in tasks {
        t.await.unwrap().expect("create or delete");
    }
    assert_eq!(live_addresses().await.len(), 19);

    // The ten freed addresses are all there to be given out again.
    let refill: Vec<_> = (29..39).map(|i| create_on(&hosts[i % 2], i)).collect();
    for t in refill {
        t.await.unwrap().expect("a freed address");
    }
    assert_eq!(live_addresses().await.len(), 29);
    let full = f.compute.create_instances(&alice(), server("full")).await;
    assert!(
        matches!(&full, Err(Error::Invalid(m)) if m.starts_with("No more IP addresses available on network ")),
        "{full:?}"
    );
}

async fn concurrent_creates_with_one_client_token_make_one_reservation(engine: Engine) {
    let f = Fixture::new(engine).await;
    let two = CreateInstance {
        min_count: 2,
        max_count: 2,
        ..server("retried")
    };
    let mut tasks = Vec::new();
    for _ in 0..12 {
        // Each task is its own "process": a separate connection pool.
        let c = f.reconnect(1).await;
        let req = two.clone();
        tasks.push(tokio::spawn(async move {
            c.create_instances_with_client_token(&alice(), "token-1", req)
                .await
        }));
    }
    let mut created = Vec::new();
    let mut replayed = Vec::new();
    for t in tasks {
        match t.await.unwrap().expect("create or replay") {
            ClientTokenOutcome::Created(c) => created.push(c.reservation_id),
            ClientTokenOutcome::Replayed {
                reservation_id,
                instances,
            } => {
                assert_eq!(instances.len(), 2);
                replayed.push(reservation_id);
            }
        }
    }
    assert_eq!((created.len(), replayed.len()), (1, 11));
    assert!(replayed.iter().all(|r| r == &created[0]), "{replayed:?}");
    let live = f
        .compute
        .list_instances(&alice(), &InstanceFilter::default())
        .await
        .unwrap();
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|i| i.reservation_id == created[0]));
    // The token is the project's: another project's same token creates.
    let theirs = f
        .compute
        .create_instances_with_client_token(&bob(), "token-1", server("bobs"))
        .await
        .unwrap();
    assert!(matches!(theirs, ClientTokenOutcome::Created(_)));
    assert_ne!(theirs.reservation_id(), created[0]);
}

async fn a_client_token_is_claimed_only_by_a_create_that_commits(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    for bad in [String::new(), "t".repeat(65), "jeton-é".to_string()] {
        let err = c
            .create_instances_with_client_token(&alice(), &bad, server("bad"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{bad:?}: {err:?}");
    }
    c.update_quotas(&admin(), "project-a", &quota(&[("instances", 1)]), false)
        .await
        .unwrap();
    let two = CreateInstance {
        min_count: 2,
        ..server("too-many")
    };
    let err = c
        .create_instances_with_client_token(&alice(), "token-2", two.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err:?}");
    c.update_quotas(&admin(), "project-a", &quota(&[("instances", 10)]), false)
        .await
        .unwrap();
    // The refused create left the token free.
    let made = c
        .create_instances_with_client_token(&alice(), "token-2", two.clone())
        .await
        .unwrap();
    let ClientTokenOutcome::Created(made) = made else {
        panic!("the token was claimed by a create that failed: {made:?}");
    };
    assert_eq!(made.instances.len(), 2);
    // Once its instances are all deleted, the token makes a new reservation
    // (nova dropped the token of terminated instances).
    for i in &made.instances {
        c.delete_instance(&alice(), &i.uuid).await.unwrap();
    }
    let again = c
        .create_instances_with_client_token(&alice(), "token-2", two)
        .await
        .unwrap();
    assert!(matches!(again, ClientTokenOutcome::Created(_)));
    assert_ne!(again.reservation_id(), made.reservation_id);
    assert_eq!(
        c.list_instances(&alice(), &InstanceFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn concurrent_transitions_on_one_instance_end_consistent(engine: Engine) {
    let f = Fixture::new(engine).await;
    let id = create_one(&f.compute, &alice(), "contended").await.uuid;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let c = f.reconnect(1).await;
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = alice();
            let r = match i % 3 {
                0 => c.stop_instance(&ctx, &id).await.map(|_| "stop"),
                1 => c.start_instance(&ctx, &id).await.map(|_| "start"),
                _ => c.reboot_instance(&ctx, &id, true).await.map(|_| "reboot"),
            };
            r.map_err(|e| match e {
                Error::InvalidState { .. } | Error::Conflict(_) => "refused".to_string(),
                other => format!("unexpected {other:?}"),
            })
        }));
    }
    let mut done: Vec<&str> = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => done.push(a),
            Err(e) => assert_eq!(e, "refused"),
        }
    }
    let vm = f.compute.get_instance(&alice(), &id).await.unwrap();
    let expected_power = match vm.vm_state {
        VmState::Active => PowerState::Running,
        VmState::Stopped => PowerState::Shutdown,
        other => panic!("inconsistent vm_state {other}"),
    };
    assert_eq!((vm.task_state, vm.power_state), (None, expected_power));
    // Every accepted action was recorded exactly once, and no other.
    let recorded = f
        .compute
        .list_instance_actions(&alice(), &id)
        .await
        .unwrap();
    assert_eq!(recorded.len(), done.len() + 1);
}

async fn concurrent_readers_advance_a_transition_once(engine: Engine) {
    let f = Fixture::builder(engine)
        .delay(Duration::from_millis(300))
        .build()
        .await;
    let id = create_one(&f.compute, &alice(), "watched").await.uuid;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = f.reconnect(1).await;
        let id = id.clone();
        tasks.push(tokio::spawn(
            async move { c.get_instance(&alice(), &id).await },
        ));
    }
    for t in tasks {
        let vm = t.await.unwrap().unwrap();
        assert_eq!((vm.vm_state, vm.task_state), (VmState::Active, None));
    }
    let ctx = alice();
    let action = f
        .compute
        .list_instance_actions(&ctx, &id)
        .await
        .unwrap()
        .remove(0);
    let detail = f
        .compute
        .get_instance_action(&ctx, &id, &action.request_id)
        .await
        .unwrap();
    assert_eq!(detail.events.len(), 1);
    assert_eq!(detail.events[0].result.as_deref(), Some("Success"));
    let vm = f.compute.get_instance(&ctx, &id).await.unwrap();
    // launched_at is the deadline of the spawn step, not a reader's clock.
    let launched = vm.launched_at.unwrap();
    assert_eq!(
        launched - vm.created_at,
        chrono::Duration::milliseconds(600)
    );
}

async fn projects_are_isolated(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let (a, b) = (alice(), bob());
    let vm = create_one(c, &a, "mine").await;
    assert!(matches!(
        c.get_instance(&b, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.get_instance_by_id(&b, vm.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.get_instance_by_fixed_ip(&b, vm.fixed_ipv4().unwrap().into())
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(c
        .list_instances(
            &b,
            &InstanceFilter {
                all_projects: true,
                project_id: Some("project-a".into()),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        c.stop_instance(&b, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.delete_instance(&b, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.update_instance_metadata(&b, &vm.uuid, BTreeMap::new(), true)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.list_instance_actions(&b, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        c.get_instance(&a, &vm.uuid).await.unwrap().vm_state,
        VmState::Active
    );
    assert_eq!(
        c.get_instance_by_fixed_ip(&admin(), vm.fixed_ipv4().unwrap().into())
            .await
            .unwrap()
            .uuid,
        vm.uuid
    );
    // Admins see every project only when they ask for all.
    assert!(c
        .list_instances(&admin(), &InstanceFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        c.list_instances(
            &admin(),
            &InstanceFilter {
                all_projects: true,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .len(),
        1
    );
    // Keypairs are per user.
    let kp = NewKeypair {
        name: "k".into(),
        public_key: Some(ED25519.into()),
        ..Default::default()
    };
    c.create_keypair(&a, kp.clone()).await.unwrap();
    assert!(matches!(
        c.get_keypair(&b, "k", None).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.get_keypair(&b, "k", Some("alice")).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        c.delete_keypair(&b, "k", None).await,
        Err(Error::NotFound { .. })
    ));
    c.create_keypair(&b, kp).await.unwrap();
    assert_eq!(
        c.list_keypairs(&a, None, None, None).await.unwrap().len(),
        1
    );
    assert_eq!(
        c.get_keypair(&admin(), "k", Some("alice"))
            .await
            .unwrap()
            .user_id,
        "alice"
    );
    // Private flavors are visible to projects on their access list only.
    let mut nf = NewFlavor::new("private", 1, 256, 1);
    nf.id = Some("p1".into());
    nf.is_public = false;
    c.create_flavor(&admin(), nf).await.unwrap();
    c.add_flavor_access(&admin(), "p1", "project-a")
        .await
        .unwrap();
    assert_eq!(c.get_flavor(&a, "p1").await.unwrap().name, "private");
    assert!(matches!(
        c.get_flavor(&b, "p1").await,
        Err(Error::NotFound { .. })
    ));
    let names = |fl: Vec<compute::Flavor>| fl.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert!(
        names(c.list_flavors(&a, &FlavorFilter::default()).await.unwrap())
            .contains(&"p1".to_string())
    );
    assert!(
        !names(c.list_flavors(&b, &FlavorFilter::default()).await.unwrap())
            .contains(&"p1".to_string())
    );
    let mut req = server("sneaky");
    req.flavor_id = "p1".into();
    assert!(matches!(
        c.create_instances(&b, req.clone()).await,
        Err(Error::NotFound {
            kind: compute::Kind::Flavor,
            ..
        })
    ));
    assert_eq!(
        c.create_instances(&a, req).await.unwrap().instances[0]
            .flavor
            .id,
        "p1"
    );
}

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3g6CW8t5gMMAFPKWAA+wcFazoY7c05+0r2Q8mSI69L test@host";

async fn locked_instances_refuse_non_admin_actions(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let id = create_one(c, &alice(), "locked").await.uuid;
    let vm = c
        .lock_instance(&admin(), &id, Some("maintenance".into()))
        .await
        .unwrap();
    assert_eq!(
        (
            vm.locked,
            vm.locked_by.as_deref(),
            vm.locked_reason.as_deref()
        ),
        (true, Some("admin"), Some("maintenance"))
    );
    let err = c.stop_instance(&alice(), &id).await.unwrap_err();
    assert_eq!(err.to_string(), format!("Instance {id} is locked"));
    assert!(matches!(
        c.delete_instance(&alice(), &id).await,
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        c.unlock_instance(&alice(), &id).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        c.stop_instance(&admin(), &id).await.unwrap().vm_state,
        VmState::Stopped
    );
    c.unlock_instance(&admin(), &id).await.unwrap();
    let vm = c.lock_instance(&alice(), &id, None).await.unwrap();
    assert_eq!(vm.locked_by.as_deref(), Some("owner"));
    assert!(!c.unlock_instance(&alice(), &id).await.unwrap().locked);
    assert_eq!(
        c.start_instance(&alice(), &id).await.unwrap().vm_state,
        VmState::Active
    );
}

async fn keypairs_generate_import_and_validate(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    let gen = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "gen".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(gen
        .private_key
        .as_deref()
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(gen.public_key.starts_with("ssh-rsa "));
    assert_eq!(
        gen.fingerprint,
        compute::keys::ssh_fingerprint(&gen.public_key).unwrap()
    );
    let stored = c.get_keypair(&ctx, "gen", None).await.unwrap();
    assert_eq!(
        (stored.private_key, stored.fingerprint, stored.key_type),
        (None, gen.fingerprint.clone(), KeyType::Ssh)
    );
    let imported = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "imp".into(),
                public_key: Some(format!("{ED25519}\n")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        imported.fingerprint,
        "56:f7:83:35:12:2e:46:1a:5a:8a:a1:15:ab:d0:0b:61"
    );
    assert_eq!(imported.public_key, ED25519);
    let dup = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "imp".into(),
                public_key: Some(ED25519.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(dup.to_string(), "Key pair 'imp' already exists.");
    let bad = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "bad".into(),
                public_key: Some("ssh-rsa AAAA".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::Invalid(ref m)) if m.starts_with("Keypair data is invalid")));
    let x = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "cert".into(),
                key_type: KeyType::X509,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(x.public_key.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        x.fingerprint,
        compute::keys::x509_fingerprint(&x.public_key).unwrap()
    );
    let reimported = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "cert2".into(),
                key_type: KeyType::X509,
                public_key: Some(x.public_key.clone()),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reimported.fingerprint, x.fingerprint);
    let names: Vec<String> = c
        .list_keypairs(&ctx, None, Some("cert2"), Some(2))
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, vec!["gen".to_string(), "imp".to_string()]);
    c.update_quotas(&admin(), "project-a", &quota(&[("key_pairs", 4)]), false)
        .await
        .unwrap();
    let err = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "fifth".into(),
                public_key: Some(ED25519.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Quota exceeded, too many key pairs.");
    c.delete_keypair(&ctx, "gen", None).await.unwrap();
    assert!(matches!(
        c.delete_keypair(&ctx, "gen", None).await,
        Err(Error::NotFound { .. })
    ));
    // The instance carries the key's public half for the metadata service.
    let mut req = server("keyed");
    req.key_name = Some("imp".into());
    let vm = c
        .create_instances(&ctx, req)
        .await
        .unwrap()
        .instances
        .remove(0);
    assert_eq!(vm.key_data.as_deref(), Some(ED25519));
    let mut req = server("nokey");
    req.key_name = Some("missing".into());
    assert!(matches!(
        c.create_instances(&ctx, req).await,
        Err(Error::NotFound {
            kind: compute::Kind::Keypair,
            ..
        })
    ));
}

async fn flavors_private_access_and_extra_specs(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let adm = admin();
    let fl = c
        .create_flavor(&adm, NewFlavor::new("auto-id", 2, 1024, 10))
        .await
        .unwrap();
    assert_eq!(fl.id.len(), 36);
    let dup = c
        .create_flavor(&adm, NewFlavor::new("auto-id", 2, 1024, 10))
        .await
        .unwrap_err();
    assert_eq!(dup.to_string(), "Flavor with name auto-id already exists.");
    let mut same_id = NewFlavor::new("other", 1, 1, 1);
    same_id.id = Some("1".into());
    assert_eq!(
        c.create_flavor(&adm, same_id)
            .await
            .unwrap_err()
            .to_string(),
        "Flavor with ID 1 already exists."
    );
    assert!(matches!(
        c.create_flavor(&alice(), NewFlavor::new("x", 1, 1, 1))
            .await,
        Err(Error::Forbidden(_))
    ));
    let specs = c
        .set_flavor_extra_specs(
            &adm,
            &fl.id,
            [("hw:cpu_policy".to_string(), "dedicated".to_string())].into(),
        )
        .await
        .unwrap();
    assert_eq!(specs["hw:cpu_policy"], "dedicated");
    assert_eq!(
        c.get_flavor_extra_spec(&alice(), &fl.id, "hw:cpu_policy")
            .await
            .unwrap(),
        "dedicated"
    );
    c.delete_flavor_extra_spec(&adm, &fl.id, "hw:cpu_policy")
        .await
        .unwrap();
    assert!(matches!(
        c.get_flavor_extra_spec(&alice(), &fl.id, "hw:cpu_policy")
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.list_flavor_access(&adm, "1").await,
        Err(Error::NotFound { .. })
    ));
    let big = c
        .list_flavors(
            &alice(),
            &FlavorFilter {
                min_ram: Some(8192),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        big.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec!["4", "5"]
    );
    let page = c
        .list_flavors(
            &alice(),
            &FlavorFilter {
                marker: Some("2".into()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Flavors are ordered by flavor id as strings, so the auto-id flavor's
    // random UUID may fall anywhere among "1".."5": the page is the two ids
    // that follow "2" in the full, sorted listing.
    let all = c
        .list_flavors(&alice(), &FlavorFilter::default())
        .await
        .unwrap();
    let mut ids: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
    let listed = ids.clone();
    ids.sort_unstable();
    assert_eq!(listed, ids, "flavors are listed in flavor id order");
    let after_marker: Vec<&str> = ids
        .iter()
        .copied()
        .skip_while(|id| *id != "2")
        .skip(1)
        .take(2)
        .collect();
    assert_eq!(after_marker.len(), 2);
    assert_eq!(
        page.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        after_marker
    );
    let desc = c
        .update_flavor_description(&adm, "1", Some("tiny one".into()))
        .await
        .unwrap();
    assert_eq!(desc.description.as_deref(), Some("tiny one"));
    c.delete_flavor(&adm, &fl.id).await.unwrap();
    assert!(matches!(
        c.get_flavor(&adm, &fl.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn inputs_are_validated_with_typed_errors(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    assert!(matches!(
        c.create_instances(&ctx, server(&"n".repeat(256))).await,
        Err(Error::Invalid(_))
    ));
    assert!(c
        .create_instances(&ctx, server(&"n".repeat(255)))
        .await
        .is_ok());
    let mut req = server("meta");
    req.metadata.insert("k".repeat(256), "v".into());
    assert_eq!(
        c.create_instances(&ctx, req).await.unwrap_err().to_string(),
        "Metadata property key greater than 255 characters."
    );
    let mut req = server("meta");
    req.metadata = (0..129).map(|i| (format!("k{i}"), "v".into())).collect();
    assert_eq!(
        c.create_instances(&ctx, req).await.unwrap_err().to_string(),
        "Maximum number of metadata items exceeds 128"
    );
    let mut req = server("ud");
    req.user_data = Some("%%%".into());
    assert_eq!(
        c.create_instances(&ctx, req).await.unwrap_err().to_string(),
        "User data needs to be valid base 64."
    );
    let mut req = server("img");
    req.image_ref = "no-such-image".into();
    assert!(matches!(
        c.create_instances(&ctx, req).await,
        Err(Error::NotFound {
            kind: compute::Kind::Image,
            ..
        })
    ));
    let mut req = server("az");
    req.availability_zone = Some("elsewhere".into());
    assert!(matches!(
        c.create_instances(&ctx, req).await,
        Err(Error::Invalid(_))
    ));
    let bad = c
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "a/b".into(),
                public_key: Some(ED25519.into()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        bad.unwrap_err().to_string(),
        "Keypair data is invalid: Keypair name contains unsafe characters"
    );
    let id = c
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()[0]
        .uuid
        .clone();
    c.update_quotas(
        &admin(),
        "project-a",
        &quota(&[("metadata_items", 2)]),
        false,
    )
    .await
    .unwrap();
    let two: BTreeMap<String, String> = [("a".into(), "1".into()), ("b".into(), "2".into())].into();
    assert_eq!(
        c.update_instance_metadata(&ctx, &id, two, false)
            .await
            .unwrap()
            .len(),
        2
    );
    let third: BTreeMap<String, String> = [("c".into(), "3".into())].into();
    assert!(matches!(
        c.update_instance_metadata(&ctx, &id, third.clone(), false)
            .await,
        Err(Error::QuotaExceeded { .. })
    ));
    assert_eq!(
        c.update_instance_metadata(&ctx, &id, third, true)
            .await
            .unwrap()
            .len(),
        1
    );
    c.delete_instance_metadata_item(&ctx, &id, "c")
        .await
        .unwrap();
    assert!(matches!(
        c.delete_instance_metadata_item(&ctx, &id, "c").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.add_instance_tag(&ctx, &id, "a/b").await,
        Err(Error::Invalid(_))
    ));
    assert!(c.add_instance_tag(&ctx, &id, "t1").await.unwrap());
    assert!(!c.add_instance_tag(&ctx, &id, "t1").await.unwrap());
    assert_eq!(
        c.set_instance_tags(&ctx, &id, vec!["z".into(), "y".into()])
            .await
            .unwrap(),
        vec!["y".to_string(), "z".to_string()]
    );
    c.delete_instance_tag(&ctx, &id, "y").await.unwrap();
    assert_eq!(
        c.list_instance_tags(&ctx, &id).await.unwrap(),
        vec!["z".to_string()]
    );
}

async fn list_filters_sort_and_paginate(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    for n in ["delta", "alpha", "Charlie", "bravo", "echo"] {
        create_one(c, &ctx, n).await;
    }
    let by_name = InstanceFilter {
        sort: vec![(SortKey::DisplayName, SortDir::Asc)],
        limit: Some(2),
        ..Default::default()
    };
    let p1: Vec<String> = c
        .list_instances(&ctx, &by_name)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(p1, vec!["Charlie", "alpha"]);
    let marker = c.list_instances(&ctx, &by_name).await.unwrap()[1]
        .uuid
        .clone();
    let p2: Vec<String> = c
        .list_instances(
            &ctx,
            &InstanceFilter {
                marker: Some(marker),
                ..by_name.clone()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(p2, vec!["bravo", "delta"]);
    let newest_first: Vec<String> = c
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        newest_first,
        vec!["echo", "bravo", "Charlie", "alpha", "delta"]
    );
    let re: Vec<String> = c
        .list_instances(
            &ctx,
            &InstanceFilter {
                name: Some("^[a-c]".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(re, vec!["bravo", "alpha"]);
    let echo = c
        .list_instances(
            &ctx,
            &InstanceFilter {
                name: Some("echo".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    c.stop_instance(&ctx, &echo.uuid).await.unwrap();
    let stopped = InstanceFilter {
        vm_states: compute::vm_states_for_status("SHUTOFF"),
        ..Default::default()
    };
    assert_eq!(
        c.list_instances(&ctx, &stopped)
            .await
            .unwrap()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        vec!["echo"]
    );
    c.add_instance_tag(&ctx, &echo.uuid, "web").await.unwrap();
    let tagged = InstanceFilter {
        tags: vec!["web".into()],
        ..Default::default()
    };
    assert_eq!(c.list_instances(&ctx, &tagged).await.unwrap().len(), 1);
    let not_tagged = InstanceFilter {
        not_tags_any: vec!["web".into()],
        ..Default::default()
    };
    assert_eq!(c.list_instances(&ctx, &not_tagged).await.unwrap().len(), 4);
    let by_ip = InstanceFilter {
        ip: Some(format!("^{}$", echo.fixed_ipv4().unwrap()).replace('.', "\\.")),
        ..Default::default()
    };
    assert_eq!(
        c.list_instances(&ctx, &by_ip).await.unwrap()[0].uuid,
        echo.uuid
    );
    let bad = InstanceFilter {
        marker: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        c.list_instances(&ctx, &bad).await.unwrap_err().to_string(),
        "marker [nope] not found"
    );
    assert_eq!(
        c.list_instances(
            &ctx,
            &InstanceFilter {
                ids: Some(vec![echo.id]),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .len(),
        1
    );
}

async fn ec2_ids_are_stable_across_reconnects(engine: Engine) {
    let f = Fixture::new(engine).await;
    let vm = create_one(&f.compute, &alice(), "ec2").await;
    let ec2_id = vm.ec2_id();
    assert_eq!(ec2_id, format!("i-{:08x}", vm.id));
    f.compute.store().close().await;
    let again = f.reconnect(2).await;
    assert_eq!(
        again
            .get_instance_by_ec2_id(&alice(), &ec2_id)
            .await
            .unwrap()
            .uuid,
        vm.uuid
    );
    assert_eq!(
        again
            .get_image_by_ec2_id(&alice(), "ami-00000001")
            .await
            .unwrap()
            .uuid,
        CIRROS_IMAGE_UUID
    );
    assert!(matches!(
        again.get_instance_by_ec2_id(&alice(), "i-zzzz").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        again.get_instance_by_ec2_id(&bob(), &ec2_id).await,
        Err(Error::NotFound { .. })
    ));
    // Ids are never reused after a delete.
    again.delete_instance(&alice(), &vm.uuid).await.unwrap();
    let next = create_one(&again, &alice(), "next").await;
    assert!(next.id > vm.id);
    assert_eq!(
        again
            .get_instance_by_ec2_id(&alice(), &ec2_id)
            .await
            .unwrap()
            .vm_state,
        VmState::Deleted
    );
}

async fn metadata_password_is_set_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let id = create_one(c, &alice(), "pw").await.uuid;
    assert_eq!(c.get_instance_password(&alice(), &id).await.unwrap(), None);
    assert_eq!(
        c.set_instance_password(&alice(), &id, &"x".repeat(1021))
            .await
            .unwrap_err()
            .to_string(),
        "Request is too large."
    );
    c.set_instance_password(&alice(), &id, &"x".repeat(1020))
        .await
        .unwrap();
    assert!(matches!(
        c.set_instance_password(&alice(), &id, "again").await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        c.get_instance_password(&alice(), &id)
            .await
            .unwrap()
            .map(|p| p.len()),
        Some(1020)
    );
    c.clear_instance_password(&alice(), &id).await.unwrap();
    c.set_instance_password(&alice(), &id, "new").await.unwrap();
    assert_eq!(
        c.get_instance_password(&alice(), &id)
            .await
            .unwrap()
            .as_deref(),
        Some("new")
    );
    let out = c.console_output(&alice(), &id, Some(1)).await.unwrap();
    assert_eq!(out, "pw login: ");
}

async fn ec2_credentials_round_trip(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let cred = c.create_ec2_credential(&alice(), None, None).await.unwrap();
    assert_eq!((cred.access.len(), cred.secret.len()), (32, 32));
    let found = c.lookup_ec2_credential(&cred.access).await.unwrap();
    assert_eq!(
        (
            found.user_id.as_str(),
            found.project_id.as_str(),
            found.secret
        ),
        ("alice", "project-a", cred.secret.clone())
    );
    assert_eq!(
        c.list_ec2_credentials(&alice(), None).await.unwrap().len(),
        1
    );
    assert!(matches!(
        c.create_ec2_credential(&alice(), Some("bob"), None).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        c.delete_ec2_credential(&bob(), &cred.access).await,
        Err(Error::NotFound { .. })
    ));
    c.delete_ec2_credential(&alice(), &cred.access)
        .await
        .unwrap();
    assert!(matches!(
        c.lookup_ec2_credential(&cred.access).await,
        Err(Error::NotFound { .. })
    ));
}

async fn services_hypervisors_zones_and_usage(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.hosts = vec![compute::SimHost::new("cmp1"), compute::SimHost::new("cmp2")])
        .build()
        .await;
    let c = &f.compute;
    let adm = admin();
    let a = create_one(c, &alice(), "a").await;
    let b = create_one(c, &alice(), "b").await;
    assert_ne!(a.host, b.host, "instances spread over the hosts");
    let services = c.list_services(&adm, None, None).await.unwrap();
    let rows: Vec<(i64, &str, &str, &str, &str)> = services
        .iter()
        .map(|s| {
            (
                s.id,
                s.binary.as_str(),
                s.host.as_str(),
                s.zone.as_str(),
                s.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "nova-scheduler", "controller", "internal", "enabled"),
            (2, "nova-conductor", "controller", "internal", "enabled"),
            (3, "nova-compute", "cmp1", "nova", "enabled"),
            (4, "nova-compute", "cmp2", "nova", "enabled"),
        ]
    );
    assert!(matches!(
        c.list_services(&alice(), None, None).await,
        Err(Error::Forbidden(_))
    ));
    let upd = ServiceUpdate {
        disabled: Some(true),
        disabled_reason: Some("maintenance".into()),
        forced_down: None,
    };
    let s = c
        .update_service(&adm, "cmp2", "nova-compute", upd)
        .await
        .unwrap();
    assert_eq!(
        (
            s.status.as_str(),
            s.disabled_reason.as_deref(),
            s.state.as_str()
        ),
        ("disabled", Some("maintenance"), "up")
    );
    let hyps = c.list_hypervisors(&adm).await.unwrap();
    assert_eq!(
        hyps.iter()
            .map(|h| (h.running_vms, h.vcpus_used, h.memory_mb_used))
            .collect::<Vec<_>>(),
        vec![(1, 1, 1024), (1, 1, 1024)]
    );
    assert_eq!(hyps[1].status, "disabled");
    assert_eq!(
        c.get_hypervisor(&adm, &hyps[0].uuid)
            .await
            .unwrap()
            .hypervisor_hostname,
        "cmp1"
    );
    let zones = c.list_availability_zones(&alice(), false).await.unwrap();
    assert_eq!(
        (zones.len(), zones[0].name.as_str(), zones[0].available),
        (1, "nova", true)
    );
    let detail = c.list_availability_zones(&adm, true).await.unwrap();
    assert_eq!(
        detail.iter().map(|z| z.name.as_str()).collect::<Vec<_>>(),
        vec!["internal", "nova"]
    );
    assert_eq!(detail[1].hosts.as_ref().unwrap().len(), 2);
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let end = chrono::Utc::now() + chrono::Duration::hours(1);
    let usage = c
        .usage_report(&alice(), start, end, None, false)
        .await
        .unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].server_usages.len(), 2);
    assert!(usage[0].total_hours >= 0.0 && usage[0].total_hours < 0.1);
    assert!(matches!(
        c.usage_report(&alice(), start, end, None, true).await,
        Err(Error::Forbidden(_))
    ));
    assert!(c
        .usage_report(&bob(), start, end, None, false)
        .await
        .unwrap()
        .is_empty());
}

async fn images_catalogue_and_visibility(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let mut ni = compute::NewImage::new("private-img");
    ni.disk_format = Some("raw".into());
    let img = c.create_image(&alice(), ni).await.unwrap();
    assert_eq!(
        (img.visibility.as_str(), img.owner.as_deref(), img.ec2_id()),
        ("private", Some("project-a"), "ami-00000002".to_string())
    );
    assert!(matches!(
        c.get_image(&bob(), &img.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        c.list_images(&bob(), &ImageFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        c.list_images(&alice(), &ImageFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let byname = c
        .list_images(
            &alice(),
            &ImageFilter {
                name: Some("private-img".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(byname[0].uuid, img.uuid);
    let mut public = compute::NewImage::new("pub");
    public.visibility = Some("public".into());
    assert!(matches!(
        c.create_image(&alice(), public).await,
        Err(Error::Forbidden(_))
    ));
    let upd = c
        .update_image_properties(
            &alice(),
            &img.uuid,
            [("os_distro".to_string(), Some(serde_json::json!("debian")))].into(),
        )
        .await
        .unwrap();
    assert_eq!(upd.properties["os_distro"], "debian");
    assert!(matches!(
        c.delete_image(&bob(), &img.uuid).await,
        Err(Error::NotFound { .. })
    ));
    c.delete_image(&alice(), &img.uuid).await.unwrap();
    assert!(matches!(
        c.get_image(&alice(), &img.uuid).await,
        Err(Error::NotFound { .. })
    ));
}

async fn lists_see_changes_made_through_another_pool(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let a = &f.compute;
    let b = f.reconnect(1).await;
    let vm = create_one(a, &ctx, "shared").await;
    // Fill pool A's row cache, then change the row through pool B.
    assert_eq!(
        a.list_instances(&ctx, &InstanceFilter::default())
            .await
            .unwrap()[0]
            .vm_state,
        VmState::Active
    );
    b.stop_instance(&ctx, &vm.uuid).await.unwrap();
    let meta: BTreeMap<String, String> = [("k".to_string(), "v".to_string())].into();
    b.update_instance_metadata(&ctx, &vm.uuid, meta.clone(), false)
        .await
        .unwrap();
    b.set_instance_password(&ctx, &vm.uuid, "pw").await.unwrap();
    let seen = a
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!((seen.vm_state, seen.metadata), (VmState::Stopped, meta));
    assert_eq!(
        a.get_instance_password(&ctx, &vm.uuid)
            .await
            .unwrap()
            .as_deref(),
        Some("pw")
    );
    b.delete_instance(&ctx, &vm.uuid).await.unwrap();
    assert!(a
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()
        .is_empty());
}

/// A delete that completes as the listing advances its row changes the
/// row's place in the sort order (here its task state); the rows that
/// refill the page come after the page as it was read, not after the
/// advanced row's new place, or rows already on the page come again.
async fn a_page_a_completed_delete_left_short_is_refilled_in_its_own_order(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(create_one(c, &ctx, name).await.uuid);
    }
    // Delete "b" through a compute whose steps take 100 ms, on the same
    // store: its delete is due, not done, when the listing reads it.
    let slow = Compute::new(
        c.store().clone(),
        ComputeConfig {
            transition_delay: Duration::from_millis(100),
            ..ComputeConfig::instant()
        },
    );
    slow.delete_instance(&ctx, &ids[1]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // By task state: "a" and "c" (none), then "b" (deleting), which the
    // listing advances to deleted and leaves out.
    let by_task_state = InstanceFilter {
        sort: vec![(SortKey::TaskState, SortDir::Asc)],
        limit: Some(3),
        ..Default::default()
    };
    let names: Vec<String> = c
        .list_instances(&ctx, &by_task_state)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["a", "c"]);
}

/// nova answers `limit=0` with an empty list; filters checked after the
/// rows are read (a name, a status) must not let one through.
async fn a_limit_of_zero_lists_nothing_whatever_the_filters(engine: Engine) {
    let f = Fixture::new(engine).await;
    let c = &f.compute;
    let ctx = alice();
    create_one(c, &ctx, "vm").await;
    let filters = [
        InstanceFilter::default(),
        InstanceFilter {
            name: Some("vm".into()),
            ..Default::default()
        },
        InstanceFilter {
            statuses: Some(vec!["ACTIVE".into()]),
            ..Default::default()
        },
        InstanceFilter {
            not_tags_any: vec!["web".into()],
            ..Default::default()
        },
    ];
    for filter in filters {
        let zero = InstanceFilter {
            limit: Some(0),
            ..filter
        };
        assert_eq!(c.list_instances(&ctx, &zero).await.unwrap(), [], "{zero:?}");
    }
}

/// EC2 tags of images and security groups: per project, a key set again
/// takes the new value, a delete with a value removes only a match, at
/// most 50 a resource, and a gone resource's tags go for every project.
async fn ec2_tags_are_per_project_replaced_by_key_and_forgotten_with_their_resource(
    engine: Engine,
) {
    let f = Fixture::builder(engine).build().await;
    let c = &f.compute;
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    c.set_ec2_tags(
        &alice(),
        "image",
        "ami-00000001",
        &tags(&[("env", "prod"), ("team", "a")]),
    )
    .await
    .unwrap();
    c.set_ec2_tags(&alice(), "image", "ami-00000001", &tags(&[("env", "test")]))
        .await
        .unwrap();
    c.set_ec2_tags(&bob(), "image", "ami-00000001", &tags(&[("env", "bob")]))
        .await
        .unwrap();
    c.set_ec2_tags(
        &alice(),
        "security-group",
        "sg-0000abcd",
        &tags(&[("tier", "web")]),
    )
    .await
    .unwrap();

    let mine = c.list_ec2_tags(&alice(), None).await.unwrap();
    let rows: Vec<(&str, &str, &str, &str)> = mine
        .iter()
        .map(|t| {
            (
                t.resource_id.as_str(),
                t.resource_type.as_str(),
                t.key.as_str(),
                t.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ami-00000001", "image", "env", "test"),
            ("ami-00000001", "image", "team", "a"),
            ("sg-0000abcd", "security-group", "tier", "web"),
        ]
    );
    let images = c.ec2_tags_by_resource(&bob(), "image").await.unwrap();
    assert_eq!(images["ami-00000001"], tags(&[("env", "bob")]));

    c.delete_ec2_tags(
        &alice(),
        "ami-00000001",
        &[("env".into(), Some("prod".into()))],
    )
    .await
    .unwrap();
    c.delete_ec2_tags(&alice(), "ami-00000001", &[("team".into(), None)])
        .await
        .unwrap();
    let left = c.ec2_tags_by_resource(&alice(), "image").await.unwrap();
    assert_eq!(left["ami-00000001"], tags(&[("env", "test")]));

    let many: BTreeMap<String, String> = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
    let over = c
        .set_ec2_tags(&alice(), "security-group", "sg-0000abcd", &many)
        .await;
    assert!(
        matches!(&over, Err(Error::QuotaExceeded { resource, .. }) if resource == "tags"),
        "{over:?}"
    );
    let groups = c
        .ec2_tags_by_resource(&alice(), "security-group")
        .await
        .unwrap();
    assert_eq!(groups["sg-0000abcd"], tags(&[("tier", "web")]));

    c.forget_ec2_tags("ami-00000001").await.unwrap();
    assert!(c
        .ec2_tags_by_resource(&alice(), "image")
        .await
        .unwrap()
        .is_empty());
    assert!(c
        .ec2_tags_by_resource(&bob(), "image")
        .await
        .unwrap()
        .is_empty());
}
