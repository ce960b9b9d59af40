//! nova.conf loading seen from outside: defaults, layering, substitution,
//! error messages, warnings, CLI flags and reload diffs.

use std::path::{Path, PathBuf};

use clap::Parser;
use tempfile::TempDir;

use nova_conf::{
    parse_ini, ConfigError, ConfigSources, NovaConf, Override, RawValue, Schema, ValueSource,
};
use nova_runtime::cli::ServiceArgs;

/// A scratch directory of config files.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes `text` to `name` (sub-directories are created) and returns
    /// its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn files(files: &[&Path]) -> ConfigSources {
    ConfigSources {
        files: files.iter().map(|p| p.to_path_buf()).collect(),
        ..ConfigSources::default()
    }
}

fn load(sources: &ConfigSources) -> NovaConf {
    match NovaConf::load(sources, &Schema::default()) {
        Ok((conf, _)) => conf,
        Err(e) => panic!("load failed: {e}"),
    }
}

/// The error message of a load that must fail.
fn load_error(sources: &ConfigSources) -> String {
    match NovaConf::load(sources, &Schema::default()) {
        Ok(_) => panic!("load succeeded"),
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "not one line: {message}");
            message
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn service_args(argv: &[&str]) -> ServiceArgs {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        service: ServiceArgs,
    }
    let mut full = vec!["test-binary"];
    full.extend_from_slice(argv);
    match Cli::try_parse_from(full) {
        Ok(cli) => cli.service,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn defaults_match_nova() {
    let (conf, warnings) =
        NovaConf::load(&ConfigSources::default(), &Schema::default()).expect("defaults load");
    assert!(warnings.is_empty());
    let d = &conf.default;
    assert_eq!(d.enabled_apis, vec!["osapi_compute", "metadata"]);
    assert!(d.enabled_ssl_apis.is_empty());
    assert_eq!(
        (
            d.osapi_compute_listen.as_str(),
            d.osapi_compute_listen_port,
            d.osapi_compute_workers
        ),
        ("0.0.0.0", 8774, None)
    );
    assert_eq!(
        (d.ec2_listen.as_str(), d.ec2_listen_port, d.ec2_workers),
        ("0.0.0.0", 8773, None)
    );
    assert_eq!(
        (
            d.metadata_listen.as_str(),
            d.metadata_listen_port,
            d.metadata_workers
        ),
        ("0.0.0.0", 8775, None)
    );
    assert!(!d.debug);
    assert_eq!((d.log_file.as_ref(), d.log_dir.as_ref()), (None, None));
    assert_eq!(d.state_path, PathBuf::from("/var/lib/nova"));
    assert_eq!(d.graceful_shutdown_timeout, 60);
    assert_eq!(d.my_ip, None);

    let w = &conf.wsgi;
    assert_eq!(w.api_paste_config, "api-paste.ini");
    assert_eq!(
        w.wsgi_log_format,
        "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s \
         time: %(wall_seconds).7f"
    );
    assert_eq!(w.max_header_line, 16384);
    assert_eq!(w.tcp_keepidle, 600);
    assert_eq!(w.client_socket_timeout, 900);
    assert_eq!(
        w.socket_timeout(),
        Some(std::time::Duration::from_secs(900))
    );
    assert!(w.keep_alive);
    assert_eq!(w.default_pool_size, 1000);
    assert_eq!(
        (&w.ssl_ca_file, &w.ssl_cert_file, &w.ssl_key_file),
        (&None, &None, &None)
    );

    assert_eq!(conf.oslo_middleware.max_request_body_size, 114688);
    assert!(!conf.oslo_middleware.enable_proxy_headers_parsing);
    assert_eq!(conf.api.auth_strategy, "keystone");
    assert_eq!(
        conf.database.connection,
        "sqlite:////var/lib/nova/nova.sqlite"
    );
    assert!(conf.cors.allowed_origin.is_empty());
    assert!(conf.cors.allow_credentials);
    assert_eq!(conf.cors.max_age, 3600);
    assert_eq!(
        conf.cors.allow_methods,
        vec!["GET", "PUT", "POST", "DELETE", "PATCH"]
    );
    assert!(conf
        .cors
        .expose_headers
        .contains(&"OpenStack-API-Version".to_owned()));
    assert!(conf.cors.allow_headers.contains(&"X-Auth-Token".to_owned()));
    assert_eq!(conf.log_path(), None);
}

#[test]
fn each_layer_overrides_the_one_below_option_by_option() {
    let fx = Fixture::new();
    // Five options; each layer sets one fewer, so each option's winner is a
    // different layer: file, later file, dir, env, CLI.
    let first = fx.file(
        "first.conf",
        "[wsgi]\ntcp_keepidle = 1\nmax_header_line = 1\n\
         [oslo_middleware]\nmax_request_body_size = 1\n[cors]\nmax_age = 1\n\
         [DEFAULT]\nosapi_compute_listen_port = 1\n",
    );
    let second = fx.file(
        "second.conf",
        "[wsgi]\nmax_header_line = 2\n[oslo_middleware]\nmax_request_body_size = 2\n\
         [cors]\nmax_age = 2\n[DEFAULT]\nosapi_compute_listen_port = 2\n",
    );
    fx.file(
        "conf.d/50-dir.conf",
        "[oslo_middleware]\nmax_request_body_size = 3\n[cors]\nmax_age = 3\n\
         [DEFAULT]\nosapi_compute_listen_port = 3\n",
    );
    let args = service_args(&[
        "--config-file",
        first.to_str().expect("utf-8"),
        "--config-file",
        second.to_str().expect("utf-8"),
        "--config-dir",
        fx.path("conf.d").to_str().expect("utf-8"),
        "--port",
        "5",
    ]);
    let sources = args.sources(
        "osapi_compute",
        env(&[
            ("OS_CORS__MAX_AGE", "4"),
            ("OS_DEFAULT__OSAPI_COMPUTE_LISTEN_PORT", "4"),
        ]),
    );
    let conf = load(&sources);

    assert_eq!(conf.wsgi.tcp_keepidle, 1);
    assert_eq!(conf.wsgi.max_header_line, 2);
    assert_eq!(conf.oslo_middleware.max_request_body_size, 3);
    assert_eq!(conf.cors.max_age, 4);
    assert_eq!(conf.default.osapi_compute_listen_port, 5);

    let source = |g: &str, o: &str| conf.raw(g, o).map(|r| r.source.clone());
    let in_file = |path: PathBuf, section: &str, option: &str| {
        Some(ValueSource::File {
            path,
            section: section.to_owned(),
            option: option.to_owned(),
        })
    };
    assert_eq!(
        source("wsgi", "tcp_keepidle"),
        in_file(first, "wsgi", "tcp_keepidle")
    );
    assert_eq!(
        source("wsgi", "max_header_line"),
        in_file(second, "wsgi", "max_header_line")
    );
    assert_eq!(
        source("oslo_middleware", "max_request_body_size"),
        in_file(
            fx.path("conf.d/50-dir.conf"),
            "oslo_middleware",
            "max_request_body_size"
        )
    );
    assert_eq!(
        source("cors", "max_age"),
        Some(ValueSource::Env {
            var: "OS_CORS__MAX_AGE".into()
        })
    );
    assert_eq!(
        conf.raw("DEFAULT", "osapi_compute_listen_port"),
        Some(&RawValue {
            value: "5".into(),
            source: ValueSource::Cli {
                flag: "--port".into()
            }
        })
    );
}

#[test]
fn config_dir_files_are_read_sorted_and_only_conf() {
    let fx = Fixture::new();
    fx.file("d/20-late.conf", "[DEFAULT]\nec2_listen_port = 20\n");
    fx.file(
        "d/10-early.conf",
        "[DEFAULT]\nec2_listen_port = 10\nmetadata_listen_port = 10\n",
    );
    fx.file("d/99-ignored.conf.bak", "[DEFAULT]\nec2_listen_port = 99\n");
    fx.file("d/zz-sub.conf/x.conf", "[DEFAULT]\nec2_listen_port = 98\n");
    let conf = load(&ConfigSources {
        dirs: vec![fx.path("d")],
        ..ConfigSources::default()
    });
    assert_eq!(conf.default.ec2_listen_port, 20);
    assert_eq!(conf.default.metadata_listen_port, 10);
}

#[test]
fn environment_names_match_in_any_case() {
    let conf = load(&ConfigSources {
        env: env(&[
            ("OS_DEFAULT__DEBUG", "true"),
            ("os_wsgi__keep_alive", "false"),
            (
                "OS_Database__Connection",
                "postgresql+psycopg2://nova@db/nova",
            ),
            ("OS_AUTH_URL", "http://keystone/v3"),
        ]),
        ..ConfigSources::default()
    });
    assert!(conf.default.debug);
    assert!(!conf.wsgi.keep_alive);
    assert_eq!(
        conf.database.connection,
        "postgresql+psycopg2://nova@db/nova"
    );
}

#[test]
fn substitution_uses_the_same_group_then_default() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[DEFAULT]\nstate_path = /srv/nova\nlog_dir = $state_path/log\nname = default\n\
         [api]\nname = api\nvendordata_jsonfile_path = ${state_path}/${name}.json\n\
         compute_link_prefix = https://$wsgi.api_paste_config/x\n\
         glance_link_prefix = cost $$5 and \\$state_path\n",
    );
    let (conf, warnings) = NovaConf::load(&files(&[&path]), &Schema::default()).expect("loads");
    assert_eq!(conf.database.connection, "sqlite:////srv/nova/nova.sqlite");
    assert_eq!(conf.default.log_dir, Some(PathBuf::from("/srv/nova/log")));
    assert_eq!(
        conf.get_str("api", "vendordata_jsonfile_path")
            .expect("valid"),
        Some("/srv/nova/api.json".to_owned())
    );
    assert_eq!(
        conf.get_str("api", "compute_link_prefix").expect("valid"),
        Some("https://api-paste.ini/x".to_owned())
    );
    assert_eq!(
        conf.get_str("api", "glance_link_prefix").expect("valid"),
        Some("cost $5 and $state_path".to_owned())
    );
    // The raw value is as written.
    assert_eq!(
        conf.raw("DEFAULT", "log_dir").map(|r| r.value.as_str()),
        Some("$state_path/log")
    );
    assert_eq!(
        warnings,
        vec![
            format!("unknown option [DEFAULT] name in {}", path.display()),
            format!("unknown option [api] name in {}", path.display()),
        ]
    );
}

