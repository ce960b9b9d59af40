//! Keystone's OS-EC2 credential API (`/v3/users/{user_id}/credentials/OS-EC2[/{access}]`)
//! over the compute domain's EC2 credentials, in both modes, so that
//! `openstack ec2 credentials create` hands out keys the EC2 API accepts.
//! In store mode a credential's user and project are real ones (404
//! otherwise) and go with them when they are deleted.
//!
//! In store mode it also serves Keystone's `/v3/credentials` (create,
//! list with `user_id` and `type`, show, update, delete; the owner or an
//! admin, a system reader reads), where the same EC2 credentials are the
//! credentials of type `ec2` (see `compute::identity::credentials`).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use compute::identity::{Credential, CredentialUpdate, NewCredential};

use super::catalog::{body_object, collection, string_field, Call};
use super::errors::{Answer, IdentityError};
use super::policy::{authenticated, Caller};
use super::{IdentityMode, Options, Shared};

/// The compute domain and the caller's context for a credential call:
/// in store mode from the validated token, in noauth mode from the
/// `user:project` text.
async fn credential_caller(
    shared: &Shared,
    call: &Call,
) -> Result<(std::sync::Arc<compute::Compute>, compute::RequestContext), IdentityError> {
    let compute = shared.compute.clone().ok_or_else(|| {
        IdentityError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    })?;
    let ctx = if shared.mode == IdentityMode::Store {
        super::policy::caller(&compute, call).await?.context()
    } else {
        let caller = super::noauth::caller(call)?;
        crate::auth::context_from_token(&caller.token(), None)
    };
    Ok((compute, ctx))
}

/// In store mode, a credential belongs to a real user and project: 404
/// for an unknown one (noauth has no such thing to check).
async fn check_owner(
    shared: &Shared,
    compute: &compute::Compute,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<(), IdentityError> {
    if shared.mode != IdentityMode::Store {
        return Ok(());
    }
    compute.get_user(user_id).await?;
    if let Some(project) = project_id {
        compute.get_project(project).await?;
    }
    Ok(())
}

/// A credential error in Keystone's words; internal ones are logged only.
fn credential_error(err: compute::Error, access: &str) -> IdentityError {
    match err {
        compute::Error::NotFound { .. } => IdentityError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find credential: {access}."),
        ),
        compute::Error::Forbidden(message) => IdentityError::new(StatusCode::FORBIDDEN, message),
        other => {
            tracing::error!(error = %other, "EC2 credential operation failed");
            IdentityError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error prevented the server from fulfilling your request.",
            )
        }
    }
}

fn credential_body(credential: &compute::Ec2Credential, identity_url: &str) -> Value {
    json!({
        "user_id": credential.user_id,
        "tenant_id": credential.project_id,
        "access": credential.access,
        "secret": credential.secret,
        "trust_id": null,
        "links": {"self": format!(
            "{identity_url}/v3/users/{}/credentials/OS-EC2/{}", credential.user_id, credential.access
        )}
    })
}

/// `POST /v3/users/{user_id}/credentials/OS-EC2` with `{"tenant_id": ...}`.
pub async fn create_ec2_credential(
    State(shared): Options,
    Path(user_id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call).await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let Some(tenant) = body
        .get("tenant_id")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return IdentityError::bad_request(
            "Invalid input for field 'tenant_id': a project id is required.",
        )
        .into_response();
    };
    if let Err(err) = check_owner(&shared, &compute, &user_id, Some(tenant)).await {
        return err.into_response();
    }
    match compute
        .create_ec2_credential(&ctx, Some(&user_id), Some(tenant))
        .await
    {
        Ok(credential) => {
            let url = call.origin.identity_url(&shared);
            (
                StatusCode::CREATED,
                axum::Json(json!({"credential": credential_body(&credential, &url)})),
            )
                .into_response()
        }
        Err(err) => credential_error(err, "").into_response(),
    }
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2`.
pub async fn list_ec2_credentials(
    State(shared): Options,
    Path(user_id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call).await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    match compute.list_ec2_credentials(&ctx, Some(&user_id)).await {
        Ok(credentials) => {
            let url = call.origin.identity_url(&shared);
            let items = credentials
                .iter()
                .map(|c| credential_body(c, &url))
                .collect();
            collection(
                "credentials",
                items,
                format!("{url}/v3/users/{user_id}/credentials/OS-EC2"),
            )
        }
        Err(err) => credential_error(err, "").into_response(),
    }
}

/// The credential `access` of `user_id`, as the caller may see it.
async fn find_credential(
    compute: &compute::Compute,
    ctx: &compute::RequestContext,
    user_id: &str,
    access: &str,
) -> Result<compute::Ec2Credential, IdentityError> {
    let credentials = compute
        .list_ec2_credentials(ctx, Some(user_id))
        .await
        .map_err(|err| credential_error(err, access))?;
    credentials
        .into_iter()
        .find(|c| c.access == access)
        .ok_or_else(|| {
            IdentityError::new(
                StatusCode::NOT_FOUND,
                format!("Could not find credential: {access}."),
            )
        })
}

/// `GET /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn show_ec2_credential(
    State(shared): Options,
    Path((user_id, access)): Path<(String, String)>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call).await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    match find_credential(&compute, &ctx, &user_id, &access).await {
        Ok(credential) => {
            let url = call.origin.identity_url(&shared);
            axum::Json(json!({"credential": credential_body(&credential, &url)})).into_response()
        }
        Err(err) => err.into_response(),
    }
}

