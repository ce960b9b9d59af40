//! `/v3/projects` in store mode: admins create, change and delete; a
//! member reads the project its token is scoped to (or any it holds a
//! role on); names are unique per domain (409).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use compute::identity::{NewProject, Project, ProjectFilter, ProjectUpdate};

use super::catalog::{body_object, bool_field, collection, query_bool, string_field, Call};
use super::errors::Answer;
use super::policy::authenticated;
use super::Options;

/// Keystone's body of `project`.
pub(crate) fn body(project: &Project, identity_url: &str) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        "description": project.description,
        "enabled": project.enabled,
        "is_domain": false,
        "parent_id": project.parent_id,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/projects/{}", project.id)}
    })
}

/// `GET /v3/projects` (`name`, `domain_id`, `enabled`, `parent_id`):
/// readers of all only, as Keystone's policy (a member lists its own
/// with `/v3/auth/projects` or `/v3/users/{id}/projects`).
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let filter = ProjectFilter {
        name: query.get("name").cloned(),
        domain_id: query.get("domain_id").cloned(),
        enabled: query_bool(query.get("enabled")),
        parent_id: query.get("parent_id").cloned(),
    };
    caller.require_reader("identity:list_projects")?;
    let projects = compute.list_projects(&filter).await?;
    let url = call.origin.identity_url(&shared);
    let items = projects.iter().map(|p| body(p, &url)).collect();
    Ok(collection("projects", items, format!("{url}/v3/projects")))
}

/// `GET /v3/projects/{id}`.
pub async fn show(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let scoped_here = caller.token.project().is_some_and(|p| p.id == id);
    caller.require(caller.reads_all() || scoped_here, "identity:get_project")?;
    let project = compute.get_project(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"project": body(&project, &url)})).into_response())
}

/// `POST /v3/projects`.
pub async fn create(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_project")?;
    let object = body_object(request, "project").await?;
    let project = compute
        .create_project(NewProject {
            name: string_field(&object, "name")?.unwrap_or_default(),
            domain_id: string_field(&object, "domain_id")?,
            description: string_field(&object, "description")?.unwrap_or_default(),
            enabled: bool_field(&object, "enabled")?,
            parent_id: string_field(&object, "parent_id")?,
        })
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"project": body(&project, &url)})),
    )
        .into_response())
}

/// `PATCH /v3/projects/{id}`.
pub async fn update(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:update_project")?;
    let object = body_object(request, "project").await?;
    let project = compute
        .update_project(
            &id,
            ProjectUpdate {
                name: string_field(&object, "name")?,
                description: string_field(&object, "description")?,
                enabled: bool_field(&object, "enabled")?,
            },
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"project": body(&project, &url)})).into_response())
}

/// `DELETE /v3/projects/{id}`.
pub async fn delete(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_project")?;
    compute.delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
