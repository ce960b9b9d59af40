//! Moves through the HTTP routes: `os-migrateLive`, `evacuate`,
//! `/servers/{id}/migrations` (list, show, force_complete, abort) and
//! `GET /os-migrations`, with nova's status codes, policies and the
//! fields of each microversion.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp};

const ALICE: &str = "alice:proja";
const ADMIN: &str = "admin:admin";

fn message(answer: &Answer) -> String {
    answer
        .body
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Two hosts; every step takes `delay`.
async fn two_hosts(delay: Duration) -> TestApp {
    TestApp::builder()
        .compute(move |c| {
            c.hosts = vec![
                compute::SimHost::new("compute1"),
                compute::SimHost::new("compute2"),
            ];
            c.transition_delay = delay;
        })
        .build()
        .await
}

async fn act(app: &TestApp, id: &str, token: &str, version: &str, body: Value) -> Answer {
    let path = format!("/v2.1/servers/{id}/action");
    app.send(Method::POST, &path, token, version, body).await
}

async fn host_of(app: &TestApp, id: &str) -> String {
    let answer = app
        .get(&format!("/v2.1/servers/{id}"), ADMIN, Some("2.1"))
        .await;
    answer.body["server"]["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A server left (active, -) at once on an app whose steps take an hour.
async fn active_server(app: &TestApp) -> String {
    let id = app.create_server(ALICE, "vm").await;
    let reset = json!({"os-resetState": {"state": "active"}});
    assert_eq!(
        act(app, &id, ADMIN, "2.1", reset).await.status,
        StatusCode::ACCEPTED
    );
    id
}

#[tokio::test]
async fn a_running_live_migration_is_listed_then_aborted_or_forced_to_complete() {
    let app = two_hosts(Duration::from_secs(3600)).await;
    let id = active_server(&app).await;
    let source = host_of(&app, &id).await;
    let live = json!({"os-migrateLive": {"host": null, "block_migration": "auto"}});
    let answer = act(&app, &id, ALICE, "2.25", live.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate_live to be performed."
    );
    // Before 2.25 `auto` is no boolean and disk_over_commit is required.
    let answer = act(&app, &id, ADMIN, "2.1", live.clone()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let forced = json!({"os-migrateLive": {"host": null, "block_migration": false, "force": true}});
    let answer = act(&app, &id, ADMIN, "2.30", forced).await;
    assert_eq!(
        message(&answer),
        "Can't force to a non-provided destination"
    );
    let answer = act(&app, &id, ADMIN, "2.25", live.clone()).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let shown = app
        .get(&format!("/v2.1/servers/{id}"), ADMIN, Some("2.1"))
        .await;
    assert_eq!(shown.body["server"]["status"], "MIGRATING");
    assert_eq!(shown.body["server"]["OS-EXT-STS:task_state"], "migrating");

    let path = format!("/v2.1/servers/{id}/migrations");
    assert_eq!(
        app.get(&path, ADMIN, Some("2.22")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, ALICE, Some("2.23")).await.status,
        StatusCode::FORBIDDEN
    );
    let listed = app.get(&path, ADMIN, Some("2.23")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let m = &listed.body["migrations"][0];
    assert_eq!(m["status"], "running");
    assert_eq!(m["server_uuid"], json!(id));
    assert_eq!(m["source_compute"], json!(source));
    assert_eq!(m["memory_total_bytes"], 512 * 1024 * 1024);
    assert!(m.get("uuid").is_none());
    let mid = m["id"].as_i64().unwrap();
    let at_280 = app.get(&path, ADMIN, Some("2.80")).await;
    let m80 = &at_280.body["migrations"][0];
    assert!(m80["uuid"].is_string());
    assert_eq!(
        (m80["user_id"].clone(), m80["project_id"].clone()),
        (json!("admin"), json!("admin"))
    );
    let one = app.get(&format!("{path}/{mid}"), ADMIN, Some("2.23")).await;
    assert_eq!(one.body["migration"]["id"], mid);
    let missing = app
        .get(&format!("{path}/{}", mid + 7), ADMIN, Some("2.23"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&missing),
        format!(
            "In-progress live migration {} is not found for server {id}.",
            mid + 7
        )
    );
    // os-migrations links the live migration while it runs (2.23).
    let all = app.get("/v2.1/os-migrations", ADMIN, Some("2.23")).await;
    let listed = &all.body["migrations"][0];
    assert_eq!(listed["migration_type"], "live-migration");
    assert!(listed["links"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/servers/{id}/migrations/{mid}")));

    // Abort: 2.24; an unknown record is 404, the abort 202.
    let abort = |n: i64| format!("{path}/{n}");
    let answer = app
        .call(
            Method::DELETE,
            &abort(mid),
            Some(ADMIN),
            &[("OpenStack-API-Version", "compute 2.23")],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let v224 = [("OpenStack-API-Version", "compute 2.24")];
    let answer = app
        .call(Method::DELETE, &abort(mid + 7), Some(ADMIN), &v224, None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&answer),
        format!("Migration {} not found for instance {id}", mid + 7)
    );
    let answer = app
        .call(Method::DELETE, &abort(mid), Some(ADMIN), &v224, None)
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(host_of(&app, &id).await, source);
    let listed = app.get(&path, ADMIN, Some("2.23")).await;
    assert_eq!(listed.body["migrations"], json!([]));
    // No longer migrating: the abort conflicts.
    let answer = app
        .call(Method::DELETE, &abort(mid), Some(ADMIN), &v224, None)
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);

    // force_complete (2.22) finishes the next one now.
    let answer = act(&app, &id, ADMIN, "2.25", live).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let second = app.get(&path, ADMIN, Some("2.23")).await.body["migrations"][0]["id"]
        .as_i64()
        .unwrap();
    let force = json!({"force_complete": null});
    let action = |n: i64| format!("{path}/{n}/action");
    let answer = app
        .send(Method::POST, &action(second), ADMIN, "2.21", force.clone())
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = app
        .send(Method::POST, &action(mid), ADMIN, "2.22", force.clone())
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        format!("Migration {mid} state of instance {id} is cancelled. Cannot force complete while the migration is in this state.")
    );
    let answer = app
        .send(Method::POST, &action(second), ADMIN, "2.22", force)
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_ne!(host_of(&app, &id).await, source);
    let all = app.get("/v2.1/os-migrations", ADMIN, Some("2.23")).await;
    let statuses: Vec<&str> = all.body["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled", "completed"]);
    assert!(all.body["migrations"][1].get("links").is_none());
}

#[tokio::test]
async fn live_migration_refuses_a_suspended_server_and_an_unknown_host() {
    let app = two_hosts(Duration::ZERO).await;
    let id = app.create_server(ALICE, "vm").await;
    let to = |host: Value| json!({"os-migrateLive": {"host": host, "block_migration": false, "disk_over_commit": false}});
    let answer = act(&app, &id, ADMIN, "2.1", to(json!("nowhere"))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&answer), "Compute host nowhere could not be found.");
    assert_eq!(
        act(&app, &id, ALICE, "2.1", json!({"suspend": null}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let answer = act(&app, &id, ADMIN, "2.1", to(Value::Null)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        message(&answer),
        format!("Cannot 'os-migrateLive' instance {id} while it is in vm_state suspended")
    );
    assert_eq!(
        act(&app, &id, ALICE, "2.1", json!({"resume": null}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let source = host_of(&app, &id).await;
    let answer = act(&app, &id, ADMIN, "2.1", to(Value::Null)).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_ne!(host_of(&app, &id).await, source);
}

#[tokio::test]
async fn evacuate_needs_the_host_down_and_answers_the_password_before_2_14() {
    let app = two_hosts(Duration::ZERO).await;
    let id = app.create_server(ALICE, "vm").await;
    let source = host_of(&app, &id).await;
    let body = json!({"evacuate": {"onSharedStorage": false}});
    let answer = act(&app, &id, ALICE, "2.1", body.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = act(&app, &id, ADMIN, "2.1", body.clone()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        format!("Compute service of {source} is still in use.")
    );
    // onSharedStorage is required before 2.14 and refused from it.
    assert_eq!(
        act(&app, &id, ADMIN, "2.1", json!({"evacuate": {}}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        act(&app, &id, ADMIN, "2.14", body.clone()).await.status,
        StatusCode::BAD_REQUEST
    );
    let answer = act(
        &app,
        &id,
        ADMIN,
        "2.14",
        json!({"evacuate": {"host": "nowhere"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(message(&answer), "Compute host nowhere not found.");

    let down = compute::ServiceUpdate {
        forced_down: Some(true),
        ..Default::default()
    };
    let admin = compute::RequestContext::admin("admin", "admin");
    app.state
        .compute
        .update_service(&admin, &source, "nova-compute", down)
        .await
        .unwrap();
    let answer = act(&app, &id, ADMIN, "2.1", body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["adminPass"].as_str().unwrap().len(), 12);
    assert_ne!(host_of(&app, &id).await, source);
    let all = app.get("/v2.1/os-migrations", ADMIN, Some("2.23")).await;
    assert_eq!(all.body["migrations"][0]["migration_type"], "evacuation");
    assert_eq!(all.body["migrations"][0]["status"], "done");
}

#[tokio::test]
async fn os_migrations_shows_nova_s_fields_per_microversion_and_pages_from_2_59() {
    let app = two_hosts(Duration::ZERO).await;
    for name in ["a", "b", "c"] {
        let id = app.create_server(ALICE, name).await;
        let answer = act(&app, &id, ADMIN, "2.1", json!({"migrate": null})).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    let answer = app.get("/v2.1/os-migrations", ALICE, Some("2.1")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        message(&answer),
        "Policy doesn't allow os_compute_api:os-migrations:index to be performed."
    );
    let keys = |m: &Value| {
        let mut k: Vec<String> = m.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let v21 = app.get("/v2.1/os-migrations", ADMIN, Some("2.1")).await;
    assert_eq!(
        keys(&v21.body["migrations"][0]),
        [
            "created_at",
            "dest_compute",
            "dest_host",
            "dest_node",
            "id",
            "instance_uuid",
            "new_instance_type_id",
            "old_instance_type_id",
            "source_compute",
            "source_node",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(v21.body["migrations"][0]["status"], "finished");
    // Before 2.59 any parameter is taken; from it an unknown one is 400.
    let answer = app
        .get("/v2.1/os-migrations?foo=1", ADMIN, Some("2.1"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = app
        .get("/v2.1/os-migrations?foo=1", ADMIN, Some("2.59"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let page = app
        .get("/v2.1/os-migrations?limit=2", ADMIN, Some("2.59"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let items = page.body["migrations"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    let next = page.body["migrations_links"][0]["href"].as_str().unwrap();
    assert!(next.contains(&format!("marker={}", items[1]["uuid"].as_str().unwrap())));
    let rest = app
        .get(
            &format!(
                "/v2.1/os-migrations?limit=2&marker={}",
                items[1]["uuid"].as_str().unwrap()
            ),
            ADMIN,
            Some("2.59"),
        )
        .await;
    assert_eq!(rest.body["migrations"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("migrations_links").is_none());
    let bad = app
        .get("/v2.1/os-migrations?marker=nope", ADMIN, Some("2.59"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&bad), "Marker nope could not be found.");
    // 2.80: the owners, and their filters.
    let v280 = app
        .get("/v2.1/os-migrations?user_id=admin", ADMIN, Some("2.80"))
        .await;
    assert_eq!(v280.body["migrations"].as_array().unwrap().len(), 3);
    assert_eq!(v280.body["migrations"][0]["project_id"], "admin");
    let none = app
        .get("/v2.1/os-migrations?user_id=alice", ADMIN, Some("2.80"))
        .await;
    assert_eq!(none.body["migrations"], json!([]));
    let typed = app
        .get(
            "/v2.1/os-migrations?migration_type=resize",
            ADMIN,
            Some("2.23"),
        )
        .await;
    assert_eq!(typed.body["migrations"], json!([]));
}
