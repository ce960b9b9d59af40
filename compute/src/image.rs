//! The image catalogue: what instances boot from, with glance's fields and
//! the integer id behind EC2's `ami-%08x`.
//!
//! Visibility: `public` and `community` images are visible to everyone;
//! `private` and `shared` ones to their owner project and admins.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{args, from_micros, from_micros_opt, is_unique_violation, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// An image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Integer id (EC2 `ami-%08x`; never reused).
    pub id: i64,
    /// The uuid (the compute API's image id).
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// glance status: `active`, `queued`, `saving`, `deleted`, ...
    pub status: String,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// Owner project.
    pub owner: Option<String>,
    /// Disk format (`qcow2`, `raw`, `aki`, `ari`, `ami`, ...).
    pub disk_format: Option<String>,
    /// Container format (`bare`, `ami`, ...).
    pub container_format: Option<String>,
    /// Minimum disk in GiB.
    pub min_disk: i64,
    /// Minimum RAM in MiB.
    pub min_ram: i64,
    /// Size in bytes.
    pub size: Option<i64>,
    /// MD5 checksum, if known.
    pub checksum: Option<String>,
    /// Protected from deletion.
    pub protected: bool,
    /// Other properties (`hw_rng_model`, `os_distro`, ...).
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Image {
    /// The EC2 id: `aki-` for kernels, `ari-` for ramdisks, else `ami-`.
    pub fn ec2_id(&self) -> String {
        crate::ec2::ec2_image_id(self.id, self.disk_format.as_deref())
    }
}

/// An image to register (operators, seeding, or an API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewImage {
    /// The uuid; a new one when `None`.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Name.
    pub name: String,
    /// Status (default `active`).
    #[serde(default = "active")]
    pub status: String,
    /// Visibility (default `public` for admins, else `private`).
    #[serde(default)]
    pub visibility: Option<String>,
    /// Owner project (admins only; default the caller's).
    #[serde(default)]
    pub owner: Option<String>,
    /// Disk format.
    #[serde(default)]
    pub disk_format: Option<String>,
    /// Container format.
    #[serde(default)]
    pub container_format: Option<String>,
    /// Minimum disk (GiB).
    #[serde(default)]
    pub min_disk: i64,
    /// Minimum RAM (MiB).
    #[serde(default)]
    pub min_ram: i64,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Checksum.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Protected.
    #[serde(default)]
    pub protected: bool,
    /// Other properties.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

fn active() -> String {
    "active".to_string()
}

impl NewImage {
    /// An active image called `name` with no other fields set.
    pub fn new(name: impl Into<String>) -> Self {
        NewImage {
            uuid: None,
            name: name.into(),
            status: active(),
            visibility: None,
            owner: None,
            disk_format: None,
            container_format: None,
            min_disk: 0,
            min_ram: 0,
            size: None,
            checksum: None,
            protected: false,
            properties: BTreeMap::new(),
        }
    }
}

/// Filters of an image list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFilter {
    /// Exact name.
    pub name: Option<String>,
    /// Exact status.
    pub status: Option<String>,
    /// Exact visibility.
    pub visibility: Option<String>,
    /// Only these uuids (glance's `id=in:a,b`).
    pub uuids: Option<Vec<String>>,
    /// Only these integer ids (EC2 ids).
    pub ids: Option<Vec<i64>>,
    /// Only images of this owner.
    pub owner: Option<String>,
    /// The uuid of the last image of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

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
    checksum: Option<String>,
    protected: bool,
    properties: String,
    created_at: i64,
    updated_at: Option<i64>,
}

const IMAGE_COLUMNS: &str =
    "id, uuid, name, status, visibility, owner, disk_format, container_format, min_disk, min_ram, \
    size, checksum, protected, properties, created_at, updated_at";

impl ImageRow {
    fn into_image(self) -> Image {
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
            checksum: self.checksum,
            protected: self.protected,
            properties: serde_json::from_str(&self.properties).unwrap_or_default(),
            created_at: from_micros(self.created_at),
            updated_at: from_micros_opt(self.updated_at),
        }
    }

    fn visible_to(&self, ctx: &RequestContext) -> bool {
        ctx.is_admin
            || matches!(self.visibility.as_str(), "public" | "community")
            || self.owner.as_deref() == Some(ctx.project_id.as_str())
    }
}

