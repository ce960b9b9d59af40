//! The command-line flags every binary shares, and how they become the
//! top-priority layer of the configuration.
//!
//! Each API binary flattens [`ServiceArgs`] into its own clap parser. The
//! flags name nova.conf options of the binary's API (`--port` is
//! `[DEFAULT] <api>_listen_port`), so their defaults come from nova.conf;
//! [`ServiceArgs::with_api_defaults`] writes the binary's own fallback
//! values into `--help`. A binary that is no API (the console proxy)
//! flattens only [`ConfigArgs`], the files and directories.

use std::path::PathBuf;

use nova_conf::{builtin_default, ConfigSources};

/// `--config-file` and `--config-dir`, as oslo.config reads them: every
/// binary's.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ConfigArgs {
    /// Config files, read in order, later ones winning.
    #[arg(
        long = "config-file",
        value_name = "PATH",
        help = "Path to a config file; repeatable, later files win \
                [default: the first of ~/.nova/nova.conf, ~/nova.conf, \
                /etc/nova/nova.conf, /etc/nova.conf, when no --config-dir is given]"
    )]
    pub config_file: Vec<PathBuf>,

    /// Config directories: every `*.conf` in them, sorted, after the files.
    #[arg(
        long = "config-dir",
        value_name = "DIR",
        help = "Directory whose *.conf files are read, sorted, after every --config-file; \
                repeatable [default: the first nova.conf.d/ next to the default files, \
                when no --config-file is given]"
    )]
    pub config_dir: Vec<PathBuf>,
}

impl ConfigArgs {
    /// The sources these flags select: the named files and directories
    /// (or oslo.config's default search when there are none, with `HOME`
    /// from `env`) and the environment; no flag overrides yet.
    pub fn sources(&self, env: Vec<(String, String)>) -> ConfigSources {
        ConfigSources::with_default_search(self.config_file.clone(), self.config_dir.clone(), env)
    }
}

/// Flags shared by `osapi-compute`, `ec2-api` and `metadata-api`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ServiceArgs {
    /// `--config-file`, `--config-dir`.
    #[command(flatten)]
    pub config: ConfigArgs,

    /// `[DEFAULT] <api>_listen`.
    #[arg(
        long,
        value_name = "ADDR",
        help = "IP address or host name to listen on [default: from nova.conf, else 0.0.0.0]"
    )]
    pub listen: Option<String>,

    /// `[DEFAULT] <api>_listen_port`; checked by the config loader so an
    /// error names the flag like any other source.
    #[arg(
        long,
        value_name = "PORT",
        help = "Port to listen on, 0 for any free port \
                [default: from nova.conf, else the API's port]"
    )]
    pub port: Option<String>,

    /// `[DEFAULT] <api>_workers`.
    #[arg(
        long,
        value_name = "N",
        help = "Number of worker processes [default: from nova.conf, else one per CPU]"
    )]
    pub workers: Option<String>,

    /// `[wsgi] api_paste_config`.
    #[arg(
        long = "api-paste-config",
        value_name = "PATH",
        help = "The paste.deploy file [default: from nova.conf, else api-paste.ini]"
    )]
    pub api_paste_config: Option<String>,

    /// `[DEFAULT] debug = true`.
    #[arg(long, help = "Log at DEBUG level [default: from nova.conf, else off]")]
    pub debug: bool,
}

