//! EC2-Classic's Elastic IPs, image attributes, instance attributes,
//! passwords and tags on every taggable resource, with the AWS codes
//! ec2api-tempest-plugin checks.

use compute::network::routers::{GatewayRequest, InterfaceRequest, NewRouter};
use compute::network::{ListQuery, NewFloatingIp};
use compute::{Compute, NewImage, RequestContext};

use crate::fixture::{code, text, texts, TestApp};

const IMAGE: &str = "ami-00000001";

fn demo() -> RequestContext {
    RequestContext::new("demo", "demo")
}

fn admin() -> RequestContext {
    RequestContext::admin("admin", "admin")
}

fn named(name: &str) -> ListQuery {
    let mut q = ListQuery::default();
    q.filters.push(("name".into(), vec![name.into()]));
    q
}

async fn run(app: &TestApp) -> String {
    let body = app
        .ok(
            "RunInstances",
            &[
                ("ImageId", IMAGE),
                ("MinCount", "1"),
                ("MaxCount", "1"),
                ("InstanceType", "m1.tiny"),
            ],
        )
        .await;
    text(&body, "instanceId").unwrap().to_string()
}

/// A router joining the seeded `private` subnet to `public`, as devstack
/// leaves a cloud: its instances can take floating IPs.
async fn route_private_to_public(c: &Compute) {
    let public = c
        .list_networks(&admin(), &named("public"))
        .await
        .unwrap()
        .items;
    let subnet = c
        .list_subnets(&admin(), &named("private-subnet"))
        .await
        .unwrap()
        .items;
    let router = c
        .create_router(
            &admin(),
            NewRouter {
                name: Some("r".into()),
                external_gateway_info: Some(GatewayRequest {
                    network_id: public[0].id.clone(),
                    enable_snat: None,
                    external_fixed_ips: None,
                }),
                ..NewRouter::default()
            },
        )
        .await
        .unwrap();
    c.add_router_interface(
        &admin(),
        &router.id,
        InterfaceRequest {
            subnet_id: Some(subnet[0].id.clone()),
            port_id: None,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_elastic_ip_is_a_floating_ip_and_follows_its_instance() {
    let app = TestApp::noauth().await;
    route_private_to_public(&app.compute).await;
    let made = app.ok("AllocateAddress", &[]).await;
    let ip = text(&made, "publicIp").unwrap().to_string();
    assert_eq!(text(&made, "domain"), Some("standard"));
    // The network API sees the same floating IP.
    let fips = app
        .compute
        .list_floating_ips(&demo(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(fips.len(), 1);
    assert_eq!(fips[0].floating_ip_address, ip);
    assert_eq!(fips[0].project_id, "demo");

    let id = run(&app).await;
    app.ok(
        "AssociateAddress",
        &[("InstanceId", &id), ("PublicIp", &ip)],
    )
    .await;
    let listed = app.ok("DescribeAddresses", &[("PublicIp.1", &ip)]).await;
    assert_eq!(text(&listed, "instanceId"), Some(id.as_str()));
    assert_eq!(text(&listed, "domain"), Some("standard"));
    let inst = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_eq!(text(&inst, "ipAddress"), Some(ip.as_str()));
    assert_eq!(text(&inst, "dnsName"), Some(ip.as_str()));
    let by_instance = app
        .ok(
            "DescribeAddresses",
            &[("Filter.1.Name", "instance-id"), ("Filter.1.Value.1", &id)],
        )
        .await;
    assert_eq!(texts(&by_instance, "publicIp"), vec![ip.as_str()]);

    app.ok("DisassociateAddress", &[("PublicIp", &ip)]).await;
    let inst = app.ok("DescribeInstances", &[("InstanceId.1", &id)]).await;
    assert_ne!(text(&inst, "ipAddress"), Some(ip.as_str()));
    let listed = app.ok("DescribeAddresses", &[("PublicIp.1", &ip)]).await;
    assert_eq!(text(&listed, "instanceId"), None);
    // Disassociating an unassociated address is no error on EC2-Classic.
    app.ok("DisassociateAddress", &[("PublicIp", &ip)]).await;

    app.ok("ReleaseAddress", &[("PublicIp", &ip)]).await;
    let left = app
        .compute
        .list_floating_ips(&demo(), &ListQuery::default())
        .await
        .unwrap()
        .items;
    assert!(left.is_empty());
}

#[tokio::test]
async fn a_floating_ip_made_by_the_network_api_is_an_address_here() {
    let app = TestApp::noauth().await;
    let public = app
        .compute
        .list_networks(&demo(), &named("public"))
        .await
        .unwrap()
        .items;
    let fip = app
        .compute
        .create_floating_ip(
            &demo(),
            NewFloatingIp {
                floating_network_id: public[0].id.clone(),
                ..NewFloatingIp::default()
            },
        )
        .await
        .unwrap();
    let listed = app.ok("DescribeAddresses", &[]).await;
    assert_eq!(
        texts(&listed, "publicIp"),
        vec![fip.floating_ip_address.as_str()]
    );
    // Another project sees nothing and cannot release it.
    let (_, other) = app.call_as("bob:other", "DescribeAddresses", &[]).await;
    assert!(texts(&other, "publicIp").is_empty(), "{other}");
    let (status, body) = app
        .call_as(
            "bob:other",
            "ReleaseAddress",
            &[("PublicIp", &fip.floating_ip_address)],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidAddress.NotFound"))
    );
    let still = app.compute.get_floating_ip(&demo(), &fip.id).await.unwrap();
    assert_eq!(still.floating_ip_address, fip.floating_ip_address);
}

#[tokio::test]
async fn address_refusals_get_aws_codes() {
    let app = TestApp::noauth().await;
    let made = app.ok("AllocateAddress", &[("Domain", "standard")]).await;
    let ip = text(&made, "publicIp").unwrap().to_string();
    app.expect_codes(vec![
        (
            "AllocateAddress",
            vec![("Domain", "invalid")],
            "InvalidParameterValue",
        ),
        (
            "DescribeAddresses",
            vec![("PublicIp.1", "invalidIp")],
            "InvalidParameterValue",
        ),
        (
            "DescribeAddresses",
            vec![("PublicIp.1", "192.0.2.250")],
            "InvalidAddress.NotFound",
        ),
        (
            "DescribeAddresses",
            vec![("AllocationId.1", "eipalloc-00000000")],
            "InvalidAllocationID.NotFound",
        ),
        (
            "DescribeAddresses",
            vec![("Filter.1.Name", "colour"), ("Filter.1.Value.1", "x")],
            "InvalidParameterValue",
        ),
        ("ReleaseAddress", vec![], "MissingParameter"),
        (
            "ReleaseAddress",
            vec![("PublicIp", ip.as_str()), ("AllocationId", "eipalloc-1")],
            "InvalidParameterCombination",
        ),
        (
            "ReleaseAddress",
            vec![("AllocationId", "eipalloc-00000000")],
            "InvalidAllocationID.NotFound",
        ),
        (
            "ReleaseAddress",
            vec![("PublicIp", "192.0.2.250")],
            "InvalidAddress.NotFound",
        ),
        (
            "DisassociateAddress",
            vec![("AssociationId", "eipassoc-1")],
            "InvalidAssociationID.NotFound",
        ),
        (
            "AssociateAddress",
            vec![("PublicIp", ip.as_str())],
            "MissingParameter",
        ),
        (
            "AssociateAddress",
            vec![("InstanceId", "i-0000abcd"), ("PublicIp", ip.as_str())],
            "InvalidInstanceID.NotFound",
        ),
    ])
    .await;
    // Nothing was released or made by the refusals.
    let listed = app.ok("DescribeAddresses", &[]).await;
    assert_eq!(texts(&listed, "publicIp"), vec![ip.as_str()]);
}

/// An image of project `demo`, made through the image catalogue.
async fn demo_image(c: &Compute, name: &str) -> String {
    let mut new = NewImage::new(name.to_string());
    new.disk_format = Some("qcow2".into());
    new.container_format = Some("bare".into());
    c.create_image(&demo(), new).await.unwrap().ec2_id()
}

#[tokio::test]
async fn image_attributes_of_another_projects_image_are_refused_after_the_parameters() {
    let app = TestApp::noauth().await;
    // The seeded cirros image is public and the admin project's.
    app.expect_codes(vec![
        (
            "DescribeImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "unsupported")],
            "InvalidRequest",
        ),
        (
            "DescribeImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "description")],
            "AuthFailure",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "unsupported")],
            "InvalidParameterCombination",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "blockDeviceMapping")],
            "InvalidParameter",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE)],
            "InvalidParameterCombination",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("Description.Value", "fake")],
            "AuthFailure",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("LaunchPermission.Add.1.Group", "all")],
            "AuthFailure",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "description")],
            "MissingParameter",
        ),
        (
            "ModifyImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "launchPermission")],
            "InvalidParameterCombination",
        ),
        (
            "ResetImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "fake")],
            "InvalidRequest",
        ),
        (
            "ResetImageAttribute",
            vec![("ImageId", IMAGE), ("Attribute", "launchPermission")],
            "AuthFailure",
        ),
        ("DeregisterImage", vec![("ImageId", IMAGE)], "AuthFailure"),
    ])
    .await;
    // None of it changed the image.
    let image = app
        .compute
        .get_image(&admin(), compute::CIRROS_IMAGE_UUID)
        .await
        .unwrap();
    assert_eq!(image.visibility, "public");
    assert!(!image.properties.contains_key("description"));
}

