//! How a scrape sees the whole service: files under
//! `<state_path>/metrics/<api>/`.
//!
//! - `<pid>.json`: a live worker's [`Snapshot`], rewritten by the worker
//!   every [`FLUSH_INTERVAL`] and when it stops (written to a temporary
//!   file and renamed, so a reader never sees half of one);
//! - `retired.json`: the counters of the workers that are gone, folded in
//!   by the parent when it reaps one (so totals never go down while the
//!   service runs);
//! - `launcher.json`: the parent's [`LauncherState`]: its pid, the
//!   workers' pids and start times, and the restarts.
//!
//! The worker answering a scrape reads the others' files and adds its own
//! counters as they are now. The parent empties the directory when the
//! service starts: a new service starts from zero, as Prometheus expects
//! of a restarted target.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often a worker rewrites its file.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The file of the workers that are gone.
const RETIRED: &str = "retired.json";

/// The parent's file.
const LAUNCHER: &str = "launcher.json";

/// The counters of one (method, route, status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSeries {
    /// The request method (`GET`, ..., or `other`).
    pub method: String,
    /// The route template (see [`super::route`]).
    pub route: String,
    /// The response status.
    pub status: u16,
    /// Requests answered.
    pub count: u64,
    /// Their total duration, in seconds.
    pub sum: f64,
    /// Requests per histogram bucket, not cumulative (see
    /// [`super::recorder::BUCKETS`]).
    pub buckets: Vec<u64>,
}

/// One worker's counters and gauges (or, summed, a service's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The request series.
    pub requests: Vec<RequestSeries>,
    /// Connections open.
    pub connections_open: u64,
    /// Connections the worker may serve at once (`default_pool_size`).
    pub pool_size: u64,
}

impl Snapshot {
    /// Adds `other`'s counters (and, with `gauges`, its gauges) to these.
    pub fn add(&mut self, other: &Snapshot, gauges: bool) {
        let mut index: BTreeMap<(String, String, u16), usize> = self
            .requests
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.method.clone(), s.route.clone(), s.status), i))
            .collect();
        for series in &other.requests {
            let key = (series.method.clone(), series.route.clone(), series.status);
            match index.get(&key) {
                Some(&i) => {
                    let mine = &mut self.requests[i];
                    mine.count += series.count;
                    mine.sum += series.sum;
                    if mine.buckets.len() < series.buckets.len() {
                        mine.buckets.resize(series.buckets.len(), 0);
                    }
                    for (m, o) in mine.buckets.iter_mut().zip(&series.buckets) {
                        *m += o;
                    }
                }
                None => {
                    index.insert(key, self.requests.len());
                    self.requests.push(series.clone());
                }
            }
        }
        if gauges {
            self.connections_open += other.connections_open;
            self.pool_size += other.pool_size;
        }
    }
}

/// One worker as the parent knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerEntry {
    /// Its pid.
    pub pid: u32,
    /// When it was forked, in seconds since the Unix epoch.
    pub started: u64,
}

/// What the parent knows of its workers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LauncherState {
    /// The parent's pid.
    pub pid: u32,
    /// When the service started, in seconds since the Unix epoch.
    pub started: u64,
    /// The workers running now.
    pub workers: Vec<WorkerEntry>,
    /// Workers started to replace one that died (not those of a reload
    /// or of SIGTTIN).
    pub restarts: u64,
}

/// The whole service as a scrape sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceView {
    /// Every worker's counters, live and gone; the live workers' gauges.
    pub totals: Snapshot,
    /// The parent's state; `None` when one process serves (no parent).
    pub launcher: Option<LauncherState>,
}

/// The metrics directory of one API under `state_path`.
pub fn dir_for(state_path: &Path, api: &str) -> PathBuf {
    state_path.join("metrics").join(api)
}

