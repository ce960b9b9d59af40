//! Measures how the pre-fork workers share connections: one listening socket
//! inherited by every worker (the project's default) against one
//! `SO_REUSEPORT` socket per worker (issue 2, item 4).
//!
//! For each mode the parent binds, forks the workers before any thread or
//! runtime exists in it (as `launcher::process` does), and forks a client
//! process that measures:
//!
//! 1. spread: `--conns` keep-alive connections opened at once, requests on
//!    each for `--secs`; connections and requests per worker (the workers
//!    answer with an `x-worker: <pid>` header);
//! 2. throughput: requests/s over the same run;
//! 3. worker loss: `--loss-loops` loops open a new connection per request
//!    (`Connection: close`); one worker is killed with SIGKILL and every
//!    request that was in flight or started in the next two seconds is
//!    classified (ok, refused, reset, timed out).
//!
//! The workers run the project's own accept loop (`nova_runtime::server::serve`)
//! on a current-thread runtime. The parent respawns a killed worker after
//! `--respawn-after` seconds (negative: never).
//!
//! Modes:
//! - `shared`: one socket (`nova_runtime::listener::bind`), inherited by all.
//! - `reuseport`: one `SO_REUSEPORT` socket per worker; the parent keeps
//!   them all and hands the dead worker's socket to its replacement (as
//!   nginx does).
//! - `reuseport-own`: one `SO_REUSEPORT` socket per worker, held by that
//!   worker alone; a replacement binds a fresh one.
//!
//! Usage: `cargo run --release -p nova-runtime --example accept_spread --
//! [--workers 2] [--conns 64] [--stagger-ms 0] [--secs 3] [--loss-loops 8]
//! [--respawn-after 1] [--modes shared,reuseport,reuseport-own]`

#![allow(unsafe_code)] // fork(2), prctl(2)

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use nova_paste::http::{Body, Response};
use nova_runtime::server::{serve, ServerOptions, Serving};
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the kill test watches after the kill.
const LOSS_WINDOW: Duration = Duration::from_secs(2);
/// Traffic before the kill, so the loops are in full swing.
const LOSS_WARMUP: Duration = Duration::from_millis(500);
/// A successful request of the kill test this slow counts as stalled.
const STALLED: Duration = Duration::from_millis(500);
/// A request of the kill test that takes longer than this counts as timed out.
const REQUEST_LIMIT: Duration = Duration::from_secs(3);

#[derive(Parser, Debug, Clone)]
#[command(about = "shared listening socket vs SO_REUSEPORT per worker")]
struct Opts {
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Keep-alive connections of the spread/throughput run.
    #[arg(long, default_value_t = 64)]
    conns: usize,
    /// Pause between two connects of the spread run (0: one burst).
    #[arg(long, default_value_t = 0)]
    stagger_ms: u64,
    /// Seconds of the spread/throughput run.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Concurrent connect-request-close loops of the kill test.
    #[arg(long, default_value_t = 8)]
    loss_loops: usize,
    /// Seconds before the parent respawns a killed worker; negative: never.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    respawn_after: f64,
    /// Comma-separated modes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "shared,reuseport,reuseport-own"
    )]
    modes: Vec<Mode>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Reuseport,
    ReuseportOwn,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Shared => "shared",
            Mode::Reuseport => "reuseport",
            Mode::ReuseportOwn => "reuseport-own",
        }
    }
}

/// What the client process reports to the parent (one JSON line).
#[derive(Serialize, Deserialize, Debug, Default)]
struct Report {
    /// Worker pid -> connections of the spread run.
    conns: BTreeMap<i32, u64>,
    /// Worker pid -> requests of the spread run.
    reqs: BTreeMap<i32, u64>,
    /// Requests that failed in the spread run.
    spread_errors: u64,
    /// Requests per second of the spread run.
    rps: f64,
    /// Kill test: outcomes of requests in flight at the kill.
    inflight: Outcomes,
    /// Kill test: outcomes of requests started within the window.
    after: Outcomes,
    /// Kill test: successful requests that took `STALLED` or longer.
    stalled: u64,
    /// Kill test: the slowest successful request, ms.
    slowest_ms: f64,
}

#[derive(Serialize, Deserialize, Debug, Default, Clone, Copy)]
struct Outcomes {
    ok: u64,
    refused: u64,
    reset: u64,
    timeout: u64,
}

impl Outcomes {
    fn failed(&self) -> u64 {
        self.refused + self.reset + self.timeout
    }
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::Reset => self.reset += 1,
            Outcome::Timeout => self.timeout += 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    Refused,
    Reset,
    Timeout,
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    anyhow::ensure!(opts.workers >= 1, "--workers must be at least 1");
    println!(
        "workers={} conns={} stagger_ms={} secs={} loss_loops={} respawn={}",
        opts.workers,
        opts.conns,
        opts.stagger_ms,
        opts.secs,
        opts.loss_loops,
        if opts.respawn_after < 0.0 {
            "never".to_owned()
        } else {
            format!("after {}s", opts.respawn_after)
        }
    );
    let mut rows = Vec::new();
    for mode in opts.modes.clone() {
        let report = run_mode(mode, &opts)?;
        rows.push((mode, report));
    }
    print_table(&rows);
    Ok(())
}

