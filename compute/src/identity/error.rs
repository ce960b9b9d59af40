//! [`IdentityError`]: the errors of the built-in identity, as Keystone's
//! exceptions. Each variant's `Display` is Keystone's message (safe to
//! show); store failures are wrapped as [`IdentityError::Compute`] and
//! are internal (logged, never shown).

/// An error of the identity domain.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// No such entity (404): `kind` is Keystone's word for it (`user`,
    /// `project`, `domain`, `role`, `group`, `token`, ...).
    #[error("Could not find {kind}: {id}.")]
    NotFound {
        /// What was looked up.
        kind: &'static str,
        /// The id or name asked for.
        id: String,
    },
    /// A name taken in its domain, or another uniqueness rule (409).
    #[error("Conflict occurred attempting to store {kind} - {message}.")]
    Conflict {
        /// What was being stored.
        kind: &'static str,
        /// Why.
        message: String,
    },
    /// The credentials or the token do not authenticate (401). The
    /// message is deliberately the same whatever was wrong.
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    /// The request is well formed but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// A bad value (400).
    #[error("{0}")]
    Invalid(String),
    /// The store failed (500; the detail is logged).
    #[error(transparent)]
    Compute(#[from] crate::Error),
}

impl From<sqlx::Error> for IdentityError {
    fn from(err: sqlx::Error) -> Self {
        IdentityError::Compute(crate::Error::from(err))
    }
}

impl IdentityError {
    /// A [`IdentityError::NotFound`] of `kind` named `id`.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        IdentityError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// Keystone's 409 for a name taken in a domain.
    pub(crate) fn duplicate(kind: &'static str, name: &str) -> Self {
        IdentityError::Conflict {
            kind,
            message: format!("Duplicate entry found with name {name}"),
        }
    }
}

/// The result of an identity operation.
pub type IdentityResult<T> = std::result::Result<T, IdentityError>;

/// `err` as a 409 of `kind` named `name` when it is a unique-index
/// violation, else as it is.
pub(crate) fn unique_as_conflict(
    err: crate::Error,
    kind: &'static str,
    name: &str,
) -> IdentityError {
    if crate::store::is_unique_violation(&err) {
        IdentityError::duplicate(kind, name)
    } else {
        IdentityError::Compute(err)
    }
}