/// Makes the directory and removes what a previous run left in it.
pub fn reset(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json" || e == "tmp") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `value` as `dir/name`, through a temporary file and a rename;
/// the directory is made if need be (a reload can turn metrics on).
fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    drop(file);
    std::fs::rename(&tmp, &path)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A worker's file.
fn worker_file(pid: u32) -> String {
    format!("{pid}.json")
}

/// Writes this worker's snapshot.
pub fn write_worker(dir: &Path, pid: u32, snapshot: &Snapshot) -> std::io::Result<()> {
    write_json(dir, &worker_file(pid), snapshot)
}

/// Writes the parent's state.
pub fn write_launcher(dir: &Path, state: &LauncherState) -> std::io::Result<()> {
    write_json(dir, LAUNCHER, state)
}

/// Reads the parent's state, if there is a parent.
pub fn read_launcher(dir: &Path) -> Option<LauncherState> {
    read_json(&dir.join(LAUNCHER))
}

/// The parent reaped worker `pid`: its counters join the retired ones and
/// its file goes.
pub fn retire_worker(dir: &Path, pid: u32) -> std::io::Result<()> {
    let file = dir.join(worker_file(pid));
    let Some(gone) = read_json::<Snapshot>(&file) else {
        return match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        };
    };
    let mut retired: Snapshot = read_json(&dir.join(RETIRED)).unwrap_or_default();
    retired.add(&gone, false);
    write_json(dir, RETIRED, &retired)?;
    std::fs::remove_file(&file)
}

/// The live workers' snapshots other than `own_pid`'s, by pid.
pub fn read_workers(dir: &Path, own_pid: u32) -> Vec<(u32, Snapshot)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own_pid {
            continue;
        }
        if let Some(snapshot) = read_json(&entry.path()) {
            out.push((pid, snapshot));
        }
    }
    out.sort_by_key(|(pid, _)| *pid);
    out
}

/// The service as a scrape in worker `own_pid` sees it: `own` (this
/// worker's counters now), the other live workers' files, the retired
/// counters and the parent's state.
pub fn service_view(dir: &Path, own_pid: u32, own: &Snapshot) -> ServiceView {
    let mut totals = own.clone();
    for (_, snapshot) in read_workers(dir, own_pid) {
        totals.add(&snapshot, true);
    }
    if let Some(retired) = read_json::<Snapshot>(&dir.join(RETIRED)) {
        totals.add(&retired, false);
    }
    ServiceView {
        totals,
        launcher: read_launcher(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(route: &str, count: u64, open: u64) -> Snapshot {
        Snapshot {
            requests: vec![RequestSeries {
                method: "GET".into(),
                route: route.into(),
                status: 200,
                count,
                sum: count as f64 * 0.01,
                buckets: vec![0, count, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            }],
            connections_open: open,
            pool_size: 1000,
        }
    }

    #[test]
    fn a_scrape_adds_live_workers_retired_ones_and_its_own_counters() {
        let dir = tempfile::tempdir().unwrap();
        reset(dir.path()).unwrap();
        write_worker(dir.path(), 101, &snapshot("/v2.1/servers", 5, 2)).unwrap();
        write_worker(dir.path(), 102, &snapshot("/v2.1/servers", 7, 3)).unwrap();
        write_worker(dir.path(), 103, &snapshot("/v2.1/flavors", 1, 4)).unwrap();
        // Worker 102 dies: its counters stay, its gauges go.
        retire_worker(dir.path(), 102).unwrap();
        assert!(!dir.path().join("102.json").exists());
        // The scrape runs in worker 103, whose file is older than its
        // counters now: its own counters are taken, not its file.
        let view = service_view(dir.path(), 103, &snapshot("/v2.1/flavors", 2, 1));
        let count = |route: &str| {
            view.totals
                .requests
                .iter()
                .find(|s| s.route == route)
                .map(|s| (s.count, s.buckets[1]))
        };
        assert_eq!(count("/v2.1/servers"), Some((12, 12)));
        assert_eq!(count("/v2.1/flavors"), Some((2, 2)));
        assert_eq!(view.totals.connections_open, 3);
        assert_eq!(view.totals.pool_size, 2000);
        assert_eq!(view.launcher, None);
    }

    #[test]
    fn a_reset_empties_what_a_previous_run_left() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = dir_for(dir.path(), "osapi_compute");
        reset(&metrics).unwrap();
        write_worker(&metrics, 7, &snapshot("/", 1, 0)).unwrap();
        write_launcher(
            &metrics,
            &LauncherState {
                pid: 1,
                ..LauncherState::default()
            },
        )
        .unwrap();
        reset(&metrics).unwrap();
        assert_eq!(
            service_view(&metrics, 8, &Snapshot::default()),
            ServiceView::default()
        );
    }
}
