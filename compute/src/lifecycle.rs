//! The simulated driver: instance actions and the state machine that moves
//! instances through nova's real (vm_state, task_state) pairs.
//!
//! An action checks the instance's state (nova's `InstanceInvalidState`
//! rules), sets the task state and a deadline `step_due_at` =
//! now + [`crate::ComputeConfig::transition_delay`]. Nothing runs in the
//! background: whoever reads the instance after the deadline advances it
//! ("lazily") by as many steps as are due, each step taking one delay, and
//! writes the result with a compare-and-swap on the row's `state_seq`. Of
//! several processes or hosts reading at once exactly one write wins; the
//! others reread. So no update is lost and no step is applied twice.
//!
//! The steps:
//!
//! | action | pairs |
//! |---|---|
//! | create | (building, scheduling) -> (building, spawning) -> (active, -) power 1 |
//! | stop | (active, powering-off) -> (stopped, -) power 4 |
//! | start | (stopped, powering-on) -> (active, -) |
//! | reboot | (active, rebooting / rebooting_hard) -> (active, -) |
//! | pause / unpause | (active, pausing) -> (paused, -) power 3; (paused, unpausing) -> active |
//! | suspend / resume | (active, suspending) -> (suspended, -) power 7; (suspended, resuming) -> active |
//! | rebuild | (active or stopped, rebuilding) -> the same vm_state |
//! | resize | resize_prep -> resize_migrating -> resize_migrated -> resize_finish -> (resized, -) with the new flavor |
//! | confirm / revert | resized -> active (at once) / (resized, resize_reverting) -> active with the old flavor |
//! | migrate (cold) | as resize with the same flavor, on another host from the start; a revert goes back to the source host |
//! | os-migrateLive | (active or paused, migrating) -> the same vm_state on the destination host; an abort ends the task at once on the source host |
//! | evacuate | (active, stopped or error, rebuilding) on the new host -> active (stopped from 2.95) |
//! | resize a stopped instance (EC2) | every resize step and the confirm at once: (stopped, -) with the new flavor |
//! | delete | (*, deleting) -> (deleted, -) power 0, `deleted_at` set, the row kept |
//! | delete with `reclaim_instance_interval` (a launched instance) | (*, soft-deleting) -> (soft-delete, -) power 4, `deleted_at` set; the reclaim, due `deleted_at` + the interval: (soft-delete, -) -> (deleted, -) power 0, ports released |
//! | restore | (soft-delete, restoring) -> (active, -) power 1 |
//! | forceDelete | as delete, from any state (a soft-deleted one too) |
//! | os-resetState | (*, *) -> (active or error, -) at once, nothing else changed |
//! | trigger_crash_dump | no state change (active, paused, rescued, resized or error, no task) |
//! | createImage | (active/stopped/paused/suspended, image_snapshot_pending) -> image_snapshot -> image_pending_upload -> image_uploading (the image `saving`) for `snapshot_upload_delay` -> the same vm_state, the image `active` (`snapshot.rs`) |
//! | createBackup | (active or stopped, image_backup) -> the same vm_state, the backup image made and older ones rotated at once |
//! | shelve | (active/stopped/paused/suspended, shelving) -> shelving_image_pending_upload (power 4) -> shelving_image_uploading -> (shelved, -); with `shelved_offload_time` 0 on to (shelved, shelving_offloading) -> (shelved_offloaded, -) without host; with N > 0 the offload is due N seconds later; -1 never |
//! | shelveOffload | (shelved, shelving_offloading) -> (shelved_offloaded, -) host and node cleared |
//! | unshelve | (shelved or shelved_offloaded, unshelving) -> spawning (a host chosen when offloaded) -> (active, -) power 1, the shelve snapshot deleted |
//! | rescue | (active/stopped/error, rescuing) -> (rescued, -) power 1 |
//! | unrescue | (rescued, unrescuing) -> (active, -) power 1 |
//!
//! **Injected failures.** A step fails, ending in (error, -) with a fault
//! {code 500, message}, when the instance metadata key `sim:fail` or the
//! flavor extra spec `sim:fail_on` lists its name (comma-separated):
//! `schedule`, `spawn`, `stop`, `start`, `reboot`, `pause`, `unpause`,
//! `suspend`, `resume`, `rebuild`, `resize`, `revert`, `soft_delete`,
//! `restore`, `backup`, `shelve`, `shelve_offload`, `unshelve`, `rescue`,
//! `unrescue`. A failed step ends (error, -) as the others do.

use std::collections::BTreeMap;

use crate::injected::{self, InjectedFile};
use crate::instance::{
    save_row, save_stmt, FlavorSnapshot, InstanceRow, CAS_RETRIES, INSTANCE_COLUMNS,
};
use crate::migration_record::{self, MigrationType, NewMigration};
use crate::states::{PowerState, TaskState, VmState};
use crate::store::{args, now_micros};
use crate::{actions, Compute, Error, Instance, Kind, RequestContext, Result};

