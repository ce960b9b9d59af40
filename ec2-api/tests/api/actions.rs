//! The actions over a real in-memory store: what boto3 sends, what it gets
//! back, and the EC2 errors of each refusal. Key answers are snapshotted.

use std::time::Duration;

use compute::{InstanceFilter, RequestContext};

use crate::fixture::{code, text, texts, Case, TestApp};

/// The answer with run-dependent values (ids of requests, times, keys) masked.
fn normalize(body: &str) -> String {
    let rules = [
        (
            r"<requestId>[^<]*</requestId>",
            "<requestId>REQ</requestId>",
        ),
        (
            r"<RequestID>[^<]*</RequestID>",
            "<RequestID>REQ</RequestID>",
        ),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "TIME"),
        (r"r-[0-9a-z]{8}", "r-RESERVATION"),
        (
            r"<privateDnsName>[^<]*</privateDnsName>",
            "<privateDnsName>HOST</privateDnsName>",
        ),
        (
            r"<keyFingerprint>[^<]*</keyFingerprint>",
            "<keyFingerprint>FP</keyFingerprint>",
        ),
        (
            r"(?s)<keyMaterial>.*</keyMaterial>",
            "<keyMaterial>KEY</keyMaterial>",
        ),
        (r"ec2-[0-9a-f-]{8}", "ec2-NAME"),
    ];
    let mut out = body.to_string();
    for (re, with) in rules {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out.replace("><", ">\n<")
}

const IMAGE: &str = "ami-00000001";

