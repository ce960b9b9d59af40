//! The identity app in store mode (`auth_strategy = keystone`, no
//! Keystone configured): Keystone's v3 API over the store's identity, and
//! the compute API's `authtoken` filter validating the same tokens
//! against the store.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use compute::identity::BootstrapOptions;

use crate::fixture::{Answer, TestApp};

const ADMIN_PASSWORD: &str = "admin-secret";

/// A store-mode app whose identity was bootstrapped (admin/admin).
pub(crate) async fn app() -> TestApp {
    let app = TestApp::builder().identity_in_store().build().await;
    let dir = tempfile::tempdir().unwrap();
    app.state
        .compute
        .bootstrap_identity(&BootstrapOptions {
            username: "admin".into(),
            password: Some(ADMIN_PASSWORD.into()),
            project_name: "admin".into(),
            role_name: "admin".into(),
            password_file: dir.path().join("unused"),
        })
        .await
        .unwrap();
    app
}

pub(crate) async fn identity(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    app.call(
        method,
        &format!("/identity{path}"),
        token,
        &[("host", "127.0.0.1:8774")],
        body,
    )
    .await
}

fn password_auth(user: &str, password: &str, scope: Value) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": scope
    }})
}

fn project_scope(name: &str) -> Value {
    json!({"project": {"name": name, "domain": {"id": "default"}}})
}

/// A token of `user` scoped to `project` (by name).
pub(crate) async fn login(app: &TestApp, user: &str, password: &str, project: &str) -> String {
    let answer = identity(
        app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth(user, password, project_scope(project))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.header("x-subject-token").expect("X-Subject-Token")
}

pub(crate) async fn admin_token(app: &TestApp) -> String {
    login(app, "admin", ADMIN_PASSWORD, "admin").await
}

/// As admin: a project `project`, a user `user` (password `pw-<user>`)
/// with the role `role` on it; returns (user id, project id).
pub(crate) async fn member(
    app: &TestApp,
    admin: &str,
    user: &str,
    project: &str,
    role: &str,
) -> (String, String) {
    let found = identity(
        app,
        Method::GET,
        &format!("/v3/projects?name={project}"),
        Some(admin),
        None,
    )
    .await;
    let project_id = match found.body["projects"].as_array().and_then(|p| p.first()) {
        Some(p) => p["id"].as_str().unwrap().to_string(),
        None => {
            let made = identity(
                app,
                Method::POST,
                "/v3/projects",
                Some(admin),
                Some(json!({"project": {"name": project}})),
            )
            .await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
            made.body["project"]["id"].as_str().unwrap().to_string()
        }
    };
    let made = identity(
        app,
        Method::POST,
        "/v3/users",
        Some(admin),
        Some(json!({"user": {"name": user, "password": format!("pw-{user}"), "default_project_id": project_id}})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let user_id = made.body["user"]["id"].as_str().unwrap().to_string();
    let roles = identity(
        app,
        Method::GET,
        &format!("/v3/roles?name={role}"),
        Some(admin),
        None,
    )
    .await;
    let role_id = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
    let granted = identity(
        app,
        Method::PUT,
        &format!("/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(granted.status, StatusCode::NO_CONTENT, "{}", granted.text);
    (user_id, project_id)
}

pub(crate) fn role_names(token: &Value) -> Vec<String> {
    let mut names: Vec<String> = token["token"]["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_password_login_gets_an_opaque_token_that_validates_as_issued() {
    let app = app().await;

    let issued = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth(
            "admin",
            ADMIN_PASSWORD,
            project_scope("admin"),
        )),
    )
    .await;
    let token = issued.header("x-subject-token").unwrap();
    let validated = identity_with_subject(&app, Method::GET, &token, &token).await;

    assert_eq!(issued.status, StatusCode::CREATED);
    assert!(token.len() >= 43 && !token.contains(':'), "{token}");
    assert_eq!(validated.status, StatusCode::OK, "{}", validated.text);
    assert_eq!(
        validated.header("x-subject-token").as_deref(),
        Some(token.as_str())
    );
    for key in [
        "user",
        "project",
        "roles",
        "expires_at",
        "issued_at",
        "audit_ids",
        "methods",
    ] {
        assert_eq!(
            validated.body["token"][key], issued.body["token"][key],
            "{key}"
        );
    }
    assert_eq!(
        role_names(&issued.body),
        vec!["admin", "manager", "member", "reader"]
    );
    assert_eq!(issued.body["token"]["methods"], json!(["password"]));
    assert!(issued.body["token"]["catalog"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let head = identity_with_subject(&app, Method::HEAD, &token, &token).await;
    assert_eq!(head.status, StatusCode::OK);
}

async fn identity_with_subject(
    app: &TestApp,
    method: Method,
    token: &str,
    subject: &str,
) -> Answer {
    app.call(
        method,
        "/identity/v3/auth/tokens",
        Some(token),
        &[("host", "127.0.0.1:8774"), ("X-Subject-Token", subject)],
        None,
    )
    .await
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_user_is_401_alike() {
    let app = app().await;

    let wrong = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth("admin", "nope", project_scope("admin"))),
    )
    .await;
    let unknown = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth("ghost", "nope", project_scope("admin"))),
    )
    .await;

    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.header("x-subject-token").is_none());
}

#[tokio::test]
async fn an_admin_makes_a_member_who_logs_in_with_the_roles_of_the_assignment() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, alpha) = member(&app, &admin, "alice", "alpha", "member").await;

    let token = login(&app, "alice", "pw-alice", "alpha").await;
    let validated = identity_with_subject(&app, Method::GET, &token, &token).await;
    let projects = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/projects"),
        Some(&token),
        None,
    )
    .await;
    let auth_projects = identity(&app, Method::GET, "/v3/auth/projects", Some(&token), None).await;

    assert_eq!(role_names(&validated.body), vec!["member", "reader"]);
    assert_eq!(validated.body["token"]["project"]["id"], alpha.as_str());
    assert_eq!(projects.status, StatusCode::OK, "{}", projects.text);
    assert_eq!(projects.body["projects"][0]["id"], alpha.as_str());
    assert_eq!(auth_projects.body["projects"][0]["name"], "alpha");
}

