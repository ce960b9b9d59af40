//! `/os-simple-tenant-usage`: usage of every project (admin) or of one
//! (its members or an admin) over `[start, end)`, as nova's
//! `simple_tenant_usage` controller (paging over instances from 2.40).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas};
use crate::state::ApiState;
use crate::validation::has_python_year;

/// The usage routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-simple-tenant-usage", get(index))
        .route("/os-simple-tenant-usage/{tenant_id}", get(show))
}

/// Parses nova's three accepted forms; absent means now.
fn parse_time(text: Option<&str>) -> Result<DateTime<Utc>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Utc::now());
    };
    let invalid =
        || ApiError::BadRequest("Invalid datetime string: Datetime is in invalid format".into());
    if !has_python_year(text) {
        return Err(invalid());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(parsed.and_utc());
        }
    }
    Err(invalid())
}

/// nova's isoformat without zone (`2012-10-08T21:10:44.587336`).
fn iso(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn server_view(usage: &compute::ServerUsage) -> Value {
    json!({
        "instance_id": usage.instance_id,
        "name": usage.name,
        "tenant_id": usage.tenant_id,
        "flavor": usage.flavor,
        "hours": usage.hours,
        "vcpus": usage.vcpus,
        "memory_mb": usage.memory_mb,
        "local_gb": usage.local_gb,
        "started_at": iso(&usage.started_at),
        "ended_at": usage.ended_at.as_ref().map(iso),
        "state": usage.state,
        "uptime": usage.uptime,
    })
}

fn tenant_view(usage: &compute::TenantUsage, detailed: bool) -> Value {
    let mut body = Map::new();
    body.insert("tenant_id".into(), json!(usage.tenant_id));
    body.insert("start".into(), json!(iso(&usage.start)));
    body.insert("stop".into(), json!(iso(&usage.stop)));
    body.insert("total_hours".into(), json!(usage.total_hours));
    body.insert("total_vcpus_usage".into(), json!(usage.total_vcpus_usage));
    body.insert(
        "total_memory_mb_usage".into(),
        json!(usage.total_memory_mb_usage),
    );
    body.insert(
        "total_local_gb_usage".into(),
        json!(usage.total_local_gb_usage),
    );
    if detailed {
        body.insert(
            "server_usages".into(),
            Value::Array(usage.server_usages.iter().map(server_view).collect()),
        );
    }
    Value::Object(body)
}

/// Applies `marker`/`limit` over the instances (nova pages instances, not
/// projects) and rebuilds the totals of what is left. Returns the usages and
/// the uuid of the last instance kept.
fn page(
    usages: Vec<compute::TenantUsage>,
    page: &Page,
) -> Result<(Vec<compute::TenantUsage>, usize, Option<String>), ApiError> {
    let mut servers: Vec<(usize, compute::ServerUsage)> = Vec::new();
    for (index, usage) in usages.iter().enumerate() {
        servers.extend(usage.server_usages.iter().cloned().map(|s| (index, s)));
    }
    if let Some(marker) = &page.marker {
        let position = servers
            .iter()
            .position(|(_, s)| &s.instance_id == marker)
            .ok_or_else(|| ApiError::BadRequest(format!("Marker {marker} could not be found.")))?;
        servers.drain(..=position);
    }
    servers.truncate(page.limit);
    let count = servers.len();
    let last = servers.last().map(|(_, s)| s.instance_id.clone());
    let mut out: Vec<compute::TenantUsage> = Vec::new();
    for (index, server) in servers {
        let template = &usages[index];
        if out
            .last()
            .map(|u| u.tenant_id != template.tenant_id)
            .unwrap_or(true)
        {
            out.push(compute::TenantUsage {
                total_hours: 0.0,
                total_vcpus_usage: 0.0,
                total_memory_mb_usage: 0.0,
                total_local_gb_usage: 0.0,
                server_usages: Vec::new(),
                ..template.clone()
            });
        }
        if let Some(usage) = out.last_mut() {
            usage.total_hours += server.hours;
            usage.total_vcpus_usage += server.hours * server.vcpus as f64;
            usage.total_memory_mb_usage += server.hours * server.memory_mb as f64;
            usage.total_local_gb_usage += server.hours * server.local_gb as f64;
            usage.server_usages.push(server);
        }
    }
    Ok((out, count, last))
}

struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    detailed: bool,
}

