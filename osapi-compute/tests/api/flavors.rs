//! Flavors, extra specs and flavor access through the HTTP routes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE, BOB};

fn names(body: &serde_json::Value) -> Vec<String> {
    body["flavors"]
        .as_array()
        .expect("flavors array")
        .iter()
        .map(|f| f["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn list_shows_seeded_flavors_with_links_sorted_by_flavorid() {
    let api = TestApi::new().await;
    let answer = api.get("/flavors", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        names(&answer.body),
        ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    );
    let first = &answer.body["flavors"][0];
    assert_eq!(first["id"], "1");
    assert_eq!(
        first["links"],
        json!([
            {"rel": "self", "href": "http://api.example.com/v2.1/flavors/1"},
            {"rel": "bookmark", "href": "http://api.example.com/flavors/1"}
        ])
    );
    assert!(
        first.get("description").is_none(),
        "description appears before 2.55"
    );
    assert!(answer.body.get("flavors_links").is_none());
}

#[tokio::test]
async fn detail_body_matches_snapshot_per_microversion() {
    let api = TestApi::new().await;
    let old = api.get("/flavors/1", ALICE, None).await;
    assert_eq!(old.status, StatusCode::OK);
    insta::assert_json_snapshot!("flavor_show_2_1", old.body);
    let new = api.get("/flavors/1", ALICE, Some("2.75")).await;
    insta::assert_json_snapshot!("flavor_show_2_75", new.body);
}

#[tokio::test]
async fn swap_is_empty_string_before_2_75_and_zero_after() {
    let api = TestApi::new().await;
    assert_eq!(
        api.get("/flavors/1", ALICE, Some("2.74")).await.body["flavor"]["swap"],
        ""
    );
    assert_eq!(
        api.get("/flavors/1", ALICE, Some("2.75")).await.body["flavor"]["swap"],
        0
    );
}

#[tokio::test]
async fn description_from_2_55_and_extra_specs_from_2_61() {
    let api = TestApi::new().await;
    let at_2_54 = api.get("/flavors/detail", ALICE, Some("2.54")).await;
    assert!(at_2_54.body["flavors"][0].get("description").is_none());
    let at_2_55 = api.get("/flavors/detail", ALICE, Some("2.55")).await;
    assert_eq!(
        at_2_55.body["flavors"][0]["description"],
        serde_json::Value::Null
    );
    assert!(at_2_55.body["flavors"][0].get("extra_specs").is_none());
    let at_2_61 = api.get("/flavors/detail", ALICE, Some("2.61")).await;
    assert_eq!(at_2_61.body["flavors"][0]["extra_specs"], json!({}));
}

#[tokio::test]
async fn pagination_gives_a_next_link_and_follows_the_marker() {
    let api = TestApi::new().await;
    let page = api.get("/flavors?limit=2", ALICE, None).await;
    assert_eq!(names(&page.body), ["m1.tiny", "m1.small"]);
    assert_eq!(
        page.body["flavors_links"],
        json!([{"rel": "next", "href": "http://api.example.com/v2.1/flavors?limit=2&marker=2"}])
    );
    let next = api.get("/flavors?limit=2&marker=2", ALICE, None).await;
    assert_eq!(names(&next.body), ["m1.medium", "m1.large"]);
    let bad = api.get("/flavors?marker=nope", ALICE, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.fault_message(), "marker [nope] not found");
}

#[tokio::test]
async fn filters_and_sorting_follow_nova() {
    let api = TestApi::new().await;
    let big = api
        .get("/flavors/detail?minRam=4096&minDisk=40", ALICE, None)
        .await;
    assert_eq!(names(&big.body), ["m1.medium", "m1.large", "m1.xlarge"]);
    let sorted = api
        .get("/flavors?sort_key=memory_mb&sort_dir=desc", ALICE, None)
        .await;
    assert_eq!(names(&sorted.body)[0], "m1.xlarge");
    let bad = api.get("/flavors?minRam=lots", ALICE, None).await;
    assert_eq!(bad.fault_message(), "Invalid minRam filter [lots]");
    let bad_dir = api.get("/flavors?sort_dir=up", ALICE, None).await;
    assert_eq!(
        bad_dir.fault_message(),
        "Invalid input for query parameters sort_dir. Value: up. 'up' is not one of ['asc', 'desc']"
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_from_2_75_only() {
    let api = TestApi::new().await;
    assert_eq!(
        api.get("/flavors?colour=red", ALICE, Some("2.74"))
            .await
            .status,
        StatusCode::OK
    );
    let refused = api.get("/flavors?colour=red", ALICE, Some("2.75")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.fault_message(),
        "Additional properties are not allowed ('colour' was unexpected)"
    );
}

#[tokio::test]
async fn admin_creates_flavor_with_generated_id_and_duplicate_is_409() {
    let api = TestApi::new().await;
    let body = json!({"flavor": {"name": "test.big", "ram": 1024, "vcpus": 2, "disk": 10}});
    let created = api
        .call(
            Method::POST,
            "/flavors",
            ADMIN,
            Some("2.55"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let flavor = &created.body["flavor"];
    assert_eq!(flavor["name"], "test.big");
    assert_eq!(flavor["ram"], 1024);
    assert_eq!(flavor["os-flavor-access:is_public"], true);
    assert_eq!(flavor["description"], serde_json::Value::Null);
    let id = flavor["id"].as_str().expect("id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated id {id} is a uuid"
    );

    let again = api
        .call(Method::POST, "/flavors", ADMIN, None, Some(body))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.fault_name(), "conflictingRequest");
    assert_eq!(
        again.fault_message(),
        "Flavor with name test.big already exists."
    );

    let same_id = json!({"flavor": {"name": "other", "id": "1", "ram": 64, "vcpus": 1, "disk": 0}});
    let clash = api
        .call(Method::POST, "/flavors", ADMIN, None, Some(same_id))
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.fault_message(), "Flavor with ID 1 already exists.");
}

#[tokio::test]
async fn create_validation_uses_novas_messages() {
    let api = TestApi::new().await;
    let cases = [
        (
            json!({"flavor": {"name": "x", "ram": 0, "vcpus": 1, "disk": 1}}),
            "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1",
        ),
        (
            json!({"flavor": {"name": "x", "ram": 64, "vcpus": 1}}),
            "Invalid input for field/attribute flavor. Value: {'name': 'x', 'ram': 64, 'vcpus': 1}. 'disk' is a required property",
        ),
        (
            json!({"flavor": {"name": "x", "ram": 64, "vcpus": 1, "disk": 1, "colour": "red"}}),
            "Invalid input for field/attribute flavor. Value: {'colour': 'red', 'disk': 1, 'name': 'x', 'ram': 64, 'vcpus': 1}. Additional properties are not allowed ('colour' was unexpected)",
        ),
        (
            json!({"flavor": {"name": " x", "ram": 64, "vcpus": 1, "disk": 1}}),
            "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.",
        ),
        (
            json!({"flavor": {"name": "x", "ram": 64, "vcpus": "two", "disk": 1}}),
            "Invalid input for field/attribute vcpus. Value: two. 'two' does not match '^[0-9]+$'",
        ),
    ];
    for (body, message) in cases {
        let answer = api
            .call(Method::POST, "/flavors", ADMIN, None, Some(body))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{message}");
        assert_eq!(answer.fault_message(), message);
    }
    let description_too_early =
        json!({"flavor": {"name": "x", "ram": 64, "vcpus": 1, "disk": 1, "description": "d"}});
    let answer = api
        .call(
            Method::POST,
            "/flavors",
            ADMIN,
            Some("2.54"),
            Some(description_too_early),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn members_may_not_manage_flavors() {
    let api = TestApi::new().await;
    let body = json!({"flavor": {"name": "mine", "ram": 64, "vcpus": 1, "disk": 1}});
    let create = api
        .call(Method::POST, "/flavors", ALICE, None, Some(body))
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert_eq!(
        create.fault_message(),
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."
    );
    let delete = api
        .call(Method::DELETE, "/flavors/1", ALICE, None, None)
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let specs = api
        .call(
            Method::POST,
            "/flavors/1/os-extra_specs",
            ALICE,
            None,
            Some(json!({"extra_specs": {"a": "b"}})),
        )
        .await;
    assert_eq!(
        specs.fault_message(),
        "Policy doesn't allow os_compute_api:os-flavor-extra-specs:create to be performed."
    );
    assert_eq!(
        api.get("/flavors/1", ALICE, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn delete_answers_202_then_404() {
    let api = TestApi::new().await;
    let gone = api
        .call(Method::DELETE, "/flavors/5", ADMIN, None, None)
        .await;
    assert_eq!(gone.status, StatusCode::ACCEPTED);
    let show = api.get("/flavors/5", ADMIN, None).await;
    assert_eq!(show.status, StatusCode::NOT_FOUND);
    assert_eq!(show.fault_message(), "Flavor 5 could not be found.");
}

#[tokio::test]
async fn update_description_exists_only_from_2_55() {
    let api = TestApi::new().await;
    let body = json!({"flavor": {"description": "tiny one"}});
    let early = api
        .call(
            Method::PUT,
            "/flavors/1",
            ADMIN,
            Some("2.54"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    let updated = api
        .call(Method::PUT, "/flavors/1", ADMIN, Some("2.55"), Some(body))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["flavor"]["description"], "tiny one");
}

#[tokio::test]
async fn extra_specs_lifecycle() {
    let api = TestApi::new().await;
    let set = api
        .call(
            Method::POST,
            "/flavors/1/os-extra_specs",
            ADMIN,
            None,
            Some(json!({"extra_specs": {"hw:cpu_policy": "shared", "quota:cpu_shares": 512}})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let all = api.get("/flavors/1/os-extra_specs", ALICE, None).await;
    assert_eq!(
        all.body,
        json!({"extra_specs": {"hw:cpu_policy": "shared", "quota:cpu_shares": "512"}})
    );
    let one = api
        .get("/flavors/1/os-extra_specs/hw:cpu_policy", ALICE, None)
        .await;
    assert_eq!(one.body, json!({"hw:cpu_policy": "shared"}));

    let mismatch = api
        .call(
            Method::PUT,
            "/flavors/1/os-extra_specs/hw:cpu_policy",
            ADMIN,
            None,
            Some(json!({"other": "x"})),
        )
        .await;
    assert_eq!(mismatch.fault_message(), "Request body and URI mismatch");
    let updated = api
        .call(
            Method::PUT,
            "/flavors/1/os-extra_specs/hw:cpu_policy",
            ADMIN,
            None,
            Some(json!({"hw:cpu_policy": "dedicated"})),
        )
        .await;
    assert_eq!(updated.body, json!({"hw:cpu_policy": "dedicated"}));

    let deleted = api
        .call(
            Method::DELETE,
            "/flavors/1/os-extra_specs/hw:cpu_policy",
            ADMIN,
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let missing = api
        .get("/flavors/1/os-extra_specs/hw:cpu_policy", ALICE, None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.fault_message(),
        "Flavor 1 has no extra specs with key hw:cpu_policy."
    );
    let bad_key = api
        .call(
            Method::POST,
            "/flavors/1/os-extra_specs",
            ADMIN,
            None,
            Some(json!({"extra_specs": {"bad/key": "v"}})),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn private_flavors_are_visible_only_to_projects_given_access() {
    let api = TestApi::new().await;
    let body = json!({"flavor": {"name": "secret", "id": "private-1", "ram": 64, "vcpus": 1, "disk": 1,
                                 "os-flavor-access:is_public": false}});
    assert_eq!(
        api.call(Method::POST, "/flavors", ADMIN, None, Some(body))
            .await
            .status,
        StatusCode::OK
    );
    assert!(!names(&api.get("/flavors", ALICE, None).await.body).contains(&"secret".to_string()));
    assert_eq!(
        api.get("/flavors/private-1", ALICE, None).await.status,
        StatusCode::NOT_FOUND
    );

    let add = api
        .call(
            Method::POST,
            "/flavors/private-1/action",
            ADMIN,
            None,
            Some(json!({"addTenantAccess": {"tenant": "alpha"}})),
        )
        .await;
    assert_eq!(add.status, StatusCode::OK);
    assert_eq!(
        add.body,
        json!({"flavor_access": [{"flavor_id": "private-1", "tenant_id": "alpha"}]})
    );
    assert!(names(&api.get("/flavors", ALICE, None).await.body).contains(&"secret".to_string()));
    assert!(!names(&api.get("/flavors", BOB, None).await.body).contains(&"secret".to_string()));

    let listed = api
        .get("/flavors/private-1/os-flavor-access", ADMIN, None)
        .await;
    assert_eq!(listed.body["flavor_access"][0]["tenant_id"], "alpha");
    let again = api
        .call(
            Method::POST,
            "/flavors/private-1/action",
            ADMIN,
            None,
            Some(json!({"addTenantAccess": {"tenant": "alpha"}})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let public = api.get("/flavors/1/os-flavor-access", ADMIN, None).await;
    assert_eq!(
        public.fault_message(),
        "Access list not available for public flavors."
    );
    let member = api
        .get("/flavors/private-1/os-flavor-access", ALICE, None)
        .await;
    assert_eq!(member.status, StatusCode::FORBIDDEN);

    let remove = api
        .call(
            Method::POST,
            "/flavors/private-1/action",
            ADMIN,
            None,
            Some(json!({"removeTenantAccess": {"tenant": "alpha"}})),
        )
        .await;
    assert_eq!(remove.body, json!({"flavor_access": []}));
    let unknown = api
        .call(
            Method::POST,
            "/flavors/private-1/action",
            ADMIN,
            None,
            Some(json!({"frobnicate": {}})),
        )
        .await;
    assert_eq!(
        unknown.fault_message(),
        "There is no such action: frobnicate"
    );
}

#[tokio::test]
async fn admin_is_public_filter_shows_private_or_all() {
    let api = TestApi::new().await;
    let body = json!({"flavor": {"name": "hidden", "ram": 64, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": "false"}});
    api.call(Method::POST, "/flavors", ADMIN, None, Some(body))
        .await;
    assert!(!names(&api.get("/flavors", ADMIN, None).await.body).contains(&"hidden".to_string()));
    assert_eq!(
        names(&api.get("/flavors?is_public=false", ADMIN, None).await.body),
        ["hidden"]
    );
    assert_eq!(
        names(&api.get("/flavors?is_public=None", ADMIN, None).await.body).len(),
        6
    );
    let bad = api.get("/flavors?is_public=maybe", ADMIN, None).await;
    assert_eq!(bad.fault_message(), "Invalid is_public filter [maybe]");
}

#[tokio::test]
async fn from_2_102_flavors_drop_rxtx_factor_and_the_disabled_flag() {
    let api = TestApi::new().await;

    let old = api.get("/flavors/1", ALICE, Some("2.101")).await;
    let new = api.get("/flavors/1", ALICE, Some("2.102")).await;

    assert_eq!(old.body["flavor"]["rxtx_factor"], 1.0);
    assert_eq!(old.body["flavor"]["OS-FLV-DISABLED:disabled"], false);
    assert!(new.body["flavor"].get("rxtx_factor").is_none());
    assert!(new.body["flavor"].get("OS-FLV-DISABLED:disabled").is_none());
}

#[tokio::test]
async fn from_2_102_a_list_filters_by_name_and_a_show_refuses_unknown_parameters() {
    let api = TestApi::new().await;

    let large = api.get("/flavors?name=large", ALICE, Some("2.102")).await;
    let anchored = api.get("/flavors?name=%5Em1.t", ALICE, Some("2.102")).await;
    let unknown_before = api.get("/flavors?name=large", ALICE, Some("2.101")).await;
    let rxtx_sort = api
        .get("/flavors?sort_key=rxtx_factor", ALICE, Some("2.102"))
        .await;
    let show_query = api.get("/flavors/1?foo=bar", ALICE, Some("2.102")).await;

    assert_eq!(names(&large.body), ["m1.large", "m1.xlarge"]);
    assert_eq!(names(&anchored.body), ["m1.tiny"]);
    assert_eq!(unknown_before.status, StatusCode::BAD_REQUEST);
    assert_eq!(rxtx_sort.status, StatusCode::BAD_REQUEST);
    assert_eq!(show_query.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        show_query.fault_message(),
        "Additional properties are not allowed ('foo' was unexpected)"
    );
}

#[tokio::test]
async fn from_2_102_a_flavor_create_refuses_rxtx_factor() {
    let api = TestApi::new().await;
    let flavor =
        json!({"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "rxtx_factor": 2.0}});

    let refused = api
        .call(
            Method::POST,
            "/flavors",
            ADMIN,
            Some("2.102"),
            Some(flavor.clone()),
        )
        .await;
    let accepted = api
        .call(Method::POST, "/flavors", ADMIN, Some("2.101"), Some(flavor))
        .await;

    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
}
