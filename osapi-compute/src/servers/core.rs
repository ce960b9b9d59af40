//! `/servers`: list, detail, show, create, update, delete.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::{Page, RequestUrls};
use crate::microversion::ApiVersion;
use crate::resources::json_response_sized;
use crate::servers::schemas;
use crate::servers::view::{self, BasicView, ServerView, ShowOpts, ViewUrls};
use crate::state::ApiState;
use crate::validation::{has_python_year, int_from_str, int_of, query_error, JsonBody};

/// Query parameters of a server list that every caller may use (nova's
/// `_get_server_search_options` for non-admins, widened by 2.26, 2.66, 2.73, 2.83).
fn non_admin_filters(version: ApiVersion) -> Vec<&'static str> {
    let mut allowed = vec![
        "reservation_id",
        "name",
        "status",
        "image",
        "flavor",
        "ip",
        "changes-since",
        "all_tenants",
        "ip6",
    ];
    if version.at_least(2, 26) {
        allowed.extend(["tags", "tags-any", "not-tags", "not-tags-any"]);
    }
    if version.at_least(2, 66) {
        allowed.push("changes-before");
    }
    if version.at_least(2, 73) {
        allowed.push("locked");
    }
    if version.at_least(2, 83) {
        allowed.extend([
            "availability_zone",
            "config_drive",
            "key_name",
            "created_at",
            "launched_at",
            "terminated_at",
            "power_state",
            "task_state",
            "vm_state",
            "progress",
            "user_id",
        ]);
    }
    allowed
}

/// Every query parameter nova's `index_query` schema knows.
const KNOWN_PARAMS: &[&str] = &[
    "user_id",
    "project_id",
    "tenant_id",
    "launch_index",
    "image_ref",
    "image",
    "kernel_id",
    "ramdisk_id",
    "hostname",
    "key_name",
    "power_state",
    "vm_state",
    "task_state",
    "host",
    "node",
    "flavor",
    "reservation_id",
    "launched_at",
    "terminated_at",
    "availability_zone",
    "name",
    "display_name",
    "description",
    "display_description",
    "locked_by",
    "uuid",
    "root_device_name",
    "config_drive",
    "access_ip_v4",
    "access_ip_v6",
    "auto_disk_config",
    "progress",
    "sort_key",
    "sort_dir",
    "all_tenants",
    "soft_deleted",
    "deleted",
    "status",
    "changes-since",
    "ip",
    "ip6",
    "created_at",
    "limit",
    "marker",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "changes-before",
    "locked",
];

/// A date-time query parameter, in the forms nova's `date-time` format takes.
pub(crate) fn parse_time(param: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let invalid = || query_error(param, raw, &format!("'{raw}' is not a 'date-time'"));
    if !has_python_year(raw) {
        return Err(invalid());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw.trim_end_matches('Z'), fmt) {
            return Ok(t.and_utc());
        }
    }
    Err(invalid())
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn id_from_href(href: &str) -> String {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
        .to_string()
}

