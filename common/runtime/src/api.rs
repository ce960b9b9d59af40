//! The start-up sequence every binary shares, nova-api's for one API
//! (nova-behaviour §1.1): parse flags and nova.conf (every option group of
//! every crate the binary links, typed and checked), build the binary's
//! settings from them, set up logging, load and check the API's app from
//! api-paste.ini, bind its socket (reading back port 0), run the one-off
//! preparation (migrations) in a short-lived child, then launch
//! `<api>_workers` workers, or serve in-process for one. All of that
//! parsing happens here, in the parent: workers inherit the typed result.
//!
//! A binary describes itself with an [`ApiBinary`] and calls [`main`].

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, LocalBoxFuture};

use crate::access_log::LogFormat;
use crate::cli::ServiceArgs;
use crate::exit::{EXIT_FAILURE, EXIT_OK};
use crate::introspection::report::{self, ProcessStatus, ReportInput};
use crate::introspection::{stats, unix_now, Backdoor};
use crate::launcher::worker::{ReportFn, WorkerExtras};
use crate::launcher::{self, ProcessLauncher, Ready, Service};
use crate::server::{ServerOptions, Serving};
use crate::{debugapp, listener, logging, tls};
use nova_conf::{ConfigSources, GroupDecl, NovaConf, Schema};
use nova_middleware::healthcheck::{self, HealthcheckConfig};
use nova_middleware::metrics::{self, recorder, store};
use nova_paste::http::{self, HttpService};
use nova_paste::{self as paste, AppSpec, Registry};

/// eventlet's default request-line limit (nova's osapi_compute and
/// metadata; the EC2 API sets its own).
pub const DEFAULT_MAX_URL_LEN: usize = 8192;

/// Builds one worker's resources from the binary's settings.
pub type WorkerInit<S> = fn(Arc<S>) -> BoxFuture<'static, anyhow::Result<::http::Extensions>>;

/// One-off work before the workers start, from the binary's settings.
pub type Prepare<S> = fn(Arc<S>) -> LocalBoxFuture<'static, anyhow::Result<()>>;

/// What a binary tells the runtime about itself. `S` is the binary's
/// settings: everything its workers need from the configuration, typed,
/// built once in the parent by [`ApiBinary::settings`].
pub struct ApiBinary<S> {
    /// nova's name of the API: the paste app to load and the option prefix
    /// (`osapi_compute`, `ec2`, `metadata`).
    pub name: &'static str,
    /// The program name, for messages.
    pub prog: &'static str,
    /// Request lines this long or longer are answered 414.
    pub max_url_len: usize,
    /// Registers the API's paste factories under nova's dotted names.
    pub register: fn(&mut Registry),
    /// The option groups of the crates the binary links, each crate's as
    /// the slice it exports: loaded and checked with nova-conf's own.
    pub groups: &'static [&'static [GroupDecl]],
    /// Builds the settings from the loaded configuration. It runs in the
    /// parent before it binds or forks, and again on every reload before
    /// any worker is replaced, so that a bad value (or a bad combination)
    /// stops the start (exit 1) or the reload (the running workers keep
    /// serving) instead of killing workers.
    pub settings: fn(&NovaConf) -> anyhow::Result<S>,
    /// Builds one worker's resources (its store handle, caches) from the
    /// settings; they reach the paste factories through
    /// `FactoryContext::resources`.
    pub init: WorkerInit<S>,
    /// One-off work before the workers start (applying migrations to the
    /// embedded database, say); it runs in a short-lived child process so
    /// the parent stays free of threads and runtimes.
    pub prepare: Option<Prepare<S>>,
}

impl<S> Clone for ApiBinary<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for ApiBinary<S> {}

/// The factory registry every binary starts from: paste's built-in
/// composites (urlmaps, nova's auth-strategy pipeline selectors) for
/// `auth_strategy`, the generic middleware's filters and the debug app.
/// The binary adds its own factories to it.
pub fn builtin_registry(auth_strategy: &str) -> Registry {
    let mut registry = Registry::with_builtins(auth_strategy);
    nova_middleware::register(&mut registry);
    debugapp::register(&mut registry);
    registry
}

