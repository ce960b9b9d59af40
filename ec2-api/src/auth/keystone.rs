//! The keystone mode: signatures are checked by Keystone, which holds the
//! EC2 credentials (`openstack ec2 credentials create`), as nova's
//! `EC2KeystoneAuth` did. The request's signature parts go to
//! `POST /v3/ec2tokens` (SigV2 and SigV4, header or presigned) under the
//! service user's token from `[keystone_authtoken]`; Keystone answers with a
//! token for the credential's owner, whose roles make the context.
//!
//! A refused signature is `AuthFailure`; Keystone unreachable is 503
//! `Unavailable` and the action is not run.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use nova_middleware::authtoken::{truncated, Keystone, KeystoneError, TokenInfo};

use super::{sigv4, Ec2Context, SignedRequest};
use crate::config::Ec2Options;
use crate::error::Ec2Error;

/// `Host`, `X-Amz-Date`, `Content-Type`: Keystone looks up `Authorization`
/// and `X-Amz-Date` by their exact spelling, so every name is re-cased.
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The `credentials` object nova's EC2KeystoneAuth sent for `req`, signed
/// on `path`; `None` when the request carries no signature at all.
pub fn credentials_body(req: &SignedRequest<'_>, path: &str) -> Result<Value, Ec2Error> {
    let no_access = || Ec2Error::AuthFailure("Access key not provided".into());
    let pairs = |skip: &str| -> BTreeMap<String, String> {
        req.query_pairs
            .iter()
            .filter(|(k, _)| k != skip)
            .cloned()
            .collect()
    };
    let authorization = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let (access, signature, params) =
        if let Some(a) = authorization.filter(|a| a.starts_with(sigv4::ALGORITHM)) {
            let parsed = sigv4::parse_authorization(a)?;
            let access = sigv4::split_credential(&parsed.credential)
                .map(|(k, _)| k.to_string())
                .ok_or_else(no_access)?;
            (access, parsed.signature, pairs(""))
        } else if let Some(signature) = req.params.get("X-Amz-Signature") {
            let credential = req.params.get("X-Amz-Credential").ok_or_else(no_access)?;
            let access = sigv4::split_credential(credential)
                .map(|(k, _)| k.to_string())
                .ok_or_else(no_access)?;
            (access, signature.to_string(), pairs("X-Amz-Signature"))
        } else if let Some(signature) = req.params.get("Signature") {
            let access = req
                .params
                .get("AWSAccessKeyId")
                .ok_or_else(no_access)?
                .to_string();
            let params = req
                .params
                .iter()
                .filter(|(k, _)| *k != "Signature")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (access, signature.to_string(), params)
        } else if authorization.is_some() {
            return Err(Ec2Error::AuthFailure(
                "Unsupported Authorization header".into(),
            ));
        } else {
            return Err(Ec2Error::AuthFailure("Signature not provided".into()));
        };
    if access.is_empty() {
        return Err(no_access());
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in req.headers {
        let Ok(value) = value.to_str() else { continue };
        headers
            .entry(title_case(name.as_str()))
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    Ok(json!({
        "access": access,
        "signature": signature,
        "host": req.host(),
        "verb": req.method.to_ascii_uppercase(),
        "path": path,
        "params": params,
        "headers": headers,
        "body_hash": hex::encode(Sha256::digest(req.body)),
    }))
}

/// What Keystone said about an EC2 signature.
#[derive(Debug)]
enum Ec2Verdict {
    /// Accepted: the token Keystone issued for the credential's owner.
    Accepted(Box<TokenInfo>),
    /// Refused (bad signature, unknown access key, stale date): Keystone's
    /// status and message.
    Refused {
        /// Keystone's status (401, 404, 400).
        status: u16,
        /// Keystone's message.
        message: String,
    },
}

/// Asks Keystone at `url` (`.../v3/ec2tokens`) whether the signature in
/// `credentials` (nova's EC2KeystoneAuth body) is right.
async fn ec2tokens(
    keystone: &Keystone,
    url: &str,
    credentials: &serde_json::Value,
) -> Result<Ec2Verdict, KeystoneError> {
    let body = serde_json::json!({ "credentials": credentials });
    let (status, text) = keystone.post_as_service(url, &body).await?;
    match status.as_u16() {
        200 => TokenInfo::from_body(text.as_bytes())
            .map(|t| Ec2Verdict::Accepted(Box::new(t)))
            .map_err(|e| KeystoneError::Unexpected {
                status: 200,
                body: e,
            }),
        status @ (400 | 401 | 404) => {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| truncated(&text));
            Ok(Ec2Verdict::Refused { status, message })
        }
        403 => Err(KeystoneError::ServiceAuth {
            status: 403,
            body: truncated(&text),
        }),
        status => Err(KeystoneError::Unexpected {
            status,
            body: truncated(&text),
        }),
    }
}

/// One worker's Keystone client for EC2 signatures.
#[derive(Debug)]
pub struct KeystoneEc2 {
    keystone: Keystone,
    url: String,
}

impl KeystoneEc2 {
    /// The client for `options` (`[keystone_authtoken]`, `keystone_ec2_url`).
    pub fn new(options: &Ec2Options) -> Result<Self, KeystoneError> {
        let conf = options
            .keystone
            .clone()
            .ok_or_else(|| KeystoneError::Setup("[keystone_authtoken] is not configured".into()))?;
        let url = options
            .keystone_ec2_url
            .clone()
            .unwrap_or_else(|| format!("{}/ec2tokens", conf.identity_url));
        Ok(Self {
            keystone: Keystone::new(conf)?,
            url,
        })
    }

    /// Has Keystone check the signature of `req` as signed on each of
    /// `paths` in turn; the caller's context on success.
    pub async fn verify(
        &self,
        req: &SignedRequest<'_>,
        paths: &[&str],
    ) -> Result<Ec2Context, Ec2Error> {
        for path in paths {
            let body = credentials_body(req, path)?;
            let access = body["access"].as_str().unwrap_or_default().to_string();
            match ec2tokens(&self.keystone, &self.url, &body).await {
                Ok(Ec2Verdict::Accepted(token)) => {
                    let project_id = token.project_id.clone().ok_or_else(|| {
                        Ec2Error::AuthFailure("The EC2 credential has no project".into())
                    })?;
                    let is_admin = token.roles.iter().any(|r| r.eq_ignore_ascii_case("admin"));
                    return Ok(Ec2Context {
                        access_key: access,
                        user_id: token.user_id.clone(),
                        project_id,
                        roles: token.roles.clone(),
                        is_admin,
                    });
                }
                Ok(Ec2Verdict::Refused { status, message }) => {
                    tracing::info!(access_key = %access, status, %message, "Keystone refused an EC2 signature");
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot check an EC2 signature with Keystone: answering 503");
                    return Err(Ec2Error::Unavailable);
                }
            }
        }
        Err(Ec2Error::AuthFailure(
            "AWS was not able to validate the provided access credentials".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased_for_keystone() {
        assert_eq!(title_case("x-amz-date"), "X-Amz-Date");
        assert_eq!(title_case("authorization"), "Authorization");
        assert_eq!(title_case("content-type"), "Content-Type");
    }
}
