//! The state store: one interface over two engines, SQLite and PostgreSQL.
//!
//! How SQL is written once for both engines: every statement uses `$N`
//! placeholders (PostgreSQL's syntax, which SQLite also accepts) and only
//! SQL both engines understand (`INSERT ... RETURNING`, `ON CONFLICT`,
//! `CAST(... AS BIGINT)`, `TRUE`/`FALSE`). Arguments travel as a list of
//! [`Arg`] values and rows are decoded by `sqlx::FromRow` structs whose
//! field types both drivers decode (`i64`, `String`, `bool`, `f64`,
//! `Option`s of those). [`Store`] and [`Tx`] dispatch each call to the
//! engine's own pool, so there is no `sqlx::Any` translation layer and
//! each engine keeps its own connection options. Only the DDL of the
//! migrations differs per engine (`migrations/sqlite`, `migrations/postgres`).
//!
//! A statement whose text depends on its inputs (which filters are set,
//! how many values a list holds) is built instead with sqlx's
//! [`QueryBuilder`], once for both engines: a `BuildQuery` pushes SQL
//! and binds values generically over the `Dialect`, and the builder
//! writes each engine's placeholders (`?` on SQLite, `$1`, `$2`, ... on
//! PostgreSQL) as the values are bound.
//!
//! Times are stored as `BIGINT` microseconds since the Unix epoch (UTC) on
//! both engines, so comparisons and ordering are plain integer ones.

pub mod health;
pub mod migrate;
mod probe;
pub mod url;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Database, Encode, FromRow, PgPool, Postgres, QueryBuilder, Sqlite, SqlitePool, Type};

pub use self::url::DatabaseUrl;
use crate::{Error, Result};

/// Which engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite (a file, or memory).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How to connect. One [`Store`] (and so one pool) per worker process.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections this process keeps open (per worker; default 5).
    pub max_connections: u32,
    /// How long to wait for a free connection before failing (30 s).
    pub acquire_timeout: Duration,
    /// How long a store that connects at once ([`Store::connect`], as the
    /// start-up check does) waits for its first connection: the TCP
    /// connect and PostgreSQL's handshake, or SQLite opening its file (5 s).
    pub connect_timeout: Duration,
    /// SQLite only: how long a writer waits for another writer's lock
    /// before giving up (30 s). Other processes may hold it briefly.
    pub busy_timeout: Duration,
    /// Seed nova's classic flavors, the cirros image and the shared
    /// network `private` on the first migration (true). Operators turn it
    /// off in the config.
    pub seed_defaults: bool,
    /// The cidr of the seeded network's subnet (`[simulator]
    /// fixed_ip_range`, 10.0.0.0/24).
    pub seed_network: ipnet::Ipv4Net,
    /// The cidr of the seeded external network `public`'s subnet
    /// (`[simulator] floating_ip_range`, 172.24.4.0/24).
    pub seed_external_network: ipnet::Ipv4Net,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(30),
            seed_defaults: true,
            seed_network: "10.0.0.0/24".parse().expect("a valid literal network"),
            seed_external_network: "172.24.4.0/24".parse().expect("a valid literal network"),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug)]
struct Inner {
    db: Db,
    options: StoreOptions,
    /// For a store opened by [`Store::connect_lazy`]: set once the first
    /// use has found the schema this build knows. Every query waits for
    /// it, so nothing reads or writes a schema of another release.
    schema_gate: Option<tokio::sync::OnceCell<()>>,
}

/// Rows a SQLite connection's thread may read ahead of the task taking
/// them (sqlx's default is 50): the keys of a thousand-server page then
/// cross between the threads in four hand-overs, not in twenty. Not more:
/// rows read ahead are allocated on the connection's thread, and memory
/// freed across threads is what the allocator is slowest to give back.
const SQLITE_ROW_BUFFER: usize = 256;

/// A connection pool to the state database. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// One argument of a statement (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Float(f64),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_string))
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::OptText(v.clone())
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(v)
    }
}

