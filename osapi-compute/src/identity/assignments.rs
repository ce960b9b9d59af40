//! Role assignments in store mode: `PUT`/`HEAD`/`GET`/`DELETE
//! /v3/{projects,domains}/{id}/{users,groups}/{actor}/roles/{role}` and
//! `/v3/system/{users,groups}/{actor}/roles/{role}` (admins write,
//! readers of all read), the roles of one actor on one target, and
//! `GET /v3/role_assignments` with Keystone's filters (`user.id`,
//! `group.id`, `scope.project.id`, `scope.domain.id`, `scope.system`,
//! `role.id`, `effective`, `include_names`). A user may list its own
//! assignments (`user.id` its own).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

use compute::identity::{Actor, Assignment, AssignmentFilter, Target};
use compute::Compute;

use super::catalog::{collection, Call};
use super::errors::{Answer, IdentityError};
use super::policy::authenticated;
use super::{Options, Shared};

/// Which kind of target and actor a route names.
#[derive(Clone, Copy, Debug)]
enum On {
    ProjectUser,
    ProjectGroup,
    DomainUser,
    DomainGroup,
    SystemUser,
    SystemGroup,
}

type Params = Path<HashMap<String, String>>;

impl On {
    /// The actor and target the path names.
    fn parts(self, params: &HashMap<String, String>) -> (Actor, Target) {
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        match self {
            On::ProjectUser => (Actor::User(get("user_id")), Target::Project(get("id"))),
            On::ProjectGroup => (Actor::Group(get("group_id")), Target::Project(get("id"))),
            On::DomainUser => (Actor::User(get("user_id")), Target::Domain(get("id"))),
            On::DomainGroup => (Actor::Group(get("group_id")), Target::Domain(get("id"))),
            On::SystemUser => (Actor::User(get("id")), Target::System),
            On::SystemGroup => (Actor::Group(get("id")), Target::System),
        }
    }

    fn rule(self, verb: &str) -> String {
        let (target, actor) = match self {
            On::ProjectUser => ("project", "user"),
            On::ProjectGroup => ("project", "group"),
            On::DomainUser => ("domain", "user"),
            On::DomainGroup => ("domain", "group"),
            On::SystemUser => ("system", "user"),
            On::SystemGroup => ("system", "group"),
        };
        match (verb, target) {
            ("list", "system") => format!("identity:list_system_grants_for_{actor}"),
            ("list", _) => "identity:list_grants".into(),
            (verb, "system") => format!("identity:{verb}_system_grant_for_{actor}"),
            (verb, _) => format!("identity:{verb}_grant"),
        }
    }
}

/// The assignment routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for (prefix, on) in [
        ("/v3/projects/{id}/users/{user_id}", On::ProjectUser),
        ("/v3/projects/{id}/groups/{group_id}", On::ProjectGroup),
        ("/v3/domains/{id}/users/{user_id}", On::DomainUser),
        ("/v3/domains/{id}/groups/{group_id}", On::DomainGroup),
        ("/v3/system/users/{id}", On::SystemUser),
        ("/v3/system/groups/{id}", On::SystemGroup),
    ] {
        router = router
            .route(&format!("{prefix}/roles"), list_route(on))
            .route(&format!("{prefix}/roles/{{role_id}}"), grant_route(on));
    }
    router
}

fn list_route(on: On) -> MethodRouter<Arc<Shared>> {
    get(move |state: Options, params: Params, request: Request| list_on(on, state, params, request))
}

fn grant_route(on: On) -> MethodRouter<Arc<Shared>> {
    get(move |state: Options, params: Params, request: Request| check(on, state, params, request))
        .head(move |state: Options, params: Params, request: Request| {
            check(on, state, params, request)
        })
        .put(move |state: Options, params: Params, request: Request| {
            grant(on, state, params, request)
        })
        .delete(move |state: Options, params: Params, request: Request| {
            revoke(on, state, params, request)
        })
}

