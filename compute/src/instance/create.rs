//! Creating instances: the request ([`CreateInstance`]), its checks, and
//! the one locked transaction of quota check, host choice (the
//! [`crate::scheduler`]), inserts, group membership and the instances'
//! ports. When the scheduler finds no host, the instances are made in
//! ERROR with nova's `NoValidHost` fault, without host or ports.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use super::metadata::validate_metadata;
use super::model::{FlavorSnapshot, Instance};
use super::network::PlannedNetworks;
use super::tags::validate_tags;
use super::update::check_ip;
use super::usage::{instances_allowed, InstanceUse};
use crate::flavor::Flavor;
use crate::injected::{self, InjectedFile};
use crate::scheduler::{self, GroupPlacement, HostZones, PlacementRequest, SchedulerHints};
use crate::server_group::{self as groups, HintedGroup};
use crate::states::{PowerState, TaskState, VmState};
use crate::store::{args, now_micros, Tx};
use crate::{validate, Compute, Error, Kind, QuotaLimits, RequestContext, Result};

/// What to create: `POST /servers` or EC2 `RunInstances`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateInstance {
    /// Display name (1-255). With several instances, nova's
    /// `<name>-<n>` (n from 1) names each.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The flavor id.
    pub flavor_id: String,
    /// The image uuid.
    pub image_ref: String,
    /// A keypair of the caller.
    pub key_name: Option<String>,
    /// Base64 user data.
    pub user_data: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Availability zone: one of the zones holding an enabled compute
    /// service, when given; an admin's `zone:host` (or `:host`) forces
    /// the host, past the scheduler's filters, as nova's `force_hosts`.
    pub availability_zone: Option<String>,
    /// Fewest instances to create (>= 1; 0 means 1).
    pub min_count: u32,
    /// Most instances to create (>= min_count; 0 means min_count).
    pub max_count: u32,
    /// accessIPv4.
    pub access_ip_v4: Option<String>,
    /// accessIPv6.
    pub access_ip_v6: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Config drive.
    pub config_drive: bool,
    /// Admin password (generated when absent).
    pub admin_password: Option<String>,
    /// Hostname (microversion 2.90); derived from the name when absent.
    pub hostname: Option<String>,
    /// A compute host (admin only).
    pub host: Option<String>,
    /// The networks, ports and addresses asked for.
    pub networks: super::network::NetworkRequest,
    /// The security groups (names or ids) of the ports made; the
    /// project's `default` group when empty.
    pub security_groups: Vec<String>,
    /// Personality files, checked against the injected-file quotas and
    /// kept with each instance for the metadata service.
    pub injected_files: Vec<InjectedFile>,
    /// OS-DCF:diskConfig: `Some(true)` AUTO, `Some(false)` MANUAL; unset,
    /// the image's `auto_disk_config` property decides (MANUAL without it).
    pub auto_disk_config: Option<bool>,
    /// The scheduler hints, kept as given (shown from 2.100).
    pub scheduler_hints: BTreeMap<String, serde_json::Value>,
}

/// The result of a create.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedInstances {
    /// The reservation id shared by all of them.
    pub reservation_id: String,
    /// The instances, in launch index order.
    pub instances: Vec<Instance>,
    /// The admin password (given or generated), returned once.
    pub admin_password: String,
}

/// A random reservation id, `r-` and 8 lower-case letters or digits.
pub(super) fn new_reservation_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..8)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("r-{s}")
}

/// A random admin password of 12 letters and digits (nova's default length).
fn new_password() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// OS-DCF:diskConfig of a create from `image` (nova: an image whose
/// `auto_disk_config` property is false refuses AUTO; unset, the property
/// decides).
fn disk_config_of(image: &crate::Image, requested: Option<bool>) -> Result<bool> {
    let allowed = match image.properties.get("auto_disk_config") {
        Some(serde_json::Value::String(v)) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "0" | "no" | "off" | "f" | "n" | "disabled"
        ),
        Some(serde_json::Value::Bool(v)) => *v,
        _ => true,
    };
    match requested {
        Some(true) if !allowed => Err(Error::invalid(format!(
            "Requested image {} has automatic disk resize disabled.",
            image.uuid
        ))),
        Some(auto) => Ok(auto),
        None => Ok(allowed && image.properties.contains_key("auto_disk_config")),
    }
}

