//! Instances from before schema 10 held their fixed IP in their own row.
//! `db sync` gives each live one a port on the network whose subnet holds
//! that address (the seeded `private`), and keeps the addresses of
//! recently deleted ones out of circulation as released allocations, so
//! an upgrade loses no address and reuses none too early.

use std::net::IpAddr;

use crate::store::{args, now_micros};
use crate::{Compute, Result};

/// A row that still holds its address: uuid, project, address, host,
/// MAC address, deleted, deleted at.
type LegacyRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    bool,
    Option<i64>,
);

/// The schema version from which instances hold addresses through ports.
pub const PORTS_SCHEMA_VERSION: i64 = 10;

impl Compute {
    /// Moves the addresses instance rows still hold to ports (see the
    /// module doc); the number of live instances given a port. Idempotent:
    /// a row is cleared once its address moved.
    pub async fn adopt_legacy_addresses(&self) -> Result<usize> {
        let rows: Vec<LegacyRow> = self
            .store
            .fetch_all(
                "SELECT uuid, project_id, fixed_ip, host, mac_address, deleted, deleted_at \
                 FROM instances WHERE fixed_ip IS NOT NULL",
                args![],
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let subnets: Vec<(String, String, String)> = self
            .store
            .fetch_all(
                "SELECT id, network_id, cidr FROM subnets ORDER BY created_at, id",
                args![],
            )
            .await?;
        let owner = self.device_owner();
        let mut tx = self.store.begin_locked("nova-api-rs:migrate").await?;
        let mut adopted = 0;
        for (uuid, project, ip, host, mac, deleted, deleted_at) in rows {
            let subnet = ip.parse::<IpAddr>().ok().and_then(|address| {
                subnets.iter().find(|(_, _, cidr)| {
                    cidr.parse::<ipnet::IpNet>()
                        .is_ok_and(|net| net.contains(&address))
                })
            });
            if let Some((subnet_id, network_id, _)) = subnet {
                let port = uuid::Uuid::new_v4().to_string();
                let now = now_micros();
                if !deleted {
                    tx.execute(
                        "INSERT INTO ports (id, network_id, project_id, mac_address, device_id, \
                         device_owner, status, created_at, updated_at, binding_host, preserve_on_delete) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'ACTIVE', $7, $7, $8, FALSE)",
                        args![&port, network_id, &project, &mac, &uuid, &owner, now, host.unwrap_or_default()],
                    )
                    .await?;
                    adopted += 1;
                }
                let released = deleted.then(|| deleted_at.unwrap_or(now));
                tx.execute(
                    "INSERT INTO ip_allocations (subnet_id, ip_address, port_id, network_id, position, \
                     allocated_at, released_at) VALUES ($1, $2, $3, $4, 0, $5, $6)",
                    args![subnet_id, &ip, &port, network_id, now, released],
                )
                .await?;
            } else if !deleted {
                tracing::warn!(
                    instance = %uuid,
                    address = %ip,
                    "no subnet holds this instance's address: it keeps no port"
                );
            }
            tx.execute(
                "UPDATE instances SET fixed_ip = NULL, fixed_ip_num = NULL WHERE uuid = $1",
                args![&uuid],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(adopted)
    }
}
