//! The Image v2 endpoint's writes, as Glance answers them: create, PATCH
//! with JSON Patch, data streamed up and down and checked by its hashes,
//! the size cap, tags, members, deactivation, delete, and what another
//! project or a reader may not do.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use md5::Digest;
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";
pub(crate) const OCTETS: &str = "application/octet-stream";

/// One call to the image app mounted at `/image`.
pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: Body,
) -> Answer {
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(format!("/image{path}"))
        .header("host", "cloud.example:8774")
        .header("x-auth-token", token);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    app.raw(builder.body(body).expect("request")).await
}

pub(crate) async fn get(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::GET, path, token, None, Body::empty()).await
}

pub(crate) async fn delete(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::DELETE, path, token, None, Body::empty()).await
}

async fn put_empty(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::PUT, path, token, None, Body::empty()).await
}

pub(crate) async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    call(
        app,
        Method::POST,
        path,
        token,
        Some("application/json"),
        Body::from(body.to_string()),
    )
    .await
}

async fn patch(app: &TestApp, id: &str, token: &str, ops: Value) -> Answer {
    call(
        app,
        Method::PATCH,
        &format!("/v2/images/{id}"),
        token,
        Some(PATCH),
        Body::from(ops.to_string()),
    )
    .await
}

/// A body sent in 64 KiB chunks, as a client streams a file.
pub(crate) fn chunked(data: Vec<u8>) -> Body {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures::stream::iter(chunks))
}

pub(crate) async fn put_file(app: &TestApp, id: &str, token: &str, data: Vec<u8>) -> Answer {
    call(
        app,
        Method::PUT,
        &format!("/v2/images/{id}/file"),
        token,
        Some(OCTETS),
        chunked(data),
    )
    .await
}

pub(crate) async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let made = post(app, "/v2/images", token, body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    made.body["id"].as_str().expect("id").to_string()
}

