//! IMDSv2 session tokens (beyond nova): `PUT /latest/api/token` hands out a
//! token that later requests present in `X-aws-ec2-metadata-token`.
//!
//! Tokens are stateless so that any worker process (or host sharing the key)
//! accepts a token another one issued: a token is `<expiry>.<nonce>.<mac>`,
//! where the MAC is HMAC-SHA256 over the expiry, the nonce and the caller it
//! was issued to (its address, or its instance id behind a neutron proxy).
//! A token presented by another caller, after its expiry, or altered in any
//! way fails the MAC check.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::ImdsOptions;
use crate::error::MetadataError;

/// The request header that carries a session token.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The header that asks for (and echoes) a token's lifetime in seconds.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The longest lifetime AWS grants: six hours.
pub const MAX_TTL_SECONDS: u64 = 21_600;
/// Name of the generated key file under `state_path`.
pub const KEY_FILE_NAME: &str = "metadata_imds_token.key";

/// Why a presented token is refused (all of them are a 401 to the client).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not of the token format.
    #[error("malformed token")]
    Malformed,
    /// The MAC does not match: forged, altered or another caller's.
    #[error("token signature mismatch")]
    BadSignature,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
}

/// Signs and checks session tokens with one key.
#[derive(Clone)]
pub struct TokenSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { .. }")
    }
}

impl TokenSigner {
    /// A signer whose key is derived from `material` (a configured secret or
    /// the contents of the key file).
    pub fn new(material: &[u8]) -> TokenSigner {
        let mut hasher = Sha256::new();
        hasher.update(b"nova-metadata-imds-token-v1\0");
        hasher.update(material);
        TokenSigner {
            key: hasher.finalize().into(),
        }
    }

    /// The signer the options call for: `[metadata] imds_token_secret` when
    /// set, else the key file under `state_path` (or the temporary
    /// directory), created on first use and shared by every worker.
    pub fn from_options(options: &ImdsOptions) -> anyhow::Result<TokenSigner> {
        if let Some(secret) = &options.imds_token_secret {
            return Ok(TokenSigner::new(secret.as_bytes()));
        }
        let dir = options
            .state_path
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let material = load_or_create_key_file(&dir.join(KEY_FILE_NAME))?;
        Ok(TokenSigner::new(&material))
    }

    fn mac(&self, expiry: u64, nonce: &str, subject: &str) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC-SHA256 accepts 32-byte keys");
        mac.update(format!("{expiry}\n{nonce}\n{subject}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Issues a token for `subject` that lives `ttl` seconds from `now`
    /// (UNIX seconds).
    pub fn issue(&self, subject: &str, ttl: u64, now: u64) -> String {
        let expiry = now.saturating_add(ttl);
        let mut nonce_bytes = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce_bytes);
        let nonce = URL_SAFE_NO_PAD.encode(nonce_bytes);
        let mac = URL_SAFE_NO_PAD.encode(self.mac(expiry, &nonce, subject));
        format!("{expiry}.{nonce}.{mac}")
    }

    /// Checks a presented token for `subject` at `now` (UNIX seconds).
    pub fn verify(&self, token: &str, subject: &str, now: u64) -> Result<(), TokenError> {
        let mut parts = token.split('.');
        let (Some(expiry), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let presented = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| TokenError::Malformed)?;
        let expected = self.mac(expiry, nonce, subject);
        if !bool::from(expected.ct_eq(&presented)) {
            return Err(TokenError::BadSignature);
        }
        if now >= expiry {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

/// Reads the key file, or creates it with 32 random bytes when it does not
/// exist. Creation goes through a temporary file and a hard link, so that
/// workers racing at start-up all end up reading the one file that won.
fn load_or_create_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path) {
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let tmp = dir.join(format!(
        ".{KEY_FILE_NAME}.{}.{}",
        std::process::id(),
        hex::encode(&key[..4])
    ));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tmp.display()))?;
        restrict_permissions(&f);
        f.write_all(hex::encode(key).as_bytes())?;
        f.sync_all()?;
    }
    // Losing the race is fine: the file another worker linked first wins.
    let _ = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    let material =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if material.is_empty() {
        anyhow::bail!("{} is empty", path.display());
    }
    Ok(material)
}

#[cfg(unix)]
fn restrict_permissions(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    // The key lets anyone forge tokens: readable by the service user only.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_permissions(_file: &std::fs::File) {}

/// Reads the lifetime a token PUT asks for: 1 to 21600 seconds, else 400.
pub fn requested_ttl(headers: &HeaderMap) -> Result<u64, MetadataError> {
    let bad = || {
        MetadataError::BadRequest(format!(
            "{TTL_HEADER} must be an integer between 1 and {MAX_TTL_SECONDS}."
        ))
    };
    let value = headers.get(TTL_HEADER).ok_or_else(bad)?;
    let ttl: u64 = value
        .to_str()
        .map_err(|_| bad())?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if (1..=MAX_TTL_SECONDS).contains(&ttl) {
        Ok(ttl)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_token_verifies_for_its_subject_until_expiry() {
        let signer = TokenSigner::new(b"k");
        let token = signer.issue("ip:10.0.0.3", 60, 1000);
        assert_eq!(signer.verify(&token, "ip:10.0.0.3", 1000), Ok(()));
        assert_eq!(signer.verify(&token, "ip:10.0.0.3", 1059), Ok(()));
        assert_eq!(
            signer.verify(&token, "ip:10.0.0.3", 1060),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_fails_for_another_subject_key_or_edit() {
        let signer = TokenSigner::new(b"k");
        let token = signer.issue("ip:10.0.0.3", 60, 1000);
        assert_eq!(
            signer.verify(&token, "ip:10.0.0.4", 1000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            TokenSigner::new(b"other").verify(&token, "ip:10.0.0.3", 1000),
            Err(TokenError::BadSignature)
        );
        // Pushing the expiry forward breaks the MAC.
        let (_, rest) = token.split_once('.').unwrap();
        let extended = format!("999999.{rest}");
        assert_eq!(
            signer.verify(&extended, "ip:10.0.0.3", 1000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            signer.verify("garbage", "ip:10.0.0.3", 1000),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            signer.verify("1.2.3.4", "ip:10.0.0.3", 1000),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn key_file_is_created_once_and_shared() {
        let dir = tempfile::tempdir().unwrap();
        let options = ImdsOptions {
            state_path: Some(dir.path().to_path_buf()),
            ..ImdsOptions::default()
        };
        let first = TokenSigner::from_options(&options).unwrap();
        let second = TokenSigner::from_options(&options).unwrap();
        let token = first.issue("s", 10, 0);
        assert_eq!(second.verify(&token, "s", 1), Ok(()));
        assert!(dir.path().join(KEY_FILE_NAME).exists());
    }

    #[test]
    fn ttl_must_be_between_1_and_21600() {
        for (value, ok) in [
            ("1", true),
            ("21600", true),
            ("0", false),
            ("21601", false),
            ("x", false),
            ("-5", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(TTL_HEADER, HeaderValue::from_static(value));
            assert_eq!(requested_ttl(&h).is_ok(), ok, "ttl {value}");
        }
        assert!(requested_ttl(&HeaderMap::new()).is_err());
    }
}
