//! `os-floating-ips` and `os-floating-ip-pools` (2.1-2.35): nova's
//! `floating_ips` and `floating_ip_pools` controllers over the network
//! domain's floating IPs and external networks.
//!
//! A pool is an external network, named by its name (its id when it has
//! none). A floating IP shows its pool, its address (`ip`), the fixed
//! address it maps to and the device of the port it is associated with
//! (`instance_id`). The list is the caller's project's floating IPs, an
//! admin's too; a show or a release reaches any floating IP the caller
//! sees (any, for an admin).
//!
//! An allocation without a pool takes `[neutron] default_floating_pool`.
//! A pool is looked up among the external networks by id when the name
//! looks like a uuid, else by name; none is nova's 404 "Floating IP pool
//! not found.", several by one name a 400 naming it (nova, not expecting
//! it, answers 500). An exhausted pool is nova's 404 and the project's
//! quota nova's 403, each naming the pool the request named.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use compute::network::error::ErrorClass;
use compute::network::{FloatingIp, ListQuery, Network, NetworkError, NewFloatingIp};
use compute::RequestContext;
use serde_json::{json, Value};

use super::{internal, ok};
use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::resources::images::proxy_version;
use crate::state::ApiState;
use crate::validation::{types, JsonBody, Schema, Ty};

/// The routes of both controllers.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-floating-ip-pools", get(pools))
        .route("/os-floating-ips", get(index).post(create))
        .route("/os-floating-ips/{id}", get(show).delete(release))
}

/// nova's `create` body: an object (or null) whose `pool` is a string or
/// null.
fn create_schema() -> Schema {
    Schema::of(&[Ty::Object, Ty::Null]).plain_type_list().prop(
        "pool",
        Schema::of(&[Ty::String, Ty::Null]).plain_type_list(),
    )
}

/// The name nova shows for a pool: its name, or its id when it has none.
fn pool_name(network: &Network) -> String {
    if network.name.is_empty() {
        network.id.clone()
    } else {
        network.name.clone()
    }
}

/// The external networks the caller sees, filtered by `extra`.
async fn external_networks(
    state: &ApiState,
    ctx: &RequestContext,
    extra: Option<(&str, &str)>,
) -> Result<Vec<Network>, ApiError> {
    let mut query = ListQuery::default();
    query
        .filters
        .push(("router:external".into(), vec!["true".into()]));
    if let Some((name, value)) = extra {
        query.filters.push((name.into(), vec![value.into()]));
    }
    Ok(state
        .compute
        .list_networks(ctx, &query)
        .await
        .map_err(internal)?
        .items)
}

/// `GET /os-floating-ip-pools`: the external networks, by name.
async fn pools(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let pools: Vec<Value> = external_networks(&state, &ctx, None)
        .await?
        .iter()
        .map(|n| json!({ "name": pool_name(n) }))
        .collect();
    Ok(ok("floating_ip_pools", pools))
}

/// nova's view of a floating IP: its pool's name comes from its network,
/// its `instance_id` from its port's device (none without a port).
async fn view(state: &ApiState, ctx: &RequestContext, fip: &FloatingIp) -> Result<Value, ApiError> {
    let network = state
        .compute
        .get_network(ctx, &fip.floating_network_id)
        .await
        .map_err(internal)?;
    let instance_id = match &fip.port_id {
        None => None,
        Some(port) => match state.compute.get_port(ctx, port).await {
            Ok(port) => Some(port.device_id),
            Err(e) if e.class() == ErrorClass::NotFound => None,
            Err(e) => return Err(internal(e)),
        },
    };
    Ok(json!({
        "id": fip.id,
        "ip": fip.floating_ip_address,
        "fixed_ip": fip.fixed_ip_address,
        "instance_id": instance_id,
        "pool": pool_name(&network),
    }))
}

/// The floating IP `id` the caller sees, or nova's 404.
async fn floating_ip(
    state: &ApiState,
    ctx: &RequestContext,
    id: &str,
) -> Result<FloatingIp, ApiError> {
    state
        .compute
        .get_floating_ip(ctx, id)
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => {
                ApiError::NotFound(format!("Floating IP not found for ID {id}"))
            }
            _ => internal(e),
        })
}

/// `GET /os-floating-ips`: the floating IPs of the caller's project.
async fn index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let mut query = ListQuery::default();
    query
        .filters
        .push(("project_id".into(), vec![ctx.project_id.clone()]));
    let fips = state
        .compute
        .list_floating_ips(&ctx, &query)
        .await
        .map_err(internal)?
        .items;
    let mut views = Vec::with_capacity(fips.len());
    for fip in &fips {
        views.push(view(&state, &ctx, fip).await?);
    }
    Ok(ok("floating_ips", views))
}

