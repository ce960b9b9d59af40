//! The model the APIs see: [`Instance`], the flavor it was built with
//! ([`FlavorSnapshot`]) and its fault ([`InstanceFault`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::flavor::Flavor;
use crate::states::{api_status, ec2_state, PowerState, TaskState, VmState};

/// The flavor an instance was built with, copied at creation (later
/// changes to the flavor do not touch running instances, as in nova).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorSnapshot {
    /// The flavor id (`flavorid`, a string).
    pub id: String,
    /// The flavor name.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: i64,
    /// Memory in MiB.
    pub ram: i64,
    /// Root disk in GiB.
    pub disk: i64,
    /// Ephemeral disk in GiB.
    pub ephemeral: i64,
    /// Swap in MiB.
    pub swap: i64,
    /// Extra specs at build time.
    pub extra_specs: BTreeMap<String, String>,
}

impl From<&Flavor> for FlavorSnapshot {
    fn from(f: &Flavor) -> Self {
        FlavorSnapshot {
            id: f.id.clone(),
            name: f.name.clone(),
            vcpus: f.vcpus,
            ram: f.ram,
            disk: f.disk,
            ephemeral: f.ephemeral,
            swap: f.swap,
            extra_specs: f.extra_specs.clone(),
        }
    }
}

/// Why an instance is in ERROR (nova's instance fault, shown as the
/// server's `fault`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFault {
    /// The HTTP-like code (500 for driver failures).
    pub code: i64,
    /// The message shown to everyone.
    pub message: String,
    /// Details (a traceback in nova), shown to admins only.
    pub details: String,
    /// When it happened.
    pub created: DateTime<Utc>,
}

/// A server.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The integer id (behind the EC2 id `i-%08x`; never reused).
    pub id: i64,
    /// The uuid (the compute API's server id).
    pub uuid: String,
    /// The display name.
    pub name: String,
    /// The description (microversion 2.19).
    pub description: Option<String>,
    /// The hostname (derived from the name unless given).
    pub hostname: String,
    /// The owning project.
    pub project_id: String,
    /// The user who created it.
    pub user_id: String,
    /// The flavor it runs with.
    pub flavor: FlavorSnapshot,
    /// During a resize: the flavor before it.
    pub old_flavor: Option<FlavorSnapshot>,
    /// During a resize: the flavor it is resized to.
    pub new_flavor: Option<FlavorSnapshot>,
    /// The image uuid it was built (or rebuilt) from.
    pub image_ref: String,
    /// The keypair name given at creation.
    pub key_name: Option<String>,
    /// That keypair's public key, copied at creation.
    pub key_data: Option<String>,
    /// User data, base64 text as given.
    pub user_data: Option<String>,
    /// Metadata (key/value).
    pub metadata: BTreeMap<String, String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Availability zone.
    pub availability_zone: String,
    /// Compute host (set once scheduled).
    pub host: Option<String>,
    /// Hypervisor node.
    pub node: Option<String>,
    /// Index within its reservation (0-based).
    pub launch_index: i64,
    /// Reservation id, `r-xxxxxxxx`, shared by one multi-create.
    pub reservation_id: String,
    /// nova's vm_state.
    pub vm_state: VmState,
    /// nova's task_state.
    pub task_state: Option<TaskState>,
    /// nova's power_state.
    pub power_state: PowerState,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it first became active.
    pub launched_at: Option<DateTime<Utc>>,
    /// When it was terminated.
    pub terminated_at: Option<DateTime<Utc>>,
    /// When it was deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Soft-deleted (the row is kept for changes-since and EC2).
    pub deleted: bool,
    /// Its ports (interfaces), filled by the reads the APIs make (see
    /// [`Vif`](super::network::Vif)); empty on the rows a listing caches.
    pub vifs: Vec<super::network::Vif>,
    /// accessIPv4.
    pub access_ip_v4: Option<String>,
    /// accessIPv6.
    pub access_ip_v6: Option<String>,
    /// Locked against non-admin actions.
    pub locked: bool,
    /// Who locked it: `owner` or `admin`.
    pub locked_by: Option<String>,
    /// Why (microversion 2.73).
    pub locked_reason: Option<String>,
    /// Config drive requested.
    pub config_drive: bool,
    /// The availability zone the server is pinned to: the one it was
    /// asked into at create (nova's request spec; 2.96), until unpinned
    /// (2.104).
    pub pinned_availability_zone: Option<String>,
    /// The scheduler hints of its create (2.100).
    pub scheduler_hints: BTreeMap<String, serde_json::Value>,
    /// OS-DCF:diskConfig: AUTO (true) or MANUAL.
    pub auto_disk_config: bool,
    /// The fault, when in ERROR.
    pub fault: Option<InstanceFault>,
}

impl Instance {
    /// The compute API status (`ACTIVE`, `BUILD`, `SHUTOFF`, ...).
    pub fn status(&self) -> &'static str {
        api_status(self.vm_state, self.task_state)
    }

    /// The EC2 instance id, `i-%08x`.
    pub fn ec2_id(&self) -> String {
        crate::ec2::ec2_instance_id(self.id)
    }

    /// The EC2 state (code, name).
    pub fn ec2_state(&self) -> (u16, &'static str) {
        ec2_state(self.vm_state, self.task_state)
    }
}
