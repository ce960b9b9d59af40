//! Microversion negotiation: nova's `OpenStack-API-Version: compute X.Y` and
//! legacy `X-OpenStack-Nova-API-Version` headers, the [`ApiVersion`]
//! extractor handlers use, and the response headers every versioned answer
//! carries.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::fault::ApiError;

/// The standard microversion header.
pub const API_VERSION_HEADER: &str = "OpenStack-API-Version";
/// nova's legacy microversion header.
pub const LEGACY_API_VERSION_HEADER: &str = "X-OpenStack-Nova-API-Version";
/// [`API_VERSION_HEADER`] as a header name, parsed once rather than per lookup.
const API_VERSION: HeaderName = HeaderName::from_static("openstack-api-version");
/// [`LEGACY_API_VERSION_HEADER`] as a header name.
const LEGACY_API_VERSION: HeaderName = HeaderName::from_static("x-openstack-nova-api-version");

/// A compute API microversion `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// Always 2 for the v2.1 API.
    pub major: u32,
    /// The microversion number.
    pub minor: u32,
}

/// The lowest microversion served (`DEFAULT_API_VERSION` too).
pub const MIN_VERSION: ApiVersion = ApiVersion { major: 2, minor: 1 };
/// The highest microversion served (nova 34's maximum).
pub const MAX_VERSION: ApiVersion = ApiVersion {
    major: 2,
    minor: 104,
};
/// [`MIN_VERSION`] as the version documents print it.
pub const MIN_VERSION_STR: &str = "2.1";
/// [`MAX_VERSION`] as the version documents print it.
pub const MAX_VERSION_STR: &str = "2.104";

impl ApiVersion {
    /// A version `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        ApiVersion { major, minor }
    }

    /// True when this version is `major.minor` or later.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        *self >= ApiVersion::new(major, minor)
    }

    /// True when this version is `major.minor` or earlier.
    pub fn at_most(&self, major: u32, minor: u32) -> bool {
        *self <= ApiVersion::new(major, minor)
    }

    /// Parses `X.Y` with nova's rule (`^([1-9]\d*)\.([1-9]\d*|0)$`) or
    /// `latest`; the error is nova's 400 message. A well-formed number too
    /// large for a version here is past the maximum: nova's 406.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(MAX_VERSION);
        }
        let invalid = || {
            ApiError::BadRequest(format!(
                "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
            ))
        };
        let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
        let well_formed = |s: &str, zero_ok: bool| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (!s.starts_with('0') || (zero_ok && s == "0"))
        };
        if !well_formed(major, false) || !well_formed(minor, true) {
            return Err(invalid());
        }
        match (major.parse(), minor.parse()) {
            (Ok(major), Ok(minor)) => Ok(ApiVersion { major, minor }),
            _ => Err(unsupported(text)),
        }
    }

    /// Reads the requested version from the headers: the last `compute`
    /// entry of `OpenStack-API-Version`, else the last element of the legacy
    /// header, else 2.1. Out of range is nova's 406.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let requested = requested_version_text(headers);
        let version = match requested {
            None => return Ok(MIN_VERSION),
            Some(text) => ApiVersion::parse(&text)?,
        };
        if version < MIN_VERSION || version > MAX_VERSION {
            return Err(unsupported(&version.to_string()));
        }
        Ok(version)
    }
}

/// nova's 406 for a version outside the supported range.
fn unsupported(version: &str) -> ApiError {
    ApiError::NotAcceptable(format!(
        "Version {version} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}."
    ))
}

