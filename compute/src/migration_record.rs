//! nova's migration records (table `migrations`): one per cold migration,
//! resize, live migration and evacuation of an instance, with the hosts it
//! moves between, the flavors and the status it moves through.
//!
//! The statuses follow nova's conductor and computes:
//!
//! | type | statuses |
//! |---|---|
//! | `migration`, `resize` | `pre-migrating` (resize_prep) -> `migrating` -> `post-migrating` -> `finished` (VERIFY_RESIZE) -> `confirmed`, or `reverting` -> `reverted`; `error` when a step fails |
//! | `live-migration` | `running` (task `migrating`) -> `completed`; `cancelled` by an abort; `error` when it fails |
//! | `evacuation` | `accepted` (task `rebuilding`) -> `done`; `failed` when the rebuild fails |
//!
//! A record changes when the instance's task does: the lifecycle calls
//! [`settle`] after each saved step, so the records move lazily with it.

use chrono::{DateTime, Utc};

use crate::instance::{InstanceRow, INSTANCE_COLUMNS};
use crate::states::{TaskState, VmState};
use crate::store::{args, from_micros, from_micros_opt, now_micros, Arg};
use crate::{Compute, Error, RequestContext, Result};

/// The statuses of a live migration still in progress (nova's list).
pub const LIVE_IN_PROGRESS: &[&str] = &["queued", "preparing", "running", "post-migrating"];

/// The statuses of a cold migration or resize not yet confirmed or reverted.
const RESIZE_OPEN: &str =
    "('pre-migrating', 'migrating', 'post-migrating', 'finished', 'reverting', 'confirming')";
/// The statuses of an evacuation still under way.
const EVACUATION_OPEN: &str = "('accepted', 'pre-migrating')";
/// Every status of a move still under way.
const ANY_OPEN: &str =
    "('pre-migrating', 'migrating', 'post-migrating', 'reverting', 'confirming', \
     'accepted', 'queued', 'preparing', 'running')";
/// The statuses of a live migration still under way.
const LIVE_OPEN: &str = "('queued', 'preparing', 'running', 'post-migrating')";

/// The kind of a move (nova's `MigrationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationType {
    /// A cold migration (`migrate`).
    Migration,
    /// A resize to another flavor.
    Resize,
    /// A live migration (`os-migrateLive`).
    LiveMigration,
    /// An evacuation from a failed host.
    Evacuation,
}

impl MigrationType {
    /// nova's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationType::Migration => "migration",
            MigrationType::Resize => "resize",
            MigrationType::LiveMigration => "live-migration",
            MigrationType::Evacuation => "evacuation",
        }
    }
}

/// One migration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The row id (the API's `id`).
    pub id: i64,
    /// Its uuid (shown from 2.59, the paging marker).
    pub uuid: String,
    /// The instance that moves.
    pub instance_uuid: String,
    /// `migration`, `resize`, `live-migration` or `evacuation`.
    pub migration_type: String,
    /// Where it is in its move (see the module doc).
    pub status: String,
    /// The host it leaves.
    pub source_compute: Option<String>,
    /// The node it leaves.
    pub source_node: Option<String>,
    /// The host it goes to (once chosen).
    pub dest_compute: Option<String>,
    /// The node it goes to.
    pub dest_node: Option<String>,
    /// The address of the destination host.
    pub dest_host: Option<String>,
    /// The flavor (row id) before.
    pub old_instance_type_id: Option<i64>,
    /// The flavor (row id) after.
    pub new_instance_type_id: Option<i64>,
    /// Hidden records are never listed.
    pub hidden: bool,
    /// Who asked for it (2.80).
    pub user_id: Option<String>,
    /// Their project (2.80).
    pub project_id: Option<String>,
    /// Live migration: memory to copy, in bytes.
    pub memory_total: Option<i64>,
    /// Live migration: memory copied.
    pub memory_processed: Option<i64>,
    /// Live migration: memory left.
    pub memory_remaining: Option<i64>,
    /// Live migration: disk to copy, in bytes.
    pub disk_total: Option<i64>,
    /// Live migration: disk copied.
    pub disk_processed: Option<i64>,
    /// Live migration: disk left.
    pub disk_remaining: Option<i64>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Its last change (`None` until the first).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Migration {
    /// Whether it is a live migration still in progress.
    pub fn is_live_in_progress(&self) -> bool {
        self.migration_type == MigrationType::LiveMigration.as_str()
            && LIVE_IN_PROGRESS.contains(&self.status.as_str())
    }
}