/// Metadata key that injects failures (comma-separated step names).
pub const FAIL_METADATA_KEY: &str = "sim:fail";
/// Flavor extra spec that injects failures (comma-separated step names).
pub const FAIL_EXTRA_SPEC: &str = "sim:fail_on";

/// What `rebuild` changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildInstance {
    /// The image to rebuild from (uuid).
    pub image_ref: String,
    /// A new display name.
    pub name: Option<String>,
    /// A new admin password (generated when absent).
    pub admin_password: Option<String>,
    /// Replaces the metadata when given.
    pub metadata: Option<BTreeMap<String, String>>,
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// accessIPv4 (`Some(None)` clears it).
    pub access_ip_v4: Option<Option<String>>,
    /// accessIPv6 (`Some(None)` clears it).
    pub access_ip_v6: Option<Option<String>>,
    /// The personality files of the rebuilt instance. They replace the
    /// ones it had: as nova's rebuilt config drive, it keeps only the files
    /// of the rebuild (none when none are given).
    pub injected_files: Vec<InjectedFile>,
    /// A new key pair by name (2.54; `Some(None)` removes the key).
    pub key_name: Option<Option<String>>,
    /// New user data, base64 (2.57; `Some(None)` removes it).
    pub user_data: Option<Option<String>>,
    /// A new hostname (2.90).
    pub hostname: Option<String>,
    /// OS-DCF:diskConfig: AUTO (true) or MANUAL; unset keeps it.
    pub auto_disk_config: Option<bool>,
}

/// A new admin password of 12 characters (nova's `generate_password`
/// alphabet, without look-alike characters).
pub(crate) fn new_admin_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// The step name a task state answers to in `sim:fail` lists.
fn step_name(task: TaskState) -> Option<&'static str> {
    Some(match task {
        TaskState::Scheduling => "schedule",
        TaskState::Spawning => "spawn",
        TaskState::PoweringOff => "stop",
        TaskState::PoweringOn => "start",
        TaskState::Rebooting | TaskState::RebootingHard => "reboot",
        TaskState::Pausing => "pause",
        TaskState::Unpausing => "unpause",
        TaskState::Suspending => "suspend",
        TaskState::Resuming => "resume",
        TaskState::Rebuilding => "rebuild",
        TaskState::ResizeFinish => "resize",
        TaskState::ResizeReverting => "revert",
        TaskState::SoftDeleting => "soft_delete",
        TaskState::Restoring => "restore",
        TaskState::ImageBackup => "backup",
        TaskState::ShelvingImageUploading => "shelve",
        TaskState::ShelvingOffloading => "shelve_offload",
        TaskState::Unshelving => "unshelve",
        TaskState::Rescuing => "rescue",
        TaskState::Unrescuing => "unrescue",
        _ => return None,
    })
}

/// Where a failure of `name` is injected, if it is.
fn injected(row: &InstanceRow, name: &str) -> Option<String> {
    let lists = |v: &str| v.split(',').any(|s| s.trim() == name);
    if row
        .metadata_map()
        .get(FAIL_METADATA_KEY)
        .is_some_and(|v| lists(v))
    {
        return Some(format!("{FAIL_METADATA_KEY}={name}"));
    }
    if row
        .flavor()
        .extra_specs
        .get(FAIL_EXTRA_SPEC)
        .is_some_and(|v| lists(v))
    {
        return Some(format!("{FAIL_EXTRA_SPEC}={name}"));
    }
    None
}

fn set(row: &mut InstanceRow, vm: VmState, task: Option<TaskState>, power: PowerState) {
    row.vm_state = vm.as_str().to_string();
    row.task_state = task.map(|t| t.as_str().to_string());
    row.power_state = power.code();
}

/// How a finished action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Error,
}

/// How long the steps take, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// Each driver step (`[simulator] transition_delay`).
    pub delay: i64,
    /// From a soft delete to the reclaim; 0: deletes are immediate.
    pub reclaim: i64,
    /// From shelved to offloaded; `None`: never by itself.
    pub offload: Option<i64>,
    /// A snapshot's upload (`[simulator] snapshot_upload_delay`).
    pub upload: i64,
}

impl Timing {
    /// Every step at once, nothing reclaimed or offloaded by itself.
    pub(crate) const INSTANT: Timing = Timing {
        delay: 0,
        reclaim: 0,
        offload: None,
        upload: 0,
    };
}

