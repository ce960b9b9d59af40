//! The generic paste filters every API can use, registered under the names
//! nova's api-paste.ini files and oslo.middleware's entry points give them.
//!
//! | name(s) | what |
//! |---|---|
//! | `oslo_middleware:RequestId.factory`, `oslo_middleware.request_id:RequestId.factory`, `egg:oslo.middleware#request_id` | [`request_id`] |
//! | `oslo_middleware:RequestBodySizeLimiter.factory`, `oslo_middleware.sizelimit:RequestBodySizeLimiter.factory`, `nova.api.sizelimit:RequestBodySizeLimiter.factory` (Havana), `egg:oslo.middleware#sizelimit` | [`sizelimit`] |
//! | `oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory`, `oslo_middleware:HTTPProxyToWSGI.factory`, `egg:oslo.middleware#http_proxy_to_wsgi` | [`proxy_headers`] |
//! | `oslo_middleware.cors:filter_factory`, `oslo_middleware:CORS.factory`, `oslo_middleware.cors:CORS.factory`, `egg:oslo.middleware#cors` | [`cors`] |
//! | `oslo_middleware:Healthcheck.factory`, `oslo_middleware.healthcheck:Healthcheck.factory`, `egg:oslo.middleware#healthcheck` (filter; and `...Healthcheck.app_factory` as app) | [`healthcheck`] |
//! | `nova.profiler:WsgiMiddleware.factory`, `osprofiler.web:WsgiMiddleware.factory` | [`profiler`]: a pass-through; the parent warns once per start ([`profiler::load_warnings`]) |
//! | `nova_api_rs.metrics:filter_factory`, `egg:nova-api-rs#metrics` (this project's own) | [`metrics`]: Prometheus metrics of the requests crossing it, and `/metrics` |
//! | `keystonemiddleware.auth_token:filter_factory`, `keystoneclient.middleware.auth_token:filter_factory` (Havana) | [`authtoken`]: Keystone token validation |
//!
//! nova's `nova.api.compute_req_id:ComputeReqIdMiddleware.factory` (the
//! request id plus `x-compute-request-id`) is the compute API's: its crate
//! registers it over [`request_id::filter`].
//!
//! Options come from the filter's local conf first, then the global conf
//! (where the launcher puts nova.conf's values), as oslo.middleware reads
//! its paste options before oslo.config.

#![forbid(unsafe_code)]

pub mod authtoken;
pub mod cors;
pub mod healthcheck;
pub mod metrics;
pub mod profiler;
pub mod proxy_headers;
pub mod request_id;
pub mod sizelimit;

use std::future::Future;

use nova_paste::http::{HttpFuture, HttpService, Request, Response};
use nova_paste::{FactoryContext, Filter, Registry};

/// The names of oslo.middleware's `RequestId`.
const REQUEST_ID: &[&str] = &[
    "oslo_middleware:RequestId.factory",
    "oslo_middleware.request_id:RequestId.factory",
    "egg:oslo.middleware#request_id",
];
/// The names of oslo.middleware's `RequestBodySizeLimiter` (and Havana's).
const SIZELIMIT: &[&str] = &[
    "oslo_middleware:RequestBodySizeLimiter.factory",
    "oslo_middleware.sizelimit:RequestBodySizeLimiter.factory",
    "nova.api.sizelimit:RequestBodySizeLimiter.factory",
    "egg:oslo.middleware#sizelimit",
];
/// The names of oslo.middleware's `HTTPProxyToWSGI`.
const PROXY_HEADERS: &[&str] = &[
    "oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory",
    "oslo_middleware:HTTPProxyToWSGI.factory",
    "egg:oslo.middleware#http_proxy_to_wsgi",
];
/// The names of oslo.middleware's `CORS`.
const CORS: &[&str] = &[
    "oslo_middleware.cors:filter_factory",
    "oslo_middleware:CORS.factory",
    "oslo_middleware.cors:CORS.factory",
    "egg:oslo.middleware#cors",
];
/// The names of oslo.middleware's `Healthcheck` as a filter.
const HEALTHCHECK_FILTER: &[&str] = &[
    "oslo_middleware:Healthcheck.factory",
    "oslo_middleware.healthcheck:Healthcheck.factory",
    "egg:oslo.middleware#healthcheck",
];
/// The names of oslo.middleware's `Healthcheck` as an app.
const HEALTHCHECK_APP: &[&str] = &[
    "oslo_middleware:Healthcheck.app_factory",
    "oslo_middleware.healthcheck:Healthcheck.app_factory",
    "egg:oslo.middleware#healthcheck",
];
/// The names of osprofiler's WSGI middleware.
pub(crate) const PROFILER: &[&str] = &[
    "nova.profiler:WsgiMiddleware.factory",
    "osprofiler.web:WsgiMiddleware.factory",
];

