//! The handlers of `/v2.0/networks`, `/v2.0/subnets` and `/v2.0/ports`.

use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use compute::network::{
    AllocationPool, FixedIpRequest, GatewayIp, HostRoute, NetworkUpdate, NewNetwork, NewPort,
    NewSubnet, Page, PortUpdate, SubnetUpdate,
};
use compute::RequestContext;

use super::fault::NeutronFault;
use super::params::{list_params, resource_body, Body, ListParams};
use super::{caller, endpoint_url, views};
use crate::state::ApiState;

/// The largest request body read (oslo's `max_request_body_size` default).
const MAX_BODY: usize = 114_688;

/// What a handler answers: the resource, or Neutron's fault.
pub(super) type Answer = Result<Response, NeutronFault>;

/// The routes of the three collections.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v2.0/networks", get(list_networks).post(create_network))
        .route(
            "/v2.0/networks.json",
            get(list_networks).post(create_network),
        )
        .route(
            "/v2.0/networks/{id}",
            get(show_network).put(update_network).delete(delete_network),
        )
        .route("/v2.0/subnets", get(list_subnets).post(create_subnet))
        .route("/v2.0/subnets.json", get(list_subnets).post(create_subnet))
        .route(
            "/v2.0/subnets/{id}",
            get(show_subnet).put(update_subnet).delete(delete_subnet),
        )
        .route("/v2.0/ports", get(list_ports).post(create_port))
        .route("/v2.0/ports.json", get(list_ports).post(create_port))
        .route(
            "/v2.0/ports/{id}",
            get(show_port).put(update_port).delete(delete_port),
        )
}

/// The id of a path, without Neutron's optional `.json` suffix.
pub(super) fn id(raw: String) -> String {
    raw.strip_suffix(".json").map(str::to_string).unwrap_or(raw)
}

async fn body_of(body: axum::body::Body) -> Result<axum::body::Bytes, NeutronFault> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| NeutronFault::too_large())
}

/// `{"<key>": view}` with `status`.
pub(super) fn one(key: &str, view: impl Into<Value>, status: StatusCode) -> Response {
    (status, axum::Json(json!({ key: view.into() }))).into_response()
}

/// A read (a list or a show): the caller, the query's list parameters
/// (filters, fields, sorting, paging) and the request, whose URL the
/// paging links are made of.
pub(super) struct Read {
    pub(super) ctx: RequestContext,
    pub(super) params: ListParams,
    request: Parts,
}

impl Read {
    /// The caller first, then the query string, as Neutron checks them.
    pub(super) fn of(request: Request) -> Result<Self, NeutronFault> {
        let (request, _) = request.into_parts();
        let ctx = caller(&request)?;
        let params = list_params(request.uri.query())?;
        Ok(Read {
            ctx,
            params,
            request,
        })
    }

    /// The answer of a list of `collection` (see [`list_answer`]).
    pub(super) fn list<T>(
        &self,
        collection: &str,
        page: Page<T>,
        view: impl Fn(&T) -> Map<String, Value>,
        id_of: impl Fn(&T) -> &str,
    ) -> Response {
        let url = endpoint_url(&self.request);
        list_answer(collection, &url, &self.params, page, view, id_of)
    }

    /// The answer of a show: `{"<key>": view}` with the asked fields.
    pub(super) fn show(&self, key: &str, view: Map<String, Value>) -> Response {
        one(
            key,
            views::select(view, &self.params.fields),
            StatusCode::OK,
        )
    }
}

/// A write's caller and its `{"<key>": {...}}` body (`post`: a create).
pub(super) async fn write_call(
    request: Request,
    key: &str,
    post: bool,
) -> Result<(RequestContext, Body), NeutronFault> {
    let (ctx, bytes) = body_call(request).await?;
    Ok((ctx, Body::new(resource_body(&bytes, key)?, post)))
}

/// The bodies of a create: `{"<key>": {...}}`, or Neutron's bulk form
/// `{"<key>s": [{...}, ...]}` (then `bulk`).
struct Creates {
    ctx: RequestContext,
    bodies: Vec<Body>,
    bulk: bool,
}

async fn create_call(request: Request, key: &str, plural: &str) -> Result<Creates, NeutronFault> {
    let (ctx, bytes) = body_call(request).await?;
    let list = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get(plural).cloned());
    let Some(list) = list else {
        let body = Body::new(resource_body(&bytes, key)?, true);
        return Ok(Creates {
            ctx,
            bodies: vec![body],
            bulk: false,
        });
    };
    let Value::Array(items) = list else {
        return Err(NeutronFault::bad_request(format!(
            "Invalid input for operation: Body of '{plural}' must be a list."
        )));
    };
    let mut bodies = Vec::with_capacity(items.len());
    for item in items {
        match item.get(key).cloned().unwrap_or(item) {
            Value::Object(map) => bodies.push(Body::new(map, true)),
            _ => {
                return Err(NeutronFault::bad_request(format!(
                    "Invalid input for operation: Body of '{key}' must be an object."
                )))
            }
        }
    }
    Ok(Creates {
        ctx,
        bodies,
        bulk: true,
    })
}

