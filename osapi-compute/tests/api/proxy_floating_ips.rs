//! nova's `os-floating-ips` and `os-floating-ip-pools` proxies
//! (2.1-2.35) through the whole pipeline: the pools are the external
//! networks, a floating IP is allocated from a named pool or
//! `[neutron] default_floating_pool`, shows the device of the port it is
//! associated with, is released; isolation and the 404 from 2.36.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};
use crate::network_floating_ips::{public, routed_network};
use crate::schema::assert_matches;

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    app.call(
        method,
        &format!("/v2.1{path}"),
        Some(token),
        &[("OpenStack-API-Version", "compute 2.35")],
        body,
    )
    .await
}

async fn allocate(app: &TestApp, token: &str, body: Value) -> Answer {
    call(app, Method::POST, "/os-floating-ips", token, Some(body)).await
}

fn refusal(answer: &Answer) -> (StatusCode, String, String) {
    (answer.status, answer.fault_name(), answer.fault_message())
}

fn not_found(message: &str) -> (StatusCode, String, String) {
    (
        StatusCode::NOT_FOUND,
        "itemNotFound".to_string(),
        message.to_string(),
    )
}

#[tokio::test]
async fn the_pools_are_the_external_networks() {
    let app = TestApp::new().await;

    let pools = call(&app, Method::GET, "/os-floating-ip-pools", ALICE, None).await;

    assert_eq!(
        (pools.status, pools.body),
        (
            StatusCode::OK,
            json!({"floating_ip_pools": [{"name": "public"}]})
        )
    );
}

#[tokio::test]
async fn a_floating_ip_is_allocated_from_a_pool_listed_shown_and_released() {
    let app = TestApp::new().await;

    let made = allocate(&app, ALICE, json!({"pool": "public"})).await;

    assert_matches("floating-ip-show", made.status.as_u16(), &made.body);
    let fip = made.body["floating_ip"].clone();
    let id = fip["id"].as_str().unwrap().to_string();
    let ip = fip["ip"].as_str().unwrap().to_string();
    assert!(ip.starts_with("172.24.4."), "{ip}");
    assert_eq!(
        fip,
        json!({"id": id, "ip": ip, "fixed_ip": null, "instance_id": null, "pool": "public"})
    );
    let shown = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (shown.status, shown.body["floating_ip"].clone()),
        (StatusCode::OK, fip.clone())
    );
    let listed = call(&app, Method::GET, "/os-floating-ips", ALICE, None).await;
    assert_matches("floating-ips-list", listed.status.as_u16(), &listed.body);
    assert_eq!(listed.body, json!({"floating_ips": [fip]}));
    // The Network v2 endpoint serves the same floating IP.
    let neutron = app
        .call(
            Method::GET,
            &format!("/network/v2.0/floatingips/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(
        neutron.body["floatingip"]["floating_ip_address"],
        ip.as_str()
    );

    let released = call(
        &app,
        Method::DELETE,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;

    assert_eq!(
        (released.status, released.text.as_str()),
        (StatusCode::ACCEPTED, "")
    );
    let gone = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        refusal(&gone),
        not_found(&format!("Floating IP not found for ID {id}"))
    );
    let again = call(
        &app,
        Method::DELETE,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        refusal(&again),
        not_found(&format!("Floating IP not found for ID {id}"))
    );
}

#[tokio::test]
async fn without_a_pool_the_configured_default_pool_is_used() {
    let app = TestApp::new().await;
    let public_id = public(&app, ALICE).await;

    for body in [
        json!({}),
        Value::Null,
        json!({"pool": null}),
        json!({"pool": ""}),
    ] {
        let made = allocate(&app, ALICE, body.clone()).await;
        assert_eq!(
            (made.status, made.body["floating_ip"]["pool"].clone()),
            (StatusCode::OK, json!("public")),
            "{body}: {}",
            made.text
        );
    }
    // A pool may be named by its network's id.
    let by_id = allocate(&app, ALICE, json!({ "pool": public_id })).await;
    assert_eq!(
        by_id.body["floating_ip"]["pool"], "public",
        "{}",
        by_id.text
    );

    let novas_default = TestApp::builder()
        .default_floating_pool("nova")
        .build()
        .await;
    let refused = allocate(&novas_default, ALICE, json!({})).await;
    assert_eq!(refusal(&refused), not_found("Floating IP pool not found."));
}