/// Builds the compute filter from the query, with nova's policy and
/// microversion rules (a `status` is matched exactly, by the compute
/// domain, before the page is cut).
fn list_filter(
    urls: &RequestUrls,
    ctx: &Context,
    version: ApiVersion,
) -> Result<compute::InstanceFilter, ApiError> {
    let page = Page::from_urls(urls)?;
    let is_admin = ctx.0.is_admin;
    // From 2.75 only the known parameters (nova's validator message).
    crate::resources::schemas::query(version, KNOWN_PARAMS).validate_query(&urls.query)?;
    let allowed = non_admin_filters(version);
    let get = |name: &str| -> Option<&str> {
        if is_admin || allowed.contains(&name) {
            urls.param(name)
        } else {
            None
        }
    };
    let mut filter = compute::InstanceFilter {
        limit: Some(page.limit),
        marker: page.marker.clone(),
        ..Default::default()
    };

    let all_tenants = match urls.param("all_tenants") {
        None => false,
        Some("") => true,
        Some(raw) => parse_bool(raw).ok_or_else(|| {
            ApiError::BadRequest(format!("Invalid input for query parameters all_tenants. Value: {raw}. '{raw}' is not a boolean"))
        })?,
    };
    if all_tenants {
        ctx.require_admin("os_compute_api:servers:index:get_all_tenants")?;
        filter.all_projects = true;
    }
    if is_admin {
        // As nova (lp:#1185290): without all_tenants the listing is the
        // caller's project, whatever project_id or tenant_id say.
        if all_tenants {
            if let Some(p) = urls.param("project_id").or_else(|| urls.param("tenant_id")) {
                filter.project_id = Some(p.to_string());
            }
        }
        if let Some(d) = urls.param("deleted") {
            filter.deleted = parse_bool(d);
        }
        filter.host = get("host").map(str::to_string);
        filter.node = get("node").map(str::to_string);
        filter.hostname = get("hostname").map(str::to_string);
        filter.uuids = get("uuid").map(|u| vec![u.to_string()]);
        filter.access_ip_v4 = get("access_ip_v4").map(str::to_string);
        filter.access_ip_v6 = get("access_ip_v6").map(str::to_string);
        if let Some(i) = get("launch_index") {
            // nova's `int()` of any size; saturated, it matches no instance
            // just as the exact number would not.
            filter.launch_index = int_from_str(i);
        }
    }
    filter.name = get("name")
        .or_else(|| get("display_name"))
        .map(str::to_string);
    filter.user_id = get("user_id").map(str::to_string);
    filter.reservation_id = get("reservation_id").map(str::to_string);
    filter.key_name = get("key_name").map(str::to_string);
    filter.availability_zone = get("availability_zone").map(str::to_string);
    filter.image_ref = get("image").or_else(|| get("image_ref")).map(id_from_href);
    filter.flavor_id = get("flavor").map(id_from_href);
    filter.ip = get("ip").map(str::to_string);
    filter.ip6 = get("ip6").map(str::to_string);
    if let Some(raw) = get("config_drive") {
        filter.config_drive = parse_bool(raw);
    }
    if let Some(raw) = get("changes-since") {
        filter.changes_since = Some(parse_time("changes-since", raw)?);
    }
    if version.at_least(2, 66) {
        if let Some(raw) = get("changes-before") {
            let before = parse_time("changes-before", raw)?;
            if filter.changes_since.is_some_and(|since| since > before) {
                return Err(ApiError::BadRequest(
                    "The value of changes-since must be less than or equal to changes-before."
                        .into(),
                ));
            }
            filter.changes_before = Some(before);
        }
    }
    if version.at_least(2, 73) {
        if let Some(raw) = get("locked") {
            filter.locked = Some(parse_bool(raw).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Unrecognized value '{raw}', acceptable values are: true, false"
                ))
            })?);
        }
    }
    if version.at_least(2, 26) {
        let split = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        filter.tags = split("tags");
        filter.tags_any = split("tags-any");
        filter.not_tags = split("not-tags");
        filter.not_tags_any = split("not-tags-any");
    }
    let requested: Vec<&str> = if is_admin || allowed.contains(&"status") {
        urls.params("status")
    } else {
        vec![]
    };
    if !requested.is_empty() {
        let mut wanted = Vec::new();
        for status in requested {
            let upper = status.to_ascii_uppercase();
            match compute::vm_states_for_status(&upper) {
                Some(_) => wanted.push(upper),
                None if version.at_least(2, 38) => {
                    return Err(ApiError::BadRequest("Invalid status value".to_string()));
                }
                None => {}
            }
        }
        if wanted.is_empty() {
            // nova answers an unknown status with an empty list before 2.38.
            filter.uuids = Some(Vec::new());
        } else {
            if wanted.iter().any(|s| s == "DELETED") {
                if !is_admin {
                    filter.uuids = Some(Vec::new());
                }
                filter.deleted = Some(true);
            }
            filter.statuses = Some(wanted);
        }
    }
    let keys = urls.params("sort_key");
    let dirs = urls.params("sort_dir");
    for (i, key) in keys.iter().enumerate() {
        if !is_admin && matches!(*key, "host" | "node") {
            return Err(ApiError::Forbidden(format!(
                "Only administrators can sort servers by {key}"
            )));
        }
        let parsed = compute::SortKey::parse(key).ok_or_else(|| {
            query_error(
                "sort_key",
                key,
                &format!("'{key}' is not one of the valid sort keys"),
            )
        })?;
        let dir = match dirs.get(i).or(dirs.last()).copied() {
            None | Some("desc") => compute::SortDir::Desc,
            Some("asc") => compute::SortDir::Asc,
            Some(other) => {
                return Err(query_error(
                    "sort_dir",
                    other,
                    &format!("'{other}' is not one of ['asc', 'desc']"),
                ))
            }
        };
        filter.sort.push((parsed, dir));
    }
    Ok(filter)
}

