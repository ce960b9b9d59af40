//! Key material of keypairs: parsing and fingerprinting OpenSSH public keys
//! and X.509 certificates, and generating them, as nova does.
//!
//! Fingerprints: for ssh keys, the MD5 of the decoded key blob as
//! colon-separated lower-case hex; for x509, the SHA-1 of the DER
//! certificate in the same form. Generated ssh keys are RSA 2048 with the
//! private key in PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) and the public key
//! `ssh-rsa <blob> Generated-by-Nova`.

use base64::Engine as _;
use md5::Md5;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use sha1::{Digest, Sha1};

use crate::{Error, Result};

fn invalid(reason: &str) -> Error {
    Error::invalid(format!("Keypair data is invalid: {reason}"))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Reads the SSH wire format (RFC 4251 strings).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.0.len() < 4 {
            return None;
        }
        let n = u32::from_be_bytes(self.0[..4].try_into().ok()?) as usize;
        let rest = &self.0[4..];
        if rest.len() < n {
            return None;
        }
        let (s, tail) = rest.split_at(n);
        self.0 = tail;
        Some(s)
    }
}

/// Validates an OpenSSH public key line (`type base64 [comment]`) and
/// returns its fingerprint. Known types: ssh-rsa, ssh-dss, ssh-ed25519,
/// ecdsa-sha2-nistp256/384/521 and the FIDO `sk-` variants.
pub fn ssh_fingerprint(public_key: &str) -> Result<String> {
    let mut parts = public_key.split_whitespace();
    let (Some(kind), Some(b64)) = (parts.next(), parts.next()) else {
        return Err(invalid("failed to generate fingerprint"));
    };
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid("failed to generate fingerprint"))?;
    let mut r = Reader(&blob);
    if r.string() != Some(kind.as_bytes()) {
        return Err(invalid("failed to generate fingerprint"));
    }
    let fields = match kind {
        "ssh-rsa" => 2,
        "ssh-dss" => 4,
        "ssh-ed25519" => 1,
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => 2,
        "sk-ssh-ed25519@openssh.com" => 2,
        "sk-ecdsa-sha2-nistp256@openssh.com" => 3,
        _ => return Err(invalid("failed to generate fingerprint")),
    };
    for _ in 0..fields {
        match r.string() {
            Some(s) if !s.is_empty() => {}
            _ => return Err(invalid("failed to generate fingerprint")),
        }
    }
    if !r.0.is_empty() {
        return Err(invalid("failed to generate fingerprint"));
    }
    if kind == "ssh-ed25519" {
        let mut r = Reader(&blob);
        r.string();
        if r.string().map(<[u8]>::len) != Some(32) {
            return Err(invalid("failed to generate fingerprint"));
        }
    }
    Ok(colon_hex(&Md5::digest(&blob)))
}

/// The DER of the one certificate in a PEM text.
fn pem_certificate_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Reads one DER TLV: (tag, contents, rest).
fn der_tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *d.first()?;
    let first = *d.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 || d.len() < 2 + n {
            return None;
        }
        (
            d[2..2 + n]
                .iter()
                .fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let end = hdr.checked_add(len)?;
    if d.len() < end {
        return None;
    }
    Some((tag, &d[hdr..end], &d[end..]))
}

/// Validates a PEM X.509 certificate (its DER structure: a SEQUENCE of
/// tbsCertificate, signatureAlgorithm and signature) and returns its
/// fingerprint.
pub fn x509_fingerprint(pem: &str) -> Result<String> {
    let der = pem_certificate_der(pem).ok_or_else(|| invalid("failed to generate fingerprint"))?;
    let ok = (|| {
        let (tag, body, rest) = der_tlv(&der)?;
        if tag != 0x30 || !rest.is_empty() {
            return None;
        }
        let (t1, tbs, r1) = der_tlv(body)?;
        let (t2, _, r2) = der_tlv(r1)?;
        let (t3, _, r3) = der_tlv(r2)?;
        let (t4, _, _) = der_tlv(tbs)?;
        (t1 == 0x30 && t2 == 0x30 && t3 == 0x03 && r3.is_empty() && (t4 == 0xa0 || t4 == 0x02))
            .then_some(())
    })();
    ok.ok_or_else(|| invalid("failed to generate fingerprint"))?;
    Ok(colon_hex(&Sha1::digest(&der)))
}

fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

