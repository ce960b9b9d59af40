//! The proxy's command line: nova's `nova-novncproxy` flags that have a
//! meaning here, as overrides of the nova.conf options they name.

use nova_conf::ConfigSources;
use nova_runtime::cli::ConfigArgs;

/// `novncproxy [--config-file PATH]... [--config-dir DIR]... [--listen ADDR]
/// [--port PORT] [--web DIR] [--debug]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Parser)]
#[command(
    name = "novncproxy",
    version,
    about = "nova's noVNC console proxy, with the simulated guests' VNC server"
)]
pub struct Cli {
    /// `--config-file`, `--config-dir`.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// `[vnc] novncproxy_host` (nova's `--vnc-novncproxy_host`).
    #[arg(
        long,
        visible_alias = "vnc-novncproxy_host",
        value_name = "ADDR",
        help = "Address to listen on [default: from nova.conf, else 0.0.0.0]"
    )]
    pub listen: Option<String>,

    /// `[vnc] novncproxy_port` (nova's `--vnc-novncproxy_port`).
    #[arg(
        long,
        visible_alias = "vnc-novncproxy_port",
        value_name = "PORT",
        help = "Port to listen on, 0 for any free port [default: from nova.conf, else 6080]"
    )]
    pub port: Option<String>,

    /// `[DEFAULT] web`.
    #[arg(
        long,
        value_name = "DIR",
        help = "Directory of the noVNC client files [default: from nova.conf, \
                else /usr/share/novnc]"
    )]
    pub web: Option<String>,

    /// `[DEFAULT] debug = true`.
    #[arg(long, help = "Log at DEBUG level [default: from nova.conf, else off]")]
    pub debug: bool,
}

impl Cli {
    /// The configuration sources: the files and directories (oslo.config's
    /// default search when there are none, `HOME` from `env`), the
    /// environment, and the flags as the top-priority overrides.
    pub fn sources(&self, env: Vec<(String, String)>) -> ConfigSources {
        let mut sources = self.config.sources(env);
        sources.push_flag("vnc", "novncproxy_host", self.listen.as_deref(), "--listen");
        sources.push_flag("vnc", "novncproxy_port", self.port.as_deref(), "--port");
        sources.push_flag("DEFAULT", "web", self.web.as_deref(), "--web");
        sources.push_flag("DEFAULT", "debug", self.debug.then_some("true"), "--debug");
        sources
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use nova_conf::Override;

    use super::*;

    #[test]
    fn flags_become_overrides_of_the_options_they_name() {
        let cli = Cli::try_parse_from([
            "novncproxy",
            "--config-file",
            "n.conf",
            "--vnc-novncproxy_host",
            "127.0.0.1",
            "--port",
            "0",
            "--web",
            "/srv/novnc",
            "--debug",
        ])
        .unwrap();
        let sources = cli.sources(Vec::new());
        assert_eq!(sources.files, vec![std::path::PathBuf::from("n.conf")]);
        let set = |group: &str, option: &str, value: &str, flag: &str| Override {
            group: group.into(),
            option: option.into(),
            value: value.into(),
            flag: flag.into(),
        };
        assert_eq!(
            sources.overrides,
            vec![
                set("vnc", "novncproxy_host", "127.0.0.1", "--listen"),
                set("vnc", "novncproxy_port", "0", "--port"),
                set("DEFAULT", "web", "/srv/novnc", "--web"),
                set("DEFAULT", "debug", "true", "--debug"),
            ]
        );
    }
}
