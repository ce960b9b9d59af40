//! The security group actions: Create/Delete/DescribeSecurityGroups and
//! Authorize/RevokeSecurityGroupIngress/Egress, EC2-Classic's view of the
//! groups and rules the Network v2 API serves (`compute::network`).
//!
//! Ids: a project's `default` group is [`default_group_id`] of the project
//! (the id instances have always shown in `groupSet`); any other group is
//! [`security_group_ec2_id`] of its uuid. Names are looked up among the
//! caller's own groups, ids among every group the caller sees (an admin
//! sees every project's, as with instances).
//!
//! Rules: an EC2 permission is one store rule per address range or group
//! it names (IPv4 or IPv6 by the range, IPv4 for a group), with the
//! protocol, the port range (ICMP type and code for ICMP, `-1` for any)
//! and the direction. A permission that names neither ranges nor groups
//! means 0.0.0.0/0. The store checks and compares rules as Neutron does,
//! so a rule made here is refused there as a duplicate and the other way
//! round.

use std::collections::BTreeMap;

use compute::network::security_groups::{protocol_number, DEFAULT_GROUP_NAME};
use compute::network::{
    ListQuery, NetworkError, NewSecurityGroup, NewSecurityGroupRule, SecurityGroup,
    SecurityGroupRule,
};

use super::common::{
    any_matches, compute_ctx, default_group_id, map_err, tag_filter_matches, unknown_filter,
};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::ids::{is_security_group_id, security_group_ec2_id};
use crate::query::{Filter, Params};
use crate::state::Ec2State;
use crate::xml::Xml;

/// The longest name or description EC2-Classic takes.
const MAX_TEXT: usize = 255;

/// The EC2 id of a group.
pub fn group_ec2_id(g: &SecurityGroup) -> String {
    if g.name == DEFAULT_GROUP_NAME {
        default_group_id(&g.project_id)
    } else {
        security_group_ec2_id(&g.id)
    }
}

/// Maps a network error onto EC2's codes; `named` is the group as the
/// client named it.
fn map_net_err(e: NetworkError, named: &str) -> Ec2Error {
    match e {
        NetworkError::SecurityGroupNotFound(_) => Ec2Error::GroupNotFound(named.to_string()),
        NetworkError::SecurityGroupRuleExists(_) => Ec2Error::PermissionDuplicate(format!(
            "The specified rule already exists in security group '{named}'"
        )),
        NetworkError::SecurityGroupInUse(_) => {
            Ec2Error::GroupInUse(format!("The security group '{named}' is in use"))
        }
        NetworkError::SecurityGroupCannotRemoveDefault => {
            Ec2Error::GroupReserved("The security group 'default' cannot be deleted".into())
        }
        NetworkError::SecurityGroupDefaultAlreadyExists => {
            Ec2Error::GroupReserved("The name 'default' is reserved".into())
        }
        NetworkError::SecurityGroupNameExists(_) => Ec2Error::GroupDuplicate(named.to_string()),
        NetworkError::OverQuota(resources) => {
            if resources.iter().any(|r| r == "security_group") {
                Ec2Error::SecurityGroupLimitExceeded(
                    "You have reached the limit on security groups".into(),
                )
            } else {
                Ec2Error::RulesPerSecurityGroupLimitExceeded(
                    "You have reached the limit on security group rules".into(),
                )
            }
        }
        NetworkError::PolicyNotAuthorized(_) => Ec2Error::UnauthorizedOperation,
        NetworkError::Compute(e) => Ec2Error::Internal(e.to_string()),
        other => Ec2Error::InvalidParameterValue(other.to_string()),
    }
}

/// Every group the caller sees (the caller's default group made on first
/// use), oldest first.
pub(super) async fn visible_groups(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<Vec<SecurityGroup>, Ec2Error> {
    let ctx = compute_ctx(req);
    let mut groups = state
        .compute
        .list_security_groups(&ctx, &ListQuery::default())
        .await
        .map_err(|e| map_net_err(e, ""))?
        .items;
    groups.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(groups)
}

/// The group of `project` named `name` (the oldest, should the Network
/// API have made two of one name).
fn by_name<'a>(
    groups: &'a [SecurityGroup],
    project: &str,
    name: &str,
) -> Result<&'a SecurityGroup, Ec2Error> {
    groups
        .iter()
        .find(|g| g.project_id == project && g.name == name)
        .ok_or_else(|| Ec2Error::GroupNotFound(name.to_string()))
}

