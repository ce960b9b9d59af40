//! Shelving: `shelve`, `shelveOffload`, `unshelve` and what nova keeps in
//! the instance's system metadata meanwhile (`shelved_image_id`,
//! `shelved_at`, `shelved_host`: table `instance_system_metadata`).
//!
//! A shelve makes the snapshot `<name>-shelved` (nova's `image_type`
//! `snapshot`) at the request, then the driver's steps run
//! (`lifecycle.rs`); `[DEFAULT] shelved_offload_time` decides when the
//! shelved instance leaves its host. Unshelving an offloaded instance puts
//! it on the host the scheduler chooses (among the one asked for at
//! 2.91, in the zone asked for or pinned, by its group's policy), and
//! once it is active the snapshot is deleted.

use std::collections::BTreeMap;

use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::states::{TaskState, VmState};
use crate::store::args;
use crate::{snapshot, Compute, Error, Instance, RequestContext, Result};

/// The system metadata key of the shelve snapshot's image id.
pub const SHELVED_IMAGE_ID: &str = "shelved_image_id";

/// What an `unshelve` asks for (2.77: the zone; 2.91: a host, or no zone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unshelve {
    /// `Some(Some(az))`: move to that zone; `Some(None)` (2.91): unpin the
    /// zone; `None`: keep it.
    pub availability_zone: Option<Option<String>>,
    /// A host (admins only, 2.91).
    pub host: Option<String>,
}

/// One value of an instance's system metadata.
pub(crate) async fn system_metadata(c: &Compute, uuid: &str, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = c
        .store
        .fetch_optional(
            "SELECT value FROM instance_system_metadata WHERE instance_uuid = $1 AND name = $2",
            args![uuid, key],
        )
        .await?;
    Ok(row.map(|r| r.0))
}

pub(crate) async fn set_system_metadata(
    c: &Compute,
    uuid: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    remove_system_metadata(c, uuid, key).await?;
    c.store
        .execute(
            "INSERT INTO instance_system_metadata (instance_uuid, name, value) VALUES ($1, $2, $3)",
            args![uuid, key, value],
        )
        .await?;
    Ok(())
}

/// Removes one value of an instance's system metadata.
pub(crate) async fn remove_system_metadata(c: &Compute, uuid: &str, key: &str) -> Result<()> {
    c.store
        .execute(
            "DELETE FROM instance_system_metadata WHERE instance_uuid = $1 AND name = $2",
            args![uuid, key],
        )
        .await?;
    Ok(())
}

/// Forgets the shelve of an instance that is unshelved or deleted: its
/// snapshot is deleted and the `shelved_*` keys go.
pub(crate) async fn forget_shelved_image(c: &Compute, uuid: &str) -> Result<()> {
    let Some(image) = system_metadata(c, uuid, SHELVED_IMAGE_ID).await? else {
        return Ok(());
    };
    let removed = c
        .store
        .execute(
            "DELETE FROM instance_system_metadata WHERE instance_uuid = $1 \
             AND name IN ('shelved_image_id', 'shelved_at', 'shelved_host')",
            args![uuid],
        )
        .await?;
    if removed > 0 {
        // Of two readers that both saw the key, the one that removed it
        // deletes the image.
        let project: Option<(String,)> = c
            .store
            .fetch_optional(
                "SELECT project_id FROM instances WHERE uuid = $1",
                args![uuid],
            )
            .await?;
        if let Some((project,)) = project {
            snapshot::delete_quietly(c, &project, &image).await;
        }
    }
    Ok(())
}

