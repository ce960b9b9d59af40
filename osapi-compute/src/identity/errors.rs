//! [`IdentityError`]: the one place the identity app's errors become
//! Keystone's body, `{"error": {"code", "message", "title"}}`. The
//! identity domain's errors convert here; a store failure is logged and
//! answered with Keystone's generic 500, its detail never shown.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Keystone-style error.
#[derive(Debug)]
pub struct IdentityError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Keystone's message.
    pub message: String,
}

impl IdentityError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        IdentityError {
            status,
            message: message.into(),
        }
    }

    /// 401, in Keystone's words.
    pub fn unauthorized() -> Self {
        IdentityError::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        IdentityError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403 for the policy rule `action` (`identity:create_user`).
    pub fn forbidden(action: &str) -> Self {
        IdentityError::new(
            StatusCode::FORBIDDEN,
            format!("You are not authorized to perform the requested action: {action}."),
        )
    }

    /// 404 with Keystone's "Could not find ..." message.
    pub fn not_found_entity(kind: &str, id: &str) -> Self {
        IdentityError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find {kind}: {id}."),
        )
    }
}

impl From<compute::identity::IdentityError> for IdentityError {
    fn from(err: compute::identity::IdentityError) -> Self {
        use compute::identity::IdentityError as E;
        let status = match &err {
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Conflict { .. } => StatusCode::CONFLICT,
            E::Unauthorized => StatusCode::UNAUTHORIZED,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Invalid(_) => StatusCode::BAD_REQUEST,
            E::Compute(inner) => {
                tracing::error!(error = %inner, "identity operation failed");
                return internal();
            }
        };
        IdentityError::new(status, err.to_string())
    }
}

/// Keystone's 500.
pub fn internal() -> IdentityError {
    IdentityError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An unexpected error prevented the server from fulfilling your request.",
    )
}

impl IntoResponse for IdentityError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({"error": {"code": self.status.as_u16(), "message": self.message, "title": title}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Keystone uri=\"\""),
            );
        }
        response
    }
}

/// Any path the app does not serve.
pub async fn not_found() -> IdentityError {
    IdentityError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// A method the path does not serve, in Keystone's words (the router adds
/// the `Allow` header).
pub async fn method_not_allowed() -> IdentityError {
    IdentityError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
}

/// A handler's outcome: a response, or an error rendered here.
pub type Answer = Result<Response, IdentityError>;
