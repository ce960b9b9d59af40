//! Neutron's quotas: a limit per project and resource (`network`,
//! `subnet`, `port`, `router`, `floatingip`, `security_group`,
//! `security_group_rule`), from nova.conf's `[quotas]` unless an admin set
//! the project's own (`PUT /v2.0/quotas/{project_id}`).
//!
//! A create counts the project's rows of the resource inside its own
//! transaction, after the lock that serializes the creates it races with
//! ([`QUOTA_LOCK`] for networks, subnets and ports; the L3 and security
//! group locks for theirs), so two processes never both take a project's
//! last place. As in Neutron, the ports a router or a floating IP makes
//! for itself are not checked (they count once made).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{NetworkError, NetworkResult};
use crate::store::{args, Tx};
use crate::{Compute, RequestContext};

/// Neutron's quota resources, in the order its API lists them.
pub const NETWORK_QUOTA_RESOURCES: &[&str] = &[
    "network",
    "subnet",
    "port",
    "router",
    "floatingip",
    "security_group",
    "security_group_rule",
];

/// The limits of a project, one per resource of
/// [`NETWORK_QUOTA_RESOURCES`]; -1 is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkQuotaLimits {
    /// `[quotas] quota_network` (100).
    pub network: i64,
    /// `[quotas] quota_subnet` (100).
    pub subnet: i64,
    /// `[quotas] quota_port` (500).
    pub port: i64,
    /// `[quotas] quota_router` (10).
    pub router: i64,
    /// `[quotas] quota_floatingip` (50).
    pub floatingip: i64,
    /// `[quotas] quota_security_group` (10).
    pub security_group: i64,
    /// `[quotas] quota_security_group_rule` (100).
    pub security_group_rule: i64,
}

impl Default for NetworkQuotaLimits {
    /// Neutron's defaults.
    fn default() -> Self {
        NetworkQuotaLimits {
            network: 100,
            subnet: 100,
            port: 500,
            router: 10,
            floatingip: 50,
            security_group: 10,
            security_group_rule: 100,
        }
    }
}

impl NetworkQuotaLimits {
    /// The limits of nova.conf's `[quotas]`.
    pub fn from_group(g: &crate::options::NetworkQuotaGroup) -> Self {
        NetworkQuotaLimits {
            network: g.quota_network,
            subnet: g.quota_subnet,
            port: g.quota_port,
            router: g.quota_router,
            floatingip: g.quota_floatingip,
            security_group: g.quota_security_group,
            security_group_rule: g.quota_security_group_rule,
        }
    }

    fn slot(&mut self, resource: &str) -> Option<&mut i64> {
        Some(match resource {
            "network" => &mut self.network,
            "subnet" => &mut self.subnet,
            "port" => &mut self.port,
            "router" => &mut self.router,
            "floatingip" => &mut self.floatingip,
            "security_group" => &mut self.security_group,
            "security_group_rule" => &mut self.security_group_rule,
            _ => return None,
        })
    }

    /// The limit of `resource` (one of [`NETWORK_QUOTA_RESOURCES`]).
    pub fn get(&self, resource: &str) -> Option<i64> {
        self.clone().slot(resource).map(|v| *v)
    }
}

/// The query of what a project (`$1`) holds of `resource`.
fn usage_sql(resource: &str) -> String {
    let table = match resource {
        "network" => "networks",
        "subnet" => "subnets",
        "port" => "ports",
        "router" => "routers",
        "floatingip" => "floating_ips",
        "security_group" => "security_groups",
        _ => "security_group_rules",
    };
    format!("SELECT COUNT(*) FROM {table} WHERE project_id = $1")
}

/// The write lock a network, subnet or port create takes first, before
/// any network's: the project's quota lock, which a server create holds
/// while it makes the server's ports.
pub(crate) fn quota_lock(project: &str) -> String {
    format!("quota:{project}")
}

/// One resource's usage (`GET /v2.0/quotas/{project_id}/details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuotaUsage {
    /// Rows the project holds.
    pub used: i64,
    /// Its limit (-1: unlimited).
    pub limit: i64,
    /// Always 0: nothing is reserved ahead of a create here.
    pub reserved: i64,
}

/// Refuses `adding` more rows of `resource` for `project` when that takes
/// it beyond its limit; inside the transaction that inserts them, after
/// the lock that serializes those inserts.
pub(crate) async fn check(
    tx: &mut Tx,
    defaults: &NetworkQuotaLimits,
    project: &str,
    resource: &str,
    adding: i64,
) -> NetworkResult<()> {
    over(tx, defaults, project, &[(resource, adding)]).await
}

