//! The version documents: `GET /` (all versions; 300 Multiple Choices for
//! any other path under the root app) and `GET /v2.1` / `GET /v2` (the one
//! version). Both are unauthenticated and do not negotiate microversions.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::links::{update_link_prefix, url_join};
use crate::microversion::{LegacyV2, MAX_VERSION, MIN_VERSION};

const DOCS_HREF: &str = "http://docs.openstack.org/";

/// The static part of a version entry: (id, status, version, min_version,
/// updated, media type).
fn version_info(
    id: &str,
) -> (
    String,
    &'static str,
    String,
    String,
    &'static str,
    &'static str,
) {
    if id == "v2.0" {
        (
            "v2.0".into(),
            "SUPPORTED",
            String::new(),
            String::new(),
            "2011-01-21T11:33:21Z",
            "application/vnd.openstack.compute+json;version=2",
        )
    } else {
        (
            "v2.1".into(),
            "CURRENT",
            MAX_VERSION.to_string(),
            MIN_VERSION.to_string(),
            "2013-07-23T11:33:21Z",
            "application/vnd.openstack.compute+json;version=2.1",
        )
    }
}

fn version_segment(id: &str) -> &'static str {
    if id.starts_with("v2.1") {
        "v2.1"
    } else {
        "v2"
    }
}

fn media_types(media: &str) -> Value {
    json!([{ "base": "application/json", "type": media }])
}

/// `scheme://host` + script name of the request, after `compute_link_prefix`.
fn application_url(request: &Request, link_prefix: Option<&str>) -> String {
    let scheme = request
        .extensions()
        .get::<common::http::UrlScheme>()
        .map(|s| s.0.clone())
        .unwrap_or_else(|| "http".into());
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let script = request
        .extensions()
        .get::<common::http::ScriptName>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    update_link_prefix(&format!("{scheme}://{host}{script}"), link_prefix)
}

/// The all-versions document nova's `Versions.index` returns.
pub fn versions_document(prefix: &str) -> Value {
    let versions: Vec<Value> = ["v2.0", "v2.1"]
        .iter()
        .map(|id| {
            let (id, status, version, min_version, updated, _) = version_info(id);
            json!({
                "id": id,
                "status": status,
                "version": version,
                "min_version": min_version,
                "updated": updated,
                "links": [{"rel": "self", "href": format!("{}/", url_join(&[prefix, version_segment(&id)]))}],
            })
        })
        .collect();
    json!({ "versions": versions })
}

/// The one-version document of `VersionsV2.index` (`v2.0` for legacy `/v2`).
pub fn version_document(prefix: &str, id: &str) -> Value {
    let (id, status, version, min_version, updated, media) = version_info(id);
    json!({
        "version": {
            "id": id,
            "status": status,
            "version": version,
            "min_version": min_version,
            "updated": updated,
            "links": [
                {"rel": "self", "href": format!("{}/", prefix.trim_end_matches('/'))},
                {"rel": "describedby", "type": "text/html", "href": DOCS_HREF},
            ],
            "media-types": media_types(media),
        }
    })
}

/// The 300 `choices` document for a path the root app does not know.
pub fn choices_document(prefix: &str, path: &str) -> Value {
    let choices: Vec<Value> = ["v2.0", "v2.1"]
        .iter()
        .map(|id| {
            let (id, status, _, _, _, media) = version_info(id);
            json!({
                "id": id,
                "status": status,
                "links": [{"rel": "self", "href": url_join(&[prefix, version_segment(&id), path])}],
                "media-types": media_types(media),
            })
        })
        .collect();
    json!({ "choices": choices })
}

/// The root version app (`Versions.factory`): 200 with all versions at `/`,
/// 300 with choices anywhere else.
pub async fn root(link_prefix: Option<String>, request: Request) -> Response {
    let prefix = application_url(&request, link_prefix.as_deref());
    let path = request.uri().path().to_string();
    if path.is_empty() || path == "/" {
        Json(versions_document(&prefix)).into_response()
    } else {
        (
            StatusCode::MULTIPLE_CHOICES,
            Json(choices_document(&prefix, &path)),
        )
            .into_response()
    }
}

/// The `/v2.1` (or legacy `/v2`) version app (`VersionsV2.factory`).
pub async fn v2(link_prefix: Option<String>, request: Request) -> Response {
    let prefix = application_url(&request, link_prefix.as_deref());
    let id = if request.extensions().get::<LegacyV2>().is_some() {
        "v2.0"
    } else {
        "v2.1"
    };
    Json(version_document(&prefix, id)).into_response()
}
