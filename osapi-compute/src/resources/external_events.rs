//! `POST /os-server-external-events`: the events other services (Neutron,
//! Cinder, Ironic, Cyborg) send about servers, as nova's
//! `server_external_events` controller answers them. Each event is looked
//! up by its server: found on a host, it is accepted (`code` 200,
//! `status` completed); not found, 404; found with no host, 422; a
//! `volume-extended` without its volume's `tag`, 400. The request answers
//! 200 when every event was accepted, 207 when some were, and 404 when
//! none was. The simulated hosts need nothing from an event (a Neutron
//! port change is already in the store), so an accepted event changes no
//! server, as on a libvirt host for `power-update`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas, JsonBody};
use crate::state::ApiState;

/// The external events route.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/os-server-external-events", post(create))
}

/// nova's policy: an admin, or a service user (the `service` role).
fn authorize(context: &Context) -> Result<(), ApiError> {
    let service = context
        .0
        .roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case("service"));
    if service {
        return Ok(());
    }
    context.require_admin("os_compute_api:os-server-external-events:create")
}

async fn create(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    authorize(&context)?;
    schemas::external_events(version).validate(&body)?;
    let mut answered = Vec::new();
    let mut accepted = 0usize;
    for event in body["events"].as_array().into_iter().flatten() {
        let mut event = event.clone();
        let uuid = event["server_uuid"].as_str().unwrap_or_default().to_owned();
        let needs_tag = event["name"] == "volume-extended" && event.get("tag").is_none();
        let code = match state.compute.get_instance(&context.0, &uuid).await {
            Err(compute::Error::NotFound { .. }) => 404,
            Err(other) => return Err(domain(other)),
            Ok(_) if needs_tag => 400,
            Ok(instance) if instance.host.is_some() => 200,
            Ok(_) => 422,
        };
        if code == 200 {
            accepted += 1;
            tracing::info!(server = %uuid, event = %event["name"], "external event accepted");
        }
        let status = if code == 200 { "completed" } else { "failed" };
        event["status"] = json!(status);
        event["code"] = json!(code);
        answered.push(event);
    }
    if accepted == 0 {
        return Err(ApiError::NotFound(
            "No instances found for any event".into(),
        ));
    }
    let status = if accepted == answered.len() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(json_response(
        status,
        json!({ "events": Value::Array(answered) }),
    ))
}
