//! `/flavors` (list, detail, show, admin create/update/delete),
//! `/flavors/{id}/os-extra_specs` and `/flavors/{id}/os-flavor-access` with
//! the `addTenantAccess`/`removeTenantAccess` actions, as nova's
//! `flavors`, `flavors_extraspecs` and `flavor_access` controllers.

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
use crate::resources::{domain, json_response, schemas, version_not_found, JsonBody};
use crate::state::ApiState;
use crate::validation::{bool_of, int_of};

/// nova's `VALID_SORT_KEYS` for flavors (2.1-2.101; 2.102 drops
/// `rxtx_factor`).
const SORT_KEYS: &[&str] = &[
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpus_weight",
    "vcpus",
];
/// The flavor routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/flavors", get(index).post(create))
        .route("/flavors/detail", get(detail))
        .route("/flavors/{id}", get(show).put(update).delete(delete))
        .route("/flavors/{id}/action", axum::routing::post(action))
        .route("/flavors/{id}/os-flavor-access", get(access_list))
        .route(
            "/flavors/{id}/os-extra_specs",
            get(extra_specs_index).post(extra_specs_create),
        )
        .route(
            "/flavors/{id}/os-extra_specs/{key}",
            get(extra_spec_show)
                .put(extra_spec_update)
                .delete(extra_spec_delete),
        )
}

/// Policy names of nova's flavor policies.
mod policy {
    pub const CREATE: &str = "os_compute_api:os-flavor-manage:create";
    pub const UPDATE: &str = "os_compute_api:os-flavor-manage:update";
    pub const DELETE: &str = "os_compute_api:os-flavor-manage:delete";
    pub const SPECS_CREATE: &str = "os_compute_api:os-flavor-extra-specs:create";
    pub const SPECS_UPDATE: &str = "os_compute_api:os-flavor-extra-specs:update";
    pub const SPECS_DELETE: &str = "os_compute_api:os-flavor-extra-specs:delete";
    pub const ACCESS: &str = "os_compute_api:os-flavor-access";
    pub const ACCESS_ADD: &str = "os_compute_api:os-flavor-access:add_tenant_access";
    pub const ACCESS_REMOVE: &str = "os_compute_api:os-flavor-access:remove_tenant_access";
}

/// The full view of a flavor (`show`/`detail`), per microversion.
pub fn flavor_view(
    urls: &RequestUrls,
    version: ApiVersion,
    flavor: &compute::Flavor,
    with_specs: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(flavor.id));
    body.insert("name".into(), json!(flavor.name));
    body.insert("ram".into(), json!(flavor.ram));
    body.insert("disk".into(), json!(flavor.disk));
    // Before 2.75 a zero swap is the empty string (nova's `swap or ""`).
    let swap = if flavor.swap == 0 && !version.at_least(2, 75) {
        json!("")
    } else {
        json!(flavor.swap)
    };
    body.insert("swap".into(), swap);
    body.insert("OS-FLV-EXT-DATA:ephemeral".into(), json!(flavor.ephemeral));
    // 2.102 drops the disabled flag and the RXTX factor.
    let legacy = !version.at_least(2, 102);
    if legacy {
        body.insert("OS-FLV-DISABLED:disabled".into(), json!(flavor.disabled));
    }
    body.insert("vcpus".into(), json!(flavor.vcpus));
    body.insert("os-flavor-access:is_public".into(), json!(flavor.is_public));
    if legacy {
        body.insert("rxtx_factor".into(), json!(flavor.rxtx_factor));
    }
    body.insert("links".into(), urls.links("flavors", &flavor.id));
    if version.at_least(2, 55) {
        body.insert("description".into(), json!(flavor.description));
    }
    if with_specs && version.at_least(2, 61) {
        body.insert("extra_specs".into(), json!(flavor.extra_specs));
    }
    Value::Object(body)
}

fn brief_view(urls: &RequestUrls, version: ApiVersion, flavor: &compute::Flavor) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(flavor.id));
    body.insert("name".into(), json!(flavor.name));
    body.insert("links".into(), urls.links("flavors", &flavor.id));
    if version.at_least(2, 55) {
        body.insert("description".into(), json!(flavor.description));
    }
    Value::Object(body)
}

