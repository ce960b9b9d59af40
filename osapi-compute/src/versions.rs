//! The version documents: `GET /` (all versions; 300 Multiple Choices for
//! any other path under the root app) and `GET /v2.1` / `GET /v2` (the one
//! version). Both are unauthenticated; `/v2.1` negotiates the microversion
//! as every versioned resource does (its answers carry the version
//! headers), `/` does not.

use std::cell::RefCell;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::links::{update_link_prefix, url_join, UrlParts};
use crate::microversion::{LegacyV2, MAX_VERSION_STR, MIN_VERSION_STR};
use crate::resources::{json_bytes_response, json_response};

const DOCS_HREF: &str = "http://docs.openstack.org/";

// The documents are typed rather than built as `serde_json::Value` trees:
// `GET /v2.1` is what load balancers and clients poll most, and a typed
// document serializes without building and dropping a map per object.
// Fields are declared in alphabetical order, the order nova's (and
// `serde_json::Value`'s) output has.

/// The static part of a version entry.
struct VersionInfo {
    id: &'static str,
    status: &'static str,
    version: &'static str,
    min_version: &'static str,
    updated: &'static str,
    media_type: &'static str,
}

const V2_0: VersionInfo = VersionInfo {
    id: "v2.0",
    status: "SUPPORTED",
    version: "",
    min_version: "",
    updated: "2011-01-21T11:33:21Z",
    media_type: "application/vnd.openstack.compute+json;version=2",
};

const V2_1: VersionInfo = VersionInfo {
    id: "v2.1",
    status: "CURRENT",
    version: MAX_VERSION_STR,
    min_version: MIN_VERSION_STR,
    updated: "2013-07-23T11:33:21Z",
    media_type: "application/vnd.openstack.compute+json;version=2.1",
};

fn version_info(id: &str) -> &'static VersionInfo {
    if id == "v2.0" {
        &V2_0
    } else {
        &V2_1
    }
}

fn version_segment(id: &str) -> &'static str {
    if id.starts_with("v2.1") {
        "v2.1"
    } else {
        "v2"
    }
}

/// One entry of `links`.
#[derive(Serialize)]
pub struct Link {
    href: String,
    rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    media_type: Option<&'static str>,
}

/// One entry of `media-types`.
#[derive(Serialize)]
pub struct MediaType {
    base: &'static str,
    #[serde(rename = "type")]
    media_type: &'static str,
}

fn media_types(media_type: &'static str) -> [MediaType; 1] {
    [MediaType {
        base: "application/json",
        media_type,
    }]
}

/// A version as the all-versions document lists it.
#[derive(Serialize)]
pub struct VersionEntry {
    id: &'static str,
    links: [Link; 1],
    min_version: &'static str,
    status: &'static str,
    updated: &'static str,
    version: &'static str,
}

/// `{"versions": [...]}`.
#[derive(Serialize)]
pub struct VersionsDocument {
    versions: [VersionEntry; 2],
}

/// A version as its own document shows it.
#[derive(Serialize)]
pub struct VersionDetail {
    id: &'static str,
    links: [Link; 2],
    #[serde(rename = "media-types")]
    media_types: [MediaType; 1],
    min_version: &'static str,
    status: &'static str,
    updated: &'static str,
    version: &'static str,
}

/// `{"version": {...}}`.
#[derive(Serialize)]
pub struct VersionDocument {
    version: VersionDetail,
}

/// A version as the 300 choices document offers it.
#[derive(Serialize)]
pub struct Choice {
    id: &'static str,
    links: [Link; 1],
    #[serde(rename = "media-types")]
    media_types: [MediaType; 1],
    status: &'static str,
}

/// `{"choices": [...]}`.
#[derive(Serialize)]
pub struct ChoicesDocument {
    choices: [Choice; 2],
}

/// Version documents already rendered, by what they depend on: the
/// document (`v2.1`, `v2.0` or `versions`) and the application URL the
/// client used. A document is a pure function of the two, and clients and
/// load balancers poll them more than anything else, so each worker thread
/// serializes one once and then hands out the same bytes. Bounded: a
/// client varying its `Host` header cannot grow it past [`RENDERED_KEPT`]
/// entries (it is emptied when full).
struct Rendered {
    kind: &'static str,
    url: String,
    body: Bytes,
}

thread_local! {
    static RENDERED: RefCell<Vec<Rendered>> = const { RefCell::new(Vec::new()) };
}
const RENDERED_KEPT: usize = 16;

/// The 200 answer with the document `kind` for the application URL of
/// `request` (see [`rendered_body`]).
fn rendered<T: Serialize>(
    kind: &'static str,
    request: &Request,
    link_prefix: Option<&str>,
    document: impl FnOnce(&str) -> T,
) -> Response {
    match rendered_body(kind, request, link_prefix, document) {
        Ok(body) => json_bytes_response(StatusCode::OK, body),
        Err(answer) => *answer,
    }
}

