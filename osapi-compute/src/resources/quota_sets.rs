//! `/os-quota-sets/{project_id}`: show, detail (limit, in use, reserved),
//! defaults, admin update and delete, as nova's `quota_sets` controller.
//! Network quotas are dropped at 2.36 and injected-file quotas at 2.57.
//! Per-user quotas are not kept: `?user_id=` is accepted and the project's
//! quotas are shown (with that user's keypair count in `detail`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas, JsonBody};
use crate::state::ApiState;
use crate::validation::{bool_of, int_of};

/// The quota routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-quota-sets/{id}", get(show).put(update).delete(delete))
        .route("/os-quota-sets/{id}/detail", get(detail))
        .route("/os-quota-sets/{id}/defaults", get(defaults))
}

/// Quotas of nova-network days, stored and shown before 2.36.
pub(crate) const NETWORK_QUOTAS: &[&str] = &[
    "fixed_ips",
    "floating_ips",
    "security_group_rules",
    "security_groups",
];
/// Injected-file quotas, shown before 2.57.
pub(crate) const FILE_QUOTAS: &[&str] = &[
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "injected_files",
];
/// The quotas every version shows.
const CORE_QUOTAS: &[&str] = &[
    "cores",
    "instances",
    "key_pairs",
    "metadata_items",
    "ram",
    "server_groups",
    "server_group_members",
];

/// The API names of the quotas `version` shows, in nova's sample order.
fn resources(version: ApiVersion) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CORE_QUOTAS.to_vec();
    if !version.at_least(2, 36) {
        names.extend_from_slice(NETWORK_QUOTAS);
    }
    if !version.at_least(2, 57) {
        names.extend_from_slice(FILE_QUOTAS);
    }
    names.sort_unstable();
    names
}

/// The store's name of an API quota (nova says `injected_file_path_bytes`).
pub(crate) fn store_name(resource: &str) -> &str {
    match resource {
        "injected_file_path_bytes" => "injected_file_path_length",
        other => other,
    }
}

pub(crate) fn limit_of(limits: &compute::QuotaLimits, resource: &str) -> i64 {
    limits.get(store_name(resource)).unwrap_or(-1)
}

fn quota_set(version: ApiVersion, id: Option<&str>, limits: &compute::QuotaLimits) -> Value {
    let mut body = Map::new();
    if let Some(id) = id {
        body.insert("id".into(), json!(id));
    }
    for resource in resources(version) {
        body.insert(resource.into(), json!(limit_of(limits, resource)));
    }
    json!({ "quota_set": body })
}

fn check_query(version: ApiVersion, urls: &RequestUrls, allowed: &[&str]) -> Result<(), ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, allowed).validate_query(&urls.query)?;
    }
    Ok(())
}

/// nova's `project_reader_or_admin` rule on the project in the URL.
fn reader_or_admin(context: &Context, project: &str, action: &str) -> Result<(), ApiError> {
    if context.0.can_access_project(project) {
        Ok(())
    } else {
        Err(ApiError::policy(&format!(
            "os_compute_api:os-quota-sets:{action}"
        )))
    }
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_query(version, &urls, &["user_id"])?;
    reader_or_admin(&context, &id, "show")?;
    let limits = state
        .compute
        .get_quotas(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        quota_set(version, Some(&id), &limits),
    ))
}

async fn detail(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_query(version, &urls, &["user_id"])?;
    reader_or_admin(&context, &id, "detail")?;
    let limits = state
        .compute
        .get_quotas(&context.0, &id)
        .await
        .map_err(domain)?;
    let user = urls.param("user_id").filter(|u| !u.is_empty());
    let usage = state
        .compute
        .quota_usage(&context.0, &id, user)
        .await
        .map_err(domain)?;
    let mut body = Map::new();
    body.insert("id".into(), json!(id));
    for resource in resources(version) {
        let in_use = if NETWORK_QUOTAS.contains(&resource) {
            0
        } else {
            usage.get(resource)
        };
        body.insert(
            resource.into(),
            json!({"limit": limit_of(&limits, resource), "in_use": in_use, "reserved": 0}),
        );
    }
    Ok(json_response(StatusCode::OK, json!({ "quota_set": body })))
}