/// A filter factory that only reads its options.
type PureFactory = fn(&FactoryContext<'_>) -> anyhow::Result<Filter>;

/// Registers every generic filter (and the healthcheck app) in `registry`,
/// with the option check the parent runs before it forks: for the filters
/// whose factory only reads its options, running the factory is the check;
/// auth_token's check reads its options without making its Keystone client.
pub fn register(registry: &mut Registry) {
    for name in REQUEST_ID {
        registry.register_filter(*name, |_| Ok(request_id::filter(&[])));
    }
    let pure: [(&[&str], PureFactory); 4] = [
        (SIZELIMIT, sizelimit::factory),
        (PROXY_HEADERS, proxy_headers::factory),
        (CORS, cors::factory),
        (HEALTHCHECK_FILTER, healthcheck::filter_factory),
    ];
    for (names, factory) in pure {
        for name in names {
            registry.register_filter(*name, factory);
            registry.register_filter_check(*name, move |ctx| factory(ctx).map(drop));
        }
    }
    // osprofiler's stand-in takes no options; the parent warns about it
    // once per start (profiler::load_warnings).
    for name in PROFILER {
        registry.register_filter(*name, profiler::factory);
    }
    for name in HEALTHCHECK_APP {
        registry.register_app(*name, healthcheck::app_factory);
    }
    for name in metrics::FACTORIES {
        registry.register_filter(*name, metrics::filter_factory);
        registry.register_filter_check(*name, metrics::check);
    }
    for name in [authtoken::FACTORY, authtoken::FACTORY_HAVANA] {
        registry.register_filter(name, authtoken::factory);
        registry.register_filter_check(name, authtoken::check);
    }
}

/// Calls `inner` with `req` and unwraps the infallible result.
pub(crate) async fn call(inner: HttpService, req: Request) -> Response {
    inner.answer(req).await
}

/// Makes an [`HttpService`] from an async function of the inner service and
/// the request: one boxed future per request, nothing else.
pub(crate) fn wrap<F, Fut>(inner: HttpService, f: F) -> HttpService
where
    F: Fn(HttpService, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    HttpService::new(move |req: Request| HttpFuture::new(f(inner.clone(), req)))
}

/// A filter from a function of the inner service.
pub(crate) fn filter_fn(f: impl Fn(HttpService) -> HttpService + Send + Sync + 'static) -> Filter {
    Box::new(f)
}

pub use nova_conf::value::parse_bool;

/// The option `key` of a filter (local, then global `group.key`, then
/// global `key`), parsed; the error names the section, option and value.
pub(crate) fn option<T>(
    ctx: &FactoryContext<'_>,
    group: Option<&str>,
    key: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> anyhow::Result<Option<T>> {
    let grouped = group.map(|g| format!("{g}.{key}"));
    let raw = ctx
        .local_conf
        .get(key)
        .or_else(|| grouped.as_ref().and_then(|g| ctx.global_conf.get(g)))
        .or_else(|| ctx.global_conf.get(key));
    match raw {
        None => Ok(None),
        Some(raw) => match parse(raw) {
            Some(v) => Ok(Some(v)),
            None => anyhow::bail!(
                "invalid value {raw:?} for option '{key}' of [{}]",
                ctx.section
            ),
        },
    }
}

/// A comma-separated list option (oslo.config's `ListOpt`).
pub(crate) fn parse_list(value: &str) -> Option<Vec<String>> {
    Some(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the middleware unit tests.

    use std::collections::BTreeMap;

    use http_body_util::BodyExt;

    use nova_paste::http::{Body, HttpService, Request, Response};
    use nova_paste::{FactoryContext, Filter};

    /// An app that echoes what it saw: method, path and query, the
    /// `ScriptName`, the body and selected extensions, as headers/body.
    pub fn echo() -> HttpService {
        nova_paste::http::boxed(tower::service_fn(|req: Request| async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                Err(_) => {
                    return Ok::<_, std::convert::Infallible>(
                        http::Response::builder()
                            .status(400)
                            .body(Body::from("body error"))
                            .unwrap(),
                    )
                }
            };
            let mut resp = http::Response::builder().status(200);
            resp = resp.header("x-seen-uri", parts.uri.to_string());
            if let Some(s) = parts.extensions.get::<nova_paste::http::ScriptName>() {
                resp = resp.header("x-seen-script-name", s.0.clone());
            }
            if let Some(s) = parts.extensions.get::<nova_paste::http::RequestId>() {
                resp = resp.header("x-seen-request-id", s.header_value().clone());
            }
            if let Some(s) = parts.extensions.get::<nova_paste::http::RemoteAddr>() {
                resp = resp.header("x-seen-remote-addr", s.0.to_string());
            }
            if let Some(s) = parts.extensions.get::<nova_paste::http::UrlScheme>() {
                resp = resp.header("x-seen-scheme", s.0.clone());
            }
            if let Some(h) = parts.headers.get(http::header::HOST) {
                resp = resp.header("x-seen-host", h.clone());
            }
            Ok(resp.body(Body::from(body)).unwrap())
        }))
    }

    /// Runs `factory` with the given confs and no resources.
    pub fn make_filter(
        factory: impl Fn(&FactoryContext<'_>) -> anyhow::Result<Filter>,
        local: &[(&str, &str)],
        global: &[(&str, &str)],
    ) -> anyhow::Result<Filter> {
        let local: BTreeMap<String, String> = local
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let global: BTreeMap<String, String> = global
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let resources = http::Extensions::new();
        factory(&FactoryContext {
            section: "filter:test",
            factory: "test",
            local_conf: &local,
            global_conf: &global,
            resources: &resources,
        })
    }

    /// Sends `req` through `service`.
    pub async fn send(service: &HttpService, req: Request) -> Response {
        super::call(service.clone(), req).await
    }

    /// The body of `resp` as text.
    pub async fn text(resp: Response) -> String {
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
