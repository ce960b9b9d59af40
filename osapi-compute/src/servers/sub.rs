//! The sub-resources of a server: metadata, tags (2.26+), ips,
//! os-instance-actions and os-server-password.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::servers::schemas;
use crate::servers::view::{self, naive_iso};
use crate::state::ApiState;
use crate::validation::JsonBody;

fn metadata_not_found(err: compute::Error) -> ApiError {
    match err {
        compute::Error::NotFound {
            kind: compute::Kind::MetadataKey,
            ..
        } => ApiError::NotFound("Metadata item was not found".into()),
        other => other.into(),
    }
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /servers/{id}/metadata`.
pub async fn metadata_index(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let meta = state.compute.get_instance_metadata(&ctx.0, &id).await?;
    Ok(Json(json!({ "metadata": meta })))
}

/// `POST /servers/{id}/metadata`: merges; answers the whole metadata.
pub async fn metadata_create(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let v = body.validate(schemas::metadata_all())?;
    let meta = state
        .compute
        .update_instance_metadata(&ctx.0, &id, string_map(&v["metadata"]), false)
        .await?;
    Ok(Json(json!({ "metadata": meta })))
}

/// `PUT /servers/{id}/metadata`: replaces; answers the new metadata.
pub async fn metadata_update_all(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let v = body.validate(schemas::metadata_all())?;
    let meta = state
        .compute
        .update_instance_metadata(&ctx.0, &id, string_map(&v["metadata"]), true)
        .await?;
    Ok(Json(json!({ "metadata": meta })))
}

/// `GET /servers/{id}/metadata/{key}`.
pub async fn metadata_show(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let meta = state.compute.get_instance_metadata(&ctx.0, &id).await?;
    let value = meta
        .get(&key)
        .ok_or_else(|| ApiError::NotFound("Metadata item was not found".into()))?;
    Ok(Json(json!({ "meta": { key: value } })))
}

/// `PUT /servers/{id}/metadata/{key}`: one key, which must be the URL's.
pub async fn metadata_update(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, key)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let v = body.validate(schemas::metadata_item())?;
    let meta = string_map(&v["meta"]);
    if !meta.contains_key(&key) {
        return Err(ApiError::BadRequest("Request body and URI mismatch".into()));
    }
    if meta.len() > 1 {
        return Err(ApiError::BadRequest(
            "Request body contains too many items".into(),
        ));
    }
    state
        .compute
        .update_instance_metadata(&ctx.0, &id, meta.clone(), false)
        .await?;
    Ok(Json(json!({ "meta": meta })))
}

/// `DELETE /servers/{id}/metadata/{key}`: 204.
pub async fn metadata_delete(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .compute
        .delete_instance_metadata_item(&ctx.0, &id, &key)
        .await
        .map_err(metadata_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

fn require_tags(version: ApiVersion) -> Result<(), ApiError> {
    if version.at_least(2, 26) {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "The resource could not be found.".into(),
        ))
    }
}

fn tag_not_found(id: &str, tag: &str) -> ApiError {
    ApiError::NotFound(format!("Instance {id} has no tag '{tag}'"))
}

/// `GET /servers/{id}/tags`.
pub async fn tags_index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_tags(version)?;
    let tags = state.compute.list_instance_tags(&ctx.0, &id).await?;
    Ok(Json(json!({ "tags": tags })))
}

/// `PUT /servers/{id}/tags`: replaces all tags.
pub async fn tags_update_all(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    require_tags(version)?;
    let v = body.validate(schemas::tags_all())?;
    let tags: Vec<String> = v["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let tags = state.compute.set_instance_tags(&ctx.0, &id, tags).await?;
    Ok(Json(json!({ "tags": tags })))
}

/// `DELETE /servers/{id}/tags`: 204.
pub async fn tags_delete_all(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_tags(version)?;
    state
        .compute
        .set_instance_tags(&ctx.0, &id, Vec::new())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /servers/{id}/tags/{tag}`: 204 when present.
pub async fn tag_show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    require_tags(version)?;
    let tags = state.compute.list_instance_tags(&ctx.0, &id).await?;
    if tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(tag_not_found(&id, &tag))
    }
}

