//! The server actions of the simulated driver added for nova's admin,
//! soft delete, backup, shelve and rescue APIs, on both engines: each
//! one's state rules, the steps it moves through, and what it leaves
//! (action records, images, quota).

use std::collections::BTreeMap;
use std::time::Duration;

use compute::{
    Backup, Engine, Error, ImageFilter, InstanceFilter, PowerState, RequestContext, Rescue,
    ResetState, TaskState, Unshelve, VmState,
};

use crate::support::{admin, alice, Fixture};
use crate::{create_one, quota};

on_both_engines!(
    reset_state_sets_active_or_error_and_records_the_action,
    trigger_crash_dump_follows_nova_s_states,
    a_delete_with_a_reclaim_interval_soft_deletes_and_restore_brings_it_back,
    the_reclaim_runs_when_the_instance_is_next_read,
    a_restore_takes_its_quota_back_or_is_refused,
    force_delete_ends_a_soft_deleted_instance_at_once,
    backups_rotate_keeping_the_newest_of_their_type,
    shelve_offloads_as_configured_and_unshelve_drops_the_snapshot,
    unshelve_to_a_zone_or_host_only_when_offloaded,
    rescue_and_unrescue_move_through_their_states,
    injected_failures_of_the_new_steps_end_in_error,
    a_cold_migration_moves_host_and_a_revert_moves_it_back,
);

async fn fixture(
    engine: Engine,
    dir: &std::path::Path,
    f: impl FnOnce(&mut compute::ComputeConfig),
) -> Fixture {
    let data = dir.join("images");
    Fixture::builder(engine)
        .config(move |c| {
            c.images.data_dir = data;
            f(c);
        })
        .build()
        .await
}

fn state(i: &compute::Instance) -> (VmState, Option<TaskState>, PowerState) {
    (i.vm_state, i.task_state, i.power_state)
}

async fn action_names(f: &Fixture, ctx: &RequestContext, uuid: &str) -> Vec<String> {
    f.compute
        .list_instance_actions(ctx, uuid)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect()
}

