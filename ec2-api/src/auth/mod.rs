//! Authentication of EC2 requests: who the caller is ([`Ec2Context`]), where
//! EC2 credentials come from ([`CredentialSource`]), nova's NoAuth reading of
//! the access key, and verification of Signature Version 2 and 4 requests,
//! locally or by Keystone ([`keystone`]).

pub mod keystone;
pub mod sigv2;
pub mod sigv4;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::error::Ec2Error;
use crate::query::Params;

/// The authenticated caller of an EC2 request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Context {
    /// The access key the request named.
    pub access_key: String,
    /// The user id.
    pub user_id: String,
    /// The project (tenant) id; every action is scoped to it unless admin.
    pub project_id: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Whether the caller is an administrator.
    pub is_admin: bool,
}

/// One EC2 credential: an access key, its secret and whom it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Credential {
    /// The access key (public half).
    pub access: String,
    /// The secret key.
    pub secret: String,
    /// The user the credential belongs to.
    pub user_id: String,
    /// The project the credential is scoped to.
    pub project_id: String,
    /// Whether the user is an administrator.
    pub is_admin: bool,
}

impl Ec2Credential {
    /// The request context of a request signed with this credential.
    pub fn context(&self) -> Ec2Context {
        Ec2Context {
            access_key: self.access.clone(),
            user_id: self.user_id.clone(),
            project_id: self.project_id.clone(),
            roles: if self.is_admin {
                vec!["admin".into()]
            } else {
                vec!["member".into()]
            },
            is_admin: self.is_admin,
        }
    }
}

/// A boxed future, so that [`CredentialSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the secret of an access key is looked up.
pub trait CredentialSource: Send + Sync {
    /// The credential of `access`, `None` if unknown; `Err` for a store failure.
    fn lookup<'a>(
        &'a self,
        access: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Option<Ec2Credential>>>;
}

/// A fixed set of credentials held in memory (tests, tools).
#[derive(Clone, Debug, Default)]
pub struct StaticCredentials(pub HashMap<String, Ec2Credential>);

impl StaticCredentials {
    /// A set holding `creds`.
    pub fn new(creds: impl IntoIterator<Item = Ec2Credential>) -> Self {
        Self(creds.into_iter().map(|c| (c.access.clone(), c)).collect())
    }
}

impl CredentialSource for StaticCredentials {
    fn lookup<'a>(
        &'a self,
        access: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<Option<Ec2Credential>>> {
        Box::pin(async move { Ok(self.0.get(access).cloned()) })
    }
}

/// What signature verification needs to know about a request.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path as the client addressed it (the urlmap prefix included), as on the wire.
    pub path: &'a str,
    /// Another spelling of the path the client may have signed (`/prefix`
    /// when the app saw `/prefix/` through a urlmap).
    pub alt_path: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The pairs of the URL's query string, in order.
    pub query_pairs: &'a [(String, String)],
    /// Every parameter (query and form body).
    pub params: &'a Params,
    /// The raw body.
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// The `Host` header, or empty.
    pub fn host(&self) -> &str {
        self.headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
    }

    /// The path spellings to try, the one as seen first.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path).chain(self.alt_path)
    }

    fn authorization(&self) -> Option<&str> {
        self.headers
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
    }
}

/// The access key a request names: `AWSAccessKeyId`, the first field of
/// `X-Amz-Credential`, or of the `Credential=` of an `Authorization` header.
pub fn access_key_of(headers: &HeaderMap, params: &Params) -> Option<String> {
    if let Some(k) = params.get("AWSAccessKeyId") {
        return Some(k.to_string());
    }
    if let Some(c) = params.get("X-Amz-Credential") {
        return sigv4::split_credential(c).map(|(k, _)| k.to_string());
    }
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let parsed = sigv4::parse_authorization(auth).ok()?;
    sigv4::split_credential(&parsed.credential).map(|(k, _)| k.to_string())
}

