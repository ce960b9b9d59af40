//! The server actions of nova's admin_actions, deferred_delete,
//! create_backup, shelve and rescue controllers and trigger_crash_dump,
//! through the HTTP routes: bodies, policies, state conflicts, status
//! codes and what the server shows after each.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp};

const ALICE: &str = "alice:proja";
const ADMIN: &str = "admin:admin";
const MISSING: &str = "6b8e1c4e-0000-4000-8000-000000000000";

async fn act(app: &TestApp, id: &str, token: &str, version: &str, body: Value) -> Answer {
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/action"),
        token,
        version,
        body,
    )
    .await
}

async fn server(app: &TestApp, id: &str, token: &str) -> Answer {
    app.get(&format!("/v2.1/servers/{id}"), token, Some("2.1"))
        .await
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let answer = server(app, id, ADMIN).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["server"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn message(answer: &Answer) -> String {
    answer
        .body
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn reset_state_is_an_admin_s_and_sets_active_or_error() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let body = json!({"os-resetState": {"state": "error"}});
    let answer = act(&app, &id, ALICE, "2.1", body.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed."
    );
    let answer = act(&app, MISSING, ADMIN, "2.1", body.clone()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = act(&app, &id, ADMIN, "2.1", body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.text, "");
    assert_eq!(status_of(&app, &id).await, "ERROR");
    let listed = app
        .get("/v2.1/servers?status=error", ALICE, Some("2.1"))
        .await;
    assert_eq!(listed.body["servers"].as_array().unwrap().len(), 1);
    let answer = act(
        &app,
        &id,
        ADMIN,
        "2.1",
        json!({"os-resetState": {"state": "active"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
    let answer = act(
        &app,
        &id,
        ADMIN,
        "2.1",
        json!({"os-resetState": {"state": "deleted"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "Invalid input for field/attribute state. Value: deleted. 'deleted' is not one of ['active', 'error']"
    );
    let actions = app
        .get(
            &format!("/v2.1/servers/{id}/os-instance-actions"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(actions.body["instanceActions"][0]["action"], "resetState");
}

#[tokio::test]
async fn inject_network_info_is_an_admin_s_and_reset_network_is_gone() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let body = json!({"injectNetworkInfo": null});
    let answer = act(&app, &id, ALICE, "2.1", body.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-admin-actions:inject_network_info to be performed."
    );
    assert_eq!(
        act(&app, MISSING, ADMIN, "2.1", body.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&app, &id, ADMIN, "2.1", body).await.status,
        StatusCode::ACCEPTED
    );
    // Removed with the Xen driver: 410 at every version, for anyone.
    for version in ["2.1", "2.100"] {
        let answer = act(&app, MISSING, ALICE, version, json!({"resetNetwork": null})).await;
        assert_eq!(answer.status, StatusCode::GONE);
        assert_eq!(
            message(&answer),
            "This resource is no longer available.  No forwarding address is given."
        );
    }
}

#[tokio::test]
async fn trigger_crash_dump_is_served_from_2_17_on_a_running_server() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let body = json!({"trigger_crash_dump": null});
    let answer = act(&app, &id, ALICE, "2.16", body.clone()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "There is no such action: trigger_crash_dump"
    );
    let answer = act(&app, &id, ALICE, "2.17", json!({"trigger_crash_dump": {}})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = act(&app, &id, ALICE, "2.17", body.clone()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(
        act(&app, &id, ALICE, "2.17", json!({"os-stop": null}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let answer = act(&app, &id, ALICE, "2.17", body).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        message(&answer),
        format!("Cannot 'trigger_crash_dump' instance {id} while it is in vm_state stopped")
    );
}

#[tokio::test]
async fn with_a_reclaim_interval_a_delete_is_soft_and_restore_or_force_delete_follow() {
    let app = TestApp::builder()
        .compute(|c| c.reclaim_instance_interval = std::time::Duration::from_secs(3600))
        .build()
        .await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, &id).await, "SOFT_DELETED");
    // Gone from the list, listed by an admin's deleted=true.
    let listed = app.get("/v2.1/servers", ALICE, None).await;
    assert!(listed.body["servers"].as_array().unwrap().is_empty());
    let deleted = app
        .get("/v2.1/servers?deleted=true&all_tenants=1", ADMIN, None)
        .await;
    assert_eq!(deleted.body["servers"][0]["id"], id.as_str());
    let limits = app.get("/v2.1/limits", ALICE, None).await;
    assert_eq!(limits.body["limits"]["absolute"]["totalInstancesUsed"], 0);
    // Restore brings it back.
    let answer = act(&app, &id, ALICE, "2.1", json!({"restore": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
    let answer = act(&app, &id, ALICE, "2.1", json!({"restore": null})).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        message(&answer),
        format!("Cannot 'restore' instance {id} while it is in vm_state active")
    );
    // forceDelete never soft-deletes.
    let answer = act(&app, &id, ALICE, "2.1", json!({"forceDelete": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(server(&app, &id, ALICE).await.status, StatusCode::NOT_FOUND);
    for name in ["restore", "forceDelete"] {
        let answer = act(&app, MISSING, ALICE, "2.1", json!({ name: null })).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{name}");
    }
}

#[tokio::test]
async fn create_backup_rotates_and_answers_per_microversion() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let backup = |name: &str, rotation: Value| json!({"createBackup": {"name": name, "backup_type": "daily", "rotation": rotation}});
    // Before 2.45: a Location header when the rotation keeps any.
    let answer = act(&app, &id, ALICE, "2.1", backup("b0", json!(2))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let location = answer.header("Location").unwrap();
    assert!(
        location.starts_with("http://openstack.example.com/v2.1/images/"),
        "{location}"
    );
    let first = location.rsplit('/').next().unwrap().to_string();
    let answer = act(&app, &id, ALICE, "2.44", backup("b1", json!("2"))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    // From 2.45: the image id in the body.
    let answer = act(&app, &id, ALICE, "2.45", backup("b2", json!(2))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let newest = answer.body["image_id"].as_str().unwrap().to_string();
    let ctx = osapi_compute::auth::context_from_token(ALICE, None);
    let image = app.state.compute.get_image(&ctx, &newest).await.unwrap();
    assert_eq!(image.properties["image_type"], "backup");
    assert_eq!(image.properties["backup_type"], "daily");
    assert!(app.state.compute.get_image(&ctx, &first).await.is_err());
    // Rotation 0 keeps none: no Location.
    let answer = act(&app, &id, ALICE, "2.1", backup("b3", json!(0))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(answer.header("Location"), None);
    let answer = act(&app, &id, ALICE, "2.1", backup("b4", json!(-1))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = act(
        &app,
        &id,
        ALICE,
        "2.1",
        json!({"createBackup": {"name": "b", "rotation": 1}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "Invalid input for field/attribute createBackup. Value: {'name': 'b', 'rotation': 1}. 'backup_type' is a required property"
    );
}

#[tokio::test]
async fn shelve_offload_and_unshelve_follow_nova() {
    let app = TestApp::builder()
        .compute(|c| c.shelved_offload_time = None)
        .build()
        .await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = act(&app, &id, ALICE, "2.1", json!({"shelve": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(status_of(&app, &id).await, "SHELVED");
    let answer = act(&app, &id, ALICE, "2.1", json!({"shelveOffload": null})).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-shelve:shelve_offload to be performed."
    );
    // An AZ only for an offloaded server.
    let to_az = json!({"unshelve": {"availability_zone": "nova"}});
    let answer = act(&app, &id, ALICE, "2.77", to_az.clone()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let answer = act(&app, &id, ADMIN, "2.1", json!({"shelveOffload": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(status_of(&app, &id).await, "SHELVED_OFFLOADED");
    let shown = app.get(&format!("/v2.1/servers/{id}"), ADMIN, None).await;
    assert_eq!(shown.body["server"]["OS-EXT-SRV-ATTR:host"], Value::Null);
    // 2.77 needs the zone in an object; 2.91 takes a host (admins).
    let answer = act(&app, &id, ALICE, "2.77", json!({"unshelve": {}})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = act(
        &app,
        &id,
        ALICE,
        "2.91",
        json!({"unshelve": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = act(
        &app,
        &id,
        ADMIN,
        "2.91",
        json!({"unshelve": {"host": "nowhere"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&answer), "Compute host nowhere could not be found.");
    let answer = act(&app, &id, ALICE, "2.77", to_az).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
    let answer = act(&app, &id, ALICE, "2.1", json!({"unshelve": null})).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        message(&answer),
        format!("Cannot 'unshelve' instance {id} while it is in vm_state active")
    );
}

#[tokio::test]
async fn rescue_answers_the_password_and_unrescue_comes_back() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = act(
        &app,
        &id,
        ALICE,
        "2.1",
        json!({"rescue": {"adminPass": "s3cret"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body, json!({"adminPass": "s3cret"}));
    assert_eq!(status_of(&app, &id).await, "RESCUE");
    let answer = act(&app, &id, ALICE, "2.1", json!({"rescue": null})).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let answer = act(&app, &id, ALICE, "2.1", json!({"unrescue": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
    let answer = act(&app, &id, ALICE, "2.1", json!({"unrescue": null})).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        message(&answer),
        format!("Cannot 'unrescue' instance {id} while it is in vm_state active")
    );
    let answer = act(&app, &id, ALICE, "2.1", json!({"rescue": null})).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["adminPass"].as_str().unwrap().len(), 12);
    let answer = act(
        &app,
        &id,
        ALICE,
        "2.1",
        json!({"rescue": {"rescue_image_ref": MISSING}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn migrate_is_an_admin_s_and_ends_in_verify_resize() {
    let app = TestApp::builder()
        .compute(|c| {
            c.hosts = vec![
                compute::SimHost::new("compute1"),
                compute::SimHost::new("compute2"),
            ]
        })
        .build()
        .await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = act(&app, &id, ALICE, "2.1", json!({"migrate": null})).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed."
    );
    let answer = act(&app, MISSING, ADMIN, "2.1", json!({"migrate": null})).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let host = server(&app, &id, ADMIN).await.body["server"]["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = act(&app, &id, ADMIN, "2.56", json!({"migrate": {"host": host}})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "Cannot migrate to the host where the server exists."
    );
    let answer = act(&app, &id, ADMIN, "2.1", json!({"migrate": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(status_of(&app, &id).await, "VERIFY_RESIZE");
    let moved = server(&app, &id, ADMIN).await.body["server"]["OS-EXT-SRV-ATTR:host"].clone();
    assert_ne!(moved, json!(host));
    let answer = act(&app, &id, ALICE, "2.1", json!({"confirmResize": null})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(status_of(&app, &id).await, "ACTIVE");
}
