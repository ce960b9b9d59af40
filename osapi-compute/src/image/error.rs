//! Every failure of the Image API becomes a response here, in Glance's
//! plain-text error page (`<code> <reason>\n\n<detail>\n\n   `). Internal
//! errors are logged and answered 500 without their text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use compute::{ImageDataError, Kind, MetadefError};

/// What an Image API handler fails with.
#[derive(Debug, thiserror::Error)]
pub enum ImageApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no caller.
    #[error("This server could not verify that you are authorized to access the document you requested.")]
    Unauthorized,
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 415: a body of a media type the call does not take.
    #[error("Unsupported Content-Type")]
    UnsupportedMediaType,
    /// 416: a `Range` outside the data.
    #[error("Requested range not satisfiable")]
    RangeNotSatisfiable {
        /// The size of the data (for `Content-Range: bytes */size`).
        size: u64,
    },
    /// The domain's errors.
    #[error(transparent)]
    Compute(#[from] compute::Error),
    /// The data store's errors.
    #[error(transparent)]
    Data(#[from] ImageDataError),
    /// The metadefs catalog's errors.
    #[error(transparent)]
    Metadef(#[from] MetadefError),
}

/// Glance's plain-text error page.
pub fn error(status: StatusCode, detail: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}\n\n{detail}\n\n   ", status.as_u16());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

const INTERNAL: &str =
    "The server has either erred or is incapable of performing the requested operation.";

fn internal(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "image API call failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
}

fn compute_response(err: compute::Error) -> Response {
    use compute::Error as E;
    match err {
        E::NotFound {
            kind: Kind::Image,
            id,
        } => error(
            StatusCode::NOT_FOUND,
            &format!("No image found with ID {id}"),
        ),
        E::NotFound { .. } => error(StatusCode::NOT_FOUND, &err.to_string()),
        E::Invalid(m) => error(StatusCode::BAD_REQUEST, &m),
        E::Forbidden(m) => error(StatusCode::FORBIDDEN, &m),
        E::Conflict(m) => error(StatusCode::CONFLICT, &m),
        E::Duplicate {
            kind: Kind::Image,
            name,
            ..
        } => error(
            StatusCode::CONFLICT,
            &format!("Image with identifier {name} already exists!"),
        ),
        E::Duplicate { message, .. } => error(StatusCode::CONFLICT, &message),
        E::QuotaExceeded { message, .. } => error(StatusCode::PAYLOAD_TOO_LARGE, &message),
        E::InvalidState { .. } | E::Locked { .. } => error(StatusCode::CONFLICT, &err.to_string()),
        other => internal(&other),
    }
}

impl IntoResponse for ImageApiError {
    fn into_response(self) -> Response {
        match self {
            ImageApiError::BadRequest(m) => error(StatusCode::BAD_REQUEST, &m),
            ImageApiError::Unauthorized => error(StatusCode::UNAUTHORIZED, &self.to_string()),
            ImageApiError::Forbidden(m) => error(StatusCode::FORBIDDEN, &m),
            ImageApiError::NotFound(m) => error(StatusCode::NOT_FOUND, &m),
            ImageApiError::Conflict(m) => error(StatusCode::CONFLICT, &m),
            ImageApiError::UnsupportedMediaType => {
                error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &self.to_string())
            }
            ImageApiError::RangeNotSatisfiable { size } => {
                let mut response = error(StatusCode::RANGE_NOT_SATISFIABLE, &self.to_string());
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                response
            }
            ImageApiError::Compute(e) => compute_response(e),
            ImageApiError::Data(e) => match e {
                ImageDataError::TooLarge { .. } => {
                    error(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string())
                }
                ImageDataError::Conflict(m) => error(StatusCode::CONFLICT, &m),
                ImageDataError::Gone(_) => error(StatusCode::GONE, &e.to_string()),
                ImageDataError::Compute(e) => compute_response(e),
                other => internal(&other),
            },
            ImageApiError::Metadef(e) => match e {
                MetadefError::Compute(e) => compute_response(e),
                MetadefError::Duplicate(m) => error(StatusCode::CONFLICT, &m),
                MetadefError::Protected(m) => error(StatusCode::FORBIDDEN, &m),
                not_found => error(StatusCode::NOT_FOUND, &not_found.to_string()),
            },
        }
    }
}

/// A path this app does not serve.
pub async fn not_found_route() -> Response {
    error(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// A method the path does not serve (the router adds the `Allow` header).
pub async fn method_not_allowed(method: axum::http::Method) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The method {method} is not allowed for this resource."),
    )
}
