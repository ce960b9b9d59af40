//! Instances (servers): their model, creation with quota check and fixed
//! IP allocation, reads and listing with filters, updates, metadata, tags,
//! the metadata-service password and console output.
//!
//! State changes (stop, reboot, resize, delete, ...) live in
//! [`crate::lifecycle`]; every read here first lets the simulated driver
//! catch up (see that module).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::flavor::Flavor;
use crate::injected::{self, InjectedFile};
use crate::states::{api_status, ec2_state, PowerState, TaskState, VmState};
use crate::store::{args, from_micros, from_micros_opt, now_micros, Arg, Engine, Tx};
use crate::{validate, Compute, Error, Kind, QuotaLimits, RequestContext, Result};

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
    /// The fixed IPv4 address.
    pub fixed_ip: Option<Ipv4Addr>,
    /// The MAC address of its port (`fa:16:3e:..`).
    pub mac_address: String,
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

/// What to create: `POST /servers` or EC2 `RunInstances`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateInstance {
    /// Display name (1-255). With several instances, nova's
    /// `<name>-<n>` (n from 1) names each.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The flavor id.
    pub flavor_id: String,
    /// The image uuid.
    pub image_ref: String,
    /// A keypair of the caller.
    pub key_name: Option<String>,
    /// Base64 user data.
    pub user_data: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Availability zone (must be the configured one when given).
    pub availability_zone: Option<String>,
    /// Fewest instances to create (>= 1; 0 means 1).
    pub min_count: u32,
    /// Most instances to create (>= min_count; 0 means min_count).
    pub max_count: u32,
    /// accessIPv4.
    pub access_ip_v4: Option<String>,
    /// accessIPv6.
    pub access_ip_v6: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Config drive.
    pub config_drive: bool,
    /// Admin password (generated when absent).
    pub admin_password: Option<String>,
    /// Hostname (microversion 2.90); derived from the name when absent.
    pub hostname: Option<String>,
    /// A compute host (admin only).
    pub host: Option<String>,
    /// No network at all (`"networks": "none"`): no fixed IP is allocated.
    pub without_network: bool,
    /// Personality files, checked against the injected-file quotas and
    /// kept with each instance for the metadata service.
    pub injected_files: Vec<InjectedFile>,
}

/// The result of a create.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedInstances {
    /// The reservation id shared by all of them.
    pub reservation_id: String,
    /// The instances, in launch index order.
    pub instances: Vec<Instance>,
    /// The admin password (given or generated), returned once.
    pub admin_password: String,
}

/// Changes of `PUT /servers/{id}`; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateInstance {
    /// New display name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New accessIPv4 (`Some(None)` clears it).
    pub access_ip_v4: Option<Option<String>>,
    /// New accessIPv6 (`Some(None)` clears it).
    pub access_ip_v6: Option<Option<String>>,
    /// New hostname.
    pub hostname: Option<String>,
}

/// The sort keys of a server list (nova's `VALID_SORT_KEYS` subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// created_at (the default, descending).
    CreatedAt,
    /// updated_at.
    UpdatedAt,
    /// launched_at.
    LaunchedAt,
    /// terminated_at.
    TerminatedAt,
    /// display_name.
    DisplayName,
    /// uuid.
    Uuid,
    /// integer id.
    Id,
    /// vm_state.
    VmState,
    /// task_state.
    TaskState,
    /// power_state.
    PowerState,
    /// host.
    Host,
    /// node.
    Node,
    /// project_id.
    ProjectId,
    /// user_id.
    UserId,
    /// flavor id.
    FlavorId,
    /// image_ref.
    ImageRef,
    /// key_name.
    KeyName,
    /// availability_zone.
    AvailabilityZone,
    /// hostname.
    Hostname,
    /// launch_index.
    LaunchIndex,
    /// reservation_id.
    ReservationId,
}