/// The group with the EC2 id `id`.
pub(super) fn by_id<'a>(
    groups: &'a [SecurityGroup],
    id: &str,
) -> Result<&'a SecurityGroup, Ec2Error> {
    if !is_security_group_id(id) {
        return Err(Ec2Error::GroupIdMalformed(id.to_string()));
    }
    groups
        .iter()
        .find(|g| group_ec2_id(g) == id)
        .ok_or_else(|| Ec2Error::GroupNotFound(id.to_string()))
}

/// The group a request names by `GroupId` or `GroupName` (the caller's).
fn target<'a>(
    groups: &'a [SecurityGroup],
    req: &ActionRequest<'_>,
) -> Result<&'a SecurityGroup, Ec2Error> {
    let p = req.params;
    match (
        p.get("GroupId").filter(|v| !v.is_empty()),
        p.get("GroupName").filter(|v| !v.is_empty()),
    ) {
        (Some(id), _) => by_id(groups, id),
        (None, Some(name)) => by_name(groups, &req.ctx.project_id, name),
        (None, None) => Err(Ec2Error::MissingParameter("GroupName or GroupId".into())),
    }
}

/// The groups a `RunInstances` names by `SecurityGroup.N` and
/// `SecurityGroupId.N` (the caller's own), as uuids for the instances'
/// ports; empty (the project's default group) when it names none.
pub async fn launch_groups(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<Vec<String>, Ec2Error> {
    let names = req.params.list("SecurityGroup");
    let ids = req.params.list("SecurityGroupId");
    if names.is_empty() && ids.is_empty() {
        return Ok(Vec::new());
    }
    let groups = visible_groups(state, req).await?;
    let mut chosen = Vec::new();
    for name in &names {
        chosen.push(by_name(&groups, &req.ctx.project_id, name)?.id.clone());
    }
    for id in &ids {
        let g = by_id(&groups, id)?;
        if g.project_id != req.ctx.project_id {
            return Err(Ec2Error::GroupNotFound(id.clone()));
        }
        chosen.push(g.id.clone());
    }
    Ok(chosen)
}

/// A group name or description as EC2-Classic takes it: 1 to 255 ASCII
/// characters.
fn check_text(param: &str, value: &str) -> Result<(), Ec2Error> {
    if value.chars().count() > MAX_TEXT {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {param} is invalid. Length exceeds maximum of {MAX_TEXT} characters"
        )));
    }
    if !value.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {param} is invalid. Character sets beyond ASCII are not supported."
        )));
    }
    Ok(())
}

/// CreateSecurityGroup: a group of the caller's project with the store's
/// two egress rules.
pub async fn create_security_group(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let name = req.params.require("GroupName")?;
    let description = req.params.require("GroupDescription")?;
    check_text("GroupName", name)?;
    check_text("GroupDescription", description)?;
    if name.eq_ignore_ascii_case(DEFAULT_GROUP_NAME) {
        return Err(Ec2Error::GroupReserved(format!(
            "The security group '{name}' is reserved"
        )));
    }
    if name.starts_with("sg-") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({name}) for parameter GroupName is invalid. Group names may not be in the format sg-*."
        )));
    }
    let tags = super::tags::specified_tags(req, super::tags::SECURITY_GROUP)?;
    let groups = visible_groups(state, req).await?;
    if by_name(&groups, &req.ctx.project_id, name).is_ok() {
        return Err(Ec2Error::GroupDuplicate(name.to_string()));
    }
    let made = state
        .compute
        .create_security_group(
            &compute_ctx(req),
            NewSecurityGroup {
                name: Some(name.to_string()),
                description: Some(description.to_string()),
                unique_name: true,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| map_net_err(e, name))?;
    let id = group_ec2_id(&made);
    if !tags.is_empty() {
        state
            .compute
            .set_ec2_tags(&compute_ctx(req), super::tags::SECURITY_GROUP, &id, &tags)
            .await
            .map_err(|e| map_err(e, Some(&id)))?;
    }
    Ok(req.respond(|x| {
        x.boolean("return", true);
        x.text("groupId", &id);
        if !tags.is_empty() {
            super::tags::write_tag_set(x, &tags);
        }
    }))
}

