//! Images and members as Glance v2 shows them.

use serde_json::{json, Map, Value};

/// Glance's time format.
pub(crate) fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An image as Glance v2 shows it: core fields, then each property at
/// the top level (as text: Glance's properties are strings).
pub fn image_view(image: &compute::Image) -> Value {
    let mut body = Map::new();
    for (key, value) in &image.properties {
        let text = match value {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        };
        body.insert(key.clone(), text);
    }
    let id = image.uuid.as_str();
    let core = [
        ("id", json!(id)),
        ("name", json!(image.name)),
        ("status", json!(image.status)),
        ("visibility", json!(image.visibility)),
        ("protected", json!(image.protected)),
        ("os_hidden", json!(image.os_hidden)),
        ("checksum", json!(image.checksum)),
        ("os_hash_algo", json!(image.os_hash_algo)),
        ("os_hash_value", json!(image.os_hash_value)),
        ("owner", json!(image.owner)),
        ("size", json!(image.size)),
        ("virtual_size", json!(image.virtual_size)),
        ("min_ram", json!(image.min_ram)),
        ("min_disk", json!(image.min_disk)),
        ("disk_format", json!(image.disk_format)),
        ("container_format", json!(image.container_format)),
        ("created_at", json!(timestamp(&image.created_at))),
        (
            "updated_at",
            json!(timestamp(
                image.updated_at.as_ref().unwrap_or(&image.created_at)
            )),
        ),
        ("tags", json!(image.tags)),
        ("self", json!(format!("/v2/images/{id}"))),
        ("file", json!(format!("/v2/images/{id}/file"))),
        ("schema", json!("/v2/schemas/image")),
    ];
    for (key, value) in core {
        body.insert(key.to_string(), value);
    }
    // Glance names the stores holding the data; here the one file store.
    if image.os_hash_value.is_some() {
        body.insert("stores".into(), json!("file"));
    }
    Value::Object(body)
}

/// A member of a shared image.
pub fn member_view(member: &compute::ImageMember) -> Value {
    json!({
        "image_id": member.image_id,
        "member_id": member.member_id,
        "status": member.status.as_str(),
        "created_at": timestamp(&member.created_at),
        "updated_at": timestamp(&member.updated_at),
        "schema": "/v2/schemas/member",
    })
}