async fn grant(on: On, State(shared): Options, Path(params): Params, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin(&on.rule("create"))?;
    let (actor, target) = on.parts(&params);
    let role = params.get("role_id").cloned().unwrap_or_default();
    compute.assign_role(&actor, &target, &role).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn check(on: On, State(shared): Options, Path(params): Params, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader(&on.rule("check"))?;
    let (actor, target) = on.parts(&params);
    let role = params.get("role_id").cloned().unwrap_or_default();
    compute.check_assignment(&actor, &target, &role).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke(on: On, State(shared): Options, Path(params): Params, request: Request) -> Answer {
    let (compute, _, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_admin(&on.rule("revoke"))?;
    let (actor, target) = on.parts(&params);
    let role = params.get("role_id").cloned().unwrap_or_default();
    compute.unassign_role(&actor, &target, &role).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The roles one actor holds directly on one target.
async fn list_on(on: On, State(shared): Options, Path(params): Params, request: Request) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    caller.require_reader(&on.rule("list"))?;
    let (actor, target) = on.parts(&params);
    let mut filter = AssignmentFilter::default();
    match &actor {
        Actor::User(id) => {
            compute.get_user(id).await?;
            filter.user_id = Some(id.clone());
        }
        Actor::Group(id) => {
            compute.get_group(id).await?;
            filter.group_id = Some(id.clone());
        }
    }
    match &target {
        Target::Project(id) => {
            compute.get_project(id).await?;
            filter.project_id = Some(id.clone());
        }
        Target::Domain(id) => {
            compute.get_domain(id).await?;
            filter.domain_id = Some(id.clone());
        }
        Target::System => filter.system = true,
    }
    let url = call.origin.identity_url(&shared);
    let mut roles = Vec::new();
    for a in compute.list_assignments(&filter).await? {
        if a.actor == actor {
            roles.push(super::roles::body(
                &compute.get_role(&a.role_id).await?,
                &url,
            ));
        }
    }
    Ok(collection(
        "roles",
        roles,
        format!("{url}{}", request.uri().path()),
    ))
}

/// `GET /v3/role_assignments`.
pub async fn list(
    State(shared): Options,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Answer {
    let (compute, call, caller) = authenticated(&shared, Call::of(&request)).await?;
    let flag = |name: &str| {
        query
            .get(name)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false"))
    };
    let filter = AssignmentFilter {
        user_id: query.get("user.id").cloned(),
        group_id: query.get("group.id").cloned(),
        project_id: query.get("scope.project.id").cloned(),
        domain_id: query.get("scope.domain.id").cloned(),
        system: query.contains_key("scope.system"),
        role_id: query.get("role.id").cloned(),
        effective: flag("effective"),
    };
    let own = filter.user_id.as_deref() == Some(caller.token.user.id.as_str());
    caller.require(caller.reads_all() || own, "identity:list_role_assignments")?;
    if filter.effective && filter.group_id.is_some() {
        return Err(IdentityError::bad_request(
            "Combining effective and group filter will always result in an empty list.",
        ));
    }
    let names = flag("include_names");
    let url = call.origin.identity_url(&shared);
    let mut items = Vec::new();
    for a in compute.list_assignments(&filter).await? {
        items.push(render(&compute, &a, names, &url).await?);
    }
    Ok(collection(
        "role_assignments",
        items,
        format!("{url}/v3/role_assignments"),
    ))
}

/// One assignment as Keystone lists it.
async fn render(
    compute: &Compute,
    a: &Assignment,
    names: bool,
    url: &str,
) -> Result<Value, IdentityError> {
    let mut role = json!({"id": a.role_id});
    let mut actor = match &a.actor {
        Actor::User(id) => json!({"id": id}),
        Actor::Group(id) => json!({"id": id}),
    };
    let mut scope = match &a.target {
        Target::Project(id) => json!({"project": {"id": id}}),
        Target::Domain(id) => json!({"domain": {"id": id}}),
        Target::System => json!({"system": {"all": true}}),
    };
    if names {
        if let Ok(r) = compute.get_role(&a.role_id).await {
            role["name"] = json!(r.name);
            if let Some(d) = r.domain_id {
                role["domain"] = json!({"id": d});
            }
        }
        let domain = |id: String| async move {
            compute
                .get_domain(&id)
                .await
                .map(|d| json!({"id": d.id, "name": d.name}))
                .unwrap_or(json!({"id": id}))
        };
        match &a.actor {
            Actor::User(id) => {
                if let Ok(u) = compute.get_user(id).await {
                    actor["name"] = json!(u.name);
                    actor["domain"] = domain(u.domain_id).await;
                }
            }
            Actor::Group(id) => {
                if let Ok(g) = compute.get_group(id).await {
                    actor["name"] = json!(g.name);
                    actor["domain"] = domain(g.domain_id).await;
                }
            }
        }
        match &a.target {
            Target::Project(id) => {
                if let Ok(p) = compute.get_project(id).await {
                    scope["project"]["name"] = json!(p.name);
                    scope["project"]["domain"] = domain(p.domain_id).await;
                }
            }
            Target::Domain(id) => {
                if let Ok(d) = compute.get_domain(id).await {
                    scope["domain"]["name"] = json!(d.name);
                }
            }
            Target::System => {}
        }
    }
    let (target_path, actor_path) = (
        match &a.target {
            Target::Project(id) => format!("projects/{id}"),
            Target::Domain(id) => format!("domains/{id}"),
            Target::System => "system".to_string(),
        },
        match (&a.actor, &a.via_group) {
            (_, Some(group)) => format!("groups/{group}"),
            (Actor::User(id), None) => format!("users/{id}"),
            (Actor::Group(id), None) => format!("groups/{id}"),
        },
    );
    let role_path = a.implied_by.as_deref().unwrap_or(&a.role_id);
    let mut links =
        json!({"assignment": format!("{url}/v3/{target_path}/{actor_path}/roles/{role_path}")});
    if let Some(group) = &a.via_group {
        if let Actor::User(user) = &a.actor {
            links["membership"] = json!(format!("{url}/v3/groups/{group}/users/{user}"));
        }
    }
    if let Some(prior) = &a.implied_by {
        links["prior_role"] = json!(format!("{url}/v3/roles/{prior}"));
    }
    let key = match &a.actor {
        Actor::User(_) => "user",
        Actor::Group(_) => "group",
    };
    Ok(json!({"role": role, key: actor, "scope": scope, "links": links}))
}
