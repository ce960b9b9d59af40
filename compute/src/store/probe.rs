//! The first connection of a store that connects at once ([`Store::connect`]:
//! the start-up check, the admin commands). It is bounded by
//! [`StoreOptions::connect_timeout`] and not retried, and when it fails the
//! error names the file or the server (never a password), says why, and
//! what the operator can do ([`Error::Unavailable`]), instead of sqlx's
//! bare "unable to open database file" or "pool timed out".
//!
//! [`Store::connect`]: super::Store::connect
//! [`StoreOptions::connect_timeout`]: super::StoreOptions::connect_timeout

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::{access, AccessFlags};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{Error, Result};

/// Opens the SQLite file at `path` once (creating it when missing, as the
/// pool would) and closes it again.
pub(super) async fn sqlite_file(
    path: &Path,
    opts: &SqliteConnectOptions,
    timeout: Duration,
) -> Result<()> {
    let opened = tokio::time::timeout(timeout, async {
        loop {
            match opts.connect().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok::<(), sqlx::Error>(());
                }
                // Another process holds the new file while it switches it
                // to WAL or migrates it (three services started at once):
                // SQLite has answered "database is locked" there in spite
                // of busy_timeout, so wait here, within connect_timeout.
                Err(err) if is_busy(&err) => tokio::time::sleep(BUSY_RETRY).await,
                Err(err) => return Err(err),
            }
        }
    })
    .await;
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let target = format!("the SQLite file {}", path.display());
    let (reason, advice) = match opened {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(err)) => sqlite_failure(&path).unwrap_or_else(|| {
            (
                format!("SQLite says: {}", sqlite_message(&err)),
                "check that file and its directory, or set the option to another path".into(),
            )
        }),
        Err(_) => (
            format!("it did not open within {}", seconds(timeout)),
            "another process may hold it locked; raise [database] connect_timeout, or set the option to another path".into(),
        ),
    };
    Err(Error::Unavailable {
        target,
        reason,
        advice,
    })
}

/// How long to wait before opening a SQLite file again that another
/// connection held locked.
const BUSY_RETRY: Duration = Duration::from_millis(20);

