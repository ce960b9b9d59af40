//! `/os-aggregates` (admin), as nova's `aggregates` controller: list,
//! create, show, update (name, availability zone), delete, the
//! `add_host`, `remove_host` and `set_metadata` actions, `uuid` from
//! 2.41, and the image cache request of 2.81
//! (`POST /os-aggregates/{id}/images`, 202).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, version_not_found};
use crate::state::ApiState;
use crate::validation::{types, JsonBody, Schema, Ty};

/// The aggregate routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-aggregates", get(index).post(create))
        .route("/os-aggregates/{id}", get(show).put(update).delete(delete))
        .route("/os-aggregates/{id}/action", post(action))
        .route("/os-aggregates/{id}/images", post(images))
}

fn policy(action: &str) -> String {
    format!("os_compute_api:os-aggregates:{action}")
}

/// nova's timestamp form for aggregates (a naive datetime's isoformat).
fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// An aggregate as nova shows it; `full`: with hosts and metadata (every
/// answer but a create's).
fn view(aggregate: &compute::Aggregate, version: ApiVersion, full: bool) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(aggregate.id));
    body.insert("name".into(), json!(aggregate.name));
    body.insert(
        "availability_zone".into(),
        json!(aggregate.availability_zone),
    );
    body.insert("created_at".into(), json!(timestamp(&aggregate.created_at)));
    body.insert(
        "updated_at".into(),
        json!(aggregate.updated_at.as_ref().map(timestamp)),
    );
    body.insert("deleted_at".into(), Value::Null);
    body.insert("deleted".into(), json!(false));
    if full {
        body.insert("hosts".into(), json!(aggregate.hosts));
        body.insert("metadata".into(), json!(aggregate.metadata));
    }
    if version.at_least(2, 41) {
        body.insert("uuid".into(), json!(aggregate.uuid));
    }
    json!({ "aggregate": Value::Object(body) })
}

/// nova's `validate_integer(id, 'id')`.
fn aggregate_id(id: &str) -> Result<i64, ApiError> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::BadRequest("Invalid input received: id must be an integer".into()))
}

/// nova's `az_name`: a name without leading or trailing spaces, or null.
fn zone() -> Schema {
    Schema::one_of(vec![types::name(), Schema::of(&[Ty::Null])])
}

/// The create body schema.
pub fn create_schema() -> Schema {
    Schema::object()
        .prop(
            "aggregate",
            Schema::object()
                .prop("name", types::name())
                .prop("availability_zone", zone())
                .required(&["name"])
                .additional(false),
        )
        .required(&["aggregate"])
        .additional(false)
}

/// The update body schema (a name or a zone, at least one).
pub fn update_schema() -> Schema {
    Schema::object()
        .prop(
            "aggregate",
            Schema::object()
                .prop("name", types::name_with_spaces())
                .prop("availability_zone", zone())
                .additional(false),
        )
        .required(&["aggregate"])
        .additional(false)
}

/// `{"<action>": {"host": <fqdn>}}`.
fn host_action_schema(action: &str) -> Schema {
    Schema::object()
        .prop(
            action,
            Schema::object()
                .prop(
                    "host",
                    Schema::string()
                        .length(Some(1), Some(255))
                        .pattern("^[a-zA-Z0-9-._]*$"),
                )
                .required(&["host"])
                .additional(false),
        )
        .required(&[action])
        .additional(false)
}

/// `{"set_metadata": {"metadata": {...}}}`: values strings or null.
fn set_metadata_schema() -> Schema {
    let value = Schema::of(&[Ty::String, Ty::Null]).length(None, Some(255));
    Schema::object()
        .prop(
            "set_metadata",
            Schema::object()
                .prop(
                    "metadata",
                    Schema::object()
                        .pattern_prop("^[a-zA-Z0-9-_:. ]{1,255}$", value)
                        .additional(false),
                )
                .required(&["metadata"])
                .additional(false),
        )
        .required(&["set_metadata"])
        .additional(false)
}

