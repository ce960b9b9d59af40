//! The instance actions: DescribeInstances, DescribeInstanceStatus,
//! RunInstances, Start/Stop/Reboot/TerminateInstances,
//! Describe/ModifyInstanceAttribute and GetConsoleOutput.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use chrono::Utc;
use compute::{ClientTokenOutcome, CreateInstance, Instance, InstanceFilter};

use super::common::{
    any_matches, client_token_tag, compute_ctx, default_group_id, map_err, max_results, page,
    tag_filter_matches, unknown_filter, DISABLE_API_TERMINATION_TAG,
};
use super::images::image_ec2_id_of;
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::ids::parse_instance_id;
use crate::ids::security_group_ec2_id;
use crate::query::Filter;
use crate::state::Ec2State;
use crate::xml::{timestamp, Xml};
use compute::network::security_groups::DEFAULT_GROUP_NAME;

/// How long a terminated instance stays visible (AWS keeps them about an hour).
const TERMINATED_VISIBLE_SECS: i64 = 3600;

/// The root device nova's EC2 API reported for local disks.
const ROOT_DEVICE: &str = "/dev/vda";

/// The EC2 state of an instance. compute's mapping puts a stopped instance
/// that is powering on under `stopped`; EC2 clients (the `instance_running`
/// waiter, awscli) expect `pending` there, so that case is decided here.
fn ec2_state_of(i: &Instance) -> (u16, &'static str) {
    match (i.vm_state, i.task_state) {
        (compute::VmState::Stopped, Some(compute::TaskState::PoweringOn)) => (0, "pending"),
        _ => i.ec2_state(),
    }
}

/// The instances of the caller, live and recently terminated, optionally
/// only those with the given integer ids.
pub(super) async fn visible_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ids: Option<Vec<i64>>,
) -> Result<Vec<Instance>, Ec2Error> {
    let ctx = compute_ctx(req);
    let filter = InstanceFilter {
        // nova's EC2 API showed an admin every project's instances.
        all_projects: ctx.is_admin,
        ids,
        // A changes filter lists deleted instances too, which EC2 shows as terminated.
        changes_since: Some(chrono::DateTime::<Utc>::UNIX_EPOCH),
        ..InstanceFilter::default()
    };
    let cutoff = Utc::now() - chrono::Duration::seconds(TERMINATED_VISIBLE_SECS);
    let mut list = state
        .compute
        .list_instances(&ctx, &filter)
        .await
        .map_err(|e| map_err(e, None))?;
    list.retain(|i| !i.deleted || i.deleted_at.or(i.terminated_at).is_some_and(|t| t > cutoff));
    Ok(list)
}

/// The instances named by `InstanceId.N` (all must exist), in request order.
pub(super) async fn named_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ec2_ids: &[String],
) -> Result<Vec<Instance>, Ec2Error> {
    let mut ids = Vec::with_capacity(ec2_ids.len());
    for e in ec2_ids {
        ids.push(parse_instance_id(e).ok_or_else(|| Ec2Error::InstanceMalformed(e.clone()))?);
    }
    let found = visible_instances(state, req, Some(ids.clone())).await?;
    let by_id: HashMap<i64, &Instance> = found.iter().map(|i| (i.id, i)).collect();
    let mut out = Vec::with_capacity(ids.len());
    for (ec2, id) in ec2_ids.iter().zip(&ids) {
        out.push(
            (*by_id
                .get(id)
                .ok_or_else(|| Ec2Error::InstanceNotFound(ec2.clone()))?)
            .clone(),
        );
    }
    Ok(out)
}

fn required_ids(req: &ActionRequest<'_>) -> Result<Vec<String>, Ec2Error> {
    let ids = req.params.list("InstanceId");
    if ids.is_empty() {
        return Err(Ec2Error::MissingParameter("InstanceId".into()));
    }
    Ok(ids)
}

/// The fixed IP, which a terminated instance no longer holds (it may be
/// another instance's by now).
fn address_of(i: &Instance) -> Option<String> {
    (!i.deleted)
        .then(|| i.fixed_ipv4())
        .flatten()
        .map(|ip| ip.to_string())
}

