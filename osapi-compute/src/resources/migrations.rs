//! `GET /os-migrations`: the migration records of every server, as nova's
//! `migrations` controller shows them.
//!
//! - policy `index`: admins and project managers; asking for another
//!   project's records, or every project's (no `project_id`), also needs
//!   `index:all_projects` (admins); the host fields are null unless
//!   `index:host` (admins) allows them;
//! - filters `host` (source or destination), `source_compute`, `status`,
//!   `instance_uuid`, `migration_type`; before 2.59 any other parameter is
//!   ignored (`user_id` and `project_id` still filter, as nova's database
//!   reads every parameter);
//! - 2.23: `migration_type`, and `links` to an in-progress live migration;
//! - 2.59: `uuid`, `limit`/`marker` (newest first) with
//!   `migrations_links`, `changes-since`, unknown parameters refused;
//! - 2.66: `changes-before`; 2.80: `user_id`/`project_id` filters and
//!   fields.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::json_response;
use crate::servers::core::parse_time;
use crate::servers::view::naive_iso;
use crate::state::ApiState;
use crate::validation::Schema;

/// The os-migrations route.
pub fn routes() -> Router<ApiState> {
    Router::new().route("/os-migrations", get(index))
}

const FILTERS: &[&str] = &[
    "hidden",
    "host",
    "instance_uuid",
    "source_compute",
    "status",
    "migration_type",
];

/// The query parameters nova's schema of `version` names.
fn params(version: ApiVersion) -> Vec<&'static str> {
    let mut names = FILTERS.to_vec();
    if version.at_least(2, 59) {
        names.extend(["limit", "marker", "changes-since"]);
    }
    if version.at_least(2, 66) {
        names.push("changes-before");
    }
    if version.at_least(2, 80) {
        names.extend(["user_id", "project_id"]);
    }
    names
}

/// Whether the caller has a role of nova's `PROJECT_MANAGER_OR_ADMIN`.
fn manager_or_admin(ctx: &compute::RequestContext) -> bool {
    ctx.is_admin || ctx.roles.iter().any(|r| r == "manager")
}

/// A record as the list shows it at `version`.
pub fn list_view(
    m: &compute::Migration,
    version: ApiVersion,
    urls: &RequestUrls,
    with_host: bool,
) -> Value {
    let host = |v: &Option<String>| if with_host { json!(v) } else { Value::Null };
    let mut o = Map::new();
    o.insert("created_at".into(), json!(naive_iso(&m.created_at)));
    o.insert("dest_compute".into(), host(&m.dest_compute));
    o.insert("dest_host".into(), host(&m.dest_host));
    o.insert("dest_node".into(), host(&m.dest_node));
    o.insert("id".into(), json!(m.id));
    o.insert("instance_uuid".into(), json!(m.instance_uuid));
    o.insert("new_instance_type_id".into(), json!(m.new_instance_type_id));
    o.insert("old_instance_type_id".into(), json!(m.old_instance_type_id));
    o.insert("source_compute".into(), host(&m.source_compute));
    o.insert("source_node".into(), host(&m.source_node));
    o.insert("status".into(), json!(m.status));
    o.insert(
        "updated_at".into(),
        json!(m.updated_at.as_ref().map(naive_iso)),
    );
    if version.at_least(2, 23) {
        o.insert("migration_type".into(), json!(m.migration_type));
        if m.is_live_in_progress() {
            let collection = format!("servers/{}/migrations", m.instance_uuid);
            o.insert("links".into(), urls.links(&collection, &m.id.to_string()));
        }
    }
    if version.at_least(2, 59) {
        o.insert("uuid".into(), json!(m.uuid));
    }
    if version.at_least(2, 80) {
        o.insert("user_id".into(), json!(m.user_id));
        o.insert("project_id".into(), json!(m.project_id));
    }
    Value::Object(o)
}

async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    let names = params(version);
    let schema = names
        .iter()
        .fold(Schema::object(), |s, name| s.prop(name, Schema::any()))
        .additional(!version.at_least(2, 59));
    schema.validate_query(&urls.query)?;
    let ctx = &ctx.0;
    if !manager_or_admin(ctx) {
        return Err(ApiError::policy("os_compute_api:os-migrations:index"));
    }
    let text = |k: &str| urls.param(k).map(str::to_string);
    // nova's database reads user_id/project_id whenever the schema lets
    // them through: before 2.59 (open schema) and from 2.80.
    let owners = !version.at_least(2, 59) || version.at_least(2, 80);
    let project_id = text("project_id").filter(|_| owners);
    if !ctx.is_admin && project_id.as_deref() != Some(ctx.project_id.as_str()) {
        return Err(ApiError::policy(
            "os_compute_api:os-migrations:index:all_projects",
        ));
    }
    let mut filter = compute::MigrationFilter {
        host: text("host"),
        source_compute: text("source_compute"),
        status: text("status"),
        instance_uuid: text("instance_uuid"),
        migration_type: text("migration_type"),
        user_id: text("user_id").filter(|_| owners),
        project_id,
        ..Default::default()
    };
    let mut page = None;
    if version.at_least(2, 59) {
        if let Some(raw) = urls.param("changes-since") {
            filter.changes_since = Some(parse_time("changes-since", raw)?);
        }
        if let Some(raw) = urls
            .param("changes-before")
            .filter(|_| version.at_least(2, 66))
        {
            let before = parse_time("changes-before", raw)?;
            if filter.changes_since.is_some_and(|since| before < since) {
                return Err(ApiError::BadRequest(
                    "The value of changes-since must be less than or equal to changes-before."
                        .into(),
                ));
            }
            filter.changes_before = Some(before);
        }
        let p = Page::from_urls(&urls)?;
        page = Some(compute::MigrationPage {
            limit: Some(p.limit),
            marker: p.marker,
        });
    }
    let migrations = state
        .compute
        .list_migrations(&filter, page.as_ref())
        .await?;
    let with_host = ctx.is_admin;
    let items: Vec<Value> = migrations
        .iter()
        .map(|m| list_view(m, version, &urls, with_host))
        .collect();
    let mut body = json!({ "migrations": items });
    if version.at_least(2, 59) {
        if let Some(links) = urls.collection_links(
            "os-migrations",
            migrations.len(),
            migrations.last().map(|m| m.uuid.as_str()),
        ) {
            body["migrations_links"] = links;
        }
    }
    Ok(json_response(StatusCode::OK, body))
}