#[test]
fn substituting_an_unknown_option_names_the_option_that_uses_it() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[database]\nconnection = sqlite:///$nowhere/x\n",
    );
    assert_eq!(
        load_error(&files(&[&path])),
        format!(
            "invalid value \"sqlite:///$nowhere/x\" for option [database] connection in {}: \
             cannot substitute $nowhere: no such option",
            path.display()
        )
    );
}

#[test]
fn a_known_but_unset_option_substitutes_as_empty() {
    let fx = Fixture::new();
    let path = fx.file("nova.conf", "[DEFAULT]\nlog_dir = /logs$host\n");
    assert_eq!(
        load(&files(&[&path])).default.log_dir,
        Some(PathBuf::from("/logs"))
    );
}

/// Loads `[section]\noption = value` from a file and returns the error.
fn file_value_error(section: &str, option: &str, value: &str) -> (String, PathBuf) {
    let fx = Fixture::new();
    let path = fx.file("nova.conf", &format!("[{section}]\n{option} = {value}\n"));
    (load_error(&files(&[&path])), path)
}

#[test]
fn each_kind_of_bad_value_is_one_line_naming_file_section_option_and_value() {
    let cases = [
        (
            "wsgi",
            "client_socket_timeout",
            "abc",
            "expected an integer >= 0",
        ),
        (
            "wsgi",
            "client_socket_timeout",
            "-1",
            "expected an integer >= 0",
        ),
        (
            "DEFAULT",
            "graceful_shutdown_timeout",
            "1.5",
            "expected an integer >= 0",
        ),
        (
            "DEFAULT",
            "osapi_compute_workers",
            "0",
            "expected an integer >= 1",
        ),
        (
            "DEFAULT",
            "debug",
            "maybe",
            "expected a boolean (true/false, yes/no, on/off, 1/0)",
        ),
        (
            "wsgi",
            "keep_alive",
            "2",
            "expected a boolean (true/false, yes/no, on/off, 1/0)",
        ),
        (
            "DEFAULT",
            "metadata_listen_port",
            "65536",
            "expected a port number between 0 and 65535",
        ),
        (
            "DEFAULT",
            "ec2_listen",
            "not a host",
            "expected an IP address or a host name",
        ),
        ("DEFAULT", "my_ip", "host.example", "expected an IP address"),
        (
            "DEFAULT",
            "enabled_apis",
            "osapi_compute, ec3",
            "\"ec3\" is not one of osapi_compute, ec2, metadata",
        ),
        (
            "api",
            "auth_strategy",
            "noauth",
            "expected one of keystone, noauth2",
        ),
        (
            "oslo_middleware",
            "max_request_body_size",
            "big",
            "expected an integer >= 0",
        ),
    ];
    for (section, option, value, reason) in cases {
        let (message, path) = file_value_error(section, option, value);
        assert_eq!(
            message,
            format!(
                "invalid value {value:?} for option [{section}] {option} in {}: {reason}",
                path.display()
            )
        );
    }
}

