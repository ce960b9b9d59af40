//! `os-security-groups` and `os-security-group-rules` (2.1-2.35): nova's
//! `security_groups` controllers over the network domain's groups and
//! rules.
//!
//! The view is nova's conversion of Neutron's: a group shows its ingress
//! rules only; a rule shows its protocol as `ip_protocol`, its port range
//! as `from_port`/`to_port` (1-65535 for a TCP or UDP rule without ports,
//! -1/-1 for any other protocol without them), and either its remote group
//! as `group` (`name`, `tenant_id`; a rule whose remote group the caller
//! cannot see is left out) or its remote prefix as `ip_range` (`0.0.0.0/0`
//! when it has none).
//!
//! A rule is made as nova makes one: its own checks first (protocol TCP,
//! UDP or ICMP when ports are given, port ranges, the cidr, a rule of the
//! same meaning already in the group: 400), then the store's, whose
//! refusals nova passes on (a missing group 404, a conflict such as the
//! quota or a duplicate Neutron finds 403, anything else 400). Deleting a
//! group in use or a project's default group is nova's 400 with Neutron's
//! message.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use compute::network::error::ErrorClass;
use compute::network::{
    ListQuery, NetworkError, NewSecurityGroup, NewSecurityGroupRule, SecurityGroup,
    SecurityGroupRule, SecurityGroupUpdate,
};
use compute::RequestContext;
use serde_json::{json, Value};

use super::{internal, invalid, ok};
use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::images::proxy_version;
use crate::state::ApiState;
use crate::validation::{int_from_str, py_str, types, Format, JsonBody, Schema, Ty};

/// The remote prefix nova shows for a rule that has none.
const ANY_IPV4: &str = "0.0.0.0/0";

/// The routes of both controllers.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/os-security-groups", get(index).post(create))
        .route(
            "/os-security-groups/{id}",
            get(show).put(update).delete(remove),
        )
        .route("/os-security-group-rules", post(create_rule))
        .route("/os-security-group-rules/{id}", delete(delete_rule))
        .route("/servers/{id}/os-security-groups", get(server_index))
}

/// nova's `create` (and `update`) body: a name and a description of at
/// most 255 characters each, both required.
fn group_schema() -> Schema {
    let text = || Schema::string().length(Some(0), Some(255));
    Schema::object()
        .prop(
            "security_group",
            Schema::object()
                .prop("name", text())
                .prop("description", text())
                .required(&["name", "description"]),
        )
        .required(&["security_group"])
}

/// nova's `create_rules` body: the parent group's uuid, the remote group's
/// (or null); ports, protocol and cidr unchecked here.
fn rule_schema() -> Schema {
    Schema::object()
        .prop(
            "security_group_rule",
            Schema::object()
                .prop(
                    "group_id",
                    Schema::of(&[Ty::String, Ty::Null])
                        .plain_type_list()
                        .format(Format::Uuid),
                )
                .prop("parent_group_id", types::uuid())
                .required(&["parent_group_id"]),
        )
        .required(&["security_group_rule"])
}

/// nova's `index_query`: `limit` and `offset` non-negative integers,
/// `all_tenants` any string; other parameters are ignored.
fn index_query() -> Schema {
    let non_negative = || {
        Schema::of(&[Ty::Integer, Ty::String])
            .pattern("^[0-9]*$")
            .range(Some(0), None)
    };
    Schema::object()
        .prop("limit", non_negative())
        .prop("offset", non_negative())
        .prop("all_tenants", Schema::string())
}

/// nova's `validate_id`: a group or rule id must look like a uuid.
fn check_id(id: &str) -> Result<(), ApiError> {
    types::uuid()
        .validate(&Value::String(id.to_string()))
        .map_err(|_| ApiError::BadRequest("Security group id should be uuid".into()))
}

/// A store error of a group or rule lookup: a missing one is 404 with
/// Neutron's message; anything else is unexpected.
fn lookup(err: NetworkError) -> ApiError {
    match err.class() {
        ErrorClass::NotFound => ApiError::NotFound(err.to_string()),
        _ => internal(err),
    }
}

/// A group the caller sees, or nova's 404.
async fn group(
    state: &ApiState,
    ctx: &RequestContext,
    id: &str,
) -> Result<SecurityGroup, ApiError> {
    state
        .compute
        .get_security_group(ctx, id)
        .await
        .map_err(lookup)
}

