//! What every mode shares: where the request arrived ([`Origin`], from
//! its scheme, `Host` and mount point, unless the paste section configures
//! the URLs), the version documents, the service catalogue, and the
//! collection body.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use nova_paste::http::ScriptName;

use super::{IdentityOptions, Options, IDENTITY_VERSION};

/// The base URL of the request (`<scheme>://<Host>`) and the mount point.
#[derive(Clone, Debug)]
pub struct Origin {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) script_name: String,
}

impl Origin {
    /// Where a request with `headers` and `extensions` arrived.
    pub fn of(headers: &HeaderMap, extensions: &axum::http::Extensions) -> Self {
        let scheme = nova_paste::http::url_scheme(extensions).to_string();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or("localhost")
            .to_string();
        let script_name = extensions
            .get::<ScriptName>()
            .map(|s| s.0.trim_end_matches('/').to_string())
            .unwrap_or_default();
        Origin {
            scheme,
            host,
            script_name,
        }
    }

    /// `<scheme>://<Host>`.
    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// The host without its port (for endpoints on other ports).
    pub fn host_name(&self) -> &str {
        if let Some(rest) = self.host.strip_prefix('[') {
            // An IPv6 literal: keep the brackets, drop the port.
            return rest
                .split(']')
                .next()
                .map(|h| &self.host[..h.len() + 2])
                .unwrap_or(&self.host);
        }
        self.host.split(':').next().unwrap_or(&self.host)
    }

    /// This app's URL: the configured one, else the request's base and
    /// mount point.
    pub fn identity_url(&self, options: &IdentityOptions) -> String {
        options
            .identity_endpoint
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.base(), self.script_name))
    }
}

/// Everything a handler needs from the request's parts.
pub struct Call {
    /// Where the request arrived.
    pub origin: Origin,
    /// Its headers.
    pub headers: HeaderMap,
}

impl Call {
    /// The parts of `request`.
    pub fn of(request: &Request) -> Self {
        Call {
            origin: Origin::of(request.headers(), request.extensions()),
            headers: request.headers().clone(),
        }
    }
}

pub(crate) fn version_object(identity_url: &str) -> Value {
    json!({
        "id": IDENTITY_VERSION,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{identity_url}/v3/")}],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"
        }]
    })
}

/// `GET /`: the version list.
pub async fn versions(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let url = call.origin.identity_url(&options);
    (
        StatusCode::MULTIPLE_CHOICES,
        axum::Json(json!({"versions": {"values": [version_object(&url)]}})),
    )
        .into_response()
}

/// `GET /v3`: this version.
pub async fn version(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let url = call.origin.identity_url(&options);
    axum::Json(json!({"version": version_object(&url)})).into_response()
}

fn endpoint(id: &str, region: &str, url: &str) -> Vec<Value> {
    // One endpoint per interface: clients pick `public` by default but
    // some configurations ask for `internal` or `admin`.
    ["public", "internal", "admin"]
        .iter()
        .map(|interface| {
            json!({
                "id": format!("{id}-{interface}"),
                "interface": interface,
                "region": region,
                "region_id": region,
                "url": url,
            })
        })
        .collect()
}

/// The service catalogue for a request arriving at `origin`.
pub fn catalog(origin: &Origin, options: &IdentityOptions) -> Value {
    let region = options.region_name.as_str();
    let base = origin.base();
    let compute = options
        .compute_endpoint
        .clone()
        .unwrap_or_else(|| format!("{base}/v2.1"));
    let image = options
        .image_endpoint
        .clone()
        .unwrap_or_else(|| format!("{base}/image"));
    let network = options
        .network_endpoint
        .clone()
        .unwrap_or_else(|| format!("{base}/network"));
    let ec2 = options.ec2_endpoint.clone().unwrap_or_else(|| {
        format!(
            "{}://{}:{}/",
            origin.scheme,
            origin.host_name(),
            options.ec2_port
        )
    });
    let identity = origin.identity_url(options);
    json!([
        {"type": "compute", "name": "nova", "id": "compute",
         "endpoints": endpoint("compute", region, &compute)},
        {"type": "image", "name": "glance", "id": "image",
         "endpoints": endpoint("image", region, &image)},
        {"type": "network", "name": "neutron", "id": "network",
         "endpoints": endpoint("network", region, &network)},
        {"type": "identity", "name": "keystone", "id": "identity",
         "endpoints": endpoint("identity", region, &identity)},
        {"type": "ec2", "name": "ec2", "id": "ec2",
         "endpoints": endpoint("ec2", region, &ec2)},
    ])
}

/// A Keystone collection body: `{key: items, "links": {...}}`.
pub fn collection(key: &str, items: Vec<Value>, self_url: String) -> Response {
    axum::Json(json!({ key: items, "links": {"self": self_url, "previous": null, "next": null}}))
        .into_response()
}

/// A token as the header it is handed out in: latin-1, so that the bytes
/// a client sends back read (in noauth2 too) as the same user and project.
/// A name beyond latin-1 goes out as UTF-8; it then reads back as other,
/// but still the same, characters on every request.
pub fn token_header(token: &str) -> Option<HeaderValue> {
    nova_paste::http::latin1_header_value(token).or_else(|| HeaderValue::from_str(token).ok())
}

/// The object under `key` of a JSON request body (`{"user": {...}}`);
/// 400 in Keystone's words when the body is not JSON or lacks it.
pub async fn body_object(
    request: Request,
    key: &str,
) -> Result<serde_json::Map<String, Value>, super::errors::IdentityError> {
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| {
            super::errors::IdentityError::bad_request("Request body is too large or unreadable.")
        })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
        super::errors::IdentityError::bad_request("Malformed request body: it is not JSON.")
    })?;
    match value.get(key) {
        Some(Value::Object(map)) => Ok(map.clone()),
        _ => Err(super::errors::IdentityError::bad_request(format!(
            "Invalid input for field '{key}': expected an object."
        ))),
    }
}

/// A string field of a request object: `Ok(None)` when absent or null,
/// 400 when not a string.
pub fn string_field(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, super::errors::IdentityError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(super::errors::IdentityError::bad_request(format!(
            "Invalid input for field '{field}': expected a string."
        ))),
    }
}

/// A boolean field of a request object: `Ok(None)` when absent, 400 when
/// not a boolean.
pub fn bool_field(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<bool>, super::errors::IdentityError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(super::errors::IdentityError::bad_request(format!(
            "Invalid input for field '{field}': expected a boolean."
        ))),
    }
}

/// A query filter that is a boolean (`enabled=true`, `enabled=0`).
pub fn query_bool(value: Option<&String>) -> Option<bool> {
    value.map(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        )
    })
}