async fn list_instances(
    state: &ApiState,
    ctx: &Context,
    urls: &RequestUrls,
    version: ApiVersion,
) -> Result<Vec<compute::Instance>, ApiError> {
    let filter = list_filter(urls, ctx, version)?;
    Ok(state.compute.list_instances(&ctx.0, &filter).await?)
}

/// The `servers_links` of a page: a `next` link when the page is full.
fn list_links(
    urls: &RequestUrls,
    collection: &str,
    instances: &[compute::Instance],
) -> Option<Value> {
    urls.collection_links(
        collection,
        instances.len(),
        instances.last().map(|i| i.uuid.as_str()),
    )
}

/// A page of servers: `servers`, then `servers_links` when there is a
/// next page.
#[derive(serde::Serialize)]
struct ListBody<'a, T: serde::Serialize> {
    servers: &'a [T],
    #[serde(rename = "servers_links", skip_serializing_if = "Option::is_none")]
    links: Option<Value>,
}

/// `GET /servers`.
pub async fn index(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    let instances = list_instances(&state, &ctx, &urls, version).await?;
    let view_urls = ViewUrls::new(&urls);
    let servers: Vec<BasicView<'_>> = instances
        .iter()
        .map(|instance| BasicView {
            urls: &view_urls,
            instance,
        })
        .collect();
    let body = ListBody {
        servers: &servers,
        links: list_links(&urls, "servers", &instances),
    };
    Ok(json_response_sized(
        StatusCode::OK,
        body,
        BASIC_BYTES_PER_SERVER * instances.len(),
    ))
}

/// Image properties shown from 2.98 on (string values of the image's properties).
pub(crate) async fn image_properties(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    image_ref: &str,
) -> Option<Value> {
    if !version.at_least(2, 98) || image_ref.is_empty() {
        return None;
    }
    let image = state.compute.get_image(&ctx.0, image_ref).await.ok()?;
    let props: serde_json::Map<String, Value> = image
        .properties
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            (
                k,
                match v {
                    Value::String(s) => Value::String(s),
                    other => Value::String(other.to_string()),
                },
            )
        })
        .collect();
    Some(Value::Object(props))
}

/// `GET /servers/detail`: every server's full view written straight into
/// the answer, with the URL prefixes joined once and one image lookup
/// per distinct image (2.98+), not per server.
pub async fn detail(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    let instances = list_instances(&state, &ctx, &urls, version).await?;
    let opts = ShowOpts::full(ctx.0.is_admin, version, false);
    let mut images: std::collections::HashMap<&str, Option<Value>> =
        std::collections::HashMap::new();
    for i in &instances {
        if !images.contains_key(i.image_ref.as_str()) {
            let props = image_properties(&state, &ctx, version, &i.image_ref).await;
            images.insert(&i.image_ref, props);
        }
    }
    let view_urls = ViewUrls::new(&urls);
    let servers: Vec<ServerView<'_>> = instances
        .iter()
        .map(|i| ServerView {
            urls: &view_urls,
            ctx: &ctx.0,
            version,
            instance: i,
            opts,
            image_properties: images.get(i.image_ref.as_str()).and_then(Option::as_ref),
        })
        .collect();
    let body = ListBody {
        servers: &servers,
        links: list_links(&urls, "servers/detail", &instances),
    };
    Ok(json_response_sized(
        StatusCode::OK,
        body,
        DETAIL_BYTES_PER_SERVER * instances.len(),
    ))
}

/// About what one server's detail entry takes on the wire: the answer's
/// buffer is sized once instead of doubling its way up.
const DETAIL_BYTES_PER_SERVER: usize = 1536;
/// The same for an entry of `GET /servers`.
const BASIC_BYTES_PER_SERVER: usize = 320;

/// `GET /servers/{id}`.
pub async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = state.compute.get_instance(&ctx.0, &id).await?;
    let props = image_properties(&state, &ctx, version, &instance.image_ref).await;
    let opts = ShowOpts::full(ctx.0.is_admin, version, true);
    let mut server = view::show(&urls, &ctx.0, version, &instance, opts, props.as_ref());
    put_server_groups(&state, version, &instance.uuid, &mut server).await?;
    Ok(Json(json!({ "server": server })))
}