fn ssh_mpint(out: &mut Vec<u8>, be: &[u8]) {
    let trimmed: &[u8] = {
        let first = be.iter().position(|b| *b != 0).unwrap_or(be.len());
        &be[first..]
    };
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v = vec![0u8];
        v.extend_from_slice(trimmed);
        ssh_string(out, &v);
    } else {
        ssh_string(out, trimmed);
    }
}

fn new_rsa_key() -> Result<rsa::RsaPrivateKey> {
    rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| Error::Internal(format!("RSA key generation failed: {e}")))
}

/// A generated key: (private key PEM, public key, fingerprint).
pub type GeneratedKey = (String, String, String);

/// Generates an RSA 2048 ssh keypair as nova does.
pub fn generate_ssh_key() -> Result<GeneratedKey> {
    let key = new_rsa_key()?;
    let private = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| Error::Internal(format!("RSA key encoding failed: {e}")))?
        .to_string();
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-rsa");
    ssh_mpint(&mut blob, &key.e().to_bytes_be());
    ssh_mpint(&mut blob, &key.n().to_bytes_be());
    let public = format!(
        "ssh-rsa {} Generated-by-Nova",
        base64::engine::general_purpose::STANDARD.encode(&blob)
    );
    let fp = colon_hex(&Md5::digest(&blob));
    Ok((private, public, fp))
}

/// Generates an x509 keypair as nova's `generate_winrm_x509_cert`: an RSA
/// 2048 key and a self-signed certificate for `CN=<user_id>` with the
/// client-auth usage and a UPN `<user_id>@localhost`, valid ten years.
/// Returns (private key PEM, certificate PEM, fingerprint).
pub fn generate_x509(user_id: &str) -> Result<GeneratedKey> {
    let key = new_rsa_key()?;
    let internal =
        |e: &dyn std::fmt::Display| Error::Internal(format!("x509 generation failed: {e}"));
    let pkcs8 = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| internal(&e))?;
    let private = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| internal(&e))?
        .to_string();
    let kp = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| internal(&e))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| internal(&e))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, user_id);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.subject_alt_names = vec![rcgen::SanType::OtherName((
        vec![1, 3, 6, 1, 4, 1, 311, 20, 2, 3],
        rcgen::OtherNameValue::Utf8String(format!("{user_id}@localhost")),
    ))];
    let now = chrono::Utc::now();
    use chrono::Datelike;
    params.not_before = rcgen::date_time_ymd(now.year(), now.month() as u8, now.day() as u8);
    params.not_after =
        rcgen::date_time_ymd(now.year() + 10, now.month() as u8, now.day().min(28) as u8);
    let cert = params.self_signed(&kp).map_err(|e| internal(&e))?;
    let fp = colon_hex(&Sha1::digest(cert.der()));
    Ok((private, cert.pem(), fp))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real ed25519 public key (made with ssh-keygen for this test).
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA3g6CW8t5gMMAFPKWAA+wcFazoY7c05+0r2Q8mSI69L test@host";

    #[test]
    fn ssh_fingerprint_matches_ssh_keygen_md5() {
        // `ssh-keygen -l -E md5` prints this fingerprint for ED25519.
        assert_eq!(
            ssh_fingerprint(ED25519).unwrap(),
            "56:f7:83:35:12:2e:46:1a:5a:8a:a1:15:ab:d0:0b:61"
        );
    }

    #[test]
    fn malformed_ssh_keys_are_invalid() {
        for k in [
            "",
            "ssh-rsa",
            "ssh-rsa !!!",
            "ssh-dss AAAAC3NzaC1lZDI1NTE5AAAAIA3g6CW8t5gMMAFPKWAA+wcFazoY7c05+0r2Q8mSI69L",
        ] {
            assert!(matches!(ssh_fingerprint(k), Err(Error::Invalid(_))), "{k}");
        }
    }

    #[test]
    fn generated_ssh_key_parses_back_to_its_fingerprint() {
        let (private, public, fp) = generate_ssh_key().unwrap();
        assert!(private.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(public.starts_with("ssh-rsa ") && public.ends_with(" Generated-by-Nova"));
        assert_eq!(ssh_fingerprint(&public).unwrap(), fp);
    }

    #[test]
    fn generated_certificate_parses_back_to_its_fingerprint() {
        let (private, cert, fp) = generate_x509("alice").unwrap();
        assert!(private.contains("PRIVATE KEY"));
        assert_eq!(x509_fingerprint(&cert).unwrap(), fp);
        assert_eq!(fp.len(), 59);
        assert!(
            x509_fingerprint("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .is_err()
        );
    }
}
