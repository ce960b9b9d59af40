//! The typed option groups: nova's names, groups and defaults for every
//! option that affects serving, one struct per nova.conf group.
//!
//! Each field is declared once, with its default written as nova.conf text
//! beside it, the parser that checks it and its deprecated spellings; the
//! [`crate::option_group!`] macro turns that into the struct, its
//! declaration (used by `$option` substitution and by the catalogue) and
//! its loader. Other crates declare their groups with the same macro.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::value;
use crate::GroupDecl;

/// oslo.service's `backdoor_port` value: one port (`<port>`, 0 for any)
/// or the inclusive range `<start>:<end>`, the first free one of which is
/// used (one nova.conf serves several binaries, so a range lets each bind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port to try.
    pub start: u16,
    /// The last port to try.
    pub end: u16,
}

/// Parses `backdoor_port`: `<port>` or `<start>:<end>`, as oslo.service.
fn port_range(text: &str) -> Result<PortRange, String> {
    const EXPECTED: &str =
        "expected <port> or <start>:<end> with ports from 0 to 65535, start <= end";
    let port = |t: &str| t.trim().parse::<u16>().map_err(|_| EXPECTED.to_owned());
    let (start, end) = match text.split_once(':') {
        Some((start, end)) => (port(start)?, port(end)?),
        None => (port(text)?, port(text)?),
    };
    if start > end {
        return Err(EXPECTED.to_owned());
    }
    Ok(PortRange { start, end })
}

/// The APIs nova-api can serve, as named in `enabled_apis`.
pub const API_NAMES: &[&str] = &["osapi_compute", "ec2", "metadata"];

crate::option_group! {
    /// `[DEFAULT]`: which APIs run, where they listen, and process-wide
    /// settings.
    pub struct DefaultGroup in "DEFAULT" {
        /// The APIs to serve; each of `osapi_compute`, `ec2`, `metadata`
        /// (nova 2025.1's default, without the long-gone `ec2`).
        pub enabled_apis: Vec<String> = "osapi_compute,metadata" => value::list_of(API_NAMES);
        /// The APIs served over TLS, with `[wsgi] ssl_cert_file`/`ssl_key_file`.
        pub enabled_ssl_apis: Vec<String> = "" => value::list;
        /// Address (or host name) the compute API binds.
        pub osapi_compute_listen: String = "0.0.0.0" => value::host;
        /// Port the compute API binds; 0 picks a free one.
        pub osapi_compute_listen_port: u16 = "8774" => value::port;
        /// Worker processes of the compute API; unset means one per CPU.
        pub osapi_compute_workers: Option<u32> => value::int(Some(1), None);
        /// Address (or host name) the EC2 API binds.
        pub ec2_listen: String = "0.0.0.0" => value::host;
        /// Port the EC2 API binds; 0 picks a free one.
        pub ec2_listen_port: u16 = "8773" => value::port;
        /// Worker processes of the EC2 API; unset means one per CPU.
        pub ec2_workers: Option<u32> => value::int(Some(1), None);
        /// Address (or host name) the metadata service binds.
        pub metadata_listen: String = "0.0.0.0" => value::host;
        /// Port the metadata service binds; 0 picks a free one.
        pub metadata_listen_port: u16 = "8775" => value::port;
        /// Worker processes of the metadata service; unset means one per CPU.
        pub metadata_workers: Option<u32> => value::int(Some(1), None);
        /// Log at DEBUG level instead of INFO.
        pub debug: bool = "false" => value::boolean;
        /// Log to this file (relative to `log_dir` when that is set) instead
        /// of standard error.
        pub log_file: Option<PathBuf> => value::path;
        /// Directory for `log_file`.
        pub log_dir: Option<PathBuf> => value::path;
        /// Top-level directory for state (the SQLite store lives here by
        /// default). nova's default is `$pybasedir`, its Python package
        /// directory; we use the conventional packaged location.
        pub state_path: PathBuf = "/var/lib/nova" => value::path;
        /// Seconds a graceful shutdown (SIGTERM) may take before the process
        /// exits anyway; 0 waits for ever.
        pub graceful_shutdown_timeout: u64 = "60" => value::int(Some(0), None);
        /// This host's IP address. nova guesses it from the routing table
        /// when unset; we leave it unset.
        pub my_ip: Option<IpAddr> => value::ip;
        /// Log one JSON object per line instead of oslo.log's text line
        /// (oslo.log's option of that name).
        pub use_json: bool = "false" => value::boolean;
        /// oslo.service's backdoor, here the introspection report: served
        /// on this loopback TCP port, or the first free one of a
        /// `<start>:<end>` range (0 picks any). Unset: off.
        pub backdoor_port: Option<PortRange> => port_range;
        /// The introspection report on this Unix socket instead of a port
        /// (wins over `backdoor_port`); `{pid}` is replaced by the pid.
        pub backdoor_socket: Option<PathBuf> => value::path;
    }
}