/// `PUT /servers/{id}/tags/{tag}`: 201 with `Location` when new, else 204.
pub async fn tag_update(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    require_tags(version)?;
    crate::validation::types::tag()
        .validate(&json!(tag))
        .map_err(|e| ApiError::BadRequest(format!("Tag '{tag}' is invalid. {}", e.message)))?;
    let existing = state.compute.list_instance_tags(&ctx.0, &id).await?;
    if !existing.contains(&tag) && existing.len() >= schemas::MAX_TAGS {
        return Err(ApiError::BadRequest(format!(
            "The number of tags exceeded the per-server limit {}",
            schemas::MAX_TAGS
        )));
    }
    let added = state.compute.add_instance_tag(&ctx.0, &id, &tag).await?;
    if !added {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut response = StatusCode::CREATED.into_response();
    let location = format!("{}/tags/{tag}", urls.href("servers", &id));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `DELETE /servers/{id}/tags/{tag}`: 204.
pub async fn tag_delete(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    require_tags(version)?;
    state
        .compute
        .delete_instance_tag(&ctx.0, &id, &tag)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound {
                kind: compute::Kind::Tag,
                ..
            } => tag_not_found(&id, &tag),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /servers/{id}/ips`.
pub async fn ips_index(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = state.compute.get_instance(&ctx.0, &id).await?;
    Ok(Json(
        json!({ "addresses": view::addresses(&instance, false) }),
    ))
}

/// `GET /servers/{id}/ips/{network}`.
pub async fn ips_show(
    State(state): State<ApiState>,
    ctx: Context,
    Path((id, network)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let instance = state.compute.get_instance(&ctx.0, &id).await?;
    let addresses = view::addresses(&instance, false);
    match addresses.get(&network) {
        Some(entries) => Ok(Json(json!({ network: entries }))),
        None => Err(ApiError::NotFound(
            "Instance is not a member of specified network".into(),
        )),
    }
}

fn action_json(action: &compute::InstanceAction, version: ApiVersion) -> Value {
    let mut v = json!({
        "action": action.action,
        "instance_uuid": action.instance_uuid,
        "message": action.message,
        "project_id": action.project_id,
        "request_id": action.request_id,
        "start_time": naive_iso(&action.start_time),
        "user_id": action.user_id,
    });
    if version.at_least(2, 58) {
        v["updated_at"] = json!(action.updated_at.as_ref().map(naive_iso));
    }
    v
}

/// `GET /servers/{id}/os-instance-actions` (2.58: paging and changes filters).
pub async fn actions_index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // Deleted servers keep their actions visible, as in nova.
    state
        .compute
        .get_instance_including_deleted(&ctx.0, &id)
        .await?;
    let mut actions = state.compute.list_instance_actions(&ctx.0, &id).await?;
    actions.sort_by(|a, b| {
        b.start_time
            .cmp(&a.start_time)
            .then(b.request_id.cmp(&a.request_id))
    });
    let mut links = None;
    if version.at_least(2, 58) {
        let page = Page::from_urls(&urls)?;
        // Compared at the second the times are shown in, both inclusive.
        let shown = |a: &compute::InstanceAction| a.updated_at.unwrap_or(a.start_time).timestamp();
        if let Some(raw) = urls.param("changes-since") {
            let since = crate::servers::core::parse_time("changes-since", raw)?;
            actions.retain(|a| shown(a) >= since.timestamp());
        }
        if let Some(raw) = urls
            .param("changes-before")
            .filter(|_| version.at_least(2, 66))
        {
            let before = crate::servers::core::parse_time("changes-before", raw)?;
            actions.retain(|a| shown(a) <= before.timestamp());
        }
        if let Some(marker) = &page.marker {
            let pos = actions
                .iter()
                .position(|a| &a.request_id == marker)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("Marker {marker} could not be found."))
                })?;
            actions.drain(..=pos);
        }
        actions.truncate(page.limit);
        links = urls.collection_links(
            &format!("servers/{id}/os-instance-actions"),
            actions.len(),
            actions.last().map(|a| a.request_id.as_str()),
        );
    }
    let mut body = json!({ "instanceActions": actions.iter().map(|a| action_json(a, version)).collect::<Vec<_>>() });
    if let Some(links) = links {
        body["links"] = links;
    }
    Ok(Json(body))
}

/// `GET /servers/{id}/os-instance-actions/{request_id}`: with events for
/// admins, and for everyone from 2.51 (without tracebacks).
pub async fn actions_show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, request_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let instance = state
        .compute
        .get_instance_including_deleted(&ctx.0, &id)
        .await?;
    let action = state
        .compute
        .get_instance_action(&ctx.0, &id, &request_id)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound {
                kind: compute::Kind::InstanceAction,
                ..
            } => ApiError::NotFound(format!("Action {request_id} not found")),
            other => other.into(),
        })?;
    let mut v = action_json(&action, version);
    let is_admin = ctx.0.is_admin;
    if is_admin || version.at_least(2, 51) {
        let events: Vec<Value> = action
            .events
            .iter()
            .map(|e| {
                let mut ev = json!({
                    "event": e.event,
                    "start_time": naive_iso(&e.start_time),
                    "finish_time": e.finish_time.as_ref().map(naive_iso),
                    "result": e.result,
                });
                if is_admin {
                    ev["traceback"] = json!(e.traceback);
                }
                if version.at_least(2, 62) {
                    ev["hostId"] = json!(view::host_id(&instance.project_id, e.host.as_deref()));
                    if is_admin {
                        ev["host"] = json!(e.host.clone().unwrap_or_default());
                    }
                }
                if version.at_least(2, 84) && is_admin {
                    ev["details"] = json!(e.details);
                }
                ev
            })
            .collect();
        v["events"] = json!(events);
    }
    Ok(Json(json!({ "instanceAction": v })))
}

/// `GET /servers/{id}/os-server-password`.
pub async fn password_show(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let password = state.compute.get_instance_password(&ctx.0, &id).await?;
    Ok(Json(json!({ "password": password.unwrap_or_default() })))
}

/// `DELETE /servers/{id}/os-server-password`: 204.
pub async fn password_clear(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.compute.clear_instance_password(&ctx.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