/// The raw version text the client asked for, as microversion-parse finds it.
fn requested_version_text(headers: &HeaderMap) -> Option<String> {
    // One walk over the request's few headers costs less than two hashed
    // lookups of these long names, on every request.
    let mut api: Vec<&str> = Vec::new();
    let mut legacy: Vec<&str> = Vec::new();
    for (name, value) in headers {
        let kept = if *name == API_VERSION {
            &mut api
        } else if *name == LEGACY_API_VERSION {
            &mut legacy
        } else {
            continue;
        };
        if let Ok(value) = value.to_str() {
            kept.push(value);
        }
    }
    let folded = |values: &[&str]| (!values.is_empty()).then(|| values.join(","));
    if let Some(value) = folded(&api) {
        let mut found = None;
        for entry in value.split(',') {
            let mut words = entry.split_whitespace();
            if let (Some(service), Some(version)) = (words.next(), words.next()) {
                if service.eq_ignore_ascii_case("compute") {
                    found = Some(version.to_string());
                }
            }
        }
        if found.is_some() {
            return found;
        }
    }
    folded(&legacy).and_then(|v| v.split(',').next_back().map(|s| s.trim().to_string()))
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Marks a request that came through `LegacyV2CompatibleWrapper` (`/v2`):
/// no negotiation, no version headers, relaxed body validation.
#[derive(Clone, Copy, Debug, Default)]
pub struct LegacyV2;

impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(MIN_VERSION))
    }
}

/// Adds nova's version headers and `Vary` entries to a response.
pub fn add_version_headers(headers: &mut HeaderMap, version: ApiVersion) {
    let (standard, legacy) = if version == MIN_VERSION {
        (
            HeaderValue::from_static("compute 2.1"),
            HeaderValue::from_static(MIN_VERSION_STR),
        )
    } else {
        let number = version.to_string();
        match (
            HeaderValue::from_str(&format!("compute {number}")),
            HeaderValue::from_str(&number),
        ) {
            (Ok(standard), Ok(legacy)) => (standard, legacy),
            _ => return,
        }
    };
    headers.insert(API_VERSION, standard);
    headers.insert(LEGACY_API_VERSION, legacy);
    headers.append(
        axum::http::header::VARY,
        HeaderValue::from_static(API_VERSION_HEADER),
    );
    headers.append(
        axum::http::header::VARY,
        HeaderValue::from_static(LEGACY_API_VERSION_HEADER),
    );
}

/// axum middleware for the API router: negotiates the version (400/406 as
/// nova, without version headers), stores it in the request extensions and
/// echoes it on the response. Legacy v2 requests are served at 2.1 silently.
pub async fn negotiate(request: Request, next: Next) -> Response {
    with_negotiated(request, |mut request, version| {
        request.extensions_mut().insert(version);
        next.run(request)
    })
    .await
}

/// What a request asks for: served at 2.1 without version headers (the
/// legacy `/v2` mode), or at a negotiated version.
enum Asked {
    LegacyV2,
    Version(ApiVersion),
}

/// The version `request` is served at, or nova's 400/406 answer.
fn asked(request: &Request) -> Result<Asked, ApiError> {
    if request.extensions().get::<LegacyV2>().is_some() {
        return Ok(Asked::LegacyV2);
    }
    ApiVersion::from_headers(request.headers()).map(Asked::Version)
}

/// What [`negotiate`] does, around any handler, which gets the version
/// beside the request.
pub async fn with_negotiated<F, Fut>(request: Request, handler: F) -> Response
where
    F: FnOnce(Request, ApiVersion) -> Fut,
    Fut: Future<Output = Response>,
{
    match asked(&request) {
        Err(err) => err.into_response(),
        Ok(Asked::LegacyV2) => handler(request, MIN_VERSION).await,
        Ok(Asked::Version(version)) => {
            let mut response = handler(request, version).await;
            add_version_headers(response.headers_mut(), version);
            response
        }
    }
}