/// DeleteSecurityGroup by `GroupName` or `GroupId`: never the default
/// group, nor one a port or another group's rule uses.
pub async fn delete_security_group(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let groups = visible_groups(state, req).await?;
    let group = target(&groups, req)?;
    let id = group_ec2_id(group);
    if group.name == DEFAULT_GROUP_NAME {
        return Err(Ec2Error::GroupReserved(
            "The security group 'default' cannot be deleted".into(),
        ));
    }
    let users: Vec<String> = groups
        .iter()
        .filter(|g| g.id != group.id)
        .filter(|g| {
            g.security_group_rules
                .iter()
                .any(|r| r.remote_group_id.as_deref() == Some(group.id.as_str()))
        })
        .map(group_ec2_id)
        .collect();
    if !users.is_empty() {
        return Err(Ec2Error::GroupInUse(format!(
            "Group {id} is used by groups: {}",
            users.join(" ")
        )));
    }
    state
        .compute
        .delete_security_group(&compute_ctx(req), &group.id)
        .await
        .map_err(|e| map_net_err(e, &id))?;
    state
        .compute
        .forget_ec2_tags(&id)
        .await
        .map_err(|e| map_err(e, Some(&id)))?;
    Ok(req.respond_true())
}

/// One EC2 permission: a protocol, a port range and the ranges and
/// groups it allows, as shown.
#[derive(Debug, Default)]
struct Permission {
    protocol: String,
    ports: Option<(i64, i64)>,
    ranges: Vec<String>,
    ipv6_ranges: Vec<String>,
    /// (owner, EC2 id, name).
    groups: Vec<(String, String, String)>,
}

/// The EC2 protocol of a stored one: `tcp`, `udp`, `icmp`, `icmpv6` by
/// name, another protocol by number, `-1` for any.
fn ec2_protocol(protocol: Option<&str>) -> String {
    let Some(p) = protocol else {
        return "-1".into();
    };
    match protocol_number(p) {
        Some(6) => "tcp".into(),
        Some(17) => "udp".into(),
        Some(1) => "icmp".into(),
        Some(58) => "icmpv6".into(),
        Some(n) => n.to_string(),
        None => p.to_string(),
    }
}

/// The EC2 port range of a stored rule: ICMP's type and code (`-1` for
/// any), TCP's and UDP's ports (1-65535 for all, as nova's EC2 API and
/// its `os-security-groups` show a rule without ports), none for any
/// protocol.
fn ec2_ports(protocol: &str, r: &SecurityGroupRule) -> Option<(i64, i64)> {
    match protocol {
        "-1" => None,
        "icmp" | "icmpv6" => Some((
            r.port_range_min.unwrap_or(-1),
            r.port_range_max.unwrap_or(-1),
        )),
        _ => match (r.port_range_min, r.port_range_max) {
            (Some(a), b) => Some((a, b.unwrap_or(a))),
            _ if matches!(protocol, "tcp" | "udp") => Some((1, 65535)),
            _ => None,
        },
    }
}

