//! Reading one instance: by uuid, integer id, EC2 id or fixed IP. Each
//! comes with its interfaces ([`Instance::vifs`]).

use std::net::IpAddr;

use super::model::Instance;
use super::row::{InstanceRow, INSTANCE_COLUMNS};
use crate::store::args;
use crate::{Compute, Error, Kind, RequestContext, Result};

impl Compute {
    /// The live instance `uuid` of the caller's project (any project for
    /// admins), advanced to its current state. Deleted ones are not found.
    pub async fn get_instance(&self, ctx: &RequestContext, uuid: &str) -> Result<Instance> {
        let instance = self.load(ctx, uuid, false).await?.to_instance();
        self.with_network(instance).await
    }

    /// `instance` with its interfaces.
    pub(crate) async fn with_network(&self, instance: Instance) -> Result<Instance> {
        let mut one = [instance];
        self.attach_network_info(&mut one).await?;
        let [instance] = one;
        Ok(instance)
    }

    /// Like [`Compute::get_instance`], but deleted instances are found too
    /// (EC2 shows terminated instances; admins read deleted ones).
    pub async fn get_instance_including_deleted(
        &self,
        ctx: &RequestContext,
        uuid: &str,
    ) -> Result<Instance> {
        let instance = self.load(ctx, uuid, true).await?.to_instance();
        self.with_network(instance).await
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
        let instance = self.advance(row).await?.to_instance();
        self.with_network(instance).await
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

    /// The live instance holding fixed IP `ip` on one of its ports (the
    /// metadata service's lookup), scoped like [`Compute::get_instance`].
    pub async fn get_instance_by_fixed_ip(
        &self,
        ctx: &RequestContext,
        ip: IpAddr,
    ) -> Result<Instance> {
        let not_found = || Error::not_found(Kind::Instance, ip.to_string());
        let uuid = self.instance_at_address(ip).await?.ok_or_else(not_found)?;
        self.get_instance(ctx, &uuid).await.map_err(|e| match e {
            Error::NotFound { .. } => not_found(),
            e => e,
        })
    }

    /// The uuid of the live instance holding fixed IP `ip`, if any: one
    /// indexed lookup, for the metadata service to check that what it
    /// cached under an address still belongs to the instance there.
    pub async fn fixed_ip_owner(&self, ip: IpAddr) -> Result<Option<String>> {
        self.instance_at_address(ip).await
    }
}
