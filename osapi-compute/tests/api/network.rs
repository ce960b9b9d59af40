//! The built-in Network v2 endpoint (`/network`) through the whole
//! pipeline: version documents, extensions, networks, subnets and ports
//! in Neutron's format, project scoping, paging and Neutron's errors.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};

pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    app.call(method, &format!("/network{path}"), token, &[], body)
        .await
}

pub(crate) async fn get(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::GET, path, Some(token), None).await
}

pub(crate) async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(token), Some(body)).await
}

pub(crate) async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    call(app, Method::PUT, path, Some(token), Some(body)).await
}

pub(crate) async fn delete(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::DELETE, path, Some(token), None).await
}

/// The `NeutronError` of an answer: (type, message, detail).
pub(crate) fn neutron_error(answer: &Answer) -> (String, String, String) {
    let e = &answer.body["NeutronError"];
    let text = |k: &str| {
        e[k].as_str()
            .unwrap_or_else(|| panic!("no {k} in {}", answer.text))
            .to_string()
    };
    (text("type"), text("message"), text("detail"))
}

pub(crate) async fn create_network(app: &TestApp, token: &str, name: &str) -> String {
    let a = post(
        app,
        "/v2.0/networks",
        token,
        json!({"network": {"name": name}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.body["network"]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn create_subnet(app: &TestApp, token: &str, network: &str, cidr: &str) -> String {
    let a = post(
        app,
        "/v2.0/subnets",
        token,
        json!({"subnet": {"network_id": network, "ip_version": 4, "cidr": cidr, "name": "sub"}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.body["subnet"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn version_documents_and_extensions_describe_what_is_served() {
    let app = TestApp::new().await;
    let root = call(&app, Method::GET, "/", None, None).await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(
        root.body,
        json!({"versions": [{"id": "v2.0", "status": "CURRENT",
            "links": [{"rel": "self", "href": "http://openstack.example.com/network/v2.0/"}]}]})
    );
    let v2 = get(&app, "/v2.0", ALICE).await;
    let collections: Vec<&str> = v2.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["collection"].as_str().unwrap())
        .collect();
    assert_eq!(
        collections,
        ["networks", "subnets", "ports", "routers", "floatingips"]
    );
    assert_eq!(
        v2.body["resources"][0]["links"][0]["href"],
        "http://openstack.example.com/network/v2.0/networks"
    );
    let ext = get(&app, "/v2.0/extensions", ALICE).await;
    let aliases: Vec<&str> = ext.body["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["alias"].as_str().unwrap())
        .collect();
    for alias in [
        "external-net",
        "net-mtu",
        "project-id",
        "pagination",
        "sorting",
        "security-group",
        "stateful-security-group",
        "router",
        "ext-gw-mode",
        "quotas",
        "quota_details",
        "auto-allocated-topology",
    ] {
        assert!(aliases.contains(&alias), "{aliases:?}");
    }
    for alias in [
        "extraroute",
        "l3_agent_scheduler",
        "subnet_allocation",
        "agent",
    ] {
        assert!(!aliases.contains(&alias), "{aliases:?}");
    }
    assert_eq!(
        get(&app, "/v2.0/extensions/net-mtu", ALICE).await.body["extension"]["alias"],
        "net-mtu"
    );
    let missing = get(&app, "/v2.0/extensions/extraroute", ALICE).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unauth = call(&app, Method::GET, "/v2.0/networks", None, None).await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(neutron_error(&unauth).0, "HTTPUnauthorized");
    let nowhere = get(&app, "/v2.0/trunks", ALICE).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(neutron_error(&nowhere).0, "HTTPNotFound");
}

#[tokio::test]
async fn the_catalogue_names_the_network_endpoint() {
    let app = TestApp::new().await;
    let token = app
        .call(
            Method::POST,
            "/identity/v3/auth/tokens",
            None,
            &[],
            Some(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"id": "default"}, "password": "x"}}},
                "scope": {"project": {"name": "alpha", "domain": {"id": "default"}}}}})),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    let network = token.body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "network")
        .cloned()
        .expect("a network service");
    assert_eq!(network["name"], "neutron");
    let urls: Vec<&str> = network["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.iter()
            .all(|u| *u == "http://openstack.example.com/network"),
        "{urls:?}"
    );
}

#[tokio::test]
async fn networks_are_created_shown_listed_updated_and_deleted_in_neutrons_format() {
    let app = TestApp::new().await;
    let created = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"name": "net1", "admin_state_up": true}}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let n = &created.body["network"];
    let id = n["id"].as_str().unwrap().to_string();
    assert_eq!(n["name"], "net1");
    assert_eq!(
        (n["tenant_id"].clone(), n["project_id"].clone()),
        (json!("alpha"), json!("alpha"))
    );
    assert_eq!(
        (
            n["status"].clone(),
            n["shared"].clone(),
            n["router:external"].clone()
        ),
        (json!("ACTIVE"), json!(false), json!(false))
    );
    assert_eq!(
        (
            n["mtu"].clone(),
            n["subnets"].clone(),
            n["description"].clone()
        ),
        (json!(1500), json!([]), json!(""))
    );
    assert!(n["created_at"].as_str().unwrap().ends_with('Z'));

    let shown = get(&app, &format!("/v2.0/networks/{id}"), ALICE).await;
    assert_eq!(shown.body["network"]["id"], id.as_str());
    let some = get(
        &app,
        &format!("/v2.0/networks/{id}?fields=id&fields=name"),
        ALICE,
    )
    .await;
    assert_eq!(some.body, json!({"network": {"id": id, "name": "net1"}}));

    let hidden = get(&app, &format!("/v2.0/networks/{id}"), BOB).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(
        neutron_error(&hidden),
        (
            "NetworkNotFound".into(),
            format!("Network {id} could not be found."),
            String::new()
        )
    );
    // Bob sees only the seeded shared and external networks.
    assert_eq!(
        get(
            &app,
            "/v2.0/networks?fields=name&sort_key=name&sort_dir=asc",
            BOB
        )
        .await
        .body,
        json!({"networks": [{"name": "private"}, {"name": "public"}]})
    );

    let updated = put(
        &app,
        &format!("/v2.0/networks/{id}"),
        ALICE,
        json!({"network": {"name": "renamed", "mtu": 1450}}),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(
        (
            updated.body["network"]["name"].clone(),
            updated.body["network"]["mtu"].clone()
        ),
        (json!("renamed"), json!(1450))
    );
    let shared = put(
        &app,
        &format!("/v2.0/networks/{id}"),
        ALICE,
        json!({"network": {"shared": true}}),
    )
    .await;
    assert_eq!(shared.status, StatusCode::FORBIDDEN);
    assert_eq!(neutron_error(&shared).0, "PolicyNotAuthorized");
    let by_admin = put(
        &app,
        &format!("/v2.0/networks/{id}"),
        ADMIN,
        json!({"network": {"shared": true}}),
    )
    .await;
    assert_eq!(by_admin.body["network"]["shared"], true);
    // Shared now: bob sees it.
    assert_eq!(
        get(&app, "/v2.0/networks?name=renamed", BOB).await.body["networks"][0]["id"],
        id.as_str()
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/networks/{id}"), BOB)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let gone = delete(&app, &format!("/v2.0/networks/{id}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &format!("/v2.0/networks/{id}"), ALICE)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bodies_are_checked_as_neutron_does() {
    let app = TestApp::new().await;
    let unknown = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"name": "n", "colour": "red"}}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&unknown),
        (
            "HTTPBadRequest".into(),
            "Unrecognized attribute(s) 'colour'".into(),
            String::new()
        )
    );
    let read_only = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"status": "DOWN"}}),
    )
    .await;
    assert_eq!(
        neutron_error(&read_only).1,
        "Attribute 'status' not allowed in POST"
    );
    let bad_bool = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"admin_state_up": "maybe"}}),
    )
    .await;
    assert_eq!(
        neutron_error(&bad_bool).1,
        "Invalid input for admin_state_up. Reason: '\"maybe\"' cannot be converted to boolean."
    );
    let shared = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"shared": true}}),
    )
    .await;
    assert_eq!(shared.status, StatusCode::FORBIDDEN);
    assert_eq!(
        neutron_error(&shared).1,
        "(rule:create_network and rule:create_network:shared) is disallowed by policy"
    );
    let no_body = post(&app, "/v2.0/networks", ALICE, json!({"net": {}})).await;
    assert_eq!(no_body.status, StatusCode::BAD_REQUEST);
    let net = create_network(&app, ALICE, "n").await;
    let no_cidr = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnet": {"network_id": net, "ip_version": 4}}),
    )
    .await;
    assert_eq!(
        neutron_error(&no_cidr).1,
        "Failed to parse request. Required attribute 'cidr' not specified"
    );
    let bad_cidr = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.1/24"}}),
    )
    .await;
    assert_eq!(bad_cidr.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&bad_cidr).1,
        "Invalid input for cidr. Reason: '10.0.0.1/24' isn't a recognized IP subnet cidr, '10.0.0.0/24' is recommended."
    );
    let pools = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.5",
            "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.9"}]}}),
    )
    .await;
    assert_eq!(pools.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&pools),
        (
            "GatewayConflictWithAllocationPools".into(),
            "Gateway ip 10.0.0.5 conflicts with allocation pool 10.0.0.2-10.0.0.9.".into(),
            String::new()
        )
    );
    let malformed = app
        .call(
            Method::POST,
            "/network/v2.0/networks",
            Some(ALICE),
            &[("Content-Type", "application/json")],
            None,
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(neutron_error(&malformed).1, "Malformed request body");
}