impl Compute {
    /// An image visible to the caller, by uuid.
    pub async fn get_image(&self, ctx: &RequestContext, uuid: &str) -> Result<Image> {
        let row: Option<ImageRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE uuid = $1"),
                args![uuid],
            )
            .await?;
        row.filter(|r| r.visible_to(ctx))
            .map(ImageRow::into_image)
            .ok_or_else(|| Error::not_found(Kind::Image, uuid))
    }

    /// An image visible to the caller, by EC2 id (`ami-`, `aki-`, `ari-`).
    pub async fn get_image_by_ec2_id(&self, ctx: &RequestContext, ec2_id: &str) -> Result<Image> {
        let id = crate::ec2::parse_ec2_id(ec2_id, &["ami", "aki", "ari"])?;
        let row: Option<ImageRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = $1"),
                args![id],
            )
            .await?;
        row.filter(|r| r.visible_to(ctx))
            .map(ImageRow::into_image)
            .ok_or_else(|| Error::not_found(Kind::Image, ec2_id))
    }

    /// The images visible to the caller, oldest first (by integer id).
    pub async fn list_images(
        &self,
        ctx: &RequestContext,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>> {
        let rows: Vec<ImageRow> = self
            .store
            .fetch_all(
                &format!("SELECT {IMAGE_COLUMNS} FROM images ORDER BY id"),
                vec![],
            )
            .await?;
        let mut rows: Vec<ImageRow> = rows
            .into_iter()
            .filter(|r| r.visible_to(ctx))
            .filter(|r| {
                filter
                    .name
                    .as_ref()
                    .is_none_or(|n| r.name.as_ref() == Some(n))
            })
            .filter(|r| filter.status.as_ref().is_none_or(|s| &r.status == s))
            .filter(|r| {
                filter
                    .visibility
                    .as_ref()
                    .is_none_or(|v| &r.visibility == v)
            })
            .filter(|r| {
                filter
                    .owner
                    .as_ref()
                    .is_none_or(|o| r.owner.as_ref() == Some(o))
            })
            .filter(|r| filter.uuids.as_ref().is_none_or(|u| u.contains(&r.uuid)))
            .filter(|r| filter.ids.as_ref().is_none_or(|i| i.contains(&r.id)))
            .collect();
        if let Some(m) = &filter.marker {
            let pos = rows
                .iter()
                .position(|r| &r.uuid == m)
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            rows.drain(..=pos);
        }
        if let Some(l) = filter.limit {
            rows.truncate(l);
        }
        Ok(rows.into_iter().map(ImageRow::into_image).collect())
    }

    /// Registers an image. Non-admins own what they register and may only
    /// make it private or shared. A taken uuid is [`Error::Duplicate`].
    pub async fn create_image(&self, ctx: &RequestContext, new: NewImage) -> Result<Image> {
        crate::validate::name("name", &new.name)?;
        let visibility = new.visibility.clone().unwrap_or_else(|| {
            if ctx.is_admin {
                "public".into()
            } else {
                "private".into()
            }
        });
        if !matches!(
            visibility.as_str(),
            "public" | "private" | "shared" | "community"
        ) {
            return Err(Error::invalid(format!(
                "Invalid visibility value: {visibility}"
            )));
        }
        if !ctx.is_admin
            && (visibility == "public" || new.owner.as_deref().is_some_and(|o| o != ctx.project_id))
        {
            return Err(Error::Forbidden(
                "Policy doesn't allow publicize_image to be performed.".into(),
            ));
        }
        let uuid = match &new.uuid {
            Some(u) => uuid::Uuid::parse_str(u)
                .map_err(|_| Error::invalid(format!("Invalid image id {u}")))?
                .to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let owner = new.owner.clone().unwrap_or_else(|| ctx.project_id.clone());
        let props =
            serde_json::to_string(&new.properties).map_err(|e| Error::Internal(e.to_string()))?;
        let now = now_micros();
        let r = self
            .store
            .execute(
                "INSERT INTO images (uuid, name, status, visibility, owner, disk_format, container_format, min_disk, min_ram, \
                 size, checksum, protected, properties, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
                args![
                    &uuid,
                    &new.name,
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
                    props,
                    now
                ],
            )
            .await;
        match r {
            Err(e) if is_unique_violation(&e) => return Err(Error::duplicate(Kind::Image, uuid)),
            r => r?,
        };
        self.get_image(ctx, &uuid).await
    }

    /// Deletes an image (owner or admin); protected ones are refused
    /// ([`Error::Forbidden`]). Its integer id is never reused.
    pub async fn delete_image(&self, ctx: &RequestContext, uuid: &str) -> Result<()> {
        let img = self.get_image(ctx, uuid).await?;
        if !ctx.is_admin && img.owner.as_deref() != Some(ctx.project_id.as_str()) {
            return Err(Error::Forbidden(format!(
                "You are not permitted to delete image {uuid}."
            )));
        }
        if img.protected {
            return Err(Error::Forbidden(format!(
                "Image {uuid} is protected and cannot be deleted."
            )));
        }
        self.store
            .execute("DELETE FROM images WHERE uuid = $1", args![uuid])
            .await?;
        Ok(())
    }

    /// Merges properties into an image (owner or admin); `None` values
    /// remove a property. Returns the image.
    pub async fn update_image_properties(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        changes: BTreeMap<String, Option<serde_json::Value>>,
    ) -> Result<Image> {
        let img = self.get_image(ctx, uuid).await?;
        if !ctx.is_admin && img.owner.as_deref() != Some(ctx.project_id.as_str()) {
            return Err(Error::Forbidden(format!(
                "You are not permitted to modify image {uuid}."
            )));
        }
        let mut props = img.properties;
        for (k, v) in changes {
            match v {
                Some(v) => props.insert(k, v),
                None => props.remove(&k),
            };
        }
        let text = serde_json::to_string(&props).map_err(|e| Error::Internal(e.to_string()))?;
        self.store
            .execute(
                "UPDATE images SET properties = $1, updated_at = $2 WHERE uuid = $3",
                args![text, now_micros(), uuid],
            )
            .await?;
        self.get_image(ctx, uuid).await
    }
}
