//! nova's fault bodies: the one place where errors become responses.
//!
//! Error policy for this crate: handlers return `Result<_, ApiError>`;
//! `compute::Error` converts into `ApiError` here and nowhere else; internal
//! errors are logged with their detail and reach the client only as a bare
//! `computeFault` 500. Messages are nova's own wording so that clients that
//! match on them keep working.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error that reaches a client as one of nova's JSON faults.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `badRequest`: invalid input (validation, malformed body, bad filter).
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: no usable credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`: a policy refused the call (or a quota that nova answers 403).
    #[error("{0}")]
    Forbidden(String),
    /// 404 `itemNotFound`: no such resource (also a route or microversion miss).
    #[error("{0}")]
    NotFound(String),
    /// 405 `badMethod`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 406 (rendered as `computeFault`, as nova does): unsupported microversion.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409 `conflictingRequest`: the resource is in a state that forbids the call.
    #[error("{0}")]
    Conflict(String),
    /// 410 (`computeFault`): an API that nova removed.
    #[error("{0}")]
    Gone(String),
    /// 413 `overLimit`: request body too large.
    #[error("{0}")]
    RequestTooLarge(String),
    /// `overLimit` with a chosen status: nova answers quota errors 403 on
    /// servers (2.1+) and 413 on a few older paths.
    #[error("{message}")]
    OverLimit {
        /// 403 or 413.
        status: StatusCode,
        /// The explanation shown to the client.
        message: String,
    },
    /// 415 `badMediaType`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 501 `notImplemented`: nova's HTTPNotImplemented.
    #[error("{0}")]
    NotImplemented(String),
    /// 500 `computeFault`. The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// nova's "Unexpected API Error" text, given for every internal error.
pub const UNEXPECTED_ERROR: &str = "Unexpected API Error. Please report this at \
http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.";

impl ApiError {
    /// The HTTP status of this fault.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::RequestTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::OverLimit { status, .. } => *status,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message the client sees (internal detail replaced by nova's text).
    pub fn client_message(&self) -> String {
        match self {
            ApiError::Internal(_) => UNEXPECTED_ERROR.to_string(),
            ApiError::OverLimit { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// Shorthand for the 404 nova gives for a missing server.
    pub fn server_not_found(id: &str) -> Self {
        ApiError::NotFound(format!("Instance {id} could not be found."))
    }

    /// Shorthand for nova's policy refusal.
    pub fn policy(rule: &str) -> Self {
        ApiError::Forbidden(format!("Policy doesn't allow {rule} to be performed."))
    }
}

/// nova's fault name for a status (`wsgi.Fault._fault_names`); statuses not in
/// the table (500, 406, 410, ...) are `computeFault`.
pub fn fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// Builds a nova fault response for any status and message:
/// `{"<name>": {"code": N, "message": "..."}}` as `application/json; charset=UTF-8`.
pub fn fault_response(status: StatusCode, message: &str) -> Response {
    let body = json!({ fault_name(status): { "code": status.as_u16(), "message": message } });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            // The detail goes to the log only: it may hold SQL or paths.
            tracing::error!(error = %detail, "unexpected error answered as computeFault");
        }
        fault_response(self.status(), &self.client_message())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(_: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest("Malformed request body".into())
    }
}

impl From<compute::Error> for ApiError {
    fn from(err: compute::Error) -> Self {
        use compute::Error as E;
        if err.is_internal() {
            return ApiError::Internal(err.to_string());
        }
        let message = err.to_string();
        match err {
            E::NotFound { .. } | E::MigrationNotFound { .. } => ApiError::NotFound(message),
            E::InvalidState { .. } | E::Locked { .. } | E::Duplicate { .. } | E::Conflict(_) => {
                ApiError::Conflict(message)
            }
            // nova's v2.1 controllers answer every quota error with 403.
            E::QuotaExceeded { .. } => ApiError::OverLimit {
                status: StatusCode::FORBIDDEN,
                message,
            },
            E::Invalid(_) => ApiError::BadRequest(message),
            E::Forbidden(_) => ApiError::Forbidden(message),
            _ => ApiError::Internal(message),
        }
    }
}
