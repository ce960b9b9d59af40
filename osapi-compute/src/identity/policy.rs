//! The store mode's caller and Keystone's default policies, in one place.
//!
//! The rules follow Keystone's defaults as tempest and the CLI meet them
//! (with `[oslo_policy] enforce_scope = false`, Keystone's long-standing
//! default): `admin` — a token carrying the admin role, in any scope — may
//! do everything; a system-scoped `reader` may read everything; anyone
//! may read itself (its user, its projects, its own token, the domain of
//! its token); nothing else. A refusal is 403 naming Keystone's rule
//! (`identity:create_user`).

use std::sync::Arc;

use compute::identity::{Token, TokenScope};
use compute::Compute;

use super::catalog::Call;
use super::errors::IdentityError;
use super::Shared;

/// The caller of a store-mode request: its validated token.
pub struct Caller {
    /// The token's facts.
    pub token: Token,
    /// The token's text (for `X-Subject-Token` defaults).
    pub text: String,
}

impl Caller {
    /// Whether the caller is an admin (holds `admin`).
    pub fn is_admin(&self) -> bool {
        self.token.has_role("admin")
    }

    /// Whether the caller may read everything: an admin, or a
    /// system-scoped reader.
    pub fn reads_all(&self) -> bool {
        self.is_admin()
            || (matches!(self.token.scope, TokenScope::System) && self.token.has_role("reader"))
    }

    /// Whether the caller is the user `id`.
    pub fn is_user(&self, id: &str) -> bool {
        self.token.user.id == id
    }

    /// `Ok` when the caller is an admin, else 403 for `action`.
    pub fn require_admin(&self, action: &str) -> Result<(), IdentityError> {
        self.require(self.is_admin(), action)
    }

    /// `Ok` when the caller reads everything, else 403 for `action`.
    pub fn require_reader(&self, action: &str) -> Result<(), IdentityError> {
        self.require(self.reads_all(), action)
    }

    /// `Ok` when `allowed`, else 403 for `action`.
    pub fn require(&self, allowed: bool, action: &str) -> Result<(), IdentityError> {
        if allowed {
            Ok(())
        } else {
            Err(IdentityError::forbidden(action))
        }
    }

    /// The compute domain's view of the caller (for the EC2 credentials).
    pub fn context(&self) -> compute::RequestContext {
        let project = self
            .token
            .project()
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let mut ctx = compute::RequestContext::new(self.token.user.id.clone(), project);
        ctx.roles = self.token.roles.iter().map(|r| r.name.clone()).collect();
        ctx.is_admin = self.is_admin();
        ctx
    }
}

/// The token text of a header (`X-Auth-Token`, `X-Subject-Token`).
pub fn header_token(call: &Call, name: &str) -> Option<String> {
    call.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The compute domain of a store-mode app.
pub fn store(shared: &Shared) -> Result<Arc<Compute>, IdentityError> {
    shared.compute.clone().ok_or_else(super::errors::internal)
}

/// The caller of `call`: its `X-Auth-Token`, validated; 401 when absent
/// or not valid.
pub async fn caller(compute: &Compute, call: &Call) -> Result<Caller, IdentityError> {
    let text = header_token(call, "x-auth-token").ok_or_else(IdentityError::unauthorized)?;
    match compute.validate_token(&text).await {
        Ok(token) => Ok(Caller { token, text }),
        Err(compute::identity::IdentityError::NotFound { .. }) => {
            Err(IdentityError::unauthorized())
        }
        Err(err) => Err(err.into()),
    }
}

/// What a store-mode handler starts with: the store, the request's parts
/// and the authenticated caller.
pub async fn authenticated(
    shared: &Shared,
    call: Call,
) -> Result<(Arc<Compute>, Call, Caller), IdentityError> {
    let compute = store(shared)?;
    let caller = caller(&compute, &call).await?;
    Ok((compute, call, caller))
}
