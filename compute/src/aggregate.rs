//! Host aggregates (`os-aggregates`): named sets of compute hosts with
//! metadata, admin only. An aggregate's `availability_zone` metadata key
//! is the zone of its hosts: os-availability-zone, os-services, os-hosts
//! and the scheduler read a host's zone from it ([`Compute::aggregate_zones`]),
//! the default zone being that of a host in no such aggregate.
//!
//! The rules are nova's `AggregateAPI`: a unique name, no empty zone name,
//! a host in at most one zone, no zone change under a host that holds
//! instances, no delete of an aggregate that still has hosts. The errors
//! carry nova's messages; [`AggregateError`] says which of nova's
//! exceptions each is, so the API can answer nova's code for each action.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// The metadata key that holds an aggregate's zone.
pub const AZ_KEY: &str = "availability_zone";

/// A host aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The integer id.
    pub id: i64,
    /// The uuid (microversion 2.41).
    pub uuid: String,
    /// The unique name.
    pub name: String,
    /// Its availability zone (the `availability_zone` metadata).
    pub availability_zone: Option<String>,
    /// Its hosts, by name.
    pub hosts: Vec<String>,
    /// Its metadata, the zone included.
    pub metadata: BTreeMap<String, String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Which of nova's aggregate actions refused a change (its message names
/// the action, and the API answers 400 or 409 by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateAction {
    /// `add_host` (409).
    AddHost,
    /// `remove_host` and delete (409 for a host, 400 for a delete).
    RemoveHost,
    /// An update of name or zone (400).
    Update,
    /// `set_metadata` (400).
    UpdateMetadata,
}

fn invalid_action(action: AggregateAction, id: i64, reason: &str) -> Error {
    let message = match action {
        AggregateAction::AddHost => {
            format!("Cannot add host to aggregate {id}. Reason: {reason}.")
        }
        AggregateAction::RemoveHost => {
            format!("Cannot remove host from aggregate {id}. Reason: {reason}.")
        }
        AggregateAction::Update => format!("Cannot update aggregate {id}. Reason: {reason}."),
        AggregateAction::UpdateMetadata => {
            format!("Cannot update metadata of aggregate {id}. Reason: {reason}.")
        }
    };
    match action {
        AggregateAction::AddHost | AggregateAction::RemoveHost => Error::Conflict(message),
        AggregateAction::Update | AggregateAction::UpdateMetadata => Error::Invalid(message),
    }
}

/// Python's repr of a list of strings (`['az1', 'az2']`), as nova's
/// messages print one.
fn py_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", inner.join(", "))
}

#[derive(sqlx::FromRow)]
struct AggregateRow {
    id: i64,
    uuid: String,
    name: String,
    created_at: i64,
    updated_at: Option<i64>,
}