/// nova's `strutils.bool_from_string(strict=True)`.
fn strict_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// Reads the list filters as nova's `_get_flavors`.
fn list_query(
    ctx: &compute::RequestContext,
    urls: &RequestUrls,
    version: ApiVersion,
) -> Result<compute::FlavorFilter, ApiError> {
    let sort_keys: Vec<&str> = SORT_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "rxtx_factor" || !version.at_least(2, 102))
        .collect();
    schemas::flavors_query(version, &sort_keys).validate_query(&urls.query)?;
    let page = Page::from_urls(urls)?;
    let sort_key = match urls.param("sort_key") {
        None | Some("") => "flavorid",
        Some(key) => key,
    };
    let sort_desc = urls.param("sort_dir") == Some("desc");
    // Only admins may see private flavors they have no access to; for them
    // `is_public` picks public (default), private (false) or all ("none").
    let is_public =
        if ctx.is_admin {
            match urls.param("is_public") {
                None => Some(true),
                Some(v) if v.eq_ignore_ascii_case("none") => None,
                Some(v) => Some(strict_bool(v).ok_or_else(|| {
                    ApiError::BadRequest(format!("Invalid is_public filter [{v}]"))
                })?),
            }
        } else {
            // Everyone else sees the public flavors and the private ones their
            // project was given access to (nova's DB query does the same).
            None
        };
    // nova reads these with `int()`: any integer, which a saturated one
    // filters alike (no flavor holds i64::MAX MiB).
    let min = |name: &str| -> Result<Option<i64>, ApiError> {
        match urls.param(name) {
            None => Ok(None),
            Some(v) => crate::validation::int_from_str(v)
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(format!("Invalid {name} filter [{v}]"))),
        }
    };
    Ok(compute::FlavorFilter {
        is_public,
        min_ram: min("minRam")?,
        min_disk: min("minDisk")?,
        name: if version.at_least(2, 102) {
            urls.param("name").map(str::to_owned)
        } else {
            None
        },
        sort_key: Some(store_sort_key(sort_key).to_string()),
        sort_desc,
        limit: Some(page.limit),
        marker: page.marker,
    })
}

/// The store's column for a sort key nova accepts. `vcpus_weight` is never
/// set and `updated_at` rarely, so they order as nova's NULL columns do:
/// by creation.
fn store_sort_key(key: &str) -> &str {
    match key {
        "vcpus_weight" => "id",
        "updated_at" => "created_at",
        other => other,
    }
}

async fn list(
    state: &ApiState,
    ctx: &compute::RequestContext,
    urls: &RequestUrls,
    version: ApiVersion,
) -> Result<Vec<compute::Flavor>, ApiError> {
    let query = list_query(ctx, urls, version)?;
    // An unknown marker is the store's 400 "marker [x] not found", as nova's.
    state
        .compute
        .list_flavors(ctx, &query)
        .await
        .map_err(domain)
}

fn with_links(
    urls: &RequestUrls,
    collection: &str,
    key: &str,
    items: Vec<Value>,
    last_id: Option<&str>,
) -> Value {
    let count = items.len();
    let mut body = Map::new();
    body.insert(key.into(), Value::Array(items));
    if let Some(links) = urls.collection_links(collection, count, last_id) {
        body.insert(format!("{key}_links"), links);
    }
    Value::Object(body)
}

async fn index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    let flavors = list(&state, &ctx, &urls, version).await?;
    let items = flavors
        .iter()
        .map(|f| brief_view(&urls, version, f))
        .collect();
    let last = flavors.last().map(|f| f.id.as_str());
    Ok(json_response(
        StatusCode::OK,
        with_links(&urls, "flavors", "flavors", items, last),
    ))
}

async fn detail(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    let flavors = list(&state, &ctx, &urls, version).await?;
    let items = flavors
        .iter()
        .map(|f| flavor_view(&urls, version, f, true))
        .collect();
    let last = flavors.last().map(|f| f.id.as_str());
    Ok(json_response(
        StatusCode::OK,
        with_links(&urls, "flavors/detail", "flavors", items, last),
    ))
}

async fn show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    let flavor = state.compute.get_flavor(&ctx, &id).await.map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"flavor": flavor_view(&urls, version, &flavor, true)}),
    ))
}

