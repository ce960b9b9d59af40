//! Security groups through the EC2 API: the same rows the Network v2 API
//! serves (a group or rule made on one side is seen on the other), both
//! forms of Authorize/Revoke, AWS's codes for each refusal, filters,
//! project isolation and RunInstances' groups.

use compute::network::{ListQuery, NewPort, NewSecurityGroup, NewSecurityGroupRule};
use compute::{InstanceFilter, RequestContext};

use crate::fixture::{code, text, texts, Case, TestApp};

fn demo() -> RequestContext {
    RequestContext::new("demo", "demo")
}

/// The names of the groups of a DescribeSecurityGroups answer (not those
/// of the groups their rules name).
fn group_names(body: &str) -> Vec<String> {
    regex::Regex::new("<groupName>([^<]*)</groupName><groupDescription>")
        .unwrap()
        .captures_iter(body)
        .map(|c| c[1].to_string())
        .collect()
}

/// CreateSecurityGroup's `groupId`.
async fn create(app: &TestApp, name: &str) -> String {
    let body = app
        .ok(
            "CreateSecurityGroup",
            &[("GroupName", name), ("GroupDescription", "made by EC2")],
        )
        .await;
    text(&body, "groupId").expect("groupId").to_string()
}

/// The one group DescribeSecurityGroups answers for `GroupName.1`.
async fn describe(app: &TestApp, name: &str) -> String {
    let body = app
        .ok("DescribeSecurityGroups", &[("GroupName.1", name)])
        .await;
    assert_eq!(group_names(&body), vec![name], "{body}");
    body
}

/// The `ipPermissions` element (ingress) of a described group, unclosed.
fn ingress(body: &str) -> String {
    let start = body.find("<ipPermissions>").expect("ipPermissions");
    let end = body.find("</ipPermissions>").expect("end");
    body[start..end].to_string()
}

