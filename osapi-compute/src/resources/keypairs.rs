//! `/os-keypairs`: list, show, create (generate or import) and delete, as
//! nova's `keypairs` controller. Keypairs belong to a user, not a project;
//! admins may act for another user with `?user_id=` (2.10+).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::{domain, json_response, schemas, JsonBody};
use crate::state::ApiState;

/// The keypair routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-keypairs", get(index).post(create))
        .route("/os-keypairs/{name}", get(show).delete(delete))
}

fn policy(action: &str) -> String {
    format!("os_compute_api:os-keypairs:{action}")
}

/// The user whose keypairs a call is about: `?user_id=` from 2.10 (the
/// first value, as nova's `req.GET.getall('user_id')[0]`), else the caller.
/// nova's rule is "admin or the user themselves".
fn target_user(
    context: &Context,
    urls: &RequestUrls,
    version: ApiVersion,
    action: &str,
) -> Result<String, ApiError> {
    let asked = if version.at_least(2, 10) {
        urls.query
            .iter()
            .find(|(k, _)| k == "user_id")
            .map(|(_, v)| v.clone())
    } else {
        None
    };
    authorize(context, asked.filter(|u| !u.is_empty()), action)
}

fn authorize(context: &Context, asked: Option<String>, action: &str) -> Result<String, ApiError> {
    let user = asked.unwrap_or_else(|| context.0.user_id.clone());
    if context.0.is_admin || user == context.0.user_id {
        Ok(user)
    } else {
        Err(ApiError::policy(&policy(action)))
    }
}

fn not_found(name: &str, user: &str) -> ApiError {
    ApiError::NotFound(format!("Keypair {name} not found for user {user}"))
}

fn map_not_found(name: &str, user: &str) -> impl FnOnce(compute::Error) -> ApiError {
    let (name, user) = (name.to_string(), user.to_string());
    move |err| match err {
        compute::Error::NotFound {
            kind: compute::Kind::Keypair,
            ..
        } => not_found(&name, &user),
        other => domain(other),
    }
}

fn brief_view(keypair: &compute::Keypair, version: ApiVersion) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(keypair.name));
    body.insert("public_key".into(), json!(keypair.public_key));
    body.insert("fingerprint".into(), json!(keypair.fingerprint));
    if version.at_least(2, 2) {
        body.insert("type".into(), json!(keypair.key_type.as_str()));
    }
    Value::Object(body)
}

/// nova's timestamp form for keypairs (`2014-05-07T12:06:13.681238`).
fn timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn full_view(keypair: &compute::Keypair, version: ApiVersion) -> Value {
    let mut body = match brief_view(keypair, version) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("user_id".into(), json!(keypair.user_id));
    body.insert("created_at".into(), json!(timestamp(&keypair.created_at)));
    body.insert("deleted".into(), json!(false));
    body.insert("deleted_at".into(), Value::Null);
    body.insert("updated_at".into(), Value::Null);
    body.insert("id".into(), json!(keypair.id));
    Value::Object(body)
}

async fn index(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    if version.at_least(2, 75) {
        let allowed: &[&str] = if version.at_least(2, 35) {
            &["user_id", "limit", "marker"]
        } else {
            &["user_id"]
        };
        schemas::query(version, allowed).validate_query(&urls.query)?;
    }
    let user = target_user(&context, &urls, version, "index")?;
    let (limit, marker) = if version.at_least(2, 35) {
        let page = Page::from_urls(&urls)?;
        (Some(page.limit), page.marker)
    } else {
        (None, None)
    };
    let keypairs = state
        .compute
        .list_keypairs(&context.0, Some(&user), marker.as_deref(), limit)
        .await
        .map_err(|err| match (err, &marker) {
            (compute::Error::Invalid(_), Some(marker)) => {
                ApiError::BadRequest(format!("Marker {marker} could not be found."))
            }
            (other, _) => domain(other),
        })?;
    let items: Vec<Value> = keypairs
        .iter()
        .map(|k| json!({"keypair": brief_view(k, version)}))
        .collect();
    let mut body = Map::new();
    let count = items.len();
    body.insert("keypairs".into(), Value::Array(items));
    if version.at_least(2, 35) {
        if let Some(links) = urls.collection_links(
            "os-keypairs",
            count,
            keypairs.last().map(|k| k.name.as_str()),
        ) {
            body.insert("keypairs_links".into(), links);
        }
    }
    Ok(json_response(StatusCode::OK, Value::Object(body)))
}

