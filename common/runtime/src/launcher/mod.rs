//! Launching a service as oslo.service does (nova-behaviour §1.5):
//! [`process::ProcessLauncher`] forks `workers` children that serve one
//! inherited socket while the parent supervises them, and
//! [`run_in_process`] serves in this process (the `ServiceLauncher`, used
//! when one worker is asked for).

pub mod notify;
pub mod process;
pub mod signals;
pub mod worker;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use crate::introspection::report::ProcessStatus;

pub use process::ProcessLauncher;
pub use worker::{run_in_process, Ready};

/// What a launcher runs: implemented by the API glue in [`crate::api`].
pub trait Service: Send + Sync {
    /// The API's name, for log lines.
    fn name(&self) -> &str;
    /// Workers wanted now (re-read after a reload).
    fn workers(&self) -> usize;
    /// The drain limit for SIGTERM; `None` waits for every request.
    fn graceful_shutdown_timeout(&self) -> Option<Duration>;
    /// Re-reads nova.conf and api-paste.ini (SIGHUP). On error the running
    /// configuration stays in force.
    fn reload(&mut self) -> anyhow::Result<()>;
    /// Returns to the configuration in force before the last successful
    /// [`Service::reload`]: a worker forked with the new one failed to
    /// start, so the running workers (and their replacements) keep the old.
    fn restore_previous(&mut self);
    /// Serves in the calling process until told to stop, and returns the
    /// exit code. Called in a freshly forked worker, or in-process. The
    /// worker owns its copy of the socket: it closes it when its drain
    /// begins, so that the socket goes away with the last worker.
    fn run_worker(&self, listener: TcpListener, ready: Ready) -> i32;
    /// Where the workers write their stats files (metrics filter or
    /// introspection on); `None` when they write none.
    fn stats_dir(&self) -> Option<PathBuf> {
        None
    }
    /// The introspection report of these processes; `None` when it is
    /// not configured.
    fn report(
        &self,
        _parent: Option<ProcessStatus>,
        _workers: Vec<ProcessStatus>,
    ) -> Option<String> {
        None
    }
}
