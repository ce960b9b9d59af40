//! keystonemiddleware's `auth_token` filter
//! (`keystonemiddleware.auth_token:filter_factory`): validates the
//! `X-Auth-Token` of each request against Keystone v3 and tells the app who
//! the caller is.
//!
//! - The identity headers a client sent (`X-User-Id`, `X-Roles`, ...) are
//!   removed first; for a valid token the filter sets them from Keystone's
//!   answer (see [`token::TokenInfo::headers`]) and puts a [`KeystoneAuth`]
//!   in the request extensions.
//! - Tokens are checked with `GET /v3/auth/tokens` and `X-Subject-Token`,
//!   under the service user's own token (password auth, renewed before it
//!   expires). Answers, good and bad, are cached per worker for
//!   `token_cache_time` seconds, never past the token's `expires_at`.
//! - A missing or invalid token gets 401 with
//!   `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"` (unless
//!   `delay_auth_decision`: then the request goes on marked
//!   `X-Identity-Status: Invalid`). When Keystone cannot be reached the
//!   answer is 503 and nothing is served.
//! - An `X-Service-Token` is validated the same way and described by the
//!   `X-Service-*` headers; with `service_token_roles_required` it must
//!   carry one of `service_token_roles`.
//! - The memcache options are accepted and ignored: the cache is in memory.
//! - With no Keystone configured (no `auth_url`, nor its legacy
//!   spellings), the filter validates against the deployment's own
//!   identity: the [`source::LocalTokenSource`] the binary put among the
//!   worker's resources (see [`source`]).
//!
//! Error bodies are nova's fault documents (`{"unauthorized": {...}}`),
//! as the APIs that use the filter answer every other error.

pub mod cache;
pub mod client;
pub mod config;
pub mod source;
pub mod token;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use http::{header, HeaderName, HeaderValue, StatusCode};
use tower::ServiceExt;

use nova_paste::http::{Body, HttpService, Request, Response};
use nova_paste::{FactoryContext, Filter};

pub use cache::{TokenCache, Validated, Verdict};
pub use client::{truncated, Keystone, KeystoneError};
pub use config::{AuthTokenConfig, ConfigError};
pub use source::{LocalTokenSource, TokenSource};
pub use token::TokenInfo;

/// keystonemiddleware's dotted name, as nova's api-paste.ini writes it.
pub const FACTORY: &str = "keystonemiddleware.auth_token:filter_factory";
/// The name in Havana's api-paste.ini (python-keystoneclient's copy).
pub const FACTORY_HAVANA: &str = "keystoneclient.middleware.auth_token:filter_factory";

/// The validated caller, in the request extensions of a request the filter
/// let through with a valid token.
#[derive(Clone, Debug)]
pub struct KeystoneAuth(pub Arc<Validated>);

/// Where tokens are validated.
#[derive(Debug)]
enum Validator {
    /// A remote Keystone.
    Keystone(Box<Keystone>),
    /// The deployment's own identity.
    Local(LocalTokenSource),
}

/// One filter instance's state: the validator, the cache, the options.
#[derive(Debug)]
pub struct AuthToken {
    validator: Validator,
    conf: AuthTokenConfig,
    cache: TokenCache,
    forgeable: Vec<HeaderName>,
    www_authenticate: HeaderValue,
}

impl AuthToken {
    /// The filter state for `conf`.
    pub fn new(conf: AuthTokenConfig) -> Result<Self, KeystoneError> {
        let www_authenticate =
            HeaderValue::from_str(&format!("Keystone uri=\"{}\"", conf.www_authenticate_uri))
                .map_err(|e| KeystoneError::Setup(format!("www_authenticate_uri: {e}")))?;
        Ok(Self {
            cache: TokenCache::new(conf.token_cache_time),
            validator: Validator::Keystone(Box::new(Keystone::new(conf.clone())?)),
            conf,
            forgeable: token::forgeable_headers(),
            www_authenticate,
        })
    }

