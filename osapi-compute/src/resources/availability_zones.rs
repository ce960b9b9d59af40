//! `/os-availability-zone` (anyone) and `/os-availability-zone/detail`
//! (admin, with hosts and services), as nova's `availability_zone`
//! controller.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::resources::{domain, json_response};
use crate::state::ApiState;

/// The availability zone routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-availability-zone", get(index))
        .route("/os-availability-zone/detail", get(detail))
}

/// nova's timestamp form for service times (`2012-12-26T14:45:25.000000`).
pub(crate) fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn zone_view(zone: &compute::AvailabilityZone) -> Value {
    let hosts = zone.hosts.as_ref().map(|hosts| {
        let mut by_host = Map::new();
        for host in hosts {
            let mut services = Map::new();
            for service in &host.services {
                services.insert(
                    service.binary.clone(),
                    json!({
                        "available": service.available,
                        "active": service.active,
                        "updated_at": timestamp(&service.updated_at),
                    }),
                );
            }
            by_host.insert(host.name.clone(), Value::Object(services));
        }
        Value::Object(by_host)
    });
    json!({
        "zoneName": zone.name,
        "zoneState": {"available": zone.available},
        "hosts": hosts,
    })
}

async fn index(State(state): State<ApiState>, Context(ctx): Context) -> Result<Response, ApiError> {
    let zones = state
        .compute
        .list_availability_zones(&ctx, false)
        .await
        .map_err(domain)?;
    let items: Vec<Value> = zones.iter().map(zone_view).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "availabilityZoneInfo": items }),
    ))
}

async fn detail(State(state): State<ApiState>, context: Context) -> Result<Response, ApiError> {
    context.require_admin("os_compute_api:os-availability-zone:detail")?;
    let zones = state
        .compute
        .list_availability_zones(&context.0, true)
        .await
        .map_err(domain)?;
    let items: Vec<Value> = zones.iter().map(zone_view).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "availabilityZoneInfo": items }),
    ))
}
