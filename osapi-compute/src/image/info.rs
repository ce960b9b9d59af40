//! What the endpoint says about itself: the version list, the import
//! methods and stores it has (`/v2/info/...`), and the JSON schemas of
//! its resources (`/v2/schemas/...`: images and members, built from the
//! catalogue's rules; tasks; the metadefs catalog's).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use compute::image::rules;

use super::data::IMPORT_METHODS;
use super::endpoint_url;

/// The Image API minor version this endpoint claims (`v2.16`).
const IMAGE_MINOR: u32 = 16;

/// `/` (300) and `/versions` (200).
pub async fn versions(request: Request) -> Response {
    let url = endpoint_url(&request);
    let version = |id: String, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{url}/v2/")}]});
    // Every minor version up to the current one, newest first, as Glance
    // lists them (clients ask for one by name: tempest reads the image
    // tasks only when `v2.12` is listed).
    let mut all = vec![version(format!("v2.{IMAGE_MINOR}"), "CURRENT")];
    all.extend(
        (0..IMAGE_MINOR)
            .rev()
            .map(|minor| version(format!("v2.{minor}"), "SUPPORTED")),
    );
    let body = json!({ "versions": all });
    // Glance answers the root with 300 and `/versions` with 200.
    let status = if request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/versions")
    {
        StatusCode::OK
    } else {
        StatusCode::MULTIPLE_CHOICES
    };
    (status, Json(body)).into_response()
}

/// `GET /v2/info/import`.
pub async fn import_methods() -> Response {
    Json(json!({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": IMPORT_METHODS,
    }}))
    .into_response()
}

/// `GET /v2/info/stores`: the one file store.
pub async fn stores() -> Response {
    Json(json!({"stores": [{
        "id": "file",
        "description": "Image data in files under the service's state_path",
        "default": true,
    }]}))
    .into_response()
}

fn nullable_enum(values: &[&str]) -> Value {
    let mut all: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    all.push(Value::Null);
    json!({"type": ["null", "string"], "enum": all})
}