/// nova's NoAuth: the access key is `user[:project]` (the project defaults to
/// the user); nothing is verified; the caller is admin when the user is `admin`.
pub fn noauth_context(headers: &HeaderMap, params: &Params) -> Result<Ec2Context, Ec2Error> {
    let access = access_key_of(headers, params)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Ec2Error::AuthFailure("Access key not provided".into()))?;
    let (user, project) = match access.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => (u.to_string(), p.to_string()),
        _ => (access.clone(), access.clone()),
    };
    let is_admin = user == "admin";
    Ok(Ec2Context {
        access_key: access,
        roles: if is_admin {
            vec!["admin".into()]
        } else {
            vec!["member".into()]
        },
        user_id: user,
        project_id: project,
        is_admin,
    })
}

/// Verifies a signed request (SigV4 header or query, or SigV2) against
/// `creds` at time `now`, allowing `expiry_secs` of clock skew; a SigV4
/// signature must also be scoped and cover what `policy` says.
pub async fn verify(
    req: &SignedRequest<'_>,
    creds: &dyn CredentialSource,
    now: DateTime<Utc>,
    expiry_secs: u64,
    policy: sigv4::Policy<'_>,
) -> Result<Ec2Context, Ec2Error> {
    let scheme = if req
        .authorization()
        .is_some_and(|a| a.starts_with(sigv4::ALGORITHM))
    {
        Scheme::V4Header
    } else if req.params.get("X-Amz-Algorithm").is_some()
        || req.params.get("X-Amz-Signature").is_some()
    {
        Scheme::V4Query
    } else if req.params.get("Signature").is_some() {
        Scheme::V2
    } else if req.authorization().is_some() {
        return Err(Ec2Error::AuthFailure(
            "Unsupported Authorization header".into(),
        ));
    } else {
        return Err(Ec2Error::AuthFailure("Signature not provided".into()));
    };
    let access = match scheme {
        Scheme::V4Header | Scheme::V4Query => access_key_of(req.headers, req.params),
        Scheme::V2 => req.params.get("AWSAccessKeyId").map(str::to_string),
    }
    .filter(|a| !a.is_empty())
    .ok_or_else(|| Ec2Error::AuthFailure("Access key not provided".into()))?;
    let cred = creds
        .lookup(&access)
        .await
        .map_err(|e| Ec2Error::Internal(format!("EC2 credential lookup failed: {e:#}")))?
        .ok_or_else(|| {
            Ec2Error::AuthFailure(
                "AWS was not able to validate the provided access credentials".into(),
            )
        })?;
    match scheme {
        Scheme::V4Header => sigv4::verify_header(req, &cred.secret, now, expiry_secs, policy)?,
        Scheme::V4Query => sigv4::verify_query(req, &cred.secret, now, expiry_secs, policy)?,
        Scheme::V2 => sigv2::verify(req, &cred.secret, now, expiry_secs)?,
    }
    Ok(cred.context())
}

enum Scheme {
    V4Header,
    V4Query,
    V2,
}