impl SortKey {
    /// Parses nova's sort key names (`created_at`, `display_name`,
    /// `instance_type_id`, ...).
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "launched_at" => SortKey::LaunchedAt,
            "terminated_at" => SortKey::TerminatedAt,
            "display_name" | "name" => SortKey::DisplayName,
            "uuid" => SortKey::Uuid,
            "id" => SortKey::Id,
            "vm_state" => SortKey::VmState,
            "task_state" => SortKey::TaskState,
            "power_state" => SortKey::PowerState,
            "host" => SortKey::Host,
            "node" => SortKey::Node,
            "project_id" => SortKey::ProjectId,
            "user_id" => SortKey::UserId,
            "instance_type_id" | "flavor" => SortKey::FlavorId,
            "image_ref" => SortKey::ImageRef,
            "key_name" => SortKey::KeyName,
            "availability_zone" => SortKey::AvailabilityZone,
            "hostname" => SortKey::Hostname,
            "launch_index" => SortKey::LaunchIndex,
            "reservation_id" => SortKey::ReservationId,
            _ => return None,
        })
    }

    /// The SQL expression sorted on (NULLs made comparable so both engines
    /// order the same way; text compared bytewise on both engines).
    fn expr(self, engine: Engine) -> String {
        let (col, text) = match self {
            SortKey::CreatedAt => ("created_at", false),
            SortKey::UpdatedAt => ("COALESCE(updated_at, 0)", false),
            SortKey::LaunchedAt => ("COALESCE(launched_at, 0)", false),
            SortKey::TerminatedAt => ("COALESCE(terminated_at, 0)", false),
            SortKey::DisplayName => ("display_name", true),
            SortKey::Uuid => ("uuid", true),
            SortKey::Id => ("id", false),
            SortKey::VmState => ("vm_state", true),
            SortKey::TaskState => ("COALESCE(task_state, '')", true),
            SortKey::PowerState => ("power_state", false),
            SortKey::Host => ("COALESCE(host, '')", true),
            SortKey::Node => ("COALESCE(node, '')", true),
            SortKey::ProjectId => ("project_id", true),
            SortKey::UserId => ("user_id", true),
            SortKey::FlavorId => ("flavor_id", true),
            SortKey::ImageRef => ("image_ref", true),
            SortKey::KeyName => ("COALESCE(key_name, '')", true),
            SortKey::AvailabilityZone => ("availability_zone", true),
            SortKey::Hostname => ("hostname", true),
            SortKey::LaunchIndex => ("launch_index", false),
            SortKey::ReservationId => ("reservation_id", true),
        };
        match (text, engine) {
            (true, Engine::Postgres) => format!("({col}) COLLATE \"C\""),
            _ => format!("({col})"),
        }
    }

    fn marker_value(self, r: &InstanceRow) -> Arg {
        match self {
            SortKey::CreatedAt => Arg::Int(r.created_at),
            SortKey::UpdatedAt => Arg::Int(r.updated_at.unwrap_or(0)),
            SortKey::LaunchedAt => Arg::Int(r.launched_at.unwrap_or(0)),
            SortKey::TerminatedAt => Arg::Int(r.terminated_at.unwrap_or(0)),
            SortKey::DisplayName => Arg::Text(r.display_name.clone()),
            SortKey::Uuid => Arg::Text(r.uuid.clone()),
            SortKey::Id => Arg::Int(r.id),
            SortKey::VmState => Arg::Text(r.vm_state.clone()),
            SortKey::TaskState => Arg::Text(r.task_state.clone().unwrap_or_default()),
            SortKey::PowerState => Arg::Int(r.power_state),
            SortKey::Host => Arg::Text(r.host.clone().unwrap_or_default()),
            SortKey::Node => Arg::Text(r.node.clone().unwrap_or_default()),
            SortKey::ProjectId => Arg::Text(r.project_id.clone()),
            SortKey::UserId => Arg::Text(r.user_id.clone()),
            SortKey::FlavorId => Arg::Text(r.flavor_id.clone()),
            SortKey::ImageRef => Arg::Text(r.image_ref.clone()),
            SortKey::KeyName => Arg::Text(r.key_name.clone().unwrap_or_default()),
            SortKey::AvailabilityZone => Arg::Text(r.availability_zone.clone()),
            SortKey::Hostname => Arg::Text(r.hostname.clone()),
            SortKey::LaunchIndex => Arg::Int(r.launch_index),
            SortKey::ReservationId => Arg::Text(r.reservation_id.clone()),
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending (nova's default).
    #[default]
    Desc,
}

/// Filters, sorting and paging of a server list. The default lists the
/// caller's live instances, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFilter {
    /// Admin only: every project's instances (`all_tenants`).
    pub all_projects: bool,
    /// Admin only: this project's (with or without `all_projects`).
    pub project_id: Option<String>,
    /// Instances of this user.
    pub user_id: Option<String>,
    /// Python-style regular expression on the display name (nova `name`).
    pub name: Option<String>,
    /// Exactly these uuids.
    pub uuids: Option<Vec<String>>,
    /// Exactly these integer ids (EC2 ids).
    pub ids: Option<Vec<i64>>,
    /// Any of these vm_states.
    pub vm_states: Option<Vec<VmState>>,
    /// Any of these task_states.
    pub task_states: Option<Vec<TaskState>>,
    /// Any of these power states.
    pub power_states: Option<Vec<PowerState>>,
    /// Any of these API statuses (nova's `status`: `ACTIVE`, `REBOOT`,
    /// `DELETED`, ...), exactly as [`Instance::status`] shows them.
    pub statuses: Option<Vec<String>>,
    /// Image uuid.
    pub image_ref: Option<String>,
    /// Flavor id.
    pub flavor_id: Option<String>,
    /// Compute host (admin).
    pub host: Option<String>,
    /// Node (admin).
    pub node: Option<String>,
    /// Keypair name.
    pub key_name: Option<String>,
    /// Reservation id.
    pub reservation_id: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Hostname.
    pub hostname: Option<String>,
    /// Launch index.
    pub launch_index: Option<i64>,
    /// Regular expression on the fixed IPv4 address (nova `ip`).
    pub ip: Option<String>,
    /// Regular expression on accessIPv6 (nova `ip6`; there is no fixed v6).
    pub ip6: Option<String>,
    /// accessIPv4, exact.
    pub access_ip_v4: Option<String>,
    /// accessIPv6, exact.
    pub access_ip_v6: Option<String>,
    /// Locked or not.
    pub locked: Option<bool>,
    /// Config drive or not.
    pub config_drive: Option<bool>,
    /// Changed at or after (`changes-since`; includes deleted ones).
    pub changes_since: Option<DateTime<Utc>>,
    /// Changed at or before (`changes-before`; includes deleted ones).
    pub changes_before: Option<DateTime<Utc>>,
    /// Admin only: `Some(true)` only deleted, `Some(false)` only live;
    /// `None`: live ones, plus deleted ones when a changes filter is set.
    pub deleted: Option<bool>,
    /// Having all these tags.
    pub tags: Vec<String>,
    /// Having any of these tags.
    pub tags_any: Vec<String>,
    /// Not having all these tags.
    pub not_tags: Vec<String>,
    /// Having none of these tags.
    pub not_tags_any: Vec<String>,
    /// Sort keys (default created_at desc); id is the final tie-breaker.
    pub sort: Vec<(SortKey, SortDir)>,
    /// Uuid of the last instance of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

impl InstanceFilter {
    /// Whether `instance`, in its current state, passes the state filters
    /// (vm, task and power states, API statuses).
    fn state_matches(&self, instance: &Instance) -> bool {
        let status = if instance.deleted {
            "DELETED"
        } else {
            instance.status()
        };
        self.vm_states
            .as_ref()
            .is_none_or(|v| v.contains(&instance.vm_state))
            && self
                .task_states
                .as_ref()
                .is_none_or(|v| instance.task_state.is_some_and(|t| v.contains(&t)))
            && self
                .power_states
                .as_ref()
                .is_none_or(|v| v.contains(&instance.power_state))
            && self
                .statuses
                .as_ref()
                .is_none_or(|v| v.iter().any(|s| s == status))
    }
}

/// The first microsecond of the whole second `t` falls in: the precision
/// at which the APIs show times, and so at which a client's time bound is
/// compared.
pub fn shown_second_start(t: DateTime<Utc>) -> i64 {
    t.timestamp().saturating_mul(1_000_000)
}

/// The columns read for an instance, in [`InstanceRow`] order.
pub(crate) const INSTANCE_COLUMNS: &str = "id, uuid, display_name, display_description, hostname, project_id, user_id, \
    flavor_id, flavor_name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, flavor_extra_specs, old_flavor, new_flavor, \
    image_ref, key_name, key_data, user_data, metadata, tags, availability_zone, host, node, launch_index, reservation_id, \
    vm_state, task_state, power_state, state_seq, step_due_at, created_at, updated_at, launched_at, terminated_at, \
    deleted_at, deleted, fixed_ip, mac_address, access_ip_v4, access_ip_v6, locked, locked_by, locked_reason, \
    config_drive, admin_password, password, fault_code, fault_message, fault_details, fault_created_at";

/// An instance row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct InstanceRow {
    pub id: i64,
    pub uuid: String,
    pub display_name: String,
    pub display_description: Option<String>,
    pub hostname: String,
    pub project_id: String,
    pub user_id: String,
    pub flavor_id: String,
    pub flavor_name: String,
    pub vcpus: i64,
    pub memory_mb: i64,
    pub root_gb: i64,
    pub ephemeral_gb: i64,
    pub swap: i64,
    pub flavor_extra_specs: String,
    pub old_flavor: Option<String>,
    pub new_flavor: Option<String>,
    pub image_ref: String,
    pub key_name: Option<String>,
    pub key_data: Option<String>,
    pub user_data: Option<String>,
    pub metadata: String,
    pub tags: String,
    pub availability_zone: String,
    pub host: Option<String>,
    pub node: Option<String>,
    pub launch_index: i64,
    pub reservation_id: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: i64,
    pub state_seq: i64,
    pub step_due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
    pub launched_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub deleted: bool,
    pub fixed_ip: Option<String>,
    pub mac_address: String,
    pub access_ip_v4: Option<String>,
    pub access_ip_v6: Option<String>,
    pub locked: bool,
    pub locked_by: Option<String>,
    pub locked_reason: Option<String>,
    pub config_drive: bool,
    pub admin_password: Option<String>,
    pub password: Option<String>,
    pub fault_code: Option<i64>,
    pub fault_message: Option<String>,
    pub fault_details: Option<String>,
    pub fault_created_at: Option<i64>,
}

impl InstanceRow {
    pub(crate) fn vm(&self) -> VmState {
        self.vm_state.parse().unwrap_or(VmState::Error)
    }

    pub(crate) fn task(&self) -> Option<TaskState> {
        self.task_state.as_deref().and_then(|t| t.parse().ok())
    }

    pub(crate) fn flavor(&self) -> FlavorSnapshot {
        FlavorSnapshot {
            id: self.flavor_id.clone(),
            name: self.flavor_name.clone(),
            vcpus: self.vcpus,
            ram: self.memory_mb,
            disk: self.root_gb,
            ephemeral: self.ephemeral_gb,
            swap: self.swap,
            extra_specs: serde_json::from_str(&self.flavor_extra_specs).unwrap_or_default(),
        }
    }

    pub(crate) fn set_flavor(&mut self, f: &FlavorSnapshot) {
        self.flavor_id = f.id.clone();
        self.flavor_name = f.name.clone();
        self.vcpus = f.vcpus;
        self.memory_mb = f.ram;
        self.root_gb = f.disk;
        self.ephemeral_gb = f.ephemeral;
        self.swap = f.swap;
        self.flavor_extra_specs =
            serde_json::to_string(&f.extra_specs).unwrap_or_else(|_| "{}".into());
    }

    pub(crate) fn metadata_map(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.metadata).unwrap_or_default()
    }

    pub(crate) fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub(crate) fn to_instance(&self) -> Instance {
        let snap = |s: &Option<String>| s.as_deref().and_then(|j| serde_json::from_str(j).ok());
        Instance {
            id: self.id,
            uuid: self.uuid.clone(),
            name: self.display_name.clone(),
            description: self.display_description.clone(),
            hostname: self.hostname.clone(),
            project_id: self.project_id.clone(),
            user_id: self.user_id.clone(),
            flavor: self.flavor(),
            old_flavor: snap(&self.old_flavor),
            new_flavor: snap(&self.new_flavor),
            image_ref: self.image_ref.clone(),
            key_name: self.key_name.clone(),
            key_data: self.key_data.clone(),
            user_data: self.user_data.clone(),
            metadata: self.metadata_map(),
            tags: self.tag_list(),
            availability_zone: self.availability_zone.clone(),
            host: self.host.clone(),
            node: self.node.clone(),
            launch_index: self.launch_index,
            reservation_id: self.reservation_id.clone(),
            vm_state: self.vm(),
            task_state: self.task(),
            power_state: PowerState::from_code(self.power_state),
            created_at: from_micros(self.created_at),
            updated_at: from_micros_opt(self.updated_at),
            launched_at: from_micros_opt(self.launched_at),
            terminated_at: from_micros_opt(self.terminated_at),
            deleted_at: from_micros_opt(self.deleted_at),
            deleted: self.deleted,
            fixed_ip: self.fixed_ip.as_deref().and_then(|s| s.parse().ok()),
            mac_address: self.mac_address.clone(),
            access_ip_v4: self.access_ip_v4.clone(),
            access_ip_v6: self.access_ip_v6.clone(),
            locked: self.locked,
            locked_by: self.locked_by.clone(),
            locked_reason: self.locked_reason.clone(),
            config_drive: self.config_drive,
            fault: self.fault_code.map(|code| InstanceFault {
                code,
                message: self.fault_message.clone().unwrap_or_default(),
                details: self.fault_details.clone().unwrap_or_default(),
                created: from_micros(self.fault_created_at.unwrap_or(self.created_at)),
            }),
        }
    }
}

