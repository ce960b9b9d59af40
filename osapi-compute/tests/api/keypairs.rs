//! os-keypairs through the HTTP routes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{TestApi, ADMIN, ALICE, BOB};

const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCh8GJzaFw5kbbgYOk8q1xyYFAGl/ZDEgZ7nXcuD6Z5 test";

fn import(name: &str) -> serde_json::Value {
    json!({"keypair": {"name": name, "public_key": PUBLIC_KEY}})
}

#[tokio::test]
async fn import_answers_200_at_2_1_and_201_with_type_from_2_2() {
    let api = TestApi::new().await;
    let old = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            None,
            Some(import("k1")),
        )
        .await;
    assert_eq!(old.status, StatusCode::OK);
    let kp = &old.body["keypair"];
    assert_eq!(kp["name"], "k1");
    assert_eq!(kp["user_id"], "alice");
    assert_eq!(kp["public_key"], PUBLIC_KEY);
    assert!(kp.get("type").is_none());
    assert!(kp.get("private_key").is_none());
    assert!(kp["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));

    let new = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.2"),
            Some(import("k2")),
        )
        .await;
    assert_eq!(new.status, StatusCode::CREATED);
    assert_eq!(new.body["keypair"]["type"], "ssh");
}

#[tokio::test]
async fn generation_returns_a_private_key_until_2_91_and_is_refused_from_2_92() {
    let api = TestApi::new().await;
    let generated = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.91"),
            Some(json!({"keypair": {"name": "gen"}})),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED);
    let private = generated.body["keypair"]["private_key"]
        .as_str()
        .expect("private key");
    assert!(private.contains("PRIVATE KEY"), "{private}");

    let refused = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.92"),
            Some(json!({"keypair": {"name": "gen2"}})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.fault_message(),
        "Invalid input for field/attribute keypair. Value: {'name': 'gen2'}. 'public_key' is a required property"
    );
}

#[tokio::test]
async fn names_with_at_and_dot_are_allowed_only_from_2_92() {
    let api = TestApi::new().await;
    let early = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.91"),
            Some(import("me@host.x")),
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        early.fault_message(),
        "Invalid input for field/attribute name. Value: me@host.x. 'me@host.x' does not match '^[_\\\\- a-zA-Z0-9]+$'"
    );
    let late = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.92"),
            Some(import("me@host.x")),
        )
        .await;
    assert_eq!(late.status, StatusCode::CREATED);
}

#[tokio::test]
async fn type_is_validated_and_unknown_before_2_2() {
    let api = TestApi::new().await;
    let body = json!({"keypair": {"name": "k", "type": "pgp", "public_key": PUBLIC_KEY}});
    let bad = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            Some("2.2"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        bad.fault_message(),
        "Invalid input for field/attribute type. Value: pgp. 'pgp' is not one of ['ssh', 'x509']"
    );
    let early = api
        .call(Method::POST, "/os-keypairs", ALICE, None, Some(body))
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(early
        .fault_message()
        .ends_with("Additional properties are not allowed ('type' was unexpected)"));
}

#[tokio::test]
async fn duplicate_name_is_409() {
    let api = TestApi::new().await;
    api.call(
        Method::POST,
        "/os-keypairs",
        ALICE,
        None,
        Some(import("dup")),
    )
    .await;
    let again = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            None,
            Some(import("dup")),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.fault_message(), "Key pair 'dup' already exists.");
}

#[tokio::test]
async fn keypair_quota_is_403_over_limit() {
    let api = TestApi::new().await;
    let quota = json!({"quota_set": {"key_pairs": 1}});
    assert_eq!(
        api.call(
            Method::PUT,
            "/os-quota-sets/alpha",
            ADMIN,
            None,
            Some(quota)
        )
        .await
        .status,
        StatusCode::OK
    );
    api.call(
        Method::POST,
        "/os-keypairs",
        ALICE,
        None,
        Some(import("one")),
    )
    .await;
    let over = api
        .call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            None,
            Some(import("two")),
        )
        .await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert_eq!(over.fault_message(), "Quota exceeded, too many key pairs.");
}