async fn run(app: &TestApp, extra: &[(&str, &str)]) -> Vec<String> {
    let mut params = vec![
        ("ImageId", IMAGE),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("InstanceType", "m1.tiny"),
    ];
    params.extend_from_slice(extra);
    let body = app.ok("RunInstances", &params).await;
    texts(&body, "instanceId")
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn seeded_image_is_ami_00000001() {
    let app = TestApp::noauth().await;
    let body = app.ok("DescribeImages", &[]).await;
    assert_eq!(texts(&body, "imageId"), vec![IMAGE]);
    insta::assert_snapshot!("describe_images", normalize(&body));
}

#[tokio::test]
async fn run_instances_answers_a_reservation_and_the_compute_api_sees_it() {
    let app = TestApp::noauth().await;
    let body = app
        .ok(
            "RunInstances",
            &[
                ("ImageId", IMAGE),
                ("MinCount", "2"),
                ("MaxCount", "2"),
                ("InstanceType", "m1.tiny"),
                ("Placement.AvailabilityZone", "nova"),
                ("UserData", "IyEvYmluL3NoCmVjaG8gaGk="),
                ("TagSpecification.1.ResourceType", "instance"),
                ("TagSpecification.1.Tag.1.Key", "Name"),
                ("TagSpecification.1.Tag.1.Value", "web"),
                ("ClientToken", "tok-1"),
            ],
        )
        .await;
    assert_eq!(texts(&body, "instanceId"), vec!["i-00000001", "i-00000002"]);
    insta::assert_snapshot!("run_instances", normalize(&body));
    let servers = app
        .compute
        .list_instances(
            &RequestContext::new("demo", "demo"),
            &InstanceFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(servers.len(), 2);
    assert!(servers
        .iter()
        .all(|s| s.metadata.get("Name").map(String::as_str) == Some("web")));
    assert!(servers
        .iter()
        .all(|s| s.user_data.as_deref() == Some("IyEvYmluL3NoCmVjaG8gaGk=")));
}

#[tokio::test]
async fn client_token_makes_run_instances_idempotent() {
    let app = TestApp::noauth().await;
    let first = run(&app, &[("ClientToken", "same")]).await;
    let again = run(&app, &[("ClientToken", "same")]).await;
    let other = run(&app, &[("ClientToken", "different")]).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_run_instances_with_one_client_token_make_one_reservation() {
    let app = TestApp::noauth().await;
    let params = [
        ("ImageId", IMAGE),
        ("MinCount", "2"),
        ("MaxCount", "2"),
        ("InstanceType", "m1.tiny"),
        ("ClientToken", "retry-storm"),
    ];
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = app.clone();
        calls.spawn(async move { app.ok("RunInstances", &params).await });
    }
    let mut answers = Vec::new();
    while let Some(body) = calls.join_next().await {
        let body = body.unwrap();
        let reservation = text(&body, "reservationId").unwrap().to_string();
        let ids: Vec<String> = texts(&body, "instanceId")
            .into_iter()
            .map(str::to_string)
            .collect();
        answers.push((reservation, ids));
    }
    // Every caller got the one reservation, and only it exists.
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].1.len(), 2);
    let servers = app
        .compute
        .list_instances(
            &RequestContext::new("demo", "demo"),
            &InstanceFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(servers.len(), 2);
    assert!(servers.iter().all(|s| s.reservation_id == answers[0].0));
}

#[tokio::test]
async fn a_client_token_whose_instances_are_all_terminated_makes_a_new_reservation() {
    let app = TestApp::noauth().await;
    let first = run(&app, &[("ClientToken", "again")]).await;
    app.ok("TerminateInstances", &[("InstanceId.1", &first[0])])
        .await;
    let second = run(&app, &[("ClientToken", "again")]).await;
    assert_ne!(first, second);
    let replay = run(&app, &[("ClientToken", "again")]).await;
    assert_eq!(second, replay);
}

#[tokio::test]
async fn numbers_out_of_range_are_refused_and_create_nothing() {
    let app = TestApp::noauth().await;
    let long_token = "t".repeat(65);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        // 2^32: once clamped to u32::MAX, or wrapped to 0 and then 1.
        vec![("MinCount", "4294967296"), ("MaxCount", "4294967296")],
        vec![("MinCount", "1"), ("MaxCount", "4294967296")],
        vec![("MinCount", "1"), ("MaxCount", "2147483648")],
        vec![("MinCount", "18446744073709551617")],
        vec![("MinCount", "0"), ("MaxCount", "1")],
        vec![("MinCount", "-1"), ("MaxCount", "1")],
        vec![("MinCount", "1"), ("MaxCount", "-4294967295")],
        vec![("MinCount", "1"), ("ClientToken", long_token.as_str())],
    ];
    for extra in cases {
        let mut params = vec![("ImageId", IMAGE), ("InstanceType", "m1.tiny")];
        params.extend_from_slice(&extra);
        let (status, body) = app.call("RunInstances", &params).await;
        assert_eq!(
            (status, code(&body)),
            (400, Some("InvalidParameterValue")),
            "{extra:?}: {body}"
        );
    }
    let servers = app
        .compute
        .list_instances(
            &RequestContext::new("demo", "demo"),
            &InstanceFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(servers.len(), 0);
    let (status, body) = app
        .call(
            "RunInstances",
            &[("ImageId", IMAGE), ("MinCount", "4294967296")],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        text(&body, "Message"),
        Some("Value (4294967296) for parameter MinCount is invalid. Expected an integer from -2147483648 to 2147483647")
    );
    for (action, params) in [
        ("DescribeInstances", vec![("MaxResults", "4294967301")]),
        ("DescribeInstances", vec![("MaxResults", "-4294967291")]),
        (
            "DescribeImages",
            vec![("MaxResults", "18446744073709551621")],
        ),
        ("DescribeTags", vec![("MaxResults", "2147483648")]),
        (
            "DescribeInstances",
            vec![("InstanceId.4294967297", "i-00000001")],
        ),
    ] {
        let (status, body) = app.call(action, &params).await;
        assert_eq!(
            (status, code(&body)),
            (400, Some("InvalidParameterValue")),
            "{action} {params:?}: {body}"
        );
    }
}

#[tokio::test]
async fn instances_made_by_the_compute_api_show_up_in_describe_instances() {
    let app = TestApp::noauth().await;
    let ctx = RequestContext::new("demo", "demo");
    app.compute
        .create_instances(
            &ctx,
            compute::CreateInstance {
                name: "from-os".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let body = app.ok("DescribeInstances", &[]).await;
    assert_eq!(texts(&body, "instanceId"), vec!["i-00000001"]);
    assert_eq!(text(&body, "imageId"), Some(IMAGE));
    assert_eq!(text(&body, "instanceType"), Some("m1.tiny"));
    insta::assert_snapshot!("describe_instances", normalize(&body));
}

#[tokio::test]
async fn describe_instances_filters_by_state_tag_type_and_key() {
    let app = TestApp::noauth().await;
    app.ok("CreateKeyPair", &[("KeyName", "kp1")]).await;
    let web = run(
        &app,
        &[
            ("KeyName", "kp1"),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", "role"),
            ("TagSpecification.1.Tag.1.Value", "web"),
        ],
    )
    .await;
    let db = run(&app, &[("InstanceType", "m1.small")]).await;
    app.ok("StopInstances", &[("InstanceId.1", &db[0])]).await;
    let ids = |body: String| {
        texts(&body, "instanceId")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let f = |name: &'static str, value: &'static str| {
        vec![("Filter.1.Name", name), ("Filter.1.Value.1", value)]
    };
    assert_eq!(
        ids(app.ok("DescribeInstances", &f("tag:role", "web")).await),
        web
    );
    assert_eq!(
        ids(app.ok("DescribeInstances", &f("tag-key", "role")).await),
        web
    );
    assert_eq!(
        ids(app
            .ok("DescribeInstances", &f("instance-state-name", "stopped"))
            .await),
        db
    );
    assert_eq!(
        ids(app
            .ok("DescribeInstances", &f("instance-state-name", "running"))
            .await),
        web
    );
    assert_eq!(
        ids(app.ok("DescribeInstances", &f("key-name", "kp1")).await),
        web
    );
    assert_eq!(
        ids(app.ok("DescribeInstances", &f("image-id", IMAGE)).await).len(),
        2
    );
    assert_eq!(
        ids(app
            .ok("DescribeInstances", &f("availability-zone", "nova"))
            .await)
        .len(),
        2
    );
    assert_eq!(
        ids(app
            .ok("DescribeInstances", &f("instance-id", "i-0000000*"))
            .await)
        .len(),
        2
    );
    let mut both = web.clone();
    both.extend(db.clone());
    let two_values = [
        ("Filter.1.Name", "instance-type"),
        ("Filter.1.Value.1", "m1.tiny"),
        ("Filter.1.Value.2", "m1.small"),
    ];
    assert_eq!(ids(app.ok("DescribeInstances", &two_values).await), both);
    let ip = text(
        &app.ok("DescribeInstances", &[("InstanceId.1", &web[0])])
            .await,
        "privateIpAddress",
    )
    .unwrap()
    .to_string();
    let by_ip = [
        ("Filter.1.Name", "private-ip-address"),
        ("Filter.1.Value.1", ip.as_str()),
    ];
    assert_eq!(ids(app.ok("DescribeInstances", &by_ip).await), web);
    let (status, body) = app.call("DescribeInstances", &f("colour", "blue")).await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
}

#[tokio::test]
async fn describe_instances_pages_with_next_token() {
    let app = TestApp::noauth().await;
    app.ok(
        "RunInstances",
        &[
            ("ImageId", IMAGE),
            ("MinCount", "7"),
            ("MaxCount", "7"),
            ("InstanceType", "m1.tiny"),
        ],
    )
    .await;
    let page1 = app.ok("DescribeInstances", &[("MaxResults", "5")]).await;
    assert_eq!(texts(&page1, "instanceId").len(), 5);
    let token = text(&page1, "nextToken").expect("a next token").to_string();
    let page2 = app
        .ok(
            "DescribeInstances",
            &[("MaxResults", "5"), ("NextToken", &token)],
        )
        .await;
    assert_eq!(
        texts(&page2, "instanceId"),
        vec!["i-00000006", "i-00000007"]
    );
    assert_eq!(text(&page2, "nextToken"), None);
    let (status, body) = app
        .call(
            "DescribeInstances",
            &[("MaxResults", "5"), ("InstanceId.1", "i-00000001")],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidParameterCombination"))
    );
    let (status, body) = app.call("DescribeInstances", &[("MaxResults", "2")]).await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
    let (status, body) = app.call("DescribeInstances", &[("NextToken", "zz")]).await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
}

#[tokio::test]
async fn state_changes_report_previous_and_current_states() {
    let app = TestApp::noauth().await;
    let id = run(&app, &[]).await.remove(0);
    let stop = app.ok("StopInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(texts(&stop, "name"), vec!["stopped", "running"]);
    let (status, body) = app.call("RebootInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!((status, code(&body)), (400, Some("IncorrectInstanceState")));
    let start = app.ok("StartInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(texts(&start, "name"), vec!["running", "stopped"]);
    app.ok("RebootInstances", &[("InstanceId.1", &id)]).await;
    let term = app.ok("TerminateInstances", &[("InstanceId.1", &id)]).await;
    insta::assert_snapshot!("terminate_instances", normalize(&term));
    let after = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(texts(&after, "name")[0], "terminated");
    let again = app.ok("TerminateInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(texts(&again, "name"), vec!["terminated", "terminated"]);
}

/// An action, its parameters and the error code expected.
#[tokio::test]
async fn instance_errors_get_aws_codes() {
    let app = TestApp::noauth().await;
    let cases: Vec<Case<'_>> = vec![
        (
            "DescribeInstances",
            vec![("InstanceId.1", "i-7fffffff")],
            "InvalidInstanceID.NotFound",
        ),
        (
            "TerminateInstances",
            vec![("InstanceId.1", "bogus")],
            "InvalidInstanceID.Malformed",
        ),
        // AWS's long ids are well formed: one we do not have is NotFound.
        (
            "DescribeInstances",
            vec![("InstanceId.1", "i-0123456789abcdef0")],
            "InvalidInstanceID.NotFound",
        ),
        (
            "DescribeInstances",
            vec![("InstanceId.1", "i-f123456789abcdef0")],
            "InvalidInstanceID.NotFound",
        ),
        (
            "DescribeImages",
            vec![("ImageId.1", "ami-0123456789abcdef0")],
            "InvalidAMIID.NotFound",
        ),
        (
            "DescribeInstances",
            vec![("InstanceId.1", "i-0123456789abcdef01")],
            "InvalidInstanceID.Malformed",
        ),
        ("StopInstances", vec![], "MissingParameter"),
        (
            "RunInstances",
            vec![("MinCount", "1"), ("MaxCount", "1")],
            "MissingParameter",
        ),
        (
            "RunInstances",
            vec![
                ("ImageId", "ami-7fffffff"),
                ("MinCount", "1"),
                ("MaxCount", "1"),
            ],
            "InvalidAMIID.NotFound",
        ),
        (
            "RunInstances",
            vec![("ImageId", "img-1"), ("MinCount", "1"), ("MaxCount", "1")],
            "InvalidAMIID.Malformed",
        ),
        (
            "RunInstances",
            vec![
                ("ImageId", IMAGE),
                ("MinCount", "1"),
                ("MaxCount", "1"),
                ("KeyName", "none"),
            ],
            "InvalidKeyPair.NotFound",
        ),
        (
            "RunInstances",
            vec![
                ("ImageId", IMAGE),
                ("MinCount", "1"),
                ("MaxCount", "1"),
                ("InstanceType", "t2.nano"),
            ],
            "InvalidParameterValue",
        ),
        (
            "RunInstances",
            vec![("ImageId", IMAGE), ("MinCount", "3"), ("MaxCount", "1")],
            "InvalidParameterValue",
        ),
        (
            "RunInstances",
            vec![
                ("ImageId", IMAGE),
                ("MinCount", "1000"),
                ("MaxCount", "1000"),
                ("InstanceType", "m1.tiny"),
            ],
            "InstanceLimitExceeded",
        ),
        (
            "RunInstances",
            vec![
                ("ImageId", IMAGE),
                ("MinCount", "1"),
                ("MaxCount", "1"),
                ("UserData", "***"),
            ],
            "InvalidParameterValue",
        ),
    ];
    app.expect_codes(cases).await;
    let (_, body) = app
        .call("DescribeInstances", &[("InstanceId.1", "i-7fffffff")])
        .await;
    insta::assert_snapshot!("error_instance_not_found", normalize(&body));
}

#[tokio::test]
async fn projects_do_not_see_each_others_instances() {
    let app = TestApp::noauth().await;
    let id = run(&app, &[]).await.remove(0);
    let (status, body) = app
        .call_as("eve:other", "DescribeInstances", &[("InstanceId.1", &id)])
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidInstanceID.NotFound"))
    );
    let (status, body) = app
        .call_as("eve:other", "TerminateInstances", &[("InstanceId.1", &id)])
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidInstanceID.NotFound"))
    );
    let body = app.call_as("eve:other", "DescribeInstances", &[]).await.1;
    assert!(texts(&body, "instanceId").is_empty());
    // The admin sees every project's.
    let body = app.call_as("admin:admin", "DescribeInstances", &[]).await.1;
    assert_eq!(texts(&body, "instanceId"), vec![id.as_str()]);
}

#[tokio::test]
async fn tags_are_instance_metadata() {
    let app = TestApp::noauth().await;
    let id = run(&app, &[]).await.remove(0);
    app.ok(
        "CreateTags",
        &[
            ("ResourceId.1", &id),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
            ("Tag.2.Key", "team"),
            ("Tag.2.Value", "a"),
        ],
    )
    .await;
    let tags = app
        .ok(
            "DescribeTags",
            &[("Filter.1.Name", "resource-id"), ("Filter.1.Value.1", &id)],
        )
        .await;
    assert_eq!(texts(&tags, "key"), vec!["env", "team"]);
    assert_eq!(texts(&tags, "resourceType"), vec!["instance", "instance"]);
    insta::assert_snapshot!("describe_tags", normalize(&tags));
    let ctx = RequestContext::new("demo", "demo");
    let uuid = app
        .compute
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .unwrap()[0]
        .uuid
        .clone();
    let meta = app
        .compute
        .get_instance_metadata(&ctx, &uuid)
        .await
        .unwrap();
    assert_eq!(meta.get("env").map(String::as_str), Some("prod"));
    // A value that does not match keeps the tag; a bare key removes it.
    app.ok(
        "DeleteTags",
        &[
            ("ResourceId.1", &id),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "dev"),
            ("Tag.2.Key", "team"),
        ],
    )
    .await;
    let tags = app.ok("DescribeTags", &[]).await;
    assert_eq!(texts(&tags, "key"), vec!["env"]);
    let page = app
        .ok(
            "DescribeTags",
            &[
                ("MaxResults", "5"),
                ("Filter.1.Name", "key"),
                ("Filter.1.Value.1", "e*"),
            ],
        )
        .await;
    assert_eq!(texts(&page, "value"), vec!["prod"]);
    let (status, body) = app
        .call(
            "CreateTags",
            &[("ResourceId.1", "vol-00000001"), ("Tag.1.Key", "k")],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidID")));
}

#[tokio::test]
async fn key_pairs_are_created_imported_listed_and_deleted() {
    let app = TestApp::noauth().await;
    let created = app.ok("CreateKeyPair", &[("KeyName", "kp1")]).await;
    assert!(text(&created, "keyMaterial")
        .unwrap()
        .contains("PRIVATE KEY"));
    insta::assert_snapshot!("create_key_pair", normalize(&created));
    let (status, body) = app.call("CreateKeyPair", &[("KeyName", "kp1")]).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidKeyPair.Duplicate"))
    );
    insta::assert_snapshot!("error_key_pair_duplicate", normalize(&body));
    use base64::Engine as _;
    let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC4AN/T3RiQWMIHhSthWTve5Q6L1Kh4FyVIlzUeasf58LG6JFvIBIyWiEIv3u/TlzpkZtpY1lsSW3KQWwDK4etO9eUi9WPUAQQmzDgaZlrV4SNnZPHDUPdbAIe877kU3YheOmE0oyY0OY+ssNuv6Ybv/uuB9uMTPEz4L5059Ls0tw== acc@test";
    let material = base64::engine::general_purpose::STANDARD.encode(key);
    let imported = app
        .ok(
            "ImportKeyPair",
            &[("KeyName", "kp2"), ("PublicKeyMaterial", &material)],
        )
        .await;
    assert_eq!(text(&imported, "keyName"), Some("kp2"));
    let bad = base64::engine::general_purpose::STANDARD.encode("not a key");
    let (status, body) = app
        .call(
            "ImportKeyPair",
            &[("KeyName", "kp3"), ("PublicKeyMaterial", &bad)],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidKey.Format")));
    let list = app.ok("DescribeKeyPairs", &[]).await;
    assert_eq!(texts(&list, "keyName"), vec!["kp1", "kp2"]);
    let one = app.ok("DescribeKeyPairs", &[("KeyName.1", "kp2")]).await;
    assert_eq!(texts(&one, "keyName"), vec!["kp2"]);
    let (status, body) = app.call("DescribeKeyPairs", &[("KeyName.1", "nope")]).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidKeyPair.NotFound"))
    );
    app.ok("DeleteKeyPair", &[("KeyName", "kp1")]).await;
    let list = app.ok("DescribeKeyPairs", &[]).await;
    assert_eq!(texts(&list, "keyName"), vec!["kp2"]);
}

#[tokio::test]
async fn key_pairs_take_tag_specifications_and_show_them_in_describe_key_pairs_and_describe_tags() {
    let app = TestApp::noauth().await;
    let created = app
        .ok(
            "CreateKeyPair",
            &[
                ("KeyName", "kp1"),
                ("TagSpecification.1.ResourceType", "key-pair"),
                ("TagSpecification.1.Tag.1.Key", "team"),
                ("TagSpecification.1.Tag.1.Value", "ops"),
            ],
        )
        .await;
    let kp1 = text(&created, "keyPairId").unwrap().to_string();
    assert_eq!(kp1, "key-00000001");
    assert_eq!(texts(&created, "key"), vec!["team"]);
    use base64::Engine as _;
    let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC4AN/T3RiQWMIHhSthWTve5Q6L1Kh4FyVIlzUeasf58LG6JFvIBIyWiEIv3u/TlzpkZtpY1lsSW3KQWwDK4etO9eUi9WPUAQQmzDgaZlrV4SNnZPHDUPdbAIe877kU3YheOmE0oyY0OY+ssNuv6Ybv/uuB9uMTPEz4L5059Ls0tw== acc@test";
    let material = base64::engine::general_purpose::STANDARD.encode(key);
    let imported = app
        .ok(
            "ImportKeyPair",
            &[
                ("KeyName", "kp2"),
                ("PublicKeyMaterial", &material),
                ("TagSpecification.1.ResourceType", "key-pair"),
                ("TagSpecification.1.Tag.1.Key", "team"),
                ("TagSpecification.1.Tag.1.Value", "dev"),
            ],
        )
        .await;
    let kp2 = text(&imported, "keyPairId").unwrap().to_string();
    // A specification of another kind is refused and makes no key pair.
    let (status, body) = app
        .call(
            "CreateKeyPair",
            &[
                ("KeyName", "kp3"),
                ("TagSpecification.1.ResourceType", "instance"),
                ("TagSpecification.1.Tag.1.Key", "team"),
            ],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
    let names = |body: String| {
        texts(&body, "keyName")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(app.ok("DescribeKeyPairs", &[]).await), ["kp1", "kp2"]);
    let filtered = |name: &'static str, value: &'static str| {
        vec![("Filter.1.Name", name), ("Filter.1.Value.1", value)]
    };
    assert_eq!(
        names(
            app.ok("DescribeKeyPairs", &filtered("tag:team", "dev"))
                .await
        ),
        ["kp2"]
    );
    assert_eq!(
        names(
            app.ok("DescribeKeyPairs", &filtered("tag-key", "team"))
                .await
        ),
        ["kp1", "kp2"]
    );
    let tags = app
        .ok(
            "DescribeTags",
            &[
                ("Filter.1.Name", "resource-type"),
                ("Filter.1.Value.1", "key-pair"),
            ],
        )
        .await;
    assert_eq!(texts(&tags, "resourceId"), [kp1.as_str(), kp2.as_str()]);
    assert_eq!(texts(&tags, "value"), ["ops", "dev"]);
    // CreateTags and DeleteTags name key pairs by their EC2 id.
    app.ok(
        "CreateTags",
        &[
            ("ResourceId.1", &kp1),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    )
    .await;
    let one = app.ok("DescribeKeyPairs", &[("KeyPairId.1", &kp1)]).await;
    assert_eq!(texts(&one, "key"), ["env", "team"]);
    let (status, body) = app
        .call(
            "CreateTags",
            &[("ResourceId.1", "key-7fffffff"), ("Tag.1.Key", "env")],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidKeyPair.NotFound"))
    );
    // Deleting the key pair takes its tags with it.
    app.ok("DeleteKeyPair", &[("KeyName", "kp1")]).await;
    let tags = app
        .ok(
            "DescribeTags",
            &[
                ("Filter.1.Name", "resource-type"),
                ("Filter.1.Value.1", "key-pair"),
            ],
        )
        .await;
    assert_eq!(texts(&tags, "resourceId"), [kp2.as_str()]);
}

#[tokio::test]
async fn allocate_address_refuses_tag_specifications_classic_addresses_have_no_allocation_id() {
    let app = TestApp::noauth().await;
    let (status, body) = app
        .call(
            "AllocateAddress",
            &[
                ("Domain", "standard"),
                ("TagSpecification.1.ResourceType", "elastic-ip"),
                ("TagSpecification.1.Tag.1.Key", "team"),
            ],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
    let listed = app.ok("DescribeAddresses", &[]).await;
    assert!(texts(&listed, "publicIp").is_empty(), "{listed}");
}

#[tokio::test]
async fn instance_attributes_and_termination_protection() {
    let app = TestApp::noauth().await;
    let id = run(&app, &[("UserData", "aGVsbG8=")]).await.remove(0);
    let attr = |name: &'static str| [("InstanceId", id.clone()), ("Attribute", name.to_string())];
    let as_refs = |a: &[(&'static str, String); 2]| {
        a.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let call = |a: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let p: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.ok("DescribeInstanceAttribute", &p).await
        }
    };
    let ud = call(as_refs(&attr("userData"))).await;
    assert_eq!(text(&ud, "value"), Some("aGVsbG8="));
    let it = call(as_refs(&attr("instanceType"))).await;
    assert_eq!(text(&it, "value"), Some("m1.tiny"));
    app.ok(
        "ModifyInstanceAttribute",
        &[("InstanceId", &id), ("DisableApiTermination.Value", "true")],
    )
    .await;
    let da = call(as_refs(&attr("disableApiTermination"))).await;
    assert_eq!(text(&da, "value"), Some("true"));
    let (status, body) = app
        .call("TerminateInstances", &[("InstanceId.1", &id)])
        .await;
    assert_eq!((status, code(&body)), (400, Some("OperationNotPermitted")));
    app.ok(
        "ModifyInstanceAttribute",
        &[
            ("InstanceId", &id),
            ("Attribute", "disableApiTermination"),
            ("Value", "false"),
        ],
    )
    .await;
    let (status, body) = app
        .call(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("InstanceType.Value", "m1.small")],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("IncorrectInstanceState")));
    app.ok("StopInstances", &[("InstanceId.1", &id)]).await;
    app.ok(
        "ModifyInstanceAttribute",
        &[("InstanceId", &id), ("InstanceType.Value", "m1.small")],
    )
    .await;
    let it = call(as_refs(&attr("instanceType"))).await;
    assert_eq!(text(&it, "value"), Some("m1.small"));
    let (status, body) = app
        .call(
            "DescribeInstanceAttribute",
            &[("InstanceId", &id), ("Attribute", "colour")],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
    app.ok("TerminateInstances", &[("InstanceId.1", &id)]).await;
}

/// A store whose instances were made and stopped at once, and an app over
/// it whose every transition takes `delay`, as a real deployment's do.
async fn stopped_instance_behind_a_slow_driver(delay: Duration) -> (TestApp, String) {
    let instant = crate::fixture::compute().await;
    let ctx = RequestContext::new("demo", "demo");
    let made = instant
        .create_instances(
            &ctx,
            compute::CreateInstance {
                name: "to-resize".into(),
                flavor_id: "1".into(),
                image_ref: compute::CIRROS_IMAGE_UUID.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let vm = instant
        .stop_instance(&ctx, &made.instances[0].uuid)
        .await
        .unwrap();
    assert_eq!(vm.vm_state, compute::VmState::Stopped);
    let slow = compute::Compute::new(
        instant.store().clone(),
        compute::ComputeConfig {
            transition_delay: delay,
            ..compute::ComputeConfig::instant()
        },
    );
    (TestApp::over(slow), vm.ec2_id())
}

#[tokio::test]
async fn modifying_the_type_of_a_stopped_instance_resizes_it_and_leaves_it_stopped() {
    let delay = Duration::from_millis(50);
    let (app, id) = stopped_instance_behind_a_slow_driver(delay).await;

    let body = app
        .ok(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("InstanceType.Value", "m1.small")],
        )
        .await;
    assert_eq!(text(&body, "return"), Some("true"));

    // Longer than every step of a resize: nothing is still under way.
    tokio::time::sleep(delay * 10).await;
    let described = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(text(&described, "name"), Some("stopped"));
    assert_eq!(text(&described, "instanceType"), Some("m1.small"));
    let vm = &app
        .compute
        .list_instances(
            &RequestContext::new("demo", "demo"),
            &InstanceFilter::default(),
        )
        .await
        .unwrap()[0];
    assert_eq!(
        (vm.vm_state, vm.task_state, vm.power_state),
        (
            compute::VmState::Stopped,
            None,
            compute::PowerState::Shutdown
        )
    );
    assert_eq!((vm.flavor.name.as_str(), vm.flavor.vcpus), ("m1.small", 1));
    assert_eq!((vm.old_flavor.clone(), vm.new_flavor.clone()), (None, None));
}

#[tokio::test]
async fn modifying_the_type_of_a_running_instance_is_refused_and_changes_nothing() {
    let delay = Duration::from_millis(50);
    let (app, id) = stopped_instance_behind_a_slow_driver(delay).await;
    app.ok("StartInstances", &[("InstanceId.1", &id)]).await;
    tokio::time::sleep(delay * 3).await;
    let running = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(text(&running, "name"), Some("running"));

    let (status, body) = app
        .call(
            "ModifyInstanceAttribute",
            &[("InstanceId", &id), ("InstanceType.Value", "m1.small")],
        )
        .await;
    assert_eq!((status, code(&body)), (400, Some("IncorrectInstanceState")));
    // ec2-api's words (quotes escaped in the XML), not nova's internal ones.
    assert_eq!(
        text(&body, "Message"),
        Some(
            format!("The instance &apos;{id}&apos; is not in the &apos;stopped&apos; state.")
                .as_str()
        )
    );

    tokio::time::sleep(delay * 10).await;
    let after = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(text(&after, "name"), Some("running"));
    assert_eq!(text(&after, "instanceType"), Some("m1.tiny"));
}

#[tokio::test]
async fn modifying_two_attributes_at_once_is_refused_and_changes_neither() {
    let app = TestApp::noauth().await;
    let id = run(&app, &[]).await.remove(0);
    let (status, body) = app
        .call(
            "ModifyInstanceAttribute",
            &[
                ("InstanceId", &id),
                ("DisableApiTermination.Value", "true"),
                ("InstanceType.Value", "m1.small"),
            ],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidParameterCombination"))
    );
    let attr = |name| [("InstanceId", id.as_str()), ("Attribute", name)];
    let protection = app
        .ok("DescribeInstanceAttribute", &attr("disableApiTermination"))
        .await;
    assert_eq!(text(&protection, "value"), Some("false"));
    let kind = app
        .ok("DescribeInstanceAttribute", &attr("instanceType"))
        .await;
    assert_eq!(text(&kind, "value"), Some("m1.tiny"));
}

#[tokio::test]
async fn console_output_is_base64() {
    use base64::Engine as _;
    let app = TestApp::noauth().await;
    let id = run(&app, &[]).await.remove(0);
    let body = app.ok("GetConsoleOutput", &[("InstanceId", &id)]).await;
    assert_eq!(text(&body, "instanceId"), Some(id.as_str()));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text(&body, "output").unwrap())
        .unwrap();
    assert!(!decoded.is_empty());
}

#[tokio::test]
async fn instance_status_lists_running_instances() {
    let app = TestApp::noauth().await;
    let ids = run(&app, &[]).await;
    let stopped = run(&app, &[]).await;
    app.ok("StopInstances", &[("InstanceId.1", &stopped[0])])
        .await;
    let body = app.ok("DescribeInstanceStatus", &[]).await;
    assert_eq!(texts(&body, "instanceId"), vec![ids[0].as_str()]);
    let all = app
        .ok("DescribeInstanceStatus", &[("IncludeAllInstances", "true")])
        .await;
    assert_eq!(texts(&all, "instanceId").len(), 2);
}

#[tokio::test]
async fn endpoint_descriptions() {
    let app = TestApp::noauth().await;
    let zones = app.ok("DescribeAvailabilityZones", &[]).await;
    assert_eq!(texts(&zones, "zoneName"), vec!["nova"]);
    assert_eq!(text(&zones, "zoneState"), Some("available"));
    insta::assert_snapshot!("describe_availability_zones", normalize(&zones));
    let groups = app.ok("DescribeSecurityGroups", &[]).await;
    assert_eq!(
        texts(&groups, "groupDescription"),
        vec!["Default security group"]
    );
    let (status, body) = app
        .call("DescribeSecurityGroups", &[("GroupName.1", "web")])
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidGroup.NotFound")));
    let attrs = app
        .ok(
            "DescribeAccountAttributes",
            &[("AttributeName.1", "supported-platforms")],
        )
        .await;
    assert_eq!(texts(&attrs, "attributeValue"), vec!["EC2"]);
    let regions = app.ok("DescribeRegions", &[]).await;
    insta::assert_snapshot!("describe_regions", normalize(&regions));
}

/// `ec2_api::actions::ACTIONS` is the table the dispatcher serves and
/// `docs/served.md` lists: each of its names reaches a handler (which may
/// refuse the call's missing parameters, but never as an unknown action),
/// and a name outside it is `InvalidAction`.
#[tokio::test]
async fn every_action_of_the_table_reaches_its_handler_and_no_other_is_served() {
    let app = TestApp::noauth().await;

    for action in ec2_api::actions::ACTIONS {
        let (_, body) = app.call(action, &[]).await;
        assert_ne!(code(&body), Some("InvalidAction"), "{action}: {body}");
    }
    let (status, body) = app.call("CreateVolume", &[]).await;

    assert_eq!((status, code(&body)), (400, Some("InvalidAction")));
}
