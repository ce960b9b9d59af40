//! `GET /limits`: the caller's absolute limits and usage, as nova's
//! `limits` controller (network limits go at 2.36, `maxImageMeta` at 2.39,
//! personality limits at 2.57; `rate` is always empty).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas};
use crate::state::ApiState;

/// The limits routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/limits", get(index))
}

/// Builds the `absolute` object from a project's limits and usage.
pub fn absolute_limits(
    version: ApiVersion,
    limits: &compute::QuotaLimits,
    usage: &compute::QuotaUsage,
) -> Value {
    let network = !version.at_least(2, 36);
    let mut out = Map::new();
    let mut put = |key: &str, value: i64| {
        out.insert(key.to_string(), json!(value));
    };
    put("maxServerMeta", limits.metadata_items);
    if !version.at_least(2, 39) {
        put("maxImageMeta", limits.metadata_items);
    }
    if !version.at_least(2, 57) {
        put("maxPersonality", limits.injected_files);
        put("maxPersonalitySize", limits.injected_file_content_bytes);
    }
    if network {
        // nova-network's quotas, as os-quota-sets stores them (-1 unset).
        put("maxSecurityGroupRules", limits.security_group_rules);
        put("maxSecurityGroups", limits.security_groups);
        put("maxTotalFloatingIps", limits.floating_ips);
    }
    put("maxTotalCores", limits.cores);
    put("maxTotalInstances", limits.instances);
    put("maxTotalKeypairs", limits.key_pairs);
    put("maxTotalRAMSize", limits.ram);
    put("maxServerGroups", limits.server_groups);
    put("maxServerGroupMembers", limits.server_group_members);
    put("totalCoresUsed", usage.cores);
    put("totalInstancesUsed", usage.instances);
    put("totalRAMUsed", usage.ram);
    put("totalServerGroupsUsed", usage.server_groups);
    if network {
        put("totalSecurityGroupsUsed", 0);
        put("totalFloatingIpsUsed", 0);
    }
    Value::Object(out)
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, &["tenant_id"]).validate_query(&urls.query)?;
    }
    let project = match urls.param("tenant_id") {
        Some(other) if other != context.0.project_id => {
            context.require_admin("os_compute_api:limits:other_project")?;
            other.to_string()
        }
        _ => context.0.project_id.clone(),
    };
    let limits = state
        .compute
        .get_quotas(&context.0, &project)
        .await
        .map_err(domain)?;
    let usage = state
        .compute
        .quota_usage(&context.0, &project, None)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"limits": {"rate": [], "absolute": absolute_limits(version, &limits, &usage)}}),
    ))
}
