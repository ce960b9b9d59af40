//! Opening the compute domain from nova.conf, as each binary does: the
//! `[database] connection` URL, the store options and the domain options,
//! from the groups this crate declares ([`crate::options`]), already
//! parsed and checked by nova-conf in the supervising parent.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use nova_conf::NovaConf;

use crate::options::{PoolGroup, QuotaGroup, SimulatorGroup, ZonesGroup};
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
    /// The settings from the loaded configuration (which must have been
    /// loaded with [`crate::options::OPTION_GROUPS`] in its schema).
    ///
    /// A connection URL that names no engine we have is refused here, and
    /// so is an in-memory SQLite database ([`Error::InMemoryDatabase`]):
    /// every process that opened one would get its own, empty, so the
    /// workers of a service, the three APIs and the admin commands would
    /// never see each other's data, and all of it would be lost at exit.
    pub fn from_conf(conf: &NovaConf) -> Result<Self> {
        let connection = conf.database.connection.as_str();
        if DatabaseUrl::parse(connection)? == DatabaseUrl::SqliteMemory {
            return Err(in_memory(connection));
        }
        let sim = conf.group::<SimulatorGroup>();
        let pool = conf.group::<PoolGroup>();
        Ok(Settings {
            connection: connection.to_owned(),
            store: StoreOptions {
                max_connections: pool.max_pool_size,
                acquire_timeout: Duration::from_secs(pool.pool_timeout),
                connect_timeout: Duration::from_secs(pool.connect_timeout),
                seed_defaults: sim.seed_defaults,
                seed_network: sim.fixed_ip_range,
                seed_external_network: sim.floating_ip_range,
                ..StoreOptions::default()
            },
            compute: ComputeConfig::from_groups(
                sim,
                conf.group::<QuotaGroup>(),
                conf.group::<ZonesGroup>(),
                Duration::from_secs(conf.api.metadata_cache_expiration),
            ),
        })
    }
}

/// What a service binary works with: its API's own settings and the
/// compute domain's, both built in the parent from nova.conf.
#[derive(Debug, Clone)]
pub struct ServiceSettings<A> {
    /// The API's own settings.
    pub api: A,
    /// The compute domain's.
    pub compute: Settings,
}

impl<A> ServiceSettings<A> {
    /// The API's settings (built by `api`) and the domain's.
    pub fn from_conf(
        conf: &NovaConf,
        api: impl FnOnce(&NovaConf) -> anyhow::Result<A>,
    ) -> anyhow::Result<Self> {
        Ok(ServiceSettings {
            api: api(conf)?,
            compute: Settings::from_conf(conf)?,
        })
    }
}

/// [`prepare`] for a service binary's settings, in the form its start-up
/// sequence takes.
pub fn prepare_service<A>(
    settings: Arc<ServiceSettings<A>>,
) -> Pin<Box<dyn Future<Output = anyhow::Result<()>>>> {
    let compute = settings.compute.clone();
    Box::pin(async move { Ok(prepare(compute).await?) })
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
    use crate::options::conf_with;

    fn settings(url: &str) -> Result<Settings> {
        Settings::from_conf(&conf_with(&[("database", "connection", url)]).unwrap())
    }

    #[test]
    fn the_services_refuse_an_in_memory_database_naming_the_option() {
        for url in ["sqlite://", "sqlite:///:memory:"] {
            let err = settings(url).unwrap_err();
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
            let settings = settings(url).unwrap();
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
