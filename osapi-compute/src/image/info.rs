//! What the endpoint says about itself: the version list, the import
//! methods and stores it has (`/v2/info/...`), and the JSON schemas of
//! its resources (`/v2/schemas/...`), built from the catalogue's rules.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use compute::image::rules;

use super::data::IMPORT_METHODS;
use super::endpoint_url;

/// The Image API version this endpoint claims.
const IMAGE_VERSION: &str = "v2.16";

/// `/` (300) and `/versions` (200).
pub async fn versions(request: Request) -> Response {
    let url = endpoint_url(&request);
    let version = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{url}/v2/")}]});
    let body = json!({"versions": [
        version(IMAGE_VERSION, "CURRENT"),
        version("v2.0", "SUPPORTED"),
    ]});
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
    Json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema_body()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }))
    .into_response()
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
