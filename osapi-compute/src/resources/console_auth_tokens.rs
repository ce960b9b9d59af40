//! `GET /os-console-auth-tokens/{token}` (admin): what a console proxy
//! asks to learn where a token's console is ([`compute::console_auth`]).
//! Before 2.31 only RDP's tokens were served, and RDP is gone, so every
//! request there is 400; from 2.31 a valid token shows its instance,
//! host, port and internal access path, from 2.99 also the TLS port of a
//! `spice-direct` console. An unknown or expired token is 404.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::servers::consoles::BARE_BAD_REQUEST;
use crate::state::ApiState;
use crate::validation::Schema;

/// nova's policy of this resource (admin).
const POLICY: &str = "os_compute_api:os-console-auth-tokens";

/// The routes of this resource.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/os-console-auth-tokens/{id}", get(show))
}

/// `GET /os-console-auth-tokens/{token}`.
pub async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // nova's query schema is open until 2.98 and refuses every parameter
    // from 2.99.
    let query = if version.at_least(2, 99) {
        Schema::object().additional(false)
    } else {
        Schema::object()
    };
    query.validate_query(&urls.query)?;
    if !version.at_least(2, 31) {
        return Err(ApiError::BadRequest(BARE_BAD_REQUEST.into()));
    }
    ctx.require_admin(POLICY)?;
    if token.is_empty() {
        return Err(ApiError::BadRequest("token not provided".into()));
    }
    let auth = state.compute.validate_console_token(&token).await?;
    let mut console = json!({
        "instance_uuid": auth.instance_uuid,
        "host": auth.host,
        "port": auth.port,
        "internal_access_path": auth.internal_access_path,
    });
    if auth.console_type == "spice-direct" && version.at_least(2, 99) {
        console["tls_port"] = json!(auth.tls_port);
    }
    Ok(Json(json!({ "console": console })))
}
