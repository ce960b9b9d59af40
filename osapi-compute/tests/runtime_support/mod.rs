//! Test support for running the real binaries: a nova.conf builder, a
//! process handle that reads the service's log, and a tiny raw HTTP client
//! (raw, so that request lines and headers are exactly what the test says).

#![allow(dead_code)] // each test binary uses a different part of it

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The binary under test: each test file that includes this module names
/// its own in a `BINARY` constant at its root.
pub fn binary() -> &'static str {
    super::BINARY
}

/// nova's stock paste files, kept as fixtures of the loader's tests.
pub fn stock_paste_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/runtime/tests/fixtures/paste")
}

/// A nova.conf (and api-paste.ini) in a temp dir, built option by option.
#[derive(Clone)]
pub struct TestConf {
    dir: Arc<tempfile::TempDir>,
    options: BTreeMap<(String, String), String>,
    paste: String,
    env: Vec<(String, String)>,
}

impl TestConf {
    /// Defaults for tests: noauth2, SQLite in the temp dir, the stock
    /// 2025.1 paste file, one osapi worker unless a test says otherwise.
    pub fn new() -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let state = dir.path().to_str().expect("utf-8 path").to_owned();
        let stock = std::fs::read_to_string(stock_paste_dir().join("nova-2025.1-epoxy.ini"))
            .expect("stock paste fixture");
        let conf = Self {
            dir,
            options: BTreeMap::new(),
            paste: stock,
            env: Vec::new(),
        };
        conf.set("DEFAULT", "state_path", &state)
            .set("DEFAULT", "enabled_apis", "osapi_compute,ec2,metadata")
            .set("api", "auth_strategy", "noauth2")
            .set(
                "database",
                "connection",
                &format!("sqlite:///{state}/nova.sqlite"),
            )
            .set(
                "wsgi",
                "api_paste_config",
                &format!("{state}/api-paste.ini"),
            )
            .set("DEFAULT", "osapi_compute_listen", "127.0.0.1")
            .set("DEFAULT", "ec2_listen", "127.0.0.1")
            .set("DEFAULT", "metadata_listen", "127.0.0.1")
            .set("DEFAULT", "osapi_compute_workers", "1")
            .set("DEFAULT", "ec2_workers", "1")
            .set("DEFAULT", "metadata_workers", "1")
    }

    /// Sets an environment variable of the service process.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets `[group] option = value`.
    pub fn set(mut self, group: &str, option: &str, value: &str) -> Self {
        self.options
            .insert((group.to_owned(), option.to_owned()), value.to_owned());
        self
    }

    /// Replaces api-paste.ini with `text`.
    pub fn paste_text(mut self, text: &str) -> Self {
        self.paste = text.to_owned();
        self
    }

    /// Uses one of nova's stock paste files unchanged.
    pub fn stock_paste(self, name: &str) -> Self {
        let text = std::fs::read_to_string(stock_paste_dir().join(name)).expect("stock paste");
        self.paste_text(&text)
    }

    /// Serves paste's `slow` app at `/` for every API.
    pub fn slow_app(self, delay: f64) -> Self {
        let mut text = String::new();
        for api in ["osapi_compute", "ec2", "metadata"] {
            text.push_str(&format!(
                "[composite:{api}]\nuse = egg:Paste#urlmap\n/: slow\n\n"
            ));
        }
        text.push_str(&format!(
            "[app:slow]\nuse = egg:Paste#slow\ndelay = {delay}\n"
        ));
        self.paste_text(&text)
    }

    /// The temp dir holding everything.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes nova.conf and api-paste.ini; returns nova.conf's path.
    pub fn write(&self) -> PathBuf {
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((group, option), value) in &self.options {
            groups
                .entry(group)
                .or_default()
                .push(format!("{option} = {value}"));
        }
        let mut text = String::new();
        for (group, lines) in groups {
            text.push_str(&format!("[{group}]\n{}\n\n", lines.join("\n")));
        }
        let conf_path = self.dir().join("nova.conf");
        std::fs::write(&conf_path, text).expect("write nova.conf");
        std::fs::write(self.dir().join("api-paste.ini"), &self.paste).expect("write paste");
        conf_path
    }
}

/// A running binary with its log in a file.
pub struct NovaProcess {
    child: Option<Child>,
    log_path: PathBuf,
    port: u16,
    code: Option<i32>,
}

