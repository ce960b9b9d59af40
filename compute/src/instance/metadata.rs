//! Instance metadata (key/value): reads, merges, replacement, deletion.

use std::collections::BTreeMap;

use super::row::InstanceRow;
use crate::states::VmState;
use crate::{validate, Compute, Error, Kind, RequestContext, Result};

pub(crate) fn validate_metadata(meta: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in meta {
        validate::metadata_item(k, v)?;
    }
    Ok(())
}

fn check_metadata_state(ctx: &RequestContext, row: &InstanceRow, action: &str) -> Result<()> {
    if row.locked && !ctx.is_admin {
        return Err(Error::Locked {
            uuid: row.uuid.clone(),
        });
    }
    let vm = row.vm();
    if !matches!(
        vm,
        VmState::Active | VmState::Paused | VmState::Suspended | VmState::Stopped
    ) {
        return Err(Error::InvalidState {
            action: action.into(),
            uuid: row.uuid.clone(),
            attr: "vm_state",
            state: vm.as_str().into(),
        });
    }
    Ok(())
}

impl Compute {
    /// The metadata of an instance.
    pub async fn get_instance_metadata(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(self.load(ctx, uuid, false).await?.metadata_map())
    }

    /// Sets metadata: merges `items` into it, or replaces it all when
    /// `replace`. Validates each pair and the item count against the
    /// project's `metadata_items` quota; refuses locked instances
    /// (non-admin) and instances that are building, in error or deleted.
    /// Returns the whole metadata after the change.
    pub async fn update_instance_metadata(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        items: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        validate_metadata(&items)?;
        let action = if replace {
            "update_all_metadata"
        } else {
            "update_metadata"
        };
        let row = self.load(ctx, uuid, false).await?;
        let limit = self.project_limits(&row.project_id).await?.metadata_items;
        let row = self
            .mutate(ctx, uuid, |row| {
                check_metadata_state(ctx, row, action)?;
                let mut meta = if replace {
                    BTreeMap::new()
                } else {
                    row.metadata_map()
                };
                meta.extend(items.clone());
                if limit >= 0 && meta.len() as i64 > limit {
                    return Err(Error::quota("metadata_items", meta.len() as i64, 0, limit));
                }
                row.metadata =
                    serde_json::to_string(&meta).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(())
            })
            .await?;
        Ok(row.metadata_map())
    }

    /// Deletes one metadata key ([`Error::NotFound`] `MetadataKey` if absent).
    pub async fn delete_instance_metadata_item(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        key: &str,
    ) -> Result<()> {
        self.mutate(ctx, uuid, |row| {
            check_metadata_state(ctx, row, "delete_metadata")?;
            let mut meta = row.metadata_map();
            if meta.remove(key).is_none() {
                return Err(Error::not_found(Kind::MetadataKey, key));
            }
            row.metadata =
                serde_json::to_string(&meta).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        })
        .await
        .map(|_| ())
    }
}