    /// The filter state over the deployment's own identity `source`, with
    /// the cache and request options of `conf` (see
    /// [`AuthTokenConfig::local`]).
    pub fn local(conf: AuthTokenConfig, source: LocalTokenSource) -> Result<Self, KeystoneError> {
        let www_authenticate =
            HeaderValue::from_str(&format!("Keystone uri=\"{}\"", conf.www_authenticate_uri))
                .map_err(|e| KeystoneError::Setup(format!("www_authenticate_uri: {e}")))?;
        Ok(Self {
            cache: TokenCache::new(conf.token_cache_time),
            validator: Validator::Local(source),
            conf,
            forgeable: token::forgeable_headers(),
            www_authenticate,
        })
    }

    fn conf(&self) -> &AuthTokenConfig {
        &self.conf
    }

    /// The verdict on `token`: from the cache, else from the validator
    /// (and then cached). `Err` when it could not answer (nothing is
    /// cached).
    pub async fn check(&self, token: &str) -> Result<Verdict, KeystoneError> {
        let generation = match &self.validator {
            Validator::Keystone(_) => 0,
            Validator::Local(source) => source.0.generation(),
        };
        if let Some(v) = self.cache.get_at(token, generation) {
            return Ok(v);
        }
        let info = match &self.validator {
            Validator::Keystone(keystone) => keystone.validate(token).await?,
            Validator::Local(source) => source.0.validate(token).await?,
        };
        let verdict = match info {
            Some(info) => {
                let headers = info.headers("X-", self.conf().include_service_catalog);
                Verdict::Valid(Arc::new(Validated { info, headers }))
            }
            None => Verdict::Invalid,
        };
        self.cache.put_at(token, verdict.clone(), generation);
        Ok(verdict)
    }

    fn rejection(&self, status: StatusCode) -> Response {
        let (name, message) = if status == StatusCode::UNAUTHORIZED {
            (
                "unauthorized",
                "The request you have made requires authentication.",
            )
        } else {
            (
                "serviceUnavailable",
                "The server is currently unavailable. Please try again at a later time.",
            )
        };
        let body = serde_json::json!({ name: { "code": status.as_u16(), "message": message } });
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, self.www_authenticate.clone());
        }
        resp
    }

    fn unavailable(&self, err: &KeystoneError) -> Response {
        tracing::error!(error = %err, "cannot validate the token: answering 503");
        self.rejection(StatusCode::SERVICE_UNAVAILABLE)
    }

    /// Runs one request through the filter.
    pub async fn handle(self: Arc<Self>, inner: HttpService, mut req: Request) -> Response {
        let headers = req.headers_mut();
        for name in &self.forgeable {
            headers.remove(name);
        }
        let token = headers
            .get("x-auth-token")
            .or_else(|| headers.get("x-storage-token"))
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let service_token = headers
            .get("x-service-token")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let delay = self.conf().delay_auth_decision;

        let user = match token {
            None => Verdict::Invalid,
            Some(t) => match self.check(&t).await {
                Ok(v) => v,
                Err(e) => return self.unavailable(&e),
            },
        };
        match &user {
            Verdict::Valid(v) => {
                let headers = req.headers_mut();
                for (name, value) in &v.headers {
                    headers.insert(name.clone(), value.clone());
                }
                req.extensions_mut().insert(KeystoneAuth(v.clone()));
            }
            Verdict::Invalid if delay => {
                req.headers_mut().insert(
                    HeaderName::from_static("x-identity-status"),
                    HeaderValue::from_static("Invalid"),
                );
            }
            Verdict::Invalid => return self.rejection(StatusCode::UNAUTHORIZED),
        }

        if let Some(t) = service_token {
            let service = match self.check(&t).await {
                Ok(v) => v,
                Err(e) => return self.unavailable(&e),
            };
            let acceptable = match &service {
                Verdict::Valid(v) => {
                    let has_role = v.info.has_any_role(&self.conf().service_token_roles);
                    if !has_role {
                        tracing::warn!(
                            "a service token lacks every role of service_token_roles {:?}",
                            self.conf().service_token_roles
                        );
                    }
                    has_role || !self.conf().service_token_roles_required
                }
                Verdict::Invalid => false,
            };
            match (&service, acceptable) {
                (Verdict::Valid(v), true) => {
                    let headers = req.headers_mut();
                    for (name, value) in v.info.headers("X-Service-", false) {
                        headers.insert(name, value);
                    }
                }
                _ if delay => {
                    req.headers_mut().insert(
                        HeaderName::from_static("x-service-identity-status"),
                        HeaderValue::from_static("Invalid"),
                    );
                }
                _ => return self.rejection(StatusCode::UNAUTHORIZED),
            }
        }

        let mut resp = match inner.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        if resp.status() == StatusCode::UNAUTHORIZED
            && !resp.headers().contains_key(header::WWW_AUTHENTICATE)
        {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, self.www_authenticate.clone());
        }
        resp
    }
}