#[test]
fn a_bad_value_under_a_deprecated_name_is_reported_under_that_name() {
    let (message, path) = file_value_error("DEFAULT", "wsgi_keep_alive", "perhaps");
    assert_eq!(
        message,
        format!(
            "invalid value \"perhaps\" for option [DEFAULT] wsgi_keep_alive in {}: \
             expected a boolean (true/false, yes/no, on/off, 1/0)",
            path.display()
        )
    );
}

#[test]
fn bad_values_from_the_environment_and_flags_name_their_source() {
    let sources = ConfigSources {
        env: env(&[("OS_WSGI__CLIENT_SOCKET_TIMEOUT", "abc")]),
        ..ConfigSources::default()
    };
    assert_eq!(
        load_error(&sources),
        "invalid value \"abc\" for option [wsgi] client_socket_timeout in environment variable \
         OS_WSGI__CLIENT_SOCKET_TIMEOUT: expected an integer >= 0"
    );
    // An empty config file, so the default search stays out of the way.
    let fx = Fixture::new();
    let empty = fx.file("empty.conf", "");
    let empty = empty.to_str().expect("utf-8");
    let sources =
        service_args(&["--config-file", empty, "--port", "http"]).sources("ec2", Vec::new());
    assert_eq!(
        load_error(&sources),
        "invalid value \"http\" for option [DEFAULT] ec2_listen_port in command-line flag --port: \
         expected a port number between 0 and 65535"
    );
    let sources =
        service_args(&["--config-file", empty, "--workers", "0"]).sources("metadata", Vec::new());
    assert_eq!(
        load_error(&sources),
        "invalid value \"0\" for option [DEFAULT] metadata_workers in command-line flag \
         --workers: expected an integer >= 1"
    );
}

