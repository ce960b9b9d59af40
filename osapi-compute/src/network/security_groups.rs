//! The handlers of `/v2.0/security-groups` and `/v2.0/security-group-rules`.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use compute::network::{NewSecurityGroup, NewSecurityGroupRule, SecurityGroupUpdate};

use super::fault::NeutronFault;
use super::params::Body;
use super::resources::{context, id, one, write_call, Answer, Read};
use super::views;
use crate::state::ApiState;

/// The routes of the two collections.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v2.0/security-groups", get(list_groups).post(create_group))
        .route(
            "/v2.0/security-groups.json",
            get(list_groups).post(create_group),
        )
        .route(
            "/v2.0/security-groups/{id}",
            get(show_group).put(update_group).delete(delete_group),
        )
        .route(
            "/v2.0/security-group-rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/v2.0/security-group-rules.json",
            get(list_rules).post(create_rule),
        )
        .route(
            "/v2.0/security-group-rules/{id}",
            get(show_rule).delete(delete_rule),
        )
}

// Security groups.

async fn list_groups(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_security_groups(&read.ctx, &read.params.query)
        .await?;
    Ok(
        read.list("security_groups", page, views::security_group, |g| {
            g.id.as_str()
        }),
    )
}

async fn show_group(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let g = state
        .compute
        .get_security_group(&read.ctx, &id(raw))
        .await?;
    Ok(read.show("security_group", views::security_group(&g)))
}

async fn create_group(State(state): State<ApiState>, request: Request) -> Answer {
    let (ctx, mut b) = write_call(request, "security_group", true).await?;
    b.refuse(&["id", "security_group_rules", "created_at", "updated_at"])?;
    let req = NewSecurityGroup {
        name: b.string("name")?,
        description: b.string("description")?,
        project_id: b.project()?,
        stateful: b.boolean("stateful")?,
        unique_name: false,
    };
    b.finish()?;
    let g = state.compute.create_security_group(&ctx, req).await?;
    Ok(one(
        "security_group",
        views::security_group(&g),
        StatusCode::CREATED,
    ))
}

async fn update_group(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let (ctx, mut b) = write_call(request, "security_group", false).await?;
    b.refuse(&[
        "id",
        "security_group_rules",
        "tenant_id",
        "project_id",
        "created_at",
        "updated_at",
    ])?;
    let req = SecurityGroupUpdate {
        name: b.string("name")?,
        description: b.string("description")?,
        stateful: b.boolean("stateful")?,
    };
    b.finish()?;
    let g = state
        .compute
        .update_security_group(&ctx, &id(raw), req)
        .await?;
    Ok(one(
        "security_group",
        views::security_group(&g),
        StatusCode::OK,
    ))
}

async fn delete_group(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state.compute.delete_security_group(&ctx, &id(raw)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Security group rules.

/// A string attribute that may be null (absent and null are alike).
fn nullable_string(b: &mut Body, name: &str) -> Result<Option<String>, NeutronFault> {
    if b.peek(name).is_some_and(Value::is_null) {
        b.take(name);
        return Ok(None);
    }
    b.string(name)
}

/// `protocol`: a name, a number, or null.
fn protocol(b: &mut Body) -> Result<Option<String>, NeutronFault> {
    if let Some(Value::Number(n)) = b.peek("protocol") {
        let n = n.to_string();
        b.take("protocol");
        return Ok(Some(n));
    }
    nullable_string(b, "protocol")
}

/// A port (or ICMP type or code): an integer, a string of one, or null;
/// anything else is Neutron's `Invalid value for port`.
fn port(b: &mut Body, name: &str) -> Result<Option<i64>, NeutronFault> {
    let value = match b.take(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = match &value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.map(Some).ok_or_else(|| {
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        NeutronFault::bad_request(format!("Invalid value for port {shown}"))
    })
}

async fn list_rules(State(state): State<ApiState>, request: Request) -> Answer {
    let read = Read::of(request)?;
    let page = state
        .compute
        .list_security_group_rules(&read.ctx, &read.params.query)
        .await?;
    Ok(read.list(
        "security_group_rules",
        page,
        views::security_group_rule,
        |r| r.id.as_str(),
    ))
}

async fn show_rule(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let read = Read::of(request)?;
    let r = state
        .compute
        .get_security_group_rule(&read.ctx, &id(raw))
        .await?;
    Ok(read.show("security_group_rule", views::security_group_rule(&r)))
}

async fn create_rule(State(state): State<ApiState>, request: Request) -> Answer {
    let (ctx, mut b) = write_call(request, "security_group_rule", true).await?;
    b.refuse(&["id", "created_at", "updated_at"])?;
    let req = NewSecurityGroupRule {
        security_group_id: b.required("security_group_id")?,
        direction: b.required("direction")?,
        ethertype: b.string("ethertype")?,
        protocol: protocol(&mut b)?,
        port_range_min: port(&mut b, "port_range_min")?,
        port_range_max: port(&mut b, "port_range_max")?,
        remote_ip_prefix: nullable_string(&mut b, "remote_ip_prefix")?,
        remote_group_id: nullable_string(&mut b, "remote_group_id")?,
        description: b.string("description")?,
        project_id: b.project()?,
    };
    b.finish()?;
    let r = state.compute.create_security_group_rule(&ctx, req).await?;
    Ok(one(
        "security_group_rule",
        views::security_group_rule(&r),
        StatusCode::CREATED,
    ))
}

async fn delete_rule(
    State(state): State<ApiState>,
    Path(raw): Path<String>,
    request: Request,
) -> Answer {
    let ctx = context(request)?;
    state
        .compute
        .delete_security_group_rule(&ctx, &id(raw))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