/// The bytes of the document `kind` for the application URL of `request`,
/// made by `document` at most once per worker thread while they stay in
/// [`RENDERED`]; `Err` is the answer to a document that does not serialize.
fn rendered_body<T: Serialize>(
    kind: &'static str,
    request: &Request,
    link_prefix: Option<&str>,
    document: impl FnOnce(&str) -> T,
) -> Result<Bytes, Box<Response>> {
    let parts = UrlParts::of(request);
    // With `compute_link_prefix` the URL is rewritten first; without it
    // (the default) a cached document is found without building the URL.
    let url = link_prefix.map(|prefix| update_link_prefix(&parts.join(), Some(prefix)));
    let cached = RENDERED.with_borrow(|kept| {
        kept.iter()
            .find(|r| {
                r.kind == kind
                    && match &url {
                        Some(url) => r.url == *url,
                        None => parts.is(&r.url),
                    }
            })
            .map(|r| r.body.clone())
    });
    if let Some(body) = cached {
        return Ok(body);
    }
    let url = url.unwrap_or_else(|| parts.join());
    let document = document(&url);
    let Ok(body) = serde_json::to_vec(&document) else {
        // Answers the serialization error as every JSON answer does.
        return Err(Box::new(json_response(StatusCode::OK, document)));
    };
    let body = Bytes::from(body);
    RENDERED.with_borrow_mut(|kept| {
        if kept.len() >= RENDERED_KEPT {
            kept.clear();
        }
        kept.push(Rendered {
            kind,
            url,
            body: body.clone(),
        });
    });
    Ok(body)
}

/// `scheme://host` + script name of the request, after `compute_link_prefix`.
fn application_url(request: &Request, link_prefix: Option<&str>) -> String {
    let url = UrlParts::of(request).join();
    match link_prefix {
        None => url,
        Some(_) => update_link_prefix(&url, link_prefix),
    }
}

/// The all-versions document nova's `Versions.index` returns.
pub fn versions_document(prefix: &str) -> VersionsDocument {
    let entry = |info: &'static VersionInfo| VersionEntry {
        id: info.id,
        links: [Link {
            href: format!("{}/", url_join(&[prefix, version_segment(info.id)])),
            rel: "self",
            media_type: None,
        }],
        min_version: info.min_version,
        status: info.status,
        updated: info.updated,
        version: info.version,
    };
    VersionsDocument {
        versions: [entry(&V2_0), entry(&V2_1)],
    }
}

/// The one-version document of `VersionsV2.index` (`v2.0` for legacy `/v2`).
pub fn version_document(prefix: &str, id: &str) -> VersionDocument {
    let info = version_info(id);
    VersionDocument {
        version: VersionDetail {
            id: info.id,
            links: [
                Link {
                    href: format!("{}/", prefix.trim_end_matches('/')),
                    rel: "self",
                    media_type: None,
                },
                Link {
                    href: DOCS_HREF.to_owned(),
                    rel: "describedby",
                    media_type: Some("text/html"),
                },
            ],
            media_types: media_types(info.media_type),
            min_version: info.min_version,
            status: info.status,
            updated: info.updated,
            version: info.version,
        },
    }
}

/// The 300 `choices` document for a path the root app does not know.
pub fn choices_document(prefix: &str, path: &str) -> ChoicesDocument {
    let choice = |info: &'static VersionInfo| Choice {
        id: info.id,
        links: [Link {
            href: url_join(&[prefix, version_segment(info.id), path]),
            rel: "self",
            media_type: None,
        }],
        media_types: media_types(info.media_type),
        status: info.status,
    };
    ChoicesDocument {
        choices: [choice(&V2_0), choice(&V2_1)],
    }
}

/// The root version app (`Versions.factory`): 200 with all versions at `/`,
/// 300 with choices anywhere else.
pub fn root(link_prefix: Option<&str>, request: &Request) -> Response {
    let path = request.uri().path();
    if path.is_empty() || path == "/" {
        rendered("versions", request, link_prefix, versions_document)
    } else {
        json_response(
            StatusCode::MULTIPLE_CHOICES,
            choices_document(&application_url(request, link_prefix), path),
        )
    }
}

/// The `/v2.1` (or legacy `/v2`) version document (`VersionsV2.index`).
pub fn v2(link_prefix: Option<&str>, request: &Request) -> Response {
    match v2_body(link_prefix, request) {
        Ok(body) => json_bytes_response(StatusCode::OK, body),
        Err(answer) => *answer,
    }
}

/// The bytes of [`v2`]'s document.
pub fn v2_body(link_prefix: Option<&str>, request: &Request) -> Result<Bytes, Box<Response>> {
    let id = if request.extensions().get::<LegacyV2>().is_some() {
        "v2.0"
    } else {
        "v2.1"
    };
    rendered_body(id, request, link_prefix, |prefix| {
        version_document(prefix, id)
    })
}
