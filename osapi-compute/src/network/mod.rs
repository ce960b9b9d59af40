//! A Network API v2.0 (Neutron's wire format) over the compute domain's
//! networks, subnets, ports, security groups, routers and floating IPs,
//! so that `openstack network|subnet|port|security group|security group
//! rule|router|floating ip` work against this endpoint through the
//! catalogue's `network` service.
//!
//! Served paths (relative to where the app is mounted, `/network` in the
//! sample api-paste.ini): `GET /` (version list), `GET /v2.0` (resources),
//! `GET /v2.0/extensions[/{alias}]`, and for each of `networks`,
//! `subnets`, `ports`, `security-groups`, `security-group-rules`,
//! `routers` and `floatingips`: `GET
//! /v2.0/<collection>` (any attribute as a filter, `fields=`,
//! `sort_key`/`sort_dir`, `limit`/`marker`/`page_reverse` with
//! `<collection>_links`), `POST` (one resource), `GET|PUT|DELETE
//! /v2.0/<collection>/{id}` (rules have no `PUT`). A `.json` suffix is
//! accepted as Neutron does. Ports carry `security_groups`. `PUT
//! /v2.0/routers/{id}/add_router_interface` and `remove_router_interface`
//! take a `subnet_id` or a `port_id`.
//!
//! Callers are identified as the other built-in apps do: the context an
//! auth filter stored (admin by role), else the noauth2 `X-Auth-Token`
//! (`user:project`; the user `admin` is admin). Errors are Neutron's
//! `NeutronError` body, rendered in [`fault`] only.
//!
//! `GET /v2.0/quotas`, `GET|PUT|DELETE /v2.0/quotas/{project_id}` and its
//! `/default` and `/details` (the limits are nova.conf's `[quotas]`
//! unless an admin set a project's own), and `GET|DELETE
//! /v2.0/auto-allocated-topology/{project_id}` (`?fields=dry-run`: only
//! the check). Networks show `is_default` when external.
//!
//! Not served yet: router `routes` (`extraroute`), HA and distributed
//! routers, availability zones, port forwarding, tags, revision numbers,
//! RBAC (`shared` groups), port security, subnet pools, bulk creates.

pub mod fault;
mod params;
mod quotas;
mod resources;
mod routers;
mod security_groups;
mod views;

