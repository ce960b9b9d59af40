//! The real binary: its start-up from nova.conf and flags, its log line
//! with the port it bound, the health URL, SIGHUP's reload of `[DEFAULT]
//! web` and SIGTERM's clean stop; a bad option stops the start.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_novncproxy");

/// Writes `nova.conf` in `dir` with `[DEFAULT] state_path` there, the
/// proxy on a free loopback port, and `extra` lines.
fn write_conf(dir: &Path, extra: &str) {
    let text = format!(
        "[DEFAULT]\nstate_path = {}\n{extra}\n[vnc]\nnovncproxy_host = 127.0.0.1\nnovncproxy_port = 0\n",
        dir.display()
    );
    std::fs::write(dir.join("nova.conf"), text).unwrap();
}

/// A running proxy and what it has logged so far.
struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Running {
    fn start(dir: &Path) -> Running {
        let mut child = Command::new(BINARY)
            .arg("--config-file")
            .arg(dir.join("nova.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn novncproxy");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log holds `text`.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(text) {
            assert!(Instant::now() < deadline, "no {text:?} in:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port from `novncproxy listening on 127.0.0.1:PORT`.
    fn port(&self) -> u16 {
        self.wait_for("listening on 127.0.0.1:");
        let log = self.log();
        let at = log.find("listening on 127.0.0.1:").unwrap() + "listening on 127.0.0.1:".len();
        log[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status line of `GET path`.
fn status_of(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or("").to_owned()
}

#[test]
fn the_binary_serves_its_files_reloads_web_on_sighup_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(old.join("vnc_lite.html"), "<html>noVNC</html>").unwrap();
    std::fs::write(new.join("vnc.html"), "<html>noVNC</html>").unwrap();
    write_conf(dir.path(), &format!("web = {}", old.display()));
    let proxy = Running::start(dir.path());
    let port = proxy.port();
    assert_eq!(status_of(port, "/healthcheck"), "HTTP/1.1 200 OK");
    assert_eq!(status_of(port, "/vnc_lite.html"), "HTTP/1.1 200 OK");
    assert_eq!(status_of(port, "/vnc.html"), "HTTP/1.1 404 Not Found");

    write_conf(dir.path(), &format!("web = {}", new.display()));
    proxy.signal(Signal::SIGHUP);
    proxy.wait_for("configuration reloaded");
    assert_eq!(status_of(port, "/vnc.html"), "HTTP/1.1 200 OK");
    assert_eq!(status_of(port, "/vnc_lite.html"), "HTTP/1.1 404 Not Found");

    proxy.signal(Signal::SIGTERM);
    let mut proxy = proxy;
    let status = proxy.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", proxy.log());
}

#[test]
fn a_bad_option_value_stops_the_start_with_exit_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_conf(dir.path(), "");
    let conf = std::fs::read_to_string(dir.path().join("nova.conf")).unwrap();
    let conf = conf.replace("novncproxy_port = 0", "novncproxy_port = 70000");
    std::fs::write(dir.path().join("nova.conf"), conf).unwrap();
    let output = Command::new(BINARY)
        .arg("--config-file")
        .arg(dir.path().join("nova.conf"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\"70000\" for option [vnc] novncproxy_port"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}
