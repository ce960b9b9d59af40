//! Remote consoles and their auth tokens, and `createImage`'s snapshot
//! with its upload phase, on both engines: each console kind's switch
//! and types, a token's life (issued, validated, expired, gone with its
//! instance), and a snapshot's states (queued, saving, active), the 409
//! of a second snapshot, deleting the image or the instance meanwhile.

use std::time::Duration;

use compute::{Engine, Error, Kind, Snapshot, TaskState, VmState};

use crate::create_one;
use crate::support::{admin, alice, bob, Fixture};

on_both_engines!(
    each_console_kind_follows_its_switch_and_its_types,
    a_console_needs_an_active_instance_of_the_caller,
    a_console_token_validates_until_it_expires,
    console_tokens_go_with_their_instance,
    a_snapshot_is_queued_then_saving_then_active_as_the_instance_uploads,
    a_second_snapshot_while_one_is_saved_is_refused,
    deleting_the_saving_image_ends_the_snapshot,
    deleting_the_instance_deletes_the_snapshot_it_was_uploading,
    with_no_delays_a_snapshot_is_active_at_once,
);

/// The token in a console URL (`?token=` or noVNC's `path=%3Ftoken%3D`).
fn token_of(url: &str) -> String {
    let at = url
        .find("token%3D")
        .map(|i| i + "token%3D".len())
        .or_else(|| url.find("token=").map(|i| i + "token=".len()))
        .expect("a token in the URL");
    url[at..].split('&').next().unwrap().to_string()
}

async fn each_console_kind_follows_its_switch_and_its_types(engine: Engine) {
    // nova's defaults: VNC on, the others off.
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let url = f
        .compute
        .get_remote_console(&ctx, &vm.uuid, "vnc", "novnc")
        .await
        .unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3D"),
        "{url}"
    );
    let unavailable = |t: &str| format!("Unavailable console type {t}.");
    let invalid = |t: &str| format!("Invalid console type {t}");
    for (protocol, kind) in [
        ("spice", "spice-html5"),
        ("serial", "serial"),
        ("mks", "webmks"),
    ] {
        let err = f
            .compute
            .get_remote_console(&ctx, &vm.uuid, protocol, kind)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert_eq!(err.to_string(), unavailable(kind), "{protocol}");
    }
    let err = f
        .compute
        .get_remote_console(&ctx, &vm.uuid, "rdp", "rdp-html5")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), unavailable("rdp"));
    let err = f
        .compute
        .get_remote_console(&ctx, &vm.uuid, "vnc", "xvpvnc")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert_eq!(err.to_string(), invalid("xvpvnc"));

    // Every kind on, with its own proxy URL.
    let on = f
        .reconnect_with(|c| {
            c.consoles.spice.enabled = true;
            c.consoles.serial.enabled = true;
            c.consoles.mks.enabled = true;
        })
        .await;
    for (protocol, kind, prefix) in [
        (
            "spice",
            "spice-html5",
            "http://127.0.0.1:6082/spice_auto.html?token=",
        ),
        (
            "spice",
            "spice-direct",
            "http://127.0.0.1:13002/nova?token=",
        ),
        ("serial", "serial", "ws://127.0.0.1:6083/?token="),
        ("mks", "webmks", "http://127.0.0.1:6090/?token="),
    ] {
        let url = on
            .get_remote_console(&ctx, &vm.uuid, protocol, kind)
            .await
            .unwrap();
        assert!(url.starts_with(prefix), "{url}");
        let auth = on.validate_console_token(&token_of(&url)).await.unwrap();
        assert_eq!(auth.console_type, kind);
        assert_eq!(auth.instance_uuid, vm.uuid);
        assert_eq!(auth.tls_port.is_some(), protocol == "spice");
    }
    let err = on
        .get_remote_console(&ctx, &vm.uuid, "mks", "novnc")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), invalid("novnc"));
}

async fn a_console_needs_an_active_instance_of_the_caller(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let err = f
        .compute
        .get_remote_console(&bob(), &vm.uuid, "vnc", "novnc")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: Kind::Instance,
                ..
            }
        ),
        "{err:?}"
    );
    f.compute.stop_instance(&ctx, &vm.uuid).await.unwrap();
    let err = f
        .compute
        .get_remote_console(&ctx, &vm.uuid, "vnc", "novnc")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("Instance {} is not ready", vm.uuid)
    );
    // An admin may open any project's console.
    f.compute.start_instance(&ctx, &vm.uuid).await.unwrap();
    f.compute
        .get_remote_console(&admin(), &vm.uuid, "vnc", "novnc")
        .await
        .unwrap();
}