#[test]
fn a_missing_or_unreadable_config_file_names_the_file_and_the_os_error() {
    let fx = Fixture::new();
    let missing = fx.path("missing.conf");
    assert_eq!(
        load_error(&files(&[&missing])),
        format!(
            "cannot read config file {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    std::fs::create_dir(fx.path("a-dir.conf")).expect("mkdir");
    let dir = fx.path("a-dir.conf");
    assert_eq!(
        load_error(&files(&[&dir])),
        format!(
            "cannot read config file {}: Is a directory (os error 21)",
            dir.display()
        )
    );
    let not_utf8 = fx.path("latin1.conf");
    std::fs::write(&not_utf8, b"[DEFAULT]\nhost = caf\xe9\n").expect("write");
    assert_eq!(
        load_error(&files(&[&not_utf8])),
        format!(
            "cannot read config file {}: stream did not contain valid UTF-8",
            not_utf8.display()
        )
    );
    let missing_dir = fx.path("nowhere.d");
    assert_eq!(
        load_error(&ConfigSources {
            dirs: vec![missing_dir.clone()],
            ..ConfigSources::default()
        }),
        format!(
            "cannot read config directory {}: No such file or directory (os error 2)",
            missing_dir.display()
        )
    );
}

#[test]
fn a_malformed_file_names_the_file_and_line() {
    let fx = Fixture::new();
    let path = fx.file("nova.conf", "[DEFAULT]\ndebug = true\n[wsgi\n");
    assert_eq!(
        load_error(&files(&[&path])),
        format!(
            "cannot parse config file {} at line 3: section header must end with \"]\"",
            path.display()
        )
    );
}

#[test]
fn unknown_options_are_warnings_not_errors() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[wsgi]\nfoo = 1\nkeep_alive = false\n[keystone_authtoken]\nwww_authenticate_uri = x\n\
         [libvirt]\nvirt_type = kvm\n[made_up]\nbar = 2\n",
    );
    let (conf, warnings) = NovaConf::load(
        &ConfigSources {
            files: vec![path.clone()],
            env: env(&[("OS_WSGI__KEEP_ALIVES", "true")]),
            ..ConfigSources::default()
        },
        &Schema::default(),
    )
    .expect("unknown options do not fail");
    assert!(!conf.wsgi.keep_alive);
    assert_eq!(
        warnings,
        vec![
            format!("unknown option [wsgi] foo in {}", path.display()),
            format!("unknown option [made_up] bar in {}", path.display()),
            "unknown option [wsgi] keep_alives in environment variable OS_WSGI__KEEP_ALIVES: \
             did you mean keep_alive?"
                .to_owned(),
        ]
    );
    // Unknown options still reach the generic getters.
    assert_eq!(
        conf.get_int("made_up", "bar", 0, None, None).expect("int"),
        2
    );
}

