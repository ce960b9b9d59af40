//! `/os-instance_usage_audit_log` (admin): the instance usage audit of the
//! last completed period, over every compute host, as nova's
//! `instance_usage_audit_log` controller reports it; `/{before}` the
//! period completed before a time (`YYYY-MM-DD hh:mm:ss[.ffffff]`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use compute::usage_audit::{period_text, UsageAuditLog};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::schemas;
use crate::state::ApiState;

/// The audit log routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-instance_usage_audit_log", get(index))
        .route("/os-instance_usage_audit_log/{before}", get(show))
}

async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Json<Value>, ApiError> {
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    let log = state
        .compute
        .instance_usage_audit_log(&ctx.0, "list", None)
        .await?;
    Ok(Json(json!({ "instance_usage_audit_logs": view(&log) })))
}

async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(before): Path<String>,
) -> Result<Json<Value>, ApiError> {
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    ctx.require_admin("os_compute_api:os-instance-usage-audit-log:show")?;
    let format = if before.contains('.') {
        "%Y-%m-%d %H:%M:%S%.f"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    let before_time = NaiveDateTime::parse_from_str(&before, format)
        .map_err(|_| ApiError::BadRequest(format!("Invalid timestamp for date {before}")))?;
    let log = state
        .compute
        .instance_usage_audit_log(&ctx.0, "show", Some(before_time))
        .await?;
    Ok(Json(json!({ "instance_usage_audit_log": view(&log) })))
}

/// nova's summary of the hosts' task logs.
fn view(log: &UsageAuditLog) -> Value {
    let done = log.logs.iter().filter(|l| l.state == "DONE").count();
    let running = log.logs.iter().filter(|l| l.state == "RUNNING").count();
    let not_run: Vec<&String> = log
        .hosts
        .iter()
        .filter(|h| !log.logs.iter().any(|l| &l.host == *h))
        .collect();
    let errors: i64 = log.logs.iter().map(|l| l.errors).sum();
    let instances: i64 = log.logs.iter().map(|l| l.instances).sum();
    let done_text = if done == log.hosts.len() {
        "ALL".to_owned()
    } else {
        format!("{done} of {}", log.hosts.len())
    };
    let entries: Map<String, Value> = log
        .logs
        .iter()
        .map(|l| {
            (
                l.host.clone(),
                json!({
                    "state": l.state,
                    "instances": l.instances,
                    "errors": l.errors,
                    "message": l.message,
                }),
            )
        })
        .collect();
    json!({
        "period_beginning": period_text(&log.period_beginning),
        "period_ending": period_text(&log.period_ending),
        "num_hosts": log.hosts.len(),
        "num_hosts_done": done,
        "num_hosts_running": running,
        "num_hosts_not_run": not_run.len(),
        "hosts_not_run": not_run,
        "total_instances": instances,
        "total_errors": errors,
        "overall_status": format!("{done_text} hosts done. {errors} errors."),
        "log": entries,
    })
}