/// `args![a, b, c]` builds a `Vec<Arg>`.
macro_rules! args {
    () => { Vec::<$crate::store::Arg>::new() };
    ($($a:expr),+ $(,)?) => { vec![$($crate::store::Arg::from($a)),+] };
}
pub(crate) use args;

/// Binds a list of [`Arg`]s to a query of either engine.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::OptInt(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Float(v) => q.bind(v),
            };
        }
        q
    }};
}

/// A row type both engines decode.
pub(crate) trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// An engine a [`BuildQuery`] runs on. [`QueryBuilder`] numbers the
/// placeholders for it; `ENGINE` picks the few spellings of SQL that
/// differ between the two.
pub(crate) trait Dialect: Database {
    /// Which engine this is.
    const ENGINE: Engine;
}

impl Dialect for Sqlite {
    const ENGINE: Engine = Engine::Sqlite;
}

impl Dialect for Postgres {
    const ENGINE: Engine = Engine::Postgres;
}

/// A statement built with a [`QueryBuilder`] for either engine (see the
/// module doc). Its values are bound as `i64`, `String` or `bool`, which
/// both engines encode.
pub(crate) trait BuildQuery {
    /// Pushes the whole statement, SQL and bound values, onto `qb`.
    fn build<'a, DB>(&self, qb: &mut QueryBuilder<'a, DB>)
    where
        DB: Dialect,
        i64: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
        bool: Encode<'a, DB> + Type<DB>;
}

/// Pushes `expr IN (values)`, the values bound, onto a statement being
/// built (`1 = 0`, true of no row, for no value).
pub(crate) fn push_in<'a, DB, T>(
    qb: &mut QueryBuilder<'a, DB>,
    expr: &str,
    values: impl IntoIterator<Item = T>,
) where
    DB: Database,
    T: 'a + Encode<'a, DB> + Type<DB>,
{
    let mut values = values.into_iter().peekable();
    if values.peek().is_none() {
        qb.push("1 = 0");
        return;
    }
    qb.push(expr).push(" IN (");
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    list.push_unseparated(")");
}

impl Store {
    /// Connects to the database named by a nova `[database] connection`
    /// URL (see [`DatabaseUrl`]). Does not migrate: call [`Store::migrate`].
    ///
    /// One connection is opened now, within
    /// [`StoreOptions::connect_timeout`], so that a database that cannot be
    /// opened or reached fails here, at once, with [`Error::Unavailable`]
    /// naming the file or the server and what to do; the pool opens its
    /// own connections as they are needed.
    ///
    /// SQLite files are opened in WAL mode with `busy_timeout`, foreign keys
    /// on and `synchronous=NORMAL`; several processes may share one file.
    /// The file is created when missing (its directory must exist).
    /// `sqlite://` (in memory) is accepted here, for tests and embedding;
    /// the services refuse it ([`crate::open::Settings::from_conf`]).
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store> {
        Self::open_pools(url, options, false).await
    }

    /// What a worker opens: a store that connects on its first query, not
    /// now, and checks on that first use (and again after a failed check)
    /// that the schema is the one this build knows ([`Store::check_schema`];
    /// its error is what the query fails with). A worker that serves only
    /// answers without the store (version documents, health checks) then
    /// holds no database connection, thread or cache; the start-up
    /// preparation has already migrated or checked the database. An
    /// in-memory SQLite database is opened at once, since it lives only
    /// as long as a connection does.
    pub async fn connect_lazy(url: &str, options: StoreOptions) -> Result<Store> {
        Self::open_pools(url, options, true).await
    }

