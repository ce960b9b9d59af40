//! An image's tags, one at a time (Glance's `PUT`/`DELETE
//! /v2/images/{id}/tags/{tag}`); the whole set changes through
//! [`Compute::update_image`].

use super::{access, rules};
use crate::store::{args, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

impl Compute {
    /// Tags an image (owner or admin); a tag it has already is no change.
    pub async fn add_image_tag(&self, ctx: &RequestContext, uuid: &str, tag: &str) -> Result<()> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "modify")?;
        rules::tag(tag)?;
        if image.tags.iter().any(|t| t == tag) {
            return Ok(());
        }
        rules::quotas(0, image.tags.len() + 1)?;
        let now = now_micros();
        let mut tx = self.store.begin_locked("nova-api-rs:images").await?;
        let (count,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM image_tags WHERE image_uuid = $1 AND tag = $2",
                args![uuid, tag],
            )
            .await?;
        if count == 0 {
            tx.execute(
                "INSERT INTO image_tags (image_uuid, tag, created_at) VALUES ($1, $2, $3)",
                args![uuid, tag, now],
            )
            .await?;
            tx.execute(
                "UPDATE images SET updated_at = $1 WHERE uuid = $2",
                args![now, uuid],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a tag from an image (owner or admin); a tag it does not
    /// have is [`Error::NotFound`] of [`Kind::Tag`].
    pub async fn remove_image_tag(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tag: &str,
    ) -> Result<()> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "modify")?;
        let removed = self
            .store
            .execute(
                "DELETE FROM image_tags WHERE image_uuid = $1 AND tag = $2",
                args![uuid, tag],
            )
            .await?;
        if removed == 0 {
            return Err(Error::not_found(Kind::Tag, tag));
        }
        self.store
            .execute(
                "UPDATE images SET updated_at = $1 WHERE uuid = $2",
                args![now_micros(), uuid],
            )
            .await?;
        Ok(())
    }
}
