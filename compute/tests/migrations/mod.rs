//! Moves between hosts on both engines: the migration records of cold
//! migrations and resizes, live migration's state machine (running ->
//! completed, force complete, abort), evacuation only from a host whose
//! compute service is down, and the os-migrations filters and pages.

use std::time::Duration;

use compute::{
    Engine, Error, Evacuate, LiveMigrate, MigrationFilter, MigrationPage, ServiceUpdate, TaskState,
    VmState,
};

use crate::create_one;
use crate::support::{admin, alice, Fixture};

on_both_engines!(
    cold_migrations_and_resizes_leave_records_that_follow_confirm_and_revert,
    a_live_migration_runs_for_the_delay_then_completes_on_the_destination,
    force_complete_ends_a_live_migration_now_and_abort_cancels_one,
    a_live_migration_ends_in_error_when_its_server_is_reset_or_deleted,
    evacuate_is_refused_while_the_host_is_up_and_rebuilds_elsewhere_once_it_is_down,
    os_migrations_filters_and_pages_newest_first,
);

async fn two_hosts(engine: Engine, delay: Duration) -> Fixture {
    Fixture::builder(engine)
        .delay(delay)
        .config(|c| {
            c.hosts = vec![compute::SimHost::new("c1"), compute::SimHost::new("c2")];
        })
        .build()
        .await
}

fn other(host: &str) -> &'static str {
    if host == "c1" {
        "c2"
    } else {
        "c1"
    }
}

async fn records_of(f: &Fixture, uuid: &str) -> Vec<compute::Migration> {
    let filter = MigrationFilter {
        instance_uuid: Some(uuid.into()),
        ..Default::default()
    };
    f.compute.list_migrations(&filter, None).await.unwrap()
}

fn statuses(records: &[compute::Migration]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|m| (m.migration_type.clone(), m.status.clone()))
        .collect()
}

async fn cold_migrations_and_resizes_leave_records_that_follow_confirm_and_revert(engine: Engine) {
    let f = two_hosts(engine, Duration::ZERO).await;
    let c = &f.compute;
    let ctx = alice();
    let vm = create_one(c, &ctx, "vm").await;
    let source = vm.host.clone().unwrap();
    let dest = other(&source);

    let moved = c.migrate_instance(&admin(), &vm.uuid, None).await.unwrap();
    assert_eq!(moved.host.as_deref(), Some(dest));
    let records = records_of(&f, &vm.uuid).await;
    assert_eq!(
        statuses(&records),
        [("migration".into(), "finished".into())]
    );
    let m = &records[0];
    assert_eq!(m.source_compute.as_deref(), Some(source.as_str()));
    assert_eq!(m.dest_compute.as_deref(), Some(dest));
    assert_eq!(m.old_instance_type_id, m.new_instance_type_id);
    assert!(m.old_instance_type_id.is_some());
    assert_eq!(
        (m.user_id.as_deref(), m.project_id.as_deref()),
        (Some("admin"), Some("admin"))
    );

    // The revert goes back to the record's source host.
    let back = c.revert_resize(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(back.host.as_deref(), Some(source.as_str()));
    assert_eq!(
        statuses(&records_of(&f, &vm.uuid).await),
        [("migration".into(), "reverted".into())]
    );

    c.resize_instance(&ctx, &vm.uuid, "2").await.unwrap();
    c.confirm_resize(&ctx, &vm.uuid).await.unwrap();
    let records = records_of(&f, &vm.uuid).await;
    assert_eq!(
        statuses(&records),
        [
            ("migration".into(), "reverted".into()),
            ("resize".into(), "confirmed".into())
        ]
    );
    assert_ne!(
        records[1].old_instance_type_id,
        records[1].new_instance_type_id
    );
    assert_eq!(records[1].dest_compute.as_deref(), Some(source.as_str()));
}

async fn a_live_migration_runs_for_the_delay_then_completes_on_the_destination(engine: Engine) {
    let f = two_hosts(engine, Duration::ZERO).await;
    let vm = create_one(&f.compute, &alice(), "vm").await;
    let source = vm.host.clone().unwrap();
    let slow = f
        .reconnect_with(|c| c.transition_delay = Duration::from_millis(300))
        .await;
    let migrating = slow
        .live_migrate_instance(&admin(), &vm.uuid, LiveMigrate::default())
        .await
        .unwrap();
    assert_eq!(
        (migrating.vm_state, migrating.task_state),
        (VmState::Active, Some(TaskState::Migrating))
    );
    assert_eq!(migrating.status(), "MIGRATING");
    assert_eq!(migrating.host.as_deref(), Some(source.as_str()));
    let running = slow
        .list_server_migrations(&admin(), &vm.uuid)
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].status, "running");
    assert_eq!(running[0].dest_compute.as_deref(), Some(other(&source)));
    assert_eq!(running[0].memory_total, Some(512 * 1024 * 1024));
    assert_eq!(running[0].memory_processed, Some(0));

    // A second live migration is refused while this one runs.
    let err = slow
        .live_migrate_instance(&admin(), &vm.uuid, LiveMigrate::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err:?}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let done = slow.get_instance(&admin(), &vm.uuid).await.unwrap();
    assert_eq!((done.vm_state, done.task_state), (VmState::Active, None));
    assert_eq!(done.host.as_deref(), Some(other(&source)));
    let records = records_of(&f, &vm.uuid).await;
    assert_eq!(
        statuses(&records),
        [("live-migration".into(), "completed".into())]
    );
    assert_eq!(records[0].memory_remaining, Some(0));
    assert_eq!(records[0].memory_processed, records[0].memory_total);
    assert!(slow
        .list_server_migrations(&admin(), &vm.uuid)
        .await
        .unwrap()
        .is_empty());

    // To its own host: nova's UnableToMigrateToSelf; an unknown host: 400.
    let own = done.host.clone().unwrap();
    let to_self = LiveMigrate {
        host: Some(own.clone()),
        ..Default::default()
    };
    let err = f
        .compute
        .live_migrate_instance(&admin(), &vm.uuid, to_self)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Unable to migrate instance ({}) to current host ({own}).",
            vm.uuid
        )
    );
    let nowhere = LiveMigrate {
        host: Some("c9".into()),
        ..Default::default()
    };
    let err = f
        .compute
        .live_migrate_instance(&admin(), &vm.uuid, nowhere)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Compute host c9 could not be found.");
    // From 2.34 the conductor's check fails after the answer: the record
    // is `error` and the instance stays as it was.
    let async_self = LiveMigrate {
        host: Some(own.clone()),
        asynchronous: true,
        ..Default::default()
    };
    let same = f
        .compute
        .live_migrate_instance(&admin(), &vm.uuid, async_self)
        .await
        .unwrap();
    assert_eq!(
        (same.task_state, same.host.as_deref()),
        (None, Some(own.as_str()))
    );
    assert_eq!(
        statuses(&records_of(&f, &vm.uuid).await)[1],
        ("live-migration".into(), "error".into())
    );
}