#[tokio::test]
async fn a_pool_that_is_no_external_network_or_a_bad_body_is_refused() {
    let app = TestApp::new().await;

    let unknown = allocate(&app, ALICE, json!({"pool": "non_exist_pool"})).await;
    let internal_net = allocate(&app, ALICE, json!({"pool": "private"})).await;
    let bad = allocate(&app, ALICE, json!({"pool": 7})).await;

    assert_eq!(refusal(&unknown), not_found("Floating IP pool not found."));
    assert_eq!(
        refusal(&internal_net),
        not_found("Floating IP pool not found.")
    );
    assert_eq!(
        refusal(&bad),
        (
            StatusCode::BAD_REQUEST,
            "badRequest".to_string(),
            "Invalid input for field/attribute pool. Value: 7. 7 is not of type 'string', 'null'"
                .to_string()
        )
    );
    let listed = call(&app, Method::GET, "/os-floating-ips", ALICE, None).await;
    assert_eq!(listed.body, json!({"floating_ips": []}));
}

#[tokio::test]
async fn an_associated_floating_ip_shows_its_fixed_address_and_the_ports_device() {
    let app = TestApp::new().await;
    let (net, _, _) = routed_network(&app, "10.40.0.0/24").await;
    let port = app
        .call(
            Method::POST,
            "/network/v2.0/ports",
            Some(ALICE),
            &[],
            Some(json!({"port": {"network_id": net, "device_id": "8a3f0d42-5f0e-4d6b-9c55-0f2c9e0d1a77"}})),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);
    let port_id = port.body["port"]["id"].as_str().unwrap().to_string();
    let fixed = port.body["port"]["fixed_ips"][0]["ip_address"].clone();
    let made = allocate(&app, ALICE, json!({"pool": "public"})).await;
    let id = made.body["floating_ip"]["id"].as_str().unwrap().to_string();

    let associated = app
        .call(
            Method::PUT,
            &format!("/network/v2.0/floatingips/{id}"),
            Some(ALICE),
            &[],
            Some(json!({"floatingip": {"port_id": port_id}})),
        )
        .await;
    assert_eq!(associated.status, StatusCode::OK, "{}", associated.text);

    let shown = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_matches("floating-ip-show", shown.status.as_u16(), &shown.body);
    assert_eq!(
        (
            shown.body["floating_ip"]["fixed_ip"].clone(),
            shown.body["floating_ip"]["instance_id"].clone()
        ),
        (fixed, json!("8a3f0d42-5f0e-4d6b-9c55-0f2c9e0d1a77"))
    );
    // Releasing an associated floating IP disassociates it first.
    let released = call(
        &app,
        Method::DELETE,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(released.status, StatusCode::ACCEPTED, "{}", released.text);
}

#[tokio::test]
async fn a_project_sees_and_releases_only_its_floating_ips() {
    let app = TestApp::new().await;
    let made = allocate(&app, ALICE, json!({"pool": "public"})).await;
    let id = made.body["floating_ip"]["id"].as_str().unwrap().to_string();

    let bob_list = call(&app, Method::GET, "/os-floating-ips", BOB, None).await;
    let bob_show = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        BOB,
        None,
    )
    .await;
    let bob_release = call(
        &app,
        Method::DELETE,
        &format!("/os-floating-ips/{id}"),
        BOB,
        None,
    )
    .await;
    // nova lists the caller's project's floating IPs, an admin's too.
    let admin_list = call(&app, Method::GET, "/os-floating-ips", ADMIN, None).await;
    let admin_show = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ADMIN,
        None,
    )
    .await;

    assert_eq!(bob_list.body, json!({"floating_ips": []}));
    assert_eq!(
        refusal(&bob_show),
        not_found(&format!("Floating IP not found for ID {id}"))
    );
    assert_eq!(
        refusal(&bob_release),
        not_found(&format!("Floating IP not found for ID {id}"))
    );
    assert_eq!(admin_list.body, json!({"floating_ips": []}));
    assert_eq!(admin_show.status, StatusCode::OK, "{}", admin_show.text);
    let still = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test]
async fn from_2_36_the_floating_ip_proxies_are_not_found() {
    let app = TestApp::new().await;
    let made = allocate(&app, ALICE, json!({"pool": "public"})).await;
    let id = made.body["floating_ip"]["id"].as_str().unwrap().to_string();
    let calls = [
        (Method::GET, "/v2.1/os-floating-ip-pools".to_string(), None),
        (Method::GET, "/v2.1/os-floating-ips".to_string(), None),
        (
            Method::POST,
            "/v2.1/os-floating-ips".to_string(),
            Some(json!({"pool": "public"})),
        ),
        (Method::GET, format!("/v2.1/os-floating-ips/{id}"), None),
        (Method::DELETE, format!("/v2.1/os-floating-ips/{id}"), None),
    ];
    for (method, path, body) in calls {
        let answer = app
            .call(
                method.clone(),
                &path,
                Some(ALICE),
                &[("OpenStack-API-Version", "compute 2.36")],
                body,
            )
            .await;
        assert_eq!(
            refusal(&answer),
            not_found("The resource could not be found."),
            "{method} {path}"
        );
    }
    let still = call(
        &app,
        Method::GET,
        &format!("/os-floating-ips/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(still.status, StatusCode::OK);
}
