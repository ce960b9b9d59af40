//! limits and os-quota-sets through the HTTP routes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE, BOB};

async fn boot(api: &TestApi, project: &str, flavor: &str) {
    let ctx = compute::RequestContext::new("someone", project);
    api.compute
        .create_instances(
            &ctx,
            compute::CreateInstance {
                name: "vm".into(),
                flavor_id: flavor.into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                ..Default::default()
            },
        )
        .await
        .expect("boot");
}

#[tokio::test]
async fn limits_show_usage_and_drop_fields_per_microversion() {
    let api = TestApi::new().await;
    boot(&api, "alpha", "2").await;
    let old = api.get("/limits", ALICE, None).await;
    assert_eq!(old.status, StatusCode::OK);
    insta::assert_json_snapshot!("limits_2_1", old.body);
    let absolute = &old.body["limits"]["absolute"];
    assert_eq!(absolute["totalInstancesUsed"], 1);
    assert_eq!(absolute["totalCoresUsed"], 1);
    assert_eq!(absolute["totalRAMUsed"], 2048);

    let v236 = api.get("/limits", ALICE, Some("2.36")).await;
    assert!(v236.body["limits"]["absolute"]
        .get("maxTotalFloatingIps")
        .is_none());
    assert!(v236.body["limits"]["absolute"]
        .get("maxImageMeta")
        .is_some());
    let v239 = api.get("/limits", ALICE, Some("2.39")).await;
    assert!(v239.body["limits"]["absolute"]
        .get("maxImageMeta")
        .is_none());
    let v257 = api.get("/limits", ALICE, Some("2.57")).await;
    insta::assert_json_snapshot!("limits_2_57", v257.body);
}

#[tokio::test]
async fn limits_of_another_project_are_admin_only() {
    let api = TestApi::new().await;
    boot(&api, "beta", "1").await;
    let refused = api.get("/limits?tenant_id=beta", ALICE, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:limits:other_project to be performed."
    );
    let admin = api.get("/limits?tenant_id=beta", ADMIN, None).await;
    assert_eq!(admin.body["limits"]["absolute"]["totalInstancesUsed"], 1);
    assert_eq!(
        api.get("/limits", BOB, None).await.body["limits"]["absolute"]["totalInstancesUsed"],
        1
    );
    assert_eq!(
        api.get("/limits", ALICE, None).await.body["limits"]["absolute"]["totalInstancesUsed"],
        0
    );
}

#[tokio::test]
async fn quota_show_has_novas_keys_per_microversion() {
    let api = TestApi::new().await;
    let old = api.get("/os-quota-sets/alpha", ALICE, None).await;
    insta::assert_json_snapshot!("quota_show_2_1", old.body);
    let new = api.get("/os-quota-sets/alpha", ALICE, Some("2.57")).await;
    insta::assert_json_snapshot!("quota_show_2_57", new.body);
}