#[derive(sqlx::FromRow)]
struct MigrationRow {
    id: i64,
    uuid: String,
    instance_uuid: String,
    migration_type: String,
    status: String,
    source_compute: Option<String>,
    source_node: Option<String>,
    dest_compute: Option<String>,
    dest_node: Option<String>,
    dest_host: Option<String>,
    old_instance_type_id: Option<i64>,
    new_instance_type_id: Option<i64>,
    hidden: bool,
    user_id: Option<String>,
    project_id: Option<String>,
    memory_total: Option<i64>,
    memory_processed: Option<i64>,
    memory_remaining: Option<i64>,
    disk_total: Option<i64>,
    disk_processed: Option<i64>,
    disk_remaining: Option<i64>,
    created_at: i64,
    updated_at: Option<i64>,
}

const COLUMNS: &str = "id, uuid, instance_uuid, migration_type, status, source_compute, source_node, \
    dest_compute, dest_node, dest_host, old_instance_type_id, new_instance_type_id, hidden, user_id, \
    project_id, memory_total, memory_processed, memory_remaining, disk_total, disk_processed, \
    disk_remaining, created_at, updated_at";

impl From<MigrationRow> for Migration {
    fn from(r: MigrationRow) -> Self {
        Migration {
            id: r.id,
            uuid: r.uuid,
            instance_uuid: r.instance_uuid,
            migration_type: r.migration_type,
            status: r.status,
            source_compute: r.source_compute,
            source_node: r.source_node,
            dest_compute: r.dest_compute,
            dest_node: r.dest_node,
            dest_host: r.dest_host,
            old_instance_type_id: r.old_instance_type_id,
            new_instance_type_id: r.new_instance_type_id,
            hidden: r.hidden,
            user_id: r.user_id,
            project_id: r.project_id,
            memory_total: r.memory_total,
            memory_processed: r.memory_processed,
            memory_remaining: r.memory_remaining,
            disk_total: r.disk_total,
            disk_processed: r.disk_processed,
            disk_remaining: r.disk_remaining,
            created_at: from_micros(r.created_at),
            updated_at: from_micros_opt(r.updated_at),
        }
    }
}

/// The filters of `GET /os-migrations` (each `None` is no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationFilter {
    /// Source or destination host.
    pub host: Option<String>,
    /// Source host (ignored when `host` is given, as nova does).
    pub source_compute: Option<String>,
    /// The status.
    pub status: Option<String>,
    /// The instance.
    pub instance_uuid: Option<String>,
    /// The type.
    pub migration_type: Option<String>,
    /// Only records changed at or after (2.59).
    pub changes_since: Option<DateTime<Utc>>,
    /// Only records changed at or before (2.66).
    pub changes_before: Option<DateTime<Utc>>,
    /// Who asked (2.80).
    pub user_id: Option<String>,
    /// Their project (2.80).
    pub project_id: Option<String>,
}

/// A page of migrations, newest first (2.59's `created_at`, `id`
/// descending), after the record with uuid `marker`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationPage {
    /// At most this many.
    pub limit: Option<usize>,
    /// After this record (by uuid); an unknown one is 400.
    pub marker: Option<String>,
}

/// What a new record holds besides the instance it is made for.
pub(crate) struct NewMigration<'a> {
    pub kind: MigrationType,
    pub status: &'a str,
    pub source: Option<&'a str>,
    pub dest: Option<&'a str>,
    /// The flavor (`flavorid`) before and after.
    pub old_flavor: &'a str,
    pub new_flavor: &'a str,
    /// Live migrations: the memory and disk to copy, in bytes.
    pub live_totals: Option<(i64, i64)>,
}