/// The rules of `direction` as EC2 permissions: rules of one protocol and
/// port range are one permission, in the order of their first rule.
fn permissions(g: &SecurityGroup, direction: &str, all: &[SecurityGroup]) -> Vec<Permission> {
    let mut out: Vec<Permission> = Vec::new();
    for r in g
        .security_group_rules
        .iter()
        .filter(|r| r.direction == direction)
    {
        let protocol = ec2_protocol(r.protocol.as_deref());
        let ports = ec2_ports(&protocol, r);
        let i = match out
            .iter()
            .position(|p| p.protocol == protocol && p.ports == ports)
        {
            Some(i) => i,
            None => {
                out.push(Permission {
                    protocol,
                    ports,
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let p = &mut out[i];
        let v6 = r.ethertype == "IPv6";
        match (&r.remote_group_id, &r.remote_ip_prefix) {
            (Some(remote), _) => {
                let shown = match all.iter().find(|o| &o.id == remote) {
                    Some(o) => (o.project_id.clone(), group_ec2_id(o), o.name.clone()),
                    None => (
                        r.project_id.clone(),
                        security_group_ec2_id(remote),
                        String::new(),
                    ),
                };
                if !p.groups.contains(&shown) {
                    p.groups.push(shown);
                }
            }
            (None, prefix) => {
                let cidr = prefix
                    .clone()
                    .unwrap_or_else(|| if v6 { "::/0" } else { "0.0.0.0/0" }.into());
                let list = if v6 {
                    &mut p.ipv6_ranges
                } else {
                    &mut p.ranges
                };
                if !list.contains(&cidr) {
                    list.push(cidr);
                }
            }
        }
    }
    out
}

fn write_permissions(x: &mut Xml, name: &str, perms: &[Permission]) {
    x.set(name, perms, |x, p| {
        x.text("ipProtocol", &p.protocol);
        if let Some((from, to)) = p.ports {
            x.num("fromPort", from).num("toPort", to);
        }
        x.set("groups", &p.groups, |x, (owner, id, name)| {
            x.text("userId", owner).text("groupId", id);
            if !name.is_empty() {
                x.text("groupName", name);
            }
        });
        x.set("ipRanges", &p.ranges, |x, c| {
            x.text("cidrIp", c);
        });
        x.set("ipv6Ranges", &p.ipv6_ranges, |x, c| {
            x.text("cidrIpv6", c);
        });
    });
}

/// Whether a permission filter (`ip-permission.*` or
/// `egress.ip-permission.*`, the attribute given) matches a permission.
fn permission_matches(f: &Filter, attribute: &str, p: &Permission) -> Option<bool> {
    let port = |i: usize| {
        p.ports
            .map(|ports| if i == 0 { ports.0 } else { ports.1 }.to_string())
    };
    Some(match attribute {
        "protocol" => any_matches(f, Some(&p.protocol)),
        "from-port" => any_matches(f, port(0).as_deref()),
        "to-port" => any_matches(f, port(1).as_deref()),
        "cidr" => p.ranges.iter().any(|c| any_matches(f, Some(c))),
        "ipv6-cidr" => p.ipv6_ranges.iter().any(|c| any_matches(f, Some(c))),
        "group-id" => p.groups.iter().any(|(_, id, _)| any_matches(f, Some(id))),
        "group-name" => p.groups.iter().any(|(_, _, n)| any_matches(f, Some(n))),
        "user-id" => p.groups.iter().any(|(o, _, _)| any_matches(f, Some(o))),
        _ => return None,
    })
}

/// Whether a DescribeSecurityGroups filter matches a group.
fn group_matches(
    f: &Filter,
    g: &SecurityGroup,
    tags: &BTreeMap<String, String>,
    ingress: &[Permission],
    egress: &[Permission],
) -> Result<bool, Ec2Error> {
    if let Some(m) = tag_filter_matches(f, tags) {
        return Ok(m);
    }
    let (perms, attribute) = if let Some(a) = f.name.strip_prefix("ip-permission.") {
        (ingress, a)
    } else if let Some(a) = f.name.strip_prefix("egress.ip-permission.") {
        (egress, a)
    } else {
        return Ok(match f.name.as_str() {
            "group-name" => any_matches(f, Some(&g.name)),
            "group-id" => any_matches(f, Some(&group_ec2_id(g))),
            "description" => any_matches(f, Some(&g.description)),
            "owner-id" => any_matches(f, Some(&g.project_id)),
            other => return Err(unknown_filter(other)),
        });
    };
    let mut any = false;
    for p in perms {
        match permission_matches(f, attribute, p) {
            Some(true) => any = true,
            Some(false) => {}
            None => return Err(unknown_filter(&f.name)),
        }
    }
    if perms.is_empty() && permission_matches(f, attribute, &Permission::default()).is_none() {
        return Err(unknown_filter(&f.name));
    }
    Ok(any)
}

/// DescribeSecurityGroups: `GroupName.N` (the caller's), `GroupId.N` and
/// `Filter.N`.
pub async fn describe_security_groups(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let all = visible_groups(state, req).await?;
    let names = req.params.list("GroupName");
    let ids = req.params.list("GroupId");
    let filters = req.params.filters()?;
    let mut chosen: Vec<&SecurityGroup> = Vec::new();
    if names.is_empty() && ids.is_empty() {
        chosen.extend(all.iter());
    } else {
        for name in &names {
            chosen.push(by_name(&all, &req.ctx.project_id, name)?);
        }
        for id in &ids {
            chosen.push(by_id(&all, id)?);
        }
        let mut seen = std::collections::HashSet::new();
        chosen.retain(|g| seen.insert(g.id.clone()));
    }
    let tags = state
        .compute
        .ec2_tags_by_resource(&compute_ctx(req), super::tags::SECURITY_GROUP)
        .await
        .map_err(|e| map_err(e, None))?;
    let none = BTreeMap::new();
    let mut shown = Vec::with_capacity(chosen.len());
    'next: for g in chosen {
        let ingress = permissions(g, "ingress", &all);
        let egress = permissions(g, "egress", &all);
        let group_tags = tags.get(&group_ec2_id(g)).unwrap_or(&none);
        for f in &filters {
            if !group_matches(f, g, group_tags, &ingress, &egress)? {
                continue 'next;
            }
        }
        shown.push((g, group_tags, ingress, egress));
    }
    Ok(req.respond(|x| {
        x.set(
            "securityGroupInfo",
            &shown,
            |x, (g, tags, ingress, egress)| {
                x.text("ownerId", &g.project_id);
                x.text("groupId", &group_ec2_id(g));
                x.text("groupName", &g.name);
                x.text("groupDescription", &g.description);
                write_permissions(x, "ipPermissions", ingress);
                write_permissions(x, "ipPermissionsEgress", egress);
                super::tags::write_tag_set(x, tags);
            },
        );
    }))
}

/// What a remote of a permission is.
#[derive(Debug, Clone, PartialEq)]
enum Remote {
    Cidr(String),
    Cidr6(String),
    /// A group's uuid.
    Group(String),
}

/// A permission as a request gives it, before it becomes store rules.
#[derive(Debug)]
struct Requested {
    protocol: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
    remotes: Vec<Remote>,
}

/// A CIDR of the given family (`v6`), as AWS requires one: an address and
/// a prefix length.
fn check_cidr(param: &str, value: &str, v6: bool) -> Result<(), Ec2Error> {
    let ok = value.split_once('/').is_some_and(|(addr, len)| {
        let max = if v6 { 128 } else { 32 };
        let family = match addr.parse::<std::net::IpAddr>() {
            Ok(a) => a.is_ipv6() == v6,
            Err(_) => false,
        };
        family && len.parse::<u8>().is_ok_and(|l| l <= max)
    });
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({value}) for parameter {param} is invalid. This is not a valid CIDR block."
        )))
    }
}