impl Compute {
    async fn aggregate_rows(&self, tx: &mut Tx, id: Option<i64>) -> Result<Vec<Aggregate>> {
        let rows: Vec<AggregateRow> = match id {
            Some(id) => {
                tx.fetch_all(
                    "SELECT id, uuid, name, created_at, updated_at FROM aggregates WHERE id = $1",
                    args![id],
                )
                .await?
            }
            None => {
                tx.fetch_all(
                    "SELECT id, uuid, name, created_at, updated_at FROM aggregates ORDER BY id",
                    vec![],
                )
                .await?
            }
        };
        let hosts: Vec<(i64, String)> = tx
            .fetch_all(
                "SELECT aggregate_id, host FROM aggregate_hosts ORDER BY aggregate_id, host",
                vec![],
            )
            .await?;
        let metadata: Vec<(i64, String, String)> = tx
            .fetch_all(
                "SELECT aggregate_id, key, value FROM aggregate_metadata ORDER BY aggregate_id, key",
                vec![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let metadata: BTreeMap<String, String> = metadata
                    .iter()
                    .filter(|m| m.0 == r.id)
                    .map(|m| (m.1.clone(), m.2.clone()))
                    .collect();
                Aggregate {
                    id: r.id,
                    uuid: r.uuid,
                    name: r.name,
                    availability_zone: metadata.get(AZ_KEY).cloned(),
                    hosts: hosts
                        .iter()
                        .filter(|h| h.0 == r.id)
                        .map(|h| h.1.clone())
                        .collect(),
                    metadata,
                    created_at: from_micros(r.created_at),
                    updated_at: r.updated_at.map(from_micros),
                }
            })
            .collect())
    }

    async fn aggregate_in(&self, tx: &mut Tx, id: i64) -> Result<Aggregate> {
        self.aggregate_rows(tx, Some(id))
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Kind::Aggregate, id.to_string()))
    }

    async fn aggregate_tx(&self) -> Result<Tx> {
        self.store.begin_locked("aggregates").await
    }

    /// Every aggregate (admin).
    pub async fn list_aggregates(&self, ctx: &RequestContext) -> Result<Vec<Aggregate>> {
        ctx.require_admin("os_compute_api:os-aggregates:index")?;
        let mut tx = self.aggregate_tx().await?;
        let out = self.aggregate_rows(&mut tx, None).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// One aggregate (admin).
    pub async fn get_aggregate(&self, ctx: &RequestContext, id: i64) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:show")?;
        let mut tx = self.aggregate_tx().await?;
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Makes an aggregate (admin); a taken name is [`Error::Duplicate`].
    pub async fn create_aggregate(
        &self,
        ctx: &RequestContext,
        name: &str,
        availability_zone: Option<&str>,
    ) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:create")?;
        let mut tx = self.aggregate_tx().await?;
        check_name_free(&mut tx, name, None).await?;
        let (id,): (i64,) = tx
            .fetch_one(
                "INSERT INTO aggregates (uuid, name, created_at) VALUES ($1, $2, $3) RETURNING id",
                args![uuid::Uuid::new_v4().to_string(), name, now_micros()],
            )
            .await?;
        if let Some(az) = availability_zone.filter(|z| !z.is_empty()) {
            set_key(&mut tx, id, AZ_KEY, Some(az)).await?;
        }
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Renames an aggregate and/or changes its zone (admin).
    /// `availability_zone`: `Some(None)` is an empty zone, refused.
    pub async fn update_aggregate(
        &self,
        ctx: &RequestContext,
        id: i64,
        name: Option<&str>,
        availability_zone: Option<Option<&str>>,
    ) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:update")?;
        let mut tx = self.aggregate_tx().await?;
        let aggregate = self.aggregate_in(&mut tx, id).await?;
        if let Some(name) = name {
            check_name_free(&mut tx, name, Some(id)).await?;
            tx.execute(
                "UPDATE aggregates SET name = $1 WHERE id = $2",
                args![name, id],
            )
            .await?;
        }
        if let Some(az) = availability_zone {
            self.check_zone_change(&mut tx, &aggregate, az, None, AggregateAction::Update, true)
                .await?;
            set_key(&mut tx, id, AZ_KEY, az).await?;
            touch(&mut tx, id).await?;
        }
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Merges `metadata` into an aggregate's (admin): a `None` value
    /// removes its key.
    pub async fn set_aggregate_metadata(
        &self,
        ctx: &RequestContext,
        id: i64,
        metadata: &BTreeMap<String, Option<String>>,
    ) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:set_metadata")?;
        let mut tx = self.aggregate_tx().await?;
        let aggregate = self.aggregate_in(&mut tx, id).await?;
        if let Some(az) = metadata.get(AZ_KEY) {
            self.check_zone_change(
                &mut tx,
                &aggregate,
                az.as_deref(),
                None,
                AggregateAction::UpdateMetadata,
                true,
            )
            .await?;
        }
        for (key, value) in metadata {
            set_key(&mut tx, id, key, value.as_deref()).await?;
        }
        touch(&mut tx, id).await?;
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes an aggregate without hosts (admin).
    pub async fn delete_aggregate(&self, ctx: &RequestContext, id: i64) -> Result<()> {
        ctx.require_admin("os_compute_api:os-aggregates:delete")?;
        let mut tx = self.aggregate_tx().await?;
        let aggregate = self.aggregate_in(&mut tx, id).await?;
        if !aggregate.hosts.is_empty() {
            return Err(Error::Invalid(format!(
                "Cannot remove host from aggregate {id}. Reason: Host aggregate is not empty."
            )));
        }
        tx.execute(
            "DELETE FROM aggregate_metadata WHERE aggregate_id = $1",
            args![id],
        )
        .await?;
        tx.execute("DELETE FROM aggregates WHERE id = $1", args![id])
            .await?;
        tx.commit().await
    }

    /// Adds a compute host to an aggregate (admin): an unknown host is
    /// [`Error::NotFound`] `Host`, one already there or in another zone
    /// [`Error::Conflict`].
    pub async fn add_aggregate_host(
        &self,
        ctx: &RequestContext,
        id: i64,
        host: &str,
    ) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:add_host")?;
        self.require_compute_host(host)?;
        let mut tx = self.aggregate_tx().await?;
        let aggregate = self.aggregate_in(&mut tx, id).await?;
        if let Some(az) = aggregate.availability_zone.clone() {
            self.check_zone_change(
                &mut tx,
                &aggregate,
                Some(az.as_str()),
                Some(host),
                AggregateAction::AddHost,
                false,
            )
            .await?;
            let old = host_zone_in(&mut tx, host, None).await?;
            if old.as_deref() != Some(az.as_str()) {
                let n = instances_on(&mut tx, &[host.to_string()]).await?;
                if n > 0 {
                    return Err(invalid_action(
                        AggregateAction::AddHost,
                        id,
                        &zone_move_reason("added to", old.as_deref(), Some(az.as_str()), n),
                    ));
                }
            }
        }
        if aggregate.hosts.iter().any(|h| h == host) {
            return Err(Error::Conflict(format!(
                "Aggregate {id} already has host {host}."
            )));
        }
        tx.execute(
            "INSERT INTO aggregate_hosts (aggregate_id, host) VALUES ($1, $2)",
            args![id, host],
        )
        .await?;
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Removes a host from an aggregate (admin): an unknown host, aggregate
    /// or a host not in it is [`Error::NotFound`] `Aggregate` (nova answers
    /// the three with one message, which the API words).
    pub async fn remove_aggregate_host(
        &self,
        ctx: &RequestContext,
        id: i64,
        host: &str,
    ) -> Result<Aggregate> {
        ctx.require_admin("os_compute_api:os-aggregates:remove_host")?;
        let missing = || Error::not_found(Kind::Aggregate, id.to_string());
        if self.require_compute_host(host).is_err() {
            return Err(missing());
        }
        let mut tx = self.aggregate_tx().await?;
        let aggregate = self
            .aggregate_in(&mut tx, id)
            .await
            .map_err(|_| missing())?;
        if !aggregate.hosts.iter().any(|h| h == host) {
            return Err(missing());
        }
        if let Some(az) = &aggregate.availability_zone {
            let new = host_zone_in(&mut tx, host, Some(id)).await?;
            if new.as_deref() != Some(az.as_str()) {
                let n = instances_on(&mut tx, &[host.to_string()]).await?;
                if n > 0 {
                    return Err(invalid_action(
                        AggregateAction::RemoveHost,
                        id,
                        &zone_move_reason("removed from", Some(az.as_str()), new.as_deref(), n),
                    ));
                }
            }
        }
        tx.execute(
            "DELETE FROM aggregate_hosts WHERE aggregate_id = $1 AND host = $2",
            args![id, host],
        )
        .await?;
        let out = self.aggregate_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Asks the hosts of an aggregate to cache images (admin, 2.81): every
    /// image must be visible ([`Error::NotFound`] `Image`); the simulated
    /// hosts have nothing to fetch.
    pub async fn cache_aggregate_images(
        &self,
        ctx: &RequestContext,
        id: i64,
        image_ids: &[String],
    ) -> Result<()> {
        ctx.require_admin("compute:aggregates:images")?;
        self.get_aggregate(ctx, id).await?;
        for image in image_ids {
            self.get_image(ctx, image).await?;
        }
        Ok(())
    }

    /// The zone aggregates give each host that has one.
    pub async fn aggregate_zones(&self) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT h.host, m.value FROM aggregate_hosts h JOIN aggregate_metadata m \
                 ON m.aggregate_id = h.aggregate_id AND m.key = 'availability_zone' ORDER BY h.aggregate_id",
                vec![],
            )
            .await?;
        let mut out = BTreeMap::new();
        for (host, zone) in rows {
            out.entry(host).or_insert(zone);
        }
        Ok(out)
    }

    /// `host` is a configured compute host, else [`Error::NotFound`] `Host`.
    pub(crate) fn require_compute_host(&self, host: &str) -> Result<()> {
        if self.config.hosts.iter().any(|h| h.name == host) {
            Ok(())
        } else {
            Err(Error::not_found(Kind::Host, host))
        }
    }

    /// nova's `is_safe_to_update_az`: a zone is named, no host (of the
    /// aggregate, or `adding`) is in another zone, and, with
    /// `check_instances`, no host holds instances when the zone changes.
    async fn check_zone_change(
        &self,
        tx: &mut Tx,
        aggregate: &Aggregate,
        zone: Option<&str>,
        adding: Option<&str>,
        action: AggregateAction,
        check_instances: bool,
    ) -> Result<()> {
        let Some(zone) = zone.filter(|z| !z.is_empty()) else {
            return Err(invalid_action(
                action,
                aggregate.id,
                &format!(
                    "Aggregate {} does not support empty named availability zone",
                    aggregate.name
                ),
            ));
        };
        let hosts: Vec<String> = match adding {
            Some(h) => vec![h.to_string()],
            None => aggregate.hosts.clone(),
        };
        let mut conflicting = Vec::new();
        for host in &hosts {
            let rows: Vec<(i64, String)> = tx
                .fetch_all(
                    "SELECT m.aggregate_id, m.value FROM aggregate_hosts h JOIN aggregate_metadata m \
                     ON m.aggregate_id = h.aggregate_id AND m.key = 'availability_zone' \
                     WHERE h.host = $1 ORDER BY m.aggregate_id",
                    args![host],
                )
                .await?;
            for (agg, az) in rows {
                if agg != aggregate.id && az != zone && !conflicting.contains(&az) {
                    conflicting.push(az);
                }
            }
        }
        if !conflicting.is_empty() {
            return Err(invalid_action(
                action,
                aggregate.id,
                &format!(
                    "One or more hosts already in availability zone(s) {}",
                    py_list(&conflicting)
                ),
            ));
        }
        if check_instances
            && aggregate.availability_zone.as_deref() != Some(zone)
            && instances_on(tx, &hosts).await? > 0
        {
            return Err(invalid_action(
                action,
                aggregate.id,
                "One or more hosts contain instances in this zone",
            ));
        }
        Ok(())
    }
}

