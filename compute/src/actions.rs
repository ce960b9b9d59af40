//! Instance actions and their events (nova's os-instance-actions): who did
//! what to a server, when, and how the driver's part of it ended.

use chrono::{DateTime, Utc};

use crate::store::{args, from_micros, from_micros_opt, Tx};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// One event of an action (the driver's part: `compute_stop_instance`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceActionEvent {
    /// nova's event name.
    pub event: String,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it finished (`None` while running).
    pub finish_time: Option<DateTime<Utc>>,
    /// `Success` or `Error` once finished.
    pub result: Option<String>,
    /// The traceback of a failure (admin only in the API).
    pub traceback: Option<String>,
    /// The compute host (admin only in the API).
    pub host: Option<String>,
    /// Details of a failure (microversion 2.84).
    pub details: Option<String>,
}

/// One action on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceAction {
    /// The action name (`create`, `stop`, `reboot`, `delete`, ...).
    pub action: String,
    /// The instance uuid.
    pub instance_uuid: String,
    /// The request id that asked for it.
    pub request_id: String,
    /// Who.
    pub user_id: Option<String>,
    /// Their project.
    pub project_id: Option<String>,
    /// When it was asked for.
    pub start_time: DateTime<Utc>,
    /// `Error` when an event failed, else `None`.
    pub message: Option<String>,
    /// Last change (microversion 2.58).
    pub updated_at: Option<DateTime<Utc>>,
    /// Its events (filled by [`Compute::get_instance_action`]).
    pub events: Vec<InstanceActionEvent>,
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: i64,
    instance_uuid: String,
    action: String,
    request_id: String,
    user_id: Option<String>,
    project_id: Option<String>,
    start_time: i64,
    message: Option<String>,
    updated_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event: String,
    start_time: i64,
    finish_time: Option<i64>,
    result: Option<String>,
    traceback: Option<String>,
    host: Option<String>,
    details: Option<String>,
}

impl ActionRow {
    fn into_action(self, events: Vec<InstanceActionEvent>) -> InstanceAction {
        InstanceAction {
            action: self.action,
            instance_uuid: self.instance_uuid,
            request_id: self.request_id,
            user_id: self.user_id,
            project_id: self.project_id,
            start_time: from_micros(self.start_time),
            message: self.message,
            updated_at: from_micros_opt(self.updated_at),
            events,
        }
    }
}

const ACTION_COLUMNS: &str =
    "id, instance_uuid, action, request_id, user_id, project_id, start_time, message, updated_at";

/// Records an action (and its event) inside a transaction.
pub(crate) async fn record_in_tx(
    tx: &mut Tx,
    ctx: &RequestContext,
    uuid: &str,
    action: &str,
    event: Option<&str>,
    now: i64,
    host: Option<&str>,
) -> Result<()> {
    let (id,): (i64,) = tx
        .fetch_one(
            "INSERT INTO instance_actions (instance_uuid, action, request_id, user_id, project_id, start_time, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            args![uuid, action, &ctx.request_id, &ctx.user_id, &ctx.project_id, now],
        )
        .await?;
    if let Some(ev) = event {
        tx.execute(
            "INSERT INTO instance_action_events (action_id, event, start_time, host) VALUES ($1, $2, $3, $4)",
            args![id, ev, now, host],
        )
        .await?;
    }
    Ok(())
}

/// Records an action; `finished` closes its event at once with `Success`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    c: &Compute,
    ctx: &RequestContext,
    uuid: &str,
    action: &str,
    event: Option<&str>,
    now: i64,
    host: Option<&str>,
    finished: bool,
) -> Result<()> {
    let (id,): (i64,) = c
        .store
        .fetch_one(
            "INSERT INTO instance_actions (instance_uuid, action, request_id, user_id, project_id, start_time, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            args![uuid, action, &ctx.request_id, &ctx.user_id, &ctx.project_id, now],
        )
        .await?;
    if let Some(ev) = event {
        let (finish, result) = if finished {
            (Some(now), Some("Success"))
        } else {
            (None, None)
        };
        c.store
            .execute(
                "INSERT INTO instance_action_events (action_id, event, start_time, finish_time, result, host) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![id, ev, now, finish, result, host],
            )
            .await?;
    }
    Ok(())
}

/// Closes the open events of an instance's actions when the driver's task
/// ended; a failure also marks the action's message `Error`.
pub(crate) async fn finish(c: &Compute, uuid: &str, success: bool, now: i64) -> Result<()> {
    let result = if success { "Success" } else { "Error" };
    let traceback: Option<&str> = if success {
        None
    } else {
        Some("simulated driver failure (see the instance fault)")
    };
    if !success {
        c.store
            .execute(
                "UPDATE instance_actions SET message = 'Error', updated_at = $1 WHERE id IN (SELECT e.action_id FROM \
                 instance_action_events e JOIN instance_actions a ON a.id = e.action_id \
                 WHERE a.instance_uuid = $2 AND e.finish_time IS NULL)",
                args![now, uuid],
            )
            .await?;
    }
    c.store
        .execute(
            "UPDATE instance_action_events SET finish_time = $1, result = $2, traceback = $3 WHERE finish_time IS NULL \
             AND action_id IN (SELECT id FROM instance_actions WHERE instance_uuid = $4)",
            args![now, result, traceback, uuid],
        )
        .await?;
    Ok(())
}

impl Compute {
    /// The actions of an instance, newest first (deleted instances too,
    /// as nova shows them).
    pub async fn list_instance_actions(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<InstanceAction>> {
        self.load(ctx, uuid, true).await?;
        let rows: Vec<ActionRow> = self
            .store
            .fetch_all(
                &format!("SELECT {ACTION_COLUMNS} FROM instance_actions WHERE instance_uuid = $1 ORDER BY start_time DESC, id DESC"),
                args![uuid],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_action(Vec::new()))
            .collect())
    }

    /// One action of an instance by request id, with its events
    /// ([`Error::NotFound`] `InstanceAction` if none).
    pub async fn get_instance_action(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        request_id: &str,
    ) -> Result<InstanceAction> {
        self.load(ctx, uuid, true).await?;
        let row: Option<ActionRow> = self
            .store
            .fetch_optional(
                &format!(
                    "SELECT {ACTION_COLUMNS} FROM instance_actions WHERE instance_uuid = $1 AND request_id = $2 ORDER BY id DESC LIMIT 1"
                ),
                args![uuid, request_id],
            )
            .await?;
        let row = row.ok_or_else(|| Error::not_found(Kind::InstanceAction, request_id))?;
        let events: Vec<EventRow> = self
            .store
            .fetch_all(
                "SELECT event, start_time, finish_time, result, traceback, host, details FROM instance_action_events \
                 WHERE action_id = $1 ORDER BY start_time, id",
                args![row.id],
            )
            .await?;
        let events = events
            .into_iter()
            .map(|e| InstanceActionEvent {
                event: e.event,
                start_time: from_micros(e.start_time),
                finish_time: from_micros_opt(e.finish_time),
                result: e.result,
                traceback: e.traceback,
                host: e.host,
                details: e.details,
            })
            .collect();
        Ok(row.into_action(events))
    }
}