/// The sockets of one mode: one shared, or one per worker slot.
struct Sockets {
    mode: Mode,
    port: u16,
    /// Index = worker slot; `shared` has one entry used by every slot.
    held: Vec<Option<TcpListener>>,
}

impl Sockets {
    fn bind(mode: Mode, workers: usize) -> anyhow::Result<Self> {
        match mode {
            Mode::Shared => {
                let (listener, addr) = nova_runtime::listener::bind("127.0.0.1", 0, 600)?;
                Ok(Self {
                    mode,
                    port: addr.port(),
                    held: vec![Some(listener)],
                })
            }
            Mode::Reuseport | Mode::ReuseportOwn => {
                let first = reuseport_socket(0)?;
                let port = first.local_addr()?.port();
                let mut held = vec![Some(first)];
                for _ in 1..workers {
                    held.push(Some(reuseport_socket(port)?));
                }
                Ok(Self { mode, port, held })
            }
        }
    }

    /// The socket worker `slot` serves on, in the parent.
    fn for_slot(&mut self, slot: usize) -> anyhow::Result<&TcpListener> {
        let index = if self.mode == Mode::Shared { 0 } else { slot };
        if self.held[index].is_none() {
            // reuseport-own: the replacement of a dead worker gets a fresh socket.
            self.held[index] = Some(reuseport_socket(self.port)?);
        }
        Ok(self.held[index].as_ref().expect("just bound"))
    }

    /// In a forked worker: close every socket but its own.
    fn keep_only(&mut self, slot: usize) -> TcpListener {
        let index = if self.mode == Mode::Shared { 0 } else { slot };
        let own = self.held[index].take().expect("the slot's socket");
        self.held.clear();
        own
    }

    /// In the parent after a fork: reuseport-own leaves the socket to the worker.
    fn after_fork(&mut self, slot: usize) {
        if self.mode == Mode::ReuseportOwn {
            self.held[slot] = None;
        }
    }
}

/// A `SO_REUSEPORT` socket on 127.0.0.1:`port`, backlog 128 like the shared one.
fn reuseport_socket(port: u16) -> anyhow::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(nova_runtime::listener::BACKLOG)?;
    Ok(socket.into())
}

/// Dies with the parent; `false` if the parent is already gone.
fn die_with(parent: Pid) -> bool {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain integers.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    nix::unistd::getppid() == parent
}

/// Forks worker `slot`; returns its pid and the read end of its readiness pipe.
fn fork_worker(sockets: &mut Sockets, slot: usize) -> anyhow::Result<(Pid, OwnedFd)> {
    sockets.for_slot(slot)?;
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let parent = nix::unistd::getpid();
    // SAFETY: the parent never starts a thread or a runtime.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            drop(ready_write);
            sockets.after_fork(slot);
            Ok((child, ready_read))
        }
        ForkResult::Child => {
            drop(ready_read);
            let listener = sockets.keep_only(slot);
            if !die_with(parent) {
                std::process::exit(1);
            }
            std::process::exit(worker_main(listener, ready_write));
        }
    }
}

/// Waits (at most 5 s) for the worker's readiness byte.
fn wait_ready(fd: OwnedFd) {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let _ = poll(&mut fds, PollTimeout::from(5000u16));
}

/// A worker: the project's accept loop on a current-thread runtime, an app
/// answering `ok` with its pid in `x-worker`.
fn worker_main(listener: TcpListener, ready: OwnedFd) -> i32 {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 1;
    };
    runtime.block_on(async move {
        let pid = std::process::id().to_string();
        let app =
            nova_paste::http::boxed(tower::service_fn(move |_req: nova_paste::http::Request| {
                let pid = pid.clone();
                async move {
                    let mut response = Response::new(Body::from("ok"));
                    response
                        .headers_mut()
                        .insert("x-worker", pid.parse().expect("digits"));
                    Ok::<_, Infallible>(response)
                }
            }));
        let serving = Serving {
            app,
            options: Arc::new(ServerOptions {
                name: "accept_spread".into(),
                max_url_len: 16384,
                max_header_line: 16384,
                client_socket_timeout: Some(Duration::from_secs(900)),
                keep_alive: true,
                // nova's default_pool_size.
                pool_size: 1000,
                log_format: nova_runtime::access_log::LogFormat::parse("%(status_code)s"),
                tls: None,
                graceful_shutdown_timeout: Some(Duration::from_secs(1)),
            }),
        };
        if listener.set_nonblocking(true).is_err() {
            return 1;
        }
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return 1;
        };
        let _ = std::fs::File::from(ready).write_all(b"1");
        let (_keep, current) = tokio::sync::watch::channel(serving);
        serve(listener, current, std::future::pending()).await;
        0
    })
}

