//! The metadata-service password (`os-server-password`): set once by the
//! guest, read and cleared through the API.

use crate::store::{args, now_micros};
use crate::{validate, Compute, Error, RequestContext, Result};

impl Compute {
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
}
