//! Which instance is asking: by the caller's address, or by the signed
//! headers a neutron metadata proxy adds (`X-Instance-ID`, `X-Tenant-ID`,
//! `X-Instance-ID-Signature`), with nova's 400/403 answers for bad headers.
//! The lookup itself (404 for no instance or a foreign tenant) happens in
//! the handler.

use std::net::IpAddr;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::NeutronMetadataOptions;
use crate::error::MetadataError;

/// How the caller names its instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Direct mode: the instance owning this fixed IP.
    Address(IpAddr),
    /// Proxy mode: the instance whose id the proxy signed, which must belong
    /// to `tenant_id`.
    Instance {
        /// `X-Instance-ID`.
        instance_id: String,
        /// `X-Tenant-ID`.
        tenant_id: String,
        /// The first `X-Forwarded-For` address, what nova passes as the
        /// instance's address.
        address: Option<String>,
    },
    /// Proxy mode behind a load balancer (`X-Metadata-Provider`).
    Provider {
        /// `X-Metadata-Provider`.
        provider_id: String,
        /// The first `X-Forwarded-For` address.
        address: String,
    },
    /// A direct request with no known peer address: no instance.
    Nobody,
}

impl Caller {
    /// The string an IMDSv2 token is bound to: the same caller must present
    /// the token it was given.
    pub fn token_subject(&self) -> String {
        match self {
            Caller::Address(ip) => format!("ip:{ip}"),
            Caller::Instance { instance_id, .. } => format!("instance:{instance_id}"),
            Caller::Provider {
                provider_id,
                address,
            } => format!("provider:{provider_id}:{address}"),
            Caller::Nobody => "nobody".to_owned(),
        }
    }
}

