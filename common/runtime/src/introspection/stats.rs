//! A worker's stats file: its request counters and connection gauges
//! ([`nova_middleware::metrics::recorder`]), written every
//! [`store::FLUSH_INTERVAL`] and when it stops, while the metrics filter or
//! the introspection report is on, so that a scrape in any worker and the
//! parent's report see every worker.

use std::path::PathBuf;
use std::sync::OnceLock;

use nova_middleware::metrics::{recorder, store};

/// This worker's stats directory, once its writer started.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Starts the periodic writer on the current runtime (once per process;
/// later calls, after a reload, do nothing).
pub fn start_writer(dir: PathBuf) {
    if DIR.set(dir.clone()).is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(store::FLUSH_INTERVAL);
        loop {
            tick.tick().await;
            write(&dir);
        }
    });
}

/// Writes the file now, if the writer runs (a stopping worker's last
/// counters).
pub fn write_now() {
    if let Some(dir) = DIR.get() {
        write(dir);
    }
}

fn write(dir: &std::path::Path) {
    let snapshot = recorder::global().snapshot();
    if let Err(err) = store::write_worker(dir, std::process::id(), &snapshot) {
        tracing::warn!(
            "cannot write the worker's stats in {}: {err}",
            dir.display()
        );
    }
}
