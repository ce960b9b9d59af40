//! nova's introspection kept: oslo.service's `backdoor_port` /
//! `backdoor_socket` (a Python console in nova, which has no meaning here)
//! serve the read-only [`report`] instead, and SIGUSR2 writes the same
//! report to the log, as oslo's Guru Meditation Report does. Both are off
//! unless one of the two options is set.
//!
//! The parent serves the backdoor from its supervision loop (no thread:
//! it still forks), since it knows the workers' pids and start times; the
//! workers' connection counts come from their stats files
//! ([`nova_middleware::metrics::store`]), which every worker writes while
//! introspection or the metrics filter is on ([`stats`]). With one worker
//! there is no parent, and the worker serves the backdoor itself.

pub mod report;
pub mod stats;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nova_conf::{DefaultGroup, PortRange};

/// How long a reader of the report may take to receive it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the backdoor could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackdoorError {
    /// No port of `[DEFAULT] backdoor_port` could be bound on loopback.
    #[error("cannot open the introspection report on 127.0.0.1 ports {start}:{end} ([DEFAULT] backdoor_port): {source}")]
    Port {
        /// The first port tried.
        start: u16,
        /// The last port tried.
        end: u16,
        /// The last error.
        source: std::io::Error,
    },
    /// The Unix socket of `[DEFAULT] backdoor_socket` could not be made.
    #[error("cannot open the introspection report on socket {} ([DEFAULT] backdoor_socket): {source}", path.display())]
    Socket {
        /// The socket's path, `{pid}` replaced.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The bound backdoor: a loopback TCP port or a Unix socket.
#[derive(Debug)]
pub enum Backdoor {
    /// `backdoor_port`, on 127.0.0.1.
    Tcp(TcpListener),
    /// `backdoor_socket`; the path is removed when the backdoor is closed
    /// by the process that made it.
    Unix {
        /// The listening socket.
        listener: UnixListener,
        /// Its path.
        path: PathBuf,
        /// The process that bound it (a forked worker drops its copy
        /// without removing the file).
        owner: u32,
    },
}

impl Backdoor {
    /// Opens what `[DEFAULT]` asks for: `backdoor_socket` (which wins, as
    /// in oslo.service) or `backdoor_port`; `None` when neither is set.
    pub fn open(default: &DefaultGroup) -> Result<Option<Backdoor>, BackdoorError> {
        if let Some(path) = &default.backdoor_socket {
            return bind_unix(path).map(Some);
        }
        match default.backdoor_port {
            Some(range) => bind_tcp(range).map(Some),
            None => Ok(None),
        }
    }

    /// Where it listens, for the start-up log line.
    pub fn describe(&self) -> String {
        match self {
            Backdoor::Tcp(listener) => listener
                .local_addr()
                .map_or_else(|_| "127.0.0.1".to_owned(), |a| a.to_string()),
            Backdoor::Unix { path, .. } => path.display().to_string(),
        }
    }

    /// The listening descriptor, to poll.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Backdoor::Tcp(listener) => listener.as_fd(),
            Backdoor::Unix { listener, .. } => listener.as_fd(),
        }
    }

    /// Answers every connection waiting now with `report()`, without
    /// blocking on accept; each reader gets [`WRITE_TIMEOUT`] to take it.
    /// Nothing is read: the report is read-only.
    pub fn answer_waiting(&self, report: impl Fn() -> String) {
        loop {
            let written = match self {
                Backdoor::Tcp(listener) => match listener.accept() {
                    Ok((stream, _)) => send(stream, &report()),
                    Err(_) => return,
                },
                Backdoor::Unix { listener, .. } => match listener.accept() {
                    Ok((stream, _)) => send(stream, &report()),
                    Err(_) => return,
                },
            };
            if let Err(err) = written {
                tracing::debug!("introspection report not delivered: {err}");
            }
        }
    }

    /// Serves the backdoor on the current tokio runtime until the process
    /// ends (the in-process service, which has no parent loop).
    pub fn spawn(self, report: impl Fn() -> String + Send + Sync + 'static) {
        tokio::spawn(async move {
            if let Err(err) = self.serve(report).await {
                tracing::error!("introspection report unavailable: {err}");
            }
        });
    }

    async fn serve(&self, report: impl Fn() -> String) -> std::io::Result<()> {
        match self {
            Backdoor::Tcp(listener) => {
                let listener = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    deliver(stream, &report()).await;
                }
            }
            Backdoor::Unix { listener, .. } => {
                let listener = tokio::net::UnixListener::from_std(listener.try_clone()?)?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    deliver(stream, &report()).await;
                }
            }
        }
    }
}

