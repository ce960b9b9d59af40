//! The service over the real compute domain (SQLite): an instance created
//! through the compute API is found by its fixed IP and by signed headers,
//! its keypair and user data are served, a change through the compute API
//! shows once the cache expires, the password is cleared through it,
//! personality files given at boot are served as nova's config drive has
//! them, and a freed address serves nobody.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use compute::{
    Compute, ComputeConfig, CreateInstance, NewKeypair, RequestContext, Store, StoreOptions,
};
use metadata_api::token::TokenSigner;
use metadata_api::{ComputeSource, MetadataConfig, MetadataService};

use crate::support::*;

struct Fixture {
    compute: Compute,
    ctx: RequestContext,
    uuid: String,
    project: String,
    fixed_ip: String,
    public_key: String,
}

async fn fixture() -> Fixture {
    let store = Store::connect("sqlite://", StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let compute = Compute::new(store, ComputeConfig::instant());
    let ctx = RequestContext::new("alice", "project-a");
    let kp = compute
        .create_keypair(
            &ctx,
            NewKeypair {
                name: "kp-a".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut metadata = BTreeMap::new();
    metadata.insert("role".to_owned(), "db".to_owned());
    let created = compute
        .create_instances(
            &ctx,
            CreateInstance {
                name: "vm-a".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                key_name: Some("kp-a".into()),
                user_data: Some(base64::engine::general_purpose::STANDARD.encode(USER_DATA)),
                metadata,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let instance = &created.instances[0];
    Fixture {
        uuid: instance.uuid.clone(),
        project: instance.project_id.clone(),
        fixed_ip: instance.fixed_ipv4().expect("a fixed IP").to_string(),
        public_key: kp.public_key,
        compute,
        ctx,
    }
}

fn service_over(compute: &Compute, config: MetadataConfig) -> Arc<MetadataService> {
    Arc::new(
        MetadataService::with_token_signer(
            config,
            Arc::new(ComputeSource::new(compute.clone())),
            TokenSigner::new(b"k"),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn instance_created_through_compute_is_served_by_fixed_ip() {
    let f = fixture().await;
    let svc = service_over(&f.compute, config());
    let md = get("/openstack/latest/meta_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await;
    assert_eq!(md.status, StatusCode::OK);
    let md = md.json();
    assert_eq!(md["uuid"], f.uuid.as_str());
    assert_eq!(md["name"], "vm-a");
    assert_eq!(md["hostname"], "vm-a.novalocal");
    assert_eq!(md["project_id"], f.project.as_str());
    assert_eq!(md["meta"]["role"], "db");
    assert_eq!(md["public_keys"]["kp-a"], f.public_key.as_str());
    assert_eq!(md["keys"][0]["type"], "ssh");
    let ud = get("/latest/user-data").from(&f.fixed_ip).send(&svc).await;
    assert_eq!(ud.body, USER_DATA);
    let key = get("/latest/meta-data/public-keys/0/openssh-key")
        .from(&f.fixed_ip)
        .send(&svc)
        .await;
    assert_eq!(key.text(), f.public_key);
    let iid = get("/latest/meta-data/instance-id")
        .from(&f.fixed_ip)
        .send(&svc)
        .await
        .text();
    assert!(iid.starts_with("i-") && iid.len() == 10, "{iid}");
    let ami = get("/latest/meta-data/ami-id")
        .from(&f.fixed_ip)
        .send(&svc)
        .await
        .text();
    assert!(ami.starts_with("ami-"), "{ami}");
    let local = get("/latest/meta-data/local-ipv4")
        .from(&f.fixed_ip)
        .send(&svc)
        .await
        .text();
    assert_eq!(local, f.fixed_ip);
    let nd = get("/openstack/latest/network_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await
        .json();
    // The port is on the seeded `private` network, whose subnet hands
    // addresses out by DHCP: network_data.json says so, as nova's does.
    assert_eq!(nd["networks"][0]["type"], "ipv4_dhcp");
    assert_eq!(nd["networks"][0]["link"], nd["links"][0]["id"]);
    assert_eq!(
        nd["links"][0]["ethernet_mac_address"]
            .as_str()
            .map(|m| m.len()),
        Some(17)
    );
}

#[tokio::test]
async fn instance_created_through_compute_is_served_by_signed_headers() {
    let f = fixture().await;
    let mut c = config();
    c.neutron.service_metadata_proxy = true;
    c.neutron.metadata_proxy_shared_secret = SECRET.into();
    let svc = service_over(&f.compute, c);
    let ok = get("/openstack/latest/meta_data.json")
        .signed(&f.uuid, &f.project, SECRET)
        .send(&svc)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let wrong_tenant = get("/openstack/latest/meta_data.json")
        .signed(&f.uuid, "project-b", SECRET)
        .send(&svc)
        .await;
    assert_eq!(wrong_tenant.status, StatusCode::NOT_FOUND);
    let not_a_uuid = get("/openstack/latest/meta_data.json")
        .signed("nope", &f.project, SECRET)
        .send(&svc)
        .await;
    assert_eq!(not_a_uuid.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_compute_api_change_shows_once_the_cache_expires() {
    let f = fixture().await;
    let mut c = config();
    c.api.metadata_cache_expiration = 1;
    let svc = service_over(&f.compute, c);
    let name = |a: Answer| a.json()["name"].as_str().unwrap().to_owned();
    assert_eq!(
        name(
            get("/openstack/latest/meta_data.json")
                .from(&f.fixed_ip)
                .send(&svc)
                .await
        ),
        "vm-a"
    );
    f.compute
        .update_instance(
            &f.ctx,
            &f.uuid,
            compute::UpdateInstance {
                name: Some("vm-renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        name(
            get("/openstack/latest/meta_data.json")
                .from(&f.fixed_ip)
                .send(&svc)
                .await
        ),
        "vm-a"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        name(
            get("/openstack/latest/meta_data.json")
                .from(&f.fixed_ip)
                .send(&svc)
                .await
        ),
        "vm-renamed"
    );
}

#[tokio::test]
async fn password_is_stored_in_compute_and_cleared_through_it() {
    let f = fixture().await;
    let svc = service_over(&f.compute, config());
    let pw = "/openstack/2013-04-04/password";
    let posted = get(pw)
        .method(Method::POST)
        .from(&f.fixed_ip)
        .body("ZW5jcnlwdGVk")
        .send(&svc)
        .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(
        f.compute
            .get_instance_password(&f.ctx, &f.uuid)
            .await
            .unwrap()
            .as_deref(),
        Some("ZW5jcnlwdGVk")
    );
    let again = get(pw)
        .method(Method::POST)
        .from(&f.fixed_ip)
        .body("other")
        .send(&svc)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    f.compute
        .clear_instance_password(&f.ctx, &f.uuid)
        .await
        .unwrap();
    assert_eq!(get(pw).from(&f.fixed_ip).send(&svc).await.text(), "");
    let after_clear = get(pw)
        .method(Method::POST)
        .from(&f.fixed_ip)
        .body("other")
        .send(&svc)
        .await;
    assert_eq!(after_clear.status, StatusCode::OK);
}

#[tokio::test]
async fn a_deleted_instance_is_no_longer_served() {
    let f = fixture().await;
    let svc = service_over(&f.compute, config());
    f.compute.delete_instance(&f.ctx, &f.uuid).await.unwrap();
    let a = get("/openstack/latest/meta_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Issue 17, end to end over the real store with the default cache
/// lifetime: a tenant deletes its instance, another tenant creates one at
/// once. The freed address is not handed out again while the metadata
/// service may hold the old instance under it, and that address no longer
/// answers with the deleted instance's data.
#[tokio::test]
async fn a_deleted_instance_address_serves_nobody_and_is_not_reused_at_once() {
    let f = fixture().await;
    let mut c = config();
    c.api.metadata_cache_expiration = MetadataConfig::default().api.metadata_cache_expiration;
    let svc = service_over(&f.compute, c);
    let md = get("/openstack/latest/meta_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await;
    assert_eq!(md.status, StatusCode::OK);

    f.compute.delete_instance(&f.ctx, &f.uuid).await.unwrap();
    let other = RequestContext::new("bob", "project-b");
    let created = f
        .compute
        .create_instances(
            &other,
            CreateInstance {
                name: "vm-b".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let successor_ip = created.instances[0]
        .fixed_ipv4()
        .expect("a fixed IP")
        .to_string();
    assert_ne!(
        successor_ip, f.fixed_ip,
        "a freed address was reused at once"
    );

    let stale = get("/openstack/latest/meta_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    let ud = get("/latest/user-data").from(&f.fixed_ip).send(&svc).await;
    assert_eq!(ud.status, StatusCode::NOT_FOUND);
}

/// Once `fixed_ip_reuse_delay` has passed, a freed address goes back into
/// circulation (the pool is not leaked): creates take the addresses after
/// the one given last first, and when the range is used up, the freed one
/// is given again.
#[tokio::test]
async fn a_freed_address_returns_to_the_pool_after_the_reuse_delay() {
    // The seeded `private` subnet: 10.0.0.2 to 10.0.0.6.
    let range: ipnet::Ipv4Net = "10.0.0.0/29".parse().unwrap();
    let options = StoreOptions {
        seed_network: range,
        ..StoreOptions::default()
    };
    let store = Store::connect("sqlite://", options).await.unwrap();
    store.migrate().await.unwrap();
    let config = ComputeConfig {
        fixed_ip_range: range,
        fixed_ip_reuse_delay: Duration::from_millis(300),
        ..ComputeConfig::instant()
    };
    let compute = Compute::new(store, config);
    let ctx = RequestContext::new("alice", "project-a");
    let create = |name: &str| CreateInstance {
        name: name.into(),
        flavor_id: "1".into(),
        image_ref: compute::CIRROS_IMAGE_UUID.into(),
        ..Default::default()
    };
    let first = compute.create_instances(&ctx, create("a")).await.unwrap();
    let first = &first.instances[0];
    compute.delete_instance(&ctx, &first.uuid).await.unwrap();
    let during = compute.create_instances(&ctx, create("b")).await.unwrap();
    assert_ne!(during.instances[0].fixed_ipv4(), first.fixed_ipv4());
    tokio::time::sleep(Duration::from_millis(400)).await;
    for name in ["c", "d", "e"] {
        compute.create_instances(&ctx, create(name)).await.unwrap();
    }
    let after = compute.create_instances(&ctx, create("f")).await.unwrap();
    assert_eq!(after.instances[0].fixed_ipv4(), first.fixed_ipv4());
}

#[tokio::test]
async fn personality_files_are_listed_in_meta_data_and_served_as_content() {
    let f = fixture().await;
    let file = |path: &str, contents: &[u8]| compute::InjectedFile {
        path: path.into(),
        contents: base64::engine::general_purpose::STANDARD.encode(contents),
    };
    let created = f
        .compute
        .create_instances(
            &f.ctx,
            CreateInstance {
                name: "vm-files".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                injected_files: vec![
                    file("/etc/motd", b"welcome\n"),
                    file("/root/.ssh/extra", &[0, 159, 255]),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ip = created.instances[0].fixed_ipv4().unwrap().to_string();
    let svc = service_over(&f.compute, config());

    let md = get("/openstack/latest/meta_data.json")
        .from(&ip)
        .send(&svc)
        .await
        .json();
    let first = get("/openstack/content/0000").from(&ip).send(&svc).await;
    let second = get("/openstack/content/0001").from(&ip).send(&svc).await;
    let past_the_end = get("/openstack/content/0002").from(&ip).send(&svc).await;

    assert_eq!(
        md["files"],
        serde_json::json!([
            {"path": "/etc/motd", "content_path": "/content/0000"},
            {"path": "/root/.ssh/extra", "content_path": "/content/0001"},
        ])
    );
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, b"welcome\n");
    assert_eq!(second.body, [0, 159, 255]);
    assert_eq!(past_the_end.status, StatusCode::NOT_FOUND);
    // The first instance was booted without files: nova lists none then.
    let plain = get("/openstack/latest/meta_data.json")
        .from(&f.fixed_ip)
        .send(&svc)
        .await
        .json();
    assert!(plain.get("files").is_none(), "{plain}");
}
