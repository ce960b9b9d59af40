//! The urlmap runtime: paste's `URLMap` (longest prefix first, host-specific
//! entries first) and nova's variant (`/prefix/+` keys, the API version from
//! `Content-Type`/`Accept`). nova also records the best response content
//! type for its `wsgi.Request`; every answer here is JSON, so it is not
//! worked out.
//!
//! On a match the prefix moves from the request URI's path to the
//! [`ScriptName`] extension (WSGI's `SCRIPT_NAME`/`PATH_INFO` split); the
//! query string is kept. Matching uses the raw (undecoded) path.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderValue, StatusCode};

use crate::http::{url_scheme, Body, HttpFuture, HttpService, Request, Response, ScriptName};
use crate::registry::UrlMapFlavor;

/// A parsed urlmap key (paste's `parse_path_expression` + `normalize_url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlMapKey {
    /// `domain` or `domain:port`; `None` matches any host.
    pub domain: Option<String>,
    /// The normalised path: `//` collapsed, trailing `/` removed (so `/`
    /// is the empty string). nova's `/prefix/+` keys keep their `/+`.
    pub path: String,
}

/// Parses a urlmap key: `/path`, `domain host /path` or
/// `domain host port N /path`.
pub fn parse_path_expression(expr: &str) -> Result<UrlMapKey, String> {
    let mut parts = expr.split_whitespace();
    let (mut domain, mut port, mut path) = (None, None, None);
    while let Some(part) = parts.next() {
        match part {
            "domain" => {
                let d = parts
                    .next()
                    .ok_or("'domain' must be followed with a domain name")?;
                if domain.replace(d).is_some() {
                    return Err("'domain' given twice".into());
                }
            }
            "port" => {
                let p = parts
                    .next()
                    .ok_or("'port' must be followed with a port number")?;
                if port.replace(p).is_some() {
                    return Err("'port' given twice".into());
                }
            }
            _ => {
                if let Some(have) = path.replace(part) {
                    return Err(format!(
                        "more than one path given (have '{have}', got '{part}')"
                    ));
                }
            }
        }
    }
    if port.is_some() && domain.is_none() {
        return Err("If you give a port, you must also give a domain".into());
    }
    let path = path.unwrap_or("");
    let path = match domain {
        Some(_) => format!("/{path}"),
        None if path.is_empty() || path.starts_with('/') => path.to_string(),
        None => {
            return Err(format!(
                "URL fragments must start with / or http:// (you gave '{path}')"
            ))
        }
    };
    let domain = domain.map(|d| match port {
        Some(p) => format!("{d}:{p}"),
        None => d.to_string(),
    });
    let path = collapse_slashes(&path);
    Ok(UrlMapKey {
        domain,
        path: path.trim_end_matches('/').to_string(),
    })
}

fn collapse_slashes(path: &str) -> Cow<'_, str> {
    // A byte-window scan: `str::contains` sets up a substring search, which
    // costs more on this per-request path.
    if !path.as_bytes().windows(2).any(|w| w == b"//") {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

struct Route {
    key: UrlMapKey,
    app: HttpService,
}

struct Inner {
    routes: Vec<Route>,
    not_found: Option<HttpService>,
    flavor: UrlMapFlavor,
}

/// A urlmap as a service.
#[derive(Clone)]
pub struct UrlMap {
    inner: Arc<Inner>,
}

/// The content types nova's API supports (`wsgi.get_supported_content_types`).
const NOVA_CONTENT_TYPES: &[&str] = &["application/json", "application/vnd.openstack.compute+json"];
/// What nova's urlmap also offers at `/` and at an API's root.
const NOVA_CONTENT_TYPES_AT_ROOT: &[&str] = &[
    "application/json",
    "application/vnd.openstack.compute+json",
    "application/atom+xml",
];

impl UrlMap {
    /// A urlmap over `routes`; a later duplicate key replaces an earlier one.
    pub fn new(
        flavor: UrlMapFlavor,
        routes: Vec<(UrlMapKey, HttpService)>,
        not_found: Option<HttpService>,
    ) -> Self {
        let mut deduped: Vec<Route> = Vec::new();
        for (key, app) in routes {
            deduped.retain(|r| r.key != key);
            deduped.push(Route { key, app });
        }
        // Host-specific entries first (by domain), then each group longest
        // path first; equal lengths in string order, as Python's sort does.
        deduped.sort_by(|a, b| {
            (
                a.key.domain.is_none(),
                &a.key.domain,
                std::cmp::Reverse(a.key.path.len()),
                &a.key.path,
            )
                .cmp(&(
                    b.key.domain.is_none(),
                    &b.key.domain,
                    std::cmp::Reverse(b.key.path.len()),
                    &b.key.path,
                ))
        });
        UrlMap {
            inner: Arc::new(Inner {
                routes: deduped,
                not_found,
                flavor,
            }),
        }
    }

    /// The keys in matching order, as `(domain, path)`.
    pub fn keys(&self) -> Vec<(Option<String>, String)> {
        self.inner
            .routes
            .iter()
            .map(|r| (r.key.domain.clone(), r.key.path.clone()))
            .collect()
    }

    /// The urlmap as an [`HttpService`]: it routes the request and hands
    /// on the chosen app's own future.
    pub fn into_service(self) -> HttpService {
        HttpService::new(move |req| self.route(req))
    }
}

/// How a request was matched: the route and the prefix it consumed.
struct Hit<'a> {
    route: usize,
    prefix: &'a str,
    /// Whether the prefix is removed from the path (a path match) or only
    /// added to `SCRIPT_NAME` (a version chosen by header).
    munge: bool,
}