/// Makes a record for the move of `instance` that `ctx` asked for.
pub(crate) async fn create(
    c: &Compute,
    ctx: &RequestContext,
    instance_uuid: &str,
    new: NewMigration<'_>,
) -> Result<Migration> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let now = now_micros();
    let (memory, disk) = match new.live_totals {
        Some((m, d)) => (Some(m), Some(d)),
        None => (None, None),
    };
    let (id,): (i64,) = c
        .store
        .fetch_one(
            "INSERT INTO migrations (uuid, instance_uuid, migration_type, status, source_compute, source_node, \
             dest_compute, dest_node, dest_host, old_instance_type_id, new_instance_type_id, hidden, user_id, \
             project_id, memory_total, memory_processed, memory_remaining, disk_total, disk_processed, \
             disk_remaining, created_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $6, $7, \
             (SELECT id FROM flavors WHERE flavorid = $8), (SELECT id FROM flavors WHERE flavorid = $9), \
             FALSE, $10, $11, $12, $13, $12, $14, $15, $14, $16) RETURNING id",
            args![
                &uuid,
                instance_uuid,
                new.kind.as_str(),
                new.status,
                new.source,
                new.dest,
                new.dest.map(|_| "127.0.0.1"),
                new.old_flavor,
                new.new_flavor,
                &ctx.user_id,
                &ctx.project_id,
                memory,
                memory.map(|_| 0_i64),
                disk,
                disk.map(|_| 0_i64),
                now
            ],
        )
        .await?;
    get(c, id)
        .await?
        .ok_or_else(|| Error::Internal(format!("migration {id} vanished after insert")))
}

async fn get(c: &Compute, id: i64) -> Result<Option<Migration>> {
    let row: Option<MigrationRow> = c
        .store
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM migrations WHERE id = $1"),
            args![id],
        )
        .await?;
    Ok(row.map(Migration::from))
}

/// The newest record of `instance_uuid` of one of the types `types` in
/// one of the statuses `open` (an SQL list of literals).
async fn newest_open(
    c: &Compute,
    instance_uuid: &str,
    types: &str,
    open: &str,
) -> Result<Option<Migration>> {
    let row: Option<MigrationRow> = c
        .store
        .fetch_optional(
            &format!(
                "SELECT {COLUMNS} FROM migrations WHERE instance_uuid = $1 AND migration_type IN {types} \
                 AND status IN {open} ORDER BY id DESC LIMIT 1"
            ),
            args![instance_uuid],
        )
        .await?;
    Ok(row.map(Migration::from))
}

/// The cold migration or resize of `instance_uuid` awaiting its confirm
/// or revert (or still under way).
pub(crate) async fn open_resize(c: &Compute, instance_uuid: &str) -> Result<Option<Migration>> {
    newest_open(c, instance_uuid, "('migration', 'resize')", RESIZE_OPEN).await
}

/// The live migration of `instance_uuid` still in progress.
pub(crate) async fn open_live(c: &Compute, instance_uuid: &str) -> Result<Option<Migration>> {
    newest_open(c, instance_uuid, "('live-migration')", LIVE_OPEN).await
}

/// Ends the live migration of `instance_uuid` still in progress, if any,
/// as `error`: its instance was deleted or its state reset meanwhile, so
/// the move it was making will not complete.
pub(crate) async fn fail_open_live(c: &Compute, instance_uuid: &str) -> Result<()> {
    if let Some(record) = open_live(c, instance_uuid).await? {
        set_status(c, record.id, "error", false).await?;
    }
    Ok(())
}

