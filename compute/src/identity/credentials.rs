//! Keystone's `/v3/credentials`: a typed blob (a string) of a user,
//! optionally of a project. As in Keystone, an `ec2` credential is the
//! very credential OS-EC2 hands out: here a row of `ec2_credentials`
//! (which the EC2 API signs with), its id the SHA-256 hex of its access
//! key when it was made, its blob the JSON a client gave (or, when made
//! through OS-EC2, `{"access", "secret", "trust_id"}`); it needs a
//! project. Credentials of any other type have their own table. Blobs are
//! stored as given: an EC2 secret must be readable to check signatures,
//! and no other type is used by this service.

use sha2::{Digest, Sha256};

use super::error::{IdentityError, IdentityResult};
use super::new_id;
use crate::store::{args, now_micros};
use crate::Compute;

/// A credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Its id.
    pub id: String,
    /// Whose.
    pub user_id: String,
    /// Its project (always one for `ec2`).
    pub project_id: Option<String>,
    /// Its type (`ec2`, `totp`, `cert`, ...).
    pub kind: String,
    /// Its blob, a string (JSON for `ec2`).
    pub blob: String,
}

/// What `POST /v3/credentials` gives.
#[derive(Debug, Clone, Default)]
pub struct NewCredential {
    /// Whose.
    pub user_id: String,
    /// Its project.
    pub project_id: Option<String>,
    /// Its type.
    pub kind: String,
    /// Its blob.
    pub blob: String,
}

/// What `PATCH /v3/credentials/{id}` may change.
#[derive(Debug, Clone, Default)]
pub struct CredentialUpdate {
    /// A new user.
    pub user_id: Option<String>,
    /// A new project (`Some(None)` clears it).
    pub project_id: Option<Option<String>>,
    /// A new type.
    pub kind: Option<String>,
    /// A new blob.
    pub blob: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Ec2Row {
    access: String,
    secret: String,
    user_id: String,
    project_id: String,
    credential_id: Option<String>,
    blob: Option<String>,
}

impl From<Ec2Row> for Credential {
    fn from(r: Ec2Row) -> Self {
        let blob = r.blob.unwrap_or_else(|| {
            serde_json::json!({"access": r.access, "secret": r.secret, "trust_id": null})
                .to_string()
        });
        Credential {
            id: r
                .credential_id
                .unwrap_or_else(|| ec2_credential_id(&r.access)),
            user_id: r.user_id,
            project_id: Some(r.project_id),
            kind: "ec2".into(),
            blob,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    user_id: String,
    project_id: Option<String>,
    #[sqlx(rename = "type")]
    kind: String,
    blob: String,
}

impl From<CredentialRow> for Credential {
    fn from(r: CredentialRow) -> Self {
        Credential {
            id: r.id,
            user_id: r.user_id,
            project_id: r.project_id,
            kind: r.kind,
            blob: r.blob,
        }
    }
}

const EC2_COLUMNS: &str = "access, secret, user_id, project_id, credential_id, blob";
const COLUMNS: &str = "id, user_id, project_id, type, blob";

/// Keystone's id of an ec2 credential: the SHA-256 hex of its access key.
pub fn ec2_credential_id(access: &str) -> String {
    hex::encode(Sha256::digest(access.as_bytes()))
}

/// The access and secret of an ec2 blob: a JSON object with a string
/// `access` (400 otherwise, in Keystone's words); a missing secret is
/// empty (nothing then signs with it).
fn ec2_keys(blob: &str) -> IdentityResult<(String, String, serde_json::Value)> {
    let parsed: serde_json::Value = serde_json::from_str(blob)
        .map_err(|_| IdentityError::Invalid("Invalid blob in credential".into()))?;
    let access = parsed
        .get("access")
        .and_then(serde_json::Value::as_str)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            IdentityError::Invalid(
                "Invalid input for field 'blob': an ec2 credential's blob is a JSON object with an 'access' key.".into(),
            )
        })?
        .to_string();
    let secret = parsed
        .get("secret")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok((access, secret, parsed))
}

fn needs_project() -> IdentityError {
    IdentityError::Invalid(
        "Invalid input for field 'project_id': an ec2 credential needs a project.".into(),
    )
}

fn is_ec2(kind: &str) -> bool {
    kind.eq_ignore_ascii_case("ec2")
}

impl Compute {
    /// Creates a credential (404 for an unknown user or project). An ec2
    /// one's id is the SHA-256 of its access key (409 when that key is
    /// taken); a token of an application credential that makes one marks
    /// it with `app_cred_id`, as Keystone does.
    pub async fn create_credential(
        &self,
        new: NewCredential,
        app_cred_id: Option<&str>,
    ) -> IdentityResult<Credential> {
        self.get_user(&new.user_id).await?;
        if let Some(project) = &new.project_id {
            self.get_project(project).await?;
        }
        if new.kind.is_empty() {
            return Err(IdentityError::Invalid(
                "Invalid input for field 'type': it is required.".into(),
            ));
        }
        if !is_ec2(&new.kind) {
            let id = new_id();
            self.store
                .execute(
                    "INSERT INTO identity_credentials (id, user_id, project_id, type, blob, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    args![&id, &new.user_id, &new.project_id, &new.kind, &new.blob, now_micros()],
                )
                .await?;
            return self.get_credential(&id).await;
        }
        let project = new.project_id.ok_or_else(needs_project)?;
        let (access, secret, mut parsed) = ec2_keys(&new.blob)?;
        let mut blob = new.blob;
        if let Some(app_cred) = app_cred_id {
            parsed["app_cred_id"] = serde_json::json!(app_cred);
            blob = parsed.to_string();
        }
        let id = ec2_credential_id(&access);
        if self.get_credential(&id).await.is_ok() {
            return Err(IdentityError::Conflict {
                kind: "credential",
                message: format!("Duplicate entry found with id {id}"),
            });
        }
        self.store
            .execute(
                "INSERT INTO ec2_credentials (access, secret, user_id, project_id, created_at, credential_id, blob) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                args![&access, secret, &new.user_id, project, now_micros(), &id, blob],
            )
            .await
            .map_err(|e| super::error::unique_as_conflict(e, "credential", &id))?;
        self.get_credential(&id).await
    }

