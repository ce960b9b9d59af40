//! The API app (nova's `APIRouterV21`): every resource route, behind the
//! request handling nova's `wsgi.Resource` does before a controller runs.
//!
//! Order of the layers, outermost first:
//! 1. media type: a body type other than JSON is 415 `badMediaType`;
//! 2. microversion negotiation (400/406), and the version headers on the answer;
//! 3. the optional `/{project_id}` prefix: stripped, checked against the
//!    caller's project (400 on mismatch), remembered for links;
//! 4. the routes; an unknown path or method is 404 `itemNotFound`; from
//!    2.102 a route that reads no query refuses one it does not accept
//!    ([`crate::strict_query`]).

use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use nova_paste::http::{boxed, HttpFuture, HttpService};

use crate::fault::{fault_response, ApiError};
use crate::links::ProjectInUrl;
use crate::microversion;
use crate::state::ApiState;

/// The routes of the whole API, with state applied.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/", get(version_here))
        .merge(crate::servers::routes())
        .merge(crate::resources::routes())
        .merge(crate::removed::routes())
        .route_layer(middleware::from_fn(crate::strict_query::refuse_unknown))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    fault_response(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// `GET /v2.1/{project_id}` (the API root) answers the version document.
async fn version_here(request: Request) -> Response {
    crate::versions::v2(None, &request)
}

/// True for nova's default project id pattern in URLs (`[0-9a-f\-]+`).
fn looks_like_project(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase() || b == b'-')
}

/// Strips a leading `/{project_id}` segment as nova's `ProjectMapper` routes do.
async fn strip_project(mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let trimmed = path.trim_start_matches('/');
    let (first, rest) = match trimmed.split_once('/') {
        Some((first, rest)) => (first.to_string(), format!("/{rest}")),
        None => (trimmed.to_string(), "/".to_string()),
    };
    let ctx_project = request
        .extensions()
        .get::<compute::RequestContext>()
        .map(|c| c.project_id.clone());
    let is_project = first != "servers"
        && !first.is_empty()
        && (Some(&first) == ctx_project.as_ref() || looks_like_project(&first));
    if is_project {
        if let Some(ctx_project) = &ctx_project {
            if ctx_project != &first {
                return ApiError::BadRequest(format!(
                    "Malformed request URL: URL's project_id '{first}' doesn't match Context's project_id '{ctx_project}'"
                ))
                .into_response();
            }
        }
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{rest}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
        request.extensions_mut().insert(ProjectInUrl(first));
    }
    next.run(request).await
}

/// nova's router knows no 405: a method a path does not serve is its 404,
/// which carries no `Allow` header (the routes' method routers add one to
/// every answer of their fallback).
async fn no_allow_header(mut response: Response) -> Response {
    response.headers_mut().remove(header::ALLOW);
    response
}

/// A path whose percent-decoded bytes are not UTF-8 names no resource:
/// nova (webob decodes `PATH_INFO` as UTF-8) answers 404, in its fault
/// format, before any route's extractor would refuse it in plain text.
async fn refuse_undecodable_path(request: Request, next: Next) -> Response {
    let decoded = percent_encoding::percent_decode_str(request.uri().path());
    if decoded.decode_utf8().is_err() {
        return ApiError::NotFound("The resource could not be found.".into()).into_response();
    }
    next.run(request).await
}

/// nova's supported request content types; `text/plain` or none means none.
async fn check_media_type(request: Request, next: Next) -> Response {
    if let Some(value) = request.headers().get(header::CONTENT_TYPE) {
        let text = value.to_str().unwrap_or("invalid");
        let mime = text
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let ok = mime.is_empty()
            || mime == "text/plain"
            || mime == "application/json"
            || mime == "application/vnd.openstack.compute+json";
        if !ok {
            return ApiError::UnsupportedMediaType("Unsupported Content-Type".into())
                .into_response();
        }
    }
    next.run(request).await
}

/// The API app as a service: media type check, negotiation, project
/// prefix, routes. Every router handed to the runtime ends with
/// `with_state`, which turns its handlers and layers into routes once:
/// a `Router<()>` called as it is rebuilds them for every request. It expects an auth filter in front of it to have set a
/// `compute::RequestContext` (handlers answer 401 otherwise).
pub fn api_router(state: ApiState) -> Router {
    // Layers added later run first; the routing happens inside, after the
    // prefix was stripped (a `Router::layer` on the routes would run after
    // routing, too late to rewrite the path).
    let inner = routes(state);
    Router::new()
        .fallback_service(inner)
        .layer(middleware::map_response(no_allow_header))
        .layer(middleware::from_fn(strip_project))
        .layer(middleware::from_fn(microversion::negotiate))
        .layer(middleware::from_fn(check_media_type))
        .layer(middleware::from_fn(refuse_undecodable_path))
        .with_state(())
}

/// [`api_router`] boxed for the paste runtime.
pub fn api_app(state: ApiState) -> HttpService {
    boxed(api_router(state))
}

/// The `/v2.1` and `/v2` version app (`VersionsV2`): negotiates like any
/// versioned resource, so its answers carry the version headers too. A
/// plain service rather than an axum router: it has one answer for every
/// path and method, as nova's has.
pub fn version_v2_app(link_prefix: Option<String>) -> HttpService {
    HttpService::new(move |request: Request| {
        HttpFuture::ready(microversion::answer_json_negotiated(request, |request| {
            crate::versions::v2_body(link_prefix.as_deref(), request)
        }))
    })
}

/// The root version app (`Versions`): no negotiation.
pub fn versions_app(link_prefix: Option<String>) -> HttpService {
    HttpService::new(move |request: Request| {
        HttpFuture::ready(crate::versions::root(link_prefix.as_deref(), &request))
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_project;

    #[test]
    fn project_pattern_is_lowercase_hex_and_dashes() {
        assert!(looks_like_project("6f70656e737461636b20342065766572"));
        assert!(looks_like_project("ab-12"));
        assert!(!looks_like_project("servers"));
        assert!(!looks_like_project("os-keypairs"));
        assert!(!looks_like_project("ABC"));
    }
}