async fn reset_state_sets_active_or_error_and_records_the_action(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let vm2 = f
        .compute
        .reset_instance_state(&admin(), &vm.uuid, ResetState::Error)
        .await
        .unwrap();
    assert_eq!((vm2.vm_state, vm2.task_state), (VmState::Error, None));
    assert_eq!(vm2.status(), "ERROR");
    // Power state untouched; the error state filter finds it.
    assert_eq!(vm2.power_state, PowerState::Running);
    let errored = f
        .compute
        .list_instances(
            &ctx,
            &InstanceFilter {
                statuses: Some(vec!["ERROR".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(errored.len(), 1);
    let vm3 = f
        .compute
        .reset_instance_state(&admin(), &vm.uuid, ResetState::Active)
        .await
        .unwrap();
    assert_eq!(vm3.status(), "ACTIVE");
    assert_eq!(
        action_names(&f, &ctx, &vm.uuid).await,
        ["resetState", "resetState", "create"]
    );
    // A slow stop is cut short: the due step is dropped with the task.
    let slow = f
        .reconnect_with(|c| c.transition_delay = Duration::from_secs(30))
        .await;
    let stopping = slow.stop_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(stopping.task_state, Some(TaskState::PoweringOff));
    let reset = slow
        .reset_instance_state(&admin(), &vm.uuid, ResetState::Active)
        .await
        .unwrap();
    assert_eq!(state(&reset), (VmState::Active, None, PowerState::Running));
}

async fn trigger_crash_dump_follows_nova_s_states(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let after = f.compute.trigger_crash_dump(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(state(&after), (VmState::Active, None, PowerState::Running));
    let action = &f
        .compute
        .list_instance_actions(&ctx, &vm.uuid)
        .await
        .unwrap()[0];
    assert_eq!(action.action, "trigger_crash_dump");
    let shown = f
        .compute
        .get_instance_action(&ctx, &vm.uuid, &action.request_id)
        .await
        .unwrap();
    assert_eq!(shown.events[0].event, "compute_trigger_crash_dump");
    assert_eq!(shown.events[0].result.as_deref(), Some("Success"));
    f.compute.stop_instance(&ctx, &vm.uuid).await.unwrap();
    let err = f
        .compute
        .trigger_crash_dump(&ctx, &vm.uuid)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'trigger_crash_dump' instance {} while it is in vm_state stopped",
            vm.uuid
        )
    );
}

async fn a_delete_with_a_reclaim_interval_soft_deletes_and_restore_brings_it_back(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.reclaim_instance_interval = Duration::from_secs(3600)
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    c.delete_instance(&ctx, &vm.uuid).await.unwrap();
    let soft = c.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        state(&soft),
        (VmState::SoftDeleted, None, PowerState::Shutdown)
    );
    assert_eq!(soft.status(), "SOFT_DELETED");
    assert!(soft.deleted_at.is_some() && !soft.deleted);
    // Not listed as live, listed with the deleted ones, holds no quota.
    assert!(c
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()
        .is_empty());
    let deleted = c
        .list_instances(
            &admin(),
            &InstanceFilter {
                deleted: Some(true),
                all_projects: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    let usage = c.quota_usage(&ctx, &ctx.project_id, None).await.unwrap();
    assert_eq!((usage.instances, usage.cores), (0, 0));
    // Restore only from soft-deleted.
    let back = c.restore_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(state(&back), (VmState::Active, None, PowerState::Running));
    assert!(back.deleted_at.is_none());
    let err = c.restore_instance(&ctx, &vm.uuid).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'restore' instance {} while it is in vm_state active",
            vm.uuid
        )
    );
    let usage = c.quota_usage(&ctx, &ctx.project_id, None).await.unwrap();
    assert_eq!(usage.instances, 1);
    assert_eq!(
        action_names(&f, &ctx, &vm.uuid).await,
        ["restore", "delete", "create"]
    );
    // An instance that never launched is deleted at once.
    let slow = f
        .reconnect_with(|c| {
            c.transition_delay = Duration::from_secs(30);
            c.reclaim_instance_interval = Duration::from_secs(3600);
        })
        .await;
    let building = create_one(&slow, &ctx, "building").await;
    slow.delete_instance(&ctx, &building.uuid).await.unwrap();
    let row = slow.get_instance(&ctx, &building.uuid).await.unwrap();
    assert_eq!(row.task_state, Some(TaskState::Deleting));
}

async fn the_reclaim_runs_when_the_instance_is_next_read(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.reclaim_instance_interval = Duration::from_millis(300)
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    let ports = crate::count_rows(&f, "ports").await;
    c.delete_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        c.get_instance(&ctx, &vm.uuid).await.unwrap().vm_state,
        VmState::SoftDeleted
    );
    // A soft-deleted instance keeps its port.
    assert_eq!(crate::count_rows(&f, "ports").await, ports);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // A listing of the deleted ones reads it, and the reclaim is done.
    let listed = c
        .list_instances(
            &admin(),
            &InstanceFilter {
                deleted: Some(true),
                all_projects: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].deleted);
    assert_eq!(listed[0].vm_state, VmState::Deleted);
    assert!(matches!(
        c.get_instance(&ctx, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    // Its port went with it.
    assert_eq!(crate::count_rows(&f, "ports").await, ports - 1);
}

async fn a_restore_takes_its_quota_back_or_is_refused(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.reclaim_instance_interval = Duration::from_secs(3600)
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    c.update_quotas(
        &admin(),
        &ctx.project_id,
        &quota(&[("instances", 1)]),
        false,
    )
    .await
    .unwrap();
    let first = create_one(c, &ctx, "first").await;
    c.delete_instance(&ctx, &first.uuid).await.unwrap();
    // Its place is free for another.
    create_one(c, &ctx, "second").await;
    let err = c.restore_instance(&ctx, &first.uuid).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
    );
    assert_eq!(
        c.get_instance(&ctx, &first.uuid).await.unwrap().vm_state,
        VmState::SoftDeleted
    );
}

async fn force_delete_ends_a_soft_deleted_instance_at_once(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.reclaim_instance_interval = Duration::from_secs(3600)
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    c.delete_instance(&ctx, &vm.uuid).await.unwrap();
    c.force_delete_instance(&ctx, &vm.uuid).await.unwrap();
    assert!(matches!(
        c.get_instance(&ctx, &vm.uuid).await,
        Err(Error::NotFound { .. })
    ));
    // And an active one too.
    let other = create_one(c, &ctx, "other").await;
    c.force_delete_instance(&ctx, &other.uuid).await.unwrap();
    let gone = c
        .get_instance_including_deleted(&ctx, &other.uuid)
        .await
        .unwrap();
    assert!(gone.deleted);
}

async fn backups_rotate_keeping_the_newest_of_their_type(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    let backup = |name: &str, kind: &str, rotation: u64| Backup {
        name: name.into(),
        backup_type: kind.into(),
        rotation,
        properties: BTreeMap::new(),
    };
    let mut daily = Vec::new();
    for n in 0..3 {
        let image = c
            .backup_instance(&ctx, &vm.uuid, backup(&format!("d{n}"), "daily", 2))
            .await
            .unwrap();
        assert_eq!(image.properties["image_type"], "backup");
        assert_eq!(image.properties["backup_type"], "daily");
        assert_eq!(image.properties["instance_uuid"], vm.uuid.as_str());
        daily.push(image.uuid);
    }
    let weekly = c
        .backup_instance(&ctx, &vm.uuid, backup("w", "weekly", 1))
        .await
        .unwrap();
    let listed: Vec<String> = c
        .list_images(&ctx, &ImageFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.uuid)
        .collect();
    // The oldest daily one went; the weekly one is another rotation.
    assert!(!listed.contains(&daily[0]));
    assert!(listed.contains(&daily[1]) && listed.contains(&daily[2]));
    assert!(listed.contains(&weekly.uuid));
    let vm = c.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(state(&vm), (VmState::Active, None, PowerState::Running));
    // Not while paused with a task, nor in error.
    c.reset_instance_state(&admin(), &vm.uuid, ResetState::Error)
        .await
        .unwrap();
    let err = c
        .backup_instance(&ctx, &vm.uuid, backup("x", "daily", 1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'createBackup' instance {} while it is in vm_state error",
            vm.uuid
        )
    );
}

async fn shelve_offloads_as_configured_and_unshelve_drops_the_snapshot(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    let shelved = c.shelve_instance(&ctx, &vm.uuid).await.unwrap();
    // shelved_offload_time 0: offloaded at once, off its host.
    assert_eq!(
        state(&shelved),
        (VmState::ShelvedOffloaded, None, PowerState::Shutdown)
    );
    assert_eq!(shelved.status(), "SHELVED_OFFLOADED");
    assert_eq!(shelved.host, None);
    let images = c.list_images(&ctx, &ImageFilter::default()).await.unwrap();
    let snapshot = images
        .iter()
        .find(|i| i.name.as_deref() == Some("vm-shelved"))
        .expect("the shelve snapshot");
    assert_eq!(snapshot.properties["image_type"], "snapshot");
    let back = c
        .unshelve_instance(&ctx, &vm.uuid, Unshelve::default())
        .await
        .unwrap();
    assert_eq!(state(&back), (VmState::Active, None, PowerState::Running));
    assert!(back.host.is_some());
    assert!(matches!(
        c.get_image(&ctx, &snapshot.uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        action_names(&f, &ctx, &vm.uuid).await,
        ["unshelve", "shelve", "create"]
    );

    // -1: shelved until an offload is asked for.
    let kept = f.reconnect_with(|c| c.shelved_offload_time = None).await;
    let shelved = kept.shelve_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        state(&shelved),
        (VmState::Shelved, None, PowerState::Shutdown)
    );
    assert!(shelved.host.is_some());
    let offloaded = kept.shelve_offload_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(offloaded.vm_state, VmState::ShelvedOffloaded);
    let err = kept
        .shelve_offload_instance(&ctx, &vm.uuid)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'shelveOffload' instance {} while it is in vm_state shelved_offloaded",
            vm.uuid
        )
    );
    kept.unshelve_instance(&ctx, &vm.uuid, Unshelve::default())
        .await
        .unwrap();

    // N seconds: offloaded once they have passed, when next read.
    let later = f
        .reconnect_with(|c| c.shelved_offload_time = Some(Duration::from_millis(300)))
        .await;
    let shelved = later.shelve_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(shelved.vm_state, VmState::Shelved);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let read = later.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(read.vm_state, VmState::ShelvedOffloaded);
    // A delete takes the snapshot with it.
    later.delete_instance(&ctx, &vm.uuid).await.unwrap();
    let left: Vec<_> = later
        .list_images(&ctx, &ImageFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.name.as_deref() == Some("vm-shelved"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

async fn unshelve_to_a_zone_or_host_only_when_offloaded(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.shelved_offload_time = None;
        c.hosts = vec![compute::SimHost::new("c1"), compute::SimHost::new("c2")];
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    c.shelve_instance(&ctx, &vm.uuid).await.unwrap();
    let to_zone = Unshelve {
        availability_zone: Some(Some("nova".into())),
        host: None,
    };
    let err = c
        .unshelve_instance(&ctx, &vm.uuid, to_zone.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Specifying an availability zone or a host when unshelving server \"{}\" with status \
             \"shelved\" is not supported. The server status must be SHELVED_OFFLOADED.",
            vm.uuid
        )
    );
    c.shelve_offload_instance(&ctx, &vm.uuid).await.unwrap();
    let elsewhere = Unshelve {
        availability_zone: Some(Some("elsewhere".into())),
        host: None,
    };
    let err = c
        .unshelve_instance(&ctx, &vm.uuid, elsewhere)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "The requested availability zone is not available"
    );
    let to_host = Unshelve {
        availability_zone: None,
        host: Some("c2".into()),
    };
    let err = c
        .unshelve_instance(&ctx, &vm.uuid, to_host.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)));
    let nowhere = Unshelve {
        availability_zone: None,
        host: Some("c9".into()),
    };
    let err = c
        .unshelve_instance(&admin(), &vm.uuid, nowhere)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Compute host c9 could not be found.");

    // No host fits (c2 disabled): accepted, and the server stays offloaded
    // with no task, as nova's conductor leaves it.
    let disable = |disabled| compute::ServiceUpdate {
        disabled: Some(disabled),
        ..Default::default()
    };
    c.update_service(&admin(), "c2", "nova-compute", disable(true))
        .await
        .unwrap();
    let stays = c
        .unshelve_instance(&admin(), &vm.uuid, to_host.clone())
        .await
        .unwrap();
    assert_eq!(
        (stays.vm_state, stays.task_state, stays.host.clone()),
        (VmState::ShelvedOffloaded, None, None)
    );
    c.update_service(&admin(), "c2", "nova-compute", disable(false))
        .await
        .unwrap();
    let back = c
        .unshelve_instance(&admin(), &vm.uuid, to_host)
        .await
        .unwrap();
    assert_eq!(back.host.as_deref(), Some("c2"));
    assert_eq!(back.vm_state, VmState::Active);
}

async fn rescue_and_unrescue_move_through_their_states(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    let (rescued, password) = c
        .rescue_instance(&ctx, &vm.uuid, Rescue::default())
        .await
        .unwrap();
    assert_eq!(
        state(&rescued),
        (VmState::Rescued, None, PowerState::Running)
    );
    assert_eq!(rescued.status(), "RESCUE");
    assert_eq!(password.len(), 12);
    let err = c
        .rescue_instance(&ctx, &vm.uuid, Rescue::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'rescue' instance {} while it is in vm_state rescued",
            vm.uuid
        )
    );
    let back = c.unrescue_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(state(&back), (VmState::Active, None, PowerState::Running));
    let missing = Rescue {
        image_ref: Some("6b8e1c4e-0000-4000-8000-000000000000".into()),
        ..Rescue::default()
    };
    let err = c
        .rescue_instance(&ctx, &vm.uuid, missing)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Requested rescue image '6b8e1c4e-0000-4000-8000-000000000000' is not supported"
    );
    let (_, given) = c
        .rescue_instance(
            &ctx,
            &vm.uuid,
            Rescue {
                admin_password: Some("s3cret".into()),
                ..Rescue::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(given, "s3cret");
}

async fn injected_failures_of_the_new_steps_end_in_error(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |_| {}).await;
    let ctx = alice();
    let c = &f.compute;
    for step in ["shelve", "rescue"] {
        let mut req = crate::server(step);
        req.metadata
            .insert(compute::FAIL_METADATA_KEY.into(), step.into());
        let vm = c
            .create_instances(&ctx, req)
            .await
            .unwrap()
            .instances
            .remove(0);
        let after = if step == "shelve" {
            c.shelve_instance(&ctx, &vm.uuid).await.unwrap()
        } else {
            c.rescue_instance(&ctx, &vm.uuid, Rescue::default())
                .await
                .unwrap()
                .0
        };
        assert_eq!((after.vm_state, after.task_state), (VmState::Error, None));
        assert_eq!(
            after.fault.as_ref().map(|f| f.message.clone()),
            Some(format!(
                "Simulated {step} failure injected by sim:fail={step}"
            ))
        );
    }
}