    async fn open_pools(url: &str, options: StoreOptions, lazy: bool) -> Result<Store> {
        let parsed = DatabaseUrl::parse(url)?;
        let lazy = lazy && !matches!(parsed, DatabaseUrl::SqliteMemory);
        let db = match parsed {
            DatabaseUrl::SqliteFile(path) => {
                let opts = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(options.busy_timeout)
                    .foreign_keys(true);
                if !lazy {
                    probe::sqlite_file(&path, &opts, options.connect_timeout).await?;
                }
                let opts = opts.row_buffer_size(SQLITE_ROW_BUFFER);
                // A connection to a local file does not go away as a
                // server's does: no ping before each use (a round trip to
                // the connection's thread, about as costly as a small
                // query). A failed query still marks the storage unwell,
                // and connections opened before that are replaced.
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            Ok(outside_transaction(conn)
                                && health::opened_after_last_error(meta.age))
                        })
                    });
                Db::Sqlite(pool.connect_lazy_with(opts))
            }
            DatabaseUrl::SqliteMemory => {
                // sqlx names each in-memory database uniquely with a shared
                // cache, so every connection of this pool sees the same one;
                // the pool must never drop its last connection or the
                // database goes with it.
                let opts = SqliteConnectOptions::from_str("sqlite::memory:")?
                    .busy_timeout(options.busy_timeout)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(options.acquire_timeout)
                    .before_acquire(|conn, _| {
                        Box::pin(async move { Ok(outside_transaction(conn)) })
                    })
                    .connect_with(opts)
                    .await?;
                Db::Sqlite(pool)
            }
            DatabaseUrl::Postgres(pg) => {
                let opts = PgConnectOptions::from_str(&pg).map_err(|err| Error::BadUrl {
                    url: url::redact(url.trim()),
                    reason: err.to_string(),
                })?;
                if !lazy {
                    probe::postgres(&opts, options.connect_timeout).await?;
                }
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .before_acquire(|conn, _| {
                        Box::pin(async move { Ok(outside_transaction(conn)) })
                    });
                Db::Postgres(pool.connect_lazy_with(opts))
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                options,
                schema_gate: lazy.then(tokio::sync::OnceCell::new),
            }),
        })
    }

    /// The pools, once the schema gate (if any) is open.
    async fn db(&self) -> Result<&Db> {
        if let Some(gate) = &self.inner.schema_gate {
            gate.get_or_try_init(|| self.check_schema()).await?;
        }
        Ok(&self.inner.db)
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        match self.inner.db {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// The options it was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// Closes every connection of the pool (waits for borrowed ones).
    pub async fn close(&self) {
        match &self.inner.db {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    pub(crate) async fn fetch_all<T: Record>(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>> {
        Ok(match self.db().await? {
            Db::Sqlite(p) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(p)
                    .await?
            }
            Db::Postgres(p) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(p)
                    .await?
            }
        })
    }

    /// The rows of a statement built by `query` (see [`BuildQuery`]).
    pub(crate) async fn fetch_all_built<T: Record>(
        &self,
        query: &(impl BuildQuery + Sync),
    ) -> Result<Vec<T>> {
        Ok(match self.db().await? {
            Db::Sqlite(p) => {
                let mut qb = QueryBuilder::<Sqlite>::default();
                query.build(&mut qb);
                qb.build_query_as::<T>().fetch_all(p).await?
            }
            Db::Postgres(p) => {
                let mut qb = QueryBuilder::<Postgres>::default();
                query.build(&mut qb);
                qb.build_query_as::<T>().fetch_all(p).await?
            }
        })
    }

    pub(crate) async fn fetch_optional<T: Record>(
        &self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Option<T>> {
        Ok(match self.db().await? {
            Db::Sqlite(p) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(p)
                    .await?
            }
            Db::Postgres(p) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(p)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_one<T: Record>(&self, sql: &str, args: Vec<Arg>) -> Result<T> {
        self.db().await?;
        self.fetch_one_ungated(sql, args).await
    }

    /// [`Store::fetch_one`] without waiting for the schema gate: the
    /// schema check's own queries.
    pub(crate) async fn fetch_one_ungated<T: Record>(
        &self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<T> {
        Ok(match &self.inner.db {
            Db::Sqlite(p) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_one(p)
                    .await?
            }
            Db::Postgres(p) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_one(p)
                    .await?
            }
        })
    }

    /// Runs one statement in autocommit mode; returns the rows affected.
    pub(crate) async fn execute(&self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        Ok(match self.db().await? {
            Db::Sqlite(p) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .execute(p)
                .await?
                .rows_affected(),
            Db::Postgres(p) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .execute(p)
                .await?
                .rows_affected(),
        })
    }

    /// Begins a write transaction that holds the write lock named `key`
    /// until commit: on SQLite `BEGIN IMMEDIATE` (the database's single
    /// writer lock, across processes); on PostgreSQL a transaction-scoped
    /// advisory lock on a hash of `key` (across hosts). Checks that read
    /// then write (quotas, IP allocation) run under it.
    pub(crate) async fn begin_locked(&self, key: &str) -> Result<Tx> {
        match self.db().await? {
            Db::Sqlite(p) => Ok(Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(lock_id(key))
                    .execute(&mut *tx)
                    .await?;
                Ok(Tx::Postgres(tx))
            }
        }
    }
}

/// Whether a pooled connection may be handed out: not when it still
/// counts itself inside a transaction. That happens when a storage error
/// (disk full, read-only file, I/O error) made SQLite roll a transaction
/// back on its own, so that the rollback of the dropped [`Tx`] failed and
/// sqlx kept its depth; such a connection would refuse every later
/// `BEGIN`. Returning `false` closes it and the pool opens a fresh one, so
/// writes recover as soon as the storage does, without a restart.
fn outside_transaction<C: sqlx::Connection>(conn: &mut C) -> bool {
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a pooled database connection left inside a failed transaction");
    }
    clean
}

/// The advisory lock id of `key`: the first 8 bytes of its SHA-256.
fn lock_id(key: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(key.as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// An open write transaction (see [`Store::begin_locked`]). Dropped
/// without [`Tx::commit`] it rolls back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) async fn fetch_all<T: Record>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<T>> {
        Ok(match self {
            Tx::Sqlite(c) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_all(&mut **c)
                    .await?
            }
            Tx::Postgres(c) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_all(&mut **c)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_optional<T: Record>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Option<T>> {
        Ok(match self {
            Tx::Sqlite(c) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_optional(&mut **c)
                    .await?
            }
            Tx::Postgres(c) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_optional(&mut **c)
                    .await?
            }
        })
    }

    pub(crate) async fn fetch_one<T: Record>(&mut self, sql: &str, args: Vec<Arg>) -> Result<T> {
        Ok(match self {
            Tx::Sqlite(c) => {
                bind_all!(sqlx::query_as::<Sqlite, T>(sql), args)
                    .fetch_one(&mut **c)
                    .await?
            }
            Tx::Postgres(c) => {
                bind_all!(sqlx::query_as::<Postgres, T>(sql), args)
                    .fetch_one(&mut **c)
                    .await?
            }
        })
    }

    pub(crate) async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(c) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .execute(&mut **c)
                .await?
                .rows_affected(),
            Tx::Postgres(c) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .execute(&mut **c)
                .await?
                .rows_affected(),
        })
    }

    /// Runs several `;`-separated statements without arguments (DDL).
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<()> {
        match self {
            Tx::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
            Tx::Postgres(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
        }
        Ok(())
    }

    /// Takes the write lock `key` too, until the transaction ends (on
    /// PostgreSQL an advisory lock; SQLite's `BEGIN IMMEDIATE` already
    /// serializes every writer). Locks are taken in one order: a network's
    /// before any other.
    pub(crate) async fn lock(&mut self, key: &str) -> Result<()> {
        if let Tx::Postgres(c) = self {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_id(key))
                .execute(&mut **c)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(c) => c.commit().await?,
            Tx::Postgres(c) => c.commit().await?,
        }
        Ok(())
    }
}

