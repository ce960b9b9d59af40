//! The noauth mode: nova's trusting noauth2 as an Identity v3 endpoint.
//! It checks no password; a token it mints is the text `user:project`,
//! exactly what noauth2 parses from `X-Auth-Token`, so the token a client
//! gets here is accepted by the compute API as is. The user `admin` gets
//! the `admin` role, as noauth2 makes `admin` an admin. Nothing is stored:
//! any project or user name exists, so an admin's `PATCH` or `DELETE` of
//! one is 404 and anyone else's 403.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::catalog::{catalog, collection, token_header, Call, Origin};
use super::errors::IdentityError;
use super::{IdentityOptions, Options, Shared};

/// The one domain there is.
const DEFAULT_DOMAIN_ID: &str = "default";
const DEFAULT_DOMAIN_NAME: &str = "Default";
/// How long a minted token claims to be valid. Nothing checks it (the
/// token is `user:project`); clients only need a future `expires_at`.
const TOKEN_LIFETIME_HOURS: i64 = 24;

/// The noauth mode's routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
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
}

/// The caller of a noauth request, from `X-Auth-Token`; 401 without one.
pub(crate) fn caller(call: &Call) -> Result<Principal, IdentityError> {
    call.headers
        .get("x-auth-token")
        .map(nova_paste::http::latin1)
        .and_then(|token| Principal::from_token(&token))
        .ok_or_else(IdentityError::unauthorized)
}

/// Who a token names: noauth2's `user:project` split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) user: String,
    /// `None` for an unscoped token.
    pub(crate) project: Option<String>,
}

impl Principal {
    /// Parses a noauth2 token: `user:project`, or `user` alone (then the
    /// project is the user, as noauth2 does).
    pub(crate) fn from_token(token: &str) -> Option<Self> {
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
    pub(crate) fn token(&self) -> String {
        match &self.project {
            Some(project) => format!("{}:{}", self.user, project),
            None => self.user.clone(),
        }
    }

    pub(crate) fn is_admin(&self) -> bool {
        self.user == "admin"
    }
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
/// The subject of a validation call: `X-Subject-Token`, after checking
/// that the caller presented a token at all.
fn subject(call: &Call) -> Result<(Principal, String), IdentityError> {
    caller(call)?;
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
    if let Err(err) = caller(&call) {
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

/// Query filters the `openstack` CLI uses when it looks a name up.
#[derive(Debug, Deserialize)]
struct NameFilter {
    name: Option<String>,
}

async fn auth_projects(State(options): Options, request: Request) -> Response {
    let call = Call::of(&request);
    let caller = match caller(&call) {
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
    let caller = match caller(&call) {
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
    if let Err(err) = caller(&call) {
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
    match caller(&Call::of(request)) {
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
    let caller = match caller(&call) {
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
    if let Err(err) = caller(&call) {
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
    if let Err(err) = caller(&call) {
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
    if let Err(err) = caller(&call) {
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
