//! What an EC2 credential lets its holder do, for the EC2 API's signature
//! mode: a credential of a user the identity holds works only while that
//! user, its domain and the credential's project exist and are enabled
//! and the user holds a role there, and its holder is an admin when one
//! of those roles is `admin`; a credential of a name the identity does
//! not hold (made under noauth2) keeps noauth2's rule: the user `admin` is
//! the admin.

use super::error::{IdentityError, IdentityResult};
use super::Target;
use crate::{Compute, Ec2Credential};

impl Compute {
    /// `None` when `credential` must be refused now; else whether its
    /// holder is an admin (see the module doc).
    pub async fn ec2_credential_admin(
        &self,
        credential: &Ec2Credential,
    ) -> IdentityResult<Option<bool>> {
        let user = match self.get_user(&credential.user_id).await {
            Ok(user) => user,
            Err(IdentityError::NotFound { .. }) => return Ok(Some(credential.user_id == "admin")),
            Err(err) => return Err(err),
        };
        if !user.enabled || !self.get_domain(&user.domain_id).await?.enabled {
            return Ok(None);
        }
        match self.get_project(&credential.project_id).await {
            Ok(project) if project.enabled => {}
            Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        }
        let roles = self
            .effective_roles(&user.id, &Target::Project(credential.project_id.clone()))
            .await?;
        if roles.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            roles.iter().any(|r| r.name.eq_ignore_ascii_case("admin")),
        ))
    }
}
