//! The server actions that move a server between hosts while it keeps
//! running or after its host failed: `os-migrateLive` (nova's
//! `migrate_server` controller) and `evacuate`. Both are admin actions:
//! the server is found first (404), then the policy is checked (403).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::state::ApiState;
use crate::validation::{bool_of, types, JsonBody, Schema, Ty};

/// Serves the actions of this module; `None` for any other name.
pub(super) async fn dispatch(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    name: &str,
    body: &JsonBody,
) -> Option<Result<Response, ApiError>> {
    Some(match name {
        "os-migrateLive" => migrate_live(state, ctx, version, id, body).await,
        "evacuate" => evacuate(state, ctx, version, id, body).await,
        _ => return None,
    })
}

fn wrapped(name: &str, inner: Schema) -> Schema {
    Schema::object()
        .prop(name, inner)
        .required(&[name])
        .additional(false)
}

/// nova's `parameter_types.hostname`, null allowed (`host` of a move).
fn host_or_null() -> Schema {
    Schema::of(&[Ty::String, Ty::Null])
        .length(Some(1), Some(255))
        .pattern("^[a-zA-Z0-9-._]*$")
}

/// `os-migrateLive` at `version`: `block_migration`, `disk_over_commit`
/// and `host` required; 2.25 drops `disk_over_commit` and allows
/// `block_migration: "auto"`; 2.30-2.67 take `force`.
pub fn migrate_live_schema(version: ApiVersion) -> Schema {
    let mut inner = Schema::object().prop("host", host_or_null());
    if version.at_least(2, 25) {
        inner = inner
            .prop("block_migration", types::boolean_or("auto"))
            .required(&["block_migration", "host"]);
        if version.at_least(2, 30) && !version.at_least(2, 68) {
            inner = inner.prop("force", types::boolean());
        }
    } else {
        inner = inner
            .prop("block_migration", types::boolean())
            .prop("disk_over_commit", types::boolean())
            .required(&["block_migration", "disk_over_commit", "host"]);
    }
    wrapped("os-migrateLive", inner.additional(false))
}

/// `evacuate` at `version`: `host`, `adminPass` and (before 2.14, required)
/// `onSharedStorage`; 2.29-2.67 take `force`.
pub fn evacuate_schema(version: ApiVersion) -> Schema {
    let host = Schema::string()
        .length(Some(1), Some(255))
        .pattern("^[a-zA-Z0-9-._]*$");
    let mut inner = Schema::object()
        .prop("host", host)
        .prop("adminPass", types::admin_password());
    if !version.at_least(2, 14) {
        inner = inner
            .prop("onSharedStorage", types::boolean())
            .required(&["onSharedStorage"]);
    }
    if version.at_least(2, 29) && !version.at_least(2, 68) {
        inner = inner.prop("force", types::boolean());
    }
    wrapped("evacuate", inner.additional(false))
}

async fn server_then_policy(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    rule: &str,
) -> Result<(), ApiError> {
    state.compute.get_instance(&ctx.0, id).await?;
    if !ctx.0.is_admin {
        return Err(ApiError::policy(rule));
    }
    Ok(())
}

/// nova's message for `force` without a host.
const FORCE_WITHOUT_HOST: &str = "Can't force to a non-provided destination";

async fn migrate_live(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(migrate_live_schema(version))?;
    let args = &v["os-migrateLive"];
    let host = args["host"].as_str().map(str::to_string);
    let rule = if host.is_some() {
        "os_compute_api:os-migrate-server:migrate_live:host"
    } else {
        "os_compute_api:os-migrate-server:migrate_live"
    };
    server_then_policy(state, ctx, id, rule).await?;
    let mut force = None;
    if version.at_least(2, 30) {
        let forced = args.get("force").is_some_and(bool_of);
        if forced && host.is_none() {
            return Err(ApiError::BadRequest(FORCE_WITHOUT_HOST.into()));
        }
        force = Some(forced);
    }
    let block_migration = match &args["block_migration"] {
        Value::String(s) if s == "auto" => None,
        other => Some(bool_of(other)),
    };
    let request = compute::LiveMigrate {
        host,
        block_migration,
        force,
        asynchronous: version.at_least(2, 34),
    };
    state
        .compute
        .live_migrate_instance(&ctx.0, id, request)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn evacuate(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(evacuate_schema(version))?;
    let args = &v["evacuate"];
    server_then_policy(state, ctx, id, "os_compute_api:os-evacuate").await?;
    let host = args.get("host").and_then(Value::as_str).map(str::to_string);
    let mut force = None;
    if version.at_least(2, 29) {
        let forced = args.get("force").is_some_and(bool_of);
        if forced && host.is_none() {
            return Err(ApiError::BadRequest(FORCE_WITHOUT_HOST.into()));
        }
        force = Some(forced);
    }
    let given = args
        .get("adminPass")
        .and_then(Value::as_str)
        .map(str::to_string);
    let on_shared_storage =
        !version.at_least(2, 14) && args.get("onSharedStorage").is_some_and(bool_of);
    if on_shared_storage && given.is_some() {
        return Err(ApiError::BadRequest(
            "admin password can't be changed on existing disk".into(),
        ));
    }
    let request = compute::Evacuate {
        host,
        admin_password: given,
        force,
        stopped: version.at_least(2, 95),
    };
    let (_, password) = match state.compute.evacuate_instance(&ctx.0, id, request).await {
        Ok(done) => done,
        Err(compute::Error::NotFound {
            kind: compute::Kind::Host,
            ..
        }) => {
            let host = args["host"].as_str().unwrap_or_default();
            return Err(ApiError::NotFound(format!(
                "Compute host {host} not found."
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if !version.at_least(2, 14) && state.config.enable_instance_password {
        // On shared storage the disk keeps its password: none is shown.
        let shown = if on_shared_storage {
            Value::Null
        } else {
            json!(password)
        };
        return Ok(Json(json!({ "adminPass": shown })).into_response());
    }
    Ok(StatusCode::OK.into_response())
}
