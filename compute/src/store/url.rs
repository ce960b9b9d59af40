//! Parsing of nova's SQLAlchemy-style `[database] connection` URLs.
//!
//! SQLAlchemy spells SQLite paths after `sqlite://` + `/`: so
//! `sqlite:///nova.sqlite` is the *relative* path `nova.sqlite` and
//! `sqlite:////var/lib/nova/nova.sqlite` the *absolute*
//! `/var/lib/nova/nova.sqlite`; `sqlite://` alone is an in-memory database.
//! PostgreSQL URLs may carry a SQLAlchemy driver (`postgresql+psycopg2://`).

use std::path::PathBuf;

use crate::{Error, Result};

/// Where a `[database] connection` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file (relative paths are relative to the working
    /// directory, as with SQLAlchemy).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (`sqlite://`).
    SqliteMemory,
    /// A PostgreSQL server; the string is a `postgres://` URL sqlx accepts.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `url`; anything else than SQLite or PostgreSQL is
    /// [`Error::UnsupportedUrl`].
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        let unsupported = || Error::UnsupportedUrl { url: redact(url) };
        let (scheme, rest) = url.split_once("://").ok_or_else(unsupported)?;
        let (dialect, _driver) = match scheme.split_once('+') {
            Some((d, drv)) => (d, Some(drv)),
            None => (scheme, None),
        };
        match dialect.to_ascii_lowercase().as_str() {
            "sqlite" => {
                // Drop SQLAlchemy query options such as `?check_same_thread=false`.
                let rest = rest.split('?').next().unwrap_or("");
                if rest.is_empty() || rest == "/" || rest == "/:memory:" {
                    return Ok(DatabaseUrl::SqliteMemory);
                }
                // The first '/' separates the (empty) host from the path.
                let path = rest.strip_prefix('/').ok_or_else(unsupported)?;
                if path.is_empty() {
                    return Err(unsupported());
                }
                Ok(DatabaseUrl::SqliteFile(PathBuf::from(path)))
            }
            "postgresql" | "postgres" | "pgsql" => {
                if rest.is_empty() {
                    return Err(unsupported());
                }
                Ok(DatabaseUrl::Postgres(format!("postgres://{rest}")))
            }
            _ => Err(unsupported()),
        }
    }
}

/// `url` with the password of its userinfo replaced by `***` (for messages).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rfind('@') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_slashes_is_a_relative_sqlite_path_and_four_an_absolute_one() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///nova.sqlite").unwrap(),
            DatabaseUrl::SqliteFile("nova.sqlite".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:////var/lib/nova/nova.sqlite").unwrap(),
            DatabaseUrl::SqliteFile("/var/lib/nova/nova.sqlite".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///a/b.db?timeout=5").unwrap(),
            DatabaseUrl::SqliteFile("a/b.db".into())
        );
    }

    #[test]
    fn bare_sqlite_scheme_is_in_memory() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://").unwrap(),
            DatabaseUrl::SqliteMemory
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///:memory:").unwrap(),
            DatabaseUrl::SqliteMemory
        );
    }

    #[test]
    fn postgres_urls_with_and_without_a_driver_are_accepted() {
        for u in [
            "postgresql+psycopg2://u:p@h/db",
            "postgresql://u:p@h/db",
            "postgres://u:p@h/db",
        ] {
            assert_eq!(
                DatabaseUrl::parse(u).unwrap(),
                DatabaseUrl::Postgres("postgres://u:p@h/db".into()),
                "{u}"
            );
        }
    }

    #[test]
    fn other_engines_are_refused_without_showing_the_password() {
        let err = DatabaseUrl::parse("mysql+pymysql://nova:secret@db/nova").unwrap_err();
        assert!(matches!(err, Error::UnsupportedUrl { .. }));
        let text = err.to_string();
        assert!(text.contains("mysql+pymysql://nova:***@db/nova"), "{text}");
        assert!(!text.contains("secret"));
        assert!(matches!(
            DatabaseUrl::parse("nova.sqlite"),
            Err(Error::UnsupportedUrl { .. })
        ));
    }
}
