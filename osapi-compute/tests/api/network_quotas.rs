//! Neutron's quotas and the auto-allocated topology through the Network
//! v2 endpoint, and a server created with `networks: auto` in a project
//! that sees no network.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApp, ADMIN, ALICE, BOB};
use crate::network::{create_network, delete, get, neutron_error, post, put};

const ALICE_PROJECT: &str = "alpha";

#[tokio::test]
async fn an_admin_sets_a_projects_network_quota_and_creates_stop_there() {
    let app = TestApp::new().await;
    let path = format!("/v2.0/quotas/{ALICE_PROJECT}");
    let shown = get(&app, &path, ALICE).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(
        shown.body,
        json!({"quota": {"network": 100, "subnet": 100, "port": 500, "router": 10,
                         "floatingip": 50, "security_group": 10, "security_group_rule": 100}})
    );

    let refused = put(&app, &path, ALICE, json!({"quota": {"network": 1}})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(neutron_error(&refused).0, "PolicyNotAuthorized");
    let not_theirs = get(&app, &path, BOB).await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);

    let bad = put(&app, &path, ADMIN, json!({"quota": {"network": "many"}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&bad).1,
        "Invalid input for network. Reason: '\"many\"' is not an integer."
    );
    let unknown = put(&app, &path, ADMIN, json!({"quota": {"volumes": 1}})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&unknown).1,
        "Unrecognized attribute(s) 'volumes'"
    );

    let set = put(&app, &path, ADMIN, json!({"quota": {"network": 1}})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["quota"]["network"], 1);
    create_network(&app, ALICE, "one").await;
    let over = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"name": "two"}}),
    )
    .await;
    assert_eq!(over.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&over),
        (
            "OverQuota".to_string(),
            "Quota exceeded for resources: ['network'].".to_string(),
            String::new()
        )
    );

    let details = get(&app, &format!("{path}/details"), ALICE).await;
    assert_eq!(
        details.body["quota"]["network"],
        json!({"used": 1, "limit": 1, "reserved": 0})
    );
    let defaults = get(&app, &format!("{path}/default"), ALICE).await;
    assert_eq!(defaults.body["quota"]["network"], 100);
    let listed = get(&app, "/v2.0/quotas", ADMIN).await;
    assert_eq!(listed.body["quotas"][0]["project_id"], ALICE_PROJECT);
    assert_eq!(listed.body["quotas"][0]["network"], 1);

    let forgotten = delete(&app, &path, ADMIN).await;
    assert_eq!(forgotten.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &path, ALICE).await.body["quota"]["network"], 100);
    let again = delete(&app, &path, ADMIN).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(neutron_error(&again).0, "TenantQuotaNotFound");
}

#[tokio::test]
async fn the_seeded_public_network_is_the_default_for_auto_allocation() {
    let app = TestApp::new().await;
    let public = get(&app, "/v2.0/networks?name=public", ALICE).await;
    assert_eq!(public.body["networks"][0]["is_default"], true);
    // Only external networks say whether they are the default.
    let private = get(&app, "/v2.0/networks?name=private", ALICE).await;
    assert!(private.body["networks"][0].get("is_default").is_none());

    let dry = get(
        &app,
        "/v2.0/auto-allocated-topology/None?fields=dry-run",
        ALICE,
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(
        dry.body,
        json!({"auto_allocated_topology": {"dry-run": "pass"}})
    );
    // The dry run made nothing.
    let routers = get(&app, "/v2.0/routers", ALICE).await;
    assert_eq!(routers.body["routers"], json!([]));

    let path = format!("/v2.0/auto-allocated-topology/{ALICE_PROJECT}");
    let topology = get(&app, &path, ALICE).await;
    assert_eq!(topology.status, StatusCode::OK, "{}", topology.text);
    let network = topology.body["auto_allocated_topology"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        topology.body["auto_allocated_topology"]["tenant_id"],
        ALICE_PROJECT
    );
    let shown = get(&app, &format!("/v2.0/networks/{network}"), ALICE).await;
    assert_eq!(shown.body["network"]["name"], "auto_allocated_network");
    assert_eq!(get(&app, &path, ALICE).await.body, topology.body);
    let not_theirs = get(&app, &path, BOB).await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);

    let removed = delete(&app, &path, ALICE).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = get(&app, &format!("/v2.0/networks/{network}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Without a default external network it cannot be made.
    let public_id = public.body["networks"][0]["id"].as_str().unwrap();
    let unset = put(
        &app,
        &format!("/v2.0/networks/{public_id}"),
        ADMIN,
        json!({"network": {"is_default": false}}),
    )
    .await;
    assert_eq!(unset.status, StatusCode::OK, "{}", unset.text);
    let failed = get(&app, &path, ALICE).await;
    assert_eq!(failed.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&failed).1,
        "Deployment error: No default router:external network."
    );
}

#[tokio::test]
async fn a_server_with_networks_auto_and_no_network_in_sight_gets_the_auto_allocated_one() {
    let app = TestApp::new().await;
    // No shared network: the project sees only the external one.
    let private = get(&app, "/v2.0/networks?name=private", ADMIN).await;
    let private_id = private.body["networks"][0]["id"].as_str().unwrap();
    let deleted = delete(&app, &format!("/v2.0/networks/{private_id}"), ADMIN).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);

    let body = json!({"server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID,
                                 "flavorRef": "1", "networks": "auto"}});
    let created = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.37", body)
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap();
    let shown = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, Some("2.37"))
        .await;
    let addresses = shown.body["server"]["addresses"].as_object().unwrap();
    assert_eq!(
        addresses.keys().collect::<Vec<_>>(),
        ["auto_allocated_network"]
    );
    assert!(addresses["auto_allocated_network"][0]["addr"]
        .as_str()
        .unwrap()
        .starts_with("10.128.0."));

    // `none` still means no network at all.
    let body = json!({"server": {"name": "bare", "imageRef": compute::CIRROS_IMAGE_UUID,
                                 "flavorRef": "1", "networks": "none"}});
    let bare = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.37", body)
        .await;
    assert_eq!(bare.status, StatusCode::ACCEPTED, "{}", bare.text);
    let bare_id = bare.body["server"]["id"].as_str().unwrap();
    let shown = app
        .get(&format!("/v2.1/servers/{bare_id}"), ALICE, Some("2.37"))
        .await;
    assert_eq!(shown.body["server"]["addresses"], json!({}));
}

#[tokio::test]
async fn a_server_beyond_the_port_quota_is_refused_with_novas_port_limit() {
    let app = TestApp::new().await;
    let set = put(
        &app,
        &format!("/v2.0/quotas/{ALICE_PROJECT}"),
        ADMIN,
        json!({"quota": {"port": 1}}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    app.create_server(ALICE, "first").await;
    let body = json!({"server": {"name": "second", "imageRef": compute::CIRROS_IMAGE_UUID,
                                 "flavorRef": "1"}});
    let refused = app
        .send(Method::POST, "/v2.1/servers", ALICE, "2.1", body)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(
        refused.body["forbidden"]["message"],
        "Maximum number of ports exceeded"
    );
    // Nothing of the refused server was kept.
    let servers = app.get("/v2.1/servers", ALICE, None).await;
    assert_eq!(servers.body["servers"].as_array().unwrap().len(), 1);
}
