//! The parent's signal handling: a handler that only records the signal and
//! writes one byte to a self-pipe, so the supervision loop can `poll()` for
//! signals and child readiness together. No thread, no runtime: the parent
//! forks workers at any time.
//!
//! Who sends what:
//! - SIGTERM: systemd, docker stop, the launcher script — graceful stop.
//! - SIGINT: Ctrl-C in a terminal — instantaneous exit 1.
//! - SIGHUP: `systemctl reload`, an operator — reload config, replace workers.
//! - SIGCHLD: the kernel, when a worker dies — reap and respawn.
//! - SIGTTIN / SIGTTOU: an operator, as with gunicorn — one worker more / less.
//! - SIGUSR2: an operator, as with oslo's Guru Meditation Report — the
//!   introspection report to the log, when configured (ignored otherwise).

#![allow(unsafe_code)] // sigaction and write(2) from a signal handler

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signals the parent handles.
pub const HANDLED: [Signal; 7] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGCHLD,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGUSR2,
];

static PENDING: AtomicU64 = AtomicU64::new(0);
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn record(signal: libc::c_int) {
    PENDING.fetch_or(1 << signal, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = [0u8];
        // SAFETY: write(2) is async-signal-safe; the fd is the pipe's write
        // end, non-blocking, so a full pipe drops the byte (a wake-up is
        // already pending then).
        unsafe {
            libc::write(fd, byte.as_ptr().cast(), 1);
        }
    }
}

/// The self-pipe; its read end is what the supervision loop polls.
pub struct SignalPipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl SignalPipe {
    /// Installs the handlers for [`HANDLED`].
    pub fn install() -> nix::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(record),
            SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
            SigSet::empty(),
        );
        for signal in HANDLED {
            // SAFETY: the handler only touches atomics and write(2).
            unsafe { sigaction(signal, &action)? };
        }
        Ok(Self { read, write })
    }

    /// The fd to poll for readability.
    pub fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Empties the pipe and returns the signals seen since the last call.
    pub fn take(&self) -> Vec<Signal> {
        let mut buf = [0u8; 64];
        while matches!(nix::unistd::read(self.read.as_raw_fd(), &mut buf), Ok(n) if n > 0) {}
        let bits = PENDING.swap(0, Ordering::SeqCst);
        HANDLED
            .into_iter()
            .filter(|s| bits & (1 << (*s as i32)) != 0)
            .collect()
    }

    /// In a freshly forked worker: default handlers back, pipe closed, so
    /// the worker's runtime can install its own.
    pub fn release_in_child(self) {
        restore_defaults();
        WAKE_FD.store(-1, Ordering::SeqCst);
        drop(self.read);
        drop(self.write);
    }
}

/// Puts the default action back for every handled signal and unblocks them.
pub fn restore_defaults() {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in HANDLED {
        // SAFETY: installing SIG_DFL is always sound.
        let _ = unsafe { sigaction(signal, &default) };
    }
    let _ = SigSet::all().thread_unblock();
}
