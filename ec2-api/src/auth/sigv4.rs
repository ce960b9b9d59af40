//! AWS Signature Version 4, as botocore signs EC2 requests: in the
//! `Authorization` header (POST form bodies) or in the query string
//! (presigned URLs, `X-Amz-Algorithm`/`X-Amz-Credential`/`X-Amz-Signature`).

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{aws_encode, check_skew, ct_eq, SignedRequest};
use crate::error::Ec2Error;

/// The only SigV4 algorithm AWS defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a presigned request.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The longest validity a presigned URL may ask for (7 days, as AWS).
pub const MAX_EXPIRES: i64 = 604_800;

/// The fields of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization {
    /// `Credential=` (access key and scope).
    pub credential: String,
    /// `SignedHeaders=`, lower-case names separated by `;`.
    pub signed_headers: String,
    /// `Signature=`, hex.
    pub signature: String,
}

/// Parses an `Authorization` header of the SigV4 scheme.
pub fn parse_authorization(value: &str) -> Result<Authorization, Ec2Error> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| Ec2Error::AuthFailure("Unsupported Authorization header".into()))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim().to_string()),
            "SignedHeaders" => signed_headers = Some(v.trim().to_string()),
            "Signature" => signature = Some(v.trim().to_string()),
            _ => {}
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(Authorization {
            credential,
            signed_headers,
            signature,
        }),
        _ => Err(Ec2Error::AuthFailure(
            "Authorization header requires Credential, SignedHeaders and Signature".into(),
        )),
    }
}

/// Splits `AKID/20261124/region/service/aws4_request` into the access key
/// and the scope (`20261124/region/service/aws4_request`).
pub fn split_credential(credential: &str) -> Option<(&str, &str)> {
    let mut cut = credential.len();
    for _ in 0..4 {
        cut = credential[..cut].rfind('/')?;
    }
    let (key, scope) = (&credential[..cut], &credential[cut + 1..]);
    let fields: Vec<&str> = scope.split('/').collect();
    (fields.len() == 4 && fields[3] == "aws4_request" && fields[0].len() == 8)
        .then_some((key, scope))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The signing key for `secret` and a scope `date/region/service/aws4_request`.
pub fn signing_key(secret: &str, scope: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// The canonical URI: the path as sent, encoded once more as botocore does
/// for every service but S3.
pub fn canonical_uri(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::with_capacity(path.len());
    aws_encode(path, b"/", &mut out);
    out
}

/// The canonical query string: pairs encoded with AWS's rules, sorted by
/// name then value, without the pairs `skip` names.
pub fn canonical_query(pairs: &[(String, String)], skip: &str) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != skip)
        .map(|(k, v)| {
            let (mut ek, mut ev) = (String::new(), String::new());
            aws_encode(k, b"", &mut ek);
            aws_encode(v, b"", &mut ev);
            (ek, ev)
        })
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_headers(req: &SignedRequest<'_>, signed_headers: &str) -> String {
    let mut out = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn parse_amz_date(s: &str) -> Result<DateTime<Utc>, Ec2Error> {
    NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .map(|t| t.and_utc())
        .map_err(|_| Ec2Error::AuthFailure(format!("Invalid X-Amz-Date {s:?}")))
}

fn check_signature(secret: &str, scope: &str, sts: &str, given: &str) -> bool {
    let expected = hex::encode(hmac(&signing_key(secret, scope), sts.as_bytes()));
    ct_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes())
}

fn scope_matches_date(scope: &str, amz_date: &str) -> Result<(), Ec2Error> {
    if scope.get(..8) != amz_date.get(..8) {
        return Err(Ec2Error::SignatureDoesNotMatch);
    }
    Ok(())
}

/// The regions, the service and the headers a signature must be scoped to
/// and cover before its HMAC is worth checking.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The service a credential scope must name ([`SERVICE`] here).
    pub service: &'a str,
    /// The regions a credential scope may name (`[ec2] signing_regions`).
    pub regions: &'a [String],
}

impl<'a> Policy<'a> {
    /// The EC2 API's policy: service `ec2`, one of `regions`.
    pub fn ec2(regions: &'a [String]) -> Self {
        Policy {
            service: SERVICE,
            regions,
        }
    }
}

