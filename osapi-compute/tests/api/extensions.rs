//! `/extensions`: nova's fixed list of the v2 extensions, to anyone, and
//! one of them by alias.

use axum::http::StatusCode;

use crate::fixture::{TestApi, ALICE};

#[tokio::test]
async fn the_list_is_novas_and_every_entry_has_its_fields() {
    let api = TestApi::new().await;
    let answer = api.get("/extensions", ALICE, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let extensions = answer.body["extensions"].as_array().expect("a list");
    assert!(extensions.iter().any(|e| e["name"] == "Hosts"));
    let first = &extensions[0];
    assert_eq!(first["alias"], "NMN");
    assert_eq!(first["name"], "Multinic");
    assert_eq!(
        first["namespace"],
        "http://docs.openstack.org/compute/ext/fake_xml"
    );
    assert_eq!(first["updated"], "2014-12-03T00:00:00Z");
    assert_eq!(first["links"], serde_json::json!([]));
    assert_eq!(first["description"], "Multinic.");
}

#[tokio::test]
async fn one_extension_is_shown_by_alias_and_an_unknown_alias_is_404() {
    let api = TestApi::new().await;
    let shown = api.get("/extensions/os-consoles", ALICE, None).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["extension"]["alias"], "os-consoles");
    assert_eq!(shown.body["extension"]["name"], "Consoles");

    let missing = api.get("/extensions/os-nothing", ALICE, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    assert_eq!(
        missing.body["itemNotFound"]["message"],
        "The resource could not be found."
    );
}
