//! The pre-fork `ProcessLauncher`: the parent holds the bound socket, forks
//! the workers before any thread or runtime exists in it, and supervises
//! them: respawn with oslo's "forking too fast" limit, SIGTERM drain bounded
//! by `graceful_shutdown_timeout`, SIGINT fast exit, SIGHUP reload with a
//! rolling replacement of the workers (the socket never closes, so no
//! connection is refused), SIGTTIN/SIGTTOU to add or remove a worker.

#![allow(unsafe_code)] // fork(2) and prctl(2) live here and nowhere else

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use nova_middleware::metrics::store::{self, LauncherState, WorkerEntry};

use super::signals::SignalPipe;
use super::{notify, Ready, Service};
use crate::exit::{EXIT_FAILURE, EXIT_OK};
use crate::introspection::report::ProcessStatus;
use crate::introspection::{unix_now, Backdoor};

/// How long a new worker may take to start serving; one that has not said
/// it serves by then counts as failed (start-up ends, a reload rolls back).
const READY_WAIT: Duration = Duration::from_secs(30);

/// Extra time the parent grants after `graceful_shutdown_timeout`, so a
/// worker's own drain deadline fires first and reports itself.
const PARENT_GRACE: Duration = Duration::from_secs(2);

struct Child {
    /// The read end of the worker's readiness pipe, until it reported.
    ready: Option<OwnedFd>,
    /// When it was forked, in seconds since the Unix epoch.
    started: u64,
}

/// Supervises the forked workers of one service.
pub struct ProcessLauncher<S: Service> {
    service: S,
    /// The bound socket; dropped when the service stops (see [`Self::stop`]).
    listener: Option<TcpListener>,
    children: BTreeMap<Pid, Child>,
    forktimes: VecDeque<Instant>,
    /// The parent's signal pipe; `None` in a forked worker.
    signals: Option<SignalPipe>,
    workers: usize,
    /// The introspection report's port or socket, when configured.
    backdoor: Option<Backdoor>,
    /// When the service started, in seconds since the Unix epoch.
    started: u64,
    /// Workers forked to replace one that died.
    restarts: u64,
    /// Workers this parent told to stop (reload, SIGTTOU): their exit is
    /// no restart.
    deliberate: BTreeSet<Pid>,
}

impl<S: Service> ProcessLauncher<S> {
    /// Takes the service and its bound socket. Installs the parent's signal
    /// handlers.
    pub fn new(service: S, listener: TcpListener) -> anyhow::Result<Self> {
        let workers = service.workers().max(1);
        Ok(Self {
            service,
            listener: Some(listener),
            children: BTreeMap::new(),
            forktimes: VecDeque::new(),
            signals: Some(SignalPipe::install()?),
            workers,
            backdoor: None,
            started: unix_now(),
            restarts: 0,
            deliberate: BTreeSet::new(),
        })
    }

    /// Serves the introspection report on `backdoor` from the supervision
    /// loop (and never in a worker).
    pub fn with_backdoor(mut self, backdoor: Option<Backdoor>) -> Self {
        self.backdoor = backdoor;
        self
    }

    /// Starts the workers and supervises them until a stop; returns the exit
    /// code.
    pub fn run(mut self) -> i32 {
        tracing::info!("Starting {} workers", self.workers);
        let mut fresh = Vec::new();
        while self.children.len() < self.workers {
            match self.start_child() {
                Some(pid) => fresh.push(pid),
                None => return EXIT_FAILURE,
            }
        }
        for pid in fresh {
            if !self.wait_ready(pid) {
                tracing::error!(
                    "{}: worker {pid} failed to start; stopping",
                    self.service.name()
                );
                self.kill_all(Signal::SIGKILL);
                self.reap_all();
                return EXIT_FAILURE;
            }
        }
        notify::notify("READY=1");
        loop {
            self.wait_for_event(Duration::from_millis(500));
            self.reap(false);
            if let Some(backdoor) = &self.backdoor {
                backdoor.answer_waiting(|| self.report().unwrap_or_default());
            }
            for signal in self.take_signals() {
                match signal {
                    Signal::SIGUSR2 => match self.report() {
                        Some(report) => crate::logging::write_report(&report),
                        None => tracing::info!(
                            "Caught SIGUSR2; no introspection report is configured \
                             ([DEFAULT] backdoor_port or backdoor_socket)"
                        ),
                    },
                    Signal::SIGINT => {
                        tracing::info!("Caught SIGINT signal, instantaneous exiting");
                        self.kill_all(Signal::SIGKILL);
                        return EXIT_FAILURE;
                    }
                    Signal::SIGTERM => {
                        tracing::info!("Caught SIGTERM, stopping children");
                        return self.stop();
                    }
                    Signal::SIGHUP => {
                        tracing::info!("Caught SIGHUP, reloading and replacing workers");
                        self.reload();
                    }
                    Signal::SIGTTIN => {
                        self.workers += 1;
                        tracing::info!("SIGTTIN: raising workers to {}", self.workers);
                    }
                    Signal::SIGTTOU => self.remove_worker(),
                    _ => {}
                }
            }
            while self.children.len() < self.workers {
                if self.start_child().is_none() {
                    return EXIT_FAILURE;
                }
            }
        }
    }

