//! Start-up with a database the service cannot use, run the way an
//! operator runs it: the real `osapi-compute` binary must say once which
//! option is wrong (`[database] connection`), which file or server it
//! names (never the password) and what to do, and exit 1 before it serves,
//! within seconds, instead of hanging on an unreachable server or serving
//! 500s from an in-memory database.

#[path = "runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_osapi-compute");

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::TestConf;

/// The uid and gid the binary runs as when the tests run as root, for
/// whom permission bits do not stop writes.
const NOBODY: u32 = 65534;

/// How a start-up ended.
struct Exit {
    /// The exit code; `None` when it was still running at the limit
    /// (then killed).
    code: Option<i32>,
    /// From spawn to exit (or to the limit).
    elapsed: Duration,
    /// Everything it wrote to stdout and stderr.
    log: String,
}

impl Exit {
    /// The messages of its ERROR and WARNING lines, and of the one line a
    /// configuration refused before logging starts (`<prog>: error: …`);
    /// but the warning every start with nova's stock paste file gives
    /// about its osprofiler filter, which is not about the store.
    fn complaints(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|line| !line.contains(nova_middleware::profiler::WARNING))
            .filter_map(|line| {
                line.split_once(" ERROR ")
                    .or_else(|| line.split_once(" WARNING "))
                    .map(|(_, rest)| rest.split_once(' ').map_or(rest, |(_, msg)| msg))
                    .or_else(|| line.split_once(": error: ").map(|(_, msg)| msg))
            })
            .collect()
    }

    /// Asserts that it exited 1 within `limit` after saying exactly
    /// `message`, once, and nothing else at ERROR or WARNING level.
    fn assert_refused_with(&self, message: &str, limit: Duration) {
        assert_eq!(self.code, Some(1), "exit code; log:\n{}", self.log);
        assert!(
            self.elapsed < limit,
            "took {:?}, more than {limit:?}; log:\n{}",
            self.elapsed,
            self.log
        );
        assert_eq!(self.complaints(), [message], "log:\n{}", self.log);
    }
}

