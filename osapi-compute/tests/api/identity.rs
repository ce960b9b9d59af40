//! The built-in Identity v3 endpoint of noauth2 deployments, mounted at
//! `/identity` by this crate's api-paste.ini.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use osapi_compute::identity::{identity_router, IdentityOptions};

use crate::fixture::{paste_path, Answer, TestApp};

/// Where the paste file mounts the identity app.
const MOUNT: &str = "/identity";

/// Sends one request to the identity app of `app` (`path` is relative to
/// the mount point), as a client of `127.0.0.1:8774` would.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(format!("{MOUNT}{path}"))
        .header("host", "127.0.0.1:8774");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    app.raw(builder.body(body).expect("request")).await
}

/// The pipeline with the identity app's section of api-paste.ini given
/// `options` (`key = value` lines), from a paste file in `dir`.
async fn app_with_identity_options(dir: &tempfile::TempDir, options: &str) -> TestApp {
    TestApp::builder()
        .paste(paste_with_identity_options(dir, options))
        .build()
        .await
}

/// This crate's api-paste.ini with `options` added to the identity app's
/// section, written in `dir`; returns its path.
fn paste_with_identity_options(dir: &tempfile::TempDir, options: &str) -> std::path::PathBuf {
    let factory = format!(
        "paste.app_factory = {}\n",
        osapi_compute::factories::IDENTITY
    );
    let ours = std::fs::read_to_string(paste_path()).expect("api-paste.ini");
    assert!(ours.contains(&factory), "no identity app in api-paste.ini");
    let path = dir.path().join("api-paste.ini");
    std::fs::write(
        &path,
        ours.replace(&factory, &format!("{factory}{options}")),
    )
    .expect("write");
    path
}

/// The pipeline with the identity app built without the compute store (so
/// without the OS-EC2 credential API), from the same paste section.
async fn app_without_ec2_credentials() -> TestApp {
    TestApp::builder()
        .registry(|registry| {
            registry.register_app(osapi_compute::factories::IDENTITY, |ctx| {
                let options = IdentityOptions::from_raw(|key| ctx.conf(key).map(str::to_string))?;
                Ok(nova_paste::http::boxed(identity_router(options)))
            })
        })
        .build()
        .await
}

fn password_body(user: &str, project: &str) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": user, "password": "secret",
                                                                      "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}
    }})
}