/// The public address: its floating IP (an Elastic IP), else its fixed
/// one as EC2-classic shows it.
fn public_address_of(i: &Instance) -> Option<String> {
    (!i.deleted)
        .then(|| i.floating_ipv4())
        .flatten()
        .map(|ip| ip.to_string())
        .or_else(|| address_of(i))
}

fn private_dns(state: &Ec2State, i: &Instance) -> String {
    match (state.options.ec2_private_dns_show_ip, i.fixed_ipv4()) {
        (true, Some(ip)) => ip.to_string(),
        _ => i.hostname.clone(),
    }
}

/// An instance's `groupSet`: the groups of its ports.
fn write_groups(x: &mut Xml, i: &Instance) {
    x.set("groupSet", i.security_groups(), |x, g| {
        let id = if g.name == DEFAULT_GROUP_NAME {
            default_group_id(&i.project_id)
        } else {
            security_group_ec2_id(&g.id)
        };
        x.text("groupId", &id).text("groupName", &g.name);
    });
}

/// One `instancesSet/item` in the shape of botocore's `Instance`.
fn write_instance(x: &mut Xml, state: &Ec2State, i: &Instance, image_id: &str) {
    let (code, name) = ec2_state_of(i);
    let ip = address_of(i);
    let public_ip = public_address_of(i);
    x.text("instanceId", &i.ec2_id());
    x.text("imageId", image_id);
    x.elem("instanceState", |x| {
        x.num("code", code).text("name", name);
    });
    x.text("privateDnsName", &private_dns(state, i));
    x.opt("dnsName", public_ip.as_deref());
    x.text(
        "reason",
        i.fault.as_ref().map(|f| f.message.as_str()).unwrap_or(""),
    );
    x.opt("keyName", i.key_name.as_deref());
    x.num("amiLaunchIndex", i.launch_index);
    x.empty("productCodes");
    x.text("instanceType", &i.flavor.name);
    x.text(
        "launchTime",
        &timestamp(i.launched_at.unwrap_or(i.created_at)),
    );
    x.elem("placement", |x| {
        x.text("availabilityZone", &i.availability_zone)
            .empty("groupName")
            .text("tenancy", "default");
    });
    x.elem("monitoring", |x| {
        x.text("state", "disabled");
    });
    x.opt("privateIpAddress", ip.as_deref());
    if let Some(ip) = &public_ip {
        x.text("ipAddress", ip);
    }
    write_groups(x, i);
    x.text("architecture", "x86_64");
    x.text("rootDeviceType", "instance-store");
    x.text("rootDeviceName", ROOT_DEVICE);
    x.empty("blockDeviceMapping");
    x.text("virtualizationType", "hvm");
    x.text("hypervisor", "xen");
    x.set("tagSet", &i.metadata, |x, (k, v)| {
        x.text("key", k).text("value", v);
    });
    if let Some(fault) = &i.fault {
        x.elem("stateReason", |x| {
            x.text("code", "Server.InternalError")
                .text("message", &fault.message);
        });
    }
}

fn instance_filter_matches(f: &Filter, i: &Instance, image_id: &str) -> Result<bool, Ec2Error> {
    if let Some(m) = tag_filter_matches(f, &i.metadata) {
        return Ok(m);
    }
    let ip = address_of(i);
    let (code, state) = ec2_state_of(i);
    let code = code.to_string();
    Ok(match f.name.as_str() {
        "instance-id" => any_matches(f, Some(&i.ec2_id())),
        "instance-state-name" => any_matches(f, Some(state)),
        "instance-state-code" => any_matches(f, Some(&code)),
        "instance-type" => any_matches(f, Some(&i.flavor.name)),
        "image-id" => any_matches(f, Some(image_id)),
        "key-name" => any_matches(f, i.key_name.as_deref()),
        "availability-zone" => any_matches(f, Some(&i.availability_zone)),
        "private-ip-address" | "ip-address" => any_matches(f, ip.as_deref()),
        "private-dns-name" => any_matches(f, Some(&i.hostname)),
        "reservation-id" => any_matches(f, Some(&i.reservation_id)),
        "owner-id" => any_matches(f, Some(&i.project_id)),
        "launch-index" => any_matches(f, Some(&i.launch_index.to_string())),
        "group-name" | "instance.group-name" => any_matches(f, Some("default")),
        "group-id" | "instance.group-id" => any_matches(f, Some(&default_group_id(&i.project_id))),
        "architecture" => any_matches(f, Some("x86_64")),
        "root-device-type" => any_matches(f, Some("instance-store")),
        "root-device-name" => any_matches(f, Some(ROOT_DEVICE)),
        "client-token" => f
            .values
            .iter()
            .any(|v| i.tags.contains(&client_token_tag(v))),
        other => return Err(unknown_filter(other)),
    })
}