/// True when `err` is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &Error) -> bool {
    matches!(err, Error::Store(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// True when `err` is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(err: &Error) -> bool {
    matches!(err, Error::Store(sqlx::Error::Database(e)) if e.is_foreign_key_violation())
}

/// Now, in the store's time unit (microseconds since the epoch, UTC).
pub(crate) fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A stored time back as a `DateTime<Utc>`.
pub(crate) fn from_micros(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// An optional stored time back as a `DateTime<Utc>`.
pub(crate) fn from_micros_opt(us: Option<i64>) -> Option<chrono::DateTime<chrono::Utc>> {
    us.map(from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_options(pairs: &[(&str, &str, &str)]) -> Result<StoreOptions, String> {
        let conf = crate::options::conf_with(pairs).map_err(|e| e.to_string())?;
        crate::open::Settings::from_conf(&conf)
            .map(|s| s.store)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn options_read_oslo_db_pool_settings() {
        let o = store_options(&[
            ("database", "max_pool_size", "12"),
            ("simulator", "seed_defaults", "False"),
        ])
        .unwrap();
        assert_eq!((o.max_connections, o.seed_defaults), (12, false));
        let err = store_options(&[("database", "max_pool_size", "lots")]).unwrap_err();
        assert_eq!(
            err,
            "invalid value \"lots\" for option [database] max_pool_size in environment \
             variable OS_DATABASE__MAX_POOL_SIZE: expected an integer >= 1"
        );
    }

    #[test]
    fn connect_timeout_defaults_to_five_seconds_and_must_be_positive() {
        assert_eq!(
            store_options(&[]).unwrap().connect_timeout,
            Duration::from_secs(5)
        );
        let set = |value: &str| store_options(&[("database", "connect_timeout", value)]);
        assert_eq!(set("2").unwrap().connect_timeout, Duration::from_secs(2));
        for bad in ["0", "-1", "soon"] {
            assert_eq!(
                set(bad).unwrap_err(),
                format!(
                    "invalid value \"{bad}\" for option [database] connect_timeout in \
                     environment variable OS_DATABASE__CONNECT_TIMEOUT: expected an integer >= 1"
                )
            );
        }
    }

    #[tokio::test]
    async fn in_memory_database_is_shared_by_the_pool() {
        let store = Store::connect(
            "sqlite://",
            StoreOptions {
                max_connections: 3,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        // Several connections at once must all see the one migrated database.
        let (a, b, c) = tokio::join!(
            store.schema_version(),
            store.schema_version(),
            store.schema_version()
        );
        let latest = migrate::LATEST_SCHEMA_VERSION;
        assert_eq!(
            (a.unwrap(), b.unwrap(), c.unwrap()),
            (latest, latest, latest)
        );
    }

    /// A migrated SQLite file store with a pool of one connection, so that
    /// a broken connection would be handed out again (keep the dir alive).
    async fn one_connection_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
        let store = Store::connect(
            &url,
            StoreOptions {
                max_connections: 1,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_connection_left_inside_a_failed_transaction_is_replaced() {
        let (_dir, store) = one_connection_store().await;

        // SQLite ends the transaction on its own (as it does after an I/O
        // error), so the rollback of the dropped Tx fails and sqlx still
        // counts the connection inside a transaction.
        let mut tx = store.begin_locked("test").await.unwrap();
        tx.execute("COMMIT", vec![]).await.unwrap();
        drop(tx);

        // The next write transaction gets a working connection.
        let tx = store.begin_locked("test").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            migrate::LATEST_SCHEMA_VERSION
        );
    }

    #[tokio::test]
    async fn writes_recover_once_a_connection_that_cannot_write_is_replaced() {
        let (_dir, store) = one_connection_store().await;
        // The pooled connection can no longer write, as one SQLite opened
        // read-only while the file was immutable.
        store
            .execute("PRAGMA query_only = ON", vec![])
            .await
            .unwrap();

        let failed = store
            .execute("CREATE TABLE probe (x INTEGER)", vec![])
            .await
            .unwrap_err();
        assert!(
            matches!(&failed, Error::Store(e) if health::is_storage_error(e)),
            "{failed}"
        );

        // The next write gets a fresh connection and succeeds.
        store
            .execute("CREATE TABLE probe (x INTEGER)", vec![])
            .await
            .unwrap();
    }
}
