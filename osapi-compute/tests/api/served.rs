//! The tables of what is served (`osapi_compute::served`, the server
//! actions' `ACTIONS`) against the routers themselves: every path a router
//! holds has its row, every row's methods are the ones its path answers,
//! and every route and action is served at exactly the microversions its
//! row gives. `docs/served.md` is printed from these tables, so what it
//! says is what is served.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::json;
use tower::ServiceExt;

use osapi_compute::identity::IdentityMode;
use osapi_compute::microversion::MAX_VERSION;
use osapi_compute::served::{
    Endpoint, COMPUTE_ROUTES, IDENTITY_ROUTES, IMAGE_ROUTES, NETWORK_ROUTES,
};
use osapi_compute::servers::actions::ACTIONS;

use crate::fixture::{TestApp, ADMIN};

/// An id no object has: a missing server, flavor, image or group is then
/// that resource's own 404, which tells "served" from "not served".
const MISSING: &str = "6f70656e-7374-6163-6b20-342065766572";

/// The paths a router holds. axum lists them only in its `Debug` output
/// (`RouteId(n): "/path"`); a router that shows none fails the tests
/// below rather than passing them empty.
fn paths_of(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let mut paths = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(open) = rest.find(": \"") else { break };
        let after = &rest[open + 3..];
        let Some(close) = after.find('"') else { break };
        let path = &after[..close];
        // The fallback axum registers for every router.
        if !path.contains("__private__axum_fallback") {
            paths.insert(path.to_string());
        }
        rest = &after[close..];
    }
    paths
}

/// `path` with each `{segment}` filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{alias}" => "OS-DCF",
            s if s.starts_with('{') => MISSING,
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The methods `path` answers in `router`: the `Allow` header of its
/// answer to a method nothing serves (`HEAD` left out where `GET` implies it).
async fn methods_of(router: &Router, path: &str) -> BTreeSet<String> {
    let request = Request::builder()
        .method(Method::TRACE)
        .uri(concrete(path))
        .body(Body::empty())
        .unwrap();
    let answer = router.clone().oneshot(request).await.unwrap();
    let allow = answer
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let methods: BTreeSet<String> = allow
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if methods.contains("GET") {
        methods.into_iter().filter(|m| m != "HEAD").collect()
    } else {
        methods
    }
}

