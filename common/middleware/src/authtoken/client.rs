//! The calls to Keystone v3: the service user's own token (password auth,
//! kept until shortly before it expires), token validation, and a generic
//! call made with the service token (the EC2 API's `POST /v3/ec2tokens`
//! is built on it in that API's crate).

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use super::config::{AuthTokenConfig, DomainRef, ProjectRef};
use super::token::TokenInfo;

/// Why Keystone gave no usable answer: the request is answered 503.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// Keystone could not be reached (connection refused, timeout, ...).
    #[error("Keystone at {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The service user could not authenticate or lacks the roles.
    #[error("the service user could not use Keystone ({status}): {body}")]
    ServiceAuth {
        /// Keystone's status.
        status: u16,
        /// Keystone's answer (truncated).
        body: String,
    },
    /// An answer this client does not understand.
    #[error("unexpected answer from Keystone ({status}): {body}")]
    Unexpected {
        /// Keystone's status.
        status: u16,
        /// Keystone's answer (truncated).
        body: String,
    },
    /// The HTTP client could not be built (bad `cafile`, ...).
    #[error("cannot set up the HTTP client for Keystone: {0}")]
    Setup(String),
}

struct ServiceToken {
    token: String,
    refresh_at: Instant,
}

/// A Keystone client for one worker: its service token is shared by the
/// worker's requests.
pub struct Keystone {
    http: reqwest::Client,
    conf: AuthTokenConfig,
    service: tokio::sync::Mutex<Option<ServiceToken>>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone")
            .field("identity_url", &self.conf.identity_url)
            .finish_non_exhaustive()
    }
}

/// At most the first 300 characters of an answer, for messages and logs.
pub fn truncated(body: &str) -> String {
    body.chars().take(300).collect()
}

fn domain_json(d: &DomainRef) -> serde_json::Value {
    match d {
        DomainRef::Id(id) => json!({ "id": id }),
        DomainRef::Name(name) => json!({ "name": name }),
    }
}

impl Keystone {
    /// A client for the options in `conf`.
    pub fn new(conf: AuthTokenConfig) -> Result<Self, KeystoneError> {
        let mut builder = reqwest::Client::builder()
            .timeout(conf.http_timeout)
            .connect_timeout(conf.http_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(conf.insecure);
        if let Some(path) = &conf.cafile {
            let pem = std::fs::read(path)
                .map_err(|e| KeystoneError::Setup(format!("cannot read cafile {path}: {e}")))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| KeystoneError::Setup(format!("bad cafile {path}: {e}")))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| KeystoneError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            conf,
            service: tokio::sync::Mutex::new(None),
        })
    }

    /// The options the client was made with.
    pub fn config(&self) -> &AuthTokenConfig {
        &self.conf
    }

    /// Sends a request, retrying `http_request_max_retries` times when
    /// Keystone cannot be reached.
    async fn send(
        &self,
        url: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), KeystoneError> {
        let mut attempt = 0;
        loop {
            match make().send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp.text().await.map_err(|e| KeystoneError::Unreachable {
                        url: url.to_string(),
                        reason: e.to_string(),
                    })?;
                    return Ok((status, headers, body));
                }
                Err(e) if attempt < self.conf.http_request_max_retries && !e.is_timeout() => {
                    attempt += 1;
                    tracing::debug!(url, attempt, error = %e, "retrying Keystone");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => {
                    return Err(KeystoneError::Unreachable {
                        url: url.to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
    }

    /// The service user's token, fetched when absent, close to expiry, or
    /// `refresh` is set (Keystone refused the previous one).
    pub async fn service_token(&self, refresh: bool) -> Result<String, KeystoneError> {
        let mut slot = self.service.lock().await;
        if let Some(t) = slot.as_ref() {
            if !refresh && Instant::now() < t.refresh_at {
                return Ok(t.token.clone());
            }
        }
        let c = &self.conf.credentials;
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "name": c.username,
            "domain": domain_json(&c.user_domain),
            "password": c.password,
        }}}});
        match &c.project {
            Some(ProjectRef::Id(id)) => auth["scope"] = json!({"project": {"id": id}}),
            Some(ProjectRef::Name(name, domain)) => {
                auth["scope"] = json!({"project": {"name": name, "domain": domain_json(domain)}})
            }
            None => {}
        }
        let body = json!({ "auth": auth });
        let url = format!("{}/auth/tokens?nocatalog", self.conf.identity_url);
        let (status, headers, text) = self.send(&url, || self.http.post(&url).json(&body)).await?;
        if status != StatusCode::CREATED {
            *slot = None;
            return Err(KeystoneError::ServiceAuth {
                status: status.as_u16(),
                body: truncated(&text),
            });
        }
        let token = headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| KeystoneError::Unexpected {
                status: status.as_u16(),
                body: "no X-Subject-Token in the answer".into(),
            })?;
        let info =
            TokenInfo::from_body(text.as_bytes()).map_err(|e| KeystoneError::Unexpected {
                status: status.as_u16(),
                body: e,
            })?;
        let lifetime = (info.expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        // Renew two minutes early, or half-way through a short-lived token.
        let margin = std::cmp::min(Duration::from_secs(120), lifetime / 2);
        *slot = Some(ServiceToken {
            token: token.clone(),
            refresh_at: Instant::now() + (lifetime - margin),
        });
        Ok(token)
    }

    /// Validates `token`: `Ok(Some)` when Keystone vouches for it,
    /// `Ok(None)` when it does not (unknown, revoked, expired).
    pub async fn validate(&self, token: &str) -> Result<Option<TokenInfo>, KeystoneError> {
        let url = if self.conf.include_service_catalog {
            format!("{}/auth/tokens", self.conf.identity_url)
        } else {
            format!("{}/auth/tokens?nocatalog", self.conf.identity_url)
        };
        let mut refreshed = false;
        loop {
            let service = self.service_token(refreshed).await?;
            let (status, _, body) = self
                .send(&url, || {
                    self.http
                        .get(&url)
                        .header("X-Auth-Token", &service)
                        .header("X-Subject-Token", token)
                })
                .await?;
            match status {
                StatusCode::OK => {
                    let info = TokenInfo::from_body(body.as_bytes()).map_err(|e| {
                        KeystoneError::Unexpected {
                            status: 200,
                            body: e,
                        }
                    })?;
                    return Ok((info.expires_at > Utc::now()).then_some(info));
                }
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::UNAUTHORIZED if !refreshed => refreshed = true,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(KeystoneError::ServiceAuth {
                        status: status.as_u16(),
                        body: truncated(&body),
                    })
                }
                // A token Keystone cannot even parse is just not valid.
                StatusCode::BAD_REQUEST => return Ok(None),
                _ => {
                    return Err(KeystoneError::Unexpected {
                        status: status.as_u16(),
                        body: truncated(&body),
                    })
                }
            }
        }
    }

    /// Posts `body` to `url` (a Keystone v3 URL) with the service user's
    /// token, and returns Keystone's status and answer text as they are:
    /// what they mean is the caller's to say.
    pub async fn post_as_service(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<(StatusCode, String), KeystoneError> {
        let service = self.service_token(false).await?;
        let (status, _, text) = self
            .send(url, || {
                self.http
                    .post(url)
                    .header("X-Auth-Token", &service)
                    .json(body)
            })
            .await?;
        Ok((status, text))
    }
}
