//! Options of the compute domain: nova's `[quota]` defaults, the
//! availability zones, and the simulated cloud (hosts, delays, IP range).

use std::time::Duration;

use ipnet::Ipv4Net;

use crate::options::{InstanceLifetimeGroup, QuotaGroup, SimulatorGroup, ZonesGroup};

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
/// nova.conf's groups with [`ComputeConfig::from_groups`].
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
    /// `[simulator] snapshot_upload_delay` in seconds (3): how long a
    /// `createImage` snapshot is uploading (image `saving`, instance
    /// `image_uploading`).
    pub snapshot_upload_delay: Duration,
    /// The remote consoles (`[vnc]`, `[spice]`, `[serial_console]`,
    /// `[mks]`) and `[consoleauth] token_ttl`.
    pub consoles: crate::console::ConsoleConfig,
    /// `[quota]` defaults.
    pub quota: QuotaLimits,
    /// `[quotas]`: the Network API's defaults (Neutron's names).
    pub network_quota: crate::network::NetworkQuotaLimits,
    /// `[simulator] auto_allocate_pool`: where auto-allocated topologies'
    /// subnets come from (10.128.0.0/16).
    pub auto_allocate_pool: Ipv4Net,
    /// `[simulator] auto_allocate_prefixlen`: their size (26).
    pub auto_allocate_prefixlen: u8,
    /// Where image data lives (`<state_path>/images`) and `[image]
    /// image_size_cap`.
    pub images: crate::image::ImageStoreConfig,
    /// `[DEFAULT] instance_usage_audit` and `instance_usage_audit_period`.
    pub usage_audit: crate::usage_audit::UsageAuditConfig,
    /// `[DEFAULT] reclaim_instance_interval`: how long a deleted instance
    /// stays SOFT_DELETED before it is reclaimed; zero (nova's 0 or less):
    /// a delete is immediate.
    pub reclaim_instance_interval: Duration,
    /// `[DEFAULT] shelved_offload_time` (0): how long a shelved instance
    /// stays on its host; `None` (-1): until asked (`shelveOffload`).
    pub shelved_offload_time: Option<Duration>,
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
            snapshot_upload_delay: Duration::from_secs(3),
            consoles: crate::console::ConsoleConfig::default(),
            quota: QuotaLimits::default(),
            network_quota: crate::network::NetworkQuotaLimits::default(),
            auto_allocate_pool: "10.128.0.0/16".parse().expect("a valid literal network"),
            auto_allocate_prefixlen: 26,
            images: crate::image::ImageStoreConfig::default(),
            usage_audit: crate::usage_audit::UsageAuditConfig::default(),
            reclaim_instance_interval: Duration::ZERO,
            shelved_offload_time: Some(Duration::ZERO),
        }
    }
}

impl ComputeConfig {
    /// The defaults with every transition instant (what tests use).
    pub fn instant() -> Self {
        ComputeConfig {
            transition_delay: Duration::ZERO,
            snapshot_upload_delay: Duration::ZERO,
            ..ComputeConfig::default()
        }
    }

