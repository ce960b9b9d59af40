//! TLS for the APIs named in `enabled_ssl_apis`, with nova's start-up
//! errors for missing files (nova-behaviour §1.3). rustls, because it needs
//! no system OpenSSL in the runtime images.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Why TLS could not be set up; the messages are nova's.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// cert or key not configured.
    #[error("When running server in SSL mode, you must specify both a cert_file and key_file option value in your configuration file")]
    MissingOption,
    /// A configured file does not exist.
    #[error("Unable to find {kind} : {path}")]
    NotFound {
        /// `cert_file`, `key_file` or `ca_file`.
        kind: &'static str,
        /// The configured path.
        path: String,
    },
    /// A file exists but holds no usable PEM item.
    #[error("Unable to load {kind} {path}: {reason}")]
    Invalid {
        /// `cert_file`, `key_file` or `ca_file`.
        kind: &'static str,
        /// The configured path.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

/// Builds the rustls server config from `[wsgi] ssl_cert_file`,
/// `ssl_key_file` and, when set, `ssl_ca_file` (then client certificates
/// are required, as nova's CERT_REQUIRED).
pub fn server_config(
    cert_file: Option<&str>,
    key_file: Option<&str>,
    ca_file: Option<&str>,
) -> Result<Arc<ServerConfig>, TlsError> {
    for (kind, path) in [
        ("cert_file", cert_file),
        ("ca_file", ca_file),
        ("key_file", key_file),
    ] {
        if let Some(path) = path {
            if !Path::new(path).exists() {
                return Err(TlsError::NotFound {
                    kind,
                    path: path.to_owned(),
                });
            }
        }
    }
    let (Some(cert_file), Some(key_file)) = (cert_file, key_file) else {
        return Err(TlsError::MissingOption);
    };
    let certs = load_certs("cert_file", cert_file)?;
    let key = load_key(key_file)?;
    let builder =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("cert_file", cert_file, e))?;
    let builder = match ca_file {
        Some(ca_file) => {
            let mut roots = RootCertStore::empty();
            for cert in load_certs("ca_file", ca_file)? {
                roots
                    .add(cert)
                    .map_err(|e| invalid("ca_file", ca_file, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::new(rustls::crypto::ring::default_provider()),
            )
            .build()
            .map_err(|e| invalid("ca_file", ca_file, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid("key_file", key_file, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn invalid(kind: &'static str, path: &str, reason: impl ToString) -> TlsError {
    TlsError::Invalid {
        kind,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn load_certs(kind: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let file = File::open(path).map_err(|e| invalid(kind, path, e))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(kind, path, e))?;
    if certs.is_empty() {
        return Err(invalid(kind, path, "no certificate in file"));
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let file = File::open(path).map_err(|e| invalid("key_file", path, e))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| invalid("key_file", path, e))?
        .ok_or_else(|| invalid("key_file", path, "no private key in file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cert_file_is_named_as_nova_names_it() {
        let err = server_config(
            Some("/nonexistent/cert.pem"),
            Some("/nonexistent/key.pem"),
            None,
        )
        .expect_err("missing file");
        assert_eq!(
            err.to_string(),
            "Unable to find cert_file : /nonexistent/cert.pem"
        );
    }

    #[test]
    fn ssl_without_key_option_is_refused() {
        let err = server_config(None, None, None).expect_err("no options");
        assert!(err
            .to_string()
            .starts_with("When running server in SSL mode"));
    }
}
