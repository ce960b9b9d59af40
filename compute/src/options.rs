//! The nova.conf option groups the compute domain owns, declared with
//! nova-conf's one macro: the simulated cloud (`[simulator]`), the default
//! quotas (`[quota]`), the zones and controller host (`[DEFAULT]`) and the
//! store's pool (`[database]`). Every binary links this crate and lists
//! [`OPTION_GROUPS`] in its schema, so these are parsed and checked in the
//! supervising parent; [`crate::open::Settings::from_conf`] turns them
//! into the domain's settings.

use ipnet::Ipv4Net;
use nova_conf::{value, GroupDecl};

nova_conf::option_group! {
    /// `[simulator]`: the simulated cloud behind the APIs.
    pub struct SimulatorGroup in "simulator" {
        /// The compute hosts, by name.
        pub hosts: Vec<String> = "compute1" => host_names;
        /// Physical CPUs each host's hypervisor reports.
        pub host_vcpus: i64 = "64" => value::int(Some(-1), None);
        /// Memory each host's hypervisor reports, in MiB.
        pub host_memory_mb: i64 = "262144" => value::int(Some(-1), None);
        /// Local disk each host's hypervisor reports, in GiB.
        pub host_local_gb: i64 = "2000" => value::int(Some(-1), None);
        /// The network instances get their fixed addresses from; its first
        /// host address is the gateway. At most a /30.
        pub fixed_ip_range: Ipv4Net = "10.0.0.0/24" => network;
        /// The subnet of the seeded external network `public`, where
        /// routers' gateways and floating IPs get their addresses; its
        /// first host address is the gateway. At most a /30.
        pub floating_ip_range: Ipv4Net = "172.24.4.0/24" => network;
        /// Where an auto-allocated topology's subnet comes from (ours: a
        /// Neutron cloud has a default subnet pool for it): the first
        /// subnet of `auto_allocate_prefixlen` in it that no subnet
        /// overlaps.
        pub auto_allocate_pool: Ipv4Net = "10.128.0.0/16" => network;
        /// The prefix length of an auto-allocated subnet (devstack's
        /// default subnet pool: 26).
        pub auto_allocate_prefixlen: u8 = "26" => value::int(Some(8), Some(30));
        /// Seconds the address of a deleted instance stays out of
        /// circulation; unset: `[api] metadata_cache_expiration` + 5.
        pub fixed_ip_reuse_delay: Option<u64> => value::int(Some(0), None);
        /// Seconds each step of the simulated driver takes (fractions
        /// allowed); 0 completes every action before the call returns.
        pub transition_delay: f64 = "2" => value::float(Some(0.0), Some(3600.0));
        /// Seconds a `createImage` snapshot takes to upload: its image is
        /// `saving` and the instance `image_uploading` for that long
        /// (fractions allowed); 0 makes the image active with the last
        /// driver step.
        pub snapshot_upload_delay: f64 = "3" => value::float(Some(0.0), Some(3600.0));
        /// Seed nova's classic flavors, the cirros image, a shared
        /// network `private` (a subnet of `fixed_ip_range`) and an
        /// external network `public` (a subnet of `floating_ip_range`) on
        /// the first migration.
        pub seed_defaults: bool = "true" => value::boolean;
    }
}

nova_conf::option_group! {
    /// `[quota]`: the limits a project gets unless an admin set its own;
    /// -1 is unlimited.
    pub struct QuotaGroup in "quota" {
        /// Instances.
        pub instances: i64 = "10" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_instances");
        /// Instance cores (vCPUs).
        pub cores: i64 = "20" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_cores");
        /// Instance memory in MiB.
        pub ram: i64 = "51200" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_ram");
        /// Metadata items per instance.
        pub metadata_items: i64 = "128" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_metadata_items");
        /// Key pairs per user.
        pub key_pairs: i64 = "100" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_key_pairs");
        /// Server groups.
        pub server_groups: i64 = "10" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_server_groups");
        /// Members per server group.
        pub server_group_members: i64 = "10" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_server_group_members");
        /// Injected files per instance.
        pub injected_files: i64 = "5" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_injected_files");
        /// Bytes per injected file.
        pub injected_file_content_bytes: i64 = "10240" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_injected_file_content_bytes");
        /// Characters in an injected file's path.
        pub injected_file_path_length: i64 = "255" => value::int(Some(-1), None),
            deprecated("DEFAULT", "quota_injected_file_path_length");
        /// nova-network's fixed IPs: stored and shown before 2.36.
        pub fixed_ips: i64 = "-1" => value::int(Some(-1), None);
        /// nova-network's floating IPs, as `fixed_ips`.
        pub floating_ips: i64 = "-1" => value::int(Some(-1), None);
        /// nova-network's security groups, as `fixed_ips`.
        pub security_groups: i64 = "-1" => value::int(Some(-1), None);
        /// nova-network's security group rules, as `fixed_ips`.
        pub security_group_rules: i64 = "-1" => value::int(Some(-1), None);
    }
}

nova_conf::option_group! {
    /// `[quotas]`: the Network API's limits a project gets unless an admin
    /// set its own, under Neutron's names and defaults (neutron.conf's
    /// `[quotas]`); -1 is unlimited.
    pub struct NetworkQuotaGroup in "quotas" {
        /// Networks.
        pub quota_network: i64 = "100" => value::int(Some(-1), None);
        /// Subnets.
        pub quota_subnet: i64 = "100" => value::int(Some(-1), None);
        /// Ports (a server's ports count).
        pub quota_port: i64 = "500" => value::int(Some(-1), None);
        /// Routers.
        pub quota_router: i64 = "10" => value::int(Some(-1), None);
        /// Floating IPs.
        pub quota_floatingip: i64 = "50" => value::int(Some(-1), None);
        /// Security groups.
        pub quota_security_group: i64 = "10" => value::int(Some(-1), None);
        /// Security group rules.
        pub quota_security_group_rule: i64 = "100" => value::int(Some(-1), None);
    }
}

