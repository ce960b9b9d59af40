//! What a listing asks for: [`InstanceFilter`] with its sort keys
//! ([`SortKey`], [`SortDir`]), and the state check made after states
//! advanced.

use chrono::{DateTime, Utc};

use super::model::Instance;
use crate::states::{PowerState, TaskState, VmState};

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
    pub(super) fn state_matches(&self, instance: &Instance) -> bool {
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
