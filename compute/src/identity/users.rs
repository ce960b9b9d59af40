//! Users: names unique per domain, passwords kept as Argon2id hashes
//! ([`super::password`]). Deleting a user removes its memberships,
//! assignments, credentials, application credentials and tokens;
//! disabling one ends its tokens and application credentials (as
//! Keystone does), changing its password ends its tokens.

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::{check_name, new_id, password, Actor, DEFAULT_DOMAIN_ID};
use crate::store::{args, now_micros};
use crate::Compute;

/// A user (never with its password).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    /// Its id (32 hex digits).
    pub id: String,
    /// Its domain.
    pub domain_id: String,
    /// Its name, unique in the domain.
    pub name: String,
    /// A disabled user cannot authenticate.
    pub enabled: bool,
    /// The project a client scopes to by default.
    pub default_project_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// An e-mail address, as Keystone keeps it (an extra attribute).
    pub email: Option<String>,
    /// The other attributes a client gave (Keystone's `extra`), a JSON
    /// object's text.
    pub extra: String,
}

impl User {
    /// The extra attributes as a JSON object.
    pub fn extra_attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.extra).unwrap_or_default()
    }
}

/// How a request names a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// By id.
    Id(String),
    /// By name in a domain, the domain by id or by name.
    Name {
        /// The user's name.
        name: String,
        /// The domain's id, if given.
        domain_id: Option<String>,
        /// The domain's name, if given (and no id).
        domain_name: Option<String>,
    },
}

/// What `POST /v3/users` gives.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// The name.
    pub name: String,
    /// The domain (`default` when absent).
    pub domain_id: Option<String>,
    /// The password (none: the user cannot log in with one).
    pub password: Option<String>,
    /// Enabled (true when absent).
    pub enabled: Option<bool>,
    /// The default project.
    pub default_project_id: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// Other attributes, kept and shown as given.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What `PATCH /v3/users/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new password (an admin's reset).
    pub password: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// A new default project (`Some(None)` clears it).
    pub default_project_id: Option<Option<String>>,
    /// A new description.
    pub description: Option<Option<String>>,
    /// A new e-mail address.
    pub email: Option<Option<String>>,
    /// Other attributes to set (a null removes one).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

const COLUMNS: &str = "id, domain_id, name, enabled, default_project_id, description, email, extra";

#[derive(sqlx::FromRow)]
struct PasswordRow {
    password_hash: Option<String>,
}

impl Compute {
    /// Creates a user (404 for an unknown domain, 409 when the name is
    /// taken in it). The password is stored hashed.
    pub async fn create_user(&self, new: NewUser) -> IdentityResult<User> {
        let name = check_name("user", &new.name)?;
        let domain_id = new
            .domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_string());
        self.get_domain(&domain_id).await?;
        let hash = new.password.as_deref().map(password::hash).transpose()?;
        let user = User {
            id: new_id(),
            domain_id,
            name,
            enabled: new.enabled.unwrap_or(true),
            default_project_id: new.default_project_id,
            description: new.description,
            email: new.email,
            extra: serde_json::Value::Object(new.extra).to_string(),
        };
        let now = now_micros();
        let changed_at = hash.is_some().then_some(now);
        self.store
            .execute(
                "INSERT INTO identity_users (id, domain_id, name, password_hash, enabled, default_project_id, description, email, extra, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![&user.id, &user.domain_id, &user.name, hash, user.enabled, &user.default_project_id, &user.description, &user.email, &user.extra, now, changed_at],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "user", &user.name))?;
        Ok(user)
    }