/// Makes every parsed request of a create, all or none: when one fails,
/// the ones made before it are deleted again (Neutron's bulk creates are
/// one transaction) and its error is the answer.
async fn create_all<'a, R, T>(
    requests: Vec<R>,
    make: impl Fn(R) -> Pending<'a, Result<T, compute::NetworkError>>,
    id_of: impl Fn(&T) -> String,
    undo: impl Fn(String) -> Pending<'a, ()>,
) -> Result<Vec<T>, NeutronFault> {
    let mut made = Vec::with_capacity(requests.len());
    for request in requests {
        match make(request).await {
            Ok(item) => made.push(item),
            Err(e) => {
                for item in made.iter().rev() {
                    undo(id_of(item)).await;
                }
                return Err(e.into());
            }
        }
    }
    Ok(made)
}

/// A store call in flight, borrowing the handler's state and caller.
type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The answer of a create: one resource, or the list of a bulk create.
fn created<T>(
    creates_bulk: bool,
    key: &str,
    plural: &str,
    made: &[T],
    view: impl Fn(&T) -> Map<String, Value>,
) -> Response {
    if creates_bulk {
        let views: Vec<Value> = made.iter().map(|t| Value::Object(view(t))).collect();
        return one(plural, views, StatusCode::CREATED);
    }
    match made.first() {
        Some(t) => one(key, view(t), StatusCode::CREATED),
        None => one(plural, Vec::<Value>::new(), StatusCode::CREATED),
    }
}

/// A call's caller, then its body's bytes.
pub(super) async fn body_call(
    request: Request,
) -> Result<(RequestContext, axum::body::Bytes), NeutronFault> {
    let (request, body) = request.into_parts();
    let ctx = caller(&request)?;
    Ok((ctx, body_of(body).await?))
}

/// The caller of a call whose body is not read (a delete).
pub(super) fn context(request: Request) -> Result<RequestContext, NeutronFault> {
    caller(&request.into_parts().0)
}

/// A list answer with Neutron's `<collection>_links` when paging.
pub(super) fn list_answer<T>(
    collection: &str,
    url: &str,
    params: &ListParams,
    page: Page<T>,
    view: impl Fn(&T) -> Map<String, Value>,
    id_of: impl Fn(&T) -> &str,
) -> Response {
    let mut body = Map::new();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| views::select(view(t), &params.fields))
        .collect();
    let mut links = Vec::new();
    if let (Some(limit), Some(first), Some(last)) =
        (params.query.limit, page.items.first(), page.items.last())
    {
        let href = |marker: &str, reverse: bool| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params
                .pairs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "marker" | "page_reverse" | "limit"))
            {
                q.append_pair(k, v);
            }
            q.append_pair("limit", &limit.to_string());
            q.append_pair("marker", marker);
            if reverse {
                q.append_pair("page_reverse", "True");
            }
            format!("{url}/v2.0/{collection}?{}", q.finish())
        };
        let reverse = params.query.page_reverse;
        let has_marker = params.query.marker.is_some();
        let (next, previous) = if reverse {
            (has_marker, page.more)
        } else {
            (page.more, has_marker)
        };
        if next {
            links.push(json!({"rel": "next", "href": href(id_of(last), false)}));
        }
        if previous {
            links.push(json!({"rel": "previous", "href": href(id_of(first), true)}));
        }
    }
    body.insert(collection.to_string(), Value::Array(items));
    if !links.is_empty() {
        body.insert(format!("{collection}_links"), Value::Array(links));
    }
    axum::Json(Value::Object(body)).into_response()
}

// Networks.

async fn list_networks(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_networks(&read.ctx, &read.params.query)
        .await?;
    Ok(read.list("networks", page, views::network, |n| n.id.as_str()))
}

async fn show_network(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let n = state.compute.get_network(&read.ctx, &id(raw)).await?;
    Ok(read.show("network", views::network(&n)))
}

async fn create_network(State(state): State<ApiState>, request: Request) -> Answer {
    let Creates { ctx, bodies, bulk } = create_call(request, "network", "networks").await?;
    let requests = bodies
        .into_iter()
        .map(new_network)
        .collect::<Result<Vec<_>, _>>()?;
    let (compute, caller) = (&state.compute, &ctx);
    let made = create_all(
        requests,
        |r| Box::pin(compute.create_network(caller, r)),
        |n| n.id.clone(),
        |id| {
            Box::pin(async move {
                let _ = compute.delete_network(caller, &id).await;
            })
        },
    )
    .await?;
    Ok(created(bulk, "network", "networks", &made, views::network))
}