/// Compares a router with its table: the same paths, each with the same
/// methods. Returns one line per difference.
async fn differences(
    router: &Router,
    table: impl Iterator<Item = (&'static str, BTreeSet<String>)>,
    extra_paths: &BTreeSet<String>,
) -> Vec<String> {
    let mut found = paths_of(router);
    assert!(
        !found.is_empty(),
        "no path read from the router's Debug output: axum's format changed"
    );
    let mut out = Vec::new();
    for (path, methods) in table {
        if !found.remove(path) {
            out.push(format!("{path}: in the table, not in the router"));
            continue;
        }
        let served = methods_of(router, path).await;
        if served != methods {
            out.push(format!(
                "{path}: the table says {methods:?}, the router serves {served:?}"
            ));
        }
    }
    for path in found.difference(extra_paths) {
        out.push(format!("{path}: in the router, not in the table"));
    }
    out
}

fn endpoint_rows(
    table: &'static [Endpoint],
) -> impl Iterator<Item = (&'static str, BTreeSet<String>)> {
    table
        .iter()
        .map(|e| (e.path, e.methods.iter().map(|m| m.to_string()).collect()))
}

/// The paths of nova's removed APIs, which answer 410 to every method.
fn removed_paths() -> BTreeSet<String> {
    use osapi_compute::removed::{REMOVED, REMOVED_SERVER_RESOURCES};
    let mut paths = BTreeSet::new();
    for path in REMOVED {
        paths.insert(path.to_string());
        paths.insert(format!("{path}/{{*rest}}"));
    }
    for sub in REMOVED_SERVER_RESOURCES {
        paths.insert(format!("/servers/{{id}}/{sub}"));
        paths.insert(format!("/servers/{{id}}/{sub}/{{*rest}}"));
    }
    paths
}

#[tokio::test]
async fn every_compute_path_and_method_has_its_row_and_every_row_is_routed() {
    let app = TestApp::new().await;
    let router = osapi_compute::router::routes(app.state.clone());
    let table = COMPUTE_ROUTES.iter().map(|route| {
        (
            route.path,
            route.methods.iter().map(|(m, _)| m.to_string()).collect(),
        )
    });

    let differences = differences(&router, table, &removed_paths()).await;

    assert!(
        differences.is_empty(),
        "osapi_compute::served::COMPUTE_ROUTES differs from the router:\n{}",
        differences.join("\n")
    );
}

#[tokio::test]
async fn every_compute_route_is_served_at_exactly_the_microversions_of_its_row() {
    let app = TestApp::new().await;
    let mut wrong = Vec::new();

    for route in COMPUTE_ROUTES {
        let uri = format!("/v2.1{}", concrete(route.path));
        for (method, versions) in route.methods {
            let mut served_at = Vec::new();
            for minor in 1..=MAX_VERSION.minor {
                let version = format!("compute 2.{minor}");
                let body = matches!(*method, "POST" | "PUT").then(|| json!({}));
                let answer = app
                    .call(
                        method.parse().unwrap(),
                        &uri,
                        Some(ADMIN),
                        &[("OpenStack-API-Version", &version)],
                        body,
                    )
                    .await;
                // nova's answer for a route it does not serve (at this
                // version); any other (a missing object's 404, a 400 on
                // the empty body, ...) came from the route's handler.
                let unserved = answer.status == StatusCode::NOT_FOUND
                    && answer.fault_message() == "The resource could not be found.";
                served_at.push(!unserved);
            }
            let expected: Vec<bool> = (1..=MAX_VERSION.minor)
                .map(|minor| {
                    versions.contains(osapi_compute::microversion::ApiVersion::new(2, minor))
                })
                .collect();
            if served_at != expected {
                let first = served_at.iter().position(|s| *s).map(|i| i + 1);
                let last = served_at.iter().rposition(|s| *s).map(|i| i + 1);
                wrong.push(format!(
                    "{method} {}: the row says {}, served from 2.{first:?} to 2.{last:?}",
                    route.path,
                    versions.describe()
                ));
            }
        }
    }

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn every_server_action_is_served_at_exactly_the_microversions_of_its_row() {
    let app = TestApp::new().await;
    let uri = format!("/v2.1/servers/{MISSING}/action");
    let mut wrong = Vec::new();

    for action in ACTIONS {
        for minor in 1..=MAX_VERSION.minor {
            let version = format!("compute 2.{minor}");
            let answer = app
                .call(
                    Method::POST,
                    &uri,
                    Some(ADMIN),
                    &[("OpenStack-API-Version", &version)],
                    Some(json!({ action.name: {} })),
                )
                .await;
            let served = !answer
                .fault_message()
                .starts_with("There is no such action");
            let expected = action
                .versions
                .contains(osapi_compute::microversion::ApiVersion::new(2, minor));
            if served != expected {
                wrong.push(format!(
                    "{} at 2.{minor}: served {served}, the row says {expected}",
                    action.name
                ));
            }
        }
    }

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn an_action_without_a_row_is_refused_as_unknown() {
    let app = TestApp::new().await;

    let answer = app
        .call(
            Method::POST,
            &format!("/v2.1/servers/{MISSING}/action"),
            Some(ADMIN),
            &[],
            Some(json!({ "os-notAnAction": {} })),
        )
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.fault_message(),
        "There is no such action: os-notAnAction"
    );
}

#[tokio::test]
async fn the_identity_image_and_network_apps_serve_exactly_their_tables() {
    let app = TestApp::new().await;
    let state = app.state.clone();
    let apps = [
        (
            "IDENTITY_ROUTES",
            osapi_compute::identity::identity_router_in(
                Default::default(),
                state.clone(),
                IdentityMode::Store,
            ),
            IDENTITY_ROUTES,
        ),
        (
            "IMAGE_ROUTES",
            osapi_compute::image::image_router(state.clone()),
            IMAGE_ROUTES,
        ),
        (
            "NETWORK_ROUTES",
            osapi_compute::network::network_router(state.clone()),
            NETWORK_ROUTES,
        ),
    ];
    let mut all = Vec::new();

    for (name, router, table) in apps {
        for difference in differences(&router, endpoint_rows(table), &BTreeSet::new()).await {
            all.push(format!("{name}: {difference}"));
        }
    }

    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[tokio::test]
async fn noauth2_s_identity_serves_a_part_of_the_store_s() {
    let app = TestApp::new().await;
    let router = osapi_compute::identity::identity_router_in(
        Default::default(),
        app.state.clone(),
        IdentityMode::NoAuth,
    );
    let documented: BTreeSet<&str> = IDENTITY_ROUTES.iter().map(|e| e.path).collect();

    let undocumented: Vec<String> = paths_of(&router)
        .into_iter()
        .filter(|path| !documented.contains(path.as_str()))
        .collect();

    assert!(undocumented.is_empty(), "{undocumented:?}");
}
