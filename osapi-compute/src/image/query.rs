//! A list's filters, sorting and paging from its query string, as Glance
//! reads them: `limit`, `marker`, `sort_key`/`sort_dir` (repeatable) or
//! `sort=key:dir,...`, `name`, `status`, `visibility`, `member_status`,
//! `owner`, `tag` (repeatable), `os_hidden`, `size_min`/`size_max`,
//! `id=in:a,b` (and `in:` for the other exact filters), and any other
//! attribute or property by exact value.

use compute::{ImageFilter, ImageSort};

use super::error::ImageApiError;

/// Glance's default and largest page sizes (`limit_param_default`, `api_limit_max`).
pub const DEFAULT_LIMIT: usize = 25;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: usize = 1000;

/// The keys a list may be sorted by.
const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
    "min_disk",
    "min_ram",
    "virtual_size",
    "visibility",
    "owner",
];

/// Query keys that are no attribute filter.
const NOT_FILTERS: &[&str] = &[
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "sort",
    "name",
    "status",
    "visibility",
    "member_status",
    "owner",
    "tag",
    "os_hidden",
    "size_min",
    "size_max",
    "id",
];

fn bad(msg: impl Into<String>) -> ImageApiError {
    ImageApiError::BadRequest(msg.into())
}

/// The query pairs of a request.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// A list's `limit`: Glance reads it with `int()`, any integer, capped at
/// the maximum.
pub fn page_limit(raw: &str) -> Result<usize, ImageApiError> {
    match crate::validation::int_from_str(raw) {
        Some(n) if n < 0 => Err(bad("limit param must be positive")),
        Some(n) => Ok(usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT))),
        None => Err(bad("limit param must be an integer")),
    }
}

fn without_marker(query: &[(String, String)]) -> form_urlencoded::Serializer<'static, String> {
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query.iter().filter(|(k, _)| k != "marker") {
        rest.append_pair(k, v);
    }
    rest
}

/// A list's `first` link: `path` with the query's parameters but its
/// marker.
pub fn first_link(path: &str, query: &[(String, String)]) -> String {
    let rest = without_marker(query).finish();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{rest}")
    }
}

/// A list's `next` link: `path` with the query's parameters but its
/// marker, and `marker` after them.
pub fn next_link(path: &str, query: &[(String, String)], marker: &str) -> String {
    let mut next = without_marker(query);
    next.append_pair("marker", marker);
    format!("{path}?{}", next.finish())
}

/// The filter a list query asks for, and its page size.
pub fn image_filter(query: &[(String, String)]) -> Result<(ImageFilter, usize), ImageApiError> {
    let param = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let all = |name: &str| -> Vec<String> {
        query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => page_limit(&raw)?,
    };
    let mut filter = ImageFilter {
        owner: param("owner"),
        marker: param("marker"),
        limit: Some(limit),
        sort: sort(query)?,
        tags: all("tag"),
        ..ImageFilter::default()
    };
    for (key, slot) in [("name", &mut filter.name), ("status", &mut filter.status)] {
        match param(key) {
            Some(v) if v.starts_with("in:") => {
                filter.attributes.insert(key.into(), in_list(&v));
            }
            v => *slot = v,
        }
    }
    if let Some(v) = param("visibility") {
        if !matches!(
            v.as_str(),
            "public" | "private" | "shared" | "community" | "all"
        ) {
            return Err(bad(format!("Invalid visibility value: {v}")));
        }
        filter.visibility = Some(v);
    }
    if let Some(v) = param("member_status") {
        if !matches!(v.as_str(), "pending" | "accepted" | "rejected" | "all") {
            return Err(bad(format!("Invalid status value: {v}")));
        }
        filter.member_status = Some(v);
    }
    if let Some(v) = param("os_hidden") {
        filter.os_hidden = Some(match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(bad(format!(
                    "Invalid value '{v}' for os_hidden: not a boolean"
                )))
            }
        });
    }
    for (key, slot) in [
        ("size_min", &mut filter.size_min),
        ("size_max", &mut filter.size_max),
    ] {
        if let Some(v) = param(key) {
            *slot = Some(
                v.trim()
                    .parse()
                    .map_err(|_| bad(format!("Invalid value for {key}: {v}")))?,
            );
        }
    }
    if let Some(ids) = param("id") {
        filter.uuids = Some(in_list(&ids));
    }
    for (key, value) in query {
        if NOT_FILTERS.contains(&key.as_str()) {
            continue;
        }
        filter.attributes.insert(key.clone(), in_list(value));
    }
    Ok((filter, limit))
}

