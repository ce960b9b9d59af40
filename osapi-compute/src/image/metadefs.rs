//! `/v2/metadefs/...`: the metadata definitions catalog as Glance serves
//! it: namespaces, their objects, properties, tags and resource type
//! associations, and the resource types. Reads for whoever sees the
//! namespace, writes for admins (the domain's policies).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use compute::metadefs::contents::DefinitionKind;
use compute::metadefs::{
    Association, Definition, Namespace, NamespaceContents, NamespaceFilter, NewAssociation,
    NewDefinition, NewNamespace, Tag,
};

use super::error::ImageApiError;
use super::query::{next_link, page_limit, pairs, DEFAULT_LIMIT};
use super::views::timestamp;
use super::{caller, json_body};
use crate::state::ApiState;

type Answer = Result<Response, ImageApiError>;

/// The namespaces' collection.
const NAMESPACES: &str = "/v2/metadefs/namespaces";

/// Attributes a body may not set.
const READ_ONLY: &[&str] = &["self", "schema", "created_at", "updated_at"];

fn bad(msg: impl Into<String>) -> ImageApiError {
    ImageApiError::BadRequest(msg.into())
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// --- views -------------------------------------------------------------------

fn association_view(a: &Association) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(a.name));
    if let Some(p) = &a.prefix {
        body.insert("prefix".into(), json!(p));
    }
    if let Some(t) = &a.properties_target {
        body.insert("properties_target".into(), json!(t));
    }
    body.insert("created_at".into(), json!(timestamp(&a.created_at)));
    body.insert("updated_at".into(), json!(timestamp(&a.updated_at)));
    Value::Object(body)
}

fn object_view(namespace: &str, o: &Definition) -> Value {
    let mut body = o.body.clone();
    body.insert("name".into(), json!(o.name));
    body.insert("schema".into(), json!("/v2/schemas/metadefs/object"));
    body.insert(
        "self".into(),
        json!(format!(
            "/v2/metadefs/namespaces/{namespace}/objects/{}",
            o.name
        )),
    );
    body.insert("created_at".into(), json!(timestamp(&o.created_at)));
    body.insert("updated_at".into(), json!(timestamp(&o.updated_at)));
    Value::Object(body)
}

fn property_view(p: &Definition) -> Value {
    let mut body = p.body.clone();
    body.insert("name".into(), json!(p.name));
    Value::Object(body)
}

fn properties_view(properties: &[Definition]) -> Value {
    Value::Object(
        properties
            .iter()
            .map(|p| (p.name.clone(), property_view(p)))
            .collect(),
    )
}

fn tag_view(t: &Tag) -> Value {
    json!({
        "name": t.name,
        "created_at": timestamp(&t.created_at),
        "updated_at": timestamp(&t.updated_at),
    })
}

/// A namespace as Glance shows it; with what it holds on a show.
fn namespace_view(ns: &Namespace, contents: Option<&NamespaceContents>) -> Value {
    let mut body = Map::new();
    body.insert("namespace".into(), json!(ns.namespace));
    if let Some(d) = &ns.display_name {
        body.insert("display_name".into(), json!(d));
    }
    if let Some(d) = &ns.description {
        body.insert("description".into(), json!(d));
    }
    body.insert("visibility".into(), json!(ns.visibility));
    body.insert("protected".into(), json!(ns.protected));
    if let Some(o) = &ns.owner {
        body.insert("owner".into(), json!(o));
    }
    body.insert("created_at".into(), json!(timestamp(&ns.created_at)));
    body.insert("updated_at".into(), json!(timestamp(&ns.updated_at)));
    body.insert("schema".into(), json!("/v2/schemas/metadefs/namespace"));
    body.insert(
        "self".into(),
        json!(format!("/v2/metadefs/namespaces/{}", ns.namespace)),
    );
    if !ns.resource_type_associations.is_empty() {
        body.insert(
            "resource_type_associations".into(),
            ns.resource_type_associations
                .iter()
                .map(association_view)
                .collect(),
        );
    }
    if let Some(c) = contents {
        if !c.properties.is_empty() {
            body.insert("properties".into(), properties_view(&c.properties));
        }
        if !c.objects.is_empty() {
            body.insert(
                "objects".into(),
                c.objects
                    .iter()
                    .map(|o| object_view(&ns.namespace, o))
                    .collect(),
            );
        }
        if !c.tags.is_empty() {
            body.insert(
                "tags".into(),
                c.tags.iter().map(|t| json!({"name": t.name})).collect(),
            );
        }
    }
    Value::Object(body)
}

