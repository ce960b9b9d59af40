//! `/v2/images/{id}/members[/{member}]`: the projects a shared image is
//! shared with. The owner adds and removes them; each member accepts or
//! rejects the image itself.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use compute::MemberStatus;

use super::error::ImageApiError;
use super::{caller, json_body, views};
use crate::state::ApiState;

type Answer = Result<Response, ImageApiError>;

/// A string field of a JSON object body (400 when missing).
fn field(body: &Value, name: &str) -> Result<String, ImageApiError> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            ImageApiError::BadRequest(format!("Request body must have a string '{name}'."))
        })
}

/// `GET /v2/images/{id}/members`.
pub async fn list(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let members = state.compute.list_image_members(&ctx, &id).await?;
    let members: Vec<Value> = members.iter().map(views::member_view).collect();
    Ok(Json(json!({"members": members, "schema": "/v2/schemas/members"})).into_response())
}

/// `POST /v2/images/{id}/members` with `{"member": project}`: 200.
pub async fn add(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let body = json_body(request).await?;
    let member = field(&body, "member")?;
    let added = state.compute.add_image_member(&ctx, &id, &member).await?;
    Ok(Json(views::member_view(&added)).into_response())
}

/// `GET /v2/images/{id}/members/{member}`.
pub async fn show(
    State(state): State<ApiState>,
    Path((id, member)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let found = state.compute.get_image_member(&ctx, &id, &member).await?;
    Ok(Json(views::member_view(&found)).into_response())
}

/// `PUT /v2/images/{id}/members/{member}` with `{"status": ...}`.
pub async fn update(
    State(state): State<ApiState>,
    Path((id, member)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let body = json_body(request).await?;
    let status = MemberStatus::parse(&field(&body, "status")?)?;
    let changed = state
        .compute
        .set_image_member_status(&ctx, &id, &member, status)
        .await?;
    Ok(Json(views::member_view(&changed)).into_response())
}

/// `DELETE /v2/images/{id}/members/{member}`: 204.
pub async fn remove(
    State(state): State<ApiState>,
    Path((id, member)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state
        .compute
        .remove_image_member(&ctx, &id, &member)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
