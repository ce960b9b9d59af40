//! The `[keystone_authtoken]` options, with keystonemiddleware's names and
//! defaults (and its legacy `identity_uri`/`auth_host`/`admin_*` spellings).

use std::fmt;
use std::time::Duration;

/// The options this filter reads: the launcher passes these from nova.conf's
/// `[keystone_authtoken]` to the paste factories as `keystone_authtoken.<name>`.
pub const OPTIONS: &[&str] = &[
    "www_authenticate_uri",
    "auth_uri",
    "auth_url",
    "auth_type",
    "auth_plugin",
    "username",
    "password",
    "project_name",
    "project_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "token_cache_time",
    "service_token_roles",
    "service_token_roles_required",
    "delay_auth_decision",
    "include_service_catalog",
    "http_connect_timeout",
    "http_request_max_retries",
    "insecure",
    "cafile",
    "identity_uri",
    "auth_host",
    "auth_port",
    "auth_protocol",
    "admin_user",
    "admin_password",
    "admin_tenant_name",
    "memcached_servers",
    "memcache_servers",
    "memcache_security_strategy",
    "memcache_use_advanced_pool",
];

/// Options accepted and deliberately ignored: the cache lives in each
/// worker's memory, never in memcached.
pub const IGNORED: &[&str] = &[
    "memcached_servers",
    "memcache_servers",
    "memcache_security_strategy",
    "memcache_use_advanced_pool",
];

/// A `[keystone_authtoken]` value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A value of the wrong type or form.
    #[error("invalid value {value:?} for [keystone_authtoken] {option}: {reason}")]
    Invalid {
        /// The option name.
        option: String,
        /// The value as written.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// A required option is missing.
    #[error("[keystone_authtoken] {0} must be set for the keystone auth strategy")]
    Missing(&'static str),
}

/// The service user the filter authenticates as (keystoneauth's `password`
/// plugin): it validates tokens and signs EC2 requests with its token.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceCredentials {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
    /// `user_domain_id`, else `user_domain_name` (default `Default`).
    pub user_domain: DomainRef,
    /// `project_id`, else `project_name`.
    pub project: Option<ProjectRef>,
}

impl fmt::Debug for ServiceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceCredentials")
            .field("username", &self.username)
            .field("password", &"***")
            .field("user_domain", &self.user_domain)
            .field("project", &self.project)
            .finish()
    }
}

/// A domain named by id or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainRef {
    /// `..._domain_id`.
    Id(String),
    /// `..._domain_name`.
    Name(String),
}

/// The project the service token is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    /// `project_id`.
    Id(String),
    /// `project_name` in a domain.
    Name(String, DomainRef),
}

/// The filter's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthTokenConfig {
    /// Identity v3 base URL, always ending in `/v3` (from `auth_url`, or
    /// the legacy `identity_uri`/`auth_protocol://auth_host:auth_port`).
    pub identity_url: String,
    /// `www_authenticate_uri` (`auth_uri` is its old name): the URL put in
    /// `WWW-Authenticate`; defaults to `auth_url` as written.
    pub www_authenticate_uri: String,
    /// The service user.
    pub credentials: ServiceCredentials,
    /// `token_cache_time` (300): how long an answer is cached; `None` for
    /// -1 (no caching).
    pub token_cache_time: Option<Duration>,
    /// `service_token_roles` (`service`).
    pub service_token_roles: Vec<String>,
    /// `service_token_roles_required` (false).
    pub service_token_roles_required: bool,
    /// `delay_auth_decision` (false): pass invalid requests on, marked
    /// `X-Identity-Status: Invalid`, for the app to decide.
    pub delay_auth_decision: bool,
    /// `include_service_catalog` (true): set `X-Service-Catalog`.
    pub include_service_catalog: bool,
    /// `http_connect_timeout`: the limit of each call to Keystone (10 s when
    /// unset; keystonemiddleware waits forever).
    pub http_timeout: Duration,
    /// `http_request_max_retries` (3): retries when Keystone cannot be reached.
    pub http_request_max_retries: u32,
    /// `insecure` (false): skip TLS verification of Keystone.
    pub insecure: bool,
    /// `cafile`: a PEM bundle to verify Keystone with.
    pub cafile: Option<String>,
}

fn invalid(option: &str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        option: option.to_string(),
        value: value.to_string(),
        reason,
    }
}

