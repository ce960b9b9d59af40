//! Namespaces: list, show with what they hold, create (with resource
//! type associations, objects, properties and tags), replace, delete.

use super::{
    can_see, check_name, require_admin, MetadefError, MetadefResult, Namespace, NamespaceContents,
    NamespaceFilter, NewNamespace, MAX_NAME,
};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, Error, RequestContext};

/// The write lock of the catalog: one writer at a time, whatever the
/// process, so names stay unique and a namespace's contents consistent.
pub(crate) const LOCK: &str = "nova-api-rs:metadefs";

#[derive(sqlx::FromRow)]
struct NamespaceRow {
    id: String,
    namespace: String,
    display_name: Option<String>,
    description: Option<String>,
    visibility: String,
    protected: bool,
    owner: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str =
    "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

impl NamespaceRow {
    fn into_namespace(self) -> (String, Namespace) {
        (
            self.id,
            Namespace {
                namespace: self.namespace,
                display_name: self.display_name,
                description: self.description,
                visibility: self.visibility,
                protected: self.protected,
                owner: self.owner,
                resource_type_associations: Vec::new(),
                created_at: from_micros(self.created_at),
                updated_at: from_micros(self.updated_at),
            },
        )
    }
}

fn check_visibility(visibility: &str) -> MetadefResult<()> {
    if matches!(visibility, "public" | "private") {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid visibility value: {visibility}")).into())
    }
}

fn check_new(new: &NewNamespace) -> MetadefResult<()> {
    check_name("Namespace", &new.namespace, MAX_NAME)?;
    if let Some(v) = &new.visibility {
        check_visibility(v)?;
    }
    Ok(())
}

impl Compute {
    /// The namespace called `name` whatever the caller, with its id.
    async fn load_namespace(&self, name: &str) -> MetadefResult<Option<(String, Namespace)>> {
        let row: Option<NamespaceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM metadef_namespaces WHERE namespace = $1"),
                args![name],
            )
            .await?;
        let Some((id, mut ns)) = row.map(NamespaceRow::into_namespace) else {
            return Ok(None);
        };
        ns.resource_type_associations = self.associations_of(&id).await?;
        Ok(Some((id, ns)))
    }

    /// The namespace called `name` if the caller sees it, with its id;
    /// else [`MetadefError::NamespaceNotFound`].
    pub(crate) async fn visible_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> MetadefResult<(String, Namespace)> {
        match self.load_namespace(name).await? {
            Some((id, ns)) if can_see(ctx, &ns) => Ok((id, ns)),
            _ => Err(MetadefError::NamespaceNotFound(name.to_string())),
        }
    }