#[tokio::test]
async fn subnets_and_ports_allocate_addresses_and_refuse_deletes_in_use() {
    let app = TestApp::new().await;
    let net = create_network(&app, ALICE, "n").await;
    let sub = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "192.168.10.0/24", "dns_nameservers": ["8.8.8.8"]}}),
    )
    .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.text);
    let s = &sub.body["subnet"];
    let subnet_id = s["id"].as_str().unwrap().to_string();
    assert_eq!(s["gateway_ip"], "192.168.10.1");
    assert_eq!(
        s["allocation_pools"],
        json!([{"start": "192.168.10.2", "end": "192.168.10.254"}])
    );
    assert_eq!(
        (
            s["enable_dhcp"].clone(),
            s["ip_version"].clone(),
            s["host_routes"].clone()
        ),
        (json!(true), json!(4), json!([]))
    );
    assert_eq!(
        get(&app, &format!("/v2.0/networks/{net}"), ALICE)
            .await
            .body["network"]["subnets"],
        json!([subnet_id])
    );
    let overlap = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "192.168.10.128/25"}}),
    )
    .await;
    assert_eq!(overlap.status, StatusCode::BAD_REQUEST);
    assert_eq!(neutron_error(&overlap).0, "InvalidInput");

    let port = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net, "name": "p1"}}),
    )
    .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);
    let p = &port.body["port"];
    let port_id = p["id"].as_str().unwrap().to_string();
    assert_eq!(
        p["fixed_ips"],
        json!([{"subnet_id": subnet_id, "ip_address": "192.168.10.2"}])
    );
    assert_eq!(
        (
            p["status"].clone(),
            p["device_id"].clone(),
            p["admin_state_up"].clone()
        ),
        (json!("DOWN"), json!(""), json!(true))
    );
    assert!(p["mac_address"].as_str().unwrap().starts_with("fa:16:3e:"));
    let taken = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net, "fixed_ips": [{"ip_address": "192.168.10.2"}]}}),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&taken),
        ("IpAddressInUse".into(), format!("Unable to complete operation for network {net}. The IP address 192.168.10.2 is in use."), String::new())
    );
    let plugged = put(
        &app,
        &format!("/v2.0/ports/{port_id}"),
        ALICE,
        json!({"port": {"device_id": "vm-1", "device_owner": "compute:nova"}}),
    )
    .await;
    assert_eq!(plugged.body["port"]["status"], "ACTIVE");

    let in_use = delete(&app, &format!("/v2.0/networks/{net}"), ALICE).await;
    assert_eq!(in_use.status, StatusCode::CONFLICT);
    assert_eq!(neutron_error(&in_use).0, "NetworkInUse");
    let sub_in_use = delete(&app, &format!("/v2.0/subnets/{subnet_id}"), ALICE).await;
    assert_eq!(sub_in_use.status, StatusCode::CONFLICT);
    assert_eq!(neutron_error(&sub_in_use).0, "SubnetInUse");
    // Bob sees neither the port nor the subnet.
    assert_eq!(
        get(&app, &format!("/v2.0/ports/{port_id}"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        neutron_error(&get(&app, &format!("/v2.0/subnets/{subnet_id}"), BOB).await).0,
        "SubnetNotFound"
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/ports/{port_id}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/subnets/{subnet_id}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/networks/{net}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn lists_filter_sort_and_page_with_links() {
    let app = TestApp::new().await;
    for name in ["c", "a", "d", "b"] {
        create_network(&app, ALICE, name).await;
    }
    let names = |a: &Answer, key: &str| -> Vec<String> {
        a.body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect()
    };
    let by_name = get(&app, "/v2.0/networks?name=a&name=b&fields=name", ALICE).await;
    assert_eq!(names(&by_name, "networks").len(), 2);
    assert_eq!(by_name.body["networks"][0].as_object().unwrap().len(), 1);
    let sorted = get(&app, "/v2.0/networks?sort_key=name&sort_dir=desc", ALICE).await;
    assert_eq!(
        names(&sorted, "networks"),
        ["public", "private", "d", "c", "b", "a"]
    );
    let page1 = get(
        &app,
        "/v2.0/networks?shared=false&router:external=false&sort_key=name&sort_dir=asc&limit=2",
        ALICE,
    )
    .await;
    assert_eq!(names(&page1, "networks"), ["a", "b"]);
    let links = page1.body["networks_links"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["rel"], "next");
    let next = links[0]["href"].as_str().unwrap();
    let path = next
        .strip_prefix("http://openstack.example.com/network")
        .unwrap();
    let page2 = get(&app, path, ALICE).await;
    assert_eq!(names(&page2, "networks"), ["c", "d"]);
    let rels: Vec<&str> = page2.body["networks_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["previous"]);
    let bad_filter = get(&app, "/v2.0/networks?colour=red", ALICE).await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&bad_filter).1,
        "[colour] is invalid attribute for filtering"
    );
    let bad_sort = get(&app, "/v2.0/networks?sort_key=name", ALICE).await;
    assert_eq!(bad_sort.status, StatusCode::BAD_REQUEST);
    let bad_limit = get(&app, "/v2.0/networks?limit=-1", ALICE).await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);
    let bad_marker = get(&app, "/v2.0/networks?limit=1&marker=nope", ALICE).await;
    assert_eq!(bad_marker.status, StatusCode::NOT_FOUND);
    let external = get(
        &app,
        "/v2.0/networks?router:external=True&fields=name",
        ALICE,
    )
    .await;
    assert_eq!(external.body, json!({"networks": [{"name": "public"}]}));
    // Ports by address, subnets by network.
    let net = create_network(&app, ALICE, "p").await;
    create_subnet(&app, ALICE, &net, "10.20.0.0/24").await;
    for _ in 0..2 {
        assert_eq!(
            post(
                &app,
                "/v2.0/ports",
                ALICE,
                json!({"port": {"network_id": net}})
            )
            .await
            .status,
            StatusCode::CREATED
        );
    }
    let by_ip = get(&app, "/v2.0/ports?fixed_ips=ip_address%3D10.20.0.3", ALICE).await;
    assert_eq!(by_ip.body["ports"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_ip.body["ports"][0]["fixed_ips"][0]["ip_address"],
        "10.20.0.3"
    );
    let subnets = get(&app, &format!("/v2.0/subnets?network_id={net}"), ALICE).await;
    assert_eq!(subnets.body["subnets"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&app, "/v2.0/ports", BOB).await.body,
        json!({"ports": []})
    );
    assert_eq!(
        get(&app, "/v2.0/ports", ADMIN).await.body["ports"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_shared_network_takes_ports_from_other_projects() {
    let app = TestApp::new().await;
    let a = post(
        &app,
        "/v2.0/networks",
        ADMIN,
        json!({"network": {"name": "public", "shared": true}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let net = a.body["network"]["id"].as_str().unwrap().to_string();
    create_subnet(&app, ADMIN, &net, "172.24.4.0/24").await;
    let port = post(
        &app,
        "/v2.0/ports",
        BOB,
        json!({"port": {"network_id": net}}),
    )
    .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);
    assert_eq!(port.body["port"]["tenant_id"], "beta");
    let subnet = post(
        &app,
        "/v2.0/subnets",
        BOB,
        json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.1.0.0/24"}}),
    )
    .await;
    assert_eq!(subnet.status, StatusCode::FORBIDDEN);
    assert_eq!(
        neutron_error(&subnet),
        (
            "PolicyNotAuthorized".into(),
            "rule:create_subnet is disallowed by policy".into(),
            String::new()
        )
    );
    let other = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"network": {"tenant_id": "beta"}}),
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neutron_error(&other).1,
        "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges"
    );
    let for_beta = post(
        &app,
        "/v2.0/networks",
        ADMIN,
        json!({"network": {"project_id": "beta"}}),
    )
    .await;
    assert_eq!(for_beta.body["network"]["project_id"], "beta");
}

#[tokio::test]
async fn a_fresh_cloud_lists_the_seeded_private_and_public_networks() {
    let app = TestApp::new().await;
    let list = get(&app, "/v2.0/networks?sort_key=name&sort_dir=asc", ALICE).await;
    let networks = list.body["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 2);
    let public = &networks[1];
    assert_eq!(
        (
            public["name"].clone(),
            public["shared"].clone(),
            public["router:external"].clone()
        ),
        (json!("public"), json!(false), json!(true))
    );
    let public_subnet = public["subnets"][0].as_str().unwrap();
    assert_eq!(
        get(&app, &format!("/v2.0/subnets/{public_subnet}"), ALICE)
            .await
            .body["subnet"]["cidr"],
        "172.24.4.0/24"
    );
    let private = &networks[0];
    assert_eq!(
        (private["name"].clone(), private["shared"].clone()),
        (json!("private"), json!(true))
    );
    let subnet_id = private["subnets"][0].as_str().unwrap();
    let subnet = get(&app, &format!("/v2.0/subnets/{subnet_id}"), ALICE).await;
    assert_eq!(subnet.body["subnet"]["cidr"], "10.0.0.0/24");
    assert_eq!(subnet.body["subnet"]["name"], "private-subnet");
    let net = private["id"].as_str().unwrap();
    let port = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net}}),
    )
    .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);
    assert_eq!(port.body["port"]["fixed_ips"][0]["ip_address"], "10.0.0.2");
}

