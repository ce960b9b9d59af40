//! The `[ec2]` option group: how the EC2 API authenticates, checks request
//! times and describes itself, with nova's Havana option names and defaults.
//!
//! nova kept these options in `[DEFAULT]`; we read `[ec2]` first and fall back
//! to `[DEFAULT]` so that an operator's Havana `nova.conf` keeps working.

use std::fmt;

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
    fn parse(value: &str) -> Option<Self> {
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

/// A bad value in the `[ec2]` group (or its `[DEFAULT]` fallback).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid value {value:?} for option [{section}] {option}: {reason}")]
pub struct ConfigError {
    /// The section the value came from.
    pub section: String,
    /// The option name.
    pub option: String,
    /// The value as written.
    pub value: String,
    /// What was expected.
    pub reason: &'static str,
}

/// The largest value of an option that is a duration (`i32::MAX`, as
/// nova's integer options in practice).
const MAX_DURATION_OPTION: u64 = i32::MAX as u64;

/// The options of the EC2 API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Options {
    /// `[ec2] auth_mode`: `noauth`, `signature` or `keystone`. Unset, it
    /// follows `auth_strategy` (`noauth`/`noauth2` → noauth, `keystone`,
    /// nova's default, → keystone).
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
    pub keystone: Option<common::middleware::authtoken::AuthTokenConfig>,
    /// `max_request_body_size` (114688, oslo.middleware's default): the largest
    /// form body accepted.
    pub max_request_body_size: usize,
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

    /// Builds the options from a raw lookup `get(section, option)`; each option
    /// is read from `[ec2]` first, then from `[DEFAULT]` (nova's place for them).
    pub fn from_raw(get: impl Fn(&str, &str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut o = Self::default();
        let lookup = |option: &str| -> Option<(String, String)> {
            for section in ["ec2", "DEFAULT"] {
                if let Some(v) = get(section, option) {
                    return Some((section.to_string(), v));
                }
            }
            None
        };
        let err = |(section, value): (String, String), option: &str, reason| ConfigError {
            section,
            option: option.to_string(),
            value,
            reason,
        };
        macro_rules! num {
            ($field:ident, $ty:ty) => {
                if let Some(found) = lookup(stringify!($field)) {
                    o.$field = found.1.trim().parse::<$ty>().map_err(|_| {
                        err(found.clone(), stringify!($field), "expected an integer")
                    })?;
                }
            };
        }
        // Durations (seconds, minutes) become time arithmetic on every
        // request: a 32-bit bound keeps that arithmetic in range.
        macro_rules! duration {
            ($field:ident) => {
                if let Some(found) = lookup(stringify!($field)) {
                    o.$field = found
                        .1
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|v| *v <= MAX_DURATION_OPTION)
                        .ok_or_else(|| {
                            err(
                                found.clone(),
                                stringify!($field),
                                "expected an integer from 0 to 2147483647",
                            )
                        })?;
                }
            };
        }
        macro_rules! boolean {
            ($field:ident) => {
                if let Some(found) = lookup(stringify!($field)) {
                    o.$field = parse_bool(&found.1).ok_or_else(|| {
                        err(found.clone(), stringify!($field), "expected a boolean")
                    })?;
                }
            };
        }
        duration!(ec2_timestamp_expiry);
        num!(ec2_port, u16);
        num!(lockout_attempts, u32);
        duration!(lockout_minutes);
        duration!(lockout_window);
        num!(max_request_body_size, usize);
        boolean!(ec2_private_dns_show_ip);
        boolean!(ec2_strict_validation);
        if let Some((_, v)) = lookup("region_name") {
            o.region_name = v.trim().to_string();
        }
        if let Some((_, v)) = lookup("ec2_host") {
            let v = v.trim();
            o.ec2_host = (!v.is_empty()).then(|| v.to_string());
        }
        if let Some((_, v)) = lookup("ec2_scheme") {
            o.ec2_scheme = v.trim().to_string();
        }
        if let Some((_, v)) = lookup("ec2_path") {
            o.ec2_path = v.trim().to_string();
        }
        if let Some((_, v)) = lookup("keystone_ec2_url") {
            let v = v.trim();
            o.keystone_ec2_url = (!v.is_empty()).then(|| v.to_string());
        }
        if let Some(found) = lookup("region_list") {
            let mut list = Vec::new();
            for entry in found.1.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (name, host) = entry
                    .split_once('=')
                    .ok_or_else(|| err(found.clone(), "region_list", "expected name=host pairs"))?;
                list.push((name.trim().to_string(), host.trim().to_string()));
            }
            o.region_list = list;
        }
        if let Some((_, v)) = lookup("signing_regions") {
            o.signing_regions = v
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect();
        }
        o.auth_mode = match get("ec2", "auth_mode") {
            Some(v) => AuthMode::parse(&v).ok_or_else(|| {
                err(
                    ("ec2".into(), v.clone()),
                    "auth_mode",
                    "expected noauth, signature or keystone",
                )
            })?,
            None => get("api", "auth_strategy")
                .or_else(|| get("DEFAULT", "auth_strategy"))
                .and_then(|v| AuthMode::parse(&v))
                .unwrap_or(AuthMode::Keystone),
        };
        if o.auth_mode == AuthMode::Keystone {
            use common::middleware::authtoken::{AuthTokenConfig, ConfigError as KsError};
            let conf = AuthTokenConfig::from_lookup(|option| get("keystone_authtoken", option))
                .map_err(|e| match e {
                    KsError::Missing(option) => ConfigError {
                        section: "keystone_authtoken".into(),
                        option: option.into(),
                        value: String::new(),
                        reason: "required when the EC2 API authenticates through Keystone",
                    },
                    KsError::Invalid {
                        option,
                        value,
                        reason,
                    } => ConfigError {
                        section: "keystone_authtoken".into(),
                        option,
                        value,
                        reason,
                    },
                })?;
            o.keystone = Some(conf);
        }
        Ok(o)
    }
}