#[tokio::test]
async fn delete_revokes_the_token_at_once_for_identity_and_compute() {
    let app = app().await;
    let admin = admin_token(&app).await;
    member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;
    assert_eq!(
        app.get("/v2.1/servers", &token, None).await.status,
        StatusCode::OK
    );

    let revoked = identity_with_subject(&app, Method::DELETE, &token, &token).await;

    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
    let validated = identity_with_subject(&app, Method::GET, &admin, &token).await;
    assert_eq!(validated.status, StatusCode::NOT_FOUND);
    // The compute API's authtoken had it cached: the revocation in this
    // worker drops the cached answer.
    assert_eq!(
        app.get("/v2.1/servers", &token, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_compute_api_sees_the_identity_s_project_and_roles() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (_, alpha) = member(&app, &admin, "alice", "alpha", "member").await;
    let (_, beta) = member(&app, &admin, "bob", "beta", "member").await;
    let alice = login(&app, "alice", "pw-alice", "alpha").await;
    let bob = login(&app, "bob", "pw-bob", "beta").await;

    let server = app.create_server(&alice, "vm-a").await;

    let own = app
        .get(&format!("/v2.1/servers/{server}"), &alice, None)
        .await;
    let other = app
        .get(&format!("/v2.1/servers/{server}"), &bob, None)
        .await;
    let all = app
        .get("/v2.1/servers/detail?all_tenants=1", &admin, None)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["server"]["tenant_id"], alpha.as_str());
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.text.contains(&server));
    assert_ne!(alpha, beta);
    assert_eq!(
        app.get("/v2.1/servers", "alice:alpha", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_member_of_project_a_sees_neither_users_nor_project_b() {
    let app = app().await;
    let admin = admin_token(&app).await;
    member(&app, &admin, "alice", "alpha", "member").await;
    let (bob, beta) = member(&app, &admin, "bob", "beta", "member").await;
    let alice = login(&app, "alice", "pw-alice", "alpha").await;

    let users = identity(&app, Method::GET, "/v3/users", Some(&alice), None).await;
    let project_b = identity(
        &app,
        Method::GET,
        &format!("/v3/projects/{beta}"),
        Some(&alice),
        None,
    )
    .await;
    let user_b = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{bob}"),
        Some(&alice),
        None,
    )
    .await;
    let projects = identity(&app, Method::GET, "/v3/projects", Some(&alice), None).await;
    let scoped_b = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth("alice", "pw-alice", project_scope("beta"))),
    )
    .await;
    let made = identity(
        &app,
        Method::POST,
        "/v3/users",
        Some(&alice),
        Some(json!({"user": {"name": "mallory"}})),
    )
    .await;

    for answer in [&users, &project_b, &user_b, &projects, &made] {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    }
    assert_eq!(
        users.body["error"]["message"],
        "You are not authorized to perform the requested action: identity:list_users."
    );
    assert_eq!(scoped_b.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_reader_cannot_write() {
    let app = app().await;
    let admin = admin_token(&app).await;
    member(&app, &admin, "rita", "alpha", "reader").await;
    let rita = login(&app, "rita", "pw-rita", "alpha").await;

    let made = identity(
        &app,
        Method::POST,
        "/v3/projects",
        Some(&rita),
        Some(json!({"project": {"name": "x"}})),
    )
    .await;
    let role = identity(
        &app,
        Method::POST,
        "/v3/roles",
        Some(&rita),
        Some(json!({"role": {"name": "x"}})),
    )
    .await;

    assert_eq!(made.status, StatusCode::FORBIDDEN);
    assert_eq!(role.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn names_are_unique_per_domain_with_keystone_s_409() {
    let app = app().await;
    let admin = admin_token(&app).await;
    member(&app, &admin, "alice", "alpha", "member").await;

    let again = identity(
        &app,
        Method::POST,
        "/v3/users",
        Some(&admin),
        Some(json!({"user": {"name": "alice"}})),
    )
    .await;
    let project = identity(
        &app,
        Method::POST,
        "/v3/projects",
        Some(&admin),
        Some(json!({"project": {"name": "alpha"}})),
    )
    .await;

    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["error"]["title"], "Conflict");
    assert_eq!(project.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn users_change_their_own_password_and_old_tokens_end() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, _) = member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;

    let wrong = identity(
        &app,
        Method::POST,
        &format!("/v3/users/{alice}/password"),
        Some(&token),
        Some(json!({"user": {"original_password": "bad", "password": "new-pw"}})),
    )
    .await;
    let changed = identity(
        &app,
        Method::POST,
        &format!("/v3/users/{alice}/password"),
        Some(&token),
        Some(json!({"user": {"original_password": "pw-alice", "password": "new-pw"}})),
    )
    .await;

    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        identity_with_subject(&app, Method::GET, &admin, &token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    login(&app, "alice", "new-pw", "alpha").await;
    // An admin's reset through PATCH.
    let reset = identity(
        &app,
        Method::PATCH,
        &format!("/v3/users/{alice}"),
        Some(&admin),
        Some(json!({"user": {"password": "reset-pw"}})),
    )
    .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert!(reset.body["user"].get("password").is_none());
    login(&app, "alice", "reset-pw", "alpha").await;
}

#[tokio::test]
async fn role_assignments_list_with_filters_effective_and_names() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, alpha) = member(&app, &admin, "alice", "alpha", "member").await;

    let plain = identity(
        &app,
        Method::GET,
        &format!("/v3/role_assignments?user.id={alice}"),
        Some(&admin),
        None,
    )
    .await;
    let effective = identity(
        &app,
        Method::GET,
        &format!("/v3/role_assignments?user.id={alice}&effective&include_names"),
        Some(&admin),
        None,
    )
    .await;
    let checked = identity(
        &app,
        Method::HEAD,
        &format!(
            "/v3/projects/{alpha}/users/{alice}/roles/{}",
            plain.body["role_assignments"][0]["role"]["id"]
                .as_str()
                .unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;

    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
    assert_eq!(plain.body["role_assignments"].as_array().unwrap().len(), 1);
    assert_eq!(
        plain.body["role_assignments"][0]["scope"]["project"]["id"],
        alpha.as_str()
    );
    let mut names: Vec<&str> = effective.body["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["member", "reader"]);
    assert_eq!(
        effective.body["role_assignments"][0]["user"]["name"],
        "alice"
    );
    assert_eq!(checked.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_domain_is_created_disabled_then_deleted() {
    let app = app().await;
    let admin = admin_token(&app).await;

    let made = identity(
        &app,
        Method::POST,
        "/v3/domains",
        Some(&admin),
        Some(json!({"domain": {"name": "other"}})),
    )
    .await;
    let id = made.body["domain"]["id"].as_str().unwrap().to_string();
    let refused = identity(
        &app,
        Method::DELETE,
        &format!("/v3/domains/{id}"),
        Some(&admin),
        None,
    )
    .await;
    let disabled = identity(
        &app,
        Method::PATCH,
        &format!("/v3/domains/{id}"),
        Some(&admin),
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    let deleted = identity(
        &app,
        Method::DELETE,
        &format!("/v3/domains/{id}"),
        Some(&admin),
        None,
    )
    .await;
    let gone = identity(
        &app,
        Method::GET,
        &format!("/v3/domains/{id}"),
        Some(&admin),
        None,
    )
    .await;

    assert_eq!(made.status, StatusCode::CREATED);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(disabled.body["domain"]["enabled"], false);
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn system_and_unscoped_tokens_and_rescoping() {
    let app = app().await;
    let system = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(password_auth(
            "admin",
            ADMIN_PASSWORD,
            json!({"system": {"all": true}}),
        )),
    )
    .await;
    let unscoped = identity(&app, Method::POST, "/v3/auth/tokens", None,
        Some(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}}}))).await;
    let unscoped_token = unscoped.header("x-subject-token").unwrap();
    let rescoped = identity(&app, Method::POST, "/v3/auth/tokens", None,
        Some(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped_token}}, "scope": project_scope("admin")}}))).await;

    assert_eq!(system.status, StatusCode::CREATED, "{}", system.text);
    assert_eq!(system.body["token"]["system"], json!({"all": true}));
    // The admin's default project scopes an unscoped request, as Keystone does.
    assert_eq!(unscoped.body["token"]["project"]["name"], "admin");
    assert_eq!(rescoped.status, StatusCode::CREATED, "{}", rescoped.text);
    assert_eq!(
        rescoped.body["token"]["expires_at"],
        unscoped.body["token"]["expires_at"]
    );
    assert!(rescoped.body["token"]["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("token")));
    let auth_system = identity(
        &app,
        Method::GET,
        "/v3/auth/system",
        Some(&rescoped.header("x-subject-token").unwrap()),
        None,
    )
    .await;
    assert_eq!(auth_system.body["system"], json!([{"all": true}]));
}

#[tokio::test]
async fn ec2_credentials_belong_to_real_users_and_projects() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, alpha) = member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;

    let made = identity(
        &app,
        Method::POST,
        &format!("/v3/users/{alice}/credentials/OS-EC2"),
        Some(&token),
        Some(json!({"tenant_id": alpha})),
    )
    .await;
    let ghost = identity(
        &app,
        Method::POST,
        &format!("/v3/users/{alice}/credentials/OS-EC2"),
        Some(&admin),
        Some(json!({"tenant_id": "no-such-project"})),
    )
    .await;

    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(ghost.status, StatusCode::NOT_FOUND);
    let access = made.body["credential"]["access"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(app
        .state
        .compute
        .lookup_ec2_credential(&access)
        .await
        .is_ok());
    let deleted = identity(
        &app,
        Method::DELETE,
        &format!("/v3/users/{alice}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(app
        .state
        .compute
        .lookup_ec2_credential(&access)
        .await
        .is_err());
}

#[tokio::test]
async fn attributes_keystone_keeps_as_extra_are_shown_back() {
    let app = app().await;
    let admin = admin_token(&app).await;

    let made = identity(
        &app,
        Method::POST,
        "/v3/users",
        Some(&admin),
        Some(json!({"user": {"name": "carol", "project_id": "p-1", "email": "c@example.com"}})),
    )
    .await;
    let id = made.body["user"]["id"].as_str().unwrap().to_string();
    let patched = identity(
        &app,
        Method::PATCH,
        &format!("/v3/users/{id}"),
        Some(&admin),
        Some(json!({"user": {"project_id": null, "team": "blue"}})),
    )
    .await;

    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["user"]["project_id"], "p-1");
    assert_eq!(made.body["user"]["email"], "c@example.com");
    assert!(
        patched.body["user"].get("project_id").is_none(),
        "{}",
        patched.text
    );
    assert_eq!(patched.body["user"]["team"], "blue");
}

