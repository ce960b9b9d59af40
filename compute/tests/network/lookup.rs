//! Lookups by what a nova request names, on both engines: a security group
//! by id (any the caller sees) or by its project's name (ambiguous when
//! two share it), a floating IP by its address (the caller's alone).

use compute::network::lookup::Found;
use compute::network::{NewFloatingIp, NewSecurityGroup};
use compute::{Compute, Engine, RequestContext};

use super::routers::external;
use super::unseeded;
use crate::support::{admin, alice, bob};

on_both_engines!(
    a_security_group_is_found_by_id_or_by_its_projects_name,
    a_floating_ip_is_found_by_its_address_by_its_project_alone,
);

async fn group(c: &Compute, ctx: &RequestContext, name: &str) -> String {
    c.create_security_group(
        ctx,
        NewSecurityGroup {
            name: Some(name.into()),
            ..Default::default()
        },
    )
    .await
    .expect("group")
    .id
}

/// The id of what a lookup found, or what it found instead.
fn found_id<T>(found: Found<T>, id: impl Fn(&T) -> String) -> String {
    match found {
        Found::One(item) => id(&item),
        Found::Nothing => "nothing".into(),
        Found::Several => "several".into(),
    }
}

async fn a_security_group_is_found_by_id_or_by_its_projects_name(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let web = group(c, &alice(), "web").await;
    group(c, &alice(), "twin").await;
    group(c, &alice(), "twin").await;
    let bobs_web = group(c, &bob(), "web").await;
    let find = |ctx: RequestContext, project: &'static str, name: String| async move {
        let found = c.find_security_group(&ctx, project, &name).await.unwrap();
        found_id(found, |g| g.id.clone())
    };

    assert_eq!(find(alice(), "project-a", "web".into()).await, web);
    assert_eq!(find(alice(), "project-a", web.clone()).await, web);
    assert_eq!(find(alice(), "project-a", "twin".into()).await, "several");
    assert_eq!(find(alice(), "project-a", "db".into()).await, "nothing");
    // Another project's group is neither found by id nor by name.
    assert_eq!(
        find(alice(), "project-a", bobs_web.clone()).await,
        "nothing"
    );
    assert_eq!(find(bob(), "project-b", "web".into()).await, bobs_web);
    // An admin finds any group by id, and by name within the project named.
    assert_eq!(find(admin(), "project-b", bobs_web.clone()).await, bobs_web);
    assert_eq!(find(admin(), "project-a", "web".into()).await, web);
    // The project's default group is made on first use, as by a list.
    let default = find(bob(), "project-b", "default".into()).await;
    assert_eq!(
        c.get_security_group(&bob(), &default).await.unwrap().name,
        "default"
    );
}

async fn a_floating_ip_is_found_by_its_address_by_its_project_alone(engine: Engine) {
    let f = unseeded(engine).await;
    let c = &f.compute;
    let (ext, _) = external(c, "172.24.8.0/24").await;
    let fip = c
        .create_floating_ip(
            &alice(),
            NewFloatingIp {
                floating_network_id: ext,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let find = |ctx: RequestContext, address: String| async move {
        let found = c.find_floating_ip_by_address(&ctx, &address).await.unwrap();
        found_id(found, |f| f.id.clone())
    };

    assert_eq!(find(alice(), fip.floating_ip_address.clone()).await, fip.id);
    assert_eq!(find(admin(), fip.floating_ip_address.clone()).await, fip.id);
    assert_eq!(
        find(bob(), fip.floating_ip_address.clone()).await,
        "nothing"
    );
    assert_eq!(find(alice(), "172.24.8.250".into()).await, "nothing");
    assert_eq!(find(alice(), String::new()).await, "nothing");
}