/// Binds, forks the workers and the client, respawns a killed worker, and
/// returns the client's report.
fn run_mode(mode: Mode, opts: &Opts) -> anyhow::Result<Report> {
    let mut sockets = Sockets::bind(mode, opts.workers)?;
    let port = sockets.port;
    // Slot -> pid of the live worker serving it (`None` once reaped, so
    // that a recycled pid is never signalled).
    let mut slots: Vec<Option<Pid>> = Vec::new();
    let mut ready = Vec::new();
    for slot in 0..opts.workers {
        let (pid, fd) = fork_worker(&mut sockets, slot)?;
        slots.push(Some(pid));
        ready.push(fd);
    }
    for fd in ready {
        wait_ready(fd);
    }
    let pids: Vec<i32> = slots.iter().flatten().map(|p| p.as_raw()).collect();

    let (result_read, result_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let parent = nix::unistd::getpid();
    // SAFETY: still no thread in the parent.
    let client = match unsafe { fork() }? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            drop(result_read);
            sockets.held.clear();
            if !die_with(parent) {
                std::process::exit(1);
            }
            let code = match client_main(port, &pids, opts) {
                Ok(report) => {
                    let line = serde_json::to_string(&report).expect("serializable");
                    let mut out = std::fs::File::from(result_write);
                    let _ = out.write_all(line.as_bytes());
                    0
                }
                Err(err) => {
                    eprintln!("client failed: {err:#}");
                    1
                }
            };
            std::process::exit(code);
        }
    };
    drop(result_write);

    // Supervise until the client's pipe closes.
    let mut output = Vec::new();
    let mut result = std::fs::File::from(result_read);
    let mut dead: Vec<(usize, Instant)> = Vec::new();
    loop {
        let mut fds = [PollFd::new(result.as_fd(), PollFlags::POLLIN)];
        let readable = matches!(poll(&mut fds, PollTimeout::from(20u16)), Ok(n) if n > 0);
        if readable {
            let mut chunk = [0u8; 4096];
            match result.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => output.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
        while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            let pid = match status {
                WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => pid,
                _ => break,
            };
            if let Some(slot) = slots.iter().position(|p| *p == Some(pid)) {
                slots[slot] = None;
                dead.push((slot, Instant::now()));
            }
        }
        if opts.respawn_after >= 0.0 {
            let due = Duration::from_secs_f64(opts.respawn_after);
            let mut still_dead = Vec::new();
            for (slot, died) in dead.drain(..) {
                if died.elapsed() >= due {
                    let (pid, fd) = fork_worker(&mut sockets, slot)?;
                    wait_ready(fd);
                    slots[slot] = Some(pid);
                } else {
                    still_dead.push((slot, died));
                }
            }
            dead = still_dead;
        }
    }
    for pid in slots.iter().flatten() {
        let _ = kill(*pid, Signal::SIGKILL);
    }
    // The client has exited (its pipe closed); it may be reaped already.
    for pid in slots.iter().flatten().chain([&client]) {
        let _ = waitpid(*pid, None);
    }
    anyhow::ensure!(
        !output.is_empty(),
        "{}: the client reported nothing",
        mode.name()
    );
    Ok(serde_json::from_slice(&output)?)
}

/// The client process: spread and throughput, then the kill test.
fn client_main(port: u16, pids: &[i32], opts: &Opts) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    runtime.block_on(async move {
        let mut report = Report::default();
        for pid in pids {
            report.conns.insert(*pid, 0);
            report.reqs.insert(*pid, 0);
        }
        spread(addr, opts, &mut report).await?;
        worker_loss(addr, Pid::from_raw(pids[0]), opts, &mut report).await;
        Ok(report)
    })
}

const KEEP_ALIVE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
const CLOSE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";

