//! Quota classes (nova's os-quota-class-sets): named sets of limits an
//! admin edits. Only the `default` class is ever applied: its limits
//! replace the configured `[quota]` defaults for every project without
//! limits of its own (see [`Compute::default_quotas`]). Other classes are
//! stored and shown, and apply to nobody, as in nova.

use std::collections::BTreeMap;

use crate::config::{QuotaLimits, QUOTA_RESOURCES};
use crate::quota::DEFAULT_QUOTA_CLASS;
use crate::store::{args, now_micros};
use crate::{Compute, Error, RequestContext, Result};

/// The longest quota class name nova accepts.
pub const MAX_CLASS_NAME_LENGTH: usize = 255;

impl Compute {
    /// The limits of quota class `class` without any access check: the
    /// configured defaults, the `default` class's limits over them, then
    /// the class's own.
    pub(crate) async fn class_limits(&self, class: &str) -> Result<QuotaLimits> {
        let rows: Vec<(String, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT resource, hard_limit, CAST(CASE WHEN class_name = $1 THEN 0 ELSE 1 END AS BIGINT) AS layer \
                 FROM quota_classes WHERE class_name = $1 OR class_name = $2 ORDER BY layer",
                args![DEFAULT_QUOTA_CLASS, class],
            )
            .await?;
        Ok(self.layered(rows))
    }

    /// The limits of a quota class (admin; any name answers, as in nova:
    /// a class nobody set shows the defaults).
    pub async fn get_quota_class(&self, ctx: &RequestContext, class: &str) -> Result<QuotaLimits> {
        ctx.require_admin("os_compute_api:os-quota-class-sets:show")?;
        self.class_limits(class).await
    }

    /// Sets limits of a quota class (admin). The name is 1 to 255
    /// characters; unknown resources and limits below -1 are
    /// [`Error::Invalid`] and nothing is written.
    pub async fn update_quota_class(
        &self,
        ctx: &RequestContext,
        class: &str,
        updates: &BTreeMap<String, i64>,
    ) -> Result<QuotaLimits> {
        ctx.require_admin("os_compute_api:os-quota-class-sets:update")?;
        let length = class.chars().count();
        if length == 0 || length > MAX_CLASS_NAME_LENGTH {
            return Err(Error::invalid(format!(
                "quota_class_name has {length} characters, which is not between 1 and {MAX_CLASS_NAME_LENGTH}."
            )));
        }
        for (res, v) in updates {
            if !QUOTA_RESOURCES.contains(&res.as_str()) {
                return Err(Error::invalid(format!(
                    "Bad key(s) {res} in quota_class_set"
                )));
            }
            if *v < -1 {
                return Err(Error::invalid(format!(
                    "Quota limit {v} for {res} must be -1 or greater."
                )));
            }
        }
        let now = now_micros();
        let mut tx = self
            .store
            .begin_locked(&format!("quota-class:{class}"))
            .await?;
        for (res, v) in updates {
            tx.execute(
                "INSERT INTO quota_classes (class_name, resource, hard_limit, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = excluded.hard_limit, updated_at = excluded.updated_at",
                args![class, res, *v, now],
            )
            .await?;
        }
        tx.commit().await?;
        self.class_limits(class).await
    }
}
