//! The proxy's options, as nova's `nova-novncproxy` names them: where it
//! listens (`[vnc] novncproxy_host`, `novncproxy_port`), the noVNC client
//! files it serves (`[DEFAULT] web`) and the origins a browser may open a
//! console from besides the proxy's own host (`[console] allowed_origins`).
//! The token store's options are compute's ([`compute::options`]).

use std::path::PathBuf;

use nova_conf::{value, GroupDecl, NovaConf};

nova_conf::option_group! {
    /// `[vnc]`: where the noVNC proxy listens (compute's `[vnc]` group
    /// holds the options of the consoles it hands out).
    pub struct ProxyListenGroup in "vnc" {
        /// The address the proxy binds.
        pub novncproxy_host: String = "0.0.0.0" => value::host;
        /// The port the proxy binds, 0 for any free port.
        pub novncproxy_port: u16 = "6080" => value::port;
    }
}

nova_conf::option_group! {
    /// `[DEFAULT]`: the noVNC client files.
    pub struct WebGroup in "DEFAULT" {
        /// The directory of the noVNC client (`vnc_lite.html` and the rest),
        /// where Debian's `novnc` package installs it by default.
        pub web: PathBuf = "/usr/share/novnc" => value::path;
    }
}

nova_conf::option_group! {
    /// `[console]`: who may open a console.
    pub struct ConsoleGroup in "console" {
        /// Host names a browser's `Origin` may name besides the proxy's
        /// own `Host`.
        pub allowed_origins: Vec<String> = "" => value::list,
            deprecated("DEFAULT", "console_allowed_origins");
    }
}

/// The option groups this crate declares, for the binary's schema.
pub const OPTION_GROUPS: &[GroupDecl] = &[
    GroupDecl::of::<ProxyListenGroup>(),
    GroupDecl::of::<WebGroup>(),
    GroupDecl::of::<ConsoleGroup>(),
];

/// The proxy's settings, read from nova.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `[vnc] novncproxy_host`.
    pub host: String,
    /// `[vnc] novncproxy_port`.
    pub port: u16,
    /// `[DEFAULT] web`.
    pub web: PathBuf,
    /// `[console] allowed_origins`.
    pub allowed_origins: Vec<String>,
}

impl ProxyConfig {
    /// The settings of a configuration loaded with [`OPTION_GROUPS`].
    pub fn from_conf(conf: &NovaConf) -> Self {
        let listen = conf.group::<ProxyListenGroup>();
        ProxyConfig {
            host: listen.novncproxy_host.clone(),
            port: listen.novncproxy_port,
            web: conf.group::<WebGroup>().web.clone(),
            allowed_origins: conf.group::<ConsoleGroup>().allowed_origins.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use nova_conf::{ConfigSources, Schema};

    use super::*;

    fn load(options: &[(&str, &str, &str)]) -> Result<ProxyConfig, String> {
        let sources = ConfigSources::from_options(options);
        NovaConf::load(&sources, &Schema::new(&[OPTION_GROUPS]))
            .map(|(conf, _)| ProxyConfig::from_conf(&conf))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn nova_defaults_apply_when_nothing_is_set() {
        assert_eq!(
            load(&[]),
            Ok(ProxyConfig {
                host: "0.0.0.0".into(),
                port: 6080,
                web: "/usr/share/novnc".into(),
                allowed_origins: Vec::new(),
            })
        );
    }

    #[test]
    fn each_option_is_read_from_its_group() {
        let config = load(&[
            ("vnc", "novncproxy_host", "127.0.0.1"),
            ("vnc", "novncproxy_port", "6081"),
            ("DEFAULT", "web", "/srv/novnc"),
            ("console", "allowed_origins", "a.example, b.example"),
        ])
        .unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 6081);
        assert_eq!(config.web, PathBuf::from("/srv/novnc"));
        assert_eq!(config.allowed_origins, vec!["a.example", "b.example"]);
    }

    #[test]
    fn a_bad_port_names_the_option() {
        let err = load(&[("vnc", "novncproxy_port", "70000")]).unwrap_err();
        assert!(err.contains("novncproxy_port"), "{err}");
        assert!(err.contains("70000"), "{err}");
    }
}
