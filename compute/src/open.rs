//! Opening the compute domain from nova.conf, as each binary does: the
//! `[database] connection` URL, the store options and the domain options
//! read through a plain string lookup (so this crate needs nothing of the
//! runtime's config types).

use crate::store::DatabaseUrl;
use crate::{Compute, ComputeConfig, MigrationReport, Result, Store, StoreOptions};

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
    pub fn from_raw(connection: &str, get: impl Fn(&str, &str) -> Option<String>) -> Result<Self> {
        Ok(Settings {
            connection: connection.to_owned(),
            store: StoreOptions::from_raw(&get)?,
            compute: ComputeConfig::from_raw(&get)?,
        })
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

/// Start-up preparation: the embedded SQLite default is migrated on
/// start; a PostgreSQL server is migrated only by `db sync` (several
/// hosts share it, and an operator decides when its schema changes), so
/// here it is only checked.
pub async fn prepare(settings: Settings) -> Result<()> {
    match DatabaseUrl::parse(&settings.connection)? {
        DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => sync(settings).await.map(|_| ()),
        DatabaseUrl::Postgres(_) => {
            let store = Store::connect(&settings.connection, settings.store).await?;
            let checked = store.check_schema().await;
            store.close().await;
            checked
        }
    }
}
