//! Security groups and their rules at the built-in Network v2 endpoint,
//! through the whole pipeline: each project's default group, Neutron's
//! bodies and errors, listing, ports with groups, quotas and isolation.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::fixture::{TestApp, ADMIN, ALICE, BOB};
use crate::network::{create_network, create_subnet, delete, get, neutron_error, post, put};

async fn create_group(app: &TestApp, token: &str, name: &str) -> Value {
    let a = post(
        app,
        "/v2.0/security-groups",
        token,
        json!({"security_group": {"name": name, "description": format!("{name} group")}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.body["security_group"].clone()
}

async fn create_rule(app: &TestApp, token: &str, rule: Value) -> crate::fixture::Answer {
    post(
        app,
        "/v2.0/security-group-rules",
        token,
        json!({ "security_group_rule": rule }),
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_projects_first_list_shows_its_default_group_in_neutrons_format() {
    let app = TestApp::new().await;

    let listed = get(&app, "/v2.0/security-groups", ALICE).await;

    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let groups = listed.body["security_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{}", listed.text);
    let g = &groups[0];
    let default_id = id_of(g);
    assert_eq!(
        (
            g["name"].clone(),
            g["description"].clone(),
            g["tenant_id"].clone(),
            g["project_id"].clone(),
            g["stateful"].clone()
        ),
        (
            json!("default"),
            json!("Default security group"),
            json!("alpha"),
            json!("alpha"),
            json!(true)
        )
    );
    assert!(g["created_at"].as_str().unwrap().ends_with('Z'));
    let mut rules: Vec<(Value, Value, Value, Value)> = g["security_group_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["security_group_id"], default_id.as_str());
            assert_eq!(
                (
                    r["protocol"].clone(),
                    r["port_range_min"].clone(),
                    r["remote_ip_prefix"].clone()
                ),
                (Value::Null, Value::Null, Value::Null)
            );
            (
                r["direction"].clone(),
                r["ethertype"].clone(),
                r["remote_group_id"].clone(),
                r["tenant_id"].clone(),
            )
        })
        .collect();
    rules.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(
        rules,
        vec![
            (json!("egress"), json!("IPv4"), Value::Null, json!("alpha")),
            (json!("egress"), json!("IPv6"), Value::Null, json!("alpha")),
            (
                json!("ingress"),
                json!("IPv4"),
                json!(default_id),
                json!("alpha")
            ),
            (
                json!("ingress"),
                json!("IPv6"),
                json!(default_id),
                json!("alpha")
            ),
        ]
    );
    let again = get(&app, "/v2.0/security-groups", ALICE).await;
    assert_eq!(again.body["security_groups"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn groups_are_created_shown_updated_listed_and_deleted() {
    let app = TestApp::new().await;
    let web = create_group(&app, ALICE, "web").await;
    let id = id_of(&web);
    assert_eq!(
        (web["name"].clone(), web["description"].clone()),
        (json!("web"), json!("web group"))
    );
    let directions: Vec<(&str, &str)> = web["security_group_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().unwrap(),
                r["ethertype"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(directions.len(), 2);
    assert!(directions.contains(&("egress", "IPv4")) && directions.contains(&("egress", "IPv6")));

    let shown = get(
        &app,
        &format!("/v2.0/security-groups/{id}?fields=name&fields=id"),
        ALICE,
    )
    .await;
    assert_eq!(
        shown.body,
        json!({"security_group": {"id": id, "name": "web"}})
    );
    let renamed = put(
        &app,
        &format!("/v2.0/security-groups/{id}"),
        ALICE,
        json!({"security_group": {"name": "www", "description": "public"}}),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["security_group"]["name"], "www");
    create_group(&app, ALICE, "db").await;
    let sorted = get(
        &app,
        "/v2.0/security-groups?sort_key=name&sort_dir=asc&fields=name",
        ALICE,
    )
    .await;
    assert_eq!(
        sorted.body["security_groups"],
        json!([{"name": "db"}, {"name": "default"}, {"name": "www"}])
    );
    let paged = get(
        &app,
        "/v2.0/security-groups?sort_key=name&sort_dir=asc&limit=2",
        ALICE,
    )
    .await;
    assert_eq!(paged.body["security_groups"].as_array().unwrap().len(), 2);
    assert_eq!(paged.body["security_groups_links"][0]["rel"], "next");
    let filtered = get(&app, "/v2.0/security-groups?name=www", ALICE).await;
    assert_eq!(
        filtered.body["security_groups"].as_array().unwrap().len(),
        1
    );
    let bad = get(&app, "/v2.0/security-groups?colour=red", ALICE).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let gone = delete(&app, &format!("/v2.0/security-groups/{id}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = get(&app, &format!("/v2.0/security-groups/{id}"), ALICE).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        neutron_error(&missing),
        (
            "SecurityGroupNotFound".to_string(),
            format!("Security group {id} does not exist"),
            String::new()
        )
    );
}

#[tokio::test]
async fn rules_are_checked_as_neutron_checks_them() {
    let app = TestApp::new().await;
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let ssh = create_rule(
        &app,
        ALICE,
        json!({"security_group_id": web, "direction": "ingress", "protocol": "tcp",
               "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}),
    )
    .await;
    assert_eq!(ssh.status, StatusCode::CREATED, "{}", ssh.text);
    let rule = &ssh.body["security_group_rule"];
    let rule_id = id_of(rule);
    assert_eq!(
        (
            rule["protocol"].clone(),
            rule["port_range_min"].clone(),
            rule["port_range_max"].clone(),
            rule["ethertype"].clone(),
            rule["remote_ip_prefix"].clone(),
            rule["remote_group_id"].clone(),
            rule["tenant_id"].clone(),
        ),
        (
            json!("tcp"),
            json!(22),
            json!(22),
            json!("IPv4"),
            json!("10.0.0.0/8"),
            Value::Null,
            json!("alpha")
        )
    );

    let again = create_rule(
        &app,
        ALICE,
        json!({"security_group_id": web, "direction": "ingress", "protocol": 6,
               "port_range_min": "22", "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&again).1,
        format!("Security group rule already exists. Rule id is {rule_id}.")
    );
    assert_eq!(neutron_error(&again).0, "SecurityGroupRuleExists");
    let refusals = [
        (
            json!({"security_group_id": web, "direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80}),
            "SecurityGroupInvalidPortRange",
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "protocol": "icmp", "port_range_min": 300}),
            "SecurityGroupInvalidIcmpValue",
            "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}),
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": web}),
            "SecurityGroupMultipleRemoteEntites",
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "port_range_min": 22}),
            "SecurityGroupProtocolRequiredWithPorts",
            "Must also specify protocol if port range is given.",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}),
            "HTTPBadRequest",
            "Invalid value for port 70000",
        ),
        (
            json!({"security_group_id": web, "direction": "ingress", "remote_ip_prefix": "10.0.0.300/8"}),
            "HTTPBadRequest",
            "Invalid CIDR 10.0.0.300/8 given as IP prefix.",
        ),
    ];
    for (body, kind, message) in refusals {
        let a = create_rule(&app, ALICE, body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text);
        let (t, m, _) = neutron_error(&a);
        assert_eq!((t.as_str(), m.as_str()), (kind, message), "{body}");
    }
    let no_direction = create_rule(&app, ALICE, json!({"security_group_id": web})).await;
    assert_eq!(
        neutron_error(&no_direction).1,
        "Failed to parse request. Required attribute 'direction' not specified"
    );
    let unknown = create_rule(
        &app,
        ALICE,
        json!({"security_group_id": web, "direction": "ingress", "protocol": "bogus"}),
    )
    .await;
    assert!(neutron_error(&unknown).1.starts_with("Security group rule protocol bogus not supported. Only protocol values (None, 'any', 'ah', "), "{}", unknown.text);

    let listed = get(
        &app,
        &format!("/v2.0/security-group-rules?security_group_id={web}&direction=ingress"),
        ALICE,
    )
    .await;
    assert_eq!(
        listed.body["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        listed.body["security_group_rules"][0]["id"],
        rule_id.as_str()
    );
    let shown = get(
        &app,
        &format!("/v2.0/security-group-rules/{rule_id}"),
        ALICE,
    )
    .await;
    assert_eq!(shown.body["security_group_rule"]["id"], rule_id.as_str());
    let not_updatable = put(
        &app,
        &format!("/v2.0/security-group-rules/{rule_id}"),
        ALICE,
        json!({"security_group_rule": {}}),
    )
    .await;
    assert_eq!(not_updatable.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        delete(
            &app,
            &format!("/v2.0/security-group-rules/{rule_id}"),
            ALICE
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let gone = get(
        &app,
        &format!("/v2.0/security-group-rules/{rule_id}"),
        ALICE,
    )
    .await;
    assert_eq!(
        (gone.status, neutron_error(&gone).0),
        (
            StatusCode::NOT_FOUND,
            "SecurityGroupRuleNotFound".to_string()
        )
    );
}

#[tokio::test]
async fn the_default_group_and_groups_in_use_answer_409() {
    let app = TestApp::new().await;
    let listed = get(&app, "/v2.0/security-groups", ALICE).await;
    let default = id_of(&listed.body["security_groups"][0]);
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let net = create_network(&app, ALICE, "n").await;
    create_subnet(&app, ALICE, &net, "10.20.0.0/24").await;
    let port = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net, "security_groups": [web]}}),
    )
    .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.text);
    let port_id = id_of(&port.body["port"]);

    let cases = [
        (
            delete(&app, &format!("/v2.0/security-groups/{default}"), ALICE).await,
            "SecurityGroupCannotRemoveDefault",
            "Insufficient rights for removing default security group.".to_string(),
        ),
        (
            put(
                &app,
                &format!("/v2.0/security-groups/{default}"),
                ALICE,
                json!({"security_group": {"name": "other"}}),
            )
            .await,
            "SecurityGroupCannotUpdateDefault",
            "Updating default security group not allowed.".to_string(),
        ),
        (
            post(
                &app,
                "/v2.0/security-groups",
                ALICE,
                json!({"security_group": {"name": "default"}}),
            )
            .await,
            "SecurityGroupDefaultAlreadyExists",
            "Default security group already exists.".to_string(),
        ),
        (
            delete(&app, &format!("/v2.0/security-groups/{web}"), ALICE).await,
            "SecurityGroupInUse",
            format!("Security Group {web} in use."),
        ),
    ];
    for (answer, kind, message) in cases {
        assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text);
        assert_eq!(
            neutron_error(&answer),
            (kind.to_string(), message, String::new())
        );
    }
    let released = put(
        &app,
        &format!("/v2.0/ports/{port_id}"),
        ALICE,
        json!({"port": {"security_groups": []}}),
    )
    .await;
    assert_eq!(released.body["port"]["security_groups"], json!([]));
    assert_eq!(
        delete(&app, &format!("/v2.0/security-groups/{web}"), ALICE)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &format!("/v2.0/security-groups/{default}"), ADMIN)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn ports_get_the_default_group_and_only_their_projects_groups() {
    let app = TestApp::new().await;
    let net = create_network(&app, ALICE, "n").await;
    create_subnet(&app, ALICE, &net, "10.30.0.0/24").await;
    let web = id_of(&create_group(&app, ALICE, "web").await);
    let bobs = id_of(&create_group(&app, BOB, "bobs").await);

    let plain = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net}}),
    )
    .await;
    let foreign = post(
        &app,
        "/v2.0/ports",
        ALICE,
        json!({"port": {"network_id": net, "security_groups": [bobs]}}),
    )
    .await;

    let default = get(&app, "/v2.0/security-groups?name=default", ALICE).await;
    let default_id = id_of(&default.body["security_groups"][0]);
    assert_eq!(plain.body["port"]["security_groups"], json!([default_id]));
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        neutron_error(&foreign),
        (
            "SecurityGroupNotFound".to_string(),
            format!("Security group {bobs} does not exist"),
            String::new()
        )
    );
    let port_id = id_of(&plain.body["port"]);
    let changed = put(
        &app,
        &format!("/v2.0/ports/{port_id}"),
        ALICE,
        json!({"port": {"security_groups": [web, default_id]}}),
    )
    .await;
    assert_eq!(
        changed.body["port"]["security_groups"],
        json!([web, default_id])
    );
    let shown = get(&app, &format!("/v2.0/ports/{port_id}"), ALICE).await;
    assert_eq!(
        shown.body["port"]["security_groups"],
        json!([web, default_id])
    );
    let by_group = get(
        &app,
        &format!("/v2.0/ports?security_groups={web}&fields=id"),
        ALICE,
    )
    .await;
    assert_eq!(by_group.body["ports"], json!([{"id": port_id}]));
}

#[tokio::test]
async fn a_project_never_sees_another_projects_groups_or_rules_and_an_admin_sees_all() {
    let app = TestApp::new().await;
    let web = id_of(&create_group(&app, ALICE, "web").await);
    create_group(&app, BOB, "bobs").await;

    let bobs_view = get(&app, "/v2.0/security-groups?fields=name", BOB).await;
    let bobs_rules = get(&app, "/v2.0/security-group-rules", BOB).await;
    let admins_view = get(&app, "/v2.0/security-groups?fields=tenant_id", ADMIN).await;

    assert_eq!(
        bobs_view.body["security_groups"].as_array().unwrap().len(),
        2
    );
    assert!(bobs_view.body["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["name"] != "web"));
    assert!(
        bobs_rules.body["security_group_rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["tenant_id"] == "beta"),
        "{}",
        bobs_rules.text
    );
    let mut tenants: Vec<String> = admins_view.body["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["tenant_id"].as_str().unwrap().to_string())
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["admin", "alpha", "alpha", "beta", "beta"]);
    assert_eq!(
        get(&app, &format!("/v2.0/security-groups/{web}"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let into_alices = create_rule(
        &app,
        BOB,
        json!({"security_group_id": web, "direction": "ingress"}),
    )
    .await;
    assert_eq!(into_alices.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, &format!("/v2.0/security-groups/{web}"), ADMIN)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_eleventh_group_is_over_neutrons_quota() {
    let app = TestApp::new().await;
    for i in 1..10 {
        create_group(&app, ALICE, &format!("g{i}")).await;
    }

    let over = post(
        &app,
        "/v2.0/security-groups",
        ALICE,
        json!({"security_group": {"name": "g10"}}),
    )
    .await;

    assert_eq!(over.status, StatusCode::CONFLICT);
    assert_eq!(
        neutron_error(&over),
        (
            "OverQuota".to_string(),
            "Quota exceeded for resources: ['security_group'].".to_string(),
            String::new()
        )
    );
}