/// The service a credential scope names for this API.
pub const SERVICE: &str = "ec2";

/// Refuses a credential scope (`date/region/service/aws4_request`) of
/// another service or of a region that is not ours.
fn check_scope(scope: &str, policy: Policy<'_>) -> Result<(), Ec2Error> {
    let mut fields = scope.split('/');
    let (_date, region, service) = (fields.next(), fields.next(), fields.next());
    let (region, service) = (region.unwrap_or(""), service.unwrap_or(""));
    if service != policy.service {
        return Err(Ec2Error::SignatureScope(format!(
            "Credential should be scoped to correct service: '{}'.",
            policy.service
        )));
    }
    if !policy.regions.iter().any(|r| r == region) {
        return Err(Ec2Error::SignatureScope(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        )));
    }
    Ok(())
}

/// Refuses a `SignedHeaders` list that leaves out `host`: a signature that
/// does not cover the host could be replayed against another endpoint.
fn check_signed_headers(signed_headers: &str) -> Result<(), Ec2Error> {
    if signed_headers.split(';').any(|h| h == "host") {
        return Ok(());
    }
    Err(Ec2Error::IncompleteSignature(
        "'Host' must be a 'SignedHeader' in the AWS Authorization.".into(),
    ))
}

/// The payload hash a header-signed request is checked with: always the
/// hash of the body received. A client's `X-Amz-Content-SHA256` is only
/// ever compared with it (the Query API has no unsigned payloads), so a
/// signature never covers a body other than the one that runs.
fn payload_hash(req: &SignedRequest<'_>) -> Result<String, Ec2Error> {
    let received = hex::encode(Sha256::digest(req.body));
    match req.headers.get("x-amz-content-sha256") {
        None => Ok(received),
        Some(sent) if sent.as_bytes().eq_ignore_ascii_case(received.as_bytes()) => Ok(received),
        Some(_) => Err(Ec2Error::ContentSha256Mismatch),
    }
}

/// What a header-signed request claims beyond its HMAC: its scope, its
/// signed headers and its payload hash, which is returned for the
/// canonical request.
fn check_header_claims(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    scope: &str,
    policy: Policy<'_>,
) -> Result<String, Ec2Error> {
    check_scope(scope, policy)?;
    check_signed_headers(&auth.signed_headers)?;
    payload_hash(req)
}

/// What a presigned request claims beyond its HMAC: its scope, its signed
/// headers, and no body (a presigned URL is signed with UNSIGNED-PAYLOAD,
/// so parameters in a body would run without being signed).
fn check_query_claims(
    req: &SignedRequest<'_>,
    scope: &str,
    signed_headers: &str,
    policy: Policy<'_>,
) -> Result<(), Ec2Error> {
    check_scope(scope, policy)?;
    check_signed_headers(signed_headers)?;
    if !req.body.is_empty() {
        return Err(Ec2Error::IncompleteSignature(
            "A presigned request carries its parameters in the URL; a request body is not covered by its signature.".into(),
        ));
    }
    payload_hash(req).map(drop)
}

fn malformed_credential(credential: &str) -> Ec2Error {
    Ec2Error::AuthFailure(format!("Malformed credential {credential:?}"))
}

/// Checks what a SigV4 request claims beyond its HMAC (scope, signed
/// headers, payload hash, no body outside a presigned URL's signature),
/// whoever then checks the HMAC: this service or Keystone.
pub fn check_claims(req: &SignedRequest<'_>, policy: Policy<'_>) -> Result<(), Ec2Error> {
    let header = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .filter(|a| a.starts_with(ALGORITHM));
    if let Some(value) = header {
        let auth = parse_authorization(value)?;
        let (_, scope) = split_credential(&auth.credential)
            .ok_or_else(|| malformed_credential(&auth.credential))?;
        return check_header_claims(req, &auth, scope, policy).map(drop);
    }
    let p = req.params;
    if let Some(credential) = p.get("X-Amz-Credential") {
        let (_, scope) =
            split_credential(credential).ok_or_else(|| malformed_credential(credential))?;
        let signed_headers = p.get("X-Amz-SignedHeaders").unwrap_or("host");
        check_query_claims(req, scope, signed_headers, policy)?;
    }
    Ok(())
}