impl NovaProcess {
    /// Starts the binary on port 0 and waits for its `listening on` line.
    pub fn start(conf: &TestConf, args: &[&str]) -> Self {
        let (child, log_path) = spawn(conf, args);
        let mut process = Self {
            child: Some(child),
            log_path,
            port: 0,
            code: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = process.log();
            if let Some(port) = log
                .lines()
                .find_map(|l| l.split(" listening on ").nth(1))
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.trim().parse().ok())
            {
                process.port = port;
                break;
            }
            if let Some(code) = process.try_exit() {
                panic!("exited with {code} before listening:\n{log}");
            }
            assert!(Instant::now() < deadline, "never listened:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // In-process serving is ready at once; workers report to the parent.
        // A plain-HTTP probe cannot reach a TLS socket (it would only time
        // out): there the test's first request waits in the listen queue.
        let tls = conf
            .options
            .contains_key(&("DEFAULT".to_owned(), "enabled_ssl_apis".to_owned()));
        if !tls {
            wait_until(Duration::from_secs(30), || {
                try_http_get(process.port, "/healthcheck").is_ok()
            });
        }
        process
    }

    /// Runs the binary to its exit and returns (code, stderr).
    pub fn run_to_exit(conf: &TestConf, args: &[&str]) -> (i32, String) {
        let (mut child, log_path) = spawn(conf, args);
        let status = child.wait().expect("wait");
        (
            status.code().unwrap_or(-1),
            std::fs::read_to_string(log_path).unwrap_or_default(),
        )
    }

    /// The port read back from the log.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// The worker pids, read from /proc.
    pub fn children(&self) -> Vec<i32> {
        let pid = self.pid();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Waits until `n` workers exist, and returns them.
    pub fn wait_for_children(&self, n: usize, limit: Duration) -> Vec<i32> {
        wait_until(limit, || self.children().len() == n);
        self.children()
    }

    /// Pids that logged an access line.
    pub fn answering_pids(&self) -> std::collections::BTreeSet<i32> {
        self.log()
            .lines()
            .filter(|l| l.contains(" wsgi ") && l.contains(" HTTP/1.1"))
            .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
            .collect()
    }

    /// Sends a signal to the parent.
    pub fn signal(&self, signal: i32) {
        kill(self.pid(), signal);
    }

    fn try_exit(&mut self) -> Option<i32> {
        if let Some(code) = self.code {
            return Some(code);
        }
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.code = Some(status.code().unwrap_or(128 + signal_of(&status)));
        self.code
    }

    /// Waits for the exit (at most 30 s) and returns its code.
    pub fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(code) = self.try_exit() {
                return code;
            }
            assert!(Instant::now() < deadline, "did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit code.
    pub fn terminate(&mut self) -> i32 {
        self.signal(libc::SIGTERM);
        self.wait()
    }
}

impl Drop for NovaProcess {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            for pid in self.children() {
                kill(pid, libc::SIGKILL);
            }
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn signal_of(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

fn spawn(conf: &TestConf, args: &[&str]) -> (Child, PathBuf) {
    let conf_path = conf.write();
    let log_path = conf
        .dir()
        .join(format!("service-{}.log", std::process::id()));
    let log = File::create(&log_path).expect("log file");
    let child = Command::new(binary())
        .arg("--config-file")
        .arg(&conf_path)
        .args(["--port", "0"])
        .args(args)
        .env_remove("RUST_LOG")
        .envs(conf.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .expect("spawn the binary");
    (child, log_path)
}

/// Polls `ok` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// kill(2).
pub fn kill(pid: i32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// GET over a fresh connection; panics on I/O errors.
pub fn http_get(port: u16, target: &str) -> (u16, String) {
    try_http_get(port, target).unwrap_or_else(|e| panic!("GET {target}: {e}"))
}

/// GET over a fresh connection.
pub fn try_http_get(port: u16, target: &str) -> std::io::Result<(u16, String)> {
    exchange(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

/// Any method with a body; panics on I/O errors.
pub fn http_request(port: u16, method: &str, target: &str, body: &str) -> (u16, String) {
    try_http_request(port, method, target, body)
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

/// Any method with a body.
pub fn try_http_request(
    port: u16,
    method: &str,
    target: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    exchange(
        port,
        &format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Sends raw bytes and returns the status code.
pub fn raw_status(port: u16, request: &str) -> u16 {
    exchange(port, request).expect("raw exchange").0
}

/// Sends raw bytes and returns the whole response head and body as text.
pub fn raw_response(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn exchange(port: u16, request: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request.as_bytes())?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no status line"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Sends raw bytes and returns the status code and body; a connection
/// closed without an answer is an `UnexpectedEof` error.
pub fn try_raw_exchange(port: u16, request: &str) -> std::io::Result<(u16, String)> {
    exchange(port, request)
}

impl NovaProcess {
    /// The pid of the process started (the parent, or the one worker
    /// serving in-process).
    pub fn pid_of_service(&self) -> i32 {
        self.pid()
    }
}
