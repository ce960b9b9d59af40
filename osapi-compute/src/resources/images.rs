//! The image proxy: `/images`, `/images/detail`, `/images/{id}` (2.1-2.35)
//! and `/images/{id}/metadata[/{key}]` (2.1-2.38), backed by the image
//! catalogue of the compute domain, as nova's `images` and
//! `image_metadata` controllers. Later microversions answer 404.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas, version_not_found, JsonBody};
use crate::state::ApiState;
use crate::validation::py_str;

/// `MAX_PROXY_API_SUPPORT_VERSION`: the last version with `/images`.
const MAX_PROXY: (u32, u32) = (2, 35);
/// `MAX_IMAGE_META_PROXY_API_VERSION`: the last version with image metadata.
const MAX_META_PROXY: (u32, u32) = (2, 38);

/// The image proxy routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/images", get(index))
        .route("/images/detail", get(detail))
        .route("/images/{id}", get(show).delete(delete))
        .route(
            "/images/{id}/metadata",
            get(metadata_index)
                .post(metadata_create)
                .put(metadata_update_all),
        )
        .route(
            "/images/{id}/metadata/{key}",
            get(metadata_show)
                .put(metadata_update)
                .delete(metadata_delete),
        )
}

/// nova's 404 above `MAX_PROXY_API_SUPPORT_VERSION` (2.35), for every proxy API.
pub(crate) fn proxy_version(version: ApiVersion) -> Result<(), ApiError> {
    if version.at_most(MAX_PROXY.0, MAX_PROXY.1) {
        Ok(())
    } else {
        Err(version_not_found())
    }
}

fn meta_version(version: ApiVersion) -> Result<(), ApiError> {
    if version.at_most(MAX_META_PROXY.0, MAX_META_PROXY.1) {
        Ok(())
    } else {
        Err(version_not_found())
    }
}

fn image_not_found() -> ApiError {
    ApiError::NotFound("Image not found.".into())
}

async fn get_image(
    state: &ApiState,
    ctx: &compute::RequestContext,
    id: &str,
) -> Result<compute::Image, ApiError> {
    state
        .compute
        .get_image(ctx, id)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound { .. } => image_not_found(),
            other => domain(other),
        })
}

/// nova's status names for glance's.
fn status(image: &compute::Image) -> &'static str {
    match image.status.as_str() {
        "active" => "ACTIVE",
        "queued" | "saving" => "SAVING",
        "deleted" | "pending_delete" => "DELETED",
        "killed" => "ERROR",
        _ => "UNKNOWN",
    }
}

fn progress(image: &compute::Image) -> i64 {
    match image.status.as_str() {
        "queued" => 25,
        "saving" => 50,
        "active" => 100,
        _ => 0,
    }
}

/// `utils.isotime`: seconds precision with a `Z`.
fn isotime(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The glance URL of an image, for the `alternate` link: the configured
/// `glance_link_prefix`, else the image endpoint on this host (`/image`).
fn glance_href(urls: &RequestUrls, id: &str) -> String {
    let base = match &urls.glance_link_prefix {
        Some(prefix) => prefix.trim_end_matches('/').to_string(),
        None => match url::Url::parse(&urls.raw_application_url) {
            Ok(url) => format!("{}/image", url.origin().ascii_serialization()),
            Err(_) => "/image".to_string(),
        },
    };
    format!("{base}/images/{id}")
}

fn links(urls: &RequestUrls, id: &str) -> Value {
    json!([
        {"rel": "self", "href": urls.href("images", id)},
        {"rel": "bookmark", "href": urls.bookmark("images", id)},
        {"rel": "alternate", "type": "application/vnd.openstack.image", "href": glance_href(urls, id)},
    ])
}

/// Property values as the proxy shows them: glance properties are strings.
fn metadata_of(image: &compute::Image) -> Map<String, Value> {
    image
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), json!(py_str(v))))
        .collect()
}

fn brief_view(urls: &RequestUrls, image: &compute::Image) -> Value {
    json!({"id": image.uuid, "name": image.name, "links": links(urls, &image.uuid)})
}

fn full_view(urls: &RequestUrls, image: &compute::Image) -> Value {
    let metadata = metadata_of(image);
    let mut body = Map::new();
    body.insert("id".into(), json!(image.uuid));
    body.insert("name".into(), json!(image.name));
    body.insert("minRam".into(), json!(image.min_ram));
    body.insert("minDisk".into(), json!(image.min_disk));
    body.insert("created".into(), json!(isotime(&image.created_at)));
    body.insert(
        "updated".into(),
        json!(image
            .updated_at
            .as_ref()
            .map(isotime)
            .unwrap_or_else(|| isotime(&image.created_at))),
    );
    body.insert("status".into(), json!(status(image)));
    body.insert("progress".into(), json!(progress(image)));
    body.insert("OS-EXT-IMG-SIZE:size".into(), json!(image.size));
    body.insert("links".into(), links(urls, &image.uuid));
    if let Some(Value::String(server)) = metadata.get("instance_uuid") {
        body.insert(
            "server".into(),
            json!({"id": server, "links": [
                {"rel": "self", "href": urls.href("servers", server)},
                {"rel": "bookmark", "href": urls.bookmark("servers", server)},
            ]}),
        );
    }
    if let Some(Value::String(flag)) = metadata.get("auto_disk_config") {
        let auto = matches!(
            flag.to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes"
        );
        body.insert(
            "OS-DCF:diskConfig".into(),
            json!(if auto { "AUTO" } else { "MANUAL" }),
        );
    }
    body.insert("metadata".into(), Value::Object(metadata));
    Value::Object(body)
}

