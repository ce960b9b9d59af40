//! `os-quota-class-sets`: the admin's quota classes, and the `default`
//! class as what every project without its own limits gets.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE};

#[tokio::test]
async fn the_default_class_shows_the_configured_defaults_per_microversion() {
    let api = TestApi::new().await;

    let v21 = api.get("/os-quota-class-sets/default", ADMIN, None).await;
    let v257 = api
        .get("/os-quota-class-sets/default", ADMIN, Some("2.57"))
        .await;

    assert_eq!(v21.status, StatusCode::OK, "{}", v21.text);
    // Before 2.50: network and file quotas, no server group quotas.
    assert_eq!(
        v21.body,
        json!({"quota_class_set": {
            "id": "default", "cores": 20, "instances": 10, "key_pairs": 100,
            "metadata_items": 128, "ram": 51200, "fixed_ips": -1, "floating_ips": -1,
            "security_group_rules": -1, "security_groups": -1,
            "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
            "injected_files": 5,
        }})
    );
    assert_eq!(
        v257.body,
        json!({"quota_class_set": {
            "id": "default", "cores": 20, "instances": 10, "key_pairs": 100,
            "metadata_items": 128, "ram": 51200, "server_group_members": 10,
            "server_groups": 10,
        }})
    );
}

#[tokio::test]
async fn updating_the_default_class_changes_every_project_without_its_own_limits() {
    let api = TestApi::new().await;
    api.call(
        Method::PUT,
        "/os-quota-sets/beta",
        ADMIN,
        None,
        Some(json!({"quota_set": {"cores": 7}})),
    )
    .await;

    let updated = api
        .call(
            Method::PUT,
            "/os-quota-class-sets/default",
            ADMIN,
            Some("2.57"),
            Some(json!({"quota_class_set": {"cores": 120, "instances": "30"}})),
        )
        .await;

    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    // The update's answer carries no id.
    assert_eq!(updated.body["quota_class_set"]["cores"], 120);
    assert!(updated.body["quota_class_set"].get("id").is_none());
    let alpha = api.get("/os-quota-sets/alpha", ALICE, None).await;
    assert_eq!(alpha.body["quota_set"]["cores"], 120);
    assert_eq!(alpha.body["quota_set"]["instances"], 30);
    let defaults = api.get("/os-quota-sets/alpha/defaults", ALICE, None).await;
    assert_eq!(defaults.body["quota_set"]["cores"], 120);
    // A project's own limit still wins over the class.
    let beta = api.get("/os-quota-sets/beta", ADMIN, None).await;
    assert_eq!(beta.body["quota_set"]["cores"], 7);
    assert_eq!(beta.body["quota_set"]["instances"], 30);
}

#[tokio::test]
async fn another_class_is_kept_and_applies_to_nobody() {
    let api = TestApi::new().await;

    api.call(
        Method::PUT,
        "/os-quota-class-sets/gold",
        ADMIN,
        Some("2.57"),
        Some(json!({"quota_class_set": {"ram": 1024}})),
    )
    .await;

    let gold = api
        .get("/os-quota-class-sets/gold", ADMIN, Some("2.57"))
        .await;
    assert_eq!(gold.body["quota_class_set"]["ram"], 1024);
    assert_eq!(gold.body["quota_class_set"]["cores"], 20);
    let alpha = api.get("/os-quota-sets/alpha", ALICE, None).await;
    assert_eq!(alpha.body["quota_set"]["ram"], 51200);
}

#[tokio::test]
async fn bad_updates_and_non_admins_are_refused_and_change_nothing() {
    let api = TestApi::new().await;
    let put = |version: &'static str, body: serde_json::Value, token: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::PUT,
                "/os-quota-class-sets/default",
                token,
                Some(version),
                Some(body),
            )
            .await
        }
    };

    let below = put("2.57", json!({"quota_class_set": {"cores": -2}}), ADMIN).await;
    let removed = put(
        "2.57",
        json!({"quota_class_set": {"injected_files": 3}}),
        ADMIN,
    )
    .await;
    let member = put("2.57", json!({"quota_class_set": {"cores": 3}}), ALICE).await;
    let shown = api.get("/os-quota-class-sets/default", ALICE, None).await;

    assert_eq!(below.status, StatusCode::BAD_REQUEST);
    assert_eq!(removed.status, StatusCode::BAD_REQUEST);
    assert_eq!(member.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.fault_message(),
        "Policy doesn't allow os_compute_api:os-quota-class-sets:update to be performed."
    );
    assert_eq!(shown.status, StatusCode::FORBIDDEN);
    let after = api
        .get("/os-quota-class-sets/default", ADMIN, Some("2.57"))
        .await;
    assert_eq!(after.body["quota_class_set"]["cores"], 20);
}
