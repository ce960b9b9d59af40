//! Cold migration (`migrate`): nova's resize to the same flavor on
//! another host. The instance moves to its new host at once (the
//! simulator has nothing to copy), goes through the resize steps to
//! (resized, -) (VERIFY_RESIZE) and is confirmed or reverted as a resize
//! is; a revert puts it back on the source host of its migration record
//! ([`crate::migration_record`]).
//!
//! [`schedule_move`] is how every move (cold and live migration,
//! evacuation, the unshelve of an offloaded instance) finds its host: the
//! scheduler's filters and weighers over the hosts other than the one the
//! instance leaves, with the instance's pinned zone and its group's
//! policy.

use std::collections::BTreeMap;

use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::migration_record::{self, MigrationType, NewMigration};
use crate::scheduler::{self, GroupPlacement, PlacementRequest};
use crate::server_group::hinted_group;
use crate::states::{TaskState, VmState};
use crate::{Compute, Error, Instance, RequestContext, Result};

/// Where a move may go.
#[derive(Debug, Clone, Default)]
pub(crate) struct MoveRequest {
    /// The host the instance leaves (never chosen); `None` when it has none.
    pub source: Option<String>,
    /// The zone the instance must stay in.
    pub zone: Option<String>,
    /// A host asked for, still checked by the filters.
    pub host: Option<String>,
}

/// The host the scheduler chooses for a move of instance `uuid`, or
/// `None` (nova's `NoValidHost`).
pub(crate) async fn schedule_move(
    c: &Compute,
    uuid: &str,
    req: &MoveRequest,
) -> Result<Option<String>> {
    let zones = c.host_zones().await?;
    let mut tx = c.store.begin_locked(&format!("move:{uuid}")).await?;
    let mut states = c.host_states(&mut tx, &zones).await?;
    for state in &mut states {
        if req.source.as_deref() == Some(state.name.as_str()) {
            state.usable = false;
        }
        // The instance itself is no load of the host it may go to.
        state.instances.remove(uuid);
    }
    let mut group = None;
    if let Some(group_uuid) = c.server_groups_of(uuid).await?.into_iter().next() {
        let hinted = hinted_group(&mut tx, &group_uuid).await?;
        let mut members_per_host = BTreeMap::new();
        let mut own_skipped = false;
        for h in &hinted.member_hosts {
            // The moving member does not count where it leaves.
            if !own_skipped && req.source.as_deref() == Some(h.as_str()) {
                own_skipped = true;
                continue;
            }
            *members_per_host.entry(h.clone()).or_insert(0) += 1;
        }
        group = Some(GroupPlacement {
            policy: hinted.policy,
            max_server_per_host: hinted.max_server_per_host,
            members_per_host,
        });
    }
    drop(tx);
    let request = PlacementRequest {
        zone: req.zone.clone(),
        host: req.host.clone(),
        group,
        ..Default::default()
    };
    Ok(scheduler::place(&states, &request, 1)
        .ok()
        .and_then(|hosts| hosts.into_iter().next()))
}

/// The zone an instance stays in when it moves: the one it was asked
/// into (its pinned zone), else none.
pub(crate) fn pinned_zone(row: &crate::instance::InstanceRow) -> Option<String> {
    row.pinned_availability_zone
        .clone()
        .filter(|z| !z.is_empty())
}

impl Compute {
    /// `migrate`: an active or stopped instance (no task) to `host` (2.56,
    /// which must exist and differ from its own: 400) or to the host the
    /// scheduler chooses. With none it finds none: nova's `NoValidHost`
    /// ([`Error::Invalid`]). A `migration` record follows it.
    pub async fn migrate_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        host: Option<&str>,
    ) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Active, VmState::Stopped],
            task: NO_TASK,
        };
        let row = self.load(ctx, uuid, false).await?;
        check(ctx, &row, "migrate", &allowed)?;
        let source = row.host.clone().unwrap_or_default();
        match host {
            Some(h) if h == source => {
                return Err(Error::invalid(
                    "Cannot migrate to the host where the server exists.",
                ))
            }
            Some(h) if !self.config.hosts.iter().any(|c| c.name == h) => {
                return Err(Error::invalid(format!(
                    "Compute host {h} could not be found."
                )))
            }
            _ => {}
        }
        let request = MoveRequest {
            source: Some(source.clone()),
            zone: pinned_zone(&row),
            host: host.map(str::to_string),
        };
        let target = schedule_move(self, uuid, &request).await?.ok_or_else(|| {
            Error::invalid("No valid host was found. No valid host found for cold migrate")
        })?;
        let flavor =
            serde_json::to_string(&row.flavor()).map_err(|e| Error::Internal(e.to_string()))?;
        // Made first, so the steps a zero delay takes at once move it.
        let new = NewMigration {
            kind: MigrationType::Migration,
            status: "pre-migrating",
            source: Some(&source),
            dest: Some(&target),
            old_flavor: &row.flavor_id,
            new_flavor: &row.flavor_id,
            live_totals: None,
        };
        let record = migration_record::create(self, ctx, uuid, new).await?;
        let instance = self
            .act(
                ctx,
                uuid,
                "migrate",
                "migrate",
                Some("compute_resize_instance"),
                allowed,
                |r| {
                    r.old_flavor = Some(flavor.clone());
                    r.new_flavor = Some(flavor.clone());
                    r.task_state = Some(TaskState::ResizePrep.as_str().into());
                    r.host = Some(target.clone());
                    r.node = Some(target.clone());
                    Ok(())
                },
            )
            .await;
        if instance.is_err() {
            migration_record::set_status(self, record.id, "error", false).await?;
        }
        instance
    }
}

/// The host a migrated or resized instance goes back to on a revert, if
/// it has a move awaiting confirm or revert.
pub(crate) async fn source_host(c: &Compute, uuid: &str) -> Result<Option<String>> {
    Ok(migration_record::open_resize(c, uuid)
        .await?
        .and_then(|m| m.source_compute))
}

/// Ends the open cold migration or resize record of `uuid` with `status`
/// (`confirmed`, `reverting`).
pub(crate) async fn end_open_move(c: &Compute, uuid: &str, status: &str) -> Result<()> {
    if let Some(record) = migration_record::open_resize(c, uuid).await? {
        migration_record::set_status(c, record.id, status, false).await?;
    }
    Ok(())
}
