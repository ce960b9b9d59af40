//! Evacuation (`evacuate`): an instance whose host's compute service is
//! down (or forced down through os-services) is rebuilt on another host.
//!
//! The instance (active, stopped or error, no task) takes the task
//! `rebuilding` on its new host at once, with an `evacuation` record
//! `accepted`; the rebuild step ends it active (stopped when 2.95 asks
//! for it, or when it was stopped) and the record `done`. A source whose
//! service is up is nova's `ComputeServiceInUse` ([`Error::Invalid`]).
//! When the scheduler finds no host, the instance stays as it was and
//! the record is `error`, as nova's conductor leaves them.

use crate::lifecycle::{check, new_admin_password, Allowed, NO_TASK};
use crate::migration::{pinned_zone, schedule_move, MoveRequest};
use crate::migration_record::{self, MigrationType, NewMigration};
use crate::states::{TaskState, VmState};
use crate::store::now_micros;
use crate::{actions, Compute, Error, Instance, Kind, RequestContext, Result};

/// What an `evacuate` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evacuate {
    /// The destination; `None`: the scheduler chooses.
    pub host: Option<String>,
    /// The new admin password (generated when absent).
    pub admin_password: Option<String>,
    /// 2.29-2.67: `Some(false)` sends a named host through the
    /// scheduler's filters; otherwise a named host is taken as it is.
    pub force: Option<bool>,
    /// 2.95: the evacuated instance ends SHUTOFF.
    pub stopped: bool,
}

const EVACUATE_ALLOWED: Allowed = Allowed {
    vm: &[VmState::Active, VmState::Stopped, VmState::Error],
    task: NO_TASK,
};

impl Compute {
    /// `evacuate`: see the module doc. A named host must be a compute host
    /// ([`Error::NotFound`] `Host`) other than the instance's own
    /// ([`Error::Invalid`]). Returns the instance and its admin password.
    pub async fn evacuate_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: Evacuate,
    ) -> Result<(Instance, String)> {
        let row = self.load(ctx, uuid, false).await?;
        if let Some(h) = &req.host {
            if !self.config.hosts.iter().any(|c| &c.name == h) {
                return Err(Error::not_found(Kind::Host, h.clone()));
            }
            if row.host.as_deref() == Some(h.as_str()) {
                return Err(Error::invalid("The target host can't be the same one."));
            }
        }
        check(ctx, &row, "evacuate", &EVACUATE_ALLOWED)?;
        let source = row.host.clone().unwrap_or_default();
        let source_up = self
            .services_all()
            .await?
            .iter()
            .any(|s| s.binary == "nova-compute" && s.host == source && s.state == "up");
        if source_up {
            return Err(Error::invalid(format!(
                "Compute service of {source} is still in use."
            )));
        }
        let target = match &req.host {
            Some(h) if req.force != Some(false) => Some(h.clone()),
            _ => {
                let request = MoveRequest {
                    source: Some(source.clone()),
                    zone: pinned_zone(&row),
                    host: req.host.clone(),
                };
                schedule_move(self, uuid, &request).await?
            }
        };
        let password = req
            .admin_password
            .clone()
            .unwrap_or_else(new_admin_password);
        let new = NewMigration {
            kind: MigrationType::Evacuation,
            status: if target.is_some() {
                "accepted"
            } else {
                "error"
            },
            source: Some(&source),
            dest: target.as_deref().or(req.host.as_deref()),
            old_flavor: &row.flavor_id,
            new_flavor: &row.flavor_id,
            live_totals: None,
        };
        let record = migration_record::create(self, ctx, uuid, new).await?;
        let Some(target) = target else {
            // nova's conductor: NoValidHost leaves the instance as it was.
            let now = now_micros();
            let event = Some("conductor_rebuild_server");
            actions::record(self, ctx, uuid, "evacuate", event, now, None, false).await?;
            actions::finish(self, uuid, false, now).await?;
            let instance = self.with_network(row.to_instance()).await?;
            return Ok((instance, password));
        };
        let evacuated = self
            .act(
                ctx,
                uuid,
                "evacuate",
                "evacuate",
                Some("compute_rebuild_instance"),
                EVACUATE_ALLOWED,
                |r| {
                    if req.stopped || r.vm() == VmState::Stopped {
                        r.vm_state = VmState::Stopped.as_str().into();
                    } else {
                        r.vm_state = VmState::Active.as_str().into();
                    }
                    r.task_state = Some(TaskState::Rebuilding.as_str().into());
                    r.host = Some(target.clone());
                    r.node = Some(target.clone());
                    r.admin_password = Some(password.clone());
                    r.fault_code = None;
                    r.fault_message = None;
                    r.fault_details = None;
                    r.fault_created_at = None;
                    Ok(())
                },
            )
            .await;
        match evacuated {
            Ok(instance) => Ok((instance, password)),
            Err(e) => {
                migration_record::set_status(self, record.id, "failed", false).await?;
                Err(e)
            }
        }
    }
}
