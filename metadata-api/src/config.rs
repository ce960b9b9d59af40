//! The nova.conf options the metadata service reads, one struct per option
//! group, with nova's names and defaults. Havana's older names in
//! `[DEFAULT]` are accepted where the new ones are unset.

use std::path::PathBuf;

/// A bad value in nova.conf: names the section, the option and the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid value {value:?} for option {option} in section [{section}]: {reason}")]
pub struct ConfigError {
    /// The section (`api`, `neutron`, `metadata`, `DEFAULT`).
    pub section: String,
    /// The option name.
    pub option: String,
    /// The value as written.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

/// A vendordata provider of `[api] vendordata_providers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VendordataProvider {
    /// `StaticJSON`: the file at `vendordata_jsonfile_path`.
    StaticJson,
    /// `DynamicJSON`: the REST targets of `vendordata_dynamic_targets`.
    DynamicJson,
}

/// The metadata options of nova's `[api]` group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiMetadataOptions {
    /// Seconds a looked-up instance is served from the worker's cache;
    /// 0 disables caching. Default 15.
    pub metadata_cache_expiration: u64,
    /// Domain appended to hostnames (`<hostname>.<dhcp_domain>`); empty
    /// means none. Default `novalocal`.
    pub dhcp_domain: String,
    /// The vendordata drivers, in order. Default `StaticJSON`.
    pub vendordata_providers: Vec<VendordataProvider>,
    /// The StaticJSON file.
    pub vendordata_jsonfile_path: Option<PathBuf>,
    /// DynamicJSON targets, `name@url` each (entries without `@` are
    /// skipped at request time with a warning, as nova does).
    pub vendordata_dynamic_targets: Vec<String>,
    /// CA bundle for https targets; empty: the system roots.
    pub vendordata_dynamic_ssl_certfile: Option<PathBuf>,
    /// Connect timeout in seconds (min 3). Default 5.
    pub vendordata_dynamic_connect_timeout: u64,
    /// Read timeout in seconds (min 0). Default 5.
    pub vendordata_dynamic_read_timeout: u64,
    /// Whether a failing target fails the whole request (500).
    pub vendordata_dynamic_failure_fatal: bool,
}

impl Default for ApiMetadataOptions {
    fn default() -> Self {
        ApiMetadataOptions {
            metadata_cache_expiration: 15,
            dhcp_domain: "novalocal".to_owned(),
            vendordata_providers: vec![VendordataProvider::StaticJson],
            vendordata_jsonfile_path: None,
            vendordata_dynamic_targets: Vec::new(),
            vendordata_dynamic_ssl_certfile: None,
            vendordata_dynamic_connect_timeout: 5,
            vendordata_dynamic_read_timeout: 5,
            vendordata_dynamic_failure_fatal: false,
        }
    }
}

/// The metadata options of nova's `[neutron]` group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeutronMetadataOptions {
    /// Identify instances by the signed `X-Instance-ID` headers a neutron
    /// metadata proxy adds, instead of by the caller's address.
    pub service_metadata_proxy: bool,
    /// The HMAC key of those signatures.
    pub metadata_proxy_shared_secret: String,
}

/// Options of our own `[metadata]` group: IMDSv2 session tokens, which nova
/// does not have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImdsOptions {
    /// Refuse (401) every metadata request that carries no valid session
    /// token. Default false: tokens are optional, as cloud-init on a
    /// non-AWS cloud never asks for one.
    pub imds_tokens_required: bool,
    /// Key that signs session tokens. Every worker and every host behind one
    /// address must share it. Unset: a key file under `state_path`, created
    /// once and shared by all workers of the host.
    pub imds_token_secret: Option<String>,
    /// `[DEFAULT] state_path`, where the generated key file lives.
    pub state_path: Option<PathBuf>,
}

/// Everything the metadata service reads from nova.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataConfig {
    /// `[api]` options.
    pub api: ApiMetadataOptions,
    /// `[neutron]` options.
    pub neutron: NeutronMetadataOptions,
    /// `[metadata]` options.
    pub imds: ImdsOptions,
}

