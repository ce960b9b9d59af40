//! oslo.middleware's `HTTPProxyToWSGI`: behind a trusted reverse proxy
//! (`[oslo_middleware] enable_proxy_headers_parsing = true`), take the
//! client's address, scheme, host and path prefix from the proxy's headers.
//!
//! RFC 7239 `Forwarded` wins over the `X-Forwarded-*` headers; only its
//! first element (the proxy nearest the client) counts. Differences from
//! oslo: `RemoteAddr` is a socket address, so an `X-Forwarded-For` list
//! yields its first address (oslo copies the whole list), and a `for=` that
//! is not an address (`unknown`, an obfuscated name) leaves it unchanged.

use std::net::{IpAddr, SocketAddr};

use http::header::HOST;
use http::HeaderValue;

use crate::{call, filter_fn, option, parse_bool, wrap};
use nova_paste::http::{HttpService, RemoteAddr, Request, ScriptName, UrlScheme};
use nova_paste::{FactoryContext, Filter};

/// The paste factory: `enable_proxy_headers_parsing` from the local conf,
/// else the global conf; off by default, in which case the filter is the
/// identity.
pub fn factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let enabled = option(
        ctx,
        Some("oslo_middleware"),
        "enable_proxy_headers_parsing",
        parse_bool,
    )?
    .unwrap_or(false);
    Ok(filter_fn(
        move |inner| if enabled { layer(inner) } else { inner },
    ))
}

/// Wraps `inner`, always parsing the proxy headers.
pub fn layer(inner: HttpService) -> HttpService {
    wrap(inner, |inner, mut req| async move {
        apply(&mut req);
        call(inner, req).await
    })
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Rewrites the request from its proxy headers.
pub fn apply(req: &mut Request) {
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let (proto, host, client) = if !forwarded.is_empty() {
        let joined = forwarded.join(",");
        let first = joined.split(',').next().unwrap_or("");
        let mut proto = None;
        let mut host = None;
        let mut client = None;
        for pair in first.split(';') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.trim().trim_matches('"').to_string();
            match key.trim().to_ascii_lowercase().as_str() {
                "proto" if !value.is_empty() => proto = Some(value),
                "host" if !value.is_empty() => host = Some(value),
                "for" if !value.is_empty() => client = Some(value),
                _ => {}
            }
        }
        (proto, host, client)
    } else {
        (
            header(req, "x-forwarded-proto").map(str::to_string),
            header(req, "x-forwarded-host").map(str::to_string),
            header(req, "x-forwarded-for")
                .map(|v| v.split(',').next().unwrap_or("").trim().to_string()),
        )
    };
    if let Some(proto) = proto {
        req.extensions_mut().insert(UrlScheme(proto));
    }
    if let Some(host) = host.and_then(|h| HeaderValue::from_str(&h).ok()) {
        req.headers_mut().insert(HOST, host);
    }
    if let Some(addr) = client.as_deref().and_then(parse_client) {
        req.extensions_mut().insert(RemoteAddr(addr));
    }
    if let Some(prefix) = header(req, "x-forwarded-prefix").map(str::to_string) {
        let script = req
            .extensions()
            .get::<ScriptName>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        req.extensions_mut().insert(ScriptName(prefix + &script));
    }
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_client(value: &str) -> Option<SocketAddr> {
    let value = value.trim();
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = value.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send};
    use nova_paste::http::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder()
            .uri("/x")
            .header("host", "internal:8774");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut req = b.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(RemoteAddr("10.0.0.1:5555".parse().unwrap()));
        req.extensions_mut().insert(ScriptName("/compute".into()));
        req
    }

    #[tokio::test]
    async fn x_forwarded_headers_rewrite_addr_scheme_host_and_prefix_when_enabled() {
        let service =
            make_filter(factory, &[], &[("enable_proxy_headers_parsing", "true")]).unwrap()(echo());
        let resp = send(
            &service,
            request(&[
                ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "api.example.com"),
                ("x-forwarded-prefix", "/public"),
            ]),
        )
        .await;
        let h = resp.headers();
        assert_eq!(h["x-seen-remote-addr"], "203.0.113.7:0");
        assert_eq!(h["x-seen-scheme"], "https");
        assert_eq!(h["x-seen-host"], "api.example.com");
        assert_eq!(h["x-seen-script-name"], "/public/compute");
    }

    #[tokio::test]
    async fn forwarded_header_wins_and_uses_the_first_proxy() {
        let service =
            make_filter(factory, &[("enable_proxy_headers_parsing", "1")], &[]).unwrap()(echo());
        let resp = send(
            &service,
            request(&[
                ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https;host=a.example, for=192.0.2.9;proto=http"),
                ("x-forwarded-proto", "http"),
            ]),
        )
        .await;
        let h = resp.headers();
        assert_eq!(h["x-seen-remote-addr"], "[2001:db8::1]:4711");
        assert_eq!(h["x-seen-scheme"], "https");
        assert_eq!(h["x-seen-host"], "a.example");
    }

    #[tokio::test]
    async fn headers_are_ignored_unless_enabled() {
        let service = make_filter(factory, &[], &[]).unwrap()(echo());
        let resp = send(
            &service,
            request(&[
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-proto", "https"),
            ]),
        )
        .await;
        assert_eq!(resp.headers()["x-seen-remote-addr"], "10.0.0.1:5555");
        assert!(resp.headers().get("x-seen-scheme").is_none());
        assert!(make_filter(factory, &[("enable_proxy_headers_parsing", "maybe")], &[]).is_err());
    }
}
