//! nova's proxies of the network domain: `os-security-groups`,
//! `os-security-group-rules`, `os-floating-ips`, `os-floating-ip-pools`,
//! `os-networks` and `os-tenant-networks`, served from the same store calls
//! as the Network v2 endpoint (`compute::network`), so that a group, rule,
//! floating IP or network made through one API is the other's too and the
//! rules (scoping, quotas, Neutron's checks) exist once.
//!
//! Each module follows nova's controller of the same name over its
//! `nova.network` helpers: the request schemas, the views, the messages and
//! the status codes nova gives when Neutron answers as our store does. Where
//! nova passes a Neutron refusal on, the message is Neutron's (the store's
//! [`compute::network::NetworkError`] text, without the request-id trailer
//! neutronclient appends). The served calls exist up to 2.35
//! (`MAX_PROXY_API_SUPPORT_VERSION`) and are nova's 404 above; the
//! nova-network calls nova removed answer 410 at every version, as nova's
//! do.
//!
//! | module | holds |
//! |---|---|
//! | [`security_groups`] | groups and their ingress rules in nova's shape (`ip_range`, `group`, `from_port`/`to_port`) |
//! | [`floating_ips`] | floating IPs (`pool`, `instance_id`) and the pools (the external networks) |
//! | [`networks`] | `os-networks` and `os-tenant-networks`: the networks a caller sees, in nova-network's shape |

use axum::http::StatusCode;
use axum::response::Response;
use axum::Router;
use compute::network::error::ErrorClass;
use compute::network::NetworkError;
use serde_json::{Map, Value};

use crate::fault::ApiError;
use crate::resources::json_response;
use crate::state::ApiState;

pub mod floating_ips;
pub mod networks;
pub mod security_groups;

/// The routes of the proxies (paths without the `/{project_id}` prefix).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .merge(security_groups::routes())
        .merge(floating_ips::routes())
        .merge(networks::routes())
}

/// nova's 200 answer of a proxy: `{"<key>": <value>}`.
pub(crate) fn ok(key: &str, value: impl Into<Value>) -> Response {
    let mut body = Map::new();
    body.insert(key.to_string(), value.into());
    json_response(StatusCode::OK, Value::Object(body))
}

/// A store failure, for the calls whose Neutron errors nova does not
/// expect: internal (logged, answered as nova's 500 without detail).
pub(crate) fn internal(err: NetworkError) -> ApiError {
    ApiError::Internal(err.to_string())
}

/// A Neutron error as nova's `exception.Invalid` (400) passes it on, or
/// internal when it is a store failure.
pub(crate) fn invalid(err: NetworkError) -> ApiError {
    match err.class() {
        ErrorClass::Internal => internal(err),
        _ => ApiError::BadRequest(err.to_string()),
    }
}