fn new_network(mut b: Body) -> Result<NewNetwork, NeutronFault> {
    b.refuse(&["id", "status", "subnets", "created_at", "updated_at"])?;
    let req = NewNetwork {
        name: b.string("name")?,
        description: b.string("description")?,
        project_id: b.project()?,
        shared: b.boolean("shared")?,
        router_external: b.boolean("router:external")?,
        is_default: b.boolean("is_default")?,
        admin_state_up: b.boolean("admin_state_up")?,
        mtu: b.integer("mtu")?,
    };
    b.finish()?;
    Ok(req)
}

async fn update_network(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "network", false).await?;
    b.refuse(&[
        "id",
        "status",
        "subnets",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = NetworkUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        shared: b.boolean("shared")?,
        router_external: b.boolean("router:external")?,
        is_default: b.boolean("is_default")?,
        admin_state_up: b.boolean("admin_state_up")?,
        mtu: b.integer("mtu")?,
    };
    b.finish()?;
    let n = state.compute.update_network(&ctx, &id(raw), req).await?;
    Ok(one("network", views::network(&n), StatusCode::OK))
}

async fn delete_network(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_network(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Subnets.

fn pools(b: &mut Body) -> Result<Option<Vec<AllocationPool>>, NeutronFault> {
    Ok(b.objects("allocation_pools", &["start", "end"])?
        .map(|rows| {
            rows.into_iter()
                .map(|r| AllocationPool {
                    start: r[0].clone().unwrap_or_default(),
                    end: r[1].clone().unwrap_or_default(),
                })
                .collect()
        }))
}

fn routes_of(b: &mut Body) -> Result<Option<Vec<HostRoute>>, NeutronFault> {
    Ok(b.objects("host_routes", &["destination", "nexthop"])?
        .map(|rows| {
            rows.into_iter()
                .map(|r| HostRoute {
                    destination: r[0].clone().unwrap_or_default(),
                    nexthop: r[1].clone().unwrap_or_default(),
                })
                .collect()
        }))
}

fn gateway(b: &mut Body) -> Result<Option<Option<String>>, NeutronFault> {
    match b.take("gateway_ip") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s))),
        Some(other) => Err(NeutronFault::bad_request(format!(
            "Invalid input for gateway_ip. Reason: '{other}' is not a valid IP address."
        ))),
    }
}

/// The IPv6 modes and subnet pools are not served: only null is taken.
fn refuse_unserved(b: &mut Body) -> Result<(), NeutronFault> {
    for name in ["ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id"] {
        match b.take(name) {
            None | Some(Value::Null) => {}
            Some(other) => {
                return Err(NeutronFault::bad_request(format!(
                    "Invalid input for {name}. Reason: '{other}' is not supported by this endpoint."
                )))
            }
        }
    }
    Ok(())
}

async fn list_subnets(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_subnets(&read.ctx, &read.params.query)
        .await?;
    Ok(read.list("subnets", page, views::subnet, |s| s.id.as_str()))
}

async fn show_subnet(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let s = state.compute.get_subnet(&read.ctx, &id(raw)).await?;
    Ok(read.show("subnet", views::subnet(&s)))
}

async fn create_subnet(State(state): State<ApiState>, request: Request) -> Answer {
    let Creates { ctx, bodies, bulk } = create_call(request, "subnet", "subnets").await?;
    let requests = bodies
        .into_iter()
        .map(new_subnet)
        .collect::<Result<Vec<_>, _>>()?;
    let (compute, caller) = (&state.compute, &ctx);
    let made = create_all(
        requests,
        |r| Box::pin(compute.create_subnet(caller, r)),
        |s| s.id.clone(),
        |id| {
            Box::pin(async move {
                let _ = compute.delete_subnet(caller, &id).await;
            })
        },
    )
    .await?;
    Ok(created(bulk, "subnet", "subnets", &made, views::subnet))
}

