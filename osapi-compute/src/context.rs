//! The [`Context`] extractor: the caller's `compute::RequestContext` that the
//! auth filter (noauth2 or keystonecontext) stored in the request extensions.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::fault::ApiError;

/// The authenticated caller of a request.
///
/// Handlers take `Context(ctx): Context` and pass `&ctx` to every
/// `compute::Compute` call. A request that reached the API without an auth
/// filter having set a context is refused with 401.
#[derive(Clone, Debug)]
pub struct Context(pub compute::RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Context {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<compute::RequestContext>()
            .cloned()
            .map(Context)
            .ok_or_else(|| ApiError::Unauthorized("Authentication required".into()))
    }
}

impl Context {
    /// Fails with nova's 403 unless the caller is an admin; `rule` is the
    /// policy name shown in the message (e.g. `os_compute_api:servers:detail:get_all_tenants`).
    pub fn require_admin(&self, rule: &str) -> Result<(), ApiError> {
        if self.0.is_admin {
            Ok(())
        } else {
            Err(ApiError::policy(rule))
        }
    }
}