/// Measurements 1 and 2.
async fn spread(addr: SocketAddr, opts: &Opts, report: &mut Report) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    // Open every connection before any request, so the accept spread is
    // what the kernel and the workers make of one burst (or of a slow
    // arrival with --stagger-ms).
    let mut conns = Vec::new();
    for _ in 0..opts.conns {
        conns.push(tokio::spawn(TcpStream::connect(addr)));
        if opts.stagger_ms > 0 {
            tokio::time::sleep(Duration::from_millis(opts.stagger_ms)).await;
        }
    }
    let mut streams = Vec::new();
    for conn in conns {
        let stream = conn.await??;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut stream in streams {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1024);
            let mut worker = None;
            let mut served = 0u64;
            let mut failed = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let answer = async {
                    stream.write_all(KEEP_ALIVE_REQUEST).await?;
                    read_response(&mut stream, &mut buf).await
                }
                .await;
                match answer {
                    Ok(pid) => {
                        worker.get_or_insert(pid);
                        served += 1;
                    }
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            (worker, served, failed)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(opts.secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for task in tasks {
        let (worker, served, failed) = task.await?;
        if let Some(pid) = worker {
            *report.conns.entry(pid).or_default() += 1;
            *report.reqs.entry(pid).or_default() += served;
        }
        report.spread_errors += failed;
        total += served;
    }
    report.rps = total as f64 / started.elapsed().as_secs_f64();
    Ok(())
}

/// Reads one response; returns the `x-worker` pid. Keeps surplus bytes in `buf`.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<i32> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let mut pid = None;
            let mut length = 0usize;
            for line in head.lines().skip(1) {
                if let Some((name, value)) = line.split_once(':') {
                    match name.trim() {
                        "x-worker" => pid = value.trim().parse().ok(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let total = end + 4 + length;
            while buf.len() < total {
                read_more(stream, buf).await?;
            }
            buf.drain(..total);
            if !head.starts_with("http/1.1 200") {
                return Err(std::io::Error::other(head));
            }
            return pid.ok_or_else(|| std::io::Error::other("no x-worker header"));
        }
        read_more(stream, buf).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// One new connection, one request, closed.
async fn one_shot(addr: SocketAddr) -> Outcome {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(CLOSE_REQUEST).await?;
        let mut buf = Vec::new();
        read_response(&mut stream, &mut buf).await
    };
    match tokio::time::timeout(REQUEST_LIMIT, attempt).await {
        Ok(Ok(_)) => Outcome::Ok,
        Ok(Err(err)) if err.kind() == ErrorKind::ConnectionRefused => Outcome::Refused,
        Ok(Err(_)) => Outcome::Reset,
        Err(_) => Outcome::Timeout,
    }
}

/// Measurement 3: new connections in a loop; SIGKILL one worker.
async fn worker_loss(addr: SocketAddr, victim: Pid, opts: &Opts, report: &mut Report) {
    let start = Instant::now();
    let kill_at = start + LOSS_WARMUP;
    let end = kill_at + LOSS_WINDOW;
    let mut loops = Vec::new();
    for _ in 0..opts.loss_loops {
        loops.push(tokio::spawn(async move {
            // (started, finished, outcome) of every request that ended
            // after the planned kill.
            let mut seen = Vec::new();
            while Instant::now() < end {
                let began = Instant::now();
                let outcome = one_shot(addr).await;
                let finished = Instant::now();
                if finished >= kill_at {
                    seen.push((began, finished, outcome));
                }
            }
            seen
        }));
    }
    tokio::time::sleep_until(kill_at.into()).await;
    let _ = kill(victim, Signal::SIGKILL);
    let killed = Instant::now();
    for task in loops {
        let Ok(seen) = task.await else { continue };
        for (began, finished, outcome) in seen {
            if finished < killed {
                continue;
            }
            if began < killed {
                report.inflight.add(outcome);
            } else {
                report.after.add(outcome);
            }
            if matches!(outcome, Outcome::Ok) {
                let took = finished - began;
                report.slowest_ms = report.slowest_ms.max(took.as_secs_f64() * 1000.0);
                if took >= STALLED {
                    report.stalled += 1;
                }
            }
        }
    }
}

fn print_table(rows: &[(Mode, Report)]) {
    println!();
    println!(
        "| mode | conns per worker | req share min/max | req/s | kill: in-flight failed | kill: new conns failed (refused/reset/timeout) of total | kill: ok but >= 500 ms | slowest ok |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (mode, r) in rows {
        let conns: Vec<String> = r.conns.values().map(u64::to_string).collect();
        let total: u64 = r.reqs.values().sum();
        let share = |v: Option<&u64>| {
            v.map(|v| 100.0 * *v as f64 / total.max(1) as f64)
                .unwrap_or(0.0)
        };
        let (min, max) = (share(r.reqs.values().min()), share(r.reqs.values().max()));
        println!(
            "| {} | {} | {:.0}% / {:.0}% | {:.0} | {}/{} | {} ({}/{}/{}) of {} | {} | {:.0} ms |",
            mode.name(),
            conns.join(" / "),
            min,
            max,
            r.rps,
            r.inflight.failed(),
            r.inflight.failed() + r.inflight.ok,
            r.after.failed(),
            r.after.refused,
            r.after.reset,
            r.after.timeout,
            r.after.failed() + r.after.ok,
            r.stalled,
            r.slowest_ms,
        );
        if r.spread_errors > 0 {
            println!("  ({} spread connections failed)", r.spread_errors);
        }
    }
}