/// `hex(HMAC-SHA256(secret, message))`: the signature a neutron metadata
/// proxy sends for an instance (or provider) id.
pub fn sign(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` is the right one for `message`, compared in constant
/// time. An empty signature is never right.
pub fn signature_matches(secret: &str, message: &str, signature: &str) -> bool {
    if signature.is_empty() {
        return false;
    }
    let expected = sign(secret, message);
    expected.as_bytes().ct_eq(signature.as_bytes()).into()
}

/// One header's value: `Ok(None)` when absent, a 400 when repeated.
fn single_header(
    headers: &HeaderMap,
    name: &str,
    multiple_msg: Option<&str>,
) -> Result<Option<String>, MetadataError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        if let Some(msg) = multiple_msg {
            return Err(MetadataError::BadRequest(msg.to_owned()));
        }
    }
    Ok(Some(String::from_utf8_lossy(first.as_bytes()).into_owned()))
}

/// Works out who is asking, answering bad proxy headers as nova does:
/// 400 for a missing or repeated header, 403 for a wrong signature.
pub fn identify(
    headers: &HeaderMap,
    remote: Option<IpAddr>,
    conf: &NeutronMetadataOptions,
) -> Result<Caller, MetadataError> {
    if !conf.service_metadata_proxy {
        if headers.contains_key("x-instance-id") {
            tracing::warn!(
                "X-Instance-ID present in request headers. The 'service_metadata_proxy' option \
                 must be enabled to process this header."
            );
        }
        return Ok(remote.map(Caller::Address).unwrap_or(Caller::Nobody));
    }
    let forwarded = single_header(headers, "x-forwarded-for", None)?;
    if headers.contains_key("x-metadata-provider") {
        let Some(forwarded) = forwarded else {
            return Err(MetadataError::BadRequest(
                "X-Forwarded-For is missing from request.".to_owned(),
            ));
        };
        let provider_id = single_header(headers, "x-metadata-provider", None)?.unwrap_or_default();
        let address = forwarded.split(',').next().unwrap_or("").trim().to_owned();
        if !conf.metadata_proxy_shared_secret.is_empty() {
            let signature =
                single_header(headers, "x-metadata-provider-signature", None)?.unwrap_or_default();
            check_signature(conf, &provider_id, &signature, &address)?;
        }
        return Ok(Caller::Provider {
            provider_id,
            address,
        });
    }
    let instance_id = single_header(
        headers,
        "x-instance-id",
        Some("Multiple X-Instance-ID headers found within request."),
    )?;
    let signature = single_header(headers, "x-instance-id-signature", None)?;
    let tenant_id = single_header(
        headers,
        "x-tenant-id",
        Some("Multiple X-Tenant-ID headers found within request."),
    )?;
    let Some(instance_id) = instance_id else {
        return Err(MetadataError::BadRequest(
            "X-Instance-ID header is missing from request.".to_owned(),
        ));
    };
    let Some(signature) = signature else {
        return Err(MetadataError::BadRequest(
            "X-Instance-ID-Signature header is missing from request.".to_owned(),
        ));
    };
    let Some(tenant_id) = tenant_id else {
        return Err(MetadataError::BadRequest(
            "X-Tenant-ID header is missing from request.".to_owned(),
        ));
    };
    let address = forwarded.map(|f| f.split(',').next().unwrap_or("").trim().to_owned());
    check_signature(
        conf,
        &instance_id,
        &signature,
        address.as_deref().unwrap_or(""),
    )?;
    Ok(Caller::Instance {
        instance_id,
        tenant_id,
        address,
    })
}

fn check_signature(
    conf: &NeutronMetadataOptions,
    id: &str,
    signature: &str,
    from: &str,
) -> Result<(), MetadataError> {
    if signature_matches(&conf.metadata_proxy_shared_secret, id, signature) {
        return Ok(());
    }
    tracing::warn!(
        signature,
        requestor_id = id,
        requestor_address = from,
        "X-Instance-ID-Signature does not match the expected signature"
    );
    Err(MetadataError::Forbidden(
        "Invalid proxy request signature.".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const UUID: &str = "d8e02d56-2648-49a3-bf97-6be8f1204f38";

    fn proxy_conf() -> NeutronMetadataOptions {
        NeutronMetadataOptions {
            service_metadata_proxy: true,
            metadata_proxy_shared_secret: "s3cr3t".to_owned(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn signature_is_hex_hmac_sha256_of_the_id() {
        // Reference value computed with Python's hmac module:
        // hmac.new(b"s3cr3t", UUID.encode(), hashlib.sha256).hexdigest()
        let sig = sign("s3cr3t", UUID);
        assert_eq!(
            sig,
            "2027ef4e23a951e81b0c43cf770762ea65d8944762ac8d3a30eb88f59388faae"
        );
        assert!(signature_matches("s3cr3t", UUID, &sig));
        assert!(!signature_matches("other", UUID, &sig));
        assert!(!signature_matches("s3cr3t", UUID, ""));
        assert!(!signature_matches("s3cr3t", UUID, &sig[..63]));
    }

    #[test]
    fn direct_mode_identifies_by_address() {
        let ip: IpAddr = "10.0.0.3".parse().unwrap();
        let caller = identify(
            &HeaderMap::new(),
            Some(ip),
            &NeutronMetadataOptions::default(),
        );
        assert_eq!(caller, Ok(Caller::Address(ip)));
        let nobody = identify(&HeaderMap::new(), None, &NeutronMetadataOptions::default());
        assert_eq!(nobody, Ok(Caller::Nobody));
    }

    #[test]
    fn proxy_mode_accepts_a_right_signature() {
        let sig = sign("s3cr3t", UUID);
        let h = headers(&[
            ("x-instance-id", UUID),
            ("x-tenant-id", "proj"),
            ("x-instance-id-signature", &sig),
            ("x-forwarded-for", "10.0.0.3"),
        ]);
        assert_eq!(
            identify(&h, None, &proxy_conf()),
            Ok(Caller::Instance {
                instance_id: UUID.to_owned(),
                tenant_id: "proj".to_owned(),
                address: Some("10.0.0.3".to_owned()),
            })
        );
    }

    #[test]
    fn proxy_mode_answers_missing_headers_with_novas_400s() {
        let sig = sign("s3cr3t", UUID);
        let cases = [
            (
                headers(&[("x-tenant-id", "p"), ("x-instance-id-signature", &sig)]),
                "X-Instance-ID header is missing from request.",
            ),
            (
                headers(&[("x-instance-id", UUID), ("x-tenant-id", "p")]),
                "X-Instance-ID-Signature header is missing from request.",
            ),
            (
                headers(&[("x-instance-id", UUID), ("x-instance-id-signature", &sig)]),
                "X-Tenant-ID header is missing from request.",
            ),
            (
                headers(&[
                    ("x-instance-id", UUID),
                    ("x-instance-id", UUID),
                    ("x-tenant-id", "p"),
                    ("x-instance-id-signature", &sig),
                ]),
                "Multiple X-Instance-ID headers found within request.",
            ),
        ];
        for (h, msg) in cases {
            assert_eq!(
                identify(&h, None, &proxy_conf()),
                Err(MetadataError::BadRequest(msg.to_owned()))
            );
        }
    }

    #[test]
    fn proxy_mode_answers_a_wrong_signature_with_403() {
        let h = headers(&[
            ("x-instance-id", UUID),
            ("x-tenant-id", "p"),
            ("x-instance-id-signature", &sign("wrong", UUID)),
        ]);
        assert_eq!(
            identify(&h, None, &proxy_conf()),
            Err(MetadataError::Forbidden(
                "Invalid proxy request signature.".to_owned()
            ))
        );
    }

    #[test]
    fn provider_mode_needs_forwarded_for() {
        let h = headers(&[("x-metadata-provider", "prov")]);
        assert_eq!(
            identify(&h, None, &proxy_conf()),
            Err(MetadataError::BadRequest(
                "X-Forwarded-For is missing from request.".to_owned()
            ))
        );
    }
}