/// [`check`] for several resources at once; one error names all that
/// are over.
pub(crate) async fn over(
    tx: &mut Tx,
    defaults: &NetworkQuotaLimits,
    project: &str,
    wanted: &[(&str, i64)],
) -> NetworkResult<()> {
    let mut refused = Vec::new();
    for &(resource, adding) in wanted {
        if adding <= 0 {
            continue;
        }
        let own: Option<(i64,)> = tx
            .fetch_optional(
                "SELECT hard_limit FROM network_quotas WHERE project_id = $1 AND resource = $2",
                args![project, resource],
            )
            .await?;
        let limit = own
            .map(|(l,)| l)
            .or_else(|| defaults.get(resource))
            .unwrap_or(-1);
        if limit < 0 {
            continue;
        }
        let (used,): (i64,) = tx.fetch_one(&usage_sql(resource), args![project]).await?;
        if used + adding > limit {
            refused.push(resource.to_string());
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(NetworkError::OverQuota(refused))
    }
}

/// Only an admin reads another project's quota or changes any.
fn require_admin_for(ctx: &RequestContext, project: &str) -> NetworkResult<()> {
    if ctx.is_admin || ctx.project_id == project {
        Ok(())
    } else {
        Err(NetworkError::PolicyNotAuthorized("rule:get_quota".into()))
    }
}

impl Compute {
    /// nova.conf's `[quotas]`: what a project has unless an admin set its own.
    pub fn network_quota_defaults(&self) -> NetworkQuotaLimits {
        self.config.network_quota.clone()
    }

    /// The limits of `project` (its own where set, else the defaults);
    /// the project itself or an admin.
    pub async fn network_quota(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<NetworkQuotaLimits> {
        require_admin_for(ctx, project)?;
        let mut limits = self.network_quota_defaults();
        for (resource, limit) in self.own_network_quotas(project).await? {
            if let Some(slot) = limits.slot(&resource) {
                *slot = limit;
            }
        }
        Ok(limits)
    }

    /// [`Compute::network_quota`] with what `project` uses of each.
    pub async fn network_quota_details(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<BTreeMap<&'static str, QuotaUsage>> {
        let limits = self.network_quota(ctx, project).await?;
        let mut details = BTreeMap::new();
        for &resource in NETWORK_QUOTA_RESOURCES {
            let (used,): (i64,) = self
                .store
                .fetch_one(&usage_sql(resource), args![project])
                .await?;
            details.insert(
                resource,
                QuotaUsage {
                    used,
                    limit: limits.get(resource).unwrap_or(-1),
                    reserved: 0,
                },
            );
        }
        Ok(details)
    }

    /// The projects that have limits of their own, with their limits
    /// (admin only).
    pub async fn list_network_quotas(
        &self,
        ctx: &RequestContext,
    ) -> NetworkResult<Vec<(String, NetworkQuotaLimits)>> {
        if !ctx.is_admin {
            return Err(NetworkError::PolicyNotAuthorized("rule:get_quota".into()));
        }
        let rows: Vec<(String, String, i64)> = self
            .store
            .fetch_all(
                "SELECT project_id, resource, hard_limit FROM network_quotas ORDER BY project_id",
                args![],
            )
            .await?;
        let mut out: Vec<(String, NetworkQuotaLimits)> = Vec::new();
        for (project, resource, limit) in rows {
            if out.last().is_none_or(|(p, _)| *p != project) {
                out.push((project.clone(), self.network_quota_defaults()));
            }
            if let Some(slot) = out.last_mut().and_then(|(_, l)| l.slot(&resource)) {
                *slot = limit;
            }
        }
        Ok(out)
    }

    /// Sets limits of `project` (admin only); `changes` name resources of
    /// [`NETWORK_QUOTA_RESOURCES`] with limits of -1 or more (checked by
    /// the caller's parser, again here).
    pub async fn update_network_quota(
        &self,
        ctx: &RequestContext,
        project: &str,
        changes: &[(String, i64)],
    ) -> NetworkResult<NetworkQuotaLimits> {
        if !ctx.is_admin {
            return Err(NetworkError::PolicyNotAuthorized(
                "rule:update_quota".into(),
            ));
        }
        for (resource, limit) in changes {
            if !NETWORK_QUOTA_RESOURCES.contains(&resource.as_str()) {
                return Err(NetworkError::BadRequest(format!(
                    "Unrecognized attribute(s) '{resource}'"
                )));
            }
            if *limit < -1 {
                return Err(NetworkError::invalid_attribute(
                    resource,
                    &format!("'{limit}' should be greater than or equal to -1"),
                ));
            }
        }
        let mut tx = self.store.begin_locked(&quota_lock(project)).await?;
        for (resource, limit) in changes {
            tx.execute(
                "DELETE FROM network_quotas WHERE project_id = $1 AND resource = $2",
                args![project, resource],
            )
            .await?;
            tx.execute(
                "INSERT INTO network_quotas (project_id, resource, hard_limit) VALUES ($1, $2, $3)",
                args![project, resource, *limit],
            )
            .await?;
        }
        tx.commit().await?;
        self.network_quota(ctx, project).await
    }

    /// Forgets the limits of `project` (admin only): it has the defaults
    /// again.
    pub async fn delete_network_quota(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<()> {
        if !ctx.is_admin {
            return Err(NetworkError::PolicyNotAuthorized(
                "rule:delete_quota".into(),
            ));
        }
        let deleted = self
            .store
            .execute(
                "DELETE FROM network_quotas WHERE project_id = $1",
                args![project],
            )
            .await?;
        if deleted == 0 {
            return Err(NetworkError::TenantQuotaNotFound(project.to_string()));
        }
        Ok(())
    }

    async fn own_network_quotas(&self, project: &str) -> NetworkResult<Vec<(String, i64)>> {
        Ok(self
            .store
            .fetch_all(
                "SELECT resource, hard_limit FROM network_quotas WHERE project_id = $1",
                args![project],
            )
            .await?)
    }
}
