//! Live migration (`os-migrateLive`) and what may be done to one in
//! progress (`/servers/{id}/migrations`: force complete, abort).
//!
//! An active or paused instance (no task) takes the task `migrating` on
//! its host, with a `live-migration` record `running` from its host to the
//! destination (the one asked for, or the scheduler's). The simulated
//! driver copies for one transition delay; the step that ends the task
//! puts the instance on the destination (same vm_state) and the record
//! `completed` with every byte copied. `force_complete` makes that step
//! due now; an abort ends the task at once on the source host, the record
//! `cancelled`.

use crate::instance::{save_row, CAS_RETRIES};
use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::migration::{pinned_zone, schedule_move, MoveRequest};
use crate::migration_record::{self, MigrationType, NewMigration};
use crate::states::{TaskState, VmState};
use crate::store::now_micros;
use crate::{actions, scheduler, Compute, Error, Instance, RequestContext, Result};

const MIB: i64 = 1024 * 1024;
const GIB: i64 = 1024 * MIB;

/// What an `os-migrateLive` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveMigrate {
    /// The destination host; `None`: the scheduler chooses.
    pub host: Option<String>,
    /// Copy the disks too; `None` is 2.25's `auto` (the simulated hosts
    /// share no storage, so a block migration).
    pub block_migration: Option<bool>,
    /// 2.30-2.67: `Some(false)` sends a named host through the scheduler's
    /// filters; `Some(true)` or none (before 2.30) takes it as it is.
    pub force: Option<bool>,
    /// 2.34: the conductor's checks are asynchronous; a failed one leaves
    /// the instance as it was and the record `error` instead of a 400.
    pub asynchronous: bool,
}

const LIVE_ALLOWED: Allowed = Allowed {
    vm: &[VmState::Active, VmState::Paused],
    task: NO_TASK,
};