/// `GET` or `PUT` on one of the other apps the catalogue names.
async fn other_app(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    app.call(method, path, token, &[("host", "127.0.0.1:8774")], body)
        .await
}

/// The id of the seeded `private` network, as `token` lists it.
async fn private_network(app: &TestApp, token: &str) -> String {
    let networks = other_app(
        app,
        Method::GET,
        "/network/v2.0/networks",
        Some(token),
        None,
    )
    .await;
    networks.body["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "private")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_image_and_network_apps_refuse_a_noauth2_token_in_store_mode() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let private = private_network(&app, &admin).await;

    let images = other_app(
        &app,
        Method::GET,
        "/image/v2/images",
        Some("admin:admin"),
        None,
    )
    .await;
    let listed = other_app(
        &app,
        Method::GET,
        "/network/v2.0/networks",
        Some("admin:admin"),
        None,
    )
    .await;
    let changed = other_app(
        &app,
        Method::PUT,
        &format!("/network/v2.0/networks/{private}"),
        Some("admin:admin"),
        Some(json!({"network": {"description": "forged"}})),
    )
    .await;
    let anonymous = other_app(&app, Method::GET, "/image/v2/images", None, None).await;

    for answer in [&images, &listed, &changed, &anonymous] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    }
    let after = other_app(
        &app,
        Method::GET,
        &format!("/network/v2.0/networks/{private}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(after.body["network"]["description"], "");
}

#[tokio::test]
async fn the_image_and_network_apps_take_the_identity_s_tokens_and_roles() {
    let app = app().await;
    let admin = admin_token(&app).await;
    member(&app, &admin, "alice", "alpha", "member").await;
    let alice = login(&app, "alice", "pw-alice", "alpha").await;
    let private = private_network(&app, &admin).await;
    let unshare = json!({"network": {"shared": false}});
    let path = format!("/network/v2.0/networks/{private}");

    let images = other_app(&app, Method::GET, "/image/v2/images", Some(&alice), None).await;
    let by_member = other_app(
        &app,
        Method::PUT,
        &path,
        Some(&alice),
        Some(unshare.clone()),
    )
    .await;
    let by_admin = other_app(&app, Method::PUT, &path, Some(&admin), Some(unshare)).await;

    assert_eq!(images.status, StatusCode::OK, "{}", images.text);
    assert_eq!(
        by_member.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_member.text
    );
    assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.text);
    assert_eq!(by_admin.body["network"]["shared"], false);
}

#[tokio::test]
async fn the_image_and_network_version_documents_need_no_token() {
    let app = app().await;

    let image = other_app(&app, Method::GET, "/image/", None, None).await;
    let network = other_app(&app, Method::GET, "/network/", None, None).await;

    // Glance answers its version list with 300 Multiple Choices.
    assert_eq!(image.status, StatusCode::MULTIPLE_CHOICES, "{}", image.text);
    assert!(image.body["versions"].is_array());
    assert_eq!(network.status, StatusCode::OK, "{}", network.text);
}
