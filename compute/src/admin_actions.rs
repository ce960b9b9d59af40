//! The administrators' actions on a server that the driver has no part
//! in (nova's `admin_actions`): `os-resetState` and `injectNetworkInfo`;
//! and `trigger_crash_dump`, which the simulated guest takes without a
//! change of state.

use crate::actions;
use crate::instance::CAS_RETRIES;
use crate::lifecycle::{Allowed, NO_TASK};
use crate::states::VmState;
use crate::store::now_micros;
use crate::{Compute, Error, Instance, RequestContext, Result};

/// The states `os-resetState` may set (nova's body enum: `active`, `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetState {
    /// `active`.
    Active,
    /// `error`.
    Error,
}

impl Compute {
    /// `os-resetState`: sets the vm_state (active or error) and clears the
    /// task state of an instance in any state, at once, as nova's
    /// `instance.save(admin_state_reset=True)` does; whatever step was due
    /// is dropped. Recorded as a `resetState` action (no event). Who may
    /// call it is the API's policy (admin).
    pub async fn reset_instance_state(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        state: ResetState,
    ) -> Result<Instance> {
        let vm = match state {
            ResetState::Active => VmState::Active,
            ResetState::Error => VmState::Error,
        };
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            let now = now_micros();
            row.vm_state = vm.as_str().into();
            row.task_state = None;
            row.step_due_at = None;
            row.updated_at = Some(now);
            if crate::instance::save_row(self, &row).await? {
                row.state_seq += 1;
                actions::record(self, ctx, uuid, "resetState", None, now, None, true).await?;
                // The step a live migration was waiting on is dropped.
                crate::migration_record::fail_open_live(self, uuid).await?;
                return Ok(row.to_instance());
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// `injectNetworkInfo`: the simulated guest has its network set up
    /// already, so this only checks that the instance exists and is not
    /// locked against the caller (nova's `check_instance_lock`).
    pub async fn inject_network_info(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let row = self.load(ctx, uuid, false).await?;
        if row.locked && !ctx.is_admin {
            return Err(Error::Locked { uuid: row.uuid });
        }
        Ok(())
    }

    /// `trigger_crash_dump` (2.17): an instance on a host, active, paused,
    /// rescued, resized or in error with no task (nova's
    /// `ALLOW_TRIGGER_CRASH_DUMP`); recorded as a `trigger_crash_dump`
    /// action whose `compute_trigger_crash_dump` event succeeds at once.
    /// Nothing else changes (the simulated guest takes the NMI).
    pub async fn trigger_crash_dump(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let row = self.load(ctx, uuid, false).await?;
        if row.locked && !ctx.is_admin {
            return Err(Error::Locked { uuid: row.uuid });
        }
        if row.host.is_none() {
            return Err(Error::Conflict(format!("Instance {uuid} is not ready")));
        }
        let allowed = Allowed {
            vm: &[
                VmState::Active,
                VmState::Paused,
                VmState::Rescued,
                VmState::Resized,
                VmState::Error,
            ],
            task: NO_TASK,
        };
        self.act(
            ctx,
            uuid,
            "trigger_crash_dump",
            "trigger_crash_dump",
            Some("compute_trigger_crash_dump"),
            allowed,
            |_| Ok(()),
        )
        .await
    }
}