async fn force_complete_ends_a_live_migration_now_and_abort_cancels_one(engine: Engine) {
    let f = two_hosts(engine, Duration::from_secs(3600)).await;
    let quick = f
        .reconnect_with(|c| c.transition_delay = Duration::ZERO)
        .await;
    let vm = create_one(&quick, &alice(), "vm").await;
    let source = vm.host.clone().unwrap();
    let c = &f.compute;

    c.live_migrate_instance(&admin(), &vm.uuid, LiveMigrate::default())
        .await
        .unwrap();
    let first = c.list_server_migrations(&admin(), &vm.uuid).await.unwrap()[0].clone();
    let err = c
        .live_migrate_force_complete(&admin(), &vm.uuid, first.id + 100)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MigrationNotFound { .. }), "{err:?}");
    c.live_migrate_force_complete(&admin(), &vm.uuid, first.id)
        .await
        .unwrap();
    let moved = c.get_instance(&admin(), &vm.uuid).await.unwrap();
    assert_eq!(
        (moved.task_state, moved.host.as_deref()),
        (None, Some(other(&source)))
    );
    // Completed: neither can be done to it any more.
    let err = c
        .live_migrate_force_complete(&admin(), &vm.uuid, first.id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }), "{err:?}");

    c.live_migrate_instance(&admin(), &vm.uuid, LiveMigrate::default())
        .await
        .unwrap();
    let second = c.list_server_migrations(&admin(), &vm.uuid).await.unwrap()[0].clone();
    let err = c
        .live_migrate_abort(&admin(), &vm.uuid, first.id, true)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Migration {} state of instance {} is completed. Cannot abort live migration while the migration is in this state.",
            first.id, vm.uuid
        )
    );
    c.live_migrate_abort(&admin(), &vm.uuid, second.id, false)
        .await
        .unwrap();
    let stayed = c.get_instance(&admin(), &vm.uuid).await.unwrap();
    assert_eq!(
        (stayed.vm_state, stayed.task_state, stayed.host.as_deref()),
        (VmState::Active, None, Some(other(&source)))
    );
    assert_eq!(
        statuses(&records_of(&f, &vm.uuid).await),
        [
            ("live-migration".into(), "completed".into()),
            ("live-migration".into(), "cancelled".into())
        ]
    );
    let actions: Vec<String> = c
        .list_instance_actions(&admin(), &vm.uuid)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        [
            "live_migration_cancel",
            "live-migration",
            "live_migration_force_complete",
            "live-migration",
            "create"
        ]
    );
}