nova_conf::option_group! {
    /// `[DEFAULT]`: the zones and the controller's host name.
    pub struct ZonesGroup in "DEFAULT" {
        /// The one zone instances live in.
        pub default_availability_zone: String = "nova" => value::string;
        /// The zone of the non-compute services.
        pub internal_service_availability_zone: String = "internal" => value::string;
        /// The host of the controller services (`nova-scheduler`,
        /// `nova-conductor`) shown by os-services.
        pub host: String = "controller" => value::string;
    }
}

nova_conf::option_group! {
    /// `[DEFAULT]`: the instance usage audit (os-instance_usage_audit_log).
    pub struct UsageAuditGroup in "DEFAULT" {
        /// Whether the compute hosts audit the instances they ran in each
        /// completed period.
        pub instance_usage_audit: bool = "false" => value::boolean;
        /// The audit period: `hour`, `day`, `month` or `year`, with an
        /// optional `@offset` (minutes, hour, day of month, month).
        pub instance_usage_audit_period: crate::usage_audit::AuditPeriod = "month" => audit_period;
    }
}

nova_conf::option_group! {
    /// `[DEFAULT]`: how long deleted and shelved instances keep their
    /// place (nova's compute options of these names).
    pub struct InstanceLifetimeGroup in "DEFAULT" {
        /// Seconds a deleted instance stays SOFT_DELETED (restorable)
        /// before it is reclaimed; 0 or less: deletes are immediate.
        pub reclaim_instance_interval: i64 = "0" => value::int(None, None);
        /// Seconds a shelved instance stays on its host before it is
        /// offloaded; 0: at once; -1: never.
        pub shelved_offload_time: i64 = "0" => value::int(Some(-1), None);
    }
}

nova_conf::option_group! {
    /// `[database]`: the store's connection pool (besides nova-conf's
    /// `connection`).
    pub struct PoolGroup in "database" {
        /// Most connections one worker keeps open (oslo.db's option).
        pub max_pool_size: u32 = "5" => value::int(Some(1), None);
        /// Seconds to wait for a free connection (oslo.db's option).
        pub pool_timeout: u64 = "30" => value::int(Some(0), None);
        /// Seconds a store that connects at once waits for its first
        /// connection (ours: oslo.db has no such option).
        pub connect_timeout: u64 = "5" => value::int(Some(1), None);
    }
}

nova_conf::option_group! {
    /// `[image]`: the Image v2 endpoint's data store (ours: Glance's
    /// option of the same name is in its `[DEFAULT]`). Data lives in
    /// files under `<state_path>/images/`.
    pub struct ImageGroup in "image" {
        /// The largest image data accepted, in bytes (Glance's default,
        /// 1 TiB); a larger upload is answered 413.
        pub image_size_cap: u64 = "1099511627776" => value::int(Some(0), None);
    }
}

/// The groups above, for a binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<SimulatorGroup>(),
    GroupDecl::of::<QuotaGroup>(),
    GroupDecl::of::<NetworkQuotaGroup>(),
    GroupDecl::of::<ZonesGroup>(),
    GroupDecl::of::<UsageAuditGroup>(),
    GroupDecl::of::<InstanceLifetimeGroup>(),
    GroupDecl::of::<ImageGroup>(),
    GroupDecl::of::<PoolGroup>(),
    GroupDecl::of::<crate::identity::options::TokenGroup>(),
    GroupDecl::of::<crate::identity::options::IdentityGroup>(),
    GroupDecl::of::<crate::console::VncGroup>(),
    GroupDecl::of::<crate::console::SpiceGroup>(),
    GroupDecl::of::<crate::console::SerialConsoleGroup>(),
    GroupDecl::of::<crate::console::MksGroup>(),
    GroupDecl::of::<crate::console::ConsoleAuthGroup>(),
];

/// An instance usage audit period (`month`, `day@6`, ...).
fn audit_period(text: &str) -> Result<crate::usage_audit::AuditPeriod, String> {
    text.parse()
}

/// A non-empty comma-separated list of host names.
fn host_names(text: &str) -> Result<Vec<String>, String> {
    let names = value::list(text)?;
    if names.is_empty() {
        return Err("expected at least one host name".to_owned());
    }
    Ok(names)
}

/// An IPv4 network in CIDR form, at most a /30, made canonical.
fn network(text: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = text
        .trim()
        .parse()
        .map_err(|_| "expected an IPv4 network in CIDR form".to_owned())?;
    if net.prefix_len() > 30 {
        return Err("expected a network of at least 4 addresses (/30)".to_owned());
    }
    Ok(net.trunc())
}

/// nova.conf with `pairs` (`group`, `option`, `value`) set, loaded over
/// this crate's groups, for unit tests.
#[cfg(test)]
pub(crate) fn conf_with(
    pairs: &[(&str, &str, &str)],
) -> Result<nova_conf::NovaConf, nova_conf::ConfigError> {
    let sources = nova_conf::ConfigSources::from_options(pairs);
    nova_conf::NovaConf::load(&sources, &nova_conf::Schema::new(&[OPTION_GROUPS])).map(|(c, _)| c)
}
