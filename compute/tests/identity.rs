//! The built-in identity on both engines: passwords, tokens (issue,
//! validate, expire, revoke), roles from assignments (through groups and
//! implied roles), what deleting or disabling does to tokens, the
//! bootstrap, isolation between projects, application credentials
//! (secret, roles, what ends them, access rules) and `/v3/credentials`
//! (an ec2 one is an EC2 credential).

// The shared fixture serves the whole compute suite; this binary uses part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use compute::identity::{
    Actor, AppCredLookup, AssignmentFilter, BootstrapOptions, CredentialUpdate, IdentityError,
    NewAccessRule, NewAppCred, NewCredential, NewGroup, NewProject, NewUser, RoleSpec,
    ScopeRequest, Target, Token, TokenScope, UserLookup, UserUpdate,
};
use compute::{Compute, Engine};
use support::Fixture;

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(compute::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(compute::Engine::Postgres).await
                }
            )*
        }
    };
}

on_both_engines!(
    bootstrap_makes_an_admin_once_and_keeps_it,
    a_password_is_checked_and_never_stored_in_clear,
    a_token_validates_as_issued_until_revoked,
    a_token_expires_after_the_configured_lifetime,
    roles_come_from_assignments_groups_and_implied_roles,
    a_scope_without_a_role_gets_no_token,
    deleting_or_disabling_a_user_ends_its_tokens,
    unassigning_a_role_or_disabling_a_project_ends_the_tokens,
    names_are_unique_per_domain,
    effective_assignments_expand_groups_and_implied_roles,
    a_member_of_one_project_gets_no_token_for_another,
    ec2_credentials_follow_their_user_s_state_and_roles,
    an_application_credential_authenticates_with_its_secret_and_carries_only_its_roles,
    an_application_credential_ends_with_its_deletion_its_user_its_role_or_its_expiry,
    a_token_of_an_application_credential_cannot_be_rescoped_or_outlive_it,
    access_rules_are_shared_per_user_and_kept_while_in_use,
    an_ec2_credential_is_the_same_through_v3_credentials_and_os_ec2,
    other_credentials_are_listed_filtered_updated_and_deleted,
);

fn bootstrap_options(dir: &std::path::Path, password: Option<&str>) -> BootstrapOptions {
    BootstrapOptions {
        username: "admin".into(),
        password: password.map(str::to_string),
        project_name: "admin".into(),
        role_name: "admin".into(),
        password_file: dir.join("identity-bootstrap-password"),
    }
}

/// A fixture whose identity has been bootstrapped with password `secret`.
async fn bootstrapped(engine: Engine) -> (Fixture, tempfile::TempDir) {
    let fx = Fixture::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    fx.compute
        .bootstrap_identity(&bootstrap_options(dir.path(), Some("secret")))
        .await
        .unwrap();
    (fx, dir)
}

fn by_name(name: &str) -> UserLookup {
    UserLookup::Name {
        name: name.into(),
        domain_id: None,
        domain_name: Some("Default".into()),
    }
}

/// A user `name` (password `pw-<name>`) with role `role` on a new
/// project `project`; returns (user id, project id).
async fn member(c: &Compute, name: &str, project: &str, role: &str) -> (String, String) {
    let user = c
        .create_user(NewUser {
            name: name.into(),
            password: Some(format!("pw-{name}")),
            ..Default::default()
        })
        .await
        .unwrap();
    let project = match c.find_project_by_name(project, "default").await {
        Ok(p) => p,
        Err(_) => c
            .create_project(NewProject {
                name: project.into(),
                ..Default::default()
            })
            .await
            .unwrap(),
    };
    let role = c.find_role_by_name(role).await.unwrap();
    c.assign_role(
        &Actor::User(user.id.clone()),
        &Target::Project(project.id.clone()),
        &role.id,
    )
    .await
    .unwrap();
    (user.id, project.id)
}

async fn project_token(c: &Compute, name: &str, project_id: &str) -> String {
    let user = c
        .check_password(&by_name(name), &format!("pw-{name}"))
        .await
        .unwrap();
    c.issue_token(
        &user,
        vec!["password".into()],
        &ScopeRequest::ProjectId(project_id.into()),
        None,
    )
    .await
    .unwrap()
    .0
}