/// Whether SQLite refused because another connection holds the file
/// (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended codes).
fn is_busy(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Why SQLite could not open `path` (absolute), as far as the file system
/// tells, with what to do; `None` when it tells nothing.
fn sqlite_failure(path: &Path) -> Option<(String, String)> {
    let dir = path.parent()?;
    // The nearest ancestor that exists tells a missing directory from a
    // file standing where a directory should be.
    for ancestor in dir.ancestors() {
        match std::fs::metadata(ancestor) {
            Ok(meta) if meta.is_dir() && ancestor == dir => break,
            Ok(meta) if meta.is_dir() => {
                return Some((
                    format!("the directory {} does not exist", dir.display()),
                    "create it, writable by the user this service runs as, or set the option to another path".into(),
                ));
            }
            Ok(_) => {
                return Some((
                    format!("{} is a file, not a directory", ancestor.display()),
                    "set the option to a path inside a directory".into(),
                ));
            }
            Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {}
            Err(err) => {
                return Some((
                    format!("{} cannot be reached: {err}", ancestor.display()),
                    "let the user this service runs as reach that directory, or set the option to another path".into(),
                ));
            }
        }
    }
    if std::fs::metadata(path).is_ok_and(|meta| meta.is_dir()) {
        return Some((
            format!("{} is a directory", path.display()),
            "set the option to a file path".into(),
        ));
    }
    let unwritable = |what: &str, at: &Path, errno: Errno| {
        let why = match errno {
            Errno::EROFS => "is on a read-only file system",
            Errno::EACCES | Errno::EPERM => "is not writable by the user this service runs as",
            _ => return None,
        };
        Some((
            format!("{what} {} {why}", at.display()),
            "let that user write there (SQLite creates the file and its -wal and -shm files beside it), or set the option to another path".into(),
        ))
    };
    if path.exists() {
        if let Err(errno) = access(path, AccessFlags::R_OK | AccessFlags::W_OK) {
            return unwritable("the file", path, errno);
        }
    }
    match access(dir, AccessFlags::W_OK | AccessFlags::X_OK) {
        Err(errno) => unwritable("the directory", dir, errno),
        Ok(()) => None,
    }
}

/// SQLite's own words for a failed open, without sqlx's prefix.
fn sqlite_message(err: &sqlx::Error) -> String {
    match err.as_database_error() {
        Some(db) => db.message().to_owned(),
        None => err.to_string(),
    }
}

/// Opens one connection to the PostgreSQL server of `opts` (TCP or socket
/// connect, TLS if asked, startup and authentication) and closes it again.
pub(super) async fn postgres(opts: &PgConnectOptions, timeout: Duration) -> Result<()> {
    let opened = tokio::time::timeout(timeout, async {
        let conn = opts.connect().await?;
        let _ = conn.close().await;
        Ok::<(), sqlx::Error>(())
    })
    .await;
    let unreachable = "check that PostgreSQL runs there and that this host may reach it, or set the option to another server";
    let (reason, advice) = match opened {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(sqlx::Error::Io(err))) if err.kind() == ErrorKind::ConnectionRefused => {
            ("the connection was refused".to_owned(), unreachable.to_owned())
        }
        Ok(Err(sqlx::Error::Io(err))) => (err.to_string(), unreachable.to_owned()),
        Ok(Err(sqlx::Error::Database(err))) => (
            format!("PostgreSQL answered: {}", err.message()),
            "check the user, password and database name in the option, and the server's pg_hba.conf".to_owned(),
        ),
        Ok(Err(sqlx::Error::Tls(err))) => (
            format!("TLS failed: {err}"),
            "check sslmode and the certificates given in the option".to_owned(),
        ),
        Ok(Err(err)) => (err.to_string(), unreachable.to_owned()),
        Err(_) => (
            format!(
                "no answer within {} ([database] connect_timeout)",
                seconds(timeout)
            ),
            "check that PostgreSQL runs there and that no firewall drops the connection, or raise [database] connect_timeout".to_owned(),
        ),
    };
    Err(Error::Unavailable {
        target: postgres_target(opts),
        reason,
        advice,
    })
}

/// "PostgreSQL at host:port (database d, user u)": where the options point,
/// without the password.
fn postgres_target(opts: &PgConnectOptions) -> String {
    let host = opts.get_host();
    let port = opts.get_port();
    let place = match opts.get_socket() {
        Some(dir) => format!("the socket {}", socket_path(dir, port).display()),
        None if host.starts_with('/') => {
            format!(
                "the socket {}",
                socket_path(Path::new(host), port).display()
            )
        }
        None if host.contains(':') && !host.starts_with('[') => format!("[{host}]:{port}"),
        None => format!("{host}:{port}"),
    };
    let user = opts.get_username();
    let database = opts.get_database().unwrap_or(user);
    format!("PostgreSQL at {place} (database {database}, user {user})")
}