#[tokio::test]
async fn the_owner_changes_description_and_launch_permissions() {
    let app = TestApp::noauth().await;
    let ami = demo_image(&app.compute, "web-image").await;
    let attr = |a: &'static str| vec![("ImageId", ami.clone()), ("Attribute", a.to_string())];
    let describe = |a: &'static str| {
        let app = &app;
        let p = attr(a);
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.ok("DescribeImageAttribute", &p).await
        }
    };
    app.ok(
        "ModifyImageAttribute",
        &[("ImageId", &ami), ("Description.Value", "a web server")],
    )
    .await;
    let d = describe("description").await;
    assert_eq!(text(&d, "value"), Some("a web server"));
    let listed = app.ok("DescribeImages", &[("ImageId.1", &ami)]).await;
    assert_eq!(text(&listed, "description"), Some("a web server"));

    // Private: no launch permission.
    let lp = describe("launchPermission").await;
    assert!(texts(&lp, "group").is_empty(), "{lp}");
    // Shared with one project, through the flat form.
    app.ok(
        "ModifyImageAttribute",
        &[
            ("ImageId", &ami),
            ("Attribute", "launchPermission"),
            ("OperationType", "add"),
            ("UserId.1", "p2"),
        ],
    )
    .await;
    let lp = describe("launchPermission").await;
    assert_eq!(texts(&lp, "userId"), vec!["p2"]);
    // Everyone, through the structured form: a member may publish only
    // to the community (Glance keeps `public` for admins).
    app.ok(
        "ModifyImageAttribute",
        &[("ImageId", &ami), ("LaunchPermission.Add.1.Group", "all")],
    )
    .await;
    let lp = describe("launchPermission").await;
    assert_eq!(texts(&lp, "group"), vec!["all"]);
    let uuid = app
        .compute
        .get_image_by_ec2_id(&demo(), &ami)
        .await
        .unwrap()
        .uuid;
    let image = app.compute.get_image(&demo(), &uuid).await.unwrap();
    assert_eq!(image.visibility, "community");
    let (_, other) = app
        .call_as("bob:other", "DescribeImages", &[("ImageId.1", &ami)])
        .await;
    assert_eq!(text(&other, "isPublic"), Some("true"), "{other}");
    // Reset: private again.
    app.ok(
        "ResetImageAttribute",
        &[("ImageId", &ami), ("Attribute", "launchPermission")],
    )
    .await;
    let image = app.compute.get_image(&demo(), &uuid).await.unwrap();
    assert_eq!(image.visibility, "private");
    app.ok("DeregisterImage", &[("ImageId", &ami)]).await;
}

