//! The metadata service that guests (cloud-init) read at 169.254.169.254:
//! nova's EC2-style and OpenStack trees, instance identification by address
//! or by signed neutron proxy headers, vendordata, the instance password,
//! and IMDSv2 session tokens.
//!
//! The crate is a library so that the whole service can be driven
//! in-process ([`MetadataService::handle`]); `main.rs` only hands it to the
//! runtime's launcher through [`register_factories`], after putting the
//! worker's `Arc<MetadataService>` (see [`service_over_compute`]) into the
//! paste resources.
//!
//! # Map
//!
//! | module | holds |
//! |---|---|
//! | [`paths`] | the path router (nova's `lookup`): total, the fuzz target |
//! | [`versions`] | EC2 and OpenStack versions, future ones hidden from listings |
//! | [`render`] | the EC2 tree, `meta_data.json` per version, `network_data.json` |
//! | [`identity`] | caller by address or by signed `X-Instance-ID` headers |
//! | [`token`] | IMDSv2 session tokens (stateless, HMAC-signed) |
//! | [`vendordata`] | StaticJSON and DynamicJSON vendordata |
//! | [`password`] | nova's password limits and chunking |
//! | [`cache`] | the per-worker expiring instance cache |
//! | [`app`] | the handler that ties it together |
//! | [`error`] | errors, rendered as webob renders nova's |
//! | [`instance`], [`compute_source`] | the instance snapshot and the compute domain behind it |
//! | [`factories`] | paste factories under nova's names |
//! | [`config`] | the nova.conf options read here |
//!
//! # Decisions
//!
//! - **Faithful to nova**: paths, listings, version gating, content types
//!   (including `network_data.json` served as `text/plain`, the password as
//!   `text/html`), error bodies (webob's HTML/JSON/plain choice by `Accept`),
//!   a failing dynamic vendordata target served as `{}` under its name.
//! - **Where nova answers 500 by accident** (a path that runs into a leaf,
//!   `/latest/meta-data/hostname/x`; a list item as a path), we answer 404.
//! - **Password reads and writes go to the store**, not the cache, so a
//!   guest sees its own POST at once and the 409 check is atomic.
//! - **Identification before the cache**: the cache only saves the store
//!   lookup; signature and tenant checks run on every request.
//! - **IMDSv2 tokens** are optional unless `[metadata] imds_tokens_required`;
//!   a token PUT that carries `X-Forwarded-For` is refused (behind neutron's
//!   proxy, which adds one hop, only a second hop is refused).
#![forbid(unsafe_code)]

pub mod app;
pub mod cache;
pub mod compute_source;
pub mod config;
pub mod error;
pub mod factories;
pub mod identity;
pub mod instance;
pub mod password;
pub mod paths;
pub mod render;
pub mod token;
pub mod vendordata;
pub mod versions;

pub use app::MetadataService;
pub use compute_source::ComputeSource;
pub use config::MetadataConfig;
pub use error::MetadataError;
pub use factories::register_factories;
pub use instance::{InstanceSource, InstanceView};

/// Builds a worker's metadata service over the compute domain: what the
/// binary's per-worker `init` puts (as `Arc<MetadataService>`) into the
/// resources the `MetadataRequestHandler.factory` app takes it from.
pub fn service_over_compute(
    config: MetadataConfig,
    compute: compute::Compute,
) -> anyhow::Result<std::sync::Arc<MetadataService>> {
    let source = std::sync::Arc::new(ComputeSource::new(compute));
    Ok(std::sync::Arc::new(MetadataService::new(config, source)?))
}
