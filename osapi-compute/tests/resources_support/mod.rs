//! In-process fixture for the resource tests: a compute domain over a
//! SQLite file in a temp dir, the resource routes behind microversion
//! negotiation and a noauth2-style context, and a one-call client.

#![allow(dead_code)] // each test binary uses a different part of it

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use osapi_compute::config::ApiConfig;
use osapi_compute::state::ApiState;

/// The answer to one call.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl Answer {
    /// The `message` of a nova fault body (`{"<name>": {"message": ...}}`).
    pub fn fault_message(&self) -> String {
        self.body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|f| f.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// The fault name (`badRequest`, `forbidden`, ...).
    pub fn fault_name(&self) -> String {
        self.body
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default()
    }
}

/// A compute API (resources only) over a fresh SQLite database.
pub struct TestApi {
    /// The compute domain behind the routes, for set-up.
    pub compute: Arc<compute::Compute>,
    /// The state the routes use.
    pub state: ApiState,
    router: Router,
    _dir: tempfile::TempDir,
}

/// The noauth2 part of the pipeline: `X-Auth-Token: user:project` becomes
/// the request's context.
async fn noauth(mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(token) = token {
        let ctx = osapi_compute::auth::context_from_token(&token, None);
        request.extensions_mut().insert(ctx);
    }
    next.run(request).await
}

impl TestApi {
    /// A seeded store (m1.tiny..m1.xlarge, cirros) with instant transitions.
    pub async fn new() -> Self {
        Self::with_config(ApiConfig::default()).await
    }

    /// The same with chosen `[api]` options.
    pub async fn with_config(config: ApiConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
        let store = compute::Store::connect(&url, compute::StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let compute_config = compute::ComputeConfig {
            transition_delay: Duration::ZERO,
            ..Default::default()
        };
        let compute = Arc::new(compute::Compute::new(store, compute_config));
        let state = ApiState::new(compute.clone(), config);
        let router = osapi_compute::resources::routes()
            .with_state(state.clone())
            .layer(axum::middleware::from_fn(
                osapi_compute::microversion::negotiate,
            ))
            .layer(axum::middleware::from_fn(noauth));
        TestApi {
            compute,
            state,
            router,
            _dir: dir,
        }
    }

    /// Sends one request; `version` is the `OpenStack-API-Version` compute
    /// microversion (none: 2.1).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        version: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "api.example.com")
            .header("x-auth-token", token);
        if let Some(v) = version {
            builder = builder.header("OpenStack-API-Version", format!("compute {v}"));
        }
        let request = match body {
            Some(b) => builder
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .expect("request"),
            None => builder.body(Body::empty()).expect("request"),
        };
        send(self.router.clone(), request).await
    }

    /// GET as `token` at `version`.
    pub async fn get(&self, path: &str, token: &str, version: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, version, None).await
    }
}

/// Runs `request` through `router` and collects the answer.
pub async fn send(router: Router, request: axum::http::Request<Body>) -> Answer {
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// The admin token of noauth2.
pub const ADMIN: &str = "admin:admin";
/// A member of project `alpha`.
pub const ALICE: &str = "alice:alpha";
/// A member of project `beta`.
pub const BOB: &str = "bob:beta";