    /// The ec2 credential `id`, if there is one. Rows made before ids were
    /// stored have none: theirs is computed from the access key.
    async fn ec2_credential_row(&self, id: &str) -> IdentityResult<Option<Ec2Row>> {
        let row: Option<Ec2Row> = self
            .store
            .fetch_optional(
                &format!("SELECT {EC2_COLUMNS} FROM ec2_credentials WHERE credential_id = $1"),
                args![id],
            )
            .await?;
        if row.is_some() {
            return Ok(row);
        }
        let legacy: Vec<Ec2Row> = self
            .store
            .fetch_all(
                &format!("SELECT {EC2_COLUMNS} FROM ec2_credentials WHERE credential_id IS NULL"),
                args![],
            )
            .await?;
        Ok(legacy
            .into_iter()
            .find(|r| ec2_credential_id(&r.access) == id))
    }

    /// The credential `id` (404 when there is none).
    pub async fn get_credential(&self, id: &str) -> IdentityResult<Credential> {
        if let Some(row) = self.ec2_credential_row(id).await? {
            return Ok(row.into());
        }
        let row: Option<CredentialRow> = self
            .store
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM identity_credentials WHERE id = $1"),
                args![id],
            )
            .await?;
        row.map(Into::into)
            .ok_or_else(|| IdentityError::not_found("credential", id))
    }

