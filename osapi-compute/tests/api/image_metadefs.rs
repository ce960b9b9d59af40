//! The Image v2 endpoint's tasks and metadata definitions catalog, as
//! Glance answers them: an import's task (and none for an upload), the
//! tasks API for admins only and without URL fetches, and the metadefs'
//! namespaces, objects, properties, tags, resource types and schemas with
//! Glance's policies.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{Answer, TestApp, ADMIN, ALICE, BOB};
use crate::image_v2::{call, chunked, create, data, delete, get, post, put_file, OCTETS};

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    call(
        app,
        Method::PUT,
        path,
        token,
        Some("application/json"),
        Body::from(body.to_string()),
    )
    .await
}

async fn post_empty(app: &TestApp, path: &str, token: &str) -> Answer {
    call(app, Method::POST, path, token, None, Body::empty()).await
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const NS: &str = "/v2/metadefs/namespaces";

#[tokio::test]
async fn an_import_leaves_its_task_and_an_upload_leaves_none() {
    let app = TestApp::new().await;
    let image = json!({"name": "i", "disk_format": "raw", "container_format": "bare"});
    let uploaded = create(&app, ALICE, image.clone()).await;
    assert_eq!(
        put_file(&app, &uploaded, ALICE, data(100)).await.status,
        StatusCode::NO_CONTENT
    );
    let imported = create(&app, ALICE, image).await;
    let staged = call(
        &app,
        Method::PUT,
        &format!("/v2/images/{imported}/stage"),
        ALICE,
        Some(OCTETS),
        chunked(data(100)),
    )
    .await;
    assert_eq!(staged.status, StatusCode::NO_CONTENT, "{}", staged.text);

    let import = post(
        &app,
        &format!("/v2/images/{imported}/import"),
        ALICE,
        json!({"method": {"name": "glance-direct"}}),
    )
    .await;

    assert_eq!(import.status, StatusCode::ACCEPTED, "{}", import.text);
    let none = get(&app, &format!("/v2/images/{uploaded}/tasks"), ALICE).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body, json!({"tasks": []}));
    let tasks = get(&app, &format!("/v2/images/{imported}/tasks"), ALICE).await;
    assert_eq!(tasks.status, StatusCode::OK, "{}", tasks.text);
    let list = tasks.body["tasks"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let task = &list[0];
    assert_eq!(task["type"], "api_image_import");
    assert_eq!(task["status"], "success");
    assert_eq!(task["image_id"], imported.as_str());
    assert_eq!(task["owner"], "alpha");
    assert_eq!(task["user_id"], "alice");
    assert_eq!(
        task["input"]["import_req"]["method"]["name"],
        "glance-direct"
    );
    assert_eq!(task["result"], json!({"image_id": imported}));
    assert_eq!(
        task["request_id"].as_str(),
        import.header("x-openstack-request-id").as_deref()
    );
    assert!(task["expires_at"].is_string());
    // The image is another project's private one: its tasks are not BOB's.
    assert_eq!(
        get(&app, &format!("/v2/images/{imported}/tasks"), BOB)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_tasks_api_is_for_admins_and_fetches_no_url() {
    let app = TestApp::new().await;
    let id = create(
        &app,
        ALICE,
        json!({"name": "i", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    call(
        &app,
        Method::PUT,
        &format!("/v2/images/{id}/stage"),
        ALICE,
        Some(OCTETS),
        chunked(data(10)),
    )
    .await;
    post(
        &app,
        &format!("/v2/images/{id}/import"),
        ALICE,
        json!({"method": {"name": "glance-direct"}}),
    )
    .await;
    let import = json!({"type": "import", "input": {
        "import_from": "http://198.51.100.7/disk.qcow2", "import_from_format": "qcow2",
        "image_properties": {"disk_format": "qcow2", "container_format": "bare"}}});

    assert_eq!(
        get(&app, "/v2/tasks", ALICE).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&app, "/v2/tasks", ALICE, import.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let listed = get(&app, "/v2/tasks", ADMIN).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["first"], "/v2/tasks");
    assert_eq!(listed.body["schema"], "/v2/schemas/tasks");
    let stub = &listed.body["tasks"][0];
    assert_eq!(stub["status"], "success");
    assert!(stub.get("input").is_none());
    let task_id = stub["id"].as_str().unwrap();
    let shown = get(&app, &format!("/v2/tasks/{task_id}"), ADMIN).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["input"]["image_id"], id.as_str());
    assert_eq!(shown.body["self"], format!("/v2/tasks/{task_id}"));
    assert_eq!(
        get(
            &app,
            "/v2/tasks/00000000-0000-0000-0000-000000000000",
            ADMIN
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let refused = post(&app, "/v2/tasks", ADMIN, import).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text.contains("does not pass filtering"),
        "{}",
        refused.text
    );
    let file = post(
        &app,
        "/v2/tasks",
        ADMIN,
        json!({"type": "import", "input": {"import_from": "file:///etc/passwd"}}),
    )
    .await;
    assert_eq!(file.status, StatusCode::BAD_REQUEST);
    let untyped = post(&app, "/v2/tasks", ADMIN, json!({"input": {}})).await;
    assert_eq!(untyped.status, StatusCode::BAD_REQUEST);
    assert!(untyped.text.contains("Task 'type' is required"));
    // Nothing was recorded by the refused requests.
    assert_eq!(
        get(&app, "/v2/tasks", ADMIN).await.body["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn namespaces_are_admins_to_write_and_their_visibility_decides_who_reads() {
    let app = TestApp::new().await;
    let types = get(&app, "/v2/metadefs/resource_types", ALICE).await;
    assert_eq!(types.status, StatusCode::OK);
    assert_eq!(types.body["resource_types"][0]["name"], "OS::Glance::Image");
    let body = json!({"namespace": "ns1", "display_name": "NS 1", "description": "d",
        "visibility": "public", "protected": true,
        "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "hw:"}]});

    assert_eq!(
        post(&app, NS, ALICE, body.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let made = post(&app, NS, ADMIN, body.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["namespace"], "ns1");
    assert_eq!(made.body["owner"], "admin");
    assert_eq!(made.body["self"], "/v2/metadefs/namespaces/ns1");
    assert_eq!(made.body["resource_type_associations"][0]["prefix"], "hw:");
    assert_eq!(
        post(&app, NS, ADMIN, body).await.status,
        StatusCode::CONFLICT
    );
    let private = post(&app, NS, ADMIN, json!({"namespace": "ns2"})).await;
    assert_eq!(private.body["visibility"], "private");
    assert_eq!(private.body["protected"], false);

    let seen = get(&app, NS, ALICE).await;
    assert_eq!(seen.status, StatusCode::OK);
    let seen: Vec<&str> = seen.body["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(seen, vec!["ns1"]);
    assert_eq!(
        get(&app, &format!("{NS}/ns2"), ALICE).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("{NS}/ns1"), ALICE).await.status,
        StatusCode::OK
    );
    assert_eq!(
        delete(&app, &format!("{NS}/ns1"), ALICE).await.status,
        StatusCode::FORBIDDEN
    );
    let protected = delete(&app, &format!("{NS}/ns1"), ADMIN).await;
    assert_eq!(protected.status, StatusCode::FORBIDDEN);
    assert!(protected.text.contains("protected"), "{}", protected.text);
    let read_only = put(
        &app,
        &format!("{NS}/ns1"),
        ADMIN,
        json!({"namespace": "ns1", "self": "x"}),
    )
    .await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN);
    let changed = put(
        &app,
        &format!("{NS}/ns1"),
        ADMIN,
        json!({"namespace": "ns1", "visibility": "private", "protected": false, "description": "e"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["visibility"], "private");
    assert_eq!(changed.body["protected"], false);
    assert_eq!(
        get(&app, &format!("{NS}/ns1"), ALICE).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&app, &format!("{NS}/ns1"), ADMIN).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("{NS}/ns1"), ADMIN).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn objects_properties_tags_and_associations_live_in_their_namespace() {
    let app = TestApp::new().await;
    let made = post(
        &app,
        NS,
        ADMIN,
        json!({"namespace": "n", "visibility": "public"}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);

    let object = post(
        &app,
        &format!("{NS}/n/objects"),
        ADMIN,
        json!({"name": "o1", "description": "d",
        "properties": {"cores": {"title": "Cores", "type": "integer"}}, "required": ["cores"]}),
    )
    .await;
    assert_eq!(object.status, StatusCode::CREATED, "{}", object.text);
    assert_eq!(object.body["self"], "/v2/metadefs/namespaces/n/objects/o1");
    assert_eq!(object.body["properties"]["cores"]["type"], "integer");
    let renamed = put(
        &app,
        &format!("{NS}/n/objects/o1"),
        ADMIN,
        json!({"name": "o2"}),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "o2");
    assert_eq!(
        get(&app, &format!("{NS}/n/objects/o1"), ALICE).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        names(&get(&app, &format!("{NS}/n/objects"), ALICE).await.body["objects"]),
        vec!["o2"]
    );

    let enums = json!(["kvm", "qemu"]);
    let property = post(
        &app,
        &format!("{NS}/n/properties"),
        ADMIN,
        json!({"name": "hv", "title": "Hypervisor", "type": "string", "enum": enums}),
    )
    .await;
    assert_eq!(property.status, StatusCode::CREATED, "{}", property.text);
    assert_eq!(property.body["title"], "Hypervisor");
    let untyped = post(
        &app,
        &format!("{NS}/n/properties"),
        ADMIN,
        json!({"name": "x", "title": "X"}),
    )
    .await;
    assert_eq!(untyped.status, StatusCode::BAD_REQUEST);
    let retitled = put(
        &app,
        &format!("{NS}/n/properties/hv"),
        ADMIN,
        json!({"name": "hv", "title": "HV", "type": "string", "enum": enums}),
    )
    .await;
    assert_eq!(retitled.body["title"], "HV");
    let listed = get(&app, &format!("{NS}/n/properties"), ALICE).await;
    assert_eq!(listed.body["properties"]["hv"]["enum"], enums);
    let shown = get(&app, &format!("{NS}/n"), ALICE).await;
    assert_eq!(shown.body["properties"]["hv"]["title"], "HV");
    assert_eq!(names(&shown.body["objects"]), vec!["o2"]);
    assert_eq!(
        delete(&app, &format!("{NS}/n/properties/hv"), ALICE)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&app, &format!("{NS}/n/properties/hv"), ADMIN)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("{NS}/n/properties"), ALICE).await.body["properties"],
        json!({})
    );

    let tags = json!({"tags": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
    let bulk = post(&app, &format!("{NS}/n/tags"), ADMIN, tags).await;
    assert_eq!(bulk.status, StatusCode::CREATED, "{}", bulk.text);
    assert_eq!(names(&bulk.body["tags"]), vec!["a", "b", "c"]);
    let twice = post(
        &app,
        &format!("{NS}/n/tags"),
        ADMIN,
        json!({"tags": [{"name": "x"}, {"name": "x"}]}),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(
        post_empty(&app, &format!("{NS}/n/tags/d"), ADMIN)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        post_empty(&app, &format!("{NS}/n/tags/d"), ADMIN)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let renamed = put(&app, &format!("{NS}/n/tags/d"), ADMIN, json!({"name": "e"})).await;
    assert_eq!(renamed.body["name"], "e");
    assert_eq!(
        get(&app, &format!("{NS}/n/tags/e"), ALICE).await.body["name"],
        "e"
    );
    assert_eq!(
        delete(&app, &format!("{NS}/n/tags/e"), ADMIN).await.status,
        StatusCode::NO_CONTENT
    );
    let replaced = post(
        &app,
        &format!("{NS}/n/tags"),
        ADMIN,
        json!({"tags": [{"name": "z"}]}),
    )
    .await;
    assert_eq!(names(&replaced.body["tags"]), vec!["z"]);
    let appending = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/image{NS}/n/tags"))
        .header("x-auth-token", ADMIN)
        .header("content-type", "application/json")
        .header("x-openstack-append", "true")
        .body(Body::from(json!({"tags": [{"name": "y"}]}).to_string()))
        .unwrap();
    let appended = app.raw(appending).await;
    assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.text);
    assert_eq!(names(&appended.body["tags"]), vec!["y"]);
    let listed = get(&app, &format!("{NS}/n/tags"), ALICE).await;
    assert_eq!(names(&listed.body["tags"]), vec!["y", "z"]);
    assert_eq!(
        delete(&app, &format!("{NS}/n/tags"), ADMIN).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("{NS}/n/tags"), ALICE).await.body["tags"],
        json!([])
    );

    let associated = post(
        &app,
        &format!("{NS}/n/resource_types"),
        ADMIN,
        json!({"name": "OS::Glance::Image"}),
    )
    .await;
    assert_eq!(
        associated.status,
        StatusCode::CREATED,
        "{}",
        associated.text
    );
    assert_eq!(associated.body["name"], "OS::Glance::Image");
    let unknown = post(
        &app,
        &format!("{NS}/n/resource_types"),
        ADMIN,
        json!({"name": "OS::No::Such"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let listed = get(&app, &format!("{NS}/n/resource_types"), ALICE).await;
    assert_eq!(
        names(&listed.body["resource_type_associations"]),
        vec!["OS::Glance::Image"]
    );
    let filtered = get(
        &app,
        &format!("{NS}?resource_types=OS::Glance::Image"),
        ALICE,
    )
    .await;
    assert_eq!(filtered.body["namespaces"][0]["namespace"], "n");
    assert_eq!(
        delete(
            &app,
            &format!("{NS}/n/resource_types/OS::Glance::Image"),
            ADMIN
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(
            &app,
            &format!("{NS}/n/resource_types/OS::Glance::Image"),
            ADMIN
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // A namespace's delete takes what it holds along.
    assert_eq!(
        delete(&app, &format!("{NS}/n"), ADMIN).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("{NS}/n/objects/o2"), ADMIN).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_minor_version_is_listed_so_clients_find_the_tasks_of_2_12() {
    let app = TestApp::new().await;

    let versions = get(&app, "/versions", ALICE).await;

    let listed: Vec<(&str, &str)> = versions.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(listed.len(), 17);
    assert_eq!(listed[0], ("v2.16", "CURRENT"));
    assert!(listed.contains(&("v2.12", "SUPPORTED")));
    assert_eq!(listed[16], ("v2.0", "SUPPORTED"));
}

#[tokio::test]
async fn every_metadefs_and_task_schema_is_served_by_its_name() {
    let app = TestApp::new().await;
    for (path, name) in [
        ("metadefs/namespace", "namespace"),
        ("metadefs/namespaces", "namespaces"),
        ("metadefs/resource_type", "resource_type_association"),
        ("metadefs/resource_types", "resource_type_associations"),
        ("metadefs/object", "object"),
        ("metadefs/objects", "objects"),
        ("metadefs/property", "property"),
        ("metadefs/properties", "properties"),
        ("metadefs/tag", "tag"),
        ("metadefs/tags", "tags"),
        ("task", "task"),
        ("tasks", "tasks"),
    ] {
        let schema = get(&app, &format!("/v2/schemas/{path}"), ALICE).await;
        assert_eq!(schema.status, StatusCode::OK, "{path}");
        assert_eq!(schema.body["name"], name, "{path}");
    }
    assert_eq!(
        get(&app, "/v2/schemas/metadefs/nothing", ALICE)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