/// Image EC2 ids of the given instances (one lookup per distinct image).
async fn image_ids_of(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    list: &[Instance],
) -> Result<HashMap<String, String>, Ec2Error> {
    let mut out = HashMap::new();
    for i in list {
        if !out.contains_key(&i.image_ref) {
            out.insert(
                i.image_ref.clone(),
                image_ec2_id_of(state, req, &i.image_ref).await?,
            );
        }
    }
    Ok(out)
}

/// Instances after `InstanceId.N` and `Filter.N`.
async fn filtered(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<(Vec<Instance>, HashMap<String, String>), Ec2Error> {
    let ec2_ids = req.params.list("InstanceId");
    let filters = req.params.filters()?;
    let list = if ec2_ids.is_empty() {
        visible_instances(state, req, None).await?
    } else {
        named_instances(state, req, &ec2_ids).await?
    };
    let images = image_ids_of(state, req, &list).await?;
    let mut out = Vec::with_capacity(list.len());
    'next: for i in list {
        let image = images.get(&i.image_ref).map(String::as_str).unwrap_or("");
        for f in &filters {
            if !instance_filter_matches(f, &i, image)? {
                continue 'next;
            }
        }
        out.push(i);
    }
    Ok((out, images))
}

fn check_paging_combination(req: &ActionRequest<'_>, limit: Option<usize>) -> Result<(), Ec2Error> {
    if limit.is_some() && !req.params.list("InstanceId").is_empty() {
        return Err(Ec2Error::InvalidParameterCombination(
            "The parameter instancesSet cannot be used with the parameter maxResults".into(),
        ));
    }
    Ok(())
}

/// DescribeInstances.
pub async fn describe_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let limit = max_results(req, 5)?;
    check_paging_combination(req, limit)?;
    let (list, images) = filtered(state, req).await?;
    let (list, next) = page(req, list, limit, |i| format!("{:016x}", i.id))?;
    // Reservations in order of their first instance.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Instance>> = BTreeMap::new();
    for i in &list {
        if !groups.contains_key(&i.reservation_id) {
            order.push(i.reservation_id.clone());
        }
        groups.entry(i.reservation_id.clone()).or_default().push(i);
    }
    Ok(req.respond(|x| {
        x.set("reservationSet", &order, |x, rid| {
            let members = &groups[rid];
            x.text("reservationId", rid);
            x.text("ownerId", &members[0].project_id);
            write_groups(x, members[0]);
            x.set("instancesSet", members, |x, i| {
                write_instance(
                    x,
                    state,
                    i,
                    images.get(&i.image_ref).map(String::as_str).unwrap_or(""),
                );
            });
        });
        if let Some(n) = &next {
            x.text("nextToken", n);
        }
    }))
}