fn image_schema_body() -> Value {
    let read_only_string = |description: &str| json!({"type": ["null", "string"], "readOnly": true, "description": description});
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$", "description": "An identifier for the image"},
            "name": {"type": ["null", "string"], "maxLength": rules::MAX_LENGTH, "description": "Descriptive name for the image"},
            "status": {"type": "string", "readOnly": true, "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"], "description": "Status of the image"},
            "visibility": {"type": "string", "enum": rules::VISIBILITIES, "description": "Scope of image accessibility"},
            "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
            "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
            "checksum": read_only_string("md5 hash of image contents."),
            "os_hash_algo": read_only_string("Algorithm to calculate the os_hash_value"),
            "os_hash_value": read_only_string("Hexdigest of the image contents using the algorithm specified by the os_hash_algo"),
            "owner": {"type": ["null", "string"], "maxLength": rules::MAX_LENGTH, "description": "Owner of the image"},
            "size": {"type": ["null", "integer"], "readOnly": true, "description": "Size of image file in bytes"},
            "virtual_size": {"type": ["null", "integer"], "readOnly": true, "description": "Virtual size of image in bytes"},
            "container_format": nullable_enum(rules::CONTAINER_FORMATS),
            "disk_format": nullable_enum(rules::DISK_FORMATS),
            "created_at": {"type": "string", "readOnly": true, "description": "Date and time of image registration"},
            "updated_at": {"type": "string", "readOnly": true, "description": "Date and time of the last image modification"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": rules::MAX_LENGTH}, "description": "List of strings related to the image"},
            "self": {"type": "string", "readOnly": true, "description": "An image self url"},
            "file": {"type": "string", "readOnly": true, "description": "An image file url"},
            "schema": {"type": "string", "readOnly": true, "description": "An image schema url"},
            "min_ram": {"type": "integer", "minimum": 0, "description": "Amount of ram (in MB) required to boot image."},
            "min_disk": {"type": "integer", "minimum": 0, "description": "Amount of disk space (in GB) required to boot image."},
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

/// `GET /v2/schemas/image`.
pub async fn image_schema() -> Response {
    Json(image_schema_body()).into_response()
}

/// `GET /v2/schemas/images`.
pub async fn images_schema() -> Response {
    Json(collection_schema("images", image_schema_body())).into_response()
}

fn member_schema_body() -> Value {
    json!({
        "name": "member",
        "properties": {
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "image_id": {"type": "string", "description": "An identifier for the image"},
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "status": {"type": "string", "enum": ["pending", "accepted", "rejected"], "description": "The status of this image member"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "schema": {"type": "string", "readOnly": true},
        },
    })
}

/// `GET /v2/schemas/member`.
pub async fn member_schema() -> Response {
    Json(member_schema_body()).into_response()
}

/// `GET /v2/schemas/members`.
pub async fn members_schema() -> Response {
    Json(json!({
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema_body()},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }))
    .into_response()
}

fn task_schema_body() -> Value {
    let string = |description: &str| json!({"type": "string", "description": description});
    json!({
        "name": "task",
        "properties": {
            "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$", "description": "An identifier for the task"},
            "type": {"type": "string", "enum": compute::image::tasks::TASK_TYPES, "description": "The type of task represented by this content"},
            "status": {"type": "string", "enum": compute::image::tasks::TASK_STATUSES, "description": "The current status of this task"},
            "input": {"type": "object", "description": "The parameters required by task, JSON blob"},
            "result": {"type": ["null", "object"], "description": "The result of current task, JSON blob"},
            "owner": string("An identifier for the owner of this task"),
            "message": string("Human-readable informative message only included when appropriate (usually on failure)"),
            "image_id": string("Image associated with the task"),
            "request_id": string("Human-readable informative request-id"),
            "user_id": string("User associated with the task"),
            "expires_at": {"type": ["null", "string"], "description": "Datetime when this resource would be subject to removal"},
            "created_at": string("Datetime when this resource was created"),
            "updated_at": string("Datetime when this resource was updated"),
            "self": {"type": "string", "readOnly": true},
            "schema": {"type": "string", "readOnly": true},
        },
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

/// `GET /v2/schemas/task`.
pub async fn task_schema() -> Response {
    Json(task_schema_body()).into_response()
}

/// `GET /v2/schemas/tasks`.
pub async fn tasks_schema() -> Response {
    Json(collection_schema("tasks", task_schema_body())).into_response()
}

/// A list's schema: `name`, its items and Glance's paging links.
fn collection_schema(name: &str, item: Value) -> Value {
    json!({
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn time_properties() -> [(&'static str, Value); 2] {
    [
        (
            "created_at",
            json!({"type": "string", "readOnly": true, "description": "Date and time of creation", "format": "date-time"}),
        ),
        (
            "updated_at",
            json!({"type": "string", "readOnly": true, "description": "Date and time of the last modification", "format": "date-time"}),
        ),
    ]
}

fn with_times(mut properties: serde_json::Map<String, Value>) -> Value {
    for (key, value) in time_properties() {
        properties.insert(key.into(), value);
    }
    Value::Object(properties)
}

fn metadef_property_body() -> Value {
    json!({
        "type": "object",
        "required": ["title", "type"],
        "properties": {
            "name": {"type": "string", "maxLength": compute::metadefs::MAX_NAME},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "type": {"type": "string", "enum": compute::metadefs::PROPERTY_TYPES},
            "enum": {"type": "array"},
            "default": {},
            "readonly": {"type": "boolean"},
            "operators": {"type": "array", "items": {"type": "string"}},
            "minimum": {"type": "number"},
            "maximum": {"type": "number"},
            "minLength": {"type": "integer", "minimum": 0},
            "maxLength": {"type": "integer", "minimum": 0},
            "pattern": {"type": "string", "format": "regex"},
            "items": {"type": "object"},
            "minItems": {"type": "integer", "minimum": 0},
            "maxItems": {"type": "integer", "minimum": 0},
            "uniqueItems": {"type": "boolean", "default": false},
            "additionalItems": {"type": "boolean"},
        },
    })
}

fn association_schema_body() -> Value {
    let mut p = serde_json::Map::new();
    p.insert("name".into(), json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME, "description": "Resource type names should be aligned with Heat resource types whenever possible"}));
    p.insert("prefix".into(), json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME, "description": "Prefix for any properties of the namespace when applied to the resource type"}));
    p.insert("properties_target".into(), json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME, "description": "Where on the resource type the properties go, when it has several places"}));
    json!({"name": "resource_type_association", "required": ["name"], "additionalProperties": false, "properties": with_times(p)})
}

fn object_schema_body() -> Value {
    let mut p = serde_json::Map::new();
    p.insert(
        "name".into(),
        json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME}),
    );
    p.insert("description".into(), json!({"type": "string"}));
    p.insert(
        "required".into(),
        json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true}),
    );
    p.insert(
        "properties".into(),
        json!({"type": "object", "additionalProperties": metadef_property_body()}),
    );
    p.insert("schema".into(), json!({"type": "string", "readOnly": true}));
    p.insert("self".into(), json!({"type": "string", "readOnly": true}));
    json!({"name": "object", "required": ["name"], "additionalProperties": false, "properties": with_times(p)})
}

