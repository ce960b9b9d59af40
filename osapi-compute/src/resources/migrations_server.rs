//! `/servers/{id}/migrations`: a server's live migrations in progress, as
//! nova's `server_migrations` controller serves them (admins; the server
//! is looked up first, 404, then the policy, 403):
//!
//! - `GET` list and show (2.23; `uuid` from 2.59, `user_id`/`project_id`
//!   from 2.80); a record that is not a live migration in progress is 404;
//! - `POST .../{mid}/action {"force_complete": null}` (2.22): 202; a
//!   record not the server's or not `running` is 400, a server not
//!   (active, migrating) 409;
//! - `DELETE .../{mid}` (2.24) aborts: 202; a record not the server's is
//!   404, not `running` (from 2.65 also `queued`/`preparing`) 400, a
//!   server not migrating 409.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::microversion::ApiVersion;
use crate::resources::{schemas, version_not_found};
use crate::servers::view::naive_iso;
use crate::state::ApiState;
use crate::validation::{JsonBody, Schema, Ty};

/// The server migration routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/servers/{id}/migrations", get(index))
        .route("/servers/{id}/migrations/{mid}", get(show).delete(abort))
        .route("/servers/{id}/migrations/{mid}/action", post(action))
}

/// A record as this API shows it at `version`.
pub fn view(m: &compute::Migration, version: ApiVersion) -> Value {
    let mut o = Map::new();
    o.insert("created_at".into(), json!(naive_iso(&m.created_at)));
    o.insert("dest_compute".into(), json!(m.dest_compute));
    o.insert("dest_host".into(), json!(m.dest_host));
    o.insert("dest_node".into(), json!(m.dest_node));
    o.insert("disk_processed_bytes".into(), json!(m.disk_processed));
    o.insert("disk_remaining_bytes".into(), json!(m.disk_remaining));
    o.insert("disk_total_bytes".into(), json!(m.disk_total));
    o.insert("id".into(), json!(m.id));
    o.insert("memory_processed_bytes".into(), json!(m.memory_processed));
    o.insert("memory_remaining_bytes".into(), json!(m.memory_remaining));
    o.insert("memory_total_bytes".into(), json!(m.memory_total));
    o.insert("server_uuid".into(), json!(m.instance_uuid));
    o.insert("source_compute".into(), json!(m.source_compute));
    o.insert("source_node".into(), json!(m.source_node));
    o.insert("status".into(), json!(m.status));
    o.insert(
        "updated_at".into(),
        json!(m.updated_at.as_ref().map(naive_iso)),
    );
    if version.at_least(2, 59) {
        o.insert("uuid".into(), json!(m.uuid));
    }
    if version.at_least(2, 80) {
        o.insert("user_id".into(), json!(m.user_id));
        o.insert("project_id".into(), json!(m.project_id));
    }
    Value::Object(o)
}

/// The server must be visible (404), then the caller an admin (403).
async fn admin_on_server(
    state: &ApiState,
    ctx: &Context,
    id: &str,
    rule: &str,
) -> Result<(), ApiError> {
    state.compute.get_instance(&ctx.0, id).await?;
    if !ctx.0.is_admin {
        return Err(ApiError::policy(&format!(
            "os_compute_api:servers:migrations:{rule}"
        )));
    }
    Ok(())
}

/// A migration id of the path: nova's routes take any string, and the
/// database finds no record for one that is not a number.
fn migration_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok()
}

async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: crate::links::RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 23) {
        return Err(version_not_found());
    }
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    admin_on_server(&state, &ctx, &id, "index").await?;
    let list = state.compute.list_server_migrations(&ctx.0, &id).await?;
    let items: Vec<Value> = list.iter().map(|m| view(m, version)).collect();
    Ok(Json(json!({ "migrations": items })).into_response())
}

async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: crate::links::RequestUrls,
    Path((id, mid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 23) {
        return Err(version_not_found());
    }
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    admin_on_server(&state, &ctx, &id, "show").await?;
    let not_found = || {
        ApiError::NotFound(format!(
            "In-progress live migration {mid} is not found for server {id}."
        ))
    };
    let number = migration_id(&mid).ok_or_else(not_found)?;
    let record = match state
        .compute
        .get_server_migration(&ctx.0, &id, number)
        .await
    {
        Ok(m) => m,
        Err(compute::Error::MigrationNotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if record.migration_type != compute::MigrationType::LiveMigration.as_str() {
        return Err(ApiError::NotFound(format!(
            "Migration {mid} for server {id} is not live-migration."
        )));
    }
    if !record.is_live_in_progress() {
        return Err(ApiError::NotFound(format!(
            "Live migration {mid} for server {id} is not in progress."
        )));
    }
    Ok(Json(json!({ "migration": view(&record, version) })).into_response())
}

/// `{"force_complete": null}` and nothing else.
fn force_complete_schema() -> Schema {
    Schema::object()
        .prop("force_complete", Schema::of(&[Ty::Null]))
        .required(&["force_complete"])
        .additional(false)
}

async fn action(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, mid)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 22) {
        return Err(version_not_found());
    }
    body.validate(force_complete_schema())?;
    admin_on_server(&state, &ctx, &id, "force_complete").await?;
    let not_found =
        |n: &str| ApiError::BadRequest(format!("Migration {n} not found for instance {id}"));
    let number = migration_id(&mid).ok_or_else(|| not_found(&mid))?;
    match state
        .compute
        .live_migrate_force_complete(&ctx.0, &id, number)
        .await
    {
        Ok(()) => Ok(StatusCode::ACCEPTED.into_response()),
        Err(e @ compute::Error::MigrationNotFound { .. }) => {
            Err(ApiError::BadRequest(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn abort(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    Path((id, mid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 24) {
        return Err(version_not_found());
    }
    admin_on_server(&state, &ctx, &id, "delete").await?;
    let number = migration_id(&mid).ok_or_else(|| {
        ApiError::NotFound(format!("Migration {mid} not found for instance {id}"))
    })?;
    state
        .compute
        .live_migrate_abort(&ctx.0, &id, number, version.at_least(2, 65))
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
