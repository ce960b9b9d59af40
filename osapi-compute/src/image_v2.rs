//! A read-only Image API v2 (Glance's wire format) over the compute
//! domain's image catalogue, so that clients which resolve images through
//! the catalogue's `image` service (`openstack image list`, `server create
//! --image cirros`, openstacksdk's `find_image`) work without a Glance.
//!
//! Served paths (relative to where the app is mounted, e.g. `/image`):
//! `/` and `/versions` (version list), `GET /v2/images` (filters `name`,
//! `id=in:a,b`, `status`, `visibility`, `owner`; paging `limit`/`marker`)
//! and `GET /v2/images/{id}`. Callers are identified as the compute API
//! does: the auth filter's context, else the noauth2 `X-Auth-Token`.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use nova_paste::http::ScriptName;

use crate::state::ApiState;

/// The Image API version this endpoint claims.
const IMAGE_VERSION: &str = "v2.16";
/// Glance's default and largest page sizes (`limit_param_default`, `api_limit_max`).
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// The Image v2 app: mount it under a prefix (`/image` in the sample
/// api-paste.ini) that the identity catalogue names as the `image` service.
pub fn image_router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(versions))
        .route("/versions", get(versions))
        .route("/v2/images", get(list))
        .route("/v2/images/{id}", get(show))
        .fallback(not_found_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Glance's plain-text error pages.
fn error(status: StatusCode, detail: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}\n\n{detail}\n\n   ", status.as_u16());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

async fn not_found_route() -> Response {
    error(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// A method the path does not serve (the router adds the `Allow` header).
async fn method_not_allowed(method: axum::http::Method) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The method {method} is not allowed for this resource."),
    )
}

/// The caller: the context an auth filter stored, else a noauth2 token.
fn caller(request: &Request) -> Option<compute::RequestContext> {
    if let Some(ctx) = request.extensions().get::<compute::RequestContext>() {
        return Some(ctx.clone());
    }
    // Read as noauth2 reads it: a token that is not ASCII is still a token.
    let token = nova_paste::http::latin1(request.headers().get("x-auth-token")?);
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    Some(crate::auth::context_from_token(token, None))
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "This server could not verify that you are authorized to access the document you requested.",
    )
}

/// `<scheme>://<Host><mount point>` of this request.
fn endpoint_url(request: &Request) -> String {
    let scheme = nova_paste::http::url_scheme(request.extensions()).to_string();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let script = request
        .extensions()
        .get::<ScriptName>()
        .map(|s| s.0.trim_end_matches('/').to_string())
        .unwrap_or_default();
    format!("{scheme}://{host}{script}")
}

async fn versions(request: Request) -> Response {
    let url = endpoint_url(&request);
    let version = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{url}/v2/")}]});
    let body = json!({"versions": [
        version(IMAGE_VERSION, "CURRENT"),
        version("v2.0", "SUPPORTED"),
    ]});
    // Glance answers the root with 300 and `/versions` with 200.
    let status = if request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/versions")
    {
        StatusCode::OK
    } else {
        StatusCode::MULTIPLE_CHOICES
    };
    (status, axum::Json(body)).into_response()
}

fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An image as Glance v2 shows it: core fields, then each property at
/// the top level.
pub fn image_view(image: &compute::Image) -> Value {
    let mut body = Map::new();
    for (key, value) in &image.properties {
        let text = match value {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        };
        body.insert(key.clone(), text);
    }
    let id = image.uuid.as_str();
    let core = [
        ("id", json!(id)),
        ("name", json!(image.name)),
        ("status", json!(image.status)),
        ("visibility", json!(image.visibility)),
        ("protected", json!(image.protected)),
        ("os_hidden", json!(false)),
        ("checksum", json!(image.checksum)),
        ("os_hash_algo", Value::Null),
        ("os_hash_value", Value::Null),
        ("owner", json!(image.owner)),
        ("size", json!(image.size)),
        ("virtual_size", Value::Null),
        ("min_ram", json!(image.min_ram)),
        ("min_disk", json!(image.min_disk)),
        ("disk_format", json!(image.disk_format)),
        ("container_format", json!(image.container_format)),
        ("created_at", json!(timestamp(&image.created_at))),
        (
            "updated_at",
            json!(timestamp(
                image.updated_at.as_ref().unwrap_or(&image.created_at)
            )),
        ),
        ("tags", json!([])),
        ("self", json!(format!("/v2/images/{id}"))),
        ("file", json!(format!("/v2/images/{id}/file"))),
        ("schema", json!("/v2/schemas/image")),
    ];
    for (key, value) in core {
        body.insert(key.to_string(), value);
    }
    Value::Object(body)
}

async fn list(State(state): State<ApiState>, request: Request) -> Response {
    let Some(ctx) = caller(&request) else {
        return unauthorized();
    };
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        // Glance reads it with `int()`: any integer, capped at the maximum.
        Some(raw) => match crate::validation::int_from_str(&raw) {
            Some(n) if n < 0 => {
                return error(StatusCode::BAD_REQUEST, "limit param must be positive")
            }
            Some(n) => usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT)),
            None => return error(StatusCode::BAD_REQUEST, "limit param must be an integer"),
        },
    };
    let mut filter = compute::ImageFilter {
        name: param("name"),
        status: param("status"),
        owner: param("owner"),
        marker: param("marker"),
        limit: Some(limit),
        ..Default::default()
    };
    // `visibility=all` is Glance's "no filter".
    filter.visibility = param("visibility").filter(|v| v != "all");
    if let Some(ids) = param("id") {
        let ids = ids.strip_prefix("in:").unwrap_or(&ids).to_string();
        filter.uuids = Some(
            ids.split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect(),
        );
    }
    let images = match state.compute.list_images(&ctx, &filter).await {
        Ok(images) => images,
        Err(compute::Error::Invalid(_)) if filter.marker.is_some() => {
            let marker = filter.marker.unwrap_or_default();
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid marker. Image {marker} could not be found."),
            );
        }
        Err(err) => {
            tracing::error!(error = %err, "image list failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "The server has either erred or is incapable of performing the requested operation.");
        }
    };
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(images.iter().map(image_view).collect()),
    );
    body.insert("first".into(), json!("/v2/images"));
    body.insert("schema".into(), json!("/v2/schemas/images"));
    if limit > 0 && images.len() == limit {
        if let Some(last) = images.last() {
            let mut next = form_urlencoded::Serializer::new(String::new());
            for (k, v) in query.iter().filter(|(k, _)| k != "marker") {
                next.append_pair(k, v);
            }
            next.append_pair("marker", &last.uuid);
            body.insert(
                "next".into(),
                json!(format!("/v2/images?{}", next.finish())),
            );
        }
    }
    axum::Json(Value::Object(body)).into_response()
}

async fn show(State(state): State<ApiState>, Path(id): Path<String>, request: Request) -> Response {
    let Some(ctx) = caller(&request) else {
        return unauthorized();
    };
    match state.compute.get_image(&ctx, &id).await {
        Ok(image) => axum::Json(image_view(&image)).into_response(),
        Err(compute::Error::NotFound { .. }) => error(
            StatusCode::NOT_FOUND,
            &format!("No image found with ID {id}"),
        ),
        Err(err) => {
            tracing::error!(error = %err, "image show failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "The server has either erred or is incapable of performing the requested operation.")
        }
    }
}