/// What a create has checked and looked up before its transaction.
pub(super) struct CreatePlan {
    flavor: Flavor,
    /// What the filters read of the scheduler hints.
    hints: SchedulerHints,
    auto_disk_config: bool,
    image_uuid: String,
    key_data: Option<String>,
    limits: QuotaLimits,
    min: u64,
    max: u64,
    networks: PlannedNetworks,
    zones: HostZones,
    /// The zone asked for (without a forced host).
    zone: Option<String>,
    /// The host an admin forced with `zone:host`.
    forced_host: Option<String>,
}

/// What the inserts of a create made, before the instances are read back.
pub(super) struct Inserted {
    uuids: Vec<String>,
    admin_password: String,
    /// The scheduler found no host: the instances are in ERROR.
    no_valid_host: bool,
}

impl Compute {
    /// The `min_count` of a create as the `u32` of [`CreateInstance`]. A
    /// count above `u32::MAX` is more than one create makes: it is refused
    /// with nova's quota error when the caller's quota cannot hold that
    /// many instances of `flavor_id` (always, unless its instance, cores
    /// and ram quotas are all unlimited), else with [`Error::Invalid`].
    pub async fn create_count(
        &self,
        ctx: &RequestContext,
        flavor_id: &str,
        count: u64,
    ) -> Result<u32> {
        if let Ok(count) = u32::try_from(count) {
            return Ok(count);
        }
        let flavor = self.get_flavor(ctx, flavor_id).await?;
        if flavor.disabled && !ctx.is_admin {
            return Err(Error::not_found(Kind::Flavor, flavor_id));
        }
        let limits = self.project_limits(&ctx.project_id).await?;
        let used = InstanceUse::from_row(
            self.store
                .fetch_one(InstanceUse::SQL, args![&ctx.project_id, now_micros()])
                .await?,
        );
        instances_allowed(&limits, used, &flavor, count, count)?;
        Err(Error::invalid(format!(
            "Cannot create {count} instances in one request; the most is {}",
            u32::MAX
        )))
    }

    /// Creates `min_count..=max_count` instances (as many as the quota
    /// allows, at least `min_count`, else [`Error::QuotaExceeded`]).
    ///
    /// Checks: name, metadata (items and count against the quota), tags,
    /// user data, access IPs, personality files (against their quotas); the
    /// flavor is visible and enabled ([`Error::NotFound`] `Flavor`); the
    /// image is visible
    /// ([`Error::NotFound`] `Image`), active and fits the flavor; the
    /// keypair is the caller's ([`Error::NotFound`] `Keypair`). The quota
    /// check, fixed-IP allocation and inserts are one locked transaction.
    /// Instances start in (building, scheduling) and advance as configured.
    pub async fn create_instances(
        &self,
        ctx: &RequestContext,
        req: CreateInstance,
    ) -> Result<CreatedInstances> {
        let plan = self.plan_create(ctx, &req).await?;
        let reservation_id = new_reservation_id();
        let mut tx = self.begin_create(ctx).await?;
        let created = self
            .insert_instances(&mut tx, ctx, &req, &plan, &reservation_id)
            .await?;
        tx.commit().await?;
        self.load_created(ctx, reservation_id, created).await
    }

