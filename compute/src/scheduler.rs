//! The simulated scheduler: which configured host each instance of a
//! create goes to, as nova's filter scheduler with its default filters
//! and weighers decides.
//!
//! Filters (a host failing one is out):
//! - the compute service is enabled and up (`ComputeFilter`);
//! - the host is in the requested availability zone, its zone being the
//!   one of the aggregate holding it or the default zone
//!   (`AvailabilityZoneFilter`);
//! - the requested host, when an admin named one (2.74's `host`); a host
//!   an admin forces with a `zone:host` zone skips every filter, as
//!   nova's `force_hosts`;
//! - `same_host`: the host holds one of the named instances;
//!   `different_host`: it holds none of them;
//! - the `group` hint's hard policies: `affinity` keeps the members'
//!   host (any host for the first member), `anti-affinity` refuses a host
//!   holding `max_server_per_host` members (1 by default).
//!
//! Weighers, in order: the soft policies (`soft-affinity` prefers the
//! host holding most members, `soft-anti-affinity` the one holding
//! fewest), then the least loaded host (fewest live instances), then the
//! configuration's order. The instances of one create are placed one
//! after another, each counting as a member and a load for the next, so
//! a multi-create honours anti-affinity across its batch. When a host
//! cannot be found for every instance, none is placed: nova's
//! `NoValidHost`, which ends every instance of the request in ERROR.
//!
//! [`place`] is the pure decision; [`Compute::host_states`] reads what it
//! decides on.

use std::collections::{BTreeMap, BTreeSet};

use crate::server_group::Policy;
use crate::store::Tx;
use crate::{Compute, Result};

/// nova's reason when the filters leave no host.
pub const NO_VALID_HOST: &str = "No valid host was found. There are not enough hosts available.";

/// The hints of a create nova's default filters read
/// (`os:scheduler_hints`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerHints {
    /// The server group (uuid) the instances join.
    pub group: Option<String>,
    /// Instances (uuids) to share a host with.
    pub same_host: Vec<String>,
    /// Instances (uuids) not to share a host with.
    pub different_host: Vec<String>,
}

impl SchedulerHints {
    /// The hints the filters read, from the hints a create gave: a
    /// one-item `group` list is its item; a single instance is a list of
    /// one.
    pub fn from_given(given: &BTreeMap<String, serde_json::Value>) -> Self {
        let list = |key: &str| -> Vec<String> {
            match given.get(key) {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
        };
        SchedulerHints {
            group: list("group").into_iter().next(),
            same_host: list("same_host"),
            different_host: list("different_host"),
        }
    }
}

/// A host as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    /// The host name.
    pub name: String,
    /// Its availability zone.
    pub zone: String,
    /// Whether its compute service is enabled and up.
    pub usable: bool,
    /// Its live instances (uuids).
    pub instances: BTreeSet<String>,
}

/// The group a request joins, as the filters and weighers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlacement {
    /// Its policy.
    pub policy: Policy,
    /// Its `max_server_per_host` rule (anti-affinity).
    pub max_server_per_host: Option<i64>,
    /// How many live members each host holds.
    pub members_per_host: BTreeMap<String, i64>,
}

/// What one create asks of the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementRequest {
    /// The availability zone asked for.
    pub zone: Option<String>,
    /// The host an admin asked for (2.74's `host`): filtered as any other.
    pub host: Option<String>,
    /// The host an admin forced (`zone:host`): taken past every filter,
    /// as nova's `force_hosts`.
    pub forced_host: Option<String>,
    /// `same_host` instances (empty: no such hint).
    pub same_host: Vec<String>,
    /// `different_host` instances.
    pub different_host: Vec<String>,
    /// The group joined.
    pub group: Option<GroupPlacement>,
}

/// No host passes the filters for one of the instances (nova's
/// `NoValidHost`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("No valid host was found. There are not enough hosts available.")]
pub struct NoValidHost;

fn passes(host: &HostState, request: &PlacementRequest) -> bool {
    if let Some(forced) = &request.forced_host {
        return forced == &host.name;
    }
    if !host.usable {
        return false;
    }
    if request.zone.as_ref().is_some_and(|z| z != &host.zone) {
        return false;
    }
    if request.host.as_ref().is_some_and(|h| h != &host.name) {
        return false;
    }
    if !request.same_host.is_empty()
        && !request.same_host.iter().any(|u| host.instances.contains(u))
    {
        return false;
    }
    if request
        .different_host
        .iter()
        .any(|u| host.instances.contains(u))
    {
        return false;
    }
    if let Some(group) = &request.group {
        let here = group.members_per_host.get(&host.name).copied().unwrap_or(0);
        match group.policy {
            Policy::Affinity => {
                if group.members_per_host.values().any(|n| *n > 0) && here == 0 {
                    return false;
                }
            }
            Policy::AntiAffinity => {
                if here >= group.max_server_per_host.unwrap_or(1) {
                    return false;
                }
            }
            Policy::SoftAffinity | Policy::SoftAntiAffinity => {}
        }
    }
    true
}

