//! What a namespace holds: objects and properties (a name and a JSON
//! definition each, one code path for both) and tags. Reads follow the
//! namespace's visibility; writes are admins' and deletes wait until the
//! namespace is unprotected.

use serde_json::{Map, Value};

use super::namespaces::LOCK;
use super::{
    check_name, check_object, check_property, Definition, MetadefError, MetadefResult,
    NamespaceContents, NewDefinition, Tag, MAX_TAG,
};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

/// Which definitions: a namespace's objects or its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionKind {
    /// Objects (`/objects`).
    Object,
    /// Properties (`/properties`).
    Property,
}

/// The table of a kind of definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Objects,
    Properties,
}

impl DefinitionKind {
    fn table(self) -> Table {
        match self {
            DefinitionKind::Object => Table::Objects,
            DefinitionKind::Property => Table::Properties,
        }
    }

    /// Glance's name of the kind in its policies and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::Object => "object",
            DefinitionKind::Property => "property",
        }
    }

    fn not_found(self, namespace: &str, name: &str) -> MetadefError {
        let (namespace, name) = (namespace.to_string(), name.to_string());
        match self {
            DefinitionKind::Object => MetadefError::ObjectNotFound { namespace, name },
            DefinitionKind::Property => MetadefError::PropertyNotFound { namespace, name },
        }
    }

    fn check(self, definition: &NewDefinition) -> MetadefResult<()> {
        match self {
            DefinitionKind::Object => check_object(definition),
            DefinitionKind::Property => check_property(definition),
        }
    }
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Objects => "metadef_objects",
            Table::Properties => "metadef_properties",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Table::Objects => "object",
            Table::Properties => "property",
        }
    }
}

#[derive(sqlx::FromRow)]
struct DefinitionRow {
    name: String,
    body: String,
    created_at: i64,
    updated_at: i64,
}