#[tokio::test]
async fn create_image_is_refused_on_an_instance_store_root_and_names_are_unique() {
    let app = TestApp::noauth().await;
    let id = run(&app).await;
    let taken = demo_image(&app.compute, "web-image").await;
    let (status, body) = app
        .call("CreateImage", &[("InstanceId", &id), ("Name", "web-image")])
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidAMIName.Duplicate"))
    );
    assert!(body.contains(&taken), "{body}");
    let before = app.ok("DescribeImages", &[]).await;
    let (status, body) = app
        .call("CreateImage", &[("InstanceId", &id), ("Name", "snap-1")])
        .await;
    assert_eq!((status, code(&body)), (400, Some("InvalidParameterValue")));
    let after = app.ok("DescribeImages", &[]).await;
    assert_eq!(texts(&before, "imageId"), texts(&after, "imageId"));
}

#[tokio::test]
async fn instance_attribute_refusals_get_aws_codes_and_change_nothing() {
    let app = TestApp::noauth().await;
    let id = run(&app).await;
    let i = id.as_str();
    app.expect_codes(vec![
        (
            "DescribeInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "fake_attribute")],
            "InvalidParameterValue",
        ),
        (
            "DescribeInstanceAttribute",
            vec![
                ("InstanceId", "i-0"),
                ("Attribute", "disableApiTermination"),
            ],
            "InvalidInstanceID.NotFound",
        ),
        (
            "DescribeInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "sourceDestCheck")],
            "InvalidParameterCombination",
        ),
        (
            "ModifyInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "fake_attribute")],
            "InvalidParameterValue",
        ),
        (
            "ModifyInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "disableApiTermination")],
            "MissingParameter",
        ),
        (
            "ModifyInstanceAttribute",
            vec![("InstanceId", i)],
            "InvalidParameterCombination",
        ),
        (
            "ModifyInstanceAttribute",
            vec![
                ("InstanceId", i),
                ("Attribute", "disableApiTermination"),
                ("Value", "True"),
                ("DisableApiTermination.Value", "false"),
            ],
            "InvalidParameterCombination",
        ),
        (
            "ModifyInstanceAttribute",
            vec![("InstanceId", i), ("GroupId.1", "sg-0")],
            "InvalidParameterCombination",
        ),
        (
            "ModifyInstanceAttribute",
            vec![
                ("InstanceId", i),
                ("Attribute", "sourceDestCheck"),
                ("Value", "False"),
            ],
            "InvalidParameterCombination",
        ),
        (
            "ResetInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "fake_attribute")],
            "InvalidParameterValue",
        ),
        (
            "ResetInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "disableApiTermination")],
            "InvalidParameterValue",
        ),
        (
            "ResetInstanceAttribute",
            vec![
                ("InstanceId", "i-0"),
                ("Attribute", "disableApiTermination"),
            ],
            "InvalidParameterValue",
        ),
        (
            "ResetInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "groupSet")],
            "InvalidParameterValue",
        ),
        (
            "ResetInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "instanceType")],
            "InvalidParameterValue",
        ),
        (
            "ResetInstanceAttribute",
            vec![("InstanceId", i), ("Attribute", "sourceDestCheck")],
            "InvalidParameterCombination",
        ),
        (
            "ModifyInstanceAttribute",
            vec![
                ("InstanceId", i),
                ("Attribute", "instanceType"),
                ("Value", "m1.tiny"),
            ],
            "IncorrectInstanceState",
        ),
        (
            "ModifyInstanceAttribute",
            vec![("InstanceId", i), ("InstanceType.Value", "m1.tiny")],
            "IncorrectInstanceState",
        ),
    ])
    .await;
    let attr = app
        .ok(
            "DescribeInstanceAttribute",
            &[("InstanceId", i), ("Attribute", "disableApiTermination")],
        )
        .await;
    assert_eq!(text(&attr, "value"), Some("false"));
    let reset = app
        .ok(
            "ResetInstanceAttribute",
            &[("InstanceId", i), ("Attribute", "kernel")],
        )
        .await;
    assert_eq!(text(&reset, "return"), Some("true"));
}