/// `DELETE /v3/users/{user_id}/credentials/OS-EC2/{access}`.
pub async fn delete_ec2_credential(
    State(shared): Options,
    Path((user_id, access)): Path<(String, String)>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call).await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = find_credential(&compute, &ctx, &user_id, &access).await {
        return err.into_response();
    }
    match compute.delete_ec2_credential(&ctx, &access).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => credential_error(err, &access).into_response(),
    }
}

/// Keystone's body of a `/v3/credentials` credential.
fn stored_body(credential: &Credential, identity_url: &str) -> Value {
    json!({
        "id": credential.id,
        "user_id": credential.user_id,
        "project_id": credential.project_id,
        "type": credential.kind,
        "blob": credential.blob,
        "links": {"self": format!("{identity_url}/v3/credentials/{}", credential.id)}
    })
}

/// Keystone's 403s for a delegated (application credential) token: a
/// restricted one makes no ec2 credential, and none reaches a credential
/// outside its project.
fn check_delegation(
    caller: &Caller,
    credential_project: Option<&str>,
    making_ec2: bool,
) -> Result<(), IdentityError> {
    let Some(cred) = &caller.token.application_credential else {
        return Ok(());
    };
    if making_ec2 && !cred.unrestricted {
        return Err(IdentityError::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional credentials.",
        ));
    }
    let project = caller.token.project().map(|p| p.id.as_str());
    if credential_project.is_none() || credential_project != project {
        return Err(IdentityError::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform the requested action: Credential project does not match the project scope of the delegated token.",
        ));
    }
    Ok(())
}

/// The credential `id` as `caller` may reach it for `action`: an admin
/// (or, to read, a system reader) any, anyone else its own; a missing
/// one is 404 to those who may read all, 403 to others (Keystone's
/// policy sees no owner).
async fn reachable(
    compute: &compute::Compute,
    caller: &Caller,
    id: &str,
    action: &str,
    reading: bool,
) -> Result<Credential, IdentityError> {
    let privileged = if reading {
        caller.reads_all()
    } else {
        caller.is_admin()
    };
    match compute.get_credential(id).await {
        Ok(credential) => {
            caller.require(privileged || caller.is_user(&credential.user_id), action)?;
            check_delegation(caller, credential.project_id.as_deref(), false)?;
            Ok(credential)
        }
        Err(compute::identity::IdentityError::NotFound { .. }) if !privileged => {
            Err(IdentityError::forbidden(action))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /v3/credentials`.
pub async fn create_credential(State(shared): Options, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let object = body_object(request, "credential").await?;
    let required = |field: &str| {
        IdentityError::bad_request(format!(
            "Invalid input for field '{field}': it is required."
        ))
    };
    let new = NewCredential {
        user_id: string_field(&object, "user_id")?.ok_or_else(|| required("user_id"))?,
        project_id: string_field(&object, "project_id")?,
        kind: string_field(&object, "type")?.ok_or_else(|| required("type"))?,
        blob: string_field(&object, "blob")?.ok_or_else(|| required("blob"))?,
    };
    caller.require(
        caller.is_admin() || caller.is_user(&new.user_id),
        "identity:create_credential",
    )?;
    check_delegation(
        &caller,
        new.project_id.as_deref(),
        new.kind.eq_ignore_ascii_case("ec2"),
    )?;
    let app_cred = caller
        .token
        .application_credential
        .as_ref()
        .map(|c| c.id.clone());
    let credential = compute.create_credential(new, app_cred.as_deref()).await?;
    let url = call.origin.identity_url(&shared);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"credential": stored_body(&credential, &url)})),
    )
        .into_response())
}

/// `GET /v3/credentials` (`user_id`, `type`): everything to an admin or
/// a system reader, one's own to anyone else.
pub async fn list_credentials(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let mut credentials = compute
        .list_credentials(
            query.get("user_id").map(String::as_str),
            query.get("type").map(String::as_str),
        )
        .await?;
    credentials.retain(|c| {
        (caller.reads_all() || caller.is_user(&c.user_id))
            && check_delegation(&caller, c.project_id.as_deref(), false).is_ok()
    });
    let url = call.origin.identity_url(&shared);
    let items = credentials.iter().map(|c| stored_body(c, &url)).collect();
    Ok(collection(
        "credentials",
        items,
        format!("{url}/v3/credentials"),
    ))
}

/// `GET /v3/credentials/{id}`.
pub async fn show_credential(
    State(shared): Options,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let credential = reachable(&compute, &caller, &id, "identity:get_credential", true).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"credential": stored_body(&credential, &url)})).into_response())
}

/// `PATCH /v3/credentials/{id}`: the owner or an admin; a user gives a
/// credential to no one else.
pub async fn update_credential(
    State(shared): Options,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    reachable(&compute, &caller, &id, "identity:update_credential", false).await?;
    let object = body_object(request, "credential").await?;
    let project_id = match object.get("project_id") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(string_field(&object, "project_id")?),
    };
    let update = CredentialUpdate {
        user_id: string_field(&object, "user_id")?,
        project_id,
        kind: string_field(&object, "type")?,
        blob: string_field(&object, "blob")?,
    };
    if let Some(user) = &update.user_id {
        caller.require(
            caller.is_admin() || caller.is_user(user),
            "identity:update_credential",
        )?;
    }
    let credential = compute.update_credential(&id, update).await?;
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"credential": stored_body(&credential, &url)})).into_response())
}

/// `DELETE /v3/credentials/{id}`.
pub async fn delete_credential(
    State(shared): Options,
    Path(id): Path<String>,
    request: Request,
) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    reachable(&compute, &caller, &id, "identity:delete_credential", false).await?;
    compute.delete_credential(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