/// Applies the one step due at `at`; returns the outcome when the task ends.
fn step(row: &mut InstanceRow, at: i64, timing: Timing) -> Option<Outcome> {
    let delay = timing.delay;
    let vm = row.vm();
    let Some(task) = row.task() else {
        // The steps that are due without a task: the reclaim of a
        // soft-deleted instance and the offload of a shelved one.
        row.step_due_at = None;
        match vm {
            VmState::SoftDeleted => {
                set(row, VmState::Deleted, None, PowerState::NoState);
                row.deleted = true;
                row.deleted_at = Some(row.deleted_at.unwrap_or(at));
                row.terminated_at = Some(at);
            }
            VmState::Shelved => {
                row.task_state = Some(TaskState::ShelvingOffloading.as_str().into());
                row.step_due_at = Some(at + delay);
            }
            _ => {}
        }
        return None;
    };
    if let Some(name) = step_name(task) {
        if let Some(source) = injected(row, name) {
            let message = if matches!(task, TaskState::Scheduling | TaskState::Spawning) {
                format!(
                    "Build of instance {} aborted: simulated {name} failure injected by {source}",
                    row.uuid
                )
            } else {
                format!("Simulated {name} failure injected by {source}")
            };
            let power = if matches!(task, TaskState::Scheduling | TaskState::Spawning) {
                PowerState::NoState
            } else {
                PowerState::from_code(row.power_state)
            };
            set(row, VmState::Error, None, power);
            row.fault_code = Some(500);
            row.fault_message = Some(message);
            row.fault_details = Some(format!(
                "simulated driver: step '{name}' failed (task_state {task})"
            ));
            row.fault_created_at = Some(at);
            row.step_due_at = None;
            return Some(Outcome::Error);
        }
    }
    use TaskState as T;
    match (vm, task) {
        (_, T::Scheduling) => set(
            row,
            VmState::Building,
            Some(T::Spawning),
            PowerState::NoState,
        ),
        (_, T::Networking | T::BlockDeviceMapping) => set(
            row,
            VmState::Building,
            Some(T::Spawning),
            PowerState::NoState,
        ),
        (_, T::Spawning) => {
            set(row, VmState::Active, None, PowerState::Running);
            row.launched_at = Some(at);
        }
        (_, T::PoweringOff) => set(row, VmState::Stopped, None, PowerState::Shutdown),
        (_, T::PoweringOn | T::Rebooting | T::RebootingHard | T::Unpausing | T::Resuming) => {
            set(row, VmState::Active, None, PowerState::Running)
        }
        (_, T::Pausing) => set(row, VmState::Paused, None, PowerState::Paused),
        (_, T::Suspending) => set(row, VmState::Suspended, None, PowerState::Suspended),
        (VmState::Stopped, T::Rebuilding) => {
            set(row, VmState::Stopped, None, PowerState::Shutdown);
            row.launched_at = Some(at);
        }
        (_, T::Rebuilding) => {
            set(row, VmState::Active, None, PowerState::Running);
            row.launched_at = Some(at);
        }
        (_, T::ResizePrep) => row.task_state = Some(T::ResizeMigrating.as_str().into()),
        (_, T::ResizeMigrating) => row.task_state = Some(T::ResizeMigrated.as_str().into()),
        (_, T::ResizeMigrated) => row.task_state = Some(T::ResizeFinish.as_str().into()),
        (_, T::ResizeFinish) => {
            if let Some(new) = row
                .new_flavor
                .as_deref()
                .and_then(|j| serde_json::from_str::<FlavorSnapshot>(j).ok())
            {
                row.set_flavor(&new);
            }
            let power = PowerState::from_code(row.power_state);
            set(row, VmState::Resized, None, power);
        }
        (_, T::ResizeReverting) => {
            if let Some(old) = row
                .old_flavor
                .as_deref()
                .and_then(|j| serde_json::from_str::<FlavorSnapshot>(j).ok())
            {
                row.set_flavor(&old);
            }
            row.old_flavor = None;
            row.new_flavor = None;
            let power = PowerState::from_code(row.power_state);
            let vm = if power == PowerState::Shutdown {
                VmState::Stopped
            } else {
                VmState::Active
            };
            set(row, vm, None, power);
        }
        (_, T::Deleting) => {
            set(row, VmState::Deleted, None, PowerState::NoState);
            row.deleted = true;
            row.deleted_at = Some(at);
            row.terminated_at = Some(at);
        }
        (_, T::SoftDeleting) => {
            set(row, VmState::SoftDeleted, None, PowerState::Shutdown);
            row.terminated_at = Some(at);
            row.step_due_at = (timing.reclaim > 0)
                .then(|| row.deleted_at.unwrap_or(at).saturating_add(timing.reclaim));
            return Some(Outcome::Success);
        }
        (_, T::Restoring | T::Rescuing | T::Unrescuing) => {
            let vm = if task == T::Rescuing {
                VmState::Rescued
            } else {
                VmState::Active
            };
            set(row, vm, None, PowerState::Running);
            if task != T::Restoring {
                row.launched_at = Some(at);
            }
        }
        (_, T::Shelving) => {
            row.task_state = Some(T::ShelvingImagePendingUpload.as_str().into());
            row.power_state = PowerState::Shutdown.code();
        }
        (_, T::ShelvingImagePendingUpload) => {
            row.task_state = Some(T::ShelvingImageUploading.as_str().into())
        }
        (_, T::ShelvingImageUploading) => {
            set(row, VmState::Shelved, None, PowerState::Shutdown);
            match timing.offload {
                Some(0) => {
                    row.task_state = Some(T::ShelvingOffloading.as_str().into());
                    // The shelve's action goes on into the offload.
                    row.step_due_at = Some(at + delay);
                    return None;
                }
                Some(after) => row.step_due_at = Some(at.saturating_add(after)),
                None => row.step_due_at = None,
            }
            return Some(Outcome::Success);
        }
        (_, T::ShelvingOffloading) => {
            set(row, VmState::ShelvedOffloaded, None, PowerState::Shutdown);
            row.host = None;
            row.node = None;
        }
        (_, T::Unshelving) => {
            row.task_state = Some(T::Spawning.as_str().into());
        }
        (_, T::ImageSnapshotPending) => row.task_state = Some(T::ImageSnapshot.as_str().into()),
        (_, T::ImageSnapshot) => row.task_state = Some(T::ImagePendingUpload.as_str().into()),
        (_, T::ImagePendingUpload) => {
            // The upload takes its own time, not a driver step's.
            row.task_state = Some(T::ImageUploading.as_str().into());
            row.step_due_at = Some(at.saturating_add(timing.upload));
            return None;
        }
        (_, _) => row.task_state = None,
    }
    if row.task_state.is_some() {
        row.step_due_at = Some(at + delay);
        None
    } else {
        row.step_due_at = None;
        Some(Outcome::Success)
    }
}