/// Validates a create body against nova's schema for `version`.
fn parse_create(body: &Value, version: ApiVersion) -> Result<compute::NewFlavor, ApiError> {
    schemas::flavor_create(version).validate(body)?;
    let flavor = &body["flavor"];
    // Within their bounds now: exact in an i64.
    let integer = |key: &str| flavor.get(key).and_then(int_of).unwrap_or_default();
    let flavorid = match &flavor["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let rxtx_factor = match flavor.get("rxtx_factor") {
        None => 1.0,
        Some(Value::String(s)) => s.parse::<f64>().unwrap_or(0.0),
        Some(value) => value.as_f64().unwrap_or(0.0),
    };
    Ok(compute::NewFlavor {
        id: flavorid,
        name: flavor["name"].as_str().unwrap_or_default().to_string(),
        vcpus: integer("vcpus"),
        ram: integer("ram"),
        disk: integer("disk"),
        ephemeral: integer("OS-FLV-EXT-DATA:ephemeral"),
        swap: integer("swap"),
        rxtx_factor,
        is_public: flavor.get("os-flavor-access:is_public").is_none_or(bool_of),
        description: flavor
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        extra_specs: Default::default(),
    })
}

async fn create(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    context.require_admin(policy::CREATE)?;
    let new = parse_create(&body, version)?;
    let flavor = state
        .compute
        .create_flavor(&context.0, new)
        .await
        .map_err(domain)?;
    // nova answers 200 (not 201) for backwards compatibility.
    Ok(json_response(
        StatusCode::OK,
        json!({"flavor": flavor_view(&urls, version, &flavor, true)}),
    ))
}

/// Validates an update body; returns the new description.
fn parse_update(body: &Value) -> Result<Option<String>, ApiError> {
    schemas::flavor_update().validate(body)?;
    Ok(body["flavor"]["description"].as_str().map(str::to_string))
}

async fn update(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    if !version.at_least(2, 55) {
        return Err(version_not_found());
    }
    context.require_admin(policy::UPDATE)?;
    let text = parse_update(&body)?;
    let flavor = state
        .compute
        .update_flavor_description(&context.0, &id, text)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"flavor": flavor_view(&urls, version, &flavor, true)}),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    context: Context,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    context.require_admin(policy::DELETE)?;
    state
        .compute
        .delete_flavor(&context.0, &id)
        .await
        .map_err(domain)?;
    // nova answers 202 for backwards compatibility.
    Ok(StatusCode::ACCEPTED.into_response())
}

fn access_view(flavor_id: &str, projects: &[String]) -> Value {
    let items: Vec<Value> = projects
        .iter()
        .map(|p| json!({"flavor_id": flavor_id, "tenant_id": p}))
        .collect();
    json!({ "flavor_access": items })
}

async fn access_list(
    State(state): State<ApiState>,
    context: Context,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    context.require_admin(policy::ACCESS)?;
    let flavor = state
        .compute
        .get_flavor(&context.0, &id)
        .await
        .map_err(domain)?;
    if flavor.is_public {
        return Err(ApiError::NotFound(
            "Access list not available for public flavors.".into(),
        ));
    }
    let projects = state
        .compute
        .list_flavor_access(&context.0, &id)
        .await
        .map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        access_view(&flavor.id, &projects),
    ))
}

