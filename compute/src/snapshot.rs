//! The images the driver makes of an instance (nova's
//! `compute_utils.create_image`): a shelve's snapshot, a backup, and
//! `createImage`'s snapshot with its upload phase (table
//! `snapshot_uploads`, migration 20).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::instance::InstanceRow;
use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::states::{TaskState, VmState};
use crate::store::{args, now_micros};
use crate::{Compute, Image, NewImage, RequestContext, Result};

/// An image of `row` named `name`, owned by the instance's project,
/// private, with nova's properties: `image_type` (`snapshot`, `backup`),
/// `instance_uuid`, `base_image_ref`, `user_id`, and `extra` on top.
pub(crate) async fn image_of(
    c: &Compute,
    ctx: &RequestContext,
    row: &InstanceRow,
    name: &str,
    image_type: &str,
    extra: BTreeMap<String, Value>,
) -> Result<Image> {
    let mut new = NewImage::new(name);
    new.visibility = Some("private".into());
    new.owner = Some(row.project_id.clone());
    new.disk_format = Some("qcow2".into());
    new.container_format = Some("bare".into());
    new.min_disk = row.root_gb;
    new.properties
        .insert("image_type".into(), json!(image_type));
    new.properties
        .insert("instance_uuid".into(), json!(row.uuid));
    new.properties
        .insert("base_image_ref".into(), json!(row.image_ref));
    new.properties.insert("user_id".into(), json!(ctx.user_id));
    new.properties.extend(extra);
    c.create_image(ctx, new).await
}

/// Deletes an image the driver made, as the service would (an image
/// gone already or protected meanwhile is left as it is).
pub(crate) async fn delete_quietly(c: &Compute, project_id: &str, uuid: &str) {
    let ctx = RequestContext::admin("nova", project_id);
    if let Err(err) = c.delete_image(&ctx, uuid).await {
        tracing::debug!(image = uuid, error = %err, "driver image not deleted");
    }
}

/// What a `createImage` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The image name.
    pub name: String,
    /// Extra image properties (the request's `metadata`).
    pub properties: BTreeMap<String, Value>,
}

impl Compute {
    /// `createImage` (nova's `snapshot`) of an active, stopped, paused or
    /// suspended instance with no task; the instance's lock does not
    /// matter. The image is registered `queued` and the instance goes
    /// (image_snapshot_pending) -> image_snapshot -> image_pending_upload
    /// -> image_uploading, one driver step each, then the upload takes
    /// `[simulator] snapshot_upload_delay`: the image is `saving` from
    /// when the upload starts and `active` when the task ends (settled
    /// when read, [`settle_uploads`]). A second snapshot meanwhile is
    /// refused (409, the task state). Deleting the image while it is
    /// saved ends the snapshot ([`end_upload_of_deleted_image`]);
    /// deleting the instance deletes the image ([`abandon_uploads`]).
    pub async fn snapshot_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: Snapshot,
    ) -> Result<Image> {
        let allowed = || Allowed {
            vm: &[
                VmState::Active,
                VmState::Stopped,
                VmState::Paused,
                VmState::Suspended,
            ],
            task: NO_TASK,
        };
        let row = self.load(ctx, uuid, false).await?;
        check(ctx, &row, "createImage", &allowed())?;
        let mut new = NewImage::new(&req.name);
        new.status = "queued".into();
        new.visibility = Some("private".into());
        new.owner = Some(row.project_id.clone());
        new.disk_format = Some("qcow2".into());
        new.container_format = Some("bare".into());
        new.min_disk = row.root_gb;
        for (key, value) in [
            ("image_type", json!("snapshot")),
            ("instance_uuid", json!(row.uuid)),
            ("base_image_ref", json!(row.image_ref)),
            ("user_id", json!(ctx.user_id)),
        ] {
            new.properties.insert(key.into(), value);
        }
        new.properties.extend(req.properties);
        let image = self.create_image(ctx, new).await?;
        let acted = self
            .act(
                ctx,
                uuid,
                "createImage",
                "createImage",
                Some("compute_snapshot_instance"),
                allowed(),
                |r| {
                    r.task_state = Some(TaskState::ImageSnapshotPending.as_str().into());
                    Ok(())
                },
            )
            .await;
        if let Err(err) = acted {
            delete_quietly(self, &row.project_id, &image.uuid).await;
            return Err(err);
        }
        // The image follows the instance's steps from now on, which is no
        // earlier than the action's own start: it becomes active no
        // sooner than the instance's task ends.
        let now = now_micros();
        let saving_at = now.saturating_add(self.delay_micros().saturating_mul(3));
        let active_at = saving_at.saturating_add(self.upload_delay_micros());
        self.store
            .execute(
                "INSERT INTO snapshot_uploads (image_uuid, instance_uuid, saving_at, active_at) \
                 VALUES ($1, $2, $3, $4)",
                args![&image.uuid, uuid, saving_at, active_at],
            )
            .await?;
        settle_uploads(self).await?;
        Ok(self.load_image(&image.uuid).await?.unwrap_or(image))
    }

    /// `[simulator] snapshot_upload_delay` in microseconds.
    pub(crate) fn upload_delay_micros(&self) -> i64 {
        self.config
            .snapshot_upload_delay
            .as_micros()
            .min(i64::MAX as u128) as i64
    }
}

