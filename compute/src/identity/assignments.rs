//! Role assignments: a user or a group holds a role on a project, a
//! domain or the system (`all`). A user's effective roles on a target are
//! its own and its groups' assignments there, with the roles those imply.

use super::error::{IdentityError, IdentityResult};
use super::{Domain, Project, RoleRef};
use crate::store::args;
use crate::Compute;

/// Who holds an assignment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Actor {
    /// A user, by id.
    User(String),
    /// A group, by id.
    Group(String),
}

/// What an assignment is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A project, by id.
    Project(String),
    /// A domain, by id.
    Domain(String),
    /// The whole deployment (Keystone's system scope `all`).
    System,
}

impl Actor {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Actor::User(id) => ("user", id),
            Actor::Group(id) => ("group", id),
        }
    }
}

impl Target {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Target::Project(id) => ("project", id),
            Target::Domain(id) => ("domain", id),
            Target::System => ("system", "all"),
        }
    }
}

/// One assignment, as `GET /v3/role_assignments` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assignment {
    /// The holder (with `effective`, always a user).
    pub actor: Actor,
    /// Where.
    pub target: Target,
    /// The role's id.
    pub role_id: String,
    /// With `effective`: the group the user holds it through.
    pub via_group: Option<String>,
    /// With `effective`: the role the user holds that implies this one.
    pub implied_by: Option<String>,
}

/// The filters of `GET /v3/role_assignments`.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    /// `user.id`.
    pub user_id: Option<String>,
    /// `group.id`.
    pub group_id: Option<String>,
    /// `scope.project.id`.
    pub project_id: Option<String>,
    /// `scope.domain.id`.
    pub domain_id: Option<String>,
    /// `scope.system`.
    pub system: bool,
    /// `role.id`.
    pub role_id: Option<String>,
    /// `effective`: groups expanded to their members, implied roles added.
    pub effective: bool,
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    actor_type: String,
    actor_id: String,
    target_type: String,
    target_id: String,
    role_id: String,
}

impl AssignmentRow {
    fn into_assignment(self) -> Assignment {
        let actor = if self.actor_type == "group" {
            Actor::Group(self.actor_id)
        } else {
            Actor::User(self.actor_id)
        };
        let target = match self.target_type.as_str() {
            "project" => Target::Project(self.target_id),
            "domain" => Target::Domain(self.target_id),
            _ => Target::System,
        };
        Assignment {
            actor,
            target,
            role_id: self.role_id,
            via_group: None,
            implied_by: None,
        }
    }
}

impl Compute {
    async fn check_actor_and_target(&self, actor: &Actor, target: &Target) -> IdentityResult<()> {
        match actor {
            Actor::User(id) => drop(self.get_user(id).await?),
            Actor::Group(id) => drop(self.get_group(id).await?),
        }
        match target {
            Target::Project(id) => drop(self.get_project(id).await?),
            Target::Domain(id) => drop(self.get_domain(id).await?),
            Target::System => {}
        }
        Ok(())
    }

    /// Gives `actor` the role `role_id` on `target` (idempotent; 404 for
    /// an unknown actor, target or role).
    pub async fn assign_role(
        &self,
        actor: &Actor,
        target: &Target,
        role_id: &str,
    ) -> IdentityResult<()> {
        self.check_actor_and_target(actor, target).await?;
        self.get_role(role_id).await?;
        let (actor_type, actor_id) = actor.parts();
        let (target_type, target_id) = target.parts();
        self.store
            .execute(
                "INSERT INTO identity_assignments (actor_type, actor_id, target_type, target_id, role_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                args![actor_type, actor_id, target_type, target_id, role_id],
            )
            .await?;
        Ok(())
    }

    /// Whether the assignment exists (404 when it does not).
    pub async fn check_assignment(
        &self,
        actor: &Actor,
        target: &Target,
        role_id: &str,
    ) -> IdentityResult<()> {
        self.check_actor_and_target(actor, target).await?;
        self.get_role(role_id).await?;
        let (actor_type, actor_id) = actor.parts();
        let (target_type, target_id) = target.parts();
        let found: Option<AssignmentRow> = self
            .store
            .fetch_optional(
                "SELECT actor_type, actor_id, target_type, target_id, role_id FROM identity_assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 AND target_id = $4 AND role_id = $5",
                args![actor_type, actor_id, target_type, target_id, role_id],
            )
            .await?;
        found
            .map(drop)
            .ok_or_else(|| IdentityError::not_found("role assignment", role_id))
    }