async fn a_live_migration_ends_in_error_when_its_server_is_reset_or_deleted(engine: Engine) {
    let f = two_hosts(engine, Duration::from_secs(3600)).await;
    let quick = f
        .reconnect_with(|c| c.transition_delay = Duration::ZERO)
        .await;
    let c = &f.compute;
    let reset = create_one(&quick, &alice(), "reset").await;
    let deleted = create_one(&quick, &alice(), "deleted").await;
    for vm in [&reset, &deleted] {
        c.live_migrate_instance(&admin(), &vm.uuid, LiveMigrate::default())
            .await
            .unwrap();
        assert_eq!(
            statuses(&records_of(&f, &vm.uuid).await),
            vec![("live-migration".to_string(), "running".to_string())]
        );
    }

    // The state reset drops the step the move waited on: it never ends.
    c.reset_instance_state(&admin(), &reset.uuid, compute::ResetState::Active)
        .await
        .unwrap();
    assert_eq!(
        statuses(&records_of(&f, &reset.uuid).await),
        vec![("live-migration".to_string(), "error".to_string())]
    );
    c.delete_instance(&alice(), &deleted.uuid).await.unwrap();
    assert_eq!(
        statuses(&records_of(&f, &deleted.uuid).await),
        vec![("live-migration".to_string(), "error".to_string())]
    );
}

async fn evacuate_is_refused_while_the_host_is_up_and_rebuilds_elsewhere_once_it_is_down(
    engine: Engine,
) {
    let f = two_hosts(engine, Duration::ZERO).await;
    let c = &f.compute;
    let vm = create_one(c, &alice(), "vm").await;
    let source = vm.host.clone().unwrap();
    let err = c
        .evacuate_instance(&admin(), &vm.uuid, Evacuate::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Compute service of {source} is still in use.")
    );
    assert!(records_of(&f, &vm.uuid).await.is_empty());

    let down = ServiceUpdate {
        forced_down: Some(true),
        ..Default::default()
    };
    c.update_service(&admin(), &source, "nova-compute", down)
        .await
        .unwrap();
    let err = c
        .evacuate_instance(
            &admin(),
            &vm.uuid,
            Evacuate {
                host: Some(source.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "The target host can't be the same one.");
    let (evacuated, password) = c
        .evacuate_instance(
            &admin(),
            &vm.uuid,
            Evacuate {
                admin_password: Some("s3cret".into()),
                stopped: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(password, "s3cret");
    assert_eq!(evacuated.host.as_deref(), Some(other(&source)));
    // 2.95: the evacuated instance ends SHUTOFF.
    assert_eq!(
        (evacuated.vm_state, evacuated.task_state),
        (VmState::Stopped, None)
    );
    let records = records_of(&f, &vm.uuid).await;
    assert_eq!(statuses(&records), [("evacuation".into(), "done".into())]);
    assert_eq!(records[0].source_compute.as_deref(), Some(source.as_str()));
}

async fn os_migrations_filters_and_pages_newest_first(engine: Engine) {
    let f = two_hosts(engine, Duration::ZERO).await;
    let c = &f.compute;
    let a = create_one(c, &alice(), "a").await;
    let b = create_one(c, &alice(), "b").await;
    c.migrate_instance(&admin(), &a.uuid, None).await.unwrap();
    c.confirm_resize(&alice(), &a.uuid).await.unwrap();
    c.live_migrate_instance(&admin(), &b.uuid, LiveMigrate::default())
        .await
        .unwrap();
    c.resize_instance(&alice(), &b.uuid, "2").await.unwrap();

    let all = c
        .list_migrations(&MigrationFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let by = |filter: MigrationFilter| async move {
        statuses(&c.list_migrations(&filter, None).await.unwrap())
    };
    assert_eq!(
        by(MigrationFilter {
            migration_type: Some("live-migration".into()),
            ..Default::default()
        })
        .await,
        [("live-migration".into(), "completed".into())]
    );
    assert_eq!(
        by(MigrationFilter {
            status: Some("finished".into()),
            ..Default::default()
        })
        .await,
        [("resize".into(), "finished".into())]
    );
    let b_host = c
        .get_instance(&admin(), &b.uuid)
        .await
        .unwrap()
        .host
        .unwrap();
    let on_host = by(MigrationFilter {
        host: Some(b_host.clone()),
        ..Default::default()
    })
    .await;
    let from_host = by(MigrationFilter {
        source_compute: Some(b_host),
        ..Default::default()
    })
    .await;
    assert!(on_host.len() >= from_host.len());
    assert!(by(MigrationFilter {
        user_id: Some("nobody".into()),
        ..Default::default()
    })
    .await
    .is_empty());

    // Pages: newest first, after the marker.
    let page = MigrationPage {
        limit: Some(2),
        marker: None,
    };
    let first = c
        .list_migrations(&MigrationFilter::default(), Some(&page))
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|m| m.id).collect::<Vec<_>>(),
        [all[2].id, all[1].id]
    );
    let next = MigrationPage {
        limit: Some(2),
        marker: Some(first[1].uuid.clone()),
    };
    let rest = c
        .list_migrations(&MigrationFilter::default(), Some(&next))
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), [all[0].id]);
    let unknown = MigrationPage {
        limit: None,
        marker: Some("no-such".into()),
    };
    let err = c
        .list_migrations(&MigrationFilter::default(), Some(&unknown))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Marker no-such could not be found.");
}