#[tokio::test]
async fn password_data_is_the_metadata_services_password() {
    let app = TestApp::noauth().await;
    let id = run(&app).await;
    let before = app.ok("GetPasswordData", &[("InstanceId", &id)]).await;
    assert_eq!(text(&before, "instanceId"), Some(id.as_str()));
    assert_eq!(text(&before, "passwordData"), Some(""));
    assert!(text(&before, "timestamp").is_some());
    let uuid = app
        .compute
        .get_instance_by_id(&demo(), compute::ec2::parse_ec2_id(&id, &["i"]).unwrap())
        .await
        .unwrap()
        .uuid;
    app.compute
        .set_instance_password(&demo(), &uuid, "ZW5jcnlwdGVk")
        .await
        .unwrap();
    let after = app.ok("GetPasswordData", &[("InstanceId", &id)]).await;
    assert_eq!(text(&after, "passwordData"), Some("ZW5jcnlwdGVk"));
    let (status, body) = app
        .call("GetPasswordData", &[("InstanceId", "i-0000abcd")])
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("InvalidInstanceID.NotFound"))
    );
}

#[tokio::test]
async fn images_and_security_groups_carry_tags_per_project() {
    let app = TestApp::noauth().await;
    let made = app
        .ok(
            "CreateSecurityGroup",
            &[
                ("GroupName", "web"),
                ("GroupDescription", "web servers"),
                ("TagSpecification.1.ResourceType", "security-group"),
                ("TagSpecification.1.Tag.1.Key", "tier"),
                ("TagSpecification.1.Tag.1.Value", "front"),
            ],
        )
        .await;
    let sg = text(&made, "groupId").unwrap().to_string();
    let id = run(&app).await;
    app.ok(
        "CreateTags",
        &[
            ("ResourceId.1", IMAGE),
            ("ResourceId.2", &id),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ],
    )
    .await;
    let all = app.ok("DescribeTags", &[]).await;
    let mut rows: Vec<(&str, &str)> = texts(&all, "resourceId")
        .into_iter()
        .zip(texts(&all, "resourceType"))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (IMAGE, "image"),
            (id.as_str(), "instance"),
            (sg.as_str(), "security-group")
        ]
    );
    let images = app
        .ok(
            "DescribeImages",
            &[("Filter.1.Name", "tag:env"), ("Filter.1.Value.1", "prod")],
        )
        .await;
    assert_eq!(texts(&images, "imageId"), vec![IMAGE]);
    let groups = app
        .ok(
            "DescribeSecurityGroups",
            &[("Filter.1.Name", "tag-key"), ("Filter.1.Value.1", "tier")],
        )
        .await;
    assert_eq!(texts(&groups, "groupId"), vec![sg.as_str()]);
    let by_type = app
        .ok(
            "DescribeTags",
            &[
                ("Filter.1.Name", "resource-type"),
                ("Filter.1.Value.1", "image"),
            ],
        )
        .await;
    assert_eq!(texts(&by_type, "key"), vec!["env"]);
    // Another project tags the same public image and sees only its own.
    let (_, other) = app.call_as("bob:other", "DescribeTags", &[]).await;
    assert!(texts(&other, "key").is_empty(), "{other}");
    let (_, other) = app
        .call_as("bob:other", "DescribeImages", &[("ImageId.1", IMAGE)])
        .await;
    assert!(texts(&other, "key").is_empty(), "{other}");

    app.ok(
        "DeleteTags",
        &[
            ("ResourceId.1", IMAGE),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "other"),
        ],
    )
    .await;
    let kept = app
        .ok(
            "DescribeTags",
            &[
                ("Filter.1.Name", "resource-id"),
                ("Filter.1.Value.1", IMAGE),
            ],
        )
        .await;
    assert_eq!(texts(&kept, "value"), vec!["prod"]);
    app.ok(
        "DeleteTags",
        &[("ResourceId.1", IMAGE), ("Tag.1.Key", "env")],
    )
    .await;
    app.ok("DeleteSecurityGroup", &[("GroupId", &sg)]).await;
    let left = app.ok("DescribeTags", &[]).await;
    assert_eq!(texts(&left, "resourceId"), vec![id.as_str()]);

    app.expect_codes(vec![
        (
            "CreateTags",
            vec![("ResourceId.1", "vol-00000001"), ("Tag.1.Key", "k")],
            "InvalidID",
        ),
        (
            "CreateTags",
            vec![("ResourceId.1", "sg-0000abcd"), ("Tag.1.Key", "k")],
            "InvalidGroup.NotFound",
        ),
        (
            "CreateTags",
            vec![("ResourceId.1", "ami-0000abcd"), ("Tag.1.Key", "k")],
            "InvalidAMIID.NotFound",
        ),
        (
            "CreateTags",
            vec![("ResourceId.1", IMAGE), ("Tag.1.Key", "aws:x")],
            "InvalidParameterValue",
        ),
    ])
    .await;
}

