//! EC2 ids (`i-%08x`, `ami-%08x`, `key-%08x` from the integer ids, stable across
//! restarts because integer ids are never reused) and EC2 credentials
//! (access/secret pairs mapping to a user and project).

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::store::{args, from_micros, now_micros};
use crate::{Compute, Error, Kind, RequestContext, Result};

/// The EC2 id of an instance: `i-%08x`.
pub fn ec2_instance_id(id: i64) -> String {
    format!("i-{id:08x}")
}

/// The EC2 id of a key pair: `key-%08x` (EC2 gives key pairs ids and
/// tags; nova's key pairs have only names, their integer id is ours).
pub fn ec2_key_pair_id(id: i64) -> String {
    format!("key-{id:08x}")
}

/// The EC2 id of an image: `aki-` (kernel), `ari-` (ramdisk) or `ami-`,
/// then `%08x`, chosen by disk format as nova does.
pub fn ec2_image_id(id: i64, disk_format: Option<&str>) -> String {
    let prefix = match disk_format {
        Some("aki") => "aki",
        Some("ari") => "ari",
        _ => "ami",
    };
    format!("{prefix}-{id:08x}")
}

/// Parses an EC2 id whose prefix is one of `prefixes` back to its integer
/// id; anything else is [`Error::Invalid`] (nova's `InvalidEc2Id`).
pub fn parse_ec2_id(ec2_id: &str, prefixes: &[&str]) -> Result<i64> {
    let bad = || Error::invalid(format!("Ec2 id {ec2_id} is not valid."));
    let (prefix, hex) = ec2_id.rsplit_once('-').ok_or_else(bad)?;
    // 8 hex digits in nova's form, 17 in AWS's long form.
    if !prefixes.contains(&prefix) || hex.is_empty() || hex.len() > 17 {
        return Err(bad());
    }
    let id = u128::from_str_radix(hex, 16).map_err(|_| bad())?;
    if id == 0 {
        return Err(bad());
    }
    // A well-formed id beyond our range names no row: NotFound downstream.
    Ok(i64::try_from(id).unwrap_or(i64::MAX))
}

/// An EC2 credential (keystone's `ec2-credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Credential {
    /// The access key (what clients send as `AWSAccessKeyId`).
    pub access: String,
    /// The secret key (signs requests).
    pub secret: String,
    /// The user it authenticates.
    pub user_id: String,
    /// The project it scopes to.
    pub project_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CredRow {
    access: String,
    secret: String,
    user_id: String,
    project_id: String,
    created_at: i64,
}

impl From<CredRow> for Ec2Credential {
    fn from(r: CredRow) -> Self {
        Ec2Credential {
            access: r.access,
            secret: r.secret,
            user_id: r.user_id,
            project_id: r.project_id,
            created_at: from_micros(r.created_at),
        }
    }
}

fn random_hex() -> String {
    let b: [u8; 16] = rand::thread_rng().gen();
    hex::encode(b)
}

impl Compute {
    /// Creates a credential for the caller (or, for admins, for `user_id`
    /// in `project_id`). Access and secret are 32 random hex digits; its
    /// id in `/v3/credentials` is the SHA-256 of the access key.
    pub async fn create_ec2_credential(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
        project_id: Option<&str>,
    ) -> Result<Ec2Credential> {
        let user = user_id.unwrap_or(&ctx.user_id);
        let project = project_id.unwrap_or(&ctx.project_id);
        if (user != ctx.user_id || project != ctx.project_id) && !ctx.is_admin {
            return Err(Error::Forbidden(
                "You are not authorized to create credentials for another user or project.".into(),
            ));
        }
        let cred = Ec2Credential {
            access: random_hex(),
            secret: random_hex(),
            user_id: user.to_string(),
            project_id: project.to_string(),
            created_at: from_micros(now_micros()),
        };
        self.store
            .execute(
                "INSERT INTO ec2_credentials (access, secret, user_id, project_id, created_at, credential_id) VALUES ($1, $2, $3, $4, $5, $6)",
                args![&cred.access, &cred.secret, &cred.user_id, &cred.project_id, cred.created_at.timestamp_micros(), crate::identity::credentials::ec2_credential_id(&cred.access)],
            )
            .await?;
        Ok(cred)
    }

    /// The credentials of the caller (or of `user_id`, for admins).
    pub async fn list_ec2_credentials(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
    ) -> Result<Vec<Ec2Credential>> {
        let user = user_id.unwrap_or(&ctx.user_id);
        if user != ctx.user_id {
            ctx.require_admin("identity:ec2_list_credentials")?;
        }
        let rows: Vec<CredRow> = self
            .store
            .fetch_all(
                "SELECT access, secret, user_id, project_id, created_at FROM ec2_credentials WHERE user_id = $1 ORDER BY created_at, access",
                args![user],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Deletes a credential of the caller (any, for admins).
    pub async fn delete_ec2_credential(&self, ctx: &RequestContext, access: &str) -> Result<()> {
        let cred = self.lookup_ec2_credential(access).await?;
        if cred.user_id != ctx.user_id && !ctx.is_admin {
            return Err(Error::not_found(Kind::Ec2Credential, access));
        }
        self.store
            .execute(
                "DELETE FROM ec2_credentials WHERE access = $1",
                args![access],
            )
            .await?;
        Ok(())
    }

    /// The credential with this access key, for authenticating a request
    /// (there is no caller yet, so no context).
    pub async fn lookup_ec2_credential(&self, access: &str) -> Result<Ec2Credential> {
        let row: Option<CredRow> = self
            .store
            .fetch_optional("SELECT access, secret, user_id, project_id, created_at FROM ec2_credentials WHERE access = $1", args![access])
            .await?;
        row.map(Into::into)
            .ok_or_else(|| Error::not_found(Kind::Ec2Credential, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_ids_round_trip() {
        assert_eq!(ec2_instance_id(10), "i-0000000a");
        assert_eq!(ec2_image_id(1, Some("qcow2")), "ami-00000001");
        assert_eq!(ec2_image_id(2, Some("aki")), "aki-00000002");
        assert_eq!(parse_ec2_id("i-0000000a", &["i"]).unwrap(), 10);
        assert!(parse_ec2_id("ami-0000000a", &["i"]).is_err());
        assert!(parse_ec2_id("i-xyz", &["i"]).is_err());
        assert!(parse_ec2_id("i-00000000", &["i"]).is_err());
    }
}