impl Compute {
    /// `os-migrateLive`: the instance takes the task `migrating` and a
    /// `live-migration` record `running`. An unknown host is
    /// [`Error::Invalid`] (nova's `ComputeHostNotFound`); migrating to its
    /// own host, to a host whose compute service is down, or finding no
    /// host is [`Error::Invalid`] too, or with `asynchronous` a record
    /// `error` and the instance left as it was.
    pub async fn live_migrate_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: LiveMigrate,
    ) -> Result<Instance> {
        let row = self.load(ctx, uuid, false).await?;
        check(ctx, &row, "os-migrateLive", &LIVE_ALLOWED)?;
        if let Some(h) = &req.host {
            if !self.config.hosts.iter().any(|c| &c.name == h) {
                return Err(Error::invalid(format!(
                    "Compute host {h} could not be found."
                )));
            }
        }
        let source = row.host.clone().unwrap_or_default();
        let flavor = row.flavor();
        let block = req.block_migration.unwrap_or(true);
        let totals = (flavor.ram * MIB, if block { flavor.disk * GIB } else { 0 });
        let target = self.live_destination(uuid, &row, &source, &req).await;
        let (target, failure) = match target {
            Ok(t) => (t, None),
            Err(e) if req.asynchronous => (String::new(), Some(e)),
            Err(e) => return Err(e),
        };
        let new = NewMigration {
            kind: MigrationType::LiveMigration,
            status: if failure.is_some() {
                "error"
            } else {
                "running"
            },
            source: Some(&source),
            dest: req
                .host
                .as_deref()
                .or(Some(target.as_str()).filter(|t| !t.is_empty())),
            old_flavor: &row.flavor_id,
            new_flavor: &row.flavor_id,
            live_totals: Some(totals),
        };
        let record = migration_record::create(self, ctx, uuid, new).await?;
        if failure.is_some() {
            // The conductor's check failed after the API answered.
            let now = now_micros();
            let event = Some("conductor_live_migrate_instance");
            actions::record(self, ctx, uuid, "live-migration", event, now, None, false).await?;
            actions::finish(self, uuid, false, now).await?;
            return self.with_network(row.to_instance()).await;
        }
        let moved = self
            .act(
                ctx,
                uuid,
                "os-migrateLive",
                "live-migration",
                Some("compute_live_migration"),
                LIVE_ALLOWED,
                |r| {
                    r.task_state = Some(TaskState::Migrating.as_str().into());
                    Ok(())
                },
            )
            .await;
        if moved.is_err() {
            migration_record::set_status(self, record.id, "error", false).await?;
        }
        moved
    }

    /// The destination of a live migration, checked as nova's conductor
    /// checks it.
    async fn live_destination(
        &self,
        uuid: &str,
        row: &crate::instance::InstanceRow,
        source: &str,
        req: &LiveMigrate,
    ) -> Result<String> {
        match &req.host {
            Some(h) if req.force != Some(false) => {
                if h == source {
                    return Err(Error::invalid(format!(
                        "Unable to migrate instance ({uuid}) to current host ({h})."
                    )));
                }
                let up = self
                    .services_all()
                    .await?
                    .iter()
                    .any(|s| s.binary == "nova-compute" && &s.host == h && s.state == "up");
                if !up {
                    return Err(Error::invalid(format!(
                        "Compute service of {h} is unavailable at this time."
                    )));
                }
                Ok(h.clone())
            }
            _ => {
                let request = MoveRequest {
                    source: Some(source.to_string()),
                    zone: pinned_zone(row),
                    host: req.host.clone(),
                };
                schedule_move(self, uuid, &request)
                    .await?
                    .ok_or_else(|| Error::invalid(scheduler::NO_VALID_HOST))
            }
        }
    }

    /// `force_complete` of live migration `migration_id` (2.22): the
    /// instance must be (active, migrating) (else [`Error::InvalidState`]),
    /// the record its own ([`Error::MigrationNotFound`]) and `running`
    /// ([`Error::Invalid`]). The copy ends now.
    pub async fn live_migrate_force_complete(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        migration_id: i64,
    ) -> Result<()> {
        let allowed = Allowed {
            vm: &[VmState::Active],
            task: &[Some(TaskState::Migrating)],
        };
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            check(ctx, &row, "force_complete", &allowed)?;
            let record = migration_record::migration_of(self, uuid, migration_id).await?;
            if record.status != "running" {
                return Err(invalid_migration_state(&record, uuid, "force complete"));
            }
            let now = now_micros();
            row.step_due_at = Some(now);
            row.updated_at = Some(now);
            if save_row(self, &row).await? {
                row.state_seq += 1;
                let event = Some("compute_live_migration_force_complete");
                let host = row.host.clone();
                actions::record(
                    self,
                    ctx,
                    uuid,
                    "live_migration_force_complete",
                    event,
                    now,
                    host.as_deref(),
                    true,
                )
                .await?;
                self.advance(row).await?;
                return Ok(());
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// Aborts live migration `migration_id` (2.24): the instance must be
    /// migrating (else [`Error::InvalidState`]), the record its own
    /// ([`Error::MigrationNotFound`]) and `running` (from 2.65 also
    /// `queued` or `preparing`; else [`Error::Invalid`]). The instance
    /// stays on its host, its task ended; the record is `cancelled`.
    pub async fn live_migrate_abort(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        migration_id: i64,
        abort_queued: bool,
    ) -> Result<()> {
        let allowed = Allowed {
            vm: VmState::ALL,
            task: &[Some(TaskState::Migrating)],
        };
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            check(ctx, &row, "abort live migration", &allowed)?;
            let record = migration_record::migration_of(self, uuid, migration_id).await?;
            let queued = abort_queued && matches!(record.status.as_str(), "queued" | "preparing");
            if record.status != "running" && !queued {
                return Err(invalid_migration_state(
                    &record,
                    uuid,
                    "abort live migration",
                ));
            }
            let now = now_micros();
            row.task_state = None;
            row.step_due_at = None;
            row.updated_at = Some(now);
            if save_row(self, &row).await? {
                migration_record::set_status(self, record.id, "cancelled", false).await?;
                let host = row.host.clone();
                // The live migration itself ends, and the cancel with it.
                actions::finish(self, uuid, true, now).await?;
                let event = Some("compute_live_migration_abort");
                actions::record(
                    self,
                    ctx,
                    uuid,
                    "live_migration_cancel",
                    event,
                    now,
                    host.as_deref(),
                    true,
                )
                .await?;
                return Ok(());
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }
}

/// nova's `InvalidMigrationState` (400).
fn invalid_migration_state(
    record: &migration_record::Migration,
    uuid: &str,
    method: &str,
) -> Error {
    Error::invalid(format!(
        "Migration {} state of instance {uuid} is {}. Cannot {method} while the migration is in this state.",
        record.id, record.status
    ))
}
