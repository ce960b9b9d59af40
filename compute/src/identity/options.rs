//! The identity's nova.conf options, with Keystone's names where Keystone
//! has one (`[token] expiration`; `keystone-manage bootstrap`'s
//! `--bootstrap-*` flags become `[identity] bootstrap_*`), and
//! [`IdentityMode`]: which identity a deployment runs.

use std::time::Duration;

use nova_conf::{value, GroupDecl, NovaConf};

/// Keystone's `[token] expiration` default: one hour.
pub const DEFAULT_TOKEN_EXPIRATION: u64 = 3600;

/// The environment variable that gives the bootstrap password, as
/// `keystone-manage bootstrap` reads it; it wins over the option.
pub const BOOTSTRAP_PASSWORD_ENV: &str = "OS_BOOTSTRAP_PASSWORD";

/// The file under `state_path` a generated bootstrap password is written
/// to (mode 0600), once.
pub const BOOTSTRAP_PASSWORD_FILE: &str = "identity-bootstrap-password";

nova_conf::option_group! {
    /// `[token]`: the built-in identity's tokens.
    pub struct TokenGroup in "token" {
        /// Seconds a token lives after it is issued (Keystone's option
        /// and default).
        pub expiration: u64 = "3600" => value::int(Some(1), Some(31_536_000));
    }
}

nova_conf::option_group! {
    /// `[identity]`: what the built-in identity's bootstrap creates (as
    /// `keystone-manage bootstrap` does) on `db sync` and on the first
    /// start in store mode.
    pub struct IdentityGroup in "identity" {
        /// The admin user's name.
        pub bootstrap_username: String = "admin" => value::string;
        /// The admin user's password; `OS_BOOTSTRAP_PASSWORD` wins over
        /// it. Unset: a random one is generated when the user is made and
        /// written to `$state_path/identity-bootstrap-password` (0600).
        pub bootstrap_password: Option<String> => value::string;
        /// The admin project's name.
        pub bootstrap_project_name: String = "admin" => value::string;
        /// The role the admin user gets on the project and the system.
        pub bootstrap_role_name: String = "admin" => value::string;
    }
}

/// The groups above, for a binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<TokenGroup>(),
    GroupDecl::of::<IdentityGroup>(),
];

/// Which identity answers for the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMode {
    /// `[api] auth_strategy = noauth2`: nova's trusting noauth2; the
    /// identity app mints `user:project` tokens and stores nothing.
    NoAuth,
    /// `auth_strategy = keystone` with no Keystone configured (no
    /// `[keystone_authtoken] auth_url`, nor its legacy `identity_uri` or
    /// `auth_host`): the identity in the store, which the `authtoken`
    /// filters validate against directly.
    Store,
    /// `auth_strategy = keystone` and a Keystone configured: tokens are
    /// that Keystone's; the built-in identity is not used.
    External,
}

impl IdentityMode {
    /// The mode nova.conf selects (see the variants).
    pub fn from_conf(conf: &NovaConf) -> Self {
        IdentityMode::of(&conf.api.auth_strategy, keystone_configured(conf))
    }

    /// The mode of `[api] auth_strategy` when a Keystone is configured
    /// (`keystone_configured`) or not: the one rule, used wherever the
    /// mode is decided.
    pub fn of(auth_strategy: &str, keystone_configured: bool) -> Self {
        match (auth_strategy, keystone_configured) {
            ("keystone", false) => IdentityMode::Store,
            ("keystone", true) => IdentityMode::External,
            _ => IdentityMode::NoAuth,
        }
    }
}

/// Whether `[keystone_authtoken]` names a Keystone (`auth_url`, or the
/// legacy `identity_uri` or `auth_host`), as the `authtoken` filter reads it.
pub fn keystone_configured(conf: &NovaConf) -> bool {
    ["auth_url", "identity_uri", "auth_host"]
        .into_iter()
        .any(|option| {
            conf.get_str("keystone_authtoken", option)
                .ok()
                .flatten()
                .is_some_and(|v| !v.trim().is_empty())
        })
}

/// The identity's settings, read in the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Which identity runs.
    pub mode: IdentityMode,
    /// `[token] expiration`.
    pub token_expiration: Duration,
    /// The bootstrap's names and password.
    pub bootstrap: super::BootstrapOptions,
}

impl IdentityConfig {
    /// The settings from nova.conf (loaded with [`OPTION_GROUPS`]) and
    /// `OS_BOOTSTRAP_PASSWORD` from `env`.
    pub fn from_conf(conf: &NovaConf, env: impl Fn(&str) -> Option<String>) -> Self {
        let token = conf.group::<TokenGroup>();
        let identity = conf.group::<IdentityGroup>();
        let password = env(BOOTSTRAP_PASSWORD_ENV)
            .filter(|p| !p.is_empty())
            .or_else(|| {
                identity
                    .bootstrap_password
                    .clone()
                    .filter(|p| !p.is_empty())
            });
        IdentityConfig {
            mode: IdentityMode::from_conf(conf),
            token_expiration: Duration::from_secs(token.expiration),
            bootstrap: super::BootstrapOptions {
                username: identity.bootstrap_username.clone(),
                password,
                project_name: identity.bootstrap_project_name.clone(),
                role_name: identity.bootstrap_role_name.clone(),
                password_file: conf.default.state_path.join(BOOTSTRAP_PASSWORD_FILE),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::conf_with;

    #[test]
    fn the_mode_follows_auth_strategy_and_a_configured_keystone() {
        let mode =
            |pairs: &[(&str, &str, &str)]| IdentityMode::from_conf(&conf_with(pairs).unwrap());
        assert_eq!(
            mode(&[("api", "auth_strategy", "noauth2")]),
            IdentityMode::NoAuth
        );
        assert_eq!(
            mode(&[("api", "auth_strategy", "keystone")]),
            IdentityMode::Store
        );
        assert_eq!(
            mode(&[
                ("api", "auth_strategy", "keystone"),
                ("keystone_authtoken", "auth_url", "http://keystone:5000"),
            ]),
            IdentityMode::External
        );
    }

    #[test]
    fn the_environment_password_wins_over_the_option() {
        let conf = conf_with(&[
            ("identity", "bootstrap_password", "from-file"),
            ("token", "expiration", "600"),
        ])
        .unwrap();
        let config = IdentityConfig::from_conf(&conf, |_| Some("from-env".into()));
        assert_eq!(config.bootstrap.password.as_deref(), Some("from-env"));
        assert_eq!(config.token_expiration, Duration::from_secs(600));
        let config = IdentityConfig::from_conf(&conf, |_| None);
        assert_eq!(config.bootstrap.password.as_deref(), Some("from-file"));
    }
}