/// The soft policy's preference: lower is better.
fn group_weight(host: &HostState, request: &PlacementRequest) -> i64 {
    match &request.group {
        Some(group) => {
            let here = group.members_per_host.get(&host.name).copied().unwrap_or(0);
            match group.policy {
                Policy::SoftAffinity => -here,
                Policy::SoftAntiAffinity => here,
                Policy::Affinity | Policy::AntiAffinity => 0,
            }
        }
        None => 0,
    }
}

/// Places `count` instances on `hosts` for `request`: the chosen host of
/// each, in order, or [`NoValidHost`] when one of them fits nowhere.
pub fn place(
    hosts: &[HostState],
    request: &PlacementRequest,
    count: usize,
) -> std::result::Result<Vec<String>, NoValidHost> {
    let mut hosts = hosts.to_vec();
    let mut request = request.clone();
    let mut chosen = Vec::with_capacity(count);
    for n in 0..count {
        let best = hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| passes(h, &request))
            .min_by_key(|(i, h)| (group_weight(h, &request), h.instances.len(), *i))
            .map(|(i, _)| i)
            .ok_or(NoValidHost)?;
        let name = hosts[best].name.clone();
        // The placed instance counts for the next ones: as a load, and as
        // a member of the group.
        hosts[best].instances.insert(format!("pending-{n}"));
        if let Some(group) = &mut request.group {
            *group.members_per_host.entry(name.clone()).or_insert(0) += 1;
        }
        chosen.push(name);
    }
    Ok(chosen)
}

impl Compute {
    /// The configured hosts as the scheduler sees them: their zones and
    /// services (read before the create's transaction) and, inside it,
    /// their live instances.
    pub(crate) async fn host_states(
        &self,
        tx: &mut Tx,
        zones: &HostZones,
    ) -> Result<Vec<HostState>> {
        let rows: Vec<(String, Option<String>)> = tx
            .fetch_all(
                "SELECT uuid, host FROM instances WHERE deleted = FALSE AND host IS NOT NULL",
                vec![],
            )
            .await?;
        let mut by_host: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (uuid, host) in rows {
            if let Some(h) = host {
                by_host.entry(h).or_default().insert(uuid);
            }
        }
        Ok(self
            .config
            .hosts
            .iter()
            .map(|h| HostState {
                name: h.name.clone(),
                zone: zones.zone_of(&h.name).to_string(),
                usable: zones.usable.contains(&h.name),
                instances: by_host.remove(&h.name).unwrap_or_default(),
            })
            .collect())
    }

    /// Every compute host's zone and whether its service takes instances,
    /// read outside any transaction.
    pub(crate) async fn host_zones(&self) -> Result<HostZones> {
        let zones = self.aggregate_zones().await?;
        let services = self.services_all().await?;
        let computes = || services.iter().filter(|s| s.binary == "nova-compute");
        Ok(HostZones {
            default_zone: self.config.availability_zone.clone(),
            zones,
            usable: computes()
                .filter(|s| s.status == "enabled" && s.state == "up")
                .map(|s| s.host.clone())
                .collect(),
            enabled: computes()
                .filter(|s| s.status == "enabled")
                .map(|s| s.host.clone())
                .collect(),
        })
    }
}

/// The zones of the compute hosts and which of them take instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostZones {
    /// `[DEFAULT] default_availability_zone`.
    pub default_zone: String,
    /// The zone aggregates give hosts.
    pub zones: BTreeMap<String, String>,
    /// Hosts whose compute service is enabled and up.
    pub usable: BTreeSet<String>,
    /// Hosts whose compute service is enabled (their zones are the ones
    /// a create may ask for).
    pub enabled: BTreeSet<String>,
}