/// Writes the report to one reader of the in-process backdoor, within
/// [`WRITE_TIMEOUT`], and closes the connection.
async fn deliver(mut stream: impl tokio::io::AsyncWrite + Unpin, report: &str) {
    use tokio::io::AsyncWriteExt;
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(report.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::debug!("introspection report not delivered");
    }
}

impl Drop for Backdoor {
    fn drop(&mut self) {
        if let Backdoor::Unix { path, owner, .. } = self {
            if *owner == std::process::id() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Writes the report to one reader and closes the connection.
fn send<S: Write + SetTimeout>(mut stream: S, report: &str) -> std::io::Result<()> {
    stream.blocking_with_timeout(WRITE_TIMEOUT)?;
    stream.write_all(report.as_bytes())?;
    stream.flush()
}

/// The two stream kinds, made blocking with a write timeout.
trait SetTimeout {
    fn blocking_with_timeout(&self, timeout: Duration) -> std::io::Result<()>;
}

impl SetTimeout for std::net::TcpStream {
    fn blocking_with_timeout(&self, timeout: Duration) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_write_timeout(Some(timeout))
    }
}

impl SetTimeout for std::os::unix::net::UnixStream {
    fn blocking_with_timeout(&self, timeout: Duration) -> std::io::Result<()> {
        self.set_nonblocking(false)?;
        self.set_write_timeout(Some(timeout))
    }
}

/// Binds the first free port of `range` on loopback (never another
/// address: the report shows the configuration).
fn bind_tcp(range: PortRange) -> Result<Backdoor, BackdoorError> {
    let mut last = std::io::Error::other("empty port range");
    for port in range.start..=range.end {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            Ok(listener) => {
                listener
                    .set_nonblocking(true)
                    .map_err(|source| BackdoorError::Port {
                        start: range.start,
                        end: range.end,
                        source,
                    })?;
                return Ok(Backdoor::Tcp(listener));
            }
            Err(err) => last = err,
        }
    }
    Err(BackdoorError::Port {
        start: range.start,
        end: range.end,
        source: last,
    })
}

/// Binds the Unix socket at `path` (`{pid}` replaced), replacing a stale
/// one, readable and writable by the service's user only.
fn bind_unix(path: &Path) -> Result<Backdoor, BackdoorError> {
    let pid = std::process::id();
    let path = PathBuf::from(path.to_string_lossy().replace("{pid}", &pid.to_string()));
    let err = |source| BackdoorError::Socket {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let listener = UnixListener::bind(&path).map_err(err)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    Ok(Backdoor::Unix {
        listener,
        path,
        owner: pid,
    })
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_all(mut stream: impl Read) -> String {
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn the_port_is_on_loopback_and_answers_each_reader_with_the_report() {
        let backdoor = bind_tcp(PortRange { start: 0, end: 0 }).unwrap();
        let addr: SocketAddr = backdoor.describe().parse().unwrap();
        assert!(addr.ip().is_loopback());
        let first = std::net::TcpStream::connect(addr).unwrap();
        let second = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        backdoor.answer_waiting(|| "report text\n".to_owned());
        assert_eq!(read_all(first), "report text\n");
        assert_eq!(read_all(second), "report text\n");
        // Nobody waiting: it returns at once.
        backdoor.answer_waiting(|| unreachable!("no reader"));
    }

    #[tokio::test]
    async fn one_process_serves_the_report_on_its_runtime() {
        let backdoor = bind_tcp(PortRange { start: 0, end: 0 }).unwrap();
        let addr: SocketAddr = backdoor.describe().parse().unwrap();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        backdoor.spawn(move || {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            format!("report {n}\n")
        });
        for n in 1..=2 {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut text = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut text)
                .await
                .unwrap();
            assert_eq!(text, format!("report {n}\n"));
        }
    }

    #[test]
    fn a_taken_port_range_is_an_error_naming_the_option() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind_tcp(PortRange {
            start: port,
            end: port,
        })
        .err()
        .unwrap();
        let text = err.to_string();
        assert!(text.contains(&format!("ports {port}:{port}")), "{text}");
        assert!(text.contains("[DEFAULT] backdoor_port"), "{text}");
    }

    #[test]
    fn the_socket_replaces_pid_is_private_and_goes_with_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let backdoor = bind_unix(&dir.path().join("nova-{pid}.sock")).unwrap();
        let path = dir.path().join(format!("nova-{}.sock", std::process::id()));
        assert_eq!(backdoor.describe(), path.display().to_string());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let reader = std::os::unix::net::UnixStream::connect(&path).unwrap();
        backdoor.answer_waiting(|| "over the socket\n".to_owned());
        assert_eq!(read_all(reader), "over the socket\n");
        drop(backdoor);
        assert!(!path.exists());
    }
}
