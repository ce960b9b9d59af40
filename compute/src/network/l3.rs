//! What routers and floating IPs share: the device owners of their ports,
//! and the lock their changes take.
//!
//! Every change of a router or a floating IP runs in one transaction that
//! first takes the write lock of the network it allocates on (if any),
//! then [`L3_LOCK`]; their quotas ([`super::quotas`]) are counted under
//! that lock, so two processes never both take a project's last router or
//! floating IP.

use super::{NetworkError, NetworkResult};
use crate::store::{args, Arg, Tx};
use crate::RequestContext;

/// The device owner of a router's interface ports.
pub const DEVICE_OWNER_ROUTER_INTERFACE: &str = "network:router_interface";
/// The device owner of a router's gateway port.
pub const DEVICE_OWNER_ROUTER_GATEWAY: &str = "network:router_gateway";
/// The device owner of the port that holds a floating address.
pub const DEVICE_OWNER_FLOATINGIP: &str = "network:floatingip";

/// The write lock of every router and floating IP change, taken after the
/// network's.
pub(crate) const L3_LOCK: &str = "l3";

/// Whether a port of `device_owner` and `device_id` is the interface or
/// gateway of a router, or holds a floating IP, that exists.
pub(crate) async fn serves_l3_device(
    tx: &mut Tx,
    device_owner: &str,
    device_id: &str,
) -> NetworkResult<bool> {
    let table = match device_owner {
        DEVICE_OWNER_ROUTER_INTERFACE | DEVICE_OWNER_ROUTER_GATEWAY => "routers",
        DEVICE_OWNER_FLOATINGIP => "floating_ips",
        _ => return Ok(false),
    };
    let (n,): (i64,) = tx
        .fetch_one(
            &format!("SELECT COUNT(*) FROM {table} WHERE id = $1"),
            args![device_id],
        )
        .await?;
    Ok(n > 0)
}

/// Neutron's `BadRequest` of `resource`.
pub(crate) fn bad_request(resource: &'static str, message: String) -> NetworkError {
    NetworkError::BadResourceRequest { resource, message }
}

/// The query of `columns` of `table`'s rows the caller owns (all of them
/// for an admin), or of row `id` only: routers and floating IPs are
/// their project's alone.
pub(crate) fn owned_rows(
    columns: &str,
    table: &str,
    ctx: &RequestContext,
    id: Option<&str>,
) -> (String, Vec<Arg>) {
    let mut sql = format!("SELECT {columns} FROM {table} WHERE 1 = 1");
    let mut a: Vec<Arg> = args![];
    if !ctx.is_admin {
        a.push(ctx.project_id.clone().into());
        sql.push_str(&format!(" AND project_id = ${}", a.len()));
    }
    if let Some(id) = id {
        a.push(id.into());
        sql.push_str(&format!(" AND id = ${}", a.len()));
    }
    (sql, a)
}
