//! `/v3/domains` in store mode: admins create, change, disable and
//! delete (a domain must be disabled first); a token's own domain (its
//! user's or its project's) is readable by its holder.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use compute::identity::{Domain, DomainUpdate, NewDomain, TokenScope};

use super::catalog::{body_object, bool_field, collection, query_bool, string_field, Call};
use super::errors::Answer;
use super::policy::authenticated;
use super::Options;

/// Keystone's body of `domain`.
pub(crate) fn body(domain: &Domain, identity_url: &str) -> Value {
    json!({
        "id": domain.id,
        "name": domain.name,
        "description": domain.description,
        "enabled": domain.enabled,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/domains/{}", domain.id)}
    })
}

/// `GET /v3/domains` (`name`, `enabled`): readers of all only.
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader("identity:list_domains")?;
    let domains = compute
        .list_domains(
            query.get("name").map(String::as_str),
            query_bool(query.get("enabled")),
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    let items = domains.iter().map(|d| body(d, &url)).collect();
    Ok(collection("domains", items, format!("{url}/v3/domains")))
}

/// `GET /v3/domains/{id}`: readers of all, and holders of a token of
/// that domain (its user's, its project's, or its scope).
pub async fn show(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let own = caller.token.user.domain_id == id
        || match &caller.token.scope {
            TokenScope::Project(_, d) | TokenScope::Domain(d) => d.id == id,
            _ => false,
        };
    caller.require(caller.reads_all() || own, "identity:get_domain")?;
    let domain = compute.get_domain(&id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"domain": body(&domain, &url)})).into_response())
}

/// `POST /v3/domains`.
pub async fn create(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:create_domain")?;
    let object = body_object(request, "domain").await?;
    let domain = compute
        .create_domain(NewDomain {
            name: string_field(&object, "name")?.unwrap_or_default(),
            description: string_field(&object, "description")?.unwrap_or_default(),
            enabled: bool_field(&object, "enabled")?,
        })
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"domain": body(&domain, &url)})),
    )
        .into_response())
}

/// `PATCH /v3/domains/{id}` (`enabled: false` disables it).
pub async fn update(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:update_domain")?;
    let object = body_object(request, "domain").await?;
    let domain = compute
        .update_domain(
            &id,
            DomainUpdate {
                name: string_field(&object, "name")?,
                description: string_field(&object, "description")?,
                enabled: bool_field(&object, "enabled")?,
            },
        )
        .await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"domain": body(&domain, &url)})).into_response())
}

/// `DELETE /v3/domains/{id}` (403 while it is enabled).
pub async fn delete(State(shared): Options, Path(id): Path<String>, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin("identity:delete_domain")?;
    compute.delete_domain(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
