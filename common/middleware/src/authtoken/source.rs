//! [`TokenSource`]: where the filter validates tokens when the identity
//! is the deployment's own (no `[keystone_authtoken] auth_url`): the
//! binary puts a [`LocalTokenSource`] among the worker's resources and
//! the filter asks it instead of a remote Keystone.
//!
//! The answers are cached as Keystone's are (`token_cache_time`, never
//! past the token's expiry), and each remembers the source's
//! [`TokenSource::generation`] when it was made: a source bumps it on
//! every write of its process that may end a token (a revocation, a user
//! or project deleted or disabled, a role taken back), so a revoked token
//! fails at once in the worker that revoked it, and within
//! `token_cache_time` in the others.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::client::KeystoneError;
use super::token::TokenInfo;

/// A validation's outcome: the token's facts, `None` when it is not
/// valid, `Err` when the source could not answer (503).
pub type Validation<'a> =
    Pin<Box<dyn Future<Output = Result<Option<TokenInfo>, KeystoneError>> + Send + 'a>>;

/// Validates tokens without a remote Keystone.
pub trait TokenSource: Send + Sync + 'static {
    /// The facts of `token`, or `None`.
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a>;

    /// A number that changes whenever this process made a write that may
    /// end tokens; cached answers of another generation are dropped.
    fn generation(&self) -> u64;
}

/// The source a binary installs among a worker's resources.
#[derive(Clone)]
pub struct LocalTokenSource(pub Arc<dyn TokenSource>);

impl std::fmt::Debug for LocalTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalTokenSource")
    }
}
