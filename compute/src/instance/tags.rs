//! Instance tags: a sorted set, at most `validate::MAX_TAGS`.

use std::collections::BTreeSet;

use crate::{validate, Compute, Error, Kind, RequestContext, Result};

pub(super) fn validate_tags(tags: &[String]) -> Result<()> {
    for t in tags {
        validate::tag(t)?;
    }
    let distinct: BTreeSet<&String> = tags.iter().collect();
    if distinct.len() > validate::MAX_TAGS {
        return Err(Error::invalid(format!(
            "The number of tags exceeded the per-server limit {}",
            validate::MAX_TAGS
        )));
    }
    Ok(())
}

impl Compute {
    /// The tags of an instance, sorted.
    pub async fn list_instance_tags(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Vec<String>> {
        Ok(self.load(ctx, uuid, false).await?.tag_list())
    }

    /// Replaces all tags (`PUT /servers/{id}/tags`); returns them sorted.
    pub async fn set_instance_tags(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tags: Vec<String>,
    ) -> Result<Vec<String>> {
        validate_tags(&tags)?;
        let set: BTreeSet<String> = tags.into_iter().collect();
        let row = self
            .mutate(ctx, uuid, |row| {
                row.tags =
                    serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(())
            })
            .await?;
        Ok(row.tag_list())
    }

    /// Adds one tag; returns true when it was new.
    pub async fn add_instance_tag(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tag: &str,
    ) -> Result<bool> {
        validate::tag(tag)?;
        let mut added = false;
        self.mutate(ctx, uuid, |row| {
            let mut set: BTreeSet<String> = row.tag_list().into_iter().collect();
            added = set.insert(tag.to_string());
            if set.len() > validate::MAX_TAGS {
                return Err(Error::invalid(format!(
                    "The number of tags exceeded the per-server limit {}",
                    validate::MAX_TAGS
                )));
            }
            row.tags = serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await?;
        Ok(added)
    }

    /// Removes one tag ([`Error::NotFound`] `Tag` if absent).
    pub async fn delete_instance_tag(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        tag: &str,
    ) -> Result<()> {
        self.mutate(ctx, uuid, |row| {
            let mut set: BTreeSet<String> = row.tag_list().into_iter().collect();
            if !set.remove(tag) {
                return Err(Error::not_found(Kind::Tag, tag));
            }
            row.tags = serde_json::to_string(&set).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await
        .map(|_| ())
    }
}
