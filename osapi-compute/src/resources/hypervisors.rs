//! `/os-hypervisors` (admin): list, detail, show, statistics, uptime and
//! the pre-2.53 search, over the simulated compute hosts, as nova's
//! `hypervisors` controller. Paging arrives at 2.33, uuid ids with
//! `hypervisor_hostname_pattern`/`with_servers` at 2.53, and 2.88 drops the
//! resource fields (and the statistics and uptime routes) for `uptime`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas, version_not_found};
use crate::state::ApiState;
use crate::validation::query_error;

/// The hypervisor routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-hypervisors", get(index))
        .route("/os-hypervisors/detail", get(detail))
        .route("/os-hypervisors/statistics", get(statistics))
        .route("/os-hypervisors/{id}", get(show))
        .route("/os-hypervisors/{id}/uptime", get(uptime))
        .route("/os-hypervisors/{id}/search", get(search))
        .route("/os-hypervisors/{id}/servers", get(servers))
}

fn policy(action: &str) -> String {
    format!("os_compute_api:os-hypervisors:{action}")
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Hypervisor with ID '{id}' could not be found."))
}

/// The simulated host's CPU description (nova's `cpu_info`).
fn cpu_info(hypervisor: &compute::Hypervisor) -> Value {
    json!({
        "arch": "x86_64",
        "model": "Nehalem",
        "vendor": "Intel",
        "features": ["pge", "clflush"],
        "topology": {"cores": hypervisor.vcpus, "threads": 1, "sockets": 1}
    })
}

/// What `uptime(1)` prints on the simulated host.
fn uptime_text() -> String {
    format!(
        " {} up 1 day,  0:00,  0 users,  load average: 0.00, 0.00, 0.00",
        chrono::Utc::now().format("%H:%M:%S")
    )
}

fn hypervisor_view(
    hypervisor: &compute::Hypervisor,
    version: ApiVersion,
    detail: bool,
    servers: Option<&[compute::Instance]>,
    services: &[compute::Service],
) -> Value {
    let uuids = version.at_least(2, 53);
    let mut body = Map::new();
    body.insert(
        "id".into(),
        if uuids {
            json!(hypervisor.uuid)
        } else {
            json!(hypervisor.id)
        },
    );
    body.insert(
        "hypervisor_hostname".into(),
        json!(hypervisor.hypervisor_hostname),
    );
    body.insert("state".into(), json!(hypervisor.state));
    body.insert("status".into(), json!(hypervisor.status));
    if detail {
        body.insert("hypervisor_type".into(), json!(hypervisor.hypervisor_type));
        body.insert(
            "hypervisor_version".into(),
            json!(hypervisor.hypervisor_version),
        );
        body.insert("host_ip".into(), json!(hypervisor.host_ip));
        let service_id = if uuids {
            json!(services
                .iter()
                .find(|s| s.id == hypervisor.service_id)
                .map(|s| s.uuid.clone()))
        } else {
            json!(hypervisor.service_id)
        };
        body.insert(
            "service".into(),
            json!({"id": service_id, "host": hypervisor.host, "disabled_reason": hypervisor.disabled_reason}),
        );
        if version.at_least(2, 88) {
            body.insert("uptime".into(), json!(uptime_text()));
        } else {
            let free_ram = hypervisor.memory_mb - hypervisor.memory_mb_used;
            let free_disk = hypervisor.local_gb - hypervisor.local_gb_used;
            body.insert("vcpus".into(), json!(hypervisor.vcpus));
            body.insert("memory_mb".into(), json!(hypervisor.memory_mb));
            body.insert("local_gb".into(), json!(hypervisor.local_gb));
            body.insert("vcpus_used".into(), json!(hypervisor.vcpus_used));
            body.insert("memory_mb_used".into(), json!(hypervisor.memory_mb_used));
            body.insert("local_gb_used".into(), json!(hypervisor.local_gb_used));
            body.insert("free_ram_mb".into(), json!(free_ram));
            body.insert("free_disk_gb".into(), json!(free_disk));
            body.insert("current_workload".into(), json!(0));
            body.insert("running_vms".into(), json!(hypervisor.running_vms));
            body.insert("disk_available_least".into(), json!(free_disk));
            // 2.28 turned the JSON text into an object.
            let info = cpu_info(hypervisor);
            body.insert(
                "cpu_info".into(),
                if version.at_least(2, 28) {
                    info
                } else {
                    json!(info.to_string())
                },
            );
        }
    }
    if let Some(servers) = servers {
        let items: Vec<Value> = servers
            .iter()
            .map(|s| json!({"name": s.name, "uuid": s.uuid}))
            .collect();
        body.insert("servers".into(), Value::Array(items));
    }
    Value::Object(body)
}

