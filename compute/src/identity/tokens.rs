//! Tokens: 32 random bytes from the OS's generator, handed out as
//! URL-safe base64 (43 characters) and stored only as the SHA-256 of that
//! text, with the user, the scope, the roles the assignment gave at issue
//! time, and the expiry (`[token] expiration`). A token is valid while it
//! has not expired or been revoked and its user, the user's domain and
//! its scope still exist and are enabled. A token issued through an
//! application credential ([`super::app_creds`]) is valid only while
//! that credential exists too.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::app_creds::AccessRule;
use super::error::{IdentityError, IdentityResult};
use super::{Domain, Project, RoleRef, Target, User};
use crate::store::{args, from_micros, now_micros};
use crate::Compute;

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Nothing: it only lists what the user may scope to.
    Unscoped,
    /// A project, with the project's domain.
    Project(Project, Domain),
    /// A domain.
    Domain(Domain),
    /// The system (`all`).
    System,
}

/// What a token request asks to be scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    /// No scope (or the user's default project, if it has a role there).
    Unscoped,
    /// A project by id.
    ProjectId(String),
    /// A project by name in a domain given by id or name.
    ProjectName {
        /// The project's name.
        name: String,
        /// Its domain's id.
        domain_id: Option<String>,
        /// Its domain's name (when no id).
        domain_name: Option<String>,
    },
    /// A domain by id.
    DomainId(String),
    /// A domain by name.
    DomainName(String),
    /// The system.
    System,
}

/// A valid token's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Whose.
    pub user: User,
    /// The user's domain.
    pub user_domain: Domain,
    /// Where.
    pub scope: TokenScope,
    /// The roles on the scope at issue time, with those they imply.
    pub roles: Vec<RoleRef>,
    /// How the user authenticated (`password`, `token`).
    pub methods: Vec<String>,
    /// The token's audit id, then its parent's.
    pub audit_ids: Vec<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The application credential it was issued through, if any.
    pub application_credential: Option<TokenAppCred>,
}

/// What a token says of the application credential it came from (the
/// `application_credential` of Keystone's token body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAppCred {
    /// The credential's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it may make other application credentials and trusts.
    pub unrestricted: bool,
    /// The requests it is limited to (none: any).
    pub access_rules: Vec<AccessRule>,
}

/// What a new token row holds beside its text.
pub(crate) struct NewToken<'a> {
    pub(crate) user: &'a User,
    pub(crate) user_domain: Domain,
    pub(crate) scope: TokenScope,
    pub(crate) roles: Vec<RoleRef>,
    pub(crate) methods: Vec<String>,
    pub(crate) parent: Option<&'a Token>,
    /// The latest expiry allowed (an application credential's).
    pub(crate) not_after: Option<i64>,
    pub(crate) application_credential: Option<TokenAppCred>,
}

