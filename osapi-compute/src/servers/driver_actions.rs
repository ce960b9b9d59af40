//! The server actions of nova's `admin_actions`, `deferred_delete`,
//! `create_backup`, `shelve`, `rescue` and `migrate_server` (cold
//! migration) controllers and `trigger_crash_dump`: each validates its body, finds the server (404),
//! checks nova's policy for it (admin-only ones: 403 after the 404, as
//! nova's `context.can` comes after `get_instance`) and calls the domain.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::{fault_response, ApiError};
use crate::links::{url_join, RequestUrls};
use crate::microversion::ApiVersion;
use crate::removed::GONE_MESSAGE;
use crate::servers::schemas;
use crate::state::ApiState;
use crate::validation::{int_of, JsonBody};

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// nova's admin-only policies: the server must exist for the caller
/// first (404), then the caller must be an admin (403).
async fn admin_only(state: &ApiState, ctx: &Context, id: &str, rule: &str) -> Result<(), ApiError> {
    state.compute.get_instance(&ctx.0, id).await?;
    if !ctx.0.is_admin {
        return Err(ApiError::policy(rule));
    }
    Ok(())
}

/// Serves the actions of this module; `None` for any other name.
pub(super) async fn dispatch(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    urls: &RequestUrls,
    id: &str,
    name: &str,
    body: &JsonBody,
) -> Option<Result<Response, ApiError>> {
    Some(match name {
        "os-resetState" => reset_state(state, ctx, id, body).await,
        "injectNetworkInfo" => inject_network_info(state, ctx, id, body).await,
        // Removed with the Xen driver (nova 23.0.0): 410 at every version.
        "resetNetwork" => Ok(fault_response(StatusCode::GONE, GONE_MESSAGE)),
        "trigger_crash_dump" => trigger_crash_dump(state, ctx, id, body).await,
        "restore" => restore(state, ctx, id, body).await,
        "forceDelete" => force_delete(state, ctx, id, body).await,
        "createBackup" => create_backup(state, ctx, version, urls, id, body).await,
        "shelve" => shelve(state, ctx, id, body).await,
        "shelveOffload" => shelve_offload(state, ctx, id, body).await,
        "unshelve" => unshelve(state, ctx, version, id, body).await,
        "rescue" => rescue(state, ctx, version, id, body).await,
        "unrescue" => unrescue(state, ctx, id, body).await,
        "migrate" => migrate(state, ctx, version, id, body).await,
        _ => return None,
    })
}

async fn reset_state(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::reset_state())?;
    admin_only(
        state,
        ctx,
        id,
        "os_compute_api:os-admin-actions:reset_state",
    )
    .await?;
    let wanted = match v["os-resetState"]["state"].as_str() {
        Some("error") => compute::ResetState::Error,
        _ => compute::ResetState::Active,
    };
    state
        .compute
        .reset_instance_state(&ctx.0, id, wanted)
        .await?;
    Ok(accepted())
}

async fn inject_network_info(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("injectNetworkInfo"))?;
    admin_only(
        state,
        ctx,
        id,
        "os_compute_api:os-admin-actions:inject_network_info",
    )
    .await?;
    state.compute.inject_network_info(&ctx.0, id).await?;
    Ok(accepted())
}

async fn trigger_crash_dump(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::null_action("trigger_crash_dump"))?;
    state.compute.trigger_crash_dump(&ctx.0, id).await?;
    Ok(accepted())
}

async fn restore(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("restore"))?;
    state.compute.restore_instance(&ctx.0, id).await?;
    Ok(accepted())
}

async fn force_delete(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("forceDelete"))?;
    state.compute.force_delete_instance(&ctx.0, id).await?;
    Ok(accepted())
}

async fn create_backup(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    urls: &RequestUrls,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::create_backup(body.legacy))?;
    let args = &v["createBackup"];
    let rotation = args["rotation"]
        .as_u64()
        .or_else(|| int_of(&args["rotation"]).and_then(|r| u64::try_from(r).ok()))
        .unwrap_or(0);
    let properties = args
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let request = compute::Backup {
        name: args["name"].as_str().unwrap_or_default().trim().to_string(),
        backup_type: args["backup_type"].as_str().unwrap_or_default().to_string(),
        rotation,
        properties,
    };
    let image = state.compute.backup_instance(&ctx.0, id, request).await?;
    if version.at_least(2, 45) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "image_id": image.uuid })),
        )
            .into_response());
    }
    let mut response = accepted();
    if rotation > 0 {
        let location = url_join(&[&urls.raw_application_url, "images", &image.uuid]);
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    Ok(response)
}

async fn shelve(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("shelve"))?;
    state.compute.shelve_instance(&ctx.0, id).await?;
    Ok(accepted())
}

async fn shelve_offload(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("shelveOffload"))?;
    admin_only(state, ctx, id, "os_compute_api:os-shelve:shelve_offload").await?;
    state.compute.shelve_offload_instance(&ctx.0, id).await?;
    Ok(accepted())
}

async fn unshelve(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::unshelve(version))?;
    let mut request = compute::Unshelve::default();
    if let Some(args) = v["unshelve"].as_object() {
        if version.at_least(2, 77) {
            if let Some(az) = args.get("availability_zone") {
                request.availability_zone = Some(az.as_str().map(str::to_string));
            }
        }
        if version.at_least(2, 91) {
            request.host = args.get("host").and_then(Value::as_str).map(str::to_string);
        }
    }
    state.compute.unshelve_instance(&ctx.0, id, request).await?;
    Ok(accepted())
}

async fn rescue(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::rescue())?;
    let args = &v["rescue"];
    let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    let request = compute::Rescue {
        image_ref: text("rescue_image_ref"),
        allow_volume_backed: version.at_least(2, 87),
        admin_password: text("adminPass"),
    };
    let (_, password) = state.compute.rescue_instance(&ctx.0, id, request).await?;
    let body = if state.config.enable_instance_password {
        json!({ "adminPass": password })
    } else {
        json!({})
    };
    Ok(Json(body).into_response())
}

async fn unrescue(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    body.validate(schemas::bare_action("unrescue"))?;
    state.compute.unrescue_instance(&ctx.0, id).await?;
    Ok(accepted())
}

async fn migrate(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::migrate())?;
    let host = if version.at_least(2, 56) {
        v["migrate"]
            .get("host")
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        None
    };
    let rule = if host.is_some() {
        "os_compute_api:os-migrate-server:migrate:host"
    } else {
        "os_compute_api:os-migrate-server:migrate"
    };
    admin_only(state, ctx, id, rule).await?;
    state
        .compute
        .migrate_instance(&ctx.0, id, host.as_deref())
        .await?;
    Ok(accepted())
}
