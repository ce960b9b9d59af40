//! The catalogue of nova.conf options that some service of this project
//! reads, the deprecated names nova still honours, and which options need a
//! restart rather than a reload.
//!
//! One nova.conf usually serves all three binaries (and, in a mixed
//! deployment, nova's own services), so an option one binary does not read is
//! not a mistake. An option is "unknown", and earns a start-up warning, only
//! when no service here reads it and its group is not one of nova's. API
//! crates add the options they read to the lists below.

use crate::Schema;

/// Which options of one group are known.
#[derive(Debug, Clone, Copy)]
pub enum Known {
    /// Exactly these options (the lists are concatenated).
    Options(&'static [&'static [&'static str]]),
    /// Any option: groups owned by a library (keystonemiddleware), or by
    /// nova services we do not run (their options are valid nova.conf, just
    /// not ours to read).
    AnyOption,
    /// A group one of our crates owns and declares whole: exactly its
    /// declared options in a binary that links that crate, any option in
    /// one that does not (one nova.conf serves all three binaries).
    Declared,
}

/// keystoneauth1's session and plugin options, which nova reads from every
/// group that describes a service client (`[neutron]`, `[glance]`, ...).
pub const KEYSTONEAUTH: &[&str] = &[
    "auth_type",
    "auth_section",
    "auth_url",
    "auth_plugin",
    "username",
    "user_id",
    "user_domain_name",
    "user_domain_id",
    "password",
    "project_name",
    "project_id",
    "project_domain_name",
    "project_domain_id",
    "tenant_name",
    "tenant_id",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "default_domain_id",
    "default_domain_name",
    "region_name",
    "valid_interfaces",
    "service_type",
    "service_name",
    "endpoint_override",
    "version",
    "min_version",
    "max_version",
    "connect_retries",
    "connect_retry_delay",
    "status_code_retries",
    "status_code_retry_delay",
    "retriable_status_codes",
    "cafile",
    "certfile",
    "keyfile",
    "insecure",
    "timeout",
    "collect_timing",
    "split_loggers",
];

/// `[DEFAULT]` options besides the typed ones: oslo.log, oslo.service,
/// oslo.messaging, nova's common ones, and Havana's EC2 and metadata options
/// (which lived in `[DEFAULT]`).
const DEFAULT: &[&str] = &[
    // oslo.log
    "log_config_append",
    "log_date_format",
    "watch_log_file",
    "use_syslog",
    "use_journal",
    "syslog_log_facility",
    "use_stderr",
    "use_eventlog",
    "log_color",
    "log_rotate_interval",
    "log_rotate_interval_type",
    "max_logfile_count",
    "max_logfile_size_mb",
    "log_rotation_type",
    "logging_context_format_string",
    "logging_default_format_string",
    "logging_debug_format_suffix",
    "logging_exception_prefix",
    "logging_user_identity_format",
    "default_log_levels",
    "publish_errors",
    "instance_format",
    "instance_uuid_format",
    "rate_limit_interval",
    "rate_limit_burst",
    "rate_limit_except_level",
    "fatal_deprecations",
    "verbose",
    // oslo.service
    "log_options",
    "run_external_periodic_tasks",
    // oslo.messaging
    "transport_url",
    "rpc_response_timeout",
    "control_exchange",
    "executor_thread_pool_size",
    "rpc_conn_pool_size",
    "conn_pool_min_size",
    "conn_pool_ttl",
    "rpc_ping_enabled",
    // nova, common to every service
    "host",
    "my_block_storage_ip",
    "pybasedir",
    "bindir",
    "tempdir",
    "rootwrap_config",
    "use_rootwrap_daemon",
    "compute_driver",
    "instances_path",
    "default_availability_zone",
    "internal_service_availability_zone",
    "default_schedule_zone",
    "service_down_time",
    "report_interval",
    "periodic_enable",
    "periodic_fuzzy_delay",
    "allow_resize_to_same_host",
    "reclaim_instance_interval",
    "shelved_offload_time",
    "shelved_poll_interval",
    "instance_name_template",
    "password_length",
    "cpu_allocation_ratio",
    "ram_allocation_ratio",
    "disk_allocation_ratio",
    "initial_cpu_allocation_ratio",
    "initial_ram_allocation_ratio",
    "initial_disk_allocation_ratio",
    "config_drive_format",
    "force_config_drive",
    "flat_injected",
    "injected_network_template",
    "fixed_range_v4",
    "fixed_range",
    "use_ipv6",
    "osapi_compute_unique_server_name_scope",
    "max_local_block_devices",
    "non_inheritable_image_properties",
    "multi_instance_display_name_template",
    "allow_instance_snapshots",
    "metadata_host",
    "metadata_port",
    "default_flavor",
    "osapi_compute_extension",
    "osapi_compute_ext_list",
    "ssl_only",
    "cert",
    "key",
    "source_is_ipv6",
    "web",
    "console_host",
    "sync_power_state_interval",
    "heal_instance_info_cache_interval",
    "resume_guests_state_on_host_boot",
    "running_deleted_instance_action",
    "running_deleted_instance_poll_interval",
    "running_deleted_instance_timeout",
    "image_service",
    "network_api_class",
    "security_group_api",
    "firewall_driver",
    "api_rate_limit",
    // Havana's in-tree EC2 API
    "ec2_host",
    "ec2_dmz_host",
    "ec2_port",
    "ec2_scheme",
    "ec2_path",
    "keystone_ec2_url",
    "keystone_ec2_insecure",
    "ec2_private_dns_show_ip",
    "ec2_strict_validation",
    "ec2_timestamp_expiry",
    "lockout_attempts",
    "lockout_minutes",
    "lockout_window",
    "region_list",
    "vpn_image_id",
    "vpn_key_suffix",
    "s3_host",
    "s3_port",
];

/// `[api]`: the options nova's compute and metadata APIs read.
const API: &[&str] = &[
    "use_forwarded_for",
    "config_drive_skip_versions",
    "vendordata_providers",
    "vendordata_dynamic_targets",
    "vendordata_dynamic_ssl_certfile",
    "vendordata_dynamic_connect_timeout",
    "vendordata_dynamic_read_timeout",
    "vendordata_dynamic_failure_fatal",
    "metadata_cache_expiration",
    "local_metadata_per_cell",
    "dhcp_domain",
    "vendordata_jsonfile_path",
    "max_limit",
    "compute_link_prefix",
    "glance_link_prefix",
    "hide_server_address_states",
    "use_neutron_default_nets",
    "neutron_default_tenant_id",
    "enable_instance_password",
    "instance_list_per_project_cells",
    "instance_list_cells_batch_strategy",
    "instance_list_cells_batch_fixed_size",
    "list_records_by_skipping_down_cells",
    "response_validation",
];

/// `[neutron]`: the metadata proxy options and the client's own.
const NEUTRON: &[&str] = &[
    "service_metadata_proxy",
    "metadata_proxy_shared_secret",
    "url",
    "ovs_bridge",
    "default_floating_pool",
    "extension_sync_interval",
    "physnets",
    "http_retries",
];

/// `[glance]`: where images are served from.
const GLANCE: &[&str] = &[
    "api_servers",
    "num_retries",
    "verify_glance_signatures",
    "enable_rbd_download",
    "debug",
    "enable_certificate_validation",
    "default_trusted_certificate_ids",
];

/// `[quota]`: limits the compute API enforces.
const QUOTA: &[&str] = &[
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
    "driver",
    "recheck_quota",
    "count_usage_from_placement",
    "unified_limits_resource_strategy",
    "unified_limits_resource_list",
    "floating_ips",
    "fixed_ips",
    "security_groups",
    "security_group_rules",
    "reservation_expire",
    "until_refresh",
    "max_age",
];

/// `[wsgi]` options besides the typed ones.
const WSGI: &[&str] = &["secure_proxy_ssl_header"];

/// `[oslo_middleware]` options besides the typed ones.
const OSLO_MIDDLEWARE: &[&str] = &["secure_proxy_ssl_header", "http_basic_auth_user_file"];

/// `[healthcheck]`: oslo.middleware's healthcheck filter.
const HEALTHCHECK: &[&str] = &[
    "path",
    "detailed",
    "backends",
    "disable_by_file_path",
    "disable_by_file_paths",
    "enable_by_file_paths",
    "allowed_source_ranges",
    "ignore_proxied_requests",
];

/// `[database]`: oslo.db's options besides `connection`, and our
/// `connect_timeout` (read by `compute`; oslo.db has no such option).
const DATABASE: &[&str] = &[
    "connect_timeout",
    "slave_connection",
    "sqlite_synchronous",
    "sqlite_db",
    "backend",
    "connection_debug",
    "connection_trace",
    "connection_parameters",
    "max_pool_size",
    "max_overflow",
    "pool_timeout",
    "max_retries",
    "retry_interval",
    "idle_timeout",
    "connection_recycle_time",
    "db_retry_interval",
    "db_max_retries",
    "db_inc_retry_interval",
    "db_max_retry_interval",
    "mysql_sql_mode",
    "mysql_enable_ndb",
    "mysql_wsrep_sync_wait",
    "use_db_reconnect",
    "asynchronous_connection",
];

/// No options beyond the typed ones.
const NONE: &[&str] = &[];

/// Every group this project knows, with the options known in it. Declared
/// options (nova-conf's own groups and those of the binary's crates) are
/// known without being listed here.
pub const GROUPS: &[(&str, Known)] = &[
    ("DEFAULT", Known::Options(&[DEFAULT])),
    ("api", Known::Options(&[API])),
    ("wsgi", Known::Options(&[WSGI])),
    ("oslo_middleware", Known::Options(&[OSLO_MIDDLEWARE])),
    ("database", Known::Options(&[DATABASE])),
    ("cors", Known::Options(&[NONE])),
    ("healthcheck", Known::Options(&[HEALTHCHECK])),
    ("neutron", Known::Options(&[NEUTRON, KEYSTONEAUTH])),
    ("glance", Known::Options(&[GLANCE, KEYSTONEAUTH])),
    ("quota", Known::Options(&[QUOTA])),
    // keystonemiddleware's auth_token reads this group with plugin-defined
    // options, so any name may be valid.
    ("keystone_authtoken", Known::AnyOption),
    // Our own groups: the EC2 API's and the simulated driver's options.
    ("ec2", Known::Declared),
    ("simulator", Known::Declared),
    // nova's groups for services we do not run.
    ("api_database", Known::AnyOption),
    ("barbican", Known::AnyOption),
    ("cache", Known::AnyOption),
    ("cells", Known::AnyOption),
    ("cinder", Known::AnyOption),
    ("compute", Known::AnyOption),
    ("conductor", Known::AnyOption),
    ("console", Known::AnyOption),
    ("consoleauth", Known::AnyOption),
    ("cyborg", Known::AnyOption),
    ("devices", Known::AnyOption),
    ("ephemeral_storage_encryption", Known::AnyOption),
    ("filter_scheduler", Known::AnyOption),
    ("guestfs", Known::AnyOption),
    ("hyperv", Known::AnyOption),
    ("image_cache", Known::AnyOption),
    ("ironic", Known::AnyOption),
    ("key_manager", Known::AnyOption),
    ("keystone", Known::AnyOption),
    ("libvirt", Known::AnyOption),
    ("manila", Known::AnyOption),
    ("metrics", Known::AnyOption),
    ("mks", Known::AnyOption),
    ("notifications", Known::AnyOption),
    ("os_brick", Known::AnyOption),
    ("os_vif_linux_bridge", Known::AnyOption),
    ("os_vif_ovs", Known::AnyOption),
    ("oslo_concurrency", Known::AnyOption),
    ("oslo_limit", Known::AnyOption),
    ("oslo_messaging_amqp", Known::AnyOption),
    ("oslo_messaging_kafka", Known::AnyOption),
    ("oslo_messaging_notifications", Known::AnyOption),
    ("oslo_messaging_rabbit", Known::AnyOption),
    ("oslo_policy", Known::AnyOption),
    ("oslo_reports", Known::AnyOption),
    ("oslo_versionedobjects", Known::AnyOption),
    ("pci", Known::AnyOption),
    ("placement", Known::AnyOption),
    ("powervm", Known::AnyOption),
    ("privsep", Known::AnyOption),
    ("privsep_osbrick", Known::AnyOption),
    ("profiler", Known::AnyOption),
    ("rdp", Known::AnyOption),
    ("remote_debug", Known::AnyOption),
    ("scheduler", Known::AnyOption),
    ("serial_console", Known::AnyOption),
    ("service_user", Known::AnyOption),
    ("spice", Known::AnyOption),
    ("upgrade_levels", Known::AnyOption),
    ("vault", Known::AnyOption),
    ("vendordata_dynamic_auth", Known::AnyOption),
    ("vmware", Known::AnyOption),
    ("vnc", Known::AnyOption),
    ("workarounds", Known::AnyOption),
    ("xenserver", Known::AnyOption),
    ("zvm", Known::AnyOption),
];

/// An old spelling nova still reads: `[old_group] old_option` means
/// `[group] option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedName {
    /// The group of the old spelling.
    pub old_group: &'static str,
    /// The option name of the old spelling.
    pub old_option: &'static str,
    /// The group of the current name.
    pub group: &'static str,
    /// The current option name.
    pub option: &'static str,
}

/// Shorthand for a row of [`DEPRECATED_NAMES`].
const fn moved(
    old_group: &'static str,
    old_option: &'static str,
    group: &'static str,
    option: &'static str,
) -> DeprecatedName {
    DeprecatedName {
        old_group,
        old_option,
        group,
        option,
    }
}

/// nova's deprecated names (its `deprecated_name` / `deprecated_group`),
/// honoured with a warning, for the options no group of every binary
/// declares. Every `[wsgi]` and `[api]` option moved out of `[DEFAULT]`; a
/// few were renamed on the way. The deprecated names of a declared option
/// are written beside its field (see [`crate::option_group!`]); these rows
/// are for nova's options that one nova.conf carries for all three
/// binaries, so that each honours the old spelling, whichever crate reads
/// the option.
pub const DEPRECATED_NAMES: &[DeprecatedName] = &[
    moved(
        "DEFAULT",
        "secure_proxy_ssl_header",
        "wsgi",
        "secure_proxy_ssl_header",
    ),
    moved("DEFAULT", "use_forwarded_for", "api", "use_forwarded_for"),
    moved(
        "DEFAULT",
        "config_drive_skip_versions",
        "api",
        "config_drive_skip_versions",
    ),
    moved(
        "DEFAULT",
        "vendordata_providers",
        "api",
        "vendordata_providers",
    ),
    moved(
        "DEFAULT",
        "vendordata_dynamic_targets",
        "api",
        "vendordata_dynamic_targets",
    ),
    moved(
        "DEFAULT",
        "vendordata_dynamic_ssl_certfile",
        "api",
        "vendordata_dynamic_ssl_certfile",
    ),
    moved(
        "DEFAULT",
        "vendordata_dynamic_connect_timeout",
        "api",
        "vendordata_dynamic_connect_timeout",
    ),
    moved(
        "DEFAULT",
        "vendordata_dynamic_read_timeout",
        "api",
        "vendordata_dynamic_read_timeout",
    ),
    moved(
        "DEFAULT",
        "metadata_cache_expiration",
        "api",
        "metadata_cache_expiration",
    ),
    moved(
        "DEFAULT",
        "vendordata_jsonfile_path",
        "api",
        "vendordata_jsonfile_path",
    ),
    moved("DEFAULT", "dhcp_domain", "api", "dhcp_domain"),
    moved("DEFAULT", "osapi_max_limit", "api", "max_limit"),
    moved(
        "DEFAULT",
        "osapi_compute_link_prefix",
        "api",
        "compute_link_prefix",
    ),
    moved(
        "DEFAULT",
        "osapi_glance_link_prefix",
        "api",
        "glance_link_prefix",
    ),
    moved(
        "DEFAULT",
        "osapi_hide_server_address_states",
        "api",
        "hide_server_address_states",
    ),
    moved(
        "DEFAULT",
        "use_neutron_default_nets",
        "api",
        "use_neutron_default_nets",
    ),
    moved(
        "DEFAULT",
        "neutron_default_tenant_id",
        "api",
        "neutron_default_tenant_id",
    ),
    moved(
        "DEFAULT",
        "enable_instance_password",
        "api",
        "enable_instance_password",
    ),
    moved(
        "DEFAULT",
        "service_neutron_metadata_proxy",
        "neutron",
        "service_metadata_proxy",
    ),
    moved(
        "DEFAULT",
        "neutron_metadata_proxy_shared_secret",
        "neutron",
        "metadata_proxy_shared_secret",
    ),
    moved("DEFAULT", "glance_api_servers", "glance", "api_servers"),
    moved("DEFAULT", "quota_driver", "quota", "driver"),
];

/// Whether `[group] option` is known to this binary: declared by a group
/// of its schema, read as a declared group's fallback, or listed here as
/// nova's. `group` is normalised (`DEFAULT` or lower case).
pub fn is_known(schema: &Schema, group: &str, option: &str) -> bool {
    if schema.option(group, option).is_some() || schema.is_fallback(group, option) {
        return true;
    }
    GROUPS
        .iter()
        .find(|(name, _)| *name == group)
        .is_some_and(|(_, known)| match known {
            Known::AnyOption => true,
            Known::Options(lists) => lists.iter().any(|list| list.contains(&option)),
            Known::Declared => !schema.declares(group),
        })
}

/// The known option of `group` nearest to an unknown `option` (a typo's
/// likely intent): at most two edits away, or a third of its length for a
/// long name. `None` for groups that take any option.
pub fn nearest_known(schema: &Schema, group: &str, option: &str) -> Option<&'static str> {
    let listed: &[&[&str]] = match GROUPS.iter().find(|(name, _)| *name == group) {
        Some((_, Known::Options(lists))) => lists,
        Some((_, Known::Declared)) if schema.declares(group) => &[],
        _ => return None,
    };
    let limit = (option.len() / 3).max(2);
    listed
        .iter()
        .flat_map(|list| list.iter().copied())
        .chain(schema.names(group))
        .map(|known| (edit_distance(option, known), known))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance between two ASCII-ish names, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The current `(group, option)` of a deprecated spelling, if `[group]
/// option` is one: declared beside a field of the schema, or listed in
/// [`DEPRECATED_NAMES`].
pub fn deprecated_name(
    schema: &Schema,
    group: &str,
    option: &str,
) -> Option<(&'static str, &'static str)> {
    schema.renamed(group, option).or_else(|| {
        DEPRECATED_NAMES
            .iter()
            .find(|d| d.old_group == group && d.old_option == option)
            .map(|d| (d.group, d.option))
    })
}

/// Whether a change of `[group] option` needs the listening sockets to be
/// rebuilt (a restart), rather than a reload: listen addresses, ports, and
/// which APIs speak TLS.
pub fn requires_restart(group: &str, option: &str) -> bool {
    group == "DEFAULT"
        && (option.ends_with("_listen")
            || option.ends_with("_listen_port")
            || option == "enabled_ssl_apis")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_listed_and_whole_group_options_are_known() {
        let schema = Schema::default();
        assert!(is_known(&schema, "wsgi", "keep_alive"));
        assert!(is_known(&schema, "api", "metadata_cache_expiration"));
        assert!(is_known(&schema, "neutron", "auth_url"));
        assert!(is_known(&schema, "keystone_authtoken", "anything_at_all"));
        assert!(!is_known(&schema, "wsgi", "keep_alives"));
        assert!(!is_known(&schema, "no_such_group", "debug"));
    }

    #[test]
    fn a_group_a_crate_declares_takes_any_option_in_a_binary_without_that_crate() {
        let schema = Schema::default();
        assert!(is_known(&schema, "ec2", "lockout_attempts"));
        assert!(is_known(&schema, "ec2", "lockout_attempt"));
        assert_eq!(nearest_known(&schema, "ec2", "lockout_attempt"), None);
    }

    #[test]
    fn deprecated_names_map_to_current_ones() {
        let schema = Schema::default();
        let beside_a_field = deprecated_name(&schema, "DEFAULT", "wsgi_keep_alive");
        assert_eq!(beside_a_field, Some(("wsgi", "keep_alive")));
        let listed = deprecated_name(&schema, "DEFAULT", "osapi_max_limit");
        assert_eq!(listed, Some(("api", "max_limit")));
        assert!(deprecated_name(&schema, "DEFAULT", "debug").is_none());
    }

    #[test]
    fn only_sockets_and_tls_need_a_restart() {
        assert!(requires_restart("DEFAULT", "ec2_listen"));
        assert!(requires_restart("DEFAULT", "metadata_listen_port"));
        assert!(requires_restart("DEFAULT", "enabled_ssl_apis"));
        assert!(!requires_restart("DEFAULT", "osapi_compute_workers"));
        assert!(!requires_restart("wsgi", "keep_alive"));
    }

    #[test]
    fn no_deprecated_name_shadows_a_current_option() {
        let schema = Schema::default();
        for d in DEPRECATED_NAMES {
            assert!(schema.option(d.old_group, d.old_option).is_none(), "{d:?}");
            assert!(schema.renamed(d.old_group, d.old_option).is_none(), "{d:?}");
            assert!(is_known(&schema, d.group, d.option), "{d:?}");
        }
    }
}