/// The `group` of a rule's view: the remote group's name and project.
fn group_ref(g: &SecurityGroup) -> Value {
    json!({"name": g.name, "tenant_id": g.project_id})
}

/// A rule's port range as nova shows it.
fn ports_of(rule: &SecurityGroupRule) -> (Option<i64>, Option<i64>) {
    match &rule.protocol {
        Some(protocol) if rule.port_range_min.is_none() && rule.port_range_max.is_none() => {
            if matches!(protocol.to_ascii_uppercase().as_str(), "TCP" | "UDP") {
                (Some(1), Some(65535))
            } else {
                (Some(-1), Some(-1))
            }
        }
        _ => (rule.port_range_min, rule.port_range_max),
    }
}

/// A rule's remote prefix as nova reads it (`parse_cidr` of Neutron's).
fn cidr_of(rule: &SecurityGroupRule) -> String {
    rule.remote_ip_prefix
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ANY_IPV4.to_string())
}

/// nova's view of a rule; `remote` is the view of its remote group, for
/// a rule that has one.
fn rule_view(rule: &SecurityGroupRule, remote: Option<Value>) -> Value {
    let (from_port, to_port) = ports_of(rule);
    let (group, ip_range) = match remote {
        Some(group) => (group, json!({})),
        None => (json!({}), json!({"cidr": cidr_of(rule)})),
    };
    json!({
        "id": rule.id,
        "parent_group_id": rule.security_group_id,
        "ip_protocol": rule.protocol,
        "from_port": from_port,
        "to_port": to_port,
        "group": group,
        "ip_range": ip_range,
    })
}

/// nova's views of `groups`, sorted by project and name as nova sorts
/// them. A rule's remote group is looked up among `groups` first, then in
/// the store as the caller sees it; a rule whose remote group the caller
/// cannot see is left out. (nova's `GET /servers/{id}/os-security-groups`
/// shows a server's groups in this view too.)
pub(crate) async fn groups_view(
    state: &ApiState,
    ctx: &RequestContext,
    groups: &[SecurityGroup],
) -> Result<Vec<Value>, ApiError> {
    let mut remotes: HashMap<String, Option<Value>> = groups
        .iter()
        .map(|g| (g.id.clone(), Some(group_ref(g))))
        .collect();
    let mut views = Vec::with_capacity(groups.len());
    for g in groups {
        let mut rules = Vec::new();
        for rule in g
            .security_group_rules
            .iter()
            .filter(|r| r.direction == "ingress")
        {
            let remote = match &rule.remote_group_id {
                None => None,
                Some(remote_id) => {
                    if !remotes.contains_key(remote_id) {
                        let found = match state.compute.get_security_group(ctx, remote_id).await {
                            Ok(remote) => Some(group_ref(&remote)),
                            Err(e) if e.class() == ErrorClass::NotFound => None,
                            Err(e) => return Err(internal(e)),
                        };
                        remotes.insert(remote_id.clone(), found);
                    }
                    match &remotes[remote_id] {
                        Some(view) => Some(view.clone()),
                        // Deleted meanwhile, or not the caller's to see.
                        None => continue,
                    }
                }
            };
            rules.push(rule_view(rule, remote));
        }
        views.push(json!({
            "id": g.id,
            "name": g.name,
            "description": g.description,
            "tenant_id": g.project_id,
            "rules": rules,
        }));
    }
    views.sort_by(|a, b| {
        let key = |v: &Value| (py_str(&v["tenant_id"]), py_str(&v["name"]));
        key(a).cmp(&key(b))
    });
    Ok(views)
}

/// One group's view.
async fn group_view(
    state: &ApiState,
    ctx: &RequestContext,
    group: &SecurityGroup,
) -> Result<Response, ApiError> {
    let view = groups_view(state, ctx, std::slice::from_ref(group))
        .await?
        .remove(0);
    Ok(ok("security_group", view))
}

/// `GET /os-security-groups`: the caller's project's groups (its default
/// group made on first use), or with `all_tenants` every project's for an
/// admin; `offset` and `limit` cut the list before it is sorted, as nova
/// cuts it.
async fn index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    urls: RequestUrls,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    index_query().validate_query(&urls.query)?;
    let all_tenants = ctx.is_admin && urls.query.iter().any(|(k, _)| k == "all_tenants");
    let mut query = ListQuery::default();
    if !all_tenants {
        query
            .filters
            .push(("project_id".into(), vec![ctx.project_id.clone()]));
    }
    let mut groups = state
        .compute
        .list_security_groups(&ctx, &query)
        .await
        .map_err(internal)?
        .items;
    let number = |name: &str| {
        urls.param(name)
            .filter(|v| !v.is_empty())
            .and_then(int_from_str)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    };
    let offset = number("offset").min(groups.len());
    let limit = match number("limit") {
        0 => urls.max_limit,
        n => n.min(urls.max_limit),
    };
    groups.drain(..offset);
    groups.truncate(limit);
    let views = groups_view(&state, &ctx, &groups).await?;
    Ok(ok("security_groups", views))
}

