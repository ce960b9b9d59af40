//! The images the driver makes of an instance (nova's
//! `compute_utils.create_image`): a shelve's snapshot and a backup.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::instance::InstanceRow;
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