/// The compare-and-swap UPDATE writing every mutable column of `row` if
/// nobody changed it since it was read (`state_seq`).
pub(crate) fn save_stmt(row: &InstanceRow) -> (&'static str, Vec<Arg>) {
    (
        "UPDATE instances SET vm_state = $1, task_state = $2, power_state = $3, step_due_at = $4, \
         launched_at = $5, terminated_at = $6, deleted_at = $7, deleted = $8, flavor_id = $9, flavor_name = $10, \
         vcpus = $11, memory_mb = $12, root_gb = $13, ephemeral_gb = $14, swap = $15, flavor_extra_specs = $16, \
         old_flavor = $17, new_flavor = $18, fault_code = $19, fault_message = $20, fault_details = $21, \
         fault_created_at = $22, updated_at = $23, image_ref = $24, locked = $25, locked_by = $26, \
         locked_reason = $27, admin_password = $28, metadata = $29, tags = $30, display_name = $31, \
         display_description = $32, hostname = $33, access_ip_v4 = $34, access_ip_v6 = $35, \
         key_name = $36, key_data = $37, user_data = $38, \
         state_seq = state_seq + 1 WHERE id = $39 AND state_seq = $40",
        args![
            &row.vm_state,
            &row.task_state,
            row.power_state,
            row.step_due_at,
            row.launched_at,
            row.terminated_at,
            row.deleted_at,
            row.deleted,
            &row.flavor_id,
            &row.flavor_name,
            row.vcpus,
            row.memory_mb,
            row.root_gb,
            row.ephemeral_gb,
            row.swap,
            &row.flavor_extra_specs,
            &row.old_flavor,
            &row.new_flavor,
            row.fault_code,
            &row.fault_message,
            &row.fault_details,
            row.fault_created_at,
            row.updated_at,
            &row.image_ref,
            row.locked,
            &row.locked_by,
            &row.locked_reason,
            &row.admin_password,
            &row.metadata,
            &row.tags,
            &row.display_name,
            &row.display_description,
            &row.hostname,
            &row.access_ip_v4,
            &row.access_ip_v6,
            &row.key_name,
            &row.key_data,
            &row.user_data,
            row.id,
            row.state_seq,
        ],
    )
}

/// Saves `row` with [`save_stmt`]; false when another writer won the race.
pub(crate) async fn save_row(c: &Compute, row: &InstanceRow) -> Result<bool> {
    let (sql, a) = save_stmt(row);
    Ok(c.store.execute(sql, a).await? == 1)
}

/// How many times a compare-and-swap update is retried before giving up.
pub(crate) const CAS_RETRIES: usize = 50;

/// A random reservation id, `r-` and 8 lower-case letters or digits.
fn new_reservation_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..8)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("r-{s}")
}

/// A random admin password of 12 letters and digits (nova's default length).
fn new_password() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// A random MAC address in OpenStack's `fa:16:3e` range.
fn new_mac() -> String {
    let b: [u8; 3] = rand::thread_rng().gen();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

fn check_ip(field: &str, v: &Option<String>, v6: bool) -> Result<()> {
    if let Some(s) = v {
        let ok = if v6 {
            s.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            s.parse::<Ipv4Addr>().is_ok()
        };
        if !ok {
            return Err(Error::invalid(format!(
                "Invalid input for field/attribute {field}. Value: {s}. '{s}' is not a '{}'",
                if v6 { "ipv6" } else { "ipv4" }
            )));
        }
    }
    Ok(())
}

pub(crate) fn validate_metadata(meta: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in meta {
        validate::metadata_item(k, v)?;
    }
    Ok(())
}

fn validate_tags(tags: &[String]) -> Result<()> {
    for t in tags {
        validate::tag(t)?;
    }
    let distinct: BTreeSet<&String> = tags.iter().collect();
    if distinct.len() > validate::MAX_TAGS {
        return Err(Error::invalid(format!(
            "The number of tags exceeded the per-server limit {}",
            validate::MAX_TAGS
        )));
    }
    Ok(())
}

/// What a create has checked and looked up before its transaction.
struct CreatePlan {
    flavor: Flavor,
    image_uuid: String,
    key_data: Option<String>,
    limits: QuotaLimits,
    min: u64,
    max: u64,
}

/// What the inserts of a create made, before the instances are read back.
struct Inserted {
    uuids: Vec<String>,
    admin_password: String,
}

/// What [`Compute::create_instances_with_client_token`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientTokenOutcome {
    /// No earlier request of the project had the token: these instances
    /// were created, and the token now names their reservation.
    Created(CreatedInstances),
    /// An earlier request with the token made a reservation that still has
    /// live instances: nothing was created, and these are its instances.
    Replayed {
        /// The earlier request's reservation id.
        reservation_id: String,
        /// Its live instances, in launch index order.
        instances: Vec<Instance>,
    },
}

impl ClientTokenOutcome {
    /// The reservation the token names.
    pub fn reservation_id(&self) -> &str {
        match self {
            ClientTokenOutcome::Created(c) => &c.reservation_id,
            ClientTokenOutcome::Replayed { reservation_id, .. } => reservation_id,
        }
    }

    /// The instances of the reservation, created or replayed.
    pub fn instances(&self) -> &[Instance] {
        match self {
            ClientTokenOutcome::Created(c) => &c.instances,
            ClientTokenOutcome::Replayed { instances, .. } => instances,
        }
    }
}

/// The longest client token accepted (AWS's limit: 64 ASCII characters).
pub const MAX_CLIENT_TOKEN_LENGTH: usize = 64;

fn validate_client_token(token: &str) -> Result<()> {
    if token.is_empty() || token.len() > MAX_CLIENT_TOKEN_LENGTH || !token.is_ascii() {
        return Err(Error::invalid(format!(
            "Invalid client token: it must be 1 to {MAX_CLIENT_TOKEN_LENGTH} ASCII characters"
        )));
    }
    Ok(())
}

/// Claims `token` for `reservation_id` inside the create transaction:
/// `None` when the token is now ours (new, or its reservation has no live
/// instance left, as nova forgot the token of terminated instances), else
/// the reservation that holds it. The primary key on (project, token)
/// makes the claim atomic: of two transactions inserting the same token,
/// the second waits for the first and then sees its row.
async fn claim_client_token(
    tx: &mut Tx,
    project_id: &str,
    token: &str,
    reservation_id: &str,
    now: i64,
) -> Result<Option<String>> {
    let inserted = tx
        .execute(
            "INSERT INTO client_tokens (project_id, client_token, reservation_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, client_token) DO NOTHING",
            args![project_id, token, reservation_id, now],
        )
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let (holder,): (String,) = tx
        .fetch_one(
            "SELECT reservation_id FROM client_tokens WHERE project_id = $1 AND client_token = $2",
            args![project_id, token],
        )
        .await?;
    let (live,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM instances WHERE project_id = $1 AND reservation_id = $2 AND deleted = FALSE",
            args![project_id, &holder],
        )
        .await?;
    if live > 0 {
        return Ok(Some(holder));
    }
    tx.execute(
        "UPDATE client_tokens SET reservation_id = $1, created_at = $2 WHERE project_id = $3 AND client_token = $4",
        args![reservation_id, now, project_id, token],
    )
    .await?;
    Ok(None)
}

