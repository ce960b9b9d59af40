//! Options of the compute domain: nova's `[quota]` defaults, the
//! availability zones, and the simulated cloud (hosts, delays, IP range).

use std::time::Duration;

use ipnet::Ipv4Net;

use crate::{Error, Result};

/// A set of quota limits, one per nova resource (also nova's `[quota]`
/// options: the limits a project gets unless an admin set its own).
/// `-1` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuotaLimits {
    /// `[quota] instances` (10).
    pub instances: i64,
    /// `[quota] cores` (20).
    pub cores: i64,
    /// `[quota] ram` in MiB (51200).
    pub ram: i64,
    /// `[quota] metadata_items` per instance (128).
    pub metadata_items: i64,
    /// `[quota] key_pairs` per user (100).
    pub key_pairs: i64,
    /// `[quota] server_groups` (10).
    pub server_groups: i64,
    /// `[quota] server_group_members` (10).
    pub server_group_members: i64,
    /// `[quota] injected_files` (5).
    pub injected_files: i64,
    /// `[quota] injected_file_content_bytes` (10240).
    pub injected_file_content_bytes: i64,
    /// `[quota] injected_file_path_length` (255).
    pub injected_file_path_length: i64,
    /// nova-network's `fixed_ips` (-1): stored and shown before 2.36;
    /// nothing here counts against it.
    pub fixed_ips: i64,
    /// nova-network's `floating_ips` (-1), as `fixed_ips`.
    pub floating_ips: i64,
    /// nova-network's `security_groups` (-1), as `fixed_ips`.
    pub security_groups: i64,
    /// nova-network's `security_group_rules` (-1), as `fixed_ips`.
    pub security_group_rules: i64,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        QuotaLimits {
            instances: 10,
            cores: 20,
            ram: 51200,
            metadata_items: 128,
            key_pairs: 100,
            server_groups: 10,
            server_group_members: 10,
            injected_files: 5,
            injected_file_content_bytes: 10240,
            injected_file_path_length: 255,
            fixed_ips: -1,
            floating_ips: -1,
            security_groups: -1,
            security_group_rules: -1,
        }
    }
}

impl QuotaLimits {
    /// The default limit of `resource` (nova's name), if it is one.
    pub fn get(&self, resource: &str) -> Option<i64> {
        Some(match resource {
            "instances" => self.instances,
            "cores" => self.cores,
            "ram" => self.ram,
            "metadata_items" => self.metadata_items,
            "key_pairs" => self.key_pairs,
            "server_groups" => self.server_groups,
            "server_group_members" => self.server_group_members,
            "injected_files" => self.injected_files,
            "injected_file_content_bytes" => self.injected_file_content_bytes,
            "injected_file_path_length" => self.injected_file_path_length,
            "fixed_ips" => self.fixed_ips,
            "floating_ips" => self.floating_ips,
            "security_groups" => self.security_groups,
            "security_group_rules" => self.security_group_rules,
            _ => return None,
        })
    }

    pub(crate) fn slot(&mut self, resource: &str) -> Option<&mut i64> {
        Some(match resource {
            "instances" => &mut self.instances,
            "cores" => &mut self.cores,
            "ram" => &mut self.ram,
            "metadata_items" => &mut self.metadata_items,
            "key_pairs" => &mut self.key_pairs,
            "server_groups" => &mut self.server_groups,
            "server_group_members" => &mut self.server_group_members,
            "injected_files" => &mut self.injected_files,
            "injected_file_content_bytes" => &mut self.injected_file_content_bytes,
            "injected_file_path_length" => &mut self.injected_file_path_length,
            "fixed_ips" => &mut self.fixed_ips,
            "floating_ips" => &mut self.floating_ips,
            "security_groups" => &mut self.security_groups,
            "security_group_rules" => &mut self.security_group_rules,
            _ => return None,
        })
    }
}

/// nova's quota resource names, in the order the APIs list them.
pub const QUOTA_RESOURCES: &[&str] = &[
    "instances",
    "cores",
    "ram",
    "metadata_items",
    "key_pairs",
    "server_groups",
    "server_group_members",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_length",
    "fixed_ips",
    "floating_ips",
    "security_groups",
    "security_group_rules",
];

/// One simulated compute host: a `nova-compute` service and a hypervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimHost {
    /// The host name (also the hypervisor's node name).
    pub name: String,
    /// Physical CPUs the hypervisor reports.
    pub vcpus: i64,
    /// Memory the hypervisor reports, in MiB.
    pub memory_mb: i64,
    /// Local disk the hypervisor reports, in GiB.
    pub local_gb: i64,
}