/// libpq's socket file in `dir` for `port`.
fn socket_path(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

/// `5 s`, or `250 ms` below a second.
fn seconds(timeout: Duration) -> String {
    if timeout.subsec_millis() == 0 {
        format!("{} s", timeout.as_secs())
    } else {
        format!("{} ms", timeout.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};
    use std::str::FromStr;
    use std::time::Instant;

    use super::*;
    use crate::{Store, StoreOptions};

    fn options(connect_timeout: Duration) -> StoreOptions {
        StoreOptions {
            connect_timeout,
            ..StoreOptions::default()
        }
    }

    fn unavailable(err: Error) -> (String, String, String) {
        match err {
            Error::Unavailable {
                target,
                reason,
                advice,
            } => (target, reason, advice),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    /// A local port nothing listens on (bound, read back, closed).
    fn closed_port() -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_sqlite_file_in_a_missing_directory_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir");
        let url = format!("sqlite:///{}/nova.sqlite", missing.display());

        let err = Store::connect(&url, StoreOptions::default())
            .await
            .unwrap_err();

        let (target, reason, advice) = unavailable(err);
        assert_eq!(
            target,
            format!("the SQLite file {}/nova.sqlite", missing.display())
        );
        assert_eq!(
            reason,
            format!("the directory {} does not exist", missing.display())
        );
        assert!(advice.starts_with("create it"), "{advice}");
    }

    #[tokio::test]
    async fn a_sqlite_file_below_a_regular_file_names_the_file_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "not a directory").unwrap();
        let url = format!("sqlite:///{}/nova.sqlite", file.display());

        let err = Store::connect(&url, StoreOptions::default())
            .await
            .unwrap_err();

        let (_, reason, _) = unavailable(err);
        assert_eq!(
            reason,
            format!("{} is a file, not a directory", file.display())
        );
    }

    #[tokio::test]
    async fn a_sqlite_path_that_is_a_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().display());

        let err = Store::connect(&url, StoreOptions::default())
            .await
            .unwrap_err();

        let (_, reason, _) = unavailable(err);
        assert_eq!(reason, format!("{} is a directory", dir.path().display()));
    }

    #[tokio::test]
    async fn a_file_that_is_no_database_is_reported_in_sqlites_words() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nova.sqlite");
        std::fs::write(&file, "x".repeat(4096)).unwrap();
        let url = format!("sqlite:///{}", file.display());

        let err = Store::connect(&url, StoreOptions::default())
            .await
            .unwrap_err();

        let (_, reason, advice) = unavailable(err);
        assert_eq!(reason, "SQLite says: file is not a database");
        assert_eq!(
            advice,
            "check that file and its directory, or set the option to another path"
        );
    }

    #[tokio::test]
    async fn a_refused_postgres_connection_fails_at_once_naming_host_and_port_not_password() {
        let port = closed_port();
        let url = format!("postgresql://nova:hunter2@127.0.0.1:{port}/novadb");
        let started = Instant::now();

        let err = Store::connect(&url, options(Duration::from_secs(30)))
            .await
            .unwrap_err();

        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a refused connection is not retried until the timeout: {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "[database] connection: cannot open PostgreSQL at 127.0.0.1:{port} (database novadb, user nova): \
                 the connection was refused; check that PostgreSQL runs there and that this host may reach it, \
                 or set the option to another server"
            )
        );
        assert!(!text.contains("hunter2"));
    }

    #[tokio::test]
    async fn a_postgres_server_that_never_answers_fails_after_connect_timeout() {
        // Accepted by the kernel, never answered: the TCP connect succeeds
        // and the startup message waits for a reply that never comes.
        let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = silent.local_addr().unwrap().port();
        let url = format!("postgresql://nova:nova@127.0.0.1:{port}/nova");
        let started = Instant::now();

        let err = Store::connect(&url, options(Duration::from_millis(300)))
            .await
            .unwrap_err();

        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(5),
            "{elapsed:?}"
        );
        let (target, reason, _) = unavailable(err);
        assert_eq!(
            target,
            format!("PostgreSQL at 127.0.0.1:{port} (database nova, user nova)")
        );
        assert_eq!(
            reason,
            "no answer within 300 ms ([database] connect_timeout)"
        );
    }

    #[test]
    fn postgres_targets_name_socket_dirs_and_ipv6_hosts_plainly() {
        let socket = PgConnectOptions::from_str("postgres://u@%2Frun%2Fpostgresql:5433/d").unwrap();
        assert_eq!(
            postgres_target(&socket),
            "PostgreSQL at the socket /run/postgresql/.s.PGSQL.5433 (database d, user u)"
        );
        let v6 = PgConnectOptions::from_str("postgres://u:p@[::1]:5432").unwrap();
        assert_eq!(
            postgres_target(&v6),
            "PostgreSQL at [::1]:5432 (database u, user u)"
        );
    }
}