/// The rows a quota counts at time `$2`: live ones, less those whose
/// delete is due (states advance when read, so such a row is deleted as
/// soon as anyone looks; it must not hold quota until then).
macro_rules! counted_now {
    () => {
        "deleted = FALSE AND NOT (COALESCE(task_state, '') = 'deleting' \
         AND step_due_at IS NOT NULL AND step_due_at <= $2)"
    };
}
pub(crate) use counted_now;

/// What a project's live instances hold: how many, their vCPUs and RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InstanceUse {
    count: i64,
    cores: i64,
    ram: i64,
}

impl InstanceUse {
    /// Bind `$1` the project and `$2` now (see `counted_now!`).
    const SQL: &'static str = concat!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), \
         CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) FROM instances WHERE project_id = $1 AND ",
        counted_now!()
    );

    fn from_row((count, cores, ram): (i64, i64, i64)) -> Self {
        InstanceUse { count, cores, ram }
    }
}

/// nova's instance quota check: how many instances of `flavor` (at most
/// `max`) fit in `limits` beside `used`, or nova's quota error when fewer
/// than `min` do. Computed in `i128`, so no count or flavor overflows it.
fn instances_allowed(
    limits: &QuotaLimits,
    used: InstanceUse,
    flavor: &Flavor,
    min: u64,
    max: u64,
) -> Result<u64> {
    let fits = |limit: i64, used: i64, per: i64| -> i128 {
        if limit < 0 || per <= 0 {
            i128::MAX
        } else {
            (i128::from(limit) - i128::from(used)).max(0) / i128::from(per)
        }
    };
    let resources = [
        ("instances", limits.instances, used.count, 1),
        ("cores", limits.cores, used.cores, flavor.vcpus),
        ("ram", limits.ram, used.ram, flavor.ram),
    ];
    let allowed = resources
        .iter()
        .map(|&(_, limit, used, per)| fits(limit, used, per))
        .min()
        .unwrap_or(i128::MAX);
    let min = i128::from(min);
    if allowed < min {
        let over: Vec<_> = resources
            .iter()
            .filter(|&&(_, limit, used, per)| fits(limit, used, per) < min)
            .collect();
        let names: Vec<&str> = over.iter().map(|r| r.0).collect();
        let (requested, used, limit) = over
            .first()
            .map(|&&(_, limit, used, per)| (min * i128::from(per), used, limit))
            .unwrap_or((min, used.count, limits.instances));
        let requested = i64::try_from(requested).unwrap_or(i64::MAX);
        return Err(Error::quota(&names.join(", "), requested, used, limit));
    }
    Ok(u64::try_from(allowed.min(i128::from(max))).unwrap_or(max))
}

impl Compute {
    /// The `min_count` of a create as the `u32` of [`CreateInstance`]. A
    /// count above `u32::MAX` is more than one create makes: it is refused
    /// with nova's quota error when the caller's quota cannot hold that
    /// many instances of `flavor_id` (always, unless its instance, cores
    /// and ram quotas are all unlimited), else with [`Error::Invalid`].
    pub async fn create_count(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        count: u64,
    ) -> Result<u32> {
        if let Ok(count) = u32::try_from(count) {
            return Ok(count);
        }
        let flavor = self.get_flavor(ctx, flavor_id).await?;
        if flavor.disabled && !ctx.is_admin {
            return Err(Error::not_found(Kind::Flavor, flavor_id));
        }
        let limits = self.project_limits(&ctx.project_id).await?;
        let used = InstanceUse::from_row(
            self.store
                .fetch_one(InstanceUse::SQL, args![&ctx.project_id, now_micros()])
                .await?,
        );
        instances_allowed(&limits, used, &flavor, count, count)?;
        Err(Error::invalid(format!(
            "Cannot create {count} instances in one request; the most is {}",
            u32::MAX
        )))
    }

    /// Creates `min_count..=max_count` instances (as many as the quota
    /// allows, at least `min_count`, else [`Error::QuotaExceeded`]).
    ///
    /// Checks: name, metadata (items and count against the quota), tags,
    /// user data, access IPs, personality files (against their quotas); the
    /// flavor is visible and enabled ([`Error::NotFound`] `Flavor`); the
    /// image is visible
    /// ([`Error::NotFound`] `Image`), active and fits the flavor; the
    /// keypair is the caller's ([`Error::NotFound`] `Keypair`). The quota
    /// check, fixed-IP allocation and inserts are one locked transaction.
    /// Instances start in (building, scheduling) and advance as configured.
    pub async fn create_instances(
        &self,
        ctx: &RequestContext,
        req: CreateInstance,
    ) -> Result<CreatedInstances> {
        let plan = self.plan_create(ctx, &req).await?;
        let reservation_id = new_reservation_id();
        let mut tx = self.begin_create(ctx).await?;
        let created = self
            .insert_instances(&mut tx, ctx, &req, &plan, &reservation_id)
            .await?;
        tx.commit().await?;
        self.load_created(ctx, reservation_id, created).await
    }

    /// [`Compute::create_instances`] made idempotent by a client token (EC2's
    /// `ClientToken`), unique per project: when an earlier request with the
    /// token made a reservation that still has live instances, nothing is
    /// created and that reservation is answered
    /// ([`ClientTokenOutcome::Replayed`]). The claim of the token and the
    /// inserts are one transaction, so of concurrent requests with one
    /// token exactly one creates and the others replay its reservation. A
    /// token is 1 to [`MAX_CLIENT_TOKEN_LENGTH`] ASCII characters
    /// ([`Error::Invalid`]).
    pub async fn create_instances_with_client_token(
        &self,
        ctx: &RequestContext,
        client_token: &str,
        req: CreateInstance,
    ) -> Result<ClientTokenOutcome> {
        validate_client_token(client_token)?;
        let plan = self.plan_create(ctx, &req).await?;
        let reservation_id = new_reservation_id();
        let mut tx = self.begin_create(ctx).await?;
        let claim = claim_client_token(
            &mut tx,
            &ctx.project_id,
            client_token,
            &reservation_id,
            now_micros(),
        )
        .await?;
        if let Some(holder) = claim {
            // Nothing was written: the rollback only releases the locks.
            drop(tx);
            let instances = self.reservation_instances(ctx, &holder).await?;
            return Ok(ClientTokenOutcome::Replayed {
                reservation_id: holder,
                instances,
            });
        }
        let created = self
            .insert_instances(&mut tx, ctx, &req, &plan, &reservation_id)
            .await?;
        tx.commit().await?;
        Ok(ClientTokenOutcome::Created(
            self.load_created(ctx, reservation_id, created).await?,
        ))
    }

