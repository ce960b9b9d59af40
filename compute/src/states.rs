//! nova's instance states (vm_state, task_state, power_state) and how the
//! APIs show them: the compute API's `status` and EC2's instance state.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// nova's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $($s => Ok($name::$v),)*
                    other => Err(crate::Error::Invalid(format!(
                        concat!("Invalid ", stringify!($name), " '{}'"), other))),
                }
            }
        }
    };
}

string_enum! {
    /// nova's `vm_state`: the stable state of an instance.
    VmState {
        /// Running.
        Active = "active",
        /// Being created.
        Building = "building",
        /// Paused (in memory).
        Paused = "paused",
        /// Suspended (to disk).
        Suspended = "suspended",
        /// Powered off.
        Stopped = "stopped",
        /// In rescue mode.
        Rescued = "rescued",
        /// Resized, waiting for confirm or revert.
        Resized = "resized",
        /// Soft-deleted (reclaimable).
        SoftDeleted = "soft-delete",
        /// Deleted.
        Deleted = "deleted",
        /// Failed.
        Error = "error",
        /// Shelved.
        Shelved = "shelved",
        /// Shelved and offloaded.
        ShelvedOffloaded = "shelved_offloaded",
    }
}

string_enum! {
    /// nova's `task_state`: what is happening to an instance right now.
    TaskState {
        /// Waiting for the scheduler.
        Scheduling = "scheduling",
        /// Setting up networking.
        Networking = "networking",
        /// Block devices are being mapped.
        BlockDeviceMapping = "block_device_mapping",
        /// The hypervisor is creating it.
        Spawning = "spawning",
        /// Soft reboot in progress.
        Rebooting = "rebooting",
        /// Hard reboot in progress.
        RebootingHard = "rebooting_hard",
        /// Pausing.
        Pausing = "pausing",
        /// Unpausing.
        Unpausing = "unpausing",
        /// Suspending.
        Suspending = "suspending",
        /// Resuming.
        Resuming = "resuming",
        /// Stopping.
        PoweringOff = "powering-off",
        /// Starting.
        PoweringOn = "powering-on",
        /// Rebuilding.
        Rebuilding = "rebuilding",
        /// Resize: preparing.
        ResizePrep = "resize_prep",
        /// Resize: migrating.
        ResizeMigrating = "resize_migrating",
        /// Resize: migrated.
        ResizeMigrated = "resize_migrated",
        /// Resize: finishing.
        ResizeFinish = "resize_finish",
        /// Resize being reverted.
        ResizeReverting = "resize_reverting",
        /// Resize being confirmed.
        ResizeConfirming = "resize_confirming",
        /// Admin password being changed.
        UpdatingPassword = "updating_password",
        /// Being deleted.
        Deleting = "deleting",
        /// Snapshot asked for, not yet started.
        ImageSnapshotPending = "image_snapshot_pending",
        /// Snapshot being taken.
        ImageSnapshot = "image_snapshot",
        /// Snapshot taken, its upload about to start.
        ImagePendingUpload = "image_pending_upload",
        /// Snapshot being uploaded (its image `saving`).
        ImageUploading = "image_uploading",
        /// Backup being taken (`createBackup`).
        ImageBackup = "image_backup",
        /// Being soft-deleted.
        SoftDeleting = "soft-deleting",
        /// A soft-deleted instance being restored.
        Restoring = "restoring",
        /// Being shelved: powering off.
        Shelving = "shelving",
        /// Being shelved: the snapshot is being made.
        ShelvingImagePendingUpload = "shelving_image_pending_upload",
        /// Being shelved: the snapshot is being uploaded.
        ShelvingImageUploading = "shelving_image_uploading",
        /// A shelved instance leaving its host.
        ShelvingOffloading = "shelving_offloading",
        /// Being unshelved.
        Unshelving = "unshelving",
        /// Entering rescue mode.
        Rescuing = "rescuing",
        /// Leaving rescue mode.
        Unrescuing = "unrescuing",
        /// Being live-migrated.
        Migrating = "migrating",
    }
}

/// nova's `power_state` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum PowerState {
    /// 0: no state (not created yet, or deleted).
    NoState,
    /// 1: running.
    Running,
    /// 3: paused.
    Paused,
    /// 4: shut down.
    Shutdown,
    /// 6: crashed.
    Crashed,
    /// 7: suspended.
    Suspended,
}

impl PowerState {
    /// The integer nova stores and shows (`OS-EXT-STS:power_state`).
    pub fn code(self) -> i64 {
        match self {
            PowerState::NoState => 0,
            PowerState::Running => 1,
            PowerState::Paused => 3,
            PowerState::Shutdown => 4,
            PowerState::Crashed => 6,
            PowerState::Suspended => 7,
        }
    }

    /// The value for a stored code (unknown codes read as no state).
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => PowerState::Running,
            3 => PowerState::Paused,
            4 => PowerState::Shutdown,
            6 => PowerState::Crashed,
            7 => PowerState::Suspended,
            _ => PowerState::NoState,
        }
    }
}

