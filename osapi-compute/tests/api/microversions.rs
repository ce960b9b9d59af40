//! Microversion negotiation on the API.

use axum::http::{Method, StatusCode};

use crate::fixture::TestApp;

#[tokio::test]
async fn requested_version_is_echoed_with_both_headers_and_vary() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/servers", "alice:proj", Some("2.47")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("OpenStack-API-Version").as_deref(),
        Some("compute 2.47")
    );
    assert_eq!(
        answer.header("X-OpenStack-Nova-API-Version").as_deref(),
        Some("2.47")
    );
    assert_eq!(
        answer.header_all("Vary"),
        vec!["OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]
    );
}

#[tokio::test]
async fn no_header_means_21_and_latest_means_2104() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/servers", "alice:proj", None).await;
    assert_eq!(
        answer.header("OpenStack-API-Version").as_deref(),
        Some("compute 2.1")
    );
    let answer = app.get("/v2.1/servers", "alice:proj", Some("latest")).await;
    assert_eq!(
        answer.header("OpenStack-API-Version").as_deref(),
        Some("compute 2.104")
    );
}

#[tokio::test]
async fn legacy_header_alone_is_honoured() {
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::GET,
            "/v2.1/servers",
            Some("alice:proj"),
            &[("X-OpenStack-Nova-API-Version", "2.30")],
            None,
        )
        .await;
    assert_eq!(
        answer.header("X-OpenStack-Nova-API-Version").as_deref(),
        Some("2.30")
    );
}

#[tokio::test]
async fn malformed_version_is_400_with_nova_message() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/servers", "alice:proj", Some("2.x")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        serde_json::json!({"badRequest": {"code": 400, "message":
            "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum."}})
    );
}

#[tokio::test]
async fn out_of_range_version_is_406_compute_fault() {
    let app = TestApp::new().await;
    for v in ["2.105", "3.0", "2.0"] {
        let answer = app.get("/v2.1/servers", "alice:proj", Some(v)).await;
        assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE, "{v}");
        assert_eq!(
            answer.body["computeFault"]["message"],
            format!(
                "Version {v} is not supported by the API. Minimum is 2.1 and maximum is 2.104."
            )
        );
    }
}

#[tokio::test]
async fn a_version_number_beyond_32_bits_is_406_not_malformed() {
    let app = TestApp::new().await;

    let answer = app
        .get("/v2.1/servers", "alice:proj", Some("2.4294967296"))
        .await;

    assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        answer.body["computeFault"]["message"],
        "Version 2.4294967296 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
    );
}

#[tokio::test]
async fn faults_of_versioned_requests_carry_version_headers() {
    let app = TestApp::new().await;
    let answer = app
        .get(
            "/v2.1/servers/00000000-0000-0000-0000-000000000000",
            "alice:proj",
            Some("2.60"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.header("OpenStack-API-Version").as_deref(),
        Some("compute 2.60")
    );
}

#[tokio::test]
async fn legacy_v2_api_ignores_microversions() {
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::GET,
            "/v2/servers",
            Some("alice:proj"),
            &[("OpenStack-API-Version", "compute 2.200")],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.header("OpenStack-API-Version").is_none());
    assert!(answer.header_all("Vary").is_empty());
}

#[tokio::test]
async fn from_2_102_a_route_that_reads_no_query_refuses_one() {
    let app = TestApp::new().await;
    let id = app.create_server("alice:proj", "vm").await;
    let path = format!("/v2.1/servers/{id}?foo=1");

    let before = app.get(&path, "alice:proj", Some("2.101")).await;
    let after = app.get(&path, "alice:proj", Some("2.102")).await;
    let zones = app
        .get(
            "/v2.1/os-availability-zone?x=y",
            "alice:proj",
            Some("2.102"),
        )
        .await;

    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        after.body,
        serde_json::json!({"badRequest": {"code": 400, "message":
            "Additional properties are not allowed ('foo' was unexpected)"}})
    );
    assert_eq!(zones.status, StatusCode::BAD_REQUEST);
}
