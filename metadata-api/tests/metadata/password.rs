//! The instance password: GET, POST once (409 after), nova's 1020-byte
//! limit, cleared through the compute API.

use axum::http::{Method, StatusCode};

use crate::support::*;

const PW: &str = "/openstack/latest/password";

#[tokio::test]
async fn password_is_empty_until_posted_then_served() {
    let compute = compute_with_sample();
    let svc = service(config(), compute.clone());
    let empty = get(PW).from(FIXED_IP).send(&svc).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.text(), "");
    let posted = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body("c2VjcmV0")
        .send(&svc)
        .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(posted.text(), "");
    let read = get(PW).from(FIXED_IP).send(&svc).await;
    assert_eq!(read.text(), "c2VjcmV0");
    assert_eq!(read.content_type(), "text/html; charset=UTF-8");
}

#[tokio::test]
async fn second_post_is_409_until_cleared() {
    let compute = compute_with_sample();
    let svc = service(config(), compute.clone());
    let first = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body("one")
        .send(&svc)
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body("two")
        .send(&svc)
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(get(PW).from(FIXED_IP).send(&svc).await.text(), "one");
    compute.clear_password(UUID);
    assert_eq!(get(PW).from(FIXED_IP).send(&svc).await.text(), "");
    let again = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body("two")
        .send(&svc)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(get(PW).from(FIXED_IP).send(&svc).await.text(), "two");
}

#[tokio::test]
async fn posts_over_1020_bytes_are_400() {
    let svc = service(config(), compute_with_sample());
    let too_big = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body(vec![b'a'; 1021])
        .send(&svc)
        .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_big.text(),
        "400 Bad Request\n\nRequest is too large.\n\n   "
    );
    let just_fits = get(PW)
        .method(Method::POST)
        .from(FIXED_IP)
        .body(vec![b'a'; 1020])
        .send(&svc)
        .await;
    assert_eq!(just_fits.status, StatusCode::OK);
    assert_eq!(get(PW).from(FIXED_IP).send(&svc).await.body.len(), 1020);
}

#[tokio::test]
async fn other_methods_are_400() {
    let svc = service(config(), compute_with_sample());
    let a = get(PW)
        .method(Method::PUT)
        .from(FIXED_IP)
        .body("x")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("GET and POST only are supported."));
}

#[tokio::test]
async fn versions_before_grizzly_have_no_password() {
    let svc = service(config(), compute_with_sample());
    let a = get("/openstack/2012-08-10/password")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let b = get("/openstack/2013-04-04/password")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(b.status, StatusCode::OK);
}