impl Compute {
    /// `shelve`: an active, stopped, paused or suspended instance (no
    /// task) gets its snapshot `<name>-shelved` and goes (shelving) ->
    /// shelving_image_pending_upload -> shelving_image_uploading ->
    /// (shelved, -), then on to the offload as `shelved_offload_time` says.
    pub async fn shelve_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[
                VmState::Active,
                VmState::Stopped,
                VmState::Paused,
                VmState::Suspended,
            ],
            task: NO_TASK,
        };
        let row = self.load(ctx, uuid, false).await?;
        check(ctx, &row, "shelve", &allowed)?;
        let name = format!("{}-shelved", row.display_name);
        let image = snapshot::image_of(self, ctx, &row, &name, "snapshot", BTreeMap::new()).await?;
        let host = row.host.clone().unwrap_or_default();
        let shelved = self
            .act(
                ctx,
                uuid,
                "shelve",
                "shelve",
                Some("compute_shelve_instance"),
                allowed,
                |r| {
                    r.task_state = Some(TaskState::Shelving.as_str().into());
                    Ok(())
                },
            )
            .await;
        match shelved {
            Ok(_) => {
                set_system_metadata(self, uuid, SHELVED_IMAGE_ID, &image.uuid).await?;
                let at = chrono::Utc::now().to_rfc3339();
                set_system_metadata(self, uuid, "shelved_at", &at).await?;
                set_system_metadata(self, uuid, "shelved_host", &host).await?;
                self.get_instance(ctx, uuid).await
            }
            Err(err) => {
                snapshot::delete_quietly(self, &row.project_id, &image.uuid).await;
                Err(err)
            }
        }
    }

    /// `shelveOffload`: a shelved instance (no task) leaves its host:
    /// (shelved, shelving_offloading) -> (shelved_offloaded, -).
    pub async fn shelve_offload_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Shelved],
            task: NO_TASK,
        };
        self.act(
            ctx,
            uuid,
            "shelveOffload",
            "shelveOffload",
            Some("compute_shelve_offload_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::ShelvingOffloading.as_str().into());
                Ok(())
            },
        )
        .await
    }

    /// `unshelve`: a shelved or offloaded instance (no task) back to
    /// (active, -) through unshelving and spawning. A zone or a host may
    /// be asked for only when it is offloaded (409 otherwise, nova's
    /// `UnshelveInstanceInvalidState`); the zone must exist (400), the
    /// host too (400, admins only: 403) and be in the zone (409).
    pub async fn unshelve_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: Unshelve,
    ) -> Result<Instance> {
        let allowed = Allowed {
            vm: &[VmState::Shelved, VmState::ShelvedOffloaded],
            task: NO_TASK,
        };
        let row = self.load(ctx, uuid, false).await?;
        check(ctx, &row, "unshelve", &allowed)?;
        let zone = &self.config.availability_zone;
        if (req.availability_zone.is_some() || req.host.is_some())
            && row.vm() != VmState::ShelvedOffloaded
        {
            return Err(Error::Conflict(format!(
                "Specifying an availability zone or a host when unshelving server \"{uuid}\" \
                 with status \"{}\" is not supported. The server status must be SHELVED_OFFLOADED.",
                row.vm_state
            )));
        }
        if let Some(Some(az)) = &req.availability_zone {
            if az != zone {
                return Err(Error::invalid(
                    "The requested availability zone is not available",
                ));
            }
        }
        if let Some(host) = &req.host {
            if !ctx.is_admin {
                return Err(Error::Forbidden(
                    "Policy doesn't allow os_compute_api:os-shelve:unshelve_to_host to be performed."
                        .into(),
                ));
            }
            if !self.config.hosts.iter().any(|h| &h.name == host) {
                return Err(Error::invalid(format!(
                    "Compute host {host} could not be found."
                )));
            }
            let expected = match &req.availability_zone {
                Some(az) => az.clone(),
                None => Some(row.availability_zone.clone()).filter(|z| !z.is_empty()),
            };
            if let Some(az) = expected.filter(|az| az != zone) {
                return Err(Error::Conflict(format!(
                    "Host \"{host}\" is not in the availability zone \"{az}\"."
                )));
            }
        }
        let target = if row.vm() == VmState::ShelvedOffloaded {
            let zone = match &req.availability_zone {
                Some(az) => az.clone(),
                None => crate::migration::pinned_zone(&row),
            };
            let request = crate::migration::MoveRequest {
                source: None,
                zone,
                host: req.host.clone(),
            };
            match crate::migration::schedule_move(self, uuid, &request).await? {
                Some(host) => Some(host),
                None => {
                    // As nova's conductor: the request was accepted, no
                    // host fits, and the server stays offloaded with no
                    // task (no fault): the action is recorded, nothing
                    // else changes.
                    tracing::warn!(instance = uuid, "no valid host found for unshelve");
                    return self
                        .act(ctx, uuid, "unshelve", "unshelve", None, allowed, |_| Ok(()))
                        .await;
                }
            }
        } else {
            None
        };
        self.act(
            ctx,
            uuid,
            "unshelve",
            "unshelve",
            Some("compute_unshelve_instance"),
            allowed,
            |r| {
                r.task_state = Some(TaskState::Unshelving.as_str().into());
                if r.vm() == VmState::ShelvedOffloaded {
                    r.host = target.clone();
                    r.node = target.clone();
                }
                if let Some(az) = &req.availability_zone {
                    r.availability_zone = az.clone().unwrap_or_else(|| zone.clone());
                }
                Ok(())
            },
        )
        .await
    }
}