async fn defaults(
    State(state): State<ApiState>,
    _context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Anyone may read the defaults (nova's rule is `@`).
    let limits = state.compute.default_quotas().await.map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        quota_set(version, Some(&id), &limits),
    ))
}

/// Validates an update body; returns `force` and the new limits by the
/// store's names.
fn parse_update(
    body: &Value,
    version: ApiVersion,
) -> Result<(bool, BTreeMap<String, i64>), ApiError> {
    schemas::quota_update(&resources(version)).validate(body)?;
    let set = body["quota_set"].as_object().cloned().unwrap_or_default();
    let force = set.get("force").is_some_and(bool_of);
    let mut updates = BTreeMap::new();
    for (resource, value) in &set {
        if resource == "force" {
            continue;
        }
        // Within [-1, 2^31-1] now: exact in an i64.
        let number = int_of(value).unwrap_or_default();
        updates.insert(store_name(resource).to_string(), number);
    }
    Ok((force, updates))
}

async fn update(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    check_query(version, &urls, &["user_id"])?;
    context.require_admin("os_compute_api:os-quota-sets:update")?;
    let (force, updates) = parse_update(&body, version)?;
    let limits = state
        .compute
        .update_quotas(&context.0, &id, &updates, force)
        .await
        .map_err(domain)?;
    // nova's update answer carries no `id`.
    Ok(json_response(
        StatusCode::OK,
        quota_set(version, None, &limits),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_query(version, &urls, &["user_id"])?;
    context.require_admin("os_compute_api:os-quota-sets:delete")?;
    state
        .compute
        .delete_quotas(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_names_follow_the_microversion() {
        assert!(resources(ApiVersion::new(2, 1)).contains(&"floating_ips"));
        assert!(!resources(ApiVersion::new(2, 36)).contains(&"floating_ips"));
        assert!(resources(ApiVersion::new(2, 56)).contains(&"injected_files"));
        assert!(!resources(ApiVersion::new(2, 57)).contains(&"injected_files"));
    }

    #[test]
    fn update_messages_are_pinned() {
        let update = |body: Value, minor: u32| match parse_update(&body, ApiVersion::new(2, minor))
        {
            Ok(_) => "accepted".to_string(),
            Err(err) => err.to_string(),
        };
        assert_eq!(update(json!(null), 1), "None is not of type 'object'");
        assert_eq!(update(json!({}), 1), "'quota_set' is a required property");
        assert_eq!(
            update(json!({"quota_set": []}), 1),
            "Invalid input for field/attribute quota_set. Value: []. [] is not of type 'object'"
        );
        assert_eq!(
            update(json!({"quota_set": {"force": "maybe"}}), 1),
            "Invalid input for field/attribute force. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"
        );
        assert_eq!(
            update(json!({"quota_set": {"cores": 1.5}}), 1),
            "Invalid input for field/attribute cores. Value: 1.5. 1.5 is not of type 'integer', 'string'"
        );
        assert_eq!(
            update(json!({"quota_set": {"ram": "2147483648"}}), 1),
            "Invalid input for field/attribute ram. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647"
        );
        assert_eq!(
            update(json!({"quota_set": {"floating_ips": 1}}), 36),
            "Invalid input for field/attribute quota_set. Value: {'floating_ips': 1}. Additional properties are not allowed ('floating_ips' was unexpected)"
        );
        assert_eq!(
            update(
                json!({"quota_set": {"cores": "-1", "floating_ips": 1, "force": "yes"}}),
                1
            ),
            "accepted"
        );
        assert_eq!(
            parse_update(
                &json!({"quota_set": {"cores": "7", "injected_file_path_bytes": 9, "force": true}}),
                ApiVersion::new(2, 1)
            )
            .unwrap(),
            (
                true,
                BTreeMap::from([
                    ("cores".to_string(), 7),
                    ("injected_file_path_length".to_string(), 9)
                ])
            )
        );
    }

    #[test]
    fn a_bad_quota_value_has_novas_message() {
        let err = parse_update(
            &json!({"quota_set": {"cores": "ten"}}),
            ApiVersion::new(2, 1),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute cores. Value: ten. 'ten' does not match '^-?[0-9]+$'"
        );
    }
}
