//! Prometheus metrics, as a paste filter an operator adds to a pipeline
//! (or leaves out): it counts the requests that cross it, by method, route
//! template and status, with their latency, and answers its `path`
//! (default `/metrics`) with the whole service's counters in Prometheus'
//! text format.
//!
//! ```ini
//! [filter:metrics]
//! paste.filter_factory = nova_api_rs.metrics:filter_factory
//! # path = /metrics
//! ```
//!
//! Workers are processes: each counts in its own memory
//! ([`recorder::global`]) and writes it to a file under `state_path` every
//! second; a scrape reads the others' files ([`store`]). The runtime tells
//! the filter that directory through the global conf key
//! [`DIR_KEY`]; without it a scrape shows the one process's counters.
//!
//! Cost per request: the route template (one string), one uncontended
//! lock and hash lookup, a few additions (see the README's figures).

pub mod exposition;
pub mod recorder;
pub mod route;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode};

use crate::filter_fn;
use nova_paste::http::{Body, HttpFuture, HttpService, Request, Response, ScriptName};
use nova_paste::{FactoryContext, Filter};

/// The names the filter is registered under (this project's own: nova has
/// no such filter).
pub const FACTORIES: &[&str] = &[
    "nova_api_rs.metrics:filter_factory",
    "egg:nova-api-rs#metrics",
];

/// The path answered with the metrics unless the section sets `path`.
pub const DEFAULT_PATH: &str = "/metrics";

/// The global conf key where the runtime puts the service's metrics
/// directory ([`store::dir_for`]).
pub const DIR_KEY: &str = "nova_api_rs.metrics_dir";

/// Whether `factory` (as written in api-paste.ini) is this filter.
pub fn is_metrics_factory(factory: &str) -> bool {
    FACTORIES.contains(&factory)
}

/// The filter's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MetricsConfig {
    /// The path answered with the metrics.
    path: String,
    /// The service's metrics directory, when the runtime named one.
    dir: Option<PathBuf>,
}

impl MetricsConfig {
    fn from_context(ctx: &FactoryContext<'_>) -> anyhow::Result<Self> {
        let path = ctx
            .local_conf
            .get("path")
            .map_or(DEFAULT_PATH, String::as_str);
        if !path.starts_with('/') {
            anyhow::bail!(
                "invalid value {path:?} for option 'path' of [{}]: expected a path starting with /",
                ctx.section
            );
        }
        Ok(Self {
            path: path.to_owned(),
            dir: ctx.global_conf.get(DIR_KEY).map(PathBuf::from),
        })
    }

    /// The metrics of the whole service, as text.
    fn respond(&self, req: &Request) -> Response {
        let own = recorder::global().snapshot();
        let view = match &self.dir {
            Some(dir) => store::service_view(dir, std::process::id(), &own),
            None => store::ServiceView {
                totals: own,
                launcher: None,
            },
        };
        let body = if req.method() == Method::HEAD {
            Body::empty()
        } else {
            Body::from(exposition::render(&view))
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = StatusCode::OK;
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(exposition::CONTENT_TYPE),
        );
        resp
    }
}

/// The paste filter factory.
pub fn filter_factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let conf = Arc::new(MetricsConfig::from_context(ctx)?);
    Ok(filter_fn(move |inner| layer(inner, conf.clone())))
}

/// The option check the parent runs before it forks.
pub fn check(ctx: &FactoryContext<'_>) -> anyhow::Result<()> {
    MetricsConfig::from_context(ctx).map(drop)
}

/// Wraps `inner`: answers the metrics path, counts everything else.
fn layer(inner: HttpService, conf: Arc<MetricsConfig>) -> HttpService {
    HttpService::new(move |req: Request| {
        if req.uri().path() == conf.path && matches!(*req.method(), Method::GET | Method::HEAD) {
            return HttpFuture::ready(conf.respond(&req));
        }
        let start = Instant::now();
        let method = recorder::method_label(req.method());
        let script_name = req
            .extensions()
            .get::<ScriptName>()
            .map_or("", |s| s.0.as_str());
        let route = route::template(script_name, req.uri().path());
        inner.serve(req).map(move |resp| {
            let seconds = start.elapsed().as_secs_f64();
            recorder::global().record(method, &route, resp.status().as_u16(), seconds);
            resp
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send, text};

    fn get(path: &str) -> Request {
        http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn requests_are_counted_and_the_path_answers_them_in_prometheus_text() {
        let filter = make_filter(filter_factory, &[("path", "/probe-metrics")], &[]).unwrap();
        let app = filter(echo());
        // A route no other test of this process uses: the recorder is the
        // process's.
        let id = "6b1e0c2a-1f4e-4c55-9d0a-3e1c7f2b9a10";
        for _ in 0..3 {
            let resp = send(&app, get(&format!("/metrics-test/{id}"))).await;
            assert_eq!(resp.status(), StatusCode::OK);
        }
        let resp = send(&app, get("/probe-metrics")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[CONTENT_TYPE], exposition::CONTENT_TYPE);
        let body = text(resp).await;
        let line =
            r#"nova_http_requests_total{method="GET",route="/metrics-test/{id}",status="200"} 3"#;
        assert!(body.lines().any(|l| l == line), "{body}");
        // The scrape itself is not counted.
        assert!(!body.contains("route=\"/probe-metrics\""), "{body}");
    }

    #[test]
    fn a_path_that_is_not_absolute_is_refused_naming_the_section() {
        let err = make_filter(filter_factory, &[("path", "metrics")], &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("'path' of [filter:test]"), "{err}");
    }
}