/// `in:a,b` as its values (a plain value as itself).
fn in_list(value: &str) -> Vec<String> {
    match value.strip_prefix("in:") {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect(),
        None => vec![value.to_string()],
    }
}

/// The order a query asks for: `sort=k:dir,...` or `sort_key`/`sort_dir`
/// pairs; Glance's default `created_at` descending.
fn sort(query: &[(String, String)]) -> Result<Vec<ImageSort>, ImageApiError> {
    let get = |name: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (sort, keys, dirs) = (get("sort"), get("sort_key"), get("sort_dir"));
    if !sort.is_empty() && (!keys.is_empty() || !dirs.is_empty()) {
        return Err(bad(
            "The sort param can not be used with the sort_key or sort_dir params.",
        ));
    }
    let mut out = Vec::new();
    if !sort.is_empty() {
        for item in sort.iter().flat_map(|s| s.split(',')) {
            let (key, dir) = match item.split_once(':') {
                Some((k, d)) => (k.trim(), d.trim()),
                None => (item.trim(), "desc"),
            };
            out.push(sort_item(key, dir)?);
        }
    } else {
        if dirs.len() > keys.len().max(1) {
            return Err(bad(
                "Number of sort dirs does not match the number of sort keys",
            ));
        }
        for (i, key) in keys.iter().enumerate() {
            let dir = dirs.get(i).or(dirs.first()).copied().unwrap_or("desc");
            out.push(sort_item(key, dir)?);
        }
        if keys.is_empty() {
            let dir = dirs.first().copied().unwrap_or("desc");
            out.push(sort_item("created_at", dir)?);
        }
    }
    Ok(out)
}

fn sort_item(key: &str, dir: &str) -> Result<ImageSort, ImageApiError> {
    if !SORT_KEYS.contains(&key) {
        return Err(bad(format!(
            "Invalid sort key: {key}. It must be one of the following: {}.",
            SORT_KEYS.join(", ")
        )));
    }
    let ascending = match dir {
        "asc" => true,
        "desc" => false,
        other => {
            return Err(bad(format!(
                "Invalid sort direction: {other}. It must be one of the following: asc, desc."
            )))
        }
    };
    Ok(ImageSort {
        key: key.to_string(),
        ascending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        pairs(Some(s))
    }

    #[test]
    fn sort_reads_both_spellings_and_refuses_mixing_them() {
        let (f, _) = image_filter(&q("sort=name:asc,size")).unwrap();
        assert_eq!(
            f.sort,
            vec![
                ImageSort {
                    key: "name".into(),
                    ascending: true
                },
                ImageSort {
                    key: "size".into(),
                    ascending: false
                }
            ]
        );
        let (f, _) = image_filter(&q("sort_key=name&sort_dir=asc")).unwrap();
        assert_eq!(
            f.sort,
            vec![ImageSort {
                key: "name".into(),
                ascending: true
            }]
        );
        assert!(image_filter(&q("sort=name&sort_key=size")).is_err());
        assert!(image_filter(&q("sort_key=bogus")).is_err());
        assert!(image_filter(&q("sort_dir=up")).is_err());
    }

    #[test]
    fn other_keys_filter_attributes_and_in_lists_split() {
        let (f, limit) =
            image_filter(&q("disk_format=in:raw,qcow2&os_distro=cirros&limit=5")).unwrap();
        assert_eq!(limit, 5);
        assert_eq!(f.attributes["disk_format"], vec!["raw", "qcow2"]);
        assert_eq!(f.attributes["os_distro"], vec!["cirros"]);
        assert!(image_filter(&q("size_min=big")).is_err());
        assert!(image_filter(&q("visibility=everyone")).is_err());
    }
}
