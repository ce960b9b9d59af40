//! The APIs nova has removed (nova-network, cells v1, agents, cloudpipe,
//! certificates, ...): nova keeps their routes and answers each with 410
//! Gone, so that a client can tell "removed" from a typo or a missing
//! object (404). The same here, at every microversion.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use axum::Router;

use crate::fault::fault_response;
use crate::state::ApiState;

/// webob's explanation of `HTTPGone`, which nova's fault body carries.
pub const GONE_MESSAGE: &str =
    "This resource is no longer available.  No forwarding address is given.";

/// The collections nova removed; each answers 410 on itself and below.
pub const REMOVED: &[&str] = &[
    "/os-agents",
    "/os-cells",
    "/os-certificates",
    "/os-cloudpipe",
    "/os-fixed-ips",
    "/os-fping",
    "/os-floating-ip-dns",
    "/os-floating-ips-bulk",
    "/os-security-group-default-rules",
];

/// Sub-resources of a server that nova removed.
pub const REMOVED_SERVER_RESOURCES: &[&str] = &["os-virtual-interfaces", "consoles"];

/// The routes of the removed APIs.
pub fn routes() -> Router<ApiState> {
    let mut router = Router::new();
    for path in REMOVED {
        router = router
            .route(path, any(gone))
            .route(&format!("{path}/{{*rest}}"), any(gone));
    }
    for sub in REMOVED_SERVER_RESOURCES {
        router = router
            .route(&format!("/servers/{{id}}/{sub}"), any(gone))
            .route(&format!("/servers/{{id}}/{sub}/{{*rest}}"), any(gone));
    }
    router
}

async fn gone() -> Response {
    fault_response(StatusCode::GONE, GONE_MESSAGE)
}
