//! Roles and the roles they imply (Keystone's bootstrap makes admin imply
//! member and member imply reader): a token carries a role's implied
//! roles too.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{unique_as_conflict, IdentityError, IdentityResult};
use super::{check_name, new_id};
use crate::store::{args, now_micros};
use crate::Compute;

/// A role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its id.
    pub id: String,
    /// Its name, unique among the global roles (or in its domain).
    pub name: String,
    /// The domain of a domain-specific role; `None` for a global one.
    pub domain_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// A role as a token names it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    sqlx::FromRow,
)]
pub struct RoleRef {
    /// The role's id.
    pub id: String,
    /// The role's name.
    pub name: String,
}

/// What `POST /v3/roles` gives.
#[derive(Debug, Clone, Default)]
pub struct NewRole {
    /// The name.
    pub name: String,
    /// A domain, for a domain-specific role.
    pub domain_id: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// What `PATCH /v3/roles/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct RoleUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<Option<String>>,
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: String,
    name: String,
    domain_id: String,
    description: Option<String>,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            id: r.id,
            name: r.name,
            domain_id: Some(r.domain_id).filter(|d| !d.is_empty()),
            description: r.description,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ImpliedRow {
    prior_role_id: String,
    implied_role_id: String,
}

const COLUMNS: &str = "id, name, domain_id, description";

impl Compute {
    /// Creates a role (409 when the name is taken).
    pub async fn create_role(&self, new: NewRole) -> IdentityResult<Role> {
        if let Some(domain) = &new.domain_id {
            self.get_domain(domain).await?;
        }
        let role = Role {
            id: new_id(),
            name: check_name("role", &new.name)?,
            domain_id: new.domain_id,
            description: new.description,
        };
        self.store
            .execute(
                "INSERT INTO identity_roles (id, name, domain_id, description, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![&role.id, &role.name, role.domain_id.clone().unwrap_or_default(), &role.description, now_micros()],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "role", &role.name))?;
        Ok(role)
    }

    /// The role `id`.
    pub async fn get_role(&self, id: &str) -> IdentityResult<Role> {
        let row: Option<RoleRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_roles WHERE id = $1"),
                args![id],
            )
            .await?;
        row.map(Into::into)
            .ok_or_else(|| IdentityError::not_found("role", id))
    }

    /// The global role named `name`.
    pub async fn find_role_by_name(&self, name: &str) -> IdentityResult<Role> {
        let row: Option<RoleRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_roles WHERE name = $1 AND domain_id = ''"),
                args![name],
            )
            .await?;
        row.map(Into::into)
            .ok_or_else(|| IdentityError::not_found("role", name))
    }

