//! Neutron's list parameters: any attribute as a filter (several values
//! of one attribute are alternatives), `sort_key`/`sort_dir` pairs, and
//! `limit`/`marker`/`page_reverse` paging.
//!
//! The rows a caller may see are read with the project scoping in SQL;
//! every filter is then applied to them, then they are sorted (the id last,
//! so the order is total) and only then is the page cut.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::Value;

use super::{NetworkError, NetworkResult};
use crate::SortDir;

/// What a list asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// `(attribute, accepted values)`: a row matches when, for each
    /// attribute, its value is one of those given. `tenant_id` is
    /// `project_id`. For a list attribute (`fixed_ips`, `subnets`,
    /// `dns_nameservers`, `security_groups`) one element must match; a `fixed_ips` value
    /// reads `ip_address=<ip>` or `subnet_id=<id>`.
    pub filters: Vec<(String, Vec<String>)>,
    /// `(attribute, direction)` in order of precedence.
    pub sort: Vec<(String, SortDir)>,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// Start after (or with `page_reverse`, before) the row of this id.
    pub marker: Option<String>,
    /// Page backwards from the marker.
    pub page_reverse: bool,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows, in the order asked for.
    pub items: Vec<T>,
    /// True when rows remain beyond the page in the direction of paging.
    pub more: bool,
}

/// Attributes that are never filters or sort keys whatever the row holds.
const NOT_SORTABLE: &[&str] = &[
    "fixed_ips",
    "subnets",
    "allocation_pools",
    "dns_nameservers",
    "host_routes",
    "security_groups",
    "security_group_rules",
    "external_gateway_info",
];

fn as_object<T: Serialize>(row: &T) -> serde_json::Map<String, Value> {
    match serde_json::to_value(row) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn field<'a>(map: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    let name = if name == "tenant_id" {
        "project_id"
    } else {
        name
    };
    map.get(name)
}

fn scalar_matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Bool(b) => match wanted.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => *b,
            "false" | "0" | "no" | "off" => !*b,
            _ => false,
        },
        Value::Number(n) => n.to_string() == wanted,
        Value::Null => wanted.is_empty() || wanted == "None",
        Value::Object(o) => match wanted.split_once('=') {
            Some((k, v)) => o.get(k).is_some_and(|x| scalar_matches(x, v)),
            None => false,
        },
        Value::Array(_) => false,
    }
}

fn matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|i| scalar_matches(i, wanted)),
        other => scalar_matches(other, wanted),
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        // NULL first, as the databases Neutron runs on sort ascending.
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// Applies `query` to every row the caller may see; `id_of` names a row,
/// `marker_not_found` is the error of a marker that names none.
pub(crate) fn page<T: Serialize>(
    rows: Vec<T>,
    query: &ListQuery,
    known: &[&str],
    id_of: impl Fn(&T) -> &str,
    marker_not_found: impl Fn(String) -> NetworkError,
) -> NetworkResult<Page<T>> {
    let mut rows: Vec<(serde_json::Map<String, Value>, T)> =
        rows.into_iter().map(|r| (as_object(&r), r)).collect();
    let known_field = |name: &str| name == "tenant_id" || known.contains(&name);
    for (name, _) in &query.filters {
        if !known_field(name) {
            return Err(NetworkError::BadRequest(format!(
                "[{name}] is invalid attribute for filtering"
            )));
        }
    }
    for (name, _) in &query.sort {
        if !known_field(name) || NOT_SORTABLE.contains(&name.as_str()) {
            return Err(NetworkError::BadRequest(format!(
                "{name} is an invalid attribute for sort_key"
            )));
        }
    }
    rows.retain(|(map, _)| {
        query.filters.iter().all(|(name, wanted)| {
            let value = field(map, name).unwrap_or(&Value::Null);
            wanted.iter().any(|w| matches(value, w))
        })
    });
    let mut keys = query.sort.clone();
    if !keys.iter().any(|(k, _)| k == "id") {
        let dir = keys.last().map(|(_, d)| *d).unwrap_or(SortDir::Asc);
        keys.push(("id".to_string(), dir));
    }
    rows.sort_by(|(a, _), (b, _)| {
        keys.iter()
            .map(|(k, dir)| {
                let o = compare(field(a, k), field(b, k));
                if *dir == SortDir::Desc {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let mut rows: Vec<T> = rows.into_iter().map(|(_, r)| r).collect();
    let start_at = match &query.marker {
        None => None,
        Some(m) => Some(
            rows.iter()
                .position(|r| id_of(r) == m)
                .ok_or_else(|| marker_not_found(m.clone()))?,
        ),
    };
    let limit = query.limit.unwrap_or(usize::MAX);
    if query.page_reverse {
        let end = start_at.unwrap_or(rows.len());
        rows.truncate(end);
        let from = end.saturating_sub(limit);
        let items = rows.split_off(from);
        Ok(Page {
            items,
            more: from > 0,
        })
    } else {
        let from = start_at.map_or(0, |i| i + 1);
        let mut items = rows.split_off(from.min(rows.len()));
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page { items, more })
    }
}