    /// Takes the role back (404 when not held). The tokens of the user
    /// (of every member, for a group) scoped to the target end, as
    /// Keystone revokes them; its tokens elsewhere stay. A user's own
    /// role taken back on a project ends its application credentials
    /// there, as Keystone deletes them.
    pub async fn unassign_role(
        &self,
        actor: &Actor,
        target: &Target,
        role_id: &str,
    ) -> IdentityResult<()> {
        self.check_assignment(actor, target, role_id).await?;
        let (actor_type, actor_id) = actor.parts();
        let (target_type, target_id) = target.parts();
        self.store
            .execute(
                "DELETE FROM identity_assignments WHERE actor_type = $1 AND actor_id = $2 AND target_type = $3 AND target_id = $4 AND role_id = $5",
                args![actor_type, actor_id, target_type, target_id, role_id],
            )
            .await?;
        match actor {
            Actor::User(id) => {
                self.revoke_user_tokens_on(id, target).await?;
                if let Target::Project(project) = target {
                    self.forget_user_app_creds_on(id, project).await?;
                }
            }
            Actor::Group(id) => {
                for user in self.list_group_members(id).await? {
                    self.revoke_user_tokens_on(&user.id, target).await?;
                }
            }
        }
        self.identity_changed();
        Ok(())
    }

