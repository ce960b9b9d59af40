//! `/os-server-groups` through the HTTP routes: each microversion's body
//! and view, scoping, members made by the `group` hint, quotas in
//! os-quota-sets and limits, and the create's errors.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{TestApi, ADMIN, ALICE, BOB};

async fn create(api: &TestApi, token: &str, version: &str, body: Value) -> crate::fixture::Answer {
    api.call(
        Method::POST,
        "/os-server-groups",
        token,
        Some(version),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn the_view_follows_the_microversion() {
    let api = TestApi::new().await;
    let old = create(
        &api,
        ALICE,
        "2.1",
        json!({"server_group": {"name": "g1", "policies": ["affinity"]}}),
    )
    .await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.text);
    let g = &old.body["server_group"];
    assert_eq!(g["policies"], json!(["affinity"]));
    assert_eq!(g["metadata"], json!({}));
    assert_eq!(g["members"], json!([]));
    assert!(g.get("project_id").is_none() && g.get("policy").is_none());
    let id = g["id"].as_str().unwrap().to_string();

    let v213 = api
        .get(&format!("/os-server-groups/{id}"), ALICE, Some("2.13"))
        .await;
    assert_eq!(v213.body["server_group"]["project_id"], "alpha");
    assert_eq!(v213.body["server_group"]["user_id"], "alice");

    let v264 = create(
        &api,
        ALICE,
        "2.64",
        json!({"server_group": {"name": "g2", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}}),
    )
    .await;
    assert_eq!(v264.status, StatusCode::OK, "{}", v264.text);
    let g = &v264.body["server_group"];
    assert_eq!(
        (g["policy"].clone(), g["rules"].clone()),
        (json!("anti-affinity"), json!({"max_server_per_host": 2}))
    );
    assert!(g.get("policies").is_none() && g.get("metadata").is_none());

    let listed = api.get("/os-server-groups", ALICE, Some("2.64")).await;
    let names: Vec<&str> = listed.body["server_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["g1", "g2"]);
    let paged = api
        .get("/os-server-groups?limit=1&offset=1", ALICE, None)
        .await;
    assert_eq!(paged.body["server_groups"].as_array().unwrap().len(), 1);
    assert_eq!(paged.body["server_groups"][0]["name"], "g2");
}

#[tokio::test]
async fn bodies_are_checked_per_microversion() {
    let api = TestApi::new().await;
    let soft = json!({"server_group": {"name": "g", "policies": ["soft-affinity"]}});
    assert_eq!(
        create(&api, ALICE, "2.14", soft.clone()).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create(&api, ALICE, "2.15", soft).await.status,
        StatusCode::OK
    );
    let rules = json!({"server_group": {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}});
    let refused = create(&api, ALICE, "2.64", rules).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.fault_message(),
        "Only anti-affinity policy supports rules."
    );
    let old_shape = json!({"server_group": {"name": "g", "policies": ["affinity"]}});
    assert_eq!(
        create(&api, ALICE, "2.64", old_shape).await.status,
        StatusCode::BAD_REQUEST
    );
    let unknown = api
        .get("/os-server-groups?foo=1", ALICE, Some("2.75"))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.get("/os-server-groups?foo=1", ALICE, Some("2.74"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn groups_are_scoped_to_their_project_unless_admin() {
    let api = TestApi::new().await;
    let made = create(
        &api,
        ALICE,
        "2.1",
        json!({"server_group": {"name": "g", "policies": ["affinity"]}}),
    )
    .await;
    let id = made.body["server_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/os-server-groups/{id}");
    let other = api.get(&path, BOB, None).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other.fault_message(),
        "Policy doesn't allow os_compute_api:os-server-groups:show to be performed."
    );
    assert!(
        api.get("/os-server-groups", BOB, None).await.body["server_groups"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        api.get("/os-server-groups", ADMIN, None).await.body["server_groups"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let all = api
        .get("/os-server-groups?all_projects=True", ADMIN, None)
        .await;
    assert_eq!(all.body["server_groups"].as_array().unwrap().len(), 1);
    assert_eq!(api.get(&path, ADMIN, None).await.status, StatusCode::OK);
    let deleted = api.call(Method::DELETE, &path, ALICE, None, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = api.get(&path, ALICE, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.fault_message(),
        format!("Instance group {id} could not be found.")
    );
}

#[tokio::test]
async fn a_create_with_the_group_hint_makes_members_that_leave_on_delete() {
    let api = TestApi::new().await;
    let made = create(
        &api,
        ALICE,
        "2.1",
        json!({"server_group": {"name": "g", "policies": ["affinity"]}}),
    )
    .await;
    let id = made.body["server_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let server = api
        .call(
            Method::POST,
            "/servers",
            ALICE,
            None,
            Some(json!({
                "server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"},
                "os:scheduler_hints": {"group": id},
            })),
        )
        .await;
    assert_eq!(server.status, StatusCode::ACCEPTED, "{}", server.text);
    let uuid = server.body["server"]["id"].as_str().unwrap().to_string();
    let shown = api
        .get(&format!("/os-server-groups/{id}"), ALICE, None)
        .await;
    assert_eq!(shown.body["server_group"]["members"], json!([uuid]));
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/servers/{uuid}"),
            ALICE,
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    api.get(&format!("/servers/{uuid}"), ALICE, None).await;
    let shown = api
        .get(&format!("/os-server-groups/{id}"), ALICE, None)
        .await;
    assert_eq!(shown.body["server_group"]["members"], json!([]));

    // An unknown group is 400; a hint that is not a uuid too.
    let missing = "0c4f86b8-7a8f-4c1c-9d8e-0d6b2c3a1e55";
    for (hint, message) in [
        (
            json!(missing),
            format!("Instance group {missing} could not be found."),
        ),
        (json!("not-a-uuid"), String::new()),
    ] {
        let refused = api
            .call(
                Method::POST,
                "/servers",
                ALICE,
                None,
                Some(json!({
                    "server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"},
                    "os:scheduler_hints": {"group": hint},
                })),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        if !message.is_empty() {
            assert_eq!(refused.fault_message(), message);
        }
    }
}

#[tokio::test]
async fn quotas_count_groups_in_quota_sets_and_limits() {
    let api = TestApi::new().await;
    let set = api
        .call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            None,
            Some(json!({"quota_set": {"server_groups": 1}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let body = json!({"server_group": {"name": "g", "policies": ["affinity"]}});
    assert_eq!(
        create(&api, ALICE, "2.1", body.clone()).await.status,
        StatusCode::OK
    );
    let over = create(&api, ALICE, "2.1", body).await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert_eq!(
        over.fault_message(),
        "Quota exceeded, too many server groups."
    );
    let limits = api.get("/limits", ALICE, None).await;
    assert_eq!(
        limits.body["limits"]["absolute"]["totalServerGroupsUsed"],
        1
    );
    assert_eq!(limits.body["limits"]["absolute"]["maxServerGroups"], 1);
    let detail = api.get("/os-quota-sets/alpha/detail", ALICE, None).await;
    assert_eq!(detail.body["quota_set"]["server_groups"]["in_use"], 1);
}

#[tokio::test]
async fn anti_affinity_beyond_the_hosts_is_no_valid_host_in_the_server_body() {
    // One simulated host: two anti-affine servers cannot both be placed,
    // so both end in ERROR with nova's fault (details for admins only).
    let api = TestApi::new().await;
    let made = create(
        &api,
        ALICE,
        "2.1",
        json!({"server_group": {"name": "g", "policies": ["anti-affinity"]}}),
    )
    .await;
    let id = made.body["server_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = api
        .call(
            Method::POST,
            "/servers",
            ALICE,
            None,
            Some(json!({
                "server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1", "min_count": 2, "return_reservation_id": true},
                "os:scheduler_hints": {"group": id},
            })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let listed = api.get("/servers/detail", ALICE, None).await;
    let servers = listed.body["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    for server in servers {
        assert_eq!(server["status"], "ERROR");
        assert_eq!(server["fault"]["code"], 500);
        assert_eq!(
            server["fault"]["message"],
            "No valid host was found. There are not enough hosts available."
        );
        assert!(server["fault"].get("details").is_none());
        let uuid = server["id"].as_str().unwrap();
        let admin_view = api.get(&format!("/servers/{uuid}"), ADMIN, None).await;
        assert_eq!(
            admin_view.body["server"]["OS-EXT-SRV-ATTR:host"],
            serde_json::Value::Null
        );
        assert!(admin_view.body["server"]["fault"]["details"].is_string());
    }
    let shown = api
        .get(&format!("/os-server-groups/{id}"), ALICE, None)
        .await;
    assert_eq!(
        shown.body["server_group"]["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_server_shows_its_group_from_2_71() {
    let api = TestApi::new().await;
    let made = create(
        &api,
        ALICE,
        "2.1",
        json!({"server_group": {"name": "g", "policies": ["affinity"]}}),
    )
    .await;
    let id = made.body["server_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = api
        .call(
            Method::POST,
            "/servers",
            ALICE,
            None,
            Some(json!({
                "server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"},
                "os:scheduler_hints": {"group": id},
            })),
        )
        .await;
    let uuid = answer.body["server"]["id"].as_str().unwrap().to_string();
    let path = format!("/servers/{uuid}");
    assert_eq!(
        api.get(&path, ALICE, Some("2.71")).await.body["server"]["server_groups"],
        json!([id])
    );
    assert!(api.get(&path, ALICE, Some("2.70")).await.body["server"]
        .get("server_groups")
        .is_none());
    let updated = api
        .call(
            Method::PUT,
            &path,
            ALICE,
            Some("2.71"),
            Some(json!({"server": {"name": "vm2"}})),
        )
        .await;
    assert_eq!(updated.body["server"]["server_groups"], json!([id]));
}

#[tokio::test]
async fn an_unknown_forced_host_is_400_and_forcing_is_admin_only() {
    let api = TestApi::new().await;
    let boot = |token: &'static str, zone: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/servers",
                token,
                None,
                Some(json!({"server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1", "availability_zone": zone}})),
            )
            .await
        }
    };
    let unknown = boot(ADMIN, "nova:nope").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.fault_message(),
        "Compute host nope could not be found."
    );
    assert_eq!(
        boot(ALICE, "nova:compute1").await.status,
        StatusCode::FORBIDDEN
    );
    let forced = boot(ADMIN, "nova:compute1").await;
    assert_eq!(forced.status, StatusCode::ACCEPTED, "{}", forced.text);
}