    /// The checks and look-ups of a create that need no transaction.
    pub(super) async fn plan_create(
        &self,
        ctx: &RequestContext,
        req: &CreateInstance,
    ) -> Result<CreatePlan> {
        validate::name("name", &req.name)?;
        if let Some(d) = &req.description {
            validate::description(d)?;
        }
        validate_metadata(&req.metadata)?;
        validate_tags(&req.tags)?;
        if let Some(u) = &req.user_data {
            validate::user_data(u)?;
        }
        check_ip("accessIPv4", &req.access_ip_v4, false)?;
        check_ip("accessIPv6", &req.access_ip_v6, true)?;
        if let Some(h) = &req.hostname {
            validate::name("hostname", h)?;
        }
        let min = u64::from(req.min_count.max(1));
        let max = if req.max_count == 0 {
            min
        } else {
            u64::from(req.max_count)
        };
        if max < min {
            return Err(Error::invalid("min_count must be <= max_count"));
        }
        let zones = self.host_zones().await?;
        let (zone, forced_host) = split_zone(req.availability_zone.as_deref());
        if let Some(h) = &forced_host {
            ctx.require_admin("os_compute_api:servers:create:forced_host")?;
            if !self.config.hosts.iter().any(|x| &x.name == h) {
                return Err(Error::not_found(Kind::Host, h.clone()));
            }
        }
        if let Some(az) = &zone {
            if !zones.enabled.iter().any(|h| zones.zone_of(h) == az) {
                return Err(Error::invalid(format!(
                    "The requested availability zone is not available: {az}"
                )));
            }
        }
        if let Some(h) = &req.host {
            ctx.require_admin("compute:servers:create:requested_destination")?;
            if !self.config.hosts.iter().any(|x| &x.name == h) {
                return Err(Error::not_found(Kind::Host, h.clone()));
            }
        }
        let flavor = self.get_flavor(ctx, &req.flavor_id).await?;
        if flavor.disabled && !ctx.is_admin {
            return Err(Error::not_found(Kind::Flavor, req.flavor_id.clone()));
        }
        let image = self.get_image(ctx, &req.image_ref).await?;
        if image.status != "active" {
            return Err(Error::invalid(format!(
                "Image {} is not active.",
                image.uuid
            )));
        }
        if flavor.ram < image.min_ram {
            return Err(Error::invalid(
                "Flavor's memory is too small for requested image.",
            ));
        }
        if flavor.disk > 0 && flavor.disk < image.min_disk {
            return Err(Error::invalid(
                "Flavor's disk is too small for requested image.",
            ));
        }
        let auto_disk_config = disk_config_of(&image, req.auto_disk_config)?;
        let key_data = match &req.key_name {
            Some(k) => Some(
                self.get_keypair(ctx, k, None)
                    .await
                    .map_err(|_| Error::not_found(Kind::Keypair, k.clone()))?
                    .public_key,
            ),
            None => None,
        };
        let limits = self.project_limits(&ctx.project_id).await?;
        if limits.metadata_items >= 0 && req.metadata.len() as i64 > limits.metadata_items {
            return Err(Error::quota(
                "metadata_items",
                req.metadata.len() as i64,
                0,
                limits.metadata_items,
            ));
        }
        injected::check_quota(&limits, &req.injected_files)?;
        let networks = self
            .plan_networks(ctx, &req.networks, &req.security_groups, max)
            .await?;
        Ok(CreatePlan {
            flavor,
            hints: SchedulerHints::from_given(&req.scheduler_hints),
            auto_disk_config,
            image_uuid: image.uuid,
            key_data,
            limits,
            min,
            max,
            networks,
            zones,
            zone,
            forced_host,
        })
    }

    /// The write transaction of a create: the project's quota lock (the
    /// ports take their networks' locks after it).
    pub(super) async fn begin_create(&self, ctx: &RequestContext) -> Result<Tx> {
        self.store
            .begin_locked(&crate::network::quotas::quota_lock(&ctx.project_id))
            .await
    }

