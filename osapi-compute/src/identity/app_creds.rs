//! Application credentials and access rules in store mode
//! (`/v3/users/{user_id}/application_credentials[/{id}]`,
//! `/v3/users/{user_id}/access_rules[/{id}]`), with Keystone's default
//! policies: a user makes, reads and deletes its own; an admin or a
//! system reader reads anyone's, an admin deletes anyone's. A token of a
//! restricted application credential manages none (403), and a
//! credential is made only by its own user, on its token's project.

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use compute::identity::{AccessRule, AppCred, NewAccessRule, NewAppCred, RoleSpec};

use super::catalog::{body_object, bool_field, collection, string_field, Call};
use super::errors::{Answer, IdentityError};
use super::policy::{authenticated, Caller};
use super::Options;

/// An access rule as Keystone shows it inside a credential or a token.
pub(crate) fn access_rule_body(rule: &AccessRule) -> Value {
    json!({"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method})
}

/// Keystone's `expires_at` of an application credential: as oslo's JSON
/// writes a naive UTC time (microseconds, no zone).
fn expiry(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Keystone's body of `cred` (the secret only on create).
fn body(cred: &AppCred, identity_url: &str, secret: Option<&str>) -> Value {
    let mut body = json!({
        "id": cred.id,
        "name": cred.name,
        "description": cred.description,
        "expires_at": cred.expires_at.as_ref().map(expiry),
        "project_id": cred.project_id,
        "user_id": cred.user_id,
        "roles": cred.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null})).collect::<Vec<_>>(),
        "unrestricted": cred.unrestricted,
        "access_rules": cred.access_rules.iter().map(access_rule_body).collect::<Vec<_>>(),
        "links": {"self": format!("{identity_url}/v3/users/{}/application_credentials/{}", cred.user_id, cred.id)}
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    body
}

/// Keystone's 403 for a token of a restricted application credential
/// managing application credentials.
fn refuse_restricted(caller: &Caller) -> Result<(), IdentityError> {
    match &caller.token.application_credential {
        Some(cred) if !cred.unrestricted => Err(IdentityError::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.",
        )),
        _ => Ok(()),
    }
}

/// An ISO 8601 time; one without a zone is UTC, as Keystone reads it
/// (400 otherwise).
fn parse_expiry(text: &str) -> Result<DateTime<Utc>, IdentityError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| t.and_utc())
    .ok_or_else(|| {
        IdentityError::bad_request(format!(
            "Invalid input for field 'expires_at': '{text}' is not an ISO 8601 time."
        ))
    })
}

/// The list of objects under `field` of a create, each read by `item`
/// (`None` when absent or null); 400 saying `expected` otherwise.
fn object_list<T>(
    object: &Map<String, Value>,
    field: &str,
    expected: &str,
    item: impl Fn(&Map<String, Value>) -> Option<Result<T, IdentityError>>,
) -> Result<Option<Vec<T>>, IdentityError> {
    let bad = || {
        IdentityError::bad_request(format!(
            "Invalid input for field '{field}': expected {expected}."
        ))
    };
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_object().and_then(&item).unwrap_or_else(|| Err(bad())))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}

/// The `roles` of a create: each `{"id"}` or `{"name"}`.
fn role_specs(object: &Map<String, Value>) -> Result<Option<Vec<RoleSpec>>, IdentityError> {
    object_list(
        object,
        "roles",
        "a list of objects with an id or a name",
        |role| match (role.get("id"), role.get("name")) {
            (Some(Value::String(id)), _) => Some(Ok(RoleSpec::Id(id.clone()))),
            (None, Some(Value::String(name))) => Some(Ok(RoleSpec::Name(name.clone()))),
            _ => None,
        },
    )
}

/// One access rule of a create.
fn access_rule(rule: &Map<String, Value>) -> Result<NewAccessRule, IdentityError> {
    Ok(NewAccessRule {
        id: string_field(rule, "id")?,
        service: string_field(rule, "service")?,
        path: string_field(rule, "path")?,
        method: string_field(rule, "method")?,
    })
}

/// The `access_rules` of a create.
fn access_rules(object: &Map<String, Value>) -> Result<Option<Vec<NewAccessRule>>, IdentityError> {
    object_list(
        object,
        "access_rules",
        "a list of objects with a service, a path and a method, or an id",
        |rule| Some(access_rule(rule)),
    )
}