use common::config::value::parse_bool;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The options from exactly `pairs`.
    fn from_exact(pairs: &[(&str, &str, &str)]) -> Result<Ec2Options, ConfigError> {
        let map: HashMap<(String, String), String> = pairs
            .iter()
            .map(|(s, o, v)| ((s.to_string(), o.to_string()), v.to_string()))
            .collect();
        Ec2Options::from_raw(|s, o| map.get(&(s.to_string(), o.to_string())).cloned())
    }

    /// The options from `pairs`, in the signature mode unless they choose.
    fn from(pairs: &[(&str, &str, &str)]) -> Result<Ec2Options, ConfigError> {
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
            from(&[("DEFAULT", "auth_strategy", "noauth")])
                .unwrap()
                .auth_mode,
            AuthMode::NoAuth
        );
        assert_eq!(
            from(&[
                ("DEFAULT", "auth_strategy", "noauth"),
                ("ec2", "auth_mode", "signature")
            ])
            .unwrap()
            .auth_mode,
            AuthMode::Signature
        );
    }

    #[test]
    fn keystone_mode_is_novas_default_and_needs_keystone_authtoken() {
        let e = from_exact(&[]).unwrap_err();
        assert_eq!(
            (e.section.as_str(), e.option.as_str()),
            ("keystone_authtoken", "auth_url")
        );
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
        assert_eq!(e.section, "ec2");
        assert_eq!(e.option, "lockout_attempts");
        assert_eq!(e.value, "many");
        let e = from(&[("ec2", "lockout_minutes", "9223372036854775807")]).unwrap_err();
        assert_eq!(
            (e.option.as_str(), e.reason),
            (
                "lockout_minutes",
                "expected an integer from 0 to 2147483647"
            )
        );
        let e = from(&[("ec2", "auth_mode", "magic")]).unwrap_err();
        assert_eq!(e.option, "auth_mode");
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
}
