//! Address arithmetic and allocation of the network domain.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::subnets::AllocationPool;
use super::{NetworkError, NetworkResult};
use crate::store::{args, now_micros, Tx};

/// An address as a number (IPv4 in the low 32 bits).
pub(crate) fn to_num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address `n` of the family of `like`.
pub(crate) fn from_num(n: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// The usable host range of `net`: IPv4 without the network and broadcast
/// addresses, IPv6 without the subnet-router anycast address.
pub(crate) fn host_range(net: &IpNet) -> (u128, u128) {
    let first = to_num(net.network());
    let last = to_num(net.broadcast());
    match net {
        IpNet::V4(_) if net.prefix_len() >= 31 => (first, last),
        IpNet::V4(_) => (first + 1, last - 1),
        IpNet::V6(_) => (first + 1, last),
    }
}

/// Neutron's default pools: the host range without the gateway.
pub(crate) fn default_pools(net: &IpNet, gateway: Option<IpAddr>) -> Vec<AllocationPool> {
    let (first, last) = host_range(net);
    let like = net.network();
    let pool = |a: u128, b: u128| AllocationPool {
        start: from_num(a, like).to_string(),
        end: from_num(b, like).to_string(),
    };
    let mut pools = Vec::new();
    match gateway.map(to_num) {
        Some(g) if g >= first && g <= last => {
            if g > first {
                pools.push(pool(first, g - 1));
            }
            if g < last {
                pools.push(pool(g + 1, last));
            }
        }
        _ => pools.push(pool(first, last)),
    }
    pools
}

/// A parsed pool, as numbers.
pub(crate) fn pool_bounds(pool: &AllocationPool) -> Option<(IpAddr, IpAddr)> {
    Some((pool.start.parse().ok()?, pool.end.parse().ok()?))
}

/// Whether `ip` falls inside one of `pools`.
pub(crate) fn in_pools(ip: IpAddr, pools: &[AllocationPool]) -> bool {
    let n = to_num(ip);
    pools
        .iter()
        .filter_map(pool_bounds)
        .any(|(a, b)| a.is_ipv4() == ip.is_ipv4() && to_num(a) <= n && n <= to_num(b))
}

/// What allocation needs to know of a subnet.
#[derive(Debug, Clone)]
pub(crate) struct SubnetSpace {
    pub id: String,
    pub cidr: IpNet,
    pub gateway: Option<IpAddr>,
    pub pools: Vec<AllocationPool>,
}

/// Addresses of `subnet` no one may be given automatically now: held by
/// a port, or released within `reuse_delay_micros`.
async fn taken(tx: &mut Tx, subnet: &str, reuse_delay_micros: i64) -> NetworkResult<HashSet<u128>> {
    let freed_before = now_micros().saturating_sub(reuse_delay_micros);
    let rows: Vec<(String,)> = tx
        .fetch_all(
            "SELECT ip_address FROM ip_allocations WHERE subnet_id = $1 \
             AND (released_at IS NULL OR released_at > $2)",
            args![subnet, freed_before],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(a,)| a.parse::<IpAddr>().ok().map(to_num))
        .collect())
}

/// A free address of `subnet`'s pools, if any: the one after the address
/// allocated last when it is free (two index lookups, whatever the number
/// of ports, and a freed address rests until the pools wrap around), else
/// the lowest free one.
pub(crate) async fn next_free(
    tx: &mut Tx,
    subnet: &SubnetSpace,
    reuse_delay_micros: i64,
) -> NetworkResult<Option<IpAddr>> {
    if let Some(ip) = after_last(tx, subnet, reuse_delay_micros).await? {
        return Ok(Some(ip));
    }
    lowest_free(tx, subnet, reuse_delay_micros).await
}

/// The address after the one the allocator chose last in `subnet`, when
/// it is in a pool, not the gateway, and free.
async fn after_last(
    tx: &mut Tx,
    subnet: &SubnetSpace,
    reuse_delay_micros: i64,
) -> NetworkResult<Option<IpAddr>> {
    let last: Option<(String,)> = tx
        .fetch_optional(
            "SELECT ip_address FROM ip_allocations WHERE subnet_id = $1 AND automatic = TRUE \
             ORDER BY allocated_at DESC LIMIT 1",
            args![&subnet.id],
        )
        .await?;
    let Some(last) = last.and_then(|(a,)| a.parse::<IpAddr>().ok()) else {
        return Ok(None);
    };
    let Some(n) = to_num(last).checked_add(1) else {
        return Ok(None);
    };
    let candidate = from_num(n, subnet.cidr.network());
    if Some(candidate) == subnet.gateway || !in_pools(candidate, &subnet.pools) {
        return Ok(None);
    }
    let freed_before = now_micros().saturating_sub(reuse_delay_micros);
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = $1 AND ip_address = $2 \
             AND (released_at IS NULL OR released_at > $3)",
            args![&subnet.id, candidate.to_string(), freed_before],
        )
        .await?;
    Ok((n == 0).then_some(candidate))
}