    /// The live instances of a reservation of the caller's project, in
    /// launch index order.
    async fn reservation_instances(
        &self,
        ctx: &RequestContext,
        reservation_id: &str,
    ) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE project_id = $1 AND reservation_id = $2 \
                     AND deleted = FALSE ORDER BY launch_index"
                ),
                args![&ctx.project_id, reservation_id],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = self.advance(row).await?;
            if !row.deleted {
                out.push(row.to_instance());
            }
        }
        Ok(out)
    }

    /// The checks and look-ups of a create that need no transaction.
    async fn plan_create(&self, ctx: &RequestContext, req: &CreateInstance) -> Result<CreatePlan> {
        validate::name("name", &req.name)?;
        if let Some(d) = &req.description {
            validate::description(d)?;
        }
        validate_metadata(&req.metadata)?;
        validate_tags(&req.tags)?;
        if let Some(u) = &req.user_data {
            validate::user_data(u)?;
        }
        check_ip("accessIPv4", &req.access_ip_v4, false)?;
        check_ip("accessIPv6", &req.access_ip_v6, true)?;
        if let Some(h) = &req.hostname {
            validate::name("hostname", h)?;
        }
        let min = u64::from(req.min_count.max(1));
        let max = if req.max_count == 0 {
            min
        } else {
            u64::from(req.max_count)
        };
        if max < min {
            return Err(Error::invalid("min_count must be <= max_count"));
        }
        if let Some(az) = &req.availability_zone {
            if az != &self.config.availability_zone {
                return Err(Error::invalid(format!(
                    "The requested availability zone is not available: {az}"
                )));
            }
        }
        if let Some(h) = &req.host {
            ctx.require_admin("compute:servers:create:requested_destination")?;
            if !self.config.hosts.iter().any(|x| &x.name == h) {
                return Err(Error::not_found(Kind::Host, h.clone()));
            }
        }
        let flavor = self.get_flavor(ctx, &req.flavor_id).await?;
        if flavor.disabled && !ctx.is_admin {
            return Err(Error::not_found(Kind::Flavor, req.flavor_id.clone()));
        }
        let image = self.get_image(ctx, &req.image_ref).await?;
        if image.status != "active" {
            return Err(Error::invalid(format!(
                "Image {} is not active.",
                image.uuid
            )));
        }
        if flavor.ram < image.min_ram {
            return Err(Error::invalid(
                "Flavor's memory is too small for requested image.",
            ));
        }
        if flavor.disk > 0 && flavor.disk < image.min_disk {
            return Err(Error::invalid(
                "Flavor's disk is too small for requested image.",
            ));
        }
        let key_data = match &req.key_name {
            Some(k) => Some(
                self.get_keypair(ctx, k, None)
                    .await
                    .map_err(|_| Error::not_found(Kind::Keypair, k.clone()))?
                    .public_key,
            ),
            None => None,
        };
        let limits = self.project_limits(&ctx.project_id).await?;
        if limits.metadata_items >= 0 && req.metadata.len() as i64 > limits.metadata_items {
            return Err(Error::quota(
                "metadata_items",
                req.metadata.len() as i64,
                0,
                limits.metadata_items,
            ));
        }
        injected::check_quota(&limits, &req.injected_files)?;
        Ok(CreatePlan {
            flavor,
            image_uuid: image.uuid,
            key_data,
            limits,
            min,
            max,
        })
    }

    /// The write transaction of a create: the project's quota lock and,
    /// fixed IPs being global, the lock of their allocation.
    async fn begin_create(&self, ctx: &RequestContext) -> Result<Tx> {
        let mut tx = self
            .store
            .begin_locked(&format!("quota:{}", ctx.project_id))
            .await?;
        if self.store.engine() == Engine::Postgres {
            tx.execute("SELECT pg_advisory_xact_lock(7240814153)", vec![])
                .await?;
        }
        Ok(tx)
    }

    /// The quota check and the inserts of a create, inside `tx`.
    async fn insert_instances(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        req: &CreateInstance,
        plan: &CreatePlan,
        reservation_id: &str,
    ) -> Result<Inserted> {
        let (flavor, limits, min, max) = (&plan.flavor, &plan.limits, plan.min, plan.max);
        let admin_password = req.admin_password.clone().unwrap_or_else(new_password);
        let snap = FlavorSnapshot::from(flavor);
        let now = now_micros();
        let due = now + self.delay_micros();
        let tags: Vec<String> = req
            .tags
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut uuids = Vec::new();
        let used = InstanceUse::from_row(
            tx.fetch_one(InstanceUse::SQL, args![&ctx.project_id, now_micros()])
                .await?,
        );
        let n = instances_allowed(limits, used, flavor, min, max)?;
        let n = i64::try_from(n).expect("at most max_count, a u32");
        let host = match &req.host {
            Some(h) => h.clone(),
            None => self.pick_host(tx).await?,
        };
        for i in 0..n {
            let uuid = uuid::Uuid::new_v4().to_string();
            let name = if n > 1 {
                format!("{}-{}", req.name, i + 1)
            } else {
                req.name.clone()
            };
            let hostname = match &req.hostname {
                Some(h) if n == 1 => h.clone(),
                _ => validate::hostname_from(&name, &uuid),
            };
            let ip_num = if req.without_network {
                None
            } else {
                Some(self.allocate_ip(tx).await?)
            };
            let ip = ip_num.map(|n| Ipv4Addr::from(n as u32).to_string());
            tx.execute(
                "INSERT INTO instances (uuid, display_name, display_description, hostname, project_id, user_id, \
                 flavor_id, flavor_name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, flavor_extra_specs, image_ref, \
                 key_name, key_data, user_data, metadata, tags, availability_zone, host, node, launch_index, \
                 reservation_id, vm_state, task_state, power_state, state_seq, step_due_at, created_at, updated_at, \
                 deleted, fixed_ip, fixed_ip_num, mac_address, access_ip_v4, access_ip_v6, locked, config_drive, \
                 admin_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, 0, $29, $30, $30, FALSE, $31, $32, $33, $34, \
                 $35, FALSE, $36, $37)",
                args![
                    &uuid,
                    name,
                    &req.description,
                    hostname,
                    &ctx.project_id,
                    &ctx.user_id,
                    &snap.id,
                    &snap.name,
                    snap.vcpus,
                    snap.ram,
                    snap.disk,
                    snap.ephemeral,
                    snap.swap,
                    serde_json::to_string(&snap.extra_specs).unwrap_or_else(|_| "{}".into()),
                    &plan.image_uuid,
                    &req.key_name,
                    &plan.key_data,
                    &req.user_data,
                    serde_json::to_string(&req.metadata).unwrap_or_else(|_| "{}".into()),
                    serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
                    &self.config.availability_zone,
                    &host,
                    &host,
                    i,
                    reservation_id,
                    VmState::Building.as_str(),
                    TaskState::Scheduling.as_str(),
                    PowerState::NoState.code(),
                    due,
                    now,
                    ip,
                    ip_num,
                    new_mac(),
                    &req.access_ip_v4,
                    &req.access_ip_v6,
                    req.config_drive,
                    &admin_password,
                ],
            )
            .await?;
            crate::actions::record_in_tx(
                tx,
                ctx,
                &uuid,
                "create",
                Some("compute__do_build_and_run_instance"),
                now,
                Some(&host),
            )
            .await?;
            injected::replace(tx, &uuid, &req.injected_files).await?;
            uuids.push(uuid);
        }
        Ok(Inserted {
            uuids,
            admin_password,
        })
    }

    /// The answer of a create once committed: its instances, read back.
    async fn load_created(
        &self,
        ctx: &RequestContext,
        reservation_id: String,
        inserted: Inserted,
    ) -> Result<CreatedInstances> {
        let Inserted {
            uuids,
            admin_password,
        } = inserted;
        let mut instances = Vec::with_capacity(uuids.len());
        for u in &uuids {
            instances.push(self.load(ctx, u, true).await?.to_instance());
        }
        Ok(CreatedInstances {
            reservation_id,
            instances,
            admin_password,
        })
    }

    /// The live instance `uuid` of the caller's project (any project for
    /// admins), advanced to its current state. Deleted ones are not found.
    pub async fn get_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        Ok(self.load(ctx, uuid, false).await?.to_instance())
    }

    /// Like [`Compute::get_instance`], but deleted instances are found too
    /// (EC2 shows terminated instances; admins read deleted ones).
    pub async fn get_instance_including_deleted(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Instance> {
        Ok(self.load(ctx, uuid, true).await?.to_instance())
    }

    /// The instance with integer id `id` (behind an EC2 id), deleted ones
    /// included, scoped like [`Compute::get_instance`].
    pub async fn get_instance_by_id(&self, ctx: &RequestContext, id: i64) -> Result<Instance> {
        let row: Option<InstanceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"),
                args![id],
            )
            .await?;
        let row = row
            .filter(|r| ctx.can_access_project(&r.project_id))
            .ok_or_else(|| Error::not_found(Kind::Instance, crate::ec2::ec2_instance_id(id)))?;
        Ok(self.advance(row).await?.to_instance())
    }

    /// The instance with EC2 id `i-xxxxxxxx`.
    pub async fn get_instance_by_ec2_id(
        &self,
        ctx: &RequestContext,
        ec2_id: &str,
    ) -> Result<Instance> {
        let id = crate::ec2::parse_ec2_id(ec2_id, &["i"])?;
        self.get_instance_by_id(ctx, id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found(Kind::Instance, ec2_id),
            e => e,
        })
    }

    /// The live instance holding fixed IP `ip` (the metadata service's
    /// lookup), scoped like [`Compute::get_instance`].
    pub async fn get_instance_by_fixed_ip(
        &self,
        ctx: &RequestContext,
        ip: Ipv4Addr,
    ) -> Result<Instance> {
        let row: Option<InstanceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE fixed_ip_num = $1 AND deleted = FALSE"),
                args![u32::from(ip) as i64],
            )
            .await?;
        let row = row
            .filter(|r| ctx.can_access_project(&r.project_id))
            .ok_or_else(|| Error::not_found(Kind::Instance, ip.to_string()))?;
        Ok(self.advance(row).await?.to_instance())
    }

    /// The uuid of the live instance holding fixed IP `ip`, if any: one
    /// indexed lookup, for the metadata service to check that what it
    /// cached under an address still belongs to the instance there.
    pub async fn fixed_ip_owner(&self, ip: Ipv4Addr) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT uuid FROM instances WHERE fixed_ip_num = $1 AND deleted = FALSE",
                args![u32::from(ip) as i64],
            )
            .await?;
        Ok(row.map(|(uuid,)| uuid))
    }

    /// Lists instances (see [`InstanceFilter`]). Non-admins always see only
    /// their project; admin-only filters are ignored for them. An unknown
    /// marker is [`Error::Invalid`] ("marker [x] not found").
    pub async fn list_instances(
        &self,
        ctx: &RequestContext,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>> {
        let engine = self.store.engine();
        let mut wh: Vec<String> = Vec::new();
        let mut a: Vec<Arg> = Vec::new();
        let push = |wh: &mut Vec<String>, a: &mut Vec<Arg>, clause: &str, v: Arg| {
            a.push(v);
            wh.push(clause.replace('?', &format!("${}", a.len())));
        };
        if !ctx.is_admin {
            push(
                &mut wh,
                &mut a,
                "project_id = ?",
                Arg::Text(ctx.project_id.clone()),
            );
        } else if let Some(p) = &filter.project_id {
            push(&mut wh, &mut a, "project_id = ?", Arg::Text(p.clone()));
        } else if !filter.all_projects {
            push(
                &mut wh,
                &mut a,
                "project_id = ?",
                Arg::Text(ctx.project_id.clone()),
            );
        }
        let changes = filter.changes_since.is_some() || filter.changes_before.is_some();
        let live_only = match (ctx.is_admin, filter.deleted) {
            (true, Some(true)) => {
                wh.push("deleted = TRUE".into());
                false
            }
            (true, Some(false)) => true,
            _ => !changes,
        };
        if live_only {
            wh.push("deleted = FALSE".into());
        }
        // Both bounds are inclusive of the second a client sees: times are
        // shown in whole seconds, so a server shown as updated at the bound
        // is in `changes-since` and in `changes-before` alike.
        if let Some(t) = filter.changes_since {
            push(
                &mut wh,
                &mut a,
                "COALESCE(updated_at, created_at) >= ?",
                Arg::Int(shown_second_start(t)),
            );
        }
        if let Some(t) = filter.changes_before {
            push(
                &mut wh,
                &mut a,
                "COALESCE(updated_at, created_at) < ?",
                Arg::Int(shown_second_start(t).saturating_add(1_000_000)),
            );
        }
        let text_filters: [(&str, &Option<String>); 11] = [
            ("user_id", &filter.user_id),
            ("image_ref", &filter.image_ref),
            ("flavor_id", &filter.flavor_id),
            ("host", if ctx.is_admin { &filter.host } else { &None }),
            ("node", if ctx.is_admin { &filter.node } else { &None }),
            ("key_name", &filter.key_name),
            ("reservation_id", &filter.reservation_id),
            ("availability_zone", &filter.availability_zone),
            ("hostname", &filter.hostname),
            ("access_ip_v4", &filter.access_ip_v4),
            ("access_ip_v6", &filter.access_ip_v6),
        ];
        for (col, v) in text_filters {
            if let Some(v) = v {
                push(&mut wh, &mut a, &format!("{col} = ?"), Arg::Text(v.clone()));
            }
        }
        if let Some(i) = filter.launch_index {
            push(&mut wh, &mut a, "launch_index = ?", Arg::Int(i));
        }
        if let Some(l) = filter.locked {
            push(&mut wh, &mut a, "locked = ?", Arg::Bool(l));
        }
        if let Some(l) = filter.config_drive {
            push(&mut wh, &mut a, "config_drive = ?", Arg::Bool(l));
        }
        let in_list = |wh: &mut Vec<String>, a: &mut Vec<Arg>, col: &str, vals: Vec<Arg>| {
            if vals.is_empty() {
                wh.push("1 = 0".into());
                return;
            }
            let mut ph = Vec::new();
            for v in vals {
                a.push(v);
                ph.push(format!("${}", a.len()));
            }
            wh.push(format!("{col} IN ({})", ph.join(", ")));
        };
        if let Some(v) = &filter.uuids {
            in_list(
                &mut wh,
                &mut a,
                "uuid",
                v.iter().map(|s| Arg::Text(s.clone())).collect(),
            );
        }
        if let Some(v) = &filter.ids {
            in_list(
                &mut wh,
                &mut a,
                "id",
                v.iter().map(|s| Arg::Int(*s)).collect(),
            );
        }
        // State filters. A row whose next step is due is in a later state
        // than it stores (states advance when read), so those rows are read
        // too, and every state filter is checked again once they advanced.
        let now = now_micros();
        let mut states: Vec<String> = Vec::new();
        if let Some(v) = &filter.vm_states {
            in_list(
                &mut states,
                &mut a,
                "vm_state",
                v.iter().map(|s| Arg::Text(s.as_str().into())).collect(),
            );
        }
        if let Some(v) = &filter.statuses {
            let vm_states: BTreeSet<&'static str> = v
                .iter()
                .filter_map(|s| crate::states::vm_states_for_status(s))
                .flatten()
                .map(VmState::as_str)
                .collect();
            in_list(
                &mut states,
                &mut a,
                "vm_state",
                vm_states.into_iter().map(|s| Arg::Text(s.into())).collect(),
            );
        }
        if let Some(v) = &filter.task_states {
            in_list(
                &mut states,
                &mut a,
                "task_state",
                v.iter().map(|s| Arg::Text(s.as_str().into())).collect(),
            );
        }
        if let Some(v) = &filter.power_states {
            in_list(
                &mut states,
                &mut a,
                "power_state",
                v.iter().map(|s| Arg::Int(s.code())).collect(),
            );
        }
        let state_filtered = !states.is_empty();
        if state_filtered {
            a.push(Arg::Int(now));
            wh.push(format!(
                "(({}) OR (step_due_at IS NOT NULL AND step_due_at <= ${}))",
                states.join(" AND "),
                a.len()
            ));
        }

        let mut sort = if filter.sort.is_empty() {
            vec![(SortKey::CreatedAt, SortDir::Desc)]
        } else {
            filter.sort.clone()
        };
        if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
            let dir = sort[0].1;
            sort.push((SortKey::Id, dir));
        }
        if let Some(m) = &filter.marker {
            let mrow: Option<InstanceRow> = self
                .store
                .fetch_optional(
                    &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE uuid = $1"),
                    args![m],
                )
                .await?;
            let mrow = mrow
                .filter(|r| ctx.can_access_project(&r.project_id))
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            // Keyset paging: rows strictly after the marker in sort order.
            let mut ors = Vec::new();
            for i in 0..sort.len() {
                let mut ands = Vec::new();
                for (k, _) in &sort[..i] {
                    a.push(k.marker_value(&mrow));
                    ands.push(format!("{} = ${}", k.expr(engine), a.len()));
                }
                let (k, d) = sort[i];
                a.push(k.marker_value(&mrow));
                let op = if d == SortDir::Asc { ">" } else { "<" };
                ands.push(format!("{} {op} ${}", k.expr(engine), a.len()));
                ors.push(format!("({})", ands.join(" AND ")));
            }
            wh.push(format!("({})", ors.join(" OR ")));
        }
        let order: Vec<String> = sort
            .iter()
            .map(|(k, d)| {
                format!(
                    "{} {}",
                    k.expr(engine),
                    if *d == SortDir::Asc { "ASC" } else { "DESC" }
                )
            })
            .collect();
        let name_re = filter.name.as_deref().map(compile_regex).transpose()?;
        let ip_re = filter.ip.as_deref().map(compile_regex).transpose()?;
        let ip6_re = filter.ip6.as_deref().map(compile_regex).transpose()?;
        let post_filter = state_filtered
            || name_re.is_some()
            || ip_re.is_some()
            || ip6_re.is_some()
            || !filter.tags.is_empty()
            || !filter.tags_any.is_empty()
            || !filter.not_tags.is_empty()
            || !filter.not_tags_any.is_empty();
        // Only the keys: full rows come from the per-process cache when
        // their `state_seq` still matches (see `RowCache`).
        let mut sql = "SELECT id, state_seq FROM instances".to_string();
        if !wh.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wh.join(" AND "));
        }
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
        if let (Some(l), false) = (filter.limit, post_filter) {
            // SQL's LIMIT is a BIGINT; no table holds i64::MAX rows anyway.
            let l = i64::try_from(l).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let keys: Vec<(i64, i64)> = self.store.fetch_all(&sql, a).await?;
        let rows = self.cache.rows(&self.store, &keys).await?;
        let page_was_full = filter.limit.is_some_and(|l| rows.len() >= l);
        let last_read = rows.last().map(|r| r.row.uuid.clone());
        let mut completed_deletes = 0;
        let mut out = Vec::with_capacity(rows.len());
        for cached in rows {
            let row = &cached.row;
            if post_filter {
                if let Some(re) = &name_re {
                    if !re.is_match(&row.display_name) {
                        continue;
                    }
                }
                if let Some(re) = &ip_re {
                    if !row.fixed_ip.as_deref().is_some_and(|ip| re.is_match(ip)) {
                        continue;
                    }
                }
                if let Some(re) = &ip6_re {
                    if !row
                        .access_ip_v6
                        .as_deref()
                        .is_some_and(|ip| re.is_match(ip))
                    {
                        continue;
                    }
                }
                let tags = &cached.instance.tags;
                let has = |t: &String| tags.contains(t);
                if !filter.tags.iter().all(has)
                    || (!filter.tags_any.is_empty() && !filter.tags_any.iter().any(has))
                    || (!filter.not_tags.is_empty() && filter.not_tags.iter().all(has))
                    || filter.not_tags_any.iter().any(has)
                {
                    continue;
                }
            }
            let instance = if row.step_due_at.is_some_and(|d| d <= now) {
                self.advance(row.clone()).await?.to_instance()
            } else {
                cached.instance.clone()
            };
            // A delete that completes as the listing advances the row is
            // as good as done: a live-only listing never shows it.
            if live_only && instance.deleted {
                completed_deletes += 1;
                continue;
            }
            if state_filtered && !filter.state_matches(&instance) {
                continue;
            }
            out.push(instance);
            if post_filter && filter.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        // A page cut by SQL's LIMIT lost the rows whose delete completed
        // above: the rows after the last one read fill it again.
        if let (true, false, true, Some(last)) =
            (completed_deletes > 0, post_filter, page_was_full, last_read)
        {
            let rest = InstanceFilter {
                marker: Some(last),
                limit: Some(completed_deletes),
                ..filter.clone()
            };
            out.extend(Box::pin(self.list_instances(ctx, &rest)).await?);
        }
        Ok(out)
    }

    /// Renames or re-describes an instance (`PUT /servers/{id}`).
    pub async fn update_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        upd: UpdateInstance,
    ) -> Result<Instance> {
        if let Some(n) = &upd.name {
            validate::name("name", n)?;
        }
        if let Some(Some(d)) = &upd.description {
            validate::description(d)?;
        }
        if let Some(h) = &upd.hostname {
            validate::name("hostname", h)?;
        }
        if let Some(v) = &upd.access_ip_v4 {
            check_ip("accessIPv4", v, false)?;
        }
        if let Some(v) = &upd.access_ip_v6 {
            check_ip("accessIPv6", v, true)?;
        }
        self.mutate(ctx, uuid, |row| {
            if let Some(n) = &upd.name {
                row.display_name = n.clone();
            }
            if let Some(d) = &upd.description {
                row.display_description = d.clone();
            }
            if let Some(h) = &upd.hostname {
                row.hostname = h.clone();
            }
            if let Some(v) = &upd.access_ip_v4 {
                row.access_ip_v4 = v.clone();
            }
            if let Some(v) = &upd.access_ip_v6 {
                row.access_ip_v6 = v.clone();
            }
            Ok(())
        })
        .await
        .map(|r| r.to_instance())
    }

    /// The metadata of an instance.
    pub async fn get_instance_metadata(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(self.load(ctx, uuid, false).await?.metadata_map())
    }

    /// Sets metadata: merges `items` into it, or replaces it all when
    /// `replace`. Validates each pair and the item count against the
    /// project's `metadata_items` quota; refuses locked instances
    /// (non-admin) and instances that are building, in error or deleted.
    /// Returns the whole metadata after the change.
    pub async fn update_instance_metadata(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        items: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        validate_metadata(&items)?;
        let action = if replace {
            "update_all_metadata"
        } else {
            "update_metadata"
        };
        let row = self.load(ctx, uuid, false).await?;
        let limit = self.project_limits(&row.project_id).await?.metadata_items;
        let row = self
            .mutate(ctx, uuid, |row| {
                check_metadata_state(ctx, row, action)?;
                let mut meta = if replace {
                    BTreeMap::new()
                } else {
                    row.metadata_map()
                };
                meta.extend(items.clone());
                if limit >= 0 && meta.len() as i64 > limit {
                    return Err(Error::quota("metadata_items", meta.len() as i64, 0, limit));
                }
                row.metadata =
                    serde_json::to_string(&meta).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(())
            })
            .await?;
        Ok(row.metadata_map())
    }

    /// Deletes one metadata key ([`Error::NotFound`] `MetadataKey` if absent).
    pub async fn delete_instance_metadata_item(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        key: &str,
    ) -> Result<()> {
        self.mutate(ctx, uuid, |row| {
            check_metadata_state(ctx, row, "delete_metadata")?;
            let mut meta = row.metadata_map();
            if meta.remove(key).is_none() {
                return Err(Error::not_found(Kind::MetadataKey, key));
            }
            row.metadata =
                serde_json::to_string(&meta).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The tags of an instance, sorted.
    pub async fn list_instance_tags(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<String>> {
        Ok(self.load(ctx, uuid, false).await?.tag_list())
    }

    /// Replaces all tags (`PUT /servers/{id}/tags`); returns them sorted.
    pub async fn set_instance_tags(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tags: Vec<String>,
    ) -> Result<Vec<String>> {
        validate_tags(&tags)?;
        let set: BTreeSet<String> = tags.into_iter().collect();
        let row = self
            .mutate(ctx, uuid, |row| {
                row.tags =
                    serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(())
            })
            .await?;
        Ok(row.tag_list())
    }

    /// Adds one tag; returns true when it was new.
    pub async fn add_instance_tag(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tag: &str,
    ) -> Result<bool> {
        validate::tag(tag)?;
        let mut added = false;
        self.mutate(ctx, uuid, |row| {
            let mut set: BTreeSet<String> = row.tag_list().into_iter().collect();
            added = set.insert(tag.to_string());
            if set.len() > validate::MAX_TAGS {
                return Err(Error::invalid(format!(
                    "The number of tags exceeded the per-server limit {}",
                    validate::MAX_TAGS
                )));
            }
            row.tags = serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await?;
        Ok(added)
    }

    /// Removes one tag ([`Error::NotFound`] `Tag` if absent).
    pub async fn delete_instance_tag(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tag: &str,
    ) -> Result<()> {
        self.mutate(ctx, uuid, |row| {
            let mut set: BTreeSet<String> = row.tag_list().into_iter().collect();
            if !set.remove(tag) {
                return Err(Error::not_found(Kind::Tag, tag));
            }
            row.tags = serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// The metadata-service password (`None` when not set).
    pub async fn get_instance_password(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Option<String>> {
        Ok(self
            .load(ctx, uuid, false)
            .await?
            .password
            .filter(|p| !p.is_empty()))
    }

    /// Sets the metadata-service password once: longer than 1020 bytes is
    /// [`Error::Invalid`] ("Request is too large."); already set is
    /// [`Error::Conflict`]. Atomic across processes.
    pub async fn set_instance_password(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        password: &str,
    ) -> Result<()> {
        if password.len() > validate::MAX_PASSWORD_LENGTH {
            return Err(Error::invalid("Request is too large."));
        }
        let row = self.load(ctx, uuid, false).await?;
        let n = self
            .store
            .execute(
                "UPDATE instances SET password = $1, updated_at = $2, state_seq = state_seq + 1 \
                 WHERE id = $3 AND (password IS NULL OR password = '')",
                args![password, now_micros(), row.id],
            )
            .await?;
        if n == 0 {
            return Err(Error::Conflict("Password already set.".into()));
        }
        Ok(())
    }

    /// Clears the metadata-service password (`DELETE .../os-server-password`).
    pub async fn clear_instance_password(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let row = self.load(ctx, uuid, false).await?;
        self.store
            .execute(
                "UPDATE instances SET password = NULL, updated_at = $1, state_seq = state_seq + 1 WHERE id = $2",
                args![now_micros(), row.id],
            )
            .await?;
        Ok(())
    }

    /// The simulated console log: the last `length` lines (all if `None`).
    /// Building, errored or deleted instances have none
    /// ([`Error::InvalidState`]).
    pub async fn console_output(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        length: Option<usize>,
    ) -> Result<String> {
        let row = self.load(ctx, uuid, false).await?;
        let vm = row.vm();
        if matches!(vm, VmState::Building | VmState::Error) {
            return Err(Error::InvalidState {
                action: "get_console_output".into(),
                uuid: row.uuid.clone(),
                attr: "vm_state",
                state: vm.as_str().into(),
            });
        }
        let ip = row.fixed_ip.clone().unwrap_or_default();
        let lines = [
            "[    0.000000] Linux version 5.15.0-71-generic (buildd@lcy02-amd64-044) #78-Ubuntu SMP".to_string(),
            "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=LABEL=cirros-rootfs ro console=tty1 console=ttyS0".into(),
            "[    1.204518] virtio_net virtio0 eth0: renamed from eth0".into(),
            format!("Starting network: udhcpc: lease of {ip} obtained, lease time 86400"),
            "checking http://169.254.169.254/2009-04-04/instance-id".to_string(),
            format!("successful after 1/20 tries: up 2.41. iid={}", crate::ec2::ec2_instance_id(row.id)),
            "=== system information ===".to_string(),
            "Platform: OpenStack Foundation OpenStack Nova".to_string(),
            "=== datasource: ec2 net ===".to_string(),
            format!("instance-id: {}", crate::ec2::ec2_instance_id(row.id)),
            format!("name: {}", row.display_name),
            format!("local-ipv4: {ip}"),
            "=== cirros: current=0.6.2 uptime=3.07 ===".to_string(),
            String::new(),
            "login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.".to_string(),
            format!("{} login: ", row.hostname),
        ];
        let skip = length.map(|l| lines.len().saturating_sub(l)).unwrap_or(0);
        Ok(lines[skip..].join("\n"))
    }

    // ---- crate-internal helpers shared with lifecycle ----

    /// Loads an instance row visible to `ctx` and advances it.
    pub(crate) async fn load(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        include_deleted: bool,
    ) -> Result<InstanceRow> {
        let row: Option<InstanceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE uuid = $1"),
                args![uuid],
            )
            .await?;
        let row = row
            .filter(|r| ctx.can_access_project(&r.project_id))
            .ok_or_else(|| Error::not_found(Kind::Instance, uuid))?;
        let row = self.advance(row).await?;
        if row.deleted && !include_deleted {
            return Err(Error::not_found(Kind::Instance, uuid));
        }
        Ok(row)
    }

    /// Reads, changes with `f` and saves a live instance, retrying when
    /// another writer got there first. `f` may refuse with an error.
    pub(crate) async fn mutate(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        mut f: impl FnMut(&mut InstanceRow) -> Result<()>,
    ) -> Result<InstanceRow> {
        for _ in 0..CAS_RETRIES {
            let mut row = self.load(ctx, uuid, false).await?;
            f(&mut row)?;
            row.updated_at = Some(now_micros());
            if save_row(self, &row).await? {
                row.state_seq += 1;
                return Ok(row);
            }
        }
        Err(Error::Conflict(format!(
            "Instance {uuid} is being changed concurrently; try again"
        )))
    }

    /// The smallest free fixed IP of the range (as an integer); the first
    /// host address is the gateway and never given out. An address is free
    /// when no live instance holds it and no instance deleted within
    /// `fixed_ip_reuse_delay` held it (the metadata service may still have
    /// its previous owner cached under it).
    async fn allocate_ip(&self, tx: &mut crate::store::Tx) -> Result<i64> {
        let net = self.config.fixed_ip_range;
        let first = u32::from(net.network()) as i64 + 2;
        let last = u32::from(net.broadcast()) as i64 - 1;
        let reuse_delay =
            i64::try_from(self.config.fixed_ip_reuse_delay.as_micros()).unwrap_or(i64::MAX);
        let freed_before = now_micros().saturating_sub(reuse_delay);
        let (next,): (Option<i64>,) = tx
            .fetch_one(
                "SELECT MIN(c.n) FROM (SELECT CAST($1 AS BIGINT) AS n UNION ALL \
                 SELECT fixed_ip_num + 1 FROM instances WHERE fixed_ip_num IS NOT NULL \
                 AND (deleted = FALSE OR deleted_at > $3)) c \
                 WHERE c.n >= $1 AND c.n <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.deleted = FALSE AND i.fixed_ip_num = c.n) \
                 AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.fixed_ip_num = c.n \
                 AND i.deleted = TRUE AND i.deleted_at > $3)",
                args![first, last, freed_before],
            )
            .await?;
        next.ok_or_else(|| Error::Conflict(format!("No fixed IP addresses available in {net}")))
    }

    /// The configured host with the fewest live instances.
    async fn pick_host(&self, tx: &mut crate::store::Tx) -> Result<String> {
        let counts: Vec<(Option<String>, i64)> = tx
            .fetch_all(
                "SELECT host, COUNT(*) FROM instances WHERE deleted = FALSE GROUP BY host",
                vec![],
            )
            .await?;
        let load = |h: &str| {
            counts
                .iter()
                .find(|(n, _)| n.as_deref() == Some(h))
                .map(|c| c.1)
                .unwrap_or(0)
        };
        self.config
            .hosts
            .iter()
            .min_by_key(|h| load(&h.name))
            .map(|h| h.name.clone())
            .ok_or_else(|| Error::Internal("no compute hosts configured".into()))
    }
}

fn check_metadata_state(ctx: &RequestContext, row: &InstanceRow, action: &str) -> Result<()> {
    if row.locked && !ctx.is_admin {
        return Err(Error::Locked {
            uuid: row.uuid.clone(),
        });
    }
    let vm = row.vm();
    if !matches!(
        vm,
        VmState::Active | VmState::Paused | VmState::Suspended | VmState::Stopped
    ) {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: row.uuid.clone(),
            attr: "vm_state",
            state: vm.as_str().into(),
        });
    }
    Ok(())
}

fn compile_regex(s: &str) -> Result<regex::Regex> {
    regex::Regex::new(s).map_err(|_| Error::invalid(format!("Invalid regular expression: {s}")))
}

/// A row and its conversion, as cached.
#[derive(Debug)]
pub(crate) struct CachedRow {
    pub row: InstanceRow,
    pub instance: Instance,
}

/// A per-process cache of instance rows, validated on every use.
///
/// Every write to an instance row bumps its `state_seq`, so a list reads
/// only `(id, state_seq)` from the database and takes a cached row only
/// when its sequence matches; others (changed by any process or host) are
/// fetched and cached anew. Decoding ~55 columns per row dominates a list
/// otherwise.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    map: std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<CachedRow>>>,
}

/// Most rows kept per process; past it the cache starts over.
const CACHE_LIMIT: usize = 100_000;

impl RowCache {
    /// The rows for `keys` (id, state_seq), in that order.
    pub(crate) async fn rows(
        &self,
        store: &crate::Store,
        keys: &[(i64, i64)],
    ) -> Result<Vec<std::sync::Arc<CachedRow>>> {
        let mut found: std::collections::HashMap<i64, std::sync::Arc<CachedRow>> =
            std::collections::HashMap::new();
        let mut missing = Vec::new();
        {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            for (id, seq) in keys {
                match map.get(id) {
                    Some(c) if c.row.state_seq == *seq => {
                        found.insert(*id, c.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        for chunk in missing.chunks(500) {
            let ph: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id IN ({})",
                ph.join(", ")
            );
            let rows: Vec<InstanceRow> = store
                .fetch_all(&sql, chunk.iter().map(|i| Arg::Int(*i)).collect())
                .await?;
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() + rows.len() > CACHE_LIMIT {
                map.clear();
            }
            for row in rows {
                let instance = row.to_instance();
                let c = std::sync::Arc::new(CachedRow { row, instance });
                map.insert(c.row.id, c.clone());
                found.insert(c.row.id, c);
            }
        }
        // A row deleted from the table between the two reads is skipped.
        Ok(keys
            .iter()
            .filter_map(|(id, _)| found.get(id).cloned())
            .collect())
    }
}
