//! A small Identity v3 endpoint for noauth2 deployments, so that clients
//! configured with an ordinary `clouds.yaml` (password or token auth) work
//! without a separate Keystone.
//!
//! It checks no password: like nova's noauth2 it trusts the caller. A token
//! it mints is the text `user:project`, exactly what noauth2 parses from
//! `X-Auth-Token`, so the token a client gets here is accepted by the
//! compute API as is. The user `admin` gets the `admin` role, as noauth2
//! makes `admin` an admin. The service catalogue lists compute, image,
//! network, identity and ec2 endpoints; their URLs come from [`IdentityOptions`] or,
//! when not configured, from the request's own scheme and `Host`.
//!
//! Served paths (relative to where the app is mounted, e.g. `/identity`):
//! `/` (300 version list), `/v3`, `POST|GET|HEAD|DELETE /v3/auth/tokens`,
//! `/v3/auth/catalog`, `/v3/auth/projects`, `/v3/projects[/{id}]`,
//! `/v3/users[/{id}]`, `/v3/domains[/{id}]`. Errors use Keystone's body
//! `{"error": {"code", "message", "title"}}`.

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use nova_paste::http::ScriptName;

/// The Identity API version this endpoint claims (Keystone 2023.x's).
const IDENTITY_VERSION: &str = "v3.14";
/// The one domain there is.
const DEFAULT_DOMAIN_ID: &str = "default";
const DEFAULT_DOMAIN_NAME: &str = "Default";
/// How long a minted token claims to be valid. Nothing checks it (the
/// token is `user:project`); clients only need a future `expires_at`.
const TOKEN_LIFETIME_HOURS: i64 = 24;

/// Where the catalogue points and what it calls the region. Each URL left
/// `None` is built from the request (`<scheme>://<Host>` plus the usual
/// path), which is right whenever clients reach every API through the same
/// host name.
///
/// Read from the identity app's paste section (`local_conf`) by
/// [`IdentityOptions::from_raw`]:
///
/// ```ini
/// [app:identity]
/// compute_endpoint = https://cloud.example.com:8774/v2.1
/// image_endpoint = https://cloud.example.com:8774/image
/// network_endpoint = https://cloud.example.com:8774/network
/// ec2_endpoint = https://cloud.example.com:8773/
/// region_name = RegionOne
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityOptions {
    /// `compute_endpoint`: the Compute API v2.1 URL (default `<base>/v2.1`).
    pub compute_endpoint: Option<String>,
    /// `image_endpoint`: the Image API URL, unversioned (default `<base>/image`).
    pub image_endpoint: Option<String>,
    /// `network_endpoint`: the Network API URL, unversioned (default `<base>/network`).
    pub network_endpoint: Option<String>,
    /// `identity_endpoint`: this endpoint's URL (default `<base><mount point>`).
    pub identity_endpoint: Option<String>,
    /// `ec2_endpoint`: the EC2 API URL (default `<scheme>://<host name>:<ec2_port>/`).
    pub ec2_endpoint: Option<String>,
    /// `ec2_port`: the port of the default EC2 URL; unset, nova.conf's
    /// `[DEFAULT] ec2_listen_port` (8773; see [`IdentityOptions::from_raw_over`]).
    pub ec2_port: u16,
    /// `region_name`: the region of every endpoint (`RegionOne`).
    pub region_name: String,
}

impl Default for IdentityOptions {
    fn default() -> Self {
        IdentityOptions {
            compute_endpoint: None,
            image_endpoint: None,
            network_endpoint: None,
            identity_endpoint: None,
            ec2_endpoint: None,
            ec2_port: 8773,
            region_name: "RegionOne".into(),
        }
    }
}

/// A bad option value of the identity app; names the option and the value.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for identity option {option}: {reason}")]
pub struct IdentityOptionError {
    /// The option name.
    pub option: String,
    /// The value as given.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl IdentityOptions {
    /// Builds the options from a lookup of the app's paste `local_conf`
    /// (absent or empty options keep their defaults).
    pub fn from_raw(get: impl Fn(&str) -> Option<String>) -> Result<Self, IdentityOptionError> {
        Self::from_raw_over(IdentityOptions::default(), get)
    }

