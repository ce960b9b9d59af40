//! Remote consoles: `POST /servers/{id}/remote-consoles` (2.6+) and the
//! actions it replaced (`os-getVNCConsole`, `os-getSPICEConsole`,
//! `os-getRDPConsole`, `os-getSerialConsole`, up to 2.5), over
//! [`compute::Compute::get_remote_console`], with nova's schemas: the
//! protocols and types of each microversion (`mks`/`webmks` from 2.8,
//! `spice-direct` from 2.99). RDP is refused with 400 whatever the
//! request, as nova refuses it since the Hyper-V driver went.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::state::ApiState;
use crate::validation::{JsonBody, Schema};

/// webob's explanation of a bare `HTTPBadRequest`, which nova gives for
/// the RDP console.
pub const BARE_BAD_REQUEST: &str = "The server could not comply with the request since it is either malformed or otherwise incorrect.";

/// The legacy console actions with the protocol each asks for and the
/// types its schema accepts.
const LEGACY: &[(&str, &str, &[&str])] = &[
    ("os-getVNCConsole", "vnc", &["novnc", "xvpvnc"]),
    ("os-getSPICEConsole", "spice", &["spice-html5"]),
    ("os-getSerialConsole", "serial", &["serial"]),
];

fn strings(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| json!(v)).collect()
}

/// `{"<action>": {"type": <one of types>}}`.
fn legacy_schema(action: &str, types: &[&str]) -> Schema {
    Schema::object()
        .prop(
            action,
            Schema::object()
                .prop("type", Schema::string().enumerated(&strings(types)))
                .required(&["type"])
                .additional(false),
        )
        .required(&[action])
        .additional(false)
}

/// `{"remote_console": {"protocol", "type"}}` as nova's schema of
/// `version` has it.
fn create_schema(version: ApiVersion) -> Schema {
    let mut protocols = vec!["vnc", "spice", "serial", "rdp"];
    let mut types = vec!["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"];
    if version.at_least(2, 8) {
        protocols.push("mks");
        types.push("webmks");
    }
    if version.at_least(2, 99) {
        types.push("spice-direct");
    }
    Schema::object()
        .prop(
            "remote_console",
            Schema::object()
                .prop(
                    "protocol",
                    Schema::string().enumerated(&strings(&protocols)),
                )
                .prop("type", Schema::string().enumerated(&strings(&types)))
                .required(&["protocol", "type"])
                .additional(false),
        )
        .required(&["remote_console"])
        .additional(false)
}

/// Whether `name` is one of the console actions ([`action`] serves it).
pub fn is_console_action(name: &str) -> bool {
    name == "os-getRDPConsole" || LEGACY.iter().any(|(n, _, _)| *n == name)
}

/// A console action of `POST /servers/{id}/action` (up to 2.5, as the
/// actions table says): `{"console": {"type", "url"}}`.
pub async fn action(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    name: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    if name == "os-getRDPConsole" {
        return Err(ApiError::BadRequest(BARE_BAD_REQUEST.into()));
    }
    let Some((_, protocol, types)) = LEGACY.iter().find(|(n, _, _)| *n == name) else {
        return Err(ApiError::BadRequest(format!(
            "There is no such action: {name}"
        )));
    };
    let v = body.validate(legacy_schema(name, types))?;
    let console_type = v[name]["type"].as_str().unwrap_or_default();
    let url = state
        .compute
        .get_remote_console(&ctx.0, id, protocol, console_type)
        .await?;
    Ok(Json(json!({"console": {"type": console_type, "url": url}})).into_response())
}

/// `POST /servers/{id}/remote-consoles` (2.6+).
pub async fn create(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 6) {
        return Err(crate::resources::version_not_found());
    }
    let v = body.validate(create_schema(version))?;
    let protocol = v["remote_console"]["protocol"].as_str().unwrap_or_default();
    let console_type = v["remote_console"]["type"].as_str().unwrap_or_default();
    // The domain refuses `rdp` once it found the server, as nova does.
    let url = state
        .compute
        .get_remote_console(&ctx.0, &id, protocol, console_type)
        .await?;
    Ok((
        StatusCode::OK,
        Json(json!({"remote_console": {
            "protocol": protocol,
            "type": console_type,
            "url": url,
        }})),
    )
        .into_response())
}
