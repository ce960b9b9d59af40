//! Projects: names unique per domain; a top-level project's parent is
//! its domain (Keystone's `parent_id`); one level of sub-projects.

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::{check_name, new_id, Target, DEFAULT_DOMAIN_ID};
use crate::store::{args, now_micros};
use crate::Compute;

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Project {
    /// Its id (32 hex digits).
    pub id: String,
    /// Its domain.
    pub domain_id: String,
    /// Its name, unique in the domain.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A disabled project takes no token.
    pub enabled: bool,
    /// The project above it, or its domain.
    pub parent_id: String,
}

/// What `POST /v3/projects` gives.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    /// The name.
    pub name: String,
    /// The domain (`default` when absent, or the parent's).
    pub domain_id: Option<String>,
    /// The description.
    pub description: String,
    /// Enabled (true when absent).
    pub enabled: Option<bool>,
    /// A parent project (or the domain).
    pub parent_id: Option<String>,
}

/// What `PATCH /v3/projects/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// The filters of `GET /v3/projects`.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Only this name.
    pub name: Option<String>,
    /// Only this domain.
    pub domain_id: Option<String>,
    /// Only enabled (or disabled) ones.
    pub enabled: Option<bool>,
    /// Only children of this parent.
    pub parent_id: Option<String>,
}

const COLUMNS: &str = "id, domain_id, name, description, enabled, parent_id";

impl Compute {
    /// Creates a project (404 for an unknown domain or parent, 409 when
    /// the name is taken in the domain).
    pub async fn create_project(&self, new: NewProject) -> IdentityResult<Project> {
        let name = check_name("project", &new.name)?;
        let parent = match new.parent_id.as_deref() {
            Some(parent) if Some(parent) != new.domain_id.as_deref() => {
                match self.get_project(parent).await {
                    Ok(p) => Some(p),
                    // A parent_id may name the domain itself.
                    Err(IdentityError::NotFound { .. })
                        if self.get_domain(parent).await.is_ok() =>
                    {
                        None
                    }
                    Err(err) => return Err(err),
                }
            }
            _ => None,
        };
        let domain_id = match (&parent, new.domain_id) {
            (Some(p), Some(d)) if p.domain_id != d => {
                return Err(IdentityError::Invalid(
                    "Cannot create project, the parent is in another domain.".into(),
                ))
            }
            (Some(p), _) => p.domain_id.clone(),
            (None, Some(d)) => d,
            (None, None) => new
                .parent_id
                .clone()
                .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_string()),
        };
        self.get_domain(&domain_id).await?;
        let project = Project {
            id: new_id(),
            parent_id: parent.map(|p| p.id).unwrap_or_else(|| domain_id.clone()),
            domain_id,
            name,
            description: new.description,
            enabled: new.enabled.unwrap_or(true),
        };
        self.store
            .execute(
                "INSERT INTO identity_projects (id, domain_id, name, description, enabled, parent_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![&project.id, &project.domain_id, &project.name, &project.description, project.enabled, &project.parent_id, now_micros()],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "project", &project.name))?;
        Ok(project)
    }

    /// The project `id`.
    pub async fn get_project(&self, id: &str) -> IdentityResult<Project> {
        self.store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_projects WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("project", id))
    }

    /// The project named `name` in `domain_id`.
    pub async fn find_project_by_name(
        &self,
        name: &str,
        domain_id: &str,
    ) -> IdentityResult<Project> {
        self.store
            .fetch_optional(
                &format!(
                    "SELECT {COLUMNS} FROM identity_projects WHERE name = $1 AND domain_id = $2"
                ),
                args![name, domain_id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("project", name))
    }

    /// The projects `filter` lets through, by name.
    pub async fn list_projects(&self, filter: &ProjectFilter) -> IdentityResult<Vec<Project>> {
        let all: Vec<Project> = self
            .store
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM identity_projects ORDER BY name, id"),
                args![],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|p| filter.name.as_ref().is_none_or(|n| &p.name == n))
            .filter(|p| filter.domain_id.as_ref().is_none_or(|d| &p.domain_id == d))
            .filter(|p| filter.enabled.is_none_or(|e| p.enabled == e))
            .filter(|p| filter.parent_id.as_ref().is_none_or(|d| &p.parent_id == d))
            .collect())
    }

    /// Changes a project; disabling it ends its tokens.
    pub async fn update_project(&self, id: &str, update: ProjectUpdate) -> IdentityResult<Project> {
        let mut project = self.get_project(id).await?;
        if let Some(name) = update.name {
            project.name = check_name("project", &name)?;
        }
        if let Some(description) = update.description {
            project.description = description;
        }
        if let Some(enabled) = update.enabled {
            project.enabled = enabled;
        }
        self.store
            .execute(
                "UPDATE identity_projects SET name = $2, description = $3, enabled = $4 WHERE id = $1",
                args![id, &project.name, &project.description, project.enabled],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "project", &project.name))?;
        self.identity_changed();
        Ok(project)
    }

    /// Deletes a project without children, with its role assignments, the
    /// credentials (EC2 ones too) and application credentials scoped to
    /// it, and its tokens.
    pub async fn delete_project(&self, id: &str) -> IdentityResult<()> {
        self.get_project(id).await?;
        let children = self
            .list_projects(&ProjectFilter {
                parent_id: Some(id.to_string()),
                ..Default::default()
            })
            .await?;
        if !children.is_empty() {
            return Err(IdentityError::Forbidden(format!(
                "Cannot delete the project {id} as it is not a leaf in the hierarchy."
            )));
        }
        self.forget_target(&Target::Project(id.to_string())).await?;
        self.forget_project_app_creds(id).await?;
        self.store
            .execute(
                "DELETE FROM ec2_credentials WHERE project_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute(
                "DELETE FROM identity_credentials WHERE project_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute(
                "DELETE FROM identity_tokens WHERE scope_type = 'project' AND scope_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute("DELETE FROM identity_projects WHERE id = $1", args![id])
            .await?;
        self.identity_changed();
        Ok(())
    }
}