fn period(urls: &RequestUrls, version: ApiVersion, allowed: &[&str]) -> Result<Period, ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, allowed).validate_query(&urls.query)?;
    }
    let start = parse_time(urls.param("start"))?;
    let end = parse_time(urls.param("end"))?;
    if start >= end {
        return Err(ApiError::BadRequest(
            "Invalid start time. The start time cannot occur after the end time.".into(),
        ));
    }
    Ok(Period {
        start,
        end,
        detailed: urls.param("detailed") == Some("1"),
    })
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    context.require_admin("os_compute_api:os-simple-tenant-usage:list")?;
    let allowed: &[&str] = if version.at_least(2, 40) {
        &["start", "end", "detailed", "limit", "marker"]
    } else {
        &["start", "end", "detailed"]
    };
    let period = period(&urls, version, allowed)?;
    let usages = state
        .compute
        .usage_report(&context.0, period.start, period.end, None, true)
        .await
        .map_err(domain)?;
    let mut body = Map::new();
    if version.at_least(2, 40) {
        let (usages, count, last) = page(usages, &Page::from_urls(&urls)?)?;
        body.insert(
            "tenant_usages".into(),
            usages
                .iter()
                .map(|u| tenant_view(u, period.detailed))
                .collect(),
        );
        if let Some(links) = urls.collection_links("os-simple-tenant-usage", count, last.as_deref())
        {
            body.insert("tenant_usages_links".into(), links);
        }
    } else {
        body.insert(
            "tenant_usages".into(),
            usages
                .iter()
                .map(|u| tenant_view(u, period.detailed))
                .collect(),
        );
    }
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(tenant_id): Path<String>,
) -> Result<Response, ApiError> {
    if !context.0.can_access_project(&tenant_id) {
        return Err(ApiError::policy(
            "os_compute_api:os-simple-tenant-usage:show",
        ));
    }
    let allowed: &[&str] = if version.at_least(2, 40) {
        &["start", "end", "limit", "marker"]
    } else {
        &["start", "end"]
    };
    let period = period(&urls, version, allowed)?;
    let usages = state
        .compute
        .usage_report(
            &context.0,
            period.start,
            period.end,
            Some(&tenant_id),
            false,
        )
        .await
        .map_err(domain)?;
    let (usages, count, last) = if version.at_least(2, 40) {
        page(usages, &Page::from_urls(&urls)?)?
    } else {
        (usages, 0, None)
    };
    // nova shows an empty object when the project used nothing.
    let usage = usages
        .iter()
        .find(|u| u.tenant_id == tenant_id)
        .map(|u| tenant_view(u, true))
        .unwrap_or(json!({}));
    let mut body = Map::new();
    body.insert("tenant_usage".into(), usage);
    if version.at_least(2, 40) {
        let collection = format!("os-simple-tenant-usage/{tenant_id}");
        if let Some(links) = urls.collection_links(&collection, count, last.as_deref()) {
            body.insert("tenant_usage_links".into(), links);
        }
    }
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_novas_three_forms_parse_and_others_fail() {
        assert!(parse_time(Some("2024-01-02T03:04:05")).is_ok());
        assert!(parse_time(Some("2024-01-02T03:04:05.123456")).is_ok());
        assert!(parse_time(Some("2024-01-02 03:04:05.123456")).is_ok());
        let err = parse_time(Some("yesterday")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid datetime string: Datetime is in invalid format"
        );
    }
}
