//! The OpenStack tree: version listing, version directories,
//! meta_data.json per version, user_data, network_data.json, vendor_data.json.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;

/// meta_data.json with its random seed checked (512 random bytes) and
/// replaced by a placeholder, so that the rest can be snapshot.
fn without_seed(mut md: Value) -> Value {
    if let Some(seed) = md.get("random_seed") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(seed.as_str().unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 512);
        md["random_seed"] = json!("[512 random bytes, base64]");
    }
    md
}

#[tokio::test]
async fn openstack_listing_shows_versions_up_to_today_and_latest() {
    let svc = service(config(), compute_with_sample());
    let a = get("/openstack").from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "text/plain; charset=UTF-8");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let mut expected: Vec<&str> = metadata_api::versions::OPENSTACK_VERSIONS
        .iter()
        .copied()
        .filter(|v| *v <= today.as_str())
        .collect();
    expected.push("latest");
    assert_eq!(a.text(), expected.join("\n"));
    assert_eq!(
        get("/openstack/").from(FIXED_IP).send(&svc).await.text(),
        a.text()
    );
}

#[tokio::test]
async fn version_directories_list_the_files_of_their_version() {
    let svc = service(config(), compute_with_sample());
    for (version, listing) in [
        ("2012-08-10", "meta_data.json\nuser_data"),
        ("2013-04-04", "meta_data.json\nuser_data\npassword"),
        ("2013-10-17", "meta_data.json\nuser_data\npassword\nvendor_data.json"),
        ("2015-10-15", "meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json"),
        (
            "latest",
            "meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\nvendor_data2.json",
        ),
    ] {
        let a = get(&format!("/openstack/{version}")).from(FIXED_IP).send(&svc).await;
        assert_eq!(a.status, StatusCode::OK, "{version}");
        assert_eq!(a.text(), listing, "{version}");
    }
}

#[tokio::test]
async fn meta_data_json_of_each_version_matches_snapshots() {
    let svc = service(config(), compute_with_sample());
    for version in [
        "2012-08-10",
        "2013-04-04",
        "2015-10-15",
        "2016-06-30",
        "2020-10-14",
        "latest",
    ] {
        let a = get(&format!("/openstack/{version}/meta_data.json"))
            .from(FIXED_IP)
            .send(&svc)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{version}");
        assert_eq!(a.content_type(), "application/json");
        insta::assert_json_snapshot!(format!("meta_data_json_{version}"), without_seed(a.json()));
    }
}

#[tokio::test]
async fn random_seed_is_fresh_on_every_read() {
    let svc = service(config(), compute_with_sample());
    let one = get("/openstack/latest/meta_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await
        .json();
    let two = get("/openstack/latest/meta_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await
        .json();
    assert_ne!(one["random_seed"], two["random_seed"]);
}

#[tokio::test]
async fn dhcp_domain_shapes_the_hostname() {
    let mut c = config();
    c.api.dhcp_domain = String::new();
    let svc = service(c, compute_with_sample());
    let md = get("/openstack/latest/meta_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await
        .json();
    assert_eq!(md["hostname"], "vm1");
    let ec2 = get("/latest/meta-data/hostname")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(ec2.text(), "vm1");
}

#[tokio::test]
async fn user_data_and_network_data_are_served() {
    let svc = service(config(), compute_with_sample());
    let ud = get("/openstack/latest/user_data")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(ud.status, StatusCode::OK);
    assert_eq!(ud.body, USER_DATA);
    let nd = get("/openstack/latest/network_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(nd.status, StatusCode::OK);
    insta::assert_json_snapshot!("network_data_json", nd.json());
}

#[tokio::test]
async fn version_gated_files_are_404_before_their_version() {
    let svc = service(config(), compute_with_sample());
    for path in [
        "/openstack/2012-08-10/password",
        "/openstack/2013-04-04/vendor_data.json",
        "/openstack/2016-06-30/vendor_data2.json",
        "/openstack/2099-01-01/meta_data.json",
        "/openstack/latest/nothing",
        "/openstack/content",
        "/openstack/content/0000",
    ] {
        let a = get(path).from(FIXED_IP).send(&svc).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn vendor_data_json_serves_the_static_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vendor.json");
    std::fs::write(&file, br#"{"cloud": "ours", "motd": ["a", "b"]}"#).unwrap();
    let mut c = config();
    c.api.vendordata_jsonfile_path = Some(file);
    let svc = service(c, compute_with_sample());
    let a = get("/openstack/latest/vendor_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/json");
    assert_eq!(a.json(), json!({"cloud": "ours", "motd": ["a", "b"]}));
    let v2 = get("/openstack/latest/vendor_data2.json")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(
        v2.json(),
        json!({"static": {"cloud": "ours", "motd": ["a", "b"]}})
    );
}

#[tokio::test]
async fn vendor_data_json_is_empty_without_a_file_and_404_without_static_provider() {
    let svc = service(config(), compute_with_sample());
    let a = get("/openstack/latest/vendor_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.json(), json!({}));
    let mut c = config();
    c.api.vendordata_providers = vec![metadata_api::config::VendordataProvider::DynamicJson];
    let svc = service(c, compute_with_sample());
    let a = get("/openstack/latest/vendor_data.json")
        .from(FIXED_IP)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
