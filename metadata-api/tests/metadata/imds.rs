//! IMDSv2 session tokens: issue, require, expire, refuse proxied PUTs, and
//! acceptance across worker processes (two services sharing the key file).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use metadata_api::token::{TOKEN_HEADER, TTL_HEADER};
use metadata_api::MetadataService;

use crate::support::*;

fn required() -> metadata_api::MetadataConfig {
    let mut c = config();
    c.imds.imds_tokens_required = true;
    c
}

async fn put_token(svc: &Arc<MetadataService>, ttl: &str) -> Answer {
    get("/latest/api/token")
        .method(Method::PUT)
        .from(FIXED_IP)
        .header(TTL_HEADER, ttl)
        .send(svc)
        .await
}

#[tokio::test]
async fn without_a_token_a_required_service_answers_401() {
    let svc = service(required(), compute_with_sample());
    let a = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_valid_token_is_served() {
    let svc = service(required(), compute_with_sample());
    let t = put_token(&svc, "21600").await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.headers[TTL_HEADER], "21600");
    let token = t.text();
    let a = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .header(TOKEN_HEADER, &token)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), "i-00000001");
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let svc = service(required(), compute_with_sample());
    let t = put_token(&svc, "1").await;
    assert_eq!(t.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let a = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .header(TOKEN_HEADER, &t.text())
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forged_or_foreign_token_is_401_even_when_tokens_are_optional() {
    let compute = compute_with_sample();
    let mut second = sample_instance();
    second.uuid = "11111111-2222-3333-4444-555555555555".to_owned();
    second.fixed_ips = vec!["10.0.0.4".to_owned()];
    compute.put(second);
    let svc = service(config(), compute);
    let theirs = get("/latest/api/token")
        .method(Method::PUT)
        .from("10.0.0.4")
        .header(TTL_HEADER, "60")
        .send(&svc)
        .await
        .text();
    for bad in [theirs.as_str(), "garbage", ""] {
        let a = get("/latest/meta-data/instance-id")
            .from(FIXED_IP)
            .header(TOKEN_HEADER, bad)
            .send(&svc)
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "token {bad:?}");
    }
    // Without a token the optional service serves as nova does.
    let a = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn ttl_outside_1_to_21600_is_400() {
    let svc = service(required(), compute_with_sample());
    for ttl in ["0", "21601", "abc", ""] {
        assert_eq!(
            put_token(&svc, ttl).await.status,
            StatusCode::BAD_REQUEST,
            "ttl {ttl:?}"
        );
    }
    let missing = get("/latest/api/token")
        .method(Method::PUT)
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_put_with_forwarded_for_is_403() {
    let svc = service(required(), compute_with_sample());
    let a = get("/latest/api/token")
        .method(Method::PUT)
        .from(FIXED_IP)
        .header(TTL_HEADER, "60")
        .header("X-Forwarded-For", "192.0.2.1")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn non_instances_get_no_token() {
    let svc = service(required(), compute_with_sample());
    let a = get("/latest/api/token")
        .method(Method::PUT)
        .from("10.0.0.99")
        .header(TTL_HEADER, "60")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn behind_the_neutron_proxy_tokens_bind_the_signed_instance() {
    let mut c = proxy_config();
    c.imds.imds_tokens_required = true;
    let svc = service(c, compute_with_sample());
    let token = get("/latest/api/token")
        .method(Method::PUT)
        .signed(UUID, PROJECT, SECRET)
        .header(TTL_HEADER, "60")
        .send(&svc)
        .await;
    assert_eq!(token.status, StatusCode::OK);
    let a = get("/openstack/latest/meta_data.json")
        .signed(UUID, PROJECT, SECRET)
        .header(TOKEN_HEADER, &token.text())
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // A second forwarding hop is a proxy in the guest: refused.
    let proxied = get("/latest/api/token")
        .method(Method::PUT)
        .signed(UUID, PROJECT, SECRET)
        .header("X-Forwarded-For", "192.0.2.1")
        .header(TTL_HEADER, "60")
        .send(&svc)
        .await;
    assert_eq!(proxied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_from_one_worker_is_accepted_by_another() {
    // Two services built from the same configuration stand for two worker
    // processes: each derives the key from the shared key file.
    let dir = tempfile::tempdir().unwrap();
    let mut c = required();
    c.imds.state_path = Some(dir.path().to_path_buf());
    let compute = compute_with_sample();
    let worker1 = Arc::new(MetadataService::new(c.clone(), compute.clone()).unwrap());
    let worker2 = Arc::new(MetadataService::new(c, compute).unwrap());
    let token = put_token(&worker1, "60").await.text();
    let a = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .header(TOKEN_HEADER, &token)
        .send(&worker2)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    // A worker keyed differently does not accept it.
    let stranger = service(required(), compute_with_sample());
    let b = get("/latest/meta-data/instance-id")
        .from(FIXED_IP)
        .header(TOKEN_HEADER, &token)
        .send(&stranger)
        .await;
    assert_eq!(b.status, StatusCode::UNAUTHORIZED);
}
