//! `/os-quota-class-sets/{class}`: show and update a quota class (admin),
//! as nova's `quota_classes` controller. The `default` class's limits are
//! what every project without its own gets. Network quotas are shown
//! before 2.50, `server_groups` and `server_group_members` from 2.50, the
//! injected-file quotas before 2.57.

use std::collections::BTreeMap;

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
use crate::resources::quota_sets::{limit_of, store_name, FILE_QUOTAS, NETWORK_QUOTAS};
use crate::resources::{domain, json_response, schemas, JsonBody};
use crate::state::ApiState;
use crate::validation::int_of;

/// The quota class routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/os-quota-class-sets/{id}", get(show).put(update))
}

/// The quotas every version shows and accepts.
const CORE_QUOTAS: &[&str] = &["cores", "instances", "key_pairs", "metadata_items", "ram"];
/// Shown from 2.50 (accepted by every version, as nova's schema does).
const GROUP_QUOTAS: &[&str] = &["server_group_members", "server_groups"];
/// The quotas `version` shows (`accepted`: false) or accepts in an
/// update (true), sorted.
fn resources(version: ApiVersion, accepted: bool) -> Vec<&'static str> {
    let mut names = CORE_QUOTAS.to_vec();
    if accepted || version.at_least(2, 50) {
        names.extend_from_slice(GROUP_QUOTAS);
    }
    if !version.at_least(2, 50) {
        names.extend_from_slice(NETWORK_QUOTAS);
    }
    if !version.at_least(2, 57) {
        names.extend_from_slice(FILE_QUOTAS);
    }
    names.sort_unstable();
    names
}

fn class_set(version: ApiVersion, id: Option<&str>, limits: &compute::QuotaLimits) -> Value {
    let mut body = Map::new();
    if let Some(id) = id {
        body.insert("id".into(), json!(id));
    }
    for resource in resources(version, false) {
        body.insert(resource.into(), json!(limit_of(limits, resource)));
    }
    json!({ "quota_class_set": body })
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    context.require_admin("os_compute_api:os-quota-class-sets:show")?;
    let limits = state
        .compute
        .get_quota_class(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        class_set(version, Some(&id), &limits),
    ))
}

async fn update(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    context.require_admin("os_compute_api:os-quota-class-sets:update")?;
    schemas::quota_class_update(&resources(version, true)).validate(&body)?;
    let mut updates = BTreeMap::new();
    if let Some(set) = body["quota_class_set"].as_object() {
        for (resource, value) in set {
            // Within [-1, 2^31-1] now: exact in an i64.
            let limit = int_of(value).unwrap_or_default();
            updates.insert(store_name(resource).to_string(), limit);
        }
    }
    let limits = state
        .compute
        .update_quota_class(&context.0, &id, &updates)
        .await
        .map_err(domain)?;
    // nova's update answer carries no `id`.
    Ok(json_response(
        StatusCode::OK,
        class_set(version, None, &limits),
    ))
}