    /// As [`IdentityOptions::from_raw`], over `defaults` instead of ours:
    /// the factory's defaults carry nova.conf's `ec2_listen_port`, so the
    /// catalogue's EC2 URL follows the port ec2-api is configured on.
    pub fn from_raw_over(
        defaults: IdentityOptions,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, IdentityOptionError> {
        let mut options = defaults;
        let url = |name: &str| -> Result<Option<String>, IdentityOptionError> {
            match get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                None => Ok(None),
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
                Some(v) => Err(IdentityOptionError {
                    option: name.into(),
                    value: v,
                    reason: "expected an http:// or https:// URL".into(),
                }),
            }
        };
        options.compute_endpoint = url("compute_endpoint")?;
        options.image_endpoint = url("image_endpoint")?;
        options.network_endpoint = url("network_endpoint")?;
        options.identity_endpoint = url("identity_endpoint")?;
        options.ec2_endpoint = url("ec2_endpoint")?;
        if let Some(port) = get("ec2_port").filter(|v| !v.trim().is_empty()) {
            options.ec2_port = port.trim().parse().map_err(|_| IdentityOptionError {
                option: "ec2_port".into(),
                value: port.clone(),
                reason: "expected a port number".into(),
            })?;
        }
        if let Some(region) = get("region_name").filter(|v| !v.trim().is_empty()) {
            options.region_name = region.trim().to_string();
        }
        Ok(options)
    }
}

/// The Identity v3 app: mount it under a prefix (`/identity` in the sample
/// api-paste.ini) and point clients' `auth_url` at `<prefix>/v3`. Without
/// a store it serves no EC2 credentials (see
/// [`identity_router_with_ec2_credentials`]).
pub fn identity_router(options: IdentityOptions) -> Router {
    build(Shared {
        options,
        compute: None,
    })
}

/// The same app plus Keystone's OS-EC2 credential API
/// (`/v3/users/{user_id}/credentials/OS-EC2[/{access}]`) over the compute
/// domain's EC2 credentials, so that `openstack ec2 credentials create`
/// hands out keys the EC2 API accepts.
pub fn identity_router_with_ec2_credentials(
    options: IdentityOptions,
    state: crate::state::ApiState,
) -> Router {
    build(Shared {
        options,
        compute: Some(state.compute),
    })
}

/// What every handler of the app shares.
struct Shared {
    options: IdentityOptions,
    compute: Option<std::sync::Arc<compute::Compute>>,
}

impl std::ops::Deref for Shared {
    type Target = IdentityOptions;

    fn deref(&self) -> &IdentityOptions {
        &self.options
    }
}

fn build(shared: Shared) -> Router {
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route("/v3/", get(version))
        .route(
            "/v3/auth/tokens",
            get(validate_token)
                .head(check_token)
                .post(issue_token)
                .delete(revoke_token),
        )
        .route("/v3/auth/catalog", get(auth_catalog))
        .route("/v3/auth/projects", get(auth_projects))
        .route("/v3/projects", get(list_projects))
        .route(
            "/v3/projects/{id}",
            get(show_project)
                .patch(project_not_held)
                .delete(project_not_held),
        )
        .route("/v3/users", get(list_users))
        .route(
            "/v3/users/{id}",
            get(show_user).patch(user_not_held).delete(user_not_held),
        )
        .route("/v3/domains", get(list_domains))
        .route("/v3/domains/{id}", get(show_domain))
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2",
            get(list_ec2_credentials).post(create_ec2_credential),
        )
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2/{access}",
            get(show_ec2_credential).delete(delete_ec2_credential),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(std::sync::Arc::new(shared))
}

type Options = State<std::sync::Arc<Shared>>;

/// A Keystone-style error.
#[derive(Debug)]
struct IdentityError {
    status: StatusCode,
    message: String,
}

impl IdentityError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        IdentityError {
            status,
            message: message.into(),
        }
    }

    fn unauthorized() -> Self {
        IdentityError::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    fn bad_request(message: impl Into<String>) -> Self {
        IdentityError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for IdentityError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({"error": {"code": self.status.as_u16(), "message": self.message, "title": title}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Keystone uri=\"\""),
            );
        }
        response
    }
}