/// `GET /servers/{server_id}/os-security-groups`: the groups of the
/// server's ports, by project and name (at every microversion, as nova).
async fn server_index(
    State(state): State<ApiState>,
    Context(ctx): Context,
    Path(server_id): Path<String>,
) -> Result<Response, ApiError> {
    let instance = state.compute.get_instance(&ctx, &server_id).await?;
    let mut groups = Vec::new();
    for g in instance.security_groups() {
        match state.compute.get_security_group(&ctx, &g.id).await {
            Ok(group) => groups.push(group),
            Err(e) if e.class() == ErrorClass::NotFound => {}
            Err(e) => return Err(internal(e)),
        }
    }
    groups.sort_by(|a, b| (&a.project_id, &a.name).cmp(&(&b.project_id, &b.name)));
    let views = groups_view(&state, &ctx, &groups).await?;
    Ok(ok("security_groups", views))
}

/// `GET /os-security-groups/{id}`.
async fn show(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    check_id(&id)?;
    let g = group(&state, &ctx, &id).await?;
    group_view(&state, &ctx, &g).await
}

/// The name and description of a validated group body.
fn name_and_description(body: &Value) -> (String, String) {
    let inner = &body["security_group"];
    let text = |key: &str| inner[key].as_str().unwrap_or_default().to_string();
    (text("name"), text("description"))
}

/// `POST /os-security-groups`: a group with Neutron's two egress rules
/// (which nova's view does not show). The project's quota or the name
/// `default` is nova's 403 with Neutron's message.
async fn create(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let (name, description) = name_and_description(body.validate(group_schema())?);
    let made = state
        .compute
        .create_security_group(
            &ctx,
            NewSecurityGroup {
                name: Some(name),
                description: Some(description),
                ..NewSecurityGroup::default()
            },
        )
        .await
        .map_err(|e| match e.class() {
            ErrorClass::Conflict => ApiError::Forbidden(e.to_string()),
            _ => invalid(e),
        })?;
    group_view(&state, &ctx, &made).await
}

/// `PUT /os-security-groups/{id}`: a new name and description. What the
/// store refuses (the default group's name, the name `default`) is 400
/// with Neutron's message, where nova, not expecting it, would answer 500.
async fn update(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let body = body.validate(group_schema())?;
    check_id(&id)?;
    group(&state, &ctx, &id).await?;
    let (name, description) = name_and_description(body);
    let changed = state
        .compute
        .update_security_group(
            &ctx,
            &id,
            SecurityGroupUpdate {
                name: Some(name),
                description: Some(description),
                stateful: None,
            },
        )
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => ApiError::NotFound(e.to_string()),
            _ => invalid(e),
        })?;
    group_view(&state, &ctx, &changed).await
}

/// `DELETE /os-security-groups/{id}`: 202; a group a port uses, or a
/// default group (for a non-admin), is 400 with Neutron's message.
async fn remove(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    check_id(&id)?;
    group(&state, &ctx, &id).await?;
    state
        .compute
        .delete_security_group(&ctx, &id)
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => ApiError::NotFound(e.to_string()),
            ErrorClass::Conflict => ApiError::BadRequest(e.to_string()),
            _ => internal(e),
        })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Python's truth of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Python's `int()` of a port value: an integer, a float truncated, a
/// boolean, or a string of an integer; `None` for anything else.
fn py_int(value: &Value) -> Option<i64> {
    match value {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            // `as` truncates toward zero and saturates, as far as nova's
            // checks can tell the difference.
            .or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => int_from_str(s),
        _ => None,
    }
}

/// What a rule request means once nova's `_new_ingress_rule` has read it.
#[derive(Debug, Clone, PartialEq)]
struct IngressRule {
    /// The remote group (a group rule).
    group_id: Option<String>,
    /// The remote prefix (a cidr rule).
    cidr: Option<String>,
    /// The protocol as given, with its ports; `None` for a group rule
    /// without them (any protocol).
    protocol: Option<(String, i64, i64)>,
}