fn role_names(token: &compute::identity::Token) -> Vec<&str> {
    token.roles.iter().map(|r| r.name.as_str()).collect()
}

async fn bootstrap_makes_an_admin_once_and_keeps_it(engine: Engine) {
    let fx = Fixture::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let options = bootstrap_options(dir.path(), None);

    let first = fx.compute.bootstrap_identity(&options).await.unwrap();
    let second = fx.compute.bootstrap_identity(&options).await.unwrap();

    assert!(first.user_created);
    assert_eq!(
        first.generated_password_file.as_ref(),
        Some(&options.password_file)
    );
    assert!(!second.user_created && second.generated_password_file.is_none());
    assert_eq!(
        (first.user_id.clone(), first.project_id.clone()),
        (second.user_id, second.project_id)
    );
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(&options.password_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let password = std::fs::read_to_string(&options.password_file).unwrap();
    let admin = fx
        .compute
        .check_password(&by_name("admin"), password.trim())
        .await
        .unwrap();
    let (_, token) = fx
        .compute
        .issue_token(&admin, vec!["password".into()], &ScopeRequest::System, None)
        .await
        .unwrap();
    assert_eq!(
        role_names(&token),
        vec!["admin", "manager", "member", "reader"]
    );
    // Keystone's bootstrap roles: the four of the hierarchy and `service`.
    assert_eq!(fx.compute.list_roles(None, None).await.unwrap().len(), 5);

    // A configured password that differs is set again, as keystone-manage does.
    fx.compute
        .bootstrap_identity(&bootstrap_options(dir.path(), Some("chosen")))
        .await
        .unwrap();
    assert!(fx
        .compute
        .check_password(&by_name("admin"), "chosen")
        .await
        .is_ok());
}

async fn a_password_is_checked_and_never_stored_in_clear(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    member(c, "alice", "alpha", "member").await;

    assert!(c
        .check_password(&by_name("alice"), "pw-alice")
        .await
        .is_ok());
    for (lookup, password) in [
        (by_name("alice"), "pw-alicf"),
        (by_name("alice"), ""),
        (by_name("nobody"), "pw-alice"),
    ] {
        assert!(matches!(
            c.check_password(&lookup, password).await,
            Err(IdentityError::Unauthorized)
        ));
    }
    let dump = dump_database(&fx).await;
    assert!(!dump.contains("pw-alice"), "a password is stored in clear");
    assert!(dump.contains("$argon2id$"));
}

/// The one text column `sql` selects, on either engine.
async fn texts(fx: &Fixture, sql: &str) -> Vec<String> {
    let url = &fx.url;
    let rows: Vec<(String,)> = if url.starts_with("sqlite") {
        let path = url.trim_start_matches("sqlite:///");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
    } else {
        // The fixture's URL in sqlx's spelling (its schema in `options`).
        let pg_url = url.replacen("postgresql+psycopg2://", "postgres://", 1);
        let pool = sqlx::PgPool::connect(&pg_url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
    };
    rows.into_iter().map(|(t,)| t).collect()
}

/// Every text column of the identity's tables, joined.
async fn dump_database(fx: &Fixture) -> String {
    let users = texts(
        fx,
        "SELECT name || ' ' || COALESCE(password_hash, '') FROM identity_users",
    )
    .await;
    let tokens = texts(fx, "SELECT id_hash FROM identity_tokens").await;
    format!("{users:?}{tokens:?}")
}

async fn a_token_validates_as_issued_until_revoked(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;

    let text = project_token(c, "alice", &alpha).await;
    let token = c.validate_token(&text).await.unwrap();

    assert!(text.len() >= 43);
    assert_eq!(token.user.id, alice);
    assert_eq!(token.project().map(|p| p.id.as_str()), Some(alpha.as_str()));
    assert_eq!(role_names(&token), vec!["member", "reader"]);
    assert!(
        !dump_database(&fx).await.contains(&text),
        "a token is stored in clear"
    );
    let before = c.identity_generation();

    c.revoke_token(&text).await.unwrap();

    assert!(c.identity_generation() > before);
    assert!(matches!(
        c.validate_token(&text).await,
        Err(IdentityError::NotFound { kind: "token", .. })
    ));
    assert!(c.revoke_token(&text).await.is_err());
    assert!(c.validate_token("not-a-token").await.is_err());
}

async fn a_token_expires_after_the_configured_lifetime(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = fx
        .compute
        .clone()
        .with_token_expiration(Duration::from_secs(1));
    let (_, alpha) = member(&c, "alice", "alpha", "member").await;

    let text = project_token(&c, "alice", &alpha).await;
    let token = c.validate_token(&text).await.unwrap();
    assert_eq!(
        (token.expires_at - token.issued_at).num_seconds(),
        1,
        "{token:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;

    assert!(c.validate_token(&text).await.is_err());
}

async fn roles_come_from_assignments_groups_and_implied_roles(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "reader").await;
    let text = project_token(c, "alice", &alpha).await;
    assert_eq!(
        role_names(&c.validate_token(&text).await.unwrap()),
        vec!["reader"]
    );

    let group = c
        .create_group(NewGroup {
            name: "operators".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    c.add_group_member(&group.id, &alice).await.unwrap();
    let admin = c.find_role_by_name("admin").await.unwrap();
    c.assign_role(
        &Actor::Group(group.id.clone()),
        &Target::Project(alpha.clone()),
        &admin.id,
    )
    .await
    .unwrap();

    let text = project_token(c, "alice", &alpha).await;
    assert_eq!(
        role_names(&c.validate_token(&text).await.unwrap()),
        vec!["admin", "manager", "member", "reader"]
    );
}

async fn a_scope_without_a_role_gets_no_token(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    member(c, "alice", "alpha", "member").await;
    let user = c
        .check_password(&by_name("alice"), "pw-alice")
        .await
        .unwrap();

    for scope in [
        ScopeRequest::System,
        ScopeRequest::DomainId("default".into()),
    ] {
        assert!(matches!(
            c.issue_token(&user, vec!["password".into()], &scope, None)
                .await,
            Err(IdentityError::Unauthorized)
        ));
    }
    let (_, unscoped) = c
        .issue_token(
            &user,
            vec!["password".into()],
            &ScopeRequest::Unscoped,
            None,
        )
        .await
        .unwrap();
    assert_eq!(unscoped.scope, TokenScope::Unscoped);
    assert!(unscoped.roles.is_empty());
}

async fn deleting_or_disabling_a_user_ends_its_tokens(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (bob, _) = member(c, "bob", "alpha", "member").await;
    let alice_token = project_token(c, "alice", &alpha).await;
    let bob_token = project_token(c, "bob", &alpha).await;
    let credential = c
        .create_ec2_credential(&compute::RequestContext::new(&alice, &alpha), None, None)
        .await
        .unwrap();

    c.delete_user(&alice).await.unwrap();
    c.update_user(
        &bob,
        UserUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    assert!(c.validate_token(&alice_token).await.is_err());
    assert!(c.validate_token(&bob_token).await.is_err());
    assert!(c.lookup_ec2_credential(&credential.access).await.is_err());
    // Enabling bob again does not bring back a token revoked meanwhile.
    c.update_user(
        &bob,
        UserUpdate {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(c.validate_token(&bob_token).await.is_err());
}

async fn unassigning_a_role_or_disabling_a_project_ends_the_tokens(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (_, beta) = member(c, "carol", "beta", "member").await;
    let token = project_token(c, "alice", &alpha).await;
    // alice holds a role on beta too.
    let member_role = c.find_role_by_name("member").await.unwrap();
    c.assign_role(
        &Actor::User(alice.clone()),
        &Target::Project(beta.clone()),
        &member_role.id,
    )
    .await
    .unwrap();
    let elsewhere = project_token(c, "alice", &beta).await;
    let carol = project_token(c, "carol", &beta).await;
    let role = c.find_role_by_name("member").await.unwrap();

    c.unassign_role(
        &Actor::User(alice.clone()),
        &Target::Project(alpha.clone()),
        &role.id,
    )
    .await
    .unwrap();
    // Keystone revokes the tokens scoped where the role was taken back only.
    assert!(c.validate_token(&elsewhere).await.is_ok());
    c.update_project(
        &beta,
        compute::identity::ProjectUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    assert!(c.validate_token(&token).await.is_err());
    assert!(c.validate_token(&carol).await.is_err());
    assert!(c.validate_token(&elsewhere).await.is_err());
    let user = c
        .check_password(&by_name("alice"), "pw-alice")
        .await
        .unwrap();
    assert!(matches!(
        c.issue_token(
            &user,
            vec!["password".into()],
            &ScopeRequest::ProjectId(alpha),
            None
        )
        .await,
        Err(IdentityError::Unauthorized)
    ));
}

async fn names_are_unique_per_domain(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    member(c, "alice", "alpha", "member").await;
    let other = c
        .create_domain(compute::identity::NewDomain {
            name: "other".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let again = c
        .create_user(NewUser {
            name: "alice".into(),
            ..Default::default()
        })
        .await;
    let elsewhere = c
        .create_user(NewUser {
            name: "alice".into(),
            domain_id: Some(other.id.clone()),
            ..Default::default()
        })
        .await;
    let project = c
        .create_project(NewProject {
            name: "alpha".into(),
            ..Default::default()
        })
        .await;

    assert!(
        matches!(again, Err(IdentityError::Conflict { kind: "user", .. })),
        "{again:?}"
    );
    assert!(elsewhere.is_ok());
    assert!(matches!(
        project,
        Err(IdentityError::Conflict {
            kind: "project",
            ..
        })
    ));
    // A domain is deleted only once disabled, and takes its users along.
    assert!(matches!(
        c.delete_domain(&other.id).await,
        Err(IdentityError::Forbidden(_))
    ));
    c.update_domain(
        &other.id,
        compute::identity::DomainUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.delete_domain(&other.id).await.unwrap();
    assert!(c.get_user(&elsewhere.unwrap().id).await.is_err());
}

async fn effective_assignments_expand_groups_and_implied_roles(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "reader").await;
    let group = c
        .create_group(NewGroup {
            name: "devs".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    c.add_group_member(&group.id, &alice).await.unwrap();
    let member_role = c.find_role_by_name("member").await.unwrap();
    c.assign_role(
        &Actor::Group(group.id.clone()),
        &Target::Project(alpha.clone()),
        &member_role.id,
    )
    .await
    .unwrap();

    let plain = c
        .list_assignments(&AssignmentFilter {
            project_id: Some(alpha.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let effective = c
        .list_assignments(&AssignmentFilter {
            project_id: Some(alpha.clone()),
            user_id: Some(alice.clone()),
            effective: true,
            ..Default::default()
        })
        .await
        .unwrap();

    assert_eq!(plain.len(), 2, "{plain:?}");
    let mut roles: Vec<(String, Option<String>)> = Vec::new();
    for a in &effective {
        assert_eq!(a.actor, Actor::User(alice.clone()));
        roles.push((
            c.get_role(&a.role_id).await.unwrap().name,
            a.via_group.clone(),
        ));
    }
    roles.sort();
    assert_eq!(
        roles,
        vec![
            ("member".to_string(), Some(group.id.clone())),
            ("reader".to_string(), None),
            ("reader".to_string(), Some(group.id.clone())),
        ]
    );
}

async fn a_member_of_one_project_gets_no_token_for_another(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, _) = member(c, "alice", "alpha", "member").await;
    let (_, beta) = member(c, "bob", "beta", "member").await;
    let user = c
        .check_password(&by_name("alice"), "pw-alice")
        .await
        .unwrap();

    let refused = c
        .issue_token(
            &user,
            vec!["password".into()],
            &ScopeRequest::ProjectId(beta.clone()),
            None,
        )
        .await;

    assert!(matches!(refused, Err(IdentityError::Unauthorized)));
    let projects: Vec<String> = c
        .user_projects(&alice)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(projects, vec!["alpha".to_string()]);
}

async fn ec2_credentials_follow_their_user_s_state_and_roles(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (boss, _) = member(c, "boss", "alpha", "admin").await;
    let make = |user: &str| compute::RequestContext::new(user, &alpha);
    let alice_key = c
        .create_ec2_credential(&make(&alice), None, None)
        .await
        .unwrap();
    let boss_key = c
        .create_ec2_credential(&make(&boss), None, None)
        .await
        .unwrap();
    let noauth_key = c
        .create_ec2_credential(
            &compute::RequestContext::admin("admin", "admin"),
            None,
            None,
        )
        .await
        .unwrap();

    assert_eq!(
        c.ec2_credential_admin(&alice_key).await.unwrap(),
        Some(false)
    );
    assert_eq!(c.ec2_credential_admin(&boss_key).await.unwrap(), Some(true));
    // A noauth2 name keeps noauth2's rule.
    assert_eq!(
        c.ec2_credential_admin(&noauth_key).await.unwrap(),
        Some(true)
    );

    c.update_user(
        &alice,
        UserUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let role = c.find_role_by_name("admin").await.unwrap();
    c.unassign_role(
        &Actor::User(boss.clone()),
        &Target::Project(alpha.clone()),
        &role.id,
    )
    .await
    .unwrap();

    assert_eq!(c.ec2_credential_admin(&alice_key).await.unwrap(), None);
    assert_eq!(c.ec2_credential_admin(&boss_key).await.unwrap(), None);
}

/// The token of `name` (password `pw-<name>`) on `project_id`, validated.
async fn project_token_facts(c: &Compute, name: &str, project_id: &str) -> Token {
    let text = project_token(c, name, project_id).await;
    c.validate_token(&text).await.unwrap()
}

fn named(name: &str) -> NewAppCred {
    NewAppCred {
        name: name.into(),
        ..Default::default()
    }
}

async fn an_application_credential_authenticates_with_its_secret_and_carries_only_its_roles(
    engine: Engine,
) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "admin").await;
    let creator = project_token_facts(c, "alice", &alpha).await;
    assert_eq!(
        role_names(&creator),
        ["admin", "manager", "member", "reader"]
    );

    let (cred, secret) = c
        .create_app_cred(
            &creator,
            NewAppCred {
                roles: Some(vec![RoleSpec::Name("member".into())]),
                ..named("ci")
            },
        )
        .await
        .unwrap();

    // The role asked for comes with the role it implies, nothing more.
    let names: Vec<&str> = cred.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["member", "reader"]);
    assert_eq!(
        (cred.user_id.as_str(), cred.project_id.as_str()),
        (alice.as_str(), alpha.as_str())
    );
    assert_eq!(secret.len(), 86);
    // The secret is kept hashed only.
    let hashes = texts(&fx, "SELECT secret_hash FROM identity_app_creds").await;
    assert_eq!(hashes.len(), 1);
    assert!(hashes[0].starts_with("$argon2id$") && !hashes[0].contains(&secret));
    let by_id = AppCredLookup::Id(cred.id.clone());
    assert!(matches!(
        c.check_app_cred(&by_id, "wrong").await,
        Err(IdentityError::Unauthorized)
    ));
    let (found, user) = c.check_app_cred(&by_id, &secret).await.unwrap();
    let by_name = AppCredLookup::Name {
        name: "ci".into(),
        user: by_name("alice"),
    };
    assert_eq!(c.check_app_cred(&by_name, &secret).await.unwrap().0, found);

    let (text, token) = c
        .issue_app_cred_token(&found, &user, vec!["application_credential".into()], None)
        .await
        .unwrap();
    assert_eq!(role_names(&token), ["member", "reader"]);
    assert_eq!(token.project().map(|p| p.id.as_str()), Some(alpha.as_str()));
    let validated = c.validate_token(&text).await.unwrap();
    assert_eq!(validated.application_credential.unwrap().id, cred.id);

    // A role the creator's token lacks cannot be delegated; a name is
    // unique per user.
    let (_, beta) = member(c, "carol", "beta", "member").await;
    let other_role = c.find_role_by_name("admin").await.unwrap();
    let member_token = project_token_facts(c, "carol", &beta).await;
    assert!(matches!(
        c.create_app_cred(
            &member_token,
            NewAppCred {
                roles: Some(vec![RoleSpec::Id(other_role.id)]),
                ..named("escalate")
            },
        )
        .await,
        Err(IdentityError::Invalid(_))
    ));
    assert!(matches!(
        c.create_app_cred(&creator, named("ci")).await,
        Err(IdentityError::Conflict { .. })
    ));
    // Given a secret, the credential keeps it.
    let (_, given) = c
        .create_app_cred(
            &creator,
            NewAppCred {
                secret: Some("my secret".into()),
                ..named("given")
            },
        )
        .await
        .unwrap();
    assert_eq!(given, "my secret");
    assert_eq!(c.list_app_creds(&alice, None).await.unwrap().len(), 2);
    assert_eq!(
        c.list_app_creds(&alice, Some("given")).await.unwrap().len(),
        1
    );
}

async fn an_application_credential_ends_with_its_deletion_its_user_its_role_or_its_expiry(
    engine: Engine,
) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (bob, _) = member(c, "bob", "alpha", "member").await;
    let creator = project_token_facts(c, "alice", &alpha).await;
    let app_token = |cred: compute::identity::AppCred, secret: String| async move {
        let (cred, user) = c
            .check_app_cred(&AppCredLookup::Id(cred.id.clone()), &secret)
            .await?;
        c.issue_app_cred_token(&cred, &user, vec!["application_credential".into()], None)
            .await
            .map(|(text, _)| text)
    };

    // Deleted: its tokens end.
    let (one, one_secret) = c.create_app_cred(&creator, named("one")).await.unwrap();
    let one_token = app_token(one.clone(), one_secret.clone()).await.unwrap();
    c.delete_app_cred(&one.id).await.unwrap();
    assert!(c.validate_token(&one_token).await.is_err());
    assert!(app_token(one, one_secret).await.is_err());

    // The role taken back on its project: gone, with its tokens.
    let (two, two_secret) = c.create_app_cred(&creator, named("two")).await.unwrap();
    let two_token = app_token(two.clone(), two_secret).await.unwrap();
    let member_role = c.find_role_by_name("member").await.unwrap();
    c.unassign_role(
        &Actor::User(alice.clone()),
        &Target::Project(alpha.clone()),
        &member_role.id,
    )
    .await
    .unwrap();
    assert!(c.validate_token(&two_token).await.is_err());
    assert!(matches!(
        c.get_app_cred(&two.id).await,
        Err(IdentityError::NotFound { .. })
    ));

    // Its user disabled or deleted: gone.
    let bob_token = project_token_facts(c, "bob", &alpha).await;
    let (three, three_secret) = c.create_app_cred(&bob_token, named("three")).await.unwrap();
    let three_token = app_token(three.clone(), three_secret).await.unwrap();
    c.update_user(
        &bob,
        UserUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(c.validate_token(&three_token).await.is_err());
    assert!(c.list_app_creds(&bob, None).await.unwrap().is_empty());

    // Expired: it authenticates no more.
    let (carol, _) = member(c, "carol", "alpha", "member").await;
    let carol_token = project_token_facts(c, "carol", &alpha).await;
    let (brief, brief_secret) = c
        .create_app_cred(
            &carol_token,
            NewAppCred {
                expires_at: Some(chrono::Utc::now() + chrono::Duration::milliseconds(300)),
                ..named("brief")
            },
        )
        .await
        .unwrap();
    let brief_token = app_token(brief.clone(), brief_secret.clone())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(c.validate_token(&brief_token).await.is_err());
    assert!(matches!(
        app_token(brief, brief_secret).await,
        Err(IdentityError::Unauthorized)
    ));
    // An expiry in the past is refused.
    assert!(matches!(
        c.create_app_cred(
            &carol_token,
            NewAppCred {
                expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
                ..named("late")
            },
        )
        .await,
        Err(IdentityError::Invalid(_))
    ));
    c.delete_user(&carol).await.unwrap();
    assert!(c.list_app_creds(&carol, None).await.unwrap().is_empty());
}

async fn a_token_of_an_application_credential_cannot_be_rescoped_or_outlive_it(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (_, alpha) = member(c, "alice", "alpha", "member").await;
    let creator = project_token_facts(c, "alice", &alpha).await;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(60);
    let (cred, secret) = c
        .create_app_cred(
            &creator,
            NewAppCred {
                expires_at: Some(expires),
                ..named("short")
            },
        )
        .await
        .unwrap();
    let (cred, user) = c
        .check_app_cred(&AppCredLookup::Id(cred.id), &secret)
        .await
        .unwrap();
    let (_, token) = c
        .issue_app_cred_token(&cred, &user, vec!["application_credential".into()], None)
        .await
        .unwrap();
    // The token lives no longer than the credential ([token] expiration
    // is an hour).
    assert!(token.expires_at <= expires);
    assert!(!token.application_credential.as_ref().unwrap().unrestricted);
}

async fn access_rules_are_shared_per_user_and_kept_while_in_use(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let creator = project_token_facts(c, "alice", &alpha).await;
    let ips = || NewAccessRule {
        service: Some("compute".into()),
        path: Some("/v2.1/servers/*/ips".into()),
        method: Some("GET".into()),
        ..Default::default()
    };
    let (first, _) = c
        .create_app_cred(
            &creator,
            NewAppCred {
                access_rules: Some(vec![ips()]),
                ..named("first")
            },
        )
        .await
        .unwrap();
    let (second, _) = c
        .create_app_cred(
            &creator,
            NewAppCred {
                access_rules: Some(vec![ips()]),
                ..named("second")
            },
        )
        .await
        .unwrap();
    assert_eq!(first.access_rules, second.access_rules);
    let rules = c.list_access_rules(&alice).await.unwrap();
    assert_eq!(rules.len(), 1);
    let rule = &rules[0];
    assert_eq!(
        (
            rule.service.as_str(),
            rule.path.as_str(),
            rule.method.as_str()
        ),
        ("compute", "/v2.1/servers/*/ips", "GET")
    );

    assert!(matches!(
        c.delete_access_rule(&alice, &rule.id).await,
        Err(IdentityError::Forbidden(_))
    ));
    c.delete_app_cred(&first.id).await.unwrap();
    c.delete_app_cred(&second.id).await.unwrap();
    // The rule outlives its credentials until deleted.
    assert_eq!(c.list_access_rules(&alice).await.unwrap().len(), 1);
    c.delete_access_rule(&alice, &rule.id).await.unwrap();
    assert!(c.list_access_rules(&alice).await.unwrap().is_empty());
    assert!(matches!(
        c.delete_access_rule(&alice, &rule.id).await,
        Err(IdentityError::NotFound { .. })
    ));
    // A bad method is refused.
    assert!(matches!(
        c.create_app_cred(
            &creator,
            NewAppCred {
                access_rules: Some(vec![NewAccessRule {
                    method: Some("TRACE".into()),
                    ..ips()
                }]),
                ..named("bad")
            },
        )
        .await,
        Err(IdentityError::Invalid(_))
    ));
}

async fn an_ec2_credential_is_the_same_through_v3_credentials_and_os_ec2(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (_, beta) = member(c, "bob", "beta", "member").await;

    let made = c
        .create_credential(
            NewCredential {
                user_id: alice.clone(),
                project_id: Some(alpha.clone()),
                kind: "ec2".into(),
                blob: r#"{"access": "AK1", "secret": "SK1"}"#.into(),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        made.id,
        compute::identity::credentials::ec2_credential_id("AK1")
    );
    // The EC2 API signs with it.
    let key = c.lookup_ec2_credential("AK1").await.unwrap();
    assert_eq!(
        (key.secret.as_str(), key.project_id.as_str()),
        ("SK1", alpha.as_str())
    );

    // One made through OS-EC2 is listed as type ec2.
    let os_ec2 = c
        .create_ec2_credential(&compute::RequestContext::new(&alice, &alpha), None, None)
        .await
        .unwrap();
    let listed = c.list_credentials(Some(&alice), Some("ec2")).await.unwrap();
    assert_eq!(listed.len(), 2);
    let shown = c
        .get_credential(&compute::identity::credentials::ec2_credential_id(
            &os_ec2.access,
        ))
        .await
        .unwrap();
    let blob: serde_json::Value = serde_json::from_str(&shown.blob).unwrap();
    assert_eq!(blob["access"], os_ec2.access.as_str());
    assert_eq!(blob["secret"], os_ec2.secret.as_str());

    // An update keeps the id and moves the keys and the project.
    let updated = c
        .update_credential(
            &made.id,
            CredentialUpdate {
                project_id: Some(Some(beta.clone())),
                blob: Some(r#"{"access": "AK2", "secret": "SK2"}"#.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.id, made.id);
    assert!(c.lookup_ec2_credential("AK1").await.is_err());
    let moved = c.lookup_ec2_credential("AK2").await.unwrap();
    assert_eq!(moved.project_id, beta);

    // Needs a project and an access key; an access key is taken once.
    let without = |project: Option<String>, blob: &str| NewCredential {
        user_id: alice.clone(),
        project_id: project,
        kind: "ec2".into(),
        blob: blob.into(),
    };
    assert!(matches!(
        c.create_credential(without(None, r#"{"access": "AK3"}"#), None)
            .await,
        Err(IdentityError::Invalid(_))
    ));
    assert!(matches!(
        c.create_credential(without(Some(alpha.clone()), r#"{"secret": "x"}"#), None)
            .await,
        Err(IdentityError::Invalid(_))
    ));
    assert!(matches!(
        c.create_credential(without(Some(alpha.clone()), r#"{"access": "AK2"}"#), None)
            .await,
        Err(IdentityError::Conflict { .. })
    ));

    c.delete_credential(&made.id).await.unwrap();
    assert!(c.lookup_ec2_credential("AK2").await.is_err());
    assert_eq!(
        c.list_ec2_credentials(&compute::RequestContext::new(&alice, &alpha), None)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn other_credentials_are_listed_filtered_updated_and_deleted(engine: Engine) {
    let (fx, _dir) = bootstrapped(engine).await;
    let c = &fx.compute;
    let (alice, alpha) = member(c, "alice", "alpha", "member").await;
    let (bob, _) = member(c, "bob", "alpha", "member").await;
    let cert = |user: &str| NewCredential {
        user_id: user.into(),
        project_id: None,
        kind: "cert".into(),
        blob: "-----BEGIN CERTIFICATE-----".into(),
    };
    let mine = c.create_credential(cert(&alice), None).await.unwrap();
    c.create_credential(cert(&bob), None).await.unwrap();
    c.create_credential(
        NewCredential {
            project_id: Some(alpha.clone()),
            kind: "totp".into(),
            ..cert(&alice)
        },
        None,
    )
    .await
    .unwrap();

    assert_eq!(c.list_credentials(None, None).await.unwrap().len(), 3);
    assert_eq!(
        c.list_credentials(Some(&alice), None).await.unwrap().len(),
        2
    );
    assert_eq!(
        c.list_credentials(None, Some("cert")).await.unwrap().len(),
        2
    );
    let updated = c
        .update_credential(
            &mine.id,
            CredentialUpdate {
                blob: Some("other".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.blob.as_str(), updated.kind.as_str()),
        ("other", "cert")
    );
    // A cert does not become an ec2 credential in place.
    assert!(matches!(
        c.update_credential(
            &mine.id,
            CredentialUpdate {
                kind: Some("ec2".into()),
                ..Default::default()
            },
        )
        .await,
        Err(IdentityError::Invalid(_))
    ));
    c.delete_credential(&mine.id).await.unwrap();
    assert!(matches!(
        c.get_credential(&mine.id).await,
        Err(IdentityError::NotFound { .. })
    ));
    // A user's credentials go with it.
    c.delete_user(&alice).await.unwrap();
    assert!(c
        .list_credentials(Some(&alice), None)
        .await
        .unwrap()
        .is_empty());
}
