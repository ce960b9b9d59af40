//! `os-hosts` (nova's deprecated hosts API, below microversion 2.43): the
//! hosts of the enabled services with their zones, a compute host's
//! resources, and the host actions nova's fake driver answers (the
//! simulated hosts have no power or maintenance state to change: as the
//! fake driver, an action answers what it was asked and changes nothing).

use std::collections::BTreeMap;

use crate::store::args;
use crate::{Compute, Error, Kind, RequestContext, Result};

/// A host of the hosts listing: one per enabled service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The host name.
    pub host_name: String,
    /// The service's topic (`compute`, `scheduler`, `conductor`).
    pub service: String,
    /// The service's availability zone.
    pub zone: String,
}

/// One line of a host's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResource {
    /// The host name.
    pub host: String,
    /// `(total)`, `(used_now)`, `(used_max)` or a project id.
    pub project: String,
    /// vCPUs.
    pub cpu: i64,
    /// Memory in MiB.
    pub memory_mb: i64,
    /// Disk in GiB.
    pub disk_gb: i64,
}

/// A host power action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// `startup`.
    Startup,
    /// `shutdown`.
    Shutdown,
    /// `reboot`.
    Reboot,
}

impl PowerAction {
    /// nova's name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Startup => "startup",
            PowerAction::Shutdown => "shutdown",
            PowerAction::Reboot => "reboot",
        }
    }
}

impl Compute {
    /// The hosts of the enabled services (admin), of `zone` when one is
    /// named (an empty zone is every zone).
    pub async fn list_hosts(
        &self,
        ctx: &RequestContext,
        zone: Option<&str>,
    ) -> Result<Vec<HostEntry>> {
        ctx.require_admin("os_compute_api:os-hosts:list")?;
        Ok(self
            .services_all()
            .await?
            .into_iter()
            .filter(|s| s.status == "enabled")
            .filter(|s| zone.filter(|z| !z.is_empty()).is_none_or(|z| s.zone == z))
            .map(|s| HostEntry {
                host_name: s.host,
                service: s.binary.trim_start_matches("nova-").to_string(),
                zone: s.zone,
            })
            .collect())
    }

    /// A compute host's resources (admin): its totals, what is used now,
    /// the sum of its instances' flavors and that sum per project.
    /// A host that is not a compute host is [`Error::NotFound`] `Host`.
    pub async fn host_resources(
        &self,
        ctx: &RequestContext,
        host: &str,
    ) -> Result<Vec<HostResource>> {
        ctx.require_admin("os_compute_api:os-hosts:show")?;
        self.require_compute_host(host)?;
        let hypervisor = self
            .list_hypervisors(ctx)
            .await?
            .into_iter()
            .find(|h| h.host == host)
            .ok_or_else(|| Error::not_found(Kind::Host, host))?;
        let rows: Vec<(String, i64, i64, i64)> = self
            .store
            .fetch_all(
                "SELECT project_id, vcpus, memory_mb, root_gb + ephemeral_gb FROM instances \
                 WHERE deleted = FALSE AND host = $1 ORDER BY id",
                args![host],
            )
            .await?;
        let line = |project: &str, cpu, memory_mb, disk_gb| HostResource {
            host: host.to_string(),
            project: project.to_string(),
            cpu,
            memory_mb,
            disk_gb,
        };
        let mut out = vec![
            line(
                "(total)",
                hypervisor.vcpus,
                hypervisor.memory_mb,
                hypervisor.local_gb,
            ),
            line(
                "(used_now)",
                hypervisor.vcpus_used,
                hypervisor.memory_mb_used,
                hypervisor.local_gb_used,
            ),
        ];
        let sum = rows
            .iter()
            .fold((0, 0, 0), |acc, r| (acc.0 + r.1, acc.1 + r.2, acc.2 + r.3));
        out.push(line("(used_max)", sum.0, sum.1, sum.2));
        let mut by_project: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
        for r in &rows {
            let e = by_project.entry(r.0.as_str()).or_default();
            *e = (e.0 + r.1, e.1 + r.2, e.2 + r.3);
        }
        for (project, (cpu, memory_mb, disk_gb)) in by_project {
            out.push(line(project, cpu, memory_mb, disk_gb));
        }
        Ok(out)
    }

    /// A power action on a compute host (admin): the fake driver's answer,
    /// the action's name.
    pub fn host_power_action(
        &self,
        ctx: &RequestContext,
        host: &str,
        action: PowerAction,
    ) -> Result<&'static str> {
        let rule = match action {
            PowerAction::Startup => "os_compute_api:os-hosts:start",
            PowerAction::Shutdown => "os_compute_api:os-hosts:shutdown",
            PowerAction::Reboot => "os_compute_api:os-hosts:reboot",
        };
        ctx.require_admin(rule)?;
        self.require_compute_host(host)?;
        Ok(action.as_str())
    }

    /// Enables or disables a compute host's taking of instances (admin),
    /// as the fake driver answers: `enabled` or `disabled`.
    pub fn set_host_enabled(
        &self,
        ctx: &RequestContext,
        host: &str,
        enabled: bool,
    ) -> Result<&'static str> {
        ctx.require_admin("os_compute_api:os-hosts:update")?;
        self.require_compute_host(host)?;
        Ok(if enabled { "enabled" } else { "disabled" })
    }

    /// Starts or ends a compute host's maintenance (admin), as the fake
    /// driver answers: `on_maintenance` or `off_maintenance`.
    pub fn set_host_maintenance(
        &self,
        ctx: &RequestContext,
        host: &str,
        on: bool,
    ) -> Result<&'static str> {
        ctx.require_admin("os_compute_api:os-hosts:update")?;
        self.require_compute_host(host)?;
        Ok(if on {
            "on_maintenance"
        } else {
            "off_maintenance"
        })
    }
}
