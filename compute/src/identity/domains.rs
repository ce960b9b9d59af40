//! Domains: `default` (`Default`) is made by the migration; others are
//! created, disabled and then deleted by an admin, as Keystone allows.

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::{check_name, new_id, DEFAULT_DOMAIN_ID};
use crate::store::{args, now_micros};
use crate::Compute;

/// A domain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Domain {
    /// Its id (`default` for the default domain, else 32 hex digits).
    pub id: String,
    /// Its name, unique.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A disabled domain's users and projects cannot authenticate.
    pub enabled: bool,
}

/// What `POST /v3/domains` gives.
#[derive(Debug, Clone, Default)]
pub struct NewDomain {
    /// The name.
    pub name: String,
    /// The description (empty when absent).
    pub description: String,
    /// Enabled (Keystone's default: true).
    pub enabled: Option<bool>,
}

/// What `PATCH /v3/domains/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct DomainUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

const COLUMNS: &str = "id, name, description, enabled";

impl Compute {
    /// Creates a domain (409 when the name is taken).
    pub async fn create_domain(&self, new: NewDomain) -> IdentityResult<Domain> {
        let domain = Domain {
            id: new_id(),
            name: check_name("domain", &new.name)?,
            description: new.description,
            enabled: new.enabled.unwrap_or(true),
        };
        self.store
            .execute(
                "INSERT INTO identity_domains (id, name, description, enabled, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&domain.id, &domain.name, &domain.description, domain.enabled, now_micros()],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "domain", &domain.name))?;
        Ok(domain)
    }

    /// The domain `id`.
    pub async fn get_domain(&self, id: &str) -> IdentityResult<Domain> {
        self.store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_domains WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("domain", id))
    }

    /// The domain named `name`.
    pub async fn find_domain_by_name(&self, name: &str) -> IdentityResult<Domain> {
        self.store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_domains WHERE name = $1"),
                args![name],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("domain", name))
    }

    /// Every domain, by name; only those named `name` or in state
    /// `enabled` when given.
    pub async fn list_domains(
        &self,
        name: Option<&str>,
        enabled: Option<bool>,
    ) -> IdentityResult<Vec<Domain>> {
        let all: Vec<Domain> = self
            .store
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM identity_domains ORDER BY name"),
                args![],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|d| name.is_none_or(|n| d.name == n))
            .filter(|d| enabled.is_none_or(|e| d.enabled == e))
            .collect())
    }

    /// Changes a domain. Disabling one ends its users' and projects'
    /// tokens (they fail validation from then on).
    pub async fn update_domain(&self, id: &str, update: DomainUpdate) -> IdentityResult<Domain> {
        let mut domain = self.get_domain(id).await?;
        if id == DEFAULT_DOMAIN_ID && update.enabled == Some(false) {
            return Err(IdentityError::Forbidden(
                "The default domain cannot be disabled.".into(),
            ));
        }
        if let Some(name) = update.name {
            domain.name = check_name("domain", &name)?;
        }
        if let Some(description) = update.description {
            domain.description = description;
        }
        if let Some(enabled) = update.enabled {
            domain.enabled = enabled;
        }
        self.store
            .execute(
                "UPDATE identity_domains SET name = $2, description = $3, enabled = $4 WHERE id = $1",
                args![id, &domain.name, &domain.description, domain.enabled],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "domain", &domain.name))?;
        self.identity_changed();
        Ok(domain)
    }

    /// Deletes a disabled domain with its projects, users and groups (and
    /// so their assignments, credentials and tokens), as Keystone does.
    pub async fn delete_domain(&self, id: &str) -> IdentityResult<()> {
        let domain = self.get_domain(id).await?;
        if domain.id == DEFAULT_DOMAIN_ID {
            return Err(IdentityError::Forbidden(
                "The default domain cannot be deleted.".into(),
            ));
        }
        if domain.enabled {
            return Err(IdentityError::Forbidden(
                "Cannot delete a domain that is enabled, please disable it first.".into(),
            ));
        }
        for project in self
            .list_projects(&super::ProjectFilter {
                domain_id: Some(id.to_string()),
                ..Default::default()
            })
            .await?
        {
            self.delete_project(&project.id).await?;
        }
        for user in self.list_users(Some(id), None).await? {
            self.delete_user(&user.id).await?;
        }
        for group in self.list_groups(Some(id), None).await? {
            self.delete_group(&group.id).await?;
        }
        for role in self.list_roles(None, Some(id)).await? {
            self.delete_role(&role.id).await?;
        }
        self.forget_target(&super::Target::Domain(id.to_string()))
            .await?;
        self.store
            .execute("DELETE FROM identity_domains WHERE id = $1", args![id])
            .await?;
        self.identity_changed();
        Ok(())
    }
}