async fn a_cold_migration_moves_host_and_a_revert_moves_it_back(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), |c| {
        c.hosts = vec![compute::SimHost::new("c1"), compute::SimHost::new("c2")];
    })
    .await;
    let ctx = alice();
    let c = &f.compute;
    let vm = create_one(c, &ctx, "vm").await;
    let source = vm.host.clone().unwrap();
    let other = if source == "c1" { "c2" } else { "c1" };
    let err = c
        .migrate_instance(&admin(), &vm.uuid, Some(&source))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot migrate to the host where the server exists."
    );
    let err = c
        .migrate_instance(&admin(), &vm.uuid, Some("c9"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Compute host c9 could not be found.");
    let moved = c.migrate_instance(&admin(), &vm.uuid, None).await.unwrap();
    assert_eq!(moved.status(), "VERIFY_RESIZE");
    assert_eq!(moved.host.as_deref(), Some(other));
    assert_eq!(moved.flavor.id, vm.flavor.id);
    let back = c.revert_resize(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(back.status(), "ACTIVE");
    assert_eq!(back.host.as_deref(), Some(source.as_str()));
    c.migrate_instance(&admin(), &vm.uuid, Some(other))
        .await
        .unwrap();
    let confirmed = c.confirm_resize(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(confirmed.host.as_deref(), Some(other));
    assert_eq!(
        action_names(&f, &ctx, &vm.uuid).await,
        [
            "confirmResize",
            "migrate",
            "revertResize",
            "migrate",
            "create"
        ]
    );
    // A resize reverts on its host.
    c.resize_instance(&ctx, &vm.uuid, "2").await.unwrap();
    let reverted = c.revert_resize(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(reverted.host.as_deref(), Some(other));
    c.suspend_instance(&ctx, &vm.uuid).await.unwrap();
    let err = c
        .migrate_instance(&admin(), &vm.uuid, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'migrate' instance {} while it is in vm_state suspended",
            vm.uuid
        )
    );
    // One host: nowhere to go.
    let single = f
        .reconnect_with(|c| c.hosts = vec![compute::SimHost::new(other)])
        .await;
    c.resume_instance(&ctx, &vm.uuid).await.unwrap();
    let err = single
        .migrate_instance(&admin(), &vm.uuid, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No valid host was found. No valid host found for cold migrate"
    );
}