impl DefinitionRow {
    fn into_definition(self) -> Definition {
        Definition {
            name: self.name,
            body: serde_json::from_str::<Map<String, Value>>(&self.body).unwrap_or_default(),
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TagRow {
    name: String,
    created_at: i64,
    updated_at: i64,
}

impl TagRow {
    fn into_tag(self) -> Tag {
        Tag {
            name: self.name,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

fn duplicate(table: Table, namespace: &str, name: &str) -> MetadefError {
    MetadefError::Duplicate(format!(
        "A metadata definition {} with name={name} already exists in namespace={namespace}.",
        table.kind()
    ))
}

fn tag_not_found(namespace: &str, name: &str) -> MetadefError {
    MetadefError::TagNotFound {
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

fn duplicate_tag(namespace: &str, name: &str) -> MetadefError {
    MetadefError::Duplicate(format!(
        "A metadata tag with name={name} already exists in namespace={namespace}."
    ))
}

/// Adds a definition to the namespace with id `id` (called `namespace`).
pub(crate) async fn insert_definition(
    tx: &mut Tx,
    table: Table,
    id: &str,
    namespace: &str,
    definition: &NewDefinition,
    now: i64,
) -> MetadefResult<()> {
    let (count,): (i64,) = tx
        .fetch_one(
            &format!(
                "SELECT COUNT(*) FROM {} WHERE namespace_id = $1 AND name = $2",
                table.name()
            ),
            args![id, &definition.name],
        )
        .await?;
    if count > 0 {
        return Err(duplicate(table, namespace, &definition.name));
    }
    tx.execute(
        &format!(
            "INSERT INTO {} (namespace_id, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
            table.name()
        ),
        args![
            id,
            &definition.name,
            Value::Object(definition.body.clone()).to_string(),
            now
        ],
    )
    .await?;
    Ok(())
}

/// Adds a tag to the namespace with id `id` (called `namespace`).
pub(crate) async fn insert_tag(
    tx: &mut Tx,
    id: &str,
    namespace: &str,
    name: &str,
    now: i64,
) -> MetadefResult<()> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM metadef_tags WHERE namespace_id = $1 AND name = $2",
            args![id, name],
        )
        .await?;
    if count > 0 {
        return Err(duplicate_tag(namespace, name));
    }
    tx.execute(
        "INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        args![id, name, now],
    )
    .await?;
    Ok(())
}

impl Compute {
    async fn definitions_of(&self, table: Table, id: &str) -> MetadefResult<Vec<Definition>> {
        let rows: Vec<DefinitionRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT name, body, created_at, updated_at FROM {} WHERE namespace_id = $1 ORDER BY name",
                    table.name()
                ),
                args![id],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(DefinitionRow::into_definition)
            .collect())
    }

    async fn tags_of(&self, id: &str) -> MetadefResult<Vec<Tag>> {
        let rows: Vec<TagRow> = self
            .store
            .fetch_all(
                "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = $1 ORDER BY name",
                args![id],
            )
            .await?;
        Ok(rows.into_iter().map(TagRow::into_tag).collect())
    }

    /// Everything the namespace with id `id` holds.
    pub(crate) async fn contents_of(&self, id: &str) -> MetadefResult<NamespaceContents> {
        Ok(NamespaceContents {
            objects: self.definitions_of(Table::Objects, id).await?,
            properties: self.definitions_of(Table::Properties, id).await?,
            tags: self.tags_of(id).await?,
        })
    }

    /// A namespace's objects or properties, by name.
    pub async fn list_definitions(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
    ) -> MetadefResult<Vec<Definition>> {
        let (id, _) = self.visible_namespace(ctx, namespace).await?;
        self.definitions_of(kind.table(), &id).await
    }

    /// One object or property of a namespace.
    pub async fn get_definition(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
        name: &str,
    ) -> MetadefResult<Definition> {
        let (id, _) = self.visible_namespace(ctx, namespace).await?;
        let row: Option<DefinitionRow> = self
            .store
            .fetch_optional(
                &format!(
                    "SELECT name, body, created_at, updated_at FROM {} WHERE namespace_id = $1 AND name = $2",
                    kind.table().name()
                ),
                args![&id, name],
            )
            .await?;
        row.map(DefinitionRow::into_definition)
            .ok_or_else(|| kind.not_found(namespace, name))
    }

    /// Adds an object or property (admins only); a taken name is
    /// [`MetadefError::Duplicate`].
    pub async fn create_definition(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
        new: NewDefinition,
    ) -> MetadefResult<Definition> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                &format!("add_metadef_{}", kind.as_str()),
                None,
            )
            .await?;
        kind.check(&new)?;
        let mut tx = self.store.begin_locked(LOCK).await?;
        insert_definition(&mut tx, kind.table(), &id, namespace, &new, now_micros()).await?;
        tx.commit().await?;
        self.get_definition(ctx, namespace, kind, &new.name).await
    }

    /// Replaces an object or property (admins only), possibly under a new
    /// name.
    pub async fn update_definition(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
        name: &str,
        new: NewDefinition,
    ) -> MetadefResult<Definition> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                &format!("modify_metadef_{}", kind.as_str()),
                None,
            )
            .await?;
        kind.check(&new)?;
        let table = kind.table();
        let mut tx = self.store.begin_locked(LOCK).await?;
        if new.name != name {
            let (count,): (i64,) = tx
                .fetch_one(
                    &format!(
                        "SELECT COUNT(*) FROM {} WHERE namespace_id = $1 AND name = $2",
                        table.name()
                    ),
                    args![&id, &new.name],
                )
                .await?;
            if count > 0 {
                return Err(duplicate(table, namespace, &new.name));
            }
        }
        let changed = tx
            .execute(
                &format!(
                    "UPDATE {} SET name = $1, body = $2, updated_at = $3 WHERE namespace_id = $4 AND name = $5",
                    table.name()
                ),
                args![
                    &new.name,
                    Value::Object(new.body.clone()).to_string(),
                    now_micros(),
                    &id,
                    name
                ],
            )
            .await?;
        if changed == 0 {
            return Err(kind.not_found(namespace, name));
        }
        tx.commit().await?;
        self.get_definition(ctx, namespace, kind, &new.name).await
    }

