//! `/servers/{id}/os-volume_attachments`: nova's volume attachments, with
//! no block-storage service behind them.
//!
//! This cloud serves no volumes, so no volume exists and none is attached:
//! the listing of a server's attachments is empty, and every call that
//! names a volume answers nova's 404 for a volume or an attachment that is
//! not there. Never a 200 with nothing behind it: a client that attaches a
//! volume learns at once that it was not attached. The checks nova makes
//! before it asks the block-storage service (the body's schema, the
//! server, its lock and its state) are made in nova's order, so a request
//! that nova refuses with 400 or 409 is refused the same way here.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use compute::{Instance, VmState};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::schemas::query;
use crate::state::ApiState;
use crate::validation::{types, JsonBody, Schema, Ty};

/// `device` of an attachment, nova's `match_device()` pattern.
const DEVICE_PATTERN: &str = "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$";

/// The vm_states nova attaches volumes in.
const ATTACHABLE: &[VmState] = &[
    VmState::Active,
    VmState::Paused,
    VmState::Stopped,
    VmState::Resized,
    VmState::SoftDeleted,
    VmState::Shelved,
    VmState::ShelvedOffloaded,
];

/// `{"volumeAttachment": <attachment, with volumeId>}` and nothing else.
fn wrapped(attachment: Schema) -> Schema {
    Schema::object()
        .prop(
            "volumeAttachment",
            attachment.required(&["volumeId"]).additional(false),
        )
        .required(&["volumeAttachment"])
        .additional(false)
}

/// The body of an attach, per microversion (nova's `create`, `create_v249`
/// with `tag`, `create_v279` with `delete_on_termination`).
fn attach_body(version: ApiVersion) -> Schema {
    let mut attachment = Schema::object().prop("volumeId", types::uuid()).prop(
        "device",
        Schema::of(&[Ty::String, Ty::Null]).pattern(DEVICE_PATTERN),
    );
    if version.at_least(2, 49) {
        attachment = attachment.prop("tag", types::tag());
    }
    if version.at_least(2, 79) {
        attachment = attachment.prop("delete_on_termination", types::boolean());
    }
    wrapped(attachment)
}

/// The body of an update (a swap when `volumeId` differs from the URL's):
/// nova's `update`, and from 2.85 the fields of the attachment as shown.
fn update_body(version: ApiVersion) -> Schema {
    let mut attachment = Schema::object().prop("volumeId", types::uuid());
    if version.at_least(2, 85) {
        attachment = attachment
            .prop("device", Schema::any())
            .prop("id", types::uuid())
            .prop("serverId", types::uuid())
            .prop("tag", types::tag())
            .prop("delete_on_termination", types::boolean());
    }
    wrapped(attachment)
}

fn volume_not_found(volume_id: &str) -> ApiError {
    ApiError::NotFound(format!("Volume {volume_id} could not be found."))
}

fn not_attached(server_id: &str, volume_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "Instance {server_id} is not attached to volume {volume_id}"
    ))
}

/// nova's `check_instance_lock` and `check_instance_state` on an attach:
/// 409 for a locked server (unless admin) or one in another state.
fn check_attachable(ctx: &Context, instance: &Instance) -> Result<(), ApiError> {
    if instance.locked && !ctx.0.is_admin {
        return Err(compute::Error::Locked {
            uuid: instance.uuid.clone(),
        }
        .into());
    }
    let invalid = |attr: &'static str, state: String| compute::Error::InvalidState {
        action: "attach_volume".to_string(),
        uuid: instance.uuid.clone(),
        attr,
        state,
    };
    if !ATTACHABLE.contains(&instance.vm_state) {
        return Err(invalid("vm_state", instance.vm_state.as_str().to_string()).into());
    }
    if let Some(task) = instance.task_state {
        return Err(invalid("task_state", task.as_str().to_string()).into());
    }
    Ok(())
}

/// `GET /servers/{id}/os-volume_attachments`: the server's attachments,
/// none (limit and offset are accepted; from 2.75 nothing else is).
pub async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    query(version, &["limit", "offset"]).validate_query(&urls.query)?;
    state.compute.get_instance(&ctx.0, &id).await?;
    Ok(Json(json!({ "volumeAttachments": [] })))
}

/// `GET /servers/{id}/os-volume_attachments/{volume_id}`: 404, the volume
/// is not attached.
pub async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state.compute.get_instance(&ctx.0, &id).await?;
    Err(not_attached(&id, &volume_id))
}

/// `POST /servers/{id}/os-volume_attachments`: after nova's checks, 404
/// for the volume, which does not exist.
pub async fn attach(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.validate(attach_body(version))?;
    let volume_id = body["volumeAttachment"]["volumeId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let instance = state.compute.get_instance(&ctx.0, &id).await?;
    check_attachable(&ctx, &instance)?;
    Err(volume_not_found(&volume_id))
}

/// `PUT /servers/{id}/os-volume_attachments/{volume_id}`: a swap (another
/// `volumeId`, admin only) finds no volume to swap from; an update of the
/// attachment itself finds no attachment.
pub async fn update(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, volume_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.validate(update_body(version))?;
    let new_volume = body["volumeAttachment"]["volumeId"]
        .as_str()
        .unwrap_or_default();
    state.compute.get_instance(&ctx.0, &id).await?;
    if new_volume != volume_id {
        if !ctx.0.is_admin {
            return Err(ApiError::policy(
                "os_compute_api:os-volumes-attachments:swap",
            ));
        }
        return Err(volume_not_found(&volume_id));
    }
    Err(ApiError::NotFound(format!(
        "No volume Block Device Mapping with id {volume_id}."
    )))
}

/// `DELETE /servers/{id}/os-volume_attachments/{volume_id}`: 404 for the
/// volume, which does not exist (nova looks the volume up before it checks
/// the server's lock and state).
pub async fn detach(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state.compute.get_instance(&ctx.0, &id).await?;
    Err(volume_not_found(&volume_id))
}
