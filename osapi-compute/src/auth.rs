//! nova's `noauth2` filter (`nova.api.openstack.auth:NoAuthMiddleware`):
//! trusts an `X-Auth-Token: user:project` header, and without a token
//! answers 204 with a token and the management URL, as nova does. Headers
//! are read as nova's WSGI server hands them over, their bytes as latin-1:
//! a token that is not ASCII names a user and project like any other.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode};
use nova_paste::http::{boxed, latin1_header_value, HttpService, Request, Response};
use tower::ServiceExt;

/// Builds the caller's context from a `user:project` token: the project
/// defaults to the user; only the user `admin` is an admin.
///
/// nova's noauth2 contexts carry no roles at all, which its new policy
/// defaults would read as "no access"; here every caller gets `member` and
/// `reader` (and `admin` for the admin user) so that project members can use
/// their own servers, which is what noauth2 deployments expect.
pub fn context_from_token(token: &str, request_id: Option<&str>) -> compute::RequestContext {
    let (user, project) = match token.split_once(':') {
        Some((user, project)) if !project.is_empty() => (user, project),
        Some((user, _)) => (user, user),
        None => (token, token),
    };
    let mut ctx = if user == "admin" {
        compute::RequestContext::admin(user, project)
    } else {
        compute::RequestContext::new(user, project)
    };
    for role in ["reader"] {
        if !ctx.roles.iter().any(|r| r == role) {
            ctx.roles.push(role.to_string());
        }
    }
    if let Some(id) = request_id {
        ctx = ctx.with_request_id(id);
    }
    ctx
}

/// The full URL of the request (`req.url`): scheme, host, script name, path
/// and query.
fn request_url(request: &Request) -> String {
    let mut url = crate::links::UrlParts::of(request).join();
    if let Some(path_and_query) = request.uri().path_and_query() {
        url.push_str(path_and_query.as_str());
    }
    url
}

/// A request header as nova reads it: its bytes as latin-1 (WSGI), so a
/// value that is not ASCII is still that value, not a missing header.
fn header<'a>(request: &'a Request, name: &str) -> Option<Cow<'a, str>> {
    request.headers().get(name).map(nova_paste::http::latin1)
}

/// Wraps `inner` in nova's noauth2 filter.
pub fn noauth2(inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |mut request: Request| {
        let inner = inner.clone();
        async move {
            let Some(token) = header(&request, "X-Auth-Token").map(Cow::into_owned) else {
                let user = header(&request, "X-Auth-User").unwrap_or(Cow::Borrowed("admin"));
                let project =
                    header(&request, "X-Auth-Project-Id").unwrap_or(Cow::Borrowed("admin"));
                let url = format!(
                    "{}/{}",
                    request_url(&request).trim_end_matches('/'),
                    project
                );
                let mut response = Response::new(nova_paste::http::Body::empty());
                *response.status_mut() = StatusCode::NO_CONTENT;
                let headers = response.headers_mut();
                // Sent back as the server sends what an app sets: latin-1,
                // the bytes the client sent.
                if let Some(v) = latin1_header_value(&format!("{user}:{project}")) {
                    headers.insert("X-Auth-Token", v);
                }
                if let Some(v) = latin1_header_value(&url) {
                    headers.insert("X-Server-Management-Url", v);
                }
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=UTF-8"),
                );
                return Ok(response);
            };
            let request_id = request
                .extensions()
                .get::<nova_paste::http::RequestId>()
                .map(|r| r.as_str().to_owned());
            let ctx = context_from_token(&token, request_id.as_deref());
            request.extensions_mut().insert(ctx);
            inner.oneshot(request).await
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_parsing_follows_nova() {
        let ctx = context_from_token("alice:proj1", None);
        assert_eq!(
            (ctx.user_id.as_str(), ctx.project_id.as_str(), ctx.is_admin),
            ("alice", "proj1", false)
        );
        let ctx = context_from_token("admin", None);
        assert_eq!(
            (ctx.user_id.as_str(), ctx.project_id.as_str(), ctx.is_admin),
            ("admin", "admin", true)
        );
        let ctx = context_from_token("bob:", Some("req-1"));
        assert_eq!(
            (ctx.project_id.as_str(), ctx.request_id.as_str()),
            ("bob", "req-1")
        );
        assert!(!context_from_token("administrator:admin", None).is_admin);
    }
}
