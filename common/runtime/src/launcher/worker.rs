//! A worker's life: its own current-thread tokio runtime (built after fork,
//! so the parent never has one), the app built from the paste pipeline,
//! signals (SIGTERM drain, SIGINT fast exit, SIGHUP in-place reload), and
//! the readiness report to the parent or to systemd.

use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::{notify, Service};
use crate::exit::{EXIT_FAILURE, EXIT_OK, EXIT_UNHANDLED};
use crate::introspection::Backdoor;
use crate::server::{serve, Drain, Serving};

/// How a worker tells that it serves.
pub enum Ready {
    /// Write one byte to the parent's readiness pipe.
    Pipe(OwnedFd),
    /// Send `READY=1` to systemd (the in-process launcher).
    Systemd,
    /// Nobody is waiting.
    Nobody,
}

impl Ready {
    /// Readiness through the parent's pipe.
    pub fn pipe(fd: OwnedFd) -> Self {
        Self::Pipe(fd)
    }

    fn report(self) {
        match self {
            Self::Pipe(fd) => {
                let mut file = std::fs::File::from(fd);
                let _ = file.write_all(b"1");
            }
            Self::Systemd => notify::notify("READY=1"),
            Self::Nobody => {}
        }
    }
}

/// The introspection report of a worker, rendered on demand.
pub type ReportFn = Arc<dyn Fn() -> String + Send + Sync>;

/// What a worker serves besides its app.
#[derive(Default)]
pub struct WorkerExtras {
    /// The introspection report: written to the log on SIGUSR2. `None`
    /// (not configured) leaves SIGUSR2 its default action.
    pub report: Option<ReportFn>,
    /// The report's port or socket, served by this worker: only when it
    /// is the whole service (one worker, no parent).
    pub backdoor: Option<Backdoor>,
}

/// Serves in this process: the `ServiceLauncher` for one worker.
pub fn run_in_process<S: Service>(service: &S, listener: TcpListener) -> i32 {
    super::signals::restore_defaults();
    service.run_worker(listener, Ready::Systemd)
}

/// Runs one worker to completion and returns its exit code. `build` makes
/// the first [`Serving`]; `reload` makes a new one on SIGHUP (an error keeps
/// the running one).
pub fn serve_worker<B, BF, R, RF>(
    listener: TcpListener,
    ready: Ready,
    extras: WorkerExtras,
    build: B,
    reload: R,
) -> i32
where
    B: FnOnce() -> BF,
    BF: Future<Output = anyhow::Result<Serving>>,
    R: Fn() -> RF,
    RF: Future<Output = anyhow::Result<Serving>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(crate::logging::flush_this_thread)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot build the worker runtime: {err}");
            return EXIT_UNHANDLED;
        }
    };
    // The access log writes a line per request: this thread batches its
    // lines and writes them whenever the runtime is about to sleep.
    crate::logging::batch_this_thread();
    let code = runtime.block_on(async move {
        let serving = match build().await {
            Ok(serving) => serving,
            Err(err) => {
                tracing::error!("worker failed to start: {err:#}");
                return EXIT_UNHANDLED;
            }
        };
        let listener = match listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
        {
            Ok(listener) => listener,
            Err(err) => {
                tracing::error!("cannot use the inherited socket: {err}");
                return EXIT_UNHANDLED;
            }
        };
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install the worker's signal handlers");
            return EXIT_UNHANDLED;
        };
        // SIGUSR2 is taken only when the report is configured.
        let mut usr2 = match &extras.report {
            Some(_) => match signal(SignalKind::user_defined2()) {
                Ok(usr2) => Some(usr2),
                Err(err) => {
                    tracing::error!("cannot install the worker's SIGUSR2 handler: {err}");
                    return EXIT_UNHANDLED;
                }
            },
            None => None,
        };
        let report = extras.report;
        if let (Some(backdoor), Some(report)) = (extras.backdoor, report.clone()) {
            backdoor.spawn(move || report());
        }
        let (publish, current) = watch::channel(serving);
        // In process, this worker is the service systemd watches: it says
        // when it reloads and stops, as the parent does for its workers.
        let systemd = matches!(ready, Ready::Systemd);
        let to_systemd = move |state: &str| {
            if systemd {
                notify::notify(state);
            }
        };
        ready.report();
        let stop = async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {
                        to_systemd("STOPPING=1");
                        break;
                    }
                    _ = int.recv() => {
                        tracing::info!("Caught SIGINT signal, instantaneous exiting");
                        crate::logging::flush_this_thread();
                        std::process::exit(EXIT_FAILURE);
                    }
                    Some(()) = async {
                        match usr2.as_mut() {
                            Some(usr2) => usr2.recv().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        if let Some(report) = &report {
                            crate::logging::write_report(&report());
                        }
                    }
                    _ = hup.recv() => {
                        to_systemd("RELOADING=1");
                        match reload().await {
                            Ok(serving) => {
                                tracing::info!("configuration reloaded");
                                let _ = publish.send(serving);
                            }
                            Err(err) => tracing::error!("reload failed, keeping the running configuration: {err:#}"),
                        }
                        to_systemd("READY=1");
                    }
                }
            }
        };
        match serve(listener, current, stop).await {
            Drain::Complete => EXIT_OK,
            Drain::TimedOut => {
                tracing::error!("Graceful shutdown timeout exceeded, open requests were cut");
                EXIT_FAILURE
            }
        }
    });
    crate::introspection::stats::write_now();
    crate::logging::flush_this_thread();
    code
}