/// `POST /v3/users/{user_id}/application_credentials`.
pub async fn create(
    State(shared): Options,
    Path(user_id): Path<String>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    refuse_restricted(&caller)?;
    if !caller.is_user(&user_id) {
        return Err(IdentityError::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action: Cannot create an application credential for another user.",
        ));
    }
    let object = body_object(request, "application_credential").await?;
    let expires_at = string_field(&object, "expires_at")?
        .map(|t| parse_expiry(&t))
        .transpose()?;
    let new = NewAppCred {
        name: string_field(&object, "name")?.unwrap_or_default(),
        description: string_field(&object, "description")?,
        secret: string_field(&object, "secret")?,
        roles: role_specs(&object)?,
        unrestricted: bool_field(&object, "unrestricted")?,
        expires_at,
        access_rules: access_rules(&object)?,
    };
    let (cred, secret) = compute.create_app_cred(&caller.token, new).await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"application_credential": body(&cred, &url, Some(&secret))})),
    )
        .into_response())
}

/// `GET /v3/users/{user_id}/application_credentials` (`name`).
pub async fn list(
    State(shared): Options,
    Path(user_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&user_id),
        "identity:list_application_credentials",
    )?;
    let creds = compute
        .list_app_creds(&user_id, query.get("name").map(String::as_str))
        .await?;
    let url = call.origin.identity_url(&shared);
    let items = creds.iter().map(|c| body(c, &url, None)).collect();
    Ok(collection(
        "application_credentials",
        items,
        format!("{url}/v3/users/{user_id}/application_credentials"),
    ))
}

/// The credential `id` of `user_id` (404 when it is another user's).
async fn owned(
    compute: &compute::Compute,
    user_id: &str,
    id: &str,
) -> Result<AppCred, IdentityError> {
    let cred = compute.get_app_cred(id).await?;
    if cred.user_id != user_id {
        return Err(IdentityError::not_found_entity(
            "application credential",
            id,
        ));
    }
    Ok(cred)
}

/// `GET /v3/users/{user_id}/application_credentials/{id}`.
pub async fn show(
    State(shared): Options,
    Path((user_id, id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&user_id),
        "identity:get_application_credential",
    )?;
    let cred = owned(&compute, &user_id, &id).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"application_credential": body(&cred, &url, None)})).into_response())
}

/// `DELETE /v3/users/{user_id}/application_credentials/{id}`: its tokens
/// end.
pub async fn delete(
    State(shared): Options,
    Path((user_id, id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.is_admin() || caller.is_user(&user_id),
        "identity:delete_application_credential",
    )?;
    refuse_restricted(&caller)?;
    owned(&compute, &user_id, &id).await?;
    compute.delete_app_cred(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn rule_body(rule: &AccessRule, user_id: &str, identity_url: &str) -> Value {
    let mut body = access_rule_body(rule);
    body["links"] =
        json!({"self": format!("{identity_url}/v3/users/{user_id}/access_rules/{}", rule.id)});
    body
}

/// `GET /v3/users/{user_id}/access_rules` (`service`, `path`, `method`).
pub async fn list_access_rules(
    State(shared): Options,
    Path(user_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&user_id),
        "identity:list_access_rules",
    )?;
    let mut rules = compute.list_access_rules(&user_id).await?;
    rules.retain(|r| {
        query.get("service").is_none_or(|s| &r.service == s)
            && query.get("path").is_none_or(|p| &r.path == p)
            && query.get("method").is_none_or(|m| &r.method == m)
    });
    let url = call.origin.identity_url(&shared);
    let items = rules.iter().map(|r| rule_body(r, &user_id, &url)).collect();
    Ok(collection(
        "access_rules",
        items,
        format!("{url}/v3/users/{user_id}/access_rules"),
    ))
}

/// `GET /v3/users/{user_id}/access_rules/{id}`.
pub async fn show_access_rule(
    State(shared): Options,
    Path((user_id, id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.reads_all() || caller.is_user(&user_id),
        "identity:get_access_rule",
    )?;
    let rule = compute
        .user_access_rule(&user_id, &id)
        .await?
        .ok_or_else(|| IdentityError::not_found_entity("access rule", &id))?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"access_rule": rule_body(&rule, &user_id, &url)})).into_response())
}

/// `DELETE /v3/users/{user_id}/access_rules/{id}`: 403 while a
/// credential uses it.
pub async fn delete_access_rule(
    State(shared): Options,
    Path((user_id, id)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require(
        caller.is_admin() || caller.is_user(&user_id),
        "identity:delete_access_rule",
    )?;
    compute.delete_access_rule(&user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_without_a_zone_is_utc_and_shows_as_given() {
        let t = parse_expiry("2030-01-02T03:04:05.123456").unwrap();
        assert_eq!(expiry(&t), "2030-01-02T03:04:05.123456");
        let z = parse_expiry("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(expiry(&z), "2030-01-02T03:04:05.000000");
        assert!(parse_expiry("tomorrow").is_err());
    }
}