// --- request bodies ----------------------------------------------------------

/// A JSON object body, refusing read-only attributes as Glance does (403).
fn object_body(body: Value) -> Result<Map<String, Value>, ImageApiError> {
    let Value::Object(obj) = body else {
        return Err(bad("Body must be a JSON object."));
    };
    if let Some(key) = READ_ONLY.iter().find(|k| obj.contains_key(**k)) {
        return Err(ImageApiError::Forbidden(format!(
            "Attribute '{key}' is read-only."
        )));
    }
    Ok(obj)
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ImageApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!("{other} is not of type 'string' ('{key}')"))),
    }
}

fn required_name(obj: &Map<String, Value>, key: &str) -> Result<String, ImageApiError> {
    string_field(obj, key)?.ok_or_else(|| bad(format!("'{key}' is a required property")))
}

fn association(value: &Value) -> Result<NewAssociation, ImageApiError> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad("A resource type association must be an object."))?;
    Ok(NewAssociation {
        name: required_name(obj, "name")?,
        prefix: string_field(obj, "prefix")?,
        properties_target: string_field(obj, "properties_target")?,
    })
}

/// An object or property body: its `name` (or `name` given apart) and
/// the rest of its definition.
fn definition(
    mut obj: Map<String, Value>,
    name: Option<&str>,
) -> Result<NewDefinition, ImageApiError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => required_name(&obj, "name")?,
    };
    obj.remove("name");
    Ok(NewDefinition { name, body: obj })
}

fn namespace_body(body: Value) -> Result<NewNamespace, ImageApiError> {
    let obj = object_body(body)?;
    let mut new = NewNamespace {
        namespace: required_name(&obj, "namespace")?,
        display_name: string_field(&obj, "display_name")?,
        description: string_field(&obj, "description")?,
        visibility: string_field(&obj, "visibility")?,
        owner: string_field(&obj, "owner")?,
        ..Default::default()
    };
    new.protected = match obj.get("protected") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(bad(format!(
                "{other} is not of type 'boolean' ('protected')"
            )))
        }
    };
    let list = |key: &str| -> Result<Vec<Value>, ImageApiError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(other) => Err(bad(format!("{other} is not of type 'array' ('{key}')"))),
        }
    };
    new.resource_type_associations = list("resource_type_associations")?
        .iter()
        .map(association)
        .collect::<Result<_, _>>()?;
    new.objects = list("objects")?
        .into_iter()
        .map(|o| definition(object_body(o)?, None))
        .collect::<Result<_, _>>()?;
    new.tags = list("tags")?
        .iter()
        .map(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad("A tag must be an object with a string 'name'."))
        })
        .collect::<Result<_, _>>()?;
    match obj.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (name, body) in props {
                let body = object_body(body.clone())?;
                new.properties.push(definition(body, Some(name))?);
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "{other} is not of type 'object' ('properties')"
            )))
        }
    }
    Ok(new)
}

fn kind_of(segment: &str) -> DefinitionKind {
    if segment == "objects" {
        DefinitionKind::Object
    } else {
        DefinitionKind::Property
    }
}

// --- namespaces --------------------------------------------------------------

