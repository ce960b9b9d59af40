//! Security groups and their rules, as Neutron keeps them.
//!
//! Each project gets one group named `default` the first time it lists
//! groups, creates a group or creates a port (without naming groups): two
//! egress rules (IPv4 and IPv6, any protocol) and two ingress rules whose
//! remote group is the default group itself. It is made under the
//! project's write lock, and a unique index on the project's default
//! (`is_default`) makes a second one impossible whatever the process. A
//! group created through the API gets the two egress rules.
//!
//! Rules are checked and made canonical as Neutron does (see
//! [`canonical_rule`]): protocol names or numbers, port ranges for the
//! protocols that have ports, ICMP type and code in the port range, a
//! remote prefix of the rule's IP version, one remote at most, no two rules
//! of one group with the same meaning.
//!
//! Quotas ([`super::quotas`]) are counted under the same lock as the
//! create they guard.

use serde::Serialize;

use super::listing::{self, ListQuery, Page};
use super::{check_text, owner_project, retryable, NetworkError, NetworkResult};
use crate::store::{args, from_micros, is_foreign_key_violation, now_micros, Arg, Tx};
use crate::{Compute, RequestContext};

/// The name of each project's default group.
pub const DEFAULT_GROUP_NAME: &str = "default";

/// The description of each project's default group (Neutron's).
const DEFAULT_GROUP_DESCRIPTION: &str = "Default security group";

/// The protocol names a rule may give, in the order Neutron lists them
/// when it refuses one, with their numbers (`icmpv6` is the legacy name
/// of `ipv6-icmp`).
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ip", 0),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// The protocols (by number) whose rules take a port range: DCCP, SCTP,
/// TCP, UDP, UDP-Lite.
const PORT_PROTOCOLS: &[u8] = &[33, 132, 6, 17, 136];

/// The protocols (by number) that exist for IPv6 only.
const IPV6_ONLY_PROTOCOLS: &[u8] = &[41, 44, 58, 59, 60, 43];

/// A security group as Neutron shows it, with its rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityGroup {
    /// The uuid.
    pub id: String,
    /// The owner project.
    pub project_id: String,
    /// The name (`default` for the project's default group only).
    pub name: String,
    /// The description.
    pub description: String,
    /// Whether connection tracking applies (Neutron's `stateful`).
    pub stateful: bool,
    /// Its rules, oldest first.
    pub security_group_rules: Vec<SecurityGroupRule>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl SecurityGroup {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "project_id",
        "name",
        "description",
        "stateful",
        "created_at",
        "updated_at",
    ];
}

/// A security group rule as Neutron shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityGroupRule {
    /// The uuid.
    pub id: String,
    /// Its group.
    pub security_group_id: String,
    /// The owner project.
    pub project_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` or `IPv6`.
    pub ethertype: String,
    /// A protocol name or number; `None` for any.
    pub protocol: Option<String>,
    /// The first port (the ICMP type).
    pub port_range_min: Option<i64>,
    /// The last port (the ICMP code).
    pub port_range_max: Option<i64>,
    /// The remote addresses, a CIDR.
    pub remote_ip_prefix: Option<String>,
    /// The remote group.
    pub remote_group_id: Option<String>,
    /// The description.
    pub description: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl SecurityGroupRule {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "security_group_id",
        "project_id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
        "description",
        "created_at",
        "updated_at",
    ];
}

/// What to create (`POST /v2.0/security-groups`); `None` takes Neutron's
/// default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSecurityGroup {
    /// The name ('', never `default`).
    pub name: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// Stateful (true).
    pub stateful: Option<bool>,
    /// Refuse a name the project's groups already have, checked under the
    /// project's lock so that concurrent creates cannot both pass (EC2's
    /// rule; Neutron allows repeated names).
    pub unique_name: bool,
}

/// What to change (`PUT /v2.0/security-groups/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityGroupUpdate {
    /// The name (not of a default group; never `default`).
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Stateful (not while a port uses the group).
    pub stateful: Option<bool>,
}

