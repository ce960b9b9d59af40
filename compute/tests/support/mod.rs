//! The fixture builder of the compute integration tests: a fresh database
//! per test on either engine (a temporary SQLite file, or a private schema
//! on the PostgreSQL server named by `NOVA_TEST_POSTGRES_URL`).

use std::time::Duration;

use compute::{Compute, ComputeConfig, Engine, RequestContext, Store, StoreOptions};

/// The variable naming the PostgreSQL server of the tests.
pub const POSTGRES_ENV: &str = "NOVA_TEST_POSTGRES_URL";

/// Builds a [`Fixture`].
pub struct FixtureBuilder {
    engine: Engine,
    config: ComputeConfig,
    seed: bool,
    max_connections: u32,
}

/// A migrated, seeded database and a [`Compute`] over it.
pub struct Fixture {
    /// The facade under test.
    pub compute: Compute,
    /// The database URL (reconnect with it).
    pub url: String,
    /// The configuration used.
    pub config: ComputeConfig,
    _dir: Option<tempfile::TempDir>,
}

impl FixtureBuilder {
    /// Every transition takes `d`.
    pub fn delay(mut self, d: Duration) -> Self {
        self.config.transition_delay = d;
        self
    }

    /// Changes the configuration.
    pub fn config(mut self, f: impl FnOnce(&mut ComputeConfig)) -> Self {
        f(&mut self.config);
        self
    }

    /// Seeding of default flavors and image on migration.
    pub fn seed(mut self, on: bool) -> Self {
        self.seed = on;
        self
    }

    /// Creates the database, migrates it and connects.
    pub async fn build(self) -> Fixture {
        let (url, dir) = match self.engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
                (url, Some(dir))
            }
            Engine::Postgres => (postgres_schema_url().await, None),
        };
        let opts = StoreOptions {
            max_connections: self.max_connections,
            seed_defaults: self.seed,
            seed_network: self.config.fixed_ip_range,
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, opts).await.expect("connect");
        assert_eq!(store.engine(), self.engine);
        store.migrate().await.expect("migrate");
        Fixture {
            compute: Compute::new(store, self.config.clone()),
            url,
            config: self.config,
            _dir: dir,
        }
    }
}

impl Fixture {
    /// A builder for `engine` with instant transitions and seeding on.
    pub fn builder(engine: Engine) -> FixtureBuilder {
        FixtureBuilder {
            engine,
            config: ComputeConfig::instant(),
            seed: true,
            max_connections: 5,
        }
    }

    /// A fixture with the defaults.
    pub async fn new(engine: Engine) -> Fixture {
        Fixture::builder(engine).build().await
    }

    /// Another compute domain on this store with the configuration changed
    /// by `f` (another worker configured otherwise).
    pub async fn reconnect_with(&self, f: impl FnOnce(&mut ComputeConfig)) -> Compute {
        let mut config = self.config.clone();
        f(&mut config);
        Compute::new(self.compute.store().clone(), config)
    }

    /// A new, separate pool on the same database (another "process").
    pub async fn reconnect(&self, max_connections: u32) -> Compute {
        let store = Store::connect(
            &self.url,
            StoreOptions {
                max_connections,
                ..StoreOptions::default()
            },
        )
        .await
        .expect("reconnect");
        Compute::new(store, self.config.clone())
    }
}

/// Alice in project A.
pub fn alice() -> RequestContext {
    RequestContext::new("alice", "project-a")
}

/// Bob in project B.
pub fn bob() -> RequestContext {
    RequestContext::new("bob", "project-b")
}

/// An admin in the admin project.
pub fn admin() -> RequestContext {
    RequestContext::admin("admin", "admin")
}

/// A URL of a fresh schema on the test PostgreSQL server. Fails (does not
/// skip) when the server is not configured.
async fn postgres_schema_url() -> String {
    let base = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!("{POSTGRES_ENV} is not set: the PostgreSQL tests need a server URL such as postgresql://nova:nova@127.0.0.1/nova_test")
    });
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect(
        &base,
        StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"));
    let pool = sqlx::PgPool::connect(
        &base
            .replacen("postgresql+psycopg2://", "postgres://", 1)
            .replacen("postgresql://", "postgres://", 1),
    )
    .await
    .expect("connect for schema creation");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .expect("create schema");
    pool.close().await;
    admin.close().await;
    // The stores under test get nova's SQLAlchemy spelling of the URL.
    let (_, rest) = base
        .split_once("://")
        .unwrap_or_else(|| panic!("{POSTGRES_ENV} is not a URL: {base}"));
    let sep = if rest.contains('?') { '&' } else { '?' };
    format!("postgresql+psycopg2://{rest}{sep}options=-c%20search_path%3D{schema}")
}
