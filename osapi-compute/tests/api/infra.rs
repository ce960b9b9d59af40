//! Availability zones, hypervisors, services and simple tenant usage
//! through the HTTP routes, over the simulated hosts.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE};

#[tokio::test]
async fn zone_list_is_public_and_detail_admin_only() {
    let api = TestApi::new().await;
    let list = api.get("/os-availability-zone", ALICE, None).await;
    assert_eq!(
        list.body,
        json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]})
    );
    let refused = api.get("/os-availability-zone/detail", ALICE, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed."
    );
    let detail = api.get("/os-availability-zone/detail", ADMIN, None).await;
    let zones = detail.body["availabilityZoneInfo"]
        .as_array()
        .expect("zones");
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0]["zoneName"], "internal");
    let compute_zone = &zones[1];
    let hosts = compute_zone["hosts"].as_object().expect("hosts");
    let (_, services) = hosts.iter().next().expect("a compute host");
    assert_eq!(services["nova-compute"]["available"], true);
    assert_eq!(services["nova-compute"]["active"], true);
}

#[tokio::test]
async fn services_are_admin_only_with_uuid_ids_from_2_53() {
    let api = TestApi::new().await;
    let refused = api.get("/os-services", ALICE, None).await;
    assert_eq!(
        refused.fault_message(),
        "Policy doesn't allow os_compute_api:os-services:list to be performed."
    );
    let old = api.get("/os-services", ADMIN, None).await;
    let services = old.body["services"].as_array().expect("services");
    assert!(services.iter().any(|s| s["binary"] == "nova-compute"));
    assert!(services[0]["id"].is_i64());
    assert!(services[0].get("forced_down").is_none());
    let new = api
        .get("/os-services?binary=nova-compute", ADMIN, Some("2.53"))
        .await;
    let services = new.body["services"].as_array().expect("services");
    assert!(services.iter().all(|s| s["binary"] == "nova-compute"));
    assert!(uuid::Uuid::parse_str(services[0]["id"].as_str().unwrap_or_default()).is_ok());
    assert_eq!(services[0]["forced_down"], false);
    let unknown = api
        .get("/os-services?colour=red", ADMIN, Some("2.75"))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn hypervisors_detail_changes_with_microversions() {
    let api = TestApi::new().await;
    api.boot("alpha").await;
    assert_eq!(
        api.get("/os-hypervisors", ALICE, None).await.status,
        StatusCode::FORBIDDEN
    );

    let old = api.get("/os-hypervisors/detail", ADMIN, None).await;
    let hyp = &old.body["hypervisors"][0];
    assert!(hyp["id"].is_i64());
    assert!(
        hyp["cpu_info"].is_string(),
        "cpu_info is JSON text before 2.28"
    );
    assert_eq!(hyp["running_vms"], 1);
    assert_eq!(hyp["vcpus_used"], 1);
    let used = hyp["memory_mb_used"].as_i64().expect("memory_mb_used");
    assert!(used >= 512, "the instance's 512 MiB count as used ({used})");
    assert_eq!(
        hyp["free_ram_mb"],
        hyp["memory_mb"].as_i64().unwrap_or(0) - used
    );

    let v253 = api.get("/os-hypervisors/detail", ADMIN, Some("2.53")).await;
    let hyp = &v253.body["hypervisors"][0];
    assert!(uuid::Uuid::parse_str(hyp["id"].as_str().unwrap_or_default()).is_ok());
    assert!(hyp["cpu_info"].is_object());
    assert!(uuid::Uuid::parse_str(hyp["service"]["id"].as_str().unwrap_or_default()).is_ok());

    let v288 = api.get("/os-hypervisors/detail", ADMIN, Some("2.88")).await;
    let hyp = &v288.body["hypervisors"][0];
    assert!(hyp.get("vcpus").is_none());
    assert!(hyp.get("uptime").is_some());
    assert_eq!(
        api.get("/os-hypervisors/statistics", ADMIN, Some("2.88"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn hypervisor_show_statistics_and_search() {
    let api = TestApi::new().await;
    api.boot("alpha").await;
    let list = api.get("/os-hypervisors", ADMIN, None).await;
    let id = list.body["hypervisors"][0]["id"].as_i64().expect("id");
    let name = list.body["hypervisors"][0]["hypervisor_hostname"]
        .as_str()
        .expect("name")
        .to_string();
    let shown = api.get(&format!("/os-hypervisors/{id}"), ADMIN, None).await;
    assert_eq!(
        shown.body["hypervisor"]["hypervisor_hostname"],
        name.as_str()
    );
    let missing = api.get("/os-hypervisors/999", ADMIN, None).await;
    assert_eq!(
        missing.fault_message(),
        "Hypervisor with ID '999' could not be found."
    );
    let bad_uuid = api.get("/os-hypervisors/999", ADMIN, Some("2.53")).await;
    assert_eq!(bad_uuid.fault_message(), "Invalid uuid 999");

    let stats = api.get("/os-hypervisors/statistics", ADMIN, None).await;
    assert_eq!(stats.body["hypervisor_statistics"]["running_vms"], 1);
    assert_eq!(
        stats.body["hypervisor_statistics"]["count"],
        list.body["hypervisors"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    );

    let found = api
        .get(&format!("/os-hypervisors/{name}/search"), ADMIN, None)
        .await;
    assert_eq!(
        found.body["hypervisors"][0]["hypervisor_hostname"],
        name.as_str()
    );
    let none = api
        .get("/os-hypervisors/no-such-host/search", ADMIN, None)
        .await;
    assert_eq!(
        none.fault_message(),
        "No hypervisor matching 'no-such-host' could be found."
    );
    let with_servers = api
        .get(
            &format!("/os-hypervisors?hypervisor_hostname_pattern={name}&with_servers=true"),
            ADMIN,
            Some("2.53"),
        )
        .await;
    assert_eq!(
        with_servers.body["hypervisors"][0]["servers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn usage_is_per_project_for_members_and_all_for_admins() {
    let api = TestApi::new().await;
    let uuid = api.boot("alpha").await;
    api.boot("beta").await;
    let period = "start=2000-01-01T00:00:00&end=2100-01-01T00:00:00";

    let mine = api
        .get(
            &format!("/os-simple-tenant-usage/alpha?{period}"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    let usage = &mine.body["tenant_usage"];
    assert_eq!(usage["tenant_id"], "alpha");
    assert_eq!(usage["server_usages"][0]["instance_id"], uuid.as_str());
    assert_eq!(usage["server_usages"][0]["flavor"], "m1.tiny");
    assert_eq!(usage["start"], "2000-01-01T00:00:00.000000");

    let theirs = api
        .get(
            &format!("/os-simple-tenant-usage/beta?{period}"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN);
    let list = api
        .get(&format!("/os-simple-tenant-usage?{period}"), ALICE, None)
        .await;
    assert_eq!(
        list.fault_message(),
        "Policy doesn't allow os_compute_api:os-simple-tenant-usage:list to be performed."
    );

    let all = api
        .get(
            &format!("/os-simple-tenant-usage?{period}&detailed=1"),
            ADMIN,
            None,
        )
        .await;
    let tenants: Vec<&str> = all.body["tenant_usages"]
        .as_array()
        .expect("usages")
        .iter()
        .map(|u| u["tenant_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(tenants, ["alpha", "beta"]);
    assert!(all.body["tenant_usages"][0]["server_usages"].is_array());

    let paged = api
        .get(
            &format!("/os-simple-tenant-usage?{period}&limit=1"),
            ADMIN,
            Some("2.40"),
        )
        .await;
    assert_eq!(
        paged.body["tenant_usages"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(paged.body["tenant_usages_links"][0]["href"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!("marker={uuid}")));

    let empty = api
        .get(
            &format!("/os-simple-tenant-usage/gamma?{period}"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(empty.body, json!({"tenant_usage": {}}));
}

#[tokio::test]
async fn usage_rejects_bad_periods_with_novas_messages() {
    let api = TestApi::new().await;
    let bad = api
        .get("/os-simple-tenant-usage/alpha?start=yesterday", ALICE, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.fault_message(),
        "Invalid datetime string: Datetime is in invalid format"
    );
    let reversed = api
        .get(
            "/os-simple-tenant-usage/alpha?start=2020-01-02T00:00:00&end=2020-01-01T00:00:00",
            ALICE,
            None,
        )
        .await;
    assert_eq!(
        reversed.fault_message(),
        "Invalid start time. The start time cannot occur after the end time."
    );
}

#[tokio::test]
async fn external_events_are_accepted_for_servers_on_a_host_and_refused_for_others() {
    let api = TestApi::new().await;
    let server = api.boot("alpha").await;
    let missing = "8b0c6a4e-9f55-4f43-a8a6-0a7b45d6d8b1";
    let events = |uuids: &[&str]| json!({"events": uuids.iter().map(|u| json!({"name": "network-changed", "server_uuid": u})).collect::<Vec<_>>()});
    let post = |body| {
        api.call(
            Method::POST,
            "/os-server-external-events",
            ADMIN,
            None,
            Some(body),
        )
    };

    let all = post(events(&[&server])).await;
    let some = post(events(&[&server, missing])).await;
    let none = post(events(&[missing])).await;

    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(
        all.body["events"],
        json!([{"name": "network-changed", "server_uuid": server, "status": "completed", "code": 200}])
    );
    assert_eq!(some.status, StatusCode::MULTI_STATUS);
    assert_eq!(some.body["events"][1]["code"], 404);
    assert_eq!(some.body["events"][1]["status"], "failed");
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.fault_message(), "No instances found for any event");
}

#[tokio::test]
async fn external_events_are_for_admins_and_checked_against_the_microversion_s_names() {
    let api = TestApi::new().await;
    let server = api.boot("alpha").await;
    let power =
        json!({"events": [{"name": "power-update", "server_uuid": server, "tag": "POWER_OFF"}]});

    let member = api
        .call(
            Method::POST,
            "/os-server-external-events",
            ALICE,
            None,
            Some(power.clone()),
        )
        .await;
    let old = api
        .call(
            Method::POST,
            "/os-server-external-events",
            ADMIN,
            Some("2.75"),
            Some(power.clone()),
        )
        .await;
    let new = api
        .call(
            Method::POST,
            "/os-server-external-events",
            ADMIN,
            Some("2.76"),
            Some(power),
        )
        .await;

    assert_eq!(member.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.fault_message(),
        "Policy doesn't allow os_compute_api:os-server-external-events:create to be performed."
    );
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.text);
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    assert_eq!(new.body["events"][0]["tag"], "POWER_OFF");
}