/// Runs the binary with `conf` until it exits, or kills it after `limit`.
/// `as_nobody` runs it as uid/gid 65534 when the tests run as root.
fn start_until_exit(conf: &TestConf, limit: Duration, as_nobody: bool) -> Exit {
    let conf_path = conf.write();
    let log_path = conf.dir().join("service.log");
    let log = File::create(&log_path).expect("log file");
    let mut command = Command::new(BINARY);
    command
        .arg("--config-file")
        .arg(&conf_path)
        .args(["--port", "0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
    if as_nobody && running_as_root(conf.dir()) {
        // nobody must read nova.conf and api-paste.ini in the temp dir.
        for path in [conf.dir(), &conf_path, &conf.dir().join("api-paste.ini")] {
            let mode = if path.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        command.uid(NOBODY).gid(NOBODY);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn the binary");
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Exit {
        code,
        elapsed: started.elapsed(),
        log: std::fs::read_to_string(&log_path).unwrap_or_default(),
    }
}

/// Whether this process runs as root: the owner of a file it just made.
fn running_as_root(dir: &Path) -> bool {
    let probe = dir.join("owner-probe");
    std::fs::write(&probe, "").expect("write a probe file");
    let uid = std::fs::metadata(&probe).expect("stat").uid();
    std::fs::remove_file(&probe).expect("remove the probe file");
    uid == 0
}

/// A local port nothing listens on (bound, read back, closed).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("local addr").port()
}

/// A listening socket that never accepts, with its queue full so that new
/// connections are never even acknowledged; keep the value alive.
fn black_hole() -> (socket2::Socket, Vec<TcpStream>, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    socket.bind(&any_port.into()).expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .expect("local addr")
        .as_socket()
        .expect("inet");
    // The kernel queues one connection beyond a backlog of 0; fill the
    // queue until a connect is no longer answered.
    let mut queued = Vec::new();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => queued.push(stream),
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => break,
            Err(err) => panic!("filling the queue: {err}"),
        }
        assert!(queued.len() < 16, "the listen queue never filled");
    }
    (socket, queued, addr.port())
}

#[test]
fn a_missing_database_directory_is_named_once_and_the_service_exits_1() {
    let conf = TestConf::new();
    let missing = conf.dir().join("no-such-dir/state");
    let file = missing.join("nova.sqlite");
    let conf = conf.set(
        "database",
        "connection",
        &format!("sqlite:///{}", file.display()),
    );

    let exit = start_until_exit(&conf, Duration::from_secs(30), false);

    exit.assert_refused_with(
        &format!(
            "[database] connection: cannot open the SQLite file {}: the directory {} does not exist; \
             create it, writable by the user this service runs as, or set the option to another path",
            file.display(),
            missing.display()
        ),
        Duration::from_secs(10),
    );
}

#[test]
fn a_read_only_database_directory_is_named_once_and_the_service_exits_1() {
    let conf = TestConf::new();
    let read_only = conf.dir().join("read-only");
    std::fs::create_dir(&read_only).expect("mkdir");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let file = read_only.join("nova.sqlite");
    let conf = conf.set(
        "database",
        "connection",
        &format!("sqlite:///{}", file.display()),
    );

    // As root the binary runs as nobody, for whom the mode applies.
    let exit = start_until_exit(&conf, Duration::from_secs(30), true);

    exit.assert_refused_with(
        &format!(
            "[database] connection: cannot open the SQLite file {}: the directory {} is not writable by \
             the user this service runs as; let that user write there (SQLite creates the file and its \
             -wal and -shm files beside it), or set the option to another path",
            file.display(),
            read_only.display()
        ),
        Duration::from_secs(10),
    );
}

#[test]
fn a_database_path_below_a_regular_file_is_named_once_and_the_service_exits_1() {
    let conf = TestConf::new();
    let plain = conf.dir().join("plain-file");
    std::fs::write(&plain, "not a directory").expect("write");
    let file = plain.join("nova.sqlite");
    let conf = conf.set(
        "database",
        "connection",
        &format!("sqlite:///{}", file.display()),
    );

    let exit = start_until_exit(&conf, Duration::from_secs(30), false);

    exit.assert_refused_with(
        &format!(
            "[database] connection: cannot open the SQLite file {}: {} is a file, not a directory; \
             set the option to a path inside a directory",
            file.display(),
            plain.display()
        ),
        Duration::from_secs(10),
    );
}

#[test]
fn a_refused_postgres_connection_is_named_at_once_without_the_password() {
    let port = closed_port();
    // A long connect timeout: a refused connection must not wait for it.
    let conf = TestConf::new()
        .set(
            "database",
            "connection",
            &format!("postgresql+psycopg2://nova:s3cret-pw@127.0.0.1:{port}/nova"),
        )
        .set("database", "connect_timeout", "30");

    let exit = start_until_exit(&conf, Duration::from_secs(40), false);

    exit.assert_refused_with(
        &format!(
            "[database] connection: cannot open PostgreSQL at 127.0.0.1:{port} (database nova, user nova): \
             the connection was refused; check that PostgreSQL runs there and that this host may reach it, \
             or set the option to another server"
        ),
        Duration::from_secs(10),
    );
    assert!(!exit.log.contains("s3cret-pw"), "log:\n{}", exit.log);
}

#[test]
fn a_postgres_server_that_never_answers_is_given_up_after_connect_timeout() {
    let (_listener, _queued, port) = black_hole();
    let conf = TestConf::new()
        .set(
            "database",
            "connection",
            &format!("postgresql://nova:s3cret-pw@127.0.0.1:{port}/nova"),
        )
        .set("database", "connect_timeout", "1");

    let exit = start_until_exit(&conf, Duration::from_secs(40), false);

    exit.assert_refused_with(
        &format!(
            "[database] connection: cannot open PostgreSQL at 127.0.0.1:{port} (database nova, user nova): \
             no answer within 1 s ([database] connect_timeout); check that PostgreSQL runs there and that \
             no firewall drops the connection, or raise [database] connect_timeout"
        ),
        Duration::from_secs(8),
    );
    assert!(exit.elapsed >= Duration::from_secs(1), "{:?}", exit.elapsed);
    assert!(!exit.log.contains("s3cret-pw"), "log:\n{}", exit.log);
}

#[test]
fn an_in_memory_database_is_refused_naming_the_option() {
    let conf = TestConf::new()
        .set("database", "connection", "sqlite://")
        .set("DEFAULT", "osapi_compute_workers", "2");

    let exit = start_until_exit(&conf, Duration::from_secs(30), false);

    exit.assert_refused_with(
        "[database] connection = sqlite:// is an in-memory SQLite database, private to one process: \
         each worker, each API and each admin command would get its own empty one, lost at exit; \
         use a file path, such as sqlite:////var/lib/nova/nova.sqlite",
        Duration::from_secs(10),
    );
}