async fn not_found() -> IdentityError {
    IdentityError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
}

/// A method the path does not serve, in Keystone's words (the router adds
/// the `Allow` header).
async fn method_not_allowed() -> IdentityError {
    IdentityError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
}

/// Who a token names: noauth2's `user:project` split.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Principal {
    user: String,
    /// `None` for an unscoped token.
    project: Option<String>,
}

impl Principal {
    /// Parses a noauth2 token: `user:project`, or `user` alone (then the
    /// project is the user, as noauth2 does).
    fn from_token(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        let (user, project) = match token.split_once(':') {
            Some((user, project)) if !project.is_empty() => (user, project),
            Some((user, _)) => (user, user),
            None => (token, token),
        };
        if user.is_empty() {
            return None;
        }
        Some(Principal {
            user: user.to_string(),
            project: Some(project.to_string()),
        })
    }

    /// The token text that noauth2 will parse back into this principal.
    fn token(&self) -> String {
        match &self.project {
            Some(project) => format!("{}:{}", self.user, project),
            None => self.user.clone(),
        }
    }

    fn is_admin(&self) -> bool {
        self.user == "admin"
    }
}

/// The base URL of the request (`<scheme>://<Host>`) and the mount point.
#[derive(Clone, Debug)]
struct Origin {
    scheme: String,
    host: String,
    script_name: String,
}

impl Origin {
    fn of(headers: &HeaderMap, extensions: &axum::http::Extensions) -> Self {
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

    fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// The host without its port (for endpoints on other ports).
    fn host_name(&self) -> &str {
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

    fn identity_url(&self, options: &IdentityOptions) -> String {
        options
            .identity_endpoint
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.base(), self.script_name))
    }
}

/// Everything a handler needs from the request's parts.
struct Call {
    origin: Origin,
    headers: HeaderMap,
}

impl Call {
    fn of(request: &Request) -> Self {
        Call {
            origin: Origin::of(request.headers(), request.extensions()),
            headers: request.headers().clone(),
        }
    }

    /// The caller, from `X-Auth-Token`; 401 without one.
    fn caller(&self) -> Result<Principal, IdentityError> {
        self.headers
            .get("x-auth-token")
            .map(nova_paste::http::latin1)
            .and_then(|token| Principal::from_token(&token))
            .ok_or_else(IdentityError::unauthorized)
    }
}

fn version_object(identity_url: &str) -> Value {
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

async fn versions(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let url = call.origin.identity_url(&options);
    (
        StatusCode::MULTIPLE_CHOICES,
        axum::Json(json!({"versions": {"values": [version_object(&url)]}})),
    )
        .into_response()
}

async fn version(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let url = call.origin.identity_url(&options);
    axum::Json(json!({"version": version_object(&url)})).into_response()
}

fn domain_ref() -> Value {
    json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME})
}

