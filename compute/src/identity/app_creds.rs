//! Application credentials, as Keystone keeps them: a user delegates some
//! of its roles on one project to a named secret, which authenticates
//! (`application_credential` method) as that user on that project with
//! those roles only. The secret is shown once, on create, and kept as an
//! Argon2id hash ([`super::password`]). Access rules limit the requests a
//! credential's tokens may make; a rule is its user's and is shared by
//! the credentials naming the same (service, path, method).
//!
//! A credential ends, with its tokens, when it is deleted, when it
//! expires, when its user is deleted or disabled (as Keystone deletes
//! them) and when its user loses a role on its project directly (Keystone
//! deletes them then too); a role lost otherwise (through a group, a
//! deleted role) drops out of the credential's next tokens, and a
//! credential left with none of its roles authenticates no more.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::tokens::{NewToken, TokenAppCred};
use super::{check_name, new_id, password, RoleRef, Target, Token, TokenScope, User, UserLookup};
use crate::store::{args, from_micros, now_micros};
use crate::Compute;

/// The methods an access rule may name (Keystone's schema).
pub const ACCESS_RULE_METHODS: &[&str] = &["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"];

/// An access rule: one kind of request a credential's tokens may make.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessRule {
    /// Its id.
    pub id: String,
    /// The service type (`compute`).
    pub service: String,
    /// The path, `*` matching one segment and `**` any number.
    pub path: String,
    /// The HTTP method.
    pub method: String,
}

/// An access rule as a create names it: by id (an existing rule of the
/// user), or by its parts (an existing rule with the same parts is
/// reused, else one is made, with `id` if given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAccessRule {
    /// An id.
    pub id: Option<String>,
    /// The service type.
    pub service: Option<String>,
    /// The path.
    pub path: Option<String>,
    /// The method.
    pub method: Option<String>,
}

/// An application credential (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCred {
    /// Its id (32 hex digits).
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// The project its tokens are scoped to.
    pub project_id: String,
    /// Its name, unique for the user.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The roles it delegates.
    pub roles: Vec<RoleRef>,
    /// Whether its tokens may make application credentials and trusts.
    pub unrestricted: bool,
    /// When it stops working (never when `None`).
    pub expires_at: Option<DateTime<Utc>>,
    /// The requests its tokens are limited to (empty: none given).
    pub access_rules: Vec<AccessRule>,
}

impl AppCred {
    /// What a token issued through it says of it.
    pub fn token_view(&self) -> TokenAppCred {
        TokenAppCred {
            id: self.id.clone(),
            name: self.name.clone(),
            unrestricted: self.unrestricted,
            access_rules: self.access_rules.clone(),
        }
    }

    fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t.timestamp_micros() <= now)
    }
}

/// A role as a create names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSpec {
    /// By id.
    Id(String),
    /// By name (a global role).
    Name(String),
}

/// What `POST /v3/users/{id}/application_credentials` gives.
#[derive(Debug, Clone, Default)]
pub struct NewAppCred {
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The secret (generated when absent).
    pub secret: Option<String>,
    /// The roles to delegate (all of the creating token's when absent).
    pub roles: Option<Vec<RoleSpec>>,
    /// Unrestricted (false when absent).
    pub unrestricted: Option<bool>,
    /// The expiry (never when absent).
    pub expires_at: Option<DateTime<Utc>>,
    /// The access rules (none when absent).
    pub access_rules: Option<Vec<NewAccessRule>>,
}

/// How an authentication names its application credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCredLookup {
    /// By id.
    Id(String),
    /// By name, for a user.
    Name {
        /// The credential's name.
        name: String,
        /// Its user.
        user: UserLookup,
    },
}

#[derive(sqlx::FromRow)]
struct AppCredRow {
    id: String,
    user_id: String,
    project_id: String,
    name: String,
    description: Option<String>,
    roles: String,
    unrestricted: bool,
    expires_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    secret_hash: String,
}

const COLUMNS: &str = "id, user_id, project_id, name, description, roles, unrestricted, expires_at";

