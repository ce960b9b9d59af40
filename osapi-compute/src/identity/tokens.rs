//! `/v3/auth/*` in store mode: `POST /v3/auth/tokens` (password by user
//! id or name and domain, an existing token, or an application
//! credential by id, or name and user; scoped to a project, a domain or
//! the system, or unscoped; an application credential's token to its
//! project), `GET`/`HEAD` with
//! `X-Subject-Token` (the same token's body), `DELETE` (revocation), and
//! what a token may scope to (`/v3/auth/projects`, `/v3/auth/domains`,
//! `/v3/auth/system`) and its catalogue.

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use compute::identity::{
    AppCredLookup, Domain, Project, ScopeRequest, Token, TokenScope, User, UserLookup,
};

use super::catalog::{catalog, collection, token_header, Call};
use super::errors::{Answer, IdentityError};
use super::policy::{caller, header_token, store};
use super::Options;

/// Keystone's time stamps: microseconds and a `Z`.
pub(crate) fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn domain_ref(domain: &Domain) -> Value {
    json!({"id": domain.id, "name": domain.name})
}

fn user_ref(user: &User, domain: &Domain) -> Value {
    json!({"id": user.id, "name": user.name, "domain": domain_ref(domain),
           "password_expires_at": null})
}

fn project_ref(project: &Project, domain: &Domain) -> Value {
    json!({"id": project.id, "name": project.name, "domain": domain_ref(domain)})
}

/// Keystone's `{"token": {...}}` for `token`; with the catalogue unless
/// `nocatalog` (an unscoped token has none).
pub(crate) fn token_body(token: &Token, catalogue: Option<Value>) -> Value {
    let mut body = Map::new();
    body.insert("methods".into(), json!(token.methods));
    body.insert("user".into(), user_ref(&token.user, &token.user_domain));
    body.insert("audit_ids".into(), json!(token.audit_ids));
    body.insert("issued_at".into(), json!(timestamp(&token.issued_at)));
    body.insert("expires_at".into(), json!(timestamp(&token.expires_at)));
    let scoped = match &token.scope {
        TokenScope::Unscoped => false,
        TokenScope::Project(project, domain) => {
            body.insert("project".into(), project_ref(project, domain));
            body.insert("is_domain".into(), json!(false));
            true
        }
        TokenScope::Domain(domain) => {
            body.insert("domain".into(), domain_ref(domain));
            true
        }
        TokenScope::System => {
            body.insert("system".into(), json!({"all": true}));
            true
        }
    };
    if let Some(cred) = &token.application_credential {
        let mut view = json!({"id": cred.id, "name": cred.name, "restricted": !cred.unrestricted});
        if !cred.access_rules.is_empty() {
            view["access_rules"] = json!(cred
                .access_rules
                .iter()
                .map(super::app_creds::access_rule_body)
                .collect::<Vec<_>>());
        }
        body.insert("application_credential".into(), view);
    }
    if scoped {
        body.insert(
            "roles".into(),
            json!(token
                .roles
                .iter()
                .map(|r| json!({"id": r.id, "name": r.name}))
                .collect::<Vec<_>>()),
        );
        if let Some(catalogue) = catalogue {
            body.insert("catalog".into(), catalogue);
        }
    }
    json!({ "token": body })
}

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
    #[serde(default)]
    application_credential: Option<Value>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The application credential an `application_credential` body names:
/// by id, or by name with its user (by id, or name and domain).
fn app_cred_lookup(body: &Value) -> Result<AppCredLookup, IdentityError> {
    if let Some(id) = text(body, "id") {
        return Ok(AppCredLookup::Id(id));
    }
    let name = text(body, "name").ok_or_else(|| {
        IdentityError::bad_request(
            "Invalid input for field 'identity/application_credential': expected an id, or a name and a user.",
        )
    })?;
    let user = body.get("user").ok_or_else(|| {
        IdentityError::bad_request(
            "Invalid input for field 'identity/application_credential/user': a user is required with a name.",
        )
    })?;
    Ok(AppCredLookup::Name {
        name,
        user: user_lookup(user)?,
    })
}