    /// The quota check and the inserts of a create, inside `tx`.
    pub(super) async fn insert_instances(
        &self,
        tx: &mut Tx,
        ctx: &RequestContext,
        req: &CreateInstance,
        plan: &CreatePlan,
        reservation_id: &str,
    ) -> Result<Inserted> {
        let (flavor, limits, min, max) = (&plan.flavor, &plan.limits, plan.min, plan.max);
        let admin_password = req.admin_password.clone().unwrap_or_else(new_password);
        let snap = FlavorSnapshot::from(flavor);
        let now = now_micros();
        let due = now + self.delay_micros();
        let tags: Vec<String> = req
            .tags
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let hints = (!req.scheduler_hints.is_empty())
            .then(|| serde_json::to_string(&req.scheduler_hints).unwrap_or_else(|_| "{}".into()));
        let mut uuids = Vec::new();
        // Reading the use costs a row per instance of the project; a
        // project without limits on what it counts skips it.
        let used = if InstanceUse::counts_under(limits) {
            InstanceUse::from_row(
                tx.fetch_one(InstanceUse::SQL, args![&ctx.project_id, now_micros()])
                    .await?,
            )
        } else {
            InstanceUse::NONE
        };
        let n = instances_allowed(limits, used, flavor, min, max)?;
        let n = i64::try_from(n).expect("at most max_count, a u32");
        let group = match &plan.hints.group {
            Some(uuid) => {
                let group = groups::hinted_group(tx, uuid).await?;
                groups::check_member_quota(
                    tx,
                    &group,
                    &ctx.user_id,
                    limits.server_group_members,
                    n,
                )
                .await?;
                Some(group)
            }
            None => None,
        };
        let placed = self.schedule(tx, req, plan, group.as_ref(), n).await?;
        let fault_at = now;
        for i in 0..n {
            let host: Option<String> = placed
                .as_ref()
                .and_then(|p| usize::try_from(i).ok().and_then(|i| p.get(i)).cloned());
            let zone = match &host {
                Some(h) => plan.zones.zone_of(h).to_string(),
                None => plan
                    .zone
                    .clone()
                    .unwrap_or_else(|| self.config.availability_zone.clone()),
            };
            let uuid = uuid::Uuid::new_v4().to_string();
            let name = if n > 1 {
                format!("{}-{}", req.name, i + 1)
            } else {
                req.name.clone()
            };
            let hostname = match &req.hostname {
                Some(h) if n == 1 => h.clone(),
                _ => validate::hostname_from(&name, &uuid),
            };
            tx.execute(
                "INSERT INTO instances (uuid, display_name, display_description, hostname, project_id, user_id, \
                 flavor_id, flavor_name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, flavor_extra_specs, image_ref, \
                 key_name, key_data, user_data, metadata, tags, availability_zone, host, node, launch_index, \
                 reservation_id, vm_state, task_state, power_state, state_seq, step_due_at, created_at, updated_at, \
                 deleted, fixed_ip, fixed_ip_num, mac_address, access_ip_v4, access_ip_v6, locked, config_drive, \
                 admin_password, pinned_availability_zone, scheduler_hints, auto_disk_config) VALUES ($1, $2, $3, $4, \
                 $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, \
                 $26, $27, $28, 0, $29, $30, $30, FALSE, NULL, NULL, '', $31, $32, FALSE, $33, $34, $35, $36, $37)",
                args![
                    &uuid,
                    name,
                    &req.description,
                    hostname,
                    &ctx.project_id,
                    &ctx.user_id,
                    &snap.id,
                    &snap.name,
                    snap.vcpus,
                    snap.ram,
                    snap.disk,
                    snap.ephemeral,
                    snap.swap,
                    serde_json::to_string(&snap.extra_specs).unwrap_or_else(|_| "{}".into()),
                    &plan.image_uuid,
                    &req.key_name,
                    &plan.key_data,
                    &req.user_data,
                    serde_json::to_string(&req.metadata).unwrap_or_else(|_| "{}".into()),
                    serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
                    zone,
                    &host,
                    &host,
                    i,
                    reservation_id,
                    VmState::Building.as_str(),
                    TaskState::Scheduling.as_str(),
                    PowerState::NoState.code(),
                    due,
                    now,
                    &req.access_ip_v4,
                    &req.access_ip_v6,
                    req.config_drive,
                    &admin_password,
                    &req.availability_zone,
                    &hints,
                    plan.auto_disk_config,
                ],
            )
            .await?;
            if let Some(group) = &group {
                groups::add_member(tx, group, &uuid).await?;
            }
            injected::replace(tx, &uuid, &req.injected_files).await?;
            match &host {
                Some(host) => {
                    crate::actions::record_in_tx(
                        tx,
                        ctx,
                        &uuid,
                        "create",
                        Some("compute__do_build_and_run_instance"),
                        now,
                        Some(host.as_str()),
                    )
                    .await?;
                    self.attach_planned(tx, ctx, &plan.networks, &uuid, host)
                        .await?;
                }
                None => {
                    crate::actions::record_in_tx(
                        tx,
                        ctx,
                        &uuid,
                        "create",
                        Some("conductor_schedule_and_build_instances"),
                        now,
                        None,
                    )
                    .await?;
                    no_valid_host(tx, &uuid, fault_at).await?;
                }
            }
            uuids.push(uuid);
        }
        Ok(Inserted {
            uuids,
            admin_password,
            no_valid_host: placed.is_none(),
        })
    }

