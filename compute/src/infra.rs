//! The simulated cloud's infrastructure: availability zones, services
//! (os-services), hypervisors (os-hypervisors) and usage reports
//! (os-simple-tenant-usage).
//!
//! The hosts come from [`crate::ComputeConfig`]: one `nova-compute` service
//! and hypervisor per compute host, `nova-scheduler` and `nova-conductor`
//! on the controller host. Services are always up (their heartbeat is
//! "now") unless forced down; enabling or disabling one is stored.

use chrono::{DateTime, Utc};

use crate::store::{args, from_micros, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// A service of an availability zone listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneService {
    /// `nova-compute`, `nova-scheduler`, ...
    pub binary: String,
    /// Enabled.
    pub available: bool,
    /// Up.
    pub active: bool,
    /// Last heartbeat.
    pub updated_at: DateTime<Utc>,
}

/// A host of an availability zone listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneHost {
    /// Host name.
    pub name: String,
    /// Its services.
    pub services: Vec<ZoneService>,
}

/// An availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityZone {
    /// Zone name.
    pub name: String,
    /// Whether it is available (has an enabled compute service).
    pub available: bool,
    /// Hosts and services (only in the detailed, admin listing).
    pub hosts: Option<Vec<ZoneHost>>,
}

/// A service (os-services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Integer id (stable: position in the configuration).
    pub id: i64,
    /// A stable uuid (microversion 2.53 ids).
    pub uuid: String,
    /// `nova-compute`, `nova-scheduler`, `nova-conductor`.
    pub binary: String,
    /// Host name.
    pub host: String,
    /// Availability zone.
    pub zone: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// `up` or `down`.
    pub state: String,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Forced down (microversion 2.11).
    pub forced_down: bool,
    /// Last heartbeat.
    pub updated_at: DateTime<Utc>,
}

/// Changes to a service (`PUT /os-services/...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUpdate {
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
    /// The reason (with a disable).
    pub disabled_reason: Option<String>,
    /// Force down or back up.
    pub forced_down: Option<bool>,
}

/// A hypervisor (os-hypervisors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hypervisor {
    /// Integer id.
    pub id: i64,
    /// A stable uuid.
    pub uuid: String,
    /// Node name (= host name).
    pub hypervisor_hostname: String,
    /// The host's service host name.
    pub host: String,
    /// The nova-compute service id.
    pub service_id: i64,
    /// `QEMU`.
    pub hypervisor_type: String,
    /// QEMU version as nova shows it (8002000 for 8.2.0).
    pub hypervisor_version: i64,
    /// A host IP (from the simulated management network).
    pub host_ip: String,
    /// vCPUs.
    pub vcpus: i64,
    /// vCPUs used by live instances.
    pub vcpus_used: i64,
    /// Memory (MiB).
    pub memory_mb: i64,
    /// Memory used (MiB; includes 512 reserved, as nova reports).
    pub memory_mb_used: i64,
    /// Local disk (GiB).
    pub local_gb: i64,
    /// Local disk used (GiB).
    pub local_gb_used: i64,
    /// Live instances on it.
    pub running_vms: i64,
    /// `up` or `down`.
    pub state: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// The service's disabled reason.
    pub disabled_reason: Option<String>,
}

/// The usage of one server in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerUsage {
    /// Instance uuid.
    pub instance_id: String,
    /// Display name.
    pub name: String,
    /// Project.
    pub tenant_id: String,
    /// Flavor name.
    pub flavor: String,
    /// Hours within the period.
    pub hours: f64,
    /// vCPUs.
    pub vcpus: i64,
    /// Memory (MiB).
    pub memory_mb: i64,
    /// Root + ephemeral disk (GiB).
    pub local_gb: i64,
    /// When it was launched.
    pub started_at: DateTime<Utc>,
    /// When it was terminated, if it was.
    pub ended_at: Option<DateTime<Utc>>,
    /// `terminated` or the vm_state.
    pub state: String,
    /// Seconds since launch (or until termination).
    pub uptime: i64,
}