/// DescribeInstanceStatus (running instances unless `IncludeAllInstances`).
pub async fn describe_instance_status(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let limit = max_results(req, 5)?;
    check_paging_combination(req, limit)?;
    let include_all = req.params.bool("IncludeAllInstances")?.unwrap_or(false);
    let ec2_ids = req.params.list("InstanceId");
    let filters = req.params.filters()?;
    let list = if ec2_ids.is_empty() {
        visible_instances(state, req, None).await?
    } else {
        named_instances(state, req, &ec2_ids).await?
    };
    let mut out = Vec::new();
    'next: for i in list {
        let (code, name) = ec2_state_of(&i);
        if !include_all && name != "running" {
            continue;
        }
        for f in &filters {
            let ok = match f.name.as_str() {
                "availability-zone" => any_matches(f, Some(&i.availability_zone)),
                "instance-state-name" => any_matches(f, Some(name)),
                "instance-state-code" => any_matches(f, Some(&code.to_string())),
                "instance-status.status" | "system-status.status" => any_matches(
                    f,
                    Some(if name == "running" {
                        "ok"
                    } else {
                        "not-applicable"
                    }),
                ),
                other => return Err(unknown_filter(other)),
            };
            if !ok {
                continue 'next;
            }
        }
        out.push(i);
    }
    let (list, next) = page(req, out, limit, |i| format!("{:016x}", i.id))?;
    Ok(req.respond(|x| {
        x.set("instanceStatusSet", &list, |x, i| {
            let (code, name) = ec2_state_of(i);
            let status = if name == "running" {
                "ok"
            } else {
                "not-applicable"
            };
            x.text("instanceId", &i.ec2_id());
            x.text("availabilityZone", &i.availability_zone);
            x.elem("instanceState", |x| {
                x.num("code", code).text("name", name);
            });
            for part in ["systemStatus", "instanceStatus"] {
                x.elem(part, |x| {
                    x.text("status", status);
                    x.set("details", [()], |x, _| {
                        x.text("name", "reachability").text(
                            "status",
                            if status == "ok" {
                                "passed"
                            } else {
                                "initializing"
                            },
                        );
                    });
                });
            }
        });
        if let Some(n) = &next {
            x.text("nextToken", n);
        }
    }))
}

fn write_reservation(x: &mut Xml, state: &Ec2State, list: &[Instance], image_id: &str) {
    let first = &list[0];
    x.text("reservationId", &first.reservation_id);
    x.text("ownerId", &first.project_id);
    write_groups(x, first);
    x.set("instancesSet", list, |x, i| {
        write_instance(x, state, i, image_id)
    });
}