impl SimHost {
    /// A host called `name` with the default capacity (64 vCPUs, 256 GiB
    /// RAM, 2 TB disk).
    pub fn new(name: impl Into<String>) -> Self {
        SimHost {
            name: name.into(),
            vcpus: 64,
            memory_mb: 262_144,
            local_gb: 2000,
        }
    }
}

/// nova's default `[api] metadata_cache_expiration`.
pub const DEFAULT_METADATA_CACHE_EXPIRATION: Duration = Duration::from_secs(15);

/// What the default `fixed_ip_reuse_delay` adds to the metadata cache's
/// lifetime: room for clocks of several hosts that disagree a little.
pub const FIXED_IP_REUSE_MARGIN: Duration = Duration::from_secs(5);

/// Everything the compute domain is configured with.
///
/// Build it with [`ComputeConfig::default`] and change fields, or from
/// nova.conf with [`ComputeConfig::from_raw`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeConfig {
    /// `[DEFAULT] default_availability_zone` ("nova"): the one zone
    /// instances live in.
    pub availability_zone: String,
    /// `[DEFAULT] internal_service_availability_zone` ("internal"): the
    /// zone of the non-compute services.
    pub internal_availability_zone: String,
    /// `[DEFAULT] host` of the controller services (`nova-scheduler`,
    /// `nova-conductor`) shown by os-services ("controller").
    pub controller_host: String,
    /// `[simulator] hosts`: the compute hosts (default one, `compute1`).
    pub hosts: Vec<SimHost>,
    /// `[simulator] fixed_ip_range` (10.0.0.0/24). The first host address
    /// is the gateway; instances get the next free ones (.2, .3, ...).
    pub fixed_ip_range: Ipv4Net,
    /// `[simulator] fixed_ip_reuse_delay` in seconds: how long the address
    /// of a deleted instance stays out of circulation. The metadata service
    /// knows guests by address and caches what it looked up for `[api]
    /// metadata_cache_expiration` seconds, so an address must not go to
    /// another instance while an entry for its previous owner may live.
    /// Unset, it is that expiration (15) plus [`FIXED_IP_REUSE_MARGIN`].
    pub fixed_ip_reuse_delay: Duration,
    /// `[simulator] transition_delay` in seconds (2): how long each step
    /// of the simulated driver takes (building/scheduling ->
    /// building/spawning -> active ...). 0 makes every action complete
    /// by the time the call returns.
    pub transition_delay: Duration,
    /// `[quota]` defaults.
    pub quota: QuotaLimits,
}

impl Default for ComputeConfig {
    fn default() -> Self {
        ComputeConfig {
            availability_zone: "nova".to_string(),
            internal_availability_zone: "internal".to_string(),
            controller_host: "controller".to_string(),
            hosts: vec![SimHost::new("compute1")],
            fixed_ip_range: "10.0.0.0/24".parse().expect("a valid literal network"),
            fixed_ip_reuse_delay: DEFAULT_METADATA_CACHE_EXPIRATION + FIXED_IP_REUSE_MARGIN,
            transition_delay: Duration::from_secs(2),
            quota: QuotaLimits::default(),
        }
    }
}

impl ComputeConfig {
    /// The defaults with every transition instant (what tests use).
    pub fn instant() -> Self {
        ComputeConfig {
            transition_delay: Duration::ZERO,
            ..ComputeConfig::default()
        }
    }

