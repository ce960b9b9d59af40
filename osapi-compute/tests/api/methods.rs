//! Methods a path does not serve, and members that do not exist, in every
//! app of the pipeline (issue 27, item 3): the compute API answers nova's
//! 404 with no `Allow` header (nova's router knows no 405); the identity,
//! image and network apps answer 405 in their own error format with an
//! `Allow` header naming what the path serves, as Keystone, Glance and
//! Neutron do; a method served on a member answers 404 for a missing one.

use axum::http::{Method, StatusCode};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE};

async fn call(app: &TestApp, method: Method, path: &str, token: &str) -> Answer {
    app.call(method, path, Some(token), &[], None).await
}

fn allowed(answer: &Answer) -> Vec<String> {
    let mut methods: Vec<String> = answer
        .header("allow")
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn the_compute_api_answers_an_unserved_method_with_nova_s_404_and_no_allow_header() {
    let app = TestApp::new().await;

    let answer = call(&app, Method::DELETE, "/v2.1/flavors", ALICE).await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(answer.fault_name(), "itemNotFound");
    assert_eq!(answer.fault_message(), "The resource could not be found.");
    assert_eq!(answer.header("allow"), None);
}

#[tokio::test]
async fn identity_answers_an_unserved_method_with_405_in_keystone_s_format_and_allow() {
    let app = TestApp::new().await;

    let answer = call(&app, Method::PUT, "/identity/v3/projects", ADMIN).await;

    assert_eq!(
        answer.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        answer.text
    );
    assert_eq!(answer.body["error"]["code"], 405);
    assert_eq!(answer.body["error"]["title"], "Method Not Allowed");
    assert_eq!(allowed(&answer), ["GET", "HEAD"]);
}

#[tokio::test]
async fn deleting_a_project_or_user_the_identity_does_not_hold_is_404() {
    let app = TestApp::new().await;

    let project = call(&app, Method::DELETE, "/identity/v3/projects/nosuch", ADMIN).await;
    let user = call(&app, Method::DELETE, "/identity/v3/users/nosuch", ADMIN).await;

    assert_eq!(project.status, StatusCode::NOT_FOUND, "{}", project.text);
    assert_eq!(
        project.body["error"]["message"],
        "Could not find project: nosuch."
    );
    assert_eq!(user.status, StatusCode::NOT_FOUND, "{}", user.text);
    assert_eq!(
        user.body["error"]["message"],
        "Could not find user: nosuch."
    );
}

#[tokio::test]
async fn deleting_a_project_or_user_is_refused_to_a_non_admin() {
    let app = TestApp::new().await;

    let project = call(&app, Method::DELETE, "/identity/v3/projects/alpha", ALICE).await;
    let user = call(&app, Method::DELETE, "/identity/v3/users/alice", ALICE).await;

    assert_eq!(project.status, StatusCode::FORBIDDEN, "{}", project.text);
    assert_eq!(project.body["error"]["code"], 403);
    assert_eq!(user.status, StatusCode::FORBIDDEN, "{}", user.text);
}

#[tokio::test]
async fn image_answers_an_unserved_method_with_405_and_allow() {
    let app = TestApp::new().await;

    let answer = call(&app, Method::PUT, "/image/v2/images", ALICE).await;

    assert_eq!(
        answer.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        answer.text
    );
    assert_eq!(allowed(&answer), ["GET", "HEAD", "POST"]);
}

#[tokio::test]
async fn network_answers_an_unserved_method_with_405_in_neutron_s_format_and_allow() {
    let app = TestApp::new().await;

    let answer = call(&app, Method::PATCH, "/network/v2.0/networks", ALICE).await;

    assert_eq!(
        answer.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        answer.text
    );
    assert_eq!(answer.body["NeutronError"]["type"], "HTTPMethodNotAllowed");
    assert_eq!(allowed(&answer), ["GET", "HEAD", "POST"]);
}
