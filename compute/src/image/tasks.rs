//! Glance's tasks: the record an image import leaves (`api_image_import`,
//! written by [`Compute::import_staged_image`]), read back per image
//! (`GET /v2/images/{id}/tasks`, by whoever sees the image) and through
//! the tasks API (`/v2/tasks`, admins only: Glance's `tasks_api_access`).
//!
//! A task expires [`TASK_TIME_TO_LIVE_HOURS`] after it ended, as Glance's
//! `[task] task_time_to_live`; expired tasks are no longer shown.
//!
//! Glance's only task type the tasks API creates, `import`, fetches its
//! `import_from` URL from the network. Nothing here fetches URLs (that
//! would let any admin token make the service reach any host), so
//! [`Compute::create_task`] checks a request as Glance does and then
//! answers as Glance's import filter does when it lets no URL through.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{args, from_micros, from_micros_opt, now_micros};
use crate::{Compute, Error, RequestContext, Result};

/// Hours a task is kept after it ended (Glance's default).
pub const TASK_TIME_TO_LIVE_HOURS: i64 = 48;

/// The task types Glance knows.
pub const TASK_TYPES: &[&str] = &["import", "api_image_import", "location_import"];

/// The statuses of a task.
pub const TASK_STATUSES: &[&str] = &["pending", "processing", "success", "failure"];

/// A task, as Glance records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageTask {
    /// The uuid.
    pub id: String,
    /// `api_image_import` for an import.
    pub task_type: String,
    /// `pending`, `processing`, `success` or `failure`.
    pub status: String,
    /// What was asked (for an import: `image_id`, `import_req`, `backend`).
    pub input: Value,
    /// What came of it (`{"image_id": ...}` on success).
    pub result: Option<Value>,
    /// Why it failed; empty otherwise.
    pub message: String,
    /// The project that asked.
    pub owner: String,
    /// The image it is about.
    pub image_id: Option<String>,
    /// The request that made it (`req-<uuid>`).
    pub request_id: Option<String>,
    /// The user that asked.
    pub user_id: Option<String>,
    /// When it stops being shown.
    pub expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A list of tasks: filters, order, page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    /// Only tasks of this status.
    pub status: Option<String>,
    /// Only tasks of this type.
    pub task_type: Option<String>,
    /// Oldest first when true; Glance's default is newest first.
    pub ascending: bool,
    /// The id of the last task of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    task_type: String,
    status: String,
    input: String,
    result: Option<String>,
    message: String,
    owner: String,
    image_id: Option<String>,
    request_id: Option<String>,
    user_id: Option<String>,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const TASK_COLUMNS: &str =
    "id, type AS task_type, status, input, result, message, owner, image_id, \
    request_id, user_id, expires_at, created_at, updated_at";

impl TaskRow {
    fn into_task(self) -> ImageTask {
        ImageTask {
            id: self.id,
            task_type: self.task_type,
            status: self.status,
            input: serde_json::from_str(&self.input).unwrap_or(Value::Null),
            result: self.result.and_then(|r| serde_json::from_str(&r).ok()),
            message: self.message,
            owner: self.owner,
            image_id: self.image_id,
            request_id: self.request_id,
            user_id: self.user_id,
            expires_at: from_micros_opt(self.expires_at),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

/// Fails unless the caller is an admin: Glance's `tasks_api_access`.
pub fn require_tasks_access(ctx: &RequestContext) -> Result<()> {
    if ctx.is_admin {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "You are not authorized to complete tasks_api_access action.".into(),
        ))
    }
}

impl Compute {
    /// Records the task of an import of image `image_id` that ended with
    /// `outcome` (`Err`: the failure's message).
    pub(crate) async fn record_import_task(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        import_req: &Value,
        outcome: std::result::Result<(), String>,
    ) -> Result<ImageTask> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let expires = now
            + Duration::hours(TASK_TIME_TO_LIVE_HOURS)
                .num_microseconds()
                .unwrap_or(0);
        let input = serde_json::json!({
            "image_id": image_id,
            "import_req": import_req,
            "backend": ["file"],
        });
        let (status, result, message) = match outcome {
            Ok(()) => (
                "success",
                Some(serde_json::json!({"image_id": image_id}).to_string()),
                String::new(),
            ),
            Err(message) => ("failure", None, message),
        };
        self.store
            .execute(
                &format!(
                    "INSERT INTO image_tasks ({}) VALUES \
                     ($1, 'api_image_import', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                    TASK_COLUMNS.replace(" AS task_type", "")
                ),
                args![
                    &id,
                    status,
                    input.to_string(),
                    result,
                    message,
                    &ctx.project_id,
                    image_id,
                    &ctx.request_id,
                    &ctx.user_id,
                    Some(expires),
                    now
                ],
            )
            .await?;
        self.load_task(&id)
            .await?
            .ok_or_else(|| Error::Internal(format!("task {id} vanished")))
    }

