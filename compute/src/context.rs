//! The caller of an operation: who they are and what they may see.

/// Who is calling. Every operation of [`crate::Compute`] takes one; reads
/// and writes are scoped to `project_id` unless `is_admin` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The user id (keystone's, or the `user` of a noauth token).
    pub user_id: String,
    /// The project (tenant) id the token is scoped to.
    pub project_id: String,
    /// Role names from the token.
    pub roles: Vec<String>,
    /// True when the caller is an admin (the `admin` role, or noauth2's
    /// `admin` user, as the API's auth decided). Admins may act on every
    /// project's resources.
    pub is_admin: bool,
    /// The request id (`req-<uuid>`) recorded in instance actions.
    pub request_id: String,
}

impl RequestContext {
    /// A non-admin context for `user_id` in `project_id`, with a fresh
    /// request id and the `member` role.
    pub fn new(user_id: impl Into<String>, project_id: impl Into<String>) -> Self {
        RequestContext {
            user_id: user_id.into(),
            project_id: project_id.into(),
            roles: vec!["member".to_string()],
            is_admin: false,
            request_id: new_request_id(),
        }
    }

    /// An admin context for `user_id` in `project_id` (roles `admin`, `member`).
    pub fn admin(user_id: impl Into<String>, project_id: impl Into<String>) -> Self {
        RequestContext {
            roles: vec!["admin".to_string(), "member".to_string()],
            is_admin: true,
            ..RequestContext::new(user_id, project_id)
        }
    }

    /// The same caller with another request id (the API's `x-openstack-request-id`).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = request_id.into();
        self
    }

    /// True when the caller may act on resources of `project_id`.
    pub fn can_access_project(&self, project_id: &str) -> bool {
        self.is_admin || self.project_id == project_id
    }

    pub(crate) fn require_admin(&self, what: &str) -> crate::Result<()> {
        if self.is_admin {
            Ok(())
        } else {
            Err(crate::Error::Forbidden(format!(
                "Policy doesn't allow {what} to be performed."
            )))
        }
    }
}

/// A new request id in nova's form, `req-<uuid4>`.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}
