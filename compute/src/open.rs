//! Opening the compute domain from nova.conf, as each binary does: the
//! `[database] connection` URL, the store options and the domain options,
//! from the groups this crate declares ([`crate::options`]), already
//! parsed and checked by nova-conf in the supervising parent.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use nova_conf::NovaConf;

use crate::identity::{BootstrapReport, IdentityConfig, IdentityMode};
use crate::options::{
    ImageGroup, InstanceLifetimeGroup, NetworkQuotaGroup, PoolGroup, QuotaGroup, SimulatorGroup,
    UsageAuditGroup, ZonesGroup,
};
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
    /// `[DEFAULT] state_path`: made on demand when the SQLite file is
    /// to be in it ([`make_state_dir`]).
    pub state_path: PathBuf,
    /// The identity's mode, token lifetime and bootstrap.
    pub identity: IdentityConfig,
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
            compute: ComputeConfig {
                images: crate::image::ImageStoreConfig {
                    data_dir: conf.default.state_path.join("images"),
                    size_cap: conf.group::<ImageGroup>().image_size_cap,
                },
                consoles: crate::console::ConsoleConfig::from_conf(conf),
                network_quota: crate::network::NetworkQuotaLimits::from_group(
                    conf.group::<NetworkQuotaGroup>(),
                ),
                usage_audit: {
                    let audit = conf.group::<UsageAuditGroup>();
                    crate::usage_audit::UsageAuditConfig {
                        enabled: audit.instance_usage_audit,
                        period: audit.instance_usage_audit_period,
                    }
                },
                ..ComputeConfig::from_groups(
                    sim,
                    conf.group::<QuotaGroup>(),
                    conf.group::<ZonesGroup>(),
                    conf.group::<InstanceLifetimeGroup>(),
                    Duration::from_secs(conf.api.metadata_cache_expiration),
                )
            },
            state_path: conf.default.state_path.clone(),
            // keystone-manage reads OS_BOOTSTRAP_PASSWORD from its
            // environment; so does the parent here, once.
            identity: IdentityConfig::from_conf(conf, |name| std::env::var(name).ok()),
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
    Ok(Compute::new(store, settings.compute)
        .with_token_expiration(settings.identity.token_expiration))
}

/// `db sync`: applies every pending migration (and the first seeding).
/// A SQLite file directly in a missing `state_path` gets that directory
/// first ([`make_state_dir`]).
pub async fn sync(settings: Settings) -> Result<MigrationReport> {
    sync_and_bootstrap(settings).await.map(|(report, _)| report)
}

/// `db sync`, then, when the identity is the store's
/// ([`IdentityMode::Store`]), its bootstrap (see
/// [`crate::identity::bootstrap`]).
pub async fn sync_and_bootstrap(
    settings: Settings,
) -> Result<(MigrationReport, Option<BootstrapReport>)> {
    make_state_dir(&settings)?;
    let store = Store::connect(&settings.connection, settings.store.clone()).await?;
    let report = match migrate_and_adopt(&store, settings.compute.clone()).await {
        Ok(report) => report,
        Err(err) => {
            store.close().await;
            return Err(err);
        }
    };
    let bootstrap = bootstrap(&store, &settings).await;
    store.close().await;
    Ok((report, bootstrap?))
}

/// The identity's bootstrap over `store`, in store mode only.
async fn bootstrap(store: &Store, settings: &Settings) -> Result<Option<BootstrapReport>> {
    if settings.identity.mode != IdentityMode::Store {
        return Ok(None);
    }
    let compute = Compute::new(store.clone(), settings.compute.clone());
    compute
        .bootstrap_identity(&settings.identity.bootstrap)
        .await
        .map(Some)
        .map_err(|err| match err {
            crate::identity::IdentityError::Compute(err) => err,
            other => Error::Internal(format!("identity bootstrap: {other}")),
        })
}

