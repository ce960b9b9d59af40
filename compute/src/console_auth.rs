//! Console auth tokens (nova's `ConsoleAuthToken`): what a console proxy
//! asks the API to learn which guest console a token opens.
//!
//! A token is a random uuid handed to the client once, in the console
//! URL; the store keeps only its SHA-256 (table `console_auth_tokens`)
//! with the instance, the console type, the host and port the proxy
//! connects to and the expiry (`[consoleauth] token_ttl`). An expired
//! token is gone: it does not validate, and the rows of expired tokens
//! are deleted whenever a token is issued. The tokens of an instance are
//! deleted with it.

use sha2::{Digest, Sha256};

use crate::store::{args, now_micros};
use crate::{Compute, Error, Kind, Result};

/// What a new token authorizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsoleAuth {
    /// The instance whose console it opens.
    pub instance_uuid: String,
    /// `novnc`, `spice-html5`, `spice-direct`, `serial`, `webmks`.
    pub console_type: String,
    /// Where the proxy connects to.
    pub host: String,
    /// The console's port.
    pub port: i64,
    /// The console's TLS port (SPICE).
    pub tls_port: Option<i64>,
    /// A path the proxy sends after connecting (none here).
    pub internal_access_path: Option<String>,
    /// The proxy URL the token was made for.
    pub access_url_base: String,
}

/// A valid token's connection details.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsoleAuth {
    /// The instance.
    pub instance_uuid: String,
    /// The console type.
    pub console_type: String,
    /// Where the proxy connects to.
    pub host: Option<String>,
    /// The console's port.
    pub port: i64,
    /// The console's TLS port.
    pub tls_port: Option<i64>,
    /// A path the proxy sends after connecting.
    pub internal_access_path: Option<String>,
    /// The proxy URL the token was made for.
    pub access_url_base: String,
    /// The instance's display name (what a console shows as its title:
    /// the desktop name of the simulated guest's VNC server).
    pub instance_name: String,
}

/// The stored form of a token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Compute {
    /// Issues a token for `new`, valid for `[consoleauth] token_ttl`
    /// seconds, and deletes the rows of expired tokens.
    pub async fn authorize_console(&self, new: NewConsoleAuth) -> Result<String> {
        let token = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let ttl = i64::try_from(self.config.consoles.token_ttl)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000);
        self.store
            .execute(
                "DELETE FROM console_auth_tokens WHERE expires <= $1",
                args![now],
            )
            .await?;
        self.store
            .execute(
                "INSERT INTO console_auth_tokens (token_hash, console_type, host, port, tls_port, \
                 internal_access_path, instance_uuid, access_url_base, created_at, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    token_hash(&token),
                    &new.console_type,
                    &new.host,
                    new.port,
                    new.tls_port,
                    &new.internal_access_path,
                    &new.instance_uuid,
                    &new.access_url_base,
                    now,
                    now.saturating_add(ttl)
                ],
            )
            .await?;
        Ok(token)
    }

    /// The connection details of `token` while it is valid: `NotFound`
    /// (kind `ConsoleAuthToken`) when it was never issued, has expired or
    /// its instance is gone. This is the lookup a console proxy makes
    /// (nova's `ConsoleAuthToken.validate`) before it lets a client in.
    pub async fn validate_console_token(&self, token: &str) -> Result<ConsoleAuth> {
        let found: Option<ConsoleAuth> = self
            .store
            .fetch_optional(
                "SELECT t.instance_uuid, t.console_type, t.host, t.port, t.tls_port, \
                 t.internal_access_path, t.access_url_base, i.display_name AS instance_name \
                 FROM console_auth_tokens t \
                 JOIN instances i ON i.uuid = t.instance_uuid \
                 WHERE t.token_hash = $1 AND t.expires > $2 AND i.deleted = $3",
                args![token_hash(token), now_micros(), false],
            )
            .await?;
        found.ok_or_else(|| Error::not_found(Kind::ConsoleAuthToken, token))
    }

    /// Deletes every token of instance `uuid` (nova's
    /// `clean_console_auths_for_instance`, when the instance is deleted).
    pub(crate) async fn forget_console_tokens(&self, uuid: &str) -> Result<()> {
        self.store
            .execute(
                "DELETE FROM console_auth_tokens WHERE instance_uuid = $1",
                args![uuid],
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_is_the_tokens_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
