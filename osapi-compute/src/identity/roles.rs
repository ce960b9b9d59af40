//! `/v3/roles` and implied roles in store mode: admins write; readers of
//! all read.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use compute::identity::{NewRole, Role, RoleUpdate};

use super::catalog::{body_object, collection, string_field, Call};
use super::errors::Answer;
use super::policy::authenticated;
use super::Options;

/// Keystone's body of `role`.
pub(crate) fn body(role: &Role, identity_url: &str) -> Value {
    json!({
        "id": role.id,
        "name": role.name,
        "domain_id": role.domain_id,
        "description": role.description,
        "options": {},
        "links": {"self": format!("{identity_url}/v3/roles/{}", role.id)}
    })
}

fn brief(role: &Role, identity_url: &str) -> Value {
    json!({"id": role.id, "name": role.name,
           "links": {"self": format!("{identity_url}/v3/roles/{}", role.id)}})
}

/// `GET /v3/roles` (`name`, `domain_id`).
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_roles")?;
    let roles = compute
        .list_roles(
            query.get("name").map(String::as_str),
            query.get("domain_id").map(String::as_str),
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    let items = roles.iter().map(|r| body(r, &url)).collect();
    Ok(collection("roles", items, format!("{url}/v3/roles")))
}

/// `GET /v3/roles/{id}`.
pub async fn show(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:get_role")?;
    let role = compute.get_role(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"role": body(&role, &url)})).into_response())
}

/// `POST /v3/roles`.
pub async fn create(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_role")?;
    let object = body_object(request, "role").await?;
    let role = compute
        .create_role(NewRole {
            name: string_field(&object, "name")?.unwrap_or_default(),
            domain_id: string_field(&object, "domain_id")?,
            description: string_field(&object, "description")?,
        })
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"role": body(&role, &url)})),
    )
        .into_response())
}

/// `PATCH /v3/roles/{id}`.
pub async fn update(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:update_role")?;
    let object = body_object(request, "role").await?;
    let description = match object.get("description") {
        None => None,
        Some(_) => Some(string_field(&object, "description")?),
    };
    let role = compute
        .update_role(
            &id,
            RoleUpdate {
                name: string_field(&object, "name")?,
                description,
            },
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"role": body(&role, &url)})).into_response())
}

/// `DELETE /v3/roles/{id}`.
pub async fn delete(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_role")?;
    compute.delete_role(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/roles/{id}/implies`.
pub async fn list_implied(
    State(shared): Options,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_implied_roles")?;
    let prior = compute.get_role(&id).await?;
    let implied = compute.list_implied_roles(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"role_inference": {
        "prior_role": brief(&prior, &url),
        "implies": implied.iter().map(|r| brief(r, &url)).collect::<Vec<_>>(),
    }, "links": {"self": format!("{url}/v3/roles/{id}/implies")}}))
    .into_response())
}

/// `PUT /v3/roles/{id}/implies/{implied}`: 201 with the inference.
pub async fn create_implied(
    State(shared): Options,
    Path((id, implied)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_implied_role")?;
    compute.create_implied_role(&id, &implied).await?;
    let url = call.origin.identity_url(&shared);
    let (prior, implied) = (
        compute.get_role(&id).await?,
        compute.get_role(&implied).await?,
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"role_inference": {
            "prior_role": brief(&prior, &url),
            "implies": brief(&implied, &url),
        }, "links": {"self": format!("{url}/v3/roles/{}/implies/{}", prior.id, implied.id)}})),
    )
        .into_response())
}

/// `GET /v3/roles/{id}/implies/{implied}` (200 with the inference) and
/// `HEAD` (204), when it exists.
pub async fn check_implied(
    State(shared): Options,
    Path((id, implied)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let head = request.method() == axum::http::Method::HEAD;
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:get_implied_role")?;
    let found = compute
        .list_implied_roles(&id)
        .await?
        .into_iter()
        .find(|r| r.id == implied);
    if let Some(implied) = found {
        if head {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let url = call.origin.identity_url(&shared);
        let prior = compute.get_role(&id).await?;
        Ok(axum::Json(json!({"role_inference": {
            "prior_role": brief(&prior, &url),
            "implies": brief(&implied, &url),
        }, "links": {"self": format!("{url}/v3/roles/{id}/implies/{}", implied.id)}}))
        .into_response())
    } else {
        Err(super::errors::IdentityError::not_found_entity(
            "implied role",
            &format!("{id} implies {implied}"),
        ))
    }
}

/// `DELETE /v3/roles/{id}/implies/{implied}`.
pub async fn delete_implied(
    State(shared): Options,
    Path((id, implied)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_implied_role")?;
    compute.delete_implied_role(&id, &implied).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/role_inferences`: every role and what it implies.
pub async fn inferences(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_role_inference_rules")?;
    let url = call.origin.identity_url(&shared);
    let mut by_prior: Vec<(String, Vec<String>)> = Vec::new();
    for (prior, implied) in compute.list_role_inferences().await? {
        match by_prior.iter_mut().find(|(p, _)| *p == prior) {
            Some((_, list)) => list.push(implied),
            None => by_prior.push((prior, vec![implied])),
        }
    }
    let mut items = Vec::new();
    for (prior, implied) in by_prior {
        let prior = compute.get_role(&prior).await?;
        let mut implies = Vec::new();
        for id in implied {
            implies.push(brief(&compute.get_role(&id).await?, &url));
        }
        items.push(json!({"prior_role": brief(&prior, &url), "implies": implies}));
    }
    Ok(axum::Json(
        json!({"role_inferences": items, "links": {"self": format!("{url}/v3/role_inferences")}}),
    )
    .into_response())
}
