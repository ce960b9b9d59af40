//! nova's `keystonecontext` filter (`nova.api.auth:NovaKeystoneContext`):
//! builds the caller's `compute::RequestContext` from the identity headers
//! the `authtoken` filter set (`X-User-Id`, `X-Project-Id`, `X-Roles`).
//!
//! As in nova: no user id means 401; the caller is an admin when one of its
//! roles is `admin` (nova's `context_is_admin` rule, compared without case,
//! as oslo.policy compares roles). The older `X-User`/`X-Tenant-Id`/
//! `X-Tenant` names are read when the newer ones are absent.

use std::borrow::Cow;

use axum::response::IntoResponse;
use nova_paste::http::{boxed, HttpService, Request};
use tower::ServiceExt;

use crate::fault::ApiError;

/// The first of `names` the request carries, as text, trimmed; `None` if
/// absent or blank.
///
/// `authtoken` writes these headers as UTF-8: keystonemiddleware hands
/// nova the names, ids and roles exactly as Keystone spelled them, and a
/// role or an LDAP user id need not be ASCII. Bytes that are not UTF-8
/// (a header `authtoken` did not set) are read as a WSGI server reads
/// them, as latin-1.
fn header<'a>(request: &'a Request, names: &[&str]) -> Option<Cow<'a, str>> {
    let value = names.iter().find_map(|n| request.headers().get(*n))?;
    let text = match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => Cow::Borrowed(text.trim()),
        Err(_) => Cow::Owned(nova_paste::http::latin1(value).trim().to_owned()),
    };
    (!text.is_empty()).then_some(text)
}

/// The context of a request that went through `authtoken`, or the error
/// nova answers when the headers name no user or no project.
pub fn context_from_headers(request: &Request) -> Result<compute::RequestContext, ApiError> {
    let user = header(request, &["x-user-id", "x-user"])
        .ok_or_else(|| ApiError::Unauthorized("Authentication required".into()))?;
    let project = header(request, &["x-project-id", "x-tenant-id", "x-tenant"])
        .ok_or_else(|| ApiError::Unauthorized("A project-scoped token is required".into()))?;
    let roles: Vec<String> = header(request, &["x-roles", "x-role"])
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    let mut ctx = compute::RequestContext::new(user, project);
    ctx.is_admin = roles.iter().any(|r| r.eq_ignore_ascii_case("admin"));
    ctx.roles = roles;
    if let Some(id) = request.extensions().get::<nova_paste::http::RequestId>() {
        ctx = ctx.with_request_id(id.as_str().to_owned());
    }
    Ok(ctx)
}

/// Wraps `inner` in nova's keystonecontext filter.
pub fn keystone_context(inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |mut request: Request| {
        let inner = inner.clone();
        async move {
            match context_from_headers(&request) {
                Ok(ctx) => {
                    request.extensions_mut().insert(ctx);
                    inner.oneshot(request).await
                }
                Err(e) => Ok(e.into_response()),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().uri("/v2.1/servers");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(nova_paste::http::Body::empty()).unwrap()
    }

    #[test]
    fn roles_decide_admin_as_in_nova() {
        let ctx = context_from_headers(&request(&[
            ("X-User-Id", "u1"),
            ("X-Project-Id", "p1"),
            ("X-Roles", "reader, Admin"),
        ]))
        .unwrap();
        assert_eq!(
            (ctx.user_id.as_str(), ctx.project_id.as_str(), ctx.is_admin),
            ("u1", "p1", true)
        );
        assert_eq!(ctx.roles, vec!["reader".to_string(), "Admin".to_string()]);
        let ctx = context_from_headers(&request(&[
            ("X-User-Id", "u1"),
            ("X-Project-Id", "p1"),
            ("X-Roles", "member,administrator"),
        ]))
        .unwrap();
        assert!(!ctx.is_admin);
    }

    #[test]
    fn identity_that_is_not_ascii_is_read_as_authtoken_wrote_it() {
        // authtoken writes what Keystone returned as UTF-8.
        let ctx = context_from_headers(&request(&[
            ("X-User-Id", "jos\u{e9}"),
            ("X-Project-Id", "caf\u{e9}"),
            ("X-Roles", "r\u{f4}le,admin"),
        ]))
        .unwrap();
        assert_eq!(
            (ctx.user_id.as_str(), ctx.project_id.as_str()),
            ("jos\u{e9}", "caf\u{e9}")
        );
        assert_eq!(
            ctx.roles,
            vec!["r\u{f4}le".to_string(), "admin".to_string()]
        );
        assert!(ctx.is_admin);
    }

    #[test]
    fn older_header_names_are_read_and_a_missing_user_is_401() {
        let ctx =
            context_from_headers(&request(&[("X-User", "bob"), ("X-Tenant-Id", "p2")])).unwrap();
        assert_eq!(
            (ctx.user_id.as_str(), ctx.project_id.as_str()),
            ("bob", "p2")
        );
        assert!(matches!(
            context_from_headers(&request(&[("X-Project-Id", "p1")])),
            Err(ApiError::Unauthorized(_))
        ));
    }
}