/// The groups of a server (2.71: in show, update and rebuild answers):
/// the view writes none, which this replaces with the server's groups.
pub(crate) async fn put_server_groups(
    state: &ApiState,
    version: ApiVersion,
    uuid: &str,
    server: &mut Value,
) -> Result<(), ApiError> {
    if version.at_least(2, 71) {
        if let Some(slot) = server.get_mut("server_groups") {
            *slot = json!(state.compute.server_groups_of(uuid).await?);
        }
    }
    Ok(())
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn opt_string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

/// `min_count` or `max_count` as nova reads it (`int(value)`), once the
/// schema has passed it (a positive integer or a string of one).
fn count(value: Option<&Value>) -> Option<u64> {
    value.and_then(int_of).and_then(|n| u64::try_from(n).ok())
}

/// The `personality` files of a create or rebuild body (below 2.57), once
/// the schema has passed them: each has a path and base64 contents.
pub(crate) fn personality(value: Option<&Value>) -> Vec<compute::InjectedFile> {
    value
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .map(|file| compute::InjectedFile {
                    path: opt_string(file.get("path")).unwrap_or_default(),
                    contents: opt_string(file.get("contents")).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// nova's answer to a bad reference in a create body: 400, not 404.
fn create_error(err: compute::Error) -> ApiError {
    match err {
        compute::Error::NotFound {
            kind: compute::Kind::Flavor,
            id,
        } => ApiError::BadRequest(format!("Flavor {id} could not be found.")),
        compute::Error::NotFound {
            kind: compute::Kind::Image,
            id,
        } => ApiError::BadRequest(format!("Image {id} could not be found.")),
        compute::Error::NotFound {
            kind: compute::Kind::Keypair,
            ..
        } => ApiError::BadRequest("Invalid key_name provided.".into()),
        compute::Error::NotFound {
            kind: compute::Kind::AvailabilityZone,
            ..
        } => ApiError::BadRequest("The requested availability zone is not available".into()),
        compute::Error::NotFound {
            kind: compute::Kind::ServerGroup,
            id,
        } => ApiError::BadRequest(format!("Instance group {id} could not be found.")),
        // An unknown requested (2.74) or forced (`zone:host`) host.
        compute::Error::NotFound {
            kind: compute::Kind::Host,
            id,
        } => ApiError::BadRequest(format!("Compute host {id} could not be found.")),
        other => other.into(),
    }
}

/// Refuses the block device mappings that need block storage, which this
/// cloud does not serve: a volume or snapshot to boot from or attach, or a
/// volume to make from an image or blank. nova answers a mapping it cannot
/// honour with 400 "Block Device Mapping is Invalid"; accepting it would
/// make a server without what was asked for. Local mappings (an image, a
/// blank or swap disk on the host) pass.
fn refuse_block_storage(server: &Value) -> Result<(), ApiError> {
    let invalid =
        |why: String| ApiError::BadRequest(format!("Block Device Mapping is Invalid: {why}"));
    let text = |b: &Value, key: &str| b.get(key).and_then(Value::as_str).map(str::to_string);
    let no_storage = "no block storage service serves volumes in this cloud";
    let v2 = server
        .get("block_device_mapping_v2")
        .and_then(Value::as_array);
    for (i, b) in v2.into_iter().flatten().enumerate() {
        let id = text(b, "uuid").unwrap_or_default();
        match text(b, "source_type").as_deref() {
            Some("volume") => return Err(invalid(format!("failed to get volume {id}."))),
            Some("snapshot") => return Err(invalid(format!("failed to get snapshot {id}."))),
            _ => {}
        }
        if text(b, "destination_type").as_deref() == Some("volume") {
            return Err(invalid(format!(
                "mapping {i} asks for a volume (destination_type volume), and {no_storage}."
            )));
        }
    }
    let legacy = server.get("block_device_mapping").and_then(Value::as_array);
    for b in legacy.into_iter().flatten() {
        if let Some(id) = text(b, "volume_id") {
            return Err(invalid(format!("failed to get volume {id}.")));
        }
        if let Some(id) = text(b, "snapshot_id") {
            return Err(invalid(format!("failed to get snapshot {id}.")));
        }
    }
    Ok(())
}

/// `POST /servers`: 202 with the new server (and `adminPass`) and a
/// `Location` header, or `{"reservation_id"}` when asked for.
pub async fn create(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.validate(schemas::create(version, body.legacy))?;
    let server = &value["server"];
    refuse_block_storage(server)?;
    let bdm_image = server
        .get("block_device_mapping_v2")
        .and_then(Value::as_array)
        .and_then(|bdms| {
            bdms.iter().find(|b| {
                b.get("source_type").and_then(Value::as_str) == Some("image")
                    && b.get("boot_index")
                        .map(|i| i.to_string().trim_matches('"') == "0")
                        .unwrap_or(false)
            })
        })
        .and_then(|b| b.get("uuid").and_then(Value::as_str))
        .map(str::to_string);
    let image_ref = match opt_string(server.get("imageRef")).filter(|s| !s.is_empty()) {
        Some(r) => id_from_href(&r),
        None => {
            bdm_image.ok_or_else(|| ApiError::BadRequest("Missing imageRef attribute".into()))?
        }
    };
    if uuid::Uuid::parse_str(&image_ref).is_err() {
        return Err(ApiError::BadRequest(
            "Invalid imageRef provided.".to_string(),
        ));
    }
    let flavor_ref = match &server["flavorRef"] {
        Value::String(s) => id_from_href(s),
        other => other.to_string(),
    };
    let min_count = count(server.get("min_count")).unwrap_or(1);
    let max_count = count(server.get("max_count")).unwrap_or(min_count);
    if min_count > max_count {
        return Err(ApiError::BadRequest(
            "min_count must be <= max_count".into(),
        ));
    }
    // A create makes as many as the quota allows, up to max_count: above
    // u32::MAX (more than any quota holds) it asks for no more than that.
    let max_count = u32::try_from(max_count).unwrap_or(u32::MAX);
    let min_count = state
        .compute
        .create_count(&ctx.0, &flavor_ref, min_count)
        .await
        .map_err(create_error)?;
    let return_reservation_id = server
        .get("return_reservation_id")
        .map(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => parse_bool(s).unwrap_or(false),
            _ => false,
        })
        .unwrap_or(false);
    let tags: Vec<String> = server
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let request = compute::CreateInstance {
        name: opt_string(server.get("name")).unwrap_or_default(),
        description: opt_string(server.get("description")),
        flavor_id: flavor_ref.clone(),
        image_ref: image_ref.clone(),
        key_name: opt_string(server.get("key_name")),
        user_data: opt_string(server.get("user_data")),
        metadata: string_map(server.get("metadata")),
        availability_zone: opt_string(server.get("availability_zone")),
        min_count,
        max_count,
        access_ip_v4: opt_string(server.get("accessIPv4")),
        access_ip_v6: opt_string(server.get("accessIPv6")).map(canonical_ipv6),
        tags,
        config_drive: server
            .get("config_drive")
            .is_some_and(|v| v == &json!(true) || v.as_str().and_then(parse_bool) == Some(true)),
        admin_password: opt_string(server.get("adminPass")),
        hostname: opt_string(server.get("hostname")),
        host: opt_string(server.get("host")),
        networks: requested_networks(server.get("networks"))?,
        security_groups: security_group_names(server.get("security_groups")),
        injected_files: personality(server.get("personality")),
        auto_disk_config: disk_config(server),
        scheduler_hints: hints_as_given(value),
    };
    if request.host.is_some() {
        ctx.require_admin("compute:servers:create:requested_destination")?;
    }
    let created = state
        .compute
        .create_instances(&ctx.0, request)
        .await
        .map_err(create_error)?;
    if return_reservation_id {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"reservation_id": created.reservation_id})),
        )
            .into_response());
    }
    let first = created
        .instances
        .first()
        .ok_or_else(|| ApiError::Internal("create returned no instance".into()))?;
    let mut groups = security_group_names(server.get("security_groups"));
    if groups.is_empty() {
        groups.push("default".into());
    }
    let groups: Vec<Value> = groups.iter().map(|n| json!({ "name": n })).collect();
    let mut server = json!({
        "id": first.uuid,
        "links": urls.links("servers", &first.uuid),
        "OS-DCF:diskConfig": view::disk_config(first.auto_disk_config),
        "security_groups": groups,
    });
    if state.config.enable_instance_password {
        server["adminPass"] = json!(created.admin_password);
    }
    let mut response = (StatusCode::ACCEPTED, Json(json!({ "server": server }))).into_response();
    if let Ok(location) = HeaderValue::from_str(&urls.href("servers", &first.uuid)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `OS-DCF:diskConfig` of a create, rebuild, resize or update body (the
/// schema has checked it is AUTO or MANUAL): whether AUTO was asked for.
pub(crate) fn disk_config(body: &Value) -> Option<bool> {
    body.get("OS-DCF:diskConfig")
        .and_then(Value::as_str)
        .map(|v| v == "AUTO")
}

/// The scheduler hints of a create body as given, under either of nova's
/// names (kept and shown from 2.100).
fn hints_as_given(body: &Value) -> std::collections::BTreeMap<String, Value> {
    ["os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_object))
        .map(|hints| hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The `networks` of a create as nova reads them (its
/// `_get_requested_networks`): the schema has checked the shapes.
fn requested_networks(value: Option<&Value>) -> Result<compute::NetworkRequest, ApiError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(compute::NetworkRequest::Unspecified),
        Some(Value::String(s)) if s == "auto" => return Ok(compute::NetworkRequest::Auto),
        Some(Value::String(s)) if s == "none" => return Ok(compute::NetworkRequest::None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ApiError::BadRequest("Bad networks format".into())),
    };
    let mut out = Vec::with_capacity(list.len());
    let mut ports: Vec<&str> = Vec::new();
    for item in list {
        let fixed_ip = item.get("fixed_ip").and_then(Value::as_str);
        let tag = item.get("tag").and_then(Value::as_str).map(str::to_string);
        let fixed_ip = match fixed_ip {
            Some(text) => Some(text.parse::<std::net::IpAddr>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "Invalid input for field/attribute fixed_ip. Value: {text}. '{text}' is not a 'ip-address'"
                ))
            })?),
            None => None,
        };
        if let Some(port) = item.get("port").and_then(Value::as_str) {
            if ports.contains(&port) {
                return Err(ApiError::BadRequest(format!(
                    "Port ID '{port}' was specified twice: you cannot attach a port multiple times."
                )));
            }
            if let Some(addr) = fixed_ip {
                return Err(ApiError::BadRequest(format!(
                    "Specified Fixed IP '{addr}' cannot be used with port '{port}': the two cannot be specified together."
                )));
            }
            ports.push(port);
            out.push(compute::RequestedNetwork {
                port_id: Some(port.to_string()),
                tag,
                ..compute::RequestedNetwork::default()
            });
            continue;
        }
        let uuid = item
            .get("uuid")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::BadRequest("Bad network format: missing 'uuid'".into()))?;
        if uuid::Uuid::parse_str(uuid).is_err() {
            return Err(ApiError::BadRequest(format!(
                "Bad networks format: network uuid is not in proper format ({uuid})"
            )));
        }
        out.push(compute::RequestedNetwork {
            network_id: Some(uuid.to_string()),
            fixed_ip,
            tag,
            port_id: None,
        });
    }
    Ok(compute::NetworkRequest::List(out))
}

