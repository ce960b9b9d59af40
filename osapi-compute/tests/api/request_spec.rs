//! What a create asked for and nova keeps with the server: the pinned
//! availability zone (2.96, changed at 2.104), the scheduler hints (2.100)
//! and OS-DCF:diskConfig.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{TestApi, ALICE};

async fn create(api: &TestApi, server: Value, hints: Option<Value>) -> crate::fixture::Answer {
    let mut body = json!({"server": server});
    if let Some(h) = hints {
        body["os:scheduler_hints"] = h;
    }
    api.call(Method::POST, "/servers", ALICE, Some("2.104"), Some(body))
        .await
}

fn server(extra: Value) -> Value {
    let mut s = json!({"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1", "networks": "none"});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

async fn put(api: &TestApi, id: &str, change: Value) -> crate::fixture::Answer {
    api.call(
        Method::PUT,
        &format!("/servers/{id}"),
        ALICE,
        Some("2.104"),
        Some(json!({ "server": change })),
    )
    .await
}

#[tokio::test]
async fn a_server_asked_into_a_zone_is_pinned_to_it_and_can_be_unpinned_and_repinned() {
    let api = TestApi::new().await;
    let made = create(&api, server(json!({"availability_zone": "nova"})), None).await;
    let id = made.body["server"]["id"].as_str().unwrap().to_owned();

    let shown = api
        .get(&format!("/servers/{id}"), ALICE, Some("2.96"))
        .await;
    let unpinned = put(&api, &id, json!({"pinned_availability_zone": null})).await;
    let again = put(&api, &id, json!({"pinned_availability_zone": null})).await;
    let repinned = put(&api, &id, json!({"pinned_availability_zone": "nova"})).await;
    let same = put(&api, &id, json!({"pinned_availability_zone": "nova"})).await;

    assert_eq!(shown.body["server"]["pinned_availability_zone"], "nova");
    assert_eq!(unpinned.status, StatusCode::OK, "{}", unpinned.text);
    assert_eq!(
        unpinned.body["server"]["pinned_availability_zone"],
        json!(null)
    );
    assert_eq!(
        again.body["server"]["pinned_availability_zone"],
        json!(null)
    );
    assert_eq!(repinned.body["server"]["pinned_availability_zone"], "nova");
    assert_eq!(same.status, StatusCode::OK);
}

#[tokio::test]
async fn a_server_pins_only_to_the_zone_it_is_in_and_moves_pin_only_through_null() {
    let api = TestApi::new().await;
    let unpinned = create(&api, server(json!({})), None).await;
    let free = unpinned.body["server"]["id"].as_str().unwrap().to_owned();
    let pinned = create(&api, server(json!({"availability_zone": "nova"})), None).await;
    let held = pinned.body["server"]["id"].as_str().unwrap().to_owned();

    let shown = api
        .get(&format!("/servers/{free}"), ALICE, Some("2.96"))
        .await;
    let elsewhere = put(&api, &free, json!({"pinned_availability_zone": "az2"})).await;
    let moved = put(&api, &held, json!({"pinned_availability_zone": "az2"})).await;

    assert_eq!(
        shown.body["server"]["pinned_availability_zone"],
        json!(null)
    );
    assert_eq!(elsewhere.status, StatusCode::CONFLICT);
    assert_eq!(
        elsewhere.fault_message(),
        "Server can only be pinned to its current availability zone 'nova', but 'az2' was requested."
    );
    assert_eq!(moved.status, StatusCode::CONFLICT);
    assert_eq!(
        moved.fault_message(),
        "Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null."
    );
}

#[tokio::test]
async fn the_pinned_zone_cannot_be_changed_before_2_104() {
    let api = TestApi::new().await;
    let made = create(&api, server(json!({})), None).await;
    let id = made.body["server"]["id"].as_str().unwrap();

    let answer = api
        .call(
            Method::PUT,
            &format!("/servers/{id}"),
            ALICE,
            Some("2.103"),
            Some(json!({"server": {"pinned_availability_zone": null}})),
        )
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_scheduler_hints_of_a_create_are_shown_from_2_100() {
    let api = TestApi::new().await;
    let made = create(
        &api,
        server(json!({})),
        Some(json!({"same_host": [], "query": "[\"=\", \"$vcpus\", 1]"})),
    )
    .await;
    let id = made.body["server"]["id"].as_str().unwrap();

    let shown = api
        .get(&format!("/servers/{id}"), ALICE, Some("2.100"))
        .await;
    let before = api
        .get(&format!("/servers/{id}"), ALICE, Some("2.99"))
        .await;

    assert_eq!(
        shown.body["server"]["scheduler_hints"],
        json!({"same_host": [], "query": "[\"=\", \"$vcpus\", 1]"})
    );
    assert!(before.body["server"].get("scheduler_hints").is_none());
}

#[tokio::test]
async fn disk_config_auto_is_kept_from_the_create_and_changed_by_an_update() {
    let api = TestApi::new().await;
    let made = create(&api, server(json!({"OS-DCF:diskConfig": "AUTO"})), None).await;
    let id = made.body["server"]["id"].as_str().unwrap().to_owned();

    let shown = api.get(&format!("/servers/{id}"), ALICE, None).await;
    let manual = put(&api, &id, json!({"OS-DCF:diskConfig": "MANUAL"})).await;

    assert_eq!(made.body["server"]["OS-DCF:diskConfig"], "AUTO");
    assert_eq!(shown.body["server"]["OS-DCF:diskConfig"], "AUTO");
    assert_eq!(manual.body["server"]["OS-DCF:diskConfig"], "MANUAL");
    let plain = create(&api, server(json!({})), None).await;
    assert_eq!(plain.body["server"]["OS-DCF:diskConfig"], "MANUAL");
}

#[tokio::test]
async fn a_rebuild_and_a_resize_set_the_disk_config_they_ask_for() {
    let api = TestApi::new().await;
    let made = create(&api, server(json!({})), None).await;
    let id = made.body["server"]["id"].as_str().unwrap().to_owned();
    let action = |body: Value| {
        let api = &api;
        let id = id.clone();
        async move {
            api.call(
                Method::POST,
                &format!("/servers/{id}/action"),
                ALICE,
                Some("2.104"),
                Some(body),
            )
            .await
        }
    };

    let rebuilt = action(
        json!({"rebuild": {"imageRef": compute::CIRROS_IMAGE_UUID, "OS-DCF:diskConfig": "AUTO"}}),
    )
    .await;
    let resized =
        action(json!({"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "MANUAL"}})).await;
    let shown = api.get(&format!("/servers/{id}"), ALICE, None).await;

    assert_eq!(rebuilt.status, StatusCode::ACCEPTED, "{}", rebuilt.text);
    assert_eq!(rebuilt.body["server"]["OS-DCF:diskConfig"], "AUTO");
    assert_eq!(resized.status, StatusCode::ACCEPTED, "{}", resized.text);
    assert_eq!(shown.body["server"]["OS-DCF:diskConfig"], "MANUAL");
    assert_eq!(shown.body["server"]["status"], "VERIFY_RESIZE");
}