/// An address with a prefix length (`address/length`, both present and
/// the length within the address's bits), as a remote prefix is given.
fn network(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= bits).then_some((addr, prefix))
}

/// nova's `parse_cidr`: none means `0.0.0.0/0`; otherwise a network with
/// its prefix length, percent-decoded.
fn parse_cidr(value: Option<&Value>) -> Result<String, ApiError> {
    let Some(value) = value.filter(|v| truthy(v)) else {
        return Ok(ANY_IPV4.to_string());
    };
    let given = py_str(value);
    let decoded = percent_encoding::percent_decode_str(&given)
        .decode_utf8_lossy()
        .to_string();
    if network(&decoded).is_some() {
        Ok(decoded)
    } else {
        Err(ApiError::BadRequest(format!(
            "{decoded} is not a valid IP network."
        )))
    }
}

/// nova's `_new_ingress_rule`: a group rule opens every port of TCP, UDP
/// or ICMP when none are given; ports need TCP, UDP or ICMP and are
/// checked for it; a cidr rule without a protocol and both ports is no
/// rule (`None`).
fn ingress_rule(
    group_id: Option<String>,
    cidr: Option<String>,
    protocol: &Value,
    from_port: &Value,
    to_port: &Value,
) -> Result<Option<IngressRule>, ApiError> {
    let name = if truthy(protocol) {
        py_str(protocol)
    } else {
        String::new()
    };
    let upper = name.to_ascii_uppercase();
    let (mut from, mut to) = (from_port.clone(), to_port.clone());
    if group_id.is_some() && from.is_null() && to.is_null() {
        match upper.as_str() {
            "ICMP" => (from, to) = (json!(-1), json!(-1)),
            "TCP" | "UDP" => (from, to) = (json!(1), json!(65535)),
            _ => {}
        }
    }
    if name.is_empty() || from.is_null() || to.is_null() {
        if group_id.is_none() {
            return Ok(None);
        }
        return Ok(Some(IngressRule {
            group_id,
            cidr: None,
            protocol: None,
        }));
    }
    let (Some(from), Some(to)) = (py_int(&from), py_int(&to)) else {
        let reason = if upper == "ICMP" {
            "Type and Code must be integers for ICMP protocol type"
        } else {
            "To and From ports must be integers"
        };
        return Err(ApiError::BadRequest(format!(
            "Invalid input received: {reason}"
        )));
    };
    let bad_range = |why: &str| {
        Err(ApiError::BadRequest(format!(
            "Invalid port range {from}:{to}. {why}"
        )))
    };
    match upper.as_str() {
        "TCP" | "UDP" => {
            if from > to {
                return bad_range("Former value cannot be greater than the later");
            }
            if from < 1 || to > 65535 {
                return bad_range(&format!("Valid {upper} ports should be between 1-65535"));
            }
        }
        "ICMP" => {
            if !(-1..=255).contains(&from) || !(-1..=255).contains(&to) {
                return bad_range("For ICMP, the type:code must be valid");
            }
        }
        _ => return Err(ApiError::BadRequest(format!("Invalid IP protocol {name}."))),
    }
    Ok(Some(IngressRule {
        group_id,
        cidr,
        protocol: Some((name, from, to)),
    }))
}

/// nova's `_rule_exists`: the group has an ingress rule with the same
/// remote group, prefix (as nova reads it), protocol (compared as given)
/// and ports.
fn rule_exists(group: &SecurityGroup, rule: &IngressRule) -> bool {
    group
        .security_group_rules
        .iter()
        .filter(|r| r.direction == "ingress")
        .any(|r| {
            let (from, to) = ports_of(r);
            let existing = (
                r.remote_group_id.as_deref(),
                Some(cidr_of(r)),
                r.protocol.as_deref(),
                from,
                to,
            );
            let (protocol, new_from, new_to) = match &rule.protocol {
                Some((p, f, t)) => (Some(p.as_str()), Some(*f), Some(*t)),
                None => (None, None, None),
            };
            existing
                == (
                    rule.group_id.as_deref(),
                    rule.cidr.clone(),
                    protocol,
                    new_from,
                    new_to,
                )
        })
}

