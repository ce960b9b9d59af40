//! The EC2 API's paste factories under nova's Havana names, plus
//! `nova_api_rs.ec2:Auth.factory` (the auth `[ec2] auth_mode` selects:
//! noauth, signature or keystone), and
//! the per-worker resources they read.

use std::sync::Arc;

use anyhow::Context as _;
use nova_paste::{FactoryContext, Filter, Registry};

use crate::pipeline;
use crate::state::Ec2State;
use crate::Ec2Options;

/// The filters that need no EC2 state (Havana's metadata pipeline uses them too).
pub const SHARED_FILTERS: &[&str] = &[
    "nova.api.ec2:FaultWrapper.factory",
    "nova.api.ec2:RequestLogging.factory",
];

/// The worker's EC2 state, which the binary put in the resources.
fn state(ctx: &FactoryContext<'_>) -> anyhow::Result<Arc<Ec2State>> {
    ctx.resources
        .get::<Arc<Ec2State>>()
        .cloned()
        .with_context(|| {
            format!(
                "[{}] {}: the worker has no EC2 API state",
                ctx.section, ctx.factory
            )
        })
}

fn stateful(
    registry: &mut Registry,
    name: &str,
    make: fn(Arc<Ec2State>, nova_paste::http::HttpService) -> nova_paste::http::HttpService,
) {
    registry.register_filter(name, move |ctx: &FactoryContext<'_>| {
        let state = state(ctx)?;
        let filter: Filter = Box::new(move |inner| make(state.clone(), inner));
        Ok(filter)
    });
}

/// Registers FaultWrapper and RequestLogging, which need no EC2 state.
pub fn register_shared_filters(registry: &mut Registry) {
    registry.register_filter(SHARED_FILTERS[0], |_ctx: &FactoryContext<'_>| {
        let filter: Filter = Box::new(pipeline::fault_wrapper);
        Ok(filter)
    });
    registry.register_filter(SHARED_FILTERS[1], |ctx: &FactoryContext<'_>| {
        let max = ctx
            .resources
            .get::<Arc<Ec2State>>()
            .map(|s| s.options.max_request_body_size)
            .unwrap_or(Ec2Options::default().max_request_body_size);
        let filter: Filter = Box::new(move |inner| pipeline::request_logging(max, inner));
        Ok(filter)
    });
}

/// Registers every factory of the EC2 API. The stateful ones expect an
/// `Arc<Ec2State>` in the worker resources (see [`worker_resources`]).
pub fn register_factories(registry: &mut Registry) {
    register_shared_filters(registry);
    stateful(registry, "nova.api.ec2:Lockout.factory", pipeline::lockout);
    stateful(registry, "nova.api.ec2:NoAuth.factory", pipeline::noauth);
    // Keystone checks signatures in the keystone mode (auth_strategy =
    // keystone); with `[ec2] auth_mode = signature` the local store does.
    stateful(
        registry,
        "nova.api.ec2:EC2KeystoneAuth.factory",
        pipeline::ec2_keystone_auth,
    );
    stateful(
        registry,
        "nova_api_rs.ec2:Auth.factory",
        pipeline::configured_auth,
    );
    stateful(
        registry,
        "nova.api.ec2:Requestify.factory",
        pipeline::requestify,
    );
    stateful(
        registry,
        "nova.api.ec2:Validator.factory",
        pipeline::validator,
    );
    registry.register_filter(
        "nova.api.ec2:Authorizer.factory",
        |_ctx: &FactoryContext<'_>| {
            let filter: Filter = Box::new(pipeline::authorizer);
            Ok(filter)
        },
    );
    registry.register_app(
        "nova.api.ec2:Executor.factory",
        |ctx: &FactoryContext<'_>| Ok(pipeline::executor(state(ctx)?)),
    );
}

/// The per-worker resources the factories read: the EC2 state over `compute`.
pub fn worker_resources(compute: compute::Compute, options: Ec2Options) -> http::Extensions {
    let mut ext = http::Extensions::new();
    ext.insert(Arc::new(Ec2State::new(compute, options)));
    ext
}
