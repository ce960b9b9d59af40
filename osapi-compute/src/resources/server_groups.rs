//! `/os-server-groups`: list, create, show and delete server groups, as
//! nova's `server_groups` controller: the `policies` list (with an empty
//! `metadata`) below 2.64, `policy` and `rules` from 2.64; the soft
//! policies from 2.15; `project_id` and `user_id` from 2.13; every
//! project's groups for an admin asking `all_projects`; unknown query
//! parameters refused from 2.75. Members are the servers created with the
//! group's `group` hint that are not deleted.

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
use crate::resources::{domain, json_response, schemas};
use crate::state::ApiState;
use crate::validation::{types, JsonBody, Schema};

/// The server group routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-server-groups", get(index).post(create))
        .route("/os-server-groups/{id}", get(show).delete(delete))
}

/// A group as nova shows it at `version`.
fn view(group: &compute::ServerGroup, version: ApiVersion) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(group.uuid));
    body.insert("name".into(), json!(group.name));
    if version.at_least(2, 64) {
        body.insert("policy".into(), json!(group.policy.as_str()));
        let rules = match group.max_server_per_host {
            Some(n) => json!({ "max_server_per_host": n }),
            None => json!({}),
        };
        body.insert("rules".into(), rules);
    } else {
        body.insert("policies".into(), json!([group.policy.as_str()]));
        body.insert("metadata".into(), json!({}));
    }
    body.insert("members".into(), json!(group.members));
    if version.at_least(2, 13) {
        body.insert("project_id".into(), json!(group.project_id));
        body.insert("user_id".into(), json!(group.user_id));
    }
    Value::Object(body)
}

/// The create body schema of `version`.
pub fn create_schema(version: ApiVersion) -> Schema {
    let mut policies = vec![json!("anti-affinity"), json!("affinity")];
    if version.at_least(2, 15) {
        policies.push(json!("soft-anti-affinity"));
        policies.push(json!("soft-affinity"));
    }
    let group = if version.at_least(2, 64) {
        Schema::object()
            .prop("name", types::name())
            .prop(
                "policy",
                Schema::string().enumerated(&[
                    json!("anti-affinity"),
                    json!("affinity"),
                    json!("soft-anti-affinity"),
                    json!("soft-affinity"),
                ]),
            )
            .prop(
                "rules",
                Schema::object()
                    .prop("max_server_per_host", types::positive_integer())
                    .additional(false),
            )
            .required(&["name", "policy"])
            .additional(false)
    } else {
        Schema::object()
            .prop("name", types::name())
            .prop(
                "policies",
                Schema::array(Schema::string().enumerated(&policies)).items_count(
                    Some(1),
                    Some(1),
                    true,
                ),
            )
            .required(&["name", "policies"])
            .additional(false)
    };
    Schema::object()
        .prop("server_group", group)
        .required(&["server_group"])
        .additional(false)
}

/// What a valid create body asks for.
fn parse_create(body: &Value, version: ApiVersion) -> compute::NewServerGroup {
    let group = &body["server_group"];
    let policy_name = if version.at_least(2, 64) {
        group["policy"].as_str()
    } else {
        group["policies"].get(0).and_then(Value::as_str)
    };
    let policy = policy_name
        .and_then(compute::ServerGroupPolicy::parse)
        .unwrap_or(compute::ServerGroupPolicy::Affinity);
    let max_server_per_host = group
        .get("rules")
        .and_then(|r| r.get("max_server_per_host"))
        .and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
    compute::NewServerGroup {
        name: group["name"].as_str().unwrap_or_default().to_string(),
        policy,
        max_server_per_host,
    }
}

/// A non-negative integer query parameter (`limit`, `offset`).
fn count_param(urls: &RequestUrls, name: &str) -> Result<Option<usize>, ApiError> {
    match urls.param(name) {
        None => Ok(None),
        Some(text) => text.parse::<usize>().map(Some).map_err(|_| {
            ApiError::BadRequest(format!(
                "Invalid input for query parameters {name}. Value: {text}. '{text}' does not match '^[0-9]+$'"
            ))
        }),
    }
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, &["all_projects", "limit", "offset"])
            .validate_query(&urls.query)?;
    }
    let offset = count_param(&urls, "offset")?.unwrap_or(0);
    let limit = count_param(&urls, "limit")?
        .unwrap_or(state.config.max_limit)
        .min(state.config.max_limit);
    let all_projects = urls.query.iter().any(|(k, _)| k == "all_projects");
    let groups = state
        .compute
        .list_server_groups(&context.0, all_projects)
        .await
        .map_err(domain)?;
    let items: Vec<Value> = groups
        .iter()
        .skip(offset)
        .take(limit)
        .map(|g| view(g, version))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "server_groups": items }),
    ))
}

async fn create(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.validate(create_schema(version))?;
    let new = parse_create(value, version);
    let group = state
        .compute
        .create_server_group(&context.0, new)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "server_group": view(&group, version) }),
    ))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let group = state
        .compute
        .get_server_group(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "server_group": view(&group, version) }),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    context: Context,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .compute
        .delete_server_group(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value, minor: u32) -> String {
        match create_schema(ApiVersion::new(2, minor)).validate(&body) {
            Ok(()) => "accepted".into(),
            Err(err) => ApiError::from(err).to_string(),
        }
    }

    #[test]
    fn create_bodies_follow_each_microversion() {
        let ok = |policy: &str| json!({"server_group": {"name": "g", "policies": [policy]}});
        assert_eq!(check(ok("affinity"), 1), "accepted");
        assert_eq!(check(ok("anti-affinity"), 14), "accepted");
        assert_ne!(check(ok("soft-affinity"), 14), "accepted");
        assert_eq!(check(ok("soft-anti-affinity"), 15), "accepted");
        assert_ne!(check(ok("affinity"), 64), "accepted");
        assert_ne!(
            check(
                json!({"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}}),
                1
            ),
            "accepted"
        );
        assert_ne!(
            check(json!({"server_group": {"name": "g", "policies": []}}), 1),
            "accepted"
        );
        assert_eq!(
            check(
                json!({"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 3}}}),
                64
            ),
            "accepted"
        );
        assert_ne!(
            check(
                json!({"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}}),
                64
            ),
            "accepted"
        );
        assert_ne!(
            check(
                json!({"server_group": {"name": "g", "policy": "affinity", "rules": {"other": 1}}}),
                64
            ),
            "accepted"
        );
        assert_ne!(
            check(
                json!({"server_group": {"name": "", "policy": "affinity"}}),
                64
            ),
            "accepted"
        );
    }

    #[test]
    fn rules_are_read_from_numbers_and_strings() {
        let v = ApiVersion::new(2, 64);
        let body = json!({"server_group": {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": "2"}}});
        assert_eq!(parse_create(&body, v).max_server_per_host, Some(2));
        let old = json!({"server_group": {"name": "g", "policies": ["soft-affinity"]}});
        assert_eq!(
            parse_create(&old, ApiVersion::new(2, 15)).policy,
            compute::ServerGroupPolicy::SoftAffinity
        );
    }
}
