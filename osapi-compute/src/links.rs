//! Links and pagination as nova builds them: `self`/`bookmark` links,
//! `limit`/`marker` parsing and the `<collection>_links` `next` entry.
//!
//! Absolute URLs come from the request: scheme (`UrlScheme`, set by
//! `http_proxy_to_wsgi`), the `Host` header and the `ScriptName` a urlmap
//! consumed (e.g. `/v2.1`), optionally rewritten by `[api] compute_link_prefix`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{json, Value};

use crate::fault::ApiError;
use crate::state::ApiState;

/// Set by the router when the URL carried `/{project_id}/`: links then
/// carry the project too, as nova's do.
#[derive(Clone, Debug)]
pub struct ProjectInUrl(pub String);

/// What a handler needs to build nova's links for this request.
#[derive(Clone, Debug)]
pub struct RequestUrls {
    /// `scheme://host` + script name, after `compute_link_prefix`.
    pub application_url: String,
    /// The same without a trailing `/v2` or `/v2.1` (for bookmarks).
    pub base_url: String,
    /// The project id segment when the URL had one.
    pub project: Option<String>,
    /// The query string pairs, in request order.
    pub query: Vec<(String, String)>,
    /// `[api] max_limit`.
    pub max_limit: usize,
    /// `[api] glance_link_prefix`.
    pub glance_link_prefix: Option<String>,
    /// `scheme://host` + script name, before any prefix rewrite.
    pub raw_application_url: String,
}

/// Joins URL parts as nova's `url_join`: strips `/` around each non-empty
/// part, joins with `/`.
pub fn url_join(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_matches('/'))
        .collect::<Vec<_>>()
        .join("/")
}

/// Replaces scheme and host of `url` with those of `prefix` and prepends
/// the prefix's path (nova's `_update_link_prefix`).
pub fn update_link_prefix(url: &str, prefix: Option<&str>) -> String {
    let Some(prefix) = prefix else {
        return url.to_string();
    };
    let (Ok(orig), Ok(pre)) = (url::Url::parse(url), url::Url::parse(prefix)) else {
        return url.to_string();
    };
    let mut out = format!("{}://{}", pre.scheme(), pre.host_str().unwrap_or(""));
    if let Some(port) = pre.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(pre.path().trim_end_matches('/'));
    out.push_str(orig.path());
    if let Some(q) = orig.query() {
        out.push('?');
        out.push_str(q);
    }
    out.trim_end_matches('/').to_string()
}

/// Strips a trailing version segment (`/v2`, `/v2.1`) from an href, as
/// nova's `remove_trailing_version_from_href`.
pub fn remove_trailing_version(href: &str) -> String {
    let trimmed = href.trim_end_matches('/');
    if let Some((head, last)) = trimmed.rsplit_once('/') {
        let is_version = last.len() > 1
            && last.starts_with('v')
            && last[1..]
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if is_version {
            return head.to_string();
        }
    }
    trimmed.to_string()
}

impl FromRequestParts<ApiState> for RequestUrls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let scheme = nova_paste::http::url_scheme(&parts.extensions).to_string();
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_string());
        let script = parts
            .extensions
            .get::<nova_paste::http::ScriptName>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let raw = format!("{scheme}://{host}{script}");
        let prefix = state.config.compute_link_prefix.as_deref();
        let application_url = update_link_prefix(&raw, prefix);
        let base_url = update_link_prefix(&remove_trailing_version(&raw), prefix);
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ok(RequestUrls {
            application_url,
            base_url,
            project: parts.extensions.get::<ProjectInUrl>().map(|p| p.0.clone()),
            query,
            max_limit: state.config.max_limit,
            glance_link_prefix: state.config.glance_link_prefix.clone(),
            raw_application_url: raw,
        })
    }
}

impl RequestUrls {
    fn project(&self) -> &str {
        self.project.as_deref().unwrap_or("")
    }

    /// The versioned `self` href of `collection/id`.
    pub fn href(&self, collection: &str, id: &str) -> String {
        url_join(&[&self.application_url, self.project(), collection, id])
    }

    /// The unversioned `bookmark` href of `collection/id`.
    pub fn bookmark(&self, collection: &str, id: &str) -> String {
        url_join(&[&self.base_url, self.project(), collection, id])
    }

