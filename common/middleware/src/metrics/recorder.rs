//! One worker's counters: requests by method, route and status with their
//! latency histogram, and the connection gauges the server keeps.
//!
//! A worker is a process, so the recorder the filter writes to is a
//! process-wide one ([`global`]); a scrape adds the other workers' from
//! their files ([`super::store`]). Recording a request is one uncontended
//! lock (a worker runs one thread), one hash lookup, and a few additions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use super::store::{RequestSeries, Snapshot};

/// The histogram's upper bounds, in seconds (Prometheus' client defaults).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most distinct routes one worker keeps; later ones count as [`OTHER`].
pub const MAX_ROUTES: usize = 256;

/// The route of requests beyond [`MAX_ROUTES`].
pub const OTHER: &str = "other";

/// The route of a 404 or 405 for a path no answered request had: a client
/// probing random paths must not fill the table.
pub const UNMATCHED: &str = "unmatched";

/// Counts of one (method, status) of one route.
#[derive(Debug, Clone, Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Per bucket (not cumulative): requests at most that long and longer
    /// than the bucket before.
    buckets: [u64; BUCKETS.len()],
}

/// The series of one route, by (method, status): a few entries, scanned.
type RouteSeries = Vec<(&'static str, u16, Series)>;

/// Adds one request to its (method, status) series of a route.
fn count(by_status: &mut RouteSeries, method: &'static str, status: u16, seconds: f64) {
    let at = match by_status
        .iter()
        .position(|(m, s, _)| *s == status && *m == method)
    {
        Some(at) => at,
        None => {
            by_status.push((method, status, Series::default()));
            by_status.len() - 1
        }
    };
    let series = &mut by_status[at].2;
    series.count += 1;
    series.sum += seconds;
    if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
        series.buckets[i] += 1;
    }
}

/// A worker's request counters.
#[derive(Debug, Default)]
pub struct Recorder {
    routes: Mutex<HashMap<Box<str>, RouteSeries>>,
    connections_open: AtomicU64,
    pool_size: AtomicU64,
}

/// The recorder of this process (this worker).
pub fn global() -> &'static Recorder {
    static GLOBAL: LazyLock<Recorder> = LazyLock::new(Recorder::default);
    &GLOBAL
}

/// The label of a method: the common ones by name, the rest as `other`.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Recorder {
    /// Counts one answered request. A known route costs one hash of its
    /// template and a scan of its few (method, status) series.
    pub fn record(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(by_status) = routes.get_mut(route) {
            count(by_status, method, status, seconds);
            return;
        }
        let route = if status == 404 || status == 405 {
            UNMATCHED
        } else if routes.len() >= MAX_ROUTES {
            OTHER
        } else {
            route
        };
        count(
            routes.entry(route.into()).or_default(),
            method,
            status,
            seconds,
        );
    }

    /// A connection was accepted; the returned guard counts it until it
    /// is dropped.
    pub fn connection_opened(&'static self) -> OpenConnection {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// The worker's connection pool size (`default_pool_size`).
    pub fn set_pool_size(&self, size: usize) {
        self.pool_size.store(size as u64, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// Everything counted so far, as written to the worker's file.
    pub fn snapshot(&self) -> Snapshot {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut requests = Vec::new();
        for (route, by_status) in routes.iter() {
            for (method, status, series) in by_status {
                requests.push(RequestSeries {
                    method: (*method).to_owned(),
                    route: route.to_string(),
                    status: *status,
                    count: series.count,
                    sum: series.sum,
                    buckets: series.buckets.to_vec(),
                });
            }
        }
        Snapshot {
            requests,
            connections_open: self.connections_open(),
            pool_size: self.pool_size.load(Ordering::Relaxed),
        }
    }
}

/// One open connection of a worker, counted until dropped.
#[derive(Debug)]
pub struct OpenConnection(&'static Recorder);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series<'a>(s: &'a Snapshot, route: &str, status: u16) -> &'a RequestSeries {
        s.requests
            .iter()
            .find(|r| r.route == route && r.status == status)
            .unwrap_or_else(|| panic!("no series {route} {status} in {s:?}"))
    }

    #[test]
    fn requests_are_counted_by_method_route_and_status_with_their_bucket() {
        let recorder = Recorder::default();
        recorder.record("GET", "/v2.1/servers", 200, 0.003);
        recorder.record("GET", "/v2.1/servers", 200, 0.2);
        recorder.record("POST", "/v2.1/servers", 202, 11.0);
        let snapshot = recorder.snapshot();
        let get = series(&snapshot, "/v2.1/servers", 200);
        assert_eq!(get.method, "GET");
        assert_eq!(get.count, 2);
        assert!((get.sum - 0.203).abs() < 1e-9);
        assert_eq!(get.buckets, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        // Longer than the last bound: only in +Inf, which is the count.
        let post = series(&snapshot, "/v2.1/servers", 202);
        assert_eq!((post.count, post.buckets.iter().sum::<u64>()), (1, 0));
    }

    #[test]
    fn not_found_paths_never_seen_answered_are_one_unmatched_route() {
        let recorder = Recorder::default();
        recorder.record("GET", "/v2.1/flavors/{id}", 200, 0.01);
        recorder.record("GET", "/v2.1/flavors/{id}", 404, 0.01);
        for i in 0..50 {
            recorder.record("GET", &format!("/probe/x{i}"), 404, 0.01);
        }
        let snapshot = recorder.snapshot();
        assert_eq!(series(&snapshot, "/v2.1/flavors/{id}", 404).count, 1);
        assert_eq!(series(&snapshot, UNMATCHED, 404).count, 50);
        assert_eq!(snapshot.requests.len(), 3);
    }

    #[test]
    fn routes_beyond_the_cap_count_as_other() {
        let recorder = Recorder::default();
        for i in 0..MAX_ROUTES + 10 {
            recorder.record("GET", &format!("/v2.1/os-keypairs/k{i}"), 200, 0.01);
        }
        let snapshot = recorder.snapshot();
        assert_eq!(series(&snapshot, OTHER, 200).count, 10);
        assert_eq!(snapshot.requests.len(), MAX_ROUTES + 1);
    }

    #[test]
    fn open_connections_are_counted_while_their_guard_lives() {
        let recorder: &'static Recorder = Box::leak(Box::default());
        let first = recorder.connection_opened();
        let second = recorder.connection_opened();
        assert_eq!(recorder.connections_open(), 2);
        drop(first);
        assert_eq!(recorder.snapshot().connections_open, 1);
        drop(second);
        assert_eq!(recorder.connections_open(), 0);
    }
}
