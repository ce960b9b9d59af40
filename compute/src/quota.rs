//! Quotas: per-project limits (nova's `[quota]` defaults unless an admin
//! set others) and usage counted from live rows.
//!
//! Checks and the writes they guard run in one transaction under the
//! store's write lock (see [`crate::store`]), so two concurrent creates
//! cannot both squeeze under a limit.

use std::collections::BTreeMap;

use crate::config::{QuotaLimits, QUOTA_RESOURCES};
use crate::store::{args, now_micros};
use crate::{Compute, Error, RequestContext, Result};

/// The quota class whose limits replace the configured defaults.
pub const DEFAULT_QUOTA_CLASS: &str = "default";

/// What a project (and a user, for keypairs) uses now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Live instances.
    pub instances: i64,
    /// vCPUs of live instances.
    pub cores: i64,
    /// RAM (MiB) of live instances.
    pub ram: i64,
    /// Keypairs of the user asked about (of the caller by default).
    pub key_pairs: i64,
    /// Server groups of the project.
    pub server_groups: i64,
}

impl QuotaUsage {
    /// The in-use figure of a resource by nova's name (0 for others).
    pub fn get(&self, resource: &str) -> i64 {
        match resource {
            "instances" => self.instances,
            "cores" => self.cores,
            "ram" => self.ram,
            "key_pairs" => self.key_pairs,
            "server_groups" => self.server_groups,
            _ => 0,
        }
    }
}

impl Compute {
    /// The limits of `project_id` without any access check (internal):
    /// the configured defaults, then the `default` quota class's limits,
    /// then the project's own (one query).
    pub(crate) async fn project_limits(&self, project_id: &str) -> Result<QuotaLimits> {
        let rows: Vec<(String, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT resource, hard_limit, CAST(0 AS BIGINT) AS layer FROM quota_classes WHERE class_name = $1 \
                 UNION ALL SELECT resource, hard_limit, CAST(1 AS BIGINT) AS layer FROM quotas WHERE project_id = $2 \
                 ORDER BY layer",
                args![DEFAULT_QUOTA_CLASS, project_id],
            )
            .await?;
        Ok(self.layered(rows))
    }

    /// The configured defaults with `rows` (resource, limit, layer),
    /// ordered by layer, laid over them: a later layer wins.
    pub(crate) fn layered(&self, rows: Vec<(String, i64, i64)>) -> QuotaLimits {
        let mut limits = self.config.quota.clone();
        for (res, v, _) in rows {
            if let Some(slot) = limits.slot(&res) {
                *slot = v;
            }
        }
        limits
    }

    /// The limits a project without its own gets
    /// (`GET /os-quota-sets/{p}/defaults`): the configured `[quota]`
    /// defaults as the `default` quota class changes them.
    pub async fn default_quotas(&self) -> Result<QuotaLimits> {
        self.class_limits(DEFAULT_QUOTA_CLASS).await
    }

    /// The limits of a project: the caller's own, or any for admins.
    pub async fn get_quotas(&self, ctx: &RequestContext, project_id: &str) -> Result<QuotaLimits> {
        if !ctx.can_access_project(project_id) {
            return Err(Error::Forbidden(
                "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.".into(),
            ));
        }
        self.project_limits(project_id).await
    }

    /// What a project uses now (keypairs of `user_id`, default the caller).
    pub async fn quota_usage(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        user_id: Option<&str>,
    ) -> Result<QuotaUsage> {
        if !ctx.can_access_project(project_id) {
            return Err(Error::Forbidden(
                "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.".into(),
            ));
        }
        // One read for every counted resource: a listing of limits asks
        // for all of them, and each query is a trip to the database.
        let user = user_id.unwrap_or(&ctx.user_id);
        let (instances, cores, ram, key_pairs, server_groups): (i64, i64, i64, i64, i64) = self
            .store
            .fetch_one(
                concat!(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), \
                     CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT), \
                     (SELECT COUNT(*) FROM key_pairs WHERE user_id = $3), \
                     (SELECT COUNT(*) FROM server_groups WHERE project_id = $1) \
                     FROM instances WHERE project_id = $1 AND ",
                    crate::instance::counted_now!()
                ),
                args![project_id, crate::store::now_micros(), user],
            )
            .await?;
        Ok(QuotaUsage {
            instances,
            cores,
            ram,
            key_pairs,
            server_groups,
        })
    }

    /// Sets limits of a project (admin). Unknown resources and values
    /// below -1 are [`Error::Invalid`]; a limit below the current use is
    /// refused unless `force` (nova's message).
    pub async fn update_quotas(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        updates: &BTreeMap<String, i64>,
        force: bool,
    ) -> Result<QuotaLimits> {
        ctx.require_admin("os_compute_api:os-quota-sets:update")?;
        for (res, v) in updates {
            if !QUOTA_RESOURCES.contains(&res.as_str()) {
                return Err(Error::invalid(format!("Bad key(s) {res} in quota_set")));
            }
            if *v < -1 {
                return Err(Error::invalid(format!(
                    "Quota limit {v} for {res} must be -1 or greater."
                )));
            }
        }
        if !force {
            let usage = self.quota_usage(ctx, project_id, None).await?;
            for (res, v) in updates {
                let used = if res == "key_pairs" {
                    0
                } else {
                    usage.get(res)
                };
                if *v >= 0 && *v < used {
                    return Err(Error::invalid(format!(
                        "Quota limit {v} for {res} must be greater than or equal to already used and reserved {used}."
                    )));
                }
            }
        }
        let now = now_micros();
        for (res, v) in updates {
            self.store
                .execute(
                    "INSERT INTO quotas (project_id, resource, hard_limit, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.updated_at",
                    args![project_id, res, *v, now],
                )
                .await?;
        }
        self.project_limits(project_id).await
    }

    /// Reverts a project to the defaults (admin; `DELETE /os-quota-sets/{p}`).
    pub async fn delete_quotas(&self, ctx: &RequestContext, project_id: &str) -> Result<()> {
        ctx.require_admin("os_compute_api:os-quota-sets:delete")?;
        self.store
            .execute(
                "DELETE FROM quotas WHERE project_id = $1",
                args![project_id],
            )
            .await?;
        Ok(())
    }
}
