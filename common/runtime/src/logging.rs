//! Logging set-up: oslo.log's line shape (`<time> <pid> <LEVEL> <logger>
//! <message>`), or one JSON object per line with `use_json` (oslo.log's
//! `JSONFormatter` keys: `asctime`, `process`, `levelname`, `name`,
//! `message`, and the event's other fields under `extra`), to stderr or
//! `log_file`, at DEBUG when `debug` is set.
//!
//! The writer is a plain file or stderr behind a mutex: no background thread,
//! because the parent process must have no thread when it forks its workers.
//!
//! A worker's runtime thread batches its lines (see [`batch_this_thread`]):
//! they wait in a buffer until the runtime runs out of work and is about to
//! sleep, or the buffer holds [`BATCH_BYTES`]. An idle worker's lines are
//! thus written at once, and a busy worker writes one system call per
//! [`BATCH_BYTES`] instead of one per request; a worker killed with
//! SIGKILL loses at most that many bytes of log.

use std::cell::RefCell;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

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

/// How many bytes of lines a batching thread keeps before writing them.
pub const BATCH_BYTES: usize = 8192;

/// Where lines go.
enum Sink {
    Stderr,
    File(Mutex<File>),
}

impl Sink {
    fn write(&self, bytes: &[u8]) {
        // A log line that cannot be written has nowhere to be reported.
        let _ = match self {
            Sink::Stderr => std::io::stderr().write_all(bytes),
            Sink::File(file) => file
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .write_all(bytes),
        };
    }
}

/// The sink of the installed subscriber (the first [`init`] wins).
static SINK: OnceLock<Sink> = OnceLock::new();

thread_local! {
    /// The lines a batching thread has not written yet; `None` on threads
    /// that write each line at once.
    static PENDING: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// From now on, lines logged on this thread wait for [`flush_this_thread`]
/// or a full batch. For a runtime thread that flushes before it parks.
pub fn batch_this_thread() {
    PENDING.with(|pending| {
        pending
            .borrow_mut()
            .get_or_insert_with(|| Vec::with_capacity(BATCH_BYTES));
    });
}

/// Writes the lines this thread has batched.
pub fn flush_this_thread() {
    let _ = PENDING.try_with(|pending| {
        if let Some(lines) = pending.borrow_mut().as_mut() {
            if !lines.is_empty() {
                if let Some(sink) = SINK.get() {
                    sink.write(lines);
                }
                lines.clear();
            }
        }
    });
}

/// The subscriber's writer: into this thread's batch, or straight out.
struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let batched = PENDING.try_with(|pending| {
            pending.borrow_mut().as_mut().map(|lines| {
                lines.extend_from_slice(buf);
                lines.len() >= BATCH_BYTES
            })
        });
        match batched {
            Ok(Some(true)) => flush_this_thread(),
            Ok(Some(false)) => {}
            Ok(None) | Err(_) => {
                if let Some(sink) = SINK.get() {
                    sink.write(buf);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Python's name of a level, which oslo.log prints (`WARNING`, not `WARN`).
fn level_name(level: tracing::Level) -> &'static str {
    if level == tracing::Level::WARN {
        "WARNING"
    } else {
        level.as_str()
    }
}

/// The start of every line, up to the logger name: `<date> <time>.<ms>
/// <pid> <LEVEL> `. The date and time are formatted once per second per
/// thread, not once per line.
fn write_prefix(out: &mut impl fmt::Write, level: tracing::Level) -> fmt::Result {
    thread_local! {
        /// (Unix second, `YYYY-MM-DD HH:MM:SS` of it in local time).
        static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let second = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            let local = chrono::DateTime::from_timestamp(second, 0)
                .map(|utc| utc.with_timezone(&chrono::Local))
                .unwrap_or_else(chrono::Local::now);
            cached.1.clear();
            let _ = fmt::Write::write_fmt(
                &mut cached.1,
                format_args!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    local.year(),
                    local.month(),
                    local.day(),
                    local.hour(),
                    local.minute(),
                    local.second()
                ),
            );
            cached.0 = second;
        }
        // Pieces written as they are: `write!` costs several times more.
        let millis = now.subsec_millis();
        let millis = [
            b'.',
            b'0' + (millis / 100 % 10) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ];
        out.write_str(&cached.1)?;
        out.write_str(std::str::from_utf8(&millis).unwrap_or(".000"))?;
        out.write_char(' ')?;
        out.write_str(itoa::Buffer::new().format(pid()))?;
        out.write_char(' ')?;
        out.write_str(level_name(level))?;
        out.write_char(' ')
    })
}

