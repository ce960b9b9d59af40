//! The per-process cache of instance rows a listing reads through.

use sqlx::{Encode, QueryBuilder, Type};

use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::store::{push_in, BuildQuery, Dialect};
use crate::Result;

/// A row and its conversion, as cached.
#[derive(Debug)]
pub(crate) struct CachedRow {
    pub row: InstanceRow,
    pub instance: Instance,
}

/// A per-process cache of instance rows, validated on every use.
///
/// Every write to an instance row bumps its `state_seq`, so a list reads
/// only `(id, state_seq)` from the database and takes a cached row only
/// when its sequence matches; others (changed by any process or host) are
/// fetched and cached anew. Decoding ~55 columns per row dominates a list
/// otherwise.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    map: std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<CachedRow>>>,
}

/// Most rows kept per process; past it the cache starts over.
const CACHE_LIMIT: usize = 100_000;

impl RowCache {
    /// The rows for `keys` (id, state_seq), in that order.
    pub(crate) async fn rows(
        &self,
        store: &crate::Store,
        keys: &[(i64, i64)],
    ) -> Result<Vec<std::sync::Arc<CachedRow>>> {
        let mut found: std::collections::HashMap<i64, std::sync::Arc<CachedRow>> =
            std::collections::HashMap::new();
        let mut missing = Vec::new();
        {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            for (id, seq) in keys {
                match map.get(id) {
                    Some(c) if c.row.state_seq == *seq => {
                        found.insert(*id, c.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        for chunk in missing.chunks(500) {
            let rows: Vec<InstanceRow> = store.fetch_all_built(&RowsById(chunk)).await?;
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() + rows.len() > CACHE_LIMIT {
                map.clear();
            }
            for row in rows {
                let instance = row.to_instance();
                let c = std::sync::Arc::new(CachedRow { row, instance });
                map.insert(c.row.id, c.clone());
                found.insert(c.row.id, c);
            }
        }
        // A row deleted from the table between the two reads is skipped.
        Ok(keys
            .iter()
            .filter_map(|(id, _)| found.get(id).cloned())
            .collect())
    }
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