#[test]
fn deprecated_names_are_honoured_with_a_warning() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[DEFAULT]\nwsgi_keep_alive = false\nwsgi_default_pool_size = 50\n\
         osapi_max_request_body_size = 1024\nauth_strategy = noauth2\n\
         api_paste_config = /etc/nova/paste.ini\n",
    );
    let (conf, warnings) = NovaConf::load(&files(&[&path]), &Schema::default()).expect("loads");
    assert!(!conf.wsgi.keep_alive);
    assert_eq!(conf.wsgi.default_pool_size, 50);
    assert_eq!(conf.oslo_middleware.max_request_body_size, 1024);
    assert_eq!(conf.api.auth_strategy, "noauth2");
    assert_eq!(conf.wsgi.api_paste_config, "/etc/nova/paste.ini");
    assert!(warnings.contains(&format!(
        "deprecated option [DEFAULT] wsgi_keep_alive in {}: use [wsgi] keep_alive instead",
        path.display()
    )));
    assert_eq!(warnings.len(), 5, "{warnings:?}");
}

#[test]
fn a_current_name_beats_a_deprecated_one_in_the_same_file_but_not_a_later_file() {
    let fx = Fixture::new();
    let first = fx.file(
        "1.conf",
        "[wsgi]\nkeep_alive = true\n[DEFAULT]\nwsgi_keep_alive = false\n",
    );
    assert!(load(&files(&[&first])).wsgi.keep_alive);
    let second = fx.file("2.conf", "[DEFAULT]\nwsgi_keep_alive = false\n");
    assert!(!load(&files(&[&first, &second])).wsgi.keep_alive);
}

