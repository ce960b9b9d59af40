//! The Prometheus text exposition format (version 0.0.4) of a
//! [`ServiceView`], written by hand: the counters come from several
//! processes' files, summed at scrape time, which a client library's
//! in-process registry does not model; the format is a few lines of text.

use std::fmt::Write;

use super::recorder::BUCKETS;
use super::store::{RequestSeries, ServiceView};

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value: backslash, double quote and newline.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as Prometheus writes one (`+Inf`, shortest round-trip form).
fn float(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(series: &RequestSeries) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        label(&series.method),
        label(&series.route),
        series.status
    )
}

/// Renders the service's metrics.
pub fn render(view: &ServiceView) -> String {
    let mut series: Vec<&RequestSeries> = view.totals.requests.iter().collect();
    series.sort_by(|a, b| (&a.route, &a.method, a.status).cmp(&(&b.route, &b.method, b.status)));
    let mut out = String::new();

    header(
        &mut out,
        "nova_http_requests_total",
        "counter",
        "Requests answered, by method, route template and status.",
    );
    for s in &series {
        let _ = writeln!(out, "nova_http_requests_total{{{}}} {}", labels(s), s.count);
    }

    header(
        &mut out,
        "nova_http_request_duration_seconds",
        "histogram",
        "Time from the request reaching the metrics filter to its response head, by method, route template and status.",
    );
    for s in &series {
        let labels = labels(s);
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += s.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "nova_http_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {cumulative}",
                float(*le)
            );
        }
        let _ = writeln!(
            out,
            "nova_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "nova_http_request_duration_seconds_sum{{{labels}}} {}",
            float(s.sum)
        );
        let _ = writeln!(
            out,
            "nova_http_request_duration_seconds_count{{{labels}}} {}",
            s.count
        );
    }

    header(
        &mut out,
        "nova_http_connections_open",
        "gauge",
        "Client connections open, over every live worker.",
    );
    let _ = writeln!(
        out,
        "nova_http_connections_open {}",
        view.totals.connections_open
    );
    header(
        &mut out,
        "nova_http_connection_pool_size",
        "gauge",
        "Connections the live workers may serve at once (default_pool_size per worker).",
    );
    let _ = writeln!(
        out,
        "nova_http_connection_pool_size {}",
        view.totals.pool_size
    );

    if let Some(launcher) = &view.launcher {
        header(
            &mut out,
            "nova_workers",
            "gauge",
            "Worker processes running.",
        );
        let _ = writeln!(out, "nova_workers {}", launcher.workers.len());
        header(
            &mut out,
            "nova_worker_restarts_total",
            "counter",
            "Workers started to replace one that died.",
        );
        let _ = writeln!(out, "nova_worker_restarts_total {}", launcher.restarts);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::store::{LauncherState, Snapshot, WorkerEntry};

    #[test]
    fn the_text_has_counters_cumulative_buckets_gauges_and_restarts() {
        let view = ServiceView {
            totals: Snapshot {
                requests: vec![RequestSeries {
                    method: "GET".into(),
                    route: "/v2.1/servers/{id}".into(),
                    status: 200,
                    count: 3,
                    sum: 0.5,
                    buckets: vec![1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                }],
                connections_open: 2,
                pool_size: 2000,
            },
            launcher: Some(LauncherState {
                pid: 1,
                started: 0,
                workers: vec![
                    WorkerEntry { pid: 2, started: 0 },
                    WorkerEntry { pid: 3, started: 0 },
                ],
                restarts: 4,
            }),
        };
        let text = render(&view);
        let labels = r#"method="GET",route="/v2.1/servers/{id}",status="200""#;
        for line in [
            format!("nova_http_requests_total{{{labels}}} 3"),
            format!("nova_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"),
            format!("nova_http_request_duration_seconds_bucket{{{labels},le=\"0.01\"}} 1"),
            format!("nova_http_request_duration_seconds_bucket{{{labels},le=\"0.025\"}} 2"),
            format!("nova_http_request_duration_seconds_bucket{{{labels},le=\"10\"}} 2"),
            format!("nova_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"),
            format!("nova_http_request_duration_seconds_sum{{{labels}}} 0.5"),
            format!("nova_http_request_duration_seconds_count{{{labels}}} 3"),
            "nova_http_connections_open 2".to_owned(),
            "nova_http_connection_pool_size 2000".to_owned(),
            "nova_workers 2".to_owned(),
            "nova_worker_restarts_total 4".to_owned(),
            "# TYPE nova_http_request_duration_seconds histogram".to_owned(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