/// `GET /os-floating-ips/{id}`.
async fn show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let fip = floating_ip(&state, &ctx, &id).await?;
    let view = view(&state, &ctx, &fip).await?;
    Ok(ok("floating_ip", view))
}

/// nova's `_get_floating_ip_pool_id_by_name_or_id`: the one external
/// network with that id (when it looks like a uuid) or name.
async fn pool_id(state: &ApiState, ctx: &RequestContext, pool: &str) -> Result<String, ApiError> {
    let by = if types::uuid().validate(&json!(pool)).is_ok() {
        "id"
    } else {
        "name"
    };
    let mut found = external_networks(state, ctx, Some((by, pool))).await?;
    match found.len() {
        0 => Err(ApiError::NotFound("Floating IP pool not found.".into())),
        1 => Ok(found.remove(0).id),
        _ => Err(ApiError::BadRequest(format!(
            "Multiple floating IP pools matches found for name '{pool}'"
        ))),
    }
}

/// nova's answer to a refused allocation; `named` is the pool the request
/// named (none when it took the default).
fn allocation_error(err: NetworkError, named: Option<&str>) -> ApiError {
    match (&err, err.class()) {
        (NetworkError::IpAddressGenerationFailure(_), _)
        | (NetworkError::ExternalIpAddressExhausted(_), _) => ApiError::NotFound(match named {
            Some(pool) => format!("No more floating IPs in pool {pool}."),
            None => "No more floating IPs available.".into(),
        }),
        (NetworkError::OverQuota(_), _) => ApiError::Forbidden(match named {
            Some(pool) => format!("IP allocation over quota in pool {pool}."),
            None => "IP allocation over quota.".into(),
        }),
        (_, ErrorClass::BadRequest) => ApiError::BadRequest(err.to_string()),
        _ => internal(err),
    }
}

/// `POST /os-floating-ips`: a floating IP of the caller's project from
/// `pool`, or from `[neutron] default_floating_pool`.
async fn create(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let body = body.validate(create_schema())?;
    let named = body
        .get("pool")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty());
    let pool = named.unwrap_or(&state.config.default_floating_pool);
    let network = pool_id(&state, &ctx, pool).await?;
    let fip = state
        .compute
        .create_floating_ip(
            &ctx,
            NewFloatingIp {
                floating_network_id: network,
                ..NewFloatingIp::default()
            },
        )
        .await
        .map_err(|e| allocation_error(e, named))?;
    let view = view(&state, &ctx, &fip).await?;
    Ok(ok("floating_ip", view))
}

/// `DELETE /os-floating-ips/{id}`: disassociates and releases it (202).
async fn release(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    floating_ip(&state, &ctx, &id).await?;
    state
        .compute
        .delete_floating_ip(&ctx, &id)
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => {
                ApiError::NotFound(format!("Floating IP not found for ID {id}"))
            }
            ErrorClass::Forbidden => ApiError::Forbidden(e.to_string()),
            _ => internal(e),
        })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_allocation_names_the_pool_the_request_named() {
        let exhausted = || NetworkError::ExternalIpAddressExhausted("n".into());
        assert_eq!(
            allocation_error(exhausted(), Some("public")).to_string(),
            "No more floating IPs in pool public."
        );
        assert_eq!(
            allocation_error(exhausted(), None).to_string(),
            "No more floating IPs available."
        );
        let quota = || NetworkError::OverQuota(vec!["floatingip".into()]);
        let refused = allocation_error(quota(), Some("public"));
        assert_eq!(
            (refused.status(), refused.to_string()),
            (
                StatusCode::FORBIDDEN,
                "IP allocation over quota in pool public.".to_string()
            )
        );
        assert_eq!(
            allocation_error(quota(), None).to_string(),
            "IP allocation over quota."
        );
    }

    #[test]
    fn the_body_may_be_null_or_name_a_pool() {
        let check = |body: Value| {
            create_schema()
                .validate(&body)
                .map_err(|e| e.body_message())
        };
        assert!(check(Value::Null).is_ok());
        assert!(check(json!({})).is_ok());
        assert!(check(json!({"pool": null})).is_ok());
        assert_eq!(
            check(json!({"pool": 1})).unwrap_err(),
            "Invalid input for field/attribute pool. Value: 1. 1 is not of type 'string', 'null'"
        );
        assert_eq!(
            check(json!([])).unwrap_err(),
            "[] is not of type 'object', 'null'"
        );
    }
}