/// How a resize ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResizeMode {
    /// nova's resize: each driver step takes one delay, and the instance
    /// ends (resized, -) awaiting confirm or revert.
    Staged,
    /// Every step at once, then the confirm: a stopped instance stays
    /// stopped with the new flavor.
    ConfirmedAtOnce,
}

/// Runs the resize steps of `row` (in `resize_prep`) at `now` and, when
/// they succeed, confirms: the instance keeps its power state (a stopped
/// one ends (stopped, -)) and holds only the new flavor. An injected
/// `resize` failure ends it in (error, -) with the old flavor.
fn resize_and_confirm_now(row: &mut InstanceRow, now: i64) -> Outcome {
    let mut outcome = Outcome::Success;
    while row.task_state.is_some() {
        if let Some(o) = step(row, now, Timing::INSTANT) {
            outcome = o;
        }
    }
    if outcome == Outcome::Success {
        let vm = if row.power_state == PowerState::Shutdown.code() {
            VmState::Stopped
        } else {
            VmState::Active
        };
        row.vm_state = vm.as_str().into();
        row.old_flavor = None;
        row.new_flavor = None;
    }
    outcome
}

/// The allowed states of an action, as nova's `check_instance_state`.
pub(crate) struct Allowed {
    pub vm: &'static [VmState],
    /// `None` in the list stands for "no task"; an empty list: any task.
    pub task: &'static [Option<TaskState>],
}

pub(crate) const NO_TASK: &[Option<TaskState>] = &[None];

impl Compute {
    pub(crate) fn delay_micros(&self) -> i64 {
        self.config
            .transition_delay
            .as_micros()
            .min(i64::MAX as u128) as i64
    }

    pub(crate) fn timing(&self) -> Timing {
        let micros = |d: std::time::Duration| d.as_micros().min(i64::MAX as u128) as i64;
        Timing {
            delay: self.delay_micros(),
            reclaim: micros(self.config.reclaim_instance_interval),
            offload: self.config.shelved_offload_time.map(micros),
            upload: self.upload_delay_micros(),
        }
    }

    /// Advances `row` by every step that is due, saving with
    /// compare-and-swap; rereads and retries when another writer won.
    pub(crate) async fn advance(&self, mut row: InstanceRow) -> Result<InstanceRow> {
        for _ in 0..CAS_RETRIES {
            let now = now_micros();
            if row.step_due_at.is_none_or(|d| d > now) {
                return Ok(row);
            }
            let mut next = row.clone();
            let mut outcome = None;
            let timing = self.timing();
            while let Some(due) = next.step_due_at.filter(|d| *d <= now) {
                if let Some(o) = step(&mut next, due, timing) {
                    outcome = Some(o);
                }
            }
            next.updated_at = Some(now);
            if let Some((host, node)) =
                migration_record::live_destination(self, &row, &next).await?
            {
                next.host = Some(host);
                next.node = Some(node);
            }
            if save_row(self, &next).await? {
                next.state_seq += 1;
                migration_record::settle(self, &row, &next).await?;
                if let Some(o) = outcome {
                    actions::finish(self, &next.uuid, o == Outcome::Success, now).await?;
                }
                if !row.deleted && next.deleted && row.vm() == VmState::SoftDeleted {
                    // The reclaim: what a delete gives back, given back now.
                    self.release_instance_network(&next.uuid).await?;
                    crate::shelve::forget_shelved_image(self, &next.uuid).await?;
                    crate::snapshot::abandon_uploads(self, &next.uuid).await?;
                    self.forget_console_tokens(&next.uuid).await?;
                    self.replace_injected_files(&next.uuid, &[]).await?;
                }
                if matches!(row.vm(), VmState::Shelved | VmState::ShelvedOffloaded)
                    && next.vm() == VmState::Active
                {
                    // Unshelved: the shelve snapshot goes, as nova's does.
                    crate::shelve::forget_shelved_image(self, &next.uuid).await?;
                }
                return Ok(next);
            }
            row = self
                .store
                .fetch_optional(
                    &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"),
                    args![row.id],
                )
                .await?
                .ok_or_else(|| Error::not_found(Kind::Instance, row.uuid.clone()))?;
        }
        Err(Error::Conflict(format!(
            "Instance {} is being changed concurrently; try again",
            row.uuid
        )))
    }

