//! Password hashing: Argon2id (RustCrypto's `argon2` crate) with its
//! default cost (19 MiB, 2 passes, 1 lane: OWASP's recommendation) and a
//! random 16-byte salt per hash, stored as the self-describing PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so that stronger
//! parameters later still verify the older hashes.
//!
//! Why this crate: it is maintained by the RustCrypto organisation (the
//! same authors as `sha2`, `hmac` and `md-5` already in the tree), is
//! pure Rust, has no `unsafe` in its hashing path, and Argon2id won the
//! Password Hashing Competition and is what OWASP recommends first;
//! Keystone's own default, bcrypt, is the weaker of the two against GPU
//! attacks. The password itself is never stored or logged.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

use super::error::{IdentityError, IdentityResult};

/// Keystone's `[identity] max_password_length` default: longer passwords
/// are refused (400) rather than hashed.
pub const MAX_PASSWORD_LENGTH: usize = 4096;

/// The PHC string of a fresh Argon2id hash of `password`.
pub fn hash(password: &str) -> IdentityResult<String> {
    if password.len() > MAX_PASSWORD_LENGTH {
        return Err(IdentityError::Invalid(format!(
            "Invalid input for field 'password': the password is longer than {MAX_PASSWORD_LENGTH} bytes."
        )));
    }
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| IdentityError::Compute(crate::Error::Internal(format!("salt: {e}"))))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::Compute(crate::Error::Internal(format!("argon2: {e}"))))
}

/// Whether `password` matches the stored PHC string `stored` (in constant
/// time, by the crate). A malformed stored hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_LENGTH {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_never_contains_it() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("correct horsf", &stored));
        assert!(!verify("correct horse", "not a hash"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(hash("pw").unwrap(), hash("pw").unwrap());
    }

    #[test]
    fn an_overlong_password_is_refused() {
        let long = "x".repeat(MAX_PASSWORD_LENGTH + 1);
        assert!(matches!(hash(&long), Err(IdentityError::Invalid(_))));
        assert!(!verify(&long, &hash("x").unwrap()));
    }
}
