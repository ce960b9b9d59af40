//! Flavors: sizes, extra specs and the access lists of private flavors.
//!
//! Visibility: admins see every flavor; others see public flavors and the
//! private ones whose access list names their project. A flavor they may
//! not see is "not found", as in nova.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{args, from_micros, from_micros_opt, is_unique_violation, now_micros, Arg};
use crate::{validate, Compute, Error, Kind, RequestContext, Result};

/// A flavor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    /// The flavor id (a string: `1`, `m1.big`, a uuid).
    pub id: String,
    /// The name (unique).
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: i64,
    /// Memory in MiB.
    pub ram: i64,
    /// Root disk in GiB.
    pub disk: i64,
    /// Ephemeral disk in GiB (`OS-FLV-EXT-DATA:ephemeral`).
    pub ephemeral: i64,
    /// Swap in MiB (0 = none).
    pub swap: i64,
    /// rxtx_factor.
    pub rxtx_factor: f64,
    /// `os-flavor-access:is_public`.
    pub is_public: bool,
    /// `OS-FLV-DISABLED:disabled`.
    pub disabled: bool,
    /// Description (microversion 2.55).
    pub description: Option<String>,
    /// Extra specs.
    pub extra_specs: BTreeMap<String, String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A flavor to create (`POST /flavors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFlavor {
    /// The id; `None` or `auto` makes a uuid.
    #[serde(default)]
    pub id: Option<String>,
    /// The name.
    pub name: String,
    /// Virtual CPUs (>= 1).
    pub vcpus: i64,
    /// Memory in MiB (>= 1).
    pub ram: i64,
    /// Root disk in GiB (>= 0).
    pub disk: i64,
    /// Ephemeral disk in GiB (>= 0).
    #[serde(default)]
    pub ephemeral: i64,
    /// Swap in MiB (>= 0).
    #[serde(default)]
    pub swap: i64,
    /// rxtx_factor (> 0; default 1.0).
    #[serde(default = "one")]
    pub rxtx_factor: f64,
    /// Public (default true).
    #[serde(default = "yes")]
    pub is_public: bool,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Extra specs to set at once.
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

impl NewFlavor {
    /// A public flavor with the given sizes and an automatic id.
    pub fn new(name: impl Into<String>, vcpus: i64, ram: i64, disk: i64) -> Self {
        NewFlavor {
            id: None,
            name: name.into(),
            vcpus,
            ram,
            disk,
            ephemeral: 0,
            swap: 0,
            rxtx_factor: 1.0,
            is_public: true,
            description: None,
            extra_specs: BTreeMap::new(),
        }
    }
}

/// Filters of a flavor list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlavorFilter {
    /// `Some(true)`: public only; `Some(false)`: private only (admins; for
    /// others the private ones they may use); `None`: all visible.
    pub is_public: Option<bool>,
    /// At least this much disk.
    pub min_disk: Option<i64>,
    /// At least this much memory.
    pub min_ram: Option<i64>,
    /// A regular expression the name must match (anywhere in it; nova's
    /// database `REGEXP`, microversion 2.102).
    pub name: Option<String>,
    /// Sort key: `flavorid` (default), `name`, `memory_mb`, `vcpus`,
    /// `root_gb`, `swap`, `ephemeral_gb`, `rxtx_factor`, `id`.
    pub sort_key: Option<String>,
    /// Descending when true (default ascending).
    pub sort_desc: bool,
    /// The id of the last flavor of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

#[derive(sqlx::FromRow)]
struct FlavorRow {
    id: i64,
    flavorid: String,
    name: String,
    vcpus: i64,
    memory_mb: i64,
    root_gb: i64,
    ephemeral_gb: i64,
    swap: i64,
    rxtx_factor: f64,
    is_public: bool,
    disabled: bool,
    description: Option<String>,
    created_at: i64,
    updated_at: Option<i64>,
}

/// A flavor row joined with one of its extra specs (none: both `None`).
#[derive(sqlx::FromRow)]
struct FlavorSpecRow {
    #[sqlx(flatten)]
    flavor: FlavorRow,
    spec_key: Option<String>,
    spec_value: Option<String>,
}

const FLAVOR_COLUMNS: &str =
    "id, flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, \
    disabled, description, created_at, updated_at";

impl FlavorRow {
    fn into_flavor(self, extra_specs: BTreeMap<String, String>) -> Flavor {
        Flavor {
            id: self.flavorid,
            name: self.name,
            vcpus: self.vcpus,
            ram: self.memory_mb,
            disk: self.root_gb,
            ephemeral: self.ephemeral_gb,
            swap: self.swap,
            rxtx_factor: self.rxtx_factor,
            is_public: self.is_public,
            disabled: self.disabled,
            description: self.description,
            extra_specs,
            created_at: from_micros(self.created_at),
            updated_at: from_micros_opt(self.updated_at),
        }
    }
}

fn validate_new(f: &NewFlavor) -> Result<()> {
    validate::name("name", &f.name)?;
    if let Some(id) = &f.id {
        if id != "auto" {
            let ok = !id.is_empty()
                && id.len() <= 255
                && !id.starts_with(' ')
                && !id.ends_with(' ')
                && id
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_. ".contains(c));
            if !ok {
                return Err(Error::invalid(format!("Invalid input for field/attribute id. Value: {id}. Flavor id may contain only letters, digits, '-', '_', '.' and spaces")));
            }
        }
    }
    for (field, v, min) in [
        ("vcpus", f.vcpus, 1),
        ("ram", f.ram, 1),
        ("disk", f.disk, 0),
        ("OS-FLV-EXT-DATA:ephemeral", f.ephemeral, 0),
        ("swap", f.swap, 0),
    ] {
        if v < min || v > i32::MAX as i64 {
            return Err(Error::invalid(format!(
                "Invalid input for field/attribute {field}. Value: {v}. {field} must be an integer between {min} and {}",
                i32::MAX
            )));
        }
    }
    if !(f.rxtx_factor > 0.0 && f.rxtx_factor.is_finite()) {
        return Err(Error::invalid(
            "Invalid input for field/attribute rxtx_factor. rxtx_factor must be greater than 0",
        ));
    }
    if let Some(d) = &f.description {
        validate::description(d)?;
    }
    for (k, v) in &f.extra_specs {
        validate_spec(k, v)?;
    }
    Ok(())
}

fn validate_spec(key: &str, value: &str) -> Result<()> {
    if key.is_empty()
        || key.len() > 255
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
    {
        return Err(Error::invalid(format!("Invalid input for field/attribute extra_specs. Value: {key}. Key must be 1-255 letters, digits, '-', '_', ':', '.' or spaces")));
    }
    if value.len() > 255 {
        return Err(Error::invalid(format!("Invalid input for field/attribute extra_specs. Value of {key} is longer than 255 characters")));
    }
    Ok(())
}

impl Compute {
    async fn flavor_row(&self, ctx: &RequestContext, flavor_id: &str) -> Result<FlavorRow> {
        let row: Option<FlavorRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {FLAVOR_COLUMNS} FROM flavors WHERE flavorid = $1"),
                args![flavor_id],
            )
            .await?;
        let row = row.ok_or_else(|| Error::not_found(Kind::Flavor, flavor_id))?;
        if !ctx.is_admin && !row.is_public {
            let (n,): (i64,) = self
                .store
                .fetch_one(
                    "SELECT COUNT(*) FROM flavor_projects WHERE flavor_pk = $1 AND project_id = $2",
                    args![row.id, &ctx.project_id],
                )
                .await?;
            if n == 0 {
                return Err(Error::not_found(Kind::Flavor, flavor_id));
            }
        }
        Ok(row)
    }

    async fn specs_of(&self, pk: i64) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT spec_key, spec_value FROM flavor_extra_specs WHERE flavor_pk = $1",
                args![pk],
            )
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// A flavor visible to the caller (disabled ones included).
    pub async fn get_flavor(&self, ctx: &RequestContext, flavor_id: &str) -> Result<Flavor> {
        let row = self.flavor_row(ctx, flavor_id).await?;
        let specs = self.specs_of(row.id).await?;
        Ok(row.into_flavor(specs))
    }

    /// Lists the flavors visible to the caller (disabled ones only for
    /// admins), with extra specs. An unknown marker is [`Error::Invalid`].
    pub async fn list_flavors(
        &self,
        ctx: &RequestContext,
        filter: &FlavorFilter,
    ) -> Result<Vec<Flavor>> {
        let mut wh: Vec<String> = Vec::new();
        let mut a: Vec<Arg> = Vec::new();
        if !ctx.is_admin {
            a.push(Arg::Text(ctx.project_id.clone()));
            let access = format!(
                "f.id IN (SELECT flavor_pk FROM flavor_projects WHERE project_id = ${})",
                a.len()
            );
            match filter.is_public {
                Some(true) => wh.push("f.is_public = TRUE".into()),
                Some(false) => wh.push(format!("f.is_public = FALSE AND {access}")),
                None => wh.push(format!("(f.is_public = TRUE OR {access})")),
            }
            wh.push("f.disabled = FALSE".into());
        } else if let Some(p) = filter.is_public {
            wh.push(if p {
                "f.is_public = TRUE".into()
            } else {
                "f.is_public = FALSE".into()
            });
        }
        if let Some(d) = filter.min_disk {
            a.push(Arg::Int(d));
            wh.push(format!("f.root_gb >= ${}", a.len()));
        }
        if let Some(r) = filter.min_ram {
            a.push(Arg::Int(r));
            wh.push(format!("f.memory_mb >= ${}", a.len()));
        }
        let key = match filter.sort_key.as_deref().unwrap_or("flavorid") {
            k @ ("flavorid" | "name" | "memory_mb" | "vcpus" | "root_gb" | "swap"
            | "ephemeral_gb" | "rxtx_factor" | "id" | "created_at" | "description"
            | "is_public" | "disabled") => k,
            other => return Err(Error::invalid(format!("Invalid sort_key: {other}"))),
        };
        // One read: the flavors with their extra specs joined, a flavor's
        // rows next to each other (it is sorted on its id last).
        let mut sql = format!(
            "SELECT f.{}, s.spec_key, s.spec_value FROM flavors f \
             LEFT JOIN flavor_extra_specs s ON s.flavor_pk = f.id",
            FLAVOR_COLUMNS.replace(", ", ", f.")
        );
        if !wh.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wh.join(" AND "));
        }
        let dir = if filter.sort_desc { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY f.{key} {dir}, f.id {dir}"));
        let joined: Vec<FlavorSpecRow> = self.store.fetch_all(&sql, a).await?;
        let mut rows: Vec<(FlavorRow, BTreeMap<String, String>)> = Vec::new();
        for r in joined {
            let spec = r.spec_key.zip(r.spec_value);
            match rows.last_mut() {
                Some((last, specs)) if last.id == r.flavor.id => specs.extend(spec),
                _ => rows.push((r.flavor, spec.into_iter().collect())),
            }
        }
        let mut rows: Vec<(FlavorRow, BTreeMap<String, String>)> =
            if key == "flavorid" || key == "name" || key == "description" {
                // Text order must not depend on the database's collation.
                let mut r = rows;
                let text = |f: &FlavorRow| -> String {
                    match key {
                        "name" => f.name.clone(),
                        "description" => f.description.clone().unwrap_or_default(),
                        _ => f.flavorid.clone(),
                    }
                };
                r.sort_by(|(x, _), (y, _)| {
                    let (kx, ky) = (text(x), text(y));
                    let o = kx.cmp(&ky).then(x.id.cmp(&y.id));
                    if filter.sort_desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                r
            } else {
                rows
            };
        if let Some(m) = &filter.marker {
            let pos = rows
                .iter()
                .position(|(r, _)| &r.flavorid == m)
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            rows.drain(..=pos);
        }
        if let Some(pattern) = &filter.name {
            let name = regex::Regex::new(pattern)
                .map_err(|_| Error::invalid(format!("Invalid regular expression: {pattern}")))?;
            rows.retain(|(r, _)| name.is_match(&r.name));
        }
        if let Some(l) = filter.limit {
            rows.truncate(l);
        }
        Ok(rows
            .into_iter()
            .map(|(r, specs)| r.into_flavor(specs))
            .collect())
    }

    /// Creates a flavor (admin). Duplicate id or name is [`Error::Duplicate`].
    pub async fn create_flavor(&self, ctx: &RequestContext, new: NewFlavor) -> Result<Flavor> {
        ctx.require_admin("os_compute_api:os-flavor-manage:create")?;
        validate_new(&new)?;
        let id = match new.id.as_deref() {
            None | Some("auto") => uuid::Uuid::new_v4().to_string(),
            Some(s) => s.to_string(),
        };
        let mut tx = self.store.begin_locked("flavors").await?;
        let (by_id, by_name): (i64, i64) = tx
            .fetch_one(
                "SELECT (SELECT COUNT(*) FROM flavors WHERE flavorid = $1), (SELECT COUNT(*) FROM flavors WHERE name = $2)",
                args![&id, &new.name],
            )
            .await?;
        if by_id > 0 {
            return Err(Error::Duplicate {
                kind: Kind::Flavor,
                name: id.clone(),
                message: format!("Flavor with ID {id} already exists."),
            });
        }
        if by_name > 0 {
            return Err(Error::duplicate(Kind::Flavor, new.name.clone()));
        }
        let (pk,): (i64,) = tx
            .fetch_one(
                "INSERT INTO flavors (flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, \
                 disabled, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10, $11) RETURNING id",
                args![&id, &new.name, new.vcpus, new.ram, new.disk, new.ephemeral, new.swap, new.rxtx_factor, new.is_public, &new.description, now_micros()],
            )
            .await?;
        for (k, v) in &new.extra_specs {
            tx.execute("INSERT INTO flavor_extra_specs (flavor_pk, spec_key, spec_value) VALUES ($1, $2, $3)", args![pk, k, v]).await?;
        }
        tx.commit().await?;
        self.get_flavor(ctx, &id).await
    }

    /// Deletes a flavor (admin). Instances keep their snapshot of it.
    pub async fn delete_flavor(&self, ctx: &RequestContext, flavor_id: &str) -> Result<()> {
        ctx.require_admin("os_compute_api:os-flavor-manage:delete")?;
        let row = self.flavor_row(ctx, flavor_id).await?;
        let mut tx = self.store.begin_locked("flavors").await?;
        tx.execute(
            "DELETE FROM flavor_extra_specs WHERE flavor_pk = $1",
            args![row.id],
        )
        .await?;
        tx.execute(
            "DELETE FROM flavor_projects WHERE flavor_pk = $1",
            args![row.id],
        )
        .await?;
        tx.execute("DELETE FROM flavors WHERE id = $1", args![row.id])
            .await?;
        tx.commit().await
    }

    /// Sets a flavor's description (admin; microversion 2.55).
    pub async fn update_flavor_description(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        description: Option<String>,
    ) -> Result<Flavor> {
        ctx.require_admin("os_compute_api:os-flavor-manage:update")?;
        if let Some(d) = &description {
            validate::description(d)?;
        }
        let row = self.flavor_row(ctx, flavor_id).await?;
        self.store
            .execute(
                "UPDATE flavors SET description = $1, updated_at = $2 WHERE id = $3",
                args![description, now_micros(), row.id],
            )
            .await?;
        self.get_flavor(ctx, flavor_id).await
    }

    /// The extra specs of a visible flavor.
    pub async fn get_flavor_extra_specs(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
    ) -> Result<BTreeMap<String, String>> {
        let row = self.flavor_row(ctx, flavor_id).await?;
        self.specs_of(row.id).await
    }

    /// One extra spec ([`Error::NotFound`] `ExtraSpec` if absent).
    pub async fn get_flavor_extra_spec(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        key: &str,
    ) -> Result<String> {
        self.get_flavor_extra_specs(ctx, flavor_id)
            .await?
            .remove(key)
            .ok_or_else(|| Error::not_found(Kind::ExtraSpec, key))
    }

    /// Sets (adds or overwrites) extra specs (admin); returns all of them.
    pub async fn set_flavor_extra_specs(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        specs: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        ctx.require_admin("os_compute_api:os-flavor-extra-specs:create")?;
        for (k, v) in &specs {
            validate_spec(k, v)?;
        }
        let row = self.flavor_row(ctx, flavor_id).await?;
        for (k, v) in &specs {
            self.store
                .execute(
                    "INSERT INTO flavor_extra_specs (flavor_pk, spec_key, spec_value) VALUES ($1, $2, $3) \
                     ON CONFLICT (flavor_pk, spec_key) DO UPDATE SET spec_value = excluded.spec_value",
                    args![row.id, k, v],
                )
                .await?;
        }
        self.specs_of(row.id).await
    }

    /// Deletes one extra spec (admin; [`Error::NotFound`] if absent).
    pub async fn delete_flavor_extra_spec(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        key: &str,
    ) -> Result<()> {
        ctx.require_admin("os_compute_api:os-flavor-extra-specs:delete")?;
        let row = self.flavor_row(ctx, flavor_id).await?;
        let n = self
            .store
            .execute(
                "DELETE FROM flavor_extra_specs WHERE flavor_pk = $1 AND spec_key = $2",
                args![row.id, key],
            )
            .await?;
        if n == 0 {
            return Err(Error::not_found(Kind::ExtraSpec, key));
        }
        Ok(())
    }

    /// The projects with access to a private flavor (admin). Public
    /// flavors have no list ([`Error::NotFound`] `FlavorAccess`).
    pub async fn list_flavor_access(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
    ) -> Result<Vec<String>> {
        ctx.require_admin("os_compute_api:os-flavor-access")?;
        let row = self.flavor_row(ctx, flavor_id).await?;
        if row.is_public {
            return Err(Error::NotFound {
                kind: Kind::FlavorAccess,
                id: format!("public flavor {flavor_id}"),
            });
        }
        let rows: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT project_id FROM flavor_projects WHERE flavor_pk = $1 ORDER BY project_id",
                args![row.id],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Gives a project access to a private flavor (admin); returns the list.
    pub async fn add_flavor_access(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        project_id: &str,
    ) -> Result<Vec<String>> {
        ctx.require_admin("os_compute_api:os-flavor-access:add_tenant_access")?;
        let row = self.flavor_row(ctx, flavor_id).await?;
        if row.is_public {
            return Err(Error::Conflict(
                "Can not add access to a public flavor.".into(),
            ));
        }
        match self
            .store
            .execute(
                "INSERT INTO flavor_projects (flavor_pk, project_id) VALUES ($1, $2)",
                args![row.id, project_id],
            )
            .await
        {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::duplicate(
                    Kind::FlavorAccess,
                    format!("flavor {flavor_id} and project {project_id} combination"),
                ))
            }
            r => r?,
        };
        self.list_flavor_access(ctx, flavor_id).await
    }

    /// Removes a project's access (admin); returns the list.
    pub async fn remove_flavor_access(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        project_id: &str,
    ) -> Result<Vec<String>> {
        ctx.require_admin("os_compute_api:os-flavor-access:remove_tenant_access")?;
        let row = self.flavor_row(ctx, flavor_id).await?;
        let n = self
            .store
            .execute(
                "DELETE FROM flavor_projects WHERE flavor_pk = $1 AND project_id = $2",
                args![row.id, project_id],
            )
            .await?;
        if n == 0 {
            return Err(Error::NotFound {
                kind: Kind::FlavorAccess,
                id: format!("flavor {flavor_id} / project {project_id} combination"),
            });
        }
        self.list_flavor_access(ctx, flavor_id).await
    }
}
