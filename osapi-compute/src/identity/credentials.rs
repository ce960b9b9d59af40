//! Keystone's OS-EC2 credential API (`/v3/users/{user_id}/credentials/OS-EC2[/{access}]`)
//! over the compute domain's EC2 credentials, in both modes, so that
//! `openstack ec2 credentials create` hands out keys the EC2 API accepts.
//! In store mode a credential's user and project are real ones (404
//! otherwise) and go with them when they are deleted.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::catalog::{collection, Call};
use super::errors::IdentityError;
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
