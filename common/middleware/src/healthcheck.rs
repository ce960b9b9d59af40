//! oslo.middleware's `Healthcheck`, as an app (`...Healthcheck.app_factory`,
//! answering every request it gets) or as the older filter
//! (`...Healthcheck.factory`, answering requests for its `path`, default
//! `/healthcheck`, and passing the rest on).
//!
//! Healthy: 200 `OK` (`text/plain`), or `{"detailed": false, "reasons":
//! ["OK"]}` when the client prefers JSON; `HEAD` gets 204 with no body.
//! With the `disable_by_file` backend and its `disable_by_file_path`
//! present: 503 `DISABLED BY FILE`. (oslo answers an empty body when no
//! backend is configured; we answer `OK`, which is what operators' probes
//! and oslo's own documentation show.) Other backends are not implemented:
//! they are ignored with a warning.

use std::path::PathBuf;
use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};

use crate::{call, filter_fn, option, parse_list, wrap};
use nova_paste::http::{boxed, Body, HttpService, Request, Response};
use nova_paste::{FactoryContext, Filter};

/// The filter's default path.
pub const DEFAULT_PATH: &str = "/healthcheck";

/// The healthcheck's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthcheckConfig {
    /// When set, the file whose presence means "disabled".
    pub disable_by_file_path: Option<PathBuf>,
}

impl HealthcheckConfig {
    /// From a section's options (`backends`, `disable_by_file_path`;
    /// global fallbacks under `healthcheck.`).
    pub fn from_context(ctx: &FactoryContext<'_>) -> anyhow::Result<Self> {
        let backends =
            option(ctx, Some("healthcheck"), "backends", parse_list)?.unwrap_or_default();
        let mut conf = HealthcheckConfig::default();
        for backend in &backends {
            if backend == "disable_by_file" {
                conf.disable_by_file_path =
                    option(ctx, Some("healthcheck"), "disable_by_file_path", |v| {
                        Some(PathBuf::from(v.trim()))
                    })?;
                if conf.disable_by_file_path.is_none() {
                    tracing::warn!(
                        section = ctx.section,
                        "DisableByFile healthcheck enabled without disable_by_file_path set"
                    );
                }
            } else {
                tracing::warn!(
                    section = ctx.section,
                    backend = backend.as_str(),
                    "healthcheck backend not implemented here; ignored"
                );
            }
        }
        Ok(conf)
    }

    fn reason(&self) -> Option<&'static str> {
        match &self.disable_by_file_path {
            Some(path) if path.exists() => Some("DISABLED BY FILE"),
            _ => None,
        }
    }

    /// The healthcheck's answer to `req`.
    pub fn respond(&self, req: &Request) -> Response {
        let failure = self.reason();
        let healthy = failure.is_none();
        let reason = failure.unwrap_or("OK");
        let (status, body, content_type) = if req.method() == Method::HEAD {
            let status = if healthy {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, String::new(), "text/plain; charset=UTF-8")
        } else {
            let status = if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            if prefers_json(req) {
                let body = serde_json::json!({"detailed": false, "reasons": [reason]});
                (status, body.to_string(), "application/json")
            } else {
                (status, reason.to_string(), "text/plain; charset=UTF-8")
            }
        };
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = status;
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        resp
    }
}

/// Whether `Accept` ranks `application/json` above `text/plain` (text wins
/// ties and is the default).
fn prefers_json(req: &Request) -> bool {
    let Some(accept) = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let quality = |wanted: &str| -> f64 {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let mask = parts.next()?.trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f64>().ok())
                    .unwrap_or(1.0);
                let major = wanted.split('/').next().unwrap_or("");
                (mask == wanted || mask == "*/*" || mask == format!("{major}/*")).then_some(q)
            })
            .fold(0.0, f64::max)
    };
    quality("application/json") > quality("text/plain")
}

