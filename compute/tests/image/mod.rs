//! The image catalogue's writes on both engines: Glance's statuses from
//! `queued` to `deleted`, data streamed to files with its hashes, the
//! size cap, visibility and members per project, and concurrent uploads
//! of one image, of which exactly one wins.

use std::path::Path;
use std::time::Duration;

use compute::metadefs::contents::DefinitionKind;
use compute::metadefs::{NewAssociation, NewDefinition, NewNamespace};
use compute::{
    Compute, Engine, Error, ImageDataError, ImageFilter, ImageUpdate, MemberStatus, MetadefError,
    NewImage, RequestContext, TaskFilter,
};
use md5::Digest;

use crate::support::{admin, alice, bob, Fixture};

on_both_engines!(
    an_upload_takes_a_queued_image_to_active_with_its_hashes,
    deactivated_data_is_for_admins_and_a_delete_keeps_the_row,
    data_over_the_cap_is_refused_and_the_image_goes_back_to_queued,
    a_dropped_upload_puts_the_image_back_to_queued,
    of_two_concurrent_uploads_one_wins_and_the_other_conflicts,
    visibility_and_members_decide_who_sees_and_lists_what,
    only_the_owner_writes_and_glance_s_names_are_kept,
    an_import_records_its_task_for_those_who_see_the_image,
    a_namespace_holds_its_definitions_and_takes_them_when_deleted,
    metadefs_are_written_by_admins_and_protected_ones_stay,
);

/// A fixture whose image data lives in `dir`, with a cap of `cap` bytes.
async fn fixture(engine: Engine, dir: &Path, cap: u64) -> Fixture {
    let data_dir = dir.join("images");
    Fixture::builder(engine)
        .config(move |c| {
            c.images.data_dir = data_dir;
            c.images.size_cap = cap;
        })
        .build()
        .await
}

async fn queued(c: &Compute, ctx: &RequestContext, visibility: &str) -> String {
    let mut new = NewImage::new("img");
    new.status = "queued".into();
    new.visibility = Some(visibility.into());
    new.disk_format = Some("raw".into());
    new.container_format = Some("bare".into());
    c.create_image(ctx, new).await.expect("create").uuid
}

async fn upload(
    c: &Compute,
    ctx: &RequestContext,
    uuid: &str,
    data: &[u8],
) -> Result<compute::Image, ImageDataError> {
    let mut up = c.begin_image_upload(ctx, uuid).await?;
    for chunk in data.chunks(4096) {
        up.write(chunk).await?;
    }
    up.finish().await
}

