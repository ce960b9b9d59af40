//! The `[ec2]` option group: how the EC2 API authenticates, checks request
//! times and describes itself, with nova's Havana option names and defaults.
//!
//! nova kept these options in `[DEFAULT]`; we read `[ec2]` first and fall back
//! to `[DEFAULT]` so that an operator's Havana `nova.conf` keeps working.
//! The group is declared with nova-conf's macro ([`Ec2Group`]), so it is
//! parsed and checked with the rest of nova.conf in the supervising parent;
//! [`Ec2Options::from_conf`] resolves what depends on other groups.

use std::fmt;

use compute::identity::IdentityMode;
use nova_conf::{value, GroupDecl, NovaConf};
use nova_middleware::authtoken::{AuthTokenConfig, ConfigError as KsError};

/// How the EC2 API authenticates requests when the paste pipeline leaves the
/// choice to us (our own `ec2auth` filter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// nova's `NoAuth`: the access key names `user[:project]`; nothing is checked.
    NoAuth,
    /// Signature Version 2 and 4 checked against the EC2 credentials in the store.
    Signature,
    /// Signatures checked by Keystone (`POST /v3/ec2tokens`), as nova's
    /// `EC2KeystoneAuth` did: the credentials are Keystone's.
    Keystone,
}

impl AuthMode {
    /// The mode named `value` (`noauth2` is `noauth`).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "noauth" | "noauth2" => Some(Self::NoAuth),
            "signature" => Some(Self::Signature),
            "keystone" => Some(Self::Keystone),
            _ => None,
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoAuth => "noauth",
            Self::Signature => "signature",
            Self::Keystone => "keystone",
        })
    }
}

/// The region clients sign for when nothing else is configured: Keystone's
/// bootstrap default, and the built-in identity catalogue's.
pub const DEFAULT_SIGNING_REGION: &str = "RegionOne";

/// The largest value of an option that is a duration (`i32::MAX`, as
/// nova's integer options in practice): durations become time arithmetic
/// on every request, and a 32-bit bound keeps that arithmetic in range.
const MAX_DURATION_OPTION: i64 = i32::MAX as i64;

nova_conf::option_group! {
    /// `[ec2]` (or, for each option it does not set, Havana's `[DEFAULT]`).
    pub struct Ec2Group in "ec2" or "DEFAULT" {
        /// `noauth`, `signature` or `keystone`; unset, it follows `[api]
        /// auth_strategy` (`noauth2`: noauth, `keystone`: keystone).
        pub auth_mode: Option<AuthMode> => auth_mode;
        /// Seconds a signed request's time may be away from ours.
        pub ec2_timestamp_expiry: u64 = "300" => value::int(Some(0), Some(MAX_DURATION_OPTION));
        /// The region DescribeRegions and DescribeAvailabilityZones report.
        pub region_name: String = "nova" => value::string;
        /// Havana's `name=host` pairs for DescribeRegions.
        pub region_list: Vec<(String, String)> = "" => region_pairs;
        /// The regions a SigV4 credential scope may name.
        pub signing_regions: Vec<String> = "" => value::list;
        /// The host advertised in region endpoints.
        pub ec2_host: Option<String> => value::string;
        /// The port advertised with `ec2_host`.
        pub ec2_port: u16 = "8773" => value::port;
        /// The scheme advertised in region endpoints.
        pub ec2_scheme: String = "http" => value::string;
        /// The path advertised with `ec2_host`.
        pub ec2_path: String = "/" => value::string;
        /// Failed authentications before an access key is locked out.
        pub lockout_attempts: u32 = "5" => value::int(Some(0), None);
        /// Minutes a locked-out access key stays locked.
        pub lockout_minutes: u64 = "15" => value::int(Some(0), Some(MAX_DURATION_OPTION));
        /// Minutes over which failures are counted.
        pub lockout_window: u64 = "15" => value::int(Some(0), Some(MAX_DURATION_OPTION));
        /// Report the fixed IP as `privateDnsName`.
        pub ec2_private_dns_show_ip: bool = "false" => value::boolean;
        /// Refuse malformed ids.
        pub ec2_strict_validation: bool = "true" => value::boolean;
        /// Where the keystone mode sends signatures (`.../v3/ec2tokens`).
        pub keystone_ec2_url: Option<String> => value::string;
        /// The largest form body accepted, in bytes.
        pub max_request_body_size: usize = "114688" => value::int(Some(0), None);
    }
}

nova_conf::option_group! {
    /// nova's `[neutron]` options the EC2 API reads.
    pub struct Ec2NeutronGroup in "neutron" {
        /// The external network (by name or id) AllocateAddress takes
        /// addresses from.
        pub default_floating_pool: String = "public" => value::string;
    }
}

/// The groups this crate declares, for the binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<Ec2Group>(),
    GroupDecl::of::<Ec2NeutronGroup>(),
];

