//! Soft delete (`[DEFAULT] reclaim_instance_interval`): a delete that
//! leaves the instance SOFT_DELETED, restorable until its reclaim, which
//! is a step of the lazy state machine (`lifecycle.rs`) due
//! `deleted_at` + the interval: whoever reads the instance after that
//! finds it deleted, its ports and files given back.
//!
//! As nova counts usage from its database (`[quota]
//! count_usage_from_placement = false`, the default), a soft-deleted
//! instance holds no quota; a restore takes its place back, so it is
//! checked against the quota under the project's quota lock.

use crate::instance::{save_stmt, CAS_RETRIES};
use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::states::{TaskState, VmState};
use crate::store::{args, now_micros};
use crate::{actions, Compute, Error, Instance, RequestContext, Result};

impl Compute {
    /// Soft-deletes a launched instance in any state: (*, soft-deleting)
    /// -> (soft-delete, -) power 4, `deleted_at` now; recorded as a
    /// `delete` action with a `compute_soft_delete_instance` event.
    pub async fn soft_delete_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: VmState::ALL,
            task: &[],
        };
        self.act(
            ctx,
            uuid,
            "soft_delete",
            "delete",
            Some("compute_soft_delete_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::SoftDeleting.as_str().into());
                r.deleted_at = Some(now_micros());
                Ok(())
            },
        )
        .await
    }

    /// `restore`: a soft-deleted instance (no task) back to (active, -)
    /// through `restoring`, once the project's instances, cores and RAM
    /// quotas have room for it again (nova's `OverQuota`, 403 in the API).
    pub async fn restore_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::SoftDeleted],
            task: NO_TASK,
        };
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            check(ctx, &row, "restore", &allowed)?;
            let limits = self.project_limits(&row.project_id).await?;
            let mut tx = self
                .store
                .begin_locked(&format!("quota:{}", row.project_id))
                .await?;
            let now = now_micros();
            let (count, cores, ram): (i64, i64, i64) = tx
                .fetch_one(
                    concat!(
                        "SELECT COUNT(*), CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), \
                         CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) FROM instances \
                         WHERE project_id = $1 AND ",
                        crate::instance::counted_now!()
                    ),
                    args![&row.project_id, now],
                )
                .await?;
            let over = [
                ("instances", 1, count, limits.instances),
                ("cores", row.vcpus, cores, limits.cores),
                ("ram", row.memory_mb, ram, limits.ram),
            ]
            .into_iter()
            .find(|&(_, want, used, limit)| limit >= 0 && used + want > limit);
            if let Some((resource, want, used, limit)) = over {
                return Err(Error::quota(resource, want, used, limit));
            }
            row.task_state = Some(TaskState::Restoring.as_str().into());
            row.deleted_at = None;
            row.updated_at = Some(now);
            row.step_due_at = Some(now + self.delay_micros());
            let (sql, a) = save_stmt(&row);
            if tx.execute(sql, a).await? != 1 {
                continue;
            }
            tx.commit().await?;
            row.state_seq += 1;
            let host = row.host.clone();
            actions::record(
                self,
                ctx,
                uuid,
                "restore",
                Some("compute_restore_instance"),
                now,
                host.as_deref(),
                false,
            )
            .await?;
            let instance = self.advance(row).await?.to_instance();
            return self.with_network(instance).await;
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }
}
