//! `/v2/images` and `/v2/images/{id}`: list, show, create, PATCH,
//! delete; tags one at a time; deactivate and reactivate.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use compute::image::rules;
use compute::NewImage;

use super::error::ImageApiError;
use super::{caller, endpoint_url, json_body, media_type, patch, query, views};
use crate::state::ApiState;

type Answer = Result<Response, ImageApiError>;

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /v2/images`.
pub async fn list(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let query = query::pairs(request.uri().query());
    let (filter, limit) = query::image_filter(&query)?;
    let images = match state.compute.list_images(&ctx, &filter).await {
        Err(compute::Error::Invalid(_)) if filter.marker.is_some() => {
            let marker = filter.marker.unwrap_or_default();
            return Err(ImageApiError::BadRequest(format!(
                "Invalid marker. Image {marker} could not be found."
            )));
        }
        r => r?,
    };
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(images.iter().map(views::image_view).collect()),
    );
    body.insert("first".into(), json!("/v2/images"));
    body.insert("schema".into(), json!("/v2/schemas/images"));
    if limit > 0 && images.len() == limit {
        if let Some(last) = images.last() {
            body.insert(
                "next".into(),
                json!(query::next_link("/v2/images", &query, &last.uuid)),
            );
        }
    }
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /v2/images/{id}`.
pub async fn show(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let image = state.compute.get_image(&ctx, &id).await?;
    Ok(Json(views::image_view(&image)).into_response())
}

/// The image a `POST /v2/images` body registers (`queued`, Glance's
/// default visibility `shared`).
fn new_image(body: &Value) -> Result<NewImage, ImageApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ImageApiError::BadRequest("Body must be a JSON object.".into()))?;
    let mut new = NewImage::new("");
    new.status = "queued".into();
    new.visibility = Some("shared".into());
    let bad = |key: &str, want: &str, value: &Value| {
        ImageApiError::BadRequest(format!(
            "Invalid value for '{key}': {value} is not of type '{want}'"
        ))
    };
    for (key, value) in obj {
        match key.as_str() {
            "id" => {
                let id = value.as_str().ok_or_else(|| bad(key, "string", value))?;
                new.uuid = Some(id.to_string());
            }
            "name" => {
                if !value.is_null() {
                    new.name = value
                        .as_str()
                        .ok_or_else(|| bad(key, "string", value))?
                        .to_string();
                }
            }
            "visibility" => {
                let v = value.as_str().ok_or_else(|| bad(key, "string", value))?;
                rules::visibility(v)?;
                new.visibility = Some(v.to_string());
            }
            "protected" => {
                new.protected = value.as_bool().ok_or_else(|| bad(key, "boolean", value))?
            }
            "os_hidden" => {
                new.os_hidden = value.as_bool().ok_or_else(|| bad(key, "boolean", value))?
            }
            "owner" => new.owner = value.as_str().map(str::to_string),
            "disk_format" => new.disk_format = optional_string(key, value)?,
            "container_format" => new.container_format = optional_string(key, value)?,
            "min_disk" | "min_ram" => {
                let n = value.as_i64().ok_or_else(|| bad(key, "integer", value))?;
                rules::minimum(key, n)?;
                if key == "min_disk" {
                    new.min_disk = n;
                } else {
                    new.min_ram = n;
                }
            }
            "tags" => new.tags = patch::tags(value)?,
            _ => {
                rules::property_name(key)?;
                new.properties
                    .insert(key.clone(), patch::property_value(key, value)?);
            }
        }
    }
    Ok(new)
}

fn optional_string(key: &str, value: &Value) -> Result<Option<String>, ImageApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(ImageApiError::BadRequest(format!(
            "Invalid value for '{key}': {other} is not of type 'string'"
        ))),
    }
}

/// `POST /v2/images`: 201 with the image and its `Location`.
pub async fn create(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let url = endpoint_url(&request);
    let body = json_body(request).await?;
    let new = new_image(&body)?;
    let image = state.compute.create_image(&ctx, new).await?;
    let mut response = (StatusCode::CREATED, Json(views::image_view(&image))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{url}/v2/images/{}", image.uuid)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `PATCH /v2/images/{id}` with a JSON Patch body.
pub async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    if !patch::PATCH_MEDIA_TYPES.contains(&media_type(&request).as_str()) {
        return Err(ImageApiError::UnsupportedMediaType);
    }
    let image = state.compute.get_image(&ctx, &id).await?;
    let body = json_body(request).await?;
    let update = patch::image_update(&image, &body)?;
    let image = state.compute.update_image(&ctx, &id, update).await?;
    Ok(Json(views::image_view(&image)).into_response())
}

/// `DELETE /v2/images/{id}`: 204.
pub async fn delete(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.delete_image(&ctx, &id).await?;
    Ok(no_content())
}

/// `POST /v2/images/{id}/actions/deactivate`: 204.
pub async fn deactivate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.deactivate_image(&ctx, &id).await?;
    Ok(no_content())
}

/// `POST /v2/images/{id}/actions/reactivate`: 204.
pub async fn reactivate(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.reactivate_image(&ctx, &id).await?;
    Ok(no_content())
}

/// `PUT /v2/images/{id}/tags/{tag}`: 204.
pub async fn add_tag(
    State(state): State<ApiState>,
    Path((id, tag)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.add_image_tag(&ctx, &id, &tag).await?;
    Ok(no_content())
}

/// `DELETE /v2/images/{id}/tags/{tag}`: 204, 404 for a tag it lacks.
pub async fn remove_tag(
    State(state): State<ApiState>,
    Path((id, tag)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.remove_image_tag(&ctx, &id, &tag).await?;
    Ok(no_content())
}
