//! Image API v2 (Glance's wire format) over the compute domain's image
//! catalogue, so that `openstack image ...`, openstacksdk and tempest's
//! `tempest.api.image` work without a Glance.
//!
//! | module | serves |
//! |---|---|
//! | [`images`] | `GET`/`POST /v2/images`, `GET`/`PATCH`/`DELETE /v2/images/{id}`, tags, deactivate/reactivate |
//! | [`patch`] | reading a JSON Patch (`application/openstack-images-v2.1-json-patch`) into an update |
//! | [`query`] | a list's filters, sorting and paging from its query string |
//! | [`data`] | `PUT`/`GET /v2/images/{id}/file`, `/stage` and `/import`, streamed |
//! | [`members`] | `/v2/images/{id}/members[/{member}]` |
//! | [`tasks`] | `/v2/images/{id}/tasks` and the tasks API, `/v2/tasks[/{id}]` |
//! | [`metadefs`] | `/v2/metadefs/...`: the metadata definitions catalog |
//! | [`info`] | versions, `/v2/info/import`, `/v2/info/stores`, `/v2/schemas/...` (images, members, tasks, metadefs) |
//! | [`views`] | images and members as Glance shows them |
//! | [`error`] | Glance's plain-text errors: every failure becomes a response there |
//!
//! Callers are identified as the compute API does: the auth filter's
//! context, else the noauth2 `X-Auth-Token`. Policies are Glance's
//! defaults: owners and admins write, members of a shared image read it,
//! readers only read, admins deactivate and make images public, admins
//! alone reach the tasks API and write the metadefs catalog.

use axum::extract::Request;
use axum::http::header;
use axum::routing::{delete, get, post, put};
use axum::Router;

use nova_paste::http::ScriptName;

use crate::state::ApiState;

pub mod data;
pub mod error;
pub mod images;
pub mod info;
pub mod members;
pub mod metadefs;
pub mod patch;
pub mod query;
pub mod tasks;
pub mod views;

pub use views::image_view;

use error::ImageApiError;

/// The Image v2 app: mount it under a prefix (`/image` in the sample
/// api-paste.ini) that the identity catalogue names as the `image` service.
pub fn image_router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(info::versions))
        .route("/versions", get(info::versions))
        .route("/v2/images", get(images::list).post(images::create))
        .route(
            "/v2/images/{id}",
            get(images::show)
                .patch(images::update)
                .delete(images::delete),
        )
        .route(
            "/v2/images/{id}/file",
            put(data::upload).get(data::download),
        )
        .route("/v2/images/{id}/stage", put(data::stage))
        .route("/v2/images/{id}/import", post(data::import))
        .route(
            "/v2/images/{id}/actions/deactivate",
            post(images::deactivate),
        )
        .route(
            "/v2/images/{id}/actions/reactivate",
            post(images::reactivate),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put(images::add_tag).delete(images::remove_tag),
        )
        .route(
            "/v2/images/{id}/members",
            get(members::list).post(members::add),
        )
        .route(
            "/v2/images/{id}/members/{member}",
            get(members::show)
                .put(members::update)
                .delete(members::remove),
        )
        .route("/v2/images/{id}/tasks", get(tasks::image_tasks))
        .route("/v2/tasks", get(tasks::list).post(tasks::create))
        .route("/v2/tasks/{id}", get(tasks::show))
        .route(
            "/v2/metadefs/namespaces",
            get(metadefs::list_namespaces).post(metadefs::create_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}",
            get(metadefs::show_namespace)
                .put(metadefs::update_namespace)
                .delete(metadefs::delete_namespace),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/objects",
            get(metadefs::list_definitions)
                .post(metadefs::create_definition)
                .delete(metadefs::delete_definitions),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/objects/{name}",
            get(metadefs::show_definition)
                .put(metadefs::update_definition)
                .delete(metadefs::delete_definition),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/properties",
            get(metadefs::list_definitions)
                .post(metadefs::create_definition)
                .delete(metadefs::delete_definitions),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/properties/{name}",
            get(metadefs::show_definition)
                .put(metadefs::update_definition)
                .delete(metadefs::delete_definition),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/tags",
            get(metadefs::list_tags)
                .post(metadefs::create_tags)
                .delete(metadefs::delete_tags),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/tags/{name}",
            get(metadefs::show_tag)
                .post(metadefs::create_tag)
                .put(metadefs::update_tag)
                .delete(metadefs::delete_tag),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/resource_types",
            get(metadefs::list_associations).post(metadefs::associate),
        )
        .route(
            "/v2/metadefs/namespaces/{namespace}/resource_types/{name}",
            delete(metadefs::dissociate),
        )
        .route(
            "/v2/metadefs/resource_types",
            get(metadefs::list_resource_types),
        )
        .route("/v2/info/import", get(info::import_methods))
        .route("/v2/info/stores", get(info::stores))
        .route("/v2/schemas/image", get(info::image_schema))
        .route("/v2/schemas/images", get(info::images_schema))
        .route("/v2/schemas/member", get(info::member_schema))
        .route("/v2/schemas/members", get(info::members_schema))
        .route("/v2/schemas/task", get(info::task_schema))
        .route("/v2/schemas/tasks", get(info::tasks_schema))
        .route("/v2/schemas/metadefs/{name}", get(info::metadef_schema))
        .fallback(error::not_found_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// The caller: the context an auth filter stored, else a noauth2 token.
pub(crate) fn caller(request: &Request) -> Result<compute::RequestContext, ImageApiError> {
    if let Some(ctx) = request.extensions().get::<compute::RequestContext>() {
        return Ok(ctx.clone());
    }
    // Read as noauth2 reads it: a token that is not ASCII is still a token.
    let token = request
        .headers()
        .get("x-auth-token")
        .map(nova_paste::http::latin1)
        .unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        return Err(ImageApiError::Unauthorized);
    }
    // The request's id, so that what it records (an import's task) names
    // the id the caller was answered with.
    let request_id = request
        .extensions()
        .get::<nova_paste::http::RequestId>()
        .map(|id| id.as_str().to_owned());
    Ok(crate::auth::context_from_token(
        token,
        request_id.as_deref(),
    ))
}

/// `<scheme>://<Host><mount point>` of this request.
pub(crate) fn endpoint_url(request: &Request) -> String {
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

/// The request's media type, without parameters, lower case.
pub(crate) fn media_type(request: &Request) -> String {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The largest JSON body read (image bodies are small; data is streamed).
const MAX_JSON_BODY: usize = 1 << 20;

/// The JSON body of a request (400 when it is missing or not JSON).
pub(crate) async fn json_body(request: Request) -> Result<serde_json::Value, ImageApiError> {
    let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BODY)
        .await
        .map_err(|_| ImageApiError::BadRequest("Error reading the request body.".into()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImageApiError::BadRequest(
            "Body expected in request.".into(),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ImageApiError::BadRequest(format!("Malformed JSON in request body: {e}")))
}