fn auth_mode(text: &str) -> Result<AuthMode, String> {
    AuthMode::parse(text).ok_or_else(|| "expected noauth, signature or keystone".to_owned())
}

fn region_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    value::list(text)?
        .iter()
        .map(|entry| {
            entry
                .split_once('=')
                .map(|(name, host)| (name.trim().to_string(), host.trim().to_string()))
                .ok_or_else(|| "expected name=host pairs".to_owned())
        })
        .collect()
}

/// The options of the EC2 API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Options {
    /// `[ec2] auth_mode`: `noauth`, `signature` or `keystone`. Unset, it
    /// follows `auth_strategy` (`noauth`/`noauth2` → noauth, `keystone`,
    /// nova's default, → keystone when `[keystone_authtoken]` names a
    /// Keystone, else signature: the built-in identity's EC2 keys).
    pub auth_mode: AuthMode,
    /// `ec2_timestamp_expiry` (300): seconds a signed request's time may be
    /// away from ours (either way) before it is refused with `RequestExpired`.
    pub ec2_timestamp_expiry: u64,
    /// `region_name` ("nova"): the region DescribeRegions and
    /// DescribeAvailabilityZones report.
    pub region_name: String,
    /// `region_list` (empty): Havana's `name=host` pairs for DescribeRegions;
    /// empty means the one region `region_name` served by this endpoint.
    pub region_list: Vec<(String, String)>,
    /// `signing_regions` (empty): the regions a SigV4 credential scope may
    /// name. Empty means `region_name` and `RegionOne` (the region of
    /// Keystone's bootstrap and of the built-in identity's catalogue, which
    /// clients sign for). A signature scoped to any other region is refused.
    pub signing_regions: Vec<String>,
    /// `ec2_host` (unset): the host advertised in region endpoints; unset, the
    /// request's `Host` header is used.
    pub ec2_host: Option<String>,
    /// `ec2_port` (8773): the port advertised with `ec2_host`.
    pub ec2_port: u16,
    /// `ec2_scheme` ("http"): the scheme advertised in region endpoints.
    pub ec2_scheme: String,
    /// `ec2_path` ("/"): the path advertised with `ec2_host` (Havana served
    /// `/services/Cloud`; Kilo and later `/`).
    pub ec2_path: String,
    /// `lockout_attempts` (5): failed authentications before an access key is locked out.
    pub lockout_attempts: u32,
    /// `lockout_minutes` (15): how long a locked-out access key stays locked.
    pub lockout_minutes: u64,
    /// `lockout_window` (15): minutes over which failures are counted.
    pub lockout_window: u64,
    /// `ec2_private_dns_show_ip` (false): report the fixed IP as `privateDnsName`.
    pub ec2_private_dns_show_ip: bool,
    /// `ec2_strict_validation` (true): the Validator refuses malformed ids.
    pub ec2_strict_validation: bool,
    /// `keystone_ec2_url`: where the keystone mode sends signatures
    /// (`.../v3/ec2tokens`); unset, `[keystone_authtoken] auth_url` +
    /// `/ec2tokens`.
    pub keystone_ec2_url: Option<String>,
    /// `[keystone_authtoken]`: Keystone and the service user whose token
    /// authorises the `ec2tokens` calls (read in the keystone mode only).
    pub keystone: Option<AuthTokenConfig>,
    /// `max_request_body_size` (114688, oslo.middleware's default): the largest
    /// form body accepted.
    pub max_request_body_size: usize,
    /// `[neutron] default_floating_pool` ("public", as devstack sets it):
    /// the external network, by name or id, of AllocateAddress.
    pub default_floating_pool: String,
}

impl Default for Ec2Options {
    fn default() -> Self {
        Self {
            auth_mode: AuthMode::Signature,
            ec2_timestamp_expiry: 300,
            region_name: "nova".into(),
            region_list: Vec::new(),
            signing_regions: Vec::new(),
            ec2_host: None,
            ec2_port: 8773,
            ec2_scheme: "http".into(),
            ec2_path: "/".into(),
            lockout_attempts: 5,
            lockout_minutes: 15,
            lockout_window: 15,
            ec2_private_dns_show_ip: false,
            ec2_strict_validation: true,
            keystone_ec2_url: None,
            keystone: None,
            max_request_body_size: 114_688,
            default_floating_pool: "public".into(),
        }
    }
}

impl Ec2Options {
    /// The regions a SigV4 credential scope may name (see `signing_regions`).
    pub fn accepted_signing_regions(&self) -> Vec<String> {
        if !self.signing_regions.is_empty() {
            return self.signing_regions.clone();
        }
        let mut regions = vec![self.region_name.clone()];
        if self.region_name != DEFAULT_SIGNING_REGION {
            regions.push(DEFAULT_SIGNING_REGION.to_string());
        }
        regions
    }

