//! Groups of users: names unique per domain; a group's role assignments
//! count for each of its members.

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::{check_name, new_id, Actor, DEFAULT_DOMAIN_ID};
use crate::store::{args, now_micros};
use crate::Compute;

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Group {
    /// Its id.
    pub id: String,
    /// Its domain.
    pub domain_id: String,
    /// Its name, unique in the domain.
    pub name: String,
    /// Free text.
    pub description: String,
}

/// What `POST /v3/groups` gives.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// The name.
    pub name: String,
    /// The domain (`default` when absent).
    pub domain_id: Option<String>,
    /// The description.
    pub description: String,
}

/// What `PATCH /v3/groups/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
}

const COLUMNS: &str = "id, domain_id, name, description";

impl Compute {
    /// Creates a group.
    pub async fn create_group(&self, new: NewGroup) -> IdentityResult<Group> {
        let domain_id = new
            .domain_id
            .unwrap_or_else(|| DEFAULT_DOMAIN_ID.to_string());
        self.get_domain(&domain_id).await?;
        let group = Group {
            id: new_id(),
            domain_id,
            name: check_name("group", &new.name)?,
            description: new.description,
        };
        self.store
            .execute(
                "INSERT INTO identity_groups (id, domain_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&group.id, &group.domain_id, &group.name, &group.description, now_micros()],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "group", &group.name))?;
        Ok(group)
    }

    /// The group `id`.
    pub async fn get_group(&self, id: &str) -> IdentityResult<Group> {
        self.store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_groups WHERE id = $1"),
                args![id],
            )
            .await?
            .ok_or_else(|| IdentityError::not_found("group", id))
    }

    /// The groups of `domain_id` named `name` (each filter when given).
    pub async fn list_groups(
        &self,
        domain_id: Option<&str>,
        name: Option<&str>,
    ) -> IdentityResult<Vec<Group>> {
        let all: Vec<Group> = self
            .store
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM identity_groups ORDER BY name, id"),
                args![],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|g| domain_id.is_none_or(|d| g.domain_id == d))
            .filter(|g| name.is_none_or(|n| g.name == n))
            .collect())
    }

    /// Changes a group.
    pub async fn update_group(&self, id: &str, update: GroupUpdate) -> IdentityResult<Group> {
        let mut group = self.get_group(id).await?;
        if let Some(name) = update.name {
            group.name = check_name("group", &name)?;
        }
        if let Some(description) = update.description {
            group.description = description;
        }
        self.store
            .execute(
                "UPDATE identity_groups SET name = $2, description = $3 WHERE id = $1",
                args![id, &group.name, &group.description],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "group", &group.name))?;
        Ok(group)
    }

    /// Deletes a group with its memberships and assignments; its members'
    /// tokens end (their roles may have come from it).
    pub async fn delete_group(&self, id: &str) -> IdentityResult<()> {
        self.get_group(id).await?;
        for user in self.list_group_members(id).await? {
            self.revoke_user_tokens(&user.id).await?;
        }
        self.forget_actor(&Actor::Group(id.to_string())).await?;
        self.store
            .execute("DELETE FROM identity_groups WHERE id = $1", args![id])
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// Puts `user_id` in `group_id` (idempotent).
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> IdentityResult<()> {
        self.get_group(group_id).await?;
        self.get_user(user_id).await?;
        self.store
            .execute(
                "INSERT INTO identity_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![group_id, user_id],
            )
            .await?;
        Ok(())
    }

    /// Whether `user_id` is in `group_id` (404 for an unknown group or
    /// user, or a user not in it).
    pub async fn check_group_member(&self, group_id: &str, user_id: &str) -> IdentityResult<()> {
        self.get_group(group_id).await?;
        self.get_user(user_id).await?;
        let members = self.list_group_members(group_id).await?;
        if members.iter().any(|u| u.id == user_id) {
            Ok(())
        } else {
            Err(IdentityError::NotFound {
                kind: "user",
                id: format!("{user_id} in group {group_id}"),
            })
        }
    }

    /// Takes `user_id` out of `group_id`; its tokens end.
    pub async fn remove_group_member(&self, group_id: &str, user_id: &str) -> IdentityResult<()> {
        self.check_group_member(group_id, user_id).await?;
        self.store
            .execute(
                "DELETE FROM identity_group_members WHERE group_id = $1 AND user_id = $2",
                args![group_id, user_id],
            )
            .await?;
        self.revoke_user_tokens(user_id).await
    }

    /// The members of `group_id`, by name.
    pub async fn list_group_members(&self, group_id: &str) -> IdentityResult<Vec<super::User>> {
        Ok(self
            .store
            .fetch_all(
                "SELECT u.id, u.domain_id, u.name, u.enabled, u.default_project_id, u.description, u.email, u.extra FROM identity_users u JOIN identity_group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.name, u.id",
                args![group_id],
            )
            .await?)
    }

    /// The groups `user_id` is in, by name.
    pub async fn list_user_groups(&self, user_id: &str) -> IdentityResult<Vec<Group>> {
        self.get_user(user_id).await?;
        Ok(self
            .store
            .fetch_all(
                "SELECT g.id, g.domain_id, g.name, g.description FROM identity_groups g JOIN identity_group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name, g.id",
                args![user_id],
            )
            .await?)
    }
}