crate::option_group! {
    /// `[wsgi]`: the HTTP server's limits, logging and TLS files.
    pub struct WsgiGroup in "wsgi" {
        /// The paste.deploy file (api-paste.ini), found next to the config
        /// files when relative.
        pub api_paste_config: String = "api-paste.ini" => value::string,
            deprecated("DEFAULT", "api_paste_config");
        /// The access-log line, a Python `%` format over `client_ip`,
        /// `date_time`, `request_line`, `status_code`, `body_length` and
        /// `wall_seconds`.
        pub wsgi_log_format: String = "%(client_ip)s \"%(request_line)s\" status: %(status_code)s len: %(body_length)s time: %(wall_seconds).7f" => value::string,
            deprecated("DEFAULT", "wsgi_log_format");
        /// Longest request header line accepted, in bytes; longer ones get 400.
        pub max_header_line: usize = "16384" => value::int(Some(1), None),
            deprecated("DEFAULT", "max_header_line");
        /// TCP_KEEPIDLE of accepted sockets, in seconds.
        pub tcp_keepidle: u64 = "600" => value::int(Some(1), None),
            deprecated("DEFAULT", "tcp_keepidle");
        /// Seconds an idle client connection is kept; 0 waits for ever (see
        /// [`WsgiGroup::socket_timeout`]).
        pub client_socket_timeout: u64 = "900" => value::int(Some(0), None),
            deprecated("DEFAULT", "client_socket_timeout");
        /// Keep client connections open between requests; false closes each
        /// connection after its response.
        pub keep_alive: bool = "true" => value::boolean,
            deprecated("DEFAULT", "wsgi_keep_alive");
        /// Most connections served at once by one worker (nova's green-thread
        /// pool size).
        pub default_pool_size: usize = "1000" => value::int(Some(1), None),
            deprecated("DEFAULT", "wsgi_default_pool_size");
        /// CA bundle to verify client certificates against; set, it makes a
        /// client certificate mandatory.
        pub ssl_ca_file: Option<String> => value::string,
            deprecated("DEFAULT", "ssl_ca_file");
        /// The server certificate (PEM) for the APIs in `enabled_ssl_apis`.
        pub ssl_cert_file: Option<String> => value::string,
            deprecated("DEFAULT", "ssl_cert_file");
        /// The server private key (PEM) for the APIs in `enabled_ssl_apis`.
        pub ssl_key_file: Option<String> => value::string,
            deprecated("DEFAULT", "ssl_key_file");
    }
}

impl WsgiGroup {
    /// `client_socket_timeout` as a duration; `None` for 0 (no timeout).
    pub fn socket_timeout(&self) -> Option<std::time::Duration> {
        (self.client_socket_timeout > 0)
            .then(|| std::time::Duration::from_secs(self.client_socket_timeout))
    }
}

