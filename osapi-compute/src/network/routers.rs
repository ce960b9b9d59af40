//! The handlers of `/v2.0/routers` (with `add_router_interface` and
//! `remove_router_interface`) and `/v2.0/floatingips`.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;
use serde_json::{Map, Value};

use compute::network::{
    FixedIpRequest, FloatingIpUpdate, GatewayRequest, InterfaceRequest, NewFloatingIp, NewRouter,
    RouterUpdate,
};

use super::fault::NeutronFault;
use super::params::Body;
use super::resources::{body_call, context, id, one, write_call, Answer, Read};
use super::views;
use crate::state::ApiState;

/// The routes of the two collections.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v2.0/routers", get(list_routers).post(create_router))
        .route("/v2.0/routers.json", get(list_routers).post(create_router))
        .route(
            "/v2.0/routers/{id}",
            get(show_router).put(update_router).delete(delete_router),
        )
        .route(
            "/v2.0/routers/{id}/add_router_interface",
            put(add_interface),
        )
        .route(
            "/v2.0/routers/{id}/remove_router_interface",
            put(remove_interface),
        )
        .route(
            "/v2.0/floatingips",
            get(list_floating_ips).post(create_floating_ip),
        )
        .route(
            "/v2.0/floatingips.json",
            get(list_floating_ips).post(create_floating_ip),
        )
        .route(
            "/v2.0/floatingips/{id}",
            get(show_floating_ip)
                .put(update_floating_ip)
                .delete(delete_floating_ip),
        )
}

// Routers.

/// `external_gateway_info`: absent (`None`), null or `{}` (`Some(None)`:
/// no gateway), or a gateway.
fn gateway(b: &mut Body) -> Result<Option<Option<GatewayRequest>>, NeutronFault> {
    let map = match b.take("external_gateway_info") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(Value::Object(map)) if map.is_empty() => return Ok(Some(None)),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(NeutronFault::bad_request(format!(
                "Invalid input for external_gateway_info. Reason: '{other}' is not a dictionary."
            )))
        }
    };
    let mut g = Body::new(map, true);
    let network_id = g.string("network_id")?.ok_or_else(|| {
        NeutronFault::bad_request(
            "Invalid input for external_gateway_info. Reason: network_id is required.",
        )
    })?;
    let req = GatewayRequest {
        network_id,
        enable_snat: g.boolean("enable_snat")?,
        external_fixed_ips: g
            .objects("external_fixed_ips", &["subnet_id", "ip_address"])?
            .map(|rows| {
                rows.into_iter()
                    .map(|r| FixedIpRequest {
                        subnet_id: r[0].clone(),
                        ip_address: r[1].clone(),
                    })
                    .collect()
            }),
    };
    g.finish()?;
    Ok(Some(Some(req)))
}

async fn list_routers(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_routers(&read.ctx, &read.params.query)
        .await?;
    Ok(read.list("routers", page, views::router, |r| r.id.as_str()))
}

async fn show_router(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let r = state.compute.get_router(&read.ctx, &id(raw)).await?;
    Ok(read.show("router", views::router(&r)))
}

async fn create_router(State(state): State<ApiState>, request: Request) -> Answer {
    let (ctx, mut b) = write_call(request, "router", true).await?;
    b.refuse(&["id", "status", "created_at", "updated_at"])?;
    let req = NewRouter {
        name: b.string("name")?,
        description: b.string("description")?,
        project_id: b.project()?,
        admin_state_up: b.boolean("admin_state_up")?,
        external_gateway_info: gateway(&mut b)?.flatten(),
    };
    b.finish()?;
    let r = state.compute.create_router(&ctx, req).await?;
    Ok(one("router", views::router(&r), StatusCode::CREATED))
}

async fn update_router(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "router", false).await?;
    b.refuse(&[
        "id",
        "status",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = RouterUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        admin_state_up: b.boolean("admin_state_up")?,
        external_gateway_info: gateway(&mut b)?,
    };
    b.finish()?;
    let r = state.compute.update_router(&ctx, &id(raw), req).await?;
    Ok(one("router", views::router(&r), StatusCode::OK))
}