impl Inner {
    /// paste's matching loop, with nova's `/+` rule for the nova flavor.
    fn find(&self, host: &str, port: &str, path: &str) -> Option<(usize, &str)> {
        for (i, route) in self.routes.iter().enumerate() {
            if let Some(domain) = &route.key.domain {
                let with_port = domain
                    .strip_prefix(host)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|p| p == port);
                if domain != host && !with_port {
                    continue;
                }
            }
            let url = route.key.path.as_str();
            if self.flavor == UrlMapFlavor::Nova {
                if let Some(base) = url.strip_suffix("/+") {
                    // `/prefix/+` needs `/prefix/` and something after it.
                    if path.starts_with(&url[..url.len() - 1]) && path.len() >= url.len() {
                        return Some((i, base));
                    }
                    continue;
                }
            }
            if path == url || (path.starts_with(url) && path[url.len()..].starts_with('/')) {
                return Some((i, url));
            }
        }
        None
    }

    /// nova's `URLMap.__call__`: path prefix, then `Content-Type` and
    /// `Accept` versions, then the default match.
    fn nova_route(&self, req: &Request, host: &str, port: &str, path: &str) -> Option<Hit<'_>> {
        let mut hit = None;
        if path.contains('/') {
            if let Some((route, prefix)) = self.find(host, port, path) {
                // The default ('' prefix) is not a version choice.
                if !prefix.is_empty() {
                    hit = Some(Hit {
                        route,
                        prefix,
                        munge: true,
                    });
                }
            }
        }
        if hit.is_none() {
            let content_type = header_str(req, CONTENT_TYPE);
            if !content_type.is_empty() {
                if let Some(version) = parse_options_header(content_type).1.get("version") {
                    hit = self.version_hit(host, port, version);
                }
            }
        }
        if hit.is_none() {
            // Under no version prefix, the versions' index at `/` also
            // takes Atom.
            let supported = if path == "/" {
                NOVA_CONTENT_TYPES_AT_ROOT
            } else {
                NOVA_CONTENT_TYPES
            };
            let (_, params) = accept_best_match(header_str(req, ACCEPT), supported);
            if let Some(version) = params.get("version") {
                hit = self.version_hit(host, port, version);
            }
        }
        if hit.is_none() {
            hit = self.find(host, port, path).map(|(route, prefix)| Hit {
                route,
                prefix,
                munge: true,
            });
        }
        hit
    }

    fn version_hit(&self, host: &str, port: &str, version: &str) -> Option<Hit<'_>> {
        self.find(host, port, &format!("/v{version}"))
            .map(|(route, prefix)| Hit {
                route,
                prefix,
                munge: false,
            })
    }
}

fn header_str(req: &Request, name: http::HeaderName) -> &str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `type/subtype; k=v; ...` → the type and its parameters (quotes removed).
fn parse_options_header(value: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let mut parts = value.split(';');
    let name = parts.next().unwrap_or("").trim().to_string();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect();
    (name, params)
}

