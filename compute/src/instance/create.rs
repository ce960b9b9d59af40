//! Creating instances: the request ([`CreateInstance`]), its checks, and
//! the one locked transaction of quota check, host choice, inserts and
//! the instances' ports.

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
    /// Availability zone (must be the configured one when given).
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
    auto_disk_config: bool,
    image_uuid: String,
    key_data: Option<String>,
    limits: QuotaLimits,
    min: u64,
    max: u64,
    networks: PlannedNetworks,
}

/// What the inserts of a create made, before the instances are read back.
pub(super) struct Inserted {
    uuids: Vec<String>,
    admin_password: String,
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
        if let Some(az) = &req.availability_zone {
            if az != &self.config.availability_zone {
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
            auto_disk_config,
            image_uuid: image.uuid,
            key_data,
            limits,
            min,
            max,
            networks,
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
        let host = match &req.host {
            Some(h) => h.clone(),
            None => self.pick_host(tx).await?,
        };
        for i in 0..n {
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
                    &self.config.availability_zone,
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
            crate::actions::record_in_tx(
                tx,
                ctx,
                &uuid,
                "create",
                Some("compute__do_build_and_run_instance"),
                now,
                Some(&host),
            )
            .await?;
            injected::replace(tx, &uuid, &req.injected_files).await?;
            self.attach_planned(tx, ctx, &plan.networks, &uuid, &host)
                .await?;
            uuids.push(uuid);
        }
        Ok(Inserted {
            uuids,
            admin_password,
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
        } = inserted;
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

    /// The configured host with the fewest live instances (the only one,
    /// without counting, when one is configured).
    async fn pick_host(&self, tx: &mut crate::store::Tx) -> Result<String> {
        if let [only] = self.config.hosts.as_slice() {
            return Ok(only.name.clone());
        }
        let counts: Vec<(Option<String>, i64)> = tx
            .fetch_all(
                "SELECT host, COUNT(*) FROM instances WHERE deleted = FALSE GROUP BY host",
                vec![],
            )
            .await?;
        let load = |h: &str| {
            counts
                .iter()
                .find(|(n, _)| n.as_deref() == Some(h))
                .map(|c| c.1)
                .unwrap_or(0)
        };
        self.config
            .hosts
            .iter()
            .min_by_key(|h| load(&h.name))
            .map(|h| h.name.clone())
            .ok_or_else(|| Error::Internal("no compute hosts configured".into()))
    }
}
