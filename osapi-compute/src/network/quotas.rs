//! The handlers of `/v2.0/quotas` (Neutron's `quotas` and
//! `quota_details` extensions) and `/v2.0/auto-allocated-topology`.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use compute::network::{NetworkQuotaLimits, NETWORK_QUOTA_RESOURCES};

use super::params::{resource_body, Body};
use super::resources::{body_call, context, id, one, Answer, Read};
use crate::state::ApiState;

/// The routes of quotas and auto-allocated topologies.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v2.0/quotas", get(list_quotas))
        .route("/v2.0/quotas.json", get(list_quotas))
        .route(
            "/v2.0/quotas/{project}",
            get(show_quota).put(update_quota).delete(delete_quota),
        )
        .route("/v2.0/quotas/{project}/default", get(show_default))
        .route("/v2.0/quotas/{project}/default.json", get(show_default))
        .route("/v2.0/quotas/{project}/details", get(show_details))
        .route("/v2.0/quotas/{project}/details.json", get(show_details))
        .route(
            "/v2.0/auto-allocated-topology/{project}",
            get(show_topology).delete(delete_topology),
        )
}

/// A project's limits as Neutron shows them.
fn limits_view(limits: &NetworkQuotaLimits) -> Map<String, Value> {
    NETWORK_QUOTA_RESOURCES
        .iter()
        .map(|r| (r.to_string(), json!(limits.get(r).unwrap_or(-1))))
        .collect()
}

async fn list_quotas(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let quotas = state.compute.list_network_quotas(&read.ctx).await?;
    let views: Vec<Value> = quotas
        .iter()
        .map(|(project, limits)| {
            let mut view = limits_view(limits);
            view.insert("project_id".into(), json!(project));
            view.insert("tenant_id".into(), json!(project));
            Value::Object(view)
        })
        .collect();
    Ok(axum::Json(json!({ "quotas": views })).into_response())
}

async fn show_quota(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let limits = state.compute.network_quota(&read.ctx, &id(raw)).await?;
    Ok(one("quota", limits_view(&limits), StatusCode::OK))
}

async fn show_default(
    State(state): State<ApiState>,
    Path(_project): Path<String>,
    request: Request,
) -> Answer {
    Read::of(request)?;
    let limits = state.compute.network_quota_defaults();
    Ok(one("quota", limits_view(&limits), StatusCode::OK))
}

async fn show_details(
    State(state): State<ApiState>,
    Path(project): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let details = state
        .compute
        .network_quota_details(&read.ctx, &project)
        .await?;
    let view: Map<String, Value> = details
        .into_iter()
        .map(|(r, usage)| (r.to_string(), json!(usage)))
        .collect();
    Ok(one("quota", view, StatusCode::OK))
}

async fn update_quota(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, bytes) = body_call(request).await?;
    let mut b = Body::new(resource_body(&bytes, "quota")?, false);
    let mut changes = Vec::new();
    for resource in NETWORK_QUOTA_RESOURCES {
        if let Some(limit) = b.integer(resource)? {
            changes.push((resource.to_string(), limit));
        }
    }
    b.finish()?;
    let limits = state
        .compute
        .update_network_quota(&ctx, &id(raw), &changes)
        .await?;
    Ok(one("quota", limits_view(&limits), StatusCode::OK))
}

async fn delete_quota(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_network_quota(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v2.0/auto-allocated-topology/{project_id}`: the project's
/// network, built on first asking; `?fields=dry-run` only checks that it
/// could be.
async fn show_topology(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let project = id(raw);
    let fields = &read.params.fields;
    if fields.iter().any(|f| f == "dry-run") {
        state
            .compute
            .check_auto_allocation(&read.ctx, &project)
            .await?;
        return Ok(one(
            "auto_allocated_topology",
            json!({"dry-run": "pass"}),
            StatusCode::OK,
        ));
    }
    if !fields.is_empty() {
        return Err(super::fault::NeutronFault::bad_request(
            "Bad auto_allocate request: Unrecognized field.",
        ));
    }
    let topology = state
        .compute
        .auto_allocated_topology(&read.ctx, &project)
        .await?;
    Ok(one(
        "auto_allocated_topology",
        json!({
            "id": topology.network_id,
            "tenant_id": topology.project_id,
            "project_id": topology.project_id,
        }),
        StatusCode::OK,
    ))
}

async fn delete_topology(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state
        .compute
        .delete_auto_allocated_topology(&ctx, &id(raw))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