/// The compute services, whose uuids the detailed views show (2.53+).
async fn compute_services(
    state: &ApiState,
    ctx: &compute::RequestContext,
    version: ApiVersion,
) -> Result<Vec<compute::Service>, ApiError> {
    if !version.at_least(2, 53) {
        return Ok(Vec::new());
    }
    state
        .compute
        .list_services(ctx, None, Some("nova-compute"))
        .await
        .map_err(domain)
}

async fn servers_on(
    state: &ApiState,
    ctx: &compute::RequestContext,
    host: &str,
) -> Result<Vec<compute::Instance>, ApiError> {
    let filter = compute::InstanceFilter {
        all_projects: true,
        host: Some(host.to_string()),
        ..Default::default()
    };
    state
        .compute
        .list_instances(ctx, &filter)
        .await
        .map_err(domain)
}

/// `strutils.bool_from_string(strict=True)`, with nova's query message.
fn with_servers(urls: &RequestUrls) -> Result<bool, ApiError> {
    match urls.param("with_servers") {
        None => Ok(false),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
            _ => Err(query_error(
                "with_servers",
                v,
                &format!("'{v}' is not a valid boolean value"),
            )),
        },
    }
}

async fn list(
    state: ApiState,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    detail: bool,
) -> Result<Response, ApiError> {
    context.require_admin(&policy(if detail { "list-detail" } else { "list" }))?;
    if version.at_least(2, 75) {
        schemas::query(
            version,
            &[
                "limit",
                "marker",
                "hypervisor_hostname_pattern",
                "with_servers",
            ],
        )
        .validate_query(&urls.query)?;
    }
    let (pattern, show_servers) = if version.at_least(2, 53) {
        (
            urls.param("hypervisor_hostname_pattern")
                .map(str::to_string),
            with_servers(&urls)?,
        )
    } else {
        (None, false)
    };
    let mut hypervisors = state
        .compute
        .list_hypervisors(&context.0)
        .await
        .map_err(domain)?;
    let uuids = version.at_least(2, 53);
    let id_of = |h: &compute::Hypervisor| {
        if uuids {
            h.uuid.clone()
        } else {
            h.id.to_string()
        }
    };
    let mut paged = false;
    if let Some(pattern) = &pattern {
        if urls.param("limit").is_some() || urls.param("marker").is_some() {
            return Err(ApiError::BadRequest(
                "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported."
                    .into(),
            ));
        }
        hypervisors.retain(|h| h.hypervisor_hostname.contains(pattern.as_str()));
        if hypervisors.is_empty() {
            return Err(ApiError::NotFound(format!(
                "No hypervisor matching '{pattern}' could be found."
            )));
        }
    } else if version.at_least(2, 33) {
        let page = Page::from_urls(&urls)?;
        if let Some(marker) = &page.marker {
            let position = hypervisors
                .iter()
                .position(|h| &id_of(h) == marker)
                .ok_or_else(|| ApiError::BadRequest(format!("marker [{marker}] not found")))?;
            hypervisors.drain(..=position);
        }
        hypervisors.truncate(page.limit);
        paged = true;
    }
    let services = if detail {
        compute_services(&state, &context.0, version).await?
    } else {
        Vec::new()
    };
    let mut items = Vec::with_capacity(hypervisors.len());
    for hypervisor in &hypervisors {
        let servers = if show_servers {
            Some(servers_on(&state, &context.0, &hypervisor.host).await?)
        } else {
            None
        };
        items.push(hypervisor_view(
            hypervisor,
            version,
            detail,
            servers.as_deref(),
            &services,
        ));
    }
    let mut body = Map::new();
    let count = items.len();
    body.insert("hypervisors".into(), Value::Array(items));
    if paged {
        let collection = if detail {
            "os-hypervisors/detail"
        } else {
            "os-hypervisors"
        };
        let last = hypervisors.last().map(id_of);
        if let Some(links) = urls.collection_links(collection, count, last.as_deref()) {
            body.insert("hypervisors_links".into(), links);
        }
    }
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    list(state, context, version, urls, false).await
}

async fn detail(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    list(state, context, version, urls, true).await
}