#[tokio::test]
async fn quota_of_another_project_is_forbidden_for_members() {
    let api = TestApi::new().await;
    let refused = api.get("/os-quota-sets/beta", ALICE, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed."
    );
    assert_eq!(
        api.get("/os-quota-sets/beta", ADMIN, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/os-quota-sets/beta/defaults", ALICE, None)
            .await
            .status,
        StatusCode::OK
    );
    let detail = api.get("/os-quota-sets/beta/detail", ALICE, None).await;
    assert_eq!(
        detail.fault_message(),
        "Policy doesn't allow os_compute_api:os-quota-sets:detail to be performed."
    );
}

#[tokio::test]
async fn detail_shows_limit_in_use_and_reserved() {
    let api = TestApi::new().await;
    boot(&api, "alpha", "1").await;
    let detail = api
        .get("/os-quota-sets/alpha/detail", ALICE, Some("2.57"))
        .await;
    assert_eq!(
        detail.body["quota_set"]["instances"],
        json!({"limit": 10, "in_use": 1, "reserved": 0})
    );
    assert_eq!(
        detail.body["quota_set"]["ram"],
        json!({"limit": 51200, "in_use": 512, "reserved": 0})
    );
    assert_eq!(detail.body["quota_set"]["id"], "alpha");
}

#[tokio::test]
async fn admin_updates_quotas_and_delete_restores_defaults() {
    let api = TestApi::new().await;
    let body = json!({"quota_set": {"instances": 50, "cores": "40"}});
    let updated = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            Some("2.57"),
            Some(body),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["quota_set"]["instances"], 50);
    assert_eq!(updated.body["quota_set"]["cores"], 40);
    assert!(
        updated.body["quota_set"].get("id").is_none(),
        "nova's update answer has no id"
    );
    assert_eq!(
        api.get("/limits", ALICE, None).await.body["limits"]["absolute"]["maxTotalInstances"],
        50
    );
    assert_eq!(
        api.get("/os-quota-sets/beta", BOB, None).await.body["quota_set"]["instances"],
        10
    );

    let deleted = api
        .call(Method::DELETE, "/os-quota-sets/alpha", ADMIN, None, None)
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        api.get("/os-quota-sets/alpha", ALICE, None).await.body["quota_set"]["instances"],
        10
    );
}

#[tokio::test]
async fn quota_update_validation_and_policy() {
    let api = TestApi::new().await;
    let member = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ALICE,
            None,
            Some(json!({"quota_set": {"instances": 5}})),
        )
        .await;
    assert_eq!(member.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.fault_message(),
        "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed."
    );

    let low = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            None,
            Some(json!({"quota_set": {"instances": -2}})),
        )
        .await;
    assert_eq!(
        low.fault_message(),
        "Invalid input for field/attribute instances. Value: -2. -2 is less than the minimum of -1"
    );
    let unknown = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            Some("2.57"),
            Some(json!({"quota_set": {"injected_files": 1}})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown
        .fault_message()
        .ends_with("Additional properties are not allowed ('injected_files' was unexpected)"));

    boot(&api, "alpha", "1").await;
    boot(&api, "alpha", "1").await;
    let below = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            None,
            Some(json!({"quota_set": {"instances": 1}})),
        )
        .await;
    assert_eq!(
        below.fault_message(),
        "Quota limit 1 for instances must be greater than or equal to already used and reserved 2."
    );
    let forced = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            None,
            Some(json!({"quota_set": {"instances": 1, "force": true}})),
        )
        .await;
    assert_eq!(forced.status, StatusCode::OK);
    assert_eq!(forced.body["quota_set"]["instances"], 1);
}

/// Issue 27: nova-network's quotas set at 2.1 (before 2.36, where they
/// leave the API) are stored and read back, in os-quota-sets and os-limits.
#[tokio::test]
async fn network_quotas_set_at_2_1_read_back_as_set() {
    let api = TestApi::new().await;
    let body = json!({"quota_set": {"fixed_ips": 9, "floating_ips": 20,
                                    "security_groups": 20, "security_group_rules": 30}});

    let updated = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            Some("2.1"),
            Some(body),
        )
        .await;

    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let shown = api
        .get("/os-quota-sets/alpha", ALICE, Some("2.1"))
        .await
        .body;
    for set in [&updated.body["quota_set"], &shown["quota_set"]] {
        assert_eq!(
            (
                &set["fixed_ips"],
                &set["floating_ips"],
                &set["security_groups"],
                &set["security_group_rules"]
            ),
            (&json!(9), &json!(20), &json!(20), &json!(30)),
            "{set}"
        );
    }
    let absolute = &api.get("/limits", ALICE, Some("2.1")).await.body["limits"]["absolute"];
    assert_eq!(absolute["maxTotalFloatingIps"], 20);
    assert_eq!(absolute["maxSecurityGroups"], 20);
    assert_eq!(absolute["maxSecurityGroupRules"], 30);
    // Another project keeps the defaults (-1, unlimited).
    let other = api.get("/os-quota-sets/beta", BOB, Some("2.1")).await.body;
    assert_eq!(other["quota_set"]["floating_ips"], -1);
}