/// The usage of one project in a period (os-simple-tenant-usage).
#[derive(Debug, Clone, PartialEq)]
pub struct TenantUsage {
    /// Project.
    pub tenant_id: String,
    /// Sum of server hours.
    pub total_hours: f64,
    /// vCPU hours.
    pub total_vcpus_usage: f64,
    /// MiB hours.
    pub total_memory_mb_usage: f64,
    /// GiB hours.
    pub total_local_gb_usage: f64,
    /// Period start.
    pub start: DateTime<Utc>,
    /// Period end.
    pub stop: DateTime<Utc>,
    /// Per server.
    pub server_usages: Vec<ServerUsage>,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    host: String,
    service_binary: String,
    disabled: bool,
    disabled_reason: Option<String>,
    forced_down: bool,
    updated_at: i64,
}

/// A uuid derived from a name, so every process and restart agrees.
fn stable_uuid(name: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(name.as_bytes());
    let mut b: [u8; 16] = d[..16].try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

impl Compute {
    /// The configured services in id order: scheduler and conductor on the
    /// controller, then one nova-compute per compute host.
    pub(crate) async fn services_all(&self) -> Result<Vec<Service>> {
        let rows: Vec<ServiceRow> = self
            .store
            .fetch_all("SELECT host, service_binary, disabled, disabled_reason, forced_down, updated_at FROM services", vec![])
            .await?;
        let now = from_micros(now_micros());
        let zones = self.aggregate_zones().await?;
        let mut out = Vec::new();
        let mut specs: Vec<(String, String, String)> = vec![
            (
                self.config.controller_host.clone(),
                "nova-scheduler".into(),
                self.config.internal_availability_zone.clone(),
            ),
            (
                self.config.controller_host.clone(),
                "nova-conductor".into(),
                self.config.internal_availability_zone.clone(),
            ),
        ];
        for h in &self.config.hosts {
            let zone = zones
                .get(&h.name)
                .cloned()
                .unwrap_or_else(|| self.config.availability_zone.clone());
            specs.push((h.name.clone(), "nova-compute".into(), zone));
        }
        for (i, (host, binary, zone)) in specs.into_iter().enumerate() {
            let row = rows
                .iter()
                .find(|r| r.host == host && r.service_binary == binary);
            let forced_down = row.is_some_and(|r| r.forced_down);
            out.push(Service {
                id: i as i64 + 1,
                uuid: stable_uuid(&format!("service:{host}:{binary}")),
                binary: binary.clone(),
                host: host.clone(),
                zone,
                status: if row.is_some_and(|r| r.disabled) {
                    "disabled".into()
                } else {
                    "enabled".into()
                },
                state: if forced_down {
                    "down".into()
                } else {
                    "up".into()
                },
                disabled_reason: row.and_then(|r| r.disabled_reason.clone()),
                forced_down,
                updated_at: if forced_down {
                    row.map(|r| from_micros(r.updated_at)).unwrap_or(now)
                } else {
                    now
                },
            });
        }
        Ok(out)
    }

    /// The services (admin), optionally of one host and/or binary.
    pub async fn list_services(
        &self,
        ctx: &RequestContext,
        host: Option<&str>,
        binary: Option<&str>,
    ) -> Result<Vec<Service>> {
        ctx.require_admin("os_compute_api:os-services:list")?;
        Ok(self
            .services_all()
            .await?
            .into_iter()
            .filter(|s| host.is_none_or(|h| s.host == h) && binary.is_none_or(|b| s.binary == b))
            .collect())
    }

    /// One service by integer id or uuid (admin).
    pub async fn get_service(&self, ctx: &RequestContext, id: &str) -> Result<Service> {
        ctx.require_admin("os_compute_api:os-services:list")?;
        self.services_all()
            .await?
            .into_iter()
            .find(|s| s.uuid == id || s.id.to_string() == id)
            .ok_or_else(|| Error::not_found(Kind::Service, id))
    }

    /// Enables, disables or forces down a service (admin), by host and
    /// binary. Unknown ones are [`Error::NotFound`].
    pub async fn update_service(
        &self,
        ctx: &RequestContext,
        host: &str,
        binary: &str,
        upd: ServiceUpdate,
    ) -> Result<Service> {
        ctx.require_admin("os_compute_api:os-services:update")?;
        let current = self
            .services_all()
            .await?
            .into_iter()
            .find(|s| s.host == host && s.binary == binary)
            .ok_or_else(|| Error::not_found(Kind::Service, format!("{binary} on host {host}")))?;
        if let Some(r) = &upd.disabled_reason {
            if r.is_empty() || r.chars().count() > 255 {
                return Err(Error::invalid("The string containing the reason for disabling the service must be between 1 and 255 characters"));
            }
        }
        let disabled = upd.disabled.unwrap_or(current.status == "disabled");
        let reason = if disabled {
            upd.disabled_reason
                .clone()
                .or(current.disabled_reason.clone())
        } else {
            None
        };
        let forced = upd.forced_down.unwrap_or(current.forced_down);
        self.store
            .execute(
                "INSERT INTO services (host, service_binary, disabled, disabled_reason, forced_down, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host, service_binary) DO UPDATE SET disabled = excluded.disabled, \
                 disabled_reason = excluded.disabled_reason, forced_down = excluded.forced_down, updated_at = excluded.updated_at",
                args![host, binary, disabled, reason, forced, now_micros()],
            )
            .await?;
        self.get_service(ctx, &current.uuid).await
    }

    /// The availability zones, as nova lists them from the services: a
    /// zone holding an enabled service is available, one whose services
    /// are all disabled is not (the internal zone is left out); with
    /// `detail` (admin) the internal zone too, each with its hosts and
    /// their services.
    pub async fn list_availability_zones(
        &self,
        ctx: &RequestContext,
        detail: bool,
    ) -> Result<Vec<AvailabilityZone>> {
        if detail {
            ctx.require_admin("os_compute_api:os-availability-zone:detail")?;
        }
        let services = self.services_all().await?;
        let internal = &self.config.internal_availability_zone;
        let mut zones: Vec<AvailabilityZone> = Vec::new();
        // Available zones first, then the others, each in service order.
        for want_available in [true, false] {
            for s in &services {
                if !detail && &s.zone == internal {
                    continue;
                }
                let available = services
                    .iter()
                    .any(|o| o.zone == s.zone && o.status == "enabled");
                if available != want_available || zones.iter().any(|z| z.name == s.zone) {
                    continue;
                }
                zones.push(AvailabilityZone {
                    name: s.zone.clone(),
                    available,
                    hosts: None,
                });
            }
        }
        if !detail {
            return Ok(zones);
        }
        for zone in &mut zones {
            let mut hosts: Vec<ZoneHost> = Vec::new();
            for s in services.iter().filter(|s| s.zone == zone.name) {
                let svc = ZoneService {
                    binary: s.binary.clone(),
                    available: s.status == "enabled",
                    active: s.state == "up",
                    updated_at: s.updated_at,
                };
                match hosts.iter_mut().find(|h| h.name == s.host) {
                    Some(h) => h.services.push(svc),
                    None => hosts.push(ZoneHost {
                        name: s.host.clone(),
                        services: vec![svc],
                    }),
                }
            }
            zone.hosts = Some(hosts);
        }
        Ok(zones)
    }

    /// The hypervisors with their use by live instances (admin).
    pub async fn list_hypervisors(&self, ctx: &RequestContext) -> Result<Vec<Hypervisor>> {
        ctx.require_admin("os_compute_api:os-hypervisors:list")?;
        let used: Vec<(Option<String>, i64, i64, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT host, COUNT(*), CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(root_gb + ephemeral_gb), 0) AS BIGINT) FROM instances WHERE deleted = FALSE GROUP BY host",
                vec![],
            )
            .await?;
        let services = self.services_all().await?;
        let mut out = Vec::new();
        for (i, h) in self.config.hosts.iter().enumerate() {
            let u = used
                .iter()
                .find(|u| u.0.as_deref() == Some(h.name.as_str()));
            let svc = services
                .iter()
                .find(|s| s.host == h.name && s.binary == "nova-compute");
            out.push(Hypervisor {
                id: i as i64 + 1,
                uuid: stable_uuid(&format!("hypervisor:{}", h.name)),
                hypervisor_hostname: h.name.clone(),
                host: h.name.clone(),
                service_id: svc.map(|s| s.id).unwrap_or(0),
                hypervisor_type: "QEMU".into(),
                hypervisor_version: 8002000,
                host_ip: format!("192.168.122.{}", 10 + i),
                vcpus: h.vcpus,
                vcpus_used: u.map(|u| u.2).unwrap_or(0),
                memory_mb: h.memory_mb,
                memory_mb_used: 512 + u.map(|u| u.3).unwrap_or(0),
                local_gb: h.local_gb,
                local_gb_used: u.map(|u| u.4).unwrap_or(0),
                running_vms: u.map(|u| u.1).unwrap_or(0),
                state: svc.map(|s| s.state.clone()).unwrap_or_else(|| "up".into()),
                status: svc
                    .map(|s| s.status.clone())
                    .unwrap_or_else(|| "enabled".into()),
                disabled_reason: svc.and_then(|s| s.disabled_reason.clone()),
            });
        }
        Ok(out)
    }

    /// One hypervisor by integer id or uuid (admin).
    pub async fn get_hypervisor(&self, ctx: &RequestContext, id: &str) -> Result<Hypervisor> {
        self.list_hypervisors(ctx)
            .await?
            .into_iter()
            .find(|h| h.uuid == id || h.id.to_string() == id)
            .ok_or_else(|| Error::not_found(Kind::Hypervisor, id))
    }

    /// Usage of instances running at any time in `[start, end)`: of the
    /// caller's project, of `project_id` (admin, or the caller's own), or
    /// of every project (admin, `project_id` `None` and `all` true).
    pub async fn usage_report(
        &self,
        ctx: &RequestContext,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        project_id: Option<&str>,
        all: bool,
    ) -> Result<Vec<TenantUsage>> {
        if end <= start {
            return Err(Error::invalid(
                "Invalid start time. The start time cannot occur after the end time.",
            ));
        }
        let project = match (project_id, all) {
            (Some(p), _) if ctx.can_access_project(p) => Some(p.to_string()),
            (Some(_), _) => return Err(Error::Forbidden(
                "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed."
                    .into(),
            )),
            (None, true) => {
                ctx.require_admin("os_compute_api:os-simple-tenant-usage:list")?;
                None
            }
            (None, false) => Some(ctx.project_id.clone()),
        };
        let (s, e) = (start.timestamp_micros(), end.timestamp_micros());
        let mut sql = format!(
            "SELECT {} FROM instances WHERE launched_at IS NOT NULL AND launched_at < $1 AND (terminated_at IS NULL OR terminated_at >= $2)",
            crate::instance::INSTANCE_COLUMNS
        );
        let mut a = args![e, s];
        if let Some(p) = &project {
            sql.push_str(" AND project_id = $3");
            a.push(crate::store::Arg::Text(p.clone()));
        }
        sql.push_str(" ORDER BY project_id, launched_at, id");
        let rows: Vec<crate::instance::InstanceRow> = self.store.fetch_all(&sql, a).await?;
        let now = now_micros();
        let mut out: Vec<TenantUsage> = Vec::new();
        for r in rows {
            let launched = r.launched_at.unwrap_or(r.created_at);
            let from = launched.max(s);
            let to = r.terminated_at.unwrap_or(now).min(e).min(now.max(from));
            let hours = (to - from).max(0) as f64 / 3_600_000_000.0;
            let su = ServerUsage {
                instance_id: r.uuid.clone(),
                name: r.display_name.clone(),
                tenant_id: r.project_id.clone(),
                flavor: r.flavor_name.clone(),
                hours,
                vcpus: r.vcpus,
                memory_mb: r.memory_mb,
                local_gb: r.root_gb + r.ephemeral_gb,
                started_at: from_micros(launched),
                ended_at: r.terminated_at.map(from_micros),
                state: if r.deleted {
                    "terminated".into()
                } else {
                    r.vm_state.clone()
                },
                uptime: (r.terminated_at.unwrap_or(now) - launched).max(0) / 1_000_000,
            };
            let t = match out.iter_mut().find(|t| t.tenant_id == r.project_id) {
                Some(t) => t,
                None => {
                    out.push(TenantUsage {
                        tenant_id: r.project_id.clone(),
                        total_hours: 0.0,
                        total_vcpus_usage: 0.0,
                        total_memory_mb_usage: 0.0,
                        total_local_gb_usage: 0.0,
                        start,
                        stop: end,
                        server_usages: Vec::new(),
                    });
                    out.last_mut().expect("just pushed")
                }
            };
            t.total_hours += hours;
            t.total_vcpus_usage += hours * su.vcpus as f64;
            t.total_memory_mb_usage += hours * su.memory_mb as f64;
            t.total_local_gb_usage += hours * su.local_gb as f64;
            t.server_usages.push(su);
        }
        Ok(out)
    }
}