/// The user a password body names.
fn user_lookup(user: &Value) -> Result<UserLookup, IdentityError> {
    if let Some(id) = text(user, "id") {
        return Ok(UserLookup::Id(id));
    }
    let name = text(user, "name").ok_or_else(|| {
        IdentityError::bad_request("Invalid input for field 'identity/password/user': expected a user id, or a name and a domain.")
    })?;
    let domain = user.get("domain").cloned().unwrap_or(Value::Null);
    let (domain_id, domain_name) = (text(&domain, "id"), text(&domain, "name"));
    if domain_id.is_none() && domain_name.is_none() {
        return Err(IdentityError::bad_request(
            "Invalid input for field 'identity/password/user/domain': a domain id or name is required with a user name.",
        ));
    }
    Ok(UserLookup::Name {
        name,
        domain_id,
        domain_name,
    })
}

/// What a request's `scope` asks for.
fn scope_request(scope: Option<&Value>) -> Result<ScopeRequest, IdentityError> {
    let Some(scope) = scope.filter(|s| s.is_object()) else {
        return Ok(ScopeRequest::Unscoped);
    };
    if let Some(project) = scope.get("project") {
        if let Some(id) = text(project, "id") {
            return Ok(ScopeRequest::ProjectId(id));
        }
        let name = text(project, "name").ok_or_else(|| {
            IdentityError::bad_request(
                "Invalid input for field 'scope/project': expected an id or a name.",
            )
        })?;
        let domain = project.get("domain").cloned().unwrap_or(Value::Null);
        return Ok(ScopeRequest::ProjectName {
            name,
            domain_id: text(&domain, "id"),
            domain_name: text(&domain, "name"),
        });
    }
    if let Some(domain) = scope.get("domain") {
        return match (text(domain, "id"), text(domain, "name")) {
            (Some(id), _) => Ok(ScopeRequest::DomainId(id)),
            (None, Some(name)) => Ok(ScopeRequest::DomainName(name)),
            (None, None) => Err(IdentityError::bad_request(
                "Invalid input for field 'scope/domain': expected an id or a name.",
            )),
        };
    }
    if scope
        .get("system")
        .and_then(|s| s.get("all"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Ok(ScopeRequest::System);
    }
    Err(IdentityError::bad_request(
        "Invalid input for field 'scope': expected a project, a domain or the system.",
    ))
}

/// Whether the query asks to leave the catalogue out (`?nocatalog`).
#[derive(Debug, Deserialize, Default)]
pub struct CatalogQuery {
    nocatalog: Option<String>,
}

impl CatalogQuery {
    fn wants_catalog(&self) -> bool {
        self.nocatalog.is_none()
    }
}

/// `POST /v3/auth/tokens`.
pub async fn issue(
    State(shared): Options,
    Query(query): Query<CatalogQuery>,
    request: Request,
) -> Answer {
    let compute = store(&shared)?;
    let call = Call::of(&request);
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| IdentityError::bad_request("Request body is too large or unreadable."))?;
    let parsed: AuthRequest = serde_json::from_slice(&bytes).map_err(|_| {
        IdentityError::bad_request(
            "Expecting to find auth with identity and methods in the request body.",
        )
    })?;
    let identity = &parsed.auth.identity;
    let scope = scope_request(parsed.auth.scope.as_ref())?;
    let (text, token) = if identity
        .methods
        .iter()
        .any(|m| m == "application_credential")
    {
        // Keystone: an application credential chooses no scope (401).
        if parsed.auth.scope.is_some() {
            return Err(IdentityError::unauthorized());
        }
        let body = identity.application_credential.as_ref().ok_or_else(|| {
            IdentityError::bad_request(
                "Invalid input for field 'identity/application_credential': it is required.",
            )
        })?;
        let lookup = app_cred_lookup(body)?;
        let secret = body
            .get("secret")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (cred, user) = compute.check_app_cred(&lookup, secret).await?;
        compute
            .issue_app_cred_token(
                &cred,
                &user,
                vec!["application_credential".to_string()],
                None,
            )
            .await?
    } else if identity.methods.iter().any(|m| m == "password") {
        let password = identity
            .password
            .as_ref()
            .and_then(|p| p.get("user"))
            .ok_or_else(|| {
                IdentityError::bad_request(
                    "Invalid input for field 'identity/password/user': a user is required.",
                )
            })?;
        let lookup = user_lookup(password)?;
        let secret = password
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let user = compute.check_password(&lookup, secret).await?;
        compute
            .issue_token(&user, vec!["password".to_string()], &scope, None)
            .await?
    } else if identity.methods.iter().any(|m| m == "token") {
        let text = identity
            .token
            .as_ref()
            .and_then(|t| text(t, "id"))
            .or_else(|| header_token(&call, "x-auth-token"))
            .ok_or_else(|| {
                IdentityError::bad_request(
                    "Invalid input for field 'identity/token/id': a token id is required.",
                )
            })?;
        let parent = compute
            .validate_token(&text)
            .await
            .map_err(|_| IdentityError::unauthorized())?;
        let mut methods = parent.methods.clone();
        if !methods.iter().any(|m| m == "token") {
            methods.insert(0, "token".to_string());
        }
        match &parent.application_credential {
            // Keystone: a token of an application credential makes only
            // another of the same credential, asking no scope (403).
            Some(view) => {
                if scope != ScopeRequest::Unscoped {
                    return Err(IdentityError::new(
                        StatusCode::FORBIDDEN,
                        "You are not authorized to perform the requested action: Using an application credential token to create a scoped token is not allowed.",
                    ));
                }
                let cred = compute
                    .get_app_cred(&view.id)
                    .await
                    .map_err(|_| IdentityError::unauthorized())?;
                compute
                    .issue_app_cred_token(&cred, &parent.user, methods, Some(&parent))
                    .await?
            }
            None => {
                compute
                    .issue_token(&parent.user, methods, &scope, Some(&parent))
                    .await?
            }
        }
    } else {
        return Err(IdentityError::unauthorized());
    };
    let catalogue = query
        .wants_catalog()
        .then(|| catalog(&call.origin, &shared.options));
    let mut response = (
        StatusCode::CREATED,
        axum::Json(token_body(&token, catalogue)),
    )
        .into_response();
    if let Some(value) = token_header(&text) {
        response.headers_mut().insert("x-subject-token", value);
    }
    Ok(response)
}