/// A protocol (`None` for any) and a port range, in the store's terms.
type ProtocolPorts = (Option<String>, Option<i64>, Option<i64>);

/// The protocol and port range of a permission in the store's terms:
/// `-1` any protocol (ports ignored), TCP and UDP with both ports (0-65535
/// for all), ICMP with type and code (`-1` for any), another protocol by
/// name or number.
fn protocol_and_ports(
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
) -> Result<ProtocolPorts, Ec2Error> {
    let lower = protocol.trim().to_ascii_lowercase();
    let name = match lower.as_str() {
        "-1" | "all" => return Ok((None, None, None)),
        "6" => "tcp".to_string(),
        "17" => "udp".to_string(),
        "1" => "icmp".to_string(),
        "58" => "icmpv6".to_string(),
        other if protocol_number(other).is_some() => other.to_string(),
        _ => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{protocol}' for IP protocol. Unknown protocol."
            )))
        }
    };
    let (from, to) = (from.map(i64::from), to.map(i64::from));
    match name.as_str() {
        "tcp" | "udp" => {
            let (Some(a), Some(b)) = (from, to) else {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid value for portRange. Must specify both from and to ports with {}.",
                    name.to_uppercase()
                )));
            };
            if !(0..=65535).contains(&a) || !(0..=65535).contains(&b) || a > b {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid {} port range {a}:{b}. Ports must be 0 to 65535, from not above to.",
                    name.to_uppercase()
                )));
            }
            if (a, b) == (0, 65535) {
                Ok((Some(name), None, None))
            } else {
                Ok((Some(name), Some(a), Some(b)))
            }
        }
        "icmp" | "icmpv6" => {
            let (t, c) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&t) || !(-1..=255).contains(&c) || (t == -1 && c != -1) {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid ICMP type and code {t}:{c}. Each must be -1 to 255, and a code needs a type."
                )));
            }
            let opt = |v: i64| (v != -1).then_some(v);
            let name = if name == "icmpv6" {
                "ipv6-icmp".into()
            } else {
                name
            };
            Ok((Some(name), opt(t), opt(c)))
        }
        _ => {
            let opt = |v: Option<i64>| v.filter(|v| *v != -1);
            Ok((Some(name), opt(from), opt(to)))
        }
    }
}

