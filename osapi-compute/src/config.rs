//! The nova.conf options this API reads, one struct per option group with
//! nova's names and defaults.

/// `[api]` (and the `[oslo_middleware]` body limit the API enforces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// `[api] auth_strategy`: `keystone` (default) or `noauth2`.
    pub auth_strategy: String,
    /// `[api] max_limit`: the most items a list returns (default 1000).
    pub max_limit: usize,
    /// `[api] compute_link_prefix`: replaces scheme, host and base path of compute links.
    pub compute_link_prefix: Option<String>,
    /// `[api] glance_link_prefix`: the same for image links.
    pub glance_link_prefix: Option<String>,
    /// `[api] use_forwarded_for`: trust `X-Forwarded-For` as the remote address.
    pub use_forwarded_for: bool,
    /// `[api] enable_instance_password`: return `adminPass` on create/rebuild.
    pub enable_instance_password: bool,
    /// `[oslo_middleware] max_request_body_size` (default 114688).
    pub max_request_body_size: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth_strategy: "keystone".into(),
            max_limit: 1000,
            compute_link_prefix: None,
            glance_link_prefix: None,
            use_forwarded_for: false,
            enable_instance_password: true,
            max_request_body_size: 114_688,
        }
    }
}

/// A bad value for an option: names the section, option and value.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for option [{section}] {option}: {reason}")]
pub struct ConfigError {
    /// The option group.
    pub section: String,
    /// The option name.
    pub option: String,
    /// The value as given.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl ApiConfig {
    /// Builds the options from a raw `(section, option) -> value` lookup
    /// (nova.conf as parsed), keeping nova's defaults for absent options.
    pub fn from_raw(get: impl Fn(&str, &str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = ApiConfig::default();
        let bool_opt = |section: &str, option: &str, default: bool| -> Result<bool, ConfigError> {
            match get(section, option) {
                None => Ok(default),
                Some(v) => match common::config::value::parse_bool(&v) {
                    Some(b) => Ok(b),
                    None => Err(ConfigError {
                        section: section.into(),
                        option: option.into(),
                        value: v,
                        reason: "expected a boolean".into(),
                    }),
                },
            }
        };
        let usize_opt =
            |section: &str, option: &str, default: usize| -> Result<usize, ConfigError> {
                match get(section, option) {
                    None => Ok(default),
                    Some(v) => v.trim().parse().map_err(|_| ConfigError {
                        section: section.into(),
                        option: option.into(),
                        value: v,
                        reason: "expected a non-negative integer".into(),
                    }),
                }
            };
        if let Some(strategy) =
            get("api", "auth_strategy").or_else(|| get("DEFAULT", "auth_strategy"))
        {
            let strategy = strategy.trim().to_string();
            if strategy != "keystone" && strategy != "noauth2" {
                return Err(ConfigError {
                    section: "api".into(),
                    option: "auth_strategy".into(),
                    value: strategy,
                    reason: "expected keystone or noauth2".into(),
                });
            }
            config.auth_strategy = strategy;
        }
        config.max_limit = usize_opt("api", "max_limit", config.max_limit)?;
        config.compute_link_prefix = get("api", "compute_link_prefix").filter(|v| !v.is_empty());
        config.glance_link_prefix = get("api", "glance_link_prefix").filter(|v| !v.is_empty());
        config.use_forwarded_for = bool_opt("api", "use_forwarded_for", false)?;
        config.enable_instance_password = bool_opt("api", "enable_instance_password", true)?;
        config.max_request_body_size = usize_opt(
            "oslo_middleware",
            "max_request_body_size",
            config.max_request_body_size,
        )?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_novas_and_values_override() {
        let config = ApiConfig::from_raw(|s, o| match (s, o) {
            ("api", "max_limit") => Some("50".into()),
            ("api", "auth_strategy") => Some("noauth2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(config.max_limit, 50);
        assert_eq!(config.auth_strategy, "noauth2");
        assert_eq!(config.max_request_body_size, 114_688);
    }

    #[test]
    fn bad_value_names_option_and_value() {
        let err =
            ApiConfig::from_raw(|s, o| (s == "api" && o == "max_limit").then(|| "lots".into()))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'lots' for option [api] max_limit: expected a non-negative integer"
        );
    }
}
