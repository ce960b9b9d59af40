//! Deactivating and reactivating an image (its owner project's members and
//! admins, Glance's default policy): a deactivated image stays listed and
//! shown, but its data is downloaded by admins only.

use super::access;
use crate::store::{args, now_micros};
use crate::{Compute, Error, RequestContext, Result};

impl Compute {
    /// `active` -> `deactivated` (owner or admin); deactivating a deactivated
    /// image is no change, any other status is refused (403 as Glance).
    pub async fn deactivate_image(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        self.move_image(ctx, uuid, "deactivate", "active", "deactivated")
            .await
    }

    /// `deactivated` -> `active` (owner or admin), as [`Compute::deactivate_image`].
    pub async fn reactivate_image(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        self.move_image(ctx, uuid, "reactivate", "deactivated", "active")
            .await
    }

    async fn move_image(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        action: &str,
        from: &str,
        to: &str,
    ) -> Result<()> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, action)?;
        if image.status == to {
            return Ok(());
        }
        let changed = self
            .store
            .execute(
                "UPDATE images SET status = $1, updated_at = $2 WHERE uuid = $3 AND status = $4",
                args![to, now_micros(), uuid, from],
            )
            .await?;
        if changed == 0 {
            let now = self.get_image(ctx, uuid).await?;
            if now.status == to {
                return Ok(());
            }
            return Err(Error::Forbidden(format!(
                "Not allowed to {action} image in status '{}'",
                now.status
            )));
        }
        Ok(())
    }
}