/// The subject of a validation call, after checking the caller: a user
/// may validate its own tokens, a system reader or an admin any.
async fn subject(shared: &super::Shared, call: &Call) -> Result<(String, Token), IdentityError> {
    let compute = store(shared)?;
    let caller = caller(&compute, call).await?;
    let text = header_token(call, "x-subject-token")
        .ok_or_else(|| IdentityError::new(StatusCode::NOT_FOUND, "Could not find token."))?;
    let token = if text == caller.text {
        caller.token.clone()
    } else {
        compute
            .validate_token(&text)
            .await
            .map_err(|err| match err {
                compute::identity::IdentityError::NotFound { .. } => {
                    IdentityError::new(StatusCode::NOT_FOUND, "Failed to validate token")
                }
                other => other.into(),
            })?
    };
    caller.require(
        caller.reads_all()
            || caller.token.has_role("service")
            || token.user.id == caller.token.user.id,
        "identity:validate_token",
    )?;
    Ok((text, token))
}

/// `GET /v3/auth/tokens`: the subject token's body, as issued.
pub async fn validate(
    State(shared): Options,
    Query(query): Query<CatalogQuery>,
    request: Request,
) -> Answer {
    let call = Call::of(&request);
    let (text, token) = subject(&shared, &call).await?;
    let catalogue = query
        .wants_catalog()
        .then(|| catalog(&call.origin, &shared.options));
    let mut response = axum::Json(token_body(&token, catalogue)).into_response();
    if let Some(value) = token_header(&text) {
        response.headers_mut().insert("x-subject-token", value);
    }
    Ok(response)
}