/// Constant-time equality of two byte strings (length leaks, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Percent-encodes with AWS's rules: everything but `A-Za-z0-9-_.~` (and the
/// bytes in `keep`) becomes `%XX` in upper-case hex.
pub fn aws_encode(s: &str, keep: &[u8], out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep.contains(&b)
        {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
}

/// Checks a signed request time against ours: more than `expiry_secs` either
/// way is `RequestExpired` (nova's `ec2_timestamp_expiry` rule).
pub fn check_skew(t: DateTime<Utc>, now: DateTime<Utc>, expiry_secs: u64) -> Result<(), Ec2Error> {
    let skew = (now - t).num_seconds().unsigned_abs();
    if skew > expiry_secs {
        return Err(Ec2Error::RequestExpired(format!(
            "Request has expired. Timestamp date is {}",
            t.format("%Y-%m-%dT%H:%M:%SZ")
        )));
    }
    Ok(())
}

/// nova's `Timestamp`/`Expires` parameter check (Requestify, SigV2): both
/// together are refused; a `Timestamp` outside the window or an `Expires` in
/// the past is `RequestExpired`; an unreadable time counts as expired.
pub fn check_param_times(
    params: &Params,
    now: DateTime<Utc>,
    expiry_secs: u64,
) -> Result<(), Ec2Error> {
    match (params.get("Timestamp"), params.get("Expires")) {
        (Some(_), Some(_)) => Err(Ec2Error::InvalidParameterCombination(
            "Request can not contain both Timestamp and Expires".into(),
        )),
        (Some(ts), None) => {
            let t = parse_iso_time(ts).ok_or_else(|| {
                Ec2Error::RequestExpired(format!("Request has expired. Timestamp {ts} is invalid"))
            })?;
            check_skew(t, now, expiry_secs)
        }
        (None, Some(ex)) => {
            let t = parse_iso_time(ex).ok_or_else(|| {
                Ec2Error::RequestExpired(format!("Request has expired. Expires {ex} is invalid"))
            })?;
            if t < now {
                return Err(Ec2Error::RequestExpired(format!(
                    "Request has expired. Expires date is {ex}"
                )));
            }
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (and any RFC 3339 offset).
pub fn parse_iso_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;

    fn params(s: &str) -> Params {
        parse_query(s.as_bytes(), None).unwrap().params
    }

    #[test]
    fn noauth_reads_user_and_project_from_access_key() {
        let c = noauth_context(&HeaderMap::new(), &params("AWSAccessKeyId=alice:proj1")).unwrap();
        assert_eq!(
            (c.user_id.as_str(), c.project_id.as_str(), c.is_admin),
            ("alice", "proj1", false)
        );
        let c = noauth_context(&HeaderMap::new(), &params("AWSAccessKeyId=admin")).unwrap();
        assert_eq!(
            (c.user_id.as_str(), c.project_id.as_str(), c.is_admin),
            ("admin", "admin", true)
        );
    }

    #[test]
    fn noauth_reads_sigv4_credential_header() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=bob:p2/20261124/RegionOne/ec2/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        let c = noauth_context(&h, &Params::default()).unwrap();
        assert_eq!((c.user_id.as_str(), c.project_id.as_str()), ("bob", "p2"));
    }

    #[test]
    fn noauth_without_access_key_is_auth_failure() {
        assert!(matches!(
            noauth_context(&HeaderMap::new(), &Params::default()),
            Err(Ec2Error::AuthFailure(_))
        ));
    }

    #[test]
    fn timestamp_rules_follow_nova() {
        let now = parse_iso_time("2026-11-24T12:00:00Z").unwrap();
        assert!(check_param_times(&params("Timestamp=2026-11-24T11:56:00Z"), now, 300).is_ok());
        assert!(check_param_times(&params("Timestamp=2026-11-24T12:04:00.123Z"), now, 300).is_ok());
        assert!(matches!(
            check_param_times(&params("Timestamp=2026-11-24T11:54:00Z"), now, 300),
            Err(Ec2Error::RequestExpired(_))
        ));
        assert!(matches!(
            check_param_times(&params("Timestamp=2026-11-24T12:06:00Z"), now, 300),
            Err(Ec2Error::RequestExpired(_))
        ));
        assert!(matches!(
            check_param_times(&params("Timestamp=garbage"), now, 300),
            Err(Ec2Error::RequestExpired(_))
        ));
        assert!(matches!(
            check_param_times(&params("Expires=2026-11-24T11:59:59Z"), now, 300),
            Err(Ec2Error::RequestExpired(_))
        ));
        assert!(check_param_times(&params("Expires=2026-11-24T13:00:00Z"), now, 300).is_ok());
        assert!(matches!(
            check_param_times(
                &params("Expires=2026-11-24T13:00:00Z&Timestamp=2026-11-24T12:00:00Z"),
                now,
                300
            ),
            Err(Ec2Error::InvalidParameterCombination(_))
        ));
    }

    #[test]
    fn aws_encoding_keeps_only_unreserved() {
        let mut s = String::new();
        aws_encode("a b/c~*é", b"", &mut s);
        assert_eq!(s, "a%20b%2Fc~%2A%C3%A9");
    }
}
