//! The proxy's start-up, as the other binaries': flags and nova.conf
//! (this crate's groups and compute's, typed and checked), logging, the
//! socket bound (port 0 read back), then one process serving on a
//! current-thread runtime. SIGTERM stops accepting and ends the process
//! once open HTTP requests are answered (consoles are cut); SIGINT exits
//! at once with 1, as oslo.service's services do; SIGHUP reads nova.conf
//! again and puts `[DEFAULT] web` and `[console] allowed_origins` in
//! force (a bad file keeps the running settings; a new address or port
//! is only logged: it needs a restart).
//!
//! It does not go through the runtime's paste and pre-fork launcher: the
//! proxy is no WSGI app (nova's is websockify's server), and the
//! runtime's HTTP server does not hand connections over to WebSockets.

use nova_conf::{ConfigSources, NovaConf, Schema};
use nova_runtime::exit::{EXIT_FAILURE, EXIT_OK};
use nova_runtime::launcher::notify;
use nova_runtime::{listener, logging};
use tokio::signal::unix::{signal, SignalKind};

use crate::cli::Cli;
use crate::config::{ProxyConfig, OPTION_GROUPS};
use crate::proxy::{serve, Proxy};

/// The program name, for messages.
pub const PROG: &str = "novncproxy";

/// Runs the proxy and returns the process's exit code.
pub fn main(cli: &Cli) -> i32 {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let sources = cli.sources(env);
    let (conf, warnings) = match load(&sources) {
        Ok(loaded) => loaded,
        Err(err) => {
            logging::early_error(PROG, &err);
            return EXIT_FAILURE;
        }
    };
    if let Err(err) = logging::init(
        conf.default.debug,
        conf.log_path().as_deref(),
        conf.default.use_json,
    ) {
        logging::early_error(PROG, &format!("{err:#}"));
        return EXIT_FAILURE;
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    match run(&conf, sources) {
        Ok(()) => EXIT_OK,
        Err(err) => {
            tracing::error!("{err:#}");
            EXIT_FAILURE
        }
    }
}

/// nova.conf with this crate's groups and compute's.
fn load(sources: &ConfigSources) -> Result<(NovaConf, Vec<String>), nova_conf::ConfigError> {
    NovaConf::load(
        sources,
        &Schema::new(&[OPTION_GROUPS, compute::options::OPTION_GROUPS]),
    )
}

/// SIGHUP: the settings of nova.conf as it is now, for `proxy`.
fn reload(sources: &ConfigSources, proxy: &Proxy) {
    let fresh = match load(sources) {
        Ok((conf, _)) => ProxyConfig::from_conf(&conf),
        Err(err) => {
            tracing::error!("reload failed, keeping the running configuration: {err}");
            return;
        }
    };
    let running = proxy.config();
    if (&fresh.host, fresh.port) != (&running.host, running.port) {
        tracing::warn!(
            "[vnc] novncproxy_host/novncproxy_port changed to {}:{}: restart to listen there",
            fresh.host,
            fresh.port
        );
    }
    proxy.set_config(ProxyConfig {
        host: running.host.clone(),
        port: running.port,
        ..fresh
    });
    tracing::info!("configuration reloaded");
}

fn run(conf: &NovaConf, sources: ConfigSources) -> anyhow::Result<()> {
    let config = ProxyConfig::from_conf(conf);
    let settings = compute::open::Settings::from_conf(conf)?;
    let (socket, local) = listener::bind(&config.host, config.port, conf.wsgi.tcp_keepidle)?;
    tracing::info!("novncproxy listening on {}:{}", config.host, local.port());
    if !config.web.is_dir() {
        tracing::warn!(
            "[DEFAULT] web {} is not a directory: no noVNC client files will be served",
            config.web.display()
        );
    } else {
        tracing::info!("serving the noVNC client from {}", config.web.display());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let compute = compute::open::open(settings).await?;
        socket.set_nonblocking(true)?;
        let socket = tokio::net::TcpListener::from_std(socket)?;
        // Who sends them: systemd and `docker stop` SIGTERM, a terminal
        // SIGINT (Ctrl-C).
        // and the operator (or deploy/nova-api) SIGHUP.
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let proxy = Proxy::new(compute, config);
        let reloaded = proxy.clone();
        let stop = async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {
                        notify::notify("STOPPING=1");
                        tracing::info!("Caught SIGTERM, stopping");
                        break;
                    }
                    _ = int.recv() => {
                        tracing::info!("Caught SIGINT signal, instantaneous exiting");
                        std::process::exit(EXIT_FAILURE);
                    }
                    _ = hup.recv() => {
                        notify::notify("RELOADING=1");
                        reload(&sources, &reloaded);
                        notify::notify("READY=1");
                    }
                }
            }
        };
        notify::notify("READY=1");
        serve(socket, proxy, stop).await?;
        anyhow::Ok(())
    })
}
