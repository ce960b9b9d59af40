//! The compute API's image proxy (`/images`, 2.1-2.35; metadata up to
//! 2.38) and the read-only Image v2 endpoint over the same catalogue.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{Answer, TestApi, ADMIN, ALICE, BOB};

const CIRROS: &str = compute::CIRROS_IMAGE_UUID;

async fn private_image(api: &TestApi, project: &str) -> String {
    let ctx = compute::RequestContext::new("owner", project);
    let mut new = compute::NewImage::new("private-snap");
    new.visibility = Some("private".into());
    api.compute
        .create_image(&ctx, new)
        .await
        .expect("image")
        .uuid
}

#[tokio::test]
async fn proxy_lists_and_shows_the_catalogue_until_2_35() {
    let api = TestApi::new().await;
    let list = api.get("/images", ALICE, None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["images"][0]["id"], CIRROS);
    assert_eq!(list.body["images"][0]["links"][2]["rel"], "alternate");

    let shown = api
        .get(&format!("/images/{CIRROS}"), ALICE, Some("2.35"))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    let image = &shown.body["image"];
    assert_eq!(image["status"], "ACTIVE");
    assert_eq!(image["progress"], 100);
    assert_eq!(image["minDisk"], 0);
    assert_eq!(image["metadata"]["os_distro"], "cirros");

    let gone = api.get("/images", ALICE, Some("2.36")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let by_name = api.get("/images/cirros", ALICE, None).await;
    assert_eq!(by_name.status, StatusCode::NOT_FOUND);
    assert_eq!(by_name.fault_message(), "Image not found.");
}

#[tokio::test]
async fn proxy_filters_by_name_and_by_glance_id_list() {
    let api = TestApi::new().await;
    let name = compute::CIRROS_IMAGE_NAME;
    let found = api.get(&format!("/images?name={name}"), ALICE, None).await;
    assert_eq!(found.body["images"].as_array().map(Vec::len), Some(1));
    let none = api.get("/images?name=nothing", ALICE, None).await;
    assert_eq!(none.body["images"], json!([]));
    let ids = api
        .get(&format!("/images/detail?id=in:{CIRROS}"), ALICE, None)
        .await;
    assert_eq!(ids.body["images"][0]["id"], CIRROS);
    let min = api.get("/images/detail?minDisk=100", ALICE, None).await;
    assert_eq!(min.body["images"], json!([]));
}

#[tokio::test]
async fn private_images_stay_in_their_project() {
    let api = TestApi::new().await;
    let uuid = private_image(&api, "alpha").await;
    assert_eq!(
        api.get(&format!("/images/{uuid}"), ALICE, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        api.get(&format!("/images/{uuid}"), BOB, None).await.status,
        StatusCode::NOT_FOUND
    );
    let denied = api
        .call(
            Method::DELETE,
            &format!("/images/{CIRROS}"),
            ALICE,
            None,
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.fault_message(),
        "You are not allowed to delete the image."
    );
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/images/{uuid}"),
            ALICE,
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn image_metadata_until_2_38() {
    let api = TestApi::new().await;
    let uuid = private_image(&api, "alpha").await;
    let path = format!("/images/{uuid}/metadata");
    let created = api
        .call(
            Method::POST,
            &path,
            ALICE,
            Some("2.38"),
            Some(json!({"metadata": {"a": "1", "b": "2"}})),
        )
        .await;
    assert_eq!(created.body, json!({"metadata": {"a": "1", "b": "2"}}));
    let one = api.get(&format!("{path}/a"), ALICE, None).await;
    assert_eq!(one.body, json!({"meta": {"a": "1"}}));
    let mismatch = api
        .call(
            Method::PUT,
            &format!("{path}/a"),
            ALICE,
            None,
            Some(json!({"meta": {"b": "3"}})),
        )
        .await;
    assert_eq!(mismatch.fault_message(), "Request body and URI mismatch");
    let replaced = api
        .call(
            Method::PUT,
            &path,
            ALICE,
            None,
            Some(json!({"metadata": {"c": "3"}})),
        )
        .await;
    assert_eq!(replaced.body, json!({"metadata": {"c": "3"}}));
    assert_eq!(
        api.get(&path, ALICE, None).await.body,
        json!({"metadata": {"c": "3"}})
    );
    let deleted = api
        .call(Method::DELETE, &format!("{path}/c"), ALICE, None, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let missing = api
        .call(Method::DELETE, &format!("{path}/c"), ALICE, None, None)
        .await;
    assert_eq!(missing.fault_message(), "Invalid metadata key");
    assert_eq!(
        api.get(&path, ALICE, Some("2.39")).await.status,
        StatusCode::NOT_FOUND
    );
    let admin = api.get(&path, ADMIN, None).await;
    assert_eq!(admin.status, StatusCode::OK);
}

/// A call to the image API the pipeline mounts at `/image`.
async fn glance(api: &TestApi, path: &str, token: Option<&str>) -> Answer {
    let mut builder = axum::http::Request::builder()
        .uri(format!("/image{path}"))
        .header("host", "cloud.example:8774");
    if let Some(token) = token {
        builder = builder.header("x-auth-token", token);
    }
    api.raw(builder.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn image_v2_lists_and_shows_in_glances_format() {
    let api = TestApi::new().await;
    let versions = glance(&api, "/", None).await;
    assert_eq!(versions.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(
        versions.body["versions"][0]["links"][0]["href"],
        "http://cloud.example:8774/image/v2/"
    );

    let list = glance(&api, "/v2/images", Some(ALICE)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["first"], "/v2/images");
    let image = &list.body["images"][0];
    assert_eq!(image["id"], CIRROS);
    assert_eq!(image["status"], "active");
    assert_eq!(image["visibility"], "public");
    assert_eq!(
        image["os_distro"], "cirros",
        "properties sit at the top level"
    );

    let by_name = glance(
        &api,
        &format!("/v2/images?name={}", compute::CIRROS_IMAGE_NAME),
        Some(ALICE),
    )
    .await;
    assert_eq!(by_name.body["images"].as_array().map(Vec::len), Some(1));
    let by_ids = glance(
        &api,
        &format!("/v2/images?id=in:{CIRROS},other"),
        Some(ALICE),
    )
    .await;
    assert_eq!(by_ids.body["images"].as_array().map(Vec::len), Some(1));

    let shown = glance(&api, &format!("/v2/images/{CIRROS}"), Some(ALICE)).await;
    assert_eq!(shown.body["id"], CIRROS, "show is a bare object");
    let mut stable = shown.body.clone();
    stable["created_at"] = json!("[time]");
    stable["updated_at"] = json!("[time]");
    insta::assert_json_snapshot!("image_v2_show", stable);
    assert_eq!(
        glance(&api, "/v2/images/cirros", Some(ALICE)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        glance(&api, "/v2/images", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn image_v2_pages_with_next_links_and_hides_private_images() {
    let api = TestApi::new().await;
    let uuid = private_image(&api, "alpha").await;
    // Glance's default order: newest first.
    let page = glance(&api, "/v2/images?limit=1", Some(ALICE)).await;
    assert_eq!(page.body["images"].as_array().map(Vec::len), Some(1));
    assert_eq!(page.body["images"][0]["id"], uuid.as_str());
    assert_eq!(
        page.body["next"],
        format!("/v2/images?limit=1&marker={uuid}")
    );
    let rest = glance(
        &api,
        &format!("/v2/images?limit=1&marker={uuid}"),
        Some(ALICE),
    )
    .await;
    assert_eq!(rest.body["images"][0]["id"], CIRROS);
    let other = glance(&api, "/v2/images", Some(BOB)).await;
    assert_eq!(other.body["images"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn image_v2_reads_a_token_that_is_not_ascii_as_noauth2_does() {
    let api = TestApi::new().await;
    let uuid = private_image(&api, "caf\u{e9}").await;
    // "élève:café" in latin-1.
    let token = axum::http::HeaderValue::from_bytes(b"\xe9l\xe8ve:caf\xe9").expect("token");
    let request = axum::http::Request::builder()
        .uri(format!("/image/v2/images/{uuid}"))
        .header("host", "cloud.example:8774")
        .header("x-auth-token", token)
        .body(Body::empty())
        .expect("request");

    let shown = api.raw(request).await;

    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["owner"], "caf\u{e9}");
}
