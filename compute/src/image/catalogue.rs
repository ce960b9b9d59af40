//! Reading, listing, registering, changing and deleting images.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::access::{self, Membership};
use super::{rules, Image, ImageFilter, ImageSort, ImageUpdate, NewImage};
use crate::store::{args, from_micros, from_micros_opt, is_unique_violation, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

#[derive(sqlx::FromRow)]
struct ImageRow {
    id: i64,
    uuid: String,
    name: Option<String>,
    status: String,
    visibility: String,
    owner: Option<String>,
    disk_format: Option<String>,
    container_format: Option<String>,
    min_disk: i64,
    min_ram: i64,
    size: Option<i64>,
    virtual_size: Option<i64>,
    checksum: Option<String>,
    os_hash_algo: Option<String>,
    os_hash_value: Option<String>,
    protected: bool,
    os_hidden: bool,
    properties: String,
    created_at: i64,
    updated_at: Option<i64>,
}

const IMAGE_COLUMNS: &str =
    "id, uuid, name, status, visibility, owner, disk_format, container_format, min_disk, min_ram, \
    size, virtual_size, checksum, os_hash_algo, os_hash_value, protected, os_hidden, properties, \
    created_at, updated_at";

impl ImageRow {
    fn into_image(self, tags: Vec<String>) -> Image {
        Image {
            id: self.id,
            uuid: self.uuid,
            name: self.name,
            status: self.status,
            visibility: self.visibility,
            owner: self.owner,
            disk_format: self.disk_format,
            container_format: self.container_format,
            min_disk: self.min_disk,
            min_ram: self.min_ram,
            size: self.size,
            virtual_size: self.virtual_size,
            checksum: self.checksum,
            os_hash_algo: self.os_hash_algo,
            os_hash_value: self.os_hash_value,
            protected: self.protected,
            os_hidden: self.os_hidden,
            tags,
            properties: serde_json::from_str(&self.properties).unwrap_or_default(),
            created_at: from_micros(self.created_at),
            updated_at: from_micros_opt(self.updated_at),
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

impl Compute {
    /// The image with `uuid` whatever its status and whoever asks (the
    /// callers check access).
    pub(crate) async fn load_image(&self, uuid: &str) -> Result<Option<Image>> {
        let mut row: Option<ImageRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE uuid = $1"),
                args![uuid],
            )
            .await?;
        if row
            .as_ref()
            .is_some_and(|r| matches!(r.status.as_str(), "queued" | "saving"))
        {
            // A snapshot being uploaded moves on when read.
            crate::snapshot::settle_uploads(self).await?;
            row = self
                .store
                .fetch_optional(
                    &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE uuid = $1"),
                    args![uuid],
                )
                .await?;
        }
        let Some(row) = row else { return Ok(None) };
        let tags: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT tag FROM image_tags WHERE image_uuid = $1 ORDER BY tag",
                args![uuid],
            )
            .await?;
        Ok(Some(
            row.into_image(tags.into_iter().map(|t| t.0).collect()),
        ))
    }

    /// The status of the caller's project as a member of image `uuid`.
    pub(crate) async fn membership(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT status FROM image_members WHERE image_uuid = $1 AND member = $2",
                args![uuid, &ctx.project_id],
            )
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// An image the caller can see, by uuid, with the caller's
    /// membership of it.
    pub(crate) async fn visible_image(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<(Image, Option<String>)> {
        let image = self
            .load_image(uuid)
            .await?
            .ok_or_else(|| Error::not_found(Kind::Image, uuid))?;
        let membership = if image.visibility == "shared" && !access::owns(ctx, &image) {
            self.membership(ctx, uuid).await?
        } else {
            None
        };
        if access::can_see(ctx, &image, membership.as_deref()) {
            Ok((image, membership))
        } else {
            Err(Error::not_found(Kind::Image, uuid))
        }
    }

    /// An image visible to the caller, by uuid.
    pub async fn get_image(&self, ctx: &RequestContext, uuid: &str) -> Result<Image> {
        Ok(self.visible_image(ctx, uuid).await?.0)
    }

    /// An image visible to the caller, by EC2 id (`ami-`, `aki-`, `ari-`).
    pub async fn get_image_by_ec2_id(&self, ctx: &RequestContext, ec2_id: &str) -> Result<Image> {
        let id = crate::ec2::parse_ec2_id(ec2_id, &["ami", "aki", "ari"])?;
        let row: Option<(String,)> = self
            .store
            .fetch_optional("SELECT uuid FROM images WHERE id = $1", args![id])
            .await?;
        let Some((uuid,)) = row else {
            return Err(Error::not_found(Kind::Image, ec2_id));
        };
        self.get_image(ctx, &uuid)
            .await
            .map_err(|_| Error::not_found(Kind::Image, ec2_id))
    }

    /// The images a list with `filter` shows the caller, in the filter's
    /// order (oldest first by default), one page.
    pub async fn list_images(
        &self,
        ctx: &RequestContext,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>> {
        crate::snapshot::settle_uploads(self).await?;
        let rows: Vec<ImageRow> = self
            .store
            .fetch_all(
                &format!(
                    "SELECT {IMAGE_COLUMNS} FROM images WHERE status <> 'deleted' ORDER BY id"
                ),
                vec![],
            )
            .await?;
        let tag_rows: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT image_uuid, tag FROM image_tags ORDER BY image_uuid, tag",
                vec![],
            )
            .await?;
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        for (uuid, tag) in tag_rows {
            tags.entry(uuid).or_default().push(tag);
        }
        let member_rows: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT image_uuid, status FROM image_members WHERE member = $1",
                args![&ctx.project_id],
            )
            .await?;
        let memberships: HashMap<String, String> = member_rows.into_iter().collect();
        let mut images: Vec<Image> = rows
            .into_iter()
            .map(|r| {
                let t = tags.remove(&r.uuid).unwrap_or_default();
                r.into_image(t)
            })
            .filter(|i| {
                let m: Membership<'_> = memberships.get(&i.uuid).map(String::as_str);
                access::can_see(ctx, i, m) && access::listed(ctx, i, m, filter)
            })
            .filter(|i| matches_filter(i, filter))
            .collect();
        if !filter.sort.is_empty() {
            images.sort_by(|a, b| compare(a, b, &filter.sort));
        }
        if let Some(m) = &filter.marker {
            let pos = images
                .iter()
                .position(|i| &i.uuid == m)
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            images.drain(..=pos);
        }
        if let Some(l) = filter.limit {
            images.truncate(l);
        }
        Ok(images)
    }

    /// Registers an image. Non-admins own what they register and may not
    /// make it public. A taken uuid is [`Error::Duplicate`].
    pub async fn create_image(&self, ctx: &RequestContext, new: NewImage) -> Result<Image> {
        access::require_writer(ctx)?;
        rules::name(&new.name)?;
        // Glance's images may have no name; an empty one is none.
        let name = Some(new.name.clone()).filter(|n| !n.is_empty());
        let visibility = new.visibility.clone().unwrap_or_else(|| {
            if ctx.is_admin {
                "public".into()
            } else {
                "private".into()
            }
        });
        rules::visibility(&visibility)?;
        rules::disk_format(new.disk_format.as_deref())?;
        rules::container_format(new.container_format.as_deref())?;
        rules::minimum("min_disk", new.min_disk)?;
        rules::minimum("min_ram", new.min_ram)?;
        for tag in &new.tags {
            rules::tag(tag)?;
        }
        let mut tags = new.tags.clone();
        tags.sort();
        tags.dedup();
        rules::quotas(new.properties.len(), tags.len())?;
        access::may_set_visibility(ctx, &visibility)?;
        if !ctx.is_admin && new.owner.as_deref().is_some_and(|o| o != ctx.project_id) {
            return Err(Error::Forbidden(format!(
                "You are not permitted to create images owned by '{}'.",
                new.owner.as_deref().unwrap_or_default()
            )));
        }
        let uuid = match &new.uuid {
            Some(u) => uuid::Uuid::parse_str(u)
                .map_err(|_| Error::invalid(format!("Invalid image id {u}")))?
                .to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let owner = new.owner.clone().unwrap_or_else(|| ctx.project_id.clone());
        let props = to_json(&new.properties)?;
        let now = now_micros();
        let mut tx = self.store.begin_locked("nova-api-rs:images").await?;
        let r = tx
            .execute(
                "INSERT INTO images (uuid, name, status, visibility, owner, disk_format, container_format, min_disk, min_ram, \
                 size, checksum, protected, os_hidden, properties, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
                args![
                    &uuid,
                    name,
                    &new.status,
                    &visibility,
                    &owner,
                    &new.disk_format,
                    &new.container_format,
                    new.min_disk,
                    new.min_ram,
                    new.size,
                    &new.checksum,
                    new.protected,
                    new.os_hidden,
                    props,
                    now
                ],
            )
            .await;
        match r {
            Err(e) if is_unique_violation(&e) => return Err(Error::duplicate(Kind::Image, uuid)),
            r => r?,
        };
        for tag in &tags {
            tx.execute(
                "INSERT INTO image_tags (image_uuid, tag, created_at) VALUES ($1, $2, $3)",
                args![&uuid, tag, now],
            )
            .await?;
        }
        tx.commit().await?;
        self.get_image(ctx, &uuid).await
    }

    /// Changes an image's attributes (owner or admin), as Glance's PATCH
    /// does; returns the image.
    pub async fn update_image(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        update: ImageUpdate,
    ) -> Result<Image> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "modify")?;
        let mut next = image.clone();
        if let Some(name) = update.name {
            if let Some(n) = &name {
                rules::name(n)?;
            }
            next.name = name;
        }
        if let Some(v) = update.visibility {
            rules::visibility(&v)?;
            if v != image.visibility {
                access::may_set_visibility(ctx, &v)?;
            }
            next.visibility = v;
        }
        for (field, value, current, slot) in [
            (
                "disk_format",
                update.disk_format,
                &image.disk_format,
                &mut next.disk_format,
            ),
            (
                "container_format",
                update.container_format,
                &image.container_format,
                &mut next.container_format,
            ),
        ] {
            let Some(value) = value else { continue };
            if &value == current {
                continue;
            }
            if image.status != "queued" {
                return Err(Error::Forbidden(format!(
                    "Attribute {field} can be only replaced for a queued image."
                )));
            }
            match field {
                "disk_format" => rules::disk_format(value.as_deref())?,
                _ => rules::container_format(value.as_deref())?,
            }
            *slot = value;
        }
        if let Some(n) = update.min_disk {
            rules::minimum("min_disk", n)?;
            next.min_disk = n;
        }
        if let Some(n) = update.min_ram {
            rules::minimum("min_ram", n)?;
            next.min_ram = n;
        }
        if let Some(owner) = update.owner {
            if owner != image.owner && !ctx.is_admin {
                return Err(Error::Forbidden(
                    "You are not permitted to modify 'owner' on this image.".into(),
                ));
            }
            next.owner = owner;
        }
        if let Some(p) = update.protected {
            next.protected = p;
        }
        if let Some(h) = update.os_hidden {
            next.os_hidden = h;
        }
        for (key, value) in update.properties {
            match value {
                Some(v) => {
                    rules::property_name(&key)?;
                    next.properties.insert(key, v);
                }
                None => {
                    next.properties.remove(&key);
                }
            }
        }
        if let Some(mut tags) = update.tags {
            for tag in &tags {
                rules::tag(tag)?;
            }
            tags.sort();
            tags.dedup();
            next.tags = tags;
        }
        rules::quotas(next.properties.len(), next.tags.len())?;
        let now = now_micros();
        let mut tx = self.store.begin_locked("nova-api-rs:images").await?;
        tx.execute(
            "UPDATE images SET name = $1, visibility = $2, disk_format = $3, container_format = $4, \
             min_disk = $5, min_ram = $6, protected = $7, os_hidden = $8, properties = $9, updated_at = $10, \
             owner = $11 WHERE uuid = $12 AND status <> 'deleted'",
            args![
                &next.name,
                &next.visibility,
                &next.disk_format,
                &next.container_format,
                next.min_disk,
                next.min_ram,
                next.protected,
                next.os_hidden,
                to_json(&next.properties)?,
                now,
                &next.owner,
                uuid
            ],
        )
        .await?;
        if next.tags != image.tags {
            tx.execute("DELETE FROM image_tags WHERE image_uuid = $1", args![uuid])
                .await?;
            for tag in &next.tags {
                tx.execute(
                    "INSERT INTO image_tags (image_uuid, tag, created_at) VALUES ($1, $2, $3)",
                    args![uuid, tag, now],
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.get_image(ctx, uuid).await
    }

    /// Merges properties into an image (owner or admin); `None` values
    /// remove a property. Returns the image.
    pub async fn update_image_properties(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        changes: BTreeMap<String, Option<serde_json::Value>>,
    ) -> Result<Image> {
        self.update_image(
            ctx,
            uuid,
            ImageUpdate {
                properties: changes,
                ..ImageUpdate::default()
            },
        )
        .await
    }

    /// Deletes an image (owner or admin); protected ones are refused
    /// ([`Error::Forbidden`]). The row stays with status `deleted`, so
    /// its integer id is never reused; its data file is removed.
    pub async fn delete_image(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        access::require_writer(ctx)?;
        let (image, _) = self.visible_image(ctx, uuid).await?;
        access::require_owner(ctx, &image, "delete")?;
        if image.protected {
            return Err(Error::Forbidden(format!(
                "Image {uuid} is protected and cannot be deleted."
            )));
        }
        let now = now_micros();
        let changed = self
            .store
            .execute(
                "UPDATE images SET status = 'deleted', deleted_at = $1, updated_at = $1 \
                 WHERE uuid = $2 AND status <> 'deleted' AND protected = $3",
                args![now, uuid, false],
            )
            .await?;
        if changed == 0 {
            return Err(Error::not_found(Kind::Image, uuid));
        }
        self.remove_image_files(uuid).await;
        crate::snapshot::end_upload_of_deleted_image(self, uuid).await
    }
}

/// True when `image` passes the attribute filters of `filter` (the
/// visibility ones are [`access::listed`]'s).
fn matches_filter(image: &Image, filter: &ImageFilter) -> bool {
    let eq =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
    eq(&filter.name, image.name.as_deref())
        && eq(&filter.status, Some(image.status.as_str()))
        && eq(&filter.owner, image.owner.as_deref())
        && filter
            .uuids
            .as_ref()
            .is_none_or(|u| u.contains(&image.uuid))
        && filter.ids.as_ref().is_none_or(|i| i.contains(&image.id))
        && image.os_hidden == filter.os_hidden.unwrap_or(false)
        && filter.tags.iter().all(|t| image.tags.contains(t))
        && filter
            .size_min
            .is_none_or(|m| image.size.is_some_and(|s| s >= m))
        && filter
            .size_max
            .is_none_or(|m| image.size.is_some_and(|s| s <= m))
        && filter
            .attributes
            .iter()
            .all(|(k, v)| attribute_text(image, k).is_some_and(|have| v.contains(&have)))
}

/// An attribute of `image` as text, for filters and sorting.
fn attribute_text(image: &Image, key: &str) -> Option<String> {
    Some(match key {
        "id" => image.uuid.clone(),
        "name" => image.name.clone()?,
        "status" => image.status.clone(),
        "visibility" => image.visibility.clone(),
        "owner" => image.owner.clone()?,
        "disk_format" => image.disk_format.clone()?,
        "container_format" => image.container_format.clone()?,
        "checksum" => image.checksum.clone()?,
        "os_hash_value" => image.os_hash_value.clone()?,
        "protected" => image.protected.to_string(),
        "size" => image.size?.to_string(),
        "virtual_size" => image.virtual_size?.to_string(),
        "os_hidden" => image.os_hidden.to_string(),
        "min_disk" => image.min_disk.to_string(),
        "min_ram" => image.min_ram.to_string(),
        other => match image.properties.get(other)? {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        },
    })
}

/// Orders two images by the sort keys, numbers as numbers.
fn compare(a: &Image, b: &Image, sort: &[ImageSort]) -> Ordering {
    for s in sort {
        let ord = match s.key.as_str() {
            "created_at" => a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)),
            "updated_at" => a.updated_at.cmp(&b.updated_at),
            "size" => a.size.cmp(&b.size),
            "virtual_size" => a.virtual_size.cmp(&b.virtual_size),
            "min_disk" => a.min_disk.cmp(&b.min_disk),
            "min_ram" => a.min_ram.cmp(&b.min_ram),
            key => attribute_text(a, key).cmp(&attribute_text(b, key)),
        };
        let ord = if s.ascending { ord } else { ord.reverse() };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