/// Logs `message` at INFO under the `wsgi` logger, as
/// `tracing::info!(target: "wsgi", ...)` would, but formatted straight
/// into this thread's line buffer: the access log writes one line per
/// request and tracing's general-purpose formatting was a tenth of a
/// request's cost.
pub fn wsgi_info(message: impl FnOnce(&mut String)) {
    let on = match WSGI_INFO.load(Ordering::Relaxed) {
        WSGI_ON => true,
        WSGI_OFF => false,
        _ => tracing::enabled!(target: "wsgi", tracing::Level::INFO),
    };
    if !on {
        return;
    }
    thread_local! {
        static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        if JSON.load(Ordering::Relaxed) {
            message(&mut line);
            let json = json_line(tracing::Level::INFO, "wsgi", &line, serde_json::Map::new());
            let _ = LineWriter.write_all(json.as_bytes());
            return;
        }
        let _ = write_prefix(&mut *line, tracing::Level::INFO);
        line.push_str("wsgi ");
        message(&mut line);
        line.push('\n');
        let _ = LineWriter.write_all(line.as_bytes());
    });
}

/// Whether lines are JSON objects (`use_json`), as [`init`] set it.
static JSON: AtomicBool = AtomicBool::new(false);

/// One JSON log line (with its newline): oslo.log's `JSONFormatter` keys
/// for what we know of a line, the event's other fields under `extra`.
fn json_line(
    level: tracing::Level,
    logger: &str,
    message: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut asctime = String::new();
    let _ = write_prefix(&mut asctime, level);
    // The prefix is `<date> <time>.<ms> <pid> <LEVEL> `: its first two
    // words are oslo's asctime.
    let asctime: String = asctime.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" ");
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let line = serde_json::json!({
        "asctime": asctime,
        "created": created,
        "process": pid(),
        "levelname": level_name(level),
        "name": logger,
        "message": message,
        "extra": extra,
    });
    let mut text = line.to_string();
    text.push('\n');
    text
}

/// Collects an event's fields: `message` apart, the rest as JSON values.
#[derive(Default)]
struct JsonFields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.extra
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.extra.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.extra.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.extra.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.extra.insert(field.name().to_owned(), value.into());
    }
}

/// The logger name oslo would print for a tracing target (`a::b` is `a.b`).
fn logger_name(target: &str) -> String {
    target.replace("::", ".")
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
        if JSON.load(Ordering::Relaxed) {
            let mut fields = JsonFields::default();
            event.record(&mut fields);
            let line = json_line(
                *meta.level(),
                &logger_name(meta.target()),
                &fields.message,
                fields.extra,
            );
            return writer.write_str(&line);
        }
        write_prefix(&mut writer, *meta.level())?;
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
/// joined by the caller) wins over stderr; `RUST_LOG` overrides the level;
/// `json` writes JSON objects instead of oslo.log's text lines.
pub fn init(debug: bool, log_file: Option<&Path>, json: bool) -> anyhow::Result<()> {
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
    let sink = match log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open log_file {}: {e}", path.display()))?;
            Sink::File(Mutex::new(file))
        }
        None => Sink::Stderr,
    };
    JSON.store(json, Ordering::Relaxed);
    let result = match SINK.set(sink) {
        Ok(()) => builder.with_writer(|| LineWriter).try_init(),
        Err(_) => Ok(()),
    };
    // A second init (tests that run several services in one process) keeps
    // the first subscriber; that is not an error worth failing for.
    if result.is_ok() {
        // The filter never changes after this: the access log asks once.
        let on = tracing::enabled!(target: "wsgi", tracing::Level::INFO);
        WSGI_INFO.store(if on { WSGI_ON } else { WSGI_OFF }, Ordering::Relaxed);
    }
    Ok(())
}