    /// Reads the options from nova.conf through `get(section, option)`.
    ///
    /// Options: `[DEFAULT] default_availability_zone`,
    /// `internal_service_availability_zone`, `host`; every `[quota]`
    /// resource; `[simulator] hosts` (comma-separated names),
    /// `host_vcpus`, `host_memory_mb`, `host_local_gb`, `fixed_ip_range`
    /// (CIDR), `transition_delay` (seconds, may be fractional). A bad
    /// value is an [`Error::Invalid`] naming section, option and value.
    pub fn from_raw(get: impl Fn(&str, &str) -> Option<String>) -> Result<Self> {
        let mut cfg = ComputeConfig::default();
        if let Some(v) = get("DEFAULT", "default_availability_zone") {
            cfg.availability_zone = v;
        }
        if let Some(v) = get("DEFAULT", "internal_service_availability_zone") {
            cfg.internal_availability_zone = v;
        }
        if let Some(v) = get("DEFAULT", "host") {
            cfg.controller_host = v;
        }
        for res in QUOTA_RESOURCES {
            if let Some(v) = get("quota", res) {
                let n = parse_int("quota", res, &v)?;
                *cfg.quota.slot(res).expect("listed resource") = n;
            }
        }
        let vcpus = get("simulator", "host_vcpus")
            .map(|v| parse_int("simulator", "host_vcpus", &v))
            .transpose()?;
        let mem = get("simulator", "host_memory_mb")
            .map(|v| parse_int("simulator", "host_memory_mb", &v))
            .transpose()?;
        let disk = get("simulator", "host_local_gb")
            .map(|v| parse_int("simulator", "host_local_gb", &v))
            .transpose()?;
        if let Some(v) = get("simulator", "hosts") {
            let names: Vec<&str> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if names.is_empty() {
                return Err(bad("simulator", "hosts", &v));
            }
            cfg.hosts = names.into_iter().map(SimHost::new).collect();
        }
        for h in &mut cfg.hosts {
            h.vcpus = vcpus.unwrap_or(h.vcpus);
            h.memory_mb = mem.unwrap_or(h.memory_mb);
            h.local_gb = disk.unwrap_or(h.local_gb);
        }
        if let Some(v) = get("simulator", "fixed_ip_range") {
            let net: Ipv4Net = v
                .trim()
                .parse()
                .map_err(|_| bad("simulator", "fixed_ip_range", &v))?;
            if net.prefix_len() > 30 {
                return Err(bad("simulator", "fixed_ip_range", &v));
            }
            cfg.fixed_ip_range = net.trunc();
        }
        cfg.fixed_ip_reuse_delay = match get("simulator", "fixed_ip_reuse_delay") {
            Some(v) => {
                let secs = parse_int("simulator", "fixed_ip_reuse_delay", &v)?;
                Duration::from_secs(
                    u64::try_from(secs)
                        .map_err(|_| bad("simulator", "fixed_ip_reuse_delay", &v))?,
                )
            }
            None => {
                let cache = match get("api", "metadata_cache_expiration") {
                    // The metadata service checks this value; a bad one
                    // leaves the default margin here.
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .map(Duration::from_secs)
                        .unwrap_or(DEFAULT_METADATA_CACHE_EXPIRATION),
                    None => DEFAULT_METADATA_CACHE_EXPIRATION,
                };
                cache + FIXED_IP_REUSE_MARGIN
            }
        };
        if let Some(v) = get("simulator", "transition_delay") {
            let secs: f64 = v
                .trim()
                .parse()
                .map_err(|_| bad("simulator", "transition_delay", &v))?;
            if !(0.0..=3600.0).contains(&secs) {
                return Err(bad("simulator", "transition_delay", &v));
            }
            cfg.transition_delay = Duration::from_secs_f64(secs);
        }
        Ok(cfg)
    }
}

fn parse_int(section: &str, option: &str, value: &str) -> Result<i64> {
    match value.trim().parse::<i64>() {
        Ok(n) if n >= -1 => Ok(n),
        _ => Err(bad(section, option, value)),
    }
}

fn bad(section: &str, option: &str, value: &str) -> Error {
    Error::Invalid(format!(
        "invalid value '{value}' for option [{section}] {option}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_addresses_outlive_the_metadata_cache_by_default() {
        let default = ComputeConfig::from_raw(|_, _| None).unwrap();
        assert_eq!(default.fixed_ip_reuse_delay, Duration::from_secs(20));
        let longer_cache = ComputeConfig::from_raw(|s, o| {
            ((s, o) == ("api", "metadata_cache_expiration")).then(|| "60".into())
        })
        .unwrap();
        assert_eq!(longer_cache.fixed_ip_reuse_delay, Duration::from_secs(65));
        let explicit = ComputeConfig::from_raw(|s, o| {
            ((s, o) == ("simulator", "fixed_ip_reuse_delay")).then(|| "0".into())
        })
        .unwrap();
        assert_eq!(explicit.fixed_ip_reuse_delay, Duration::ZERO);
        assert!(ComputeConfig::from_raw(|s, o| {
            ((s, o) == ("simulator", "fixed_ip_reuse_delay")).then(|| "-1".into())
        })
        .is_err());
    }

    #[test]
    fn from_raw_reads_quota_and_simulator_options() {
        let cfg = ComputeConfig::from_raw(|s, o| match (s, o) {
            ("quota", "instances") => Some("3".into()),
            ("simulator", "hosts") => Some("a, b".into()),
            ("simulator", "transition_delay") => Some("0.5".into()),
            ("simulator", "fixed_ip_range") => Some("192.168.7.0/28".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.quota.instances, 3);
        assert_eq!(cfg.quota.cores, 20);
        assert_eq!(
            cfg.hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(cfg.transition_delay, Duration::from_millis(500));
        assert_eq!(cfg.fixed_ip_range.to_string(), "192.168.7.0/28");
    }

    #[test]
    fn from_raw_names_option_and_value_of_a_bad_value() {
        let err = ComputeConfig::from_raw(|s, o| {
            (s == "quota" && o == "cores").then(|| "many".to_string())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'many' for option [quota] cores"
        );
    }
}