/// RunInstances.
pub async fn run_instances(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let p = req.params;
    let ctx = compute_ctx(req);
    let image_ec2 = p.require("ImageId")?.to_string();
    let min = instance_count(p, "MinCount")?.unwrap_or(1);
    let max = instance_count(p, "MaxCount")?.unwrap_or(min);
    if min > max {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "MinCount ({min}) must be less than or equal to MaxCount ({max})"
        )));
    }
    // ClientToken: a repeated call returns what the first one made; compute
    // claims the token in the transaction that creates the instances.
    let client_token = p.get("ClientToken").filter(|t| !t.is_empty());
    let token_tag = client_token.map(client_token_tag);

    let image_uuid = super::images::image_uuid_of(state, req, &image_ec2).await?;
    let flavor_name = p.get("InstanceType").unwrap_or("m1.small");
    let flavor_id = super::flavors::flavor_id_by_name(state, req, flavor_name).await?;
    let security_groups = super::security_groups::launch_groups(state, req).await?;
    let user_data = match p.get("UserData").filter(|u| !u.is_empty()) {
        Some(u) => {
            let compact: String = u.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| {
                    Ec2Error::InvalidParameterValue("Invalid BASE64 encoding of user data".into())
                })?;
            Some(compact)
        }
        None => None,
    };
    let mut metadata = BTreeMap::new();
    for spec in p.tag_specifications()? {
        match spec.resource_type.as_str() {
            "instance" => {
                for t in spec.tags {
                    metadata.insert(t.key, t.value.unwrap_or_default());
                }
            }
            // Volumes and interfaces do not exist here; their tags have nothing to land on.
            "volume" | "network-interface" => {}
            other => {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "'{other}' is not a valid taggable resource type for this operation."
                )))
            }
        }
    }
    let mut tags = Vec::new();
    if let Some(t) = &token_tag {
        tags.push(t.clone());
    }
    if p.bool("DisableApiTermination")?.unwrap_or(false) {
        tags.push(DISABLE_API_TERMINATION_TAG.to_string());
    }
    let name = metadata.get("Name").cloned().unwrap_or_else(|| {
        format!(
            "ec2-{}",
            &req.request_id.trim_start_matches("req-")
                [..8.min(req.request_id.len().saturating_sub(4))]
        )
    });
    let key_name = p
        .get("KeyName")
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let create = CreateInstance {
        name,
        flavor_id,
        image_ref: image_uuid.clone(),
        key_name: key_name.clone(),
        user_data,
        metadata,
        availability_zone: p
            .get("Placement.AvailabilityZone")
            .filter(|z| !z.is_empty())
            .map(str::to_string),
        min_count: min,
        max_count: max,
        tags,
        security_groups,
        ..CreateInstance::default()
    };
    let created = match client_token {
        Some(token) => {
            state
                .compute
                .create_instances_with_client_token(&ctx, token, create)
                .await
        }
        None => state
            .compute
            .create_instances(&ctx, create)
            .await
            .map(ClientTokenOutcome::Created),
    }
    .map_err(|e| match e {
        compute::Error::NotFound {
            kind: compute::Kind::Keypair,
            ..
        } => Ec2Error::KeyPairNotFound(key_name.clone().unwrap_or_default()),
        compute::Error::NotFound {
            kind: compute::Kind::Image,
            ..
        } => Ec2Error::ImageNotFound(image_ec2.clone()),
        compute::Error::NotFound {
            kind: compute::Kind::Flavor,
            ..
        } => Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{flavor_name}' for InstanceType."
        )),
        other => map_err(other, None),
    })?;
    let instances = created.instances();
    // A replayed reservation answers with the image its instances run.
    let image_id = match instances.first() {
        Some(first) if first.image_ref != image_uuid => {
            image_ec2_id_of(state, req, &first.image_ref).await?
        }
        _ => image_ec2,
    };
    Ok(req.respond(|x| write_reservation(x, state, instances, &image_id)))
}

/// `MinCount` or `MaxCount`: at least 1 (EC2's `Integer`, so at most
/// `i32::MAX`); anything else is refused, never clamped.
fn instance_count(p: &crate::query::Params, name: &str) -> Result<Option<u32>, Ec2Error> {
    p.int(name)?
        .map(|n| {
            u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                Ec2Error::InvalidParameterValue(format!(
                    "Value ({n}) for parameter {name} is invalid. {name} must be at least 1"
                ))
            })
        })
        .transpose()
}

/// What a state-changing action does to one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Start,
    Stop,
    Terminate,
}

async fn change_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    change: Change,
) -> Result<String, Ec2Error> {
    let ec2_ids = required_ids(req)?;
    let ctx = compute_ctx(req);
    let list = named_instances(state, req, &ec2_ids).await?;
    if change == Change::Terminate {
        if let Some(i) = list
            .iter()
            .find(|i| !i.deleted && i.tags.iter().any(|t| t == DISABLE_API_TERMINATION_TAG))
        {
            return Err(Ec2Error::OperationNotPermitted(format!(
                "The instance '{}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.",
                i.ec2_id()
            )));
        }
    }
    let mut rows = Vec::with_capacity(list.len());
    for i in &list {
        let before = ec2_state_of(i);
        let ec2 = i.ec2_id();
        let after = if i.deleted {
            before
        } else {
            match change {
                Change::Start if before.1 == "running" => before,
                Change::Stop if before.1 == "stopped" => before,
                Change::Start => ec2_state_of(
                    &state
                        .compute
                        .start_instance(&ctx, &i.uuid)
                        .await
                        .map_err(|e| map_err(e, Some(&ec2)))?,
                ),
                Change::Stop => ec2_state_of(
                    &state
                        .compute
                        .stop_instance(&ctx, &i.uuid)
                        .await
                        .map_err(|e| map_err(e, Some(&ec2)))?,
                ),
                Change::Terminate => {
                    state
                        .compute
                        .delete_instance(&ctx, &i.uuid)
                        .await
                        .map_err(|e| map_err(e, Some(&ec2)))?;
                    match state
                        .compute
                        .get_instance_including_deleted(&ctx, &i.uuid)
                        .await
                    {
                        Ok(now) if ec2_state_of(&now).1 != "terminated" => ec2_state_of(&now),
                        // Deleted at once: EC2 reports the transition.
                        _ => (32, "shutting-down"),
                    }
                }
            }
        };
        rows.push((ec2, before, after));
    }
    let set = match change {
        Change::Start => "instancesSet",
        Change::Stop => "instancesSet",
        Change::Terminate => "instancesSet",
    };
    Ok(req.respond(|x| {
        x.set(set, &rows, |x, (id, before, after)| {
            x.text("instanceId", id);
            x.elem("currentState", |x| {
                x.num("code", after.0).text("name", after.1);
            });
            x.elem("previousState", |x| {
                x.num("code", before.0).text("name", before.1);
            });
        });
    }))
}

