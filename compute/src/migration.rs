//! Cold migration (`migrate`): nova's resize to the same flavor on
//! another host. The instance moves to its new host at once (the
//! simulator has nothing to copy), goes through the resize steps to
//! (resized, -) (VERIFY_RESIZE) and is confirmed or reverted as a resize
//! is; a revert puts it back on the host it came from, kept in the
//! instance's system metadata (`migration_source_host`) meanwhile.

use crate::lifecycle::{check, Allowed, NO_TASK};
use crate::shelve::{remove_system_metadata, set_system_metadata, system_metadata};
use crate::states::{TaskState, VmState};
use crate::{Compute, Error, Instance, RequestContext, Result};

/// The system metadata key of the host a migrated instance came from.
pub(crate) const SOURCE_HOST: &str = "migration_source_host";

impl Compute {
    /// `migrate`: an active or stopped instance (no task) to `host` (2.56,
    /// which must exist and differ from its own: 400) or to another host
    /// of the cloud. With no other host the scheduler finds none: nova's
    /// `NoValidHost` ([`Error::Invalid`]).
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
        let target = match host {
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
            Some(h) => h.to_string(),
            None => self
                .config
                .hosts
                .iter()
                .map(|c| c.name.clone())
                .find(|name| *name != source)
                .ok_or_else(|| {
                    Error::invalid("No valid host was found. No valid host found for cold migrate")
                })?,
        };
        let flavor =
            serde_json::to_string(&row.flavor()).map_err(|e| Error::Internal(e.to_string()))?;
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
            .await?;
        set_system_metadata(self, uuid, SOURCE_HOST, &source).await?;
        Ok(instance)
    }
}

/// The host a migrated instance goes back to on a revert, if it was
/// migrated (`None` for a resize).
pub(crate) async fn source_host(c: &Compute, uuid: &str) -> Result<Option<String>> {
    system_metadata(c, uuid, SOURCE_HOST).await
}

/// Forgets where a confirmed or reverted migration came from.
pub(crate) async fn forget_source_host(c: &Compute, uuid: &str) -> Result<()> {
    remove_system_metadata(c, uuid, SOURCE_HOST).await
}
