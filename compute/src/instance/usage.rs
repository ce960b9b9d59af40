//! What a project's instances hold against its quota, and how many more
//! instances of a flavor fit.

use crate::flavor::Flavor;
use crate::{Error, QuotaLimits, Result};

/// The rows a quota counts at time `$2`: live ones, less those whose
/// delete is due (states advance when read, so such a row is deleted as
/// soon as anyone looks; it must not hold quota until then), and less the
/// soft-deleted ones, as nova's count from its database leaves them out
/// (one being restored counts again: the restore took its place).
macro_rules! counted_now {
    () => {
        "deleted = FALSE AND NOT (COALESCE(task_state, '') = 'deleting' \
         AND step_due_at IS NOT NULL AND step_due_at <= $2) \
         AND NOT (vm_state = 'soft-delete' AND COALESCE(task_state, '') <> 'restoring')"
    };
}
pub(crate) use counted_now;

/// What a project's live instances hold: how many, their vCPUs and RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InstanceUse {
    count: i64,
    cores: i64,
    ram: i64,
}

impl InstanceUse {
    /// Bind `$1` the project and `$2` now (see `counted_now!`).
    pub(super) const SQL: &'static str = concat!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(vcpus), 0) AS BIGINT), \
         CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT) FROM instances WHERE project_id = $1 AND ",
        counted_now!()
    );

    pub(super) fn from_row((count, cores, ram): (i64, i64, i64)) -> Self {
        InstanceUse { count, cores, ram }
    }

    /// Whether `limits` bound anything this use counts; when none of
    /// instances, cores and RAM is limited, the use need not be read.
    pub(super) fn counts_under(limits: &QuotaLimits) -> bool {
        limits.instances >= 0 || limits.cores >= 0 || limits.ram >= 0
    }

    /// Nothing used (what an unlimited project's check needs).
    pub(super) const NONE: InstanceUse = InstanceUse {
        count: 0,
        cores: 0,
        ram: 0,
    };
}

/// nova's instance quota check: how many instances of `flavor` (at most
/// `max`) fit in `limits` beside `used`, or nova's quota error when fewer
/// than `min` do. Computed in `i128`, so no count or flavor overflows it.
pub(super) fn instances_allowed(
    limits: &QuotaLimits,
    used: InstanceUse,
    flavor: &Flavor,
    min: u64,
    max: u64,
) -> Result<u64> {
    let fits = |limit: i64, used: i64, per: i64| -> i128 {
        if limit < 0 || per <= 0 {
            i128::MAX
        } else {
            (i128::from(limit) - i128::from(used)).max(0) / i128::from(per)
        }
    };
    let resources = [
        ("instances", limits.instances, used.count, 1),
        ("cores", limits.cores, used.cores, flavor.vcpus),
        ("ram", limits.ram, used.ram, flavor.ram),
    ];
    let allowed = resources
        .iter()
        .map(|&(_, limit, used, per)| fits(limit, used, per))
        .min()
        .unwrap_or(i128::MAX);
    let min = i128::from(min);
    if allowed < min {
        let over: Vec<_> = resources
            .iter()
            .filter(|&&(_, limit, used, per)| fits(limit, used, per) < min)
            .collect();
        let names: Vec<&str> = over.iter().map(|r| r.0).collect();
        let (requested, used, limit) = over
            .first()
            .map(|&&(_, limit, used, per)| (min * i128::from(per), used, limit))
            .unwrap_or((min, used.count, limits.instances));
        let requested = i64::try_from(requested).unwrap_or(i64::MAX);
        return Err(Error::quota(&names.join(", "), requested, used, limit));
    }
    Ok(u64::try_from(allowed.min(i128::from(max))).unwrap_or(max))
}
