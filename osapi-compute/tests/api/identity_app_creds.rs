//! Application credentials, access rules and `/v3/credentials` in the
//! identity app's store mode, and an application credential's token on
//! the compute API.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fixture::TestApp;
use crate::identity_store::{admin_token, app, identity, login, member, role_names};

/// `user`'s new application credential made with `token`; its body.
async fn create(app: &TestApp, token: &str, user: &str, body: Value) -> Value {
    let made = identity(
        app,
        Method::POST,
        &format!("/v3/users/{user}/application_credentials"),
        Some(token),
        Some(json!({ "application_credential": body })),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    made.body["application_credential"].clone()
}

fn app_cred_auth(credential: Value) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
                                 "application_credential": credential}}})
}

/// A token of the credential `id` with `secret`, and its body.
async fn app_cred_login(app: &TestApp, id: &str, secret: &str) -> (String, Value) {
    let answer = identity(
        app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(app_cred_auth(json!({"id": id, "secret": secret}))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    (answer.header("x-subject-token").unwrap(), answer.body)
}

#[tokio::test]
async fn an_application_credential_logs_in_to_its_project_with_its_roles_only() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, alpha) = member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;

    let cred = create(
        &app,
        &token,
        &alice,
        json!({"name": "ci", "roles": [{"name": "reader"}], "expires_at": "2999-01-02T03:04:05.000006"}),
    )
    .await;
    let id = cred["id"].as_str().unwrap();
    let secret = cred["secret"].as_str().unwrap();
    assert_eq!(cred["project_id"], alpha.as_str());
    assert_eq!(cred["expires_at"], "2999-01-02T03:04:05.000006");
    assert_eq!(cred["unrestricted"], false);
    let shown = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/application_credentials/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body["application_credential"].get("secret").is_none());

    let (app_token, body) = app_cred_login(&app, id, secret).await;
    assert_eq!(body["token"]["methods"], json!(["application_credential"]));
    assert_eq!(body["token"]["project"]["id"], alpha.as_str());
    assert_eq!(role_names(&body), ["reader"]);
    assert_eq!(
        body["token"]["application_credential"],
        json!({"id": id, "name": "ci", "restricted": true})
    );
    // By name and user, as the CLI's v3applicationcredential sends it.
    let by_name = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(app_cred_auth(json!({"name": "ci", "secret": secret,
            "user": {"name": "alice", "domain": {"name": "Default"}}}))),
    )
    .await;
    assert_eq!(by_name.status, StatusCode::CREATED, "{}", by_name.text);
    // A wrong secret, or a scope asked for, is 401.
    let wrong = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(app_cred_auth(json!({"id": id, "secret": "nope"}))),
    )
    .await;
    let mut scoped = app_cred_auth(json!({"id": id, "secret": secret}));
    scoped["auth"]["scope"] = json!({"project": {"id": alpha}});
    let scoped = identity(&app, Method::POST, "/v3/auth/tokens", None, Some(scoped)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(scoped.status, StatusCode::UNAUTHORIZED);

    // The compute API takes the token.
    let servers = app.get("/v2.1/servers", &app_token, None).await;
    assert_eq!(servers.status, StatusCode::OK, "{}", servers.text);
}