/// The store's request for `rule` in `parent`, as nova builds Neutron's:
/// ingress, IPv6 for an IPv6 prefix (IPv4 otherwise, a group rule too),
/// ports of -1 left out.
fn store_rule(parent: &str, rule: &IngressRule) -> NewSecurityGroupRule {
    let ipv6 = rule
        .cidr
        .as_deref()
        .and_then(network)
        .is_some_and(|(addr, _)| addr.is_ipv6());
    let port = |p: i64| (p != -1).then_some(p);
    let (protocol, from, to) = match &rule.protocol {
        Some((p, f, t)) => (Some(p.clone()), port(*f), port(*t)),
        None => (None, None, None),
    };
    NewSecurityGroupRule {
        security_group_id: parent.to_string(),
        direction: "ingress".into(),
        ethertype: Some(if ipv6 { "IPv6" } else { "IPv4" }.into()),
        protocol,
        port_range_min: from,
        port_range_max: to,
        remote_ip_prefix: rule.cidr.clone(),
        remote_group_id: rule.group_id.clone(),
        ..NewSecurityGroupRule::default()
    }
}

/// `POST /os-security-group-rules`: an ingress rule of `parent_group_id`,
/// from `group_id` or from `cidr` (`0.0.0.0/0` when none).
async fn create_rule(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    body: JsonBody,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    let body = body.validate(rule_schema())?;
    let req = body["security_group_rule"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let field = |key: &str| req.get(key).cloned().unwrap_or(Value::Null);
    let parent_id = py_str(&field("parent_group_id"));
    let group_id = req
        .get("group_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let parent = group(&state, &ctx, &parent_id).await?;
    let source = match &group_id {
        Some(id) => Some(group(&state, &ctx, id).await?),
        None => None,
    };
    let cidr = match group_id {
        Some(_) => None,
        None => Some(parse_cidr(req.get("cidr"))?),
    };
    let rule = ingress_rule(
        group_id,
        cidr,
        &field("ip_protocol"),
        &field("from_port"),
        &field("to_port"),
    )?
    .ok_or_else(|| ApiError::BadRequest("Not enough parameters to build a valid rule.".into()))?;
    if let Some(cidr) = &rule.cidr {
        if let Some((addr, prefix)) = network(cidr) {
            if prefix == 0 && !addr.is_unspecified() {
                return Err(ApiError::BadRequest(format!(
                    "Bad prefix for network in cidr {cidr}"
                )));
            }
        }
    }
    if rule_exists(&parent, &rule) {
        return Err(ApiError::BadRequest(format!(
            "This rule already exists in group {}",
            parent.id
        )));
    }
    let made = state
        .compute
        .create_security_group_rule(&ctx, store_rule(&parent.id, &rule))
        .await
        .map_err(|e| match e.class() {
            ErrorClass::NotFound => ApiError::NotFound(e.to_string()),
            // nova's SecurityGroupLimitExceeded for any 409 of Neutron's.
            ErrorClass::Conflict => ApiError::Forbidden(e.to_string()),
            _ => invalid(e),
        })?;
    let view = rule_view(&made, source.as_ref().map(group_ref));
    Ok(ok("security_group_rule", view))
}

/// `DELETE /os-security-group-rules/{id}`: 202.
async fn delete_rule(
    State(state): State<ApiState>,
    Context(ctx): Context,
    version: ApiVersion,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    proxy_version(version)?;
    check_id(&id)?;
    let rule = state
        .compute
        .get_security_group_rule(&ctx, &id)
        .await
        .map_err(lookup)?;
    group(&state, &ctx, &rule.security_group_id).await?;
    state
        .compute
        .delete_security_group_rule(&ctx, &id)
        .await
        .map_err(lookup)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(result: Result<T, ApiError>) -> String {
        match result {
            Ok(v) => format!("accepted {v:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn cidr_rule(protocol: Value, from: Value, to: Value) -> String {
        message(ingress_rule(
            None,
            Some(ANY_IPV4.into()),
            &protocol,
            &from,
            &to,
        ))
    }

    #[test]
    fn ports_are_checked_for_the_protocol_in_novas_words() {
        assert_eq!(
            cidr_rule(json!("tcp"), json!(22), json!(21)),
            "Invalid port range 22:21. Former value cannot be greater than the later"
        );
        assert_eq!(
            cidr_rule(json!("udp"), json!(0), json!(53)),
            "Invalid port range 0:53. Valid UDP ports should be between 1-65535"
        );
        assert_eq!(
            cidr_rule(json!("tcp"), json!(22), json!(65536)),
            "Invalid port range 22:65536. Valid TCP ports should be between 1-65535"
        );
        assert_eq!(
            cidr_rule(json!("icmp"), json!(8), json!(256)),
            "Invalid port range 8:256. For ICMP, the type:code must be valid"
        );
        assert_eq!(
            cidr_rule(json!("gre"), json!(1), json!(2)),
            "Invalid IP protocol gre."
        );
        assert_eq!(
            cidr_rule(json!("tcp"), json!("x"), json!(2)),
            "Invalid input received: To and From ports must be integers"
        );
        assert_eq!(
            cidr_rule(json!("ICMP"), json!([]), json!(2)),
            "Invalid input received: Type and Code must be integers for ICMP protocol type"
        );
        assert_eq!(
            cidr_rule(json!("tcp"), json!(22), Value::Null),
            "accepted None"
        );
        assert_eq!(cidr_rule(json!(""), json!(22), json!(22)), "accepted None");
    }

    #[test]
    fn a_rule_reads_ports_as_pythons_int_does() {
        let rule = ingress_rule(None, None, &json!("TCP"), &json!(" 22 "), &json!(80.9)).unwrap();
        assert_eq!(rule.unwrap().protocol, Some(("TCP".to_string(), 22, 80)));
    }

    #[test]
    fn a_group_rule_opens_every_port_when_none_are_given() {
        let of = |protocol: Value| {
            ingress_rule(
                Some("g".into()),
                None,
                &protocol,
                &Value::Null,
                &Value::Null,
            )
            .unwrap()
            .unwrap()
            .protocol
        };
        assert_eq!(of(json!("tcp")), Some(("tcp".into(), 1, 65535)));
        assert_eq!(of(json!("icmp")), Some(("icmp".into(), -1, -1)));
        // Another protocol without ports is dropped: the rule allows any.
        assert_eq!(of(json!("gre")), None);
        assert_eq!(of(Value::Null), None);
    }

    #[test]
    fn cidrs_are_novas_valid_networks() {
        assert_eq!(parse_cidr(None).unwrap(), "0.0.0.0/0");
        assert_eq!(parse_cidr(Some(&json!(""))).unwrap(), "0.0.0.0/0");
        assert_eq!(
            parse_cidr(Some(&json!("10.2.3.124%2F24"))).unwrap(),
            "10.2.3.124/24"
        );
        assert_eq!(parse_cidr(Some(&json!("::/0"))).unwrap(), "::/0");
        assert_eq!(
            message(parse_cidr(Some(&json!("10.0.0.1")))),
            "10.0.0.1 is not a valid IP network."
        );
        assert_eq!(
            message(parse_cidr(Some(&json!("10.0.0.0/33")))),
            "10.0.0.0/33 is not a valid IP network."
        );
    }

    #[test]
    fn the_store_gets_an_ingress_rule_of_the_prefix_version_without_minus_one_ports() {
        let rule = IngressRule {
            group_id: None,
            cidr: Some("2001:db8::/64".into()),
            protocol: Some(("icmp".into(), 8, -1)),
        };
        let made = store_rule("parent", &rule);
        assert_eq!(
            (
                made.direction.as_str(),
                made.ethertype.as_deref(),
                made.protocol.as_deref(),
                made.port_range_min,
                made.port_range_max,
                made.remote_ip_prefix.as_deref()
            ),
            (
                "ingress",
                Some("IPv6"),
                Some("icmp"),
                Some(8),
                None,
                Some("2001:db8::/64")
            )
        );
    }

    #[test]
    fn the_group_body_needs_a_name_and_a_description_of_255_at_most() {
        let check = |body: Value| match group_schema().validate(&body) {
            Ok(()) => "accepted".to_string(),
            Err(e) => e.body_message(),
        };
        assert_eq!(check(json!({})), "'security_group' is a required property");
        assert_eq!(
            check(json!({"security_group": {"name": "a"}})),
            "Invalid input for field/attribute security_group. Value: {'name': 'a'}. \
             'description' is a required property"
        );
        assert_eq!(
            check(json!({"security_group": {"name": "a".repeat(256), "description": ""}})),
            format!(
                "Invalid input for field/attribute name. Value: {0}. '{0}' is too long",
                "a".repeat(256)
            )
        );
        assert_eq!(
            check(json!({"security_group": {"name": "", "description": "", "x": 1}, "y": 2})),
            "accepted"
        );
    }
}
