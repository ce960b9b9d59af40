//! nova's `os-networks` and `os-tenant-networks` proxies through the whole
//! pipeline: the networks a caller sees in nova-network's shapes
//! (2.1-2.35, 404 from 2.36), and the removed nova-network calls, 410 at
//! every microversion.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};
use crate::network::create_network;
use crate::schema::assert_matches;

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    version: &str,
    body: Option<Value>,
) -> Answer {
    let header = format!("compute {version}");
    app.call(
        method,
        &format!("/v2.1{path}"),
        Some(token),
        &[("OpenStack-API-Version", &header)],
        body,
    )
    .await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::GET, path, token, "2.35", None).await
}

fn refusal(answer: &Answer) -> (StatusCode, String, String) {
    (answer.status, answer.fault_name(), answer.fault_message())
}

/// The labels of a list, sorted.
fn labels(answer: &Answer) -> Vec<String> {
    let mut labels: Vec<String> = answer.body["networks"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.text))
        .iter()
        .map(|n| n["label"].as_str().unwrap().to_string())
        .collect();
    labels.sort();
    labels
}

/// nova's view of a network for a non-admin: the id and the label.
fn member_view(id: &str, label: &str) -> Value {
    json!({"id": id, "label": label, "cidr": null, "netmask": null, "gateway": null,
           "broadcast": null, "dns1": null, "dns2": null, "cidr_v6": null,
           "gateway_v6": null, "netmask_v6": null})
}

#[tokio::test]
async fn a_member_sees_its_networks_and_the_shared_and_external_ones_in_novas_view() {
    let app = TestApp::new().await;
    let alices = create_network(&app, ALICE, "alices").await;
    create_network(&app, BOB, "bobs").await;

    let listed = get(&app, "/os-networks", ALICE).await;
    let shown = get(&app, &format!("/os-networks/{alices}"), ALICE).await;
    let admin_listed = get(&app, "/os-networks", ADMIN).await;
    let admin_shown = get(&app, &format!("/os-networks/{alices}"), ADMIN).await;

    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(labels(&listed), vec!["alices", "private", "public"]);
    assert_eq!(
        (shown.status, shown.body.clone()),
        (
            StatusCode::OK,
            json!({ "network": member_view(&alices, "alices") })
        )
    );
    assert_eq!(
        labels(&admin_listed),
        vec!["alices", "bobs", "private", "public"]
    );
    // An admin gets nova-network's admin fields too, all null.
    let admin_view = admin_shown.body["network"].as_object().unwrap();
    assert_eq!(admin_view.len(), 32, "{}", admin_shown.text);
    assert_eq!(
        admin_view
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        vec!["id", "label"]
    );
    for key in ["project_id", "mtu", "vlan", "bridge", "enable_dhcp"] {
        assert!(admin_view.contains_key(key), "{key}");
    }
}

#[tokio::test]
async fn another_projects_network_is_not_found() {
    let app = TestApp::new().await;
    let bobs = create_network(&app, BOB, "bobs").await;

    for path in [
        format!("/os-networks/{bobs}"),
        format!("/os-tenant-networks/{bobs}"),
    ] {
        let refused = get(&app, &path, ALICE).await;
        assert_eq!(
            refusal(&refused),
            (
                StatusCode::NOT_FOUND,
                "itemNotFound".to_string(),
                "Network not found".to_string()
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn tenant_networks_show_the_id_the_label_and_novas_none_cidr() {
    let app = TestApp::new().await;
    let alices = create_network(&app, ALICE, "alices").await;

    let listed = get(&app, "/os-tenant-networks", ALICE).await;
    let shown = get(&app, &format!("/os-tenant-networks/{alices}"), ALICE).await;

    assert_matches("tenant-networks-list", listed.status.as_u16(), &listed.body);
    assert_eq!(labels(&listed), vec!["alices", "private", "public"]);
    assert_matches("tenant-network-show", shown.status.as_u16(), &shown.body);
    assert_eq!(
        shown.body,
        json!({"network": {"id": alices, "cidr": "None", "label": "alices"}})
    );
}

#[tokio::test]
async fn the_nova_network_calls_are_gone_at_every_microversion() {
    let app = TestApp::new().await;
    let alices = create_network(&app, ALICE, "alices").await;
    let calls = [
        (
            Method::POST,
            "/os-networks".to_string(),
            Some(json!({"network": {"label": "x"}})),
        ),
        (
            Method::POST,
            "/os-networks/add".to_string(),
            Some(json!({"id": alices})),
        ),
        (Method::DELETE, format!("/os-networks/{alices}"), None),
        (
            Method::POST,
            format!("/os-networks/{alices}/action"),
            Some(json!({"disassociate": null})),
        ),
        (
            Method::POST,
            format!("/os-networks/{alices}/action"),
            Some(json!({"associate_host": "compute1"})),
        ),
        (
            Method::POST,
            "/os-tenant-networks".to_string(),
            Some(json!({"network": {"label": "x"}})),
        ),
        (
            Method::DELETE,
            format!("/os-tenant-networks/{alices}"),
            None,
        ),
    ];
    for version in ["2.1", "2.35", "2.36", "2.90"] {
        for (method, path, body) in &calls {
            let answer = call(&app, method.clone(), path, ADMIN, version, body.clone()).await;
            assert_eq!(
                refusal(&answer),
                (
                    StatusCode::GONE,
                    "computeFault".to_string(),
                    "This resource is no longer available.  No forwarding address is given."
                        .to_string()
                ),
                "{method} {path} at {version}"
            );
        }
    }
    let unknown = call(
        &app,
        Method::POST,
        &format!("/os-networks/{alices}/action"),
        ADMIN,
        "2.1",
        Some(json!({"reticulate": {}})),
    )
    .await;
    assert_eq!(
        refusal(&unknown),
        (
            StatusCode::BAD_REQUEST,
            "badRequest".to_string(),
            "There is no such action: reticulate".to_string()
        )
    );
    // The network is still there.
    let shown = get(&app, &format!("/os-networks/{alices}"), ALICE).await;
    assert_eq!(shown.status, StatusCode::OK);
}

#[tokio::test]
async fn from_2_36_the_network_lists_and_shows_are_not_found() {
    let app = TestApp::new().await;
    let alices = create_network(&app, ALICE, "alices").await;

    for path in [
        "/os-networks".to_string(),
        format!("/os-networks/{alices}"),
        "/os-tenant-networks".to_string(),
        format!("/os-tenant-networks/{alices}"),
    ] {
        let answer = call(&app, Method::GET, &path, ALICE, "2.36", None).await;
        assert_eq!(
            refusal(&answer),
            (
                StatusCode::NOT_FOUND,
                "itemNotFound".to_string(),
                "The resource could not be found.".to_string()
            ),
            "{path}"
        );
    }
}
