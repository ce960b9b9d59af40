//! Servers: lifecycle, actions, sub-resources, validation, paging, policy,
//! and response shapes (tempest schemas, nova samples).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{normalize, TestApp};
use crate::schema::assert_matches;

const ALICE: &str = "alice:proja";
const BOB: &str = "bob:projb";
const ADMIN: &str = "admin:admin";

fn action(name: &str, body: serde_json::Value) -> serde_json::Value {
    json!({ name: body })
}

async fn status_of(app: &TestApp, id: &str, token: &str) -> String {
    let answer = app.get(&format!("/v2.1/servers/{id}"), token, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["server"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// ALICE's caller, for calls straight to the compute domain.
fn alice_ctx() -> compute::RequestContext {
    compute::RequestContext::new("alice", "proja")
}

/// A compute domain on the app's store whose simulated steps take `delay`:
/// what another worker with realistic timings does, while the app's own
/// steps stay instant.
fn slow_compute(app: &TestApp, delay: std::time::Duration) -> compute::Compute {
    compute::Compute::new(
        app.state.compute.store().clone(),
        compute::ComputeConfig {
            transition_delay: delay,
            ..compute::ComputeConfig::instant()
        },
    )
}

async fn act(app: &TestApp, id: &str, body: serde_json::Value) -> crate::fixture::Answer {
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/action"),
        ALICE,
        "2.1",
        body,
    )
    .await
}

#[tokio::test]
async fn create_answers_202_with_location_password_and_schema() {
    let app = TestApp::new().await;
    let answer = app
        .send(
            Method::POST,
            "/v2.1/servers",
            ALICE,
            "2.1",
            json!({"server": {"name": "vm1", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1",
                "metadata": {"My Server Name": "Apache1"}}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_matches("server-create", 202, &answer.body);
    let id = answer.body["server"]["id"].as_str().unwrap();
    assert_eq!(
        answer.header("Location").unwrap(),
        format!("http://openstack.example.com/v2.1/servers/{id}")
    );
    // Compared with nova's doc/api_samples/servers/server-create-resp.json.
    insta::assert_snapshot!(normalize(&answer.body));
}

#[tokio::test]
async fn openstack_cli_create_body_at_296_is_accepted() {
    let app = TestApp::new().await;
    let body = json!({"server": {"name": "vm1", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1",
        "min_count": 1, "max_count": 1, "networks": "none",
        "block_device_mapping_v2": [{"uuid": compute::CIRROS_IMAGE_UUID, "boot_index": 0,
            "source_type": "image", "destination_type": "local", "delete_on_termination": true}]}});
    let answer = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.96", body)
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
}

#[tokio::test]
async fn networks_is_required_from_237() {
    let app = TestApp::new().await;
    let body = json!({"server": {"name": "vm1", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"}});
    let answer = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.37", body)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        format!("Invalid input for field/attribute server. Value: {{'flavorRef': '1', 'imageRef': '{}', 'name': 'vm1'}}. 'networks' is a required property", compute::CIRROS_IMAGE_UUID)
    );
}

#[tokio::test]
async fn validation_messages_follow_nova() {
    let app = TestApp::new().await;
    let cases = [
        (json!({}), "'server' is a required property".to_string()),
        (
            json!({"server": {"name": "", "flavorRef": "1", "imageRef": compute::CIRROS_IMAGE_UUID}}),
            "Invalid input for field/attribute name. Value: . '' should be non-empty".to_string(),
        ),
        (
            json!({"server": {"name": "a", "flavorRef": "1", "imageRef": compute::CIRROS_IMAGE_UUID, "min_count": 0}}),
            "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1".to_string(),
        ),
        (
            json!({"server": {"name": "a", "flavorRef": "1", "bogus": 1}}),
            "Invalid input for field/attribute server. Value: {'bogus': 1, 'flavorRef': '1', 'name': 'a'}. Additional properties are not allowed ('bogus' was unexpected)".to_string(),
        ),
        (
            json!({"server": {"name": "a", "flavorRef": "99", "imageRef": compute::CIRROS_IMAGE_UUID}}),
            "Flavor 99 could not be found.".to_string(),
        ),
        (
            json!({"server": {"name": "a", "flavorRef": "1", "imageRef": compute::CIRROS_IMAGE_UUID, "min_count": 3, "max_count": 2}}),
            "min_count must be <= max_count".to_string(),
        ),
    ];
    for (body, message) in cases {
        let answer = app
            .send(Method::POST, "/v2.1/servers", ALICE, "2.1", body.clone())
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer.body["badRequest"]["message"],
            message.as_str(),
            "{body}"
        );
    }
    let answer = app
        .send(
            Method::POST,
            "/v2.1/servers",
            ALICE,
            "2.1",
            json!({"server": {"name": "a", "flavorRef": "1", "imageRef": "x"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn legacy_v2_relaxes_extra_properties() {
    let app = TestApp::new().await;
    let body = json!({"server": {"name": "vm1", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1", "extra": true}});
    let answer = app
        .call(Method::POST, "/v2/servers", Some(ALICE), &[], Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
}

#[tokio::test]
async fn server_goes_active_and_shows_nova_fields() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    assert_eq!(status_of(&app, &id, ALICE).await, "ACTIVE");
    let answer = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, Some("2.1"))
        .await;
    assert_matches("server-show-v2_1", 200, &answer.body);
    let server = &answer.body["server"];
    let private = &server["addresses"]["private"][0];
    assert_eq!(private["version"], 4);
    assert_eq!(private["OS-EXT-IPS:type"], "fixed");
    assert!(private["OS-EXT-IPS-MAC:mac_addr"]
        .as_str()
        .unwrap()
        .starts_with("fa:16:3e:"));
    assert_eq!(server["flavor"]["id"], "1");
    assert_eq!(server["OS-EXT-STS:vm_state"], "active");
    assert_eq!(server["OS-EXT-STS:power_state"], 1);
    // A member sees no admin-only extended attributes.
    assert!(server.get("OS-EXT-SRV-ATTR:host").is_none());
    // Compared with nova's doc/api_samples/servers/server-get-resp.json.
    insta::assert_snapshot!("show_v2_1", normalize(&answer.body));

    let answer = app
        .get(&format!("/v2.1/servers/{id}"), ADMIN, Some("2.100"))
        .await;
    assert_matches("server-show-v2_100", 200, &answer.body);
    let server = &answer.body["server"];
    assert_eq!(server["flavor"]["original_name"], "m1.tiny");
    assert_eq!(server["host_status"], "UP");
    assert_eq!(server["OS-EXT-SRV-ATTR:host"], "compute1");
    // Compared with nova's doc/api_samples/servers/v2.100/server-get-resp.json.
    insta::assert_snapshot!("show_v2_100_admin", normalize(&answer.body));
}

#[tokio::test]
async fn fields_appear_at_their_microversions() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let show = |v: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.get(&format!("/v2.1/servers/{id}"), ALICE, Some(v))
                .await
                .body["server"]
                .clone()
        }
    };
    let s = show("2.8").await;
    assert!(s.get("locked").is_none());
    let s = show("2.9").await;
    assert_eq!(s["locked"], false);
    assert!(s.get("description").is_none());
    let s = show("2.19").await;
    assert!(s["description"].is_null());
    assert!(s.get("tags").is_none());
    let s = show("2.26").await;
    assert_eq!(s["tags"], json!([]));
    assert!(s["flavor"].get("id").is_some());
    let s = show("2.47").await;
    assert!(s["flavor"].get("id").is_none());
    assert_eq!(s["flavor"]["vcpus"], 1);
    let s = show("2.71").await;
    assert_eq!(s["server_groups"], json!([]));
    let s = show("2.73").await;
    assert!(s["locked_reason"].is_null());
    let s = show("2.90").await;
    assert_eq!(s["OS-EXT-SRV-ATTR:hostname"], "vm1");
    let s = show("2.96").await;
    assert!(s["pinned_availability_zone"].is_null());
    assert!(s.get("scheduler_hints").is_none());
}

#[tokio::test]
async fn list_and_detail_validate_against_tempest_schemas() {
    let app = TestApp::new().await;
    app.create_server(ALICE, "vm1").await;
    app.create_server(ALICE, "vm2").await;
    let answer = app.get("/v2.1/servers", ALICE, None).await;
    assert_matches("servers-list", 200, &answer.body);
    assert_eq!(answer.body["servers"].as_array().unwrap().len(), 2);
    let answer = app.get("/v2.1/servers/detail", ALICE, Some("2.1")).await;
    assert_matches("servers-detail-v2_1", 200, &answer.body);
    let answer = app.get("/v2.1/servers/detail", ALICE, Some("2.100")).await;
    assert_matches("servers-detail-v2_100", 200, &answer.body);
    // Compared with nova's doc/api_samples/servers/servers-list-resp.json.
    let answer = app.get("/v2.1/servers?name=vm2", ALICE, None).await;
    insta::assert_snapshot!("list_by_name", normalize(&answer.body));
}

#[tokio::test]
async fn pagination_gives_next_links_with_marker() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.create_server(ALICE, &format!("vm{i}")).await);
    }
    let answer = app
        .get(
            "/v2.1/servers/detail?limit=2&sort_key=display_name&sort_dir=asc",
            ALICE,
            None,
        )
        .await;
    let servers = answer.body["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    let last = servers[1]["id"].as_str().unwrap();
    assert_eq!(servers[0]["name"], "vm0");
    assert_eq!(
        answer.body["servers_links"],
        json!([{"rel": "next", "href": format!(
            "http://openstack.example.com/v2.1/servers/detail?limit=2&sort_dir=asc&sort_key=display_name&marker={last}")}])
    );
    let answer = app
        .get(
            &format!("/v2.1/servers?limit=2&sort_key=display_name&sort_dir=asc&marker={last}"),
            ALICE,
            None,
        )
        .await;
    let servers = answer.body["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["name"], "vm2");
    assert!(answer.body.get("servers_links").is_none());
    let answer = app.get("/v2.1/servers?limit=-1", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"
    );
    let answer = app.get("/v2.1/servers?marker=nope", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        "marker [nope] not found"
    );
}

#[tokio::test]
async fn max_limit_caps_pages() {
    let app = TestApp::builder().max_limit(1).build().await;
    app.create_server(ALICE, "a").await;
    app.create_server(ALICE, "b").await;
    let answer = app.get("/v2.1/servers", ALICE, None).await;
    assert_eq!(answer.body["servers"].as_array().unwrap().len(), 1);
    assert!(answer.body["servers_links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("marker="));
}

#[tokio::test]
async fn filters_by_name_status_flavor_and_tags() {
    let app = TestApp::new().await;
    let a = app.create_server(ALICE, "web-1").await;
    let b = app.create_server(ALICE, "db-1").await;
    assert_eq!(
        act(&app, &b, action("os-stop", json!(null))).await.status,
        StatusCode::ACCEPTED
    );
    let names = |answer: crate::fixture::Answer| -> Vec<String> {
        answer.body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(app.get("/v2.1/servers?name=^web", ALICE, None).await),
        vec!["web-1"]
    );
    assert_eq!(
        names(app.get("/v2.1/servers?status=SHUTOFF", ALICE, None).await),
        vec!["db-1"]
    );
    assert_eq!(
        names(app.get("/v2.1/servers?flavor=2", ALICE, None).await),
        Vec::<String>::new()
    );
    let answer = app
        .get("/v2.1/servers?status=BOGUS", ALICE, Some("2.38"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let put = app
        .send(
            Method::PUT,
            &format!("/v2.1/servers/{a}/tags"),
            ALICE,
            "2.26",
            json!({"tags": ["blue", "red"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(
        names(
            app.get("/v2.1/servers?tags=blue", ALICE, Some("2.26"))
                .await
        ),
        vec!["web-1"]
    );
    assert_eq!(
        names(
            app.get("/v2.1/servers?not-tags=blue", ALICE, Some("2.26"))
                .await
        ),
        vec!["db-1"]
    );
    let answer = app.get("/v2.1/servers?bogus=1", ALICE, Some("2.75")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // nova's validator: the error is the object's, not a parameter's.
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Additional properties are not allowed ('bogus' was unexpected)"
    );
}

#[tokio::test]
async fn projects_are_isolated_and_admin_only_calls_refused() {
    let app = TestApp::new().await;
    let id = app.create_server(BOB, "bobs").await;
    let answer = app.get(&format!("/v2.1/servers/{id}"), ALICE, None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.body["itemNotFound"]["message"],
        format!("Instance {id} could not be found.")
    );
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v2.1/servers", ALICE, None).await.body["servers"],
        json!([])
    );
    let answer = app.get("/v2.1/servers?all_tenants=1", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.body["forbidden"]["message"],
        "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed."
    );
    let answer = app.get("/v2.1/servers?all_tenants=1", ADMIN, None).await;
    assert_eq!(answer.body["servers"].as_array().unwrap().len(), 1);
    let answer = app
        .get(
            "/v2.1/servers/detail?all_tenants=1&project_id=projb",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(answer.body["servers"][0]["id"], id.as_str());
}

#[tokio::test]
async fn an_admin_s_tenant_id_without_all_tenants_is_ignored_as_nova_ignores_it() {
    let app = TestApp::new().await;
    app.create_server(BOB, "bobs").await;

    let by_tenant = app
        .get("/v2.1/servers/detail?tenant_id=projb", ADMIN, None)
        .await;
    let by_project = app.get("/v2.1/servers?project_id=projb", ADMIN, None).await;
    let with_all = app
        .get("/v2.1/servers?all_tenants=1&tenant_id=projb", ADMIN, None)
        .await;

    assert_eq!(by_tenant.body["servers"], json!([]));
    assert_eq!(by_project.body["servers"], json!([]));
    assert_eq!(with_all.body["servers"][0]["name"], "bobs");
}

#[tokio::test]
async fn lifecycle_actions_answer_202_and_conflict_on_wrong_state() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let steps: [(serde_json::Value, &str); 8] = [
        (action("os-stop", json!(null)), "SHUTOFF"),
        (action("os-start", json!(null)), "ACTIVE"),
        (action("reboot", json!({"type": "HARD"})), "ACTIVE"),
        (action("pause", json!(null)), "PAUSED"),
        (action("unpause", json!(null)), "ACTIVE"),
        (action("suspend", json!(null)), "SUSPENDED"),
        (action("resume", json!(null)), "ACTIVE"),
        (
            action("changePassword", json!({"adminPass": "s3cret"})),
            "ACTIVE",
        ),
    ];
    for (body, status) in steps {
        let answer = act(&app, &id, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::ACCEPTED,
            "{body}: {}",
            answer.text
        );
        assert_eq!(status_of(&app, &id, ALICE).await, status, "{body}");
    }
    let answer = act(&app, &id, action("os-start", json!(null))).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.body["conflictingRequest"]["message"],
        format!("Cannot 'start' instance {id} while it is in vm_state active")
    );
    let answer = act(&app, &id, action("reboot", json!({"type": "WARM"}))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Invalid input for field/attribute type. Value: WARM. 'WARM' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
    );
    let answer = act(&app, &id, action("frobnicate", json!({}))).await;
    assert_eq!(
        answer.body["badRequest"]["message"],
        "There is no such action: frobnicate"
    );
}

#[tokio::test]
async fn resize_confirm_and_revert() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    assert_eq!(
        act(&app, &id, action("resize", json!({"flavorRef": "2"})))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status_of(&app, &id, ALICE).await, "VERIFY_RESIZE");
    assert_eq!(
        act(&app, &id, action("confirmResize", json!(null)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let server = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, None)
        .await
        .body;
    assert_eq!(server["server"]["flavor"]["id"], "2");
    assert_eq!(
        act(&app, &id, action("resize", json!({"flavorRef": "1"})))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        act(&app, &id, action("revertResize", json!(null)))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let server = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, None)
        .await
        .body;
    assert_eq!(server["server"]["flavor"]["id"], "2");
    assert_eq!(server["server"]["status"], "ACTIVE");
}

#[tokio::test]
async fn lock_blocks_non_admin_actions_and_shows_reason() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.73",
            action("lock", json!({"locked_reason": "maint"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let server = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, Some("2.73"))
        .await
        .body;
    assert_eq!(server["server"]["locked"], true);
    assert_eq!(server["server"]["locked_reason"], "maint");
    assert_eq!(
        act(&app, &id, action("os-stop", json!(null))).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        act(&app, &id, action("unlock", json!(null))).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        act(&app, &id, action("os-stop", json!(null))).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn rebuild_returns_server_with_password() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = act(
        &app,
        &id,
        action(
            "rebuild",
            json!({"imageRef": compute::CIRROS_IMAGE_UUID, "name": "vm1b"}),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.body["server"]["name"], "vm1b");
    assert!(answer.body["server"]["adminPass"].is_string());
}

#[tokio::test]
async fn create_image_location_until_244_and_body_from_245() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = act(&app, &id, action("createImage", json!({"name": "snap1"}))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let location = answer.header("Location").unwrap();
    assert!(
        location.starts_with("http://openstack.example.com/images/"),
        "{location}"
    );
    let answer = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.45",
            action("createImage", json!({"name": "snap2"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let image_id = answer.body["image_id"].as_str().unwrap();
    let image = app
        .state
        .compute
        .get_image(
            &osapi_compute::auth::context_from_token(ALICE, None),
            image_id,
        )
        .await
        .unwrap();
    assert_eq!(image.name.as_deref(), Some("snap2"));
}

#[tokio::test]
async fn console_output_returns_the_log() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = act(
        &app,
        &id,
        action("os-getConsoleOutput", json!({"length": 5})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let output = answer.body["output"].as_str().unwrap();
    assert!(!output.is_empty());
    assert!(output.lines().count() <= 5);
}

#[tokio::test]
async fn update_changes_name_and_description() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = app
        .send(
            Method::PUT,
            &format!("/v2.1/servers/{id}"),
            ALICE,
            "2.1",
            json!({"server": {"name": "renamed", "accessIPv4": "4.3.2.1"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_matches("server-update-v2_1", 200, &answer.body);
    assert_eq!(answer.body["server"]["accessIPv4"], "4.3.2.1");
    let answer = app
        .send(
            Method::PUT,
            &format!("/v2.1/servers/{id}"),
            ALICE,
            "2.1",
            json!({"server": {"description": "d"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = app
        .send(
            Method::PUT,
            &format!("/v2.1/servers/{id}"),
            ALICE,
            "2.19",
            json!({"server": {"description": "d"}}),
        )
        .await;
    assert_eq!(answer.body["server"]["description"], "d");
}

#[tokio::test]
async fn delete_is_204_then_404() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/v2.1/servers/{id}"), ALICE, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn metadata_crud_follows_nova() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let base = format!("/v2.1/servers/{id}/metadata");
    let answer = app
        .send(
            Method::POST,
            &base,
            ALICE,
            "2.1",
            json!({"metadata": {"a": "1", "b": "2"}}),
        )
        .await;
    assert_eq!(answer.body, json!({"metadata": {"a": "1", "b": "2"}}));
    let answer = app
        .send(
            Method::PUT,
            &base,
            ALICE,
            "2.1",
            json!({"metadata": {"c": "3"}}),
        )
        .await;
    assert_eq!(answer.body, json!({"metadata": {"c": "3"}}));
    let answer = app
        .send(
            Method::PUT,
            &format!("{base}/d"),
            ALICE,
            "2.1",
            json!({"meta": {"d": "4"}}),
        )
        .await;
    assert_eq!(answer.body, json!({"meta": {"d": "4"}}));
    let answer = app
        .send(
            Method::PUT,
            &format!("{base}/d"),
            ALICE,
            "2.1",
            json!({"meta": {"e": "4"}}),
        )
        .await;
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Request body and URI mismatch"
    );
    let answer = app.get(&format!("{base}/d"), ALICE, None).await;
    assert_eq!(answer.body, json!({"meta": {"d": "4"}}));
    let answer = app
        .call(Method::DELETE, &format!("{base}/d"), Some(ALICE), &[], None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let answer = app.get(&format!("{base}/d"), ALICE, None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.body["itemNotFound"]["message"],
        "Metadata item was not found"
    );
    assert_eq!(
        app.get(&base, ALICE, None).await.body,
        json!({"metadata": {"c": "3"}})
    );
}

#[tokio::test]
async fn tags_exist_from_226() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let base = format!("/v2.1/servers/{id}/tags");
    assert_eq!(
        app.get(&base, ALICE, Some("2.25")).await.status,
        StatusCode::NOT_FOUND
    );
    let header = [("OpenStack-API-Version", "compute 2.26")];
    let answer = app
        .call(
            Method::PUT,
            &format!("{base}/blue"),
            Some(ALICE),
            &header,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        answer.header("Location").unwrap(),
        format!("http://openstack.example.com/v2.1/servers/{id}/tags/blue")
    );
    let answer = app
        .call(
            Method::PUT,
            &format!("{base}/blue"),
            Some(ALICE),
            &header,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(
            Method::GET,
            &format!("{base}/blue"),
            Some(ALICE),
            &header,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&base, ALICE, Some("2.26")).await.body,
        json!({"tags": ["blue"]})
    );
    let answer = app
        .call(
            Method::DELETE,
            &format!("{base}/blue"),
            Some(ALICE),
            &header,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(
            Method::GET,
            &format!("{base}/blue"),
            Some(ALICE),
            &header,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn ips_list_the_private_network() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = app
        .get(&format!("/v2.1/servers/{id}/ips"), ALICE, None)
        .await;
    assert_matches("ips-list", 200, &answer.body);
    let addr = answer.body["addresses"]["private"][0].clone();
    assert_eq!(addr["version"], 4);
    assert_eq!(addr.as_object().unwrap().len(), 2);
    let answer = app
        .get(&format!("/v2.1/servers/{id}/ips/private"), ALICE, None)
        .await;
    assert_eq!(answer.body["private"][0], addr);
    assert_eq!(
        app.get(&format!("/v2.1/servers/{id}/ips/public"), ALICE, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn instance_actions_record_what_happened() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    act(&app, &id, action("os-stop", json!(null))).await;
    let answer = app
        .get(
            &format!("/v2.1/servers/{id}/os-instance-actions"),
            ALICE,
            None,
        )
        .await;
    assert_matches("instance-actions-list-v2_1", 200, &answer.body);
    let actions = answer.body["instanceActions"].as_array().unwrap();
    let names: Vec<&str> = actions
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["stop", "create"]);
    let request_id = actions[0]["request_id"].as_str().unwrap();
    let path = format!("/v2.1/servers/{id}/os-instance-actions/{request_id}");
    let member = app.get(&path, ALICE, None).await;
    assert!(member.body["instanceAction"].get("events").is_none());
    let member = app.get(&path, ALICE, Some("2.51")).await;
    assert!(member.body["instanceAction"]["events"][0]
        .get("traceback")
        .is_none());
    let admin = app.get(&path, ADMIN, None).await;
    assert_matches("instance-action-show-v2_1", 200, &admin.body);
    assert!(admin.body["instanceAction"]["events"][0]
        .get("traceback")
        .is_some());
}

#[tokio::test]
async fn server_password_reads_empty_and_clears() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let answer = app
        .get(
            &format!("/v2.1/servers/{id}/os-server-password"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(answer.body, json!({"password": ""}));
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}/os-server-password"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn multi_create_with_reservation_id() {
    let app = TestApp::new().await;
    let body = json!({"server": {"name": "many", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1",
        "min_count": 2, "max_count": 2, "return_reservation_id": true}});
    let answer = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.1", body)
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let reservation = answer.body["reservation_id"].as_str().unwrap().to_string();
    let answer = app
        .get(
            &format!("/v2.1/servers?reservation_id={reservation}"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(answer.body["servers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn stock_nova_paste_file_loads_with_noauth2() {
    // The stock 2025.1 file is this crate's api-paste.ini without the
    // identity/image/network additions.
    let ours = std::fs::read_to_string(crate::fixture::paste_path()).unwrap();
    let stock: String = ours
        .split("\n#############################################################\n# Identity v3")
        .next()
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("/identity:") && !l.starts_with("/image:") && !l.starts_with("/network:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(stock.contains("[composite:openstack_compute_api_v21]"));
    assert!(!stock.contains("identityapp"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-paste.ini");
    std::fs::write(&path, stock).unwrap();
    let app = TestApp::builder().paste(path).build().await;
    let id = app.create_server(ALICE, "vm1").await;
    assert_eq!(status_of(&app, &id, ALICE).await, "ACTIVE");
    assert_eq!(
        app.call(Method::GET, "/identity/v3", None, &[], None)
            .await
            .status,
        StatusCode::MULTIPLE_CHOICES
    );
}

#[tokio::test]
async fn show_by_name_is_404_so_clients_fall_back_to_a_name_search() {
    let app = TestApp::new().await;
    app.create_server(ADMIN, "vm1").await;
    app.create_server(ALICE, "vm1").await;
    let answer = app.get("/v2.1/servers/vm1", ADMIN, Some("2.96")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        answer.body["itemNotFound"]["message"],
        "Instance vm1 could not be found."
    );
    let answer = app
        .get(
            "/v2.1/servers/detail?name=vm1&deleted=False",
            ADMIN,
            Some("2.96"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    // Without all_tenants an admin sees its own project only, as in nova.
    assert_eq!(answer.body["servers"].as_array().unwrap().len(), 1);
    assert_eq!(answer.body["servers"][0]["tenant_id"], "admin");
}

#[tokio::test]
async fn changes_since_lists_recent_and_deleted_servers() {
    let app = TestApp::new().await;
    let keep = app.create_server(ALICE, "keep").await;
    let gone = app.create_server(ALICE, "gone").await;
    app.call(
        Method::DELETE,
        &format!("/v2.1/servers/{gone}"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    let answer = app
        .get(
            "/v2.1/servers/detail?changes-since=2000-01-01T00:00:00Z",
            ALICE,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut seen: Vec<(String, String)> = answer.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![(keep, "ACTIVE".to_string()), (gone, "DELETED".to_string())];
    expected.sort();
    assert_eq!(seen, expected);
    let answer = app
        .get("/v2.1/servers?changes-since=yesterday", ALICE, None)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["badRequest"]["message"],
        "Invalid input for query parameters changes-since. Value: yesterday. 'yesterday' is not a 'date-time'"
    );
}

#[tokio::test]
async fn ip_filter_matches_the_fixed_address() {
    let app = TestApp::new().await;
    let a = app.create_server(ALICE, "a").await;
    app.create_server(ALICE, "b").await;
    let ip = app
        .get(&format!("/v2.1/servers/{a}"), ALICE, None)
        .await
        .body["server"]["addresses"]["private"][0]["addr"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = app
        .get(
            &format!("/v2.1/servers?ip=^{}$", ip.replace('.', "\\.")),
            ALICE,
            None,
        )
        .await;
    let ids: Vec<&str> = answer.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
}

#[tokio::test]
async fn errored_server_shows_fault_with_details_for_admins_only() {
    let app = TestApp::new().await;
    let body = json!({"server": {"name": "bad", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1",
        "metadata": {"sim:fail": "spawn"}}});
    let answer = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.1", body)
        .await;
    let id = answer.body["server"]["id"].as_str().unwrap().to_string();
    let member = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, None)
        .await
        .body;
    assert_eq!(member["server"]["status"], "ERROR");
    let fault = &member["server"]["fault"];
    assert_eq!(fault["code"], 500);
    assert!(fault["message"].is_string());
    assert!(fault.get("details").is_none(), "{fault}");
    assert!(member["server"].get("progress").is_none());
    assert_matches("server-show-v2_1", 200, &member);
    let admin = app
        .get(&format!("/v2.1/servers/{id}"), ADMIN, None)
        .await
        .body;
    assert!(admin["server"]["fault"]["details"].is_string(), "{admin}");
}

#[tokio::test]
async fn sorting_by_host_is_for_admins() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/servers?sort_key=host", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.body["forbidden"]["message"],
        "Only administrators can sort servers by host"
    );
    assert_eq!(
        app.get("/v2.1/servers?sort_key=host", ADMIN, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn instance_actions_page_from_258() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    act(&app, &id, action("os-stop", json!(null))).await;
    act(&app, &id, action("os-start", json!(null))).await;
    let base = format!("/v2.1/servers/{id}/os-instance-actions");
    let answer = app
        .get(&format!("{base}?limit=2"), ALICE, Some("2.58"))
        .await;
    let actions = answer.body["instanceActions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert!(actions[0].get("updated_at").is_some());
    let last = actions[1]["request_id"].as_str().unwrap();
    assert_eq!(
        answer.body["links"][0]["href"],
        format!("http://openstack.example.com/v2.1/servers/{id}/os-instance-actions?limit=2&marker={last}")
    );
    let answer = app
        .get(
            &format!("{base}?limit=2&marker={last}"),
            ALICE,
            Some("2.58"),
        )
        .await;
    let rest: Vec<&str> = answer.body["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(rest, vec!["create"]);
}

#[tokio::test]
async fn a_path_that_is_not_utf8_once_decoded_is_a_404_fault() {
    let app = TestApp::new().await;
    let answer = app.get("/v2.1/servers/%ff%fe", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({"itemNotFound": {"code": 404, "message": "The resource could not be found."}})
    );
}

#[tokio::test]
async fn networks_none_gives_a_server_without_addresses() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for networks in ["none", "auto"] {
        let answer = app
            .send(
                Method::POST,
                "/v2.1/servers",
                ALICE,
                "2.37",
                json!({"server": {"name": format!("vm-{networks}"), "imageRef": compute::CIRROS_IMAGE_UUID,
                    "flavorRef": "1", "networks": networks}}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        ids.push(answer.body["server"]["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        assert_eq!(status_of(&app, id, ALICE).await, "ACTIVE");
    }

    let none = app
        .get(&format!("/v2.1/servers/{}", ids[0]), ALICE, Some("2.37"))
        .await;
    assert_eq!(none.body["server"]["addresses"], json!({}));
    let auto = app
        .get(&format!("/v2.1/servers/{}", ids[1]), ALICE, Some("2.37"))
        .await;
    assert!(auto.body["server"]["addresses"]["private"][0]["addr"].is_string());
}

/// A `status` filter is applied before the page is cut: a page asked for
/// with `limit` is full, and has its `next` link, even when servers in
/// the same vm_state but another status (here REBOOT beside ACTIVE) sort
/// among the first.
#[tokio::test]
async fn a_status_filter_fills_the_page_before_the_limit() {
    let app = TestApp::new().await;
    for name in ["a", "b", "c", "d"] {
        app.create_server(ALICE, name).await;
    }
    // Reboot "a" and "b" through a compute whose transitions take a while,
    // on the same store: they stay in REBOOT (vm_state active).
    let slow = slow_compute(&app, std::time::Duration::from_secs(600));
    let ctx = alice_ctx();
    let by_name = |name: &str| {
        let name = name.to_string();
        let app = &app;
        async move {
            let list = app.get("/v2.1/servers", ALICE, None).await.body;
            list["servers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name.as_str())
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    for name in ["a", "b"] {
        let uuid = by_name(name).await;
        slow.reboot_instance(&ctx, &uuid, false).await.unwrap();
    }

    let answer = app
        .get(
            "/v2.1/servers?status=ACTIVE&limit=1&sort_key=display_name&sort_dir=asc",
            ALICE,
            None,
        )
        .await;

    let servers = answer.body["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{}", answer.body);
    assert_eq!(servers[0]["name"], "c");
    assert!(
        answer.body["servers_links"][0]["href"]
            .as_str()
            .unwrap()
            .contains("marker="),
        "{}",
        answer.body
    );
    let rebooting = app
        .get(
            "/v2.1/servers?status=REBOOT&sort_key=display_name&sort_dir=asc",
            ALICE,
            None,
        )
        .await;
    let names: Vec<&str> = rebooting.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

/// Issue 27: a server whose delete completes between two requests is absent
/// from the very first listing after it, and the page it leaves is filled.
#[tokio::test]
async fn a_deleted_server_is_absent_from_the_first_listing_after_its_delete() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(app.create_server(ALICE, name).await);
    }
    // Delete "a" through a compute whose steps take 100 ms, on the same
    // store: the delete completes while nobody asks.
    let slow = slow_compute(&app, std::time::Duration::from_millis(100));
    let ctx = alice_ctx();
    slow.delete_instance(&ctx, &ids[0]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let answer = app
        .get(
            "/v2.1/servers/detail?limit=2&sort_key=display_name&sort_dir=asc",
            ALICE,
            None,
        )
        .await;

    let names: Vec<&str> = answer.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "c"], "{}", answer.body);
}

/// Issue 27: the APIs nova removed answer 410 Gone with nova's fault body at
/// every microversion, not 404, so clients can tell "removed" from a typo.
#[tokio::test]
async fn apis_nova_removed_answer_410_gone() {
    let app = TestApp::new().await;
    let server = app.create_server(ALICE, "vm").await;
    let removed = [
        "/v2.1/os-agents".to_string(),
        "/v2.1/os-cells".to_string(),
        "/v2.1/os-cloudpipe".to_string(),
        "/v2.1/os-fping".to_string(),
        "/v2.1/os-floating-ip-dns".to_string(),
        "/v2.1/os-floating-ips-bulk".to_string(),
        "/v2.1/os-fixed-ips/10.0.0.2".to_string(),
        "/v2.1/os-security-group-default-rules".to_string(),
        format!("/v2.1/servers/{server}/os-virtual-interfaces"),
    ];
    for path in &removed {
        for version in [None, Some("2.1"), Some("latest")] {
            let answer = app.get(path, ALICE, version).await;
            assert_eq!(answer.status, StatusCode::GONE, "{path} {version:?}");
            assert_eq!(
                answer.body,
                json!({"computeFault": {"code": 410, "message":
                    "This resource is no longer available.  No forwarding address is given."}}),
                "{path}"
            );
        }
    }
    // A path that never existed is still 404.
    let typo = app.get("/v2.1/os-agentz", ALICE, None).await;
    assert_eq!(typo.status, StatusCode::NOT_FOUND);
}

/// Issue 27: what a rebuild sets at its microversions (key_name 2.54,
/// user_data 2.57, hostname 2.90) is kept and reads back, in the answer,
/// through GET and in the store the metadata service reads.
#[tokio::test]
async fn rebuild_keeps_the_key_user_data_and_hostname_it_is_given() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm1").await;
    let ctx = alice_ctx();
    let key = app
        .state
        .compute
        .create_keypair(
            &ctx,
            compute::NewKeypair {
                name: "kp2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let answer = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.90",
            action(
                "rebuild",
                json!({"imageRef": compute::CIRROS_IMAGE_UUID, "key_name": "kp2",
                       "user_data": "aGVsbG8=", "hostname": "rebuilt"}),
            ),
        )
        .await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.body["server"]["key_name"], "kp2");
    // From 2.57 the answer carries the user data (tempest's rebuild schema
    // requires it).
    assert_eq!(answer.body["server"]["user_data"], "aGVsbG8=");
    let shown = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, Some("2.90"))
        .await
        .body;
    assert_eq!(shown["server"]["key_name"], "kp2");
    assert_eq!(shown["server"]["OS-EXT-SRV-ATTR:hostname"], "rebuilt");
    let stored = app.state.compute.get_instance(&ctx, &id).await.unwrap();
    assert_eq!(stored.user_data.as_deref(), Some("aGVsbG8="));
    assert_eq!(stored.key_data.as_deref(), Some(key.public_key.as_str()));

    // null removes the key and the user data; an unknown key is 400.
    let cleared = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.90",
            action(
                "rebuild",
                json!({"imageRef": compute::CIRROS_IMAGE_UUID, "key_name": null, "user_data": null}),
            ),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::ACCEPTED, "{}", cleared.text);
    assert_eq!(cleared.body["server"]["user_data"], json!(null));
    let stored = app.state.compute.get_instance(&ctx, &id).await.unwrap();
    assert_eq!((stored.key_name, stored.user_data), (None, None));
    let unknown = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.90",
            action(
                "rebuild",
                json!({"imageRef": compute::CIRROS_IMAGE_UUID, "key_name": "nope"}),
            ),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
}

/// Issue 27: both change bounds include the second a client sees. Servers
/// made within one second all show the same `updated`; with that value
/// `changes-before` lists them as `changes-since` does.
#[tokio::test]
async fn change_bounds_include_the_shown_second() {
    let app = TestApp::new().await;
    for name in ["a", "b", "c"] {
        app.create_server(ALICE, name).await;
    }
    let detail = app
        .get(
            "/v2.1/servers/detail?sort_key=display_name&sort_dir=asc",
            ALICE,
            Some("2.66"),
        )
        .await
        .body;
    let updated = detail["servers"][1]["updated"]
        .as_str()
        .unwrap()
        .to_string();
    let names_with = |query: String| {
        let app = &app;
        async move {
            let body = app.get(&query, ALICE, Some("2.66")).await.body;
            body["servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_string(),
                        s["updated"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };

    let before = names_with(format!(
        "/v2.1/servers/detail?changes-before={updated}&sort_key=display_name&sort_dir=asc"
    ))
    .await;
    let since = names_with(format!(
        "/v2.1/servers/detail?changes-since={updated}&sort_key=display_name&sort_dir=asc"
    ))
    .await;

    let at_bound: Vec<&str> = detail["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["updated"] == updated.as_str())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(at_bound.contains(&"b"));
    for name in at_bound {
        assert!(
            before.iter().any(|(n, _)| n == name),
            "{name} not in {before:?}"
        );
        assert!(
            since.iter().any(|(n, _)| n == name),
            "{name} not in {since:?}"
        );
    }
}

/// Issue 27: with no block storage, a mapping that needs it is refused with
/// 400 naming the volume or the mapping, never a server made without it;
/// a boot from a volume carries no imageRef, and is refused for the volume.
#[tokio::test]
async fn block_device_mappings_that_need_volumes_are_refused() {
    let app = TestApp::new().await;
    let volume = "6b9d9b8a-0b5c-4bd8-9e7c-6f1f6f2b8a11";
    let cases = [
        // openstack server create --volume X (no imageRef)
        (
            json!([{"uuid": volume, "boot_index": 0, "source_type": "volume",
                    "destination_type": "volume"}]),
            false,
            format!("Block Device Mapping is Invalid: failed to get volume {volume}."),
        ),
        // --boot-from-volume 1: an image made into a volume
        (
            json!([{"uuid": compute::CIRROS_IMAGE_UUID, "boot_index": 0, "source_type": "image",
                    "destination_type": "volume", "volume_size": 1}]),
            true,
            "Block Device Mapping is Invalid: mapping 0 asks for a volume (destination_type volume), \
             and no block storage service serves volumes in this cloud."
                .to_string(),
        ),
        (
            json!([{"uuid": volume, "source_type": "snapshot", "destination_type": "volume"}]),
            true,
            format!("Block Device Mapping is Invalid: failed to get snapshot {volume}."),
        ),
    ];
    for (mapping, with_image, message) in cases {
        let mut server = json!({"name": "vm", "flavorRef": "1", "networks": "none",
                                "block_device_mapping_v2": mapping});
        if with_image {
            server["imageRef"] = json!(compute::CIRROS_IMAGE_UUID);
        }
        let answer = app
            .send(
                Method::POST,
                "/v2.1/servers",
                ALICE,
                "2.67",
                json!({"server": server}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert_eq!(answer.body["badRequest"]["message"], message.as_str());
    }
    let servers = app.get("/v2.1/servers", ALICE, None).await.body;
    assert_eq!(servers["servers"], json!([]), "nothing was created");
}

/// Issue 27: a server whose delete is due holds no quota, though nobody
/// has read it since: a project at its instance quota that deletes one
/// server can create another once the delete is done.
#[tokio::test]
async fn a_completed_delete_frees_quota_before_anyone_reads_the_server() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(app.create_server(ALICE, &format!("vm{i}")).await);
    }
    let slow = slow_compute(&app, std::time::Duration::from_millis(100));
    let ctx = alice_ctx();
    slow.delete_instance(&ctx, &ids[0]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let body = json!({"server": {"name": "vm10", "imageRef": compute::CIRROS_IMAGE_UUID,
                                 "flavorRef": "1"}});
    let answer = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.1", body)
        .await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
}

/// accessIPv6 is kept and shown in its canonical form, as nova's
/// (tempest's test_verify_server_details sends an IPv4-suffixed spelling).
#[tokio::test]
async fn access_ipv6_is_shown_in_canonical_form_after_create_update_and_rebuild() {
    let app = TestApp::new().await;
    let answer = app
        .send(
            Method::POST,
            "/v2.1/servers",
            ALICE,
            "2.1",
            json!({"server": {"name": "v6", "imageRef": compute::CIRROS_IMAGE_UUID,
                              "flavorRef": "1",
                              "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = answer.body["server"]["id"].as_str().unwrap().to_string();
    let shown = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, None)
        .await
        .body;
    assert_eq!(shown["server"]["accessIPv6"], "::babe:dc0c:1602");

    let updated = app
        .send(
            Method::PUT,
            &format!("/v2.1/servers/{id}"),
            ALICE,
            "2.1",
            json!({"server": {"accessIPv6": "2001:0db8:0000:0000:0000:0000:0000:0001"}}),
        )
        .await;
    assert_eq!(updated.body["server"]["accessIPv6"], "2001:db8::1");

    let rebuilt = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/action"),
            ALICE,
            "2.1",
            action(
                "rebuild",
                json!({"imageRef": compute::CIRROS_IMAGE_UUID,
                       "accessIPv6": "FE80:0000:0000:0000:0000:0000:0000:000A"}),
            ),
        )
        .await;
    assert_eq!(rebuilt.body["server"]["accessIPv6"], "fe80::a");
}