/// The source group of a flat-form or `Groups.M` member: by id, or by name
/// in the owner's project (`user:project` or a project; the caller's when
/// none is given).
fn source_group(
    groups: &[SecurityGroup],
    req: &ActionRequest<'_>,
    id: Option<&str>,
    name: Option<&str>,
    owner: Option<&str>,
) -> Result<Option<String>, Ec2Error> {
    if let Some(id) = id.filter(|v| !v.is_empty()) {
        return Ok(Some(by_id(groups, id)?.id.clone()));
    }
    let Some(name) = name.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let project = match owner.filter(|v| !v.is_empty()) {
        Some(o) => o.rsplit(':').next().unwrap_or(o),
        None => req.ctx.project_id.as_str(),
    };
    Ok(Some(by_name(groups, project, name)?.id.clone()))
}

/// The permissions of an Authorize/Revoke request, in the `IpPermissions.N`
/// form or the flat one.
fn requested_permissions(
    groups: &[SecurityGroup],
    req: &ActionRequest<'_>,
) -> Result<Vec<Requested>, Ec2Error> {
    let p = req.params;
    let members = p.members("IpPermissions");
    let mut out = Vec::new();
    if !members.is_empty() {
        for m in &members {
            out.push(member_permission(groups, req, m)?);
        }
        return Ok(out);
    }
    let group = source_group(
        groups,
        req,
        p.get("SourceSecurityGroupId"),
        p.get("SourceSecurityGroupName"),
        p.get("SourceSecurityGroupOwnerId"),
    )?;
    let cidr = p.get("CidrIp").filter(|v| !v.is_empty());
    if let Some(c) = cidr {
        check_cidr("CidrIp", c, false)?;
    }
    let remotes = match (group, cidr) {
        (Some(_), Some(_)) => {
            return Err(Ec2Error::InvalidParameterCombination(
                "CidrIp cannot be combined with a source security group".into(),
            ))
        }
        (Some(g), None) => vec![Remote::Group(g)],
        (None, c) => vec![Remote::Cidr(c.unwrap_or("0.0.0.0/0").to_string())],
    };
    match p.get("IpProtocol").filter(|v| !v.is_empty()) {
        Some(protocol) => {
            let (protocol, min, max) =
                protocol_and_ports(protocol, p.int("FromPort")?, p.int("ToPort")?)?;
            out.push(Requested {
                protocol,
                min,
                max,
                remotes,
            });
        }
        // A source group alone allows all of TCP, UDP and ICMP from it.
        None if matches!(remotes.first(), Some(Remote::Group(_))) => {
            for (protocol, from, to) in [("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)] {
                let (protocol, min, max) = protocol_and_ports(protocol, Some(from), Some(to))?;
                out.push(Requested {
                    protocol,
                    min,
                    max,
                    remotes: remotes.clone(),
                });
            }
        }
        None => return Err(Ec2Error::MissingParameter("IpPermissions".into())),
    }
    Ok(out)
}

/// One `IpPermissions.N` member.
fn member_permission(
    groups: &[SecurityGroup],
    req: &ActionRequest<'_>,
    m: &Params,
) -> Result<Requested, Ec2Error> {
    let protocol = m
        .get("IpProtocol")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Ec2Error::MissingParameter("IpPermissions.N.IpProtocol".into()))?;
    let (protocol, min, max) = protocol_and_ports(protocol, m.int("FromPort")?, m.int("ToPort")?)?;
    let mut remotes = Vec::new();
    for r in m.members("IpRanges") {
        let c = r.require("CidrIp")?;
        check_cidr("CidrIp", c, false)?;
        remotes.push(Remote::Cidr(c.to_string()));
    }
    for r in m.members("Ipv6Ranges") {
        let c = r.require("CidrIpv6")?;
        check_cidr("CidrIpv6", c, true)?;
        remotes.push(Remote::Cidr6(c.to_string()));
    }
    for g in m.members("Groups") {
        let group = source_group(
            groups,
            req,
            g.get("GroupId"),
            g.get("GroupName"),
            g.get("UserId"),
        )?
        .ok_or_else(|| Ec2Error::MissingParameter("Groups.N.GroupId or GroupName".into()))?;
        remotes.push(Remote::Group(group));
    }
    if remotes.is_empty() {
        remotes.push(Remote::Cidr("0.0.0.0/0".into()));
    }
    Ok(Requested {
        protocol,
        min,
        max,
        remotes,
    })
}