fn new_subnet(mut b: Body) -> Result<NewSubnet, NeutronFault> {
    b.refuse(&["id", "created_at", "updated_at"])?;
    let network_id = b.required("network_id")?;
    if !b.has("ip_version") {
        b.required("ip_version")?;
    }
    let ip_version = b.integer("ip_version")?.unwrap_or_default();
    if !b.has("cidr") {
        b.required("cidr")?;
    }
    let req = NewSubnet {
        network_id,
        ip_version,
        cidr: b.string("cidr")?.unwrap_or_default(),
        name: b.string("name")?,
        description: b.string("description")?,
        project_id: b.project()?,
        gateway_ip: match gateway(&mut b)? {
            None => GatewayIp::Default,
            Some(None) => GatewayIp::None,
            Some(Some(a)) => GatewayIp::Address(a),
        },
        allocation_pools: pools(&mut b)?,
        dns_nameservers: b.strings("dns_nameservers")?,
        host_routes: routes_of(&mut b)?,
        enable_dhcp: b.boolean("enable_dhcp")?,
    };
    refuse_unserved(&mut b)?;
    b.finish()?;
    Ok(req)
}

async fn update_subnet(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "subnet", false).await?;
    b.refuse(&[
        "id",
        "network_id",
        "ip_version",
        "cidr",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = SubnetUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        gateway_ip: gateway(&mut b)?,
        allocation_pools: pools(&mut b)?,
        dns_nameservers: b.strings("dns_nameservers")?,
        host_routes: routes_of(&mut b)?,
        enable_dhcp: b.boolean("enable_dhcp")?,
    };
    b.finish()?;
    let s = state.compute.update_subnet(&ctx, &id(raw), req).await?;
    Ok(one("subnet", views::subnet(&s), StatusCode::OK))
}

async fn delete_subnet(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_subnet(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Ports.

fn fixed_ips(b: &mut Body) -> Result<Option<Vec<FixedIpRequest>>, NeutronFault> {
    Ok(b.objects("fixed_ips", &["subnet_id", "ip_address"])?
        .map(|rows| {
            rows.into_iter()
                .map(|r| FixedIpRequest {
                    subnet_id: r[0].clone(),
                    ip_address: r[1].clone(),
                })
                .collect()
        }))
}

/// `security_groups`: a list of ids (null is none, as in Neutron).
fn security_groups(b: &mut Body) -> Result<Option<Vec<String>>, NeutronFault> {
    if b.peek("security_groups").is_some_and(Value::is_null) {
        b.take("security_groups");
        return Ok(Some(Vec::new()));
    }
    b.strings("security_groups")
}

async fn list_ports(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_ports(&read.ctx, &read.params.query)
        .await?;
    let admin = read.ctx.is_admin;
    Ok(read.list("ports", page, |p| views::port(p, admin), |p| p.id.as_str()))
}

async fn show_port(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let p = state.compute.get_port(&read.ctx, &id(raw)).await?;
    Ok(read.show("port", views::port(&p, read.ctx.is_admin)))
}

async fn create_port(State(state): State<ApiState>, request: Request) -> Answer {
    let Creates { ctx, bodies, bulk } = create_call(request, "port", "ports").await?;
    let requests = bodies
        .into_iter()
        .map(new_port)
        .collect::<Result<Vec<_>, _>>()?;
    let (compute, caller) = (&state.compute, &ctx);
    let made = create_all(
        requests,
        |r| Box::pin(compute.create_port(caller, r)),
        |p| p.id.clone(),
        |id| {
            Box::pin(async move {
                let _ = compute.delete_port(caller, &id).await;
            })
        },
    )
    .await?;
    let admin = ctx.is_admin;
    Ok(created(bulk, "port", "ports", &made, |p| {
        views::port(p, admin)
    }))
}

fn new_port(mut b: Body) -> Result<NewPort, NeutronFault> {
    b.refuse(&["id", "status", "created_at", "updated_at"])?;
    let req = NewPort {
        network_id: b.required("network_id")?,
        name: b.string("name")?,
        description: b.string("description")?,
        project_id: b.project()?,
        mac_address: b.string("mac_address")?,
        fixed_ips: fixed_ips(&mut b)?,
        device_id: b.string("device_id")?,
        device_owner: b.string("device_owner")?,
        admin_state_up: b.boolean("admin_state_up")?,
        security_groups: security_groups(&mut b)?,
        binding_host: b.string("binding:host_id")?,
    };
    b.finish()?;
    Ok(req)
}

async fn update_port(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "port", false).await?;
    b.refuse(&[
        "id",
        "network_id",
        "mac_address",
        "status",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = PortUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        fixed_ips: fixed_ips(&mut b)?,
        device_id: b.string("device_id")?,
        device_owner: b.string("device_owner")?,
        admin_state_up: b.boolean("admin_state_up")?,
        security_groups: security_groups(&mut b)?,
        binding_host: b.string("binding:host_id")?,
    };
    b.finish()?;
    let p = state.compute.update_port(&ctx, &id(raw), req).await?;
    Ok(one("port", views::port(&p, ctx.is_admin), StatusCode::OK))
}

async fn delete_port(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_port(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
