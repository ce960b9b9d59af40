//! Remote consoles, console auth tokens and `createImage`'s saving phase
//! through the HTTP routes: nova's bodies, microversion gates, policies
//! and status codes.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};

const MISSING: &str = "6b8e1c4e-0000-4000-8000-000000000000";

async fn remote_console(app: &TestApp, id: &str, version: &str, body: Value) -> Answer {
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/remote-consoles"),
        ALICE,
        version,
        body,
    )
    .await
}

async fn act(app: &TestApp, id: &str, version: &str, body: Value) -> Answer {
    app.send(
        Method::POST,
        &format!("/v2.1/servers/{id}/action"),
        ALICE,
        version,
        body,
    )
    .await
}

fn vnc() -> Value {
    json!({"remote_console": {"protocol": "vnc", "type": "novnc"}})
}

/// The token of a noVNC URL (`path=%3Ftoken%3D<token>`).
fn token_of(url: &str) -> String {
    url.split("token%3D").nth(1).unwrap().to_string()
}

#[tokio::test]
async fn remote_consoles_answer_a_novnc_url_from_2_6() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = remote_console(&app, &id, "2.6", vnc()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let console = &answer.body["remote_console"];
    assert_eq!(console["protocol"], "vnc");
    assert_eq!(console["type"], "novnc");
    let url = console["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3D"),
        "{url}"
    );
    // Before 2.6 the route is not there.
    let answer = remote_console(&app, &id, "2.5", vnc()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = remote_console(&app, MISSING, "2.6", vnc()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = remote_console(&app, &id, "2.6", vnc()).await;
    let other = app
        .send(
            Method::POST,
            &format!("/v2.1/servers/{id}/remote-consoles"),
            BOB,
            "2.6",
            vnc(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_protocol_and_type_is_gated_by_its_microversion_and_switch() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let body = |p: &str, t: &str| json!({"remote_console": {"protocol": p, "type": t}});
    // mks arrives in 2.8, spice-direct in 2.99: before, the schema refuses.
    for (version, p, t) in [("2.7", "mks", "webmks"), ("2.98", "spice", "spice-direct")] {
        let answer = remote_console(&app, &id, version, body(p, t)).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{p} {t} at {version}"
        );
    }
    // Served but off by default: nova's ConsoleTypeUnavailable.
    for (version, p, t) in [
        ("2.8", "mks", "webmks"),
        ("2.99", "spice", "spice-direct"),
        ("2.6", "spice", "spice-html5"),
        ("2.6", "serial", "serial"),
    ] {
        let answer = remote_console(&app, &id, version, body(p, t)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.fault_message(),
            format!("Unavailable console type {t}.")
        );
    }
    let answer = remote_console(&app, &id, "2.6", body("rdp", "rdp-html5")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.fault_message(), "Unavailable console type rdp.");
    let answer = remote_console(&app, &id, "2.6", body("vnc", "spice-html5")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.fault_message(), "Invalid console type spice-html5");

    let on = TestApp::builder()
        .compute(|c| {
            c.consoles.spice.enabled = true;
            c.consoles.serial.enabled = true;
        })
        .build()
        .await;
    let id = on.create_server(ALICE, "vm").await;
    let answer = remote_console(&on, &id, "2.99", body("spice", "spice-direct")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let url = answer.body["remote_console"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:13002/nova?token="),
        "{url}"
    );
    let answer = remote_console(&on, &id, "2.6", body("serial", "serial")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn a_console_of_a_stopped_server_is_not_ready() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = act(&app, &id, "2.1", json!({"os-stop": null})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let answer = remote_console(&app, &id, "2.6", vnc()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.fault_message(),
        format!("Instance {id} is not ready")
    );
}

#[tokio::test]
async fn the_legacy_console_actions_are_served_until_2_5() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = act(
        &app,
        &id,
        "2.1",
        json!({"os-getVNCConsole": {"type": "novnc"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["console"]["type"], "novnc");
    assert!(answer.body["console"]["url"]
        .as_str()
        .unwrap()
        .contains("?path=%3Ftoken%3D"));
    let answer = act(
        &app,
        &id,
        "2.1",
        json!({"os-getVNCConsole": {"type": "xvpvnc"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.fault_message(), "Invalid console type xvpvnc");
    let answer = act(&app, &id, "2.1", json!({"os-getVNCConsole": {}})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = act(
        &app,
        &id,
        "2.1",
        json!({"os-getSerialConsole": {"type": "serial"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.fault_message(), "Unavailable console type serial.");
    let answer = act(
        &app,
        &id,
        "2.1",
        json!({"os-getRDPConsole": {"type": "rdp-html5"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = act(
        &app,
        &id,
        "2.6",
        json!({"os-getVNCConsole": {"type": "novnc"}}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.fault_message(),
        "There is no such action: os-getVNCConsole"
    );
}

#[tokio::test]
async fn console_auth_tokens_show_the_console_to_admins_from_2_31() {
    let app = TestApp::new().await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = remote_console(&app, &id, "2.6", vnc()).await;
    let token = token_of(answer.body["remote_console"]["url"].as_str().unwrap());
    let path = format!("/v2.1/os-console-auth-tokens/{token}");
    let answer = app.get(&path, ADMIN, Some("2.31")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({"console": {
            "instance_uuid": id,
            "host": "127.0.0.1",
            "port": 5900,
            "internal_access_path": null,
        }})
    );
    // Before 2.31 only RDP's tokens were shown, and RDP is gone.
    let answer = app.get(&path, ADMIN, Some("2.30")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = app.get(&path, ALICE, Some("2.31")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.fault_message(),
        "Policy doesn't allow os_compute_api:os-console-auth-tokens to be performed."
    );
    let answer = app
        .get("/v2.1/os-console-auth-tokens/unknown", ADMIN, Some("2.31"))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.fault_message(), "Token not found");
    // Unknown query parameters: ignored until 2.98, refused from 2.99.
    let answer = app.get(&format!("{path}?foo=1"), ADMIN, Some("2.98")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = app.get(&format!("{path}?foo=1"), ADMIN, Some("2.99")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // The server's delete takes its tokens.
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v2.1/servers/{id}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let answer = app.get(&path, ADMIN, Some("2.31")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_spice_direct_token_shows_its_tls_port_from_2_99() {
    let app = TestApp::builder()
        .compute(|c| c.consoles.spice.enabled = true)
        .build()
        .await;
    let id = app.create_server(ALICE, "vm").await;
    let answer = remote_console(
        &app,
        &id,
        "2.99",
        json!({"remote_console": {"protocol": "spice", "type": "spice-direct"}}),
    )
    .await;
    let url = answer.body["remote_console"]["url"].as_str().unwrap();
    let token = url.split("token=").nth(1).unwrap();
    let path = format!("/v2.1/os-console-auth-tokens/{token}");
    let answer = app.get(&path, ADMIN, Some("2.99")).await;
    assert_eq!(answer.body["console"]["tls_port"], 5901, "{}", answer.text);
    let answer = app.get(&path, ADMIN, Some("2.98")).await;
    assert!(answer.body["console"].get("tls_port").is_none());
}

#[tokio::test]
async fn a_snapshot_being_saved_refuses_a_second_and_can_be_deleted() {
    let app = TestApp::builder()
        .compute(|c| c.snapshot_upload_delay = Duration::from_secs(60))
        .build()
        .await;
    let id = app.create_server(ALICE, "vm").await;
    let body = |name: &str| json!({"createImage": {"name": name}});
    let answer = act(&app, &id, "2.45", body("first")).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let image = answer.body["image_id"].as_str().unwrap().to_string();
    let shown = app
        .get(&format!("/v2.1/images/{image}"), ALICE, Some("2.1"))
        .await;
    assert_eq!(shown.body["image"]["status"], "SAVING");
    let answer = act(&app, &id, "2.45", body("second")).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(
        answer.fault_message(),
        format!("Cannot 'createImage' instance {id} while it is in task_state image_uploading")
    );
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v2.1/images/{image}"),
            Some(ALICE),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let server = app
        .get(&format!("/v2.1/servers/{id}"), ALICE, Some("2.1"))
        .await;
    assert_eq!(server.body["server"]["status"], "ACTIVE");
    assert_eq!(server.body["server"]["OS-EXT-STS:task_state"], Value::Null);
    let answer = act(&app, &id, "2.45", body("third")).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
}