/// Lists the images matching nova's proxy filters (`name`, `status`,
/// `minRam`, `minDisk`, `server`, `type`, `property-*`) and glance's
/// `id=in:a,b` (which the SDK sends through this proxy), paged.
async fn list(
    state: &ApiState,
    ctx: &compute::RequestContext,
    urls: &RequestUrls,
) -> Result<Vec<compute::Image>, ApiError> {
    let page = Page::from_urls(urls)?;
    let mut filter = compute::ImageFilter {
        name: urls.param("name").map(str::to_string),
        status: urls.param("status").map(str::to_ascii_lowercase),
        marker: page.marker.clone(),
        ..Default::default()
    };
    if let Some(ids) = urls.param("id").and_then(|v| v.strip_prefix("in:")) {
        filter.uuids = Some(
            ids.split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect(),
        );
    }
    let images = state
        .compute
        .list_images(ctx, &filter)
        .await
        .map_err(domain)?;
    // An integer of any size filters (saturated, as no image needs more);
    // anything else is ignored, as before.
    let at_least = |name: &str| urls.param(name).and_then(crate::validation::int_from_str);
    let (min_ram, min_disk) = (at_least("minRam"), at_least("minDisk"));
    let mut properties: Vec<(String, String)> = urls
        .query
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("property-")
                .map(|p| (p.to_string(), v.clone()))
        })
        .collect();
    if let Some(server) = urls.param("server") {
        // A server reference may be a URL; nova keeps its last segment.
        let id = server.rsplit('/').next().unwrap_or(server);
        properties.push(("instance_uuid".into(), id.to_string()));
    }
    if let Some(kind) = urls.param("type") {
        properties.push(("image_type".into(), kind.to_string()));
    }
    let mut kept: Vec<compute::Image> = images
        .into_iter()
        .filter(|i| min_ram.is_none_or(|m| i.min_ram >= m))
        .filter(|i| min_disk.is_none_or(|m| i.min_disk >= m))
        .filter(|i| {
            properties
                .iter()
                .all(|(k, v)| i.properties.get(k).map(py_str).as_deref() == Some(v.as_str()))
        })
        .collect();
    kept.truncate(page.limit);
    Ok(kept)
}

fn list_body(
    urls: &RequestUrls,
    collection: &str,
    images: &[compute::Image],
    items: Vec<Value>,
) -> Value {
    let mut body = Map::new();
    let count = items.len();
    body.insert("images".into(), Value::Array(items));
    if let Some(links) =
        urls.collection_links(collection, count, images.last().map(|i| i.uuid.as_str()))
    {
        body.insert("images_links".into(), links);
    }
    Value::Object(body)
}

async fn index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let images = list(&state, &ctx, &urls).await?;
    let items = images.iter().map(|i| brief_view(&urls, i)).collect();
    Ok(json_response(
        StatusCode::OK,
        list_body(&urls, "images", &images, items),
    ))
}

async fn detail(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let images = list(&state, &ctx, &urls).await?;
    let items = images.iter().map(|i| full_view(&urls, i)).collect();
    Ok(json_response(
        StatusCode::OK,
        list_body(&urls, "images/detail", &images, items),
    ))
}

async fn show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let image = get_image(&state, &ctx, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"image": full_view(&urls, &image)}),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    state
        .compute
        .delete_image(&ctx, &id)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound { .. } => image_not_found(),
            compute::Error::Forbidden(_) => {
                ApiError::Forbidden("You are not allowed to delete the image.".into())
            }
            other => domain(other),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn metadata_index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let image = get_image(&state, &ctx, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"metadata": metadata_of(&image)}),
    ))
}

async fn metadata_show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let image = get_image(&state, &ctx, &id).await?;
    let metadata = metadata_of(&image);
    let value = metadata
        .get(&key)
        .ok_or_else(|| ApiError::NotFound("The resource could not be found.".into()))?;
    Ok(json_response(
        StatusCode::OK,
        json!({"meta": { key: value }}),
    ))
}

/// The `metadata` object of a create/replace body.
fn metadata_body(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    schemas::image_metadata().validate(body)?;
    Ok(string_items(&body["metadata"]))
}

