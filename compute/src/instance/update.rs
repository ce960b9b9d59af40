//! `PUT /servers/{id}`: name, description, hostname and access IPs.

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
                Ok(())
            })
            .await?
            .to_instance();
        self.with_network(instance).await
    }
}