impl HostZones {
    /// The zone of `host`: its aggregate's, else the default one.
    pub fn zone_of<'a>(&'a self, host: &str) -> &'a str {
        self.zones
            .get(host)
            .map(String::as_str)
            .unwrap_or(&self.default_zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, instances: &[&str]) -> HostState {
        HostState {
            name: name.into(),
            zone: "nova".into(),
            usable: true,
            instances: instances.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn group(policy: Policy, members: &[(&str, i64)], max: Option<i64>) -> Option<GroupPlacement> {
        Some(GroupPlacement {
            policy,
            max_server_per_host: max,
            members_per_host: members.iter().map(|(h, n)| (h.to_string(), *n)).collect(),
        })
    }

    fn two_hosts() -> Vec<HostState> {
        vec![host("a", &[]), host("b", &[])]
    }

    fn three_hosts() -> Vec<HostState> {
        vec![host("a", &[]), host("b", &[]), host("c", &[])]
    }

    #[test]
    fn without_hints_the_least_loaded_host_wins_then_the_first() {
        let hosts = vec![host("a", &["x", "y"]), host("b", &["z"]), host("c", &["w"])];
        let placed = place(&hosts, &PlacementRequest::default(), 3).unwrap();
        assert_eq!(placed, ["b", "c", "a"]);
    }

    #[test]
    fn affinity_puts_a_batch_on_one_host_of_two_or_three() {
        let request = PlacementRequest {
            group: group(Policy::Affinity, &[], None),
            ..Default::default()
        };
        assert_eq!(place(&two_hosts(), &request, 2).unwrap(), ["a", "a"]);
        assert_eq!(place(&three_hosts(), &request, 3).unwrap(), ["a", "a", "a"]);
    }

    #[test]
    fn affinity_follows_the_existing_members_host() {
        let hosts = vec![host("a", &[]), host("b", &["m1"]), host("c", &[])];
        let request = PlacementRequest {
            group: group(Policy::Affinity, &[("b", 1)], None),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &request, 2).unwrap(), ["b", "b"]);
    }

    #[test]
    fn affinity_with_the_members_host_disabled_is_no_valid_host() {
        let mut hosts = three_hosts();
        hosts[1].usable = false;
        let request = PlacementRequest {
            group: group(Policy::Affinity, &[("b", 1)], None),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &request, 1), Err(NoValidHost));
    }

    #[test]
    fn anti_affinity_spreads_a_batch_and_runs_out_of_hosts() {
        let request = PlacementRequest {
            group: group(Policy::AntiAffinity, &[], None),
            ..Default::default()
        };
        assert_eq!(place(&two_hosts(), &request, 2).unwrap(), ["a", "b"]);
        assert_eq!(place(&three_hosts(), &request, 3).unwrap(), ["a", "b", "c"]);
        assert_eq!(place(&two_hosts(), &request, 3), Err(NoValidHost));
        let taken = PlacementRequest {
            group: group(Policy::AntiAffinity, &[("a", 1), ("c", 1)], None),
            ..Default::default()
        };
        assert_eq!(place(&three_hosts(), &taken, 1).unwrap(), ["b"]);
        assert_eq!(place(&three_hosts(), &taken, 2), Err(NoValidHost));
    }

    #[test]
    fn anti_affinity_allows_max_server_per_host() {
        let request = PlacementRequest {
            group: group(Policy::AntiAffinity, &[], Some(2)),
            ..Default::default()
        };
        assert_eq!(
            place(&two_hosts(), &request, 4).unwrap(),
            ["a", "b", "a", "b"]
        );
        assert_eq!(place(&two_hosts(), &request, 5), Err(NoValidHost));
    }

    #[test]
    fn soft_affinity_prefers_the_members_host_over_a_lighter_one() {
        let hosts = vec![host("a", &[]), host("b", &["m1", "x", "y"]), host("c", &[])];
        let request = PlacementRequest {
            group: group(Policy::SoftAffinity, &[("b", 1)], None),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &request, 2).unwrap(), ["b", "b"]);
    }

    #[test]
    fn soft_affinity_never_fails_when_its_host_is_gone() {
        let mut hosts = two_hosts();
        hosts[0].usable = false;
        let request = PlacementRequest {
            group: group(Policy::SoftAffinity, &[("a", 2)], None),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &request, 2).unwrap(), ["b", "b"]);
    }

    #[test]
    fn soft_anti_affinity_spreads_then_shares_instead_of_failing() {
        let request = PlacementRequest {
            group: group(Policy::SoftAntiAffinity, &[], None),
            ..Default::default()
        };
        assert_eq!(place(&two_hosts(), &request, 3).unwrap(), ["a", "b", "a"]);
        let hosts = vec![host("a", &[]), host("b", &["m1"]), host("c", &["m2"])];
        let members = PlacementRequest {
            group: group(Policy::SoftAntiAffinity, &[("b", 1), ("c", 1)], None),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &members, 1).unwrap(), ["a"]);
    }

    #[test]
    fn same_and_different_host_follow_the_named_instances() {
        let hosts = vec![host("a", &["s1"]), host("b", &["s2"]), host("c", &[])];
        let same = PlacementRequest {
            same_host: vec!["s2".into()],
            ..Default::default()
        };
        assert_eq!(place(&hosts, &same, 1).unwrap(), ["b"]);
        let different = PlacementRequest {
            different_host: vec!["s1".into(), "s2".into()],
            ..Default::default()
        };
        assert_eq!(place(&hosts, &different, 1).unwrap(), ["c"]);
        let gone = PlacementRequest {
            same_host: vec!["deleted".into()],
            ..Default::default()
        };
        assert_eq!(place(&hosts, &gone, 1), Err(NoValidHost));
    }

    #[test]
    fn zones_disabled_hosts_and_requested_hosts_filter() {
        let mut hosts = three_hosts();
        hosts[2].zone = "az2".into();
        hosts[0].usable = false;
        let zone = PlacementRequest {
            zone: Some("nova".into()),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &zone, 2).unwrap(), ["b", "b"]);
        let az2 = PlacementRequest {
            zone: Some("az2".into()),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &az2, 1).unwrap(), ["c"]);
        let disabled = PlacementRequest {
            host: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &disabled, 1), Err(NoValidHost));
        let forced = PlacementRequest {
            forced_host: Some("a".into()),
            zone: Some("az2".into()),
            ..Default::default()
        };
        assert_eq!(place(&hosts, &forced, 2).unwrap(), ["a", "a"]);
        assert_eq!(NoValidHost.to_string(), NO_VALID_HOST);
    }
}