impl MetadataConfig {
    /// Reads the options from the loaded nova.conf (substituted values; an
    /// option set to the empty string stays empty, as `dhcp_domain =`
    /// means "no domain").
    pub fn from_nova_conf(conf: &common::config::NovaConf) -> Result<Self, ConfigError> {
        Self::from_raw(|group, option| match conf.get_str(group, option) {
            Ok(Some(v)) => Some(v),
            _ => conf.raw(group, option).map(|r| r.value.clone()),
        })
    }

    /// Builds the options from a getter `get(section, option)` over the
    /// loaded nova.conf (sections as written, `DEFAULT` for the defaults).
    pub fn from_raw(get: impl Fn(&str, &str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = ApiMetadataOptions::default();
        // The newest name wins; Havana's names in [DEFAULT] come next.
        let lookup = |names: &[(&str, &str)]| -> Option<(String, String, String)> {
            names.iter().find_map(|(section, option)| {
                get(section, option).map(|v| ((*section).to_owned(), (*option).to_owned(), v))
            })
        };
        let api = ApiMetadataOptions {
            metadata_cache_expiration: match lookup(&[("api", "metadata_cache_expiration")]) {
                Some(found) => parse_int(found, 0)?,
                None => defaults.metadata_cache_expiration,
            },
            dhcp_domain: lookup(&[("api", "dhcp_domain"), ("DEFAULT", "dhcp_domain")])
                .map(|(_, _, v)| v)
                .unwrap_or(defaults.dhcp_domain),
            vendordata_providers: match lookup(&[("api", "vendordata_providers")]) {
                Some((section, option, value)) => split_list(&value)
                    .into_iter()
                    .map(|item| match item.as_str() {
                        "StaticJSON" => Ok(VendordataProvider::StaticJson),
                        "DynamicJSON" => Ok(VendordataProvider::DynamicJson),
                        _ => Err(ConfigError {
                            section: section.clone(),
                            option: option.clone(),
                            value: value.clone(),
                            reason: format!(
                                "unknown provider {item:?} (valid: StaticJSON, DynamicJSON)"
                            ),
                        }),
                    })
                    .collect::<Result<_, _>>()?,
                None => defaults.vendordata_providers,
            },
            vendordata_jsonfile_path: lookup(&[
                ("api", "vendordata_jsonfile_path"),
                ("DEFAULT", "vendordata_jsonfile_path"),
            ])
            .map(|(_, _, v)| v)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
            vendordata_dynamic_targets: lookup(&[("api", "vendordata_dynamic_targets")])
                .map(|(_, _, v)| split_list(&v))
                .unwrap_or_default(),
            vendordata_dynamic_ssl_certfile: lookup(&[("api", "vendordata_dynamic_ssl_certfile")])
                .map(|(_, _, v)| v)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            vendordata_dynamic_connect_timeout: match lookup(&[(
                "api",
                "vendordata_dynamic_connect_timeout",
            )]) {
                Some(found) => parse_int(found, 3)?,
                None => defaults.vendordata_dynamic_connect_timeout,
            },
            vendordata_dynamic_read_timeout: match lookup(&[(
                "api",
                "vendordata_dynamic_read_timeout",
            )]) {
                Some(found) => parse_int(found, 0)?,
                None => defaults.vendordata_dynamic_read_timeout,
            },
            vendordata_dynamic_failure_fatal: match lookup(&[(
                "api",
                "vendordata_dynamic_failure_fatal",
            )]) {
                Some(found) => parse_bool(found)?,
                None => false,
            },
        };
        let neutron = NeutronMetadataOptions {
            service_metadata_proxy: match lookup(&[
                ("neutron", "service_metadata_proxy"),
                ("DEFAULT", "service_neutron_metadata_proxy"),
            ]) {
                Some(found) => parse_bool(found)?,
                None => false,
            },
            metadata_proxy_shared_secret: lookup(&[
                ("neutron", "metadata_proxy_shared_secret"),
                ("DEFAULT", "neutron_metadata_proxy_shared_secret"),
            ])
            .map(|(_, _, v)| v)
            .unwrap_or_default(),
        };
        let imds = ImdsOptions {
            imds_tokens_required: match lookup(&[("metadata", "imds_tokens_required")]) {
                Some(found) => parse_bool(found)?,
                None => false,
            },
            imds_token_secret: lookup(&[("metadata", "imds_token_secret")])
                .map(|(_, _, v)| v)
                .filter(|v| !v.is_empty()),
            state_path: lookup(&[("DEFAULT", "state_path")])
                .map(|(_, _, v)| v)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        };
        Ok(MetadataConfig { api, neutron, imds })
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_int(
    (section, option, value): (String, String, String),
    min: u64,
) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => Err(ConfigError {
            section,
            option,
            value,
            reason: format!("must be at least {min}"),
        }),
        Err(_) => Err(ConfigError {
            section,
            option,
            value,
            reason: "not a non-negative integer".to_owned(),
        }),
    }
}

fn parse_bool((section, option, value): (String, String, String)) -> Result<bool, ConfigError> {
    // oslo.config's accepted spellings.
    match common::config::value::parse_bool(&value) {
        Some(b) => Ok(b),
        None => Err(ConfigError {
            section,
            option,
            value,
            reason: "not a boolean".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn conf(pairs: &[(&str, &str, &str)]) -> Result<MetadataConfig, ConfigError> {
        let map: HashMap<(String, String), String> = pairs
            .iter()
            .map(|(s, o, v)| (((*s).to_owned(), (*o).to_owned()), (*v).to_owned()))
            .collect();
        MetadataConfig::from_raw(|s, o| map.get(&(s.to_owned(), o.to_owned())).cloned())
    }

    #[test]
    fn defaults_are_novas() {
        let c = conf(&[]).unwrap();
        assert_eq!(c.api.metadata_cache_expiration, 15);
        assert_eq!(c.api.dhcp_domain, "novalocal");
        assert_eq!(
            c.api.vendordata_providers,
            vec![VendordataProvider::StaticJson]
        );
        assert_eq!(c.api.vendordata_dynamic_connect_timeout, 5);
        assert!(!c.neutron.service_metadata_proxy);
        assert!(!c.imds.imds_tokens_required);
    }

    #[test]
    fn havana_names_are_read_when_new_ones_are_unset() {
        let c = conf(&[
            ("DEFAULT", "service_neutron_metadata_proxy", "True"),
            ("DEFAULT", "neutron_metadata_proxy_shared_secret", "s3cr3t"),
        ])
        .unwrap();
        assert!(c.neutron.service_metadata_proxy);
        assert_eq!(c.neutron.metadata_proxy_shared_secret, "s3cr3t");
    }

    #[test]
    fn bad_values_name_section_option_and_value() {
        let err = conf(&[("api", "vendordata_dynamic_connect_timeout", "2")]).unwrap_err();
        assert_eq!(err.section, "api");
        assert_eq!(err.option, "vendordata_dynamic_connect_timeout");
        assert_eq!(err.value, "2");
        let err = conf(&[("api", "vendordata_providers", "StaticJSON, Bogus")]).unwrap_err();
        assert!(err.to_string().contains("Bogus"), "{err}");
        let err = conf(&[("neutron", "service_metadata_proxy", "maybe")]).unwrap_err();
        assert_eq!(err.option, "service_metadata_proxy");
    }

    #[test]
    fn lists_are_comma_separated() {
        let c = conf(&[
            ("api", "vendordata_providers", "StaticJSON,DynamicJSON"),
            (
                "api",
                "vendordata_dynamic_targets",
                "a@http://x/, b@http://y/",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.api.vendordata_providers,
            vec![
                VendordataProvider::StaticJson,
                VendordataProvider::DynamicJson
            ]
        );
        assert_eq!(
            c.api.vendordata_dynamic_targets,
            vec!["a@http://x/", "b@http://y/"]
        );
    }
}
