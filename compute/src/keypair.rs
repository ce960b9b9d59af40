//! Keypairs: per user, ssh or x509, imported or generated, counted
//! against the `key_pairs` quota.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{args, from_micros, is_unique_violation, now_micros};
use crate::{keys, validate, Compute, Error, Kind, RequestContext, Result};

/// The type of a keypair (microversion 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum KeyType {
    /// An OpenSSH public key.
    #[default]
    #[serde(rename = "ssh")]
    Ssh,
    /// An X.509 certificate (PEM).
    #[serde(rename = "x509")]
    X509,
}

impl KeyType {
    /// nova's name: `ssh` or `x509`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Ssh => "ssh",
            KeyType::X509 => "x509",
        }
    }

    /// Parses `ssh` / `x509`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ssh" => Ok(KeyType::Ssh),
            "x509" => Ok(KeyType::X509),
            other => Err(Error::invalid(format!("Invalid input for field/attribute type. Value: {other}. '{other}' is not one of ['ssh', 'x509']"))),
        }
    }
}

/// A keypair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keypair {
    /// Integer id (shown by `GET /os-keypairs/{name}`).
    pub id: i64,
    /// Name, unique per user.
    pub name: String,
    /// Owner.
    pub user_id: String,
    /// ssh or x509.
    pub key_type: KeyType,
    /// The public key (ssh line or certificate PEM).
    pub public_key: String,
    /// nova's fingerprint (see [`crate::keys`]).
    pub fingerprint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The private key, only in the answer to a generation (never stored).
    pub private_key: Option<String>,
}

/// A keypair to create or import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewKeypair {
    /// Name (1-255 of letters, digits, `-_ @.`).
    pub name: String,
    /// ssh (default) or x509.
    pub key_type: KeyType,
    /// The key to import; `None` generates one (private key returned once).
    pub public_key: Option<String>,
    /// Admin only: create it for this user (microversion 2.10).
    pub user_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KeypairRow {
    id: i64,
    user_id: String,
    name: String,
    key_type: String,
    public_key: String,
    fingerprint: String,
    created_at: i64,
}

impl KeypairRow {
    fn into_keypair(self) -> Keypair {
        Keypair {
            id: self.id,
            name: self.name,
            user_id: self.user_id,
            key_type: KeyType::parse(&self.key_type).unwrap_or_default(),
            public_key: self.public_key,
            fingerprint: self.fingerprint,
            created_at: from_micros(self.created_at),
            private_key: None,
        }
    }
}

const KEYPAIR_COLUMNS: &str = "id, user_id, name, key_type, public_key, fingerprint, created_at";

fn owner<'a>(ctx: &'a RequestContext, user_id: Option<&'a str>) -> Result<&'a str> {
    match user_id {
        Some(u) if u != ctx.user_id => {
            ctx.require_admin("os_compute_api:os-keypairs")?;
            Ok(u)
        }
        _ => Ok(&ctx.user_id),
    }
}