    /// The common shape of an action: lock and state checks, `apply`, a
    /// compare-and-swap save (retried on a lost race), the action record,
    /// then an immediate advance (so a zero delay finishes the action).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn act(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        action: &str,
        record_as: &str,
        event: Option<&str>,
        allowed: Allowed,
        mut apply: impl FnMut(&mut InstanceRow) -> Result<()>,
    ) -> Result<Instance> {
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            check(ctx, &row, action, &allowed)?;
            apply(&mut row)?;
            let now = now_micros();
            row.updated_at = Some(now);
            if row.task_state.is_some() {
                row.step_due_at = Some(now + self.delay_micros());
            }
            if save_row(self, &row).await? {
                row.state_seq += 1;
                actions::record(
                    self,
                    ctx,
                    uuid,
                    record_as,
                    event,
                    now,
                    row.host.as_deref(),
                    row.task_state.is_none(),
                )
                .await?;
                let instance = self.advance(row).await?.to_instance();
                return self.with_network(instance).await;
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// Stops (powers off) an active or errored instance: (active,
    /// powering-off) -> (stopped, -).
    pub async fn stop_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Active, VmState::Error],
            task: NO_TASK,
        };
        self.act(
            ctx,
            uuid,
            "stop",
            "stop",
            Some("compute_stop_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::PoweringOff.as_str().into());
                Ok(())
            },
        )
        .await
    }

    /// Starts a stopped instance: (stopped, powering-on) -> (active, -).
    pub async fn start_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Stopped],
            task: NO_TASK,
        };
        self.act(
            ctx,
            uuid,
            "start",
            "start",
            Some("compute_start_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::PoweringOn.as_str().into());
                Ok(())
            },
        )
        .await
    }

    /// Reboots: soft (`hard = false`) from active only, task `rebooting`;
    /// hard from active, stopped, paused, suspended or error (also while a
    /// soft reboot runs), task `rebooting_hard`. Ends (active, -).
    pub async fn reboot_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        hard: bool,
    ) -> Result<Instance> {
        let allowed = if hard {
            Allowed {
                vm: &[
                    VmState::Active,
                    VmState::Stopped,
                    VmState::Paused,
                    VmState::Suspended,
                    VmState::Error,
                ],
                task: &[
                    None,
                    Some(TaskState::Rebooting),
                    Some(TaskState::RebootingHard),
                ],
            }
        } else {
            Allowed {
                vm: &[VmState::Active],
                task: NO_TASK,
            }
        };
        let task = if hard {
            TaskState::RebootingHard
        } else {
            TaskState::Rebooting
        };
        self.act(
            ctx,
            uuid,
            "reboot",
            "reboot",
            Some("compute_reboot_instance"),
            allowed,
            |r| {
                r.task_state = Some(task.as_str().into());
                Ok(())
            },
        )
        .await
    }

    /// Pauses an active instance.
    pub async fn pause_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        self.simple(
            ctx,
            uuid,
            "pause",
            VmState::Active,
            TaskState::Pausing,
            "compute_pause_instance",
        )
        .await
    }

    /// Unpauses a paused instance.
    pub async fn unpause_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        self.simple(
            ctx,
            uuid,
            "unpause",
            VmState::Paused,
            TaskState::Unpausing,
            "compute_unpause_instance",
        )
        .await
    }

    /// Suspends an active instance.
    pub async fn suspend_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        self.simple(
            ctx,
            uuid,
            "suspend",
            VmState::Active,
            TaskState::Suspending,
            "compute_suspend_instance",
        )
        .await
    }

    /// Resumes a suspended instance.
    pub async fn resume_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        self.simple(
            ctx,
            uuid,
            "resume",
            VmState::Suspended,
            TaskState::Resuming,
            "compute_resume_instance",
        )
        .await
    }

    async fn simple(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        action: &str,
        from: VmState,
        task: TaskState,
        event: &str,
    ) -> Result<Instance> {
        let vm: &'static [VmState] = match from {
            VmState::Active => &[VmState::Active],
            VmState::Paused => &[VmState::Paused],
            _ => &[VmState::Suspended],
        };
        self.act(
            ctx,
            uuid,
            action,
            action,
            Some(event),
            Allowed { vm, task: NO_TASK },
            |r| {
                r.task_state = Some(task.as_str().into());
                Ok(())
            },
        )
        .await
    }

    /// Rebuilds from an image (active, stopped or error instances), with
    /// the personality files of the request checked against the caller's
    /// injected-file quotas once the state allows the rebuild. Returns the
    /// instance and the admin password (given or generated).
    pub async fn rebuild_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: RebuildInstance,
    ) -> Result<(Instance, String)> {
        if let Some(n) = &req.name {
            crate::validate::name("name", n)?;
        }
        if let Some(m) = &req.metadata {
            crate::instance::validate_metadata(m)?;
        }
        if let Some(Some(u)) = &req.user_data {
            crate::validate::user_data(u)?;
        }
        if let Some(h) = &req.hostname {
            crate::validate::name("hostname", h)?;
        }
        // The key pair's public key as of the rebuild, as nova copies it.
        let key_data = match &req.key_name {
            Some(Some(name)) => Some(Some(
                self.get_keypair(ctx, name, None)
                    .await
                    .map_err(|_| Error::invalid("Invalid key_name provided."))?
                    .public_key,
            )),
            Some(None) => Some(None),
            None => None,
        };
        let image = self.get_image(ctx, &req.image_ref).await?;
        if image.status != "active" {
            return Err(Error::invalid(format!(
                "Image {} is not active.",
                image.uuid
            )));
        }
        let password = req
            .admin_password
            .clone()
            .unwrap_or_else(new_admin_password);
        let limits = self.project_limits(&ctx.project_id).await?;
        let allowed = Allowed {
            vm: &[VmState::Active, VmState::Stopped, VmState::Error],
            task: NO_TASK,
        };
        let inst = self
            .act(
                ctx,
                uuid,
                "rebuild",
                "rebuild",
                Some("compute_rebuild_instance"),
                allowed,
                |r| {
                    injected::check_quota(&limits, &req.injected_files)?;
                    if r.vm() == VmState::Error {
                        r.vm_state = VmState::Active.as_str().into();
                    }
                    r.task_state = Some(TaskState::Rebuilding.as_str().into());
                    r.image_ref = image.uuid.clone();
                    r.admin_password = Some(password.clone());
                    r.fault_code = None;
                    r.fault_message = None;
                    r.fault_details = None;
                    r.fault_created_at = None;
                    if let Some(n) = &req.name {
                        r.display_name = n.clone();
                    }
                    if let Some(m) = &req.metadata {
                        r.metadata =
                            serde_json::to_string(m).map_err(|e| Error::Internal(e.to_string()))?;
                    }
                    if let Some(d) = &req.description {
                        r.display_description = d.clone();
                    }
                    if let Some(v) = &req.access_ip_v4 {
                        r.access_ip_v4 = v.clone();
                    }
                    if let Some(v) = &req.access_ip_v6 {
                        r.access_ip_v6 = v.clone();
                    }
                    if let (Some(name), Some(data)) = (&req.key_name, &key_data) {
                        r.key_name = name.clone();
                        r.key_data = data.clone();
                    }
                    if let Some(u) = &req.user_data {
                        r.user_data = u.clone();
                    }
                    if let Some(h) = &req.hostname {
                        r.hostname = h.clone();
                    }
                    if let Some(auto) = req.auto_disk_config {
                        r.auto_disk_config = auto;
                    }
                    Ok(())
                },
            )
            .await?;
        self.replace_injected_files(&inst.uuid, &req.injected_files)
            .await?;
        Ok((inst, password))
    }

    /// Resizes to another flavor (active or stopped instances): checks the
    /// flavor differs ("When resizing, instances must change flavor!") and
    /// the cores/ram quota for the difference, atomically with the change.
    /// Ends in (resized, -) awaiting confirm or revert.
    pub async fn resize_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        flavor_id: &str,
    ) -> Result<Instance> {
        self.resize(ctx, uuid, flavor_id, ResizeMode::Staged).await
    }

    /// Resizes a stopped instance and confirms the resize at once, never
    /// powering it on (EC2's `ModifyInstanceAttribute` of `instanceType`):
    /// the instance must be (stopped, -) ([`Error::InvalidState`]
    /// otherwise), the flavor must differ and the cores/ram quota fit, as
    /// for [`Compute::resize_instance`]. It ends (stopped, -) with the new
    /// flavor, with a `resize` and a `confirmResize` action recorded; or,
    /// when a `resize` failure is injected, (error, -) with the old flavor
    /// and a fault, as a failed resize ends.
    pub async fn resize_stopped_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        flavor_id: &str,
    ) -> Result<Instance> {
        self.resize(ctx, uuid, flavor_id, ResizeMode::ConfirmedAtOnce)
            .await
    }

    async fn resize(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        flavor_id: &str,
        mode: ResizeMode,
    ) -> Result<Instance> {
        let flavor = self.get_flavor(ctx, flavor_id).await?;
        if flavor.disabled && !ctx.is_admin {
            return Err(Error::not_found(Kind::Flavor, flavor_id));
        }
        let new = FlavorSnapshot::from(&flavor);
        let allowed = match mode {
            ResizeMode::Staged => Allowed {
                vm: &[VmState::Active, VmState::Stopped],
                task: NO_TASK,
            },
            ResizeMode::ConfirmedAtOnce => Allowed {
                vm: &[VmState::Stopped],
                task: NO_TASK,
            },
        };
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            check(ctx, &row, "resize", &allowed)?;
            if row.flavor_id == new.id {
                return Err(Error::invalid(
                    "When resizing, instances must change flavor!",
                ));
            }
            let limits = self.project_limits(&row.project_id).await?;
            let mut tx = self
                .store
                .begin_locked(&format!("quota:{}", row.project_id))
                .await?;
            let (cores, ram): (i64, i64) = tx
                .fetch_one(
                    concat!(
                        "SELECT CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), \
                         CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) FROM instances WHERE project_id = $1 AND ",
                        crate::instance::counted_now!()
                    ),
                    args![&row.project_id, crate::store::now_micros()],
                )
                .await?;
            let dc = new.vcpus - row.vcpus;
            let dr = new.ram - row.memory_mb;
            if dc > 0 && limits.cores >= 0 && cores + dc > limits.cores {
                return Err(Error::quota("cores", dc, cores, limits.cores));
            }
            if dr > 0 && limits.ram >= 0 && ram + dr > limits.ram {
                return Err(Error::quota("ram", dr, ram, limits.ram));
            }
            let now = now_micros();
            let old_flavor_id = row.flavor_id.clone();
            row.old_flavor = Some(
                serde_json::to_string(&row.flavor()).map_err(|e| Error::Internal(e.to_string()))?,
            );
            row.new_flavor =
                Some(serde_json::to_string(&new).map_err(|e| Error::Internal(e.to_string()))?);
            row.task_state = Some(TaskState::ResizePrep.as_str().into());
            row.updated_at = Some(now);
            let outcome = match mode {
                ResizeMode::Staged => {
                    row.step_due_at = Some(now + self.delay_micros());
                    // Usage counts the larger flavor from now on, as nova's
                    // reservation does, so a concurrent create sees it.
                    if dc > 0 || dr > 0 {
                        row.vcpus = row.vcpus.max(new.vcpus);
                        row.memory_mb = row.memory_mb.max(new.ram);
                    }
                    None
                }
                ResizeMode::ConfirmedAtOnce => Some(resize_and_confirm_now(&mut row, now)),
            };
            let (sql, a) = save_stmt(&row);
            if tx.execute(sql, a).await? != 1 {
                continue;
            }
            tx.commit().await?;
            row.state_seq += 1;
            let host = row.host.as_deref();
            let event = Some("compute_resize_instance");
            let status = match outcome {
                None => "pre-migrating",
                Some(Outcome::Success) => "confirmed",
                Some(Outcome::Error) => "error",
            };
            let record = NewMigration {
                kind: MigrationType::Resize,
                status,
                source: host,
                dest: host,
                old_flavor: &old_flavor_id,
                new_flavor: &new.id,
                live_totals: None,
            };
            migration_record::create(self, ctx, uuid, record).await?;
            match outcome {
                None => {
                    actions::record(self, ctx, uuid, "resize", event, now, host, false).await?;
                    return Ok(self.advance(row).await?.to_instance());
                }
                Some(Outcome::Success) => {
                    actions::record(self, ctx, uuid, "resize", event, now, host, true).await?;
                    let confirm = Some("compute_confirm_resize");
                    actions::record(self, ctx, uuid, "confirmResize", confirm, now, host, true)
                        .await?;
                }
                Some(Outcome::Error) => {
                    actions::record(self, ctx, uuid, "resize", event, now, host, false).await?;
                    actions::finish(self, uuid, false, now).await?;
                }
            }
            return Ok(row.to_instance());
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// Confirms a resize: (resized, -) -> active (or stopped if powered
    /// off) with the new flavor, at once.
    pub async fn confirm_resize(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Resized],
            task: NO_TASK,
        };
        let confirmed = self
            .act(
                ctx,
                uuid,
                "confirmResize",
                "confirmResize",
                Some("compute_confirm_resize"),
                allowed,
                |r| {
                    let vm = if r.power_state == PowerState::Shutdown.code() {
                        VmState::Stopped
                    } else {
                        VmState::Active
                    };
                    r.vm_state = vm.as_str().into();
                    r.old_flavor = None;
                    r.new_flavor = None;
                    Ok(())
                },
            )
            .await?;
        crate::migration::end_open_move(self, uuid, "confirmed").await?;
        Ok(confirmed)
    }

    /// Reverts a resize: (resized, resize_reverting) -> active with the old
    /// flavor; a migrated instance goes back to the host it came from.
    pub async fn revert_resize(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Resized],
            task: NO_TASK,
        };
        let source = crate::migration::source_host(self, uuid).await?;
        let reverted = self
            .act(
                ctx,
                uuid,
                "revertResize",
                "revertResize",
                Some("compute_revert_resize"),
                allowed,
                |r| {
                    r.task_state = Some(TaskState::ResizeReverting.as_str().into());
                    if let Some(host) = &source {
                        r.host = Some(host.clone());
                        r.node = Some(host.clone());
                    }
                    Ok(())
                },
            )
            .await?;
        // A zero delay has reverted it already (the record then moved on).
        if reverted.task_state.is_some() {
            crate::migration::end_open_move(self, uuid, "reverting").await?;
        }
        Ok(reverted)
    }

    /// Deletes an instance in any state. With `[DEFAULT]
    /// reclaim_instance_interval` set, a launched instance is soft-deleted
    /// ([`Compute::soft_delete_instance`]), as nova's API does; otherwise
    /// (*, deleting) -> (deleted, -): the row is kept with `deleted_at`
    /// (changes-since and EC2 show it), its quota is released, its ports
    /// deleted (or unbound when a user gave them), its personality files
    /// dropped. Deleting twice is fine.
    pub async fn delete_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let row = self.load(ctx, uuid, false).await?;
        if row.task() == Some(TaskState::Deleting) {
            // A delete that stopped before its ports were given back.
            return self.release_instance_network(uuid).await;
        }
        if !self.config.reclaim_instance_interval.is_zero() && row.launched_at.is_some() {
            return self.soft_delete_instance(ctx, uuid).await.map(|_| ());
        }
        self.hard_delete(ctx, uuid).await
    }

    /// `forceDelete`: the delete that never soft-deletes, from any state
    /// (a soft-deleted instance's reclaim, at once).
    pub async fn force_delete_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let row = self.load(ctx, uuid, false).await?;
        if row.task() == Some(TaskState::Deleting) {
            return self.release_instance_network(uuid).await;
        }
        self.hard_delete(ctx, uuid).await
    }

    async fn hard_delete(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let allowed = Allowed {
            vm: VmState::ALL,
            task: &[],
        };
        self.act(
            ctx,
            uuid,
            "delete",
            "delete",
            Some("compute_terminate_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::Deleting.as_str().into());
                Ok(())
            },
        )
        .await?;
        migration_record::fail_open_live(self, uuid).await?;
        self.release_instance_network(uuid).await?;
        crate::shelve::forget_shelved_image(self, uuid).await?;
        crate::snapshot::abandon_uploads(self, uuid).await?;
        self.forget_console_tokens(uuid).await?;
        self.replace_injected_files(uuid, &[]).await
    }

    /// Locks an instance against non-admin actions (`locked_by` owner or
    /// admin, with an optional reason).
    pub async fn lock_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        reason: Option<String>,
    ) -> Result<Instance> {
        let who = lock_owner(ctx, uuid, self).await?;
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            row.locked = true;
            row.locked_by = Some(who.to_string());
            row.locked_reason = reason.clone();
            row.updated_at = Some(now_micros());
            if save_row(self, &row).await? {
                actions::record(self, ctx, uuid, "lock", None, now_micros(), None, true).await?;
                row.state_seq += 1;
                return Ok(row.to_instance());
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// Unlocks; a non-admin cannot undo an admin's lock ([`Error::Forbidden`]).
    pub async fn unlock_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            if !ctx.is_admin && row.locked_by.as_deref() == Some("admin") {
                return Err(Error::Forbidden(
                    "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.".into(),
                ));
            }
            row.locked = false;
            row.locked_by = None;
            row.locked_reason = None;
            row.updated_at = Some(now_micros());
            if save_row(self, &row).await? {
                actions::record(self, ctx, uuid, "unlock", None, now_micros(), None, true).await?;
                row.state_seq += 1;
                return Ok(row.to_instance());
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// Sets the admin password of an active instance (`changePassword`).
    pub async fn change_admin_password(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        password: &str,
    ) -> Result<()> {
        let allowed = Allowed {
            vm: &[VmState::Active],
            task: NO_TASK,
        };
        self.act(
            ctx,
            uuid,
            "changePassword",
            "changePassword",
            None,
            allowed,
            |r| {
                r.admin_password = Some(password.to_string());
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }
}

/// nova's `locked_by`: `owner` when the caller's project owns the
/// instance, else `admin`.
async fn lock_owner(ctx: &RequestContext, uuid: &str, c: &Compute) -> Result<&'static str> {
    let row = c.load(ctx, uuid, false).await?;
    Ok(if row.project_id == ctx.project_id {
        "owner"
    } else {
        "admin"
    })
}

pub(crate) fn check(
    ctx: &RequestContext,
    row: &InstanceRow,
    action: &str,
    allowed: &Allowed,
) -> Result<()> {
    // nova's snapshot and backup take no lock into account.
    let lock_exempt = matches!(action, "createBackup" | "createImage");
    if row.locked && !ctx.is_admin && !lock_exempt {
        return Err(Error::Locked {
            uuid: row.uuid.clone(),
        });
    }
    let vm = row.vm();
    if !allowed.vm.contains(&vm) {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: row.uuid.clone(),
            attr: "vm_state",
            state: vm.as_str().into(),
        });
    }
    // An empty task list means any task state is fine (delete).
    let task = row.task();
    if !allowed.task.is_empty() && !allowed.task.contains(&task) {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: row.uuid.clone(),
            attr: "task_state",
            state: task
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "None".into()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_name_is_documented_in_the_module_doc() {
        let doc = include_str!("lifecycle.rs");
        for t in TaskState::ALL {
            if let Some(n) = step_name(*t) {
                assert!(doc.contains(&format!("`{n}`")), "{n} is not documented");
            }
        }
    }
}