/// The names (or ids) of a create's `security_groups`, each once.
fn security_group_names(value: Option<&Value>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        if let Some(name) = item.get("name").and_then(Value::as_str) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// An IPv6 address in its canonical text (`::babe:dc0c:1602` for
/// `0000:0000:0000:0000:0000:babe:220.12.22.2`), as nova stores and shows
/// `accessIPv6`; text that is no address (the schema refused it already)
/// is kept.
pub(crate) fn canonical_ipv6(text: String) -> String {
    text.parse::<std::net::Ipv6Addr>()
        .map_or(text, |address| address.to_string())
}

fn nullable_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// `PUT /servers/{id}`: name, description (2.19), access IPs; answers the
/// reduced view nova's update returns.
pub async fn update(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let value = body.validate(schemas::update(version, body.legacy))?;
    let server = &value["server"];
    let update = compute::UpdateInstance {
        name: opt_string(server.get("name")),
        description: server.get("description").map(nullable_string),
        access_ip_v4: server.get("accessIPv4").map(nullable_string),
        access_ip_v6: server
            .get("accessIPv6")
            .map(|v| nullable_string(v).map(canonical_ipv6)),
        hostname: opt_string(server.get("hostname")),
        auto_disk_config: disk_config(server),
        pinned_availability_zone: server.get("pinned_availability_zone").map(nullable_string),
    };
    let instance = state.compute.update_instance(&ctx.0, &id, update).await?;
    let props = image_properties(&state, &ctx, version, &instance.image_ref).await;
    let opts = ShowOpts::for_update(ctx.0.is_admin, version);
    let mut server = view::show(&urls, &ctx.0, version, &instance, opts, props.as_ref());
    put_server_groups(&state, version, &instance.uuid, &mut server).await?;
    Ok(Json(json!({ "server": server })))
}

/// `DELETE /servers/{id}`: 204.
pub async fn delete(
    State(state): State<ApiState>,
    ctx: Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.compute.delete_instance(&ctx.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