#[tokio::test]
async fn show_list_and_delete_with_microversion_statuses() {
    let api = TestApi::new().await;
    api.call(Method::POST, "/os-keypairs", ALICE, None, Some(import("a")))
        .await;
    api.call(Method::POST, "/os-keypairs", ALICE, None, Some(import("b")))
        .await;
    let shown = api.get("/os-keypairs/a", ALICE, Some("2.2")).await;
    assert_eq!(shown.status, StatusCode::OK);
    let kp = &shown.body["keypair"];
    assert_eq!(kp["deleted"], false);
    assert_eq!(kp["deleted_at"], serde_json::Value::Null);
    assert_eq!(kp["updated_at"], serde_json::Value::Null);
    assert_eq!(kp["type"], "ssh");
    assert!(kp["id"].is_i64());

    let listed = api.get("/os-keypairs", ALICE, None).await;
    let names: Vec<&str> = listed.body["keypairs"]
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["keypair"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["a", "b"]);

    let old_delete = api
        .call(Method::DELETE, "/os-keypairs/a", ALICE, None, None)
        .await;
    assert_eq!(old_delete.status, StatusCode::ACCEPTED);
    let new_delete = api
        .call(Method::DELETE, "/os-keypairs/b", ALICE, Some("2.2"), None)
        .await;
    assert_eq!(new_delete.status, StatusCode::NO_CONTENT);
    let missing = api.get("/os-keypairs/a", ALICE, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.fault_message(),
        "Keypair a not found for user alice"
    );
}

#[tokio::test]
async fn paging_from_2_35() {
    let api = TestApi::new().await;
    for name in ["a", "b", "c"] {
        api.call(
            Method::POST,
            "/os-keypairs",
            ALICE,
            None,
            Some(import(name)),
        )
        .await;
    }
    let old = api.get("/os-keypairs?limit=1", ALICE, Some("2.34")).await;
    assert_eq!(old.body["keypairs"].as_array().map(Vec::len), Some(3));
    let page = api.get("/os-keypairs?limit=2", ALICE, Some("2.35")).await;
    assert_eq!(page.body["keypairs"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        page.body["keypairs_links"],
        json!([{"rel": "next", "href": "http://api.example.com/v2.1/os-keypairs?limit=2&marker=b"}])
    );
    let bad = api.get("/os-keypairs?marker=zz", ALICE, Some("2.35")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.fault_message(), "Marker zz could not be found.");
}

#[tokio::test]
async fn keypairs_are_per_user_and_only_admins_name_another_user() {
    let api = TestApi::new().await;
    api.call(
        Method::POST,
        "/os-keypairs",
        ALICE,
        None,
        Some(import("mine")),
    )
    .await;
    assert_eq!(
        api.get("/os-keypairs/mine", BOB, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/os-keypairs", BOB, None).await.body["keypairs"],
        json!([])
    );

    let peek = api
        .get("/os-keypairs?user_id=alice", BOB, Some("2.10"))
        .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    assert_eq!(
        peek.fault_message(),
        "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."
    );
    let admin = api
        .get("/os-keypairs?user_id=alice", ADMIN, Some("2.10"))
        .await;
    assert_eq!(admin.body["keypairs"][0]["keypair"]["name"], "mine");

    let for_bob = json!({"keypair": {"name": "given", "public_key": PUBLIC_KEY, "user_id": "bob"}});
    let created = api
        .call(
            Method::POST,
            "/os-keypairs",
            ADMIN,
            Some("2.10"),
            Some(for_bob),
        )
        .await;
    assert_eq!(created.body["keypair"]["user_id"], "bob");
    assert_eq!(
        api.get("/os-keypairs/given", BOB, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn list_body_matches_snapshot() {
    let api = TestApi::new().await;
    api.call(
        Method::POST,
        "/os-keypairs",
        ALICE,
        None,
        Some(import("snap")),
    )
    .await;
    let listed = api.get("/os-keypairs", ALICE, Some("2.35")).await;
    insta::assert_json_snapshot!("keypairs_list_2_35", listed.body);
}