    /// Forks one worker to replace one that died or to add one, under
    /// oslo's "forking too fast" limit against fork storms.
    fn start_child(&mut self) -> Option<Pid> {
        if self.forktimes.len() > self.workers {
            let oldest = self.forktimes[0];
            if oldest.elapsed() < Duration::from_secs(self.workers as u64) {
                tracing::info!("Forking too fast, sleeping");
                std::thread::sleep(Duration::from_secs(1));
            }
            self.forktimes.pop_front();
        }
        self.forktimes.push_back(Instant::now());
        self.fork_worker()
    }

    /// Forks one worker; in the child this never returns.
    fn fork_worker(&mut self) -> Option<Pid> {
        let (ready_read, ready_write) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
            Ok(pipe) => pipe,
            Err(err) => {
                tracing::error!("cannot create a readiness pipe: {err}");
                return None;
            }
        };
        let parent = nix::unistd::getpid();
        // SAFETY: the parent has a single thread (it never starts a runtime
        // or a thread), so the child may run arbitrary code after fork.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { child }) => {
                drop(ready_write);
                tracing::debug!("Started child {child}");
                self.children.insert(
                    child,
                    Child {
                        ready: Some(ready_read),
                        started: unix_now(),
                    },
                );
                self.write_state();
                Some(child)
            }
            Ok(ForkResult::Child) => {
                crate::logging::after_fork();
                drop(ready_read);
                let code = self.child_main(parent, ready_write);
                std::process::exit(code);
            }
            Err(err) => {
                tracing::error!("fork failed: {err}");
                None
            }
        }
    }

    /// The worker's life after fork.
    fn child_main(&mut self, parent: Pid, ready_write: OwnedFd) -> i32 {
        // Die with the parent: SIGTERM drains this worker. Checked right
        // after, in case the parent died before prctl ran.
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain integers.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            );
        }
        if nix::unistd::getppid() != parent {
            tracing::error!("Parent process has died unexpectedly, exiting");
            return EXIT_FAILURE;
        }
        if let Some(signals) = self.signals.take() {
            signals.release_in_child();
        }
        self.children.clear();
        // The report is the parent's to serve.
        drop(self.backdoor.take());
        // The worker takes the socket: this process keeps no other copy.
        let Some(listener) = self.listener.take() else {
            return EXIT_FAILURE;
        };
        self.service.run_worker(listener, Ready::pipe(ready_write))
    }

    /// Polls the signal pipe and the backdoor for at most `timeout`.
    fn wait_for_event(&self, timeout: Duration) {
        let Some(signals) = &self.signals else {
            return;
        };
        let fd = unsafe_borrow(signals.read_fd());
        let mut fds = vec![PollFd::new(fd, PollFlags::POLLIN)];
        if let Some(backdoor) = &self.backdoor {
            fds.push(PollFd::new(backdoor.as_fd(), PollFlags::POLLIN));
        }
        let millis = timeout.as_millis().min(u16::MAX as u128) as u16;
        let _ = poll(&mut fds, PollTimeout::from(millis));
    }

    /// The introspection report as the parent sees the service: itself,
    /// every worker with its start time and, from the workers' stats
    /// files, its connections. `None` when introspection is off.
    fn report(&self) -> Option<String> {
        let reported: BTreeMap<u32, store::Snapshot> = self
            .service
            .stats_dir()
            .map(|dir| store::read_workers(&dir, 0).into_iter().collect())
            .unwrap_or_default();
        let workers = self
            .children
            .iter()
            .map(|(pid, child)| {
                let pid = pid.as_raw() as u32;
                let snapshot = reported.get(&pid);
                ProcessStatus {
                    pid,
                    started: Some(child.started),
                    connections_open: snapshot.map(|s| s.connections_open),
                    pool_size: snapshot.map(|s| s.pool_size),
                }
            })
            .collect();
        let parent = ProcessStatus {
            pid: std::process::id(),
            started: Some(self.started),
            connections_open: None,
            pool_size: None,
        };
        self.service.report(Some(parent), workers)
    }

    /// Writes what the parent knows (workers, restarts) for the metrics
    /// filter and the report, when the service has a stats directory.
    fn write_state(&self) {
        let Some(dir) = self.service.stats_dir() else {
            return;
        };
        let state = LauncherState {
            pid: std::process::id(),
            started: self.started,
            workers: self
                .children
                .iter()
                .map(|(pid, child)| WorkerEntry {
                    pid: pid.as_raw() as u32,
                    started: child.started,
                })
                .collect(),
            restarts: self.restarts,
        };
        if let Err(err) = store::write_launcher(&dir, &state) {
            tracing::warn!(
                "cannot write the launcher state in {}: {err}",
                dir.display()
            );
        }
    }

    /// A worker is gone: its counters join the retired ones, and, unless
    /// it was told to stop or the service is stopping, it counts as a
    /// restart (its replacement is forked by the supervision loop).
    fn forget(&mut self, pid: Pid, stopping: bool) {
        if !self.deliberate.remove(&pid) && !stopping {
            self.restarts += 1;
        }
        if let Some(dir) = self.service.stats_dir() {
            if let Err(err) = store::retire_worker(&dir, pid.as_raw() as u32) {
                tracing::warn!(
                    "cannot fold worker {pid}'s stats in {}: {err}",
                    dir.display()
                );
            }
        }
        self.write_state();
    }

    /// Waits until a worker says it is serving (true), or it dies or
    /// READY_WAIT passes first (false): only its own word counts.
    fn wait_ready(&mut self, pid: Pid) -> bool {
        let Some(fd) = self.children.get_mut(&pid).and_then(|c| c.ready.take()) else {
            return false;
        };
        let deadline = Instant::now() + READY_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::error!("worker {pid} not ready after {READY_WAIT:?}");
                return false;
            }
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            let millis = left.as_millis().min(1000) as u16;
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) | Err(Errno::EINTR) => continue,
                // A byte means ready; EOF (nothing to read) means the
                // worker died before it said so.
                Ok(_) => {
                    let mut byte = [0u8; 1];
                    return matches!(nix::unistd::read(fd.as_raw_fd(), &mut byte), Ok(1));
                }
                Err(_) => return false,
            }
        }
    }

    /// Waits for every worker to exit (after a kill).
    fn reap_all(&mut self) {
        while !self.children.is_empty() {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _)) => {
                    self.children.remove(&pid);
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => self.children.clear(),
            }
        }
    }

    /// Reaps exited workers. During a stop, their status feeds the exit code.
    fn reap(&mut self, stopping: bool) -> bool {
        let mut all_clean = true;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => {
                    if self.children.remove(&pid).is_some() {
                        self.forget(pid, stopping);
                        if !stopping || code != EXIT_OK {
                            tracing::info!("Child {pid} exited with status {code}");
                        }
                        all_clean &= code == EXIT_OK;
                    } else {
                        tracing::info!("pid {pid} not in child list");
                    }
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    if self.children.remove(&pid).is_some() {
                        self.forget(pid, stopping);
                    }
                    tracing::info!("Child {pid} killed by signal {}", signal as i32);
                    all_clean = false;
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return all_clean,
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(err) => {
                    tracing::warn!("waitpid: {err}");
                    return all_clean;
                }
            }
        }
    }

    /// SIGHUP: reload, then replace each worker by a fresh fork (which
    /// inherits the new configuration), one by one.
    fn reload(&mut self) {
        notify::notify("RELOADING=1");
        if let Err(err) = self.service.reload() {
            tracing::error!("reload failed, keeping the running configuration: {err:#}");
            notify::notify("READY=1");
            return;
        }
        let workers_before = self.workers;
        self.workers = self.service.workers().max(1);
        let old: Vec<Pid> = self.children.keys().copied().collect();
        for pid in old {
            // A deliberate replacement, not a crash loop: no rate limit.
            // An old worker stops only once its replacement serves.
            let started = self.fork_worker();
            if let Some(new) = started.filter(|&new| self.wait_ready(new)) {
                tracing::debug!("worker {new} replaces {pid}");
                self.deliberate.insert(pid);
                let _ = kill(pid, Signal::SIGTERM);
                self.reap(false);
                continue;
            }
            tracing::error!(
                "reload failed: a worker with the new configuration did not start; \
                 the running workers keep the previous configuration"
            );
            if let Some(new) = started {
                let _ = kill(new, Signal::SIGKILL);
                let _ = waitpid(new, None);
                self.children.remove(&new);
                self.deliberate.insert(new);
                self.forget(new, false);
            }
            self.service.restore_previous();
            self.workers = workers_before;
            break;
        }
        notify::notify("READY=1");
    }

    fn remove_worker(&mut self) {
        if self.workers <= 1 {
            tracing::info!("SIGTTOU: already at one worker");
            return;
        }
        self.workers -= 1;
        tracing::info!("SIGTTOU: lowering workers to {}", self.workers);
        if let Some(pid) = self.children.keys().next().copied() {
            self.deliberate.insert(pid);
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    /// SIGTERM: drain every worker, bounded by `graceful_shutdown_timeout`.
    fn stop(mut self) -> i32 {
        notify::notify("STOPPING=1");
        self.kill_all(Signal::SIGTERM);
        // The parent's copy of the socket must not keep it open: once the
        // last worker has served what the kernel had queued and closed its
        // copy, new connections are refused instead of queued for nobody
        // and reset when the parent exits.
        self.listener = None;
        tracing::info!("Waiting on {} children to exit", self.children.len());
        let deadline = self
            .service
            .graceful_shutdown_timeout()
            .map(|t| Instant::now() + t + PARENT_GRACE);
        let mut clean = true;
        while !self.children.is_empty() {
            clean &= self.reap(true);
            if self.children.is_empty() {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                tracing::error!("Graceful shutdown timeout exceeded, instantaneous exiting");
                self.kill_all(Signal::SIGKILL);
                return EXIT_FAILURE;
            }
            self.wait_for_event(Duration::from_millis(100));
            // A second SIGINT during the drain still means "now".
            if self.take_signals().contains(&Signal::SIGINT) {
                self.kill_all(Signal::SIGKILL);
                return EXIT_FAILURE;
            }
        }
        if clean {
            EXIT_OK
        } else {
            EXIT_FAILURE
        }
    }

    fn take_signals(&self) -> Vec<Signal> {
        self.signals
            .as_ref()
            .map(SignalPipe::take)
            .unwrap_or_default()
    }

    fn kill_all(&self, signal: Signal) {
        for pid in self.children.keys() {
            // ESRCH: it is already gone, which is what we want.
            let _ = kill(*pid, signal);
        }
    }
}

/// Runs `work` in a forked child and waits for its exit code, so that
/// whatever threads it starts (a database pool, say) never exist in the
/// parent that forks the workers later.
pub fn run_in_child(work: impl FnOnce() -> i32) -> i32 {
    // SAFETY: called from the single-threaded parent before any worker.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            crate::logging::after_fork();
            super::signals::restore_defaults();
            std::process::exit(work());
        }
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => return code,
                Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(err) => {
                    tracing::error!("waitpid: {err}");
                    return EXIT_FAILURE;
                }
            }
        },
        Err(err) => {
            tracing::error!("fork failed: {err}");
            EXIT_FAILURE
        }
    }
}

/// Borrows a raw fd owned by the signal pipe for the duration of a poll.
fn unsafe_borrow(fd: std::os::fd::RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the fd belongs to the launcher's SignalPipe, which outlives
    // every poll that uses this borrow.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}
