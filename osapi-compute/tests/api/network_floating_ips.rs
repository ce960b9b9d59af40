//! Routers and floating IPs at the built-in Network v2 endpoint, through
//! the whole pipeline: the seeded external network `public`, a router's
//! gateway and interfaces, floating IPs associated through it, Neutron's
//! bodies and errors, quotas and isolation.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::fixture::{TestApp, ADMIN, ALICE, BOB};
use crate::network::{create_network, create_subnet, delete, get, neutron_error, post, put};

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The id of the seeded external network, as a client finds it by name.
pub(crate) async fn public(app: &TestApp, token: &str) -> String {
    let found = get(app, "/v2.0/networks?name=public", token).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    id_of(&found.body["networks"][0])
}

pub(crate) async fn create_router(app: &TestApp, token: &str, body: Value) -> Value {
    let a = post(app, "/v2.0/routers", token, json!({ "router": body })).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.body["router"].clone()
}

pub(crate) async fn create_port(app: &TestApp, token: &str, network: &str) -> Value {
    let a = post(
        app,
        "/v2.0/ports",
        token,
        json!({"port": {"network_id": network}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.body["port"].clone()
}

async fn create_fip(app: &TestApp, token: &str, body: Value) -> crate::fixture::Answer {
    post(
        app,
        "/v2.0/floatingips",
        token,
        json!({ "floatingip": body }),
    )
    .await
}

/// Alice's network and subnet, joined to `public` by a router: (network,
/// subnet, router).
pub(crate) async fn routed_network(app: &TestApp, cidr: &str) -> (String, String, String) {
    let public = public(app, ALICE).await;
    let net = create_network(app, ALICE, "tenant").await;
    let sub = create_subnet(app, ALICE, &net, cidr).await;
    let router = create_router(
        app,
        ALICE,
        json!({"name": "r1", "external_gateway_info": {"network_id": public}}),
    )
    .await;
    let r = id_of(&router);
    let added = put(
        app,
        &format!("/v2.0/routers/{r}/add_router_interface"),
        ALICE,
        json!({ "subnet_id": sub }),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    (net, sub, r)
}

#[tokio::test]
async fn a_router_joins_a_subnet_to_public_and_a_floating_ip_follows_the_port() {
    let app = TestApp::new().await;
    let public = public(&app, ALICE).await;
    let net = create_network(&app, ALICE, "tenant").await;
    let sub = create_subnet(&app, ALICE, &net, "10.30.0.0/24").await;

    let router = create_router(&app, ALICE, json!({"name": "r1"})).await;
    let r = id_of(&router);
    assert_eq!(
        (
            router["name"].clone(),
            router["status"].clone(),
            router["admin_state_up"].clone(),
            router["external_gateway_info"].clone(),
            router["tenant_id"].clone(),
            router["project_id"].clone()
        ),
        (
            json!("r1"),
            json!("ACTIVE"),
            json!(true),
            Value::Null,
            json!("alpha"),
            json!("alpha")
        )
    );

    let gateway = put(
        &app,
        &format!("/v2.0/routers/{r}"),
        ALICE,
        json!({"router": {"external_gateway_info": {"network_id": public}}}),
    )
    .await;
    assert_eq!(gateway.status, StatusCode::OK, "{}", gateway.text);
    let info = &gateway.body["router"]["external_gateway_info"];
    assert_eq!(
        (info["network_id"].clone(), info["enable_snat"].clone()),
        (json!(public), json!(true))
    );
    assert_eq!(
        info["external_fixed_ips"][0]["ip_address"], "172.24.4.2",
        "{}",
        gateway.text
    );

    let added = put(
        &app,
        &format!("/v2.0/routers/{r}/add_router_interface"),
        ALICE,
        json!({ "subnet_id": sub }),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(
        (
            added.body["id"].clone(),
            added.body["subnet_id"].clone(),
            added.body["subnet_ids"].clone(),
            added.body["network_id"].clone(),
            added.body["tenant_id"].clone()
        ),
        (
            json!(r),
            json!(sub),
            json!([sub]),
            json!(net),
            json!("alpha")
        )
    );
    let interface = get(
        &app,
        &format!("/v2.0/ports/{}", added.body["port_id"].as_str().unwrap()),
        ALICE,
    )
    .await;
    assert_eq!(
        (
            interface.body["port"]["device_owner"].clone(),
            interface.body["port"]["device_id"].clone(),
            interface.body["port"]["fixed_ips"][0]["ip_address"].clone()
        ),
        (
            json!("network:router_interface"),
            json!(r),
            json!("10.30.0.1")
        )
    );

    let port = create_port(&app, ALICE, &net).await;
    let p = id_of(&port);
    let created = create_fip(&app, ALICE, json!({"floating_network_id": public})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let fip = created.body["floatingip"].clone();
    let f = id_of(&fip);
    assert_eq!(
        (
            fip["floating_ip_address"].clone(),
            fip["floating_network_id"].clone(),
            fip["status"].clone(),
            fip["port_id"].clone(),
            fip["fixed_ip_address"].clone(),
            fip["router_id"].clone(),
            fip["tenant_id"].clone()
        ),
        (
            json!("172.24.4.3"),
            json!(public),
            json!("DOWN"),
            Value::Null,
            Value::Null,
            Value::Null,
            json!("alpha")
        )
    );

    let associated = put(
        &app,
        &format!("/v2.0/floatingips/{f}"),
        ALICE,
        json!({"floatingip": {"port_id": p}}),
    )
    .await;
    assert_eq!(associated.status, StatusCode::OK, "{}", associated.text);
    let a = &associated.body["floatingip"];
    assert_eq!(
        (
            a["status"].clone(),
            a["port_id"].clone(),
            a["fixed_ip_address"].clone(),
            a["router_id"].clone()
        ),
        (
            json!("ACTIVE"),
            json!(p),
            port["fixed_ips"][0]["ip_address"].clone(),
            json!(r)
        )
    );
    let listed = get(&app, "/v2.0/floatingips?fields=id&fields=port_id", ALICE).await;
    assert_eq!(
        listed.body,
        json!({"floatingips": [{"id": f, "port_id": p}]})
    );
    let by_address = get(
        &app,
        "/v2.0/floatingips?floating_ip_address=172.24.4.3",
        ALICE,
    )
    .await;
    assert_eq!(by_address.body["floatingips"][0]["id"], f.as_str());

    let freed = put(
        &app,
        &format!("/v2.0/floatingips/{f}"),
        ALICE,
        json!({"floatingip": {"port_id": null}}),
    )
    .await;
    assert_eq!(
        (
            freed.body["floatingip"]["status"].clone(),
            freed.body["floatingip"]["port_id"].clone()
        ),
        (json!("DOWN"), Value::Null)
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/floatingips/{f}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let removed = put(
        &app,
        &format!("/v2.0/routers/{r}/remove_router_interface"),
        ALICE,
        json!({ "subnet_id": sub }),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    assert_eq!(removed.body["port_id"], added.body["port_id"]);
    assert_eq!(
        delete(&app, &format!("/v2.0/routers/{r}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("/v2.0/routers/{r}"), ALICE).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn neutrons_errors_for_routers_and_floating_ips() {
    let app = TestApp::new().await;
    let private = {
        let found = get(&app, "/v2.0/networks?name=private", ALICE).await;
        id_of(&found.body["networks"][0])
    };
    let not_external = create_fip(&app, ALICE, json!({"floating_network_id": private})).await;
    assert_eq!(not_external.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&not_external),
        (
            "BadRequest".into(),
            format!("Bad floatingip request: Network {private} is not a valid external network."),
            String::new()
        )
    );
    let missing = create_fip(&app, ALICE, json!({})).await;
    assert_eq!(
        (missing.status, neutron_error(&missing).1),
        (
            StatusCode::BAD_REQUEST,
            "Failed to parse request. Required attribute 'floating_network_id' not specified"
                .into()
        )
    );

    // A port no router joins to public cannot get a floating IP.
    let public = public(&app, ALICE).await;
    let net = create_network(&app, ALICE, "lonely").await;
    let sub = create_subnet(&app, ALICE, &net, "10.31.0.0/24").await;
    let port = id_of(&create_port(&app, ALICE, &net).await);
    let unreachable = create_fip(
        &app,
        ALICE,
        json!({"floating_network_id": public, "port_id": port}),
    )
    .await;
    assert_eq!(unreachable.status, StatusCode::NOT_FOUND);
    assert_eq!(
        neutron_error(&unreachable),
        (
            "ExternalGatewayForFloatingIPNotFound".into(),
            format!(
                "External network {public} is not reachable from subnet {sub}.  Therefore, cannot associate Port {port} with a Floating IP."
            ),
            String::new()
        )
    );
    // Nothing was allocated by the refused create.
    assert_eq!(
        get(&app, "/v2.0/floatingips", ALICE).await.body,
        json!({"floatingips": []})
    );

    let r = id_of(&create_router(&app, ALICE, json!({"name": "r"})).await);
    let attach = |body: Value| {
        let app = &app;
        let path = format!("/v2.0/routers/{r}/add_router_interface");
        async move { put(app, &path, ALICE, body).await }
    };
    assert_eq!(
        attach(json!({ "subnet_id": sub })).await.status,
        StatusCode::OK
    );
    let twice = attach(json!({ "subnet_id": sub })).await;
    assert_eq!(
        (twice.status, neutron_error(&twice).1),
        (
            StatusCode::BAD_REQUEST,
            format!("Bad router request: Router already has a port on subnet {sub}.")
        )
    );
    let not_uuid = attach(json!({"subnet_id": "nope"})).await;
    assert_eq!(
        (not_uuid.status, neutron_error(&not_uuid).1),
        (
            StatusCode::BAD_REQUEST,
            "Bad router request: 'nope' is not a valid UUID.".into()
        )
    );
    let both = attach(json!({"subnet_id": sub, "port_id": port})).await;
    assert_eq!(
        neutron_error(&both).1,
        "Bad router request: Cannot specify both subnet-id and port-id."
    );
    let in_use = delete(&app, &format!("/v2.0/routers/{r}"), ALICE).await;
    assert_eq!(
        (in_use.status, neutron_error(&in_use)),
        (
            StatusCode::CONFLICT,
            (
                "RouterInUse".into(),
                format!("Router {r} still has ports"),
                String::new()
            )
        )
    );
    let gw_on_tenant = put(
        &app,
        &format!("/v2.0/routers/{r}"),
        ALICE,
        json!({"router": {"external_gateway_info": {"network_id": net}}}),
    )
    .await;
    assert_eq!(
        (gw_on_tenant.status, neutron_error(&gw_on_tenant).1),
        (
            StatusCode::BAD_REQUEST,
            format!("Bad router request: Network {net} is not an external network.")
        )
    );
    let unknown = get(&app, "/v2.0/floatingips/nope", ALICE).await;
    assert_eq!(
        (unknown.status, neutron_error(&unknown).0),
        (StatusCode::NOT_FOUND, "FloatingIPNotFound".into())
    );

    // An external network is the admin's to make.
    let external = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"name": "ext2", "router:external": true}}),
    )
    .await;
    assert_eq!(
        (external.status, neutron_error(&external).1),
        (
            StatusCode::FORBIDDEN,
            "(rule:create_network and rule:create_network:router:external) is disallowed by policy"
                .into()
        )
    );
    let by_admin = post(
        &app,
        "/v2.0/networks",
        ADMIN,
        json!({"network": {"name": "ext2", "router:external": true}}),
    )
    .await;
    assert_eq!(by_admin.status, StatusCode::CREATED);
    assert_eq!(by_admin.body["network"]["router:external"], true);
}

#[tokio::test]
async fn a_router_or_floating_ip_port_is_not_deleted_and_a_deleted_port_loses_its_floating_ip() {
    let app = TestApp::new().await;
    let (net, _, r) = routed_network(&app, "10.32.0.0/24").await;
    let public = public(&app, ALICE).await;
    let port = id_of(&create_port(&app, ALICE, &net).await);
    let created = create_fip(
        &app,
        ALICE,
        json!({"floating_network_id": public, "port_id": port, "description": "web"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let fip = created.body["floatingip"].clone();
    assert_eq!(
        (fip["status"].clone(), fip["router_id"].clone()),
        (json!("ACTIVE"), json!(r))
    );

    let interfaces = get(
        &app,
        &format!("/v2.0/ports?device_owner=network:router_interface&device_id={r}"),
        ALICE,
    )
    .await;
    let interface = id_of(&interfaces.body["ports"][0]);
    let refused = delete(&app, &format!("/v2.0/ports/{interface}"), ALICE).await;
    assert_eq!(
        (refused.status, neutron_error(&refused)),
        (
            StatusCode::CONFLICT,
            (
                "ServicePortInUse".into(),
                format!(
                    "Port {interface} cannot be deleted directly via the port API: has device owner network:router_interface."
                ),
                String::new()
            )
        )
    );

    assert_eq!(
        delete(&app, &format!("/v2.0/ports/{port}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let after = get(&app, &format!("/v2.0/floatingips/{}", id_of(&fip)), ALICE).await;
    let a = &after.body["floatingip"];
    assert_eq!(
        (
            a["status"].clone(),
            a["port_id"].clone(),
            a["fixed_ip_address"].clone(),
            a["router_id"].clone(),
            a["floating_ip_address"].clone()
        ),
        (
            json!("DOWN"),
            Value::Null,
            Value::Null,
            Value::Null,
            fip["floating_ip_address"].clone()
        )
    );
}

#[tokio::test]
async fn projects_never_see_each_others_routers_or_floating_ips() {
    let app = TestApp::new().await;
    let public = public(&app, ALICE).await;
    let r = id_of(&create_router(&app, ALICE, json!({"name": "mine"})).await);
    let f = create_fip(&app, ALICE, json!({"floating_network_id": public})).await;
    let f = id_of(&f.body["floatingip"]);

    assert_eq!(
        get(&app, "/v2.0/routers", BOB).await.body,
        json!({"routers": []})
    );
    assert_eq!(
        get(&app, "/v2.0/floatingips", BOB).await.body,
        json!({"floatingips": []})
    );
    let hidden = get(&app, &format!("/v2.0/routers/{r}"), BOB).await;
    assert_eq!(
        (hidden.status, neutron_error(&hidden)),
        (
            StatusCode::NOT_FOUND,
            (
                "RouterNotFound".into(),
                format!("Router {r} could not be found"),
                String::new()
            )
        )
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/floatingips/{f}"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Bob sees public, not the ports holding Alice's addresses.
    assert_eq!(self::public(&app, BOB).await, public);
    assert_eq!(
        get(&app, "/v2.0/ports?device_owner=network:floatingip", BOB)
            .await
            .body,
        json!({"ports": []})
    );
    // The admin sees them all.
    assert_eq!(
        get(&app, "/v2.0/routers?fields=id", ADMIN).await.body,
        json!({"routers": [{"id": r}]})
    );
    assert_eq!(
        get(&app, "/v2.0/floatingips?fields=id", ADMIN).await.body,
        json!({"floatingips": [{"id": f}]})
    );
}

#[tokio::test]
async fn quotas_stop_at_neutrons_defaults() {
    let app = TestApp::new().await;
    for i in 0..10 {
        create_router(&app, ALICE, json!({ "name": format!("r{i}") })).await;
    }
    let over = post(
        &app,
        "/v2.0/routers",
        ALICE,
        json!({"router": {"name": "one-too-many"}}),
    )
    .await;
    assert_eq!(
        (over.status, neutron_error(&over)),
        (
            StatusCode::CONFLICT,
            (
                "OverQuota".into(),
                "Quota exceeded for resources: ['router'].".into(),
                String::new()
            )
        )
    );
    let public = public(&app, BOB).await;
    for _ in 0..50 {
        let a = create_fip(&app, BOB, json!({"floating_network_id": public})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let over = create_fip(&app, BOB, json!({"floating_network_id": public})).await;
    assert_eq!(
        (over.status, neutron_error(&over).1),
        (
            StatusCode::CONFLICT,
            "Quota exceeded for resources: ['floatingip'].".into()
        )
    );
}
