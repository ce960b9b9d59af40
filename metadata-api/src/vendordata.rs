//! Vendordata: the StaticJSON file and nova's DynamicJSON REST targets.
//!
//! A dynamic target receives nova's body (project-id, instance-id, image-id,
//! user-data, hostname, metadata, boot-roles) by POST; its JSON answer is
//! served under the target's name in `vendor_data2.json`. A target that
//! fails (connect or read timeout, error status, a body that is not JSON)
//! is logged and contributes `{}` under its name, as nova's driver does,
//! unless `vendordata_dynamic_failure_fatal` turns the failure into a 500.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::config::{ApiMetadataOptions, VendordataProvider};
use crate::instance::InstanceView;

/// Why vendordata could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum VendordataError {
    /// The StaticJSON file is missing, unreadable or not JSON.
    #[error("vendordata_jsonfile_path[{path}]: {reason}")]
    StaticFile {
        /// The configured path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A dynamic target failed while `vendordata_dynamic_failure_fatal` is set.
    #[error("dynamic vendordata target {name} at {url} failed: {reason}")]
    DynamicFatal {
        /// The target's name.
        name: String,
        /// The target's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The HTTP client could not be built (bad certificate file).
    #[error("cannot build the vendordata HTTP client: {0}")]
    Client(String),
}

/// Reads the StaticJSON file; no path means `{}`.
pub fn load_static(path: Option<&Path>) -> Result<Value, VendordataError> {
    let Some(path) = path else {
        return Ok(json!({}));
    };
    let err = |reason: String| VendordataError::StaticFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            err("file does not exist".to_owned())
        } else {
            err(format!("unexpected error when reading: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("failed to load json: {e}")))
}

/// One `name@url` entry of `vendordata_dynamic_targets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The key under which the answer is served.
    pub name: String,
    /// Where to POST.
    pub url: String,
}

/// Parses the targets as nova does: split at the first `@`; entries without
/// one, and repeated names, are skipped with a warning.
pub fn parse_targets(entries: &[String]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for entry in entries {
        let Some((name, url)) = entry.split_once('@') else {
            tracing::warn!(target = %entry, "Vendordata target lacks a name. Skipping");
            continue;
        };
        if out.iter().any(|t| t.name == name) {
            tracing::warn!(target = %entry, "Vendordata already contains an entry with this name. Skipping");
            continue;
        }
        out.push(Target {
            name: name.to_owned(),
            url: url.to_owned(),
        });
    }
    out
}

/// The vendordata sources of one worker: the configured providers, the
/// parsed targets and one pooled HTTP client.
#[derive(Clone, Debug)]
pub struct Vendordata {
    providers: Vec<VendordataProvider>,
    static_path: Option<std::path::PathBuf>,
    targets: Vec<Target>,
    failure_fatal: bool,
    client: reqwest::Client,
}

impl Vendordata {
    /// Builds the sources from the `[api]` options, checking the StaticJSON
    /// file once so that a broken file fails start-up rather than requests.
    pub fn new(options: &ApiMetadataOptions) -> Result<Vendordata, VendordataError> {
        if options
            .vendordata_providers
            .contains(&VendordataProvider::StaticJson)
        {
            load_static(options.vendordata_jsonfile_path.as_deref())?;
        }
        let mut builder = reqwest::Client::builder()
            .user_agent("openstack-nova-vendordata")
            .connect_timeout(Duration::from_secs(
                options.vendordata_dynamic_connect_timeout,
            ))
            .read_timeout(Duration::from_secs(options.vendordata_dynamic_read_timeout));
        if let Some(certfile) = &options.vendordata_dynamic_ssl_certfile {
            let pem = std::fs::read(certfile)
                .map_err(|e| VendordataError::Client(format!("{}: {e}", certfile.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| VendordataError::Client(format!("{}: {e}", certfile.display())))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| VendordataError::Client(e.to_string()))?;
        let targets = if options
            .vendordata_providers
            .contains(&VendordataProvider::DynamicJson)
        {
            if !options.vendordata_dynamic_targets.is_empty() {
                tracing::warn!(
                    "Passing insecure dynamic vendordata requests: no service credentials are \
                     sent to the vendordata targets"
                );
            }
            parse_targets(&options.vendordata_dynamic_targets)
        } else {
            Vec::new()
        };
        Ok(Vendordata {
            providers: options.vendordata_providers.clone(),
            static_path: options.vendordata_jsonfile_path.clone(),
            targets,
            failure_fatal: options.vendordata_dynamic_failure_fatal,
            client,
        })
    }

    /// `vendor_data.json`: the static data, or `None` (404) when StaticJSON
    /// is not a configured provider.
    pub fn vendor_data(&self) -> Result<Option<Value>, VendordataError> {
        if !self.providers.contains(&VendordataProvider::StaticJson) {
            return Ok(None);
        }
        load_static(self.static_path.as_deref()).map(Some)
    }

    /// `vendor_data2.json`: `static` plus one key per dynamic target, in
    /// provider order; a dynamic key that is already present is dropped.
    pub async fn vendor_data2(&self, instance: &InstanceView) -> Result<Value, VendordataError> {
        let mut out = Map::new();
        for provider in &self.providers {
            match provider {
                VendordataProvider::StaticJson => {
                    out.insert(
                        "static".to_owned(),
                        load_static(self.static_path.as_deref())?,
                    );
                }
                VendordataProvider::DynamicJson => {
                    for (name, value) in self.dynamic(instance).await? {
                        if out.contains_key(&name) {
                            tracing::warn!(key = %name, instance = %instance.uuid, "Removing duplicate metadata key");
                            continue;
                        }
                        out.insert(name, value);
                    }
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// Asks every target at once; answers are returned in target order.
    async fn dynamic(
        &self,
        instance: &InstanceView,
    ) -> Result<Vec<(String, Value)>, VendordataError> {
        let body = json!({
            "project-id": instance.project_id,
            "instance-id": instance.uuid,
            "image-id": instance.image_ref,
            "user-data": instance.user_data_b64,
            "hostname": instance.hostname,
            "metadata": instance.metadata,
            "boot-roles": instance.boot_roles,
        });
        let calls = self.targets.iter().map(|t| self.call(t, &body));
        let answers = futures::future::join_all(calls).await;
        let mut out = Vec::with_capacity(answers.len());
        for (target, answer) in self.targets.iter().zip(answers) {
            match answer {
                Ok(value) => out.push((target.name.clone(), value)),
                Err(reason) => {
                    tracing::warn!(
                        service_name = %target.name,
                        url = %target.url,
                        error = %reason,
                        instance = %instance.uuid,
                        "Error from dynamic vendordata service"
                    );
                    if self.failure_fatal {
                        return Err(VendordataError::DynamicFatal {
                            name: target.name.clone(),
                            url: target.url.clone(),
                            reason,
                        });
                    }
                    out.push((target.name.clone(), json!({})));
                }
            }
        }
        Ok(out)
    }

    async fn call(&self, target: &Target, body: &Value) -> Result<Value, String> {
        let response = self
            .client
            .post(&target.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let text = response.text().await.map_err(|e| describe(&e))?;
        if text.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timed out: {e}")
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_at_the_first_at_sign_and_skip_bad_ones() {
        let parsed = parse_targets(&[
            "a@http://u:p@host/x".to_owned(),
            "nameless".to_owned(),
            "a@http://other/".to_owned(),
            "b@http://b/".to_owned(),
        ]);
        assert_eq!(
            parsed,
            vec![
                Target {
                    name: "a".into(),
                    url: "http://u:p@host/x".into()
                },
                Target {
                    name: "b".into(),
                    url: "http://b/".into()
                },
            ]
        );
    }

    #[test]
    fn static_file_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = load_static(Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{not json").unwrap();
        let err = load_static(Some(&bad)).unwrap_err();
        assert!(err.to_string().contains("failed to load json"), "{err}");
        let good = dir.path().join("good.json");
        std::fs::write(&good, br#"{"a": [1, 2]}"#).unwrap();
        assert_eq!(load_static(Some(&good)).unwrap(), json!({"a": [1, 2]}));
        assert_eq!(load_static(None).unwrap(), json!({}));
    }
}
