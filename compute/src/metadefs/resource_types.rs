//! Resource types (seeded by the migration: Glance's images and
//! snapshots, Cinder's volumes, Nova's flavors, servers and aggregates)
//! and their associations with namespaces.

use super::namespaces::LOCK;
use super::{Association, MetadefError, MetadefResult, NewAssociation, ResourceType};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

#[derive(sqlx::FromRow)]
struct AssociationRow {
    resource_type: String,
    prefix: Option<String>,
    properties_target: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl AssociationRow {
    fn into_association(self) -> Association {
        Association {
            name: self.resource_type,
            prefix: self.prefix,
            properties_target: self.properties_target,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

/// Associates resource type `new.name` with the namespace with id `id`
/// (called `namespace`): [`MetadefError::ResourceTypeNotFound`] for an
/// unknown type, [`MetadefError::Duplicate`] when associated already.
pub(crate) async fn insert_association(
    tx: &mut Tx,
    id: &str,
    namespace: &str,
    new: &NewAssociation,
    now: i64,
) -> MetadefResult<()> {
    let (known,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM metadef_resource_types WHERE name = $1",
            args![&new.name],
        )
        .await?;
    if known == 0 {
        return Err(MetadefError::ResourceTypeNotFound(new.name.clone()));
    }
    let (taken,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM metadef_namespace_resource_types WHERE namespace_id = $1 AND resource_type = $2",
            args![id, &new.name],
        )
        .await?;
    if taken > 0 {
        return Err(MetadefError::Duplicate(format!(
            "The metadata definition resource-type association of resource-type={} to namespace={namespace}, already exists.",
            new.name
        )));
    }
    tx.execute(
        "INSERT INTO metadef_namespace_resource_types \
         (namespace_id, resource_type, prefix, properties_target, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        args![
            id,
            &new.name,
            new.prefix.clone(),
            new.properties_target.clone(),
            now
        ],
    )
    .await?;
    Ok(())
}

impl Compute {
    /// The resource types associated with the namespace with id `id`.
    pub(crate) async fn associations_of(&self, id: &str) -> MetadefResult<Vec<Association>> {
        let rows: Vec<AssociationRow> = self
            .store
            .fetch_all(
                "SELECT resource_type, prefix, properties_target, created_at, updated_at \
                 FROM metadef_namespace_resource_types WHERE namespace_id = $1 ORDER BY created_at, resource_type",
                args![id],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(AssociationRow::into_association)
            .collect())
    }

    /// Every resource type, in the order they were made (anyone reads).
    pub async fn list_resource_types(
        &self,
        _ctx: &RequestContext,
    ) -> MetadefResult<Vec<ResourceType>> {
        let rows: Vec<(String, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT name, created_at, updated_at FROM metadef_resource_types ORDER BY position, name",
                vec![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(name, created, updated)| ResourceType {
                name,
                created_at: from_micros(created),
                updated_at: from_micros(updated),
            })
            .collect())
    }

    /// The resource types a namespace the caller sees applies to.
    pub async fn list_associations(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> MetadefResult<Vec<Association>> {
        let (id, _) = self.visible_namespace(ctx, namespace).await?;
        self.associations_of(&id).await
    }

    /// Associates a resource type with a namespace (admins only).
    pub async fn associate_resource_type(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        new: NewAssociation,
    ) -> MetadefResult<Association> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                "add_metadef_resource_type_association",
                None,
            )
            .await?;
        super::check_name("Resource type", &new.name, super::MAX_NAME)?;
        let mut tx = self.store.begin_locked(LOCK).await?;
        insert_association(&mut tx, &id, namespace, &new, now_micros()).await?;
        tx.commit().await?;
        self.associations_of(&id)
            .await?
            .into_iter()
            .find(|a| a.name == new.name)
            .ok_or_else(|| MetadefError::AssociationNotFound {
                namespace: namespace.to_string(),
                resource_type: new.name.clone(),
            })
    }

    /// Ends an association (admins only, namespace unprotected).
    pub async fn dissociate_resource_type(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        resource_type: &str,
    ) -> MetadefResult<()> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                "remove_metadef_resource_type_association",
                Some(format!("resource-type-association {resource_type}")),
            )
            .await?;
        let removed = self
            .store
            .execute(
                "DELETE FROM metadef_namespace_resource_types WHERE namespace_id = $1 AND resource_type = $2",
                args![&id, resource_type],
            )
            .await?;
        if removed == 0 {
            return Err(MetadefError::AssociationNotFound {
                namespace: namespace.to_string(),
                resource_type: resource_type.to_string(),
            });
        }
        Ok(())
    }
}