/// What to create (`POST /v2.0/security-group-rules`); `None` takes
/// Neutron's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSecurityGroupRule {
    /// The group (the caller's, or any for an admin).
    pub security_group_id: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` (the default) or `IPv6`, in any case.
    pub ethertype: Option<String>,
    /// A protocol name, a number 0-255, `any` or `None` for any.
    pub protocol: Option<String>,
    /// The first port or the ICMP type.
    pub port_range_min: Option<i64>,
    /// The last port or the ICMP code.
    pub port_range_max: Option<i64>,
    /// The remote addresses (an address alone is a /32 or /128).
    pub remote_ip_prefix: Option<String>,
    /// The remote group (visible to the caller).
    pub remote_group_id: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
}

/// What identifies a rule's meaning (see [`RuleSpec::key`]).
type RuleKey<'a> = (
    &'a str,
    &'a str,
    Option<u8>,
    Option<i64>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
);

/// A rule's meaning, checked and canonical.
#[derive(Debug, Clone, PartialEq)]
struct RuleSpec {
    direction: String,
    ethertype: String,
    protocol: Option<String>,
    port_range_min: Option<i64>,
    port_range_max: Option<i64>,
    remote_ip_prefix: Option<String>,
    remote_group_id: Option<String>,
}

impl RuleSpec {
    /// Any protocol to or from anywhere, one direction and IP version.
    fn any(direction: &str, ethertype: &str, remote_group_id: Option<&str>) -> Self {
        RuleSpec {
            direction: direction.into(),
            ethertype: ethertype.into(),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: remote_group_id.map(str::to_string),
        }
    }

    /// The meaning of a stored rule (stored rules are canonical).
    fn of(r: &SecurityGroupRule) -> Self {
        RuleSpec {
            direction: r.direction.clone(),
            ethertype: r.ethertype.clone(),
            protocol: r.protocol.clone(),
            port_range_min: r.port_range_min,
            port_range_max: r.port_range_max,
            remote_ip_prefix: r.remote_ip_prefix.clone(),
            remote_group_id: r.remote_group_id.clone(),
        }
    }

    /// What makes two rules of one group the same, as Neutron compares
    /// them: the protocol by number, a prefix of every address as none.
    fn key(&self) -> RuleKey<'_> {
        let prefix = self
            .remote_ip_prefix
            .as_deref()
            .filter(|p| !matches!(*p, "0.0.0.0/0" | "::/0"));
        (
            self.direction.as_str(),
            self.ethertype.as_str(),
            self.protocol.as_deref().and_then(protocol_number),
            self.port_range_min,
            self.port_range_max,
            prefix,
            self.remote_group_id.as_deref(),
        )
    }
}

/// The number of a protocol given by name or number (`None` for a name
/// Neutron does not know).
pub fn protocol_number(protocol: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == protocol)
        .map(|(_, n)| *n)
        .or_else(|| protocol.parse().ok())
}

/// The protocol as Neutron stores it: `None` for any, a known name in
/// lower case, or a number 0-255 as given. What is refused here Neutron
/// refuses while reading the request (a plain `HTTPBadRequest`).
fn convert_protocol(protocol: Option<&str>) -> NetworkResult<Option<String>> {
    let Some(p) = protocol else { return Ok(None) };
    if p == "any" {
        return Ok(None);
    }
    if let Ok(n) = p.trim().parse::<i64>() {
        if (0..=255).contains(&n) {
            return Ok(Some(p.to_string()));
        }
    } else if PROTOCOLS.iter().any(|(name, _)| *name == p.to_lowercase()) {
        return Ok(Some(p.to_lowercase()));
    }
    let mut values = vec!["None".to_string(), "'any'".to_string()];
    values.extend(PROTOCOLS.iter().map(|(name, _)| format!("'{name}'")));
    Err(NetworkError::BadRequest(format!(
        "Security group rule protocol {p} not supported. Only protocol values ({}) and integer representations [0 to 255] are supported.",
        values.join(", ")
    )))
}

/// Checks `rule` and makes it canonical, in Neutron's order of checks:
/// the attributes one by one, then the legacy IPv6 ICMP names, the whole
/// port range made none, the port range for the protocol, the prefix for
/// the ethertype, the protocol for the ethertype, one remote at most.
fn canonical_rule(rule: &NewSecurityGroupRule) -> NetworkResult<RuleSpec> {
    if !matches!(rule.direction.as_str(), "ingress" | "egress") {
        return Err(NetworkError::invalid_attribute(
            "direction",
            &format!("'{}' is not in ['ingress', 'egress']", rule.direction),
        ));
    }
    let ethertype = match rule.ethertype.as_deref().map(str::to_ascii_lowercase) {
        None => "IPv4",
        Some(e) if e == "ipv4" => "IPv4",
        Some(e) if e == "ipv6" => "IPv6",
        Some(_) => {
            return Err(NetworkError::BadRequest(format!(
                "Security group rule for ethertype '{}' not supported. Allowed values are ['IPv4', 'IPv6'].",
                rule.ethertype.as_deref().unwrap_or_default()
            )))
        }
    };
    let mut protocol = convert_protocol(rule.protocol.as_deref())?;
    for port in [rule.port_range_min, rule.port_range_max]
        .into_iter()
        .flatten()
    {
        if !(0..=65535).contains(&port) {
            return Err(NetworkError::BadRequest(format!(
                "Invalid value for port {port}"
            )));
        }
    }
    let prefix = match rule.remote_ip_prefix.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(parse_prefix(p)?),
    };
    if ethertype == "IPv6" {
        protocol = match protocol.as_deref() {
            Some("icmp" | "icmpv6") => Some("ipv6-icmp".into()),
            Some("1") => Some("58".into()),
            _ => protocol,
        };
    }
    let (mut min, mut max) = (rule.port_range_min, rule.port_range_max);
    if (min, max) == (Some(1), Some(65535)) {
        (min, max) = (None, None);
    }
    check_port_range(protocol.as_deref(), min, max)?;
    if let Some((given, net)) = &prefix {
        let version = if net.addr().is_ipv4() { "IPv4" } else { "IPv6" };
        if version != ethertype {
            return Err(NetworkError::SecurityGroupRuleParameterConflict {
                ethertype: ethertype.into(),
                cidr: given.clone(),
            });
        }
    }
    if ethertype == "IPv4" {
        if let Some(p) = protocol
            .as_deref()
            .filter(|p| protocol_number(p).is_some_and(|n| IPV6_ONLY_PROTOCOLS.contains(&n)))
        {
            return Err(NetworkError::SecurityGroupEthertypeConflictWithProtocol {
                ethertype: ethertype.into(),
                protocol: p.into(),
            });
        }
    }
    let remote_group_id = rule.remote_group_id.clone().filter(|g| !g.is_empty());
    if prefix.is_some() && remote_group_id.is_some() {
        return Err(NetworkError::SecurityGroupMultipleRemoteEntites);
    }
    Ok(RuleSpec {
        direction: rule.direction.clone(),
        ethertype: ethertype.into(),
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: prefix.map(|(_, net)| net.to_string()),
        remote_group_id,
    })
}

/// A remote prefix as given and as a network (an address alone is a
/// host prefix).
fn parse_prefix(given: &str) -> NetworkResult<(String, ipnet::IpNet)> {
    let net = given.parse::<ipnet::IpNet>().ok().or_else(|| {
        given
            .parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    });
    match net {
        Some(net) => Ok((given.to_string(), net)),
        None => Err(NetworkError::BadRequest(format!(
            "Invalid CIDR {given} given as IP prefix."
        ))),
    }
}

/// The port range for the protocol: ports for the protocols that have
/// them, ICMP type and code (0-255) for ICMP, nothing for the others.
fn check_port_range(
    protocol: Option<&str>,
    min: Option<i64>,
    max: Option<i64>,
) -> NetworkResult<()> {
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let Some(number) = protocol.and_then(protocol_number) else {
        return Err(NetworkError::SecurityGroupProtocolRequiredWithPorts);
    };
    if PORT_PROTOCOLS.contains(&number) {
        if min == Some(0) || max == Some(0) {
            return Err(NetworkError::SecurityGroupInvalidPortValue("0".into()));
        }
        match (min, max) {
            (Some(a), Some(b)) if a <= b => Ok(()),
            _ => Err(NetworkError::SecurityGroupInvalidPortRange),
        }
    } else if number == 1 || number == 58 {
        for (value, field, attr) in [
            (min, "type", "port_range_min"),
            (max, "code", "port_range_max"),
        ] {
            if let Some(v) = value.filter(|v| !(0..=255).contains(v)) {
                return Err(NetworkError::SecurityGroupInvalidIcmpValue {
                    field: field.into(),
                    attr: attr.into(),
                    value: v,
                });
            }
        }
        match (min, max) {
            (None, Some(code)) => Err(NetworkError::SecurityGroupMissingIcmpType(code)),
            _ => Ok(()),
        }
    } else {
        Err(NetworkError::SecurityGroupInvalidProtocolForPort(
            number.to_string(),
        ))
    }
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    project_id: String,
    name: String,
    description: String,
    stateful: bool,
    created_at: i64,
    updated_at: i64,
}

const GROUP_COLUMNS: &str =
    "g.id, g.project_id, g.name, g.description, g.stateful, g.created_at, g.updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    security_group_id: String,
    project_id: String,
    direction: String,
    ethertype: String,
    protocol: Option<String>,
    port_range_min: Option<i64>,
    port_range_max: Option<i64>,
    remote_ip_prefix: Option<String>,
    remote_group_id: Option<String>,
    description: String,
    created_at: i64,
    updated_at: i64,
}

const RULE_COLUMNS: &str = "r.id, r.security_group_id, r.project_id, r.direction, r.ethertype, \
    r.protocol, r.port_range_min, r.port_range_max, r.remote_ip_prefix, r.remote_group_id, \
    r.description, r.created_at, r.updated_at";

impl From<RuleRow> for SecurityGroupRule {
    fn from(r: RuleRow) -> Self {
        SecurityGroupRule {
            id: r.id,
            security_group_id: r.security_group_id,
            project_id: r.project_id,
            direction: r.direction,
            ethertype: r.ethertype,
            protocol: r.protocol,
            port_range_min: r.port_range_min,
            port_range_max: r.port_range_max,
            remote_ip_prefix: r.remote_ip_prefix,
            remote_group_id: r.remote_group_id,
            description: r.description,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
        }
    }
}

/// The write lock of a project's groups and rules.
fn lock_key(project: &str) -> String {
    format!("security-groups:{project}")
}

/// Inserts a rule of `group` owned by `project`; returns its id.
async fn insert_rule(
    tx: &mut Tx,
    group: &str,
    project: &str,
    spec: &RuleSpec,
    description: &str,
    now: i64,
) -> NetworkResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    tx.execute(
        "INSERT INTO security_group_rules (id, security_group_id, project_id, direction, ethertype, \
         protocol, port_range_min, port_range_max, remote_ip_prefix, remote_group_id, description, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        args![
            &id,
            group,
            project,
            &spec.direction,
            &spec.ethertype,
            &spec.protocol,
            spec.port_range_min,
            spec.port_range_max,
            &spec.remote_ip_prefix,
            &spec.remote_group_id,
            description,
            now
        ],
    )
    .await?;
    Ok(id)
}

/// Inserts a group with Neutron's egress rules (and, for a default group,
/// its ingress rules from itself).
async fn insert_group(
    tx: &mut Tx,
    project: &str,
    name: &str,
    description: &str,
    stateful: bool,
    is_default: bool,
) -> NetworkResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_micros();
    tx.execute(
        "INSERT INTO security_groups (id, project_id, name, description, stateful, is_default, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        args![&id, project, name, description, stateful, is_default, now],
    )
    .await?;
    let mut rules = vec![
        RuleSpec::any("egress", "IPv4", None),
        RuleSpec::any("egress", "IPv6", None),
    ];
    if is_default {
        rules.push(RuleSpec::any("ingress", "IPv4", Some(&id)));
        rules.push(RuleSpec::any("ingress", "IPv6", Some(&id)));
    }
    for spec in &rules {
        insert_rule(tx, &id, project, spec, "", now).await?;
    }
    Ok(id)
}

impl Compute {
    async fn default_group_id(&self, project: &str) -> NetworkResult<Option<String>> {
        let row: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT id FROM security_groups WHERE project_id = $1 AND is_default = TRUE",
                args![project],
            )
            .await?;
        Ok(row.into_iter().next().map(|(id,)| id))
    }

    /// The id of `project`'s default group, made with its rules when the
    /// project has none (see the module doc). Only the project itself or
    /// an admin makes one: for anyone else this is `None`.
    pub(crate) async fn ensure_default_security_group(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<Option<String>> {
        if !ctx.is_admin && project != ctx.project_id {
            return Ok(None);
        }
        if let Some(id) = self.default_group_id(project).await? {
            return Ok(Some(id));
        }
        let made = async {
            let mut tx = self.store.begin_locked(&lock_key(project)).await?;
            let existing: Vec<(String,)> = tx
                .fetch_all(
                    "SELECT id FROM security_groups WHERE project_id = $1 AND is_default = TRUE",
                    args![project],
                )
                .await?;
            if let Some((id,)) = existing.into_iter().next() {
                return Ok(id);
            }
            let id = insert_group(
                &mut tx,
                project,
                DEFAULT_GROUP_NAME,
                DEFAULT_GROUP_DESCRIPTION,
                true,
                true,
            )
            .await?;
            tx.commit().await?;
            Ok(id)
        }
        .await;
        match made {
            Ok(id) => Ok(Some(id)),
            // Another process made it between the read and the insert.
            Err(e) if retryable(&e) => match self.default_group_id(project).await? {
                Some(id) => Ok(Some(id)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn group_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> NetworkResult<Vec<SecurityGroup>> {
        let mut groups_sql = format!("SELECT {GROUP_COLUMNS} FROM security_groups g WHERE 1 = 1");
        let mut rules_sql = format!(
            "SELECT {RULE_COLUMNS} FROM security_group_rules r \
             JOIN security_groups g ON g.id = r.security_group_id WHERE 1 = 1"
        );
        let mut a: Vec<Arg> = args![];
        if !ctx.is_admin {
            a.push(ctx.project_id.clone().into());
            let cond = format!(" AND g.project_id = ${}", a.len());
            groups_sql.push_str(&cond);
            rules_sql.push_str(&cond);
        }
        if let Some(id) = id {
            a.push(id.into());
            let cond = format!(" AND g.id = ${}", a.len());
            groups_sql.push_str(&cond);
            rules_sql.push_str(&cond);
        }
        rules_sql.push_str(" ORDER BY r.created_at, r.id");
        let groups: Vec<GroupRow> = self.store.fetch_all(&groups_sql, a.clone()).await?;
        let rules: Vec<RuleRow> = self.store.fetch_all(&rules_sql, a).await?;
        let mut by_group: std::collections::HashMap<String, Vec<SecurityGroupRule>> =
            std::collections::HashMap::new();
        for r in rules {
            by_group
                .entry(r.security_group_id.clone())
                .or_default()
                .push(r.into());
        }
        Ok(groups
            .into_iter()
            .map(|g| SecurityGroup {
                security_group_rules: by_group.remove(&g.id).unwrap_or_default(),
                id: g.id,
                project_id: g.project_id,
                name: g.name,
                description: g.description,
                stateful: g.stateful,
                created_at: from_micros(g.created_at),
                updated_at: from_micros(g.updated_at),
            })
            .collect())
    }

    /// The group `id` with its rules, when the caller may see it (its own;
    /// any for an admin).
    pub async fn get_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> NetworkResult<SecurityGroup> {
        self.group_rows(ctx, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::SecurityGroupNotFound(id.to_string()))
    }

    /// The groups the caller sees, filtered, sorted and paged by `query`.
    /// The project listed (the `project_id` or `tenant_id` filter, else
    /// the caller's) gets its default group first, as in Neutron.
    pub async fn list_security_groups(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<SecurityGroup>> {
        let project = query
            .filters
            .iter()
            .find(|(name, _)| name == "project_id" || name == "tenant_id")
            .and_then(|(_, values)| values.first())
            .unwrap_or(&ctx.project_id);
        self.ensure_default_security_group(ctx, project).await?;
        let rows = self.group_rows(ctx, None).await?;
        listing::page(
            rows,
            query,
            SecurityGroup::FIELDS,
            |g| g.id.as_str(),
            NetworkError::SecurityGroupNotFound,
        )
    }

    /// Creates a group with Neutron's two egress rules, after the
    /// project's default group; within the project's quotas.
    pub async fn create_security_group(
        &self,
        ctx: &RequestContext,
        req: NewSecurityGroup,
    ) -> NetworkResult<SecurityGroup> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let name = req.name.unwrap_or_default();
        check_text("name", &name)?;
        if name.eq_ignore_ascii_case(DEFAULT_GROUP_NAME) {
            return Err(NetworkError::SecurityGroupDefaultAlreadyExists);
        }
        let description = req.description.unwrap_or_default();
        check_text("description", &description)?;
        self.ensure_default_security_group(ctx, &project).await?;
        let mut tx = self.store.begin_locked(&lock_key(&project)).await?;
        if req.unique_name {
            let (taken,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM security_groups WHERE project_id = $1 AND name = $2",
                    args![&project, &name],
                )
                .await?;
            if taken > 0 {
                return Err(NetworkError::SecurityGroupNameExists(name));
            }
        }
        super::quotas::over(
            &mut tx,
            &self.config.network_quota,
            &project,
            &[("security_group", 1), ("security_group_rule", 2)],
        )
        .await?;
        let id = insert_group(
            &mut tx,
            &project,
            &name,
            &description,
            req.stateful.unwrap_or(true),
            false,
        )
        .await?;
        tx.commit().await?;
        self.get_security_group(ctx, &id).await
    }

    /// Changes a group's name, description or statefulness (its owner or
    /// an admin). The default group keeps its name; no other takes it.
    pub async fn update_security_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: SecurityGroupUpdate,
    ) -> NetworkResult<SecurityGroup> {
        let current = self.get_security_group(ctx, id).await?;
        if let Some(n) = &req.name {
            check_text("name", n)?;
            if n.eq_ignore_ascii_case(DEFAULT_GROUP_NAME) {
                return Err(NetworkError::SecurityGroupDefaultAlreadyExists);
            }
            if current.name == DEFAULT_GROUP_NAME {
                return Err(NetworkError::SecurityGroupCannotUpdateDefault);
            }
        }
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        let mut tx = self
            .store
            .begin_locked(&lock_key(&current.project_id))
            .await?;
        if req.stateful.is_some_and(|s| s != current.stateful) {
            let (ports,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM port_security_groups WHERE security_group_id = $1",
                    args![id],
                )
                .await?;
            if ports > 0 {
                return Err(NetworkError::SecurityGroupInUse(id.to_string()));
            }
        }
        tx.execute(
            "UPDATE security_groups SET name = $2, description = $3, stateful = $4, updated_at = $5 \
             WHERE id = $1",
            args![
                id,
                req.name.unwrap_or(current.name),
                req.description.unwrap_or(current.description),
                req.stateful.unwrap_or(current.stateful),
                now_micros()
            ],
        )
        .await?;
        tx.commit().await?;
        self.get_security_group(ctx, id).await
    }

    /// Deletes a group, its rules and the rules of other groups that name
    /// it as their remote group. Refused while a port uses it, and for a
    /// default group unless the caller is an admin.
    pub async fn delete_security_group(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        let group = self.get_security_group(ctx, id).await?;
        let mut tx = self
            .store
            .begin_locked(&lock_key(&group.project_id))
            .await?;
        let (ports,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM port_security_groups WHERE security_group_id = $1",
                args![id],
            )
            .await?;
        if ports > 0 {
            return Err(NetworkError::SecurityGroupInUse(id.to_string()));
        }
        if group.name == DEFAULT_GROUP_NAME && !ctx.is_admin {
            return Err(NetworkError::SecurityGroupCannotRemoveDefault);
        }
        tx.execute(
            "DELETE FROM security_group_rules WHERE security_group_id = $1 OR remote_group_id = $1",
            args![id],
        )
        .await?;
        let deleted = tx
            .execute("DELETE FROM security_groups WHERE id = $1", args![id])
            .await;
        match deleted {
            Ok(0) => return Err(NetworkError::SecurityGroupNotFound(id.to_string())),
            Ok(_) => {}
            // A port on another network took the group meanwhile.
            Err(e) if is_foreign_key_violation(&e) => {
                return Err(NetworkError::SecurityGroupInUse(id.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    async fn rule_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> NetworkResult<Vec<SecurityGroupRule>> {
        let mut sql = format!(
            "SELECT {RULE_COLUMNS} FROM security_group_rules r \
             JOIN security_groups g ON g.id = r.security_group_id WHERE 1 = 1"
        );
        let mut a: Vec<Arg> = args![];
        if !ctx.is_admin {
            a.push(ctx.project_id.clone().into());
            sql.push_str(&format!(
                " AND (r.project_id = ${0} OR g.project_id = ${0})",
                a.len()
            ));
        }
        if let Some(id) = id {
            a.push(id.into());
            sql.push_str(&format!(" AND r.id = ${}", a.len()));
        }
        let rows: Vec<RuleRow> = self.store.fetch_all(&sql, a).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The rule `id`, when the caller may see it (its own, or of one of its
    /// groups; any for an admin).
    pub async fn get_security_group_rule(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> NetworkResult<SecurityGroupRule> {
        self.rule_rows(ctx, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| NetworkError::SecurityGroupRuleNotFound(id.to_string()))
    }

    /// The rules the caller sees, filtered, sorted and paged by `query`.
    pub async fn list_security_group_rules(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<SecurityGroupRule>> {
        let rows = self.rule_rows(ctx, None).await?;
        listing::page(
            rows,
            query,
            SecurityGroupRule::FIELDS,
            |r| r.id.as_str(),
            NetworkError::SecurityGroupRuleNotFound,
        )
    }

    /// Adds a rule to a group the caller sees, checked as Neutron does
    /// (see [`canonical_rule`]); a rule with the meaning of one the group
    /// has is [`NetworkError::SecurityGroupRuleExists`].
    pub async fn create_security_group_rule(
        &self,
        ctx: &RequestContext,
        req: NewSecurityGroupRule,
    ) -> NetworkResult<SecurityGroupRule> {
        let mut made = self.create_security_group_rules(ctx, vec![req]).await?;
        Ok(made.remove(0))
    }

    /// Adds several rules to one group the caller sees, all or none: each
    /// is checked as [`Self::create_security_group_rule`] checks one, and a
    /// rule with the meaning of one the group has, or of an earlier one of
    /// the batch, is [`NetworkError::SecurityGroupRuleExists`] (naming the
    /// rule it repeats, or the group for a repeat inside the batch). The
    /// quota counts the whole batch. An empty batch makes nothing.
    pub async fn create_security_group_rules(
        &self,
        ctx: &RequestContext,
        reqs: Vec<NewSecurityGroupRule>,
    ) -> NetworkResult<Vec<SecurityGroupRule>> {
        let Some(first) = reqs.first() else {
            return Ok(Vec::new());
        };
        if reqs
            .iter()
            .any(|r| r.security_group_id != first.security_group_id)
        {
            return Err(NetworkError::InvalidInput(
                "all rules of a batch belong to one security group".into(),
            ));
        }
        let mut checked = Vec::with_capacity(reqs.len());
        for req in &reqs {
            let project = owner_project(ctx, req.project_id.as_deref())?;
            let description = req.description.clone().unwrap_or_default();
            check_text("description", &description)?;
            let spec = canonical_rule(req)?;
            if let Some(remote) = &spec.remote_group_id {
                self.get_security_group(ctx, remote).await?;
            }
            checked.push((project, description, spec));
        }
        let group = self
            .get_security_group(ctx, &first.security_group_id)
            .await?;
        let mut tx = self
            .store
            .begin_locked(&lock_key(&group.project_id))
            .await?;
        let existing: Vec<RuleRow> = tx
            .fetch_all(
                &format!(
                    "SELECT {RULE_COLUMNS} FROM security_group_rules r WHERE r.security_group_id = $1"
                ),
                args![&group.id],
            )
            .await?;
        let existing: Vec<(String, RuleSpec)> = existing
            .into_iter()
            .map(|r| {
                let rule = SecurityGroupRule::from(r);
                (rule.id.clone(), RuleSpec::of(&rule))
            })
            .collect();
        for (i, (_, _, spec)) in checked.iter().enumerate() {
            if let Some((id, _)) = existing.iter().find(|(_, e)| e.key() == spec.key()) {
                return Err(NetworkError::SecurityGroupRuleExists(id.clone()));
            }
            if checked[..i].iter().any(|(_, _, s)| s.key() == spec.key()) {
                return Err(NetworkError::SecurityGroupRuleExists(group.id.clone()));
            }
        }
        let mut per_project: Vec<(&str, i64)> = Vec::new();
        for (project, _, _) in &checked {
            match per_project.iter_mut().find(|(p, _)| p == project) {
                Some((_, n)) => *n += 1,
                None => per_project.push((project, 1)),
            }
        }
        for (project, n) in per_project {
            super::quotas::check(
                &mut tx,
                &self.config.network_quota,
                project,
                "security_group_rule",
                n,
            )
            .await?;
        }
        // One microsecond apart, so that the rules list in the order given.
        let now = now_micros();
        let mut ids = Vec::with_capacity(checked.len());
        for (at, (project, description, spec)) in (now..).zip(&checked) {
            ids.push(insert_rule(&mut tx, &group.id, project, spec, description, at).await?);
        }
        tx.commit().await?;
        let mut made = Vec::with_capacity(ids.len());
        for id in &ids {
            made.push(self.get_security_group_rule(ctx, id).await?);
        }
        Ok(made)
    }

    /// The rule of `req.security_group_id` (a group the caller sees) with
    /// the meaning of `req`, compared as duplicates are (see
    /// [`canonical_rule`]); `None` when the group has none. `req` is
    /// checked as a create checks it.
    pub async fn find_security_group_rule(
        &self,
        ctx: &RequestContext,
        req: &NewSecurityGroupRule,
    ) -> NetworkResult<Option<SecurityGroupRule>> {
        let spec = canonical_rule(req)?;
        let group = self.get_security_group(ctx, &req.security_group_id).await?;
        Ok(group
            .security_group_rules
            .into_iter()
            .find(|r| RuleSpec::of(r).key() == spec.key()))
    }

    /// Deletes a rule the caller sees.
    pub async fn delete_security_group_rule(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> NetworkResult<()> {
        self.get_security_group_rule(ctx, id).await?;
        let deleted = self
            .store
            .execute("DELETE FROM security_group_rules WHERE id = $1", args![id])
            .await?;
        if deleted == 0 {
            return Err(NetworkError::SecurityGroupRuleNotFound(id.to_string()));
        }
        Ok(())
    }

    /// Gives port `port` of `project` the groups `ids` inside `tx`,
    /// replacing any it had. Each must be the port project's (any for an
    /// admin); the others are [`NetworkError::SecurityGroupNotFound`],
    /// named together as Neutron names them.
    pub(crate) async fn bind_security_groups(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        port: &str,
        project: &str,
        ids: &[String],
    ) -> NetworkResult<()> {
        let mut missing = Vec::new();
        for id in ids {
            let owner: Vec<(String,)> = tx
                .fetch_all(
                    "SELECT project_id FROM security_groups WHERE id = $1",
                    args![id],
                )
                .await?;
            match owner.into_iter().next() {
                Some((p,)) if ctx.is_admin || p == project => {}
                _ => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(NetworkError::SecurityGroupNotFound(missing.join(", ")));
        }
        tx.execute(
            "DELETE FROM port_security_groups WHERE port_id = $1",
            args![port],
        )
        .await?;
        let mut seen = std::collections::HashSet::new();
        for (position, id) in ids.iter().filter(|id| seen.insert(*id)).enumerate() {
            tx.execute(
                "INSERT INTO port_security_groups (port_id, security_group_id, position) \
                 VALUES ($1, $2, $3)",
                args![port, id, i64::try_from(position).unwrap_or(i64::MAX)],
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: Option<&str>, min: Option<i64>, max: Option<i64>) -> NewSecurityGroupRule {
        NewSecurityGroupRule {
            security_group_id: "g".into(),
            direction: "ingress".into(),
            protocol: protocol.map(str::to_string),
            port_range_min: min,
            port_range_max: max,
            ..Default::default()
        }
    }

    #[test]
    fn the_whole_port_range_is_no_range_and_names_and_numbers_compare_equal() {
        let full = canonical_rule(&rule(Some("TCP"), Some(1), Some(65535))).unwrap();
        assert_eq!(
            (
                full.protocol.as_deref(),
                full.port_range_min,
                full.port_range_max
            ),
            (Some("tcp"), None, None)
        );
        let by_number = canonical_rule(&rule(Some("6"), None, None)).unwrap();
        assert!(full.key() == by_number.key());
    }

    #[test]
    fn legacy_icmp_names_become_ipv6_icmp_on_ipv6_rules() {
        let v6 = |p: &str| {
            canonical_rule(&NewSecurityGroupRule {
                ethertype: Some("ipv6".into()),
                ..rule(Some(p), None, None)
            })
            .unwrap()
        };
        assert_eq!(v6("icmp").protocol.as_deref(), Some("ipv6-icmp"));
        assert_eq!(v6("1").protocol.as_deref(), Some("58"));
        assert_eq!(v6("icmpv6").ethertype, "IPv6");
    }

    #[test]
    fn each_refusal_is_neutrons_exception() {
        let err = |r: NewSecurityGroupRule| canonical_rule(&r).unwrap_err().type_name();
        assert_eq!(
            err(rule(None, Some(22), Some(22))),
            "SecurityGroupProtocolRequiredWithPorts"
        );
        assert_eq!(
            err(rule(Some("tcp"), Some(30), Some(20))),
            "SecurityGroupInvalidPortRange"
        );
        assert_eq!(
            err(rule(Some("udp"), Some(0), Some(20))),
            "SecurityGroupInvalidPortValue"
        );
        assert_eq!(
            err(rule(Some("icmp"), Some(256), None)),
            "SecurityGroupInvalidIcmpValue"
        );
        assert_eq!(
            err(rule(Some("icmp"), None, Some(3))),
            "SecurityGroupMissingIcmpType"
        );
        assert_eq!(
            err(rule(Some("gre"), Some(1), Some(2))),
            "SecurityGroupInvalidProtocolForPort"
        );
        assert_eq!(
            err(rule(Some("ipv6-icmp"), None, None)),
            "SecurityGroupEthertypeConflictWithProtocol"
        );
        assert_eq!(
            err(rule(Some("tcp"), Some(1), Some(70000))),
            "HTTPBadRequest"
        );
        assert_eq!(err(rule(Some("foo"), None, None)), "HTTPBadRequest");
        assert_eq!(err(rule(Some("256"), None, None)), "HTTPBadRequest");
        assert_eq!(
            err(NewSecurityGroupRule {
                remote_ip_prefix: Some("::/0".into()),
                ..rule(None, None, None)
            }),
            "SecurityGroupRuleParameterConflict"
        );
        assert_eq!(
            err(NewSecurityGroupRule {
                remote_ip_prefix: Some("10.0.0.0/8".into()),
                remote_group_id: Some("g2".into()),
                ..rule(None, None, None)
            }),
            "SecurityGroupMultipleRemoteEntites"
        );
        assert_eq!(
            err(NewSecurityGroupRule {
                direction: "sideways".into(),
                ..rule(None, None, None)
            }),
            "HTTPBadRequest"
        );
    }

    #[test]
    fn an_address_alone_is_a_host_prefix() {
        let r = canonical_rule(&NewSecurityGroupRule {
            remote_ip_prefix: Some("10.1.2.3".into()),
            ..rule(None, None, None)
        })
        .unwrap();
        assert_eq!(r.remote_ip_prefix.as_deref(), Some("10.1.2.3/32"));
    }
}
