//! [`ApiState`]: what every handler of the compute API shares.

use std::sync::Arc;

use crate::config::ApiConfig;

/// The state of the API router, cloned into every handler (cheap: two `Arc`s).
///
/// Handlers take `State(state): State<ApiState>` and call
/// `state.compute.<operation>(&ctx, ...)`.
#[derive(Clone)]
pub struct ApiState {
    /// The compute domain: store, lifecycle, quotas.
    pub compute: Arc<compute::Compute>,
    /// The `[api]` options of nova.conf.
    pub config: Arc<ApiConfig>,
}

impl ApiState {
    /// A state over `compute` with `config`.
    pub fn new(compute: Arc<compute::Compute>, config: ApiConfig) -> Self {
        ApiState {
            compute,
            config: Arc::new(config),
        }
    }
}
