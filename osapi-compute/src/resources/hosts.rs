//! `/os-hosts` (admin, microversions 2.1 to 2.42; 404 from 2.43), as
//! nova's deprecated `hosts` controller: the hosts of the enabled
//! services, a compute host's resources, the status and maintenance
//! update and the power actions, answered as nova's fake driver answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, version_not_found};
use crate::state::ApiState;
use crate::validation::{JsonBody, Schema};

/// The last microversion that serves os-hosts.
const LAST: u32 = 42;

/// The hosts routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-hosts", get(index))
        .route("/os-hosts/{id}", get(show).put(update))
        .route("/os-hosts/{id}/startup", get(startup))
        .route("/os-hosts/{id}/shutdown", get(shutdown))
        .route("/os-hosts/{id}/reboot", get(reboot))
}

fn served(version: ApiVersion) -> Result<(), ApiError> {
    if version.at_least(2, LAST + 1) {
        Err(version_not_found())
    } else {
        Ok(())
    }
}

/// A host that is not a compute host: nova finds no host mapping.
fn host_error(host: &str) -> impl FnOnce(compute::Error) -> ApiError + '_ {
    move |err| match err {
        compute::Error::NotFound {
            kind: compute::Kind::Host,
            ..
        } => ApiError::NotFound(format!("Host '{host}' is not mapped to any cell")),
        other => domain(other),
    }
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    served(version)?;
    let hosts = state
        .compute
        .list_hosts(&context.0, urls.param("zone"))
        .await
        .map_err(domain)?;
    let items: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"host_name": h.host_name, "service": h.service, "zone": h.zone}))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "hosts": items })))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    served(version)?;
    let resources = state
        .compute
        .host_resources(&context.0, &id)
        .await
        .map_err(host_error(&id))?;
    let items: Vec<Value> = resources
        .iter()
        .map(|r| {
            json!({"resource": {
                "host": r.host,
                "project": r.project,
                "cpu": r.cpu,
                "memory_mb": r.memory_mb,
                "disk_gb": r.disk_gb,
            }})
        })
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "host": items })))
}

/// nova's update body: `status` and/or `maintenance_mode`, each
/// `enable` or `disable` in three spellings.
pub fn update_schema() -> Schema {
    let mode = || {
        Schema::string().enumerated(&[
            json!("enable"),
            json!("disable"),
            json!("Enable"),
            json!("Disable"),
            json!("ENABLE"),
            json!("DISABLE"),
        ])
    };
    Schema::object()
        .prop("status", mode())
        .prop("maintenance_mode", mode())
        .additional(false)
}

async fn update(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    served(version)?;
    let value = body.validate(update_schema())?;
    let read = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|v| v.trim().eq_ignore_ascii_case("enable"))
    };
    let (status, maintenance) = (read("status"), read("maintenance_mode"));
    if status.is_none() && maintenance.is_none() {
        return Err(ApiError::BadRequest(format!(
            "Invalid input for field/attribute request_body. Value: {}. {{}} is not valid under any of the given schemas",
            crate::validation::py_repr(value)
        )));
    }
    context.require_admin("os_compute_api:os-hosts:update")?;
    let mut out = Map::new();
    out.insert("host".into(), json!(id));
    if let Some(enabled) = status {
        let result = state
            .compute
            .set_host_enabled(&context.0, &id, enabled)
            .map_err(host_error(&id))?;
        out.insert("status".into(), json!(result));
    }
    if let Some(on) = maintenance {
        let result = state
            .compute
            .set_host_maintenance(&context.0, &id, on)
            .map_err(host_error(&id))?;
        out.insert("maintenance_mode".into(), json!(result));
    }
    Ok(json_response(StatusCode::OK, Value::Object(out)))
}

fn power(
    state: &ApiState,
    context: &Context,
    version: ApiVersion,
    id: &str,
    action: compute::host::PowerAction,
) -> Result<Response, ApiError> {
    served(version)?;
    let result = state
        .compute
        .host_power_action(&context.0, id, action)
        .map_err(host_error(id))?;
    Ok(json_response(
        StatusCode::OK,
        json!({"host": id, "power_action": result}),
    ))
}

async fn startup(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    power(
        &state,
        &context,
        version,
        &id,
        compute::host::PowerAction::Startup,
    )
}

async fn shutdown(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    power(
        &state,
        &context,
        version,
        &id,
        compute::host::PowerAction::Shutdown,
    )
}

async fn reboot(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    power(
        &state,
        &context,
        version,
        &id,
        compute::host::PowerAction::Reboot,
    )
}