/// Finds a hypervisor by the id form of `version` (integer before 2.53,
/// uuid after).
async fn find(
    state: &ApiState,
    context: &Context,
    version: ApiVersion,
    id: &str,
) -> Result<compute::Hypervisor, ApiError> {
    if version.at_least(2, 53) {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(ApiError::BadRequest(format!("Invalid uuid {id}")));
        }
    } else if id.parse::<i64>().is_err() {
        return Err(not_found(id));
    }
    let hypervisors = state
        .compute
        .list_hypervisors(&context.0)
        .await
        .map_err(domain)?;
    hypervisors
        .into_iter()
        .find(|h| {
            if version.at_least(2, 53) {
                h.uuid == id
            } else {
                h.id.to_string() == id
            }
        })
        .ok_or_else(|| not_found(id))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    context.require_admin(&policy("show"))?;
    if version.at_least(2, 75) {
        schemas::query(version, &["with_servers"]).validate_query(&urls.query)?;
    }
    let show_servers = version.at_least(2, 53) && with_servers(&urls)?;
    let hypervisor = find(&state, &context, version, &id).await?;
    let servers = if show_servers {
        Some(servers_on(&state, &context.0, &hypervisor.host).await?)
    } else {
        None
    };
    let services = compute_services(&state, &context.0, version).await?;
    Ok(json_response(
        StatusCode::OK,
        json!({"hypervisor": hypervisor_view(&hypervisor, version, true, servers.as_deref(), &services)}),
    ))
}

async fn statistics(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    if version.at_least(2, 88) {
        return Err(version_not_found());
    }
    context.require_admin(&policy("statistics"))?;
    let hypervisors = state
        .compute
        .list_hypervisors(&context.0)
        .await
        .map_err(domain)?;
    let sum = |f: fn(&compute::Hypervisor) -> i64| hypervisors.iter().map(f).sum::<i64>();
    let free_disk = sum(|h| h.local_gb - h.local_gb_used);
    Ok(json_response(
        StatusCode::OK,
        json!({"hypervisor_statistics": {
            "count": hypervisors.len(),
            "vcpus": sum(|h| h.vcpus),
            "memory_mb": sum(|h| h.memory_mb),
            "local_gb": sum(|h| h.local_gb),
            "vcpus_used": sum(|h| h.vcpus_used),
            "memory_mb_used": sum(|h| h.memory_mb_used),
            "local_gb_used": sum(|h| h.local_gb_used),
            "free_ram_mb": sum(|h| h.memory_mb - h.memory_mb_used),
            "free_disk_gb": free_disk,
            "current_workload": 0,
            "running_vms": sum(|h| h.running_vms),
            "disk_available_least": free_disk,
        }}),
    ))
}

async fn uptime(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if version.at_least(2, 88) {
        return Err(version_not_found());
    }
    context.require_admin(&policy("uptime"))?;
    let hypervisor = find(&state, &context, version, &id).await?;
    let mut view = hypervisor_view(&hypervisor, version, false, None, &[]);
    if let Value::Object(map) = &mut view {
        map.insert("uptime".into(), json!(uptime_text()));
    }
    Ok(json_response(StatusCode::OK, json!({ "hypervisor": view })))
}

/// Hypervisors whose host name contains `pattern` (2.1-2.52).
async fn matching(
    state: &ApiState,
    context: &Context,
    pattern: &str,
) -> Result<Vec<compute::Hypervisor>, ApiError> {
    let mut hypervisors = state
        .compute
        .list_hypervisors(&context.0)
        .await
        .map_err(domain)?;
    hypervisors.retain(|h| h.hypervisor_hostname.contains(pattern));
    if hypervisors.is_empty() {
        return Err(ApiError::NotFound(format!(
            "No hypervisor matching '{pattern}' could be found."
        )));
    }
    Ok(hypervisors)
}

async fn search(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(pattern): Path<String>,
) -> Result<Response, ApiError> {
    if version.at_least(2, 53) {
        return Err(version_not_found());
    }
    context.require_admin(&policy("search"))?;
    let hypervisors = matching(&state, &context, &pattern).await?;
    let items: Vec<Value> = hypervisors
        .iter()
        .map(|h| hypervisor_view(h, version, false, None, &[]))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "hypervisors": items }),
    ))
}

async fn servers(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(pattern): Path<String>,
) -> Result<Response, ApiError> {
    if version.at_least(2, 53) {
        return Err(version_not_found());
    }
    context.require_admin(&policy("servers"))?;
    let hypervisors = matching(&state, &context, &pattern).await?;
    let mut items = Vec::with_capacity(hypervisors.len());
    for hypervisor in &hypervisors {
        let servers = servers_on(&state, &context.0, &hypervisor.host).await?;
        // nova leaves `servers` out when a host has none.
        let servers = (!servers.is_empty()).then_some(servers);
        items.push(hypervisor_view(
            hypervisor,
            version,
            false,
            servers.as_deref(),
            &[],
        ));
    }
    Ok(json_response(
        StatusCode::OK,
        json!({ "hypervisors": items }),
    ))
}