/// The tenant of an access action body `{"<action>": {"tenant": "..."}}`.
fn access_tenant(body: &Value, action: &str) -> Result<String, ApiError> {
    schemas::flavor_access(action).validate(body)?;
    Ok(body[action]["tenant"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn action(
    State(state): State<ApiState>,
    context: Context,
    version: ApiVersion,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let name = body
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .ok_or_else(|| ApiError::BadRequest("Malformed request body".into()))?;
    match name.as_str() {
        "addTenantAccess" => {
            context.require_admin(policy::ACCESS_ADD)?;
            let tenant = access_tenant(&body, "addTenantAccess")?;
            let flavor = state
                .compute
                .get_flavor(&context.0, &id)
                .await
                .map_err(domain)?;
            if flavor.is_public && version.at_least(2, 7) {
                return Err(ApiError::Conflict(
                    "Can not add access to a public flavor.".into(),
                ));
            }
            let projects = state
                .compute
                .add_flavor_access(&context.0, &id, &tenant)
                .await
                .map_err(|err| match err {
                    compute::Error::Duplicate { .. } => ApiError::Conflict(format!(
                        "Flavor access already exists for flavor {id} and project {tenant} combination."
                    )),
                    other => domain(other),
                })?;
            Ok(json_response(
                StatusCode::OK,
                access_view(&flavor.id, &projects),
            ))
        }
        "removeTenantAccess" => {
            context.require_admin(policy::ACCESS_REMOVE)?;
            let tenant = access_tenant(&body, "removeTenantAccess")?;
            let flavor = state
                .compute
                .get_flavor(&context.0, &id)
                .await
                .map_err(domain)?;
            let projects = state
                .compute
                .remove_flavor_access(&context.0, &id, &tenant)
                .await
                .map_err(|err| match err {
                    compute::Error::NotFound {
                        kind: compute::Kind::FlavorAccess,
                        ..
                    } => ApiError::NotFound(format!(
                        "Flavor access not found for {id} / {tenant} combination."
                    )),
                    other => domain(other),
                })?;
            Ok(json_response(
                StatusCode::OK,
                access_view(&flavor.id, &projects),
            ))
        }
        other => Err(ApiError::BadRequest(format!(
            "There is no such action: {other}"
        ))),
    }
}

fn no_such_spec(flavor_id: &str, key: &str) -> ApiError {
    ApiError::NotFound(format!(
        "Flavor {flavor_id} has no extra specs with key {key}."
    ))
}

async fn extra_specs_index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let flavor = state.compute.get_flavor(&ctx, &id).await.map_err(domain)?;
    Ok(json_response(
        StatusCode::OK,
        json!({"extra_specs": flavor.extra_specs}),
    ))
}

async fn extra_spec_show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let flavor = state.compute.get_flavor(&ctx, &id).await.map_err(domain)?;
    let value = flavor
        .extra_specs
        .get(&key)
        .ok_or_else(|| no_such_spec(&id, &key))?;
    Ok(json_response(StatusCode::OK, json!({ key: value })))
}

/// Validates an extra specs create body; returns the specs as strings.
fn parse_specs_create(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    schemas::extra_specs_create().validate(body)?;
    Ok(spec_strings(&body["extra_specs"]))
}

/// The specs of a validated map, numbers as their text.
fn spec_strings(specs: &Value) -> Vec<(String, String)> {
    specs
        .as_object()
        .map(|items| {
            items
                .iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn extra_specs_create(
    State(state): State<ApiState>,
    context: Context,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    context.require_admin(policy::SPECS_CREATE)?;
    let specs = parse_specs_create(&body)?;
    state
        .compute
        .get_flavor(&context.0, &id)
        .await
        .map_err(domain)?;
    state
        .compute
        .set_flavor_extra_specs(&context.0, &id, specs.into_iter().collect())
        .await
        .map_err(domain)?;
    // nova echoes the request body (numbers become strings in the store,
    // but the answer is the body as sent).
    Ok(json_response(StatusCode::OK, body))
}

/// Validates a one-spec update body; returns the spec as strings.
fn parse_spec_update(body: &Value) -> Result<Vec<(String, String)>, ApiError> {
    schemas::extra_spec_update_count().validate(body)?;
    schemas::extra_spec_update_map().validate(&json!({ "extra_specs": body }))?;
    Ok(spec_strings(body))
}

async fn extra_spec_update(
    State(state): State<ApiState>,
    context: Context,
    Path((id, key)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    context.require_admin(policy::SPECS_UPDATE)?;
    let specs = parse_spec_update(&body)?;
    if !specs.iter().any(|(k, _)| *k == key) {
        return Err(ApiError::BadRequest("Request body and URI mismatch".into()));
    }
    state
        .compute
        .get_flavor(&context.0, &id)
        .await
        .map_err(domain)?;
    state
        .compute
        .set_flavor_extra_specs(&context.0, &id, specs.into_iter().collect())
        .await
        .map_err(domain)?;
    Ok(json_response(StatusCode::OK, body))
}

async fn extra_spec_delete(
    State(state): State<ApiState>,
    context: Context,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    context.require_admin(policy::SPECS_DELETE)?;
    state
        .compute
        .delete_flavor_extra_spec(&context.0, &id, &key)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound {
                kind: compute::Kind::ExtraSpec,
                ..
            } => no_such_spec(&id, &key),
            other => domain(other),
        })?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T>(result: Result<T, ApiError>) -> String {
        match result {
            Ok(_) => "accepted".into(),
            Err(err) => err.to_string(),
        }
    }

    fn create(body: Value, version: (u32, u32)) -> String {
        message(parse_create(&body, ApiVersion::new(version.0, version.1)))
    }

    fn with(field: &str, value: Value) -> Value {
        let mut flavor = json!({"name": "x", "ram": 64, "vcpus": 1, "disk": 1});
        flavor[field] = value;
        json!({ "flavor": flavor })
    }

    const BOOLEANS: &str = "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']";

    #[test]
    fn create_messages_are_pinned() {
        let cases: Vec<(Value, (u32, u32), String)> = vec![
            (json!([]), (2, 1), "[] is not of type 'object'".into()),
            (json!({}), (2, 1), "'flavor' is a required property".into()),
            (
                json!({"flavor": 1}),
                (2, 1),
                "Invalid input for field/attribute flavor. Value: 1. 1 is not of type 'object'".into(),
            ),
            (
                json!({"flavor": {"name": "x", "ram": 64, "vcpus": 1, "disk": 1}, "x": 1}),
                (2, 1),
                "Additional properties are not allowed ('x' was unexpected)".into(),
            ),
            (
                with("name", json!(5)),
                (2, 1),
                "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'".into(),
            ),
            (
                with("name", json!("")),
                (2, 1),
                "Invalid input for field/attribute name. Value: . '' should be non-empty".into(),
            ),
            (
                with("name", json!(" x")),
                (2, 1),
                "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.".into(),
            ),
            (
                with("id", json!(true)),
                (2, 1),
                "Invalid input for field/attribute id. Value: True. True is not of type 'string', 'number', 'null'".into(),
            ),
            (
                with("id", json!("")),
                (2, 1),
                "Invalid input for field/attribute id. Value: . '' should be non-empty".into(),
            ),
            (
                with("id", json!("a ")),
                (2, 1),
                "Invalid input for field/attribute id. Value: a . 'a ' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'".into(),
            ),
            (
                with("id", json!("a/b")),
                (2, 1),
                "Invalid input for field/attribute id. Value: a/b. 'a/b' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'".into(),
            ),
            (
                with("ram", json!(1.5)),
                (2, 1),
                "Invalid input for field/attribute ram. Value: 1.5. 1.5 is not of type 'integer', 'string'".into(),
            ),
            (
                with("vcpus", json!(2147483648_i64)),
                (2, 1),
                "Invalid input for field/attribute vcpus. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647".into(),
            ),
            (
                with("disk", json!(-1)),
                (2, 1),
                "Invalid input for field/attribute disk. Value: -1. -1 is less than the minimum of 0".into(),
            ),
            (
                with("swap", json!("-1")),
                (2, 1),
                "Invalid input for field/attribute swap. Value: -1. '-1' does not match '^[0-9]+$'".into(),
            ),
            (
                with("rxtx_factor", json!(true)),
                (2, 1),
                "Invalid input for field/attribute rxtx_factor. Value: True. True is not of type 'number', 'string'".into(),
            ),
            (
                with("rxtx_factor", json!("1.")),
                (2, 1),
                "Invalid input for field/attribute rxtx_factor. Value: 1.. '1.' does not match '^[0-9]+(\\.[0-9]+)?$'".into(),
            ),
            (
                with("rxtx_factor", json!("0.0")),
                (2, 1),
                "Invalid input for field/attribute rxtx_factor. Value: 0.0. '0.0' is less than or equal to the minimum of 0".into(),
            ),
            (
                with("rxtx_factor", json!(0)),
                (2, 1),
                "Invalid input for field/attribute rxtx_factor. Value: 0. 0 is less than or equal to the minimum of 0".into(),
            ),
            (
                with("rxtx_factor", json!(1e39)),
                (2, 1),
                "Invalid input for field/attribute rxtx_factor. Value: 1e+39. 1e+39 is greater than the maximum of 3.40282e+38".into(),
            ),
            (
                with("os-flavor-access:is_public", json!(5)),
                (2, 1),
                format!("Invalid input for field/attribute os-flavor-access:is_public. Value: 5. 5 is not one of {BOOLEANS}"),
            ),
            (
                with("description", json!("d")),
                (2, 54),
                "Invalid input for field/attribute flavor. Value: {'description': 'd', 'disk': 1, 'name': 'x', 'ram': 64, 'vcpus': 1}. Additional properties are not allowed ('description' was unexpected)".into(),
            ),
            (
                with("description", json!(5)),
                (2, 55),
                "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string'".into(),
            ),
            (
                with("description", json!("a\u{1}")),
                (2, 55),
                "Invalid input for field/attribute description. Value: a\u{1}. 'a\\x01' does not match the printable-characters pattern".into(),
            ),
            (
                with("description", json!("d".repeat(65536))),
                (2, 55),
                format!("Invalid input for field/attribute description. Value: {0}. '{0}' is too long", "d".repeat(65536)),
            ),
        ];
        for (body, version, expected) in cases {
            assert_eq!(create(body.clone(), version), expected, "{body}");
        }
        for ok in [
            with("id", Value::Null),
            with("id", json!(7)),
            with("id", json!("a b")),
            with("rxtx_factor", json!("2.5")),
            with("os-flavor-access:is_public", json!("off")),
            with("ram", json!("64")),
        ] {
            assert_eq!(create(ok.clone(), (2, 1)), "accepted", "{ok}");
        }
        assert_eq!(
            create(with("description", Value::Null), (2, 55)),
            "accepted"
        );
    }

    #[test]
    fn update_access_and_spec_messages_are_pinned() {
        let update = |body: Value| message(parse_update(&body));
        assert_eq!(
            update(json!({"flavor": {}})),
            "Invalid input for field/attribute flavor. Value: {}. 'description' is a required property"
        );
        assert_eq!(
            update(json!({"flavor": {"description": 5}})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string'"
        );
        assert_eq!(update(json!({"flavor": {"description": null}})), "accepted");
        let access = |body: Value| message(access_tenant(&body, "addTenantAccess"));
        assert_eq!(
            access(json!({"addTenantAccess": {}})),
            "Invalid input for field/attribute addTenantAccess. Value: {}. 'tenant' is a required property"
        );
        assert_eq!(
            access(json!({"addTenantAccess": {"tenant": 1}})),
            "Invalid input for field/attribute tenant. Value: 1. 1 is not of type 'string'"
        );
        assert_eq!(
            access(json!({"addTenantAccess": {"tenant": ""}})),
            "Invalid input for field/attribute tenant. Value: . '' should be non-empty"
        );
        assert_eq!(
            access(json!({"addTenantAccess": {"tenant": "p", "x": 1}})),
            "Invalid input for field/attribute addTenantAccess. Value: {'tenant': 'p', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"
        );
        let create = |body: Value| message(parse_specs_create(&body));
        assert_eq!(create(json!({})), "'extra_specs' is a required property");
        assert_eq!(
            create(json!({"extra_specs": 1})),
            "Invalid input for field/attribute extra_specs. Value: 1. 1 is not of type 'object'"
        );
        assert_eq!(
            create(json!({"extra_specs": {"a/b": "1"}})),
            "Invalid input for field/attribute extra_specs. Value: {'a/b': '1'}. 'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"
        );
        assert_eq!(
            create(json!({"extra_specs": {"a": true}})),
            "Invalid input for field/attribute a. Value: True. True is not of type 'string', 'number'"
        );
        assert_eq!(
            create(json!({"extra_specs": {"a": "v".repeat(256)}})),
            format!(
                "Invalid input for field/attribute a. Value: {0}. '{0}' is too long",
                "v".repeat(256)
            )
        );
        assert_eq!(
            create(json!({"extra_specs": {"a": 1, "b": "x"}})),
            "accepted"
        );
        let update = |body: Value| message(parse_spec_update(&body));
        assert_eq!(update(json!([])), "[] is not of type 'object'");
        assert_eq!(update(json!({})), "{} should be non-empty");
        assert_eq!(
            update(json!({"a": "1", "b": "2"})),
            "{'a': '1', 'b': '2'} has too many properties"
        );
        assert_eq!(
            update(json!({"a/b": "1"})),
            "Invalid input for field/attribute extra_specs. Value: {'a/b': '1'}. 'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"
        );
        assert_eq!(
            update(json!({"a": null})),
            "Invalid input for field/attribute a. Value: None. None is not of type 'string', 'number'"
        );
        assert_eq!(update(json!({"a": 2})), "accepted");
    }
}