/// Runs the binary and returns its exit code.
pub fn main<S: Send + Sync + 'static>(binary: ApiBinary<S>, args: &ServiceArgs) -> i32 {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let sources = args.sources(binary.name, env);
    let loaded = match Loaded::load(&binary, &sources) {
        Ok(loaded) => loaded,
        Err(err) => {
            logging::early_error(binary.prog, &format!("{err:#}"));
            return EXIT_FAILURE;
        }
    };
    let conf = &loaded.conf;
    if let Err(err) = logging::init(
        conf.default.debug,
        conf.log_path().as_deref(),
        conf.default.use_json,
    ) {
        logging::early_error(binary.prog, &format!("{err:#}"));
        return EXIT_FAILURE;
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        "{} pipeline, outermost first:\n{}",
        binary.name,
        loaded.app.outline()
    );
    let listen = conf.api_listener(binary.name);
    let (socket, local) = match listener::bind(&listen.listen, listen.port, conf.wsgi.tcp_keepidle)
    {
        Ok(bound) => bound,
        Err(err) => {
            tracing::error!("{err}");
            return EXIT_FAILURE;
        }
    };
    tracing::info!(
        "{} listening on {}:{}",
        binary.name,
        listen.listen,
        local.port()
    );
    if let Some(prepare) = binary.prepare {
        let settings = loaded.settings.clone();
        let code = launcher::process::run_in_child(move || run_blocking(prepare(settings)));
        // The child logs why it failed, once, and exits EXIT_FAILURE; any
        // other code means it died without saying why (a signal, a panic).
        if code != EXIT_OK {
            if code != EXIT_FAILURE {
                tracing::error!("{} failed to prepare its store (exit {code})", binary.name);
            }
            return EXIT_FAILURE;
        }
    }
    if let Some(dir) = &loaded.stats_dir {
        if let Err(err) = store::reset(dir) {
            tracing::error!(
                "cannot prepare the metrics directory {} (under [DEFAULT] state_path): {err}",
                dir.display()
            );
            return EXIT_FAILURE;
        }
    }
    let backdoor = match Backdoor::open(&conf.default) {
        Ok(backdoor) => backdoor,
        Err(err) => {
            tracing::error!("{err}");
            return EXIT_FAILURE;
        }
    };
    if let Some(backdoor) = &backdoor {
        tracing::info!(
            "{} introspection report on {}",
            binary.name,
            backdoor.describe()
        );
    }
    let workers = listen.workers;
    let service = ApiService {
        binary,
        sources,
        loaded,
        previous: None,
        backdoor: Mutex::new(None),
    };
    if workers <= 1 {
        *service.backdoor.lock().unwrap_or_else(|e| e.into_inner()) = backdoor;
        launcher::run_in_process(&service, socket)
    } else {
        match ProcessLauncher::new(service, socket) {
            Ok(launcher) => launcher.with_backdoor(backdoor).run(),
            Err(err) => {
                tracing::error!("cannot start the process launcher: {err:#}");
                EXIT_FAILURE
            }
        }
    }
}

/// Runs a future to completion on a throwaway current-thread runtime and
/// maps the outcome to an exit code: EXIT_FAILURE only once the failure
/// is logged.
fn run_blocking(work: LocalBoxFuture<'static, anyhow::Result<()>>) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot build a runtime: {err}");
            return EXIT_FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => EXIT_OK,
        Err(err) => {
            tracing::error!("{err:#}");
            EXIT_FAILURE
        }
    }
}

/// Everything read from nova.conf and api-paste.ini for one API: checked in
/// the parent before any fork, inherited by every worker.
struct Loaded<S> {
    conf: Arc<NovaConf>,
    settings: Arc<S>,
    warnings: Vec<String>,
    registry: Arc<Registry>,
    app: AppSpec,
    options: Arc<ServerOptions>,
    /// Where workers write their stats: set when the pipeline holds the
    /// metrics filter or the introspection report is configured.
    stats_dir: Option<PathBuf>,
    /// Whether the introspection report is configured.
    introspection: bool,
}

impl<S> Clone for Loaded<S> {
    fn clone(&self) -> Self {
        Self {
            conf: self.conf.clone(),
            settings: self.settings.clone(),
            warnings: self.warnings.clone(),
            registry: self.registry.clone(),
            app: self.app.clone(),
            options: self.options.clone(),
            stats_dir: self.stats_dir.clone(),
            introspection: self.introspection,
        }
    }
}

