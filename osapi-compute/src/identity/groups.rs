//! `/v3/groups` in store mode, with membership: admins only, except that
//! a user lists its own groups (`/v3/users/{id}/groups`).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use compute::identity::{Group, GroupUpdate, NewGroup};

use super::catalog::{body_object, collection, string_field, Call};
use super::errors::Answer;
use super::policy::authenticated;
use super::Options;

/// Keystone's body of `group`.
pub(crate) fn body(group: &Group, identity_url: &str) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "domain_id": group.domain_id,
        "description": group.description,
        "links": {"self": format!("{identity_url}/v3/groups/{}", group.id)}
    })
}

/// `GET /v3/groups` (`name`, `domain_id`).
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_groups")?;
    let groups = compute
        .list_groups(
            query.get("domain_id").map(String::as_str),
            query.get("name").map(String::as_str),
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    let items = groups.iter().map(|g| body(g, &url)).collect();
    Ok(collection("groups", items, format!("{url}/v3/groups")))
}

/// `GET /v3/groups/{id}`.
pub async fn show(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:get_group")?;
    let group = compute.get_group(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"group": body(&group, &url)})).into_response())
}

/// `POST /v3/groups`.
pub async fn create(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_group")?;
    let object = body_object(request, "group").await?;
    let group = compute
        .create_group(NewGroup {
            name: string_field(&object, "name")?.unwrap_or_default(),
            domain_id: string_field(&object, "domain_id")?,
            description: string_field(&object, "description")?.unwrap_or_default(),
        })
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"group": body(&group, &url)})),
    )
        .into_response())
}

/// `PATCH /v3/groups/{id}`.
pub async fn update(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:update_group")?;
    let object = body_object(request, "group").await?;
    let group = compute
        .update_group(
            &id,
            GroupUpdate {
                name: string_field(&object, "name")?,
                description: string_field(&object, "description")?,
            },
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"group": body(&group, &url)})).into_response())
}

/// `DELETE /v3/groups/{id}`.
pub async fn delete(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_group")?;
    compute.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/groups/{id}/users`.
pub async fn members(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_users_in_group")?;
    compute.get_group(&id).await?;
    let url = call.origin.identity_url(&shared);
    let items = compute
        .list_group_members(&id)
        .await?
        .iter()
        .map(|u| super::users::body(u, &url))
        .collect();
    Ok(collection(
        "users",
        items,
        format!("{url}/v3/groups/{id}/users"),
    ))
}

/// `PUT /v3/groups/{id}/users/{user_id}`.
pub async fn add_member(
    State(shared): Options,
    Path((id, user_id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:add_user_to_group")?;
    compute.add_group_member(&id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `HEAD /v3/groups/{id}/users/{user_id}`.
pub async fn check_member(
    State(shared): Options,
    Path((id, user_id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:check_user_in_group")?;
    compute.check_group_member(&id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v3/groups/{id}/users/{user_id}`.
pub async fn remove_member(
    State(shared): Options,
    Path((id, user_id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:remove_user_from_group")?;
    compute.remove_group_member(&id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
