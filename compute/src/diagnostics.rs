//! Server diagnostics (nova's os-server-diagnostics) from the simulated
//! hypervisor, shaped as nova's libvirt driver reports a QEMU guest: the
//! power state, the flavor's CPUs and memory, one disk per local disk of
//! the flavor (root, ephemeral, swap), one NIC per port, and the time
//! since launch. The simulated guest is idle: its I/O counters are 0 and
//! its CPU time is 1% of its uptime on each vCPU.

use chrono::Utc;

use crate::states::PowerState;
use crate::{Compute, Error, Instance, RequestContext, Result};

/// One vCPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuDiagnostics {
    /// Its index.
    pub id: i64,
    /// CPU time used, in nanoseconds.
    pub time: i64,
}

/// One disk: its device name and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskDiagnostics {
    /// `vda`, `vdb`, ...
    pub device: String,
    /// Bytes read.
    pub read_bytes: i64,
    /// Read requests.
    pub read_requests: i64,
    /// Bytes written.
    pub write_bytes: i64,
    /// Write requests.
    pub write_requests: i64,
    /// I/O errors.
    pub errors_count: i64,
}

/// One NIC: its tap device, MAC and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicDiagnostics {
    /// The tap device (`tap` and the port id's first 11 characters).
    pub device: String,
    /// The port's MAC.
    pub mac_address: String,
    /// Bytes received.
    pub rx_octets: i64,
    /// Packets received.
    pub rx_packets: i64,
    /// Bytes sent.
    pub tx_octets: i64,
    /// Packets sent.
    pub tx_packets: i64,
}

/// What the hypervisor reports of a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// `running`, `paused`, `shutdown`, `crashed`, `suspended`, `pending`.
    pub state: &'static str,
    /// `libvirt`.
    pub driver: &'static str,
    /// `qemu` (libvirt's `virt_type`).
    pub hypervisor: &'static str,
    /// `linux`.
    pub hypervisor_os: &'static str,
    /// Seconds since launch (`None` before the first launch).
    pub uptime: Option<i64>,
    /// Whether it has a config drive.
    pub config_drive: bool,
    /// Memory the guest may use, in MiB.
    pub memory_max_mb: i64,
    /// Memory it uses, in MiB.
    pub memory_used_mb: i64,
    /// Its vCPUs.
    pub cpus: Vec<CpuDiagnostics>,
    /// Its disks.
    pub disks: Vec<DiskDiagnostics>,
    /// Its NICs.
    pub nics: Vec<NicDiagnostics>,
}

/// Share of wall time each simulated vCPU spends working, in percent.
const CPU_BUSY_PERCENT: i64 = 1;

fn state_name(power: PowerState) -> &'static str {
    match power {
        PowerState::NoState => "pending",
        PowerState::Running => "running",
        PowerState::Paused => "paused",
        PowerState::Shutdown => "shutdown",
        PowerState::Crashed => "crashed",
        PowerState::Suspended => "suspended",
    }
}

impl Diagnostics {
    /// What the simulated hypervisor reports of `instance` now.
    pub fn of(instance: &Instance) -> Diagnostics {
        let uptime = instance
            .launched_at
            .map(|t| (Utc::now() - t).num_seconds().max(0));
        let cpu_time = uptime.unwrap_or(0) * 1_000_000_000 * CPU_BUSY_PERCENT / 100;
        let flavor = &instance.flavor;
        let local_disks = 1 + i64::from(flavor.ephemeral > 0) + i64::from(flavor.swap > 0);
        let disks = (0..local_disks)
            .map(|i| DiskDiagnostics {
                device: format!("vd{}", char::from(b'a' + i as u8)),
                read_bytes: 0,
                read_requests: 0,
                write_bytes: 0,
                write_requests: 0,
                errors_count: 0,
            })
            .collect();
        let nics = instance
            .vifs
            .iter()
            .map(|vif| NicDiagnostics {
                device: format!("tap{}", vif.port_id.chars().take(11).collect::<String>()),
                mac_address: vif.mac_address.clone(),
                rx_octets: 0,
                rx_packets: 0,
                tx_octets: 0,
                tx_packets: 0,
            })
            .collect();
        let running = instance.power_state == PowerState::Running;
        Diagnostics {
            state: state_name(instance.power_state),
            driver: "libvirt",
            hypervisor: "qemu",
            hypervisor_os: "linux",
            uptime,
            config_drive: instance.config_drive,
            memory_max_mb: flavor.ram,
            memory_used_mb: if running { flavor.ram } else { 0 },
            cpus: (0..flavor.vcpus)
                .map(|id| CpuDiagnostics { id, time: cpu_time })
                .collect(),
            disks,
            nics,
        }
    }
}

impl Compute {
    /// The diagnostics of a server (admin). An instance no host runs yet
    /// (or any more) is [`Error::Conflict`], as nova's "not ready".
    pub async fn instance_diagnostics(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Diagnostics> {
        let instance = self.get_instance(ctx, uuid).await?;
        ctx.require_admin("os_compute_api:os-server-diagnostics")?;
        if instance.host.is_none() {
            return Err(Error::Conflict(format!("Instance {uuid} is not ready")));
        }
        Ok(Diagnostics::of(&instance))
    }
}
