//! The filter against a small fake Keystone (axum on 127.0.0.1:0) that
//! knows a few tokens and counts the validations it answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::testing::{make_filter, send, text};

const SERVICE_TOKEN: &str = "service-token";

#[derive(Clone)]
struct KnownToken {
    user: &'static str,
    project: &'static str,
    roles: Vec<&'static str>,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct Fake {
    tokens: Mutex<HashMap<String, KnownToken>>,
    validations: AtomicUsize,
    service_logins: AtomicUsize,
}

fn token_body(t: &KnownToken) -> serde_json::Value {
    json!({"token": {
        "methods": ["password"],
        "user": {"id": format!("{}-id", t.user), "name": t.user,
                 "domain": {"id": "default", "name": "Default"}},
        "project": {"id": format!("{}-id", t.project), "name": t.project,
                    "domain": {"id": "default", "name": "Default"}},
        "roles": t.roles.iter().map(|r| json!({"id": r, "name": r})).collect::<Vec<_>>(),
        "expires_at": t.expires_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "issued_at": "2020-01-01T00:00:00.000000Z",
        "audit_ids": ["a"],
        "is_domain": false,
        "catalog": []
    }})
}

async fn login(State(fake): State<Arc<Fake>>) -> axum::response::Response {
    fake.service_logins.fetch_add(1, Ordering::SeqCst);
    let body = token_body(&KnownToken {
        user: "nova",
        project: "service",
        roles: vec!["service"],
        expires_at: Utc::now() + chrono::Duration::hours(1),
    });
    axum::response::Response::builder()
        .status(201)
        .header("X-Subject-Token", SERVICE_TOKEN)
        .header("Content-Type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

async fn validate(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> axum::response::Response {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if header("x-auth-token") != SERVICE_TOKEN {
        return axum::response::Response::builder()
            .status(401)
            .body(axum::body::Body::from(r#"{"error": {"code": 401}}"#))
            .unwrap();
    }
    fake.validations.fetch_add(1, Ordering::SeqCst);
    let known = fake
        .tokens
        .lock()
        .unwrap()
        .get(&header("x-subject-token"))
        .cloned();
    match known {
        Some(t) => axum::response::Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from(token_body(&t).to_string()))
            .unwrap(),
        None => axum::response::Response::builder()
            .status(404)
            .body(axum::body::Body::from(
                r#"{"error": {"code": 404, "message": "Failed to validate token"}}"#,
            ))
            .unwrap(),
    }
}

/// Starts the fake; returns it and its base URL (`http://127.0.0.1:PORT`).
async fn fake_keystone() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = axum::Router::new()
        .route("/v3/auth/tokens", get(validate).post(login))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

fn know(fake: &Fake, token: &str, user: &'static str, roles: Vec<&'static str>, life: Duration) {
    fake.tokens.lock().unwrap().insert(
        token.to_string(),
        KnownToken {
            user,
            project: "demo",
            roles,
            expires_at: Utc::now() + chrono::Duration::from_std(life).unwrap(),
        },
    );
}

/// An app that answers 200 with the identity headers it was given (JSON),
/// and counts its calls.
fn identity_echo(calls: Arc<AtomicUsize>) -> HttpService {
    nova_paste::http::boxed(tower::service_fn(move |req: Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut seen = serde_json::Map::new();
            for name in [
                "x-identity-status",
                "x-user-id",
                "x-user-name",
                "x-project-id",
                "x-project-name",
                "x-roles",
                "x-user-domain-id",
                "x-project-domain-name",
                "x-tenant-id",
            ] {
                if let Some(v) = req.headers().get(name) {
                    seen.insert(name.into(), v.to_str().unwrap().into());
                }
            }
            seen.insert(
                "has_extension".into(),
                req.extensions().get::<KeystoneAuth>().is_some().into(),
            );
            Ok::<_, std::convert::Infallible>(Response::new(Body::from(
                serde_json::Value::Object(seen).to_string(),
            )))
        }
    }))
}

fn filter_for(url: &str, extra: &[(&str, &str)]) -> (HttpService, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut local = vec![
        ("www_authenticate_uri", "http://keystone.example:5000"),
        ("username", "nova"),
        ("password", "pw"),
        ("project_name", "service"),
        ("http_request_max_retries", "1"),
    ];
    local.extend_from_slice(extra);
    let global = [("keystone_authtoken.auth_url", url)];
    let filter = make_filter(factory, &local, &global).unwrap();
    (filter(identity_echo(calls.clone())), calls)
}

fn request(token: Option<&str>, extra: &[(&str, &str)]) -> Request {
    let mut b = http::Request::builder().uri("/v2.1/servers");
    if let Some(t) = token {
        b = b.header("X-Auth-Token", t);
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

async fn json_of(resp: Response) -> serde_json::Value {
    serde_json::from_str(&text(resp).await).unwrap()
}

#[tokio::test]
async fn a_valid_token_reaches_the_app_with_keystonemiddlewares_headers() {
    let (fake, url) = fake_keystone().await;
    know(
        &fake,
        "good",
        "alice",
        vec!["member", "reader"],
        Duration::from_secs(3600),
    );
    let (app, calls) = filter_for(&url, &[]);
    let resp = send(&app, request(Some("good"), &[])).await;
    assert_eq!(resp.status(), 200);
    let seen = json_of(resp).await;
    assert_eq!(
        seen,
        json!({
            "x-identity-status": "Confirmed",
            "x-user-id": "alice-id",
            "x-user-name": "alice",
            "x-project-id": "demo-id",
            "x-project-name": "demo",
            "x-roles": "member,reader",
            "x-user-domain-id": "default",
            "x-project-domain-name": "Default",
            "x-tenant-id": "demo-id",
            "has_extension": true
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(fake.service_logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_invalid_or_missing_token_gets_401_with_www_authenticate() {
    let (_fake, url) = fake_keystone().await;
    let (app, calls) = filter_for(&url, &[]);
    for token in [Some("bogus"), None] {
        let resp = send(&app, request(token, &[])).await;
        assert_eq!(resp.status(), 401, "{token:?}");
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Keystone uri=\"http://keystone.example:5000\""
        );
        assert_eq!(
            json_of(resp).await,
            json!({"unauthorized": {"code": 401,
                "message": "The request you have made requires authentication."}})
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the app was reached");
}

#[tokio::test]
async fn a_cached_token_is_not_validated_again() {
    let (fake, url) = fake_keystone().await;
    know(
        &fake,
        "good",
        "alice",
        vec!["member"],
        Duration::from_secs(3600),
    );
    let (app, _) = filter_for(&url, &[]);
    for _ in 0..3 {
        assert_eq!(send(&app, request(Some("good"), &[])).await.status(), 200);
    }
    assert_eq!(fake.validations.load(Ordering::SeqCst), 1);
    assert_eq!(fake.service_logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_invalid_answer_is_cached_too_until_token_cache_time() {
    let (fake, url) = fake_keystone().await;
    let (app, _) = filter_for(&url, &[("token_cache_time", "1")]);
    for _ in 0..3 {
        assert_eq!(send(&app, request(Some("bogus"), &[])).await.status(), 401);
    }
    assert_eq!(fake.validations.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(send(&app, request(Some("bogus"), &[])).await.status(), 401);
    assert_eq!(fake.validations.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_cache_never_outlives_the_tokens_expiry() {
    let (fake, url) = fake_keystone().await;
    know(
        &fake,
        "short",
        "alice",
        vec!["member"],
        Duration::from_millis(1500),
    );
    let (app, calls) = filter_for(&url, &[("token_cache_time", "300")]);
    assert_eq!(send(&app, request(Some("short"), &[])).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // Past expires_at: the cached answer is dropped, Keystone asked again,
    // and its (expired) token refused.
    assert_eq!(send(&app, request(Some("short"), &[])).await.status(), 401);
    assert_eq!(fake.validations.load(Ordering::SeqCst), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn keystone_unreachable_is_503_and_nothing_is_served() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (app, calls) = filter_for(&url, &[]);
    let resp = send(&app, request(Some("anything"), &[])).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(
        json_of(resp).await["serviceUnavailable"]["code"],
        json!(503)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn identity_headers_sent_by_the_client_are_stripped() {
    let (fake, url) = fake_keystone().await;
    know(
        &fake,
        "good",
        "alice",
        vec!["member"],
        Duration::from_secs(3600),
    );
    let forged = [
        ("X-Roles", "admin"),
        ("X-User-Id", "root"),
        ("X-Project-Id", "other"),
        ("X-Identity-Status", "Confirmed"),
    ];
    let (app, _) = filter_for(&url, &[]);
    let seen = json_of(send(&app, request(Some("good"), &forged)).await).await;
    assert_eq!(
        (&seen["x-roles"], &seen["x-user-id"], &seen["x-project-id"]),
        (&json!("member"), &json!("alice-id"), &json!("demo-id"))
    );
    // With delay_auth_decision an invalid request goes on, with none of them.
    let (app, calls) = filter_for(&url, &[("delay_auth_decision", "true")]);
    let seen = json_of(send(&app, request(Some("bogus"), &forged)).await).await;
    assert_eq!(
        seen,
        json!({"x-identity-status": "Invalid", "has_extension": false})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_service_token_without_the_required_role_is_refused() {
    let (fake, url) = fake_keystone().await;
    know(
        &fake,
        "good",
        "alice",
        vec!["member"],
        Duration::from_secs(3600),
    );
    know(
        &fake,
        "svc",
        "glance",
        vec!["member"],
        Duration::from_secs(3600),
    );
    let (app, _) = filter_for(&url, &[("service_token_roles_required", "true")]);
    let resp = send(&app, request(Some("good"), &[("X-Service-Token", "svc")])).await;
    assert_eq!(resp.status(), 401);
    know(
        &fake,
        "svc2",
        "glance",
        vec!["service"],
        Duration::from_secs(3600),
    );
    let resp = send(&app, request(Some("good"), &[("X-Service-Token", "svc2")])).await;
    assert_eq!(resp.status(), 200);
}