fn parse_bool(option: &str, value: &str) -> Result<bool, ConfigError> {
    crate::parse_bool(value).ok_or_else(|| invalid(option, value, "expected a boolean"))
}

/// `http://host:5000`, `http://host:5000/` and `http://host:5000/v3/` all
/// become `http://host:5000/v3`.
pub fn identity_v3_url(url: &str) -> String {
    let base = url.trim().trim_end_matches('/');
    if base.ends_with("/v3") {
        base.to_string()
    } else {
        format!("{base}/v3")
    }
}

impl AuthTokenConfig {
    /// Reads the options from `get(option)` (the paste section first, then
    /// `[keystone_authtoken]`, as keystonemiddleware does).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        for name in IGNORED {
            if get(name).is_some() {
                tracing::info!(
                    option = name,
                    "[keystone_authtoken] memcache options are ignored: each worker caches tokens in memory"
                );
            }
        }
        if let Some(kind) = get("auth_type").or_else(|| get("auth_plugin")) {
            if kind != "password" && kind != "v3password" {
                return Err(invalid(
                    "auth_type",
                    &kind,
                    "only the password plugin is supported",
                ));
            }
        }
        let legacy_url = get("identity_uri").or_else(|| {
            get("auth_host").map(|host| {
                let protocol = get("auth_protocol").unwrap_or_else(|| "https".into());
                let port = get("auth_port").unwrap_or_else(|| "35357".into());
                format!("{protocol}://{host}:{port}")
            })
        });
        let auth_url = get("auth_url")
            .or(legacy_url)
            .ok_or(ConfigError::Missing("auth_url"))?;
        if !(auth_url.starts_with("http://") || auth_url.starts_with("https://")) {
            return Err(invalid("auth_url", &auth_url, "expected an http(s) URL"));
        }
        let www_authenticate_uri = get("www_authenticate_uri")
            .or_else(|| get("auth_uri"))
            .unwrap_or_else(|| auth_url.clone());
        let username = get("username")
            .or_else(|| get("admin_user"))
            .ok_or(ConfigError::Missing("username"))?;
        let password = get("password")
            .or_else(|| get("admin_password"))
            .ok_or(ConfigError::Missing("password"))?;
        let domain = |id: &str, name: &str| match (get(id), get(name)) {
            (Some(id), _) => DomainRef::Id(id),
            (None, Some(name)) => DomainRef::Name(name),
            (None, None) => DomainRef::Id("default".into()),
        };
        let user_domain = domain("user_domain_id", "user_domain_name");
        let project = match (
            get("project_id"),
            get("project_name").or_else(|| get("admin_tenant_name")),
        ) {
            (Some(id), _) => Some(ProjectRef::Id(id)),
            (None, Some(name)) => Some(ProjectRef::Name(
                name,
                domain("project_domain_id", "project_domain_name"),
            )),
            (None, None) => None,
        };
        let token_cache_time = match get("token_cache_time") {
            None => Some(Duration::from_secs(300)),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n < 0 => None,
                Ok(n) => Some(Duration::from_secs(n as u64)),
                Err(_) => return Err(invalid("token_cache_time", &v, "expected an integer")),
            },
        };
        let service_token_roles = match get("service_token_roles") {
            None => vec!["service".to_string()],
            Some(v) => crate::parse_list(&v).unwrap_or_default(),
        };
        let flag = |name: &str, default: bool| match get(name) {
            None => Ok(default),
            Some(v) => parse_bool(name, &v),
        };
        let http_timeout = match get("http_connect_timeout") {
            None => Duration::from_secs(10),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Duration::from_secs(n),
                _ => {
                    return Err(invalid(
                        "http_connect_timeout",
                        &v,
                        "expected a positive integer",
                    ))
                }
            },
        };
        let http_request_max_retries = match get("http_request_max_retries") {
            None => 3,
            Some(v) => v
                .parse()
                .map_err(|_| invalid("http_request_max_retries", &v, "expected an integer"))?,
        };
        Ok(Self {
            identity_url: identity_v3_url(&auth_url),
            www_authenticate_uri,
            credentials: ServiceCredentials {
                username,
                password,
                user_domain,
                project,
            },
            token_cache_time,
            service_token_roles,
            service_token_roles_required: flag("service_token_roles_required", false)?,
            delay_auth_decision: flag("delay_auth_decision", false)?,
            include_service_catalog: flag("include_service_catalog", true)?,
            http_timeout,
            http_request_max_retries,
            insecure: flag("insecure", false)?,
            cafile: get("cafile"),
        })
    }
}

