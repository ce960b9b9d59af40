//! The paste factories of the compute API under nova's dotted names, so
//! that nova's stock api-paste.ini loads unchanged, plus the three extra apps
//! (Identity v3, Image v2, Network v2) a noauth2 deployment can mount beside it.
//!
//! Apps find their state in the worker's resources: the binary puts one
//! [`ApiState`] there (see [`resources`]).

use anyhow::Context as _;
use nova_paste::{FactoryContext, Filter, Registry};

use crate::state::ApiState;

/// nova's `FaultWrapper` filter.
pub const FAULTWRAP: &str = "nova.api.openstack:FaultWrapper.factory";
/// nova's `compute_req_id` filter: oslo's request id, also sent as
/// `x-compute-request-id`.
pub const COMPUTE_REQ_ID: &str = "nova.api.compute_req_id:ComputeReqIdMiddleware.factory";
/// The compute API's compat request-id header.
pub const COMPUTE_REQUEST_ID: http::HeaderName =
    http::HeaderName::from_static("x-compute-request-id");
/// nova's `noauth2` filter.
pub const NOAUTH2: &str = "nova.api.openstack.auth:NoAuthMiddleware.factory";
/// nova's `keystonecontext` filter (after common's
/// `keystonemiddleware.auth_token:filter_factory`).
pub const KEYSTONE_CONTEXT: &str = "nova.api.auth:NovaKeystoneContext.factory";
/// nova's `legacy_v2_compatible` filter.
pub const LEGACY_V2: &str = "nova.api.openstack:LegacyV2CompatibleWrapper.factory";
/// nova's `request_log` filter.
pub const REQUEST_LOG: &str = "nova.api.openstack.requestlog:RequestLog.factory";
/// The API app.
pub const API_ROUTER: &str = "nova.api.openstack.compute:APIRouterV21.factory";
/// The root version app.
pub const VERSIONS: &str = "nova.api.openstack.compute.versions:Versions.factory";
/// The `/v2.1` and `/v2` version app.
pub const VERSIONS_V2: &str = "nova.api.openstack.compute.versions:VersionsV2.factory";
/// The built-in Identity v3 app (not part of nova).
pub const IDENTITY: &str = "nova_api_rs.osapi_compute.identity:IdentityV3.factory";
/// The built-in read-only Image v2 app (not part of nova).
pub const IMAGE_V2: &str = "nova_api_rs.osapi_compute.image_v2:ImageV2.factory";
/// The built-in Network v2 app (not part of nova).
pub const NETWORK_V2: &str = "nova_api_rs.osapi_compute.network:NetworkV2.factory";

/// The worker resources the factories read: the API state, and the
/// store's identity as the token source of the `authtoken` filter (used
/// when no Keystone is configured: `[keystone_authtoken] auth_url` unset).
pub fn resources(state: ApiState) -> http::Extensions {
    let mut extensions = http::Extensions::new();
    extensions.insert(crate::identity::source::StoreTokenSource::installable(
        state.compute.clone(),
    ));
    extensions.insert(state);
    extensions
}

fn state(ctx: &FactoryContext<'_>) -> anyhow::Result<ApiState> {
    ctx.resources.get::<ApiState>().cloned().with_context(|| {
        format!(
            "[{}] needs the compute API state among the worker resources",
            ctx.section
        )
    })
}

fn filter(f: fn(nova_paste::http::HttpService) -> nova_paste::http::HttpService) -> Filter {
    Box::new(f)
}

/// Registers every factory above in `registry`.
pub fn register_factories(registry: &mut Registry) {
    static COMPAT: [http::HeaderName; 1] = [COMPUTE_REQUEST_ID];
    registry.register_filter(COMPUTE_REQ_ID, |_| {
        Ok(nova_middleware::request_id::filter(&COMPAT))
    });
    registry.register_filter(FAULTWRAP, |_| Ok(filter(crate::middleware::fault_wrapper)));
    registry.register_filter(NOAUTH2, |_| Ok(filter(crate::auth::noauth2)));
    registry.register_filter(KEYSTONE_CONTEXT, |_| {
        Ok(filter(crate::keystone::keystone_context))
    });
    registry.register_filter(LEGACY_V2, |_| {
        Ok(filter(crate::middleware::legacy_v2_compatible))
    });
    registry.register_filter(REQUEST_LOG, |_| Ok(filter(crate::middleware::request_log)));
    registry.register_app(API_ROUTER, |ctx| Ok(crate::router::api_app(state(ctx)?)));
    registry.register_app(VERSIONS, |ctx| {
        let prefix = state(ctx)
            .ok()
            .and_then(|s| s.config.compute_link_prefix.clone());
        Ok(crate::router::versions_app(prefix))
    });
    registry.register_app(VERSIONS_V2, |ctx| {
        let prefix = state(ctx)
            .ok()
            .and_then(|s| s.config.compute_link_prefix.clone());
        Ok(crate::router::version_v2_app(prefix))
    });
    registry.register_app(IDENTITY, |ctx| {
        let state = state(ctx)?;
        let mut defaults = crate::identity::IdentityOptions::default();
        // The catalogue's EC2 URL is on the port ec2-api listens on (port
        // 0, "any free port", is known only to ec2-api: then 8773).
        if state.config.ec2_listen_port != 0 {
            defaults.ec2_port = state.config.ec2_listen_port;
        }
        let options = crate::identity::IdentityOptions::from_raw_over(defaults, |key| {
            ctx.conf(key).map(str::to_string)
        })?;
        // With the compute state, `openstack ec2 credentials create` hands
        // out keys that ec2-api verifies against the same store; in store
        // mode the app is Keystone's API over the store's identity.
        let mode = state.config.identity_mode();
        Ok(nova_paste::http::boxed(
            crate::identity::identity_router_in(options, state, mode),
        ))
    });
    registry.register_app(IMAGE_V2, |ctx| {
        let state = state(ctx)?;
        let app = nova_paste::http::boxed(crate::image::image_router(state.clone()));
        authenticated(ctx, &state, app, &["/", "/versions"])
    });
    registry.register_app(NETWORK_V2, |ctx| {
        let state = state(ctx)?;
        let app = nova_paste::http::boxed(crate::network::network_router(state.clone()));
        authenticated(ctx, &state, app, &["/"])
    });
}

/// The Image and Network apps authenticate their callers as the compute
/// API does, whatever their pipeline holds. Under noauth2 they read the
/// token as noauth2 does. Otherwise a request that no `authtoken
/// keystonecontext` of the pipeline has authenticated (the sample
/// api-paste.ini has none before `imageapp` and `networkapp`) goes
/// through those two filters here, validated against the configured
/// Keystone or the store's identity: a `user:project` text is never
/// trusted where tokens are real. `open_paths` (the version documents,
/// which Glance and Neutron serve without a token for discovery) pass.
fn authenticated(
    ctx: &FactoryContext<'_>,
    state: &ApiState,
    app: nova_paste::http::HttpService,
    open_paths: &'static [&'static str],
) -> anyhow::Result<nova_paste::http::HttpService> {
    if state.config.identity_mode() == compute::identity::IdentityMode::NoAuth {
        return Ok(app);
    }
    let authtoken = nova_middleware::authtoken::factory(ctx)?;
    let guarded = authtoken(crate::keystone::keystone_context(app.clone()));
    Ok(nova_paste::http::HttpService::new(move |request| {
        let authenticated = request
            .extensions()
            .get::<compute::RequestContext>()
            .is_some();
        if authenticated || open_paths.contains(&request.uri().path()) {
            app.serve(request)
        } else {
            guarded.serve(request)
        }
    }))
}