/// Moves the images of snapshot uploads whose time has come on: `queued`
/// -> `saving` once the upload started, -> `active` once it ended (and
/// the upload is forgotten). Conditional updates, so of several readers
/// at once each move happens once. Reads only when nothing is due.
pub(crate) async fn settle_uploads(c: &Compute) -> Result<()> {
    let now = now_micros();
    let due: Vec<(String, i64)> = c
        .store
        .fetch_all(
            "SELECT image_uuid, active_at FROM snapshot_uploads WHERE saving_at <= $1",
            args![now],
        )
        .await?;
    for (image, active_at) in due {
        if active_at <= now {
            c.store
                .execute(
                    "UPDATE images SET status = 'active', updated_at = $1 \
                     WHERE uuid = $2 AND status IN ('queued', 'saving')",
                    args![now, &image],
                )
                .await?;
            c.store
                .execute(
                    "DELETE FROM snapshot_uploads WHERE image_uuid = $1",
                    args![&image],
                )
                .await?;
        } else {
            c.store
                .execute(
                    "UPDATE images SET status = 'saving', updated_at = $1 \
                     WHERE uuid = $2 AND status = 'queued'",
                    args![now, &image],
                )
                .await?;
        }
    }
    Ok(())
}

/// The image `uuid` was deleted: if it was a snapshot being saved, the
/// snapshot ends there, as nova's compute ends it when the image is gone
/// (the instance's snapshot task is cleared, its vm_state kept).
pub(crate) async fn end_upload_of_deleted_image(c: &Compute, image_uuid: &str) -> Result<()> {
    let upload: Option<(String,)> = c
        .store
        .fetch_optional(
            "SELECT instance_uuid FROM snapshot_uploads WHERE image_uuid = $1",
            args![image_uuid],
        )
        .await?;
    let Some((instance,)) = upload else {
        return Ok(());
    };
    c.store
        .execute(
            "DELETE FROM snapshot_uploads WHERE image_uuid = $1",
            args![image_uuid],
        )
        .await?;
    // One conditional update, not a read through the lifecycle: a delete
    // of an image can be part of an instance's own step (a reclaim).
    let now = now_micros();
    let cleared = c
        .store
        .execute(
            "UPDATE instances SET task_state = NULL, step_due_at = NULL, \
             state_seq = state_seq + 1, updated_at = $1 \
             WHERE uuid = $2 AND deleted = $3 AND task_state IN ($4, $5, $6, $7)",
            args![
                now,
                &instance,
                false,
                TaskState::ImageSnapshotPending.as_str(),
                TaskState::ImageSnapshot.as_str(),
                TaskState::ImagePendingUpload.as_str(),
                TaskState::ImageUploading.as_str()
            ],
        )
        .await?;
    if cleared > 0 {
        crate::actions::finish(c, &instance, true, now).await?;
    }
    Ok(())
}

/// Instance `uuid` is being deleted: the snapshots it was still
/// uploading are deleted with it (nova's compute deletes an image it
/// could not finish).
pub(crate) async fn abandon_uploads(c: &Compute, instance_uuid: &str) -> Result<()> {
    let uploads: Vec<(String,)> = c
        .store
        .fetch_all(
            "SELECT image_uuid FROM snapshot_uploads WHERE instance_uuid = $1",
            args![instance_uuid],
        )
        .await?;
    for (image,) in uploads {
        c.store
            .execute(
                "DELETE FROM snapshot_uploads WHERE image_uuid = $1",
                args![&image],
            )
            .await?;
        let owner: Option<(Option<String>,)> = c
            .store
            .fetch_optional("SELECT owner FROM images WHERE uuid = $1", args![&image])
            .await?;
        if let Some((Some(owner),)) = owner {
            delete_quietly(c, &owner, &image).await;
        }
    }
    Ok(())
}
