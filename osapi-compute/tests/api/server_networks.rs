//! Servers on networks: the ports a create makes or binds, the addresses
//! and groups the server shows from them, interfaces attached and
//! detached, groups and floating IPs added and removed through the compute
//! API, and what a delete gives back; all seen from both APIs.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};
use crate::network::{create_network, create_subnet, get, post, put};

async fn create(app: &TestApp, token: &str, version: &str, server: Value) -> Answer {
    let mut body =
        json!({"server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"}});
    for (k, v) in server.as_object().unwrap() {
        body["server"][k] = v.clone();
    }
    app.send(Method::POST, "/v2.1/servers", token, version, body)
        .await
}

async fn server(app: &TestApp, token: &str, id: &str) -> Value {
    let shown = app
        .get(&format!("/v2.1/servers/{id}"), token, Some("2.1"))
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    shown.body["server"].clone()
}

async fn ports_of(app: &TestApp, token: &str, device: &str) -> Vec<Value> {
    let listed = get(app, &format!("/v2.0/ports?device_id={device}"), token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["ports"].as_array().unwrap().clone()
}

async fn action(app: &TestApp, token: &str, id: &str, version: &str, body: Value) -> Answer {
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/action"),
        token,
        version,
        body,
    )
    .await
}

#[tokio::test]
async fn a_server_without_networks_gets_a_port_on_the_shared_network() {
    let app = TestApp::new().await;
    let created = create(&app, ALICE, "2.1", json!({})).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap().to_string();

    let ports = ports_of(&app, ALICE, &id).await;
    assert_eq!(ports.len(), 1);
    let port = &ports[0];
    assert_eq!(port["device_owner"], "compute:nova");
    assert_eq!(port["status"], "ACTIVE");
    let address = port["fixed_ips"][0]["ip_address"].as_str().unwrap();

    let shown = server(&app, ALICE, &id).await;
    assert_eq!(
        shown["addresses"],
        json!({"private": [{
            "version": 4,
            "addr": address,
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
        }]})
    );
    assert_eq!(shown["security_groups"], json!([{"name": "default"}]));
    let ips = app
        .get(&format!("/v2.1/servers/{id}/ips/private"), ALICE, None)
        .await;
    assert_eq!(
        ips.body,
        json!({"private": [{"version": 4, "addr": address}]})
    );
}

#[tokio::test]
async fn a_server_on_a_named_network_and_address_and_one_with_none() {
    let app = TestApp::new().await;
    let net = create_network(&app, ALICE, "tenant").await;
    create_subnet(&app, ALICE, &net, "10.40.0.0/24").await;

    let created = create(
        &app,
        ALICE,
        "2.37",
        json!({"networks": [{"uuid": net, "fixed_ip": "10.40.0.9"}]}),
    )
    .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap();
    let shown = server(&app, ALICE, id).await;
    assert_eq!(shown["addresses"]["tenant"][0]["addr"], "10.40.0.9");

    // The address is taken now.
    let again = create(
        &app,
        ALICE,
        "2.37",
        json!({"networks": [{"uuid": net, "fixed_ip": "10.40.0.9"}]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.body["badRequest"]["message"],
        format!("Fixed IP address 10.40.0.9 is already in use on instance {id}.")
    );

    let none = create(&app, ALICE, "2.37", json!({"networks": "none"})).await;
    assert_eq!(none.status, StatusCode::ACCEPTED, "{}", none.text);
    let id = none.body["server"]["id"].as_str().unwrap();
    assert_eq!(server(&app, ALICE, id).await["addresses"], json!({}));
    assert!(ports_of(&app, ALICE, id).await.is_empty());

    // Two networks to choose from (the shared one and her own): 409.
    let ambiguous = create(&app, ALICE, "2.1", json!({})).await;
    assert_eq!(ambiguous.status, StatusCode::CONFLICT, "{}", ambiguous.text);
    assert_eq!(
        ambiguous.body["conflictingRequest"]["message"],
        "Multiple possible networks found, use a Network ID to be more specific."
    );
}

#[tokio::test]
async fn bad_network_requests_are_refused_before_anything_is_built() {
    let app = TestApp::new().await;
    let missing = "3b8d0d5a-0000-4000-8000-000000000001";
    let cases = [
        (
            json!({"networks": [{"uuid": missing}]}),
            StatusCode::BAD_REQUEST,
            format!("Network {missing} could not be found."),
        ),
        (
            json!({"networks": [{"uuid": "not-a-uuid"}]}),
            StatusCode::BAD_REQUEST,
            "Bad networks format: network uuid is not in proper format (not-a-uuid)".to_string(),
        ),
        (
            json!({"networks": [{"port": missing}]}),
            StatusCode::BAD_REQUEST,
            format!("Port id {missing} could not be found."),
        ),
    ];
    for (body, status, message) in cases {
        let answer = create(&app, ALICE, "2.1", body).await;
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(answer.body["badRequest"]["message"], message.as_str());
    }
    let servers = app.get("/v2.1/servers", ALICE, None).await;
    assert_eq!(servers.body["servers"], json!([]));
}

#[tokio::test]
async fn a_port_given_is_bound_kept_by_one_server_and_unbound_on_delete() {
    let app = TestApp::new().await;
    let net = create_network(&app, ALICE, "tenant").await;
    create_subnet(&app, ALICE, &net, "10.41.0.0/24").await;
    let port = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net}}),
    )
    .await;
    let port_id = port.body["port"]["id"].as_str().unwrap().to_string();

    let two = create(
        &app,
        ALICE,
        "2.1",
        json!({"networks": [{"port": port_id}], "min_count": 2}),
    )
    .await;
    assert_eq!(two.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        two.body["badRequest"]["message"],
        "Failed to launch instances: Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports."
    );

    let created = create(&app, ALICE, "2.1", json!({"networks": [{"port": port_id}]})).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap().to_string();
    let bound = get(&app, &format!("/v2.0/ports/{port_id}"), ALICE).await;
    assert_eq!(bound.body["port"]["device_id"], id.as_str());

    let taken = create(&app, ALICE, "2.1", json!({"networks": [{"port": port_id}]})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.body["conflictingRequest"]["message"],
        format!("Port {port_id} is still in use.")
    );

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let kept = get(&app, &format!("/v2.0/ports/{port_id}"), ALICE).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(kept.body["port"]["device_id"], "");
    assert_eq!(kept.body["port"]["status"], "DOWN");
}

