//! `os-networks` and `os-tenant-networks`: nova's `networks` and
//! `tenant_networks` controllers over the networks the caller sees (its
//! own, the shared and the external ones; every network for an admin).
//!
//! Their lists and shows (2.1-2.35) keep nova-network's shapes with only
//! what a Neutron network still fills in: `os-networks` shows the id and
//! the name (`label`) and every other field of nova-network's view as
//! null (an admin gets the admin fields too, null as well);
//! `os-tenant-networks` shows the id, the name and a `cidr` of `"None"`,
//! the text nova has always answered there. The nova-network calls
//! (create, delete, `add`, and the `disassociate`, `associate_host`,
//! `disassociate_host` and `disassociate_project` actions) answer 410 at
//! every microversion, as nova's removed methods do.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use compute::network::error::ErrorClass;
use compute::network::{ListQuery, Network};
use compute::RequestContext;
use serde_json::{json, Map, Value};

use super::{internal, ok};
use crate::context::Context;
use crate::fault::{fault_response, ApiError};
use crate::microversion::ApiVersion;
use crate::removed::GONE_MESSAGE;
use crate::resources::images::proxy_version;
use crate::state::ApiState;
use crate::validation::JsonBody;

/// The fields of nova's network view, shown to everyone.
const FIELDS: &[&str] = &[
    "id",
    "cidr",
    "netmask",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "cidr_v6",
    "gateway_v6",
    "label",
    "netmask_v6",
];

/// The fields of nova's network view shown to an admin only.
const ADMIN_FIELDS: &[&str] = &[
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "injected",
    "bridge",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "project_id",
    "host",
    "bridge_interface",
    "multi_host",
    "priority",
    "rxtx_base",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
];

/// The actions of `POST /os-networks/{id}/action`, all removed.
const REMOVED_ACTIONS: &[&str] = &[
    "disassociate",
    "associate_host",
    "disassociate_host",
    "disassociate_project",
];

/// The routes of both controllers.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-networks", get(index).post(gone_with_body))
        .route("/os-networks/add", post(gone_with_body))
        .route("/os-networks/{id}", get(show).delete(gone))
        .route("/os-networks/{id}/action", post(action))
        .route(
            "/os-tenant-networks",
            get(tenant_index).post(gone_with_body),
        )
        .route("/os-tenant-networks/{id}", get(tenant_show).delete(gone))
}

/// nova's `network_dict`: the id and the name, every other field null.
fn network_view(ctx: &RequestContext, network: &Network) -> Value {
    let admin: &[&str] = if ctx.is_admin { ADMIN_FIELDS } else { &[] };
    let view: Map<String, Value> = FIELDS
        .iter()
        .chain(admin)
        .map(|field| {
            let value = match *field {
                "id" => json!(network.id),
                "label" => json!(network.name),
                _ => Value::Null,
            };
            (field.to_string(), value)
        })
        .collect();
    Value::Object(view)
}

/// `os-tenant-networks`' view: the id, the name and nova's `"None"`.
fn tenant_network_view(network: &Network) -> Value {
    json!({"id": network.id, "cidr": "None", "label": network.name})
}

/// Every network the caller sees.
async fn visible(state: &ApiState, ctx: &RequestContext) -> Result<Vec<Network>, ApiError> {
    Ok(state
        .compute
        .list_networks(ctx, &ListQuery::default())
        .await
        .map_err(internal)?
        .items)
}

/// The network `id` the caller sees, or nova's 404 "Network not found".
async fn network(state: &ApiState, ctx: &RequestContext, id: &str) -> Result<Network, ApiError> {
    state
        .compute
        .get_network(ctx, id)
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => ApiError::NotFound("Network not found".into()),
            _ => internal(e),
        })
}

/// `GET /os-networks`.
async fn index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let views: Vec<Value> = visible(&state, &ctx)
        .await?
        .iter()
        .map(|n| network_view(&ctx, n))
        .collect();
    Ok(ok("networks", views))
}

/// `GET /os-networks/{id}`.
async fn show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let network = network(&state, &ctx, &id).await?;
    Ok(ok("network", network_view(&ctx, &network)))
}

/// `GET /os-tenant-networks`.
async fn tenant_index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let views: Vec<Value> = visible(&state, &ctx)
        .await?
        .iter()
        .map(tenant_network_view)
        .collect();
    Ok(ok("networks", views))
}

/// `GET /os-tenant-networks/{id}`.
async fn tenant_show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let network = network(&state, &ctx, &id).await?;
    Ok(ok("network", tenant_network_view(&network)))
}

/// A removed nova-network call: 410.
async fn gone(Context(_): Context) -> Response {
    fault_response(StatusCode::GONE, GONE_MESSAGE)
}

/// A removed nova-network call with a body: a body that is no JSON is
/// nova's 400 (read before the method), anything else 410.
async fn gone_with_body(Context(_): Context, _body: JsonBody) -> Response {
    fault_response(StatusCode::GONE, GONE_MESSAGE)
}

/// `POST /os-networks/{id}/action`: every action is removed (410); an
/// action nova never had is its 400.
async fn action(Context(_): Context, body: JsonBody) -> Result<Response, ApiError> {
    let name = body
        .value
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .ok_or_else(|| ApiError::BadRequest("Malformed request body".into()))?;
    if REMOVED_ACTIONS.contains(&name.as_str()) {
        Ok(fault_response(StatusCode::GONE, GONE_MESSAGE))
    } else {
        Err(ApiError::BadRequest(format!(
            "There is no such action: {name}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> Network {
        Network {
            id: "n1".into(),
            project_id: "p".into(),
            name: "private".into(),
            description: String::new(),
            shared: true,
            router_external: false,
            is_default: false,
            admin_state_up: true,
            mtu: 1500,
            status: "ACTIVE".into(),
            subnets: vec![],
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn ctx(is_admin: bool) -> RequestContext {
        let mut ctx = RequestContext::new("u", "p");
        ctx.is_admin = is_admin;
        ctx
    }

    #[test]
    fn the_network_view_has_novas_fields_and_only_id_and_label_filled() {
        let view = network_view(&ctx(false), &network());
        let object = view.as_object().unwrap();
        assert_eq!(object.len(), FIELDS.len());
        let filled: Vec<(&String, &Value)> = object.iter().filter(|(_, v)| !v.is_null()).collect();
        assert_eq!(
            filled,
            vec![
                (&"id".to_string(), &json!("n1")),
                (&"label".to_string(), &json!("private"))
            ]
        );
        let admin = network_view(&ctx(true), &network());
        assert_eq!(
            admin.as_object().unwrap().len(),
            FIELDS.len() + ADMIN_FIELDS.len()
        );
        assert_eq!(admin["mtu"], Value::Null);
    }
}