pub(crate) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[tokio::test]
async fn create_registers_a_queued_image_as_glance_shows_it() {
    let app = TestApp::new().await;

    let made = post(
        &app,
        "/v2/images",
        ALICE,
        json!({"name": "disk", "disk_format": "qcow2", "container_format": "bare",
               "tags": ["b", "a"], "os_distro": "debian", "min_ram": 64}),
    )
    .await;

    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_str().unwrap();
    assert_eq!(
        made.header("location").as_deref(),
        Some(format!("http://cloud.example:8774/image/v2/images/{id}").as_str())
    );
    let mut stable = made.body.clone();
    for key in ["id", "created_at", "updated_at", "self", "file"] {
        stable[key] = json!(format!("[{key}]"));
    }
    assert_eq!(
        stable,
        json!({
            "id": "[id]", "name": "disk", "status": "queued", "visibility": "shared",
            "protected": false, "os_hidden": false, "checksum": null, "os_hash_algo": null,
            "os_hash_value": null, "owner": "alpha", "size": null, "virtual_size": null,
            "min_ram": 64, "min_disk": 0, "disk_format": "qcow2", "container_format": "bare",
            "created_at": "[created_at]", "updated_at": "[updated_at]", "tags": ["a", "b"],
            "self": "[self]", "file": "[file]", "schema": "/v2/schemas/image",
            "os_distro": "debian"
        })
    );
    let refusals = [
        (json!({"status": "active"}), StatusCode::FORBIDDEN),
        (json!({"locations": []}), StatusCode::FORBIDDEN),
        (json!({"visibility": "public"}), StatusCode::FORBIDDEN),
        (json!({"disk_format": "floppy"}), StatusCode::BAD_REQUEST),
        (json!({"min_ram": "lots"}), StatusCode::BAD_REQUEST),
        (json!({"os_distro": 7}), StatusCode::BAD_REQUEST),
        (json!({"id": id}), StatusCode::CONFLICT),
        (json!(["not", "an", "object"]), StatusCode::BAD_REQUEST),
    ];
    for (body, status) in refusals {
        let answer = post(&app, "/v2/images", ALICE, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
    }
    let public = post(&app, "/v2/images", ADMIN, json!({"visibility": "public"})).await;
    assert_eq!(public.status, StatusCode::CREATED);
}

#[tokio::test]
async fn ten_megabytes_go_up_and_come_back_with_their_hashes() {
    let app = TestApp::new().await;
    let id = create(
        &app,
        ALICE,
        json!({"name": "big", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let empty = get(&app, &format!("/v2/images/{id}/file"), ALICE).await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT, "no data yet");
    let sent = data(10 * 1024 * 1024);
    let md5 = hex::encode(md5::Md5::digest(&sent));
    let sha512 = hex::encode(sha2::Sha512::digest(&sent));

    let put = put_file(&app, &id, ALICE, sent.clone()).await;

    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);
    let shown = get(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(shown.body["status"], "active");
    assert_eq!(shown.body["size"], 10 * 1024 * 1024);
    assert_eq!(shown.body["checksum"], md5.as_str());
    assert_eq!(shown.body["os_hash_algo"], "sha512");
    assert_eq!(shown.body["os_hash_value"], sha512.as_str());
    let back = get(&app, &format!("/v2/images/{id}/file"), ALICE).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.header("content-md5").as_deref(), Some(md5.as_str()));
    assert_eq!(back.header("content-type").as_deref(), Some(OCTETS));
    assert_eq!(
        back.header("content-length"),
        Some((10 * 1024 * 1024).to_string())
    );
    assert_eq!(back.bytes.len(), sent.len());
    assert_eq!(hex::encode(md5::Md5::digest(&back.bytes)), md5);
    assert_eq!(hex::encode(sha2::Sha512::digest(&back.bytes)), sha512);

    let mut ranged = axum::http::Request::builder()
        .uri(format!("/image/v2/images/{id}/file"))
        .header("host", "cloud.example:8774")
        .header("x-auth-token", ALICE)
        .header("range", "bytes=10-19");
    ranged = ranged.method(Method::GET);
    let part = app.raw(ranged.body(Body::empty()).unwrap()).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes, sent[10..20].to_vec());
    assert_eq!(
        part.header("content-range").as_deref(),
        Some("bytes 10-19/10485760")
    );
    let again = put_file(&app, &id, ALICE, b"more".to_vec()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_body_over_the_cap_is_413_and_the_image_stays_queued() {
    let app = TestApp::builder().image_size_cap(1024 * 1024).build().await;
    let id = create(&app, ALICE, json!({"name": "capped"})).await;

    let refused = put_file(&app, &id, ALICE, data(1024 * 1024 + 1)).await;

    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.text
    );
    let shown = get(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(
        (shown.body["status"].clone(), shown.body["size"].clone()),
        (json!("queued"), Value::Null)
    );
    let fits = put_file(&app, &id, ALICE, data(1024 * 1024)).await;
    assert_eq!(fits.status, StatusCode::NO_CONTENT);
    let wrong_type = call(
        &app,
        Method::PUT,
        &format!("/v2/images/{id}/file"),
        ALICE,
        Some("application/json"),
        Body::from("{}"),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn patch_takes_glance_s_json_patch_and_gives_its_answers() {
    let app = TestApp::new().await;
    let id = create(&app, ALICE, json!({"name": "p", "os_distro": "debian"})).await;

    let changed = patch(
        &app,
        &id,
        ALICE,
        json!([
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "remove", "path": "/os_distro"},
            {"op": "add", "path": "/tags", "value": ["x"]},
            {"op": "replace", "path": "/visibility", "value": "private"}
        ]),
    )
    .await;

    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["name"], "renamed");
    assert_eq!(changed.body["hw_disk_bus"], "scsi");
    assert_eq!(changed.body.get("os_distro"), None);
    assert_eq!(changed.body["tags"], json!(["x"]));
    assert_eq!(changed.body["visibility"], "private");
    let as_json = call(
        &app,
        Method::PATCH,
        &format!("/v2/images/{id}"),
        ALICE,
        Some("application/json"),
        Body::from("[]"),
    )
    .await;
    assert_eq!(as_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let refusals = [
        (
            json!([{"op": "replace", "path": "/size", "value": 1}]),
            StatusCode::FORBIDDEN,
        ),
        (
            json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
            StatusCode::FORBIDDEN,
        ),
        (
            json!([{"op": "remove", "path": "/nothing"}]),
            StatusCode::CONFLICT,
        ),
        (
            json!([{"op": "add", "path": "/min_disk", "value": -1}]),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (ops, status) in refusals {
        let answer = patch(&app, &id, ALICE, ops.clone()).await;
        assert_eq!(answer.status, status, "{ops}: {}", answer.text);
    }
    let read_only = patch(
        &app,
        &id,
        ALICE,
        json!([{"op": "replace", "path": "/status", "value": "active"}]),
    )
    .await;
    assert_eq!(
        read_only.text,
        "403 Forbidden\n\nAttribute 'status' is read-only.\n\n   "
    );
}

#[tokio::test]
async fn another_project_neither_sees_nor_downloads_nor_uploads() {
    let app = TestApp::new().await;
    let private = create(
        &app,
        ALICE,
        json!({"name": "mine", "visibility": "private"}),
    )
    .await;
    assert_eq!(
        put_file(&app, &private, ALICE, b"secret".to_vec())
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let shared = create(&app, ALICE, json!({"name": "ours", "visibility": "shared"})).await;

    assert_eq!(
        get(&app, &format!("/v2/images/{private}"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{private}/file"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let listed = get(&app, "/v2/images", BOB).await;
    assert!(!listed.text.contains(&private) && !listed.text.contains(&shared));
    let bob_patch = patch(
        &app,
        &private,
        BOB,
        json!([{"op": "replace", "path": "/name", "value": "x"}]),
    )
    .await;
    assert_eq!(bob_patch.status, StatusCode::NOT_FOUND);

    let added = post(
        &app,
        &format!("/v2/images/{shared}/members"),
        ALICE,
        json!({"member": "beta"}),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(added.body["status"], "pending");
    assert_eq!(added.body["schema"], "/v2/schemas/member");
    assert_eq!(
        get(&app, &format!("/v2/images/{shared}"), BOB).await.status,
        StatusCode::OK
    );
    assert_eq!(
        put_file(&app, &shared, BOB, b"intruder".to_vec())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{shared}"), ALICE).await.body["status"],
        "queued"
    );
    let accept = call(
        &app,
        Method::PUT,
        &format!("/v2/images/{shared}/members/beta"),
        BOB,
        Some("application/json"),
        Body::from(json!({"status": "accepted"}).to_string()),
    )
    .await;
    assert_eq!(accept.body["status"], "accepted", "{}", accept.text);
    assert!(get(&app, "/v2/images", BOB).await.text.contains(&shared));
    let members = get(&app, &format!("/v2/images/{shared}/members"), ALICE).await;
    assert_eq!(members.body["members"][0]["member_id"], "beta");
    assert_eq!(members.body["schema"], "/v2/schemas/members");
    let gone = delete(&app, &format!("/v2/images/{shared}/members/beta"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &format!("/v2/images/{shared}"), BOB).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_reader_reads_but_cannot_write() {
    let app = TestApp::new().await;
    let id = create(&app, ALICE, json!({"name": "r"})).await;
    let as_reader = |method: Method, path: String, ct: Option<&'static str>, body: &'static str| {
        let mut ctx = compute::RequestContext::new("reader", "alpha");
        ctx.roles = vec!["reader".into()];
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(format!("/image{path}"))
            .header("host", "cloud.example:8774");
        if let Some(ct) = ct {
            builder = builder.header("content-type", ct);
        }
        let mut request = builder.body(Body::from(body)).unwrap();
        request.extensions_mut().insert(ctx);
        request
    };

    let shown = app
        .raw(as_reader(Method::GET, format!("/v2/images/{id}"), None, ""))
        .await;
    let renamed = app
        .raw(as_reader(
            Method::PATCH,
            format!("/v2/images/{id}"),
            Some(PATCH),
            r#"[{"op": "replace", "path": "/name", "value": "x"}]"#,
        ))
        .await;
    let uploaded = app
        .raw(as_reader(
            Method::PUT,
            format!("/v2/images/{id}/file"),
            Some(OCTETS),
            "data",
        ))
        .await;
    let deleted = app
        .raw(as_reader(
            Method::DELETE,
            format!("/v2/images/{id}"),
            None,
            "",
        ))
        .await;

    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(renamed.status, StatusCode::FORBIDDEN);
    assert_eq!(uploaded.status, StatusCode::FORBIDDEN);
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tags_deactivation_and_delete_as_glance_has_them() {
    let app = TestApp::new().await;
    let id = create(&app, ALICE, json!({"name": "t", "visibility": "private"})).await;
    let tag = put_empty(&app, &format!("/v2/images/{id}/tags/gold"), ALICE).await;
    assert_eq!(tag.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &format!("/v2/images/{id}"), ALICE).await.body["tags"],
        json!(["gold"])
    );
    assert!(get(&app, "/v2/images?tag=gold", ALICE)
        .await
        .text
        .contains(&id));
    let untag = delete(&app, &format!("/v2/images/{id}/tags/gold"), ALICE).await;
    assert_eq!(untag.status, StatusCode::NO_CONTENT);
    let missing = delete(&app, &format!("/v2/images/{id}/tags/gold"), ALICE).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    assert_eq!(
        put_file(&app, &id, ALICE, b"bits".to_vec()).await.status,
        StatusCode::NO_CONTENT
    );
    let by_other = post(
        &app,
        &format!("/v2/images/{id}/actions/deactivate"),
        BOB,
        json!({}),
    )
    .await;
    assert_eq!(by_other.status, StatusCode::NOT_FOUND);
    let by_owner = post(
        &app,
        &format!("/v2/images/{id}/actions/deactivate"),
        ALICE,
        json!({}),
    )
    .await;
    assert_eq!(by_owner.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, &format!("/v2/images/{id}/file"), ALICE)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{id}/file"), ADMIN)
            .await
            .bytes,
        b"bits".to_vec()
    );
    let back = post(
        &app,
        &format!("/v2/images/{id}/actions/reactivate"),
        ADMIN,
        json!({}),
    )
    .await;
    assert_eq!(back.status, StatusCode::NO_CONTENT);

    let protect = patch(
        &app,
        &id,
        ALICE,
        json!([{"op": "replace", "path": "/protected", "value": true}]),
    )
    .await;
    assert_eq!(protect.status, StatusCode::OK);
    let kept = delete(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(kept.status, StatusCode::FORBIDDEN);
    patch(
        &app,
        &id,
        ALICE,
        json!([{"op": "replace", "path": "/protected", "value": false}]),
    )
    .await;
    let deleted = delete(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = get(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.text,
        format!("404 Not Found\n\nNo image found with ID {id}\n\n   ")
    );
}

#[tokio::test]
async fn glance_direct_stages_then_imports_and_web_download_is_refused() {
    let app = TestApp::new().await;
    let info = get(&app, "/v2/info/import", ALICE).await;
    assert_eq!(
        info.body["import-methods"]["value"],
        json!(["glance-direct"])
    );
    let stores = get(&app, "/v2/info/stores", ALICE).await;
    assert_eq!(stores.body["stores"][0]["id"], "file");
    assert_eq!(stores.body["stores"][0]["default"], true);
    let id = create(
        &app,
        ALICE,
        json!({"name": "staged", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;

    let web = post(
        &app,
        &format!("/v2/images/{id}/import"),
        ALICE,
        json!({"method": {"name": "web-download", "uri": "http://example.com/x"}}),
    )
    .await;
    assert_eq!(web.status, StatusCode::BAD_REQUEST);
    let staged = call(
        &app,
        Method::PUT,
        &format!("/v2/images/{id}/stage"),
        ALICE,
        Some(OCTETS),
        chunked(data(1000)),
    )
    .await;
    assert_eq!(staged.status, StatusCode::NO_CONTENT, "{}", staged.text);
    assert_eq!(
        get(&app, &format!("/v2/images/{id}"), ALICE).await.body["status"],
        "uploading"
    );
    let imported = post(
        &app,
        &format!("/v2/images/{id}/import"),
        ALICE,
        json!({"method": {"name": "glance-direct"}}),
    )
    .await;
    assert_eq!(imported.status, StatusCode::ACCEPTED, "{}", imported.text);

    let shown = get(&app, &format!("/v2/images/{id}"), ALICE).await;
    assert_eq!(shown.body["status"], "active");
    assert_eq!(
        shown.body["checksum"],
        hex::encode(md5::Md5::digest(data(1000))).as_str()
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{id}/file"), ALICE)
            .await
            .bytes,
        data(1000)
    );
}

#[tokio::test]
async fn lists_filter_sort_and_page_as_glance_does() {
    let app = TestApp::new().await;
    let a = create(
        &app,
        ALICE,
        json!({"name": "a", "disk_format": "raw", "visibility": "private"}),
    )
    .await;
    let b = create(
        &app,
        ALICE,
        json!({"name": "b", "disk_format": "qcow2", "visibility": "private"}),
    )
    .await;
    let hidden = create(
        &app,
        ALICE,
        json!({"name": "h", "os_hidden": true, "visibility": "private"}),
    )
    .await;

    let newest_first = get(&app, "/v2/images?visibility=private", ALICE).await;
    let ids: Vec<&str> = newest_first.body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()], "hidden images are left out");
    let by_name = get(&app, "/v2/images?visibility=private&sort=name:asc", ALICE).await;
    assert_eq!(by_name.body["images"][0]["id"], a.as_str());
    let raw = get(&app, "/v2/images?disk_format=raw", ALICE).await;
    assert_eq!(raw.body["images"].as_array().unwrap().len(), 1);
    let either = get(
        &app,
        "/v2/images?visibility=private&disk_format=in:raw,qcow2",
        ALICE,
    )
    .await;
    assert_eq!(either.body["images"].as_array().unwrap().len(), 2);
    let only_hidden = get(&app, "/v2/images?os_hidden=true", ALICE).await;
    assert_eq!(only_hidden.body["images"][0]["id"], hidden.as_str());
    let page = get(&app, "/v2/images?visibility=private&limit=1", ALICE).await;
    assert_eq!(
        page.body["next"],
        format!("/v2/images?visibility=private&limit=1&marker={b}")
    );
    for bad in [
        "sort_key=bogus",
        "sort_dir=sideways",
        "limit=-1",
        "visibility=everyone",
        "sort=name&sort_key=name",
        "marker=nope",
    ] {
        assert_eq!(
            get(&app, &format!("/v2/images?{bad}"), ALICE).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let schema = get(&app, "/v2/schemas/image", ALICE).await;
    assert_eq!(schema.body["name"], "image");
    assert_eq!(
        schema.body["additionalProperties"],
        json!({"type": "string"})
    );
}
