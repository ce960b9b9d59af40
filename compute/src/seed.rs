//! Seeding: nova's classic flavors, a cirros image, a shared network
//! `private` and an external network `public`, each with one subnet, on
//! the first migration (as devstack leaves a fresh cloud), and catalogue
//! files
//! operators load without writing SQL.
//!
//! A seed file is JSON:
//! `{"flavors": [{"id": "6", "name": "m1.huge", "vcpus": 16, "ram": 32768, "disk": 320}],
//!   "images": [{"name": "ubuntu", "disk_format": "qcow2", "container_format": "bare"}]}`
//! (fields as [`NewFlavor`] and [`NewImage`]). Applying it twice changes
//! nothing: flavors whose id or name exist and images whose uuid or name
//! exist are skipped.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::flavor::NewFlavor;
use crate::image::NewImage;
use crate::store::{args, now_micros, Tx};
use crate::{Compute, Error, ImageFilter, RequestContext, Result};

/// The uuid of the seeded cirros image (the same in every deployment, so
/// tests and processes agree).
pub const CIRROS_IMAGE_UUID: &str = "3f1e6d2a-8b4c-4e7f-9a5d-0c2b1e8f7a6d";
/// The name of the seeded cirros image.
pub const CIRROS_IMAGE_NAME: &str = "cirros";
/// The owner project of seeded images.
pub const SEED_OWNER: &str = "admin";

/// nova's classic flavors: (id, name, vcpus, ram MiB, disk GiB).
pub const DEFAULT_FLAVORS: &[(&str, &str, i64, i64, i64)] = &[
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
];

/// The name of the seeded shared network.
pub const PRIVATE_NETWORK_NAME: &str = "private";
/// The name of the seeded network's subnet.
pub const PRIVATE_SUBNET_NAME: &str = "private-subnet";

/// The name of the seeded external network (floating IPs and router
/// gateways get their addresses there).
pub const PUBLIC_NETWORK_NAME: &str = "public";
/// The name of the seeded external network's subnet.
pub const PUBLIC_SUBNET_NAME: &str = "public-subnet";

/// Seeds the default flavors, the cirros image, the shared network
/// `private` with a subnet of `network` and the external network `public`
/// with a subnet of `external` (first migration).
pub(crate) async fn seed_defaults(
    tx: &mut Tx,
    network: ipnet::Ipv4Net,
    external: ipnet::Ipv4Net,
) -> Result<()> {
    let now = now_micros();
    for (id, name, vcpus, ram, disk) in DEFAULT_FLAVORS {
        tx.execute(
            "INSERT INTO flavors (flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, \
             disabled, created_at) VALUES ($1, $2, $3, $4, $5, 0, 0, 1.0, TRUE, FALSE, $6)",
            args![*id, *name, *vcpus, *ram, *disk, now],
        )
        .await?;
    }
    let props = serde_json::json!({
        "hw_rng_model": "virtio",
        "os_distro": "cirros",
        "os_type": "linux",
        "architecture": "x86_64",
        "os_hash_algo": "sha512",
        "owner_specified.openstack.object": "images/cirros-0.6.2-x86_64-disk",
    });
    tx.execute(
        "INSERT INTO images (uuid, name, status, visibility, owner, disk_format, container_format, min_disk, min_ram, size, \
         protected, properties, created_at, updated_at) VALUES ($1, $2, 'active', 'public', $3, 'qcow2', 'bare', 0, 0, \
         21430272, FALSE, $4, $5, $5)",
        args![CIRROS_IMAGE_UUID, CIRROS_IMAGE_NAME, SEED_OWNER, props.to_string(), now],
    )
    .await?;
    use crate::network::{seed_network, SeededNetwork};
    seed_network(
        tx,
        &SeededNetwork {
            name: PRIVATE_NETWORK_NAME,
            subnet_name: PRIVATE_SUBNET_NAME,
            cidr: network,
            shared: true,
            external: false,
            enable_dhcp: true,
        },
        now,
    )
    .await?;
    seed_network(
        tx,
        &SeededNetwork {
            name: PUBLIC_NETWORK_NAME,
            subnet_name: PUBLIC_SUBNET_NAME,
            cidr: external,
            shared: false,
            external: true,
            enable_dhcp: false,
        },
        now,
    )
    .await
}

/// A catalogue to load (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seed {
    /// Flavors to create.
    #[serde(default)]
    pub flavors: Vec<NewFlavor>,
    /// Images to register.
    #[serde(default)]
    pub images: Vec<NewImage>,
}

impl Seed {
    /// Parses a seed from JSON text.
    pub fn from_json(text: &str) -> Result<Seed> {
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("invalid seed file: {e}")))
    }

    /// Reads a seed file.
    pub fn from_file(path: &Path) -> Result<Seed> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!("cannot read seed file {}: {e}", path.display()))
        })?;
        Seed::from_json(&text)
    }
}

/// What [`Compute::apply_seed`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Ids of the flavors created.
    pub flavors_created: Vec<String>,
    /// Uuids of the images created.
    pub images_created: Vec<String>,
}

impl Compute {
    /// Loads a catalogue (admin), skipping what exists already.
    pub async fn apply_seed(&self, ctx: &RequestContext, seed: &Seed) -> Result<SeedReport> {
        ctx.require_admin("seed")?;
        let mut report = SeedReport::default();
        let flavors = self.list_flavors(ctx, &Default::default()).await?;
        for f in &seed.flavors {
            let exists = flavors
                .iter()
                .any(|x| x.name == f.name || f.id.as_ref().is_some_and(|id| &x.id == id));
            if !exists {
                report
                    .flavors_created
                    .push(self.create_flavor(ctx, f.clone()).await?.id);
            }
        }
        let images = self.list_images(ctx, &ImageFilter::default()).await?;
        for i in &seed.images {
            let exists = images.iter().any(|x| {
                x.name.as_deref() == Some(i.name.as_str())
                    || i.uuid.as_ref().is_some_and(|u| &x.uuid == u)
            });
            if !exists {
                report
                    .images_created
                    .push(self.create_image(ctx, i.clone()).await?.uuid);
            }
        }
        Ok(report)
    }
}