    /// The user `id`.
    pub async fn get_user(&self, id: &str) -> IdentityResult<User> {
        self.store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_users WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("user", id))
    }

    /// The user `lookup` names (a name in a domain given by id or name;
    /// the default domain when neither).
    pub async fn find_user(&self, lookup: &UserLookup) -> IdentityResult<User> {
        match lookup {
            UserLookup::Id(id) => self.get_user(id).await,
            UserLookup::Name {
                name,
                domain_id,
                domain_name,
            } => {
                let domain = match (domain_id, domain_name) {
                    (Some(id), _) => id.clone(),
                    (None, Some(name)) => self.find_domain_by_name(name).await?.id,
                    (None, None) => DEFAULT_DOMAIN_ID.to_string(),
                };
                self.store
                    .fetch_optional(
                        &format!(
                            "SELECT {COLUMNS} FROM identity_users WHERE name = $1 AND domain_id = $2"
                        ),
                        args![name, &domain],
                    )
                    .await?
                    .ok_or_else(|| IdentityError::not_found("user", name.clone()))
            }
        }
    }

    /// The users of `domain_id` (every domain when `None`) named `name`
    /// (any when `None`), by name.
    pub async fn list_users(
        &self,
        domain_id: Option<&str>,
        name: Option<&str>,
    ) -> IdentityResult<Vec<User>> {
        let all: Vec<User> = self
            .store
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM identity_users ORDER BY name, id"),
                args![],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|u| domain_id.is_none_or(|d| u.domain_id == d))
            .filter(|u| name.is_none_or(|n| u.name == n))
            .collect())
    }

    /// The user `lookup` names, if `password` is theirs and they, and
    /// their domain, are enabled; [`IdentityError::Unauthorized`] in every
    /// other case, whatever was wrong (as Keystone answers).
    pub async fn check_password(
        &self,
        lookup: &UserLookup,
        password: &str,
    ) -> IdentityResult<User> {
        let user = match self.find_user(lookup).await {
            Ok(user) => user,
            Err(IdentityError::NotFound { .. }) => {
                // Spend the time of a verification anyway, so that an
                // unknown user is not told apart by the answer's speed.
                let _ = password::verify(password, dummy_hash());
                return Err(IdentityError::Unauthorized);
            }
            Err(err) => return Err(err),
        };
        let row: Option<PasswordRow> = self
            .store
            .fetch_optional(
                "SELECT password_hash FROM identity_users WHERE id = $1",
                args![&user.id],
            )
            .await?;
        let stored = row.and_then(|r| r.password_hash);
        let matches = stored
            .as_deref()
            .is_some_and(|h| password::verify(password, h));
        if !matches || !user.enabled || !self.get_domain(&user.domain_id).await?.enabled {
            return Err(IdentityError::Unauthorized);
        }
        Ok(user)
    }

    /// Changes a user. A new password is hashed; a new password or a
    /// disabled user ends the user's tokens.
    pub async fn update_user(&self, id: &str, update: UserUpdate) -> IdentityResult<User> {
        let mut user = self.get_user(id).await?;
        if let Some(name) = update.name {
            user.name = check_name("user", &name)?;
        }
        if let Some(enabled) = update.enabled {
            user.enabled = enabled;
        }
        if let Some(project) = update.default_project_id {
            user.default_project_id = project;
        }
        if let Some(description) = update.description {
            user.description = description;
        }
        if let Some(email) = update.email {
            user.email = email;
        }
        if !update.extra.is_empty() {
            let mut extra = user.extra_attributes();
            for (key, value) in update.extra {
                if value.is_null() {
                    extra.remove(&key);
                } else {
                    extra.insert(key, value);
                }
            }
            user.extra = serde_json::Value::Object(extra).to_string();
        }
        self.store
            .execute(
                "UPDATE identity_users SET name = $2, enabled = $3, default_project_id = $4, description = $5, email = $6, extra = $7 WHERE id = $1",
                args![id, &user.name, user.enabled, &user.default_project_id, &user.description, &user.email, &user.extra],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "user", &user.name))?;
        if let Some(password) = update.password {
            self.set_password(id, &password).await?;
        }
        if !user.enabled {
            self.revoke_user_tokens(id).await?;
            self.forget_user_app_creds(id).await?;
        }
        self.identity_changed();
        Ok(user)
    }

    /// `POST /v3/users/{id}/password`: the user's own change, which must
    /// give the current password (401 otherwise).
    pub async fn change_own_password(
        &self,
        id: &str,
        original: &str,
        new_password: &str,
    ) -> IdentityResult<()> {
        self.check_password(&UserLookup::Id(id.to_string()), original)
            .await?;
        self.set_password(id, new_password).await
    }

    /// Stores a new hash and ends the user's tokens (as Keystone does).
    async fn set_password(&self, id: &str, new_password: &str) -> IdentityResult<()> {
        let hash = password::hash(new_password)?;
        self.store
            .execute(
                "UPDATE identity_users SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
                args![id, hash, now_micros()],
            )
            .await?;
        self.revoke_user_tokens(id).await
    }

    /// Deletes a user with its group memberships, role assignments,
    /// credentials (EC2 ones too), application credentials, access rules
    /// and tokens.
    pub async fn delete_user(&self, id: &str) -> IdentityResult<()> {
        self.get_user(id).await?;
        self.forget_actor(&Actor::User(id.to_string())).await?;
        self.forget_user_app_creds(id).await?;
        self.store
            .execute("DELETE FROM ec2_credentials WHERE user_id = $1", args![id])
            .await?;
        self.store
            .execute(
                "DELETE FROM identity_credentials WHERE user_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute("DELETE FROM identity_tokens WHERE user_id = $1", args![id])
            .await?;
        self.store
            .execute("DELETE FROM identity_users WHERE id = $1", args![id])
            .await?;
        self.identity_changed();
        Ok(())
    }
}

/// An Argon2id hash of a random password nobody knows, made once,
/// verified against when the user is unknown (see
/// [`Compute::check_password`]).
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash(&new_id()).unwrap_or_default())
}
