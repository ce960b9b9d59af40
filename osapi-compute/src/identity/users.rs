//! `/v3/users` in store mode: admins create, change (a password reset
//! too), delete and list; a user reads itself, its projects and its
//! groups, and changes its own password with the current one
//! (`POST /v3/users/{id}/password`).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use compute::identity::{NewUser, User, UserUpdate};

use super::catalog::{body_object, bool_field, collection, string_field, Call};
use super::errors::{Answer, IdentityError};
use super::policy::authenticated;
use super::Options;

/// Keystone's body of `user` (never a password).
pub(crate) fn body(user: &User, identity_url: &str) -> Value {
    let mut body = json!({
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "enabled": user.enabled,
        "password_expires_at": null,
        "options": {},
        "links": {"self": format!("{identity_url}/v3/users/{}", user.id)}
    });
    if let Some(project) = &user.default_project_id {
        body["default_project_id"] = json!(project);
    }
    if let Some(description) = &user.description {
        body["description"] = json!(description);
    }
    if let Some(email) = &user.email {
        body["email"] = json!(email);
    }
    for (key, value) in user.extra_attributes() {
        if body.get(&key).is_none() {
            body[key] = value;
        }
    }
    body
}

/// The attributes of a user body this app does not model, kept as
/// Keystone keeps them (`extra`), e.g. tempest's `project_id`.
fn extra(object: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    const MODELLED: &[&str] = &[
        "id",
        "name",
        "domain_id",
        "password",
        "enabled",
        "default_project_id",
        "description",
        "email",
        "links",
        "options",
        "password_expires_at",
        "original_password",
    ];
    object
        .iter()
        .filter(|(k, _)| !MODELLED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `Some(None)` for an explicit null, `Some(Some(v))` for a string.
fn nullable(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, IdentityError> {
    match object.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(_) => Ok(Some(string_field(object, field)?)),
    }
}

/// `GET /v3/users` (`name`, `domain_id`): readers of all only.
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_users")?;
    let mut users = compute
        .list_users(
            query.get("domain_id").map(String::as_str),
            query.get("name").map(String::as_str),
        )
        .await?;
    if let Some(enabled) = super::catalog::query_bool(query.get("enabled")) {
        users.retain(|u| u.enabled == enabled);
    }
    let url = call.origin.identity_url(&shared);
    let items = users.iter().map(|u| body(u, &url)).collect();
    Ok(collection("users", items, format!("{url}/v3/users")))
}

/// `GET /v3/users/{id}`: a reader of all, or the user itself.
pub async fn show(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&id),
        "identity:get_user",
    )?;
    let user = compute.get_user(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"user": body(&user, &url)})).into_response())
}

/// `POST /v3/users`.
pub async fn create(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_user")?;
    let object = body_object(request, "user").await?;
    let user = compute
        .create_user(NewUser {
            name: string_field(&object, "name")?.unwrap_or_default(),
            domain_id: string_field(&object, "domain_id")?,
            password: string_field(&object, "password")?,
            enabled: bool_field(&object, "enabled")?,
            default_project_id: string_field(&object, "default_project_id")?,
            description: string_field(&object, "description")?,
            email: string_field(&object, "email")?,
            extra: extra(&object),
        })
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"user": body(&user, &url)})),
    )
        .into_response())
}

/// `PATCH /v3/users/{id}` (a `password` here is an admin's reset).
pub async fn update(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:update_user")?;
    let object = body_object(request, "user").await?;
    let user = compute
        .update_user(
            &id,
            UserUpdate {
                name: string_field(&object, "name")?,
                password: string_field(&object, "password")?,
                enabled: bool_field(&object, "enabled")?,
                default_project_id: nullable(&object, "default_project_id")?,
                description: nullable(&object, "description")?,
                email: nullable(&object, "email")?,
                extra: extra(&object),
            },
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"user": body(&user, &url)})).into_response())
}

/// `DELETE /v3/users/{id}`.
pub async fn delete(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_user")?;
    compute.delete_user(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v3/users/{id}/password` with `{"user": {"original_password",
/// "password"}}`: the user's own change, authenticated by the current
/// password as Keystone does (no token needed, so that a user whose
/// password expired can change it; 401 for a wrong one); the user's
/// tokens end, as Keystone's do.
pub async fn change_password(
    State(shared): Options,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let compute = super::policy::store(&shared)?;
    let object = body_object(request, "user").await?;
    let original = string_field(&object, "original_password")?.ok_or_else(|| {
        IdentityError::bad_request("Invalid input for field 'original_password': it is required.")
    })?;
    let new_password = string_field(&object, "password")?.ok_or_else(|| {
        IdentityError::bad_request("Invalid input for field 'password': it is required.")
    })?;
    compute
        .change_own_password(&id, &original, &new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/users/{id}/projects`: the projects the user holds a role on
/// (a reader of all, or the user itself).
pub async fn projects(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&id),
        "identity:list_user_projects",
    )?;
    compute.get_user(&id).await?;
    let url = call.origin.identity_url(&shared);
    let items = compute
        .user_projects(&id)
        .await?
        .iter()
        .map(|p| super::projects::body(p, &url))
        .collect();
    Ok(collection(
        "projects",
        items,
        format!("{url}/v3/users/{id}/projects"),
    ))
}

/// `GET /v3/users/{id}/groups`.
pub async fn groups(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&id),
        "identity:list_groups_for_user",
    )?;
    let url = call.origin.identity_url(&shared);
    let items = compute
        .list_user_groups(&id)
        .await?
        .iter()
        .map(|g| super::groups::body(g, &url))
        .collect();
    Ok(collection(
        "groups",
        items,
        format!("{url}/v3/users/{id}/groups"),
    ))
}
