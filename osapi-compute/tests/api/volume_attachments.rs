//! Volume attachments with no block-storage service: a server has none,
//! and a call that names a volume answers nova's 404, never a 200 with
//! nothing behind it (issue 27, item 2).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApp, ADMIN, ALICE, BOB};

const VOLUME: &str = "6f9a1c52-3c2e-4b1f-9d1e-2f3a4b5c6d7e";

fn attachments(server: &str) -> String {
    format!("/v2.1/servers/{server}/os-volume_attachments")
}

fn attachment(server: &str, volume: &str) -> String {
    format!("/v2.1/servers/{server}/os-volume_attachments/{volume}")
}

#[tokio::test]
async fn a_server_lists_no_volume_attachments() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;

    let answer = app.get(&attachments(&id), ALICE, Some("2.89")).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body, json!({"volumeAttachments": []}));
}

#[tokio::test]
async fn attaching_a_volume_that_does_not_exist_is_404_and_attaches_nothing() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;

    let answer = app
        .send(
            Method::POST,
            &attachments(&id),
            ALICE,
            "2.79",
            json!({"volumeAttachment": {"volumeId": VOLUME, "delete_on_termination": true}}),
        )
        .await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(answer.fault_name(), "itemNotFound");
    assert_eq!(
        answer.fault_message(),
        format!("Volume {VOLUME} could not be found.")
    );
    let list = app.get(&attachments(&id), ALICE, None).await;
    assert_eq!(list.body, json!({"volumeAttachments": []}));
}

#[tokio::test]
async fn an_attach_body_is_checked_per_microversion_before_anything_else() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let tagged = json!({"volumeAttachment": {"volumeId": VOLUME, "tag": "data"}});

    let before_tags = app
        .send(
            Method::POST,
            &attachments(&id),
            ALICE,
            "2.48",
            tagged.clone(),
        )
        .await;
    let not_a_uuid = app
        .send(
            Method::POST,
            &attachments(&id),
            ALICE,
            "2.1",
            json!({"volumeAttachment": {"volumeId": "vol-1"}}),
        )
        .await;
    let with_tags = app
        .send(Method::POST, &attachments(&id), ALICE, "2.49", tagged)
        .await;

    assert_eq!(
        before_tags.status,
        StatusCode::BAD_REQUEST,
        "{}",
        before_tags.text
    );
    assert_eq!(
        not_a_uuid.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_a_uuid.text
    );
    assert_eq!(
        with_tags.status,
        StatusCode::NOT_FOUND,
        "{}",
        with_tags.text
    );
}

#[tokio::test]
async fn attaching_to_a_locked_server_is_409_before_the_volume_is_looked_up() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let lock = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.1",
            json!({"lock": null}),
        )
        .await;
    assert_eq!(lock.status, StatusCode::ACCEPTED, "{}", lock.text);

    let answer = app
        .send(
            Method::POST,
            &attachments(&id),
            ALICE,
            "2.1",
            json!({"volumeAttachment": {"volumeId": VOLUME}}),
        )
        .await;

    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text);
    assert_eq!(answer.fault_message(), format!("Instance {id} is locked"));
}

#[tokio::test]
async fn show_update_and_detach_of_an_unattached_volume_are_404() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let same = json!({"volumeAttachment": {"volumeId": VOLUME}});
    let other = json!({"volumeAttachment": {"volumeId": "0c9e1d2a-8b7f-4e6d-a5c4-b3a291807f6e"}});

    let show = app.get(&attachment(&id, VOLUME), ALICE, None).await;
    let update = app
        .send(Method::PUT, &attachment(&id, VOLUME), ALICE, "2.85", same)
        .await;
    let swap_by_member = app
        .send(
            Method::PUT,
            &attachment(&id, VOLUME),
            ALICE,
            "2.1",
            other.clone(),
        )
        .await;
    let swap_by_admin = app
        .send(Method::PUT, &attachment(&id, VOLUME), ADMIN, "2.1", other)
        .await;
    let detach = app
        .call(
            Method::DELETE,
            &attachment(&id, VOLUME),
            Some(ALICE),
            &[],
            None,
        )
        .await;

    assert_eq!(show.status, StatusCode::NOT_FOUND);
    assert_eq!(
        show.fault_message(),
        format!("Instance {id} is not attached to volume {VOLUME}")
    );
    assert_eq!(update.status, StatusCode::NOT_FOUND, "{}", update.text);
    assert_eq!(
        update.fault_message(),
        format!("No volume Block Device Mapping with id {VOLUME}.")
    );
    assert_eq!(swap_by_member.status, StatusCode::FORBIDDEN);
    assert_eq!(swap_by_admin.status, StatusCode::NOT_FOUND);
    assert_eq!(
        swap_by_admin.fault_message(),
        format!("Volume {VOLUME} could not be found.")
    );
    assert_eq!(detach.status, StatusCode::NOT_FOUND);
    assert_eq!(
        detach.fault_message(),
        format!("Volume {VOLUME} could not be found.")
    );
}

#[tokio::test]
async fn another_projects_server_has_no_attachments_to_show() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;

    let answer = app.get(&attachments(&id), BOB, None).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.fault_message(),
        format!("Instance {id} could not be found.")
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_from_2_75() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let path = format!("{}?limit=1&offset=0&sort=name", attachments(&id));

    let before = app.get(&path, ALICE, Some("2.74")).await;
    let after = app.get(&path, ALICE, Some("2.75")).await;

    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
}
