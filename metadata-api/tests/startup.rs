//! Start-up and reload of the real binary: the metadata options are checked
//! in the parent before any fork, and a worker counts as started only once
//! it says so: one that dies first fails the start (exit 1, no READY) or
//! rolls a reload back (the running workers keep serving).

#[path = "../../osapi-compute/tests/runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_metadata-api");

use std::time::Duration;

use support::{try_http_get, NovaProcess, TestConf};

#[test]
fn a_bad_value_in_the_metadata_options_stops_the_start_before_any_fork() {
    let conf = TestConf::new().set("DEFAULT", "metadata_workers", "2").set(
        "api",
        "metadata_cache_expiration",
        "soon",
    );
    let (code, log) = NovaProcess::run_to_exit(&conf, &[]);
    assert_eq!(code, 1, "{log}");
    let line = format!(
        "invalid value \"soon\" for option [api] metadata_cache_expiration in {}",
        conf.dir().join("nova.conf").display()
    );
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    assert!(!log.contains("listening on"), "{log}");
}

/// A vendordata file that is not JSON passes the option check (the option
/// is a valid path) but makes every worker fail to build its app.
fn with_broken_vendordata(conf: TestConf) -> TestConf {
    let file = conf.dir().join("vendor_data.json");
    std::fs::write(&file, "{ not json").unwrap();
    conf.set("api", "vendordata_providers", "StaticJSON").set(
        "api",
        "vendordata_jsonfile_path",
        file.to_str().unwrap(),
    )
}

#[test]
fn workers_that_die_before_they_serve_fail_the_start() {
    let conf = with_broken_vendordata(TestConf::new().set("DEFAULT", "metadata_workers", "2"));
    let (code, log) = NovaProcess::run_to_exit(&conf, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("failed to start; stopping"), "{log}");
    assert!(!log.contains("Forking too fast"), "{log}");
}

#[test]
fn a_reload_whose_workers_die_before_they_serve_keeps_the_running_ones() {
    let conf = TestConf::new().set("DEFAULT", "metadata_workers", "2");
    let nova = NovaProcess::start(&conf, &[]);
    let before = nova.wait_for_children(2, Duration::from_secs(10));
    with_broken_vendordata(conf.clone()).write();
    nova.signal(libc::SIGHUP);
    support::wait_until(Duration::from_secs(20), || {
        nova.log()
            .contains("reload failed: a worker with the new configuration did not start")
    });
    // The failed worker is known dead when its readiness pipe closes,
    // which can be a moment before the parent has reaped it.
    support::wait_until(Duration::from_secs(10), || nova.children() == before);
    let log = nova.log();
    assert!(
        log.contains("reload failed: a worker with the new configuration did not start"),
        "{log}"
    );
    assert_eq!(nova.children(), before, "{log}");
    assert!(try_http_get(nova.port(), "/healthcheck").is_ok());
}
