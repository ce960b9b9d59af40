//! Personality files (create and rebuild below 2.57): held to the
//! `[quota]` injected-file limits with nova's 403s, refused with 400 when
//! their contents are not base64, and kept with the server otherwise.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp};

const ALICE: &str = "alice:proja";
const ADMIN: &str = "admin:admin";
/// The last microversion that takes `personality`.
const VERSION: &str = "2.56";
/// "hello", base64.
const HELLO: &str = "aGVsbG8=";

fn file(path: &str, contents: &str) -> Value {
    json!({"path": path, "contents": contents})
}

fn fault(answer: &Answer) -> (&str, &str) {
    let (name, fault) = answer
        .body
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a fault body");
    (name.as_str(), fault["message"].as_str().unwrap_or_default())
}

async fn boot_with(app: &TestApp, personality: Value) -> Answer {
    let body = json!({"server": {"name": "vm", "imageRef": compute::CIRROS_IMAGE_UUID,
        "flavorRef": "1", "networks": "auto", "personality": personality}});
    app.send(Method::POST, "/v2.1/servers", ALICE, VERSION, body)
        .await
}

async fn rebuild_with(app: &TestApp, id: &str, personality: Value) -> Answer {
    let body = json!({"rebuild": {"imageRef": compute::CIRROS_IMAGE_UUID,
        "personality": personality}});
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/action"),
        ALICE,
        VERSION,
        body,
    )
    .await
}

async fn files_of(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let ctx = osapi_compute::auth::context_from_token(ALICE, None);
    app.state
        .compute
        .injected_files(&ctx, id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect()
}

async fn server_count(app: &TestApp) -> usize {
    let answer = app.get("/v2.1/servers", ALICE, None).await;
    answer.body["servers"].as_array().unwrap().len()
}

#[tokio::test]
async fn files_at_the_quota_limits_are_kept_with_the_server() {
    let app = TestApp::new().await;
    let longest_path = format!("/{}", "p".repeat(254));
    let largest_contents = "A".repeat(10240);
    let files = json!([
        file("/etc/motd", HELLO),
        file(&longest_path, HELLO),
        file("/root/big", &largest_contents),
        file("/a", HELLO),
        file("/b", HELLO),
    ]);

    let answer = boot_with(&app, files).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let id = answer.body["server"]["id"].as_str().unwrap();
    assert_eq!(
        files_of(&app, id).await,
        [
            ("/etc/motd".to_string(), HELLO.to_string()),
            (longest_path, HELLO.to_string()),
            ("/root/big".to_string(), largest_contents),
            ("/a".to_string(), HELLO.to_string()),
            ("/b".to_string(), HELLO.to_string()),
        ]
    );
}

#[tokio::test]
async fn a_sixth_file_is_over_the_file_quota() {
    let app = TestApp::new().await;
    let six: Vec<Value> = (0..6).map(|i| file(&format!("/f{i}"), HELLO)).collect();

    let answer = boot_with(&app, json!(six)).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fault(&answer),
        ("forbidden", "Personality file limit exceeded")
    );
    assert_eq!(server_count(&app).await, 0);
}

#[tokio::test]
async fn a_path_over_255_characters_is_over_the_path_quota() {
    let app = TestApp::new().await;
    let path = format!("/{}", "p".repeat(255));

    let answer = boot_with(&app, json!([file(&path, HELLO)])).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fault(&answer),
        ("forbidden", "Personality file path exceeds maximum 255")
    );
    assert_eq!(server_count(&app).await, 0);
}

#[tokio::test]
async fn contents_over_10240_base64_characters_are_over_the_content_quota() {
    let app = TestApp::new().await;
    let contents = "A".repeat(10244);

    let answer = boot_with(&app, json!([file("/big", &contents)])).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fault(&answer),
        (
            "forbidden",
            "Personality file content exceeds maximum 10240"
        )
    );
    assert_eq!(server_count(&app).await, 0);
}

#[tokio::test]
async fn contents_that_are_not_base64_are_refused() {
    let app = TestApp::new().await;

    let answer = boot_with(&app, json!([file("/etc/motd", "not base64!")])).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fault(&answer),
        (
            "badRequest",
            "Invalid input for field/attribute contents. Value: not base64!. 'not base64!' is not a 'base64'"
        )
    );
    assert_eq!(server_count(&app).await, 0);
}

#[tokio::test]
async fn a_project_quota_set_by_an_admin_applies() {
    let app = TestApp::new().await;
    let one_file = json!({"quota_set": {"injected_files": 1}});
    let set = app
        .send(
            Method::PUT,
            "/v2.1/os-quota-sets/proja",
            ADMIN,
            VERSION,
            one_file,
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);

    let answer = boot_with(&app, json!([file("/a", HELLO), file("/b", HELLO)])).await;

    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fault(&answer),
        ("forbidden", "Personality file limit exceeded")
    );
}

#[tokio::test]
async fn a_rebuild_replaces_the_files_within_the_same_quotas() {
    let app = TestApp::new().await;
    let created = boot_with(&app, json!([file("/old", HELLO)])).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.body["server"]["id"].as_str().unwrap().to_string();

    let rebuilt = rebuild_with(&app, &id, json!([file("/new", HELLO)])).await;

    assert_eq!(rebuilt.status, StatusCode::ACCEPTED, "{}", rebuilt.text);
    assert_eq!(
        files_of(&app, &id).await,
        [("/new".to_string(), HELLO.to_string())]
    );

    let six: Vec<Value> = (0..6).map(|i| file(&format!("/f{i}"), HELLO)).collect();
    let refused = rebuild_with(&app, &id, json!(six)).await;

    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fault(&refused),
        ("forbidden", "Personality file limit exceeded")
    );
    assert_eq!(
        files_of(&app, &id).await,
        [("/new".to_string(), HELLO.to_string())]
    );
}
