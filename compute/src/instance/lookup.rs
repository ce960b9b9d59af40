//! Reading one instance: by uuid, integer id, EC2 id or fixed IP.

use std::net::Ipv4Addr;

use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::store::args;
use crate::{Compute, Error, Kind, RequestContext, Result};

impl Compute {
    /// The live instance `uuid` of the caller's project (any project for
    /// admins), advanced to its current state. Deleted ones are not found.
    pub async fn get_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        Ok(self.load(ctx, uuid, false).await?.to_instance())
    }

    /// Like [`Compute::get_instance`], but deleted instances are found too
    /// (EC2 shows terminated instances; admins read deleted ones).
    pub async fn get_instance_including_deleted(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Instance> {
        Ok(self.load(ctx, uuid, true).await?.to_instance())
    }

    /// The instance with integer id `id` (behind an EC2 id), deleted ones
    /// included, scoped like [`Compute::get_instance`].
    pub async fn get_instance_by_id(&self, ctx: &RequestContext, id: i64) -> Result<Instance> {
        let row: Option<InstanceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"),
                args![id],
            )
            .await?;
        let row = row
            .filter(|r| ctx.can_access_project(&r.project_id))
            .ok_or_else(|| Error::not_found(Kind::Instance, crate::ec2::ec2_instance_id(id)))?;
        Ok(self.advance(row).await?.to_instance())
    }

    /// The instance with EC2 id `i-xxxxxxxx`.
    pub async fn get_instance_by_ec2_id(
        &self,
        ctx: &RequestContext,
        ec2_id: &str,
    ) -> Result<Instance> {
        let id = crate::ec2::parse_ec2_id(ec2_id, &["i"])?;
        self.get_instance_by_id(ctx, id).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found(Kind::Instance, ec2_id),
            e => e,
        })
    }

    /// The live instance holding fixed IP `ip` (the metadata service's
    /// lookup), scoped like [`Compute::get_instance`].
    pub async fn get_instance_by_fixed_ip(
        &self,
        ctx: &RequestContext,
        ip: Ipv4Addr,
    ) -> Result<Instance> {
        let row: Option<InstanceRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE fixed_ip_num = $1 AND deleted = FALSE"),
                args![u32::from(ip) as i64],
            )
            .await?;
        let row = row
            .filter(|r| ctx.can_access_project(&r.project_id))
            .ok_or_else(|| Error::not_found(Kind::Instance, ip.to_string()))?;
        Ok(self.advance(row).await?.to_instance())
    }

    /// The uuid of the live instance holding fixed IP `ip`, if any: one
    /// indexed lookup, for the metadata service to check that what it
    /// cached under an address still belongs to the instance there.
    pub async fn fixed_ip_owner(&self, ip: Ipv4Addr) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT uuid FROM instances WHERE fixed_ip_num = $1 AND deleted = FALSE",
                args![u32::from(ip) as i64],
            )
            .await?;
        Ok(row.map(|(uuid,)| uuid))
    }
}