/// The lowest free address of `subnet`'s pools, if any.
async fn lowest_free(
    tx: &mut Tx,
    subnet: &SubnetSpace,
    reuse_delay_micros: i64,
) -> NetworkResult<Option<IpAddr>> {
    let mut taken = taken(tx, &subnet.id, reuse_delay_micros).await?;
    if let Some(g) = subnet.gateway {
        taken.insert(to_num(g));
    }
    let mut pools: Vec<(u128, u128)> = subnet
        .pools
        .iter()
        .filter_map(pool_bounds)
        .map(|(a, b)| (to_num(a), to_num(b)))
        .collect();
    pools.sort();
    for (start, end) in pools {
        let mut n = start;
        // At most |taken| + 1 steps before a free address or the pool's end.
        while n <= end {
            if !taken.contains(&n) {
                return Ok(Some(from_num(n, subnet.cidr.network())));
            }
            if n == u128::MAX {
                break;
            }
            n += 1;
        }
    }
    Ok(None)
}

/// Whether a live port holds `ip` in `subnet`.
pub(crate) async fn held(tx: &mut Tx, subnet: &str, ip: &str) -> NetworkResult<bool> {
    let (n,): (i64,) = tx
        .fetch_one(
            "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = $1 AND ip_address = $2 \
             AND released_at IS NULL",
            args![subnet, ip],
        )
        .await?;
    Ok(n > 0)
}

/// Checks a pool list against `cidr` and `gateway` as Neutron does.
pub(crate) fn check_pools(
    cidr: &IpNet,
    gateway: Option<IpAddr>,
    pools: &[AllocationPool],
) -> NetworkResult<()> {
    let text = |p: &AllocationPool| format!("{}-{}", p.start, p.end);
    let mut bounds = Vec::new();
    for p in pools {
        let Some((a, b)) = pool_bounds(p) else {
            return Err(NetworkError::InvalidAllocationPool(text(p)));
        };
        if a.is_ipv4() != b.is_ipv4() || to_num(a) > to_num(b) {
            return Err(NetworkError::InvalidAllocationPool(text(p)));
        }
        if a.is_ipv4() != cidr.network().is_ipv4() || !cidr.contains(&a) || !cidr.contains(&b) {
            return Err(NetworkError::OutOfBoundsAllocationPool {
                pool: text(p),
                cidr: cidr.to_string(),
            });
        }
        bounds.push((to_num(a), to_num(b), p));
    }
    for (i, (a1, b1, p1)) in bounds.iter().enumerate() {
        for (a2, b2, p2) in bounds.iter().skip(i + 1) {
            if a1 <= b2 && a2 <= b1 {
                return Err(NetworkError::OverlappingAllocationPools {
                    pool_1: text(p1),
                    pool_2: text(p2),
                    cidr: cidr.to_string(),
                });
            }
        }
    }
    if let Some(g) = gateway {
        let n = to_num(g);
        if let Some((_, _, p)) = bounds.iter().find(|(a, b, _)| *a <= n && n <= *b) {
            return Err(NetworkError::GatewayConflictWithAllocationPools {
                ip: g.to_string(),
                pool: text(p),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pools_leave_out_the_gateway() {
        let net: IpNet = "10.0.0.0/24".parse().unwrap();
        let pools = default_pools(&net, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(
            pools,
            vec![AllocationPool {
                start: "10.0.0.2".into(),
                end: "10.0.0.254".into()
            }]
        );
        let mid = default_pools(&net, Some("10.0.0.100".parse().unwrap()));
        assert_eq!(mid.len(), 2);
        let v6: IpNet = "fd00::/64".parse().unwrap();
        let pools = default_pools(&v6, Some("fd00::1".parse().unwrap()));
        assert_eq!(pools[0].start, "fd00::2");
        assert_eq!(pools[0].end, "fd00::ffff:ffff:ffff:ffff");
    }

    #[test]
    fn pools_are_checked_as_neutron_does() {
        let net: IpNet = "10.0.0.0/24".parse().unwrap();
        let p = |a: &str, b: &str| AllocationPool {
            start: a.into(),
            end: b.into(),
        };
        assert!(matches!(
            check_pools(&net, None, &[p("10.0.0.9", "10.0.0.2")]),
            Err(NetworkError::InvalidAllocationPool(_))
        ));
        assert!(matches!(
            check_pools(&net, None, &[p("10.0.0.2", "10.0.1.2")]),
            Err(NetworkError::OutOfBoundsAllocationPool { .. })
        ));
        assert!(matches!(
            check_pools(
                &net,
                None,
                &[p("10.0.0.2", "10.0.0.9"), p("10.0.0.9", "10.0.0.20")]
            ),
            Err(NetworkError::OverlappingAllocationPools { .. })
        ));
        assert!(matches!(
            check_pools(&net, "10.0.0.5".parse().ok(), &[p("10.0.0.2", "10.0.0.9")]),
            Err(NetworkError::GatewayConflictWithAllocationPools { .. })
        ));
        assert!(check_pools(&net, "10.0.0.1".parse().ok(), &[p("10.0.0.2", "10.0.0.9")]).is_ok());
    }
}