/// Whether INFO lines of the `wsgi` logger are written, as [`init`] found
/// it; [`WSGI_UNKNOWN`] until then (and where [`init`] installed nothing,
/// as in tests), when each line asks tracing.
static WSGI_INFO: AtomicU8 = AtomicU8::new(WSGI_UNKNOWN);
const WSGI_UNKNOWN: u8 = 0;
const WSGI_ON: u8 = 1;
const WSGI_OFF: u8 = 2;

/// Writes a multi-line report (the introspection report on SIGUSR2) to
/// where the log goes, whole and unformatted, after this thread's batched
/// lines: oslo's Guru Meditation Report is printed the same way.
pub fn write_report(report: &str) {
    flush_this_thread();
    match SINK.get() {
        Some(sink) => sink.write(report.as_bytes()),
        None => {
            let _ = std::io::stderr().write_all(report.as_bytes());
        }
    }
}

/// Writes a start-up error before logging exists: one line on stderr.
pub fn early_error(prog: &str, message: &dyn fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{prog}: error: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> usize {
        PENDING.with(|p| p.borrow().as_ref().map_or(0, Vec::len))
    }

    #[test]
    fn a_batching_thread_keeps_lines_until_it_flushes() {
        std::thread::spawn(|| {
            batch_this_thread();
            LineWriter.write_all(b"one line\n").unwrap();
            LineWriter.write_all(b"another\n").unwrap();
            assert_eq!(pending(), 17);
            flush_this_thread();
            assert_eq!(pending(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_full_batch_is_written_without_waiting_for_a_flush() {
        std::thread::spawn(|| {
            batch_this_thread();
            let line = [b'x'; 100];
            for _ in 0..BATCH_BYTES / line.len() {
                LineWriter.write_all(&line).unwrap();
            }
            assert_eq!(pending(), BATCH_BYTES / 100 * 100);
            LineWriter.write_all(&line).unwrap();
            assert_eq!(pending(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn other_threads_do_not_batch() {
        std::thread::spawn(|| {
            LineWriter.write_all(b"straight out\n").unwrap();
            assert_eq!(pending(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_line_prefix_is_date_time_millis_pid_level() {
        let mut line = String::new();
        write_prefix(&mut line, tracing::Level::INFO).unwrap();
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 5, "{line:?}");
        assert_eq!(parts[0].len(), "2026-11-24".len());
        assert_eq!(parts[1].len(), "22:30:47.123".len());
        assert_eq!(parts[2], std::process::id().to_string());
        assert_eq!(parts[3], "INFO");
        assert_eq!(parts[4], "");
    }

    #[test]
    fn a_json_line_is_one_object_with_oslo_keys_and_the_extra_fields() {
        let mut extra = serde_json::Map::new();
        extra.insert("section".into(), "filter:metrics".into());
        let line = json_line(
            tracing::Level::WARN,
            "nova_runtime.api",
            "a \"quoted\"\nmessage",
            extra,
        );
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["levelname"], "WARNING");
        assert_eq!(value["name"], "nova_runtime.api");
        assert_eq!(value["message"], "a \"quoted\"\nmessage");
        assert_eq!(value["process"], std::process::id());
        assert_eq!(value["extra"]["section"], "filter:metrics");
        assert_eq!(
            value["asctime"].as_str().unwrap().len(),
            "2026-11-24 22:30:47.123".len()
        );
        assert!(value["created"].as_f64().unwrap() > 1.7e9);
    }

    #[test]
    fn levels_are_named_as_python_names_them() {
        let mut line = String::new();
        write_prefix(&mut line, tracing::Level::WARN).unwrap();
        assert_eq!(line.split(' ').nth(3), Some("WARNING"), "{line:?}");
        assert_eq!(level_name(tracing::Level::ERROR), "ERROR");
        assert_eq!(level_name(tracing::Level::DEBUG), "DEBUG");
    }
}
