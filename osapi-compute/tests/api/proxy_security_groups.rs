//! nova's `os-security-groups` and `os-security-group-rules` proxies
//! (2.1-2.35) through the whole pipeline: nova's views of the groups and
//! rules the Network v2 endpoint serves, nova's validation messages and
//! status codes, project isolation, `all_tenants`, quotas and the 404 from
//! 2.36.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};
use crate::schema::assert_matches;

/// The last microversion with the proxies.
const V: &str = "2.35";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let header = format!("compute {V}");
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
    call(app, Method::GET, path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    call(app, Method::POST, path, token, Some(body)).await
}

async fn create_group(app: &TestApp, token: &str, name: &str) -> Value {
    let made = post(
        app,
        "/os-security-groups",
        token,
        json!({"security_group": {"name": name, "description": format!("{name} servers")}}),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    made.body["security_group"].clone()
}

async fn create_rule(app: &TestApp, token: &str, rule: Value) -> Answer {
    post(
        app,
        "/os-security-group-rules",
        token,
        json!({ "security_group_rule": rule }),
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The status, fault name and message of a refusal.
fn refusal(answer: &Answer) -> (StatusCode, String, String) {
    (answer.status, answer.fault_name(), answer.fault_message())
}

fn bad_request(message: &str) -> (StatusCode, String, String) {
    (
        StatusCode::BAD_REQUEST,
        "badRequest".to_string(),
        message.to_string(),
    )
}

#[tokio::test]
async fn a_projects_first_list_shows_its_default_group_with_the_ingress_rules_from_itself() {
    let app = TestApp::new().await;

    let listed = get(&app, "/os-security-groups", ALICE).await;

    assert_matches("security-groups-list", listed.status.as_u16(), &listed.body);
    let groups = listed.body["security_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{}", listed.text);
    let id = id_of(&groups[0]);
    let rules = groups[0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{}", listed.text);
    let rule = |i: usize| {
        json!({
            "id": rules[i]["id"],
            "parent_group_id": id,
            "ip_protocol": null,
            "from_port": null,
            "to_port": null,
            "group": {"name": "default", "tenant_id": "alpha"},
            "ip_range": {},
        })
    };
    assert_eq!(
        listed.body,
        json!({"security_groups": [{
            "id": id,
            "name": "default",
            "description": "Default security group",
            "tenant_id": "alpha",
            "rules": [rule(0), rule(1)],
        }]})
    );
}

#[tokio::test]
async fn a_group_is_created_shown_renamed_and_deleted_in_novas_shape() {
    let app = TestApp::new().await;

    let made = post(
        &app,
        "/os-security-groups",
        ALICE,
        json!({"security_group": {"name": " web tier ", "description": "web servers"}}),
    )
    .await;

    assert_matches("security-group-show", made.status.as_u16(), &made.body);
    let group = made.body["security_group"].clone();
    let id = id_of(&group);
    // Neutron's two egress rules are not nova's to show.
    assert_eq!(
        group,
        json!({"id": id, "name": " web tier ", "description": "web servers",
               "tenant_id": "alpha", "rules": []})
    );
    let shown = get(&app, &format!("/os-security-groups/{id}"), ALICE).await;
    assert_eq!(
        (shown.status, shown.body["security_group"].clone()),
        (StatusCode::OK, group)
    );

    let renamed = call(
        &app,
        Method::PUT,
        &format!("/os-security-groups/{id}"),
        ALICE,
        Some(json!({"security_group": {"name": "web", "description": "front"}})),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(
        (
            renamed.body["security_group"]["name"].clone(),
            renamed.body["security_group"]["description"].clone()
        ),
        (json!("web"), json!("front"))
    );
    // The Network v2 endpoint serves the same group.
    let neutron = app
        .call(
            Method::GET,
            &format!("/network/v2.0/security-groups/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(
        neutron.body["security_group"]["name"], "web",
        "{}",
        neutron.text
    );

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/os-security-groups/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (deleted.status, deleted.text.as_str()),
        (StatusCode::ACCEPTED, "")
    );
    let gone = get(&app, &format!("/os-security-groups/{id}"), ALICE).await;
    assert_eq!(
        refusal(&gone),
        (
            StatusCode::NOT_FOUND,
            "itemNotFound".to_string(),
            format!("Security group {id} does not exist")
        )
    );
}

#[tokio::test]
async fn rules_show_their_range_or_their_remote_group_and_are_removed_with_their_peer() {
    let app = TestApp::new().await;
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let db = create_group(&app, ALICE, "db").await;
    let db_id = id_of(&db);

    let ssh = create_rule(
        &app,
        ALICE,
        json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 22, "to_port": 22}),
    )
    .await;
    let ping = create_rule(
        &app,
        ALICE,
        json!({"parent_group_id": web, "ip_protocol": "icmp", "from_port": -1, "to_port": -1,
               "cidr": "10.2.3.124/24"}),
    )
    .await;
    let from_db = create_rule(
        &app,
        ALICE,
        json!({"parent_group_id": web, "ip_protocol": "tcp", "group_id": db_id}),
    )
    .await;

    for made in [&ssh, &ping, &from_db] {
        assert_matches(
            "security-group-rule-create",
            made.status.as_u16(),
            &made.body,
        );
    }
    let view = |a: &Answer| a.body["security_group_rule"].clone();
    assert_eq!(
        view(&ssh),
        json!({"id": view(&ssh)["id"], "parent_group_id": web, "ip_protocol": "tcp",
               "from_port": 22, "to_port": 22, "group": {}, "ip_range": {"cidr": "0.0.0.0/0"}})
    );
    assert_eq!(
        view(&ping),
        json!({"id": view(&ping)["id"], "parent_group_id": web, "ip_protocol": "icmp",
               "from_port": -1, "to_port": -1, "group": {}, "ip_range": {"cidr": "10.2.3.124/24"}})
    );
    // A group rule without ports opens every TCP port.
    assert_eq!(
        view(&from_db),
        json!({"id": view(&from_db)["id"], "parent_group_id": web, "ip_protocol": "tcp",
               "from_port": 1, "to_port": 65535, "group": {"name": "db", "tenant_id": "alpha"},
               "ip_range": {}})
    );
    let shown = get(&app, &format!("/os-security-groups/{web}"), ALICE).await;
    assert_matches("security-group-show", shown.status.as_u16(), &shown.body);
    assert_eq!(
        shown.body["security_group"]["rules"],
        json!([view(&ssh), view(&ping), view(&from_db)])
    );
    // The Network v2 endpoint sees Neutron's rule behind nova's.
    let rule_id = view(&ssh)["id"].as_str().unwrap().to_string();
    let neutron = app
        .call(
            Method::GET,
            &format!("/network/v2.0/security-group-rules/{rule_id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    let r = &neutron.body["security_group_rule"];
    assert_eq!(
        (
            r["direction"].clone(),
            r["ethertype"].clone(),
            r["protocol"].clone(),
            r["port_range_min"].clone(),
            r["port_range_max"].clone(),
            r["remote_ip_prefix"].clone()
        ),
        (
            json!("ingress"),
            json!("IPv4"),
            json!("tcp"),
            json!(22),
            json!(22),
            json!("0.0.0.0/0")
        ),
        "{}",
        neutron.text
    );

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/os-security-group-rules/{rule_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (deleted.status, deleted.text.as_str()),
        (StatusCode::ACCEPTED, "")
    );
    let again = call(
        &app,
        Method::DELETE,
        &format!("/os-security-group-rules/{rule_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        refusal(&again),
        (
            StatusCode::NOT_FOUND,
            "itemNotFound".to_string(),
            format!("Security group rule {rule_id} does not exist")
        )
    );
    // Deleting the peer group takes the rules that name it.
    let peer_gone = call(
        &app,
        Method::DELETE,
        &format!("/os-security-groups/{db_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(peer_gone.status, StatusCode::ACCEPTED, "{}", peer_gone.text);
    let left = get(&app, &format!("/os-security-groups/{web}"), ALICE).await;
    assert_eq!(left.body["security_group"]["rules"], json!([view(&ping)]));
}

#[tokio::test]
async fn a_rule_nova_refuses_is_a_400_in_novas_words_and_adds_nothing() {
    let app = TestApp::new().await;
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let tcp = |extra: Value| {
        let mut rule = json!({"parent_group_id": web, "ip_protocol": "tcp",
                              "from_port": 22, "to_port": 22});
        for (k, v) in extra.as_object().unwrap() {
            rule[k] = v.clone();
        }
        rule
    };
    let cases = [
        (
            json!({"parent_group_id": "non_int_id"}),
            "Invalid input for field/attribute parent_group_id. Value: non_int_id. 'non_int_id' is not a 'uuid'".to_string(),
        ),
        (
            tcp(json!({"ip_protocol": "999tcp"})),
            "Invalid IP protocol 999tcp.".to_string(),
        ),
        (
            tcp(json!({"from_port": 65536})),
            "Invalid port range 65536:22. Former value cannot be greater than the later"
                .to_string(),
        ),
        (
            tcp(json!({"to_port": 65536})),
            "Invalid port range 22:65536. Valid TCP ports should be between 1-65535".to_string(),
        ),
        (
            tcp(json!({"from_port": 22, "to_port": 21})),
            "Invalid port range 22:21. Former value cannot be greater than the later".to_string(),
        ),
        (
            tcp(json!({"from_port": "ssh"})),
            "Invalid input received: To and From ports must be integers".to_string(),
        ),
        (
            tcp(json!({"cidr": "10.0.0.300/24"})),
            "10.0.0.300/24 is not a valid IP network.".to_string(),
        ),
        (
            tcp(json!({"cidr": "10.0.0.0/0"})),
            "Bad prefix for network in cidr 10.0.0.0/0".to_string(),
        ),
        (
            json!({"parent_group_id": web, "ip_protocol": "tcp"}),
            "Not enough parameters to build a valid rule.".to_string(),
        ),
        (
            json!({"parent_group_id": web, "ip_protocol": "tcp", "from_port": 5, "to_port": 6,
                   "group_id": "nope"}),
            "Invalid input for field/attribute group_id. Value: nope. 'nope' is not a 'uuid'"
                .to_string(),
        ),
    ];
    for (rule, message) in cases {
        let refused = create_rule(&app, ALICE, rule.clone()).await;
        assert_eq!(refusal(&refused), bad_request(&message), "{rule}");
    }
    let missing = create_rule(&app, ALICE, json!({})).await;
    assert_eq!(
        refusal(&missing),
        bad_request(
            "Invalid input for field/attribute security_group_rule. Value: {}. \
             'parent_group_id' is a required property"
        )
    );
    let shown = get(&app, &format!("/os-security-groups/{web}"), ALICE).await;
    assert_eq!(shown.body["security_group"]["rules"], json!([]));

    // The same rule twice: nova's own check finds it.
    let first = create_rule(&app, ALICE, tcp(json!({}))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = create_rule(&app, ALICE, tcp(json!({}))).await;
    assert_eq!(
        refusal(&second),
        bad_request(&format!("This rule already exists in group {web}"))
    );
    // Neutron's refusals come through with Neutron's message.
    let icmp_code_only = create_rule(
        &app,
        ALICE,
        json!({"parent_group_id": web, "ip_protocol": "icmp", "from_port": -1, "to_port": 3}),
    )
    .await;
    assert_eq!(
        refusal(&icmp_code_only),
        bad_request(
            "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."
        )
    );
    let nowhere = create_rule(
        &app,
        ALICE,
        tcp(json!({"parent_group_id": "6f0b5fa1-3f41-4b5c-9d0e-3d1f1c2b4a5e"})),
    )
    .await;
    assert_eq!(
        refusal(&nowhere),
        (
            StatusCode::NOT_FOUND,
            "itemNotFound".to_string(),
            "Security group 6f0b5fa1-3f41-4b5c-9d0e-3d1f1c2b4a5e does not exist".to_string()
        )
    );
}

#[tokio::test]
async fn group_bodies_and_ids_are_checked_with_novas_messages() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({}),
            "'security_group' is a required property".to_string(),
        ),
        (
            json!({"security_group": {"name": "web"}}),
            "Invalid input for field/attribute security_group. Value: {'name': 'web'}. \
             'description' is a required property"
                .to_string(),
        ),
        (
            json!({"security_group": {"name": "n".repeat(256), "description": ""}}),
            format!(
                "Invalid input for field/attribute name. Value: {0}. '{0}' is too long",
                "n".repeat(256)
            ),
        ),
        (
            json!({"security_group": {"name": "web", "description": 5}}),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string'"
                .to_string(),
        ),
    ];
    for (body, message) in cases {
        let refused = post(&app, "/os-security-groups", ALICE, body.clone()).await;
        assert_eq!(refusal(&refused), bad_request(&message), "{body}");
    }
    for method in [Method::GET, Method::DELETE] {
        let refused = call(&app, method, "/os-security-groups/not-a-uuid", ALICE, None).await;
        assert_eq!(
            refusal(&refused),
            bad_request("Security group id should be uuid")
        );
    }
    let refused = call(
        &app,
        Method::DELETE,
        "/os-security-group-rules/12",
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        refusal(&refused),
        bad_request("Security group id should be uuid")
    );
    // `default` is every project's own group: Neutron's 409, nova's 403.
    let named_default = post(
        &app,
        "/os-security-groups",
        ALICE,
        json!({"security_group": {"name": "default", "description": ""}}),
    )
    .await;
    assert_eq!(
        refusal(&named_default),
        (
            StatusCode::FORBIDDEN,
            "forbidden".to_string(),
            "Default security group already exists.".to_string()
        )
    );
}

#[tokio::test]
async fn a_default_group_or_one_a_port_uses_is_not_deleted() {
    let app = TestApp::new().await;
    let listed = get(&app, "/os-security-groups", ALICE).await;
    let default_id = id_of(&listed.body["security_groups"][0]);
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let private = app
        .call(
            Method::GET,
            "/network/v2.0/networks?name=private",
            Some(ALICE),
            &[],
            None,
        )
        .await;
    let network = id_of(&private.body["networks"][0]);
    let port = app
        .call(
            Method::POST,
            "/network/v2.0/ports",
            Some(ALICE),
            &[],
            Some(json!({"port": {"network_id": network, "security_groups": [web]}})),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);

    let default = call(
        &app,
        Method::DELETE,
        &format!("/os-security-groups/{default_id}"),
        ALICE,
        None,
    )
    .await;
    let in_use = call(
        &app,
        Method::DELETE,
        &format!("/os-security-groups/{web}"),
        ALICE,
        None,
    )
    .await;

    assert_eq!(
        refusal(&default),
        bad_request("Insufficient rights for removing default security group.")
    );
    assert_eq!(
        refusal(&in_use),
        bad_request(&format!("Security Group {web} in use."))
    );
    let still = get(&app, &format!("/os-security-groups/{web}"), ALICE).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test]
async fn a_project_sees_only_its_groups_and_only_an_admin_lists_all_tenants() {
    let app = TestApp::new().await;
    let alices = id_of(&create_group(&app, ALICE, "web").await);
    create_group(&app, BOB, "db").await;

    let bob_all = get(&app, "/os-security-groups?all_tenants=1", BOB).await;
    let names: Vec<(String, String)> = bob_all.body["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["tenant_id"].as_str().unwrap().into(),
                g["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("beta".to_string(), "db".to_string()),
            ("beta".to_string(), "default".to_string())
        ]
    );
    for (method, body) in [
        (Method::GET, None),
        (Method::DELETE, None),
        (
            Method::PUT,
            Some(json!({"security_group": {"name": "mine", "description": ""}})),
        ),
    ] {
        let refused = call(
            &app,
            method,
            &format!("/os-security-groups/{alices}"),
            BOB,
            body,
        )
        .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    }
    let rule = create_rule(
        &app,
        BOB,
        json!({"parent_group_id": alices, "ip_protocol": "tcp", "from_port": 1, "to_port": 2}),
    )
    .await;
    assert_eq!(rule.status, StatusCode::NOT_FOUND, "{}", rule.text);

    let admin_own = get(&app, "/os-security-groups", ADMIN).await;
    let admin_all = get(&app, "/os-security-groups?all_tenants=True", ADMIN).await;
    let tenants = |a: &Answer| -> Vec<String> {
        a.body["security_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                format!(
                    "{}/{}",
                    g["tenant_id"].as_str().unwrap(),
                    g["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(tenants(&admin_own), vec!["admin/default"]);
    assert_eq!(
        tenants(&admin_all),
        vec![
            "admin/default",
            "alpha/default",
            "alpha/web",
            "beta/db",
            "beta/default"
        ]
    );
    let paged = get(
        &app,
        "/os-security-groups?all_tenants=1&offset=1&limit=2",
        ADMIN,
    )
    .await;
    assert_eq!(paged.body["security_groups"].as_array().unwrap().len(), 2);
    let bad_limit = get(&app, "/os-security-groups?limit=-1", ALICE).await;
    assert_eq!(
        refusal(&bad_limit),
        bad_request(
            "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"
        )
    );
}

#[tokio::test]
async fn the_tenth_group_and_the_hundred_and_first_rule_are_over_quota() {
    let app = TestApp::new().await;
    // The default group counts: nine more fit in Neutron's ten.
    let mut last = Value::Null;
    for i in 0..9 {
        last = create_group(&app, ALICE, &format!("g{i}")).await;
    }

    let tenth = post(
        &app,
        "/os-security-groups",
        ALICE,
        json!({"security_group": {"name": "g9", "description": ""}}),
    )
    .await;

    assert_eq!(
        refusal(&tenth),
        (
            StatusCode::FORBIDDEN,
            "forbidden".to_string(),
            "Quota exceeded for resources: ['security_group'].".to_string()
        )
    );
    // Each group holds two egress rules, the default group four: 22 of
    // the project's 100 rules are taken.
    let parent = id_of(&last);
    for port in 1..=78 {
        let made = create_rule(
            &app,
            ALICE,
            json!({"parent_group_id": parent, "ip_protocol": "tcp",
                   "from_port": port, "to_port": port}),
        )
        .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    }
    let over = create_rule(
        &app,
        ALICE,
        json!({"parent_group_id": parent, "ip_protocol": "udp", "from_port": 53, "to_port": 53}),
    )
    .await;
    assert_eq!(
        refusal(&over),
        (
            StatusCode::FORBIDDEN,
            "forbidden".to_string(),
            "Quota exceeded for resources: ['security_group_rule'].".to_string()
        )
    );
}

#[tokio::test]
async fn from_2_36_the_security_group_proxies_are_not_found() {
    let app = TestApp::new().await;
    let group = id_of(&create_group(&app, ALICE, "web").await);
    let body = json!({"security_group": {"name": "x", "description": ""}});
    let rule = json!({"security_group_rule": {"parent_group_id": group, "ip_protocol": "tcp",
                                              "from_port": 1, "to_port": 2}});
    let calls = [
        (Method::GET, "/v2.1/os-security-groups".to_string(), None),
        (
            Method::POST,
            "/v2.1/os-security-groups".to_string(),
            Some(body.clone()),
        ),
        (
            Method::GET,
            format!("/v2.1/os-security-groups/{group}"),
            None,
        ),
        (
            Method::PUT,
            format!("/v2.1/os-security-groups/{group}"),
            Some(body),
        ),
        (
            Method::DELETE,
            format!("/v2.1/os-security-groups/{group}"),
            None,
        ),
        (
            Method::POST,
            "/v2.1/os-security-group-rules".to_string(),
            Some(rule),
        ),
        (
            Method::DELETE,
            format!("/v2.1/os-security-group-rules/{group}"),
            None,
        ),
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
            (
                StatusCode::NOT_FOUND,
                "itemNotFound".to_string(),
                "The resource could not be found.".to_string()
            ),
            "{method} {path}"
        );
    }
    // Without a version header the request is 2.1, where they are served.
    let default_version = app.get("/v2.1/os-security-groups", ALICE, None).await;
    assert_eq!(default_version.status, StatusCode::OK);
    let still = get(&app, &format!("/os-security-groups/{group}"), ALICE).await;
    assert_eq!(still.status, StatusCode::OK);
}
