//! `GET /os-services` (admin): the simulated cloud's services, as nova's
//! `services` controller (`forced_down` from 2.11, uuid ids from 2.53,
//! unknown query parameters refused from 2.75).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::availability_zones::timestamp;
use crate::resources::{domain, json_response, schemas};
use crate::state::ApiState;

/// The services routes.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/os-services", get(index))
}

fn service_view(service: &compute::Service, version: ApiVersion) -> Value {
    let mut body = Map::new();
    let id = if version.at_least(2, 53) {
        json!(service.uuid)
    } else {
        json!(service.id)
    };
    body.insert("id".into(), id);
    body.insert("binary".into(), json!(service.binary));
    body.insert("disabled_reason".into(), json!(service.disabled_reason));
    body.insert("host".into(), json!(service.host));
    body.insert("state".into(), json!(service.state));
    body.insert("status".into(), json!(service.status));
    body.insert("updated_at".into(), json!(timestamp(&service.updated_at)));
    body.insert("zone".into(), json!(service.zone));
    if version.at_least(2, 11) {
        body.insert("forced_down".into(), json!(service.forced_down));
    }
    Value::Object(body)
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    context.require_admin("os_compute_api:os-services:list")?;
    if version.at_least(2, 75) {
        schemas::query(version, &["host", "binary"]).validate_query(&urls.query)?;
    }
    let services = state
        .compute
        .list_services(&context.0, urls.param("host"), urls.param("binary"))
        .await
        .map_err(domain)?;
    let items: Vec<Value> = services.iter().map(|s| service_view(s, version)).collect();
    Ok(json_response(StatusCode::OK, json!({ "services": items })))
}
