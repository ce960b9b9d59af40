//! The `[ec2]` group is checked in the parent before any fork: a bad value
//! ends the start with exit 1 and one line naming file, section, option and
//! value, where workers used to die and be respawned forever.

#[path = "../../osapi-compute/tests/runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_ec2-api");

use std::time::{Duration, Instant};

use support::{NovaProcess, TestConf};

#[test]
fn a_bad_value_in_the_ec2_group_stops_the_start_before_any_fork() {
    let conf =
        TestConf::new()
            .set("DEFAULT", "ec2_workers", "2")
            .set("ec2", "lockout_attempts", "abc");
    let started = Instant::now();
    let (code, log) = NovaProcess::run_to_exit(&conf, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(started.elapsed() < Duration::from_secs(10), "{log}");
    let line = format!(
        "invalid value \"abc\" for option [ec2] lockout_attempts in {}",
        conf.dir().join("nova.conf").display()
    );
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    assert!(!log.contains("Forking too fast"), "{log}");
    assert!(!log.contains("listening on"), "{log}");
}