/// Sets the status of record `id`; with `progress` the live counters
/// move to all copied.
pub(crate) async fn set_status(c: &Compute, id: i64, status: &str, copied: bool) -> Result<()> {
    let now = now_micros();
    let sql = if copied {
        "UPDATE migrations SET status = $1, updated_at = $2, memory_processed = memory_total, \
         memory_remaining = 0, disk_processed = disk_total, disk_remaining = 0 WHERE id = $3"
    } else {
        "UPDATE migrations SET status = $1, updated_at = $2 WHERE id = $3"
    };
    c.store.execute(sql, args![status, now, id]).await?;
    Ok(())
}

/// Moves the open records of an instance along with the step the
/// lifecycle just saved (`before` -> `after`), as nova's computes do.
pub(crate) async fn settle(c: &Compute, before: &InstanceRow, after: &InstanceRow) -> Result<()> {
    use TaskState as T;
    let failed = after.vm() == VmState::Error;
    let (types, open, status, copied) = match (before.task(), after.task()) {
        (Some(T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish), next) => {
            let status = match next {
                _ if failed => "error",
                Some(T::ResizeMigrating) => "migrating",
                Some(T::ResizeMigrated | T::ResizeFinish) => "post-migrating",
                None if after.vm() == VmState::Resized => "finished",
                _ => return Ok(()),
            };
            ("('migration', 'resize')", RESIZE_OPEN, status, false)
        }
        (Some(T::ResizeReverting), None) => (
            "('migration', 'resize')",
            RESIZE_OPEN,
            if failed { "error" } else { "reverted" },
            false,
        ),
        (Some(T::Migrating), None) => (
            "('live-migration')",
            LIVE_OPEN,
            if failed { "error" } else { "completed" },
            !failed,
        ),
        (Some(T::Rebuilding), None) => (
            "('evacuation')",
            EVACUATION_OPEN,
            if failed { "failed" } else { "done" },
            false,
        ),
        _ => return Ok(()),
    };
    if let Some(record) = newest_open(c, &after.uuid, types, open).await? {
        if record.status != status {
            set_status(c, record.id, status, copied).await?;
        }
    }
    Ok(())
}

/// The host a finished live migration puts `before`'s instance on: the
/// destination of its live migration in progress, when the step just
/// taken (`before` -> `after`) ended the task `migrating` well.
pub(crate) async fn live_destination(
    c: &Compute,
    before: &InstanceRow,
    after: &InstanceRow,
) -> Result<Option<(String, String)>> {
    if before.task() != Some(TaskState::Migrating)
        || after.task().is_some()
        || after.vm() == VmState::Error
    {
        return Ok(None);
    }
    Ok(open_live(c, &before.uuid).await?.and_then(|m| {
        let host = m.dest_compute?;
        let node = m.dest_node.unwrap_or_else(|| host.clone());
        Some((host, node))
    }))
}