/// StartInstances.
pub async fn start_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    change_instances(state, req, Change::Start).await
}

/// StopInstances.
pub async fn stop_instances(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    change_instances(state, req, Change::Stop).await
}

/// TerminateInstances.
pub async fn terminate_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    change_instances(state, req, Change::Terminate).await
}

/// RebootInstances (a soft reboot, as EC2's).
pub async fn reboot_instances(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ec2_ids = required_ids(req)?;
    let ctx = compute_ctx(req);
    let list = named_instances(state, req, &ec2_ids).await?;
    for i in &list {
        if i.deleted {
            return Err(Ec2Error::IncorrectInstanceState(format!(
                "The instance '{}' is not in a state from which it can be rebooted.",
                i.ec2_id()
            )));
        }
    }
    for i in &list {
        let ec2 = i.ec2_id();
        state
            .compute
            .reboot_instance(&ctx, &i.uuid, false)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?;
    }
    Ok(req.respond_true())
}

async fn one_instance(state: &Ec2State, req: &ActionRequest<'_>) -> Result<Instance, Ec2Error> {
    let ec2 = req.params.require("InstanceId")?.to_string();
    Ok(named_instances(state, req, &[ec2]).await?.remove(0))
}

/// The attributes DescribeInstanceAttribute knows (nova's list).
const ATTRIBUTES: &[&str] = &[
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "rootDeviceName",
    "blockDeviceMapping",
    "groupSet",
    "sourceDestCheck",
    "ebsOptimized",
];

/// DescribeInstanceAttribute.
pub async fn describe_instance_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let attribute = req.params.require("Attribute")?.to_string();
    if !ATTRIBUTES.contains(&attribute.as_str()) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({attribute}) for parameter attribute is invalid. Unknown attribute."
        )));
    }
    let i = one_instance(state, req).await?;
    if attribute == "sourceDestCheck" {
        return Err(vpc_only("sourceDestCheck"));
    }
    let protected = i.tags.iter().any(|t| t == DISABLE_API_TERMINATION_TAG);
    Ok(req.respond(|x| {
        x.text("instanceId", &i.ec2_id());
        match attribute.as_str() {
            "instanceType" => {
                x.value("instanceType", Some(&i.flavor.name));
            }
            "kernel" => {
                x.value("kernel", None);
            }
            "ramdisk" => {
                x.value("ramdisk", None);
            }
            "userData" => {
                x.value("userData", i.user_data.as_deref());
            }
            "disableApiTermination" => {
                x.value(
                    "disableApiTermination",
                    Some(if protected { "true" } else { "false" }),
                );
            }
            "instanceInitiatedShutdownBehavior" => {
                x.value("instanceInitiatedShutdownBehavior", Some("stop"));
            }
            "rootDeviceName" => {
                x.value("rootDeviceName", Some(ROOT_DEVICE));
            }
            "blockDeviceMapping" => {
                x.empty("blockDeviceMapping");
            }
            "groupSet" => write_groups(x, &i),
            _ => {
                x.value("ebsOptimized", Some("false"));
            }
        }
    }))
}