    /// The settings of the groups this crate declares, as nova.conf gave
    /// them (already checked), and `[api] metadata_cache_expiration`, which
    /// the address reuse delay outlives by default.
    pub fn from_groups(
        sim: &SimulatorGroup,
        quota: &QuotaGroup,
        zones: &ZonesGroup,
        lifetime: &InstanceLifetimeGroup,
        metadata_cache_expiration: Duration,
    ) -> Self {
        let host = |name: &String| SimHost {
            name: name.clone(),
            vcpus: sim.host_vcpus,
            memory_mb: sim.host_memory_mb,
            local_gb: sim.host_local_gb,
        };
        ComputeConfig {
            availability_zone: zones.default_availability_zone.clone(),
            internal_availability_zone: zones.internal_service_availability_zone.clone(),
            controller_host: zones.host.clone(),
            hosts: sim.hosts.iter().map(host).collect(),
            fixed_ip_range: sim.fixed_ip_range,
            fixed_ip_reuse_delay: match sim.fixed_ip_reuse_delay {
                Some(secs) => Duration::from_secs(secs),
                None => metadata_cache_expiration + FIXED_IP_REUSE_MARGIN,
            },
            transition_delay: Duration::from_secs_f64(sim.transition_delay),
            snapshot_upload_delay: Duration::from_secs_f64(sim.snapshot_upload_delay),
            consoles: crate::console::ConsoleConfig::default(),
            quota: QuotaLimits {
                instances: quota.instances,
                cores: quota.cores,
                ram: quota.ram,
                metadata_items: quota.metadata_items,
                key_pairs: quota.key_pairs,
                server_groups: quota.server_groups,
                server_group_members: quota.server_group_members,
                injected_files: quota.injected_files,
                injected_file_content_bytes: quota.injected_file_content_bytes,
                injected_file_path_length: quota.injected_file_path_length,
                fixed_ips: quota.fixed_ips,
                floating_ips: quota.floating_ips,
                security_groups: quota.security_groups,
                security_group_rules: quota.security_group_rules,
            },
            network_quota: crate::network::NetworkQuotaLimits::default(),
            auto_allocate_pool: sim.auto_allocate_pool,
            auto_allocate_prefixlen: sim.auto_allocate_prefixlen,
            images: crate::image::ImageStoreConfig::default(),
            usage_audit: crate::usage_audit::UsageAuditConfig::default(),
            reclaim_instance_interval: Duration::from_secs(
                lifetime.reclaim_instance_interval.max(0) as u64,
            ),
            shelved_offload_time: u64::try_from(lifetime.shelved_offload_time)
                .ok()
                .map(Duration::from_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::open::Settings;
    use crate::options::conf_with;

    use super::*;

    fn config(pairs: &[(&str, &str, &str)]) -> ComputeConfig {
        let conf = conf_with(pairs).unwrap();
        Settings::from_conf(&conf).unwrap().compute
    }

    #[test]
    fn freed_addresses_outlive_the_metadata_cache_by_default() {
        let default = config(&[]);
        assert_eq!(default.fixed_ip_reuse_delay, Duration::from_secs(20));
        let longer_cache = config(&[("api", "metadata_cache_expiration", "60")]);
        assert_eq!(longer_cache.fixed_ip_reuse_delay, Duration::from_secs(65));
        let explicit = config(&[("simulator", "fixed_ip_reuse_delay", "0")]);
        assert_eq!(explicit.fixed_ip_reuse_delay, Duration::ZERO);
        assert!(conf_with(&[("simulator", "fixed_ip_reuse_delay", "-1")]).is_err());
    }

    #[test]
    fn quota_and_simulator_options_are_read() {
        let cfg = config(&[
            ("quota", "instances", "3"),
            ("simulator", "hosts", "a, b"),
            ("simulator", "transition_delay", "0.5"),
            ("simulator", "fixed_ip_range", "192.168.7.0/28"),
        ]);
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
    fn reclaim_and_shelve_offload_times_are_read() {
        let default = config(&[]);
        assert_eq!(default.reclaim_instance_interval, Duration::ZERO);
        assert_eq!(default.shelved_offload_time, Some(Duration::ZERO));
        let cfg = config(&[
            ("DEFAULT", "reclaim_instance_interval", "60"),
            ("DEFAULT", "shelved_offload_time", "-1"),
        ]);
        assert_eq!(cfg.reclaim_instance_interval, Duration::from_secs(60));
        assert_eq!(cfg.shelved_offload_time, None);
        let negative = config(&[("DEFAULT", "reclaim_instance_interval", "-5")]);
        assert_eq!(negative.reclaim_instance_interval, Duration::ZERO);
        assert_eq!(
            config(&[("DEFAULT", "shelved_offload_time", "30")]).shelved_offload_time,
            Some(Duration::from_secs(30))
        );
        assert!(conf_with(&[("DEFAULT", "shelved_offload_time", "-2")]).is_err());
    }

    #[test]
    fn the_defaults_are_those_of_the_default_config() {
        assert_eq!(config(&[]), ComputeConfig::default());
    }

    #[test]
    fn a_bad_value_names_its_source_option_and_value() {
        let err = conf_with(&[("quota", "cores", "many")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"many\" for option [quota] cores in environment variable \
             OS_QUOTA__CORES: expected an integer >= -1"
        );
    }
}