/// The store rules of the permissions of a request, for `group`.
fn store_rules(
    group: &SecurityGroup,
    direction: &str,
    perms: Vec<Requested>,
) -> Vec<NewSecurityGroupRule> {
    let mut out = Vec::new();
    for p in perms {
        for remote in p.remotes {
            let (ethertype, prefix, group_id) = match remote {
                Remote::Cidr(c) => ("IPv4", Some(c), None),
                Remote::Cidr6(c) => ("IPv6", Some(c), None),
                Remote::Group(g) => ("IPv4", None, Some(g)),
            };
            out.push(NewSecurityGroupRule {
                security_group_id: group.id.clone(),
                direction: direction.to_string(),
                ethertype: Some(ethertype.into()),
                protocol: p.protocol.clone(),
                port_range_min: p.min,
                port_range_max: p.max,
                remote_ip_prefix: prefix,
                remote_group_id: group_id,
                ..Default::default()
            });
        }
    }
    out
}

/// Authorize/RevokeSecurityGroupIngress/Egress (`direction` is the store's).
pub async fn change_rules(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    direction: &str,
    authorize: bool,
) -> Result<String, Ec2Error> {
    let groups = visible_groups(state, req).await?;
    let group = target(&groups, req)?;
    let id = group_ec2_id(group);
    let rules = store_rules(group, direction, requested_permissions(&groups, req)?);
    let ctx = compute_ctx(req);
    if authorize {
        state
            .compute
            .create_security_group_rules(&ctx, rules)
            .await
            .map_err(|e| map_net_err(e, &id))?;
        return Ok(req.respond_true());
    }
    // As AWS answers a revoke today: the rules the group has go, and
    // those it has not are listed in `unknownIpPermissionSet` (no error),
    // which is also what EC2-Classic answered (the conformance suite
    // revokes twice).
    let mut found = Vec::with_capacity(rules.len());
    let mut unknown = Vec::new();
    for rule in &rules {
        match state
            .compute
            .find_security_group_rule(&ctx, rule)
            .await
            .map_err(|e| map_net_err(e, &id))?
        {
            Some(r) => found.push(r.id),
            None => unknown.push(rule),
        }
    }
    for rule in found {
        match state.compute.delete_security_group_rule(&ctx, &rule).await {
            // Revoked meanwhile by another request: gone all the same.
            Ok(()) | Err(NetworkError::SecurityGroupRuleNotFound(_)) => {}
            Err(other) => return Err(map_net_err(other, &id)),
        }
    }
    Ok(req.respond(|x| {
        x.boolean("return", true);
        if !unknown.is_empty() {
            x.set("unknownIpPermissionSet", &unknown, |x, r| {
                write_requested_rule(x, r, &groups);
            });
        }
    }))
}