/// The items of a validated metadata map (its values are strings).
fn string_items(map: &Value) -> Vec<(String, String)> {
    map.as_object()
        .map(|items| {
            items
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Applies `changes` after checking the `metadata_items` quota on the
/// result (nova's "Image metadata limit exceeded", 403).
async fn save(
    state: &ApiState,
    ctx: &compute::RequestContext,
    image: &compute::Image,
    changes: BTreeMap<String, Option<Value>>,
) -> Result<compute::Image, ApiError> {
    let mut keys: std::collections::BTreeSet<&String> = image.properties.keys().collect();
    for (k, v) in &changes {
        if v.is_some() {
            keys.insert(k);
        } else {
            keys.remove(k);
        }
    }
    let limit = state
        .compute
        .get_quotas(ctx, &ctx.project_id)
        .await
        .map_err(domain)?
        .metadata_items;
    if limit >= 0 && keys.len() as i64 > limit {
        return Err(ApiError::Forbidden("Image metadata limit exceeded".into()));
    }
    state
        .compute
        .update_image_properties(ctx, &image.uuid, changes)
        .await
        .map_err(domain)
}

async fn metadata_create(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let items = metadata_body(&body)?;
    let image = get_image(&state, &ctx, &id).await?;
    let changes = items
        .into_iter()
        .map(|(k, v)| (k, Some(json!(v))))
        .collect();
    let image = save(&state, &ctx, &image, changes).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"metadata": metadata_of(&image)}),
    ))
}

async fn metadata_update_all(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let items = metadata_body(&body)?;
    let image = get_image(&state, &ctx, &id).await?;
    let mut changes: BTreeMap<String, Option<Value>> =
        image.properties.keys().map(|k| (k.clone(), None)).collect();
    for (k, v) in &items {
        changes.insert(k.clone(), Some(json!(v)));
    }
    save(&state, &ctx, &image, changes).await?;
    let replaced: Map<String, Value> = items.into_iter().map(|(k, v)| (k, json!(v))).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "metadata": replaced }),
    ))
}

/// The one item of a `meta` body.
fn meta_body(body: &Value) -> Result<(String, String), ApiError> {
    schemas::image_meta().validate(body)?;
    Ok(string_items(&body["meta"])
        .into_iter()
        .next()
        .unwrap_or_default())
}

async fn metadata_update(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path((id, key)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let (k, v) = meta_body(&body)?;
    if k != key {
        return Err(ApiError::BadRequest("Request body and URI mismatch".into()));
    }
    let image = get_image(&state, &ctx, &id).await?;
    save(
        &state,
        &ctx,
        &image,
        BTreeMap::from([(k.clone(), Some(json!(v)))]),
    )
    .await?;
    Ok(json_response(StatusCode::OK, json!({"meta": { k: v }})))
}

async fn metadata_delete(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    meta_version(version)?;
    let image = get_image(&state, &ctx, &id).await?;
    if !image.properties.contains_key(&key) {
        return Err(ApiError::NotFound("Invalid metadata key".into()));
    }
    save(&state, &ctx, &image, BTreeMap::from([(key, None)])).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T>(result: Result<T, ApiError>) -> String {
        match result {
            Ok(_) => "accepted".into(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn metadata_messages_are_pinned() {
        let metadata = |body: Value| message(metadata_body(&body));
        assert_eq!(metadata(json!("x")), "'x' is not of type 'object'");
        assert_eq!(metadata(json!({})), "'metadata' is a required property");
        assert_eq!(
            metadata(json!({"metadata": {}, "x": 1})),
            "Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            metadata(json!({"metadata": []})),
            "Invalid input for field/attribute metadata. Value: []. [] is not of type 'object'"
        );
        assert_eq!(
            metadata(json!({"metadata": {"a": 1}})),
            "Invalid input for field/attribute a. Value: 1. 1 is not of type 'string'"
        );
        assert_eq!(
            metadata(json!({"metadata": {"": "v"}})),
            "Invalid input for field/attribute metadata. Value: {'': 'v'}. '' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"
        );
        assert_eq!(
            metadata(json!({"metadata": {"a": "1", "b c": ""}})),
            "accepted"
        );
        assert_eq!(
            metadata_body(&json!({"metadata": {"a": "1"}})).unwrap(),
            vec![("a".to_string(), "1".to_string())]
        );
        let meta = |body: Value| message(meta_body(&body));
        assert_eq!(meta(json!({})), "'meta' is a required property");
        assert_eq!(
            meta(json!({"meta": {}})),
            "Invalid input for field/attribute meta. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            meta(json!({"meta": {"a": "1", "b": "2"}})),
            "Invalid input for field/attribute meta. Value: {'a': '1', 'b': '2'}. {'a': '1', 'b': '2'} has too many properties"
        );
        assert_eq!(
            meta(json!({"meta": {"a": "v".repeat(256)}})),
            format!(
                "Invalid input for field/attribute a. Value: {0}. '{0}' is too long",
                "v".repeat(256)
            )
        );
        assert_eq!(
            meta_body(&json!({"meta": {"k": "v"}})).unwrap(),
            ("k".to_string(), "v".to_string())
        );
    }
}