    /// The roles named `name` (any when `None`) of `domain_id` (the
    /// global ones when `None`), by name.
    pub async fn list_roles(
        &self,
        name: Option<&str>,
        domain_id: Option<&str>,
    ) -> IdentityResult<Vec<Role>> {
        let rows: Vec<RoleRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM identity_roles WHERE domain_id = $1 ORDER BY name, id"
                ),
                args![domain_id.unwrap_or_default()],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(Role::from)
            .filter(|r| name.is_none_or(|n| r.name == n))
            .collect())
    }

    /// Changes a role.
    pub async fn update_role(&self, id: &str, update: RoleUpdate) -> IdentityResult<Role> {
        let mut role = self.get_role(id).await?;
        if let Some(name) = update.name {
            role.name = check_name("role", &name)?;
        }
        if let Some(description) = update.description {
            role.description = description;
        }
        self.store
            .execute(
                "UPDATE identity_roles SET name = $2, description = $3 WHERE id = $1",
                args![id, &role.name, &role.description],
            )
            .await
            .map_err(|e| unique_as_conflict(e, "role", &role.name))?;
        Ok(role)
    }

    /// Deletes a role with its assignments and implications; the tokens
    /// that carry it end.
    pub async fn delete_role(&self, id: &str) -> IdentityResult<()> {
        self.get_role(id).await?;
        let holders: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT DISTINCT actor_id FROM identity_assignments WHERE role_id = $1 AND actor_type = 'user'",
                args![id],
            )
            .await?;
        for (user,) in holders {
            self.revoke_user_tokens(&user).await?;
        }
        self.store
            .execute(
                "DELETE FROM identity_assignments WHERE role_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute(
                "DELETE FROM identity_implied_roles WHERE prior_role_id = $1 OR implied_role_id = $1",
                args![id],
            )
            .await?;
        self.store
            .execute("DELETE FROM identity_roles WHERE id = $1", args![id])
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// Makes `prior` imply `implied` (idempotent; a role cannot imply
    /// itself, nor a role that implies it, and a global role cannot imply
    /// a domain-specific one: 403).
    pub async fn create_implied_role(&self, prior: &str, implied: &str) -> IdentityResult<()> {
        let prior_role = self.get_role(prior).await?;
        let implied_role = self.get_role(implied).await?;
        if prior_role.domain_id.is_none() && implied_role.domain_id.is_some() {
            // Keystone: a global role cannot imply a domain-specific one.
            return Err(IdentityError::Forbidden(format!(
                "Role {implied} is domain-specific: a global role cannot imply it."
            )));
        }
        let graph = self.implied_graph().await?;
        if prior == implied || closure(&graph, [implied.to_string()]).contains(prior) {
            return Err(IdentityError::Forbidden(format!(
                "Role {prior} cannot imply {implied}: the implication would form a loop."
            )));
        }
        self.store
            .execute(
                "INSERT INTO identity_implied_roles (prior_role_id, implied_role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![prior, implied],
            )
            .await?;
        Ok(())
    }

    /// Removes the implication (404 when there is none).
    pub async fn delete_implied_role(&self, prior: &str, implied: &str) -> IdentityResult<()> {
        let removed = self
            .store
            .execute(
                "DELETE FROM identity_implied_roles WHERE prior_role_id = $1 AND implied_role_id = $2",
                args![prior, implied],
            )
            .await?;
        if removed == 0 {
            return Err(IdentityError::NotFound {
                kind: "implied role",
                id: format!("{prior} implies {implied}"),
            });
        }
        self.identity_changed();
        Ok(())
    }

    /// The roles `prior` implies directly.
    pub async fn list_implied_roles(&self, prior: &str) -> IdentityResult<Vec<Role>> {
        self.get_role(prior).await?;
        let graph = self.implied_graph().await?;
        let mut roles = Vec::new();
        for id in graph.get(prior).into_iter().flatten() {
            roles.push(self.get_role(id).await?);
        }
        Ok(roles)
    }

    /// Every (prior, implied) pair.
    pub async fn list_role_inferences(&self) -> IdentityResult<Vec<(String, String)>> {
        let rows: Vec<ImpliedRow> = self
            .store
            .fetch_all(
                "SELECT prior_role_id, implied_role_id FROM identity_implied_roles ORDER BY prior_role_id, implied_role_id",
                args![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.prior_role_id, r.implied_role_id))
            .collect())
    }

    /// Prior role id → the ids it implies directly.
    pub(crate) async fn implied_graph(&self) -> IdentityResult<BTreeMap<String, BTreeSet<String>>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (prior, implied) in self.list_role_inferences().await? {
            graph.entry(prior).or_default().insert(implied);
        }
        Ok(graph)
    }

    /// `roles` with every role they imply, by name.
    pub(crate) async fn with_implied(&self, roles: Vec<RoleRef>) -> IdentityResult<Vec<RoleRef>> {
        let graph = self.implied_graph().await?;
        let ids = closure(&graph, roles.iter().map(|r| r.id.clone()));
        let mut out: BTreeSet<RoleRef> = roles.into_iter().collect();
        for id in ids {
            if !out.iter().any(|r| r.id == id) {
                if let Ok(role) = self.get_role(&id).await {
                    out.insert(RoleRef {
                        id: role.id,
                        name: role.name,
                    });
                }
            }
        }
        let mut out: Vec<RoleRef> = out.into_iter().collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// `start` and every id reachable from it in `graph`.
fn closure(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: impl IntoIterator<Item = String>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = start.into_iter().collect();
    while let Some(id) = todo.pop() {
        if seen.insert(id.clone()) {
            todo.extend(graph.get(&id).into_iter().flatten().cloned());
        }
    }
    seen
}
