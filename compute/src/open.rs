//! Opening the compute domain from nova.conf, as each binary does: the
//! `[database] connection` URL, the store options and the domain options
//! read through a plain string lookup (so this crate needs nothing of the
//! runtime's config types).

use crate::store::{url, DatabaseUrl};
use crate::{Compute, ComputeConfig, Error, MigrationReport, Result, Store, StoreOptions};

/// Everything needed to open the domain, read from nova.conf up front so
/// that the async part holds no borrowed lookup.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[database] connection`.
    pub connection: String,
    /// Pool and seeding options.
    pub store: StoreOptions,
    /// Quotas, zones, the simulated cloud.
    pub compute: ComputeConfig,
}

impl Settings {
    /// Reads the options through `get(group, option)`.
    ///
    /// A connection URL that names no engine we have is refused here, and
    /// so is an in-memory SQLite database ([`Error::InMemoryDatabase`]):
    /// every process that opened one would get its own, empty, so the
    /// workers of a service, the three APIs and the admin commands would
    /// never see each other's data, and all of it would be lost at exit.
    pub fn from_raw(connection: &str, get: impl Fn(&str, &str) -> Option<String>) -> Result<Self> {
        if DatabaseUrl::parse(connection)? == DatabaseUrl::SqliteMemory {
            return Err(in_memory(connection));
        }
        Ok(Settings {
            connection: connection.to_owned(),
            store: StoreOptions::from_raw(&get)?,
            compute: ComputeConfig::from_raw(&get)?,
        })
    }
}

fn in_memory(connection: &str) -> Error {
    Error::InMemoryDatabase {
        url: url::redact(connection.trim()),
    }
}

/// Opens a worker's store: it connects on first use and checks then that
/// its schema is the one this build knows ([`Store::connect_lazy`]).
pub async fn open(settings: Settings) -> Result<Compute> {
    let store = Store::connect_lazy(&settings.connection, settings.store).await?;
    Ok(Compute::new(store, settings.compute))
}

/// `db sync`: applies every pending migration (and the first seeding).
pub async fn sync(settings: Settings) -> Result<MigrationReport> {
    let store = Store::connect(&settings.connection, settings.store).await?;
    let report = store.migrate().await;
    store.close().await;
    report
}

/// Start-up preparation, run once before the workers start: the database
/// is opened within `[database] connect_timeout` (a failure names the
/// file or server and what to do, see [`Store::connect`]); the embedded
/// SQLite default is then migrated; a PostgreSQL server is migrated only
/// by `db sync` (several hosts share it, and an operator decides when its
/// schema changes), so here it is only checked.
pub async fn prepare(settings: Settings) -> Result<()> {
    match DatabaseUrl::parse(&settings.connection)? {
        DatabaseUrl::SqliteFile(_) => sync(settings).await.map(|_| ()),
        DatabaseUrl::SqliteMemory => Err(in_memory(&settings.connection)),
        DatabaseUrl::Postgres(_) => {
            let store = Store::connect(&settings.connection, settings.store).await?;
            let checked = store.check_schema().await;
            store.close().await;
            checked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unset(_: &str, _: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_services_refuse_an_in_memory_database_naming_the_option() {
        for url in ["sqlite://", "sqlite:///:memory:"] {
            let err = Settings::from_raw(url, unset).unwrap_err();
            assert!(
                matches!(err, Error::InMemoryDatabase { .. }),
                "{url}: {err:?}"
            );
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "[database] connection = {url} is an in-memory SQLite database"
                )),
                "{text}"
            );
            assert!(text.ends_with("use a file path, such as sqlite:////var/lib/nova/nova.sqlite"));
        }
    }

    #[test]
    fn the_services_accept_a_sqlite_file_and_a_postgres_server() {
        for url in ["sqlite:///nova.sqlite", "postgresql://nova:pw@db/nova"] {
            let settings = Settings::from_raw(url, unset).unwrap();
            assert_eq!(settings.connection, url);
        }
    }

    #[tokio::test]
    async fn prepare_refuses_an_in_memory_database_given_directly() {
        let settings = Settings {
            connection: "sqlite://".into(),
            store: StoreOptions::default(),
            compute: ComputeConfig::default(),
        };
        let err = prepare(settings).await.unwrap_err();
        assert!(matches!(err, Error::InMemoryDatabase { .. }), "{err:?}");
    }
}