#[tokio::test]
async fn a_restricted_application_credential_manages_no_other_and_users_keep_to_their_own() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, _) = member(&app, &admin, "alice", "alpha", "member").await;
    let (bob, _) = member(&app, &admin, "bob", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;
    let bob_token = login(&app, "bob", "pw-bob", "alpha").await;
    let restricted = create(&app, &token, &alice, json!({"name": "restricted"})).await;
    let unrestricted = create(
        &app,
        &token,
        &alice,
        json!({"name": "unrestricted", "unrestricted": true}),
    )
    .await;
    let (restricted_token, _) = app_cred_login(
        &app,
        restricted["id"].as_str().unwrap(),
        restricted["secret"].as_str().unwrap(),
    )
    .await;
    let (unrestricted_token, _) = app_cred_login(
        &app,
        unrestricted["id"].as_str().unwrap(),
        unrestricted["secret"].as_str().unwrap(),
    )
    .await;
    let attempt = |token: String, user: String| {
        let app = &app;
        async move {
            identity(
                app,
                Method::POST,
                &format!("/v3/users/{user}/application_credentials"),
                Some(&token),
                Some(json!({"application_credential": {"name": format!("by-{}", &token[..6])}})),
            )
            .await
            .status
        }
    };

    assert_eq!(
        attempt(restricted_token.clone(), alice.clone()).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        attempt(unrestricted_token, alice.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        attempt(bob_token.clone(), alice.clone()).await,
        StatusCode::FORBIDDEN
    );
    let list = |token: String| {
        let app = &app;
        let alice = alice.clone();
        async move {
            identity(
                app,
                Method::GET,
                &format!("/v3/users/{alice}/application_credentials?name=restricted"),
                Some(&token),
                None,
            )
            .await
        }
    };
    assert_eq!(list(bob_token).await.status, StatusCode::FORBIDDEN);
    let seen = list(admin).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(
        seen.body["application_credentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A token of a credential makes only an unscoped token of it again.
    let rescoped = identity(
        &app,
        Method::POST,
        "/v3/auth/tokens",
        None,
        Some(
            json!({"auth": {"identity": {"methods": ["token"], "token": {"id": restricted_token}},
                             "scope": {"system": {"all": true}}}}),
        ),
    )
    .await;
    assert_eq!(rescoped.status, StatusCode::FORBIDDEN, "{}", rescoped.text);
    let _ = bob;
}

#[tokio::test]
async fn deleting_an_application_credential_ends_its_tokens_on_the_compute_api_too() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, _) = member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;
    let cred = create(&app, &token, &alice, json!({"name": "gone"})).await;
    let id = cred["id"].as_str().unwrap();
    let (app_token, _) = app_cred_login(&app, id, cred["secret"].as_str().unwrap()).await;
    assert_eq!(
        app.get("/v2.1/servers", &app_token, None).await.status,
        StatusCode::OK
    );

    let deleted = identity(
        &app,
        Method::DELETE,
        &format!("/v3/users/{alice}/application_credentials/{id}"),
        Some(&token),
        None,
    )
    .await;

    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        app.get("/v2.1/servers", &app_token, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/application_credentials/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn access_rules_are_listed_shown_kept_while_used_and_refused_by_the_compute_api() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, _) = member(&app, &admin, "alice", "alpha", "member").await;
    let token = login(&app, "alice", "pw-alice", "alpha").await;
    let rule = json!({"path": "/v2.1/servers/*/ips", "method": "GET", "service": "compute"});
    let cred = create(
        &app,
        &token,
        &alice,
        json!({"name": "ruled", "access_rules": [rule]}),
    )
    .await;
    let mut shown_rule = cred["access_rules"][0].clone();
    let rule_id = shown_rule["id"].as_str().unwrap().to_string();
    shown_rule.as_object_mut().unwrap().remove("id");
    assert_eq!(shown_rule, rule);

    let listed = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/access_rules"),
        Some(&token),
        None,
    )
    .await;
    let shown = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/access_rules/{rule_id}"),
        Some(&token),
        None,
    )
    .await;
    let in_use = identity(
        &app,
        Method::DELETE,
        &format!("/v3/users/{alice}/access_rules/{rule_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(listed.body["access_rules"].as_array().unwrap().len(), 1);
    assert_eq!(shown.body["access_rule"]["id"], rule_id.as_str());
    assert_eq!(in_use.status, StatusCode::FORBIDDEN);

    // The compute API does not enforce access rules, so it refuses the
    // token, as Keystone refuses it to such a service.
    let (app_token, body) = app_cred_login(
        &app,
        cred["id"].as_str().unwrap(),
        cred["secret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        body["token"]["application_credential"]["access_rules"][0]["id"],
        rule_id.as_str()
    );
    assert_eq!(
        app.get("/v2.1/servers", &app_token, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn v3_credentials_are_the_owner_s_and_an_ec2_one_is_an_os_ec2_credential() {
    let app = app().await;
    let admin = admin_token(&app).await;
    let (alice, alpha) = member(&app, &admin, "alice", "alpha", "member").await;
    let (bob, _) = member(&app, &admin, "bob", "alpha", "member").await;
    let alice_token = login(&app, "alice", "pw-alice", "alpha").await;
    let bob_token = login(&app, "bob", "pw-bob", "alpha").await;
    let blob = r#"{"access": "AK", "secret": "SK"}"#;

    let made = identity(
        &app,
        Method::POST,
        "/v3/credentials",
        Some(&admin),
        Some(json!({"credential": {"user_id": alice, "project_id": alpha, "type": "ec2", "blob": blob}})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["credential"]["id"].as_str().unwrap().to_string();
    assert_eq!(id, hex::encode(Sha256::digest(b"AK")));
    assert_eq!(made.body["credential"]["blob"], blob);
    let os_ec2 = identity(
        &app,
        Method::GET,
        &format!("/v3/users/{alice}/credentials/OS-EC2/AK"),
        Some(&alice_token),
        None,
    )
    .await;
    assert_eq!(os_ec2.status, StatusCode::OK, "{}", os_ec2.text);
    assert_eq!(os_ec2.body["credential"]["secret"], "SK");

    // Bob makes his own, not Alice's; each sees only their own.
    let bobs = identity(
        &app,
        Method::POST,
        "/v3/credentials",
        Some(&bob_token),
        Some(json!({"credential": {"user_id": bob, "type": "cert", "blob": "pem"}})),
    )
    .await;
    let for_alice = identity(
        &app,
        Method::POST,
        "/v3/credentials",
        Some(&bob_token),
        Some(json!({"credential": {"user_id": alice, "type": "cert", "blob": "pem"}})),
    )
    .await;
    assert_eq!(bobs.status, StatusCode::CREATED, "{}", bobs.text);
    assert_eq!(for_alice.status, StatusCode::FORBIDDEN);
    let listed = |token: String, query: &'static str| {
        let app = &app;
        async move {
            identity(
                app,
                Method::GET,
                &format!("/v3/credentials{query}"),
                Some(&token),
                None,
            )
            .await
            .body["credentials"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(listed(bob_token.clone(), "").await, 1);
    assert_eq!(listed(alice_token.clone(), "").await, 1);
    assert_eq!(listed(admin.clone(), "").await, 2);
    assert_eq!(listed(admin.clone(), "?type=ec2").await, 1);
    assert_eq!(listed(admin.clone(), "?user_id=none").await, 0);
    let peek = identity(
        &app,
        Method::GET,
        &format!("/v3/credentials/{id}"),
        Some(&bob_token),
        None,
    )
    .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);

    // The owner changes the keys; the id stays; then deletes it.
    let changed = identity(
        &app,
        Method::PATCH,
        &format!("/v3/credentials/{id}"),
        Some(&alice_token),
        Some(json!({"credential": {"blob": r#"{"access": "AK2", "secret": "SK2"}"#}})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["credential"]["id"], id.as_str());
    assert!(app.state.compute.lookup_ec2_credential("AK2").await.is_ok());
    let deleted = identity(
        &app,
        Method::DELETE,
        &format!("/v3/credentials/{id}"),
        Some(&alice_token),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(app
        .state
        .compute
        .lookup_ec2_credential("AK2")
        .await
        .is_err());
    // An ec2 credential without a project is 400.
    let no_project = identity(
        &app,
        Method::POST,
        "/v3/credentials",
        Some(&alice_token),
        Some(json!({"credential": {"user_id": alice, "type": "ec2", "blob": blob}})),
    )
    .await;
    assert_eq!(no_project.status, StatusCode::BAD_REQUEST);
}