#[test]
fn generic_getters_parse_api_owned_options_with_the_same_errors() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[api]\nmetadata_cache_expiration = 30\nvendordata_providers = StaticJSON, DynamicJSON\n\
         local_metadata_per_cell = yes\nmax_limit = lots\n\
         [quota]\ninstances = -1\n[simulator]\nboot_delay = 0.25\n",
    );
    let conf = load(&files(&[&path]));
    assert_eq!(
        conf.get_int("api", "metadata_cache_expiration", 15, Some(0), None)
            .ok(),
        Some(30)
    );
    assert_eq!(
        conf.get_int("quota", "instances", 10, Some(-1), None).ok(),
        Some(-1)
    );
    assert_eq!(
        conf.get_int("quota", "cores", 20, Some(-1), None).ok(),
        Some(20)
    );
    assert_eq!(
        conf.get_list("api", "vendordata_providers", &["StaticJSON"])
            .ok(),
        Some(vec!["StaticJSON".to_owned(), "DynamicJSON".to_owned()])
    );
    assert_eq!(
        conf.get_list("api", "vendordata_dynamic_targets", &[]).ok(),
        Some(Vec::new())
    );
    assert_eq!(
        conf.get_bool("api", "local_metadata_per_cell", false).ok(),
        Some(true)
    );
    assert_eq!(
        conf.get_bool("api", "enable_instance_password", true).ok(),
        Some(true)
    );
    assert_eq!(
        conf.get_float("simulator", "boot_delay", 1.0, Some(0.0), None)
            .ok(),
        Some(0.25)
    );
    assert_eq!(conf.get_str("api", "dhcp_domain").ok(), Some(None));
    assert_eq!(
        conf.get_choice(
            "api",
            "instance_list_cells_batch_strategy",
            "distributed",
            &["distributed", "fixed"]
        )
        .ok(),
        Some("distributed".to_owned())
    );
    assert_eq!(conf.get_port("neutron", "port", 9696).ok(), Some(9696));
    let err = conf
        .get_int("api", "max_limit", 1000, Some(0), None)
        .map_err(|e: ConfigError| e.to_string());
    assert_eq!(
        err,
        Err(format!(
            "invalid value \"lots\" for option [api] max_limit in {}: expected an integer >= 0",
            path.display()
        ))
    );
    assert_eq!(conf.raw("api", "dhcp_domain"), None);
}

#[test]
fn empty_values_mean_unset() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[DEFAULT]\nosapi_compute_workers =\nlog_file =\ndebug =\n[wsgi]\ntcp_keepidle =\n",
    );
    let conf = load(&files(&[&path]));
    assert_eq!(conf.default.osapi_compute_workers, None);
    assert_eq!(conf.default.log_file, None);
    assert!(!conf.default.debug);
    assert_eq!(conf.wsgi.tcp_keepidle, 600);
}

#[test]
fn api_listener_resolves_workers_and_tls() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[DEFAULT]\nenabled_ssl_apis = metadata\nmetadata_listen = ::1\nmetadata_workers = 3\n",
    );
    let conf = load(&files(&[&path]));
    let meta = conf.api_listener("metadata");
    assert_eq!(
        (meta.listen.as_str(), meta.port, meta.workers, meta.ssl),
        ("::1", 8775, 3, true)
    );
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let osapi = conf.api_listener("osapi_compute");
    assert_eq!(
        (osapi.listen.as_str(), osapi.port, osapi.workers, osapi.ssl),
        ("0.0.0.0", 8774, cpus, false)
    );
}

#[test]
fn log_path_joins_log_dir_and_log_file_as_oslo_log_does() {
    let fx = Fixture::new();
    let both = fx.file(
        "a.conf",
        "[DEFAULT]\nlog_dir = /var/log/nova\nlog_file = api.log\n",
    );
    assert_eq!(
        load(&files(&[&both])).log_path(),
        Some(PathBuf::from("/var/log/nova/api.log"))
    );
    let dir_only = fx.file("b.conf", "[DEFAULT]\nlog_dir = /var/log/nova\n");
    let conf = load(&files(&[&dir_only]));
    assert_eq!(conf.log_path(), None);
    assert_eq!(
        conf.log_path_for("nova-api"),
        Some(PathBuf::from("/var/log/nova/nova-api.log"))
    );
}

