//! Who may open a console, as nova's proxy decides it: the console auth
//! token a WebSocket request carries ([`token`]) and the browser origin it
//! comes from ([`check_origin`]).

use http::HeaderMap;

/// Why a WebSocket client is turned away (after the upgrade: the
/// connection is closed without a byte of the console).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No token in the request, or one the store does not know (never
    /// issued, expired, its instance gone).
    #[error("the console token is invalid")]
    InvalidToken,
    /// A token of another console type.
    #[error("the token is for a {0} console, not novnc")]
    ConsoleType(String),
    /// An `Origin` header without a host name or a scheme.
    #[error("Origin header not valid")]
    OriginInvalid,
    /// An `Origin` whose host is neither the proxy's `Host` nor an allowed
    /// origin.
    #[error("Origin header does not match this host")]
    OriginHost,
    /// An `Origin` (or `X-Forwarded-Proto`) scheme that does not match the
    /// scheme of the URL the token was handed out with.
    #[error("Origin header protocol does not match this host")]
    OriginScheme,
}

/// The console auth token of a request for `path_and_query` with
/// `headers`, looked for where nova's proxy and the noVNC clients put it:
/// the `token` query parameter (noVNC from 1.1.0 connects to the `path`
/// it was given, `/?token=...`); the token inside a `path` parameter
/// (`?path=%3Ftoken%3D...`, a client that passes the console URL's query
/// on); the `token` cookie (older noVNC clients). Empty when there is none.
pub fn token(query: Option<&str>, headers: &HeaderMap) -> String {
    let query = query.unwrap_or("");
    if let Some(token) = query_param(query, "token") {
        return token;
    }
    if let Some(token) = query_param(query, "path")
        .and_then(|path| path.split_once('?').map(|(_, q)| q.to_owned()))
        .and_then(|inner| query_param(&inner, "token"))
    {
        return token;
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| name.trim() == "token")
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .next_back()
        .unwrap_or_default()
}

/// The last non-empty value of parameter `name` in `query`, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.into_owned())
        .last()
}

/// nova's origin check: a request without `Origin` (not a browser) passes;
/// otherwise the origin's host must be the host of the request's `Host`
/// header or one of `allowed_origins`, and its scheme (or the
/// `X-Forwarded-Proto` a TLS-terminating proxy set) the scheme of
/// `access_url_base`, the URL the token was made for (`ws`/`wss` also
/// accept `http`/`https`).
pub fn check_origin(
    headers: &HeaderMap,
    allowed_origins: &[String],
    access_url_base: &str,
) -> Result<(), Refusal> {
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| Refusal::OriginInvalid)?;
    let parsed = url::Url::parse(origin).map_err(|_| Refusal::OriginInvalid)?;
    let origin_host = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .filter(|h| !h.is_empty())
        .ok_or(Refusal::OriginInvalid)?;
    let scheme = match header_text(headers, "x-forwarded-proto") {
        Some(forwarded) => forwarded.to_ascii_lowercase(),
        None => parsed.scheme().to_owned(),
    };
    let own_host = header_text(headers, "host").map(host_name);
    let known = allowed_origins
        .iter()
        .map(String::as_str)
        .chain(own_host.as_deref())
        .any(|allowed| allowed.eq_ignore_ascii_case(origin_host));
    if !known {
        return Err(Refusal::OriginHost);
    }
    let expected = url::Url::parse(access_url_base)
        .map(|u| u.scheme().to_owned())
        .unwrap_or_default();
    let scheme_ok = scheme == expected
        || (expected == "ws" && scheme == "http")
        || (expected == "wss" && scheme == "https");
    if scheme_ok {
        Ok(())
    } else {
        Err(Refusal::OriginScheme)
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The host name of a `Host` header: without its port, an IPv6 literal
/// without its brackets.
fn host_name(host: &str) -> String {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_owned();
    }
    host.split(':').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_comes_from_the_query_first() {
        let h = headers(&[("cookie", "token=from-cookie")]);
        assert_eq!(token(Some("token=abc"), &h), "abc");
    }

    #[test]
    fn the_token_inside_a_path_parameter_is_found() {
        let h = HeaderMap::new();
        assert_eq!(token(Some("path=%3Ftoken%3Dxyz"), &h), "xyz");
        assert_eq!(token(Some("path=websockify%3Ftoken%3Dq"), &h), "q");
    }

    #[test]
    fn without_one_in_the_query_the_token_cookie_is_used() {
        let h = headers(&[("cookie", "lang=en; token=c00kie ; other=1")]);
        assert_eq!(token(None, &h), "c00kie");
        // tempest sends the console URL's query as its cookie: no token.
        let h = headers(&[("cookie", "path=%3Ftoken%3Dabc")]);
        assert_eq!(token(Some(""), &h), "");
    }

    #[test]
    fn no_origin_is_a_client_that_is_not_a_browser() {
        assert_eq!(
            check_origin(&headers(&[("host", "h:6080")]), &[], "http://h:6080/"),
            Ok(())
        );
    }

    #[test]
    fn an_origin_must_name_the_host_or_an_allowed_origin() {
        let base = "http://proxy:6080/vnc_lite.html";
        let own = headers(&[("host", "proxy:6080"), ("origin", "http://proxy:6080")]);
        assert_eq!(check_origin(&own, &[], base), Ok(()));
        let other = headers(&[("host", "proxy:6080"), ("origin", "http://evil.example")]);
        assert_eq!(check_origin(&other, &[], base), Err(Refusal::OriginHost));
        assert_eq!(
            check_origin(&other, &["evil.example".to_owned()], base),
            Ok(())
        );
        let v6 = headers(&[("host", "[::1]:6080"), ("origin", "http://[::1]:6080")]);
        assert_eq!(check_origin(&v6, &[], base), Ok(()));
    }

    #[test]
    fn an_origin_scheme_must_match_the_console_url() {
        let base = "https://proxy/vnc_lite.html";
        let plain = headers(&[("host", "proxy"), ("origin", "http://proxy")]);
        assert_eq!(check_origin(&plain, &[], base), Err(Refusal::OriginScheme));
        let forwarded = headers(&[
            ("host", "proxy"),
            ("origin", "http://proxy"),
            ("x-forwarded-proto", "https"),
        ]);
        assert_eq!(check_origin(&forwarded, &[], base), Ok(()));
        let serial = headers(&[("host", "proxy"), ("origin", "http://proxy")]);
        assert_eq!(check_origin(&serial, &[], "ws://proxy:6083/"), Ok(()));
    }

    #[test]
    fn an_origin_without_a_host_is_invalid() {
        let h = headers(&[("host", "proxy"), ("origin", "null")]);
        assert_eq!(
            check_origin(&h, &[], "http://proxy/"),
            Err(Refusal::OriginInvalid)
        );
    }
}
