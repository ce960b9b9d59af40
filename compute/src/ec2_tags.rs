//! EC2 tags of the resources that have no metadata to keep them in
//! (images, security groups), per project: a project tags any resource it
//! sees, a public image too, and sees only its own tags. Resources are
//! named by their EC2 ids, which are never reused. (An instance's EC2
//! tags are its metadata, as in nova.)

use std::collections::BTreeMap;

use crate::store::{args, now_micros};
use crate::{Compute, Error, RequestContext, Result};

/// The most tags one resource carries (AWS's limit).
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Tag {
    /// The EC2 id of the resource.
    pub resource_id: String,
    /// EC2's name of its kind (`image`, `security-group`).
    pub resource_type: String,
    /// The key.
    pub key: String,
    /// The value (may be empty).
    pub value: String,
}

impl Compute {
    /// Sets `tags` on the resource for the caller's project (a key it has
    /// gets the new value); beyond [`MAX_TAGS_PER_RESOURCE`] on the
    /// resource is [`Error::QuotaExceeded`] and changes nothing.
    pub async fn set_ec2_tags(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        resource_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        let project = ctx.project_id.as_str();
        let mut tx = self
            .store
            .begin_locked(&format!("ec2-tags:{project}:{resource_id}"))
            .await?;
        let have: Vec<(String,)> = tx
            .fetch_all(
                "SELECT tag_key FROM ec2_tags WHERE project_id = $1 AND resource_id = $2",
                args![project, resource_id],
            )
            .await?;
        let new = tags
            .keys()
            .filter(|k| !have.iter().any(|(h,)| h == *k))
            .count();
        if have.len() + new > MAX_TAGS_PER_RESOURCE {
            return Err(Error::quota(
                "tags",
                i64::try_from(new).unwrap_or(i64::MAX),
                i64::try_from(have.len()).unwrap_or(i64::MAX),
                i64::try_from(MAX_TAGS_PER_RESOURCE).unwrap_or(i64::MAX),
            ));
        }
        let now = now_micros();
        for (key, value) in tags {
            tx.execute(
                "INSERT INTO ec2_tags (project_id, resource_id, resource_type, tag_key, tag_value, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (project_id, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                args![project, resource_id, resource_type, key, value, now],
            )
            .await?;
        }
        tx.commit().await
    }

    /// Removes the caller's project's tags of the resource: those whose key
    /// is given (with a value: only when the value matches); all of them
    /// when `keys` is empty.
    pub async fn delete_ec2_tags(
        &self,
        ctx: &RequestContext,
        resource_id: &str,
        keys: &[(String, Option<String>)],
    ) -> Result<()> {
        let project = ctx.project_id.as_str();
        if keys.is_empty() {
            self.store
                .execute(
                    "DELETE FROM ec2_tags WHERE project_id = $1 AND resource_id = $2",
                    args![project, resource_id],
                )
                .await?;
            return Ok(());
        }
        for (key, value) in keys {
            match value {
                Some(v) => {
                    self.store
                        .execute(
                            "DELETE FROM ec2_tags WHERE project_id = $1 AND resource_id = $2 \
                             AND tag_key = $3 AND tag_value = $4",
                            args![project, resource_id, key, v],
                        )
                        .await?
                }
                None => {
                    self.store
                        .execute(
                            "DELETE FROM ec2_tags WHERE project_id = $1 AND resource_id = $2 \
                             AND tag_key = $3",
                            args![project, resource_id, key],
                        )
                        .await?
                }
            };
        }
        Ok(())
    }

    /// Removes every project's tags of a resource that is gone.
    pub async fn forget_ec2_tags(&self, resource_id: &str) -> Result<()> {
        self.store
            .execute(
                "DELETE FROM ec2_tags WHERE resource_id = $1",
                args![resource_id],
            )
            .await?;
        Ok(())
    }

    /// The caller's project's tags, of every resource or of those of kind
    /// `resource_type`, ordered by resource and key.
    pub async fn list_ec2_tags(
        &self,
        ctx: &RequestContext,
        resource_type: Option<&str>,
    ) -> Result<Vec<Ec2Tag>> {
        let project = ctx.project_id.as_str();
        let rows: Vec<(String, String, String, String)> = match resource_type {
            Some(t) => {
                self.store
                    .fetch_all(
                        "SELECT resource_id, resource_type, tag_key, tag_value FROM ec2_tags \
                         WHERE project_id = $1 AND resource_type = $2 ORDER BY resource_id, tag_key",
                        args![project, t],
                    )
                    .await?
            }
            None => {
                self.store
                    .fetch_all(
                        "SELECT resource_id, resource_type, tag_key, tag_value FROM ec2_tags \
                         WHERE project_id = $1 ORDER BY resource_id, tag_key",
                        args![project],
                    )
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(resource_id, resource_type, key, value)| Ec2Tag {
                resource_id,
                resource_type,
                key,
                value,
            })
            .collect())
    }

    /// The caller's project's tags of kind `resource_type`, by resource.
    pub async fn ec2_tags_by_resource(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for t in self.list_ec2_tags(ctx, Some(resource_type)).await? {
            out.entry(t.resource_id).or_default().insert(t.key, t.value);
        }
        Ok(out)
    }
}