use axum::extract::{Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use nova_paste::http::ScriptName;

use crate::state::ApiState;
use fault::NeutronFault;

/// The extensions this endpoint serves: (alias, name, description).
const EXTENSIONS: &[(&str, &str, &str)] = &[
    (
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    (
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
    ),
    (
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    (
        "net-mtu",
        "Network MTU",
        "Provides MTU attribute for a network resource.",
    ),
    (
        "net-mtu-writable",
        "Network MTU (writable)",
        "Provides a writable MTU attribute for a network resource.",
    ),
    ("sorting", "Sorting support", "Enabled sorting support."),
    (
        "pagination",
        "Pagination support",
        "Extension that indicates that pagination is enabled.",
    ),
    (
        "filter-validation",
        "Filter parameters validation",
        "Provides validation on filtering parameters.",
    ),
    (
        "security-group",
        "security-group",
        "The security groups extension.",
    ),
    (
        "router",
        "Neutron L3 Router",
        "Routers with an external gateway and interfaces, and floating IPs.",
    ),
    (
        "ext-gw-mode",
        "Neutron L3 Configurable external gateway mode",
        "The enable_snat flag of a router's external gateway.",
    ),
    (
        "stateful-security-group",
        "Stateful security group",
        "Indicates if the security group is stateful or not",
    ),
    (
        "binding",
        "Port Binding",
        "The host a port is bound to (binding:host_id, settable by an admin) and its VIF type; shown to admins.",
    ),
    (
        "subnet-external-network",
        "Subnet External Network",
        "Subnets of external networks are visible to every project and say so (router:external).",
    ),
    (
        "quotas",
        "Quota management support",
        "Each project's limits of networks, subnets, ports, routers, floating IPs, security groups and rules.",
    ),
    (
        "quota_details",
        "Quota details management support",
        "The used, limit and reserved counts of each quota resource.",
    ),
    (
        "auto-allocated-topology",
        "Auto Allocated Topology Services",
        "A project's network, subnet and router, made on first asking.",
    ),
];

/// The Network v2 app: mount it under a prefix (`/network` in the sample
/// api-paste.ini) that the identity catalogue names as the `network` service.
pub fn network_router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(versions))
        .route("/v2.0", get(v2_resources))
        .route("/v2.0/", get(v2_resources))
        .route("/v2.0/extensions", get(extensions))
        .route("/v2.0/extensions/{alias}", get(extension))
        .merge(resources::routes())
        .merge(security_groups::routes())
        .merge(routers::routes())
        .merge(quotas::routes())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn no_route() -> Response {
    NeutronFault::no_route().into_response()
}

async fn method_not_allowed(method: axum::http::Method) -> Response {
    NeutronFault::method_not_allowed(&method).into_response()
}

/// The caller: the context an auth filter stored, else a noauth2 token.
fn caller(request: &Parts) -> Result<compute::RequestContext, NeutronFault> {
    if let Some(ctx) = request.extensions.get::<compute::RequestContext>() {
        return Ok(ctx.clone());
    }
    let token = request
        .headers
        .get("x-auth-token")
        .map(|t| nova_paste::http::latin1(t).trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(NeutronFault::unauthorized)?;
    Ok(crate::auth::context_from_token(&token, None))
}

/// `<scheme>://<Host><mount point>` of this request.
fn endpoint_url(request: &Parts) -> String {
    let scheme = nova_paste::http::url_scheme(&request.extensions).to_string();
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let script = request
        .extensions
        .get::<ScriptName>()
        .map(|s| s.0.trim_end_matches('/').to_string())
        .unwrap_or_default();
    format!("{scheme}://{host}{script}")
}

async fn versions(request: Request) -> Response {
    let (request, _) = request.into_parts();
    let url = endpoint_url(&request);
    axum::Json(json!({"versions": [{
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{url}/v2.0/")}],
    }]}))
    .into_response()
}

async fn v2_resources(request: Request) -> Response {
    let (request, _) = request.into_parts();
    if let Err(fault) = caller(&request) {
        return fault.into_response();
    }
    let url = endpoint_url(&request);
    let resource = |name: &str, collection: &str| {
        json!({"name": name, "collection": collection,
               "links": [{"rel": "self", "href": format!("{url}/v2.0/{collection}")}]})
    };
    axum::Json(json!({"resources": [
        resource("network", "networks"),
        resource("subnet", "subnets"),
        resource("port", "ports"),
        resource("router", "routers"),
        resource("floatingip", "floatingips"),
    ]}))
    .into_response()
}

fn extension_view(e: &(&str, &str, &str)) -> serde_json::Value {
    json!({"alias": e.0, "name": e.1, "description": e.2, "links": [], "updated": "2024-01-01T00:00:00-00:00"})
}

async fn extensions(request: Request) -> Response {
    let (request, _) = request.into_parts();
    if let Err(fault) = caller(&request) {
        return fault.into_response();
    }
    axum::Json(json!({"extensions": EXTENSIONS.iter().map(extension_view).collect::<Vec<_>>()}))
        .into_response()
}

async fn extension(Path(alias): Path<String>, request: Request) -> Response {
    let (request, _) = request.into_parts();
    if let Err(fault) = caller(&request) {
        return fault.into_response();
    }
    match EXTENSIONS.iter().find(|e| e.0 == alias) {
        Some(e) => axum::Json(json!({"extension": extension_view(e)})).into_response(),
        None => NeutronFault::not_found(format!("Extension with alias {alias} does not exist"))
            .into_response(),
    }
}
