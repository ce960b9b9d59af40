//! Integers out of range: every integer a client sends (body fields, query
//! parameters, date-times) gets nova's answer however large it is, instead
//! of wrapping, saturating into another meaning or failing with the wrong
//! message.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp};

const ALICE: &str = "alice:proja";
const ADMIN: &str = "admin:admin";

fn message(answer: &Answer) -> &str {
    answer
        .body
        .as_object()
        .and_then(|fault| fault.values().next())
        .and_then(|fault| fault["message"].as_str())
        .unwrap_or_default()
}

async fn create(app: &TestApp, server: Value) -> Answer {
    let mut body = json!({"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"});
    body.as_object_mut()
        .unwrap()
        .extend(server.as_object().unwrap().clone());
    app.send(
        Method::POST,
        "/v2.1/servers",
        ALICE,
        "2.1",
        json!({ "server": body }),
    )
    .await
}

async fn server_count(app: &TestApp) -> usize {
    let answer = app.get("/v2.1/servers", ALICE, None).await;
    answer.body["servers"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_server_count_beyond_32_bits_is_refused_by_the_instance_quota() {
    let app = TestApp::new().await;
    // Only the instance quota limits alice's project.
    let unlimited = json!({"quota_set": {"cores": -1, "ram": -1}});
    let set = app
        .send(
            Method::PUT,
            "/v2.1/os-quota-sets/proja",
            ADMIN,
            "2.1",
            unlimited,
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);

    for count in [json!(4_294_967_296_u64), json!("4294967296")] {
        let answer = create(&app, json!({"min_count": count})).await;

        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{count}");
        assert_eq!(
            message(&answer),
            "Quota exceeded for instances: Requested 4294967296, but already used 0 of 10 instances",
            "{count}"
        );
    }
    assert_eq!(server_count(&app).await, 0);
}

#[tokio::test]
async fn a_max_count_beyond_32_bits_creates_as_many_as_the_quota_allows() {
    let app = TestApp::new().await;

    let answer = create(
        &app,
        json!({"min_count": 1, "max_count": 4_294_967_296_u64}),
    )
    .await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    // The default quota holds 10 instances of m1.tiny.
    assert_eq!(server_count(&app).await, 10);
}

#[tokio::test]
async fn integers_given_as_strings_are_held_to_the_schema_bounds() {
    let app = TestApp::new().await;

    let zero = create(&app, json!({"min_count": "0"})).await;

    assert_eq!(zero.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&zero),
        "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"
    );
    assert_eq!(server_count(&app).await, 0);

    let id = app.create_server(ALICE, "vm1").await;
    let console = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.1",
            json!({"os-getConsoleOutput": {"length": "-2"}}),
        )
        .await;

    assert_eq!(console.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&console),
        "Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1"
    );
}

#[tokio::test]
async fn a_volume_size_beyond_the_database_integer_is_refused() {
    let app = TestApp::new().await;
    let mapping = json!([{"device_name": "vdb", "volume_size": 4_294_967_296_u64}]);

    let answer = create(&app, json!({"block_device_mapping": mapping})).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "Invalid input for field/attribute volume_size. Value: 4294967296. 4294967296 is greater than the maximum of 2147483647"
    );
}

#[tokio::test]
async fn flavor_sizes_beyond_64_bits_get_the_maximum_message() {
    let app = TestApp::new().await;
    for (ram, shown) in [
        (json!(9_223_372_036_854_775_808_u64), "9223372036854775808"),
        (json!("99999999999999999999"), "99999999999999999999"),
    ] {
        let body = json!({"flavor": {"name": "huge", "ram": ram, "vcpus": 1, "disk": 1}});

        let answer = app
            .send(Method::POST, "/v2.1/flavors", ADMIN, "2.1", body)
            .await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{ram}");
        assert_eq!(
            message(&answer),
            format!("Invalid input for field/attribute ram. Value: {shown}. {shown} is greater than the maximum of 2147483647")
        );
    }
}

#[tokio::test]
async fn quota_values_beyond_64_bits_get_the_bound_they_cross() {
    let app = TestApp::new().await;
    for (cores, expected) in [
        (
            json!("-99999999999999999999"),
            "Invalid input for field/attribute cores. Value: -99999999999999999999. -99999999999999999999 is less than the minimum of -1",
        ),
        (
            json!(9_223_372_036_854_775_808_u64),
            "Invalid input for field/attribute cores. Value: 9223372036854775808. 9223372036854775808 is greater than the maximum of 2147483647",
        ),
    ] {
        let body = json!({"quota_set": {"cores": cores}});

        let answer = app
            .send(Method::PUT, "/v2.1/os-quota-sets/proja", ADMIN, "2.1", body)
            .await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{cores}");
        assert_eq!(message(&answer), expected);
    }
}

#[tokio::test]
async fn a_min_ram_filter_beyond_64_bits_matches_no_flavor() {
    let app = TestApp::new().await;

    let answer = app
        .get("/v2.1/flavors?minRam=99999999999999999999", ALICE, None)
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["flavors"], json!([]));
}

#[tokio::test]
async fn usage_dates_beyond_pythons_years_are_invalid() {
    let app = TestApp::new().await;
    // chrono reads years of five digits and signed ones; Python does not.
    for start in ["10000-01-01T00:00:00", "%2B2024-01-01T00:00:00"] {
        let path = format!("/v2.1/os-simple-tenant-usage/proja?start={start}");

        let answer = app.get(&path, ALICE, None).await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{start}");
        assert_eq!(
            message(&answer),
            "Invalid datetime string: Datetime is in invalid format"
        );
    }
}
