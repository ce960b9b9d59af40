//! The runtime, run the way an operator runs it: the real `osapi-compute`
//! binary with a nova.conf, forked workers, signals and limits, talked to
//! over real sockets on 127.0.0.1.

#[path = "runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_osapi-compute");

use std::time::{Duration, Instant};

use support::{http_get, http_request, NovaProcess, TestConf};

#[test]
fn three_workers_share_one_port_and_all_answer() {
    let conf = TestConf::new().set("DEFAULT", "osapi_compute_workers", "3");
    let mut nova = NovaProcess::start(&conf, &[]);
    let children = nova.wait_for_children(3, Duration::from_secs(20));
    assert_eq!(children.len(), 3, "one parent and three children");

    // New connections land on whichever worker accepts first: keep asking
    // until every worker has answered at least once.
    let deadline = Instant::now() + Duration::from_secs(20);
    while nova.answering_pids().len() < 3 && Instant::now() < deadline {
        assert_eq!(http_get(nova.port(), "/").0, 200);
    }
    let answering = nova.answering_pids();
    assert_eq!(answering.len(), 3, "pids that answered: {answering:?}");
    assert!(answering.iter().all(|pid| children.contains(pid)));
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn a_killed_worker_is_replaced_and_no_connection_is_refused() {
    let conf = TestConf::new().set("DEFAULT", "osapi_compute_workers", "2");
    let mut nova = NovaProcess::start(&conf, &[]);
    let before = nova.wait_for_children(2, Duration::from_secs(20));
    let port = nova.port();
    let client = std::thread::spawn(move || {
        let mut refused = 0;
        let mut answered = 0;
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            match support::try_http_get(port, "/") {
                Ok(_) => answered += 1,
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => refused += 1,
                // A request in flight on the killed worker may be reset.
                Err(_) => {}
            }
        }
        (answered, refused)
    });
    std::thread::sleep(Duration::from_millis(500));
    let victim = before[0];
    support::kill(victim, libc::SIGKILL);
    let killed_at = Instant::now();
    let after = loop {
        let now = nova.children();
        if now.len() == 2 && !now.contains(&victim) {
            break now;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(1),
            "no new worker within a second"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(after.iter().any(|pid| !before.contains(pid)));
    let (answered, refused) = client.join().expect("client thread");
    assert_eq!(refused, 0);
    assert!(answered > 10, "only {answered} answers");
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn sigterm_lets_a_slow_request_finish_then_exits_zero() {
    let conf = TestConf::new()
        .set("DEFAULT", "osapi_compute_workers", "2")
        .set("DEFAULT", "graceful_shutdown_timeout", "10")
        .slow_app(2.0);
    let mut nova = NovaProcess::start(&conf, &[]);
    nova.wait_for_children(2, Duration::from_secs(20));
    let port = nova.port();
    let slow = std::thread::spawn(move || http_request(port, "POST", "/", "payload"));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    nova.signal(libc::SIGTERM);
    let (status, body) = slow.join().expect("slow request");
    assert_eq!(status, 200);
    assert_eq!(body, "ok, 7 bytes read\n");
    assert_eq!(nova.wait(), 0);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn sigterm_cuts_a_request_that_outlives_the_timeout_and_says_so() {
    let conf = TestConf::new()
        .set("DEFAULT", "osapi_compute_workers", "2")
        .set("DEFAULT", "graceful_shutdown_timeout", "1")
        .slow_app(8.0);
    let mut nova = NovaProcess::start(&conf, &[]);
    nova.wait_for_children(2, Duration::from_secs(20));
    let port = nova.port();
    let slow = std::thread::spawn(move || support::try_http_request(port, "POST", "/", "x"));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    nova.signal(libc::SIGTERM);
    assert_eq!(nova.wait(), 1, "exit code of a cut drain");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(
        slow.join().expect("slow request").is_err(),
        "the cut request got no answer"
    );
    assert!(nova.log().contains("Graceful shutdown timeout exceeded"));
}

#[test]
fn sighup_applies_a_changed_option_without_a_failed_request() {
    let conf = TestConf::new().set("DEFAULT", "osapi_compute_workers", "2");
    let mut nova = NovaProcess::start(&conf, &[]);
    nova.wait_for_children(2, Duration::from_secs(20));
    let port = nova.port();
    let client = std::thread::spawn(move || {
        let mut failures = Vec::new();
        let mut answered = 0;
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            match support::try_http_get(port, "/") {
                Ok((200, _)) => answered += 1,
                other => failures.push(format!("{other:?}")),
            }
        }
        (answered, failures)
    });
    std::thread::sleep(Duration::from_millis(300));
    conf.clone()
        .set(
            "wsgi",
            "wsgi_log_format",
            "RELOADED %(status_code)s %(request_line)s",
        )
        .write();
    nova.signal(libc::SIGHUP);
    let (answered, failures) = client.join().expect("client thread");
    assert_eq!(failures, Vec::<String>::new());
    assert!(answered > 10);
    assert!(
        nova.log().contains("RELOADED 200 GET / HTTP/1.1"),
        "new log format in effect"
    );
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn request_line_of_8193_bytes_gets_414() {
    let mut nova = NovaProcess::start(&TestConf::new(), &["--workers", "1"]);
    let port = nova.port();
    // "GET " + target + " HTTP/1.1" + CRLF = 8193 bytes.
    let target = format!("/{}", "a".repeat(8193 - 4 - 9 - 2 - 1));
    assert_eq!(http_get(port, &target).0, 414);
    let shorter = format!("/{}", "a".repeat(8000));
    assert_ne!(http_get(port, &shorter).0, 414);
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn a_header_line_over_the_limit_gets_400() {
    let conf = TestConf::new().set("wsgi", "max_header_line", "1024");
    let mut nova = NovaProcess::start(&conf, &["--workers", "1"]);
    let long = format!("X-Long: {}", "b".repeat(1100));
    let status = support::raw_status(
        nova.port(),
        &format!("GET / HTTP/1.1\r\nHost: x\r\n{long}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 400);
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn every_answer_carries_a_request_id() {
    let mut nova = NovaProcess::start(&TestConf::new(), &["--workers", "1"]);
    let head = support::raw_response(
        nova.port(),
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-openstack-request-id: "))
        .expect("request id header");
    assert!(id.starts_with("req-") && id.len() == 40, "{id}");
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn https_for_an_api_in_enabled_ssl_apis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
    let conf = TestConf::new()
        .set("DEFAULT", "enabled_ssl_apis", "osapi_compute")
        .set("wsgi", "ssl_cert_file", cert_path.to_str().expect("utf-8"))
        .set("wsgi", "ssl_key_file", key_path.to_str().expect("utf-8"));
    let mut nova = NovaProcess::start(&conf, &["--workers", "1"]);
    let port = nova.port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (status, body) = runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem"),
            )
            .build()
            .expect("client");
        let answer = client
            .get(format!("https://localhost:{port}/v2.1"))
            .send()
            .await
            .expect("https request");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("body"))
    });
    assert_eq!(status, 200);
    // The app sees the scheme the client used: its links are https too.
    let document: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        document["version"]["links"][0]["href"],
        format!("https://localhost:{port}/v2.1/")
    );
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn start_up_failures_exit_one_with_a_clear_message() {
    let cases: Vec<(TestConf, &str)> = vec![
        (
            TestConf::new().set("wsgi", "client_socket_timeout", "soon"),
            "\"soon\" for option [wsgi] client_socket_timeout",
        ),
        (
            TestConf::new().set("wsgi", "api_paste_config", "/nonexistent/api-paste.ini"),
            "/nonexistent/api-paste.ini",
        ),
        (
            TestConf::new().paste_text("[app:other]\nuse = egg:Paste#test\n"),
            "osapi_compute",
        ),
        (
            TestConf::new().paste_text(
                "[app:osapi_compute]\npaste.app_factory = nova.api.nothing:Here.factory\n",
            ),
            "nova.api.nothing:Here.factory",
        ),
        (
            TestConf::new().set("DEFAULT", "enabled_ssl_apis", "osapi_compute"),
            "When running server in SSL mode",
        ),
    ];
    for (conf, expected) in cases {
        let (code, stderr) = NovaProcess::run_to_exit(&conf, &[]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
    }
}

#[test]
fn nova_stock_api_paste_ini_loads_unchanged() {
    let conf = TestConf::new().stock_paste("nova-2025.1-epoxy.ini");
    let mut nova = NovaProcess::start(&conf, &["--workers", "1"]);
    let (status, body) = http_get(nova.port(), "/v2.1");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"min_version\": \"2.1\"") || body.contains("\"min_version\":\"2.1\""));
    assert_eq!(nova.terminate(), 0);
}

/// Reads the next sd_notify datagram, or fails after 15 s.
fn next_notification(socket: &std::os::unix::net::UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notification within 15 s");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn systemd_hears_ready_reloading_and_stopping_from_both_launchers() {
    for workers in ["1", "2"] {
        let conf = TestConf::new();
        let path = conf.dir().join("notify.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let conf = conf.env("NOTIFY_SOCKET", path.to_str().expect("utf-8"));
        let mut nova = NovaProcess::start(&conf, &["--workers", workers]);

        assert_eq!(next_notification(&socket), "READY=1", "workers={workers}");
        nova.signal(libc::SIGHUP);
        assert_eq!(
            next_notification(&socket),
            "RELOADING=1",
            "workers={workers}"
        );
        assert_eq!(next_notification(&socket), "READY=1", "workers={workers}");
        assert_eq!(nova.terminate(), 0, "workers={workers}");
        assert_eq!(
            next_notification(&socket),
            "STOPPING=1",
            "workers={workers}"
        );
    }
}
