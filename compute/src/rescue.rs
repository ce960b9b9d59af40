//! `rescue` and `unrescue`: an active, stopped or errored instance boots
//! its rescue image ((rescuing) -> (rescued, -) power 1) and comes back
//! ((rescued, unrescuing) -> (active, -) power 1).

use crate::lifecycle::{Allowed, NO_TASK};
use crate::states::{TaskState, VmState};
use crate::{Compute, Error, Instance, Kind, RequestContext, Result};

/// What a `rescue` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rescue {
    /// The rescue image (default: the instance's own image).
    pub image_ref: Option<String>,
    /// Whether a volume-backed instance may be rescued (2.87), with an
    /// image that has `hw_rescue_bus` and `hw_rescue_device`.
    pub allow_volume_backed: bool,
    /// The rescue password (generated when absent).
    pub admin_password: Option<String>,
}

impl Compute {
    /// `rescue`. A rescue image that cannot be read is nova's
    /// `UnsupportedRescueImage` (400, [`Error::Invalid`]); a volume-backed
    /// instance is `InstanceNotRescuable` (400) unless 2.87 allows it and
    /// the image has nova's rescue device properties. Returns the
    /// instance and the rescue password.
    pub async fn rescue_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        req: Rescue,
    ) -> Result<(Instance, String)> {
        let password = req
            .admin_password
            .clone()
            .unwrap_or_else(crate::lifecycle::new_admin_password);
        let row = self.load(ctx, uuid, false).await?;
        crate::lifecycle::check(ctx, &row, "rescue", &rescue_allowed())?;
        let image = match &req.image_ref {
            Some(image_ref) => Some(self.get_image(ctx, image_ref).await.map_err(
                |err| match err {
                    Error::NotFound {
                        kind: Kind::Image, ..
                    } => Error::invalid(format!(
                        "Requested rescue image '{image_ref}' is not supported"
                    )),
                    other => other,
                },
            )?),
            None if !row.image_ref.is_empty() => self.get_image(ctx, &row.image_ref).await.ok(),
            None => None,
        };
        if row.image_ref.is_empty() {
            let has = |k: &str| image.as_ref().is_some_and(|i| i.properties.contains_key(k));
            if !(req.allow_volume_backed && has("hw_rescue_bus") && has("hw_rescue_device")) {
                return Err(Error::invalid(format!(
                    "Instance {uuid} cannot be rescued: Cannot rescue a volume-backed instance"
                )));
            }
        }
        self.act(
            ctx,
            uuid,
            "rescue",
            "rescue",
            Some("compute_rescue_instance"),
            rescue_allowed(),
            |r| {
                r.task_state = Some(TaskState::Rescuing.as_str().into());
                Ok(())
            },
        )
        .await
        .map(|instance| (instance, password))
    }

    /// `unrescue`: a rescued instance (no task) back to active.
    pub async fn unrescue_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        self.act(
            ctx,
            uuid,
            "unrescue",
            "unrescue",
            Some("compute_unrescue_instance"),
            Allowed {
                vm: &[VmState::Rescued],
                task: NO_TASK,
            },
            |r| {
                r.task_state = Some(TaskState::Unrescuing.as_str().into());
                Ok(())
            },
        )
        .await
    }
}

fn rescue_allowed() -> Allowed {
    Allowed {
        vm: &[VmState::Active, VmState::Stopped, VmState::Error],
        task: NO_TASK,
    }
}
