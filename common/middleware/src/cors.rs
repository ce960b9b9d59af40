//! oslo.middleware's `CORS` filter (`oslo_middleware.cors:filter_factory`).
//!
//! With no `allowed_origin` configured it is the identity. (oslo would
//! still turn a non-2xx answer to any `OPTIONS` request into an empty 200;
//! we leave such answers alone, since without an allowed origin no browser
//! preflight can succeed anyway.) With origins, it decorates responses to
//! allowed origins and answers preflight `OPTIONS` requests, after the app
//! has had its say, exactly as oslo does.
//!
//! Options (local conf, else global `cors.<name>`, else the defaults):
//! `allowed_origin`, `allow_credentials`, `expose_headers`, `max_age`,
//! `allow_methods`, `allow_headers`. `oslo_config_project = nova` selects
//! the defaults nova sets in `nova/middleware.py`.

use std::sync::Arc;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use http::{HeaderValue, Method, StatusCode};

use crate::{call, filter_fn, option, parse_bool, parse_list, wrap};
use nova_paste::http::{Body, HttpService, Response};
use nova_paste::{FactoryContext, Filter};

/// oslo's simple headers, always allowed in a preflight.
const SIMPLE_HEADERS: &[&str] = &[
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
];

/// The CORS configuration of one filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorsConfig {
    /// Allowed origins (`*` for any).
    pub allowed_origin: Vec<String>,
    /// Whether to send `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// Headers the browser may expose.
    pub expose_headers: Vec<String>,
    /// Preflight cache age in seconds.
    pub max_age: Option<u64>,
    /// Methods allowed in the actual request.
    pub allow_methods: Vec<String>,
    /// Headers allowed in the actual request.
    pub allow_headers: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl CorsConfig {
    /// oslo's defaults, or nova's (`nova/middleware.py` `set_defaults`)
    /// when the project is `nova`.
    pub fn defaults(project: Option<&str>) -> Self {
        if project == Some("nova") {
            CorsConfig {
                allowed_origin: Vec::new(),
                allow_credentials: true,
                expose_headers: strings(&[
                    "X-Auth-Token",
                    "X-Openstack-Request-Id",
                    "X-Subject-Token",
                    "X-Service-Token",
                    "X-OpenStack-Nova-API-Version",
                    "OpenStack-API-Version",
                ]),
                max_age: Some(3600),
                allow_methods: strings(&["GET", "PUT", "POST", "DELETE", "PATCH"]),
                allow_headers: strings(&[
                    "X-Auth-Token",
                    "X-Openstack-Request-Id",
                    "X-Identity-Status",
                    "X-Roles",
                    "X-Service-Catalog",
                    "X-User-Id",
                    "X-Tenant-Id",
                    "X-OpenStack-Nova-API-Version",
                    "OpenStack-API-Version",
                ]),
            }
        } else {
            CorsConfig {
                allowed_origin: Vec::new(),
                allow_credentials: true,
                expose_headers: Vec::new(),
                max_age: Some(3600),
                allow_methods: strings(&[
                    "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "PATCH",
                ]),
                allow_headers: Vec::new(),
            }
        }
    }

    /// The configuration of a filter section.
    pub fn from_context(ctx: &FactoryContext<'_>) -> anyhow::Result<Self> {
        let project = ctx
            .local_conf
            .get("oslo_config_project")
            .map(String::as_str);
        if project.is_none() && !ctx.local_conf.contains_key("allowed_origin") {
            anyhow::bail!("allowed_origin or oslo_config_project is required");
        }
        let mut conf = Self::defaults(project);
        let g = Some("cors");
        if let Some(v) = option(ctx, g, "allowed_origin", parse_list)? {
            conf.allowed_origin = v;
        }
        if let Some(v) = option(ctx, g, "allow_credentials", parse_bool)? {
            conf.allow_credentials = v;
        }
        if let Some(v) = option(ctx, g, "expose_headers", parse_list)? {
            conf.expose_headers = v;
        }
        if let Some(v) = option(ctx, g, "max_age", |v| v.trim().parse::<u64>().ok())? {
            conf.max_age = Some(v);
        }
        if let Some(v) = option(ctx, g, "allow_methods", parse_list)? {
            conf.allow_methods = v;
        }
        if let Some(v) = option(ctx, g, "allow_headers", parse_list)? {
            conf.allow_headers = v;
        }
        Ok(conf)
    }

    /// The origin to answer with: the request's own if listed, else `*` if
    /// listed.
    fn matched_origin(&self, origin: &str) -> Option<String> {
        if self.allowed_origin.iter().any(|o| o == origin) {
            Some(origin.to_string())
        } else if self.allowed_origin.iter().any(|o| o == "*") {
            Some("*".to_string())
        } else {
            None
        }
    }
}

/// The paste factory.
pub fn factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let conf = CorsConfig::from_context(ctx)?;
    Ok(filter_fn(move |inner| layer(inner, conf.clone())))
}