    /// nova's `links` pair: `self` then `bookmark`.
    pub fn links(&self, collection: &str, id: &str) -> Value {
        json!([
            {"rel": "self", "href": self.href(collection, id)},
            {"rel": "bookmark", "href": self.bookmark(collection, id)},
        ])
    }

    /// The `next` link of a page: the sorted query with `marker` replaced.
    pub fn next_link(&self, collection: &str, marker: &str) -> String {
        let mut params: std::collections::BTreeMap<String, String> =
            std::collections::BTreeMap::new();
        for (k, v) in &self.query {
            params.insert(k.clone(), v.clone());
        }
        params.remove("marker");
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            query.append_pair(k, v);
        }
        query.append_pair("marker", marker);
        format!(
            "{}?{}",
            url_join(&[&self.application_url, self.project(), collection]),
            query.finish()
        )
    }

    /// The `<collection>_links` value for a page of `count` items whose
    /// last id is `last_id`: a `next` link when the page is full, as nova's
    /// `_get_collection_links`.
    pub fn collection_links(
        &self,
        collection: &str,
        count: usize,
        last_id: Option<&str>,
    ) -> Option<Value> {
        let requested = self
            .query
            .iter()
            .rev()
            .find(|(k, _)| k == "limit")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(self.max_limit);
        let max_items = requested.min(self.max_limit);
        match last_id {
            Some(last) if max_items > 0 && max_items == count => {
                Some(json!([{"rel": "next", "href": self.next_link(collection, last)}]))
            }
            _ => None,
        }
    }

    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of query parameter `name`, in order.
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `limit` and `marker` of a list request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// min(limit, max_limit); max_limit when absent.
    pub limit: usize,
    /// The id of the last item already seen.
    pub marker: Option<String>,
}

impl Page {
    /// Reads `limit`/`marker` from the query with nova's query-schema
    /// message for a bad limit.
    pub fn from_urls(urls: &RequestUrls) -> Result<Self, ApiError> {
        let limit = match urls.param("limit") {
            None => urls.max_limit,
            Some(raw) => {
                if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ApiError::BadRequest(format!(
                        "Invalid input for query parameters limit. Value: {raw}. '{raw}' does not match '^[0-9]*$'"
                    )));
                }
                raw.parse::<usize>()
                    .unwrap_or(usize::MAX)
                    .min(urls.max_limit)
            }
        };
        Ok(Page {
            limit,
            marker: urls.param("marker").map(str::to_string),
        })
    }
}

/// The parts of a request's application URL (WSGI's `application_url`),
/// before `compute_link_prefix`: scheme, `://`, `Host`, script name.
pub(crate) struct UrlParts<'a>([&'a str; 4]);

impl<'a> UrlParts<'a> {
    /// The parts of `request`'s application URL.
    pub(crate) fn of(request: &'a axum::extract::Request) -> Self {
        let scheme = nova_paste::http::url_scheme(request.extensions());
        let host = request
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let script = request
            .extensions()
            .get::<nova_paste::http::ScriptName>()
            .map_or("", |s| s.0.as_str());
        UrlParts([scheme, "://", host, script])
    }

    /// Whether `url` is these parts joined, without joining them.
    pub(crate) fn is(&self, url: &str) -> bool {
        let mut rest = url;
        for part in self.0 {
            match rest.strip_prefix(part) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The application URL.
    pub(crate) fn join(&self) -> String {
        self.0.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_join_and_version_strip_follow_nova() {
        assert_eq!(
            url_join(&["http://h/v2.1/", "", "servers", "x"]),
            "http://h/v2.1/servers/x"
        );
        assert_eq!(
            remove_trailing_version("http://h/compute/v2.1"),
            "http://h/compute"
        );
        assert_eq!(remove_trailing_version("http://h/v2"), "http://h");
        assert_eq!(
            remove_trailing_version("http://h/compute"),
            "http://h/compute"
        );
    }

    #[test]
    fn link_prefix_replaces_host_and_prepends_path() {
        assert_eq!(
            update_link_prefix(
                "http://10.0.0.1:8774/v2.1",
                Some("https://cloud.example/compute")
            ),
            "https://cloud.example/compute/v2.1"
        );
        assert_eq!(update_link_prefix("http://h/v2.1", None), "http://h/v2.1");
    }
}