impl Compute {
    /// `GET /os-migrations`: every record matching `filter` (hidden ones
    /// never), in id order without a page, newest first with one.
    pub async fn list_migrations(
        &self,
        filter: &MigrationFilter,
        page: Option<&MigrationPage>,
    ) -> Result<Vec<Migration>> {
        self.settle_due_moves().await?;
        let mut sql = format!("SELECT {COLUMNS} FROM migrations WHERE hidden = FALSE");
        let mut a: Vec<Arg> = Vec::new();
        // Each `?` of a clause is the value pushed with it.
        fn add(sql: &mut String, a: &mut Vec<Arg>, clause: &str, value: Arg) {
            a.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", a.len())));
        }
        if let Some(h) = &filter.host {
            let clause = " AND (source_compute = ? OR dest_compute = ?)";
            add(&mut sql, &mut a, clause, h.into());
        } else if let Some(h) = &filter.source_compute {
            add(&mut sql, &mut a, " AND source_compute = ?", h.into());
        }
        if let Some(s) = &filter.status {
            add(&mut sql, &mut a, " AND status = ?", s.into());
        }
        if let Some(u) = &filter.instance_uuid {
            add(&mut sql, &mut a, " AND instance_uuid = ?", u.into());
        }
        if let Some(t) = &filter.migration_type {
            add(&mut sql, &mut a, " AND migration_type = ?", t.into());
        }
        if let Some(u) = &filter.user_id {
            add(&mut sql, &mut a, " AND user_id = ?", u.into());
        }
        if let Some(p) = &filter.project_id {
            add(&mut sql, &mut a, " AND project_id = ?", p.into());
        }
        // nova compares changes-since/-before with updated_at (a record
        // never changed counts from its creation here, so it is found).
        if let Some(t) = filter.changes_since {
            add(
                &mut sql,
                &mut a,
                " AND COALESCE(updated_at, created_at) >= ?",
                t.timestamp_micros().into(),
            );
        }
        if let Some(t) = filter.changes_before {
            add(
                &mut sql,
                &mut a,
                " AND COALESCE(updated_at, created_at) <= ?",
                t.timestamp_micros().into(),
            );
        }
        let Some(page) = page else {
            sql.push_str(" ORDER BY id");
            let rows: Vec<MigrationRow> = self.store.fetch_all(&sql, a).await?;
            return Ok(rows.into_iter().map(Migration::from).collect());
        };
        if page.limit == Some(0) {
            return Ok(Vec::new());
        }
        if let Some(marker) = &page.marker {
            let found: Option<(i64, i64)> = self
                .store
                .fetch_optional(
                    "SELECT created_at, id FROM migrations WHERE uuid = $1",
                    args![marker],
                )
                .await?;
            let (created, id) = found
                .ok_or_else(|| Error::invalid(format!("Marker {marker} could not be found.")))?;
            add(&mut sql, &mut a, " AND (created_at < ?", created.into());
            add(&mut sql, &mut a, " OR (created_at = ?", created.into());
            add(&mut sql, &mut a, " AND id < ?))", id.into());
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC");
        if let Some(limit) = page.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let rows: Vec<MigrationRow> = self.store.fetch_all(&sql, a).await?;
        Ok(rows.into_iter().map(Migration::from).collect())
    }

    /// Advances the instances with a move under way whose next step is
    /// due, so a listing shows the records as of now.
    async fn settle_due_moves(&self) -> Result<()> {
        let due: Vec<(String,)> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT DISTINCT m.instance_uuid FROM migrations m JOIN instances i ON i.uuid = m.instance_uuid \
                     WHERE i.step_due_at IS NOT NULL AND i.step_due_at <= $1 AND m.status IN {ANY_OPEN}"
                ),
                args![now_micros()],
            )
            .await?;
        for (uuid,) in due {
            let row: Option<InstanceRow> = self
                .store
                .fetch_optional(
                    &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE uuid = $1"),
                    args![&uuid],
                )
                .await?;
            if let Some(row) = row {
                self.advance(row).await?;
            }
        }
        Ok(())
    }

    /// The live migrations of a server still in progress
    /// (`GET /servers/{id}/migrations`); the server must be visible.
    pub async fn list_server_migrations(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<Migration>> {
        self.get_instance(ctx, uuid).await?;
        let rows: Vec<MigrationRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM migrations WHERE instance_uuid = $1 \
                     AND migration_type = 'live-migration' AND status IN {LIVE_OPEN} ORDER BY id"
                ),
                args![uuid],
            )
            .await?;
        Ok(rows.into_iter().map(Migration::from).collect())
    }

    /// Record `id` of server `uuid` ([`Error::MigrationNotFound`] when it
    /// is another server's or none).
    pub async fn get_server_migration(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        id: i64,
    ) -> Result<Migration> {
        self.get_instance(ctx, uuid).await?;
        migration_of(self, uuid, id).await
    }
}

/// Record `id` if it belongs to instance `uuid`.
pub(crate) async fn migration_of(c: &Compute, uuid: &str, id: i64) -> Result<Migration> {
    get(c, id)
        .await?
        .filter(|m| m.instance_uuid == uuid)
        .ok_or_else(|| Error::MigrationNotFound {
            migration_id: id,
            instance_uuid: uuid.to_string(),
        })
}