impl From<PowerState> for i64 {
    fn from(p: PowerState) -> i64 {
        p.code()
    }
}

impl TryFrom<i64> for PowerState {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        Ok(PowerState::from_code(v))
    }
}

/// The compute API `status` of a (vm_state, task_state) pair, as nova's
/// `common.status_from_state` computes it (`ACTIVE`, `BUILD`, `SHUTOFF`,
/// `REBOOT`, `HARD_REBOOT`, `RESIZE`, `VERIFY_RESIZE`, `ERROR`, ...).
pub fn api_status(vm: VmState, task: Option<TaskState>) -> &'static str {
    use TaskState as T;
    match (vm, task) {
        (VmState::Active, Some(T::Rebooting)) => "REBOOT",
        (VmState::Active, Some(T::RebootingHard)) => "HARD_REBOOT",
        (VmState::Active, Some(T::UpdatingPassword)) => "PASSWORD",
        (VmState::Active | VmState::Paused, Some(T::Migrating)) => "MIGRATING",
        (VmState::Active | VmState::Stopped | VmState::Error, Some(T::Rebuilding)) => "REBUILD",
        (
            VmState::Active | VmState::Stopped,
            Some(T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish),
        ) => "RESIZE",
        (VmState::Active, _) => "ACTIVE",
        (VmState::Building, _) => "BUILD",
        (VmState::Stopped, _) => "SHUTOFF",
        (VmState::Resized, Some(T::ResizeReverting)) => "REVERT_RESIZE",
        (VmState::Resized, _) => "VERIFY_RESIZE",
        (VmState::Paused, _) => "PAUSED",
        (VmState::Suspended, _) => "SUSPENDED",
        (VmState::Rescued, _) => "RESCUE",
        (VmState::Error, _) => "ERROR",
        (VmState::Deleted, _) => "DELETED",
        (VmState::SoftDeleted, _) => "SOFT_DELETED",
        (VmState::Shelved, _) => "SHELVED",
        (VmState::ShelvedOffloaded, _) => "SHELVED_OFFLOADED",
    }
}

/// The vm_states a compute API `status` filter selects (nova's
/// `common.task_and_vm_state_from_status`), or `None` for an unknown
/// status. Statuses that also depend on the task state (`REBOOT`,
/// `RESIZE`, ...) select their vm_states; callers that need the exact
/// match compare [`api_status`] of each result.
pub fn vm_states_for_status(status: &str) -> Option<Vec<VmState>> {
    let s = status.to_ascii_uppercase();
    let mut out: Vec<VmState> = VmState::ALL
        .iter()
        .copied()
        .filter(|vm| {
            std::iter::once(None)
                .chain(TaskState::ALL.iter().copied().map(Some))
                .any(|t| api_status(*vm, t) == s)
        })
        .collect();
    out.dedup();
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// EC2's instance state `(code, name)` of an instance (nova's
/// `ec2utils`/`inst_state` mapping): 0 pending, 16 running, 32
/// shutting-down, 48 terminated, 64 stopping, 80 stopped.
pub fn ec2_state(vm: VmState, task: Option<TaskState>) -> (u16, &'static str) {
    use TaskState as T;
    match (vm, task) {
        (VmState::Deleted | VmState::SoftDeleted, _) => (48, "terminated"),
        (_, Some(T::Deleting)) => (32, "shutting-down"),
        (_, Some(T::PoweringOff)) => (64, "stopping"),
        (VmState::Building, _) => (0, "pending"),
        (VmState::Stopped | VmState::Shelved | VmState::ShelvedOffloaded, _) => (80, "stopped"),
        (VmState::Error, _) => (80, "stopped"),
        (_, Some(T::PoweringOn | T::Spawning | T::Scheduling)) => (0, "pending"),
        _ => (16, "running"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_nova_for_common_pairs() {
        assert_eq!(
            api_status(VmState::Building, Some(TaskState::Spawning)),
            "BUILD"
        );
        assert_eq!(api_status(VmState::Active, None), "ACTIVE");
        assert_eq!(
            api_status(VmState::Active, Some(TaskState::PoweringOff)),
            "ACTIVE"
        );
        assert_eq!(
            api_status(VmState::Active, Some(TaskState::RebootingHard)),
            "HARD_REBOOT"
        );
        assert_eq!(api_status(VmState::Stopped, None), "SHUTOFF");
        assert_eq!(api_status(VmState::Resized, None), "VERIFY_RESIZE");
        assert_eq!(
            api_status(VmState::Active, Some(TaskState::ResizeMigrating)),
            "RESIZE"
        );
    }

    #[test]
    fn status_filter_maps_back_to_vm_states() {
        assert_eq!(
            vm_states_for_status("shutoff"),
            Some(vec![VmState::Stopped])
        );
        assert_eq!(vm_states_for_status("REBOOT"), Some(vec![VmState::Active]));
        assert_eq!(vm_states_for_status("bogus"), None);
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>().unwrap(), *s);
        }
        assert!("nonsense".parse::<VmState>().is_err());
    }
}
