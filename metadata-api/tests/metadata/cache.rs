//! Caching per `[api] metadata_cache_expiration`: a change is visible once
//! the entry expires, never later; 0 disables the cache.

use std::sync::atomic::Ordering;
use std::time::Duration;

use metadata_api::MetadataConfig;

use crate::support::*;

const ID: &str = "/openstack/latest/meta_data.json";

#[tokio::test]
async fn a_change_shows_once_the_cache_expires() {
    let compute = compute_with_sample();
    let mut c = config();
    c.api.metadata_cache_expiration = 1;
    let svc = service(c, compute.clone());
    assert_eq!(
        get(ID).from(FIXED_IP).send(&svc).await.json()["name"],
        "vm1"
    );
    let mut renamed = sample_instance();
    renamed.name = "renamed".to_owned();
    compute.put(renamed);
    // Within the expiration the cached snapshot is served...
    assert_eq!(
        get(ID).from(FIXED_IP).send(&svc).await.json()["name"],
        "vm1"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // ...and never after it.
    assert_eq!(
        get(ID).from(FIXED_IP).send(&svc).await.json()["name"],
        "renamed"
    );
}

#[tokio::test]
async fn cached_reads_do_not_reach_the_store() {
    let compute = compute_with_sample();
    let mut c = config();
    c.api.metadata_cache_expiration = 15;
    let svc = service(c, compute.clone());
    for _ in 0..5 {
        get("/latest/meta-data/instance-id")
            .from(FIXED_IP)
            .send(&svc)
            .await;
    }
    assert_eq!(compute.lookups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn zero_expiration_reads_the_store_every_time() {
    let compute = compute_with_sample();
    let svc = service(config(), compute.clone());
    get(ID).from(FIXED_IP).send(&svc).await;
    let mut renamed = sample_instance();
    renamed.name = "renamed".to_owned();
    compute.put(renamed);
    assert_eq!(
        get(ID).from(FIXED_IP).send(&svc).await.json()["name"],
        "renamed"
    );
    assert_eq!(compute.lookups.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_deleted_instance_disappears_once_uncached() {
    let compute = compute_with_sample();
    let svc = service(config(), compute.clone());
    compute.delete(UUID);
    let a = get(ID).from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, axum::http::StatusCode::NOT_FOUND);
}

/// Issue 17: an address outlives its instance. With the default cache
/// lifetime, a guest that is given the address of a deleted instance of
/// another tenant must read its own metadata, never the cached data of its
/// predecessor.
#[tokio::test]
async fn a_cached_instance_is_not_served_to_the_next_owner_of_its_address() {
    let compute = compute_with_sample();
    let default_lifetime = MetadataConfig::default().api.metadata_cache_expiration;
    assert!(default_lifetime > 0);
    let mut c = config();
    c.api.metadata_cache_expiration = default_lifetime;
    let svc = service(c, compute.clone());
    let before = get(ID).from(FIXED_IP).send(&svc).await.json();
    assert_eq!(before["uuid"], UUID);

    compute.delete(UUID);
    let mut successor = sample_instance();
    successor.uuid = "6e1d5e0b-0000-4000-8000-00000000beef".to_owned();
    successor.project_id = "another-tenant".to_owned();
    successor.name = "successor".to_owned();
    successor.user_data = None;
    successor.user_data_b64 = None;
    compute.put(successor);

    let after = get(ID).from(FIXED_IP).send(&svc).await.json();
    assert_eq!(after["uuid"], "6e1d5e0b-0000-4000-8000-00000000beef");
    assert_eq!(after["name"], "successor");
    let user_data = get("/latest/user-data").from(FIXED_IP).send(&svc).await;
    assert_eq!(user_data.status, axum::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cached_instance_whose_address_is_freed_is_not_served() {
    let compute = compute_with_sample();
    let mut c = config();
    c.api.metadata_cache_expiration = MetadataConfig::default().api.metadata_cache_expiration;
    let svc = service(c, compute.clone());
    assert_eq!(get(ID).from(FIXED_IP).send(&svc).await.status, 200);
    compute.delete(UUID);
    let a = get(ID).from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, axum::http::StatusCode::NOT_FOUND);
}