/// `HEAD /v3/auth/tokens`: 200 for a valid subject token (Keystone's
/// status), headers only.
pub async fn check(State(shared): Options, request: Request) -> Response {
    match subject(&shared, &Call::of(&request)).await {
        Ok((text, _)) => {
            let mut response = StatusCode::OK.into_response();
            if let Some(value) = token_header(&text) {
                response.headers_mut().insert("x-subject-token", value);
            }
            response
        }
        Err(err) => err.status.into_response(),
    }
}

/// `DELETE /v3/auth/tokens`: revokes the subject token (its owner, a
/// service or an admin).
pub async fn revoke(State(shared): Options, request: Request) -> Answer {
    let call = Call::of(&request);
    let (text, token) = subject(&shared, &call).await?;
    let compute = store(&shared)?;
    let caller = caller(&compute, &call).await.ok();
    if let Some(caller) = caller {
        caller.require(
            caller.is_admin()
                || caller.token.has_role("service")
                || token.user.id == caller.token.user.id,
            "identity:revoke_token",
        )?;
    }
    compute.revoke_token(&text).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v3/auth/catalog`: the catalogue of a scoped token.
pub async fn auth_catalog(State(shared): Options, request: Request) -> Answer {
    let compute = store(&shared)?;
    let call = Call::of(&request);
    let caller = caller(&compute, &call).await?;
    if caller.token.scope == TokenScope::Unscoped {
        return Err(IdentityError::new(
            StatusCode::FORBIDDEN,
            "The service catalog is empty for an unscoped token.",
        ));
    }
    let url = format!("{}/v3/auth/catalog", call.origin.identity_url(&shared));
    Ok(
        axum::Json(json!({"catalog": catalog(&call.origin, &shared), "links": {"self": url}}))
            .into_response(),
    )
}

/// `GET /v3/auth/projects`: the enabled projects the caller's user holds
/// a role on.
pub async fn auth_projects(State(shared): Options, request: Request) -> Answer {
    let compute = store(&shared)?;
    let call = Call::of(&request);
    let caller = caller(&compute, &call).await?;
    let url = call.origin.identity_url(&shared);
    let projects = compute
        .user_projects(&caller.token.user.id)
        .await?
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| super::projects::body(&p, &url))
        .collect();
    Ok(collection(
        "projects",
        projects,
        format!("{url}/v3/auth/projects"),
    ))
}

/// `GET /v3/auth/domains`: the enabled domains the caller's user holds
/// a role on.
pub async fn auth_domains(State(shared): Options, request: Request) -> Answer {
    let compute = store(&shared)?;
    let call = Call::of(&request);
    let caller = caller(&compute, &call).await?;
    let url = call.origin.identity_url(&shared);
    let domains = compute
        .user_domains(&caller.token.user.id)
        .await?
        .into_iter()
        .filter(|d| d.enabled)
        .map(|d| super::domains::body(&d, &url))
        .collect();
    Ok(collection(
        "domains",
        domains,
        format!("{url}/v3/auth/domains"),
    ))
}

/// `GET /v3/auth/system`: `[{"all": true}]` when the caller's user holds
/// a role on the system, else empty.
pub async fn auth_system(State(shared): Options, request: Request) -> Answer {
    let compute = store(&shared)?;
    let call = Call::of(&request);
    let caller = caller(&compute, &call).await?;
    let roles = compute
        .effective_roles(&caller.token.user.id, &compute::identity::Target::System)
        .await?;
    let system: Vec<Value> = if roles.is_empty() {
        Vec::new()
    } else {
        vec![json!({"all": true})]
    };
    let url = call.origin.identity_url(&shared);
    Ok(axum::Json(json!({"system": system, "links": {"self": format!("{url}/v3/auth/system"), "previous": null, "next": null}})).into_response())
}