/// The paste filter factory (answers its `path` only).
pub fn filter_factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let conf = Arc::new(HealthcheckConfig::from_context(ctx)?);
    let path = ctx.conf("path").unwrap_or(DEFAULT_PATH).to_string();
    Ok(filter_fn(move |inner| {
        layer(inner, conf.clone(), path.clone())
    }))
}

/// Wraps `app` so that `/healthcheck` is answered (healthy, default
/// configuration) whatever the paste pipeline holds: the runtime puts this
/// outside every API's app so that load balancers can always probe.
pub fn always_on(app: HttpService) -> HttpService {
    layer(
        app,
        Arc::new(HealthcheckConfig::default()),
        DEFAULT_PATH.to_string(),
    )
}

/// Wraps `inner`, answering requests for `path` with `conf`'s healthcheck.
pub fn layer(inner: HttpService, conf: Arc<HealthcheckConfig>, path: String) -> HttpService {
    wrap(inner, move |inner, req| {
        let conf = conf.clone();
        let path = path.clone();
        async move {
            if req.uri().path() == path {
                conf.respond(&req)
            } else {
                call(inner, req).await
            }
        }
    })
}

/// The paste app factory (answers everything).
pub fn app_factory(ctx: &FactoryContext<'_>) -> anyhow::Result<HttpService> {
    let conf = Arc::new(HealthcheckConfig::from_context(ctx)?);
    Ok(boxed(tower::service_fn(move |req: Request| {
        let resp = conf.respond(&req);
        async move { Ok::<_, std::convert::Infallible>(resp) }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send, text};

    fn req(method: &str, path: &str, accept: Option<&str>) -> Request {
        let mut b = http::Request::builder().method(method).uri(path);
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        b.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn filter_answers_its_path_and_passes_the_rest() {
        let service = make_filter(filter_factory, &[], &[]).unwrap()(echo());
        let resp = send(&service, req("GET", "/healthcheck", None)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[CONTENT_TYPE], "text/plain; charset=UTF-8");
        assert_eq!(text(resp).await, "OK");
        let resp = send(&service, req("HEAD", "/healthcheck", None)).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let resp = send(&service, req("GET", "/other", None)).await;
        assert_eq!(resp.headers()["x-seen-uri"], "/other");
        let resp = send(
            &service,
            req("GET", "/healthcheck", Some("application/json")),
        )
        .await;
        assert_eq!(text(resp).await, r#"{"detailed":false,"reasons":["OK"]}"#);
    }

    #[tokio::test]
    async fn disable_by_file_gives_503_while_the_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("disabled");
        let flag_str = flag.to_str().unwrap();
        let service = make_filter(
            filter_factory,
            &[
                ("path", "/hc"),
                ("backends", "disable_by_file"),
                ("disable_by_file_path", flag_str),
            ],
            &[],
        )
        .unwrap()(echo());
        assert_eq!(
            send(&service, req("GET", "/hc", None)).await.status(),
            StatusCode::OK
        );
        std::fs::write(&flag, "").unwrap();
        let resp = send(&service, req("GET", "/hc", None)).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(text(resp).await, "DISABLED BY FILE");
        assert_eq!(
            send(&service, req("HEAD", "/hc", None)).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn always_on_answers_healthcheck_in_front_of_any_app() {
        let service = always_on(echo());
        assert_eq!(
            text(send(&service, req("GET", "/healthcheck", None)).await).await,
            "OK"
        );
        let resp = send(&service, req("GET", "/v2.1", None)).await;
        assert_eq!(resp.headers()["x-seen-uri"], "/v2.1");
    }

    #[tokio::test]
    async fn app_answers_every_path() {
        let local = std::collections::BTreeMap::new();
        let resources = http::Extensions::new();
        let app = app_factory(&FactoryContext {
            section: "app:hc",
            factory: "oslo_middleware:Healthcheck.app_factory",
            local_conf: &local,
            global_conf: &local,
            resources: &resources,
        })
        .unwrap();
        let resp = send(&app, req("GET", "/", None)).await;
        assert_eq!(text(resp).await, "OK");
    }
}