/// `GET /v2/metadefs/namespaces`.
pub async fn list_namespaces(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let query = pairs(request.uri().query());
    let mut filter = NamespaceFilter::default();
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in &query {
        match key.as_str() {
            "visibility" => filter.visibility = Some(value.clone()),
            "resource_types" => {
                filter.resource_types = value.split(',').map(|s| s.trim().to_string()).collect()
            }
            "marker" => filter.marker = Some(value.clone()),
            "limit" => limit = page_limit(value)?,
            "sort_dir" if !matches!(value.as_str(), "asc" | "desc") => {
                return Err(bad(format!("Invalid sort direction: {value}")))
            }
            _ => {}
        }
    }
    filter.limit = Some(limit);
    let namespaces = state.compute.list_namespaces(&ctx, &filter).await?;
    let mut body = Map::new();
    body.insert(
        "namespaces".into(),
        namespaces.iter().map(|n| namespace_view(n, None)).collect(),
    );
    body.insert("first".into(), json!(NAMESPACES));
    body.insert("schema".into(), json!("/v2/schemas/metadefs/namespaces"));
    if limit > 0 && namespaces.len() == limit {
        if let Some(last) = namespaces.last() {
            body.insert(
                "next".into(),
                json!(next_link(NAMESPACES, &query, &last.namespace)),
            );
        }
    }
    Ok(Json(Value::Object(body)).into_response())
}