async fn delete_router(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_router(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `add_router_interface`/`remove_router_interface`: an
/// object with `subnet_id` and/or `port_id`, each a UUID.
fn interface_body(bytes: &[u8]) -> Result<InterfaceRequest, NeutronFault> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| NeutronFault::bad_request("Malformed request body"))?;
    let Value::Object(map) = value else {
        return Err(NeutronFault::bad_request("Malformed request body"));
    };
    let field = |map: &Map<String, Value>, key: &str| -> Result<Option<String>, NeutronFault> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => Ok(Some(s.clone())),
            Some(other) => {
                let shown = match other {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                Err(compute::NetworkError::BadResourceRequest {
                    resource: "router",
                    message: format!("'{shown}' is not a valid UUID"),
                }
                .into())
            }
        }
    };
    Ok(InterfaceRequest {
        subnet_id: field(&map, "subnet_id")?,
        port_id: field(&map, "port_id")?,
    })
}

async fn add_interface(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, bytes) = body_call(request).await?;
    let req = interface_body(&bytes)?;
    let i = state.compute.add_router_interface(&ctx, &raw, req).await?;
    Ok(axum::Json(Value::Object(views::router_interface(&i))).into_response())
}

async fn remove_interface(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, bytes) = body_call(request).await?;
    let req = interface_body(&bytes)?;
    let i = state
        .compute
        .remove_router_interface(&ctx, &raw, req)
        .await?;
    Ok(axum::Json(Value::Object(views::router_interface(&i))).into_response())
}

// Floating IPs.

/// `port_id`: absent (`None`), null (`Some(None)`), or a port.
fn port_id(b: &mut Body) -> Result<Option<Option<String>>, NeutronFault> {
    if b.peek("port_id").is_some_and(Value::is_null) {
        b.take("port_id");
        return Ok(Some(None));
    }
    Ok(b.string("port_id")?.map(Some))
}

async fn list_floating_ips(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_floating_ips(&read.ctx, &read.params.query)
        .await?;
    Ok(read.list("floatingips", page, views::floating_ip, |f| f.id.as_str()))
}

async fn show_floating_ip(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let f = state.compute.get_floating_ip(&read.ctx, &id(raw)).await?;
    Ok(read.show("floatingip", views::floating_ip(&f)))
}

async fn create_floating_ip(State(state): State<ApiState>, request: Request) -> Answer {
    let (ctx, mut b) = write_call(request, "floatingip", true).await?;
    b.refuse(&["id", "status", "router_id", "created_at", "updated_at"])?;
    let req = NewFloatingIp {
        floating_network_id: b.required("floating_network_id")?,
        project_id: b.project()?,
        port_id: port_id(&mut b)?.flatten(),
        fixed_ip_address: b.string("fixed_ip_address")?,
        floating_ip_address: b.string("floating_ip_address")?,
        subnet_id: b.string("subnet_id")?,
        description: b.string("description")?,
    };
    b.finish()?;
    let f = state.compute.create_floating_ip(&ctx, req).await?;
    Ok(one(
        "floatingip",
        views::floating_ip(&f),
        StatusCode::CREATED,
    ))
}

async fn update_floating_ip(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "floatingip", false).await?;
    b.refuse(&[
        "id",
        "status",
        "router_id",
        "floating_network_id",
        "floating_ip_address",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = FloatingIpUpdate {
        port_id: port_id(&mut b)?,
        fixed_ip_address: b.string("fixed_ip_address")?,
        description: b.string("description")?,
    };
    b.finish()?;
    let f = state
        .compute
        .update_floating_ip(&ctx, &id(raw), req)
        .await?;
    Ok(one("floatingip", views::floating_ip(&f), StatusCode::OK))
}

async fn delete_floating_ip(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_floating_ip(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
