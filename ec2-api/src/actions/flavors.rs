//! EC2 instance types are nova flavor names.

use compute::FlavorFilter;

use super::common::{compute_ctx, map_err};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::state::Ec2State;

/// The flavor id of the instance type `name`; unknown is `InvalidParameterValue`.
pub async fn flavor_id_by_name(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    name: &str,
) -> Result<String, Ec2Error> {
    let flavors = state
        .compute
        .list_flavors(&compute_ctx(req), &FlavorFilter::default())
        .await
        .map_err(|e| map_err(e, None))?;
    flavors
        .into_iter()
        .find(|f| f.name == name && !f.disabled)
        .map(|f| f.id)
        .ok_or_else(|| {
            Ec2Error::InvalidParameterValue(format!("Invalid value '{name}' for InstanceType."))
        })
}
