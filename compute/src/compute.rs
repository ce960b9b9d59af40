//! The `Compute` facade: the one handle the APIs hold.

use std::sync::Arc;

use crate::{ComputeConfig, Store};

/// Everything the APIs do with the cloud's state goes through this handle:
/// a [`Store`] plus the [`ComputeConfig`]. Cheap to clone; build one per
/// worker process. Its operations are spread over the domain modules
/// (instances, lifecycle, flavors, keypairs, images, quotas, ...), each
/// taking the caller's [`crate::RequestContext`].
#[derive(Debug, Clone)]
pub struct Compute {
    pub(crate) store: Store,
    pub(crate) config: Arc<ComputeConfig>,
    pub(crate) cache: Arc<crate::instance::RowCache>,
    pub(crate) identity: Arc<crate::identity::IdentityState>,
}

impl Compute {
    /// A facade over `store` with `config`.
    pub fn new(store: Store, config: ComputeConfig) -> Self {
        Compute {
            store,
            config: Arc::new(config),
            cache: Arc::default(),
            identity: Arc::default(),
        }
    }

    /// The same facade with tokens living `expiration` (`[token]
    /// expiration`; one hour unless set).
    pub fn with_token_expiration(mut self, expiration: std::time::Duration) -> Self {
        self.identity = Arc::new(crate::identity::IdentityState::new(expiration));
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &ComputeConfig {
        &self.config
    }
}
