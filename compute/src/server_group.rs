//! Server groups (nova's instance groups, `os-server-groups`): a named
//! policy that the scheduler applies to the servers created with the
//! group's `group` hint, which become its members.
//!
//! A group belongs to its project. Any caller may read its own project's
//! groups; an admin reads and deletes any (nova's default policies). The
//! members shown are those whose instance is not deleted: a deleted
//! server leaves its group without any write, so the lifecycle knows
//! nothing of groups. The `server_groups` quota counts a project's groups,
//! `server_group_members` the members of one group made by one user, both
//! checked under the project's quota lock.

use std::fmt;

use crate::store::{args, now_micros, Tx};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// A group's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Every member on one host (a hard filter).
    Affinity,
    /// No two members on one host, or at most `max_server_per_host`
    /// (a hard filter).
    AntiAffinity,
    /// Members preferably on one host (a weigher).
    SoftAffinity,
    /// Members preferably spread (a weigher).
    SoftAntiAffinity,
}

impl Policy {
    /// nova's name of the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Affinity => "affinity",
            Policy::AntiAffinity => "anti-affinity",
            Policy::SoftAffinity => "soft-affinity",
            Policy::SoftAntiAffinity => "soft-anti-affinity",
        }
    }

    /// The policy of a name, if it is one.
    pub fn parse(name: &str) -> Option<Policy> {
        Some(match name {
            "affinity" => Policy::Affinity,
            "anti-affinity" => Policy::AntiAffinity,
            "soft-affinity" => Policy::SoftAffinity,
            "soft-anti-affinity" => Policy::SoftAntiAffinity,
            _ => return None,
        })
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerGroup {
    /// The uuid (the API's `id`).
    pub uuid: String,
    /// The name (not unique).
    pub name: String,
    /// The owning project.
    pub project_id: String,
    /// The user who made it.
    pub user_id: String,
    /// The policy.
    pub policy: Policy,
    /// The `max_server_per_host` rule (anti-affinity only).
    pub max_server_per_host: Option<i64>,
    /// The uuids of the members that are not deleted, oldest first.
    pub members: Vec<String>,
}

/// What `POST /os-server-groups` asks for (validated by the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServerGroup {
    /// The name.
    pub name: String,
    /// The policy.
    pub policy: Policy,
    /// The `max_server_per_host` rule.
    pub max_server_per_host: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    uuid: String,
    name: String,
    project_id: String,
    user_id: String,
    policy: String,
    rules: String,
}

const GROUP_COLUMNS: &str = "id, uuid, name, project_id, user_id, policy, rules";

/// The members of group `$1` whose instances are not deleted.
const LIVE_MEMBERS: &str = "SELECT m.instance_uuid FROM server_group_members m \
     JOIN instances i ON i.uuid = m.instance_uuid \
     WHERE m.group_id = $1 AND i.deleted = FALSE ORDER BY i.id";

impl GroupRow {
    fn into_group(self, members: Vec<String>) -> ServerGroup {
        let rules: serde_json::Value =
            serde_json::from_str(&self.rules).unwrap_or(serde_json::Value::Null);
        ServerGroup {
            uuid: self.uuid,
            name: self.name,
            project_id: self.project_id,
            user_id: self.user_id,
            policy: Policy::parse(&self.policy).unwrap_or(Policy::Affinity),
            max_server_per_host: rules.get("max_server_per_host").and_then(|v| v.as_i64()),
            members,
        }
    }
}

fn policy_error(action: &str) -> Error {
    Error::Forbidden(format!(
        "Policy doesn't allow os_compute_api:os-server-groups:{action} to be performed."
    ))
}

/// The group a server create names in its `group` hint, as the create's
/// transaction read it: what the scheduler needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HintedGroup {
    /// The row id (for the member rows).
    pub id: i64,
    /// The policy.
    pub policy: Policy,
    /// The `max_server_per_host` rule.
    pub max_server_per_host: Option<i64>,
    /// The hosts of its live members, one entry per member (so a host
    /// appears as often as it holds members).
    pub member_hosts: Vec<String>,
}

impl Compute {
    async fn group_row(&self, uuid: &str) -> Result<GroupRow> {
        self.store
            .fetch_optional(
                &format!("SELECT {GROUP_COLUMNS} FROM server_groups WHERE uuid = $1"),
                args![uuid],
            )
            .await?
            .ok_or_else(|| Error::not_found(Kind::ServerGroup, uuid))
    }