/// Wraps `inner`; the identity when no origin is allowed.
pub fn layer(inner: HttpService, conf: CorsConfig) -> HttpService {
    if conf.allowed_origin.is_empty() {
        return inner;
    }
    let conf = Arc::new(conf);
    wrap(inner, move |inner, req| {
        let conf = conf.clone();
        async move {
            let method = req.method().clone();
            let origin = header_text(&req, ORIGIN.as_str());
            let request_method = header_text(&req, "access-control-request-method");
            let request_headers: Vec<String> = header_text(&req, "access-control-request-headers")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let resp = call(inner, req).await;
            if resp.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
                return resp;
            }
            if method == Method::OPTIONS {
                preflight(&conf, resp, origin, request_method, request_headers)
            } else {
                simple(&conf, resp, origin)
            }
        }
    })
}

fn header_text(req: &nova_paste::http::Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn set(resp: &mut Response, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// oslo's `_apply_cors_preflight_headers` (CORS section 6.2).
fn preflight(
    conf: &CorsConfig,
    mut resp: Response,
    origin: Option<String>,
    request_method: Option<String>,
    request_headers: Vec<String>,
) -> Response {
    if !resp.status().is_success() {
        resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::OK;
    }
    let Some(origin) = origin.and_then(|o| conf.matched_origin(&o)) else {
        return resp;
    };
    let Some(request_method) = request_method else {
        return resp;
    };
    if !conf.allow_methods.contains(&request_method) {
        return resp;
    }
    let permitted: Vec<String> = conf
        .allow_headers
        .iter()
        .map(String::as_str)
        .chain(SIMPLE_HEADERS.iter().copied())
        .map(str::to_ascii_uppercase)
        .collect();
    if request_headers
        .iter()
        .any(|h| !permitted.contains(&h.to_ascii_uppercase()))
    {
        return resp;
    }
    set(&mut resp, VARY, "Origin");
    set(&mut resp, ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    if conf.allow_credentials {
        set(&mut resp, ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    if let Some(age) = conf.max_age.filter(|a| *a > 0) {
        set(&mut resp, ACCESS_CONTROL_MAX_AGE, &age.to_string());
    }
    set(&mut resp, ACCESS_CONTROL_ALLOW_METHODS, &request_method);
    if !request_headers.is_empty() {
        set(
            &mut resp,
            ACCESS_CONTROL_ALLOW_HEADERS,
            &request_headers.join(","),
        );
    }
    resp
}

/// oslo's `_apply_cors_request_headers` (CORS section 6.1).
fn simple(conf: &CorsConfig, mut resp: Response, origin: Option<String>) -> Response {
    let Some(origin) = origin.and_then(|o| conf.matched_origin(&o)) else {
        return resp;
    };
    let vary = match resp.headers().get(VARY).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing},Origin"),
        None => "Origin".to_string(),
    };
    set(&mut resp, VARY, &vary);
    set(&mut resp, ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    if conf.allow_credentials {
        set(&mut resp, ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    if !conf.expose_headers.is_empty() {
        set(
            &mut resp,
            ACCESS_CONTROL_EXPOSE_HEADERS,
            &conf.expose_headers.join(","),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send};
    use nova_paste::http::Request;

    fn not_found_app() -> HttpService {
        nova_paste::http::boxed(tower::service_fn(|_req: Request| async {
            let mut resp = Response::new(Body::from("nope"));
            *resp.status_mut() = StatusCode::NOT_FOUND;
            Ok::<_, std::convert::Infallible>(resp)
        }))
    }

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().method(method).uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn without_allowed_origin_it_passes_everything_through() {
        let service =
            make_filter(factory, &[("oslo_config_project", "nova")], &[]).unwrap()(not_found_app());
        let resp = send(&service, req("OPTIONS", &[("origin", "https://h.example")])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(resp.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn preflight_for_an_allowed_origin_is_answered_with_nova_defaults() {
        let service = make_filter(
            factory,
            &[("oslo_config_project", "nova")],
            &[("cors.allowed_origin", "https://h.example")],
        )
        .unwrap()(not_found_app());
        let resp = send(
            &service,
            req(
                "OPTIONS",
                &[
                    ("origin", "https://h.example"),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "x-auth-token, content-type",
                    ),
                ],
            ),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://h.example");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_HEADERS], "x-auth-token,content-type");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[ACCESS_CONTROL_MAX_AGE], "3600");
        assert_eq!(h[VARY], "Origin");

        // A method nova's defaults do not allow: 200, but no CORS headers.
        let resp = send(
            &service,
            req(
                "OPTIONS",
                &[
                    ("origin", "https://h.example"),
                    ("access-control-request-method", "TRACE"),
                ],
            ),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn simple_requests_get_origin_and_expose_headers_only_for_allowed_origins() {
        let service = make_filter(
            factory,
            &[("allowed_origin", "https://a.example,https://b.example")],
            &[],
        )
        .unwrap()(echo());
        let resp = send(&service, req("GET", &[("origin", "https://b.example")])).await;
        assert_eq!(
            resp.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://b.example"
        );
        assert!(resp.headers().get(ACCESS_CONTROL_EXPOSE_HEADERS).is_none());
        let resp = send(&service, req("GET", &[("origin", "https://evil.example")])).await;
        assert!(resp.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[test]
    fn factory_needs_an_origin_or_a_project() {
        let err = make_filter(factory, &[], &[]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "allowed_origin or oslo_config_project is required"
        );
    }
}