/// The migrations, then (once, from a schema before instance ports) the
/// move of instance addresses to ports.
async fn migrate_and_adopt(store: &Store, config: ComputeConfig) -> Result<MigrationReport> {
    let report = store.migrate().await?;
    if report.from_version > 0 && report.from_version < crate::instance::PORTS_SCHEMA_VERSION {
        let adopted = Compute::new(store.clone(), config)
            .adopt_legacy_addresses()
            .await?;
        tracing::info!(
            adopted,
            "gave the instances from before schema 10 their ports"
        );
    }
    Ok(report)
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
            let store = Store::connect(&settings.connection, settings.store.clone()).await?;
            let mut checked = store.check_schema().await;
            if checked.is_ok() {
                checked = bootstrap(&store, &settings).await.map(drop);
            }
            store.close().await;
            checked
        }
    }
}

/// Makes `[DEFAULT] state_path` (and its missing parents) when the
/// connection is a SQLite file directly in it and it does not exist yet,
/// as the quick start's `.state/quickstart` on a fresh clone; says so at
/// INFO. Any other missing directory is left for the store's start-up
/// check to name ([`Store::connect`]): a typo in a path is not made real.
/// Returns whether it made the directory.
pub fn make_state_dir(settings: &Settings) -> Result<bool> {
    let Ok(DatabaseUrl::SqliteFile(file)) = DatabaseUrl::parse(&settings.connection) else {
        return Ok(false);
    };
    let state = &settings.state_path;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let in_state = file
        .parent()
        .is_some_and(|dir| absolute(dir) == absolute(state));
    if !in_state || state.as_os_str().is_empty() || state.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(state).map_err(|err| Error::Unavailable {
        target: format!("the SQLite file {}", absolute(&file).display()),
        reason: format!(
            "the state directory {} ([DEFAULT] state_path) could not be made: {err}",
            absolute(state).display()
        ),
        advice: "create it, writable by the user this service runs as, or set the option to another path".into(),
    })?;
    tracing::info!(
        "made the state directory {} ([DEFAULT] state_path)",
        absolute(state).display()
    );
    Ok(true)
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
            state_path: PathBuf::from("/var/lib/nova"),
            identity: IdentityConfig::from_conf(&crate::options::conf_with(&[]).unwrap(), |_| None),
        };
        let err = prepare(settings).await.unwrap_err();
        assert!(matches!(err, Error::InMemoryDatabase { .. }), "{err:?}");
    }

    /// The settings of a service whose `state_path` is `state` and whose
    /// database is `connection`.
    fn settings_in(state: &Path, connection: String) -> Settings {
        let state = state.to_str().unwrap();
        Settings::from_conf(
            &conf_with(&[
                ("DEFAULT", "state_path", state),
                ("database", "connection", &connection),
            ])
            .unwrap(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_missing_state_path_is_made_for_the_default_sqlite_file_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".state/quickstart");
        let settings = settings_in(&state, "sqlite:///$state_path/nova.sqlite".into());

        prepare(settings).await.unwrap();

        assert!(state.is_dir(), "{} was not made", state.display());
        assert!(state.join("nova.sqlite").is_file());
    }

    #[tokio::test]
    async fn a_missing_directory_outside_state_path_is_not_made_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let elsewhere = dir.path().join("typo/nova.sqlite");
        let settings = settings_in(&state, format!("sqlite:///{}", elsewhere.display()));

        let err = prepare(settings).await.unwrap_err();

        assert!(!state.exists() && !dir.path().join("typo").exists());
        assert_eq!(
            err.to_string(),
            format!(
                "[database] connection: cannot open the SQLite file {}: the directory {} \
                 does not exist; create it, writable by the user this service runs as, or set \
                 the option to another path",
                elsewhere.display(),
                dir.path().join("typo").display()
            )
        );
    }

    #[tokio::test]
    async fn three_services_preparing_a_new_sqlite_file_at_once_all_succeed() {
        // Before the probe waited out "database is locked", about one
        // round in 30 failed one of the three (systemd starts the units
        // together).
        for round in 0..60 {
            let dir = tempfile::tempdir().unwrap();
            let settings = settings_in(dir.path(), "sqlite:///$state_path/nova.sqlite".into());

            let (a, b, c) = tokio::join!(
                prepare(settings.clone()),
                prepare(settings.clone()),
                prepare(settings.clone())
            );

            for result in [a, b, c] {
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
        }
    }
}