async fn read_all(c: &Compute, ctx: &RequestContext, uuid: &str) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut data = c.open_image_data(ctx, uuid).await.expect("open")?;
    let mut out = Vec::new();
    data.file.read_to_end(&mut out).await.expect("read");
    assert_eq!(data.size, out.len() as u64);
    Some(out)
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("images"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn an_upload_takes_a_queued_image_to_active_with_its_hashes(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let c = &f.compute;
    let uuid = queued(c, &alice(), "private").await;
    assert_eq!(read_all(c, &alice(), &uuid).await, None, "no data yet");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();

    let image = upload(c, &alice(), &uuid, &data).await.unwrap();

    assert_eq!(image.status, "active");
    assert_eq!(image.size, Some(100_000));
    assert_eq!(image.checksum, Some(hex::encode(md5::Md5::digest(&data))));
    assert_eq!(image.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(
        image.os_hash_value,
        Some(hex::encode(sha2::Sha512::digest(&data)))
    );
    assert_eq!(read_all(c, &alice(), &uuid).await, Some(data));
    assert_eq!(
        files_in(dir.path()),
        vec![uuid.clone()],
        "no partial file left"
    );
    assert!(matches!(
        upload(c, &alice(), &uuid, b"again").await,
        Err(ImageDataError::Conflict(m)) if m == "Image status transition from active to saving is not allowed"
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("images"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

async fn deactivated_data_is_for_admins_and_a_delete_keeps_the_row(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let c = &f.compute;
    let uuid = queued(c, &alice(), "private").await;
    assert!(matches!(
        c.deactivate_image(&admin(), &uuid).await,
        Err(Error::Forbidden(m)) if m == "Not allowed to deactivate image in status 'queued'"
    ));
    upload(c, &alice(), &uuid, b"data").await.unwrap();

    assert!(matches!(
        c.deactivate_image(&bob(), &uuid).await,
        Err(Error::NotFound { .. })
    ));
    c.deactivate_image(&alice(), &uuid).await.unwrap();
    assert_eq!(
        c.get_image(&alice(), &uuid).await.unwrap().status,
        "deactivated"
    );
    assert!(matches!(
        c.open_image_data(&alice(), &uuid).await,
        Err(ImageDataError::Compute(Error::Forbidden(_)))
    ));
    assert_eq!(read_all(c, &admin(), &uuid).await, Some(b"data".to_vec()));
    c.reactivate_image(&admin(), &uuid).await.unwrap();
    assert_eq!(read_all(c, &alice(), &uuid).await, Some(b"data".to_vec()));

    let ec2_id = c.get_image(&alice(), &uuid).await.unwrap().id;
    c.delete_image(&alice(), &uuid).await.unwrap();
    assert!(matches!(
        c.get_image(&alice(), &uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.get_image(&admin(), &uuid).await,
        Err(Error::NotFound { .. })
    ));
    assert!(files_in(dir.path()).is_empty(), "the data file is removed");
    let next = queued(c, &alice(), "private").await;
    assert!(
        c.get_image(&alice(), &next).await.unwrap().id > ec2_id,
        "the deleted image's id is not reused"
    );
    assert!(matches!(
        c.delete_image(&alice(), &uuid).await,
        Err(Error::NotFound { .. })
    ));
}

async fn data_over_the_cap_is_refused_and_the_image_goes_back_to_queued(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 10_000).await;
    let c = &f.compute;
    let uuid = queued(c, &alice(), "private").await;

    let refused = upload(c, &alice(), &uuid, &[7u8; 10_001]).await;

    assert!(matches!(
        refused,
        Err(ImageDataError::TooLarge { cap: 10_000 })
    ));
    let image = c.get_image(&alice(), &uuid).await.unwrap();
    assert_eq!((image.status.as_str(), image.size), ("queued", None));
    assert!(
        files_in(dir.path()).is_empty(),
        "the partial file is removed"
    );
    let exact = upload(c, &alice(), &uuid, &[7u8; 10_000]).await.unwrap();
    assert_eq!(exact.size, Some(10_000));
}

async fn a_dropped_upload_puts_the_image_back_to_queued(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let c = &f.compute;
    let uuid = queued(c, &alice(), "private").await;
    let mut up = c.begin_image_upload(&alice(), &uuid).await.unwrap();
    up.write(b"half").await.unwrap();
    assert_eq!(c.get_image(&alice(), &uuid).await.unwrap().status, "saving");

    drop(up);

    let mut status = String::new();
    for _ in 0..100 {
        status = c.get_image(&alice(), &uuid).await.unwrap().status;
        if status == "queued" && files_in(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "queued");
    assert!(files_in(dir.path()).is_empty());
}

async fn of_two_concurrent_uploads_one_wins_and_the_other_conflicts(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let uuid = queued(&f.compute, &alice(), "private").await;
    let other = f.reconnect(2).await;

    let (ctx, ones, twos) = (alice(), vec![1u8; 50_000], vec![2u8; 50_000]);

    let (a, b) = tokio::join!(
        upload(&f.compute, &ctx, &uuid, &ones),
        upload(&other, &ctx, &uuid, &twos),
    );

    let (won, lost) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        (a, b) => panic!("expected one winner: {a:?} / {b:?}"),
    };
    assert!(matches!(lost, ImageDataError::Conflict(_)), "{lost:?}");
    let data = read_all(&f.compute, &alice(), &uuid).await.unwrap();
    assert_eq!(data.len(), 50_000);
    assert!(
        data.iter().all(|b| *b == data[0]),
        "one upload's data, whole"
    );
    assert_eq!(won.checksum, Some(hex::encode(md5::Md5::digest(&data))));
}

fn listed(images: &[compute::Image], uuid: &str) -> bool {
    images.iter().any(|i| i.uuid == uuid)
}

async fn visibility_and_members_decide_who_sees_and_lists_what(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let c = &f.compute;
    let carol = RequestContext::new("carol", "project-c");
    let shared = queued(c, &alice(), "shared").await;
    let private = queued(c, &alice(), "private").await;
    let community = queued(c, &alice(), "community").await;
    let all = ImageFilter::default();

    assert!(matches!(
        c.get_image(&bob(), &shared).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.get_image(&bob(), &private).await,
        Err(Error::NotFound { .. })
    ));
    assert!(c.get_image(&bob(), &community).await.is_ok());
    let bobs = c.list_images(&bob(), &all).await.unwrap();
    assert!(
        !listed(&bobs, &community),
        "community images are listed on request only"
    );
    let communities = ImageFilter {
        visibility: Some("community".into()),
        ..ImageFilter::default()
    };
    assert!(listed(
        &c.list_images(&bob(), &communities).await.unwrap(),
        &community
    ));

    assert!(matches!(
        c.add_image_member(&alice(), &private, "project-b").await,
        Err(Error::Forbidden(_))
    ));
    let member = c
        .add_image_member(&alice(), &shared, "project-b")
        .await
        .unwrap();
    assert_eq!(member.status, MemberStatus::Pending);
    assert!(matches!(
        c.add_image_member(&alice(), &shared, "project-b").await,
        Err(Error::Conflict(_))
    ));
    assert!(
        c.get_image(&bob(), &shared).await.is_ok(),
        "a member sees the image"
    );
    assert!(!listed(
        &c.list_images(&bob(), &all).await.unwrap(),
        &shared
    ));
    assert!(matches!(
        c.get_image(&carol, &shared).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.add_image_member(&bob(), &shared, "project-c").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        c.set_image_member_status(&alice(), &shared, "project-b", MemberStatus::Accepted)
            .await,
        Err(Error::Forbidden(_))
    ));

    c.set_image_member_status(&bob(), &shared, "project-b", MemberStatus::Accepted)
        .await
        .unwrap();
    assert!(listed(&c.list_images(&bob(), &all).await.unwrap(), &shared));
    c.set_image_member_status(&bob(), &shared, "project-b", MemberStatus::Rejected)
        .await
        .unwrap();
    assert!(!listed(
        &c.list_images(&bob(), &all).await.unwrap(),
        &shared
    ));
    let rejected = ImageFilter {
        member_status: Some("rejected".into()),
        ..ImageFilter::default()
    };
    assert!(listed(
        &c.list_images(&bob(), &rejected).await.unwrap(),
        &shared
    ));
    assert_eq!(
        c.list_image_members(&bob(), &shared).await.unwrap().len(),
        1
    );
    c.add_image_member(&alice(), &shared, "project-c")
        .await
        .unwrap();
    assert_eq!(
        c.list_image_members(&bob(), &shared).await.unwrap().len(),
        1,
        "a member sees only itself"
    );
    assert_eq!(
        c.list_image_members(&alice(), &shared).await.unwrap().len(),
        2
    );
    assert!(matches!(
        upload(c, &bob(), &shared, b"x").await,
        Err(ImageDataError::Compute(Error::Forbidden(_)))
    ));
    assert!(matches!(
        c.delete_image(&bob(), &shared).await,
        Err(Error::Forbidden(_))
    ));
    c.remove_image_member(&alice(), &shared, "project-b")
        .await
        .unwrap();
    assert!(matches!(
        c.get_image(&bob(), &shared).await,
        Err(Error::NotFound { .. })
    ));

    let public = ImageUpdate {
        visibility: Some("public".into()),
        ..ImageUpdate::default()
    };
    assert!(matches!(
        c.update_image(&alice(), &private, public.clone()).await,
        Err(Error::Forbidden(_))
    ));
    c.update_image(&admin(), &private, public).await.unwrap();
    assert!(c.get_image(&bob(), &private).await.is_ok());
    let hidden = ImageUpdate {
        os_hidden: Some(true),
        ..ImageUpdate::default()
    };
    c.update_image(&alice(), &private, hidden).await.unwrap();
    assert!(!listed(
        &c.list_images(&bob(), &all).await.unwrap(),
        &private
    ));
    let hidden_only = ImageFilter {
        os_hidden: Some(true),
        ..ImageFilter::default()
    };
    assert!(listed(
        &c.list_images(&bob(), &hidden_only).await.unwrap(),
        &private
    ));
}

async fn only_the_owner_writes_and_glance_s_names_are_kept(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 30).await;
    let c = &f.compute;
    let uuid = queued(c, &alice(), "community").await;
    let mut reader = alice();
    reader.roles = vec!["reader".into()];

    assert!(matches!(
        c.add_image_tag(&reader, &uuid, "gold").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        c.add_image_tag(&bob(), &uuid, "gold").await,
        Err(Error::Forbidden(_))
    ));
    c.add_image_tag(&alice(), &uuid, "gold").await.unwrap();
    c.add_image_tag(&alice(), &uuid, "gold").await.unwrap();
    c.add_image_tag(&alice(), &uuid, "blue").await.unwrap();
    assert_eq!(
        c.get_image(&bob(), &uuid).await.unwrap().tags,
        ["blue", "gold"]
    );
    let tagged = ImageFilter {
        tags: vec!["gold".into()],
        visibility: Some("community".into()),
        ..ImageFilter::default()
    };
    assert!(listed(
        &c.list_images(&bob(), &tagged).await.unwrap(),
        &uuid
    ));
    c.remove_image_tag(&alice(), &uuid, "gold").await.unwrap();
    assert!(matches!(
        c.remove_image_tag(&alice(), &uuid, "gold").await,
        Err(Error::NotFound { .. })
    ));

    let reserved = ImageUpdate {
        properties: [(
            "os_glance_import_task".to_string(),
            Some(serde_json::json!("x")),
        )]
        .into(),
        ..ImageUpdate::default()
    };
    assert!(matches!(
        c.update_image(&alice(), &uuid, reserved).await,
        Err(Error::Forbidden(m)) if m == "Attribute 'os_glance_import_task' is reserved."
    ));
    let mut bad = NewImage::new("bad");
    bad.disk_format = Some("floppy".into());
    assert!(matches!(
        c.create_image(&alice(), bad).await,
        Err(Error::Invalid(_))
    ));
    let mut theirs = NewImage::new("theirs");
    theirs.owner = Some("project-b".into());
    assert!(matches!(
        c.create_image(&alice(), theirs).await,
        Err(Error::Forbidden(_))
    ));
    let mut protected = NewImage::new("keep");
    protected.protected = true;
    let kept = c.create_image(&alice(), protected).await.unwrap();
    assert!(matches!(
        c.delete_image(&alice(), &kept.uuid).await,
        Err(Error::Forbidden(m)) if m.contains("is protected")
    ));
    let formats = ImageUpdate {
        disk_format: Some(Some("qcow2".into())),
        ..ImageUpdate::default()
    };
    assert!(matches!(
        c.update_image(&alice(), &kept.uuid, formats).await,
        Err(Error::Forbidden(m)) if m == "Attribute disk_format can be only replaced for a queued image."
    ));
}

async fn an_import_records_its_task_for_those_who_see_the_image(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 20).await;
    let c = &f.compute;
    let uploaded = queued(c, &alice(), "private").await;
    upload(c, &alice(), &uploaded, b"data").await.unwrap();
    let imported = queued(c, &alice(), "private").await;
    let mut stage = c.begin_image_stage(&alice(), &imported).await.unwrap();
    stage.write(b"staged").await.unwrap();
    stage.finish().await.unwrap();
    let request = serde_json::json!({"method": {"name": "glance-direct"}});

    let importer = alice();
    c.import_staged_image(&importer, &imported, &request)
        .await
        .unwrap();

    assert!(c.image_tasks(&alice(), &uploaded).await.unwrap().is_empty());
    let tasks = c.image_tasks(&alice(), &imported).await.unwrap();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(
        (task.task_type.as_str(), task.status.as_str()),
        ("api_image_import", "success")
    );
    assert_eq!(task.input["import_req"], request);
    assert_eq!(task.image_id.as_deref(), Some(imported.as_str()));
    assert_eq!(task.owner, "project-a");
    assert_eq!(
        task.request_id.as_deref(),
        Some(importer.request_id.as_str())
    );
    assert_eq!(task.user_id.as_deref(), Some("alice"));
    assert!(task.expires_at.is_some_and(|e| e > task.created_at));
    assert!(matches!(
        c.image_tasks(&bob(), &imported).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.list_tasks(&alice(), &TaskFilter::default()).await,
        Err(Error::Forbidden(_))
    ));
    let all = c
        .list_tasks(&admin(), &TaskFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(c.get_task(&admin(), &task.id).await.unwrap(), *task);
    let only_failed = TaskFilter {
        status: Some("failure".into()),
        ..Default::default()
    };
    assert!(c
        .list_tasks(&admin(), &only_failed)
        .await
        .unwrap()
        .is_empty());
    let fetch = serde_json::json!({"import_from": "https://example.com/x.qcow2"});
    assert!(matches!(
        c.create_task(&admin(), "import", &fetch).await,
        Err(Error::Invalid(m)) if m.contains("does not pass filtering")
    ));
    assert_eq!(
        c.list_tasks(&admin(), &TaskFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

fn definition(name: &str, body: serde_json::Value) -> NewDefinition {
    NewDefinition {
        name: name.into(),
        body: body.as_object().cloned().unwrap_or_default(),
    }
}

async fn a_namespace_holds_its_definitions_and_takes_them_when_deleted(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 20).await;
    let c = &f.compute;
    let new = NewNamespace {
        namespace: "ns".into(),
        visibility: Some("public".into()),
        resource_type_associations: vec![NewAssociation {
            name: "OS::Glance::Image".into(),
            ..Default::default()
        }],
        objects: vec![definition("o", serde_json::json!({"description": "d"}))],
        properties: vec![definition(
            "p",
            serde_json::json!({"title": "P", "type": "string"}),
        )],
        tags: vec!["t1".into(), "t2".into()],
        ..Default::default()
    };

    let (ns, contents) = c.create_namespace(&admin(), new).await.unwrap();

    assert_eq!(ns.owner.as_deref(), Some("admin"));
    assert_eq!(ns.resource_type_associations[0].name, "OS::Glance::Image");
    assert_eq!(contents.objects[0].name, "o");
    assert_eq!(contents.properties[0].body["title"], "P");
    assert_eq!(contents.tags.len(), 2);
    let renamed = c
        .update_namespace(
            &admin(),
            "ns",
            NewNamespace {
                namespace: "ns2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.namespace.as_str(), renamed.visibility.as_str()),
        ("ns2", "public")
    );
    let (_, kept) = c.get_namespace(&alice(), "ns2").await.unwrap();
    assert_eq!(kept, contents, "a rename keeps what the namespace holds");
    c.update_definition(
        &admin(),
        "ns2",
        DefinitionKind::Object,
        "o",
        definition("o2", serde_json::json!({})),
    )
    .await
    .unwrap();
    assert!(matches!(
        c.get_definition(&alice(), "ns2", DefinitionKind::Object, "o")
            .await,
        Err(MetadefError::ObjectNotFound { .. })
    ));
    c.delete_namespace(&admin(), "ns2").await.unwrap();
    assert!(matches!(
        c.get_namespace(&admin(), "ns2").await,
        Err(MetadefError::NamespaceNotFound(_))
    ));
    // The name is free again, and the new namespace holds nothing.
    let (_, fresh) = c
        .create_namespace(
            &admin(),
            NewNamespace {
                namespace: "ns2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(fresh, Default::default());
}

async fn metadefs_are_written_by_admins_and_protected_ones_stay(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(engine, dir.path(), 1 << 20).await;
    let c = &f.compute;
    let private = NewNamespace {
        namespace: "mine".into(),
        protected: Some(true),
        tags: vec!["t".into()],
        ..Default::default()
    };
    assert!(matches!(
        c.create_namespace(&alice(), private.clone()).await,
        Err(MetadefError::Compute(Error::Forbidden(_)))
    ));
    c.create_namespace(&admin(), private.clone()).await.unwrap();
    assert!(matches!(
        c.create_namespace(&admin(), private).await,
        Err(MetadefError::Duplicate(_))
    ));

    assert!(matches!(
        c.get_namespace(&alice(), "mine").await,
        Err(MetadefError::NamespaceNotFound(_))
    ));
    assert!(c
        .list_namespaces(&alice(), &Default::default())
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        c.delete_namespace(&admin(), "mine").await,
        Err(MetadefError::Protected(_))
    ));
    assert!(matches!(
        c.delete_metadef_tag(&admin(), "mine", "t").await,
        Err(MetadefError::Protected(_))
    ));
    assert!(matches!(
        c.associate_resource_type(
            &admin(),
            "mine",
            NewAssociation {
                name: "OS::Unknown".into(),
                ..Default::default()
            }
        )
        .await,
        Err(MetadefError::ResourceTypeNotFound(_))
    ));
    let types = c.list_resource_types(&alice()).await.unwrap();
    assert_eq!(types[0].name, "OS::Glance::Image");
    assert!(types.iter().any(|t| t.name == "OS::Nova::Flavor"));
}