    /// The answer of a create once committed: its instances, read back.
    pub(super) async fn load_created(
        &self,
        ctx: &RequestContext,
        reservation_id: String,
        inserted: Inserted,
    ) -> Result<CreatedInstances> {
        let Inserted {
            uuids,
            admin_password,
            no_valid_host,
        } = inserted;
        if no_valid_host {
            let now = now_micros();
            for u in &uuids {
                crate::actions::finish(self, u, false, now).await?;
            }
        }
        let mut instances = Vec::with_capacity(uuids.len());
        for u in &uuids {
            instances.push(self.load(ctx, u, true).await?.to_instance());
        }
        self.attach_network_info(&mut instances).await?;
        Ok(CreatedInstances {
            reservation_id,
            instances,
            admin_password,
        })
    }

    /// The hosts of `n` instances of `req`, in launch order, as the
    /// scheduler chooses them; `None` when it finds none (NoValidHost).
    async fn schedule(
        &self,
        tx: &mut Tx,
        req: &CreateInstance,
        plan: &CreatePlan,
        group: Option<&HintedGroup>,
        n: i64,
    ) -> Result<Option<Vec<String>>> {
        let states = self.host_states(tx, &plan.zones).await?;
        let request = PlacementRequest {
            zone: plan.zone.clone(),
            host: req.host.clone(),
            forced_host: plan.forced_host.clone(),
            same_host: plan.hints.same_host.clone(),
            different_host: plan.hints.different_host.clone(),
            group: group.map(|g| {
                let mut members_per_host = BTreeMap::new();
                for h in &g.member_hosts {
                    *members_per_host.entry(h.clone()).or_insert(0) += 1;
                }
                GroupPlacement {
                    policy: g.policy,
                    max_server_per_host: g.max_server_per_host,
                    members_per_host,
                }
            }),
        };
        let count = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(scheduler::place(&states, &request, count).ok())
    }
}

/// nova's reading of a requested zone: `zone`, `zone:host`, `:host` or
/// `zone:host:node` (the node is the host here). An empty part is none.
fn split_zone(requested: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(requested) = requested else {
        return (None, None);
    };
    let mut parts = requested.splitn(3, ':');
    let some = |p: Option<&str>| p.filter(|s| !s.is_empty()).map(str::to_string);
    let zone = some(parts.next());
    let host = some(parts.next());
    (zone, host)
}

/// Ends a just-inserted instance in ERROR with nova's NoValidHost fault,
/// as nova's conductor leaves an instance no host was found for: no host,
/// no task, power NOSTATE.
async fn no_valid_host(tx: &mut Tx, uuid: &str, at: i64) -> Result<()> {
    tx.execute(
        "UPDATE instances SET vm_state = $1, task_state = NULL, step_due_at = NULL, fault_code = 500, \
         fault_message = $2, fault_details = $3, fault_created_at = $4 WHERE uuid = $5",
        args![
            VmState::Error.as_str(),
            scheduler::NO_VALID_HOST,
            format!("nova.exception.NoValidHost: {}", scheduler::NO_VALID_HOST),
            at,
            uuid
        ],
    )
    .await?;
    Ok(())
}