crate::option_group! {
    /// `[oslo_middleware]`: the generic middleware's settings.
    pub struct OsloMiddlewareGroup in "oslo_middleware" {
        /// Largest request body accepted, in bytes; larger ones get 413.
        pub max_request_body_size: u64 = "114688" => value::int(Some(0), None),
            deprecated("DEFAULT", "osapi_max_request_body_size"),
            deprecated("DEFAULT", "max_request_body_size");
        /// Trust `X-Forwarded-*` / `Forwarded` headers for the client address
        /// and scheme (only behind a proxy that sets them).
        pub enable_proxy_headers_parsing: bool = "false" => value::boolean;
    }
}

/// The values of `[api] auth_strategy`: tokens validated by Keystone, or
/// the test-only `noauth2` that trusts a `user:project` token.
pub const AUTH_STRATEGIES: &[&str] = &["keystone", "noauth2"];

crate::option_group! {
    /// `[api]`: the options more than one crate reads. Each API's own
    /// options in this group are declared by its crate.
    pub struct ApiGroup in "api" {
        /// How requests are authenticated: `keystone` or `noauth2` (the
        /// pipeline of that name in api-paste.ini is used).
        pub auth_strategy: String = "keystone" => value::choice(AUTH_STRATEGIES),
            deprecated("DEFAULT", "auth_strategy");
        /// Seconds the metadata service serves a looked-up instance from
        /// its cache (0: no caching); the compute domain keeps a freed
        /// address out of circulation for longer.
        pub metadata_cache_expiration: u64 = "15" => value::int(Some(0), None);
    }
}

crate::option_group! {
    /// `[database]`: where the compute store lives.
    pub struct DatabaseGroup in "database" {
        /// SQLAlchemy-style URL (`sqlite:///path`, `postgresql+psycopg2://…`).
        /// nova has no default; ours is an embedded SQLite file under
        /// `state_path`, so a fresh install works at once.
        /// A secret, as oslo.db marks it: the URL may hold a password.
        pub connection: String = "sqlite:///$state_path/nova.sqlite" => value::string,
            secret = true;
    }
}

crate::option_group! {
    /// `[cors]`: oslo.middleware's CORS filter, with the defaults nova sets.
    pub struct CorsGroup in "cors" {
        /// Origins allowed to make cross-origin requests; empty disables CORS.
        pub allowed_origin: Vec<String> = "" => value::list;
        /// Whether the actual request may include user credentials.
        pub allow_credentials: bool = "true" => value::boolean;
        /// Response headers exposed to the browser.
        pub expose_headers: Vec<String> = "X-Auth-Token,X-Openstack-Request-Id,X-Subject-Token,X-Service-Token,X-OpenStack-Nova-API-Version,OpenStack-API-Version" => value::list;
        /// Seconds a preflight answer may be cached.
        pub max_age: u64 = "3600" => value::int(Some(0), None);
        /// Methods allowed in actual requests.
        pub allow_methods: Vec<String> = "GET,PUT,POST,DELETE,PATCH" => value::list;
        /// Request headers allowed in actual requests.
        pub allow_headers: Vec<String> = "X-Auth-Token,X-Openstack-Request-Id,X-Identity-Status,X-Roles,X-Service-Catalog,X-User-Id,X-Tenant-Id,X-OpenStack-Nova-API-Version,OpenStack-API-Version" => value::list;
    }
}

/// nova-conf's own groups: the first of every [`crate::Schema`].
pub(crate) const CORE: &[GroupDecl] = &[
    GroupDecl::of::<DefaultGroup>(),
    GroupDecl::of::<WsgiGroup>(),
    GroupDecl::of::<OsloMiddlewareGroup>(),
    GroupDecl::of::<ApiGroup>(),
    GroupDecl::of::<DatabaseGroup>(),
    GroupDecl::of::<CorsGroup>(),
];

/// The built-in default (as text) of one of nova-conf's own options.
pub fn builtin_default(group: &str, option: &str) -> Option<&'static str> {
    CORE.iter()
        .filter(|d| d.spec.group == group)
        .find_map(|d| d.spec.option(option))
        .and_then(|o| o.default)
}
