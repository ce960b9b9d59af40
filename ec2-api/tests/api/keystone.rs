//! The keystone mode against a small fake Keystone (axum on 127.0.0.1:0):
//! the request's signature parts go to `POST /v3/ec2tokens` under the
//! service user's token, as nova's EC2KeystoneAuth sent them; Keystone's
//! yes is the caller's context, its no is `AuthFailure`, and no Keystone at
//! all is 503 `Unavailable` with nothing run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use ec2_api::{pipeline, AuthMode, Ec2Options, Ec2State};
use nova_middleware::authtoken::AuthTokenConfig;
use nova_paste::http::{Body, HttpService, Request};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fixture::{code, compute, send, text, FORM};

const SERVICE_TOKEN: &str = "service-token";
const GOOD_SIGNATURE: &str = "ff06a39d0112b5bd1db27811789841cc2b24fe9498a76b7f6807e3c71c282f55";

#[derive(Default)]
struct Fake {
    last: Mutex<Option<Value>>,
    ec2_calls: AtomicUsize,
}

fn token(user: &str, project: &str, roles: &[&str]) -> Value {
    json!({"token": {
        "methods": ["ec2credential"],
        "user": {"id": user, "name": user, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": project, "name": project, "domain": {"id": "default", "name": "Default"}},
        "roles": roles.iter().map(|r| json!({"id": r, "name": r})).collect::<Vec<_>>(),
        "expires_at": (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "issued_at": "2020-01-01T00:00:00.000000Z",
        "audit_ids": ["a"]
    }})
}

async fn login() -> axum::response::Response {
    axum::response::Response::builder()
        .status(201)
        .header("X-Subject-Token", SERVICE_TOKEN)
        .body(axum::body::Body::from(
            token("nova", "service", &["service"]).to_string(),
        ))
        .unwrap()
}

async fn ec2tokens(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    fake.ec2_calls.fetch_add(1, Ordering::SeqCst);
    let authorised =
        headers.get("x-auth-token").and_then(|v| v.to_str().ok()) == Some(SERVICE_TOKEN);
    let creds = body["credentials"].clone();
    *fake.last.lock().unwrap() = Some(creds.clone());
    let (status, answer) = if !authorised {
        (401, json!({"error": {"code": 401}}))
    } else if creds["signature"] == json!(GOOD_SIGNATURE) {
        (200, token("alice-id", "proj-id", &["member", "admin"]))
    } else {
        (
            401,
            json!({"error": {"code": 401, "message": "The request you have made requires authentication."}}),
        )
    };
    axum::response::Response::builder()
        .status(status)
        .header("X-Subject-Token", "ec2-token")
        .header("Content-Type", "application/json")
        .body(axum::body::Body::from(answer.to_string()))
        .unwrap()
}

async fn fake_keystone() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = axum::Router::new()
        .route("/v3/auth/tokens", post(login))
        .route("/v3/ec2tokens", post(ec2tokens))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

async fn keystone_app(url: &str) -> HttpService {
    let keystone = AuthTokenConfig::from_lookup(|k| match k {
        "auth_url" => Some(url.to_string()),
        "username" => Some("nova".into()),
        "password" => Some("pw".into()),
        "project_name" => Some("service".into()),
        "http_request_max_retries" => Some("1".into()),
        _ => None,
    })
    .unwrap();
    let options = Ec2Options {
        auth_mode: AuthMode::Keystone,
        keystone: Some(keystone),
        ..Ec2Options::default()
    };
    pipeline::app(Arc::new(Ec2State::new(compute().await, options)))
}

const BODY: &str = "Action=DescribeRegions&Version=2016-11-15&RegionName.1=nova";

/// botocore's SigV4 POST for alice:proj1 (the signature is what the fake
/// Keystone accepts).
fn sigv4_post(signature: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "127.0.0.1:8773")
        .header("content-type", FORM)
        .header("x-amz-date", "20261124T163811Z")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=alice:proj1/20261124/RegionOne/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"),
        )
        .body(Body::from(BODY))
        .unwrap()
}

#[tokio::test]
async fn a_sigv4_request_keystone_accepts_runs_as_the_credentials_owner() {
    let (fake, url) = fake_keystone().await;
    let app = keystone_app(&url).await;
    let (status, body) = send(&app, sigv4_post(GOOD_SIGNATURE)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text(&body, "regionName"), Some("nova"));
    let sent = fake.last.lock().unwrap().clone().unwrap();
    assert_eq!(sent["access"], json!("alice:proj1"));
    assert_eq!(sent["signature"], json!(GOOD_SIGNATURE));
    assert_eq!(sent["verb"], json!("POST"));
    assert_eq!(sent["path"], json!("/"));
    assert_eq!(sent["host"], json!("127.0.0.1:8773"));
    assert_eq!(
        sent["body_hash"],
        json!(hex::encode(Sha256::digest(BODY.as_bytes())))
    );
    // Keystone looks these up by their exact spelling.
    assert_eq!(sent["headers"]["X-Amz-Date"], json!("20261124T163811Z"));
    assert!(sent["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 Credential=alice:proj1/"));
    assert_eq!(sent["headers"]["Host"], json!("127.0.0.1:8773"));
}

#[tokio::test]
async fn a_signature_keystone_refuses_is_auth_failure() {
    let (fake, url) = fake_keystone().await;
    let app = keystone_app(&url).await;
    let (status, body) = send(&app, sigv4_post(&"0".repeat(64))).await;
    assert_eq!((status, code(&body)), (401, Some("AuthFailure")), "{body}");
    assert_eq!(fake.ec2_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_sigv2_request_sends_its_parameters_without_the_signature() {
    let (fake, url) = fake_keystone().await;
    let app = keystone_app(&url).await;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "DescribeRegions")
        .append_pair("Version", "2016-11-15")
        .append_pair("AWSAccessKeyId", "v2key")
        .append_pair("SignatureVersion", "2")
        .append_pair("SignatureMethod", "HmacSHA256")
        .append_pair("Timestamp", &now)
        .append_pair("Signature", GOOD_SIGNATURE)
        .finish();
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "127.0.0.1:8773")
        .header("content-type", FORM)
        .body(Body::from(body))
        .unwrap();
    let (status, answer) = send(&app, req).await;
    assert_eq!(status, 200, "{answer}");
    let sent = fake.last.lock().unwrap().clone().unwrap();
    assert_eq!(sent["access"], json!("v2key"));
    assert_eq!(sent["params"]["SignatureMethod"], json!("HmacSHA256"));
    assert_eq!(sent["params"]["Timestamp"], json!(now));
    assert!(sent["params"].get("Signature").is_none(), "{sent}");
}

#[tokio::test]
async fn keystone_unreachable_is_503_unavailable_and_nothing_runs() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = keystone_app(&url).await;
    let (status, body) = send(&app, sigv4_post(GOOD_SIGNATURE)).await;
    assert_eq!((status, code(&body)), (503, Some("Unavailable")), "{body}");
    assert!(!body.contains("regionName"), "{body}");
}