fn zone_move_reason(verb: &str, from: Option<&str>, to: Option<&str>, n: i64) -> String {
    let show = |z: Option<&str>| z.unwrap_or("None").to_string();
    format!(
        "The host cannot be {verb} the aggregate as the availability zone of the host would \
         change from '{}' to '{}' but the host already has {n} instance(s). Changing the AZ of \
         an existing instance is not supported by this action. Move the instances away from \
         this host then try again. If you need to move the instances between AZs then you can \
         use shelve_offload and unshelve to achieve this.",
        show(from),
        show(to)
    )
}

async fn check_name_free(tx: &mut Tx, name: &str, except: Option<i64>) -> Result<()> {
    let rows: Vec<(i64,)> = tx
        .fetch_all("SELECT id FROM aggregates WHERE name = $1", args![name])
        .await?;
    if rows.iter().any(|r| Some(r.0) != except) {
        return Err(Error::duplicate(Kind::Aggregate, name));
    }
    Ok(())
}

async fn set_key(tx: &mut Tx, id: i64, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => {
            tx.execute(
                "INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (aggregate_id, key) DO UPDATE SET value = excluded.value",
                args![id, key, v],
            )
            .await?;
        }
        None => {
            tx.execute(
                "DELETE FROM aggregate_metadata WHERE aggregate_id = $1 AND key = $2",
                args![id, key],
            )
            .await?;
        }
    }
    Ok(())
}

async fn touch(tx: &mut Tx, id: i64) -> Result<()> {
    tx.execute(
        "UPDATE aggregates SET updated_at = $1 WHERE id = $2",
        args![now_micros(), id],
    )
    .await?;
    Ok(())
}

/// The zone of `host` from its aggregates, leaving out `except`.
async fn host_zone_in(tx: &mut Tx, host: &str, except: Option<i64>) -> Result<Option<String>> {
    let rows: Vec<(i64, String)> = tx
        .fetch_all(
            "SELECT m.aggregate_id, m.value FROM aggregate_hosts h JOIN aggregate_metadata m \
             ON m.aggregate_id = h.aggregate_id AND m.key = 'availability_zone' \
             WHERE h.host = $1 ORDER BY m.aggregate_id",
            args![host],
        )
        .await?;
    Ok(rows.into_iter().find(|r| Some(r.0) != except).map(|r| r.1))
}

/// How many live instances `hosts` hold.
async fn instances_on(tx: &mut Tx, hosts: &[String]) -> Result<i64> {
    let mut n = 0;
    for host in hosts {
        let (c,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM instances WHERE deleted = FALSE AND host = $1",
                args![host],
            )
            .await?;
        n += c;
    }
    Ok(n)
}
