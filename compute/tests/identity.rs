//! The built-in identity on both engines: passwords, tokens (issue,
//! validate, expire, revoke), roles from assignments (through groups and
//! implied roles), what deleting or disabling does to tokens, the
//! bootstrap, and isolation between projects.

// The shared fixture serves the whole compute suite; this binary uses part of it.
#[allow(dead_code)]
mod support;

use std::time::Duration;

use compute::identity::{
    Actor, AssignmentFilter, BootstrapOptions, IdentityError, NewGroup, NewProject, NewUser,
    ScopeRequest, Target, TokenScope, UserLookup, UserUpdate,
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

/// Every text column of the identity's tables, joined.
async fn dump_database(fx: &Fixture) -> String {
    let url = &fx.url;
    if url.starts_with("sqlite") {
        let path = url.trim_start_matches("sqlite:///");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT name, password_hash FROM identity_users")
                .fetch_all(&pool)
                .await
                .unwrap();
        let tokens: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM identity_tokens")
            .fetch_all(&pool)
            .await
            .unwrap();
        format!("{rows:?}{tokens:?}")
    } else {
        // The fixture's URL in sqlx's spelling (its schema in `options`).
        let pg_url = url.replacen("postgresql+psycopg2://", "postgres://", 1);
        let pool = sqlx::PgPool::connect(&pg_url).await.unwrap();
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT name, password_hash FROM identity_users")
                .fetch_all(&pool)
                .await
                .unwrap();
        let tokens: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM identity_tokens")
            .fetch_all(&pool)
            .await
            .unwrap();
        format!("{rows:?}{tokens:?}")
    }
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