/// nova's `Accept.best_match`: the supported type with the best quality,
/// more specific masks winning ties; with the mask's parameters.
fn accept_best_match(
    accept: &str,
    supported: &[&'static str],
) -> (
    Option<&'static str>,
    std::collections::BTreeMap<String, String>,
) {
    if accept.trim().is_empty() {
        // No Accept header: no mask, no match, nothing to parse.
        return (None, Default::default());
    }
    let masks: Vec<_> = accept
        .split(',')
        .map(parse_options_header)
        .filter(|(m, _)| !m.is_empty())
        .collect();
    let mut best_quality = -1.0f64;
    let mut best: Option<&'static str> = None;
    let mut best_params = Default::default();
    let mut best_mask = "*/*".to_string();
    for content_type in supported {
        for (mask, params) in &masks {
            let Ok(quality) = params.get("q").map_or(Ok(1.0), |q| q.parse::<f64>()) else {
                continue;
            };
            if quality < best_quality {
                continue;
            }
            if quality == best_quality
                && best_mask.matches('*').count() <= mask.matches('*').count()
            {
                continue;
            }
            let matches = if !mask.contains('*') {
                mask == content_type
            } else if mask == "*/*" {
                true
            } else {
                let major = mask.get(..mask.len().saturating_sub(2));
                major.is_some() && content_type.split('/').next() == major
            };
            if matches {
                best_quality = quality;
                best = Some(content_type);
                best_params = params.clone();
                best_mask = mask.clone();
            }
        }
    }
    (best, best_params)
}

/// The 404 of an unmatched request: small and plain, naming nothing internal.
fn not_found() -> Response {
    let mut resp = Response::new(Body::from(
        "404 Not Found\n\nThe resource could not be found.\n",
    ));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

impl tower::Service<Request> for UrlMap {
    type Response = Response;
    type Error = Infallible;
    type Future = HttpFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.route(req)
    }
}

impl UrlMap {
    /// Routes `req` to the app of its longest matching prefix.
    fn route(&self, mut req: Request) -> HttpFuture {
        let inner = &self.inner;
        let host_header = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(Cow::Borrowed)
            .or_else(|| req.uri().authority().map(|a| Cow::Owned(a.to_string())))
            .unwrap_or_default();
        let host_header = if host_header.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host_header.to_ascii_lowercase())
        } else {
            host_header
        };
        let (host, port) = match host_header.split_once(':') {
            Some((h, p)) => (h, p),
            None => {
                let https = url_scheme(req.extensions()) == "https"
                    || req.uri().scheme_str() == Some("https");
                (&*host_header, if https { "443" } else { "80" })
            }
        };
        let path = collapse_slashes(req.uri().path());
        let hit = match inner.flavor {
            UrlMapFlavor::Paste => inner.find(host, port, &path).map(|(route, prefix)| Hit {
                route,
                prefix,
                munge: true,
            }),
            UrlMapFlavor::Nova => inner.nova_route(&req, host, port, &path),
        };
        let Some(hit) = hit else {
            return match inner.not_found.clone() {
                Some(app) => app.serve(req),
                None => HttpFuture::ready(not_found()),
            };
        };
        let (route, prefix) = (hit.route, hit.prefix.to_owned());
        if hit.munge {
            let rest = &path[prefix.len()..];
            let rest = if rest.is_empty() { "/" } else { rest };
            let query = req.uri().query();
            // An API's root (`GET /v2.1`, what clients and balancers poll)
            // becomes `/` without building a new path.
            let pq = if rest == "/" && query.is_none() {
                Ok(http::uri::PathAndQuery::from_static("/"))
            } else {
                let mut pq = String::with_capacity(rest.len() + query.map_or(0, |q| q.len() + 1));
                pq.push_str(rest);
                if let Some(q) = query {
                    pq.push('?');
                    pq.push_str(q);
                }
                // Handed over as it is (`parse` would copy it).
                http::uri::PathAndQuery::try_from(pq)
            };
            // The URI is moved out, not cloned.
            let mut parts = std::mem::take(req.uri_mut()).into_parts();
            match pq {
                Ok(pq) => parts.path_and_query = Some(pq),
                Err(_) => return HttpFuture::ready(not_found()),
            }
            match http::Uri::from_parts(parts) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(_) => return HttpFuture::ready(not_found()),
            }
        }
        let ext = req.extensions_mut();
        match ext.get_mut::<ScriptName>() {
            Some(script) => script.0.push_str(&prefix),
            None => {
                ext.insert(ScriptName(prefix));
            }
        }
        inner.routes[route].app.serve(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_expressions_normalise_like_paste() {
        let k = |d: Option<&str>, p: &str| UrlMapKey {
            domain: d.map(str::to_string),
            path: p.to_string(),
        };
        assert_eq!(parse_path_expression("/").unwrap(), k(None, ""));
        assert_eq!(parse_path_expression("//v2//x/").unwrap(), k(None, "/v2/x"));
        assert_eq!(
            parse_path_expression("/v2.1/+").unwrap(),
            k(None, "/v2.1/+")
        );
        assert_eq!(
            parse_path_expression("domain a.com port 8 /x").unwrap(),
            k(Some("a.com:8"), "/x")
        );
        assert_eq!(
            parse_path_expression("domain a.com").unwrap(),
            k(Some("a.com"), "")
        );
        assert_eq!(
            parse_path_expression("port 8 /x").unwrap_err(),
            "If you give a port, you must also give a domain"
        );
        assert_eq!(
            parse_path_expression("/a /b").unwrap_err(),
            "more than one path given (have '/a', got '/b')"
        );
        assert_eq!(
            parse_path_expression("domain").unwrap_err(),
            "'domain' must be followed with a domain name"
        );
    }

    #[test]
    fn accept_best_match_prefers_quality_then_specificity() {
        let (t, p) = accept_best_match(
            "application/xml, application/json;version=2.1;q=0.9",
            NOVA_CONTENT_TYPES,
        );
        assert_eq!(t, Some("application/json"));
        assert_eq!(p.get("version").map(String::as_str), Some("2.1"));
        let (t, _) = accept_best_match(
            "*/*;q=0.5, application/vnd.openstack.compute+json",
            NOVA_CONTENT_TYPES,
        );
        assert_eq!(t, Some("application/vnd.openstack.compute+json"));
        let (t, _) = accept_best_match("", NOVA_CONTENT_TYPES);
        assert_eq!(t, None);
        let (t, _) = accept_best_match("a\u{e9}*", NOVA_CONTENT_TYPES);
        assert_eq!(t, None);
        let (t, _) = accept_best_match("application/*;q=0.5", NOVA_CONTENT_TYPES);
        assert_eq!(t, Some("application/json"));
    }
}