    async fn load_task(&self, id: &str) -> Result<Option<ImageTask>> {
        let row: Option<TaskRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {TASK_COLUMNS} FROM image_tasks WHERE id = $1"),
                args![id],
            )
            .await?;
        Ok(row.map(TaskRow::into_task))
    }

    /// The unexpired tasks of an image the caller can see, oldest first
    /// (none for an image made by an upload or a snapshot).
    pub async fn image_tasks(
        &self,
        ctx: &RequestContext,
        image_id: &str,
    ) -> Result<Vec<ImageTask>> {
        self.visible_image(ctx, image_id).await?;
        let rows: Vec<TaskRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM image_tasks WHERE image_id = $1 \
                     AND (expires_at IS NULL OR expires_at >= $2) ORDER BY created_at, id"
                ),
                args![image_id, now_micros()],
            )
            .await?;
        Ok(rows.into_iter().map(TaskRow::into_task).collect())
    }

    /// The unexpired tasks (admins only), newest first unless asked.
    pub async fn list_tasks(
        &self,
        ctx: &RequestContext,
        filter: &TaskFilter,
    ) -> Result<Vec<ImageTask>> {
        require_tasks_access(ctx)?;
        if let Some(s) = &filter.status {
            if !TASK_STATUSES.contains(&s.as_str()) {
                return Err(Error::invalid(format!("Invalid status value: {s}")));
            }
        }
        if let Some(t) = &filter.task_type {
            if !TASK_TYPES.contains(&t.as_str()) {
                return Err(Error::invalid(format!("Invalid type value: {t}")));
            }
        }
        let order = if filter.ascending { "ASC" } else { "DESC" };
        let rows: Vec<TaskRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM image_tasks \
                     WHERE (expires_at IS NULL OR expires_at >= $1) \
                     ORDER BY created_at {order}, id {order}"
                ),
                args![now_micros()],
            )
            .await?;
        let mut tasks: Vec<ImageTask> = rows
            .into_iter()
            .map(TaskRow::into_task)
            .filter(|t| filter.status.as_ref().is_none_or(|s| &t.status == s))
            .filter(|t| filter.task_type.as_ref().is_none_or(|s| &t.task_type == s))
            .collect();
        if let Some(m) = &filter.marker {
            let pos = tasks.iter().position(|t| &t.id == m).ok_or_else(|| {
                Error::invalid(format!("Invalid marker. Task {m} could not be found."))
            })?;
            tasks.drain(..=pos);
        }
        if let Some(l) = filter.limit {
            tasks.truncate(l);
        }
        Ok(tasks)
    }

    /// One unexpired task (admins only).
    pub async fn get_task(&self, ctx: &RequestContext, id: &str) -> Result<ImageTask> {
        require_tasks_access(ctx)?;
        match self.load_task(id).await? {
            Some(t) if t.expires_at.is_none_or(|e| e >= Utc::now()) => Ok(t),
            _ => Err(Error::not_found(crate::Kind::Task, id)),
        }
    }

    /// `POST /v2/tasks` (admins only): checks `task_type` and `input` as
    /// Glance does. Every task this API can create would fetch a URL, which
    /// nothing here does, so a request that passes the checks is refused
    /// as Glance refuses a URL its import filter does not let through:
    /// nothing is recorded.
    pub async fn create_task(
        &self,
        ctx: &RequestContext,
        task_type: &str,
        input: &Value,
    ) -> Result<ImageTask> {
        require_tasks_access(ctx)?;
        if !TASK_TYPES.contains(&task_type) {
            return Err(Error::invalid(format!(
                "Invalid type value: {task_type}. The type must be one of {}",
                TASK_TYPES.join(", ")
            )));
        }
        if !input.is_object() {
            return Err(Error::invalid("Task 'input' must be an object"));
        }
        if task_type != "import" {
            return Err(Error::invalid(format!(
                "Tasks of type {task_type} are made by the image calls, not by the tasks API"
            )));
        }
        let from = input
            .get("import_from")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if from.is_empty() {
            return Err(Error::invalid(format!(
                "Invalid location: {}",
                input
                    .get("import_from")
                    .map_or("None".to_string(), Value::to_string)
            )));
        }
        if from.starts_with("file:///") || from.starts_with("filesystem:///") {
            return Err(Error::invalid(
                "File based imports are not allowed. Please use a non-local source of image data.",
            ));
        }
        if !(from.starts_with("http://") || from.starts_with("https://")) {
            return Err(Error::invalid(
                "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']",
            ));
        }
        Err(Error::invalid(format!(
            "URI for legacy import task does not pass filtering: {from} (this cloud fetches no image data from URLs)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_reach_the_tasks_api() {
        let member = RequestContext::new("u", "p");
        assert!(matches!(
            require_tasks_access(&member),
            Err(Error::Forbidden(_))
        ));
        assert!(require_tasks_access(&RequestContext::admin("a", "p")).is_ok());
    }
}