fn endpoint_url(token: &Value, service: &str) -> String {
    token["token"]["catalog"]
        .as_array()
        .expect("catalog")
        .iter()
        .find(|s| s["type"] == service)
        .and_then(|s| s["endpoints"].as_array())
        .and_then(|e| e.iter().find(|e| e["interface"] == "public"))
        .and_then(|e| e["url"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn version_documents_point_at_the_mount_point() {
    let app = TestApp::new().await;
    let root = call(&app, Method::GET, "/", &[], None).await;
    assert_eq!(root.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(root.body["versions"]["values"][0]["id"], "v3.14");
    assert_eq!(
        root.body["versions"]["values"][0]["links"][0]["href"],
        "http://127.0.0.1:8774/identity/v3/"
    );
    let v3 = call(&app, Method::GET, "/v3", &[], None).await;
    assert_eq!(v3.status, StatusCode::OK);
    assert_eq!(v3.body["version"]["status"], "stable");
    assert_eq!(
        v3.body["version"]["media-types"][0]["type"],
        "application/vnd.openstack.identity-v3+json"
    );
}

#[tokio::test]
async fn password_auth_mints_a_noauth_token_with_a_catalogue() {
    let app = TestApp::new().await;
    let answer = call(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        &[("content-type", "application/json")],
        Some(password_body("alice", "alpha")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.headers["x-subject-token"], "alice:alpha");
    let token = &answer.body["token"];
    assert_eq!(token["user"]["name"], "alice");
    assert_eq!(token["project"]["name"], "alpha");
    assert_eq!(token["methods"], json!(["password"]));
    let roles: Vec<&str> = token["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(!roles.contains(&"admin"), "{roles:?}");
    assert!(token["expires_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        endpoint_url(&answer.body, "compute"),
        "http://127.0.0.1:8774/v2.1"
    );
    assert_eq!(
        endpoint_url(&answer.body, "image"),
        "http://127.0.0.1:8774/image"
    );
    assert_eq!(
        endpoint_url(&answer.body, "identity"),
        "http://127.0.0.1:8774/identity"
    );
    assert_eq!(endpoint_url(&answer.body, "ec2"), "http://127.0.0.1:8773/");
}

#[tokio::test]
async fn admin_user_gets_the_admin_role() {
    let app = TestApp::new().await;
    let answer = call(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(password_body("admin", "admin")),
    )
    .await;
    assert_eq!(answer.headers["x-subject-token"], "admin:admin");
    let roles: Vec<&str> = answer.body["token"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(roles.contains(&"admin"));
}

#[tokio::test]
async fn token_method_rescopes_an_existing_token() {
    let app = TestApp::new().await;
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "admin:admin"}},
                               "scope": {"project": {"id": "beta"}}}});
    let answer = call(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        &[("x-auth-token", "admin:admin")],
        Some(body),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.headers["x-subject-token"], "admin:beta");
    assert_eq!(answer.body["token"]["project"]["id"], "beta");
}

/// The catalogue's EC2 URL for a token asked of `app`.
async fn ec2_url_of(app: &TestApp) -> String {
    let answer = call(
        app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(password_body("u", "p")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    endpoint_url(&answer.body, "ec2")
}

#[tokio::test]
async fn the_catalogue_ec2_url_follows_a_moved_ec2_listen_port() {
    let app = TestApp::builder().ec2_listen_port(9773).build().await;

    assert_eq!(ec2_url_of(&app).await, "http://127.0.0.1:9773/");
}

#[tokio::test]
async fn the_identity_app_s_own_ec2_port_wins_over_ec2_listen_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = TestApp::builder()
        .paste(paste_with_identity_options(&dir, "ec2_port = 18773\n"))
        .ec2_listen_port(9773)
        .build()
        .await;

    assert_eq!(ec2_url_of(&app).await, "http://127.0.0.1:18773/");
}

#[tokio::test]
async fn configured_endpoints_win_over_the_request_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with_identity_options(
        &dir,
        "compute_endpoint = https://cloud.example/compute/v2.1/\nregion_name = North\n",
    )
    .await;
    let answer = call(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(password_body("u", "p")),
    )
    .await;
    assert_eq!(
        endpoint_url(&answer.body, "compute"),
        "https://cloud.example/compute/v2.1"
    );
    assert_eq!(
        answer.body["token"]["catalog"][0]["endpoints"][0]["region"],
        "North"
    );
}

#[tokio::test]
async fn bad_requests_get_keystone_errors() {
    let app = TestApp::new().await;
    let malformed = call(&app, Method::POST, "/v3/auth/tokens", &[], None).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["error"]["code"], 400);
    let unknown = json!({"auth": {"identity": {"methods": ["totp"]}}});
    let refused = call(&app, Method::POST, "/v3/auth/tokens", &[], Some(unknown)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["error"]["title"], "Unauthorized");
}

#[tokio::test]
async fn validation_and_lookups_echo_what_was_asked() {
    let app = TestApp::new().await;
    let headers = [
        ("x-auth-token", "admin:admin"),
        ("x-subject-token", "bob:beta"),
    ];
    let validated = call(&app, Method::GET, "/v3/auth/tokens", &headers, None).await;
    assert_eq!(validated.status, StatusCode::OK);
    assert_eq!(validated.body["token"]["user"]["id"], "bob");
    assert_eq!(validated.body["token"]["project"]["id"], "beta");

    let auth = [("x-auth-token", "admin:admin")];
    let project = call(&app, Method::GET, "/v3/projects/beta", &auth, None).await;
    assert_eq!(project.body["project"]["name"], "beta");
    let by_name = call(&app, Method::GET, "/v3/projects?name=gamma", &auth, None).await;
    assert_eq!(by_name.body["projects"][0]["id"], "gamma");
    let user = call(&app, Method::GET, "/v3/users/carol", &auth, None).await;
    assert_eq!(user.body["user"]["name"], "carol");
    let no_token = call(&app, Method::GET, "/v3/projects/beta", &[], None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ec2_credentials_are_created_listed_and_deleted_for_the_caller() {
    let app = TestApp::new().await;
    let request = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(format!("{MOUNT}{path}"))
            .header("host", "127.0.0.1:8774")
            .header("x-auth-token", token);
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        builder
            .body(
                body.map(|b| Body::from(b.to_string()))
                    .unwrap_or_else(Body::empty),
            )
            .expect("request")
    };
    let path = "/v3/users/alice/credentials/OS-EC2";
    let created = app
        .raw(request(
            Method::POST,
            path,
            "alice:alpha",
            Some(json!({"tenant_id": "alpha"})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let access = created.body["credential"]["access"]
        .as_str()
        .expect("access")
        .to_string();
    assert_eq!(created.body["credential"]["tenant_id"], "alpha");
    let stored = app
        .state
        .compute
        .lookup_ec2_credential(&access)
        .await
        .expect("stored");
    assert_eq!(
        stored.secret,
        created.body["credential"]["secret"]
            .as_str()
            .unwrap_or_default()
    );

    let listed = app
        .raw(request(Method::GET, path, "alice:alpha", None))
        .await;
    assert_eq!(listed.body["credentials"][0]["access"], access.as_str());
    let other = app
        .raw(request(
            Method::POST,
            path,
            "bob:beta",
            Some(json!({"tenant_id": "beta"})),
        ))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let hidden = app
        .raw(request(
            Method::GET,
            &format!("{path}/{access}"),
            "bob:beta",
            None,
        ))
        .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);

    let deleted = app
        .raw(request(
            Method::DELETE,
            &format!("{path}/{access}"),
            "alice:alpha",
            None,
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app
        .raw(request(
            Method::GET,
            &format!("{path}/{access}"),
            "alice:alpha",
            None,
        ))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.body["error"]["message"],
        format!("Could not find credential: {access}.")
    );

    let without_store = call(
        &app_without_ec2_credentials().await,
        Method::GET,
        path,
        &[("x-auth-token", "alice:alpha")],
        None,
    )
    .await;
    assert_eq!(without_store.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_name_that_is_not_ascii_is_handed_out_and_read_back_in_latin1() {
    let app = TestApp::new().await;
    let minted = call(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        &[("content-type", "application/json")],
        Some(password_body("jos\u{e9}", "caf\u{e9}")),
    )
    .await;
    assert_eq!(minted.status, StatusCode::CREATED);
    let token = minted.headers["x-subject-token"].clone();
    // The bytes noauth2 reads back as the same user and project.
    assert_eq!(token.as_bytes(), b"jos\xe9:caf\xe9");

    // The client sends those bytes back to validate the token.
    let request = axum::http::Request::builder()
        .uri(format!("{MOUNT}/v3/auth/tokens"))
        .header("host", "127.0.0.1:8774")
        .header("x-auth-token", token.clone())
        .header("x-subject-token", token.clone())
        .body(Body::empty())
        .expect("request");
    let validated = app.raw(request).await;

    assert_eq!(validated.status, StatusCode::OK, "{}", validated.text);
    assert_eq!(validated.body["token"]["user"]["name"], "jos\u{e9}");
    assert_eq!(validated.body["token"]["project"]["name"], "caf\u{e9}");
    assert_eq!(validated.headers["x-subject-token"], token);
}