/// The refusal of an attribute that only a VPC instance has: every
/// instance here is EC2-Classic's.
fn vpc_only(attribute: &str) -> Ec2Error {
    Ec2Error::InvalidParameterCombination(format!(
        "The attribute '{attribute}' applies only to instances in a VPC."
    ))
}

/// The attributes ModifyInstanceAttribute knows by `Attribute=`.
const MODIFIABLE: &[&str] = &[
    "instanceType",
    "kernel",
    "ramdisk",
    "userData",
    "disableApiTermination",
    "instanceInitiatedShutdownBehavior",
    "groupSet",
    "sourceDestCheck",
    "ebsOptimized",
];

/// The one change a ModifyInstanceAttribute asks for: either
/// `Attribute=x&Value=v` or one `X.Value=v` (or `GroupId.N`), checked
/// before anything is looked up or changed, with AWS's codes: an unknown
/// attribute `InvalidParameterValue`, `Attribute` without `Value`
/// `MissingParameter`, none or several `InvalidParameterCombination`, and
/// the VPC-only ones (`sourceDestCheck`, `groupSet`)
/// `InvalidParameterCombination`.
fn requested_change(p: &crate::query::Params) -> Result<(String, String), Ec2Error> {
    let mut changes: Vec<(String, String)> = Vec::new();
    if let Some(a) = p.get("Attribute") {
        if !MODIFIABLE.contains(&a) {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({a}) for parameter attribute is invalid. Unknown attribute."
            )));
        }
        let value = p
            .get("Value")
            .ok_or_else(|| Ec2Error::MissingParameter("value".into()))?;
        changes.push((a.to_string(), value.to_string()));
    }
    for (name, attr) in [
        ("DisableApiTermination.Value", "disableApiTermination"),
        ("InstanceType.Value", "instanceType"),
        ("UserData.Value", "userData"),
        ("Kernel.Value", "kernel"),
        ("Ramdisk.Value", "ramdisk"),
        (
            "InstanceInitiatedShutdownBehavior.Value",
            "instanceInitiatedShutdownBehavior",
        ),
        ("SourceDestCheck.Value", "sourceDestCheck"),
        ("EbsOptimized.Value", "ebsOptimized"),
    ] {
        if let Some(v) = p.get(name) {
            changes.push((attr.to_string(), v.to_string()));
        }
    }
    let groups = p.list("GroupId");
    if !groups.is_empty() {
        changes.push(("groupSet".to_string(), groups.join(",")));
    }
    // One attribute per call, as on AWS (and ec2-api): a refusal of one
    // never follows a change of another.
    let (attr, value) = match changes.len() {
        0 => {
            return Err(Ec2Error::InvalidParameterCombination(
                "No attributes specified.".into(),
            ))
        }
        1 => changes.remove(0),
        _ => {
            return Err(Ec2Error::InvalidParameterCombination(
                "Only one attribute can be modified at a time.".into(),
            ))
        }
    };
    if matches!(attr.as_str(), "sourceDestCheck" | "groupSet") {
        return Err(vpc_only(&attr));
    }
    Ok((attr, value))
}