    /// The namespaces the caller sees, newest first, with their resource
    /// type associations; one page.
    pub async fn list_namespaces(
        &self,
        ctx: &RequestContext,
        filter: &NamespaceFilter,
    ) -> MetadefResult<Vec<Namespace>> {
        if let Some(v) = &filter.visibility {
            check_visibility(v)?;
        }
        let rows: Vec<NamespaceRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {COLUMNS} FROM metadef_namespaces ORDER BY created_at DESC, namespace"
                ),
                vec![],
            )
            .await?;
        let mut out = Vec::new();
        for (id, mut ns) in rows.into_iter().map(NamespaceRow::into_namespace) {
            if !can_see(ctx, &ns)
                || filter
                    .visibility
                    .as_ref()
                    .is_some_and(|v| &ns.visibility != v)
            {
                continue;
            }
            ns.resource_type_associations = self.associations_of(&id).await?;
            if !filter.resource_types.is_empty()
                && !ns
                    .resource_type_associations
                    .iter()
                    .any(|a| filter.resource_types.contains(&a.name))
            {
                continue;
            }
            out.push(ns);
        }
        if let Some(m) = &filter.marker {
            let pos = out
                .iter()
                .position(|n| &n.namespace == m)
                .ok_or_else(|| MetadefError::NamespaceNotFound(m.clone()))?;
            out.drain(..=pos);
        }
        if let Some(l) = filter.limit {
            out.truncate(l);
        }
        Ok(out)
    }

    /// A namespace the caller sees, with its objects, properties and tags.
    pub async fn get_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> MetadefResult<(Namespace, NamespaceContents)> {
        let (id, ns) = self.visible_namespace(ctx, name).await?;
        let contents = self.contents_of(&id).await?;
        Ok((ns, contents))
    }

    /// Creates a namespace with what it holds (admins only). A taken name
    /// is [`MetadefError::Duplicate`]; an unknown resource type,
    /// [`MetadefError::ResourceTypeNotFound`]; nothing is made then.
    pub async fn create_namespace(
        &self,
        ctx: &RequestContext,
        new: NewNamespace,
    ) -> MetadefResult<(Namespace, NamespaceContents)> {
        require_admin(ctx, "add_metadef_namespace")?;
        check_new(&new)?;
        for object in &new.objects {
            super::check_object(object)?;
        }
        for property in &new.properties {
            super::check_property(property)?;
        }
        for tag in &new.tags {
            check_name("Tag", tag, super::MAX_TAG)?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let mut tx = self.store.begin_locked(LOCK).await?;
        if namespace_taken(&mut tx, &new.namespace).await? {
            return Err(duplicate(&new.namespace));
        }
        tx.execute(
            &format!("INSERT INTO metadef_namespaces ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"),
            args![
                &id,
                &new.namespace,
                new.display_name.clone(),
                new.description.clone(),
                new.visibility.clone().unwrap_or_else(|| "private".into()),
                new.protected.unwrap_or(false),
                Some(new.owner.clone().unwrap_or_else(|| ctx.project_id.clone())),
                now
            ],
        )
        .await?;
        for association in &new.resource_type_associations {
            super::resource_types::insert_association(
                &mut tx,
                &id,
                &new.namespace,
                association,
                now,
            )
            .await?;
        }
        for object in &new.objects {
            super::contents::insert_definition(
                &mut tx,
                super::contents::Table::Objects,
                &id,
                &new.namespace,
                object,
                now,
            )
            .await?;
        }
        for property in &new.properties {
            super::contents::insert_definition(
                &mut tx,
                super::contents::Table::Properties,
                &id,
                &new.namespace,
                property,
                now,
            )
            .await?;
        }
        for tag in &new.tags {
            super::contents::insert_tag(&mut tx, &id, &new.namespace, tag, now).await?;
        }
        tx.commit().await?;
        self.get_namespace(ctx, &new.namespace).await
    }

    /// Replaces a namespace's attributes (admins only): a new name,
    /// display name and description as given; visibility, protection and
    /// owner when given. What it holds stays.
    pub async fn update_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
        new: NewNamespace,
    ) -> MetadefResult<Namespace> {
        let (id, current) = self.visible_namespace(ctx, name).await?;
        require_admin(ctx, "modify_metadef_namespace")?;
        check_new(&new)?;
        let mut tx = self.store.begin_locked(LOCK).await?;
        if new.namespace != current.namespace && namespace_taken(&mut tx, &new.namespace).await? {
            return Err(duplicate(&new.namespace));
        }
        tx.execute(
            "UPDATE metadef_namespaces SET namespace = $1, display_name = $2, description = $3, \
             visibility = $4, protected = $5, owner = $6, updated_at = $7 WHERE id = $8",
            args![
                &new.namespace,
                new.display_name.clone(),
                new.description.clone(),
                new.visibility.clone().unwrap_or(current.visibility),
                new.protected.unwrap_or(current.protected),
                new.owner.clone().or(current.owner),
                now_micros(),
                &id
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(self.visible_namespace(ctx, &new.namespace).await?.1)
    }

    /// Deletes a namespace and all it holds (admins only); a protected
    /// one is [`MetadefError::Protected`].
    pub async fn delete_namespace(&self, ctx: &RequestContext, name: &str) -> MetadefResult<()> {
        let (id, ns) = self.visible_namespace(ctx, name).await?;
        require_admin(ctx, "delete_metadef_namespace")?;
        if ns.protected {
            return Err(MetadefError::Protected(format!(
                "Metadata definition namespace {name} is protected and cannot be deleted."
            )));
        }
        let mut tx = self.store.begin_locked(LOCK).await?;
        for table in [
            "metadef_objects",
            "metadef_properties",
            "metadef_tags",
            "metadef_namespace_resource_types",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE namespace_id = $1"),
                args![&id],
            )
            .await?;
        }
        tx.execute("DELETE FROM metadef_namespaces WHERE id = $1", args![&id])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A namespace the caller sees and may change (admins), not
    /// protected when `deleting`: its id.
    pub(crate) async fn writable_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &str,
        deleting: Option<String>,
    ) -> MetadefResult<String> {
        let (id, ns) = self.visible_namespace(ctx, name).await?;
        require_admin(ctx, action)?;
        if let Some(what) = deleting {
            if ns.protected {
                return Err(MetadefError::Protected(format!(
                    "Metadata definition {what} is protected and cannot be deleted: namespace {name} is protected."
                )));
            }
        }
        Ok(id)
    }
}

async fn namespace_taken(tx: &mut Tx, name: &str) -> MetadefResult<bool> {
    let (count,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM metadef_namespaces WHERE namespace = $1",
            args![name],
        )
        .await?;
    Ok(count > 0)
}

fn duplicate(name: &str) -> MetadefError {
    MetadefError::Duplicate(format!(
        "The metadata definition namespace={name} already exists."
    ))
}
