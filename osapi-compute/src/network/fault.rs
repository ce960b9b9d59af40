//! The one place the Network v2 app turns errors into responses:
//! Neutron's body `{"NeutronError": {"type", "message", "detail"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use compute::network::error::ErrorClass;
use compute::NetworkError;
use serde_json::json;

/// An error answer of the Network v2 app.
#[derive(Debug)]
pub struct NeutronFault {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl NeutronFault {
    /// A 400 `HTTPBadRequest` with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        NeutronFault {
            status: StatusCode::BAD_REQUEST,
            kind: "HTTPBadRequest",
            message: message.into(),
        }
    }

    /// A 404 for a path that names no resource.
    pub fn no_route() -> Self {
        NeutronFault {
            status: StatusCode::NOT_FOUND,
            kind: "HTTPNotFound",
            message: "The resource could not be found.".into(),
        }
    }

    /// A 405 for a method the path does not serve (the router adds the
    /// `Allow` header).
    pub fn method_not_allowed(method: &axum::http::Method) -> Self {
        NeutronFault {
            status: StatusCode::METHOD_NOT_ALLOWED,
            kind: "HTTPMethodNotAllowed",
            message: format!("The method {method} is not allowed for this resource."),
        }
    }

    /// A 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        NeutronFault {
            status: StatusCode::NOT_FOUND,
            kind: "HTTPNotFound",
            message: message.into(),
        }
    }

    /// A 401: no token.
    pub fn unauthorized() -> Self {
        NeutronFault {
            status: StatusCode::UNAUTHORIZED,
            kind: "HTTPUnauthorized",
            message: "The request you have made requires authentication.".into(),
        }
    }

    /// A 413: the body is over the limit.
    pub fn too_large() -> Self {
        NeutronFault {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "HTTPRequestEntityTooLarge",
            message: "Request is too large.".into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<NetworkError> for NeutronFault {
    fn from(err: NetworkError) -> Self {
        let status = match err.class() {
            ErrorClass::BadRequest => StatusCode::BAD_REQUEST,
            ErrorClass::Forbidden => StatusCode::FORBIDDEN,
            ErrorClass::NotFound => StatusCode::NOT_FOUND,
            ErrorClass::Conflict => StatusCode::CONFLICT,
            ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // Internal details go to the log, never to the body.
            tracing::error!(error = %err, "network request failed");
            return NeutronFault {
                status,
                kind: "HTTPInternalServerError",
                message: "Request Failed: internal server error while processing your request."
                    .into(),
            };
        }
        NeutronFault {
            status,
            kind: err.type_name(),
            message: err.to_string(),
        }
    }
}

impl IntoResponse for NeutronFault {
    fn into_response(self) -> Response {
        let body = json!({"NeutronError": {
            "type": self.kind,
            "message": self.message,
            "detail": "",
        }});
        (self.status, axum::Json(body)).into_response()
    }
}