impl<S> Loaded<S> {
    fn load(binary: &ApiBinary<S>, sources: &ConfigSources) -> anyhow::Result<Self> {
        let (conf, warnings) = NovaConf::load(sources, &Schema::new(binary.groups))?;
        let settings = Arc::new((binary.settings)(&conf)?);
        let conf = Arc::new(conf);
        let paste_file =
            paste::find_paste_config(&conf.wsgi.api_paste_config, &conf.search_dirs())?;
        let mut registry = builtin_registry(&conf.api.auth_strategy);
        (binary.register)(&mut registry);
        let app = paste::load(
            &paste_file,
            binary.name,
            &paste_globals(&conf, binary.name),
            &registry,
        )?;
        app.check_options(&registry)?;
        let introspection =
            conf.default.backdoor_port.is_some() || conf.default.backdoor_socket.is_some();
        let counts = app
            .filter_nodes()
            .iter()
            .any(|node| metrics::is_metrics_factory(&node.factory));
        let stats_dir = (counts || introspection)
            .then(|| store::dir_for(&conf.default.state_path, binary.name));
        let mut warnings = warnings;
        warnings.extend(nova_middleware::profiler::load_warnings(&app));
        let tls = if conf
            .default
            .enabled_ssl_apis
            .iter()
            .any(|a| a == binary.name)
        {
            Some(tls::server_config(
                conf.wsgi.ssl_cert_file.as_deref(),
                conf.wsgi.ssl_key_file.as_deref(),
                conf.wsgi.ssl_ca_file.as_deref(),
            )?)
        } else {
            None
        };
        let options = ServerOptions {
            name: binary.name.to_owned(),
            max_url_len: binary.max_url_len,
            max_header_line: conf.wsgi.max_header_line,
            client_socket_timeout: seconds(conf.wsgi.client_socket_timeout),
            keep_alive: conf.wsgi.keep_alive,
            pool_size: conf.wsgi.default_pool_size,
            log_format: LogFormat::parse(&conf.wsgi.wsgi_log_format),
            tls,
            graceful_shutdown_timeout: seconds(conf.default.graceful_shutdown_timeout),
        };
        Ok(Self {
            conf,
            settings,
            warnings,
            registry: Arc::new(registry),
            app,
            options: Arc::new(options),
            stats_dir,
            introspection,
        })
    }

    /// Builds what a worker serves: the binary's resources, then the app.
    async fn build(&self, binary: &ApiBinary<S>) -> anyhow::Result<Serving> {
        let resources = (binary.init)(self.settings.clone()).await?;
        let app = self.app.build(&self.registry, &resources)?;
        if let Some(dir) = &self.stats_dir {
            stats::start_writer(dir.clone());
        }
        Ok(Serving {
            app: with_healthcheck(app),
            options: self.options.clone(),
        })
    }
}

/// Answers `GET`/`HEAD /healthcheck` in front of the paste app, whatever
/// the paste file says: load balancers, container engines and systemd
/// units need one health URL on every service (oslo.middleware's answer).
fn with_healthcheck(app: HttpService) -> HttpService {
    let check = HealthcheckConfig::default();
    HttpService::new(move |req: http::Request| {
        let probe = req.uri().path() == healthcheck::DEFAULT_PATH
            && matches!(*req.method(), ::http::Method::GET | ::http::Method::HEAD);
        if probe {
            http::HttpFuture::ready(check.respond(&req))
        } else {
            app.serve(req)
        }
    })
}

/// nova.conf values the generic paste filters read from their global conf;
/// `[keystone_authtoken]` options as `keystone_authtoken.<name>` (the
/// auth_token filter reads them after its paste section's own).
fn paste_globals(conf: &NovaConf, api: &str) -> BTreeMap<String, String> {
    let mut globals = BTreeMap::new();
    globals.insert(
        metrics::DIR_KEY.to_owned(),
        store::dir_for(&conf.default.state_path, api)
            .to_string_lossy()
            .into_owned(),
    );
    for name in nova_middleware::authtoken::config::OPTIONS {
        if let Ok(Some(value)) = conf.get_str("keystone_authtoken", name) {
            globals.insert(format!("keystone_authtoken.{name}"), value);
        }
    }
    globals.extend([
        ("auth_strategy".into(), conf.api.auth_strategy.clone()),
        (
            "max_request_body_size".into(),
            conf.oslo_middleware.max_request_body_size.to_string(),
        ),
        (
            "enable_proxy_headers_parsing".into(),
            conf.oslo_middleware
                .enable_proxy_headers_parsing
                .to_string(),
        ),
    ]);
    globals
}