/// Wraps `inner` in the filter with `state`.
pub fn filter(state: Arc<AuthToken>, inner: HttpService) -> HttpService {
    super::wrap(inner, move |inner, req| state.clone().handle(inner, req))
}

/// The option lookup keystonemiddleware uses: the paste section's own
/// options, then nova.conf's `[keystone_authtoken]` (which the launcher
/// passes as global `keystone_authtoken.<name>` values).
pub fn options_from_paste(ctx: &FactoryContext<'_>) -> Result<AuthTokenConfig, ConfigError> {
    AuthTokenConfig::from_lookup(|key| {
        ctx.local_conf
            .get(key)
            .or_else(|| ctx.global_conf.get(&format!("keystone_authtoken.{key}")))
            .cloned()
    })
}

/// The options for the deployment's own identity: no Keystone is
/// configured (`auth_url` and its legacy spellings unset).
pub fn local_options_from_paste(
    ctx: &FactoryContext<'_>,
) -> Option<Result<AuthTokenConfig, ConfigError>> {
    let get = |key: &str| {
        ctx.local_conf
            .get(key)
            .or_else(|| ctx.global_conf.get(&format!("keystone_authtoken.{key}")))
            .cloned()
    };
    if config::names_a_keystone(&get) {
        return None;
    }
    Some(AuthTokenConfig::local(get))
}

/// The parent's check of the filter's options: what [`factory`] reads,
/// without making the Keystone client. With no Keystone configured, the
/// options of the deployment's own identity.
pub fn check(ctx: &FactoryContext<'_>) -> anyhow::Result<()> {
    let checked = match local_options_from_paste(ctx) {
        Some(local) => local.map(drop),
        None => options_from_paste(ctx).map(drop),
    };
    checked.map_err(|e| anyhow::anyhow!("[{}] keystonemiddleware auth_token: {e}", ctx.section))
}

/// The paste factory. Each instance (one per pipeline and worker) has its
/// own client (or the worker's [`LocalTokenSource`]) and cache, shared by
/// the requests that pipeline serves.
pub fn factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let fail =
        |e: ConfigError| anyhow::anyhow!("[{}] keystonemiddleware auth_token: {e}", ctx.section);
    let state = match local_options_from_paste(ctx) {
        Some(conf) => {
            let source = ctx.resources.get::<LocalTokenSource>().cloned().ok_or_else(|| {
                anyhow::anyhow!(
                    "[{}] keystonemiddleware auth_token: [keystone_authtoken] auth_url is not set and this service has no identity of its own to validate tokens against; set auth_url to a Keystone",
                    ctx.section
                )
            })?;
            AuthToken::local(conf.map_err(fail)?, source)?
        }
        None => AuthToken::new(options_from_paste(ctx).map_err(fail)?)?,
    };
    let state = Arc::new(state);
    Ok(super::filter_fn(move |inner| filter(state.clone(), inner)))
}