async fn a_console_token_validates_until_it_expires(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.consoles.token_ttl = 1)
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let url = f
        .compute
        .get_remote_console(&ctx, &vm.uuid, "vnc", "novnc")
        .await
        .unwrap();
    let token = token_of(&url);
    let auth = f.compute.validate_console_token(&token).await.unwrap();
    assert_eq!(auth.instance_uuid, vm.uuid);
    assert_eq!(auth.console_type, "novnc");
    assert_eq!(auth.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(auth.port, 5900);
    assert_eq!(auth.internal_access_path, None);
    assert_eq!(auth.access_url_base, "http://127.0.0.1:6080/vnc_auto.html");
    // A token never issued, or one only like an issued one, is unknown.
    for other in ["nope", &token.to_uppercase()] {
        let err = f.compute.validate_console_token(other).await.unwrap_err();
        assert_eq!(err.to_string(), "Token not found");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = f.compute.validate_console_token(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: Kind::ConsoleAuthToken,
                ..
            }
        ),
        "{err:?}"
    );
}

async fn console_tokens_go_with_their_instance(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let other = create_one(&f.compute, &ctx, "other").await;
    let token = token_of(
        &f.compute
            .get_remote_console(&ctx, &vm.uuid, "vnc", "novnc")
            .await
            .unwrap(),
    );
    let kept = token_of(
        &f.compute
            .get_remote_console(&ctx, &other.uuid, "vnc", "novnc")
            .await
            .unwrap(),
    );
    f.compute.delete_instance(&ctx, &vm.uuid).await.unwrap();
    assert!(f.compute.validate_console_token(&token).await.is_err());
    f.compute.validate_console_token(&kept).await.unwrap();
}

fn snapshot(name: &str) -> Snapshot {
    Snapshot {
        name: name.into(),
        ..Default::default()
    }
}

async fn a_snapshot_is_queued_then_saving_then_active_as_the_instance_uploads(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.snapshot_upload_delay = Duration::from_millis(600))
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let image = f
        .compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("snap"))
        .await
        .unwrap();
    // The driver steps are instant here: the upload has begun.
    assert_eq!(image.status, "saving");
    assert_eq!(image.properties["image_type"], "snapshot");
    assert_eq!(image.properties["instance_uuid"], vm.uuid.as_str());
    let during = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(
        (during.vm_state, during.task_state),
        (VmState::Active, Some(TaskState::ImageUploading))
    );
    assert_eq!(during.status(), "ACTIVE");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let done = f.compute.get_image(&ctx, &image.uuid).await.unwrap();
    assert_eq!(done.status, "active");
    let after = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!((after.vm_state, after.task_state), (VmState::Active, None));
    let actions = f
        .compute
        .list_instance_actions(&ctx, &vm.uuid)
        .await
        .unwrap();
    assert!(actions.iter().any(|a| a.action == "createImage"));
}

async fn a_second_snapshot_while_one_is_saved_is_refused(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.snapshot_upload_delay = Duration::from_secs(60))
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    f.compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("first"))
        .await
        .unwrap();
    let err = f
        .compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("second"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Cannot 'createImage' instance {} while it is in task_state image_uploading",
            vm.uuid
        )
    );
    // The refused snapshot left no image behind.
    let images = f
        .compute
        .list_images(&ctx, &compute::ImageFilter::default())
        .await
        .unwrap();
    let names: Vec<_> = images.iter().filter_map(|i| i.name.clone()).collect();
    assert!(names.contains(&"first".to_string()), "{names:?}");
    assert!(!names.contains(&"second".to_string()), "{names:?}");
}

async fn deleting_the_saving_image_ends_the_snapshot(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.snapshot_upload_delay = Duration::from_secs(60))
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let image = f
        .compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("snap"))
        .await
        .unwrap();
    assert_eq!(image.status, "saving");
    f.compute.delete_image(&ctx, &image.uuid).await.unwrap();
    let err = f.compute.get_image(&ctx, &image.uuid).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: Kind::Image,
                ..
            }
        ),
        "{err:?}"
    );
    let after = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!((after.vm_state, after.task_state), (VmState::Active, None));
    // The instance takes a new snapshot at once.
    f.compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("again"))
        .await
        .unwrap();
}

async fn deleting_the_instance_deletes_the_snapshot_it_was_uploading(engine: Engine) {
    let f = Fixture::builder(engine)
        .config(|c| c.snapshot_upload_delay = Duration::from_secs(60))
        .build()
        .await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let image = f
        .compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("snap"))
        .await
        .unwrap();
    f.compute.delete_instance(&ctx, &vm.uuid).await.unwrap();
    let err = f.compute.get_image(&ctx, &image.uuid).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                kind: Kind::Image,
                ..
            }
        ),
        "{err:?}"
    );
}

async fn with_no_delays_a_snapshot_is_active_at_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let ctx = alice();
    let vm = create_one(&f.compute, &ctx, "vm").await;
    let image = f
        .compute
        .snapshot_instance(&ctx, &vm.uuid, snapshot("snap"))
        .await
        .unwrap();
    assert_eq!(image.status, "active");
    let after = f.compute.get_instance(&ctx, &vm.uuid).await.unwrap();
    assert_eq!(after.task_state, None);
}