#[tokio::test]
async fn a_revoke_removes_the_rules_the_group_has_and_lists_the_others() {
    let app = TestApp::noauth().await;
    let made = app
        .ok(
            "CreateSecurityGroup",
            &[("GroupName", "web"), ("GroupDescription", "d")],
        )
        .await;
    let sg = text(&made, "groupId").unwrap().to_string();
    let rules = [
        ("GroupId", sg.as_str()),
        ("IpPermissions.1.IpProtocol", "icmp"),
        ("IpPermissions.1.FromPort", "-1"),
        ("IpPermissions.1.ToPort", "-1"),
        ("IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"),
        ("IpPermissions.2.IpProtocol", "tcp"),
        ("IpPermissions.2.FromPort", "1"),
        ("IpPermissions.2.ToPort", "65535"),
        ("IpPermissions.2.IpRanges.1.CidrIp", "192.0.2.0/24"),
    ];
    app.ok("AuthorizeSecurityGroupIngress", &rules[..5]).await;
    let revoked = app.ok("RevokeSecurityGroupIngress", &rules).await;
    assert_eq!(text(&revoked, "return"), Some("true"));
    let unknown = &revoked[revoked.find("<unknownIpPermissionSet>").unwrap()..];
    assert_eq!(texts(unknown, "ipProtocol"), vec!["tcp"]);
    assert_eq!(texts(unknown, "fromPort"), vec!["1"]);
    assert_eq!(texts(unknown, "cidrIp"), vec!["192.0.2.0/24"]);
    let listed = app
        .ok("DescribeSecurityGroups", &[("GroupId.1", &sg)])
        .await;
    let ingress =
        &listed[listed.find("<ipPermissions>").unwrap()..listed.find("</ipPermissions>").unwrap()];
    assert!(texts(ingress, "ipProtocol").is_empty(), "{listed}");
    // Revoking again changes nothing and is no error (EC2-Classic's answer).
    let again = app.ok("RevokeSecurityGroupIngress", &rules[..5]).await;
    assert_eq!(texts(&again, "cidrIp"), vec!["10.0.0.0/8"]);
}