    /// The options from the loaded configuration (loaded with
    /// [`OPTION_GROUPS`] in its schema). What depends on other groups is
    /// resolved here: the mode follows `[api] auth_strategy` unless set,
    /// and the keystone mode reads `[keystone_authtoken]`, whose errors
    /// name the option.
    pub fn from_conf(conf: &NovaConf) -> anyhow::Result<Self> {
        let g = conf.group::<Ec2Group>();
        let auth_mode = g.auth_mode.unwrap_or_else(|| {
            // `auth_strategy = keystone` with no Keystone named is the
            // store's own identity (as the compute API decides): the EC2
            // keys of its users are checked here, against the store.
            if IdentityMode::from_conf(conf) == IdentityMode::Store {
                return AuthMode::Signature;
            }
            AuthMode::parse(&conf.api.auth_strategy).unwrap_or(AuthMode::Keystone)
        });
        let keystone = match auth_mode {
            AuthMode::Keystone => Some(keystone_authtoken(conf)?),
            _ => None,
        };
        Ok(Ec2Options {
            auth_mode,
            ec2_timestamp_expiry: g.ec2_timestamp_expiry,
            region_name: g.region_name.trim().to_string(),
            region_list: g.region_list.clone(),
            signing_regions: g.signing_regions.clone(),
            ec2_host: g.ec2_host.as_ref().map(|h| h.trim().to_string()),
            ec2_port: g.ec2_port,
            ec2_scheme: g.ec2_scheme.trim().to_string(),
            ec2_path: g.ec2_path.trim().to_string(),
            lockout_attempts: g.lockout_attempts,
            lockout_minutes: g.lockout_minutes,
            lockout_window: g.lockout_window,
            ec2_private_dns_show_ip: g.ec2_private_dns_show_ip,
            ec2_strict_validation: g.ec2_strict_validation,
            keystone_ec2_url: g.keystone_ec2_url.as_ref().map(|u| u.trim().to_string()),
            keystone,
            max_request_body_size: g.max_request_body_size,
            default_floating_pool: conf
                .group::<Ec2NeutronGroup>()
                .default_floating_pool
                .trim()
                .to_string(),
        })
    }
}

/// `[keystone_authtoken]`, for the keystone mode.
fn keystone_authtoken(conf: &NovaConf) -> anyhow::Result<AuthTokenConfig> {
    AuthTokenConfig::from_lookup(|option| conf.get_str("keystone_authtoken", option).ok().flatten())
        .map_err(|e| match e {
            KsError::Missing(option) => anyhow::anyhow!(
                "[keystone_authtoken] {option} is required when the EC2 API authenticates \
             through Keystone ([ec2] auth_mode = keystone, or [api] auth_strategy = keystone)"
            ),
            KsError::Invalid {
                option,
                value,
                reason,
            } => conf
                .invalid_value("keystone_authtoken", &option, &value, reason)
                .into(),
        })
}

#[cfg(test)]
mod tests {
    use nova_conf::{ConfigSources, Schema};

    use super::*;

    /// The options from exactly `pairs` (set as oslo's environment
    /// variables), or the one-line error.
    fn from_exact(pairs: &[(&str, &str, &str)]) -> Result<Ec2Options, String> {
        let sources = ConfigSources::from_options(pairs);
        let (conf, _) =
            NovaConf::load(&sources, &Schema::new(&[OPTION_GROUPS])).map_err(|e| e.to_string())?;
        Ec2Options::from_conf(&conf).map_err(|e| format!("{e:#}"))
    }

    /// The options from `pairs`, in the signature mode unless they choose.
    fn from(pairs: &[(&str, &str, &str)]) -> Result<Ec2Options, String> {
        let mut pairs = pairs.to_vec();
        if !pairs
            .iter()
            .any(|(_, o, _)| *o == "auth_mode" || *o == "auth_strategy")
        {
            pairs.push(("ec2", "auth_mode", "signature"));
        }
        from_exact(&pairs)
    }

    #[test]
    fn booleans_take_every_spelling_oslo_config_takes() {
        for (value, expected) in [("t", true), ("Y", true), ("f", false), ("n", false)] {
            let o = from(&[("ec2", "ec2_private_dns_show_ip", value)]).unwrap();
            assert_eq!(o.ec2_private_dns_show_ip, expected, "{value}");
        }
    }

    #[test]
    fn defaults_are_novas() {
        let o = from(&[]).unwrap();
        assert_eq!(o.ec2_timestamp_expiry, 300);
        assert_eq!(o.lockout_attempts, 5);
        assert_eq!(o.region_name, "nova");
        assert_eq!(o.auth_mode, AuthMode::Signature);
    }

