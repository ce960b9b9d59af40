//! Microversion 2.102: every API refuses query parameters it does not
//! know (400), as 2.75 began for the listings.
//!
//! The routes whose handlers read a query validate it themselves (their
//! schemas in [`crate::resources::schemas`] and [`crate::servers::schemas`]
//! are strict from 2.75 or 2.102). The rest never read one: this layer,
//! run after routing, holds their accepted parameters (most none) and
//! refuses anything else from 2.102 on, with the validator's message.

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::microversion::{ApiVersion, MIN_VERSION};
use crate::resources::schemas;

/// The `GET` routes that read no query of their own, with the parameters
/// nova's 2.102 schema for them accepts.
const QUERYLESS: &[(&str, &[&str])] = &[
    ("/servers/{id}", &[]),
    ("/servers/{id}/metadata", &[]),
    ("/servers/{id}/metadata/{key}", &[]),
    ("/servers/{id}/tags", &[]),
    ("/servers/{id}/tags/{tag}", &[]),
    ("/servers/{id}/ips", &[]),
    ("/servers/{id}/ips/{network}", &[]),
    ("/servers/{id}/os-instance-actions/{request_id}", &[]),
    ("/servers/{id}/os-server-password", &[]),
    ("/servers/{id}/os-interface", &[]),
    ("/servers/{id}/os-interface/{port_id}", &[]),
    ("/servers/{id}/os-security-groups", &[]),
    ("/servers/{id}/os-volume_attachments", &["limit", "offset"]),
    ("/servers/{id}/os-volume_attachments/{volume_id}", &[]),
    ("/flavors/{id}/os-flavor-access", &[]),
    ("/flavors/{id}/os-extra_specs", &[]),
    ("/flavors/{id}/os-extra_specs/{key}", &[]),
    ("/os-availability-zone", &[]),
    ("/os-availability-zone/detail", &[]),
];

/// The parameters a query-less route accepts at 2.102, if `path` is one.
pub fn accepted(path: &str) -> Option<&'static [&'static str]> {
    QUERYLESS
        .iter()
        .find(|(route, _)| *route == path)
        .map(|(_, params)| *params)
}

/// The route layer: from 2.102, a `GET` of a query-less route with a
/// parameter it does not accept is 400.
pub async fn refuse_unknown(request: Request, next: Next) -> Response {
    let version = request
        .extensions()
        .get::<ApiVersion>()
        .copied()
        .unwrap_or(MIN_VERSION);
    if version.at_least(2, 102) && request.method() == Method::GET {
        let params = request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|p| accepted(p.as_str()));
        if let (Some(params), Some(query)) = (params, request.uri().query()) {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            if let Err(err) = schemas::query_2102(version, params).validate_query(&pairs) {
                return err.into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_less_route_is_a_served_get_route() {
        for (path, _) in QUERYLESS {
            let route = crate::served::COMPUTE_ROUTES
                .iter()
                .find(|r| r.path == *path)
                .unwrap_or_else(|| panic!("{path} is not served"));
            assert!(
                route.methods.iter().any(|(m, _)| *m == "GET"),
                "{path} has no GET"
            );
        }
    }
}