#[test]
fn default_search_finds_the_first_nova_conf_from_home() {
    let fx = Fixture::new();
    fx.file(".nova/nova.conf", "[DEFAULT]\ndebug = true\n");
    fx.file("nova.conf", "[DEFAULT]\ndebug = false\n");
    fx.file(
        ".nova/nova.conf.d/10.conf",
        "[DEFAULT]\nec2_listen_port = 1\n",
    );
    let home = fx.dir.path().to_str().expect("utf-8").to_owned();
    let sources = service_args(&[]).sources("ec2", env(&[("HOME", &home)]));
    assert_eq!(sources.files, vec![fx.path(".nova/nova.conf")]);
    assert_eq!(sources.dirs, vec![fx.path(".nova/nova.conf.d")]);
    let conf = load(&sources);
    assert!(conf.default.debug);
    assert_eq!(conf.default.ec2_listen_port, 1);
    let search = conf.search_dirs();
    assert_eq!(search[0], fx.path(".nova/nova.conf.d"));
    assert_eq!(search[1], fx.path(".nova"));
    assert_eq!(search.last(), Some(&PathBuf::from("/etc")));
}

#[test]
fn explicit_files_turn_the_default_search_off() {
    let fx = Fixture::new();
    fx.file(".nova/nova.conf", "[DEFAULT]\ndebug = true\n");
    let mine = fx.file("mine.conf", "[DEFAULT]\n");
    let home = fx.dir.path().to_str().expect("utf-8").to_owned();
    let args = service_args(&["--config-file", mine.to_str().expect("utf-8")]);
    let sources = args.sources("ec2", env(&[("HOME", &home)]));
    assert_eq!(
        (sources.files, sources.dirs),
        (vec![mine], Vec::<PathBuf>::new())
    );
}

#[test]
fn reload_diff_names_changed_options_and_those_needing_a_restart() {
    let fx = Fixture::new();
    let path = fx.file(
        "nova.conf",
        "[DEFAULT]\ndebug = false\nosapi_compute_listen_port = 8774\n\
         [wsgi]\nkeep_alive = true\n[api]\nmax_limit = 1000\n",
    );
    let sources = files(&[&path]);
    let before = load(&sources);
    assert!(before.diff(&load(&sources)).is_empty());
    fx.file(
        "nova.conf",
        "[DEFAULT]\ndebug = true\nosapi_compute_listen_port = 9774\nenabled_ssl_apis = ec2\n\
         [wsgi]\nkeep_alive = True\n[api]\nmax_limit = 500\n",
    );
    let after = load(&sources);
    assert_eq!(
        before.diff(&after),
        vec![
            "[DEFAULT] debug",
            "[DEFAULT] enabled_ssl_apis",
            "[DEFAULT] osapi_compute_listen_port",
            "[api] max_limit",
        ]
    );
    assert_eq!(
        before.diff_requiring_restart(&after),
        vec![
            "[DEFAULT] enabled_ssl_apis",
            "[DEFAULT] osapi_compute_listen_port"
        ]
    );
}

#[test]
fn overrides_can_be_built_by_hand() {
    let conf = load(&ConfigSources {
        overrides: vec![Override {
            group: "wsgi".into(),
            option: "keep_alive".into(),
            value: "off".into(),
            flag: "--no-keep-alive".into(),
        }],
        ..ConfigSources::default()
    });
    assert!(!conf.wsgi.keep_alive);
}

/// A small deterministic generator, so a failure is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn parsing_random_bytes_never_panics() {
    // Bytes skewed toward INI syntax so the parser gets past the first line.
    const ALPHABET: &[u8] = b"[]=:;#\"'\\$ {}\t\r\nabcDEFAULTwsgi_0123456789.";
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    let fx = Fixture::new();
    for round in 0..3000 {
        let len = (rng.next() % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = rng.next();
                if r & 3 == 0 {
                    (r >> 8) as u8
                } else {
                    ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                }
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        // Either outcome is fine; a panic fails the test.
        let _ = parse_ini(&text, Path::new("fuzz.conf"));
        if round % 10 == 0 {
            let path = fx.path("fuzz.conf");
            std::fs::write(&path, &bytes).expect("write");
            if let Err(e) = NovaConf::load(&files(&[&path]), &Schema::default()) {
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
    }
}
