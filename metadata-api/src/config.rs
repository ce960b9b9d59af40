//! The nova.conf options the metadata service reads, one struct per option
//! group, with nova's names and defaults. Havana's older names in
//! `[DEFAULT]` are accepted where the new ones are unset.

use std::path::PathBuf;

use nova_conf::{value, GroupDecl, NovaConf};

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

nova_conf::option_group! {
    /// nova's `[api]` metadata options.
    pub struct ApiMetadataGroup in "api" {
        /// Domain appended to hostnames; empty means none.
        pub dhcp_domain: String = "novalocal" => value::string;
        /// The vendordata drivers, in order.
        pub vendordata_providers: Vec<VendordataProvider> = "StaticJSON" => providers;
        /// The StaticJSON file.
        pub vendordata_jsonfile_path: Option<PathBuf> => value::path;
        /// DynamicJSON targets, `name@url` each.
        pub vendordata_dynamic_targets: Vec<String> = "" => value::list;
        /// CA bundle for https targets.
        pub vendordata_dynamic_ssl_certfile: Option<PathBuf> => value::path;
        /// Connect timeout in seconds.
        pub vendordata_dynamic_connect_timeout: u64 = "5" => value::int(Some(3), None);
        /// Read timeout in seconds.
        pub vendordata_dynamic_read_timeout: u64 = "5" => value::int(Some(0), None);
        /// Whether a failing target fails the whole request.
        pub vendordata_dynamic_failure_fatal: bool = "false" => value::boolean;
    }
}

nova_conf::option_group! {
    /// nova's `[neutron]` metadata options.
    pub struct NeutronMetadataGroup in "neutron" {
        /// Identify instances by a neutron metadata proxy's signed headers.
        pub service_metadata_proxy: bool = "false" => value::boolean;
        /// The HMAC key of those signatures.
        pub metadata_proxy_shared_secret: String = "" => value::string;
    }
}

nova_conf::option_group! {
    /// Our own `[metadata]` group: IMDSv2 session tokens.
    pub struct ImdsGroup in "metadata" {
        /// Refuse every metadata request without a valid session token.
        pub imds_tokens_required: bool = "false" => value::boolean;
        /// Key that signs session tokens.
        pub imds_token_secret: Option<String> => value::string;
    }
}

/// The groups this crate declares, for the binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<ApiMetadataGroup>(),
    GroupDecl::of::<NeutronMetadataGroup>(),
    GroupDecl::of::<ImdsGroup>(),
];

fn providers(text: &str) -> Result<Vec<VendordataProvider>, String> {
    value::list(text)?
        .iter()
        .map(|item| match item.as_str() {
            "StaticJSON" => Ok(VendordataProvider::StaticJson),
            "DynamicJSON" => Ok(VendordataProvider::DynamicJson),
            _ => Err(format!(
                "unknown provider {item:?} (valid: StaticJSON, DynamicJSON)"
            )),
        })
        .collect()
}

impl MetadataConfig {
    /// The options from the loaded configuration (loaded with
    /// [`OPTION_GROUPS`] in its schema, so already checked). An option
    /// set to the empty string stays empty where nova keeps it so:
    /// `dhcp_domain =` means "no domain".
    pub fn from_conf(conf: &NovaConf) -> Self {
        let api = conf.group::<ApiMetadataGroup>();
        let neutron = conf.group::<NeutronMetadataGroup>();
        let imds = conf.group::<ImdsGroup>();
        let set_empty = |group: &str, option: &str| {
            conf.raw(group, option)
                .is_some_and(|r| r.value.trim().is_empty())
        };
        MetadataConfig {
            api: ApiMetadataOptions {
                metadata_cache_expiration: conf.api.metadata_cache_expiration,
                dhcp_domain: if set_empty("api", "dhcp_domain") {
                    String::new()
                } else {
                    api.dhcp_domain.clone()
                },
                vendordata_providers: api.vendordata_providers.clone(),
                vendordata_jsonfile_path: api.vendordata_jsonfile_path.clone(),
                vendordata_dynamic_targets: api.vendordata_dynamic_targets.clone(),
                vendordata_dynamic_ssl_certfile: api.vendordata_dynamic_ssl_certfile.clone(),
                vendordata_dynamic_connect_timeout: api.vendordata_dynamic_connect_timeout,
                vendordata_dynamic_read_timeout: api.vendordata_dynamic_read_timeout,
                vendordata_dynamic_failure_fatal: api.vendordata_dynamic_failure_fatal,
            },
            neutron: NeutronMetadataOptions {
                service_metadata_proxy: neutron.service_metadata_proxy,
                metadata_proxy_shared_secret: neutron.metadata_proxy_shared_secret.clone(),
            },
            imds: ImdsOptions {
                imds_tokens_required: imds.imds_tokens_required,
                imds_token_secret: imds.imds_token_secret.clone(),
                // Only a state_path the operator set: unset, the key file
                // goes to the temporary directory.
                state_path: conf
                    .raw("DEFAULT", "state_path")
                    .filter(|r| !r.value.trim().is_empty())
                    .map(|_| conf.default.state_path.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use nova_conf::{ConfigSources, Schema};

    use super::*;

    /// The options with `pairs` set (as oslo's environment variables), or
    /// the one-line error.
    fn conf(pairs: &[(&str, &str, &str)]) -> Result<MetadataConfig, String> {
        let sources = ConfigSources::from_options(pairs);
        NovaConf::load(&sources, &Schema::new(&[OPTION_GROUPS]))
            .map(|(conf, _)| MetadataConfig::from_conf(&conf))
            .map_err(|e| e.to_string())
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
        assert_eq!(
            err,
            "invalid value \"2\" for option [api] vendordata_dynamic_connect_timeout in \
             environment variable OS_API__VENDORDATA_DYNAMIC_CONNECT_TIMEOUT: expected an \
             integer >= 3"
        );
        let err = conf(&[("api", "vendordata_providers", "StaticJSON, Bogus")]).unwrap_err();
        assert!(err.contains("Bogus"), "{err}");
        let err = conf(&[("neutron", "service_metadata_proxy", "maybe")]).unwrap_err();
        assert!(err.contains("[neutron] service_metadata_proxy"), "{err}");
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