#[tokio::test]
async fn a_group_made_here_is_a_network_group_and_the_other_way_round() {
    let app = TestApp::noauth().await;
    let c = &app.compute;

    // EC2 -> store: the group, its description and its rule.
    let web = create(&app, "web").await;
    app.ok(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &web),
            ("IpProtocol", "tcp"),
            ("FromPort", "22"),
            ("ToPort", "22"),
            ("CidrIp", "10.0.0.0/8"),
        ],
    )
    .await;
    let groups = c
        .list_security_groups(&demo(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    let stored = groups.iter().find(|g| g.name == "web").expect("web stored");
    assert_eq!(stored.description, "made by EC2");
    assert!(web.starts_with("sg-") && web.len() == 20, "{web}");
    assert!(stored.id.replace('-', "").starts_with(&web[3..]));
    let ssh: Vec<_> = stored
        .security_group_rules
        .iter()
        .filter(|r| r.direction == "ingress")
        .map(|r| {
            (
                r.ethertype.as_str(),
                r.protocol.as_deref(),
                r.port_range_min,
                r.port_range_max,
                r.remote_ip_prefix.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        ssh,
        vec![("IPv4", Some("tcp"), Some(22), Some(22), Some("10.0.0.0/8"))]
    );

    // store -> EC2: a group and an IPv6 UDP rule made by the Network API.
    let db = c
        .create_security_group(
            &demo(),
            NewSecurityGroup {
                name: Some("db".into()),
                description: Some("made by Neutron".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.create_security_group_rule(
        &demo(),
        NewSecurityGroupRule {
            security_group_id: db.id.clone(),
            direction: "ingress".into(),
            ethertype: Some("IPv6".into()),
            protocol: Some("udp".into()),
            port_range_min: Some(53),
            port_range_max: Some(53),
            remote_ip_prefix: Some("2001:db8::/32".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let body = describe(&app, "db").await;
    assert_eq!(text(&body, "groupDescription"), Some("made by Neutron"));
    assert_eq!(text(&body, "ownerId"), Some("demo"));
    assert_eq!(
        ingress(&body),
        "<ipPermissions><item><ipProtocol>udp</ipProtocol><fromPort>53</fromPort>\
         <toPort>53</toPort><groups></groups><ipRanges></ipRanges><ipv6Ranges><item>\
         <cidrIpv6>2001:db8::/32</cidrIpv6></item></ipv6Ranges></item>"
    );
    // The store's two egress rules of a new group: any protocol, anywhere.
    let egress = &body[body.find("<ipPermissionsEgress>").unwrap()..];
    assert_eq!(texts(egress, "ipProtocol"), vec!["-1"]);
    assert_eq!(texts(egress, "cidrIp"), vec!["0.0.0.0/0"]);
    assert_eq!(texts(egress, "cidrIpv6"), vec!["::/0"]);

    // A rule the Network API made is a duplicate here, and revocable.
    let dup = [
        ("GroupName", "db"),
        ("IpPermissions.1.IpProtocol", "udp"),
        ("IpPermissions.1.FromPort", "53"),
        ("IpPermissions.1.ToPort", "53"),
        ("IpPermissions.1.Ipv6Ranges.1.CidrIpv6", "2001:db8::/32"),
    ];
    let (status, body) = app.call("AuthorizeSecurityGroupIngress", &dup).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidPermission.Duplicate"))
    );
    app.ok("RevokeSecurityGroupIngress", &dup).await;
    let db = c.get_security_group(&demo(), &db.id).await.unwrap();
    assert!(db
        .security_group_rules
        .iter()
        .all(|r| r.direction == "egress"));

    // Deleted by EC2, gone from the store.
    app.ok("DeleteSecurityGroup", &[("GroupName", "db")]).await;
    assert!(c.get_security_group(&demo(), &db.id).await.is_err());
}

#[tokio::test]
async fn the_default_group_shows_neutrons_rules_under_the_id_instances_show() {
    let app = TestApp::noauth().await;
    let body = describe(&app, "default").await;
    let id = text(&body, "groupId").unwrap().to_string();
    // The id DescribeInstances has always put in groupSet.
    assert_eq!(id, "sg-2a97516c");
    assert_eq!(
        ingress(&body),
        format!(
            "<ipPermissions><item><ipProtocol>-1</ipProtocol><groups><item>\
             <userId>demo</userId><groupId>{id}</groupId><groupName>default</groupName>\
             </item></groups><ipRanges></ipRanges><ipv6Ranges></ipv6Ranges></item>"
        )
    );
    let by_id = app
        .ok("DescribeSecurityGroups", &[("GroupId.1", &id)])
        .await;
    assert_eq!(group_names(&by_id), vec!["default"]);
}

#[tokio::test]
async fn both_forms_authorize_and_revoke_ingress_and_egress() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    let db = create(&app, "db").await;

    // IpPermissions form: one permission, two IPv4 ranges and a group.
    app.ok(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &web),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "80"),
            ("IpPermissions.1.ToPort", "443"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"),
            ("IpPermissions.1.IpRanges.2.CidrIp", "192.168.0.0/16"),
            ("IpPermissions.1.Groups.1.GroupId", &db),
            ("IpPermissions.2.IpProtocol", "icmp"),
            ("IpPermissions.2.FromPort", "8"),
            ("IpPermissions.2.ToPort", "-1"),
        ],
    )
    .await;
    // Flat form: a source group by name, no protocol: TCP, UDP and ICMP.
    app.ok(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupName", "db"),
            ("SourceSecurityGroupName", "web"),
            ("SourceSecurityGroupOwnerId", "demo"),
        ],
    )
    .await;
    app.ok(
        "AuthorizeSecurityGroupEgress",
        &[
            ("GroupId", &web),
            ("IpPermissions.1.IpProtocol", "udp"),
            ("IpPermissions.1.FromPort", "53"),
            ("IpPermissions.1.ToPort", "53"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "10.1.1.1/32"),
        ],
    )
    .await;

    let body = describe(&app, "web").await;
    let web_in = ingress(&body);
    assert_eq!(texts(&web_in, "ipProtocol"), vec!["tcp", "icmp"]);
    assert_eq!(texts(&web_in, "fromPort"), vec!["80", "8"]);
    assert_eq!(texts(&web_in, "toPort"), vec!["443", "-1"]);
    assert_eq!(
        texts(&web_in, "cidrIp"),
        vec!["10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0"]
    );
    assert_eq!(texts(&web_in, "groupName"), vec!["db"]);
    let egress = &body[body.find("<ipPermissionsEgress>").unwrap()..];
    assert_eq!(texts(egress, "ipProtocol"), vec!["-1", "udp"]);
    assert_eq!(texts(egress, "cidrIp"), vec!["0.0.0.0/0", "10.1.1.1/32"]);

    let body = describe(&app, "db").await;
    let db_in = ingress(&body);
    assert_eq!(texts(&db_in, "ipProtocol"), vec!["tcp", "udp", "icmp"]);
    assert_eq!(texts(&db_in, "fromPort"), vec!["1", "1", "-1"]);
    assert_eq!(texts(&db_in, "toPort"), vec!["65535", "65535", "-1"]);
    assert_eq!(texts(&db_in, "groupId"), vec![web.as_str(); 3]);

    // Revoking part of a permission leaves the rest.
    app.ok(
        "RevokeSecurityGroupIngress",
        &[
            ("GroupId", &web),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "80"),
            ("IpPermissions.1.ToPort", "443"),
            ("IpPermissions.1.IpRanges.1.CidrIp", "192.168.0.0/16"),
        ],
    )
    .await;
    app.ok(
        "RevokeSecurityGroupEgress",
        &[
            ("GroupId", &web),
            ("IpProtocol", "udp"),
            ("FromPort", "53"),
            ("ToPort", "53"),
            ("CidrIp", "10.1.1.1/32"),
        ],
    )
    .await;
    let body = describe(&app, "web").await;
    assert_eq!(
        texts(&ingress(&body), "cidrIp"),
        vec!["10.0.0.0/8", "0.0.0.0/0"]
    );
    let egress = &body[body.find("<ipPermissionsEgress>").unwrap()..];
    assert_eq!(texts(egress, "ipProtocol"), vec!["-1"]);
}

#[tokio::test]
async fn refusals_get_aws_codes_and_change_nothing() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    let db = create(&app, "db").await;
    let ssh = |group: &'static str| {
        vec![
            ("GroupName", group),
            ("IpProtocol", "tcp"),
            ("FromPort", "22"),
            ("ToPort", "22"),
            ("CidrIp", "10.0.0.0/8"),
        ]
    };
    app.ok("AuthorizeSecurityGroupIngress", &ssh("web")).await;
    // db's rule names web: web is in use.
    app.ok(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupId", &db),
            ("IpPermissions.1.IpProtocol", "-1"),
            ("IpPermissions.1.Groups.1.GroupId", &web),
        ],
    )
    .await;
    let long = "x".repeat(256);
    let cases: Vec<Case<'_>> = vec![
        (
            "CreateSecurityGroup",
            vec![("GroupDescription", "d")],
            "MissingParameter",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", "n")],
            "MissingParameter",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", "web"), ("GroupDescription", "again")],
            "InvalidGroup.Duplicate",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", "default"), ("GroupDescription", "d")],
            "InvalidGroup.Reserved",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", &long), ("GroupDescription", "d")],
            "InvalidParameterValue",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", "café"), ("GroupDescription", "d")],
            "InvalidParameterValue",
        ),
        (
            "CreateSecurityGroup",
            vec![("GroupName", "n"), ("GroupDescription", &long)],
            "InvalidParameterValue",
        ),
        ("DeleteSecurityGroup", vec![], "MissingParameter"),
        (
            "DeleteSecurityGroup",
            vec![("GroupName", "nope")],
            "InvalidGroup.NotFound",
        ),
        (
            "DeleteSecurityGroup",
            vec![("GroupId", "sg-0123456789abcdef0")],
            "InvalidGroup.NotFound",
        ),
        (
            "DeleteSecurityGroup",
            vec![("GroupId", "web")],
            "InvalidGroupId.Malformed",
        ),
        (
            "DeleteSecurityGroup",
            vec![("GroupName", "default")],
            "InvalidGroup.Reserved",
        ),
        (
            "DeleteSecurityGroup",
            vec![("GroupName", "web")],
            "InvalidGroup.InUse",
        ),
        (
            "DescribeSecurityGroups",
            vec![("GroupName.1", "nope")],
            "InvalidGroup.NotFound",
        ),
        (
            "DescribeSecurityGroups",
            vec![("Filter.1.Name", "flavour"), ("Filter.1.Value.1", "x")],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            ssh("web"),
            "InvalidPermission.Duplicate",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            ssh("nope"),
            "InvalidGroup.NotFound",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![
                ("GroupName", "web"),
                ("IpProtocol", "tcp"),
                ("FromPort", "30"),
                ("ToPort", "20"),
            ],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![
                ("GroupName", "web"),
                ("IpProtocol", "tcp"),
                ("FromPort", "22"),
                ("ToPort", "70000"),
            ],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![("GroupName", "web"), ("IpProtocol", "bogus")],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![
                ("GroupName", "web"),
                ("IpProtocol", "icmp"),
                ("FromPort", "-1"),
                ("ToPort", "3"),
            ],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![
                ("GroupName", "web"),
                ("IpProtocol", "tcp"),
                ("FromPort", "22"),
                ("ToPort", "22"),
                ("CidrIp", "10.0.0.1"),
            ],
            "InvalidParameterValue",
        ),
        (
            "AuthorizeSecurityGroupIngress",
            vec![("GroupName", "web")],
            "MissingParameter",
        ),
    ];
    app.expect_codes(cases).await;
    // A batch with one duplicate adds none of its rules.
    let (_, body) = app
        .call(
            "AuthorizeSecurityGroupIngress",
            &[
                ("GroupName", "web"),
                ("IpPermissions.1.IpProtocol", "tcp"),
                ("IpPermissions.1.FromPort", "22"),
                ("IpPermissions.1.ToPort", "22"),
                ("IpPermissions.1.IpRanges.1.CidrIp", "172.16.0.0/12"),
                ("IpPermissions.1.IpRanges.2.CidrIp", "10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(code(&body), Some("InvalidPermission.Duplicate"));
    let body = describe(&app, "web").await;
    assert_eq!(texts(&ingress(&body), "cidrIp"), vec!["10.0.0.0/8"]);
    let names = app.ok("DescribeSecurityGroups", &[]).await;
    assert_eq!(group_names(&names), vec!["default", "web", "db"]);
}

#[tokio::test]
async fn a_group_a_port_uses_is_in_use() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    let c = &app.compute;
    let private = c
        .list_networks(&demo(), &ListQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|n| n.name == "private")
        .expect("the seeded shared network");
    let groups = c
        .list_security_groups(&demo(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    let uuid = groups.iter().find(|g| g.name == "web").unwrap().id.clone();
    let port = c
        .create_port(
            &demo(),
            NewPort {
                network_id: private.id,
                security_groups: Some(vec![uuid]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = app.call("DeleteSecurityGroup", &[("GroupId", &web)]).await;
    assert_eq!((status, code(&body)), (400, Some("InvalidGroup.InUse")));
    c.delete_port(&demo(), &port.id).await.unwrap();
    app.ok("DeleteSecurityGroup", &[("GroupId", &web)]).await;
}

#[tokio::test]
async fn filters_pick_groups_by_attributes_and_permissions() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    create(&app, "db").await;
    app.ok(
        "AuthorizeSecurityGroupIngress",
        &[
            ("GroupName", "web"),
            ("IpProtocol", "tcp"),
            ("FromPort", "22"),
            ("ToPort", "22"),
            ("CidrIp", "10.0.0.0/8"),
        ],
    )
    .await;
    let names = |filters: &[(&str, &str)]| {
        let mut params = Vec::new();
        for (i, (n, v)) in filters.iter().enumerate() {
            params.push((format!("Filter.{}.Name", i + 1), n.to_string()));
            params.push((format!("Filter.{}.Value.1", i + 1), v.to_string()));
        }
        let app = app.clone();
        async move {
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let body = app.ok("DescribeSecurityGroups", &refs).await;
            group_names(&body)
        }
    };
    assert_eq!(names(&[("group-name", "w*")]).await, vec!["web"]);
    assert_eq!(names(&[("group-id", &web)]).await, vec!["web"]);
    assert_eq!(
        names(&[("description", "made by EC2")]).await,
        vec!["web", "db"]
    );
    assert_eq!(names(&[("owner-id", "demo")]).await.len(), 3);
    assert_eq!(
        names(&[("ip-permission.protocol", "tcp")]).await,
        vec!["web"]
    );
    assert_eq!(
        names(&[
            ("ip-permission.from-port", "22"),
            ("ip-permission.to-port", "22"),
            ("ip-permission.cidr", "10.0.0.0/8"),
        ])
        .await,
        vec!["web"]
    );
    assert_eq!(
        names(&[("ip-permission.group-name", "default")]).await,
        vec!["default"]
    );
    assert_eq!(
        names(&[("egress.ip-permission.cidr", "0.0.0.0/0")])
            .await
            .len(),
        3
    );
    assert!(names(&[("ip-permission.cidr", "172.16.0.0/12")])
        .await
        .is_empty());
}

#[tokio::test]
async fn projects_never_see_or_change_each_others_groups() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    let eve = |action: &'static str, params: Vec<(&'static str, String)>| {
        let app = app.clone();
        async move {
            let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_as("eve:other", action, &refs).await
        }
    };
    let (_, body) = eve("DescribeSecurityGroups", vec![]).await;
    assert_eq!(group_names(&body), vec!["default"]);
    assert_eq!(texts(&body, "ownerId"), vec!["other"]);
    for (action, params) in [
        ("DescribeSecurityGroups", vec![("GroupId.1", web.clone())]),
        ("DeleteSecurityGroup", vec![("GroupId", web.clone())]),
        (
            "AuthorizeSecurityGroupIngress",
            vec![
                ("GroupId", web.clone()),
                ("IpProtocol", "-1".into()),
                ("CidrIp", "0.0.0.0/0".into()),
            ],
        ),
    ] {
        let (status, body) = eve(action, params).await;
        assert_eq!(
            (status, code(&body)),
            (400, Some("InvalidGroup.NotFound")),
            "{action}: {body}"
        );
    }
    // Her own group of the same name is hers alone.
    let (status, _) = eve(
        "CreateSecurityGroup",
        vec![
            ("GroupName", "web".into()),
            ("GroupDescription", "eve's".into()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let body = describe(&app, "web").await;
    assert_eq!(text(&body, "groupId"), Some(web.as_str()));
    assert_eq!(text(&body, "groupDescription"), Some("made by EC2"));
    // The admin sees every project's groups.
    let (_, body) = app
        .call_as("admin:admin", "DescribeSecurityGroups", &[])
        .await;
    let owners = texts(&body, "ownerId");
    assert!(
        owners.contains(&"demo") && owners.contains(&"other"),
        "{owners:?}"
    );
}

#[tokio::test]
async fn run_instances_takes_only_groups_the_project_has() {
    let app = TestApp::noauth().await;
    let web = create(&app, "web").await;
    let launch = |extra: Vec<(&'static str, String)>| {
        let app = app.clone();
        async move {
            let mut params: Vec<(&str, String)> = vec![
                ("ImageId", "ami-00000001".into()),
                ("MinCount", "1".into()),
                ("MaxCount", "1".into()),
                ("InstanceType", "m1.tiny".into()),
            ];
            params.extend(extra);
            let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("RunInstances", &refs).await
        }
    };
    for bad in [
        vec![("SecurityGroup.1", "nope".to_string())],
        vec![
            ("SecurityGroup.1", "web".to_string()),
            ("SecurityGroupId.1", "sg-0123456789abcdef0".to_string()),
        ],
    ] {
        let (status, body) = launch(bad).await;
        assert_eq!((status, code(&body)), (400, Some("InvalidGroup.NotFound")));
    }
    let made = app
        .compute
        .list_instances(&demo(), &InstanceFilter::default())
        .await
        .unwrap();
    assert!(made.is_empty());
    let (status, body) = launch(vec![
        ("SecurityGroup.1", "web".to_string()),
        ("SecurityGroupId.1", web.clone()),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    // The instance's port has the group (named twice, kept once): the
    // reservation's and the instance's groupSet show it.
    assert_eq!(texts(&body, "groupName"), vec!["web", "web"]);
}
