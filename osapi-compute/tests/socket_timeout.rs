//! `[wsgi] client_socket_timeout` through the real binary: it bounds how
//! long the server waits on a client (for a request head, a body, the next
//! request of a kept-alive connection), never how long a request takes to
//! be answered.

#[path = "runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_osapi-compute");

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{NovaProcess, TestConf};

/// The `client_socket_timeout` of every test here.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One worker with a two-second socket timeout.
fn conf() -> TestConf {
    TestConf::new().set("wsgi", "client_socket_timeout", "2")
}

/// Opens a connection whose reads give up after `limit`.
fn connect(port: u16, limit: Duration) -> TcpStream {
    let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(limit)).expect("read timeout");
    conn
}

/// Reads until the server closes the connection; returns what it sent
/// and how long that took. A reset counts as a close.
fn read_until_closed(conn: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(err) => panic!("the server kept the connection open: {err}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_handler_slower_than_the_socket_timeout_still_answers() {
    let conf = conf().slow_app(3.0);
    let mut nova = NovaProcess::start(&conf, &[]);

    let started = Instant::now();
    let answer = support::try_http_request(nova.port(), "POST", "/", "payload");

    assert_eq!(
        answer.map_err(|e| e.kind()),
        Ok((200, "ok, 7 bytes read\n".to_owned()))
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn two_dozen_concurrent_rsa_keypair_generations_on_one_worker_all_answer_200() {
    let conf = conf();
    let mut nova = NovaProcess::start(&conf, &[]);
    let port = nova.port();
    // One CPU for the worker, whatever the machine: two dozen key
    // generations then keep it busy for longer than the timeout.
    let pinned = std::process::Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", "0"])
        .arg(nova.pid_of_service().to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("taskset");
    assert!(pinned.success(), "taskset: {pinned}");

    // No public key: the compute API generates an RSA key.
    let clients: Vec<_> = (0..24)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!(r#"{{"keypair": {{"name": "generated-{i}"}}}}"#);
                let request = format!(
                    "POST /v2.1/os-keypairs HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                     X-Auth-Token: alice:p1\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let started = Instant::now();
                let status = support::try_raw_exchange(port, &request).map(|(status, _)| status);
                (status.map_err(|e| e.kind()), started.elapsed())
            })
        })
        .collect();
    let answers: Vec<_> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .collect();

    let statuses: Vec<_> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, vec![Ok(200); 24]);
    // What makes this a test of the timeout: the last answers took longer.
    let slowest = answers.iter().map(|(_, took)| *took).max();
    assert!(
        slowest > Some(TIMEOUT),
        "all answered within {slowest:?}: the timeout was never reached"
    );
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn a_client_that_sends_half_a_request_head_is_disconnected_after_the_timeout() {
    let conf = conf();
    let mut nova = NovaProcess::start(&conf, &[]);
    let mut conn = connect(nova.port(), Duration::from_secs(10));

    conn.write_all(b"GET /v2.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .expect("write");
    let (received, waited) = read_until_closed(&mut conn);

    assert_eq!(received, "");
    assert!(
        waited >= TIMEOUT - Duration::from_millis(100) && waited < TIMEOUT * 2,
        "closed after {waited:?}"
    );
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_timeout() {
    let conf = conf();
    let mut nova = NovaProcess::start(&conf, &[]);
    let mut conn = connect(nova.port(), Duration::from_secs(10));

    conn.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    let mut first = [0u8; 12];
    conn.read_exact(&mut first).expect("the answer");
    assert_eq!(&first, b"HTTP/1.1 200");
    let (_rest, waited) = read_until_closed(&mut conn);

    assert!(
        waited >= TIMEOUT - Duration::from_millis(100) && waited < TIMEOUT * 2,
        "closed after {waited:?}"
    );
    assert_eq!(nova.terminate(), 0);
}

#[test]
fn a_client_that_stops_sending_its_body_is_answered_400_after_the_timeout() {
    let conf = conf().slow_app(0.0);
    let mut nova = NovaProcess::start(&conf, &[]);
    let mut conn = connect(nova.port(), Duration::from_secs(10));

    // Three of the ten bytes announced, then nothing.
    conn.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    let (received, waited) = read_until_closed(&mut conn);

    assert!(received.starts_with("HTTP/1.1 400 "), "{received:?}");
    assert!(received.ends_with("unreadable body\n"), "{received:?}");
    assert!(
        waited >= TIMEOUT - Duration::from_millis(100) && waited < TIMEOUT * 2,
        "answered after {waited:?}"
    );
    assert_eq!(nova.terminate(), 0);
}