    /// The assignments `filter` lets through. With `effective`, a group's
    /// assignments become its members' (`via_group`) and each role's
    /// implied roles are listed too (`implied_by`).
    pub async fn list_assignments(
        &self,
        filter: &AssignmentFilter,
    ) -> IdentityResult<Vec<Assignment>> {
        let rows: Vec<AssignmentRow> = self
            .store
            .fetch_all(
                "SELECT actor_type, actor_id, target_type, target_id, role_id FROM identity_assignments ORDER BY actor_type, actor_id, target_type, target_id, role_id",
                args![],
            )
            .await?;
        let mut all: Vec<Assignment> = rows
            .into_iter()
            .map(AssignmentRow::into_assignment)
            .collect();
        if filter.effective {
            let mut expanded = Vec::new();
            for a in all {
                match &a.actor {
                    Actor::Group(group) => {
                        for user in self.list_group_members(group).await? {
                            expanded.push(Assignment {
                                actor: Actor::User(user.id),
                                via_group: Some(group.clone()),
                                ..a.clone()
                            });
                        }
                    }
                    Actor::User(_) => expanded.push(a),
                }
            }
            let graph = self.implied_graph().await?;
            let mut with_implied = Vec::new();
            for a in expanded {
                let mut todo = vec![a.role_id.clone()];
                let mut seen = std::collections::BTreeSet::new();
                while let Some(prior) = todo.pop() {
                    for implied in graph.get(&prior).into_iter().flatten() {
                        if seen.insert(implied.clone()) {
                            with_implied.push(Assignment {
                                role_id: implied.clone(),
                                implied_by: Some(prior.clone()),
                                ..a.clone()
                            });
                            todo.push(implied.clone());
                        }
                    }
                }
                with_implied.push(a);
            }
            // Keystone: a domain-specific role never reaches a token; only
            // the global roles it implies do.
            let domain_roles = self.domain_specific_role_ids().await?;
            with_implied.retain(|a| !domain_roles.contains(&a.role_id));
            all = with_implied;
        }
        all.retain(|a| {
            let actor_ok = match (&a.actor, &filter.user_id, &filter.group_id) {
                (Actor::User(u), Some(want), _) => u == want,
                (Actor::Group(_), Some(_), _) => false,
                (Actor::Group(g), None, Some(want)) => {
                    g == want || a.via_group.as_ref() == Some(want)
                }
                (Actor::User(_), None, Some(want)) => a.via_group.as_ref() == Some(want),
                (_, None, None) => true,
            };
            let target_ok = match (
                &a.target,
                &filter.project_id,
                &filter.domain_id,
                filter.system,
            ) {
                (Target::Project(p), Some(want), _, _) => p == want,
                (_, Some(_), _, _) => false,
                (Target::Domain(d), None, Some(want), _) => d == want,
                (_, None, Some(_), _) => false,
                (Target::System, None, None, true) => true,
                (_, None, None, true) => false,
                (_, None, None, false) => true,
            };
            let role_ok = filter.role_id.as_ref().is_none_or(|r| &a.role_id == r);
            actor_ok && target_ok && role_ok
        });
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// The roles `user_id` holds on `target`, itself or through its
    /// groups, with the roles they imply, by name; domain-specific roles
    /// count only through the global roles they imply, as in Keystone.
    pub async fn effective_roles(
        &self,
        user_id: &str,
        target: &Target,
    ) -> IdentityResult<Vec<RoleRef>> {
        let (target_type, target_id) = target.parts();
        let direct: Vec<RoleRef> = self
            .store
            .fetch_all(
                "SELECT DISTINCT r.id, r.name FROM identity_assignments a JOIN identity_roles r ON r.id = a.role_id WHERE a.target_type = $1 AND a.target_id = $2 AND ((a.actor_type = 'user' AND a.actor_id = $3) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM identity_group_members WHERE user_id = $3)))",
                args![target_type, target_id, user_id],
            )
            .await?;
        let domain_roles = self.domain_specific_role_ids().await?;
        let mut roles = self.with_implied(direct).await?;
        roles.retain(|r| !domain_roles.contains(&r.id));
        Ok(roles)
    }

    /// The ids of the domain-specific roles.
    async fn domain_specific_role_ids(&self) -> IdentityResult<std::collections::BTreeSet<String>> {
        let rows: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT id FROM identity_roles WHERE domain_id <> ''",
                args![],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The projects `user_id` holds a role on (itself or through a group),
    /// by name.
    pub async fn user_projects(&self, user_id: &str) -> IdentityResult<Vec<Project>> {
        Ok(self
            .store
            .fetch_all(
                "SELECT DISTINCT p.id, p.domain_id, p.name, p.description, p.enabled, p.parent_id FROM identity_projects p JOIN identity_assignments a ON a.target_type = 'project' AND a.target_id = p.id WHERE (a.actor_type = 'user' AND a.actor_id = $1) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM identity_group_members WHERE user_id = $1)) ORDER BY p.name, p.id",
                args![user_id],
            )
            .await?)
    }

    /// The domains `user_id` holds a role on, by name.
    pub async fn user_domains(&self, user_id: &str) -> IdentityResult<Vec<Domain>> {
        Ok(self
            .store
            .fetch_all(
                "SELECT DISTINCT d.id, d.name, d.description, d.enabled FROM identity_domains d JOIN identity_assignments a ON a.target_type = 'domain' AND a.target_id = d.id WHERE (a.actor_type = 'user' AND a.actor_id = $1) OR (a.actor_type = 'group' AND a.actor_id IN (SELECT group_id FROM identity_group_members WHERE user_id = $1)) ORDER BY d.name, d.id",
                args![user_id],
            )
            .await?)
    }

    /// Removes every assignment and membership of `actor`.
    pub(crate) async fn forget_actor(&self, actor: &Actor) -> IdentityResult<()> {
        let (actor_type, actor_id) = actor.parts();
        self.store
            .execute(
                "DELETE FROM identity_assignments WHERE actor_type = $1 AND actor_id = $2",
                args![actor_type, actor_id],
            )
            .await?;
        let column = match actor {
            Actor::User(_) => "user_id",
            Actor::Group(_) => "group_id",
        };
        self.store
            .execute(
                &format!("DELETE FROM identity_group_members WHERE {column} = $1"),
                args![actor_id],
            )
            .await?;
        Ok(())
    }

    /// Removes every assignment on `target`.
    pub(crate) async fn forget_target(&self, target: &Target) -> IdentityResult<()> {
        let (target_type, target_id) = target.parts();
        self.store
            .execute(
                "DELETE FROM identity_assignments WHERE target_type = $1 AND target_id = $2",
                args![target_type, target_id],
            )
            .await?;
        Ok(())
    }
}
