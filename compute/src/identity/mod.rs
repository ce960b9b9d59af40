//! The built-in Identity v3: Keystone's model as far as this service
//! serves it, in the shared store (migration 0008).
//!
//! | module | holds |
//! |---|---|
//! | [`options`] | `[identity]` (bootstrap) and `[token]` (expiration); [`IdentityMode`], the one place that decides whether the identity is the store's |
//! | [`password`] | Argon2id hashing (why that crate: see there) |
//! | [`domains`], [`projects`], [`users`], [`groups`], [`roles`] | the entities, names unique per domain (409) |
//! | [`assignments`] | role assignments on projects, domains and the system; effective roles through groups and implied roles |
//! | [`tokens`] | opaque random tokens, stored as SHA-256 only: issue, validate, revoke |
//! | [`app_creds`] | application credentials (secrets hashed as passwords), their access rules, the tokens issued through them |
//! | [`credentials`] | `/v3/credentials`: any type; an `ec2` one is a row of the EC2 credentials |
//! | [`ec2`] | what an EC2 credential lets its holder do (real users: enabled, with a role; admin from the roles) |
//! | [`bootstrap`] | `keystone-manage bootstrap`: roles, the admin project and user |
//!
//! **Policy lives in the API.** These operations check identity facts
//! (a password, a token, an enabled user); who may call which one is
//! Keystone's policy, enforced by the identity app in one place
//! (`osapi-compute/src/identity/policy.rs`), as nova's policy is for
//! the compute API.
//!
//! **Invariant:** a password or a token's text is never stored or logged:
//! passwords as Argon2id hashes, tokens as the SHA-256 of their text.
//!
//! **Invariant:** every write that can make a token invalid (revocation,
//! a user or project deleted or disabled, a role unassigned, a password
//! changed) bumps this process's [`Compute::identity_generation`], so a
//! worker's token cache drops what it holds at once.

pub mod app_creds;
pub mod assignments;
pub mod bootstrap;
pub mod credentials;
pub mod domains;
pub mod ec2;
pub mod error;
pub mod groups;
pub mod options;
pub mod password;
pub mod projects;
pub mod roles;
pub mod tokens;
pub mod users;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use app_creds::{AccessRule, AppCred, AppCredLookup, NewAccessRule, NewAppCred, RoleSpec};
pub use assignments::{Actor, Assignment, AssignmentFilter, Target};
pub use bootstrap::{BootstrapOptions, BootstrapReport};
pub use credentials::{Credential, CredentialUpdate, NewCredential};
pub use domains::{Domain, DomainUpdate, NewDomain};
pub use error::{IdentityError, IdentityResult};
pub use groups::{Group, GroupUpdate, NewGroup};
pub use options::{IdentityConfig, IdentityMode};
pub use projects::{NewProject, Project, ProjectFilter, ProjectUpdate};
pub use roles::{NewRole, Role, RoleRef, RoleUpdate};
pub use tokens::{ScopeRequest, Token, TokenAppCred, TokenScope};
pub use users::{NewUser, User, UserLookup, UserUpdate};

use crate::Compute;

/// The id of the domain every deployment has (Keystone's `default`).
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// What one process's identity holds beside the store: the token
/// lifetime, and the generation its token caches compare against.
#[derive(Debug)]
pub struct IdentityState {
    /// `[token] expiration`.
    pub expiration: Duration,
    generation: AtomicU64,
}

impl IdentityState {
    /// A state with tokens living `expiration`.
    pub fn new(expiration: Duration) -> Self {
        IdentityState {
            expiration,
            generation: AtomicU64::new(0),
        }
    }
}

impl Default for IdentityState {
    fn default() -> Self {
        IdentityState::new(Duration::from_secs(options::DEFAULT_TOKEN_EXPIRATION))
    }
}

impl Compute {
    /// A number that changes whenever this process made a write that may
    /// invalidate tokens (see the module's invariant). A token cache
    /// remembers it with each answer and drops answers of an older one.
    pub fn identity_generation(&self) -> u64 {
        self.identity.generation.load(Ordering::Acquire)
    }

    /// Marks every cached token answer of this process stale.
    pub(crate) fn identity_changed(&self) {
        self.identity.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How long a new token lives (`[token] expiration`).
    pub fn token_expiration(&self) -> Duration {
        self.identity.expiration
    }
}

/// A new id in Keystone's form: a uuid4 as 32 hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Trims `name` and refuses an empty one, or one longer than Keystone's
/// schema allows for `kind` (64 characters for projects, domains and
/// groups, 255 for users and roles): 400.
pub(crate) fn check_name(kind: &str, name: &str) -> IdentityResult<String> {
    let max = match kind {
        "project" | "domain" | "group" => 64,
        _ => 255,
    };
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(IdentityError::Invalid(format!(
            "Invalid input for field 'name': the {kind} name cannot be empty."
        )));
    }
    if trimmed.chars().count() > max {
        return Err(IdentityError::Invalid(format!(
            "Invalid input for field 'name': the {kind} name is longer than {max} characters."
        )));
    }
    Ok(trimmed.to_string())
}
