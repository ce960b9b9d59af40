//! The introspection report: what nova's operators read from the eventlet
//! backdoor and from oslo's Guru Meditation Report, as one read-only text:
//! version, the processes (parent and workers, pids, start times, uptime),
//! open connections against the pool, and the effective configuration with
//! its secrets masked. One renderer serves the backdoor port or socket and
//! SIGUSR2.

use std::fmt::Write;

use nova_conf::NovaConf;

/// One process of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStatus {
    /// Its pid.
    pub pid: u32,
    /// When it started, in seconds since the Unix epoch (`None`: unknown).
    pub started: Option<u64>,
    /// Its open client connections, when it reported them.
    pub connections_open: Option<u64>,
    /// Its connection pool size (`default_pool_size`), when reported.
    pub pool_size: Option<u64>,
}

/// Everything one report shows.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// nova's name of the API (`osapi_compute`, ...).
    pub api: &'a str,
    /// The configuration in force.
    pub conf: &'a NovaConf,
    /// The supervising parent; `None` when one process serves.
    pub parent: Option<ProcessStatus>,
    /// The workers (the serving process itself when there is no parent).
    pub workers: Vec<ProcessStatus>,
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
}

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn timestamp(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || unix.to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

fn process_line(out: &mut String, role: &str, p: &ProcessStatus, now: u64) {
    let _ = write!(out, "{role:<7} pid {:<8}", p.pid);
    if let Some(started) = p.started {
        let _ = write!(
            out,
            " started {}  uptime {}s",
            timestamp(started),
            now.saturating_sub(started)
        );
    }
    if let (Some(open), Some(pool)) = (p.connections_open, p.pool_size) {
        let _ = write!(out, "  connections {open} of {pool}");
    }
    out.push('\n');
}

/// Renders the report.
pub fn render(input: &ReportInput<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "==== nova-api-rs introspection report ====");
    let _ = writeln!(out, "api: {}", input.api);
    let _ = writeln!(out, "version: {VERSION}");
    let _ = writeln!(out, "generated: {}", timestamp(input.now));

    let _ = writeln!(out, "\n---- processes ----");
    if let Some(parent) = &input.parent {
        process_line(&mut out, "parent", parent, input.now);
    }
    for worker in &input.workers {
        process_line(&mut out, "worker", worker, input.now);
    }

    let _ = writeln!(out, "\n---- connections ----");
    let reported: Vec<&ProcessStatus> = input
        .workers
        .iter()
        .filter(|w| w.connections_open.is_some())
        .collect();
    let open: u64 = reported.iter().filter_map(|w| w.connections_open).sum();
    let pool: u64 = reported.iter().filter_map(|w| w.pool_size).sum();
    let _ = write!(
        out,
        "open {open}, pool {pool} over {} of {} workers",
        reported.len(),
        input.workers.len()
    );
    if pool > 0 {
        let _ = write!(out, " ({:.1}% in use)", open as f64 * 100.0 / pool as f64);
    }
    out.push('\n');

    let _ = writeln!(out, "\n---- configuration (secrets masked) ----");
    let mut group = None;
    for value in input.conf.effective_values() {
        if group.as_deref() != Some(value.group.as_str()) {
            let _ = writeln!(out, "[{}]", value.group);
            group = Some(value.group.clone());
        }
        let _ = write!(out, "  {} = {}", value.option, value.value);
        if let Some(source) = &value.source {
            let _ = write!(out, "    ({source})");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_conf::{ConfigSources, Schema};

    #[test]
    fn the_report_shows_processes_connections_and_configuration_without_secrets() {
        let sources = ConfigSources::from_options(&[
            ("DEFAULT", "osapi_compute_workers", "2"),
            (
                "database",
                "connection",
                "postgresql://nova:hunter2@db/nova",
            ),
            ("keystone_authtoken", "password", "hunter2"),
        ]);
        let conf = NovaConf::load(&sources, &Schema::new(&[])).unwrap().0;
        let worker = |pid, open| ProcessStatus {
            pid,
            started: Some(1_800_000_000),
            connections_open: Some(open),
            pool_size: Some(1000),
        };
        let text = render(&ReportInput {
            api: "osapi_compute",
            conf: &conf,
            parent: Some(ProcessStatus {
                pid: 10,
                started: Some(1_799_999_990),
                connections_open: None,
                pool_size: None,
            }),
            workers: vec![worker(11, 3), worker(12, 2)],
            now: 1_800_000_060,
        });
        assert!(text.contains(&format!("version: {VERSION}")), "{text}");
        assert!(
            text.contains("parent  pid 10       started 2027-01-15T07:59:50Z  uptime 70s"),
            "{text}"
        );
        assert!(text.contains("worker  pid 11       started 2027-01-15T08:00:00Z  uptime 60s  connections 3 of 1000"), "{text}");
        assert!(
            text.contains("open 5, pool 2000 over 2 of 2 workers (0.2% in use)"),
            "{text}"
        );
        assert!(
            text.contains(
                "  osapi_compute_workers = 2    (environment variable OS_DEFAULT__OSAPI_COMPUTE_WORKERS)"
            ),
            "{text}"
        );
        assert!(text.contains("  password = ****"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
