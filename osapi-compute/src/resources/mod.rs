//! The compute API resources other than servers: flavors (with extra specs
//! and access lists), keypairs, limits, quota sets, availability zones,
//! hypervisors, services, server groups, host aggregates, os-hosts,
//! simple tenant usage, console auth tokens, the image proxy, the network
//! proxies (security groups, floating IPs, networks), the external events
//! other services send, and nova's list of extensions.
//!
//! Each module follows nova's controller of the same name: its policies
//! (admin-only where nova's defaults are), its validation messages, its
//! pagination and its microversion differences (listed in MICROVERSIONS.md,
//! "resources"). Their request schemas are in [`schemas`], checked with
//! [`crate::validation::Schema`] before a handler acts.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use crate::fault::ApiError;
use crate::state::ApiState;

pub mod aggregates;
pub mod availability_zones;
pub mod console_auth_tokens;
pub mod extensions;
pub mod external_events;
pub mod flavors;
pub mod hosts;
pub mod hypervisors;
pub mod images;
pub mod keypairs;
pub mod limits;
pub mod migrations;
pub mod migrations_server;
pub mod network_proxies;
pub mod quota_classes;
pub mod quota_sets;
pub mod schemas;
pub mod server_groups;
pub mod services;
pub mod usage;
pub mod usage_audit_log;

/// The routes of these resources, merged into the API router (paths
/// without the `/{project_id}` prefix, which the router strips).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .merge(flavors::routes())
        .merge(keypairs::routes())
        .merge(limits::routes())
        .merge(quota_sets::routes())
        .merge(quota_classes::routes())
        .merge(availability_zones::routes())
        .merge(hypervisors::routes())
        .merge(services::routes())
        .merge(usage::routes())
        .merge(usage_audit_log::routes())
        .merge(images::routes())
        .merge(extensions::routes())
        .merge(external_events::routes())
        .merge(network_proxies::routes())
        .merge(server_groups::routes())
        .merge(aggregates::routes())
        .merge(hosts::routes())
        .merge(migrations::routes())
        .merge(migrations_server::routes())
        .merge(console_auth_tokens::routes())
}

/// A request body parsed as JSON, with nova's 400 "Malformed request body"
/// for anything that is not JSON (the content type is checked before the
/// router).
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::BadRequest("Malformed request body".into()))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::BadRequest("Malformed request body".into()))
    }
}

/// The answer of a handler: a status and a JSON body. Serialized into a
/// buffer sized for a typical answer (axum's `Json` starts at 128 bytes
/// and grows several times on most of ours).
pub(crate) fn json_response(
    status: axum::http::StatusCode,
    body: impl serde::Serialize,
) -> Response {
    json_response_sized(status, body, 1024)
}

/// [`json_response`] into a buffer of `capacity` bytes: for the answers
/// whose size is known roughly beforehand (a page of servers).
pub(crate) fn json_response_sized(
    status: axum::http::StatusCode,
    body: impl serde::Serialize,
    capacity: usize,
) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, &body) {
        Ok(()) => json_bytes_response(status, buf.into()),
        // As axum's `Json` answers a body that does not serialize.
        Err(err) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            err.to_string(),
        )
            .into_response(),
    }
}

/// A JSON answer whose body is already serialized. Its header map is
/// sized once for what every answer gets on its way out (content type and
/// length, version headers and `Vary`, the two request ids) instead of
/// growing on the way.
pub(crate) fn json_bytes_response(status: axum::http::StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.reserve(12);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// nova's 404 for a route whose microversion range excludes the request:
/// the method is treated as absent ("The resource could not be found.").
pub(crate) fn version_not_found() -> ApiError {
    ApiError::NotFound("The resource could not be found.".into())
}

/// Converts a domain error into the API's, through the crate's one mapping.
pub(crate) fn domain(err: compute::Error) -> ApiError {
    ApiError::from(err)
}
