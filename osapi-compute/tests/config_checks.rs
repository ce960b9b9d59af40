//! Each API's own options are checked in the parent, before it binds or
//! forks, and again before a reload replaces any worker: a bad value ends
//! the start with one line naming file, section, option and value, and a
//! bad edit followed by SIGHUP leaves the running workers serving.

mod runtime_support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_osapi-compute");

use std::time::{Duration, Instant};

use runtime_support::{try_http_get, wait_until, NovaProcess, TestConf};

#[test]
fn a_bad_value_in_the_compute_api_group_stops_the_start_before_any_fork() {
    let conf = TestConf::new()
        .set("DEFAULT", "osapi_compute_workers", "2")
        .set("api", "max_limit", "lots");
    let started = Instant::now();
    let (code, log) = NovaProcess::run_to_exit(&conf, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(started.elapsed() < Duration::from_secs(10), "{log}");
    let nova_conf = conf.dir().join("nova.conf");
    let line = format!(
        "invalid value \"lots\" for option [api] max_limit in {}",
        nova_conf.display()
    );
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    assert!(!log.contains("listening on"), "{log}");
    assert!(!log.contains("Starting 2 workers"), "{log}");
}

#[test]
fn a_bad_edit_and_sighup_leave_the_running_workers_serving_under_load() {
    let conf = TestConf::new().set("DEFAULT", "osapi_compute_workers", "2");
    let nova = NovaProcess::start(&conf, &[]);
    let port = nova.port();
    let before = nova.wait_for_children(2, Duration::from_secs(10));

    let bad = conf.clone().set("api", "max_limit", "lots");
    bad.write();
    let load = std::thread::spawn(move || {
        let (mut sent, mut failed) = (0, 0);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            sent += 1;
            if !matches!(try_http_get(port, "/v2.1"), Ok((200, _))) {
                failed += 1;
            }
        }
        (sent, failed)
    });
    std::thread::sleep(Duration::from_millis(300));
    nova.signal(libc::SIGHUP);
    let (sent, failed) = load.join().unwrap();
    assert!(sent > 50, "only {sent} requests sent");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");

    let log = nova.log();
    assert!(
        log.contains("reload failed, keeping the running configuration")
            && log.contains("invalid value \"lots\" for option [api] max_limit"),
        "{log}"
    );
    assert_eq!(nova.children(), before, "the workers were replaced:\n{log}");

    // A good edit afterwards rolls the workers as before.
    conf.clone().set("api", "max_limit", "500").write();
    nova.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(20), || {
        let now = nova.children();
        now.len() == 2 && now.iter().all(|pid| !before.contains(pid))
    });
    let after = nova.children();
    assert!(
        after.iter().all(|pid| !before.contains(pid)),
        "{before:?} -> {after:?}\n{}",
        nova.log()
    );
    assert!(matches!(try_http_get(port, "/v2.1"), Ok((200, _))));
}

#[test]
fn a_typo_in_a_group_the_binary_owns_is_one_warning_naming_the_nearest_option() {
    let conf = TestConf::new()
        .set("simulator", "transition_dealy", "0")
        .set("api", "max_limits", "10");
    let mut nova = NovaProcess::start(&conf, &[]);
    let port = nova.port();
    assert!(matches!(try_http_get(port, "/v2.1"), Ok((200, _))));
    let log = nova.log();
    let nova_conf = conf.dir().join("nova.conf");
    for line in [
        format!(
            "unknown option [simulator] transition_dealy in {}: did you mean transition_delay?",
            nova_conf.display()
        ),
        format!(
            "unknown option [api] max_limits in {}: did you mean max_limit?",
            nova_conf.display()
        ),
    ] {
        assert_eq!(log.matches(&line).count(), 1, "{line}\n{log}");
    }
    assert_eq!(nova.terminate(), 0, "{}", nova.log());
}

#[test]
fn the_pipeline_is_logged_outermost_first_at_start_up() {
    let conf = TestConf::new().stock_paste("nova-2025.1-epoxy.ini");
    let mut nova = NovaProcess::start(&conf, &[]);
    let log = nova.log();
    let outline = log
        .split("osapi_compute pipeline, outermost first:")
        .nth(1)
        .unwrap_or_else(|| panic!("no pipeline outline in the log:\n{log}"));
    let v21 = outline
        .split("-> openstack_compute_api_v21")
        .nth(1)
        .unwrap_or_else(|| panic!("no /v2.1 route in the outline:\n{outline}"));
    let outline = v21;
    let compute_req_id = outline.find("compute_req_id");
    let faultwrap = outline.find("faultwrap");
    assert!(
        compute_req_id.is_some() && faultwrap.is_some() && compute_req_id < faultwrap,
        "{outline}"
    );
    assert_eq!(nova.terminate(), 0, "{}", nova.log());
}

#[test]
fn the_osprofiler_warning_is_logged_once_per_start_with_two_workers() {
    // nova's stock paste file names the osprofiler filter in both the /v2
    // and the /v2.1 pipeline; each of two workers builds both.
    let conf = TestConf::new().stock_paste("nova-2025.1-epoxy.ini").set(
        "DEFAULT",
        "osapi_compute_workers",
        "2",
    );
    let mut nova = NovaProcess::start(&conf, &[]);
    nova.wait_for_children(2, Duration::from_secs(10));
    // The parent handles SIGTERM only once every worker has said it
    // serves, i.e. has built its pipelines: the log is then complete.
    assert_eq!(nova.terminate(), 0, "{}", nova.log());

    let log = nova.log();
    assert!(log.contains("Starting 2 workers"), "{log}");
    let warning = nova_middleware::profiler::WARNING;
    assert_eq!(log.matches(warning).count(), 1, "{log}");
}

#[test]
fn a_bad_filter_option_in_api_paste_ini_stops_the_start_before_any_fork() {
    let conf = TestConf::new()
        .set("DEFAULT", "osapi_compute_workers", "2")
        .paste_text(
            "[composite:osapi_compute]\nuse = egg:Paste#urlmap\n/: limited\n\n\
             [pipeline:limited]\npipeline = sizelimit slow\n\n\
             [filter:sizelimit]\npaste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory\n\
             max_request_body_size = lots\n\n\
             [app:slow]\nuse = egg:Paste#slow\ndelay = 0\n",
        );
    let (code, log) = NovaProcess::run_to_exit(&conf, &[]);
    assert_eq!(code, 1, "{log}");
    let paste = conf.dir().join("api-paste.ini");
    assert!(
        log.contains(&format!("filter [filter:sizelimit] in {}", paste.display()))
            && log.contains("max_request_body_size"),
        "{log}"
    );
    assert!(!log.contains("listening on"), "{log}");
    assert!(!log.contains("Starting 2 workers"), "{log}");
}