/// The 2.81 image cache body.
fn images_schema() -> Schema {
    Schema::object()
        .prop(
            "cache",
            Schema::array(
                Schema::object()
                    .prop("id", types::uuid())
                    .required(&["id"])
                    .additional(false),
            )
            .items_count(Some(1), None, false),
        )
        .required(&["cache"])
        .additional(false)
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    context.require_admin(&policy("index"))?;
    let aggregates = state
        .compute
        .list_aggregates(&context.0)
        .await
        .map_err(domain)?;
    let items: Vec<Value> = aggregates
        .iter()
        .map(|a| view(a, version, true)["aggregate"].take())
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "aggregates": items }),
    ))
}

async fn create(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.validate(create_schema())?;
    context.require_admin(&policy("create"))?;
    let aggregate = &value["aggregate"];
    let name = aggregate["name"].as_str().unwrap_or_default().trim();
    let zone = aggregate
        .get("availability_zone")
        .and_then(Value::as_str)
        .map(str::trim);
    let created = state
        .compute
        .create_aggregate(&context.0, name, zone)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        view(&created, version, false),
    ))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    context.require_admin(&policy("show"))?;
    let id = aggregate_id(&id)?;
    let aggregate = state
        .compute
        .get_aggregate(&context.0, id)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        view(&aggregate, version, true),
    ))
}

async fn update(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.validate(update_schema())?;
    let aggregate = &value["aggregate"];
    let name = aggregate.get("name").and_then(Value::as_str).map(str::trim);
    let zone = aggregate
        .get("availability_zone")
        .map(|z| z.as_str().map(str::trim));
    if name.is_none() && zone.is_none() {
        return Err(ApiError::BadRequest(format!(
            "Invalid input for field/attribute aggregate. Value: {}. {{}} is not valid under any of the given schemas",
            crate::validation::py_repr(aggregate)
        )));
    }
    context.require_admin(&policy("update"))?;
    let id = aggregate_id(&id)?;
    let updated = state
        .compute
        .update_aggregate(&context.0, id, name, zone)
        .await
        .map_err(domain)?;
    Ok(json_response(StatusCode::OK, view(&updated, version, true)))
}

async fn delete(
    State(state): State<ApiState>,
    context: Context,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    context.require_admin(&policy("delete"))?;
    let id = aggregate_id(&id)?;
    state
        .compute
        .delete_aggregate(&context.0, id)
        .await
        .map_err(domain)?;
    Ok(StatusCode::OK.into_response())
}

async fn action(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let name = body
        .value
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    let aggregate = match name.as_str() {
        "add_host" | "remove_host" => {
            let value = body.validate(host_action_schema(&name))?;
            let host = value[name.as_str()]["host"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            context.require_admin(&policy(&name))?;
            let id = aggregate_id(&id)?;
            if name == "add_host" {
                state
                    .compute
                    .add_aggregate_host(&context.0, id, &host)
                    .await
                    .map_err(domain)?
            } else {
                state
                    .compute
                    .remove_aggregate_host(&context.0, id, &host)
                    .await
                    .map_err(|err| match err {
                        compute::Error::NotFound { .. } => ApiError::NotFound(format!(
                            "Cannot remove host {host} in aggregate {id}"
                        )),
                        other => domain(other),
                    })?
            }
        }
        "set_metadata" => {
            let value = body.validate(set_metadata_schema())?;
            context.require_admin(&policy("set_metadata"))?;
            let id = aggregate_id(&id)?;
            let metadata: BTreeMap<String, Option<String>> = value["set_metadata"]["metadata"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
                        .collect()
                })
                .unwrap_or_default();
            state
                .compute
                .set_aggregate_metadata(&context.0, id, &metadata)
                .await
                .map_err(domain)?
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "There is no such action: {other}"
            )))
        }
    };
    Ok(json_response(
        StatusCode::OK,
        view(&aggregate, version, true),
    ))
}

async fn images(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 81) {
        return Err(version_not_found());
    }
    let value = body.validate(images_schema())?;
    context.require_admin("compute:aggregates:images")?;
    let id = aggregate_id(&id)?;
    let ids: Vec<String> = value["cache"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(ApiError::BadRequest("Duplicate images in request".into()));
    }
    state
        .compute
        .cache_aggregate_images(&context.0, id, &ids)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound {
                kind: compute::Kind::Image,
                id,
            } => ApiError::BadRequest(format!("Image {id} could not be found.")),
            other => domain(other),
        })?;
    Ok(StatusCode::ACCEPTED.into_response())
}
