//! Logging set-up: oslo.log's line shape (`<time> <pid> <LEVEL> <logger>
//! <message>`), to stderr or `log_file`, at DEBUG when `debug` is set.
//!
//! The writer is a plain file or stderr behind a mutex: no background thread,
//! because the parent process must have no thread when it forks its workers.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use chrono::{Datelike, Timelike};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The pid printed on each line: read once per process, because getpid is
/// a system call and the access log writes a line per request. Workers are
/// forked after the subscriber is installed, so each child calls
/// [`after_fork`] first thing.
static PID: AtomicU32 = AtomicU32::new(0);

fn pid() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// Called in a freshly forked child: later lines carry its own pid.
pub fn after_fork() {
    PID.store(std::process::id(), Ordering::Relaxed);
}

/// Formats an event as oslo.log does by default.
struct OsloFormat;

impl<S, N> FormatEvent<S, N> for OsloFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // Written field by field: a strftime pattern would be parsed again
        // for every line.
        let now = chrono::Local::now();
        write!(
            writer,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {} {} ",
            now.year(),
            now.month(),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.timestamp_subsec_millis().min(999),
            pid(),
            meta.level()
        )?;
        for (i, part) in meta.target().split("::").enumerate() {
            if i > 0 {
                writer.write_char('.')?;
            }
            writer.write_str(part)?;
        }
        writer.write_char(' ')?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Installs the global subscriber. `log_file` (with `log_dir` already
/// joined by the caller) wins over stderr; `RUST_LOG` overrides the level.
pub fn init(debug: bool, log_file: Option<&Path>) -> anyhow::Result<()> {
    let level = if debug { "debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},sqlx=warn,hyper=warn,reqwest=warn,rustls=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .event_format(OsloFormat);
    let result = match log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open log_file {}: {e}", path.display()))?;
            builder.with_writer(Mutex::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // A second init (tests that run several services in one process) keeps
    // the first subscriber; that is not an error worth failing for.
    drop(result);
    Ok(())
}

/// Writes a start-up error before logging exists: one line on stderr.
pub fn early_error(prog: &str, message: &dyn fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{prog}: error: {message}");
}
