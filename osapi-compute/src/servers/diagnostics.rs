//! `GET /servers/{id}/diagnostics` (admin): what the simulated hypervisor
//! reports of a guest, in libvirt's flat form before 2.48 and in nova's
//! standard form from 2.48.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::resources::schemas;
use crate::state::ApiState;
use compute::diagnostics::Diagnostics;

/// `GET /servers/{id}/diagnostics`.
pub async fn show(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    schemas::query_2102(version, &[]).validate_query(&urls.query)?;
    let diagnostics = state.compute.instance_diagnostics(&ctx.0, &id).await?;
    Ok(Json(if version.at_least(2, 48) {
        standard(&diagnostics)
    } else {
        libvirt(&diagnostics)
    }))
}

/// nova's standard diagnostics (2.48).
fn standard(d: &Diagnostics) -> Value {
    json!({
        "state": d.state,
        "driver": d.driver,
        "hypervisor": d.hypervisor,
        "hypervisor_os": d.hypervisor_os,
        "uptime": d.uptime,
        "config_drive": d.config_drive,
        "num_cpus": d.cpus.len(),
        "num_disks": d.disks.len(),
        "num_nics": d.nics.len(),
        "memory_details": {"maximum": d.memory_max_mb, "used": d.memory_used_mb},
        "cpu_details": d.cpus.iter().map(|c| json!({
            "id": c.id, "time": c.time, "utilisation": Value::Null,
        })).collect::<Vec<_>>(),
        "disk_details": d.disks.iter().map(|disk| json!({
            "read_bytes": disk.read_bytes,
            "read_requests": disk.read_requests,
            "write_bytes": disk.write_bytes,
            "write_requests": disk.write_requests,
            "errors_count": disk.errors_count,
        })).collect::<Vec<_>>(),
        "nic_details": d.nics.iter().map(|nic| json!({
            "mac_address": nic.mac_address,
            "rx_octets": nic.rx_octets,
            "rx_errors": 0,
            "rx_drop": 0,
            "rx_packets": nic.rx_packets,
            "rx_rate": Value::Null,
            "tx_octets": nic.tx_octets,
            "tx_errors": 0,
            "tx_drop": 0,
            "tx_packets": nic.tx_packets,
            "tx_rate": Value::Null,
        })).collect::<Vec<_>>(),
    })
}

/// The libvirt driver's flat form (before 2.48): `cpu<N>_time`, `memory`
/// in KiB, per-disk and per-tap counters.
fn libvirt(d: &Diagnostics) -> Value {
    let mut out = Map::new();
    for cpu in &d.cpus {
        out.insert(format!("cpu{}_time", cpu.id), json!(cpu.time));
    }
    out.insert("memory".into(), json!(d.memory_max_mb * 1024));
    for disk in &d.disks {
        let dev = &disk.device;
        out.insert(format!("{dev}_read_req"), json!(disk.read_requests));
        out.insert(format!("{dev}_read"), json!(disk.read_bytes));
        out.insert(format!("{dev}_write_req"), json!(disk.write_requests));
        out.insert(format!("{dev}_write"), json!(disk.write_bytes));
        out.insert(format!("{dev}_errors"), json!(disk.errors_count));
    }
    for nic in &d.nics {
        let dev = &nic.device;
        out.insert(format!("{dev}_rx"), json!(nic.rx_octets));
        out.insert(format!("{dev}_rx_packets"), json!(nic.rx_packets));
        out.insert(format!("{dev}_rx_errors"), json!(0));
        out.insert(format!("{dev}_rx_drop"), json!(0));
        out.insert(format!("{dev}_tx"), json!(nic.tx_octets));
        out.insert(format!("{dev}_tx_packets"), json!(nic.tx_packets));
        out.insert(format!("{dev}_tx_errors"), json!(0));
        out.insert(format!("{dev}_tx_drop"), json!(0));
    }
    Value::Object(out)
}
