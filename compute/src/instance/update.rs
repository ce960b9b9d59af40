//! `PUT /servers/{id}`: name, description, hostname, access IPs, disk
//! config and the pinned availability zone.

use std::net::Ipv4Addr;

use super::model::Instance;
use crate::{validate, Compute, Error, RequestContext, Result};

/// Changes of `PUT /servers/{id}`; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateInstance {
    /// New display name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New accessIPv4 (`Some(None)` clears it).
    pub access_ip_v4: Option<Option<String>>,
    /// New accessIPv6 (`Some(None)` clears it).
    pub access_ip_v6: Option<Option<String>>,
    /// New hostname.
    pub hostname: Option<String>,
    /// OS-DCF:diskConfig: AUTO (true) or MANUAL.
    pub auto_disk_config: Option<bool>,
    /// Unpin (`Some(None)`) or re-pin to the server's current zone
    /// (microversion 2.104).
    pub pinned_availability_zone: Option<Option<String>>,
}

pub(super) fn check_ip(field: &str, v: &Option<String>, v6: bool) -> Result<()> {
    if let Some(s) = v {
        let ok = if v6 {
            s.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            s.parse::<Ipv4Addr>().is_ok()
        };
        if !ok {
            return Err(Error::invalid(format!(
                "Invalid input for field/attribute {field}. Value: {s}. '{s}' is not a '{}'",
                if v6 { "ipv6" } else { "ipv4" }
            )));
        }
    }
    Ok(())
}

/// The pinned zone after asking for `requested` (nova 2.104): `None`
/// unpins; a zone pins only to where the server is, and a pinned server
/// must be unpinned before it is pinned elsewhere.
fn repin(row: &super::InstanceRow, requested: Option<&str>) -> Result<Option<String>> {
    let Some(requested) = requested else {
        return Ok(None);
    };
    match row.pinned_availability_zone.as_deref() {
        Some(current) if current == requested => Ok(Some(requested.to_owned())),
        Some(_) => Err(Error::Conflict(
            "Cannot change pinned availability zone directly. Unpin first by setting \
             pinned_availability_zone to null."
                .into(),
        )),
        None if requested == row.availability_zone => Ok(Some(requested.to_owned())),
        None => Err(Error::Conflict(format!(
            "Server can only be pinned to its current availability zone '{}', but '{requested}' \
             was requested.",
            row.availability_zone
        ))),
    }
}

impl Compute {
    /// Renames or re-describes an instance (`PUT /servers/{id}`).
    pub async fn update_instance(
        &self,
        ctx: &RequestContext,
        uuid: &str,
        upd: UpdateInstance,
    ) -> Result<Instance> {
        if let Some(n) = &upd.name {
            validate::name("name", n)?;
        }
        if let Some(Some(d)) = &upd.description {
            validate::description(d)?;
        }
        if let Some(h) = &upd.hostname {
            validate::name("hostname", h)?;
        }
        if let Some(v) = &upd.access_ip_v4 {
            check_ip("accessIPv4", v, false)?;
        }
        if let Some(v) = &upd.access_ip_v6 {
            check_ip("accessIPv6", v, true)?;
        }
        let instance = self
            .mutate(ctx, uuid, |row| {
                if let Some(n) = &upd.name {
                    row.display_name = n.clone();
                }
                if let Some(d) = &upd.description {
                    row.display_description = d.clone();
                }
                if let Some(h) = &upd.hostname {
                    row.hostname = h.clone();
                }
                if let Some(v) = &upd.access_ip_v4 {
                    row.access_ip_v4 = v.clone();
                }
                if let Some(v) = &upd.access_ip_v6 {
                    row.access_ip_v6 = v.clone();
                }
                if let Some(auto) = upd.auto_disk_config {
                    row.auto_disk_config = auto;
                }
                if let Some(pin) = &upd.pinned_availability_zone {
                    row.pinned_availability_zone = repin(row, pin.as_deref())?;
                }
                Ok(())
            })
            .await?
            .to_instance();
        self.with_network(instance).await
    }
}
