//! `/os-hosts` through the HTTP routes: served up to 2.42, admin only,
//! the fake driver's answers, and nova's 400 and 404.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE};

#[tokio::test]
async fn hosts_are_listed_by_zone_and_gone_at_2_43() {
    let api = TestApi::new().await;
    let all = api.get("/os-hosts", ADMIN, None).await;
    assert_eq!(
        all.body,
        json!({"hosts": [
            {"host_name": "controller", "service": "scheduler", "zone": "internal"},
            {"host_name": "controller", "service": "conductor", "zone": "internal"},
            {"host_name": "compute1", "service": "compute", "zone": "nova"},
        ]})
    );
    assert_eq!(api.get("/os-hosts?zone=", ADMIN, None).await.body, all.body);
    let nova = api.get("/os-hosts?zone=nova", ADMIN, None).await;
    assert_eq!(nova.body["hosts"].as_array().unwrap().len(), 1);
    assert!(
        api.get("/os-hosts?zone=xxx", ADMIN, None).await.body["hosts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let refused = api.get("/os-hosts", ALICE, None).await;
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-hosts:list to be performed."
    );
    let gone = api.get("/os-hosts", ADMIN, Some("2.43")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_host_shows_its_resources_by_project() {
    let api = TestApi::new().await;
    let ctx = compute::RequestContext::new("u", "p1");
    api.compute
        .create_instances(
            &ctx,
            compute::CreateInstance {
                name: "vm".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let shown = api.get("/os-hosts/compute1", ADMIN, None).await;
    let lines = shown.body["host"].as_array().unwrap();
    let projects: Vec<&str> = lines
        .iter()
        .map(|l| l["resource"]["project"].as_str().unwrap())
        .collect();
    assert_eq!(projects, ["(total)", "(used_now)", "(used_max)", "p1"]);
    assert_eq!(
        lines[3]["resource"],
        json!({"host": "compute1", "project": "p1", "cpu": 1, "memory_mb": 512, "disk_gb": 1})
    );
    let missing = api.get("/os-hosts/nonexistent_hostname", ADMIN, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.fault_message(),
        "Host 'nonexistent_hostname' is not mapped to any cell"
    );
    assert_eq!(
        api.get("/os-hosts/compute1", ALICE, None).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn updates_and_power_actions_answer_as_the_fake_driver() {
    let api = TestApi::new().await;
    let put = |token: &'static str, host: &'static str, body: serde_json::Value| {
        let api = &api;
        async move {
            api.call(
                Method::PUT,
                &format!("/os-hosts/{host}"),
                token,
                None,
                Some(body),
            )
            .await
        }
    };
    let both = json!({"status": "enable", "maintenance_mode": "Disable"});
    let done = put(ADMIN, "compute1", both.clone()).await;
    assert_eq!(
        done.body,
        json!({"host": "compute1", "status": "enabled", "maintenance_mode": "off_maintenance"})
    );
    assert_eq!(
        put(ALICE, "compute1", both.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(ADMIN, "nonexistent_hostname", both).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in [
        json!({"status": "invalid", "maintenance_mode": "enable"}),
        json!({"status": "enable", "maintenance_mode": "invalid"}),
        json!({"status": null, "maintenance_mode": null}),
        json!({}),
    ] {
        assert_eq!(
            put(ADMIN, "compute1", bad).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    for action in ["startup", "shutdown", "reboot"] {
        let answer = api
            .get(&format!("/os-hosts/compute1/{action}"), ADMIN, None)
            .await;
        assert_eq!(
            answer.body,
            json!({"host": "compute1", "power_action": action})
        );
        let missing = api
            .get(
                &format!("/os-hosts/nonexistent_hostname/{action}"),
                ADMIN,
                None,
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let refused = api
            .get(&format!("/os-hosts/compute1/{action}"), ALICE, None)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
}