/// Whether the options name a Keystone (`auth_url`, or the legacy
/// `identity_uri`/`auth_host`). Without one the filter validates against
/// the deployment's own identity.
pub fn names_a_keystone(get: &impl Fn(&str) -> Option<String>) -> bool {
    ["auth_url", "identity_uri", "auth_host"]
        .iter()
        .any(|k| get(k).is_some_and(|v| !v.trim().is_empty()))
}

/// Placeholders for the options a local identity does not need, so that
/// [`AuthTokenConfig::local`] checks the rest exactly as for a Keystone.
const LOCAL_PLACEHOLDERS: &[(&str, &str)] = &[
    ("auth_url", "http://local.invalid"),
    ("username", "-"),
    ("password", "-"),
];

impl AuthTokenConfig {
    /// The options for the deployment's own identity (no Keystone named):
    /// the cache, the delay and catalogue options as for a Keystone; no
    /// service user; `WWW-Authenticate` names `www_authenticate_uri` when
    /// set, else nothing.
    pub fn local(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut conf = AuthTokenConfig::from_lookup(|k| {
            get(k).or_else(|| {
                LOCAL_PLACEHOLDERS
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            })
        })?;
        conf.identity_url = String::new();
        conf.www_authenticate_uri = get("www_authenticate_uri")
            .or_else(|| get("auth_uri"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        conf.credentials.username = String::new();
        conf.credentials.password = String::new();
        Ok(conf)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<AuthTokenConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthTokenConfig::from_lookup(|k| map.get(k).cloned())
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("auth_url", "http://127.0.0.1:5000"),
        ("username", "nova"),
        ("password", "secret"),
        ("project_name", "service"),
    ];

    #[test]
    fn defaults_are_keystonemiddlewares() {
        let c = from(MINIMAL).unwrap();
        assert_eq!(c.identity_url, "http://127.0.0.1:5000/v3");
        assert_eq!(c.www_authenticate_uri, "http://127.0.0.1:5000");
        assert_eq!(c.token_cache_time, Some(Duration::from_secs(300)));
        assert_eq!(c.service_token_roles, vec!["service".to_string()]);
        assert!(!c.delay_auth_decision && c.include_service_catalog);
        assert_eq!(
            c.credentials.project,
            Some(ProjectRef::Name(
                "service".into(),
                DomainRef::Id("default".into())
            ))
        );
        assert!(!format!("{c:?}").contains("secret"), "password in Debug");
    }

    #[test]
    fn without_a_keystone_the_local_options_keep_the_cache_settings() {
        let none: &[(&str, &str)] = &[("token_cache_time", "60")];
        let map: HashMap<String, String> = none
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| map.get(k).cloned();
        assert!(!names_a_keystone(&get));
        let c = AuthTokenConfig::local(get).unwrap();
        assert_eq!(c.token_cache_time, Some(Duration::from_secs(60)));
        assert_eq!(
            (c.identity_url.as_str(), c.www_authenticate_uri.as_str()),
            ("", "")
        );
        assert!(names_a_keystone(
            &|k: &str| (k == "auth_host").then(|| "ks".to_string())
        ));
    }

    #[test]
    fn legacy_havana_names_still_configure_the_filter() {
        let c = from(&[
            ("auth_host", "keystone.example"),
            ("auth_port", "35357"),
            ("auth_protocol", "http"),
            ("admin_user", "nova"),
            ("admin_password", "pw"),
            ("admin_tenant_name", "service"),
        ])
        .unwrap();
        assert_eq!(c.identity_url, "http://keystone.example:35357/v3");
        assert_eq!(c.credentials.username, "nova");
    }

    #[test]
    fn bad_or_missing_values_are_named() {
        assert_eq!(
            from(&[("username", "u"), ("password", "p")]).unwrap_err(),
            ConfigError::Missing("auth_url")
        );
        let mut bad = MINIMAL.to_vec();
        bad.push(("token_cache_time", "soon"));
        assert!(matches!(
            from(&bad).unwrap_err(),
            ConfigError::Invalid { option, .. } if option == "token_cache_time"
        ));
        let mut other = MINIMAL.to_vec();
        other.push(("auth_type", "v3token"));
        assert!(from(&other).is_err());
        let mut never = MINIMAL.to_vec();
        never.push(("token_cache_time", "-1"));
        assert_eq!(from(&never).unwrap().token_cache_time, None);
    }
}
