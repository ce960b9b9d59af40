//! The admin's reports on the simulated cloud: server diagnostics and the
//! instance usage audit log.

use axum::http::StatusCode;
use serde_json::json;

use crate::fixture::{TestApi, TestApp, ADMIN, ALICE};

#[tokio::test]
async fn diagnostics_at_2_48_describe_the_guest_in_nova_standard_form() {
    let api = TestApi::new().await;
    let id = api.boot("alpha").await;

    let answer = api
        .get(&format!("/servers/{id}/diagnostics"), ADMIN, Some("2.48"))
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let d = &answer.body;
    assert_eq!(d["state"], "running");
    assert_eq!(d["driver"], "libvirt");
    assert_eq!(d["hypervisor"], "qemu");
    assert_eq!(d["hypervisor_os"], "linux");
    assert_eq!(d["config_drive"], false);
    // m1.tiny: one vCPU, 512 MiB, a root disk only, one port.
    assert_eq!(d["num_cpus"], 1);
    assert_eq!(d["memory_details"], json!({"maximum": 512, "used": 512}));
    assert_eq!(d["num_disks"], 1);
    assert_eq!(d["disk_details"].as_array().unwrap().len(), 1);
    assert_eq!(d["num_nics"], 1);
    let nic = &d["nic_details"][0];
    assert_eq!(nic["rx_rate"], json!(null));
    assert!(nic["mac_address"]
        .as_str()
        .unwrap()
        .starts_with("fa:16:3e:"));
    assert!(d["uptime"].as_i64().unwrap() >= 0);
    assert_eq!(d["cpu_details"][0]["utilisation"], json!(null));
}

#[tokio::test]
async fn diagnostics_before_2_48_are_libvirt_flat_counters() {
    let api = TestApi::new().await;
    let id = api.boot("alpha").await;

    let answer = api
        .get(&format!("/servers/{id}/diagnostics"), ADMIN, None)
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["memory"], 512 * 1024);
    assert_eq!(answer.body["vda_read"], 0);
    assert!(answer.body["cpu0_time"].is_i64());
}

#[tokio::test]
async fn diagnostics_are_for_admins_and_unknown_servers_are_404() {
    let api = TestApi::new().await;
    let id = api.boot("alpha").await;

    let refused = api
        .get(&format!("/servers/{id}/diagnostics"), ALICE, None)
        .await;
    let missing = api
        .get(
            "/servers/8c5f1f4b-62ac-4bd8-8a4e-1d1f3cd53a4c/diagnostics",
            ADMIN,
            None,
        )
        .await;

    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed."
    );
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_the_audit_no_host_has_run_it() {
    let api = TestApi::new().await;

    let answer = api.get("/os-instance_usage_audit_log", ADMIN, None).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let log = &answer.body["instance_usage_audit_logs"];
    assert_eq!(log["num_hosts"], 1);
    assert_eq!(log["num_hosts_done"], 0);
    assert_eq!(log["num_hosts_not_run"], 1);
    assert_eq!(log["hosts_not_run"], json!(["compute1"]));
    assert_eq!(log["overall_status"], "0 of 1 hosts done. 0 errors.");
    assert_eq!(log["log"], json!({}));
}

#[tokio::test]
async fn with_the_audit_on_every_host_has_done_the_last_period_and_none_a_later_one() {
    let app = TestApp::builder()
        .compute(|c| c.usage_audit.enabled = true)
        .build()
        .await;
    let api = TestApi::over(app);
    api.boot("alpha").await;
    api.boot("beta").await;

    // Two months on, the period completed before then has not ended yet
    // in real time.
    let later = (chrono::Utc::now() + chrono::Duration::days(62))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let past = api
        .get(
            &format!("/os-instance_usage_audit_log/{}", later.replace(' ', "%20")),
            ADMIN,
            None,
        )
        .await;
    let now = api.get("/os-instance_usage_audit_log", ADMIN, None).await;

    // A period that has not ended yet was not audited.
    assert_eq!(past.status, StatusCode::OK, "{}", past.text);
    assert_eq!(past.body["instance_usage_audit_log"]["num_hosts_done"], 0);
    // The last completed period ended before the creates: no instances
    // (compute's own tests count backdated ones).
    let log = &now.body["instance_usage_audit_logs"];
    assert_eq!(log["overall_status"], "ALL hosts done. 0 errors.");
    assert_eq!(log["log"]["compute1"]["state"], "DONE");
    assert_eq!(log["log"]["compute1"]["instances"], 0);
    assert_eq!(log["total_instances"], 0);
}

#[tokio::test]
async fn the_audit_log_refuses_a_bad_timestamp_and_non_admins() {
    let api = TestApi::new().await;

    let bad = api
        .get("/os-instance_usage_audit_log/yesterday", ADMIN, None)
        .await;
    let refused = api.get("/os-instance_usage_audit_log", ALICE, None).await;
    let shown = api
        .get(
            "/os-instance_usage_audit_log/2012-07-05%2010:00:00",
            ADMIN,
            None,
        )
        .await;

    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.fault_message(), "Invalid timestamp for date yesterday");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let log = &shown.body["instance_usage_audit_log"];
    assert_eq!(log["period_beginning"], "2012-06-01 00:00:00");
    assert_eq!(log["period_ending"], "2012-07-01 00:00:00");
}