fn tag_schema_body() -> Value {
    let mut p = serde_json::Map::new();
    p.insert(
        "name".into(),
        json!({"type": "string", "maxLength": compute::metadefs::MAX_TAG}),
    );
    json!({"name": "tag", "required": ["name"], "additionalProperties": false, "properties": with_times(p)})
}

fn namespace_schema_body() -> Value {
    let mut p = serde_json::Map::new();
    p.insert("namespace".into(), json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME, "description": "The unique namespace text."}));
    p.insert("display_name".into(), json!({"type": "string", "maxLength": compute::metadefs::MAX_NAME, "description": "The user friendly name for the namespace."}));
    p.insert("description".into(), json!({"type": "string", "maxLength": 500, "description": "Provides a user friendly description of the namespace."}));
    p.insert("visibility".into(), json!({"type": "string", "enum": ["public", "private"], "description": "Scope of namespace accessibility."}));
    p.insert(
        "protected".into(),
        json!({"type": "boolean", "description": "If true, namespace will not be deletable."}),
    );
    p.insert(
        "owner".into(),
        json!({"type": "string", "maxLength": 255, "description": "Owner of the namespace."}),
    );
    p.insert("schema".into(), json!({"type": "string", "readOnly": true}));
    p.insert("self".into(), json!({"type": "string", "readOnly": true}));
    p.insert(
        "resource_type_associations".into(),
        json!({"type": "array", "items": association_schema_body()["properties"].clone()}),
    );
    p.insert(
        "properties".into(),
        json!({"type": "object", "additionalProperties": metadef_property_body()}),
    );
    p.insert(
        "objects".into(),
        json!({"type": "array", "items": object_schema_body()["properties"].clone()}),
    );
    p.insert("tags".into(), json!({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}));
    json!({"name": "namespace", "required": ["namespace"], "additionalProperties": false, "properties": with_times(p)})
}

fn property_schema_body() -> Value {
    let mut body = metadef_property_body();
    body["name"] = json!("property");
    body["required"] = json!(["name", "title", "type"]);
    body
}

/// `GET /v2/schemas/metadefs/{name}`: the metadefs catalog's schemas.
pub async fn metadef_schema(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let body = match name.as_str() {
        "namespace" => namespace_schema_body(),
        "namespaces" => collection_schema("namespaces", namespace_schema_body()),
        "resource_type" => association_schema_body(),
        "resource_types" => {
            collection_schema("resource_type_associations", association_schema_body())
        }
        "object" => object_schema_body(),
        "objects" => collection_schema("objects", object_schema_body()),
        "property" => property_schema_body(),
        "properties" => json!({
            "name": "properties",
            "properties": {"properties": {"type": "object", "additionalProperties": metadef_property_body()}},
            "links": [{"rel": "describedby", "href": "{schema}"}],
        }),
        "tag" => tag_schema_body(),
        "tags" => collection_schema("tags", tag_schema_body()),
        _ => {
            return super::error::error(
                axum::http::StatusCode::NOT_FOUND,
                "The resource could not be found.",
            )
        }
    };
    Json(body).into_response()
}
