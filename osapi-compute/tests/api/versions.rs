//! The version documents: `/` (200, and 300 elsewhere), `/v2.1`, `/v2`.

use axum::http::{Method, StatusCode};

use crate::fixture::{normalize, TestApp};
use crate::schema::assert_matches;

#[tokio::test]
async fn root_lists_both_versions_without_auth_and_matches_nova_sample() {
    let app = TestApp::new().await;
    let answer = app.call(Method::GET, "/", None, &[], None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_matches("versions-list", 200, &answer.body);
    // Compared with nova's doc/api_samples/versions/versions-get-resp.json
    // (nova 34: v2.0 SUPPORTED, v2.1 CURRENT up to 2.104).
    insta::assert_snapshot!(normalize(&answer.body));
    // The root app does not negotiate microversions.
    assert!(answer.header("OpenStack-API-Version").is_none());
}

#[tokio::test]
async fn unknown_path_under_root_app_is_300_with_choices() {
    let app = TestApp::new().await;
    let answer = app.call(Method::GET, "/servers", None, &[], None).await;
    assert_eq!(answer.status, StatusCode::MULTIPLE_CHOICES);
    let choices = answer.body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(
        choices[1]["links"][0]["href"],
        "http://openstack.example.com/v2.1/servers"
    );
}

#[tokio::test]
async fn v21_document_is_unauthenticated_with_version_range() {
    let app = TestApp::new().await;
    for path in ["/v2.1", "/v2.1/"] {
        let answer = app
            .call(
                Method::GET,
                path,
                None,
                &[("Accept", "application/json")],
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_matches("version-show", 200, &answer.body);
        let v = &answer.body["version"];
        assert_eq!(v["id"], "v2.1");
        assert_eq!(v["version"], "2.104");
        assert_eq!(v["min_version"], "2.1");
        assert_eq!(v["links"][0]["href"], "http://openstack.example.com/v2.1/");
        assert_eq!(
            answer.header("OpenStack-API-Version").as_deref(),
            Some("compute 2.1")
        );
    }
    let answer = app.call(Method::GET, "/v2.1", None, &[], None).await;
    // Compared with nova's doc/api_samples/versions/v21-version-get-resp.json.
    insta::assert_snapshot!(normalize(&answer.body));
}

#[tokio::test]
async fn legacy_v2_document_is_v20_without_version_headers() {
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::GET,
            "/v2",
            None,
            &[("OpenStack-API-Version", "compute 2.50")],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["version"]["id"], "v2.0");
    assert_eq!(answer.body["version"]["status"], "SUPPORTED");
    assert_eq!(answer.body["version"]["version"], "");
    assert!(answer.header("OpenStack-API-Version").is_none());
    assert!(answer.header("X-OpenStack-Nova-API-Version").is_none());
    assert!(answer.header_all("Vary").is_empty());
}

#[tokio::test]
async fn version_documents_carry_request_ids() {
    let app = TestApp::new().await;
    let answer = app.call(Method::GET, "/v2.1", None, &[], None).await;
    let id = answer.header("x-openstack-request-id").unwrap();
    assert!(id.starts_with("req-"), "{id}");
    assert_eq!(answer.header("x-compute-request-id"), Some(id));
}

/// A worker renders each version document once per application URL and
/// keeps a bounded number of them: every answer still names the host the
/// client used, however many hosts ask and in whatever order.
#[tokio::test]
async fn version_documents_follow_each_requests_host() {
    let app = TestApp::new().await;
    for round in 0..2 {
        for i in 0..40 {
            let host = format!("api-{i}.example.com:8774");
            let headers = [("Host", host.as_str())];
            let v21 = app.call(Method::GET, "/v2.1", None, &headers, None).await;
            assert_eq!(
                v21.body["version"]["links"][0]["href"],
                format!("http://{host}/v2.1/"),
                "round {round}"
            );
            let v20 = app.call(Method::GET, "/v2", None, &headers, None).await;
            assert_eq!(v20.body["version"]["id"], "v2.0");
            assert_eq!(
                v20.body["version"]["links"][0]["href"],
                format!("http://{host}/v2/")
            );
            let all = app.call(Method::GET, "/", None, &headers, None).await;
            assert_eq!(
                all.body["versions"][1]["links"][0]["href"],
                format!("http://{host}/v2.1/")
            );
        }
    }
}