/// A generated secret: 64 random bytes from the OS, URL-safe base64
/// without padding (Keystone's length and alphabet).
fn new_secret() -> String {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn internal(e: impl std::fmt::Display) -> IdentityError {
    IdentityError::Compute(crate::Error::Internal(e.to_string()))
}

impl Compute {
    async fn app_cred_of(&self, row: AppCredRow) -> IdentityResult<AppCred> {
        let roles: Vec<RoleRef> = serde_json::from_str(&row.roles).map_err(internal)?;
        let access_rules: Vec<AccessRule> = self
            .store
            .fetch_all(
                "SELECT r.id, r.service, r.path, r.method FROM identity_access_rules r JOIN identity_app_cred_access_rules l ON l.access_rule_id = r.id WHERE l.app_cred_id = $1 ORDER BY r.service, r.path, r.method, r.id",
                args![&row.id],
            )
            .await?;
        Ok(AppCred {
            id: row.id,
            user_id: row.user_id,
            project_id: row.project_id,
            name: row.name,
            description: row.description,
            roles,
            unrestricted: row.unrestricted,
            expires_at: row.expires_at.map(from_micros),
            access_rules,
        })
    }

    /// Creates an application credential of `creator`'s user on the
    /// project `creator` is scoped to; returns it with its secret (shown
    /// this once). The roles must be among the creator's there (400
    /// otherwise, as Keystone answers); the roles they imply come along.
    pub async fn create_app_cred(
        &self,
        creator: &Token,
        new: NewAppCred,
    ) -> IdentityResult<(AppCred, String)> {
        let TokenScope::Project(project, _) = &creator.scope else {
            return Err(IdentityError::Invalid(
                "Invalid input for field 'application_credential': an application credential is made with a project-scoped token.".into(),
            ));
        };
        let name = check_name("application credential", &new.name)?;
        let now = now_micros();
        if new.expires_at.is_some_and(|t| t.timestamp_micros() <= now) {
            return Err(IdentityError::Invalid(
                "The 'expires_at' must not be before now.".into(),
            ));
        }
        // What the creator may delegate: its roles on the project now (as
        // Keystone computes a token's roles when it is used), only those of
        // its own credential when it authenticated with one.
        let held = self
            .effective_roles(&creator.user.id, &Target::Project(project.id.clone()))
            .await?;
        let allowed: Vec<RoleRef> = match &creator.application_credential {
            Some(_) => held
                .into_iter()
                .filter(|r| creator.roles.iter().any(|t| t.id == r.id))
                .collect(),
            None => held,
        };
        let roles = match new.roles {
            Some(specs) if !specs.is_empty() => {
                let mut named = Vec::new();
                for spec in specs {
                    let role = match spec {
                        RoleSpec::Id(id) => self.get_role(&id).await,
                        RoleSpec::Name(name) => self.find_role_by_name(&name).await,
                    }
                    .map_err(|e| match e {
                        IdentityError::NotFound { .. } => unassigned(),
                        other => other,
                    })?;
                    named.push(RoleRef {
                        id: role.id,
                        name: role.name,
                    });
                }
                self.with_implied(named).await?
            }
            _ => allowed.clone(),
        };
        if roles.is_empty() || roles.iter().any(|r| !allowed.iter().any(|a| a.id == r.id)) {
            return Err(unassigned());
        }
        let secret = new
            .secret
            .filter(|s| !s.is_empty())
            .unwrap_or_else(new_secret);
        let hash = password::hash(&secret)?;
        let id = new_id();
        let roles_json = serde_json::to_string(&roles).map_err(internal)?;
        let rules = new.access_rules.unwrap_or_default();
        let mut checked = Vec::new();
        for rule in rules {
            checked.push(self.access_rule_for(&creator.user.id, rule).await?);
        }
        self.store
            .execute(
                "INSERT INTO identity_app_creds (id, user_id, project_id, name, description, secret_hash, roles, unrestricted, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![&id, &creator.user.id, &project.id, &name, new.description, hash, roles_json, new.unrestricted.unwrap_or(false), new.expires_at.map(|t| t.timestamp_micros()), now],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "application_credential", &name))?;
        for rule in &checked {
            self.store
                .execute(
                    "INSERT INTO identity_access_rules (id, user_id, service, path, method) SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM identity_access_rules WHERE id = $1)",
                    args![&rule.id, &creator.user.id, &rule.service, &rule.path, &rule.method],
                )
                .await?;
            self.store
                .execute(
                    "INSERT INTO identity_app_cred_access_rules (app_cred_id, access_rule_id) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM identity_app_cred_access_rules WHERE app_cred_id = $1 AND access_rule_id = $2)",
                    args![&id, &rule.id],
                )
                .await?;
        }
        Ok((self.get_app_cred(&id).await?, secret))
    }

    /// The rule `new` names for `user_id`: an existing one (by id, or by
    /// the same parts), else a new one (not stored yet).
    async fn access_rule_for(
        &self,
        user_id: &str,
        new: NewAccessRule,
    ) -> IdentityResult<AccessRule> {
        if let Some(id) = &new.id {
            if let Some(rule) = self.user_access_rule(user_id, id).await? {
                return Ok(rule);
            }
        }
        let invalid = |field: &str, why: &str| {
            IdentityError::Invalid(format!(
                "Invalid input for field 'access_rules/{field}': {why}."
            ))
        };
        let service = new
            .service
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .ok_or_else(|| {
                invalid(
                    "service",
                    "a service type of 1 to 64 characters is required",
                )
            })?;
        let path = new
            .path
            .filter(|p| p.starts_with('/') && p.len() <= 225)
            .ok_or_else(|| {
                invalid(
                    "path",
                    "a path starting with '/' of at most 225 characters is required",
                )
            })?;
        let method = new
            .method
            .filter(|m| ACCESS_RULE_METHODS.contains(&m.as_str()))
            .ok_or_else(|| {
                invalid(
                    "method",
                    "one of DELETE, GET, HEAD, PATCH, POST, PUT is required",
                )
            })?;
        let existing: Option<AccessRule> = self
            .store
            .fetch_optional(
                "SELECT id, service, path, method FROM identity_access_rules WHERE user_id = $1 AND service = $2 AND path = $3 AND method = $4",
                args![user_id, &service, &path, &method],
            )
            .await?;
        if let Some(rule) = existing {
            return Ok(rule);
        }
        // An id another user's rule holds is not this rule's.
        let id = match new.id {
            Some(id) if self.access_rule_exists(&id).await? => new_id(),
            Some(id) => id,
            None => new_id(),
        };
        Ok(AccessRule {
            id,
            service,
            path,
            method,
        })
    }

    /// The application credential `id` (404 when there is none).
    pub async fn get_app_cred(&self, id: &str) -> IdentityResult<AppCred> {
        let row: AppCredRow = self
            .store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_app_creds WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("application credential", id))?;
        self.app_cred_of(row).await
    }

    /// The application credentials of `user_id` named `name` (any when
    /// `None`), by name.
    pub async fn list_app_creds(
        &self,
        user_id: &str,
        name: Option<&str>,
    ) -> IdentityResult<Vec<AppCred>> {
        let rows: Vec<AppCredRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM identity_app_creds WHERE user_id = $1 ORDER BY name, id"
                ),
                args![user_id],
            )
            .await?;
        let mut out = Vec::new();
        for row in rows
            .into_iter()
            .filter(|r| name.is_none_or(|n| r.name == n))
        {
            out.push(self.app_cred_of(row).await?);
        }
        Ok(out)
    }

    /// Deletes the application credential `id`; its tokens end.
    pub async fn delete_app_cred(&self, id: &str) -> IdentityResult<()> {
        self.get_app_cred(id).await?;
        self.forget_app_creds("id = $1", id).await
    }

    /// Deletes the credentials `condition` (on `$1` = `value`) selects,
    /// with their links to access rules, and ends their tokens.
    async fn forget_app_creds(&self, condition: &str, value: &str) -> IdentityResult<()> {
        let ids: Vec<(String,)> = self
            .store
            .fetch_all(
                &format!("SELECT id FROM identity_app_creds WHERE {condition}"),
                args![value],
            )
            .await?;
        if ids.is_empty() {
            return Ok(());
        }
        for (id,) in &ids {
            self.store
                .execute(
                    "DELETE FROM identity_app_cred_access_rules WHERE app_cred_id = $1",
                    args![id],
                )
                .await?;
            self.store
                .execute(
                    "UPDATE identity_tokens SET revoked_at = $2 WHERE app_cred_id = $1 AND revoked_at IS NULL",
                    args![id, now_micros()],
                )
                .await?;
            self.store
                .execute("DELETE FROM identity_app_creds WHERE id = $1", args![id])
                .await?;
        }
        self.identity_changed();
        Ok(())
    }

    /// Deletes the application credentials and access rules of `user_id`
    /// (its deletion or disabling, as Keystone does).
    pub(crate) async fn forget_user_app_creds(&self, user_id: &str) -> IdentityResult<()> {
        self.forget_app_creds("user_id = $1", user_id).await?;
        self.store
            .execute(
                "DELETE FROM identity_access_rules WHERE user_id = $1",
                args![user_id],
            )
            .await?;
        Ok(())
    }

    /// Deletes the application credentials of `user_id` on `project_id`
    /// (a role of the user there taken back, as Keystone does).
    pub(crate) async fn forget_user_app_creds_on(
        &self,
        user_id: &str,
        project_id: &str,
    ) -> IdentityResult<()> {
        let ids: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT id FROM identity_app_creds WHERE user_id = $1 AND project_id = $2",
                args![user_id, project_id],
            )
            .await?;
        for (id,) in ids {
            self.forget_app_creds("id = $1", &id).await?;
        }
        Ok(())
    }

    /// Deletes the application credentials on `project_id` (its deletion).
    pub(crate) async fn forget_project_app_creds(&self, project_id: &str) -> IdentityResult<()> {
        self.forget_app_creds("project_id = $1", project_id).await
    }

    /// The application credential `lookup` names and its user, if
    /// `secret` is its secret, it has not expired, and its user and the
    /// user's domain are enabled; [`IdentityError::Unauthorized`] in
    /// every other case, whatever was wrong.
    pub async fn check_app_cred(
        &self,
        lookup: &AppCredLookup,
        secret: &str,
    ) -> IdentityResult<(AppCred, User)> {
        let found = match lookup {
            AppCredLookup::Id(id) => self.get_app_cred(id).await,
            AppCredLookup::Name { name, user } => match self.find_user(user).await {
                Ok(user) => match self.list_app_creds(&user.id, Some(name)).await {
                    Ok(mut creds) if !creds.is_empty() => Ok(creds.remove(0)),
                    Ok(_) => Err(IdentityError::not_found("application credential", name)),
                    Err(err) => Err(err),
                },
                Err(err) => Err(err),
            },
        };
        let cred = match found {
            Ok(cred) => cred,
            Err(IdentityError::NotFound { .. }) => return Err(IdentityError::Unauthorized),
            Err(err) => return Err(err),
        };
        let row: Option<SecretRow> = self
            .store
            .fetch_optional(
                "SELECT secret_hash FROM identity_app_creds WHERE id = $1",
                args![&cred.id],
            )
            .await?;
        let matches = row.is_some_and(|r| password::verify(secret, &r.secret_hash));
        if !matches || cred.expired(now_micros()) {
            return Err(IdentityError::Unauthorized);
        }
        let user = match self.get_user(&cred.user_id).await {
            Ok(user) => user,
            Err(IdentityError::NotFound { .. }) => return Err(IdentityError::Unauthorized),
            Err(err) => return Err(err),
        };
        if !user.enabled || !self.get_domain(&user.domain_id).await?.enabled {
            return Err(IdentityError::Unauthorized);
        }
        Ok((cred, user))
    }

    /// Issues a token through `cred` for its `user` (checked by
    /// [`Compute::check_app_cred`], or the user of `parent`, a token of
    /// the same credential): scoped to the credential's project, carrying
    /// those of its roles the user still holds there (401 when none),
    /// expiring no later than the credential.
    pub async fn issue_app_cred_token(
        &self,
        cred: &AppCred,
        user: &User,
        methods: Vec<String>,
        parent: Option<&Token>,
    ) -> IdentityResult<(String, Token)> {
        let user_domain = self.get_domain(&user.domain_id).await?;
        if !user.enabled || !user_domain.enabled || cred.expired(now_micros()) {
            return Err(IdentityError::Unauthorized);
        }
        let project = match self.get_project(&cred.project_id).await {
            Ok(p) => p,
            Err(IdentityError::NotFound { .. }) => return Err(IdentityError::Unauthorized),
            Err(err) => return Err(err),
        };
        let domain = self.get_domain(&project.domain_id).await?;
        if !project.enabled || !domain.enabled {
            return Err(IdentityError::Unauthorized);
        }
        let held = self
            .effective_roles(&user.id, &Target::Project(project.id.clone()))
            .await?;
        let roles: Vec<RoleRef> = cred
            .roles
            .iter()
            .filter(|r| held.iter().any(|h| h.id == r.id))
            .cloned()
            .collect();
        if roles.is_empty() {
            return Err(IdentityError::Unauthorized);
        }
        self.store_token(NewToken {
            user,
            user_domain,
            scope: TokenScope::Project(project, domain),
            roles,
            methods,
            parent,
            not_after: cred.expires_at.map(|t| t.timestamp_micros()),
            application_credential: Some(cred.token_view()),
        })
        .await
    }

    /// The access rule `id` of `user_id`, if there is one.
    pub async fn user_access_rule(
        &self,
        user_id: &str,
        id: &str,
    ) -> IdentityResult<Option<AccessRule>> {
        Ok(self
            .store
            .fetch_optional(
                "SELECT id, service, path, method FROM identity_access_rules WHERE user_id = $1 AND id = $2",
                args![user_id, id],
            )
            .await?)
    }

    async fn access_rule_exists(&self, id: &str) -> IdentityResult<bool> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT id FROM identity_access_rules WHERE id = $1",
                args![id],
            )
            .await?;
        Ok(row.is_some())
    }

    /// The access rules of `user_id`, by service, path and method.
    pub async fn list_access_rules(&self, user_id: &str) -> IdentityResult<Vec<AccessRule>> {
        Ok(self
            .store
            .fetch_all(
                "SELECT id, service, path, method FROM identity_access_rules WHERE user_id = $1 ORDER BY service, path, method, id",
                args![user_id],
            )
            .await?)
    }

    /// Deletes the access rule `id` of `user_id`: 404 when it has none
    /// such, 403 while an application credential uses it (Keystone's
    /// answers).
    pub async fn delete_access_rule(&self, user_id: &str, id: &str) -> IdentityResult<()> {
        if self.user_access_rule(user_id, id).await?.is_none() {
            return Err(IdentityError::not_found("access rule", id));
        }
        let used: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT app_cred_id FROM identity_app_cred_access_rules WHERE access_rule_id = $1",
                args![id],
            )
            .await?;
        if used.is_some() {
            return Err(IdentityError::Forbidden(
                "Cannot delete access rule while it is in use by an application credential.".into(),
            ));
        }
        self.store
            .execute("DELETE FROM identity_access_rules WHERE id = $1", args![id])
            .await?;
        Ok(())
    }
}

