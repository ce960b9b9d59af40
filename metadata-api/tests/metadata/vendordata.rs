//! Dynamic vendordata against real HTTP targets on 127.0.0.1: one that
//! answers, one that times out, one that answers garbage, one that fails.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};

use metadata_api::config::VendordataProvider;

use crate::support::*;

const V2: &str = "/openstack/latest/vendor_data2.json";

/// Starts the targets and returns their address.
async fn start_targets() -> SocketAddr {
    async fn good(headers: HeaderMap, Json(body): Json<Value>) -> Json<Value> {
        Json(json!({
            "seen": {
                "instance-id": body["instance-id"],
                "project-id": body["project-id"],
                "image-id": body["image-id"],
                "hostname": body["hostname"],
                "user-data": body["user-data"],
                "metadata": body["metadata"],
                "boot-roles": body["boot-roles"],
            },
            "user-agent": headers.get("user-agent").and_then(|v| v.to_str().ok()),
            "content-type": headers.get("content-type").and_then(|v| v.to_str().ok()),
        }))
    }
    async fn slow() -> Json<Value> {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Json(json!({"late": true}))
    }
    async fn garbage() -> &'static str {
        "<html>this is not json"
    }
    async fn broken() -> (StatusCode, Json<Value>) {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "boom"})),
        )
    }
    let app = axum::Router::new()
        .route("/good", post(good))
        .route("/slow", post(slow))
        .route("/garbage", post(garbage))
        .route("/broken", post(broken));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A port nothing listens on.
async fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn dynamic_config(
    addr: SocketAddr,
    closed: SocketAddr,
    fatal: bool,
) -> metadata_api::MetadataConfig {
    let mut c = config();
    c.api.vendordata_providers = vec![
        VendordataProvider::StaticJson,
        VendordataProvider::DynamicJson,
    ];
    c.api.vendordata_dynamic_targets = vec![
        format!("good@http://{addr}/good"),
        format!("slow@http://{addr}/slow"),
        format!("garbage@http://{addr}/garbage"),
        format!("broken@http://{addr}/broken"),
        format!("refused@http://{closed}/"),
    ];
    c.api.vendordata_dynamic_read_timeout = 1;
    c.api.vendordata_dynamic_failure_fatal = fatal;
    c
}

#[tokio::test]
async fn answering_target_is_served_and_failing_ones_are_empty() {
    let addr = start_targets().await;
    let svc = service(
        dynamic_config(addr, closed_port().await, false),
        compute_with_sample(),
    );
    let started = Instant::now();
    let a = get(V2).from(FIXED_IP).send(&svc).await;
    let took = started.elapsed();
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/json");
    let v = a.json();
    assert_eq!(
        v["good"],
        json!({
            "seen": {
                "instance-id": UUID,
                "project-id": PROJECT,
                "image-id": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
                "hostname": "vm1",
                "user-data": "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogdm0xCg==",
                "metadata": {"role": "web"},
                "boot-roles": "member,reader",
            },
            "user-agent": "openstack-nova-vendordata",
            "content-type": "application/json",
        })
    );
    // nova's driver answers {} for a target that fails, under its name.
    for failing in ["slow", "garbage", "broken", "refused"] {
        assert_eq!(v[failing], json!({}), "{failing}");
    }
    assert_eq!(v["static"], json!({}));
    assert_eq!(v.as_object().unwrap().len(), 6);
    // The read timeout (1 s) bounds the wait, not the slow target (10 s).
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn failure_fatal_turns_a_failing_target_into_a_500() {
    let addr = start_targets().await;
    let svc = service(
        dynamic_config(addr, closed_port().await, true),
        compute_with_sample(),
    );
    let a = get(V2).from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(a
        .text()
        .contains("An unknown error has occurred. Please try your request again."));
    assert!(!a.text().contains("127.0.0.1"), "no internals in the body");
}

#[tokio::test]
async fn dynamic_target_named_static_is_dropped_as_a_duplicate() {
    let addr = start_targets().await;
    let mut c = config();
    c.api.vendordata_providers = vec![
        VendordataProvider::StaticJson,
        VendordataProvider::DynamicJson,
    ];
    c.api.vendordata_dynamic_targets = vec![format!("static@http://{addr}/good")];
    let svc = service(c, compute_with_sample());
    let v = get(V2).from(FIXED_IP).send(&svc).await.json();
    assert_eq!(v, json!({"static": {}}));
}
