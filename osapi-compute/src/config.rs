//! The nova.conf options this API reads: its own `[api]` options, declared
//! with nova-conf's macro, and the [`ApiConfig`] its handlers use, built
//! from them and from nova-conf's own groups.

use nova_conf::{value, GroupDecl, NovaConf};

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
    /// `[DEFAULT] ec2_listen_port` (8773): the port of the EC2 URL in the
    /// built-in identity's catalogue.
    pub ec2_listen_port: u16,
    /// Whether `[keystone_authtoken]` names a Keystone; with
    /// `auth_strategy` it decides the identity's mode
    /// ([`ApiConfig::identity_mode`]).
    pub keystone_configured: bool,
    /// `[neutron] default_floating_pool`: the pool (external network, by
    /// name or id) of an `os-floating-ips` allocation that names none.
    pub default_floating_pool: String,
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
            ec2_listen_port: 8773,
            keystone_configured: false,
            default_floating_pool: DEFAULT_FLOATING_POOL.into(),
        }
    }
}

nova_conf::option_group! {
    /// `[api]`: the compute API's own options (nova's names and defaults).
    pub struct ComputeApiGroup in "api" {
        /// The most items a list returns.
        pub max_limit: usize = "1000" => value::int(Some(0), None);
        /// Replaces scheme, host and base path of compute links.
        pub compute_link_prefix: Option<String> => value::string;
        /// Replaces scheme, host and base path of image links.
        pub glance_link_prefix: Option<String> => value::string;
        /// Trust `X-Forwarded-For` as the remote address.
        pub use_forwarded_for: bool = "false" => value::boolean;
        /// Return `adminPass` on create and rebuild.
        pub enable_instance_password: bool = "true" => value::boolean;
    }
}

/// The default of `[neutron] default_floating_pool`: the external network
/// a fresh cloud seeds, as devstack sets it. (nova's own default, `nova`,
/// names no network of a fresh cloud; see DECISIONS.md.)
pub const DEFAULT_FLOATING_POOL: &str = "public";

nova_conf::option_group! {
    /// nova's `[neutron]` options the compute API's proxies read.
    pub struct NeutronProxyGroup in "neutron" {
        /// The floating IP pool (an external network's name or id) of an
        /// `os-floating-ips` allocation that names none.
        pub default_floating_pool: String = "public" => value::string;
    }
}

/// The groups this crate declares, for the binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<ComputeApiGroup>(),
    GroupDecl::of::<NeutronProxyGroup>(),
];

impl ApiConfig {
    /// The options from the loaded configuration (loaded with
    /// [`OPTION_GROUPS`] in its schema, so already checked).
    pub fn from_conf(conf: &NovaConf) -> Self {
        let api = conf.group::<ComputeApiGroup>();
        ApiConfig {
            auth_strategy: conf.api.auth_strategy.clone(),
            max_limit: api.max_limit,
            compute_link_prefix: api.compute_link_prefix.clone(),
            glance_link_prefix: api.glance_link_prefix.clone(),
            use_forwarded_for: api.use_forwarded_for,
            enable_instance_password: api.enable_instance_password,
            max_request_body_size: usize::try_from(conf.oslo_middleware.max_request_body_size)
                .unwrap_or(usize::MAX),
            ec2_listen_port: conf.default.ec2_listen_port,
            keystone_configured: compute::identity::options::keystone_configured(conf),
            default_floating_pool: conf
                .group::<NeutronProxyGroup>()
                .default_floating_pool
                .clone(),
        }
    }

    /// The identity app's mode: the store's identity with `keystone` and
    /// no Keystone configured, noauth's otherwise
    /// ([`compute::identity::IdentityMode::of`]).
    pub fn identity_mode(&self) -> compute::identity::IdentityMode {
        compute::identity::IdentityMode::of(&self.auth_strategy, self.keystone_configured)
    }
}

#[cfg(test)]
mod tests {
    use nova_conf::{ConfigSources, Schema};

    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<NovaConf, String> {
        let sources = ConfigSources {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ConfigSources::default()
        };
        NovaConf::load(&sources, &Schema::new(&[OPTION_GROUPS]))
            .map(|(conf, _)| conf)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_novas_and_values_override() {
        let conf = load(&[
            ("OS_API__MAX_LIMIT", "50"),
            ("OS_API__AUTH_STRATEGY", "noauth2"),
        ]);
        let config = ApiConfig::from_conf(&conf.unwrap());
        assert_eq!(config.max_limit, 50);
        assert_eq!(config.ec2_listen_port, 8773);
        assert_eq!(config.auth_strategy, "noauth2");
        assert_eq!(config.max_request_body_size, 114_688);
        assert_eq!(config.default_floating_pool, "public");
        assert_eq!(
            ApiConfig::from_conf(&load(&[]).unwrap()),
            ApiConfig::default()
        );
    }

    #[test]
    fn the_ec2_port_of_the_catalogue_is_the_configured_ec2_listen_port() {
        let conf = load(&[("OS_DEFAULT__EC2_LISTEN_PORT", "9773")]).unwrap();

        assert_eq!(ApiConfig::from_conf(&conf).ec2_listen_port, 9773);
    }

    #[test]
    fn bad_value_names_option_and_value() {
        let err = load(&[("OS_API__MAX_LIMIT", "lots")]).unwrap_err();
        assert_eq!(
            err,
            "invalid value \"lots\" for option [api] max_limit in environment variable \
             OS_API__MAX_LIMIT: expected an integer >= 0"
        );
    }
}