    /// Every credential (EC2 ones too) of `user_id` and of type `kind`
    /// when given, by id.
    pub async fn list_credentials(
        &self,
        user_id: Option<&str>,
        kind: Option<&str>,
    ) -> IdentityResult<Vec<Credential>> {
        let ec2: Vec<Ec2Row> = self
            .store
            .fetch_all(
                &format!("SELECT {EC2_COLUMNS} FROM ec2_credentials"),
                args![],
            )
            .await?;
        let others: Vec<CredentialRow> = self
            .store
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM identity_credentials"),
                args![],
            )
            .await?;
        let mut all: Vec<Credential> = ec2
            .into_iter()
            .map(Credential::from)
            .chain(others.into_iter().map(Credential::from))
            .filter(|c| user_id.is_none_or(|u| c.user_id == u))
            .filter(|c| kind.is_none_or(|k| c.kind == k))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// Changes a credential. An ec2 one keeps its id; a new blob must
    /// still name an access key, which then is the EC2 access key; it
    /// must keep a project. A credential does not change between `ec2`
    /// and another type here (400).
    pub async fn update_credential(
        &self,
        id: &str,
        update: CredentialUpdate,
    ) -> IdentityResult<Credential> {
        let current = self.get_credential(id).await?;
        if let Some(user) = &update.user_id {
            self.get_user(user).await?;
        }
        if let Some(Some(project)) = &update.project_id {
            self.get_project(project).await?;
        }
        let kind = update.kind.clone().unwrap_or_else(|| current.kind.clone());
        if is_ec2(&kind) != is_ec2(&current.kind) {
            return Err(IdentityError::Invalid(
                "Invalid input for field 'type': a credential cannot change to or from type ec2 here; delete it and create another.".into(),
            ));
        }
        let user_id = update.user_id.unwrap_or(current.user_id);
        let project_id = update.project_id.unwrap_or(current.project_id);
        let blob = update.blob.unwrap_or(current.blob.clone());
        if !is_ec2(&kind) {
            self.store
                .execute(
                    "UPDATE identity_credentials SET user_id = $2, project_id = $3, type = $4, blob = $5 WHERE id = $1",
                    args![id, user_id, project_id, kind, blob],
                )
                .await?;
            return self.get_credential(id).await;
        }
        let project = project_id.ok_or_else(needs_project)?;
        let (access, secret, parsed) = ec2_keys(&blob)?;
        let old: serde_json::Value = serde_json::from_str(&current.blob).unwrap_or_default();
        for key in ["trust_id", "app_cred_id", "access_token_id", "access_id"] {
            let unset = serde_json::Value::Null;
            if old.get(key).unwrap_or(&unset) != parsed.get(key).unwrap_or(&unset) {
                return Err(IdentityError::Invalid(format!(
                    "{key} can not be updated for credential"
                )));
            }
        }
        let row = self
            .ec2_credential_row(id)
            .await?
            .ok_or_else(|| IdentityError::not_found("credential", id))?;
        self.store
            .execute(
                "UPDATE ec2_credentials SET access = $2, secret = $3, user_id = $4, project_id = $5, credential_id = $6, blob = $7 WHERE access = $1",
                args![&row.access, &access, secret, user_id, project, id, blob],
            )
            .await
            .map_err(|e| super::error::unique_as_conflict(e, "credential", &access))?;
        self.identity_changed();
        self.get_credential(id).await
    }

    /// Deletes the credential `id` (404 when there is none).
    pub async fn delete_credential(&self, id: &str) -> IdentityResult<()> {
        if let Some(row) = self.ec2_credential_row(id).await? {
            self.store
                .execute(
                    "DELETE FROM ec2_credentials WHERE access = $1",
                    args![&row.access],
                )
                .await?;
            self.identity_changed();
            return Ok(());
        }
        let deleted = self
            .store
            .execute("DELETE FROM identity_credentials WHERE id = $1", args![id])
            .await?;
        if deleted == 0 {
            return Err(IdentityError::not_found("credential", id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ec2_credential_id_is_the_sha256_hex_of_its_access_key() {
        assert_eq!(
            ec2_credential_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_ec2_blob_needs_an_access_key() {
        assert!(matches!(
            ec2_keys("not json"),
            Err(IdentityError::Invalid(_))
        ));
        assert!(matches!(
            ec2_keys("{\"secret\": \"s\"}"),
            Err(IdentityError::Invalid(_))
        ));
        let (access, secret, _) = ec2_keys("{\"access\": \"a\", \"secret\": \"s\"}").unwrap();
        assert_eq!((access.as_str(), secret.as_str()), ("a", "s"));
    }
}
