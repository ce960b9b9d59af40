//! Reading Neutron requests: list parameters and resource bodies.

use compute::network::ListQuery;
use compute::SortDir;
use serde_json::{Map, Value};

use super::fault::NeutronFault;

/// The parameters of a list: the domain's query plus `fields=`.
pub struct ListParams {
    /// Filters, sorting, paging.
    pub query: ListQuery,
    /// The attributes to show (all when empty).
    pub fields: Vec<String>,
    /// The query string as given, for the paging links.
    pub pairs: Vec<(String, String)>,
}

/// Parses a list's query string as Neutron does.
pub fn list_params(raw: Option<&str>) -> Result<ListParams, NeutronFault> {
    let pairs: Vec<(String, String)> = raw
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut query = ListQuery::default();
    let mut fields = Vec::new();
    let mut keys = Vec::new();
    let mut dirs = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "fields" => fields.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_string),
            ),
            "sort_key" => keys.push(v.clone()),
            "sort_dir" => dirs.push(match v.as_str() {
                "asc" => SortDir::Asc,
                "desc" => SortDir::Desc,
                other => {
                    return Err(NeutronFault::bad_request(format!(
                        "{other} is invalid value for sort_dir, valid value is 'asc' and 'desc'"
                    )))
                }
            }),
            "limit" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    NeutronFault::bad_request(format!(
                        "Bad limit request: Limit must be an integer 0 or greater and not '{v}'."
                    ))
                })?;
                if n < 0 {
                    return Err(NeutronFault::bad_request(format!(
                        "Bad limit request: Limit must be an integer 0 or greater and not '{n}'."
                    )));
                }
                // 0 is "no limit", as in Neutron.
                query.limit = usize::try_from(n).ok().filter(|n| *n > 0);
            }
            "marker" => query.marker = Some(v.clone()),
            "page_reverse" => {
                query.page_reverse = matches!(v.to_ascii_lowercase().as_str(), "true" | "1")
            }
            name => match query.filters.iter_mut().find(|(f, _)| f == name) {
                Some((_, values)) => values.push(v.clone()),
                None => query.filters.push((name.to_string(), vec![v.clone()])),
            },
        }
    }
    if keys.len() != dirs.len() {
        return Err(NeutronFault::bad_request(
            "The number of sort_keys and sort_dirs must be same",
        ));
    }
    query.sort = keys.into_iter().zip(dirs).collect();
    Ok(ListParams {
        query,
        fields,
        pairs,
    })
}

/// The object under `key` of a request body (`{"network": {...}}`).
pub fn resource_body(bytes: &[u8], key: &str) -> Result<Map<String, Value>, NeutronFault> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| NeutronFault::bad_request("Malformed request body"))?;
    match value.get(key) {
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(NeutronFault::bad_request(format!(
            "Invalid input for operation: Body of '{key}' must be an object."
        ))),
        None => Err(NeutronFault::bad_request(format!(
            "Resource body required: unable to find '{key}' in request body"
        ))),
    }
}

/// The attributes of one resource body, taken out one by one; what is
/// left at the end is refused.
pub struct Body {
    map: Map<String, Value>,
    post: bool,
}

fn invalid(field: &str, reason: String) -> NeutronFault {
    NeutronFault::bad_request(format!("Invalid input for {field}. Reason: {reason}."))
}

impl Body {
    /// A POST body (`post`) or a PUT one.
    pub fn new(map: Map<String, Value>, post: bool) -> Self {
        Body { map, post }
    }

    /// Refuses the attributes of `read_only` when present.
    pub fn refuse(&mut self, read_only: &[&str]) -> Result<(), NeutronFault> {
        for name in read_only {
            if self.map.contains_key(*name) {
                return Err(NeutronFault::bad_request(if self.post {
                    format!("Attribute '{name}' not allowed in POST")
                } else {
                    format!("Cannot update read-only attribute {name}")
                }));
            }
        }
        Ok(())
    }

    /// Whether `name` was given (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// A raw value, left in place.
    pub fn peek(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// A raw value.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    /// A string attribute.
    pub fn string(&mut self, name: &str) -> Result<Option<String>, NeutronFault> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(invalid(name, format!("'{other}' is not a valid string"))),
        }
    }

    /// A required string attribute (POST).
    pub fn required(&mut self, name: &str) -> Result<String, NeutronFault> {
        if !self.map.contains_key(name) {
            return Err(NeutronFault::bad_request(format!(
                "Failed to parse request. Required attribute '{name}' not specified"
            )));
        }
        Ok(self.string(name)?.unwrap_or_default())
    }

    /// A boolean attribute (`true`, `"True"`, `1`, ...).
    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, NeutronFault> {
        let Some(value) = self.map.remove(name) else {
            return Ok(None);
        };
        let b = match &value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(Some)
            .ok_or_else(|| invalid(name, format!("'{value}' cannot be converted to boolean")))
    }

    /// An integer attribute (a number or a string of digits).
    pub fn integer(&mut self, name: &str) -> Result<Option<i64>, NeutronFault> {
        let Some(value) = self.map.remove(name) else {
            return Ok(None);
        };
        let n = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.map(Some)
            .ok_or_else(|| invalid(name, format!("'{value}' is not an integer")))
    }

    /// A list of strings.
    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>, NeutronFault> {
        match self.map.remove(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(invalid(name, format!("'{other}' is not a valid string"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(invalid(name, format!("'{other}' is not a list"))),
        }
    }

    /// A list of objects with the string keys `keys` (each may be absent).
    pub fn objects(
        &mut self,
        name: &str,
        keys: &[&str],
    ) -> Result<Option<Vec<Vec<Option<String>>>>, NeutronFault> {
        let items = match self.map.remove(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(invalid(name, format!("'{other}' is not a list"))),
        };
        let mut out = Vec::new();
        for item in items {
            let Value::Object(obj) = &item else {
                return Err(invalid(name, format!("'{item}' is not a dictionary")));
            };
            if let Some(extra) = obj.keys().find(|k| !keys.contains(&k.as_str())) {
                return Err(invalid(
                    name,
                    format!("Unrecognized key '{extra}' in '{item}'"),
                ));
            }
            let mut row = Vec::new();
            for k in keys {
                row.push(match obj.get(*k) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => {
                        return Err(invalid(name, format!("'{other}' is not a valid string")))
                    }
                });
            }
            out.push(row);
        }
        Ok(Some(out))
    }

    /// `project_id`/`tenant_id` (which must agree when both are given).
    pub fn project(&mut self) -> Result<Option<String>, NeutronFault> {
        let project = self.string("project_id")?;
        let tenant = self.string("tenant_id")?;
        match (project, tenant) {
            (Some(p), Some(t)) if p != t => Err(NeutronFault::bad_request(
                "'project_id' and 'tenant_id' do not match",
            )),
            (p, t) => Ok(p.or(t)),
        }
    }

    /// Refuses whatever was not taken.
    pub fn finish(self) -> Result<(), NeutronFault> {
        if self.map.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.map.keys().map(|k| format!("'{k}'")).collect();
        Err(NeutronFault::bad_request(format!(
            "Unrecognized attribute(s) {}",
            names.join(", ")
        )))
    }
}
