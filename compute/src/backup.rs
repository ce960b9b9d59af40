//! `createBackup`: an image of the instance with `image_type` `backup`
//! and its `backup_type`, then nova's rotation: of the instance's backups
//! of that type (the new one included), all but the `rotation` newest are
//! deleted. The simulated driver takes the image at once; the instance
//! passes through (image_backup) like a snapshot.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::states::{TaskState, VmState};
use crate::store::args;
use crate::{snapshot, Compute, Error, Image, RequestContext, Result};

/// What a `createBackup` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    /// The image name.
    pub name: String,
    /// `daily`, `weekly`, ... (any text).
    pub backup_type: String,
    /// How many backups of this type to keep.
    pub rotation: u64,
    /// Extra image properties (the request's `metadata`).
    pub properties: BTreeMap<String, Value>,
}

impl Compute {
    /// `createBackup` on an active, stopped, paused or suspended instance
    /// with no task (nova takes no lock into account here). A
    /// volume-backed instance is refused (400, nova's `InvalidRequest`).
    /// Returns the new image (which the rotation may have deleted, when
    /// `rotation` is 0, as nova's does).
    pub async fn backup_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: Backup,
    ) -> Result<Image> {
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
        check(ctx, &row, "createBackup", &allowed)?;
        if row.image_ref.is_empty() {
            return Err(Error::invalid(
                "Backup is not supported for volume-backed instances.",
            ));
        }
        let mut props = req.properties.clone();
        props.insert("backup_type".into(), json!(req.backup_type));
        let image = snapshot::image_of(self, ctx, &row, &req.name, "backup", props).await?;
        let acted = self
            .act(
                ctx,
                uuid,
                "createBackup",
                "createBackup",
                Some("compute_backup_instance"),
                allowed,
                |r| {
                    r.task_state = Some(TaskState::ImageBackup.as_str().into());
                    Ok(())
                },
            )
            .await;
        if let Err(err) = acted {
            snapshot::delete_quietly(self, &row.project_id, &image.uuid).await;
            return Err(err);
        }
        self.rotate_backups(&row.project_id, uuid, &req.backup_type, req.rotation)
            .await?;
        Ok(image)
    }

    /// Deletes all but the `rotation` newest backups of `backup_type` of
    /// the instance (nova's `_rotate_backups`).
    async fn rotate_backups(
        &self,
        project_id: &str,
        uuid: &str,
        backup_type: &str,
        rotation: u64,
    ) -> Result<()> {
        let rows: Vec<(String, String, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT uuid, properties, created_at, id FROM images \
                 WHERE owner = $1 AND status <> 'deleted'",
                args![project_id],
            )
            .await?;
        let mut backups: Vec<(i64, i64, String)> = rows
            .into_iter()
            .filter(|(_, props, _, _)| {
                let p: BTreeMap<String, Value> = serde_json::from_str(props).unwrap_or_default();
                p.get("image_type") == Some(&json!("backup"))
                    && p.get("backup_type") == Some(&json!(backup_type))
                    && p.get("instance_uuid") == Some(&json!(uuid))
            })
            .map(|(image, _, created, id)| (created, id, image))
            .collect();
        // Newest first; the integer id breaks ties of one microsecond.
        backups.sort_by_key(|b| std::cmp::Reverse((b.0, b.1)));
        let keep = usize::try_from(rotation).unwrap_or(usize::MAX);
        for (_, _, image) in backups.into_iter().skip(keep) {
            snapshot::delete_quietly(self, project_id, &image).await;
        }
        Ok(())
    }
}