/// Parses the process's arguments into a binary's parser `T` (which
/// flattens [`ServiceArgs`]), with `--help` naming `api`'s own default port.
pub fn parse<T: clap::Parser>(api: &str) -> T {
    let command = ServiceArgs::with_api_defaults(T::command(), api);
    let matches = command.get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

impl ServiceArgs {
    /// Rewrites `--help` of `cmd` (a parser that flattens [`ServiceArgs`])
    /// with the fallback port of `api`, e.g. "[default: from nova.conf,
    /// else 8774]".
    pub fn with_api_defaults(cmd: clap::Command, api: &str) -> clap::Command {
        let option = format!("{api}_listen_port");
        match builtin_default("DEFAULT", &option) {
            Some(port) => cmd.mut_arg("port", |arg| {
                arg.help(format!(
                    "Port to listen on, 0 for any free port [default: from nova.conf, else {port}]"
                ))
            }),
            None => cmd,
        }
    }

    /// The configuration sources these flags select for `api`
    /// (`osapi_compute`, `ec2` or `metadata`): the named files and
    /// directories (or oslo.config's default search when there are none,
    /// with `HOME` from `env`), the environment, and the flags themselves
    /// as the top-priority overrides.
    pub fn sources(&self, api: &str, env: Vec<(String, String)>) -> ConfigSources {
        let mut sources = self.config.sources(env);
        let (listen, port, workers) = (
            format!("{api}_listen"),
            format!("{api}_listen_port"),
            format!("{api}_workers"),
        );
        sources.push_flag("DEFAULT", &listen, self.listen.as_deref(), "--listen");
        sources.push_flag("DEFAULT", &port, self.port.as_deref(), "--port");
        sources.push_flag("DEFAULT", &workers, self.workers.as_deref(), "--workers");
        sources.push_flag(
            "wsgi",
            "api_paste_config",
            self.api_paste_config.as_deref(),
            "--api-paste-config",
        );
        sources.push_flag("DEFAULT", "debug", self.debug.then_some("true"), "--debug");
        sources
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// A binary's parser, as `main` would declare it.
    #[derive(Debug, Parser)]
    #[command(name = "osapi-compute")]
    struct Cli {
        #[command(flatten)]
        service: ServiceArgs,
    }

    #[test]
    fn flags_parse_repeated_files_and_dirs_in_order() {
        let cli = Cli::try_parse_from([
            "osapi-compute",
            "--config-file",
            "a.conf",
            "--config-file",
            "b.conf",
            "--config-dir",
            "d",
            "--port",
            "0",
            "--debug",
        ])
        .map_err(|e| e.to_string());
        let args = cli.map(|c| c.service);
        assert_eq!(
            args,
            Ok(ServiceArgs {
                config: ConfigArgs {
                    config_file: vec!["a.conf".into(), "b.conf".into()],
                    config_dir: vec!["d".into()],
                },
                port: Some("0".into()),
                debug: true,
                ..ServiceArgs::default()
            })
        );
    }

    #[test]
    fn flags_become_overrides_of_the_given_api() {
        let args = ServiceArgs {
            config: ConfigArgs {
                config_file: vec!["n.conf".into()],
                ..ConfigArgs::default()
            },
            listen: Some("::1".into()),
            port: Some("9000".into()),
            workers: Some("3".into()),
            api_paste_config: Some("p.ini".into()),
            debug: true,
        };
        let s = args.sources("ec2", vec![("OS_DEFAULT__DEBUG".into(), "false".into())]);
        assert_eq!(s.files, vec![PathBuf::from("n.conf")]);
        assert!(s.dirs.is_empty());
        assert_eq!(
            s.env,
            vec![("OS_DEFAULT__DEBUG".to_owned(), "false".to_owned())]
        );
        let got: Vec<(&str, &str, &str, &str)> = s
            .overrides
            .iter()
            .map(|o| {
                (
                    o.group.as_str(),
                    o.option.as_str(),
                    o.value.as_str(),
                    o.flag.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("DEFAULT", "ec2_listen", "::1", "--listen"),
                ("DEFAULT", "ec2_listen_port", "9000", "--port"),
                ("DEFAULT", "ec2_workers", "3", "--workers"),
                ("wsgi", "api_paste_config", "p.ini", "--api-paste-config"),
                ("DEFAULT", "debug", "true", "--debug"),
            ]
        );
    }

    #[test]
    fn help_lists_every_flag_with_the_binary_default_port() {
        let mut cmd = ServiceArgs::with_api_defaults(Cli::command(), "metadata");
        let help = cmd.render_help().to_string();
        for flag in [
            "--config-file <PATH>",
            "--config-dir <DIR>",
            "--listen <ADDR>",
            "--port <PORT>",
            "--workers <N>",
            "--api-paste-config <PATH>",
            "--debug",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        assert!(
            help.contains("[default: from nova.conf, else 8775]"),
            "{help}"
        );
        assert!(
            help.contains("[default: from nova.conf, else api-paste.ini]"),
            "{help}"
        );
    }
}
