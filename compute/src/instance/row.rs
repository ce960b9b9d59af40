//! The instance row as stored: its columns, its conversion to the model,
//! the compare-and-swap save, and the load and read-change-save helpers
//! every operation on one instance goes through.

use std::collections::BTreeMap;

use super::model::{FlavorSnapshot, Instance, InstanceFault};
use crate::states::{PowerState, TaskState, VmState};
use crate::store::{args, from_micros, from_micros_opt, now_micros, Arg};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// The columns read for an instance, in [`InstanceRow`] order.
pub(crate) const INSTANCE_COLUMNS: &str = "id, uuid, display_name, display_description, hostname, project_id, user_id, \
    flavor_id, flavor_name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, flavor_extra_specs, old_flavor, new_flavor, \
    image_ref, key_name, key_data, user_data, metadata, tags, availability_zone, host, node, launch_index, reservation_id, \
    vm_state, task_state, power_state, state_seq, step_due_at, created_at, updated_at, launched_at, terminated_at, \
    deleted_at, deleted, access_ip_v4, access_ip_v6, locked, locked_by, locked_reason, \
    config_drive, admin_password, password, fault_code, fault_message, fault_details, fault_created_at, \
    pinned_availability_zone, scheduler_hints, auto_disk_config";

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
    pub pinned_availability_zone: Option<String>,
    pub scheduler_hints: Option<String>,
    pub auto_disk_config: bool,
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
            vifs: Vec::new(),
            access_ip_v4: self.access_ip_v4.clone(),
            access_ip_v6: self.access_ip_v6.clone(),
            locked: self.locked,
            locked_by: self.locked_by.clone(),
            locked_reason: self.locked_reason.clone(),
            config_drive: self.config_drive,
            pinned_availability_zone: self.pinned_availability_zone.clone(),
            scheduler_hints: self
                .scheduler_hints
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
            auto_disk_config: self.auto_disk_config,
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
         key_name = $36, key_data = $37, user_data = $38, pinned_availability_zone = $39, \
         auto_disk_config = $40, host = $41, node = $42, availability_zone = $43, \
         state_seq = state_seq + 1 WHERE id = $44 AND state_seq = $45",
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
            &row.pinned_availability_zone,
            row.auto_disk_config,
            &row.host,
            &row.node,
            &row.availability_zone,
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

impl Compute {
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
}
