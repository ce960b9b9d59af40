//! Which instance is asking: by address, or by the signed headers of a
//! neutron metadata proxy, with nova's 400/403/404 answers.

use axum::http::StatusCode;

use crate::support::*;

const MD: &str = "/openstack/latest/meta_data.json";

#[tokio::test]
async fn right_signature_is_served_the_signed_instance() {
    let svc = service(proxy_config(), compute_with_sample());
    let a = get(MD).signed(UUID, PROJECT, SECRET).send(&svc).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["uuid"], UUID);
}

#[tokio::test]
async fn wrong_signature_is_403() {
    let svc = service(proxy_config(), compute_with_sample());
    let a = get(MD)
        .signed(UUID, PROJECT, "not-the-secret")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.text(),
        "403 Forbidden\n\nInvalid proxy request signature.\n\n   "
    );
    let empty = get(MD)
        .header("X-Instance-ID", UUID)
        .header("X-Tenant-ID", PROJECT)
        .header("X-Instance-ID-Signature", "")
        .send(&svc)
        .await;
    assert_eq!(empty.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn missing_headers_are_400_with_novas_texts() {
    let svc = service(proxy_config(), compute_with_sample());
    let sig = metadata_api::identity::sign(SECRET, UUID);
    let cases = [
        (
            get(MD)
                .header("X-Tenant-ID", PROJECT)
                .header("X-Instance-ID-Signature", &sig),
            "X-Instance-ID header is missing from request.",
        ),
        (
            get(MD)
                .header("X-Instance-ID", UUID)
                .header("X-Tenant-ID", PROJECT),
            "X-Instance-ID-Signature header is missing from request.",
        ),
        (
            get(MD)
                .header("X-Instance-ID", UUID)
                .header("X-Instance-ID-Signature", &sig),
            "X-Tenant-ID header is missing from request.",
        ),
    ];
    for (call, msg) in cases {
        let a = call.send(&svc).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{msg}");
        assert_eq!(a.text(), format!("400 Bad Request\n\n{msg}\n\n   "));
    }
}

#[tokio::test]
async fn tenant_mismatch_is_404() {
    let svc = service(proxy_config(), compute_with_sample());
    let a = get(MD)
        .signed(UUID, "someone-else", SECRET)
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!a.text().contains(UUID));
}

#[tokio::test]
async fn signed_unknown_instance_is_404() {
    let svc = service(proxy_config(), compute_with_sample());
    let other = "00000000-0000-0000-0000-000000000000";
    let a = get(MD).signed(other, PROJECT, SECRET).send(&svc).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn proxy_mode_ignores_the_peer_address() {
    let svc = service(proxy_config(), compute_with_sample());
    let a = get(MD).from(FIXED_IP).send(&svc).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn direct_mode_ignores_instance_headers() {
    let svc = service(config(), compute_with_sample());
    // Signed headers for the sample instance, sent from an unknown address.
    let a = get(MD)
        .signed(UUID, PROJECT, SECRET)
        .from("10.9.9.9")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn load_balancer_provider_without_forwarded_for_is_400() {
    let svc = service(proxy_config(), compute_with_sample());
    let a = get(MD)
        .header("X-Metadata-Provider", "prov-1")
        .send(&svc)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a
        .text()
        .contains("X-Forwarded-For is missing from request."));
}