fn roles_of(principal: &Principal) -> Vec<Value> {
    let mut roles = Vec::new();
    if principal.is_admin() {
        roles.push(json!({"id": "admin", "name": "admin"}));
    }
    roles.push(json!({"id": "member", "name": "member"}));
    roles.push(json!({"id": "reader", "name": "reader"}));
    roles
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
fn catalog(origin: &Origin, options: &IdentityOptions) -> Value {
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

fn project_ref(id: &str) -> Value {
    json!({"id": id, "name": id, "domain": domain_ref()})
}

/// Keystone's token body for `principal`.
fn token_body(
    principal: &Principal,
    methods: &[&str],
    origin: &Origin,
    options: &IdentityOptions,
) -> Value {
    let now = Utc::now();
    let format = "%Y-%m-%dT%H:%M:%S%.6fZ";
    let mut token = Map::new();
    token.insert("methods".into(), json!(methods));
    token.insert(
        "user".into(),
        json!({"id": principal.user, "name": principal.user, "domain": domain_ref(),
               "password_expires_at": null}),
    );
    token.insert(
        "audit_ids".into(),
        json!([uuid::Uuid::new_v4().simple().to_string()[..22].to_string()]),
    );
    token.insert("issued_at".into(), json!(now.format(format).to_string()));
    token.insert(
        "expires_at".into(),
        json!((now + Duration::hours(TOKEN_LIFETIME_HOURS))
            .format(format)
            .to_string()),
    );
    if let Some(project) = &principal.project {
        token.insert("project".into(), project_ref(project));
        token.insert("is_domain".into(), json!(false));
        token.insert("roles".into(), json!(roles_of(principal)));
        token.insert("catalog".into(), catalog(origin, options));
    }
    json!({ "token": token })
}

/// The parts of a `POST /v3/auth/tokens` body this endpoint reads.
#[derive(Debug, Deserialize)]
struct AuthRequest {
    auth: Auth,
}

#[derive(Debug, Deserialize)]
struct Auth {
    identity: AuthIdentity,
    #[serde(default)]
    scope: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct AuthIdentity {
    methods: Vec<String>,
    #[serde(default)]
    password: Option<Value>,
    #[serde(default)]
    token: Option<Value>,
}

/// The name (or, failing that, the id) of an entity reference like
/// `{"name": "admin", "domain": {...}}` or `{"id": "admin"}`.
fn name_or_id(entity: &Value) -> Option<String> {
    ["name", "id"]
        .iter()
        .filter_map(|k| entity.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

/// Works out who asked for a token, echoing the names or ids they gave.
fn authenticate(
    auth: &Auth,
    headers: &HeaderMap,
) -> Result<(Principal, Vec<&'static str>), IdentityError> {
    let methods = &auth.identity.methods;
    let (mut principal, method) = if methods.iter().any(|m| m == "password") {
        let user = auth
            .identity
            .password
            .as_ref()
            .and_then(|p| p.get("user"))
            .and_then(name_or_id)
            .ok_or_else(|| {
                IdentityError::bad_request(
                    "Invalid input for field 'identity/password/user': expected a user name or id.",
                )
            })?;
        (
            Principal {
                user,
                project: None,
            },
            "password",
        )
    } else if methods.iter().any(|m| m == "token") {
        let token = auth
            .identity
            .token
            .as_ref()
            .and_then(|t| t.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                headers
                    .get("x-auth-token")
                    .map(|v| nova_paste::http::latin1(v).into_owned())
            })
            .ok_or_else(|| {
                IdentityError::bad_request(
                    "Invalid input for field 'identity/token/id': a token id is required.",
                )
            })?;
        let principal = Principal::from_token(&token).ok_or_else(IdentityError::unauthorized)?;
        (principal, "token")
    } else {
        return Err(IdentityError::unauthorized());
    };
    principal.project = match auth.scope.as_ref().and_then(|s| s.get("project")) {
        Some(project) => Some(name_or_id(project).ok_or_else(|| {
            IdentityError::bad_request(
                "Invalid input for field 'scope/project': expected a project name or id.",
            )
        })?),
        // A token exchange keeps the project of the old token; a password
        // login without a scope gets an unscoped token.
        None if method == "token" => principal.project,
        None => None,
    };
    Ok((principal, vec![method]))
}

async fn issue_token(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let bytes = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return IdentityError::bad_request("Request body is too large or unreadable.")
                .into_response()
        }
    };
    let parsed: AuthRequest = match serde_json::from_slice(&bytes) {
        Ok(parsed) => parsed,
        Err(_) => {
            return IdentityError::bad_request(
                "Expecting to find auth with identity and methods in the request body.",
            )
            .into_response()
        }
    };
    let (principal, methods) = match authenticate(&parsed.auth, &call.headers) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let body = token_body(&principal, &methods, &call.origin, &options);
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Some(value) = token_header(&principal.token()) {
        response.headers_mut().insert("x-subject-token", value);
    }
    response
}

/// A token as the header it is handed out in: latin-1, so that the bytes
/// a client sends back read (in noauth2 too) as the same user and project.
/// A name beyond latin-1 goes out as UTF-8; it then reads back as other,
/// but still the same, characters on every request.
fn token_header(token: &str) -> Option<HeaderValue> {
    nova_paste::http::latin1_header_value(token).or_else(|| HeaderValue::from_str(token).ok())
}

/// The subject of a validation call: `X-Subject-Token`, after checking
/// that the caller presented a token at all.
fn subject(call: &Call) -> Result<(Principal, String), IdentityError> {
    call.caller()?;
    let text = call
        .headers
        .get("x-subject-token")
        .map(|v| nova_paste::http::latin1(v).into_owned())
        .ok_or_else(|| IdentityError::new(StatusCode::NOT_FOUND, "Could not find token."))?;
    let principal = Principal::from_token(&text)
        .ok_or_else(|| IdentityError::new(StatusCode::NOT_FOUND, "Could not find token."))?;
    Ok((principal, text))
}

async fn validate_token(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    match subject(&call) {
        Ok((principal, text)) => {
            let body = token_body(&principal, &["token"], &call.origin, &options);
            let mut response = axum::Json(body).into_response();
            if let Some(value) = token_header(&text) {
                response.headers_mut().insert("x-subject-token", value);
            }
            response
        }
        Err(err) => err.into_response(),
    }
}

async fn check_token(request: Request) -> Response {
    match subject(&Call::of(&request)) {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => err.status.into_response(),
    }
}

async fn revoke_token(request: Request) -> Response {
    // Tokens are not stored, so there is nothing to revoke: accept it.
    match subject(&Call::of(&request)) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => err.into_response(),
    }
}

async fn auth_catalog(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    if let Err(err) = call.caller() {
        return err.into_response();
    }
    let url = format!("{}/v3/auth/catalog", call.origin.identity_url(&options));
    axum::Json(json!({"catalog": catalog(&call.origin, &options), "links": {"self": url}}))
        .into_response()
}

fn project_body(id: &str, identity_url: &str) -> Value {
    json!({
        "id": id,
        "name": id,
        "domain_id": DEFAULT_DOMAIN_ID,
        "description": "",
        "enabled": true,
        "is_domain": false,
        "parent_id": DEFAULT_DOMAIN_ID,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/projects/{id}")}
    })
}

fn user_body(id: &str, identity_url: &str) -> Value {
    json!({
        "id": id,
        "name": id,
        "domain_id": DEFAULT_DOMAIN_ID,
        "enabled": true,
        "password_expires_at": null,
        "options": {},
        "links": {"self": format!("{identity_url}/v3/users/{id}")}
    })
}

fn domain_body(identity_url: &str) -> Value {
    json!({
        "id": DEFAULT_DOMAIN_ID,
        "name": DEFAULT_DOMAIN_NAME,
        "description": "The default domain",
        "enabled": true,
        "tags": [],
        "options": {},
        "links": {"self": format!("{identity_url}/v3/domains/{DEFAULT_DOMAIN_ID}")}
    })
}

fn collection(key: &str, items: Vec<Value>, self_url: String) -> Response {
    axum::Json(json!({ key: items, "links": {"self": self_url, "previous": null, "next": null}}))
        .into_response()
}

/// Query filters the `openstack` CLI uses when it looks a name up.
#[derive(Debug, Deserialize)]
struct NameFilter {
    name: Option<String>,
}

async fn auth_projects(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let caller = match call.caller() {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let url = call.origin.identity_url(&options);
    let projects = caller
        .project
        .iter()
        .map(|p| project_body(p, &url))
        .collect();
    collection("projects", projects, format!("{url}/v3/auth/projects"))
}

async fn list_projects(
    State(options): Options,
    Query(filter): Query<NameFilter>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let caller = match call.caller() {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let url = call.origin.identity_url(&options);
    // Every name exists under noauth2: a lookup by name finds that project;
    // a plain listing shows the caller's own.
    let names: Vec<String> = match filter.name {
        Some(name) if !name.is_empty() => vec![name],
        _ => caller.project.into_iter().collect(),
    };
    let projects = names.iter().map(|p| project_body(p, &url)).collect();
    collection("projects", projects, format!("{url}/v3/projects"))
}

async fn show_project(
    State(options): Options,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    if let Err(err) = call.caller() {
        return err.into_response();
    }
    let url = call.origin.identity_url(&options);
    axum::Json(json!({"project": project_body(&id, &url)})).into_response()
}

/// `PATCH` and `DELETE /v3/projects/{id}`: admin only, as Keystone's
/// policy says; the noauth2 identity holds no project (any name is
/// accepted, none is stored), so there is none to change or remove: 404.
async fn project_not_held(Path(id): Path<String>, request: Request) -> IdentityError {
    not_held(&request, "project", &id)
}

/// `PATCH` and `DELETE /v3/users/{id}`: as [`project_not_held`].
async fn user_not_held(Path(id): Path<String>, request: Request) -> IdentityError {
    not_held(&request, "user", &id)
}

fn not_held(request: &Request, kind: &str, id: &str) -> IdentityError {
    let verb = if request.method() == axum::http::Method::DELETE {
        "delete"
    } else {
        "update"
    };
    match Call::of(request).caller() {
        Err(err) => err,
        Ok(caller) if !caller.is_admin() => IdentityError::new(
            StatusCode::FORBIDDEN,
            format!(
                "You are not authorized to perform the requested action: identity:{verb}_{kind}."
            ),
        ),
        Ok(_) => IdentityError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find {kind}: {id}."),
        ),
    }
}

async fn list_users(
    State(options): Options,
    Query(filter): Query<NameFilter>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let caller = match call.caller() {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let url = call.origin.identity_url(&options);
    let name = filter.name.filter(|n| !n.is_empty()).unwrap_or(caller.user);
    collection(
        "users",
        vec![user_body(&name, &url)],
        format!("{url}/v3/users"),
    )
}

async fn show_user(State(options): Options, Path(id): Path<String>, request: Request) -> Response {
    let call = Call::of(&request);
    if let Err(err) = call.caller() {
        return err.into_response();
    }
    let url = call.origin.identity_url(&options);
    axum::Json(json!({"user": user_body(&id, &url)})).into_response()
}

async fn list_domains(
    State(options): Options,
    Query(filter): Query<NameFilter>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    if let Err(err) = call.caller() {
        return err.into_response();
    }
    let url = call.origin.identity_url(&options);
    let matches = filter
        .name
        .as_deref()
        .is_none_or(|n| n == DEFAULT_DOMAIN_NAME || n == DEFAULT_DOMAIN_ID);
    let domains = if matches {
        vec![domain_body(&url)]
    } else {
        Vec::new()
    };
    collection("domains", domains, format!("{url}/v3/domains"))
}

async fn show_domain(
    State(options): Options,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    if let Err(err) = call.caller() {
        return err.into_response();
    }
    if id != DEFAULT_DOMAIN_ID && id != DEFAULT_DOMAIN_NAME {
        return IdentityError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find domain: {id}."),
        )
        .into_response();
    }
    let url = call.origin.identity_url(&options);
    axum::Json(json!({"domain": domain_body(&url)})).into_response()
}

/// The compute domain and the caller's context for a credential call.
fn credential_caller(
    shared: &Shared,
    call: &Call,
) -> Result<(std::sync::Arc<compute::Compute>, compute::RequestContext), IdentityError> {
    let compute = shared.compute.clone().ok_or_else(|| {
        IdentityError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    })?;
    let caller = call.caller()?;
    Ok((
        compute,
        crate::auth::context_from_token(&caller.token(), None),
    ))
}

/// A credential error in Keystone's words; internal ones are logged only.
fn credential_error(err: compute::Error, access: &str) -> IdentityError {
    match err {
        compute::Error::NotFound { .. } => IdentityError::new(
            StatusCode::NOT_FOUND,
            format!("Could not find credential: {access}."),
        ),
        compute::Error::Forbidden(message) => IdentityError::new(StatusCode::FORBIDDEN, message),
        other => {
            tracing::error!(error = %other, "EC2 credential operation failed");
            IdentityError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error prevented the server from fulfilling your request.",
            )
        }
    }
}

fn credential_body(credential: &compute::Ec2Credential, identity_url: &str) -> Value {
    json!({
        "user_id": credential.user_id,
        "tenant_id": credential.project_id,
        "access": credential.access,
        "secret": credential.secret,
        "trust_id": null,
        "links": {"self": format!(
            "{identity_url}/v3/users/{}/credentials/OS-EC2/{}", credential.user_id, credential.access
        )}
    })
}

/// `POST /v3/users/{user_id}/credentials/OS-EC2` with `{"tenant_id": ...}`.
async fn create_ec2_credential(
    State(shared): Options,
    Path(user_id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let Some(tenant) = body
        .get("tenant_id")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return IdentityError::bad_request(
            "Invalid input for field 'tenant_id': a project id is required.",
        )
        .into_response();
    };
    match compute
        .create_ec2_credential(&ctx, Some(&user_id), Some(tenant))
        .await
    {
        Ok(credential) => {
            let url = call.origin.identity_url(&shared);
            (
                StatusCode::CREATED,
                axum::Json(json!({"credential": credential_body(&credential, &url)})),
            )
                .into_response()
        }
        Err(err) => credential_error(err, "").into_response(),
    }
}

async fn list_ec2_credentials(
    State(shared): Options,
    Path(user_id): Path<String>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    match compute.list_ec2_credentials(&ctx, Some(&user_id)).await {
        Ok(credentials) => {
            let url = call.origin.identity_url(&shared);
            let items = credentials
                .iter()
                .map(|c| credential_body(c, &url))
                .collect();
            collection(
                "credentials",
                items,
                format!("{url}/v3/users/{user_id}/credentials/OS-EC2"),
            )
        }
        Err(err) => credential_error(err, "").into_response(),
    }
}

/// The credential `access` of `user_id`, as the caller may see it.
async fn find_credential(
    compute: &compute::Compute,
    ctx: &compute::RequestContext,
    user_id: &str,
    access: &str,
) -> Result<compute::Ec2Credential, IdentityError> {
    let credentials = compute
        .list_ec2_credentials(ctx, Some(user_id))
        .await
        .map_err(|err| credential_error(err, access))?;
    credentials
        .into_iter()
        .find(|c| c.access == access)
        .ok_or_else(|| {
            IdentityError::new(
                StatusCode::NOT_FOUND,
                format!("Could not find credential: {access}."),
            )
        })
}

async fn show_ec2_credential(
    State(shared): Options,
    Path((user_id, access)): Path<(String, String)>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    match find_credential(&compute, &ctx, &user_id, &access).await {
        Ok(credential) => {
            let url = call.origin.identity_url(&shared);
            axum::Json(json!({"credential": credential_body(&credential, &url)})).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn delete_ec2_credential(
    State(shared): Options,
    Path((user_id, access)): Path<(String, String)>,
    request: Request,
) -> Response {
    let call = Call::of(&request);
    let (compute, ctx) = match credential_caller(&shared, &call) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = find_credential(&compute, &ctx, &user_id, &access).await {
        return err.into_response();
    }
    match compute.delete_ec2_credential(&ctx, &access).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => credential_error(err, &access).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noauth_token_parsing_matches_noauth2() {
        let p = Principal::from_token("alice:proj").unwrap();
        assert_eq!(
            (p.user.as_str(), p.project.as_deref()),
            ("alice", Some("proj"))
        );
        let p = Principal::from_token("alice").unwrap();
        assert_eq!(p.project.as_deref(), Some("alice"));
        let p = Principal::from_token("alice:").unwrap();
        assert_eq!(p.project.as_deref(), Some("alice"));
        assert!(Principal::from_token("").is_none());
        assert!(Principal::from_token(":proj").is_none());
    }

    #[test]
    fn options_reject_a_non_url_and_name_it() {
        let err =
            IdentityOptions::from_raw(|k| (k == "compute_endpoint").then(|| "ftp://x".into()))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'ftp://x' for identity option compute_endpoint: expected an http:// or https:// URL"
        );
    }

    #[test]
    fn host_name_drops_the_port() {
        let origin = |host: &str| Origin {
            scheme: "http".into(),
            host: host.into(),
            script_name: String::new(),
        };
        assert_eq!(origin("127.0.0.1:8774").host_name(), "127.0.0.1");
        assert_eq!(origin("[::1]:8774").host_name(), "[::1]");
        assert_eq!(origin("example.com").host_name(), "example.com");
    }
}