/// A rule a request named, as an `IpPermission`.
fn write_requested_rule(x: &mut Xml, r: &NewSecurityGroupRule, groups: &[SecurityGroup]) {
    let protocol = ec2_protocol(r.protocol.as_deref());
    x.text("ipProtocol", &protocol);
    let ports = match protocol.as_str() {
        "-1" => None,
        "icmp" | "icmpv6" => Some((
            r.port_range_min.unwrap_or(-1),
            r.port_range_max.unwrap_or(-1),
        )),
        _ => match (r.port_range_min, r.port_range_max) {
            (Some(a), b) => Some((a, b.unwrap_or(a))),
            _ if matches!(protocol.as_str(), "tcp" | "udp") => Some((1, 65535)),
            _ => None,
        },
    };
    if let Some((from, to)) = ports {
        x.num("fromPort", from).num("toPort", to);
    }
    let source = r
        .remote_group_id
        .as_ref()
        .and_then(|g| groups.iter().find(|o| &o.id == g));
    x.set("groups", source, |x, g| {
        x.text("userId", &g.project_id)
            .text("groupId", &group_ec2_id(g))
            .text("groupName", &g.name);
    });
    let v6 = r.ethertype.as_deref() == Some("IPv6");
    let prefix = r.remote_ip_prefix.as_deref();
    x.set("ipRanges", prefix.filter(|_| !v6), |x, c| {
        x.text("cidrIp", c);
    });
    x.set("ipv6Ranges", prefix.filter(|_| v6), |x, c| {
        x.text("cidrIpv6", c);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_protocols_become_the_stores_and_back() {
        assert_eq!(
            protocol_and_ports("tcp", Some(22), Some(22)).unwrap(),
            (Some("tcp".into()), Some(22), Some(22))
        );
        assert_eq!(
            protocol_and_ports("6", Some(0), Some(65535)).unwrap(),
            (Some("tcp".into()), None, None)
        );
        assert_eq!(
            protocol_and_ports("icmp", Some(-1), Some(-1)).unwrap(),
            (Some("icmp".into()), None, None)
        );
        assert_eq!(
            protocol_and_ports("-1", Some(5), None).unwrap(),
            (None, None, None)
        );
        for (p, from, to) in [
            ("tcp", Some(22), None),
            ("udp", Some(30), Some(20)),
            ("tcp", Some(-1), Some(22)),
            ("icmp", Some(-1), Some(3)),
            ("icmp", Some(300), Some(0)),
            ("bogus", None, None),
        ] {
            assert!(
                matches!(
                    protocol_and_ports(p, from, to),
                    Err(Ec2Error::InvalidParameterValue(_))
                ),
                "{p} {from:?} {to:?}"
            );
        }
        assert_eq!(ec2_protocol(None), "-1");
        assert_eq!(ec2_protocol(Some("6")), "tcp");
        assert_eq!(ec2_protocol(Some("ipv6-icmp")), "icmpv6");
        assert_eq!(ec2_protocol(Some("gre")), "47");
    }

    #[test]
    fn cidrs_need_a_prefix_of_their_family() {
        assert!(check_cidr("CidrIp", "10.0.0.0/8", false).is_ok());
        assert!(check_cidr("CidrIpv6", "2001:db8::/32", true).is_ok());
        assert!(check_cidr("CidrIp", "10.0.0.1", false).is_err());
        assert!(check_cidr("CidrIp", "10.0.0.0/33", false).is_err());
        assert!(check_cidr("CidrIp", "::/0", false).is_err());
    }
}
