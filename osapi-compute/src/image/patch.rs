//! Glance's JSON Patch (`application/openstack-images-v2.1-json-patch`):
//! a list of `add`/`replace`/`remove` operations on one-level paths
//! (`/name`, `/tags`, `/os_distro`), applied in order to the image as it
//! is, giving the [`compute::ImageUpdate`] the catalogue writes.
//!
//! Glance's answers: a read-only attribute is 403 "is read-only", a
//! reserved one 403 "is reserved", removing a core attribute 403, replacing
//! or removing a property the image does not have 409, a value of the
//! wrong type 400.

use std::collections::BTreeMap;

use serde_json::Value;

use compute::image::rules;
use compute::{Image, ImageUpdate};

use super::error::ImageApiError;

/// The media types Glance takes for a PATCH.
pub const PATCH_MEDIA_TYPES: &[&str] = &[
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
];

/// One operation.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Add(String, Value),
    Replace(String, Value),
    Remove(String),
}

fn bad(msg: impl Into<String>) -> ImageApiError {
    ImageApiError::BadRequest(msg.into())
}

/// The image's writable state, changed op by op.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    name: Option<String>,
    visibility: String,
    protected: bool,
    os_hidden: bool,
    owner: Option<String>,
    disk_format: Option<String>,
    container_format: Option<String>,
    min_disk: i64,
    min_ram: i64,
    tags: Vec<String>,
    properties: BTreeMap<String, Value>,
}

impl Draft {
    fn of(image: &Image) -> Self {
        Draft {
            name: image.name.clone(),
            visibility: image.visibility.clone(),
            protected: image.protected,
            os_hidden: image.os_hidden,
            owner: image.owner.clone(),
            disk_format: image.disk_format.clone(),
            container_format: image.container_format.clone(),
            min_disk: image.min_disk,
            min_ram: image.min_ram,
            tags: image.tags.clone(),
            properties: image.properties.clone(),
        }
    }

