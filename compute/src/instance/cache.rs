//! The per-process cache of instance rows and their network view a
//! listing reads through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::{Encode, QueryBuilder, Type};

use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::store::{push_in, BuildQuery, Dialect};
use crate::{Compute, Result};

/// What a listing reads of a row first: its id and the two sequences that
/// say whether a cached copy is still what the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct RowKey {
    pub id: i64,
    /// Bumped by every write to the instance row.
    pub state_seq: i64,
    /// Bumped (by triggers, migration 21) by every write to the rows its
    /// network view is made of: ports, addresses, floating addresses,
    /// security groups, and the names of networks and groups.
    pub net_seq: i64,
}

/// A row and its conversion (with its interfaces), as cached.
#[derive(Debug)]
pub(crate) struct CachedRow {
    pub row: InstanceRow,
    /// The instance with its `vifs` as of `net_seq`.
    pub instance: Instance,
    /// The `net_seq` the interfaces were read at (or after).
    pub net_seq: i64,
}

/// A per-process cache of instance rows, validated on every use.
///
/// Every write to an instance row bumps its `state_seq`, and every write
/// to what its network view is made of bumps its `net_seq`, so a list
/// reads only [`RowKey`]s from the database and takes a cached entry only
/// when both sequences match; others (changed by any process or host) are
/// read and cached anew. The `net_seq` stored is the one the list read
/// before it read the interfaces, never a later one: an entry may hold
/// interfaces newer than its sequence (then it is read again next time),
/// never older. Decoding ~55 columns per row and reading four tables of
/// network rows dominate a list otherwise.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    map: Mutex<HashMap<i64, Arc<CachedRow>>>,
}

/// Most rows kept per process; past it the cache starts over.
const CACHE_LIMIT: usize = 100_000;

/// Rows read per statement.
const CHUNK: usize = 500;

impl RowCache {
    /// The entries for `keys`, in that order. A row deleted from the table
    /// between the reads is left out.
    pub(crate) async fn rows(
        &self,
        compute: &Compute,
        keys: &[RowKey],
    ) -> Result<Vec<Arc<CachedRow>>> {
        let mut found: HashMap<i64, Arc<CachedRow>> = HashMap::with_capacity(keys.len());
        // Stale entries whose row is still current (only the network
        // view changed), and ids whose row must be read.
        let mut reusable: Vec<(RowKey, InstanceRow)> = Vec::new();
        let mut missing: Vec<RowKey> = Vec::new();
        {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            for key in keys {
                match map.get(&key.id) {
                    Some(c) if c.row.state_seq == key.state_seq && c.net_seq == key.net_seq => {
                        found.insert(key.id, c.clone());
                    }
                    Some(c) if c.row.state_seq == key.state_seq => {
                        reusable.push((*key, c.row.clone()));
                    }
                    _ => missing.push(*key),
                }
            }
        }
        if reusable.is_empty() && missing.is_empty() {
            return Ok(in_order(keys, found));
        }
        let net_seq_of: HashMap<i64, i64> = keys.iter().map(|k| (k.id, k.net_seq)).collect();
        let mut fresh: Vec<(InstanceRow, i64)> = reusable
            .into_iter()
            .map(|(key, row)| (row, key.net_seq))
            .collect();
        for chunk in missing.chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|k| k.id).collect();
            let rows: Vec<InstanceRow> = compute.store.fetch_all_built(&RowsById(&ids)).await?;
            fresh.extend(rows.into_iter().map(|row| {
                let seq = net_seq_of.get(&row.id).copied().unwrap_or_default();
                (row, seq)
            }));
        }
        let mut instances: Vec<Instance> = fresh.iter().map(|(row, _)| row.to_instance()).collect();
        compute.attach_network_info(&mut instances).await?;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() + fresh.len() > CACHE_LIMIT {
            map.clear();
        }
        for ((row, net_seq), instance) in fresh.into_iter().zip(instances) {
            let entry = Arc::new(CachedRow {
                row,
                instance,
                net_seq,
            });
            map.insert(entry.row.id, entry.clone());
            found.insert(entry.row.id, entry);
        }
        Ok(in_order(keys, found))
    }
}

fn in_order(keys: &[RowKey], mut found: HashMap<i64, Arc<CachedRow>>) -> Vec<Arc<CachedRow>> {
    keys.iter().filter_map(|k| found.remove(&k.id)).collect()
}

/// The full rows of some ids.
struct RowsById<'q>(&'q [i64]);

impl BuildQuery for RowsById<'_> {
    fn build<'a, DB>(&self, qb: &mut QueryBuilder<'a, DB>)
    where
        DB: Dialect,
        i64: Encode<'a, DB> + Type<DB>,
        String: Encode<'a, DB> + Type<DB>,
        bool: Encode<'a, DB> + Type<DB>,
    {
        qb.push(format_args!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE "
        ));
        push_in(qb, "id", self.0.iter().copied());
    }
}