    /// Removes an object or property (admins only, namespace unprotected).
    pub async fn delete_definition(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
        name: &str,
    ) -> MetadefResult<()> {
        let action = match kind {
            DefinitionKind::Object => "delete_metadef_object",
            DefinitionKind::Property => "remove_metadef_property",
        };
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                action,
                Some(format!("{} {name}", kind.as_str())),
            )
            .await?;
        let removed = self
            .store
            .execute(
                &format!(
                    "DELETE FROM {} WHERE namespace_id = $1 AND name = $2",
                    kind.table().name()
                ),
                args![&id, name],
            )
            .await?;
        if removed == 0 {
            return Err(kind.not_found(namespace, name));
        }
        Ok(())
    }

    /// Removes all of a namespace's objects or properties (admins only,
    /// namespace unprotected).
    pub async fn delete_definitions(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        kind: DefinitionKind,
    ) -> MetadefResult<()> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                "delete_metadef_namespace",
                Some(format!("{}s of namespace {namespace}", kind.as_str())),
            )
            .await?;
        self.store
            .execute(
                &format!(
                    "DELETE FROM {} WHERE namespace_id = $1",
                    kind.table().name()
                ),
                args![&id],
            )
            .await?;
        Ok(())
    }

    /// A namespace's tags, by name.
    pub async fn list_metadef_tags(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> MetadefResult<Vec<Tag>> {
        let (id, _) = self.visible_namespace(ctx, namespace).await?;
        self.tags_of(&id).await
    }

    /// One tag of a namespace.
    pub async fn get_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> MetadefResult<Tag> {
        let (id, _) = self.visible_namespace(ctx, namespace).await?;
        let row: Option<TagRow> = self
            .store
            .fetch_optional(
                "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = $1 AND name = $2",
                args![&id, name],
            )
            .await?;
        row.map(TagRow::into_tag)
            .ok_or_else(|| tag_not_found(namespace, name))
    }

    /// Adds one tag (admins only); a taken name is
    /// [`MetadefError::Duplicate`].
    pub async fn create_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> MetadefResult<Tag> {
        let id = self
            .writable_namespace(ctx, namespace, "add_metadef_tag", None)
            .await?;
        check_name("Tag", name, MAX_TAG)?;
        let mut tx = self.store.begin_locked(LOCK).await?;
        insert_tag(&mut tx, &id, namespace, name, now_micros()).await?;
        tx.commit().await?;
        self.get_metadef_tag(ctx, namespace, name).await
    }

    /// Sets a namespace's tags to `names` (admins only), or adds them to
    /// those it has when `append` (Glance's `X-Openstack-Append`). A name
    /// given twice, or (appending) one it has, is
    /// [`MetadefError::Duplicate`] and nothing changes.
    pub async fn create_metadef_tags(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        names: &[String],
        append: bool,
    ) -> MetadefResult<Vec<Tag>> {
        let id = self
            .writable_namespace(ctx, namespace, "add_metadef_tags", None)
            .await?;
        for (i, name) in names.iter().enumerate() {
            check_name("Tag", name, MAX_TAG)?;
            if names[..i].contains(name) {
                return Err(duplicate_tag(namespace, name));
            }
        }
        let now = now_micros();
        let mut tx = self.store.begin_locked(LOCK).await?;
        if !append {
            tx.execute(
                "DELETE FROM metadef_tags WHERE namespace_id = $1",
                args![&id],
            )
            .await?;
        }
        for name in names {
            insert_tag(&mut tx, &id, namespace, name, now).await?;
        }
        tx.commit().await?;
        let all = self.tags_of(&id).await?;
        Ok(all
            .into_iter()
            .filter(|t| names.contains(&t.name))
            .collect())
    }

    /// Renames a tag (admins only).
    pub async fn update_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        new_name: &str,
    ) -> MetadefResult<Tag> {
        let id = self
            .writable_namespace(ctx, namespace, "modify_metadef_tag", None)
            .await?;
        check_name("Tag", new_name, MAX_TAG)?;
        let mut tx = self.store.begin_locked(LOCK).await?;
        if new_name != name {
            let (count,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM metadef_tags WHERE namespace_id = $1 AND name = $2",
                    args![&id, new_name],
                )
                .await?;
            if count > 0 {
                return Err(duplicate_tag(namespace, new_name));
            }
        }
        let changed = tx
            .execute(
                "UPDATE metadef_tags SET name = $1, updated_at = $2 WHERE namespace_id = $3 AND name = $4",
                args![new_name, now_micros(), &id, name],
            )
            .await?;
        if changed == 0 {
            return Err(tag_not_found(namespace, name));
        }
        tx.commit().await?;
        self.get_metadef_tag(ctx, namespace, new_name).await
    }

    /// Removes a tag (admins only, namespace unprotected).
    pub async fn delete_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> MetadefResult<()> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                "delete_metadef_tag",
                Some(format!("tag {name}")),
            )
            .await?;
        let removed = self
            .store
            .execute(
                "DELETE FROM metadef_tags WHERE namespace_id = $1 AND name = $2",
                args![&id, name],
            )
            .await?;
        if removed == 0 {
            return Err(tag_not_found(namespace, name));
        }
        Ok(())
    }

    /// Removes all of a namespace's tags (admins only, namespace
    /// unprotected).
    pub async fn delete_metadef_tags(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> MetadefResult<()> {
        let id = self
            .writable_namespace(
                ctx,
                namespace,
                "delete_metadef_tags",
                Some(format!("tags of namespace {namespace}")),
            )
            .await?;
        self.store
            .execute(
                "DELETE FROM metadef_tags WHERE namespace_id = $1",
                args![&id],
            )
            .await?;
        Ok(())
    }
}
