//! `/os-aggregates` through the HTTP routes: admin only, nova's views
//! (uuid from 2.41, no hosts or metadata in a create's answer), the
//! actions and their errors, zones in os-availability-zone and
//! os-services, and the image cache request of 2.81.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApi, ADMIN, ALICE};

async fn post(
    api: &TestApi,
    path: &str,
    token: &str,
    version: Option<&str>,
    body: Value,
) -> Answer {
    api.call(Method::POST, path, token, version, Some(body))
        .await
}

async fn make(api: &TestApi, name: &str, zone: Option<&str>) -> i64 {
    let answer = post(
        api,
        "/os-aggregates",
        ADMIN,
        None,
        json!({"aggregate": {"name": name, "availability_zone": zone}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["aggregate"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn aggregates_are_admin_only_and_shown_as_nova_shows_them() {
    let api = TestApi::new().await;
    let refused = post(
        &api,
        "/os-aggregates",
        ALICE,
        None,
        json!({"aggregate": {"name": "a"}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-aggregates:create to be performed."
    );
    assert_eq!(
        api.get("/os-aggregates", ALICE, None).await.status,
        StatusCode::FORBIDDEN
    );

    let created = post(
        &api,
        "/os-aggregates",
        ADMIN,
        Some("2.41"),
        json!({"aggregate": {"name": "a", "availability_zone": "az1"}}),
    )
    .await;
    let a = &created.body["aggregate"];
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(
        (
            a["name"].clone(),
            a["availability_zone"].clone(),
            a["deleted"].clone()
        ),
        (json!("a"), json!("az1"), json!(false))
    );
    assert!(a.get("hosts").is_none() && a.get("metadata").is_none());
    assert!(a["uuid"].is_string());
    let id = a["id"].as_i64().unwrap();

    let shown = api.get(&format!("/os-aggregates/{id}"), ADMIN, None).await;
    let a = &shown.body["aggregate"];
    assert_eq!(a["hosts"], json!([]));
    assert_eq!(a["metadata"], json!({"availability_zone": "az1"}));
    assert!(a.get("uuid").is_none());

    let dup = post(
        &api,
        "/os-aggregates",
        ADMIN,
        None,
        json!({"aggregate": {"name": "a"}}),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.fault_message(), "Aggregate a already exists.");
    for name in [json!(""), json!("x".repeat(256))] {
        let bad = post(
            &api,
            "/os-aggregates",
            ADMIN,
            None,
            json!({"aggregate": {"name": name}}),
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
    for path in ["/os-aggregates/-1", "/os-aggregates/999"] {
        let missing = api.get(path, ADMIN, None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let gone = api.call(Method::DELETE, path, ADMIN, None, None).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        api.get("/os-aggregates/abc", ADMIN, None).await.status,
        StatusCode::BAD_REQUEST
    );

    let renamed = api
        .call(
            Method::PUT,
            &format!("/os-aggregates/{id}"),
            ADMIN,
            None,
            Some(json!({"aggregate": {"name": "b"}})),
        )
        .await;
    assert_eq!(renamed.body["aggregate"]["name"], "b");
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/os-aggregates/{id}"),
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(
        api.get("/os-aggregates", ADMIN, None).await.body["aggregates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn host_actions_answer_nova_s_codes_and_zones_follow() {
    let api = TestApi::new().await;
    let id = make(&api, "a", Some("az1")).await;
    let action = format!("/os-aggregates/{id}/action");
    let unknown = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"add_host": {"host": "nonexist_host"}}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.fault_message(),
        "Compute host nonexist_host could not be found."
    );
    let user = post(
        &api,
        &action,
        ALICE,
        None,
        json!({"add_host": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(user.status, StatusCode::FORBIDDEN);
    let added = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"add_host": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(added.body["aggregate"]["hosts"], json!(["compute1"]));
    let again = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"add_host": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.fault_message(),
        format!("Aggregate {id} already has host compute1.")
    );
    let other = make(&api, "b", Some("az2")).await;
    let clash = post(
        &api,
        &format!("/os-aggregates/{other}/action"),
        ADMIN,
        None,
        json!({"add_host": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);

    // The host's zone is the aggregate's everywhere nova shows zones.
    let zones = api.get("/os-availability-zone", ALICE, None).await;
    assert_eq!(zones.body["availabilityZoneInfo"][0]["zoneName"], "az1");
    let services = api
        .get("/os-services?binary=nova-compute", ADMIN, None)
        .await;
    assert_eq!(services.body["services"][0]["zone"], "az1");
    let hosts = api.get("/os-hosts?zone=az1", ADMIN, None).await;
    assert_eq!(
        hosts.body["hosts"],
        json!([{"host_name": "compute1", "service": "compute", "zone": "az1"}])
    );

    let not_empty = api
        .call(
            Method::DELETE,
            &format!("/os-aggregates/{id}"),
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(not_empty.status, StatusCode::BAD_REQUEST);
    let meta = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"set_metadata": {"metadata": {"ssd": "true", "none": null}}}),
    )
    .await;
    assert_eq!(
        meta.body["aggregate"]["metadata"],
        json!({"availability_zone": "az1", "ssd": "true"})
    );
    let removed = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"remove_host": {"host": "compute1"}}),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK);
    let missing = post(
        &api,
        &action,
        ADMIN,
        None,
        json!({"remove_host": {"host": "nonexist_host"}}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.fault_message(),
        format!("Cannot remove host nonexist_host in aggregate {id}")
    );
    let bogus = post(&api, &action, ADMIN, None, json!({"bogus": {}})).await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn image_caching_is_2_81_and_checks_the_images() {
    let api = TestApi::new().await;
    let id = make(&api, "a", None).await;
    let path = format!("/os-aggregates/{id}/images");
    let body = json!({"cache": [{"id": compute::CIRROS_IMAGE_UUID}]});
    let old = post(&api, &path, ADMIN, Some("2.80"), body.clone()).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    let cached = post(&api, &path, ADMIN, Some("2.81"), body).await;
    assert_eq!(cached.status, StatusCode::ACCEPTED, "{}", cached.text);
    let missing = "5b1c0fd1-2e0a-4c0e-9d67-5d1a0c6b8e21";
    let unknown = post(
        &api,
        &path,
        ADMIN,
        Some("2.81"),
        json!({"cache": [{"id": missing}]}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let twice = post(
        &api,
        &path,
        ADMIN,
        Some("2.81"),
        json!({"cache": [{"id": compute::CIRROS_IMAGE_UUID}, {"id": compute::CIRROS_IMAGE_UUID}]}),
    )
    .await;
    assert_eq!(twice.fault_message(), "Duplicate images in request");
    let none = post(&api, &path, ADMIN, Some("2.81"), json!({"cache": []})).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
}
