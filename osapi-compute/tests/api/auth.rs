//! noauth2, the project prefix, faults for unknown routes and media types.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::fixture::TestApp;

#[tokio::test]
async fn without_token_noauth2_answers_204_with_token_and_url() {
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::GET,
            "/v2.1/servers",
            None,
            &[("X-Auth-User", "bob"), ("X-Auth-Project-Id", "p1")],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("X-Auth-Token").as_deref(), Some("bob:p1"));
    assert_eq!(
        answer.header("X-Server-Management-Url").as_deref(),
        Some("http://openstack.example.com/v2.1/servers/p1")
    );
    let answer = app.call(Method::GET, "/v2.1/", None, &[], None).await;
    // `/v2.1/` is the version document, not the API.
    assert_eq!(answer.status, StatusCode::OK);
    let answer = app
        .call(Method::GET, "/v2.1/flavors", None, &[], None)
        .await;
    assert_eq!(
        answer.header("X-Auth-Token").as_deref(),
        Some("admin:admin")
    );
}

#[tokio::test]
async fn project_prefix_is_accepted_and_checked() {
    let app = TestApp::new().await;
    let project = "6f70656e737461636b20342065766572";
    let token = format!("alice:{project}");
    let id = app.create_server(&token, "vm1").await;
    let answer = app
        .get(&format!("/v2.1/{project}/servers"), &token, None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body["servers"][0]["links"][0]["href"],
        format!("http://openstack.example.com/v2.1/{project}/servers/{id}")
    );
    let answer = app.get("/v2.1/abcdef/servers", &token, None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        format!("Malformed request URL: URL's project_id 'abcdef' doesn't match Context's project_id '{project}'")
    );
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_404() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/no-such-thing", "alice:p", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["itemNotFound"]["code"], 404);
    let answer = app
        .call(Method::PATCH, "/v2.1/servers", Some("alice:p"), &[], None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unsupported_content_type_is_415_and_malformed_json_400() {
    let app = TestApp::new().await;
    let answer = app
        .call(
            Method::GET,
            "/v2.1/servers",
            Some("alice:p"),
            &[("Content-Type", "application/xml")],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        answer.body["badMediaType"]["message"],
        "Unsupported Content-Type"
    );
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v2.1/servers")
        .header("Host", "h")
        .header("X-Auth-Token", "alice:p")
        .header("Content-Type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let answer = app.raw(request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Malformed request body"
    );
}

#[tokio::test]
async fn oversized_body_is_413_overlimit_fault() {
    let app = TestApp::new().await;
    let big = "x".repeat(200_000);
    let answer = app
        .send(
            Method::POST,
            "/v2.1/servers",
            "alice:p",
            "2.1",
            serde_json::json!({"server": {"name": big}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.body["overLimit"]["code"], 413);
}

/// A request with the raw bytes `token` as its `X-Auth-Token`.
fn with_token(method: Method, path: &str, token: &[u8], body: Option<Value>) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("Host", "openstack.example.com")
        .header("X-Auth-Token", HeaderValue::from_bytes(token).unwrap());
    match body {
        Some(body) => request
            .header("Content-Type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap()
}

#[tokio::test]
async fn a_token_that_is_not_ascii_names_its_user_and_project_in_latin1() {
    let app = TestApp::new().await;
    // "élève:café" in latin-1, the bytes nova's WSGI server reads as such.
    let token = b"\xe9l\xe8ve:caf\xe9";

    let created = app
        .raw(with_token(
            Method::POST,
            "/v2.1/servers",
            token,
            Some(json!({"server": {"name": "vm1", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"}})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap();
    let shown = app
        .raw(with_token(
            Method::GET,
            &format!("/v2.1/servers/{id}"),
            token,
            None,
        ))
        .await;

    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["server"]["user_id"], "\u{e9}l\u{e8}ve");
    assert_eq!(shown.body["server"]["tenant_id"], "caf\u{e9}");
}

#[tokio::test]
async fn without_token_a_user_that_is_not_ascii_comes_back_in_the_token_as_sent() {
    let app = TestApp::new().await;
    let request = Request::builder()
        .uri("/v2.1/servers")
        .header("Host", "openstack.example.com")
        .header(
            "X-Auth-User",
            HeaderValue::from_bytes(b"\xe9l\xe8ve").unwrap(),
        )
        .body(Body::empty())
        .unwrap();

    let answer = app.raw(request).await;

    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        answer.headers["X-Auth-Token"].as_bytes(),
        b"\xe9l\xe8ve:admin"
    );
}