#[tokio::test]
async fn a_bulk_create_makes_every_resource_or_none() {
    let app = TestApp::new().await;
    let made = post(
        &app,
        "/v2.0/networks",
        ALICE,
        json!({"networks": [{"name": "b1"}, {"name": "b2"}]}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let names: Vec<&str> = made.body["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b1", "b2"]);
    let net = made.body["networks"][0]["id"].as_str().unwrap().to_string();

    // The second subnet overlaps the first: neither is kept.
    let refused = post(
        &app,
        "/v2.0/subnets",
        ALICE,
        json!({"subnets": [
            {"network_id": net, "ip_version": 4, "cidr": "10.60.0.0/24"},
            {"network_id": net, "ip_version": 4, "cidr": "10.60.0.0/25"},
        ]}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let subnets = get(&app, &format!("/v2.0/subnets?network_id={net}"), ALICE).await;
    assert_eq!(subnets.body["subnets"], json!([]));

    let ports = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"ports": [{"network_id": net}, {"network_id": net, "name": "p2"}]}),
    )
    .await;
    assert_eq!(ports.status, StatusCode::CREATED, "{}", ports.text);
    assert_eq!(ports.body["ports"].as_array().unwrap().len(), 2);

    let not_a_list = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"ports": {"network_id": net}}),
    )
    .await;
    assert_eq!(not_a_list.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_admin_binds_a_port_to_a_host_and_only_admins_see_the_binding() {
    let app = TestApp::new().await;
    let net = create_network(&app, ALICE, "bound").await;
    create_subnet(&app, ALICE, &net, "10.61.0.0/24").await;
    let refused = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net, "binding:host_id": "compute1"}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let made = post(
        &app,
        "/v2.0/ports",
        ADMIN,
        json!({"port": {"network_id": net, "project_id": "alpha", "binding:host_id": "compute1"}}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let port = &made.body["port"];
    assert_eq!(
        (
            &port["binding:host_id"],
            &port["binding:vif_type"],
            &port["binding:vnic_type"]
        ),
        (&json!("compute1"), &json!("ovs"), &json!("normal"))
    );
    let id = port["id"].as_str().unwrap();
    let theirs = get(&app, &format!("/v2.0/ports/{id}"), ALICE).await;
    assert!(
        theirs.body["port"].get("binding:host_id").is_none(),
        "{}",
        theirs.text
    );

    let moved = put(
        &app,
        &format!("/v2.0/ports/{id}"),
        ADMIN,
        json!({"port": {"binding:host_id": ""}}),
    )
    .await;
    assert_eq!(moved.body["port"]["binding:vif_type"], "unbound");
    let listed = get(&app, "/v2.0/ports?binding:host_id=", ADMIN).await;
    assert!(listed.body["ports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id));
}

#[tokio::test]
async fn an_external_network_goes_with_the_floating_ips_no_port_holds() {
    let app = TestApp::new().await;
    let ext = post(
        &app,
        "/v2.0/networks",
        ADMIN,
        json!({"network": {"name": "ext2", "router:external": true}}),
    )
    .await;
    let ext = ext.body["network"]["id"].as_str().unwrap().to_string();
    create_subnet(&app, ADMIN, &ext, "172.40.0.0/24").await;
    let fip = post(
        &app,
        "/v2.0/floatingips",
        ADMIN,
        json!({"floatingip": {"floating_network_id": ext}}),
    )
    .await;
    assert_eq!(fip.status, StatusCode::CREATED, "{}", fip.text);
    let fip = fip.body["floatingip"]["id"].as_str().unwrap().to_string();

    let deleted = delete(&app, &format!("/v2.0/networks/{ext}"), ADMIN).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = get(&app, &format!("/v2.0/floatingips/{fip}"), ADMIN).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
