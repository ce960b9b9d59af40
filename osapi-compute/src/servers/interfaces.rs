//! `/servers/{id}/os-interface`: a server's ports (nova's interface
//! attachments), attached and detached while it runs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::state::ApiState;
use crate::validation::{types, Format, JsonBody, Schema};

/// nova's view of an interface; its `tag` from 2.70.
fn interface_view(vif: &compute::Vif, version: ApiVersion) -> Value {
    let fixed_ips: Vec<Value> = vif
        .fixed_ips
        .iter()
        .map(|ip| json!({"subnet_id": ip.subnet_id, "ip_address": ip.address.to_string()}))
        .collect();
    let mut view = json!({
        "net_id": vif.network_id,
        "port_id": vif.port_id,
        "mac_addr": vif.mac_address,
        "port_state": "ACTIVE",
        "fixed_ips": fixed_ips,
    });
    if version.at_least(2, 70) {
        view["tag"] = json!(vif.tag);
    }
    view
}

/// The body of an attach (nova's `create`, and `create_v249` with `tag`).
fn attach_body(version: ApiVersion) -> Schema {
    let fixed_ip = Schema::object()
        .prop(
            "ip_address",
            Schema::one_of(vec![
                Schema::string().format(Format::Ipv4),
                Schema::string().format(Format::Ipv6),
            ]),
        )
        .required(&["ip_address"])
        .additional(false);
    let mut attachment = Schema::object()
        .prop("net_id", types::uuid())
        .prop("port_id", types::uuid())
        .prop(
            "fixed_ips",
            Schema::array(fixed_ip).items_count(Some(1), Some(1), false),
        );
    if version.at_least(2, 49) {
        attachment = attachment.prop("tag", types::tag());
    }
    Schema::object()
        .prop("interfaceAttachment", attachment.additional(false))
        .additional(false)
}

/// `GET /servers/{id}/os-interface`.
pub async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = state.compute.get_instance(&ctx.0, &id).await?;
    let list: Vec<Value> = instance
        .vifs
        .iter()
        .map(|v| interface_view(v, version))
        .collect();
    Ok(Json(json!({ "interfaceAttachments": list })))
}

/// `GET /servers/{id}/os-interface/{port_id}`.
pub async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, port_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let vif = state
        .compute
        .interface(&ctx.0, &id, &port_id)
        .await
        .map_err(|e| match e {
            compute::Error::NotFound {
                kind: compute::Kind::Port,
                ..
            } => ApiError::NotFound(format!(
                "Instance {id} does not have a port with id {port_id}"
            )),
            other => other.into(),
        })?;
    Ok(Json(
        json!({ "interfaceAttachment": interface_view(&vif, version) }),
    ))
}

/// `POST /servers/{id}/os-interface`: a network, a port, or neither.
pub async fn attach(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body = body.validate(attach_body(version))?;
    let attachment = &body["interfaceAttachment"];
    let text = |key: &str| {
        attachment
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (network_id, port_id) = (text("net_id"), text("port_id"));
    let fixed_ip = attachment["fixed_ips"][0]["ip_address"]
        .as_str()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if network_id.is_some() && port_id.is_some() {
        return Err(ApiError::BadRequest(
            "Must not input both network_id and port_id".into(),
        ));
    }
    if fixed_ip.is_some() && network_id.is_none() {
        return Err(ApiError::BadRequest(
            "Must input network_id when request IP address".into(),
        ));
    }
    let request = compute::AttachInterface {
        network_id,
        port_id,
        fixed_ip,
        tag: text("tag"),
    };
    let vif = state.compute.attach_interface(&ctx.0, &id, request).await?;
    Ok(Json(
        json!({ "interfaceAttachment": interface_view(&vif, version) }),
    ))
}

/// `DELETE /servers/{id}/os-interface/{port_id}`: 202.
pub async fn detach(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, port_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state
        .compute
        .detach_interface(&ctx.0, &id, &port_id)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