impl Compute {
    /// Creates (generates) or imports a keypair. Validates the name, the
    /// key (ssh line or x509 PEM; [`Error::Invalid`] "Keypair data is
    /// invalid: ..."), the per-user `key_pairs` quota (atomic with the
    /// insert) and uniqueness ([`Error::Duplicate`]).
    pub async fn create_keypair(&self, ctx: &RequestContext, new: NewKeypair) -> Result<Keypair> {
        validate::keypair_name(&new.name)?;
        let user = owner(ctx, new.user_id.as_deref())?.to_string();
        let (public_key, fingerprint, private_key) = match (&new.public_key, new.key_type) {
            (Some(pk), KeyType::Ssh) => {
                let pk = pk.trim().to_string();
                let fp = keys::ssh_fingerprint(&pk)?;
                (pk, fp, None)
            }
            (Some(pk), KeyType::X509) => {
                let fp = keys::x509_fingerprint(pk)?;
                (pk.clone(), fp, None)
            }
            (None, KeyType::Ssh) => {
                let (private, public, fp) = tokio::task::spawn_blocking(keys::generate_ssh_key)
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??;
                (public, fp, Some(private))
            }
            (None, KeyType::X509) => {
                let u = user.clone();
                let (private, cert, fp) =
                    tokio::task::spawn_blocking(move || keys::generate_x509(&u))
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))??;
                (cert, fp, Some(private))
            }
        };
        let limit = self.project_limits(&ctx.project_id).await?.key_pairs;
        let mut tx = self.store.begin_locked(&format!("keypairs:{user}")).await?;
        let (count,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM key_pairs WHERE user_id = $1",
                args![&user],
            )
            .await?;
        if limit >= 0 && count + 1 > limit {
            return Err(Error::quota("key_pairs", 1, count, limit));
        }
        let now = now_micros();
        let inserted: Result<(i64,)> = tx
            .fetch_one(
                "INSERT INTO key_pairs (user_id, project_id, name, key_type, public_key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                args![&user, &ctx.project_id, &new.name, new.key_type.as_str(), &public_key, &fingerprint, now],
            )
            .await;
        let (id,) = match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::duplicate(Kind::Keypair, new.name.clone()))
            }
            r => r?,
        };
        tx.commit().await?;
        Ok(Keypair {
            id,
            name: new.name,
            user_id: user,
            key_type: new.key_type,
            public_key,
            fingerprint,
            created_at: from_micros(now),
            private_key,
        })
    }

    /// The caller's keypairs (another user's for admins), sorted by name,
    /// after `marker` (a name), at most `limit`.
    pub async fn list_keypairs(
        &self,
        ctx: &RequestContext,
        user_id: Option<&str>,
        marker: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Keypair>> {
        let user = owner(ctx, user_id)?;
        let mut rows: Vec<KeypairRow> = self
            .store
            .fetch_all(
                &format!("SELECT {KEYPAIR_COLUMNS} FROM key_pairs WHERE user_id = $1"),
                args![user],
            )
            .await?;
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(m) = marker {
            let pos = rows
                .iter()
                .position(|r| r.name == m)
                .ok_or_else(|| Error::invalid(format!("marker [{m}] not found")))?;
            rows.drain(..=pos);
        }
        if let Some(l) = limit {
            rows.truncate(l);
        }
        Ok(rows.into_iter().map(KeypairRow::into_keypair).collect())
    }

    /// One keypair of the caller (or of `user_id`, for admins).
    pub async fn get_keypair(
        &self,
        ctx: &RequestContext,
        name: &str,
        user_id: Option<&str>,
    ) -> Result<Keypair> {
        let user = owner(ctx, user_id)?;
        let row: Option<KeypairRow> = self
            .store
            .fetch_optional(
                &format!(
                    "SELECT {KEYPAIR_COLUMNS} FROM key_pairs WHERE user_id = $1 AND name = $2"
                ),
                args![user, name],
            )
            .await?;
        row.map(KeypairRow::into_keypair)
            .ok_or_else(|| Error::not_found(Kind::Keypair, name))
    }

    /// Deletes a keypair ([`Error::NotFound`] if absent) and the EC2
    /// tags of its EC2 id.
    pub async fn delete_keypair(
        &self,
        ctx: &RequestContext,
        name: &str,
        user_id: Option<&str>,
    ) -> Result<()> {
        let user = owner(ctx, user_id)?;
        let row: Option<(i64,)> = self
            .store
            .fetch_optional(
                "SELECT id FROM key_pairs WHERE user_id = $1 AND name = $2",
                args![user, name],
            )
            .await?;
        let Some((id,)) = row else {
            return Err(Error::not_found(Kind::Keypair, name));
        };
        let n = self
            .store
            .execute("DELETE FROM key_pairs WHERE id = $1", args![id])
            .await?;
        if n == 0 {
            return Err(Error::not_found(Kind::Keypair, name));
        }
        self.forget_ec2_tags(&crate::ec2::ec2_key_pair_id(id)).await
    }
}