impl Token {
    /// Whether the token carries the role `name` (case-insensitive, as
    /// oslo.policy compares roles).
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The project of a project-scoped token.
    pub fn project(&self) -> Option<&Project> {
        match &self.scope {
            TokenScope::Project(p, _) => Some(p),
            _ => None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    user_id: String,
    methods: String,
    scope_type: String,
    scope_id: Option<String>,
    roles: String,
    audit_id: String,
    parent_audit_id: Option<String>,
    issued_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    app_cred_id: Option<String>,
}

/// The lowercase hex SHA-256 of a token's text: the only form stored.
fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new token's text: 32 bytes from the OS, URL-safe base64.
fn new_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A short audit id, as Keystone's (22 URL-safe characters).
fn audit_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens expired this long ago are deleted when a new one is issued.
const PURGE_AFTER_MICROS: i64 = 24 * 3600 * 1_000_000;

impl Compute {
    /// Resolves what `request` asks for, for `user`: the scope and its
    /// target, checking that it exists and is enabled.
    async fn resolve_scope(
        &self,
        user: &User,
        request: &ScopeRequest,
    ) -> IdentityResult<(TokenScope, Option<Target>)> {
        let unauthorized = |e: IdentityError| match e {
            IdentityError::NotFound { .. } => IdentityError::Unauthorized,
            other => other,
        };
        let project = match request {
            ScopeRequest::Unscoped => match &user.default_project_id {
                // Keystone scopes an unscoped request to the user's default
                // project when the user has a role there.
                Some(id) => match self.get_project(id).await {
                    Ok(p)
                        if p.enabled
                            && !self
                                .effective_roles(&user.id, &Target::Project(p.id.clone()))
                                .await?
                                .is_empty() =>
                    {
                        Some(p)
                    }
                    _ => None,
                },
                None => None,
            },
            ScopeRequest::ProjectId(id) => Some(self.get_project(id).await.map_err(unauthorized)?),
            ScopeRequest::ProjectName {
                name,
                domain_id,
                domain_name,
            } => {
                let domain = match (domain_id, domain_name) {
                    (Some(id), _) => id.clone(),
                    (None, Some(n)) => self.find_domain_by_name(n).await.map_err(unauthorized)?.id,
                    (None, None) => {
                        return Err(IdentityError::Invalid(
                            "Invalid input for field 'scope/project/domain': a domain id or name is required with a project name.".into(),
                        ))
                    }
                };
                Some(
                    self.find_project_by_name(name, &domain)
                        .await
                        .map_err(unauthorized)?,
                )
            }
            _ => None,
        };
        if let Some(project) = project {
            let domain = self.get_domain(&project.domain_id).await?;
            if !project.enabled || !domain.enabled {
                return Err(IdentityError::Unauthorized);
            }
            let target = Target::Project(project.id.clone());
            return Ok((TokenScope::Project(project, domain), Some(target)));
        }
        match request {
            ScopeRequest::DomainId(id) | ScopeRequest::DomainName(id) => {
                let domain = if matches!(request, ScopeRequest::DomainId(_)) {
                    self.get_domain(id).await
                } else {
                    self.find_domain_by_name(id).await
                }
                .map_err(unauthorized)?;
                if !domain.enabled {
                    return Err(IdentityError::Unauthorized);
                }
                let target = Target::Domain(domain.id.clone());
                Ok((TokenScope::Domain(domain), Some(target)))
            }
            ScopeRequest::System => Ok((TokenScope::System, Some(Target::System))),
            _ => Ok((TokenScope::Unscoped, None)),
        }
    }

    /// Issues a token for `user` (already authenticated by `methods`)
    /// scoped as `scope` asks; returns its text (shown once, never
    /// stored) and its facts. A scope the user holds no role on is 401. A
    /// token made from another (`parent`) keeps the parent's expiry.
    pub async fn issue_token(
        &self,
        user: &User,
        methods: Vec<String>,
        scope: &ScopeRequest,
        parent: Option<&Token>,
    ) -> IdentityResult<(String, Token)> {
        let user_domain = self.get_domain(&user.domain_id).await?;
        if !user.enabled || !user_domain.enabled {
            return Err(IdentityError::Unauthorized);
        }
        let (scope, target) = self.resolve_scope(user, scope).await?;
        let roles = match &target {
            Some(target) => {
                let roles = self.effective_roles(&user.id, target).await?;
                if roles.is_empty() {
                    return Err(IdentityError::Unauthorized);
                }
                roles
            }
            None => Vec::new(),
        };
        self.store_token(NewToken {
            user,
            user_domain,
            scope,
            roles,
            methods,
            parent,
            not_after: None,
            application_credential: None,
        })
        .await
    }

    /// Stores a new token: its expiry is `[token] expiration` from now,
    /// or the parent's, never past `not_after`.
    pub(crate) async fn store_token(&self, new: NewToken<'_>) -> IdentityResult<(String, Token)> {
        let now = now_micros();
        let lifetime = i64::try_from(self.token_expiration().as_micros()).unwrap_or(i64::MAX);
        let mut expires = match new.parent {
            Some(p) => p.expires_at.timestamp_micros(),
            None => now.saturating_add(lifetime),
        };
        if let Some(limit) = new.not_after {
            expires = expires.min(limit);
        }
        let mut audit_ids = vec![audit_id()];
        if let Some(p) = new.parent {
            audit_ids.extend(p.audit_ids.first().cloned());
        }
        let (scope_type, scope_id) = match &new.scope {
            TokenScope::Unscoped => ("unscoped", None),
            TokenScope::Project(p, _) => ("project", Some(p.id.clone())),
            TokenScope::Domain(d) => ("domain", Some(d.id.clone())),
            TokenScope::System => ("system", Some("all".to_string())),
        };
        let text = new_text();
        let roles_json = serde_json::to_string(&new.roles)
            .map_err(|e| IdentityError::Compute(crate::Error::Internal(e.to_string())))?;
        let app_cred_id = new.application_credential.as_ref().map(|a| a.id.clone());
        self.store
            .execute(
                "DELETE FROM identity_tokens WHERE expires_at < $1",
                args![now - PURGE_AFTER_MICROS],
            )
            .await?;
        self.store
            .execute(
                "INSERT INTO identity_tokens (id_hash, user_id, methods, scope_type, scope_id, roles, audit_id, parent_audit_id, issued_at, expires_at, app_cred_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![digest(&text), &new.user.id, new.methods.join(","), scope_type, scope_id, roles_json, &audit_ids[0], audit_ids.get(1).cloned(), now, expires, app_cred_id],
            )
            .await?;
        let token = Token {
            user: new.user.clone(),
            user_domain: new.user_domain,
            scope: new.scope,
            roles: new.roles,
            methods: new.methods,
            audit_ids,
            issued_at: from_micros(now),
            expires_at: from_micros(expires),
            application_credential: new.application_credential,
        };
        Ok((text, token))
    }

    /// The facts of the token `text`; [`IdentityError::NotFound`]
    /// (`token`) when it is unknown, expired, revoked, or its user, the
    /// user's domain or its scope is gone or disabled.
    pub async fn validate_token(&self, text: &str) -> IdentityResult<Token> {
        let gone = || IdentityError::not_found("token", "");
        let row: TokenRow = self
            .store
            .fetch_optional(
                "SELECT user_id, methods, scope_type, scope_id, roles, audit_id, parent_audit_id, issued_at, expires_at, revoked_at, app_cred_id FROM identity_tokens WHERE id_hash = $1",
                args![digest(text)],
            )
            .await?
            .ok_or_else(gone)?;
        if row.revoked_at.is_some() || row.expires_at <= now_micros() {
            return Err(gone());
        }
        let live = |e: IdentityError| match e {
            IdentityError::NotFound { .. } => gone(),
            other => other,
        };
        let user = self.get_user(&row.user_id).await.map_err(live)?;
        let user_domain = self.get_domain(&user.domain_id).await.map_err(live)?;
        if !user.enabled || !user_domain.enabled {
            return Err(gone());
        }
        let scope_id = row.scope_id.unwrap_or_default();
        let scope = match row.scope_type.as_str() {
            "project" => {
                let project = self.get_project(&scope_id).await.map_err(live)?;
                let domain = self.get_domain(&project.domain_id).await.map_err(live)?;
                if !project.enabled || !domain.enabled {
                    return Err(gone());
                }
                TokenScope::Project(project, domain)
            }
            "domain" => {
                let domain = self.get_domain(&scope_id).await.map_err(live)?;
                if !domain.enabled {
                    return Err(gone());
                }
                TokenScope::Domain(domain)
            }
            "system" => TokenScope::System,
            _ => TokenScope::Unscoped,
        };
        let application_credential = match &row.app_cred_id {
            Some(id) => {
                let cred = self.get_app_cred(id).await.map_err(live)?;
                Some(cred.token_view())
            }
            None => None,
        };
        let roles: Vec<RoleRef> = serde_json::from_str(&row.roles)
            .map_err(|e| IdentityError::Compute(crate::Error::Internal(e.to_string())))?;
        let mut audit_ids = vec![row.audit_id];
        audit_ids.extend(row.parent_audit_id);
        Ok(Token {
            user,
            user_domain,
            scope,
            roles,
            methods: row.methods.split(',').map(str::to_string).collect(),
            audit_ids,
            issued_at: from_micros(row.issued_at),
            expires_at: from_micros(row.expires_at),
            application_credential,
        })
    }

    /// Revokes the token `text` (404 when it is not valid now).
    pub async fn revoke_token(&self, text: &str) -> IdentityResult<()> {
        self.validate_token(text).await?;
        self.store
            .execute(
                "UPDATE identity_tokens SET revoked_at = $2 WHERE id_hash = $1",
                args![digest(text), now_micros()],
            )
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// Revokes the tokens of `user_id` scoped to `target`.
    pub async fn revoke_user_tokens_on(
        &self,
        user_id: &str,
        target: &Target,
    ) -> IdentityResult<()> {
        let (scope_type, scope_id) = match target {
            Target::Project(id) => ("project", id.as_str()),
            Target::Domain(id) => ("domain", id.as_str()),
            Target::System => ("system", "all"),
        };
        self.store
            .execute(
                "UPDATE identity_tokens SET revoked_at = $4 WHERE user_id = $1 AND scope_type = $2 AND scope_id = $3 AND revoked_at IS NULL",
                args![user_id, scope_type, scope_id, now_micros()],
            )
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// Revokes every token of `user_id`.
    pub async fn revoke_user_tokens(&self, user_id: &str) -> IdentityResult<()> {
        self.store
            .execute(
                "UPDATE identity_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                args![user_id, now_micros()],
            )
            .await?;
        self.identity_changed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_text_is_long_url_safe_and_fresh_each_time() {
        let a = new_text();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{a}"
        );
        assert_ne!(a, new_text());
    }

    #[test]
    fn only_the_digest_of_a_token_is_kept_and_it_is_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
