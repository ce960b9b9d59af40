//! Tasks: `GET /v2/images/{id}/tasks` (API 2.12: the tasks that imported
//! the image, for whoever sees it) and Glance's tasks API, `GET
//! /v2/tasks`, `GET /v2/tasks/{id}` and `POST /v2/tasks`, for admins
//! (`tasks_api_access`). `POST` checks a task as Glance does and creates
//! none: its one type fetches a URL, which nothing here does.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use compute::{ImageTask, TaskFilter};

use super::error::ImageApiError;
use super::query::{first_link, next_link, page_limit, pairs, DEFAULT_LIMIT};
use super::views::timestamp;
use super::{caller, json_body};
use crate::state::ApiState;

type Answer = Result<Response, ImageApiError>;

/// Glance's serialization of a time kept in a task's record (Python's
/// `isoformat`), as `GET /v2/images/{id}/tasks` shows it.
fn isoformat(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// A task as `GET /v2/images/{id}/tasks` shows it: the whole record.
pub fn image_task_view(task: &ImageTask) -> Value {
    json!({
        "id": task.id,
        "type": task.task_type,
        "status": task.status,
        "owner": task.owner,
        "expires_at": task.expires_at.as_ref().map(isoformat),
        "created_at": isoformat(&task.created_at),
        "updated_at": isoformat(&task.updated_at),
        "deleted_at": null,
        "deleted": false,
        "image_id": task.image_id,
        "request_id": task.request_id,
        "user_id": task.user_id,
        "input": task.input,
        "result": task.result,
        "message": task.message,
    })
}

/// A task as the tasks API shows it (`full`: with input, result and
/// message; a list shows the rest only).
pub fn task_view(task: &ImageTask, full: bool) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(task.id));
    body.insert("type".into(), json!(task.task_type));
    body.insert("status".into(), json!(task.status));
    body.insert("owner".into(), json!(task.owner));
    body.insert("created_at".into(), json!(timestamp(&task.created_at)));
    body.insert("updated_at".into(), json!(timestamp(&task.updated_at)));
    body.insert("self".into(), json!(format!("/v2/tasks/{}", task.id)));
    body.insert("schema".into(), json!("/v2/schemas/task"));
    if let Some(at) = &task.expires_at {
        body.insert("expires_at".into(), json!(timestamp(at)));
    }
    if full {
        body.insert("input".into(), task.input.clone());
        body.insert("result".into(), json!(task.result));
        body.insert("message".into(), json!(task.message));
        for (key, value) in [
            ("image_id", &task.image_id),
            ("request_id", &task.request_id),
            ("user_id", &task.user_id),
        ] {
            if let Some(v) = value {
                body.insert(key.into(), json!(v));
            }
        }
    }
    Value::Object(body)
}

/// `GET /v2/images/{id}/tasks`.
pub async fn image_tasks(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let tasks = state.compute.image_tasks(&ctx, &id).await?;
    let tasks: Vec<Value> = tasks.iter().map(image_task_view).collect();
    Ok(Json(json!({ "tasks": tasks })).into_response())
}

/// A task list's filters and page from its query string.
fn task_filter(query: &[(String, String)]) -> Result<(TaskFilter, usize), ImageApiError> {
    let mut filter = TaskFilter::default();
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query {
        match key.as_str() {
            "status" => filter.status = Some(value.clone()),
            "type" => filter.task_type = Some(value.clone()),
            "marker" => filter.marker = Some(value.clone()),
            "sort_key" if value == "created_at" => {}
            "sort_key" => {
                return Err(ImageApiError::BadRequest(format!(
                    "Invalid sort key: {value}. Tasks are sorted by created_at only here."
                )))
            }
            "sort_dir" => match value.as_str() {
                "asc" => filter.ascending = true,
                "desc" => filter.ascending = false,
                other => {
                    return Err(ImageApiError::BadRequest(format!(
                        "Invalid sort direction: {other}"
                    )))
                }
            },
            "limit" => limit = page_limit(value)?,
            _ => {}
        }
    }
    filter.limit = Some(limit);
    Ok((filter, limit))
}

/// `GET /v2/tasks`.
pub async fn list(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let query = pairs(request.uri().query());
    let (filter, limit) = task_filter(&query)?;
    let tasks = state.compute.list_tasks(&ctx, &filter).await?;
    let mut body = Map::new();
    body.insert(
        "tasks".into(),
        Value::Array(tasks.iter().map(|t| task_view(t, false)).collect()),
    );
    body.insert("first".into(), json!(first_link("/v2/tasks", &query)));
    body.insert("schema".into(), json!("/v2/schemas/tasks"));
    if limit > 0 && tasks.len() == limit {
        if let Some(last) = tasks.last() {
            body.insert(
                "next".into(),
                json!(next_link("/v2/tasks", &query, &last.id)),
            );
        }
    }
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /v2/tasks/{id}`.
pub async fn show(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let task = state.compute.get_task(&ctx, &id).await?;
    Ok(Json(task_view(&task, true)).into_response())
}

/// `POST /v2/tasks` with `{"type": ..., "input": {...}}`.
pub async fn create(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    // Glance checks its access policy before it reads the body.
    compute::image::tasks::require_tasks_access(&ctx)?;
    let body = json_body(request).await?;
    for key in ["type", "input"] {
        if body.get(key).is_none() {
            return Err(ImageApiError::BadRequest(format!(
                "Task '{key}' is required"
            )));
        }
    }
    let task_type = body["type"].as_str().unwrap_or_default();
    let task = state
        .compute
        .create_task(&ctx, task_type, &body["input"])
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(task_view(&task, true)),
    )
        .into_response())
}
