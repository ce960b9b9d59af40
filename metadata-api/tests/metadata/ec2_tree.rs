//! The EC2-style tree: listings, leaves, version gating and 404s.

use axum::http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn root_lists_ec2_versions_to_anyone() {
    let svc = service(config(), compute_with_sample());
    let a = get("/").send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "text/plain; charset=UTF-8");
    assert_eq!(
        a.text(),
        "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\nlatest"
    );
}

#[tokio::test]
async fn version_directory_lists_meta_data_and_user_data() {
    let svc = service(config(), compute_with_sample());
    let a = get("/latest").from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text(), "meta-data/\nuser-data");
    let ec2 = get("/ec2/2009-04-04/").from(FIXED_IP).send(&svc).await;
    assert_eq!(ec2.text(), "meta-data/\nuser-data");
}

#[tokio::test]
async fn meta_data_listing_of_latest_matches_snapshot() {
    let svc = service(config(), compute_with_sample());
    let a = get("/latest/meta-data/").from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    insta::assert_snapshot!("ec2_latest_meta_data_listing", a.text());
}

#[tokio::test]
async fn meta_data_listing_of_1_0_lacks_later_keys() {
    let svc = service(config(), compute_with_sample());
    let a = get("/1.0/meta-data/").from(FIXED_IP).send(&svc).await;
    insta::assert_snapshot!("ec2_1_0_meta_data_listing", a.text());
    for later in [
        "local-hostname",
        "instance-type",
        "placement/",
        "block-device-mapping/",
        "instance-action",
    ] {
        assert!(!a.text().lines().any(|l| l == later), "{later} in 1.0");
    }
}

#[tokio::test]
async fn leaves_carry_the_instance_values() {
    let svc = service(config(), compute_with_sample());
    for (path, expected) in [
        ("/latest/meta-data/instance-id", "i-00000001"),
        ("/latest/meta-data/ami-id", "ami-00000001"),
        ("/latest/meta-data/ami-launch-index", "0"),
        ("/latest/meta-data/ami-manifest-path", "FIXME"),
        ("/latest/meta-data/hostname", "vm1.novalocal"),
        ("/latest/meta-data/local-hostname", "vm1.novalocal"),
        ("/latest/meta-data/public-hostname", "vm1.novalocal"),
        ("/latest/meta-data/public-ipv4", ""),
        ("/latest/meta-data/local-ipv4", FIXED_IP),
        ("/latest/meta-data/instance-type", "m1.tiny"),
        ("/latest/meta-data/instance-action", "none"),
        ("/latest/meta-data/reservation-id", "r-3fhqq9ys"),
        ("/latest/meta-data/security-groups", "default"),
        ("/latest/meta-data/placement/", "availability-zone"),
        ("/latest/meta-data/placement/availability-zone", "nova"),
        ("/latest/meta-data/block-device-mapping/", "ami\nroot"),
        ("/latest/meta-data/block-device-mapping/root", "/dev/vda"),
        ("/latest/meta-data/public-keys/", "0=kp1"),
        ("/latest/meta-data/public-keys/0", "openssh-key"),
        ("/latest/meta-data/public-keys/0/openssh-key", PUBKEY),
        ("/2009-04-04/meta-data/public-keys/0/openssh-key/", PUBKEY),
    ] {
        let a = get(path).from(FIXED_IP).send(&svc).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.content_type(), "text/plain; charset=UTF-8", "{path}");
        assert_eq!(a.text(), expected, "{path}");
    }
}

#[tokio::test]
async fn user_data_is_served_raw() {
    let svc = service(config(), compute_with_sample());
    let a = get("/latest/user-data").from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, USER_DATA);
}

#[tokio::test]
async fn instance_without_user_data_or_key_lists_neither() {
    let compute = std::sync::Arc::new(MemoryCompute::default());
    let mut bare = sample_instance();
    bare.user_data = None;
    bare.user_data_b64 = None;
    bare.key_name = None;
    bare.key_data = None;
    bare.keypair = None;
    compute.put(bare);
    let svc = service(config(), compute);
    assert_eq!(
        get("/latest").from(FIXED_IP).send(&svc).await.text(),
        "meta-data/"
    );
    assert_eq!(
        get("/latest/user-data")
            .from(FIXED_IP)
            .send(&svc)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let listing = get("/latest/meta-data/")
        .from(FIXED_IP)
        .send(&svc)
        .await
        .text();
    assert!(!listing.contains("public-keys"), "{listing}");
}

#[tokio::test]
async fn unknown_paths_and_versions_are_webob_404s() {
    let svc = service(config(), compute_with_sample());
    for path in [
        "/latest/meta-data/nope",
        "/2021-03-23/meta-data/instance-id",
        "/latest/meta-data/hostname/deeper",
        "/latest/meta-data/security-groups/default",
        "/latest/meta-data/public-keys/1",
    ] {
        let a = get(path).from(FIXED_IP).send(&svc).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            a.text(),
            "404 Not Found\n\nThe resource could not be found.\n\n   ",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_caller_that_is_no_instance_learns_nothing() {
    let svc = service(config(), compute_with_sample());
    for path in [
        "/latest/meta-data/",
        "/openstack",
        "/openstack/latest/meta_data.json",
        "/ec2",
    ] {
        let a = get(path)
            .from("10.0.0.99")
            .header("Accept", "*/*")
            .send(&svc)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.content_type(), "text/html; charset=UTF-8");
        assert!(a.text().contains("<h1>404 Not Found</h1>"));
        assert!(!a.text().contains(UUID));
    }
    // No peer address at all: nobody.
    assert_eq!(
        get("/latest/meta-data/").send(&svc).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn any_path_gets_an_answer_and_never_a_500() {
    use rand::{Rng, SeedableRng};
    let svc = service(config(), compute_with_sample());
    let pieces = [
        "/",
        "//",
        ".",
        "..",
        "latest",
        "openstack",
        "ec2",
        "meta-data",
        "public-keys",
        "0",
        "content",
        "0000",
        "password",
        "%2F",
        "%00",
        "%ff",
        "2009-04-04",
        "2012-08-10",
        "user_data",
        "meta_data.json",
        "api",
        "token",
        "_name",
        "x",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    for _ in 0..400 {
        let n = rng.gen_range(1..8);
        let mut path = String::from("/");
        for _ in 0..n {
            path.push_str(pieces[rng.gen_range(0..pieces.len())]);
            if rng.gen_bool(0.6) {
                path.push('/');
            }
        }
        let a = get(&path).from(FIXED_IP).send(&svc).await;
        assert!(
            a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            a.status
        );
    }
}

#[test]
fn router_never_panics_on_random_bytes() {
    use rand::{Rng, SeedableRng};
    let alphabet: Vec<char> = "/.%2Fa0-_~ \u{0}\u{e9}\u{1F600}".chars().collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..40);
        let s: String = (0..len)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect();
        let _ = metadata_api::paths::route(&metadata_api::paths::decode_path(&s));
    }
    for _ in 0..20_000 {
        let len = rng.gen_range(0..64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let _ = metadata_api::paths::route_bytes(&bytes);
    }
}
