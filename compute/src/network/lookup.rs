//! Lookups by what a nova request names instead of an id: a security group
//! by name or id (nova's `addSecurityGroup`/`removeSecurityGroup`, through
//! neutronclient's `find_resourceid_by_name_or_id`) and a floating IP by
//! its address (nova's `addFloatingIp`/`removeFloatingIp`). Each answers
//! [`Found`], so that the caller gives nova's own message for no match
//! and for several.

use super::listing::ListQuery;
use super::{FloatingIp, NetworkResult, SecurityGroup};
use crate::{Compute, RequestContext};

/// What a lookup by name found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<T> {
    /// Exactly one.
    One(T),
    /// None the caller sees.
    Nothing,
    /// Several: the name is ambiguous (nova's `NoUniqueMatch`).
    Several,
}

impl<T> Found<T> {
    fn of(mut items: Vec<T>) -> Self {
        match items.len() {
            0 => Found::Nothing,
            1 => Found::One(items.remove(0)),
            _ => Found::Several,
        }
    }
}

/// A list query of the `(attribute, value)` pairs.
fn filtered(filters: &[(&str, &str)]) -> ListQuery {
    ListQuery {
        filters: filters
            .iter()
            .map(|(name, value)| (name.to_string(), vec![value.to_string()]))
            .collect(),
        ..ListQuery::default()
    }
}

impl Compute {
    /// The security group `name_or_id` names, as neutronclient finds it:
    /// the group with that id if the caller sees one (any project's, for
    /// an admin), else the groups of `project` with that name (the
    /// project's default group is made first when it is the caller's, as
    /// any list of its groups makes it).
    pub async fn find_security_group(
        &self,
        ctx: &RequestContext,
        project: &str,
        name_or_id: &str,
    ) -> NetworkResult<Found<SecurityGroup>> {
        let by_id = self
            .list_security_groups(ctx, &filtered(&[("id", name_or_id)]))
            .await?
            .items;
        if !by_id.is_empty() {
            return Ok(Found::of(by_id));
        }
        let by_name = self
            .list_security_groups(
                ctx,
                &filtered(&[("name", name_or_id), ("project_id", project)]),
            )
            .await?
            .items;
        Ok(Found::of(by_name))
    }

    /// The floating IP with `address` the caller sees (its own; any for an
    /// admin).
    pub async fn find_floating_ip_by_address(
        &self,
        ctx: &RequestContext,
        address: &str,
    ) -> NetworkResult<Found<FloatingIp>> {
        if address.is_empty() {
            return Ok(Found::Nothing);
        }
        let fips = self
            .list_floating_ips(ctx, &filtered(&[("floating_ip_address", address)]))
            .await?
            .items;
        Ok(Found::of(fips))
    }
}