    async fn live_members(&self, group_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self.store.fetch_all(LIVE_MEMBERS, args![group_id]).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Makes a group in the caller's project, within the project's
    /// `server_groups` quota (nova's 403 "Quota exceeded, too many server
    /// groups."). Rules are for anti-affinity only ([`Error::Invalid`]).
    pub async fn create_server_group(
        &self,
        ctx: &RequestContext,
        new: NewServerGroup,
    ) -> Result<ServerGroup> {
        if new.max_server_per_host.is_some() && new.policy != Policy::AntiAffinity {
            return Err(Error::invalid("Only anti-affinity policy supports rules."));
        }
        let limits = self.project_limits(&ctx.project_id).await?;
        let mut tx = self
            .store
            .begin_locked(&crate::network::quotas::quota_lock(&ctx.project_id))
            .await?;
        if limits.server_groups >= 0 {
            let (count,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM server_groups WHERE project_id = $1",
                    args![&ctx.project_id],
                )
                .await?;
            if count + 1 > limits.server_groups {
                return Err(Error::QuotaExceeded {
                    resource: "server_groups".into(),
                    requested: 1,
                    used: count,
                    allowed: limits.server_groups,
                    message: "Quota exceeded, too many server groups.".into(),
                });
            }
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        let rules = match new.max_server_per_host {
            Some(n) => serde_json::json!({ "max_server_per_host": n }),
            None => serde_json::json!({}),
        };
        tx.execute(
            "INSERT INTO server_groups (uuid, name, project_id, user_id, policy, rules, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                &uuid,
                &new.name,
                &ctx.project_id,
                &ctx.user_id,
                new.policy.as_str(),
                rules.to_string(),
                now_micros()
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(ServerGroup {
            uuid,
            name: new.name,
            project_id: ctx.project_id.clone(),
            user_id: ctx.user_id.clone(),
            policy: new.policy,
            max_server_per_host: new.max_server_per_host,
            members: Vec::new(),
        })
    }

    /// One group: the caller's project's, or any for an admin (403 for
    /// another project's, as nova's policy answers after finding it).
    pub async fn get_server_group(&self, ctx: &RequestContext, uuid: &str) -> Result<ServerGroup> {
        let row = self.group_row(uuid).await?;
        if !ctx.can_access_project(&row.project_id) {
            return Err(policy_error("show"));
        }
        let members = self.live_members(row.id).await?;
        Ok(row.into_group(members))
    }

    /// The caller's project's groups, or every project's for an admin
    /// asking `all_projects`, oldest first.
    pub async fn list_server_groups(
        &self,
        ctx: &RequestContext,
        all_projects: bool,
    ) -> Result<Vec<ServerGroup>> {
        let rows: Vec<GroupRow> = if all_projects && ctx.is_admin {
            self.store
                .fetch_all(
                    &format!("SELECT {GROUP_COLUMNS} FROM server_groups ORDER BY id"),
                    vec![],
                )
                .await?
        } else {
            self.store
                .fetch_all(
                    &format!(
                        "SELECT {GROUP_COLUMNS} FROM server_groups WHERE project_id = $1 ORDER BY id"
                    ),
                    args![&ctx.project_id],
                )
                .await?
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let members = self.live_members(row.id).await?;
            out.push(row.into_group(members));
        }
        Ok(out)
    }

    /// Deletes a group (its members stay as servers).
    pub async fn delete_server_group(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let row = self.group_row(uuid).await?;
        if !ctx.can_access_project(&row.project_id) {
            return Err(policy_error("delete"));
        }
        self.store
            .execute(
                "DELETE FROM server_group_members WHERE group_id = $1",
                args![row.id],
            )
            .await?;
        let n = self
            .store
            .execute("DELETE FROM server_groups WHERE id = $1", args![row.id])
            .await?;
        if n == 0 {
            return Err(Error::not_found(Kind::ServerGroup, uuid));
        }
        Ok(())
    }

    /// The uuids of the live groups `instance_uuid` is a member of.
    pub async fn server_groups_of(&self, instance_uuid: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT g.uuid FROM server_group_members m JOIN server_groups g ON g.id = m.group_id \
                 WHERE m.instance_uuid = $1 ORDER BY g.id",
                args![instance_uuid],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Reads the group of a `group` hint inside a create's transaction: any
/// project's (nova reads it by uuid alone), with its members' hosts.
/// A missing one is [`Error::NotFound`] (the API answers 400).
pub(crate) async fn hinted_group(tx: &mut Tx, uuid: &str) -> Result<HintedGroup> {
    let row: GroupRow = tx
        .fetch_optional(
            &format!("SELECT {GROUP_COLUMNS} FROM server_groups WHERE uuid = $1"),
            args![uuid],
        )
        .await?
        .ok_or_else(|| Error::not_found(Kind::ServerGroup, uuid))?;
    let hosts: Vec<(Option<String>,)> = tx
        .fetch_all(
            "SELECT i.host FROM server_group_members m JOIN instances i ON i.uuid = m.instance_uuid \
             WHERE m.group_id = $1 AND i.deleted = FALSE",
            args![row.id],
        )
        .await?;
    let id = row.id;
    let group = row.into_group(Vec::new());
    Ok(HintedGroup {
        id,
        policy: group.policy,
        max_server_per_host: group.max_server_per_host,
        member_hosts: hosts.into_iter().filter_map(|h| h.0).collect(),
    })
}

/// Checks the `server_group_members` quota for `adding` more members made
/// by `user_id` (nova's 403 "Quota exceeded, too many servers in group").
pub(crate) async fn check_member_quota(
    tx: &mut Tx,
    group: &HintedGroup,
    user_id: &str,
    limit: i64,
    adding: i64,
) -> Result<()> {
    if limit < 0 {
        return Ok(());
    }
    let (used,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM server_group_members m JOIN instances i ON i.uuid = m.instance_uuid \
             WHERE m.group_id = $1 AND i.deleted = FALSE AND i.user_id = $2",
            args![group.id, user_id],
        )
        .await?;
    if used + adding > limit {
        return Err(Error::QuotaExceeded {
            resource: "server_group_members".into(),
            requested: adding,
            used,
            allowed: limit,
            message: "Quota exceeded, too many servers in group".into(),
        });
    }
    Ok(())
}

/// Makes `instance_uuid` a member of `group`.
pub(crate) async fn add_member(
    tx: &mut Tx,
    group: &HintedGroup,
    instance_uuid: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO server_group_members (group_id, instance_uuid) VALUES ($1, $2)",
        args![group.id, instance_uuid],
    )
    .await?;
    Ok(())
}