/// oslo's convention: 0 seconds means "no limit".
fn seconds(value: u64) -> Option<Duration> {
    (value > 0).then(|| Duration::from_secs(value))
}

/// The launcher's view of one API.
struct ApiService<S> {
    binary: ApiBinary<S>,
    sources: ConfigSources,
    loaded: Loaded<S>,
    /// The configuration before the last reload, until its workers started.
    previous: Option<Loaded<S>>,
    /// The introspection report's port or socket, when this process is
    /// the whole service (one worker); the parent's launcher holds it
    /// otherwise.
    backdoor: Mutex<Option<Backdoor>>,
}

impl<S> ApiService<S> {
    /// The report as a worker sees itself: `parent` is its supervisor,
    /// if any; `conf` the configuration it serves with now.
    fn worker_report(
        name: &'static str,
        conf: &Mutex<Arc<NovaConf>>,
        parent: Option<u32>,
        started: u64,
    ) -> String {
        let conf = conf.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let own = recorder::global().snapshot();
        report::render(&ReportInput {
            api: name,
            conf: &conf,
            parent: parent.map(|pid| ProcessStatus {
                pid,
                started: None,
                connections_open: None,
                pool_size: None,
            }),
            workers: vec![ProcessStatus {
                pid: std::process::id(),
                started: Some(started),
                connections_open: Some(own.connections_open),
                pool_size: Some(own.pool_size),
            }],
            now: unix_now(),
        })
    }
}

impl<S: Send + Sync + 'static> Service for ApiService<S> {
    fn name(&self) -> &str {
        self.binary.name
    }

    fn workers(&self) -> usize {
        self.loaded.conf.api_listener(self.binary.name).workers
    }

    fn graceful_shutdown_timeout(&self) -> Option<Duration> {
        self.loaded.options.graceful_shutdown_timeout
    }

    fn reload(&mut self) -> anyhow::Result<()> {
        let fresh = Loaded::load(&self.binary, &self.sources)?;
        for change in self.loaded.conf.diff(&fresh.conf) {
            tracing::info!("{change}");
        }
        self.previous = Some(std::mem::replace(&mut self.loaded, fresh));
        Ok(())
    }

    fn restore_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            self.loaded = previous;
        }
    }

    fn run_worker(&self, listener: TcpListener, ready: Ready) -> i32 {
        let binary = self.binary;
        let sources = self.sources.clone();
        let first = self.loaded.clone();
        // The configuration the report shows follows the worker's reloads.
        let current = Arc::new(Mutex::new(first.conf.clone()));
        let parent =
            matches!(ready, Ready::Pipe(_)).then(|| nix::unistd::getppid().as_raw() as u32);
        let started = unix_now();
        let report: Option<ReportFn> = first.introspection.then(|| {
            let current = current.clone();
            Arc::new(move || Self::worker_report(binary.name, &current, parent, started))
                as ReportFn
        });
        let extras = WorkerExtras {
            report,
            backdoor: self
                .backdoor
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        };
        launcher::worker::serve_worker(
            listener,
            ready,
            extras,
            || async move { first.build(&binary).await },
            move || {
                let sources = sources.clone();
                let current = current.clone();
                async move {
                    let fresh = Loaded::load(&binary, &sources)?;
                    let serving = fresh.build(&binary).await?;
                    *current.lock().unwrap_or_else(|e| e.into_inner()) = fresh.conf.clone();
                    Ok(serving)
                }
            },
        )
    }

    fn stats_dir(&self) -> Option<PathBuf> {
        self.loaded.stats_dir.clone()
    }

    fn report(&self, parent: Option<ProcessStatus>, workers: Vec<ProcessStatus>) -> Option<String> {
        self.loaded.introspection.then(|| {
            report::render(&ReportInput {
                api: self.binary.name,
                conf: &self.loaded.conf,
                parent,
                workers,
                now: unix_now(),
            })
        })
    }
}