/// Verifies a request signed in its `Authorization` header.
pub fn verify_header(
    req: &SignedRequest<'_>,
    secret: &str,
    now: DateTime<Utc>,
    expiry: u64,
    policy: Policy<'_>,
) -> Result<(), Ec2Error> {
    let auth = parse_authorization(
        req.headers
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    )?;
    let (_, scope) =
        split_credential(&auth.credential).ok_or_else(|| malformed_credential(&auth.credential))?;
    let payload_hash = check_header_claims(req, &auth, scope, policy)?;
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| Ec2Error::AuthFailure("X-Amz-Date header not provided".into()))?;
    let t = parse_amz_date(amz_date)?;
    check_skew(t, now, expiry)?;
    scope_matches_date(scope, amz_date)?;
    let query = canonical_query(req.query_pairs, "");
    let headers = canonical_headers(req, &auth.signed_headers);
    for path in req.paths() {
        let canonical = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method,
            canonical_uri(path),
            query,
            headers,
            auth.signed_headers,
            payload_hash
        );
        if check_signature(
            secret,
            scope,
            &string_to_sign(amz_date, scope, &canonical),
            &auth.signature,
        ) {
            return Ok(());
        }
    }
    Err(Ec2Error::SignatureDoesNotMatch)
}

/// Verifies a presigned request (`X-Amz-*` query parameters).
pub fn verify_query(
    req: &SignedRequest<'_>,
    secret: &str,
    now: DateTime<Utc>,
    expiry: u64,
    policy: Policy<'_>,
) -> Result<(), Ec2Error> {
    let p = req.params;
    if p.get("X-Amz-Algorithm") != Some(ALGORITHM) {
        return Err(Ec2Error::AuthFailure(
            "X-Amz-Algorithm must be AWS4-HMAC-SHA256".into(),
        ));
    }
    let credential = p
        .require("X-Amz-Credential")
        .map_err(|_| Ec2Error::AuthFailure("X-Amz-Credential not provided".into()))?;
    let (_, scope) =
        split_credential(credential).ok_or_else(|| malformed_credential(credential))?;
    let signature = p
        .require("X-Amz-Signature")
        .map_err(|_| Ec2Error::AuthFailure("X-Amz-Signature not provided".into()))?;
    let signed_headers = p.get("X-Amz-SignedHeaders").unwrap_or("host");
    check_query_claims(req, scope, signed_headers, policy)?;
    let amz_date = p
        .require("X-Amz-Date")
        .map_err(|_| Ec2Error::AuthFailure("X-Amz-Date not provided".into()))?;
    let t = parse_amz_date(amz_date)?;
    scope_matches_date(scope, amz_date)?;
    // The configured window, in range for chrono's arithmetic (an absurdly
    // large one means "no limit", never an overflow).
    let skew = i64::try_from(expiry).unwrap_or(i64::MAX);
    let expires: i64 = match p.get("X-Amz-Expires") {
        Some(e) => e
            .parse()
            .ok()
            .filter(|e| (1..=MAX_EXPIRES).contains(e))
            .ok_or_else(|| Ec2Error::AuthFailure(format!("X-Amz-Expires {e:?} is out of range")))?,
        None => skew,
    };
    let deadline = chrono::TimeDelta::try_seconds(expires).and_then(|d| t.checked_add_signed(d));
    if deadline.is_some_and(|deadline| now > deadline) {
        return Err(Ec2Error::RequestExpired(format!(
            "Request has expired. X-Amz-Date {amz_date} + {expires}s"
        )));
    }
    if (t - now).num_seconds() > skew {
        return Err(Ec2Error::RequestExpired(format!(
            "Request has expired. X-Amz-Date {amz_date} is in the future"
        )));
    }
    // The query pairs signed are those of the URL; a form body is not part of it.
    let query = canonical_query(req.query_pairs, "X-Amz-Signature");
    let headers = canonical_headers(req, signed_headers);
    // botocore presigns with UNSIGNED-PAYLOAD; other signers hash the body
    // (which check_query_claims has made sure is empty).
    let body_hash = hex::encode(Sha256::digest(req.body));
    for path in req.paths() {
        let head = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            req.method,
            canonical_uri(path),
            query,
            headers,
            signed_headers
        );
        for payload in [UNSIGNED_PAYLOAD, body_hash.as_str()] {
            let canonical = format!("{head}{payload}");
            if check_signature(
                secret,
                scope,
                &string_to_sign(amz_date, scope, &canonical),
                signature,
            ) {
                return Ok(());
            }
        }
    }
    Err(Ec2Error::SignatureDoesNotMatch)
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;

    use super::*;
    use crate::query::Params;

    #[test]
    fn credential_splits_from_the_right() {
        assert_eq!(
            split_credential("user:proj/20261124/RegionOne/ec2/aws4_request"),
            Some(("user:proj", "20261124/RegionOne/ec2/aws4_request"))
        );
        assert_eq!(split_credential("AK/2026/r/ec2/aws4_request"), None);
        assert_eq!(split_credential("nothing"), None);
    }

    #[test]
    fn authorization_header_parses() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.credential, "AK/20150830/us-east-1/iam/aws4_request");
        assert_eq!(a.signed_headers, "host;x-amz-date");
        assert_eq!(a.signature, "abc");
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=x").is_err());
    }

    /// A presigned URL without `X-Amz-Expires` whose time is signed near
    /// the end of what chrono represents (`99991231T235959Z`).
    fn presigned_at_the_end_of_time() -> (HeaderMap, Vec<(String, String)>) {
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:8773".parse().unwrap());
        let pairs = vec![
            ("Action".to_string(), "DescribeRegions".to_string()),
            ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
            (
                "X-Amz-Credential".to_string(),
                "AK/99991231/nova/ec2/aws4_request".to_string(),
            ),
            ("X-Amz-Date".to_string(), "99991231T235959Z".to_string()),
            ("X-Amz-Signature".to_string(), "00".to_string()),
        ];
        (headers, pairs)
    }

    #[test]
    fn a_huge_expiry_window_neither_overflows_nor_panics() {
        let (headers, pairs) = presigned_at_the_end_of_time();
        let params = Params::from_pairs(pairs.clone());
        let req = SignedRequest {
            method: "GET",
            path: "/",
            alt_path: None,
            headers: &headers,
            query_pairs: &pairs,
            params: &params,
            body: b"",
        };
        let now = super::super::parse_iso_time("2026-11-24T12:00:00Z").unwrap();
        let regions = ["nova".to_string()];
        let policy = Policy::ec2(&regions);
        // Far in the future for the usual window; past the overflow, a
        // window that large lets the time through to the signature check.
        assert!(matches!(
            verify_query(&req, "secret", now, 300, policy),
            Err(Ec2Error::RequestExpired(_))
        ));
        for expiry in [1 << 62, u64::MAX] {
            assert!(matches!(
                verify_query(&req, "secret", now, expiry, policy),
                Err(Ec2Error::SignatureDoesNotMatch)
            ));
        }
    }

    /// AWS's published example (IAM ListUsers, "Create a signed request" in
    /// the SigV4 documentation): an independent check of the whole chain.
    #[test]
    fn aws_documentation_example_verifies() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let pairs = vec![
            ("Action".to_string(), "ListUsers".to_string()),
            ("Version".to_string(), "2010-05-08".to_string()),
        ];
        let params = Params::from_pairs(pairs.clone());
        let req = SignedRequest {
            method: "GET",
            path: "/",
            alt_path: None,
            headers: &headers,
            query_pairs: &pairs,
            params: &params,
            body: b"",
        };
        let now = super::super::parse_iso_time("2015-08-30T12:37:00Z").unwrap();
        let regions = ["us-east-1".to_string()];
        let iam = Policy {
            service: "iam",
            regions: &regions,
        };
        verify_header(
            &req,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            now,
            300,
            iam,
        )
        .unwrap();
        assert!(matches!(
            verify_header(
                &req,
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz",
                now,
                300,
                iam
            ),
            Err(Ec2Error::SignatureDoesNotMatch)
        ));
    }
}
