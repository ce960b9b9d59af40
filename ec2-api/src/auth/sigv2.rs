//! AWS Signature Version 2 (`SignatureVersion=2`, `HmacSHA256` or
//! `HmacSHA1`), as boto 2, euca2ools and nova's own tools sign Query requests.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::{aws_encode, check_param_times, ct_eq, SignedRequest};
use crate::error::Ec2Error;
use crate::query::Params;

/// The string a SigV2 signature covers: verb, lower-case host, path and the
/// sorted, encoded parameters (all but `Signature`).
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &Params) -> String {
    let mut s = String::new();
    s.push_str(method);
    s.push('\n');
    s.push_str(&host.to_ascii_lowercase());
    s.push('\n');
    s.push_str(if path.is_empty() { "/" } else { path });
    s.push('\n');
    let mut first = true;
    for (k, v) in params.iter().filter(|(k, _)| *k != "Signature") {
        if !first {
            s.push('&');
        }
        first = false;
        aws_encode(k, b"", &mut s);
        s.push('=');
        aws_encode(v, b"", &mut s);
    }
    s
}

/// The signature of `data` with `secret` under `method`, raw bytes.
pub fn sign(method: &str, secret: &str, data: &str) -> Result<Vec<u8>, Ec2Error> {
    match method {
        "HmacSHA256" => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes any key length");
            m.update(data.as_bytes());
            Ok(m.finalize().into_bytes().to_vec())
        }
        "HmacSHA1" => {
            let mut m = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes any key length");
            m.update(data.as_bytes());
            Ok(m.finalize().into_bytes().to_vec())
        }
        other => Err(Ec2Error::AuthFailure(format!(
            "Unsupported SignatureMethod {other:?}"
        ))),
    }
}

/// Verifies a SigV2 request against `secret`.
pub fn verify(
    req: &SignedRequest<'_>,
    secret: &str,
    now: DateTime<Utc>,
    expiry: u64,
) -> Result<(), Ec2Error> {
    let p = req.params;
    match p.get("SignatureVersion") {
        Some("2") => {}
        Some(v) => {
            return Err(Ec2Error::AuthFailure(format!(
                "Unsupported SignatureVersion {v:?}"
            )))
        }
        None => return Err(Ec2Error::MissingParameter("SignatureVersion".into())),
    }
    if p.get("Timestamp").is_none() && p.get("Expires").is_none() {
        return Err(Ec2Error::MissingParameter("Timestamp".into()));
    }
    check_param_times(p, now, expiry)?;
    let method = p.get("SignatureMethod").unwrap_or("HmacSHA256");
    let given = base64::engine::general_purpose::STANDARD
        .decode(p.get("Signature").unwrap_or("").trim())
        .map_err(|_| Ec2Error::SignatureDoesNotMatch)?;
    let host = req.host().to_ascii_lowercase();
    // Signers differ on whether a default port belongs in the host line.
    let mut hosts = vec![host.clone()];
    for default in [":80", ":443"] {
        if let Some(bare) = host.strip_suffix(default) {
            hosts.push(bare.to_string());
        }
    }
    for h in &hosts {
        for path in req.paths() {
            let expected = sign(method, secret, &string_to_sign(req.method, h, path, p))?;
            if ct_eq(&expected, &given) {
                return Ok(());
            }
        }
    }
    Err(Ec2Error::SignatureDoesNotMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;

    #[test]
    fn string_to_sign_sorts_and_encodes() {
        let p = parse_query(
            b"Version=2016-11-15&Action=DescribeInstances&Signature=x&AWSAccessKeyId=a%20b",
            None,
        )
        .unwrap()
        .params;
        assert_eq!(
            string_to_sign("POST", "Host:8773", "/", &p),
            "POST\nhost:8773\n/\nAWSAccessKeyId=a%20b&Action=DescribeInstances&Version=2016-11-15"
        );
    }

    #[test]
    fn unknown_signature_method_is_refused() {
        assert!(matches!(
            sign("HmacMD5", "s", "d"),
            Err(Ec2Error::AuthFailure(_))
        ));
    }
}