#[tokio::test]
async fn deleting_a_server_deletes_the_ports_the_compute_api_made() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let port = ports_of(&app, ALICE, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = get(&app, &format!("/v2.0/ports/{port}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn interfaces_are_attached_shown_and_detached() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let net = create_network(&app, ALICE, "second").await;
    create_subnet(&app, ALICE, &net, "10.42.0.0/24").await;
    let base = format!("/v2.1/servers/{id}/os-interface");

    let attached = app
        .send(
            Method::POST,
            &base,
            ALICE,
            "2.70",
            json!({"interfaceAttachment": {"net_id": net, "fixed_ips": [{"ip_address": "10.42.0.7"}], "tag": "db"}}),
        )
        .await;
    assert_eq!(attached.status, StatusCode::OK, "{}", attached.text);
    let view = &attached.body["interfaceAttachment"];
    assert_eq!(view["net_id"], net.as_str());
    assert_eq!(view["port_state"], "ACTIVE");
    assert_eq!(view["fixed_ips"][0]["ip_address"], "10.42.0.7");
    assert_eq!(view["tag"], "db");
    let port = view["port_id"].as_str().unwrap().to_string();

    let listed = app.get(&base, ALICE, Some("2.1")).await;
    assert_eq!(
        listed.body["interfaceAttachments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(listed.body["interfaceAttachments"][0].get("tag").is_none());
    let shown = server(&app, ALICE, &id).await;
    assert_eq!(shown["addresses"]["second"][0]["addr"], "10.42.0.7");

    let other = app
        .get(
            &format!("{base}/{}", "3b8d0d5a-0000-4000-8000-000000000002"),
            ALICE,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.body["itemNotFound"]["message"],
        format!("Instance {id} does not have a port with id 3b8d0d5a-0000-4000-8000-000000000002")
    );

    let both = app
        .send(
            Method::POST,
            &base,
            ALICE,
            "2.1",
            json!({"interfaceAttachment": {"net_id": net, "port_id": port}}),
        )
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        both.body["badRequest"]["message"],
        "Must not input both network_id and port_id"
    );

    let detached = app
        .call(
            Method::DELETE,
            &format!("{base}/{port}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(detached.status, StatusCode::ACCEPTED, "{}", detached.text);
    assert!(server(&app, ALICE, &id).await["addresses"]
        .get("second")
        .is_none());
    let gone = get(&app, &format!("/v2.0/ports/{port}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn security_groups_are_added_to_and_removed_from_a_servers_ports() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let made = post(
        &app,
        "/v2.0/security-groups",
        ALICE,
        json!({"security_group": {"name": "web"}}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);

    let added = action(
        &app,
        ALICE,
        &id,
        "2.1",
        json!({"addSecurityGroup": {"name": "web"}}),
    )
    .await;
    assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.text);
    assert_eq!(
        server(&app, ALICE, &id).await["security_groups"],
        json!([{"name": "default"}, {"name": "web"}])
    );
    let twice = action(
        &app,
        ALICE,
        &id,
        "2.1",
        json!({"addSecurityGroup": {"name": "web"}}),
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);

    let listed = app
        .get(
            &format!("/v2.1/servers/{id}/os-security-groups"),
            ALICE,
            Some("2.1"),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let names: Vec<&str> = listed.body["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "web"]);
    assert_eq!(listed.body["security_groups"][1]["tenant_id"], "alpha");

    let removed = action(
        &app,
        ALICE,
        &id,
        "2.1",
        json!({"removeSecurityGroup": {"name": "default"}}),
    )
    .await;
    assert_eq!(removed.status, StatusCode::ACCEPTED, "{}", removed.text);
    assert_eq!(
        server(&app, ALICE, &id).await["security_groups"],
        json!([{"name": "web"}])
    );
    // Bob has no group of that name: not found, and his own server only.
    let bobs = app.create_server(BOB, "b").await;
    let missing = action(
        &app,
        BOB,
        &bobs,
        "2.1",
        json!({"addSecurityGroup": {"name": "web"}}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body["itemNotFound"]["message"],
        "Security group web not found."
    );
}

#[tokio::test]
async fn a_floating_ip_is_added_and_removed_through_the_compute_api_until_2_44() {
    let app = TestApp::new().await;
    let public = get(&app, "/v2.0/networks?name=public", ALICE).await.body["networks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let private = get(&app, "/v2.0/networks?name=private", ALICE).await.body["networks"][0]
        ["subnets"][0]
        .as_str()
        .unwrap()
        .to_string();
    // The admin joins the shared network to `public`, as devstack does.
    let router = post(
        &app,
        "/v2.0/routers",
        ADMIN,
        json!({"router": {"name": "r", "external_gateway_info": {"network_id": public}}}),
    )
    .await;
    let router = router.body["router"]["id"].as_str().unwrap().to_string();
    let joined = put(
        &app,
        &format!("/v2.0/routers/{router}/add_router_interface"),
        ADMIN,
        json!({"subnet_id": private}),
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    let fip = post(
        &app,
        "/v2.0/floatingips",
        ALICE,
        json!({"floatingip": {"floating_network_id": public}}),
    )
    .await;
    let address = fip.body["floatingip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    let id = app.create_server(ALICE, "vm").await;

    let late = action(
        &app,
        ALICE,
        &id,
        "2.44",
        json!({"addFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        late.body["badRequest"]["message"],
        "There is no such action: addFloatingIp"
    );

    let added = action(
        &app,
        ALICE,
        &id,
        "2.43",
        json!({"addFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.text);
    let shown = server(&app, ALICE, &id).await;
    assert_eq!(shown["addresses"]["private"][1]["addr"], address.as_str());
    assert_eq!(
        shown["addresses"]["private"][1]["OS-EXT-IPS:type"],
        "floating"
    );

    // Added again to another server, it moves there (nova re-assigns).
    let other = app.create_server(ALICE, "other").await;
    let moved = action(
        &app,
        ALICE,
        &other,
        "2.43",
        json!({"addFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::ACCEPTED, "{}", moved.text);
    assert_eq!(
        server(&app, ALICE, &other).await["addresses"]["private"][1]["addr"],
        address.as_str()
    );
    assert_eq!(
        server(&app, ALICE, &id).await["addresses"]["private"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let back = action(
        &app,
        ALICE,
        &id,
        "2.43",
        json!({"addFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(back.status, StatusCode::ACCEPTED, "{}", back.text);

    let removed = action(
        &app,
        ALICE,
        &id,
        "2.43",
        json!({"removeFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(removed.status, StatusCode::ACCEPTED, "{}", removed.text);
    let again = action(
        &app,
        ALICE,
        &id,
        "2.43",
        json!({"removeFloatingIp": {"address": address}}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.body["conflictingRequest"]["message"],
        format!("Floating IP {address} is not associated with instance {id}.")
    );
    assert_eq!(
        server(&app, ALICE, &id).await["addresses"]["private"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