async fn show(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, &["user_id"]).validate_query(&urls.query)?;
    }
    let user = target_user(&context, &urls, version, "show")?;
    let keypair = state
        .compute
        .get_keypair(&context.0, &name, Some(&user))
        .await
        .map_err(map_not_found(&name, &user))?;
    Ok(json_response(
        StatusCode::OK,
        json!({"keypair": full_view(&keypair, version)}),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if version.at_least(2, 75) {
        schemas::query(version, &["user_id"]).validate_query(&urls.query)?;
    }
    let user = target_user(&context, &urls, version, "delete")?;
    state
        .compute
        .delete_keypair(&context.0, &name, Some(&user))
        .await
        .map_err(map_not_found(&name, &user))?;
    // 202 up to 2.1, 204 from 2.2.
    let status = if version.at_least(2, 2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    };
    Ok(status.into_response())
}

/// What a create request asks for, validated against the schema of its
/// microversion.
struct CreateRequest {
    name: String,
    key_type: compute::KeyType,
    public_key: Option<String>,
    user_id: Option<String>,
}

fn parse_create(body: &Value, version: ApiVersion) -> Result<CreateRequest, ApiError> {
    schemas::keypair_create(version).validate(body)?;
    let keypair = &body["keypair"];
    let text = |key: &str| keypair.get(key).and_then(Value::as_str).map(str::to_string);
    let key_type = match keypair.get("type").and_then(Value::as_str) {
        Some("x509") => compute::KeyType::X509,
        _ => compute::KeyType::Ssh,
    };
    Ok(CreateRequest {
        name: text("name").unwrap_or_default().trim().to_string(),
        key_type,
        public_key: text("public_key"),
        user_id: text("user_id"),
    })
}

async fn create(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request = parse_create(&body, version)?;
    let user = authorize(
        &context,
        request.user_id.filter(|u| !u.is_empty()),
        "create",
    )?;
    // Without a public key the store generates the pair (nova's behaviour
    // up to 2.91; from 2.92 the schema above requires a public key). A
    // keypair quota is nova's 403, a taken name its 409.
    let keypair = state
        .compute
        .create_keypair(
            &context.0,
            compute::NewKeypair {
                name: request.name,
                key_type: request.key_type,
                public_key: request.public_key,
                user_id: Some(user),
            },
        )
        .await
        .map_err(domain)?;
    let mut view = brief_view(&keypair, version);
    if let Value::Object(map) = &mut view {
        map.insert("user_id".into(), json!(keypair.user_id));
        if let Some(private_key) = &keypair.private_key {
            map.insert("private_key".into(), json!(private_key));
        }
    }
    // 200 up to 2.1, 201 from 2.2.
    let status = if version.at_least(2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, json!({ "keypair": view })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value, minor: u32) -> String {
        match parse_create(&body, ApiVersion::new(2, minor)) {
            Ok(_) => "accepted".into(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn create_messages_are_pinned() {
        let cases: Vec<(Value, u32, &str)> = vec![
            (json!(1), 1, "1 is not of type 'object'"),
            (json!({}), 1, "'keypair' is a required property"),
            (
                json!({"keypair": {}}),
                1,
                "Invalid input for field/attribute keypair. Value: {}. 'name' is a required property",
            ),
            (
                json!({"keypair": {"name": 1}}),
                1,
                "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string'",
            ),
            (
                json!({"keypair": {"name": ""}}),
                1,
                "Invalid input for field/attribute name. Value: . '' should be non-empty",
            ),
            (
                json!({"keypair": {"name": "a b!"}}),
                1,
                "Invalid input for field/attribute name. Value: a b!. 'a b!' does not match '^[_\\\\- a-zA-Z0-9]+$'",
            ),
            (
                json!({"keypair": {"name": "a!", "public_key": "k"}}),
                92,
                "Invalid input for field/attribute name. Value: a!. 'a!' does not match '^[_\\\\-\\\\@\\\\. a-zA-Z0-9]+$'",
            ),
            (
                json!({"keypair": {"name": "a", "type": 5}}),
                2,
                "Invalid input for field/attribute type. Value: 5. 5 is not one of ['ssh', 'x509']",
            ),
            (
                json!({"keypair": {"name": "a", "public_key": 5}}),
                1,
                "Invalid input for field/attribute public_key. Value: 5. 5 is not of type 'string'",
            ),
            (
                json!({"keypair": {"name": "a", "user_id": 5}}),
                10,
                "Invalid input for field/attribute user_id. Value: 5. 5 is not of type 'string'",
            ),
            (
                json!({"keypair": {"name": "a", "user_id": "u"}}),
                9,
                "Invalid input for field/attribute keypair. Value: {'name': 'a', 'user_id': 'u'}. Additional properties are not allowed ('user_id' was unexpected)",
            ),
            (json!({"keypair": {"name": "a-b c_d"}}), 1, "accepted"),
            (
                json!({"keypair": {"name": "a@b.c", "public_key": "k", "type": "x509", "user_id": "u"}}),
                92,
                "accepted",
            ),
        ];
        for (body, minor, expected) in cases {
            assert_eq!(create(body.clone(), minor), expected, "{body} at 2.{minor}");
        }
    }
}