    #[test]
    fn ec2_group_wins_over_default_group() {
        let o = from(&[
            ("DEFAULT", "ec2_timestamp_expiry", "60"),
            ("ec2", "ec2_timestamp_expiry", "120"),
        ])
        .unwrap();
        assert_eq!(o.ec2_timestamp_expiry, 120);
        let o = from(&[("DEFAULT", "ec2_timestamp_expiry", "60")]).unwrap();
        assert_eq!(o.ec2_timestamp_expiry, 60);
    }

    #[test]
    fn auth_mode_follows_auth_strategy_unless_set() {
        assert_eq!(
            from(&[("api", "auth_strategy", "noauth2")])
                .unwrap()
                .auth_mode,
            AuthMode::NoAuth
        );
        assert_eq!(
            from(&[("DEFAULT", "auth_strategy", "noauth2")])
                .unwrap()
                .auth_mode,
            AuthMode::NoAuth
        );
        assert_eq!(
            from(&[
                ("DEFAULT", "auth_strategy", "noauth2"),
                ("ec2", "auth_mode", "signature")
            ])
            .unwrap()
            .auth_mode,
            AuthMode::Signature
        );
    }

    #[test]
    fn keystone_strategy_without_a_keystone_checks_the_built_in_identitys_keys() {
        let o = from_exact(&[]).unwrap();
        assert_eq!(o.auth_mode, AuthMode::Signature);
        assert_eq!(o.keystone, None);
        let o = from_exact(&[("api", "auth_strategy", "keystone")]).unwrap();
        assert_eq!(o.auth_mode, AuthMode::Signature);
    }

    #[test]
    fn an_explicit_keystone_mode_needs_keystone_authtoken() {
        let e = from_exact(&[("ec2", "auth_mode", "keystone")]).unwrap_err();
        assert!(
            e.starts_with("[keystone_authtoken] auth_url is required when the EC2 API"),
            "{e}"
        );
    }

    #[test]
    fn keystone_mode_follows_a_configured_keystone() {
        let o = from(&[
            ("api", "auth_strategy", "keystone"),
            ("keystone_authtoken", "auth_url", "http://127.0.0.1:5000"),
            ("keystone_authtoken", "username", "nova"),
            ("keystone_authtoken", "password", "pw"),
        ])
        .unwrap();
        assert_eq!(o.auth_mode, AuthMode::Keystone);
        assert_eq!(o.keystone.unwrap().identity_url, "http://127.0.0.1:5000/v3");
        assert_eq!(o.keystone_ec2_url, None);
    }

    #[test]
    fn bad_value_names_section_option_and_value() {
        let e = from(&[("ec2", "lockout_attempts", "many")]).unwrap_err();
        assert_eq!(
            e,
            "invalid value \"many\" for option [ec2] lockout_attempts in environment \
             variable OS_EC2__LOCKOUT_ATTEMPTS: expected an integer >= 0"
        );
        let e = from(&[("ec2", "lockout_minutes", "9223372036854775807")]).unwrap_err();
        assert!(
            e.ends_with(
                "lockout_minutes in environment variable OS_EC2__LOCKOUT_MINUTES: \
                 expected an integer between 0 and 2147483647"
            ),
            "{e}"
        );
        let e = from(&[("ec2", "auth_mode", "magic")]).unwrap_err();
        assert!(e.contains("[ec2] auth_mode"), "{e}");
    }

    #[test]
    fn region_list_parses_pairs() {
        let o = from(&[("DEFAULT", "region_list", "one=10.0.0.1, two=10.0.0.2")]).unwrap();
        assert_eq!(
            o.region_list,
            vec![
                ("one".into(), "10.0.0.1".into()),
                ("two".into(), "10.0.0.2".into())
            ]
        );
        assert!(from(&[("DEFAULT", "region_list", "broken")]).is_err());
    }

    #[test]
    fn a_typo_in_a_declared_group_is_warned_about_with_the_nearest_name() {
        let sources = ConfigSources {
            env: vec![
                ("OS_EC2__LOCKOUT_ATTEMPT".into(), "3".into()),
                ("OS_EC2__REGION_NAME".into(), "here".into()),
                ("OS_SIMULATOR__TRANSITION_DEALY".into(), "0".into()),
            ],
            ..ConfigSources::default()
        };
        let schema = Schema::new(&[OPTION_GROUPS, compute::options::OPTION_GROUPS]);
        let (_, warnings) = NovaConf::load(&sources, &schema).unwrap();
        assert_eq!(
            warnings,
            vec![
                "unknown option [ec2] lockout_attempt in environment variable \
                 OS_EC2__LOCKOUT_ATTEMPT: did you mean lockout_attempts?",
                "unknown option [simulator] transition_dealy in environment variable \
                 OS_SIMULATOR__TRANSITION_DEALY: did you mean transition_delay?",
            ]
        );
    }
}