/// Keystone's 400 for a role the creator may not delegate.
fn unassigned() -> IdentityError {
    IdentityError::Invalid(
        "Invalid application credential: Cannot create an application credential with unassigned role.".into(),
    )
}

/// Whether `rule` lets a request of `method` on `path` to the service
/// `service` through, as keystonemiddleware matches: the same service
/// and method, and the path's segments matching the rule's, where `*`
/// matches one segment and `**` any number of them.
pub fn access_rule_allows(rule: &AccessRule, service: &str, method: &str, path: &str) -> bool {
    if rule.service != service || !rule.method.eq_ignore_ascii_case(method) {
        return false;
    }
    let pattern: Vec<&str> = rule.path.trim_end_matches('/').split('/').collect();
    let actual: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    segments_match(&pattern, &actual)
}

fn segments_match(pattern: &[&str], actual: &[&str]) -> bool {
    match (pattern.first(), actual.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            (0..=actual.len()).any(|skip| segments_match(&pattern[1..], &actual[skip..]))
        }
        (Some(p), Some(a)) => (*p == "*" || p == a) && segments_match(&pattern[1..], &actual[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str) -> AccessRule {
        AccessRule {
            id: "r".into(),
            service: "compute".into(),
            path: path.into(),
            method: "GET".into(),
        }
    }

    #[test]
    fn a_generated_secret_is_long_url_safe_and_fresh() {
        let a = new_secret();
        assert_eq!(a.len(), 86);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, new_secret());
    }

    #[test]
    fn an_access_rule_matches_service_method_and_path_segments() {
        let ips = rule("/v2.1/servers/*/ips");
        assert!(access_rule_allows(
            &ips,
            "compute",
            "GET",
            "/v2.1/servers/abc/ips"
        ));
        assert!(!access_rule_allows(
            &ips,
            "compute",
            "POST",
            "/v2.1/servers/abc/ips"
        ));
        assert!(!access_rule_allows(
            &ips,
            "image",
            "GET",
            "/v2.1/servers/abc/ips"
        ));
        assert!(!access_rule_allows(
            &ips,
            "compute",
            "GET",
            "/v2.1/servers/a/b/ips"
        ));
        assert!(!access_rule_allows(&ips, "compute", "GET", "/v2.1/servers"));
        let any = rule("/v2.1/**");
        assert!(access_rule_allows(
            &any,
            "compute",
            "GET",
            "/v2.1/servers/a/b"
        ));
        assert!(access_rule_allows(&any, "compute", "GET", "/v2.1"));
        assert!(!access_rule_allows(&any, "compute", "GET", "/v2/servers"));
    }
}