    /// Sets a core attribute (true) or says it is none (false).
    fn set_core(&mut self, key: &str, value: &Value) -> Result<bool, ImageApiError> {
        match key {
            "name" => self.name = optional_string(key, value)?,
            "visibility" => {
                let v = string(key, value)?;
                rules::visibility(&v).map_err(|e| bad(e.to_string()))?;
                self.visibility = v;
            }
            "protected" => self.protected = boolean(key, value)?,
            "os_hidden" => self.os_hidden = boolean(key, value)?,
            "owner" => self.owner = optional_string(key, value)?,
            "disk_format" => {
                let v = optional_string(key, value)?;
                rules::disk_format(v.as_deref()).map_err(|e| bad(e.to_string()))?;
                self.disk_format = v;
            }
            "container_format" => {
                let v = optional_string(key, value)?;
                rules::container_format(v.as_deref()).map_err(|e| bad(e.to_string()))?;
                self.container_format = v;
            }
            "min_disk" => self.min_disk = integer(key, value)?,
            "min_ram" => self.min_ram = integer(key, value)?,
            "tags" => self.tags = tags(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn string(key: &str, value: &Value) -> Result<String, ImageApiError> {
    value.as_str().map(str::to_string).ok_or_else(|| {
        bad(format!(
            "Invalid value for '{key}': {value} is not of type 'string'"
        ))
    })
}

fn optional_string(key: &str, value: &Value) -> Result<Option<String>, ImageApiError> {
    if value.is_null() {
        return Ok(None);
    }
    let s = string(key, value)?;
    if s.chars().count() > rules::MAX_LENGTH {
        return Err(bad(format!(
            "Invalid value for '{key}': longer than {} characters",
            rules::MAX_LENGTH
        )));
    }
    Ok(Some(s))
}

fn boolean(key: &str, value: &Value) -> Result<bool, ImageApiError> {
    value.as_bool().ok_or_else(|| {
        bad(format!(
            "Invalid value for '{key}': {value} is not of type 'boolean'"
        ))
    })
}

fn integer(key: &str, value: &Value) -> Result<i64, ImageApiError> {
    match value.as_i64() {
        Some(n) if n >= 0 => Ok(n),
        Some(n) => Err(bad(format!(
            "Invalid value for '{key}': {n} is less than the minimum of 0"
        ))),
        None => Err(bad(format!(
            "Invalid value for '{key}': {value} is not of type 'integer'"
        ))),
    }
}

/// A list of tags (strings, each a valid tag).
pub(crate) fn tags(value: &Value) -> Result<Vec<String>, ImageApiError> {
    let list = value.as_array().ok_or_else(|| {
        bad(format!(
            "Invalid value for 'tags': {value} is not of type 'array'"
        ))
    })?;
    let mut out = Vec::with_capacity(list.len());
    for tag in list {
        let tag = string("tags", tag)?;
        rules::tag(&tag).map_err(|e| bad(e.to_string()))?;
        out.push(tag);
    }
    Ok(out)
}

/// A property value: Glance's properties are strings.
pub(crate) fn property_value(key: &str, value: &Value) -> Result<Value, ImageApiError> {
    match value {
        Value::String(s) if s.chars().count() <= rules::MAX_LENGTH => Ok(value.clone()),
        Value::String(_) => Err(bad(format!(
            "Invalid value for '{key}': longer than {} characters",
            rules::MAX_LENGTH
        ))),
        other => Err(bad(format!(
            "Invalid value for '{key}': {other} is not of type 'string'"
        ))),
    }
}

/// The attribute a path names: one level, JSON-pointer escapes undone.
fn attribute(path: &Value) -> Result<String, ImageApiError> {
    let raw = path
        .as_str()
        .ok_or_else(|| bad("Unable to find 'path' in JSON Schema change"))?;
    let rest = raw
        .strip_prefix('/')
        .filter(|r| !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| bad(format!("Invalid JSON pointer for this resource: '{raw}'")))?;
    if rest.replace("~0", "").replace("~1", "").contains('~') {
        return Err(bad(format!(
            "Invalid JSON pointer for this resource: '{raw}'"
        )));
    }
    Ok(rest.replace("~1", "/").replace("~0", "~"))
}

/// The operations of a PATCH body.
fn operations(body: &Value) -> Result<Vec<Op>, ImageApiError> {
    let list = body
        .as_array()
        .ok_or_else(|| bad("Request body must be a JSON array of operation objects."))?;
    let mut ops = Vec::with_capacity(list.len());
    for change in list {
        let obj = change
            .as_object()
            .ok_or_else(|| bad("Operations must be JSON objects."))?;
        // Glance's media type v2.1 has RFC 6902's `{"op": "replace", "path":
        // "/name"}`; v2.0 (draft 4, what tempest sends) has `{"replace":
        // "/name"}`. Both are read whatever the media type says.
        let (op, raw_path) = match obj.get("op").and_then(Value::as_str) {
            Some(op) => (op, obj.get("path")),
            None => match ["add", "remove", "replace"]
                .into_iter()
                .find(|k| obj.contains_key(*k))
            {
                Some(op) => (op, obj.get(op)),
                None => return Err(bad("Unable to find 'op' in JSON Schema change. It must be one of the following: add, remove, replace.")),
            },
        };
        let path =
            attribute(raw_path.ok_or_else(|| bad("Unable to find 'path' in JSON Schema change"))?)?;
        if rules::READ_ONLY.contains(&path.as_str()) {
            return Err(ImageApiError::Forbidden(format!(
                "Attribute '{path}' is read-only."
            )));
        }
        if rules::RESERVED.contains(&path.as_str()) || path.starts_with("os_glance") {
            return Err(ImageApiError::Forbidden(format!(
                "Attribute '{path}' is reserved."
            )));
        }
        let value = || {
            obj.get("value").cloned().ok_or_else(|| {
                bad(format!(
                    "Operation \"{op}\" requires a member named \"value\"."
                ))
            })
        };
        ops.push(match op {
            "add" => Op::Add(path, value()?),
            "replace" => Op::Replace(path, value()?),
            "remove" => Op::Remove(path),
            other => {
                return Err(bad(format!(
                    "Invalid operation: `{other}`. It must be one of the following: add, remove, replace."
                )))
            }
        });
    }
    Ok(ops)
}

/// The update a PATCH body makes to `image`.
pub fn image_update(image: &Image, body: &Value) -> Result<ImageUpdate, ImageApiError> {
    let before = Draft::of(image);
    let mut draft = before.clone();
    for op in operations(body)? {
        match op {
            Op::Add(key, value) => {
                if !draft.set_core(&key, &value)? {
                    rules::property_name(&key)?;
                    let value = property_value(&key, &value)?;
                    draft.properties.insert(key, value);
                }
            }
            Op::Replace(key, value) => {
                if !draft.set_core(&key, &value)? {
                    if !draft.properties.contains_key(&key) {
                        return Err(ImageApiError::Conflict(format!(
                            "Property {key} does not exist."
                        )));
                    }
                    let value = property_value(&key, &value)?;
                    draft.properties.insert(key, value);
                }
            }
            Op::Remove(key) => {
                if rules::CORE.contains(&key.as_str()) {
                    return Err(ImageApiError::Forbidden(format!(
                        "Property {key} may not be removed."
                    )));
                }
                if draft.properties.remove(&key).is_none() {
                    return Err(ImageApiError::Conflict(format!(
                        "Property {key} does not exist."
                    )));
                }
            }
        }
    }
    let mut properties = BTreeMap::new();
    for (k, v) in &draft.properties {
        if before.properties.get(k) != Some(v) {
            properties.insert(k.clone(), Some(v.clone()));
        }
    }
    for k in before.properties.keys() {
        if !draft.properties.contains_key(k) {
            properties.insert(k.clone(), None);
        }
    }
    Ok(ImageUpdate {
        name: (draft.name != before.name).then(|| draft.name.clone()),
        visibility: (draft.visibility != before.visibility).then(|| draft.visibility.clone()),
        protected: (draft.protected != before.protected).then_some(draft.protected),
        os_hidden: (draft.os_hidden != before.os_hidden).then_some(draft.os_hidden),
        owner: (draft.owner != before.owner).then(|| draft.owner.clone()),
        disk_format: (draft.disk_format != before.disk_format).then(|| draft.disk_format.clone()),
        container_format: (draft.container_format != before.container_format)
            .then(|| draft.container_format.clone()),
        min_disk: (draft.min_disk != before.min_disk).then_some(draft.min_disk),
        min_ram: (draft.min_ram != before.min_ram).then_some(draft.min_ram),
        tags: (draft.tags != before.tags).then(|| draft.tags.clone()),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn image() -> Image {
        let mut new = compute::NewImage::new("x");
        new.properties.insert("os_distro".into(), json!("cirros"));
        Image {
            id: 1,
            uuid: "u".into(),
            name: Some("x".into()),
            status: "queued".into(),
            visibility: "private".into(),
            owner: Some("p".into()),
            disk_format: None,
            container_format: None,
            min_disk: 0,
            min_ram: 0,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            protected: false,
            os_hidden: false,
            tags: vec![],
            properties: new.properties,
            created_at: chrono::Utc::now(),
            updated_at: None,
        }
    }

    #[test]
    fn ops_apply_in_order_and_only_changes_are_kept() {
        let body = json!([
            {"op": "replace", "path": "/name", "value": "y"},
            {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "remove", "path": "/os_distro"},
            {"op": "add", "path": "/tags", "value": ["a"]},
            {"op": "replace", "path": "/min_ram", "value": 0}
        ]);
        let u = image_update(&image(), &body).unwrap();
        assert_eq!(u.name, Some(Some("y".into())));
        assert_eq!(u.tags, Some(vec!["a".into()]));
        assert_eq!(u.min_ram, None);
        assert_eq!(u.properties["hw_disk_bus"], Some(json!("scsi")));
        assert_eq!(u.properties["os_distro"], None);
    }

    #[test]
    fn the_draft_4_form_tempest_sends_is_read_too() {
        let body = json!([{"replace": "/name", "value": "z"}, {"remove": "/os_distro"}]);
        let u = image_update(&image(), &body).unwrap();
        assert_eq!(u.name, Some(Some("z".into())));
        assert_eq!(u.properties["os_distro"], None);
    }

    #[test]
    fn glance_s_refusals() {
        let cases = [
            (
                json!([{"op": "replace", "path": "/status", "value": "active"}]),
                403,
            ),
            (
                json!([{"op": "add", "path": "/locations", "value": []}]),
                403,
            ),
            (json!([{"op": "remove", "path": "/name"}]), 403),
            (
                json!([{"op": "replace", "path": "/nope", "value": "v"}]),
                409,
            ),
            (json!([{"op": "remove", "path": "/nope"}]), 409),
            (
                json!([{"op": "add", "path": "/min_ram", "value": "x"}]),
                400,
            ),
            (json!([{"op": "add", "path": "/k", "value": 1}]), 400),
            (json!([{"op": "move", "path": "/k"}]), 400),
            (json!([{"op": "add", "path": "/a/b", "value": "v"}]), 400),
            (json!({"op": "add"}), 400),
            (json!([{"path": "/k", "value": "v"}]), 400),
        ];
        for (body, status) in cases {
            let got = match image_update(&image(), &body) {
                Err(ImageApiError::BadRequest(_)) => 400,
                Err(ImageApiError::Forbidden(_)) => 403,
                Err(ImageApiError::Compute(compute::Error::Forbidden(_))) => 403,
                Err(ImageApiError::Conflict(_)) => 409,
                other => panic!("{body}: {other:?}"),
            };
            assert_eq!(got, status, "{body}");
        }
    }
}