/// ModifyInstanceAttribute, one attribute per call: `disableApiTermination`
/// (kept as a compute tag), `instanceType` (the instance must be stopped, as
/// on AWS; it is resized and the resize confirmed at once, and it stays
/// stopped); the rest is not supported here.
pub async fn modify_instance_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    req.params.require("InstanceId")?;
    let (attr, value) = requested_change(req.params)?;
    let i = one_instance(state, req).await?;
    let ec2 = i.ec2_id();
    let ctx = compute_ctx(req);
    match attr.as_str() {
        "disableApiTermination" => {
            let on = match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Ec2Error::InvalidParameterValue(format!(
                        "Value ({value}) for parameter value is invalid"
                    )))
                }
            };
            if on {
                state
                    .compute
                    .add_instance_tag(&ctx, &i.uuid, DISABLE_API_TERMINATION_TAG)
                    .await
                    .map_err(|e| map_err(e, Some(&ec2)))?;
            } else if i.tags.iter().any(|t| t == DISABLE_API_TERMINATION_TAG) {
                state
                    .compute
                    .delete_instance_tag(&ctx, &i.uuid, DISABLE_API_TERMINATION_TAG)
                    .await
                    .map_err(|e| map_err(e, Some(&ec2)))?;
            }
        }
        "instanceType" => {
            // As ec2-api: the flavor must exist, the instance be
            // stopped, and an unchanged type changes nothing.
            let flavor_id = super::flavors::flavor_id_by_name(state, req, &value).await?;
            let not_stopped = || {
                Ec2Error::IncorrectInstanceState(format!(
                    "The instance '{ec2}' is not in the 'stopped' state."
                ))
            };
            if i.vm_state != compute::VmState::Stopped {
                return Err(not_stopped());
            }
            if i.flavor.name == value {
                return Ok(req.respond_true());
            }
            // Resized and confirmed at once: the instance stays stopped.
            let resized = state
                .compute
                .resize_stopped_instance(&ctx, &i.uuid, &flavor_id)
                .await
                .map_err(|e| match e {
                    compute::Error::InvalidState { .. } => not_stopped(),
                    other => map_err(other, Some(&ec2)),
                })?;
            if resized.vm_state != compute::VmState::Stopped {
                let why = resized.fault.map(|f| f.message).unwrap_or_default();
                return Err(Ec2Error::Internal(format!(
                    "resizing {ec2} to {value} failed: {why}"
                )));
            }
        }
        "instanceInitiatedShutdownBehavior" if value == "stop" => {}
        "ebsOptimized" if value.eq_ignore_ascii_case("false") => {}
        "instanceInitiatedShutdownBehavior"
        | "ebsOptimized"
        | "userData"
        | "kernel"
        | "ramdisk" => {
            return Err(Ec2Error::UnsupportedOperation(format!(
                "Modifying the attribute {attr} is not supported."
            )));
        }
        other => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )));
        }
    }
    Ok(req.respond_true())
}

/// ResetInstanceAttribute: `kernel` and `ramdisk` (which no instance
/// here has, so there is nothing to reset), `sourceDestCheck` (VPC's:
/// `InvalidParameterCombination`); any other attribute is
/// `InvalidParameterValue`, refused before the instance is looked up.
pub async fn reset_instance_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    req.params.require("InstanceId")?;
    let attribute = req.params.require("Attribute")?.to_string();
    if !matches!(attribute.as_str(), "kernel" | "ramdisk" | "sourceDestCheck") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({attribute}) for parameter attribute is invalid. The attribute cannot be reset."
        )));
    }
    let i = one_instance(state, req).await?;
    if attribute == "sourceDestCheck" {
        return Err(vpc_only("sourceDestCheck"));
    }
    if i.deleted {
        return Err(Ec2Error::IncorrectInstanceState(format!(
            "The instance '{}' is terminated.",
            i.ec2_id()
        )));
    }
    Ok(req.respond_true())
}

/// GetPasswordData: the password the guest left with the metadata
/// service (encrypted with the instance's key pair, as the guest wrote
/// it), empty while there is none.
pub async fn get_password_data(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let i = one_instance(state, req).await?;
    let ec2 = i.ec2_id();
    let password = if i.deleted {
        None
    } else {
        state
            .compute
            .get_instance_password(&compute_ctx(req), &i.uuid)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?
    };
    Ok(req.respond(|x| {
        x.text("instanceId", &ec2)
            .text("timestamp", &timestamp(Utc::now()))
            .text("passwordData", password.as_deref().unwrap_or(""));
    }))
}

/// GetConsoleOutput (base64, as EC2 answers it).
pub async fn get_console_output(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let i = one_instance(state, req).await?;
    let ec2 = i.ec2_id();
    let output = if i.deleted {
        String::new()
    } else {
        state
            .compute
            .console_output(&compute_ctx(req), &i.uuid, None)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(output.as_bytes());
    Ok(req.respond(|x| {
        x.text("instanceId", &ec2)
            .text("timestamp", &timestamp(Utc::now()))
            .text("output", &encoded);
    }))
}