/// The 200 JSON answer of an app that negotiates like any versioned
/// resource and answers at once with the bytes `body` makes (an `Err` is
/// answered as it is, with the version headers). The version app uses it
/// rather than an axum router and layer, which cost several allocations
/// per request on the most polled path of the API.
pub fn answer_json_negotiated(
    request: Request,
    body: impl FnOnce(&Request) -> Result<Bytes, Box<Response>>,
) -> Response {
    let version = match asked(&request) {
        Err(err) => return err.into_response(),
        Ok(Asked::LegacyV2) => None,
        Ok(Asked::Version(version)) => Some(version),
    };
    match body(&request) {
        Ok(bytes) => {
            let mut response = Response::new(axum::body::Body::from(bytes));
            *response.headers_mut() = json_headers(version);
            response
        }
        Err(mut answer) => {
            if let Some(version) = version {
                add_version_headers(answer.headers_mut(), version);
            }
            *answer
        }
    }
}

/// The headers of a JSON answer at `version` (`None`: the legacy `/v2`
/// mode, without version headers): the content type, then what
/// [`add_version_headers`] adds. Made once per worker thread and version
/// and cloned after: a clone copies the table, where inserting hashes
/// every name again (five inserts measured three times a clone).
fn json_headers(version: Option<ApiVersion>) -> HeaderMap {
    thread_local! {
        static MADE: RefCell<Vec<(Option<ApiVersion>, HeaderMap)>> = const { RefCell::new(Vec::new()) };
    }
    /// Clients ask for a handful of versions; a client cycling through all
    /// of them cannot grow the table past this.
    const KEPT: usize = 8;
    MADE.with_borrow_mut(|made| {
        if let Some((_, headers)) = made.iter().find(|(v, _)| *v == version) {
            return headers.clone();
        }
        let mut headers = HeaderMap::with_capacity(12);
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(version) = version {
            add_version_headers(&mut headers, version);
        }
        if made.len() >= KEPT {
            made.clear();
        }
        made.push((version, headers.clone()));
        headers
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn printed_bounds_match_the_bounds() {
        assert_eq!(MIN_VERSION.to_string(), MIN_VERSION_STR);
        assert_eq!(MAX_VERSION.to_string(), MAX_VERSION_STR);
    }

    #[test]
    fn parse_accepts_nova_forms_and_rejects_others() {
        assert_eq!(ApiVersion::parse("2.47").unwrap(), ApiVersion::new(2, 47));
        assert_eq!(ApiVersion::parse("2.0").unwrap(), ApiVersion::new(2, 0));
        assert_eq!(ApiVersion::parse("latest").unwrap(), MAX_VERSION);
        for bad in ["2", "2.", ".1", "02.1", "2.01", "a.b", "2.1.1", ""] {
            assert!(
                matches!(ApiVersion::parse(bad), Err(ApiError::BadRequest(_))),
                "{bad} accepted"
            );
        }
        for too_large in ["2.4294967296", "4294967296.1"] {
            assert!(
                matches!(
                    ApiVersion::parse(too_large),
                    Err(ApiError::NotAcceptable(_))
                ),
                "{too_large}"
            );
        }
    }

    #[test]
    fn standard_header_wins_and_last_compute_entry_counts() {
        let h = headers(&[
            (
                "OpenStack-API-Version",
                "volume 3.1, compute 2.10, COMPUTE 2.20",
            ),
            ("X-OpenStack-Nova-API-Version", "2.5"),
        ]);
        assert_eq!(
            ApiVersion::from_headers(&h).unwrap(),
            ApiVersion::new(2, 20)
        );
    }

    #[test]
    fn legacy_header_used_when_standard_names_no_compute() {
        let h = headers(&[
            ("OpenStack-API-Version", "volume 3.1"),
            ("X-OpenStack-Nova-API-Version", "2.3, 2.7"),
        ]);
        assert_eq!(ApiVersion::from_headers(&h).unwrap(), ApiVersion::new(2, 7));
        assert_eq!(
            ApiVersion::from_headers(&HeaderMap::new()).unwrap(),
            MIN_VERSION
        );
    }

    #[test]
    fn out_of_range_is_406_with_nova_message() {
        let err = ApiVersion::from_headers(&headers(&[("OpenStack-API-Version", "compute 2.105")]))
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 406);
        assert_eq!(
            err.client_message(),
            "Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
        );
    }
}