/// `POST /v2/metadefs/namespaces`: 201.
pub async fn create_namespace(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let new = namespace_body(json_body(request).await?)?;
    let (ns, contents) = state.compute.create_namespace(&ctx, new).await?;
    let mut response = created(namespace_view(&ns, Some(&contents)));
    if let Ok(v) = format!("/v2/metadefs/namespaces/{}", ns.namespace).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /v2/metadefs/namespaces/{namespace}`.
pub async fn show_namespace(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let (ns, contents) = state.compute.get_namespace(&ctx, &namespace).await?;
    Ok(Json(namespace_view(&ns, Some(&contents))).into_response())
}

/// `PUT /v2/metadefs/namespaces/{namespace}`.
pub async fn update_namespace(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let new = namespace_body(json_body(request).await?)?;
    let ns = state
        .compute
        .update_namespace(&ctx, &namespace, new)
        .await?;
    Ok(Json(namespace_view(&ns, None)).into_response())
}

/// `DELETE /v2/metadefs/namespaces/{namespace}`: 204.
pub async fn delete_namespace(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.delete_namespace(&ctx, &namespace).await?;
    Ok(no_content())
}

// --- objects and properties ----------------------------------------------------

/// The kind of definition a request's path names (`.../objects...` or
/// `.../properties...`).
fn path_kind(request: &Request) -> DefinitionKind {
    let path = request.uri().path();
    let after = path
        .split("/v2/metadefs/namespaces/")
        .nth(1)
        .unwrap_or_default();
    kind_of(after.split('/').nth(1).unwrap_or_default())
}

/// `GET .../objects` and `GET .../properties`.
pub async fn list_definitions(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    let found = state
        .compute
        .list_definitions(&ctx, &namespace, kind)
        .await?;
    Ok(Json(match kind {
        DefinitionKind::Object => json!({
            "objects": found.iter().map(|o| object_view(&namespace, o)).collect::<Vec<_>>(),
            "schema": "/v2/schemas/metadefs/objects",
        }),
        DefinitionKind::Property => json!({ "properties": properties_view(&found) }),
    })
    .into_response())
}

fn definition_view(kind: DefinitionKind, namespace: &str, d: &Definition) -> Value {
    match kind {
        DefinitionKind::Object => object_view(namespace, d),
        DefinitionKind::Property => property_view(d),
    }
}

/// `POST .../objects` and `POST .../properties`: 201.
pub async fn create_definition(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    let new = definition(object_body(json_body(request).await?)?, None)?;
    let made = state
        .compute
        .create_definition(&ctx, &namespace, kind, new)
        .await?;
    Ok(created(definition_view(kind, &namespace, &made)))
}

/// `DELETE .../objects` and `DELETE .../properties`: 204.
pub async fn delete_definitions(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    state
        .compute
        .delete_definitions(&ctx, &namespace, kind)
        .await?;
    Ok(no_content())
}

/// `GET .../objects/{name}` and `GET .../properties/{name}`.
pub async fn show_definition(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    let found = state
        .compute
        .get_definition(&ctx, &namespace, kind, &name)
        .await?;
    Ok(Json(definition_view(kind, &namespace, &found)).into_response())
}

/// `PUT .../objects/{name}` and `PUT .../properties/{name}`.
pub async fn update_definition(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    let new = definition(object_body(json_body(request).await?)?, None)?;
    let changed = state
        .compute
        .update_definition(&ctx, &namespace, kind, &name, new)
        .await?;
    Ok(Json(definition_view(kind, &namespace, &changed)).into_response())
}

/// `DELETE .../objects/{name}` and `DELETE .../properties/{name}`: 204.
pub async fn delete_definition(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let kind = path_kind(&request);
    state
        .compute
        .delete_definition(&ctx, &namespace, kind, &name)
        .await?;
    Ok(no_content())
}

// --- tags ------------------------------------------------------------------------

/// `GET .../tags`.
pub async fn list_tags(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let tags = state.compute.list_metadef_tags(&ctx, &namespace).await?;
    Ok(Json(json!({"tags": tags.iter().map(tag_view).collect::<Vec<_>>()})).into_response())
}

/// `POST .../tags` with `{"tags": [{"name": ...}, ...]}`: 201. Replaces
/// the namespace's tags unless `X-Openstack-Append: true`.
pub async fn create_tags(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let append = request
        .headers()
        .get("x-openstack-append")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = object_body(json_body(request).await?)?;
    let tags = body
        .get("tags")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("'tags' is a required property"))?;
    let names: Vec<String> = tags
        .iter()
        .map(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad("A tag must be an object with a string 'name'."))
        })
        .collect::<Result<_, _>>()?;
    let made = state
        .compute
        .create_metadef_tags(&ctx, &namespace, &names, append)
        .await?;
    Ok(created(
        json!({"tags": made.iter().map(|t| json!({"name": t.name})).collect::<Vec<_>>()}),
    ))
}

/// `DELETE .../tags`: 204.
pub async fn delete_tags(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state.compute.delete_metadef_tags(&ctx, &namespace).await?;
    Ok(no_content())
}

/// `POST .../tags/{name}` (no body): 201.
pub async fn create_tag(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let tag = state
        .compute
        .create_metadef_tag(&ctx, &namespace, &name)
        .await?;
    Ok(created(tag_view(&tag)))
}

/// `GET .../tags/{name}`.
pub async fn show_tag(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let tag = state
        .compute
        .get_metadef_tag(&ctx, &namespace, &name)
        .await?;
    Ok(Json(tag_view(&tag)).into_response())
}

/// `PUT .../tags/{name}` with `{"name": new}`.
pub async fn update_tag(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let body = object_body(json_body(request).await?)?;
    let new_name = required_name(&body, "name")?;
    let tag = state
        .compute
        .update_metadef_tag(&ctx, &namespace, &name, &new_name)
        .await?;
    Ok(Json(tag_view(&tag)).into_response())
}

/// `DELETE .../tags/{name}`: 204.
pub async fn delete_tag(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state
        .compute
        .delete_metadef_tag(&ctx, &namespace, &name)
        .await?;
    Ok(no_content())
}

// --- resource types ------------------------------------------------------------

/// `GET /v2/metadefs/resource_types`.
pub async fn list_resource_types(State(state): State<ApiState>, request: Request) -> Answer {
    let ctx = caller(&request)?;
    let types = state.compute.list_resource_types(&ctx).await?;
    let types: Vec<Value> = types
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "created_at": timestamp(&t.created_at),
                "updated_at": timestamp(&t.updated_at),
            })
        })
        .collect();
    Ok(Json(json!({ "resource_types": types })).into_response())
}

/// `GET .../resource_types` of a namespace.
pub async fn list_associations(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let found = state.compute.list_associations(&ctx, &namespace).await?;
    Ok(Json(json!({
        "resource_type_associations": found.iter().map(association_view).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST .../resource_types` with `{"name": ..., "prefix": ...,
/// "properties_target": ...}`: 201.
pub async fn associate(
    State(state): State<ApiState>,
    Path(namespace): Path<String>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    let new = association(&Value::Object(object_body(json_body(request).await?)?))?;
    let made = state
        .compute
        .associate_resource_type(&ctx, &namespace, new)
        .await?;
    Ok(created(association_view(&made)))
}

/// `DELETE .../resource_types/{name}`: 204.
pub async fn dissociate(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let ctx = caller(&request)?;
    state
        .compute
        .dissociate_resource_type(&ctx, &namespace, &name)
        .await?;
    Ok(no_content())
}
