//! The image catalogue: what instances boot from, with Glance's fields,
//! rules and data, and the integer id behind EC2's `ami-%08x`.
//!
//! | module | holds |
//! |---|---|
//! | [`catalogue`] | reading, listing, registering, changing and deleting images |
//! | [`rules`] | Glance's vocabularies and its checks of names, formats and properties |
//! | [`access`] | who sees an image and who may change it (visibility, members) |
//! | [`members`] | the projects a `shared` image is shared with |
//! | [`tags`] | an image's tags |
//! | [`lifecycle`] | deactivate and reactivate |
//! | [`tasks`] | the tasks imports leave, and Glance's tasks API |
//! | [`data`] | image data in files under `<state_path>/images/`, streamed in and out |
//!
//! Visibility, as Glance has it: `public` and `community` images are seen
//! by everyone (lists show community images only on request or to their
//! owner), `private` ones by their owner, `shared` ones by their owner and
//! the projects they are shared with (lists show them to a member once it
//! accepted). Admins see everything. A deleted image keeps its row with
//! status `deleted` (so its integer id, and its EC2 id, are never given to
//! another image) and is seen by no one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod access;
pub mod catalogue;
pub mod data;
pub mod lifecycle;
pub mod members;
pub mod rules;
pub mod tags;
pub mod tasks;

pub use data::{ImageData, ImageDataError, ImageUpload};
pub use members::{ImageMember, MemberStatus};
pub use tasks::{ImageTask, TaskFilter};

/// An image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Integer id (EC2 `ami-%08x`; never reused).
    pub id: i64,
    /// The uuid (the compute API's image id).
    pub uuid: String,
    /// Name.
    pub name: Option<String>,
    /// Glance status: `queued`, `saving`, `active`, `deactivated`, `deleted`.
    pub status: String,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// Owner project.
    pub owner: Option<String>,
    /// Disk format (`qcow2`, `raw`, `aki`, `ari`, `ami`, ...).
    pub disk_format: Option<String>,
    /// Container format (`bare`, `ami`, ...).
    pub container_format: Option<String>,
    /// Minimum disk in GiB.
    pub min_disk: i64,
    /// Minimum RAM in MiB.
    pub min_ram: i64,
    /// Size of the data in bytes (none before an upload).
    pub size: Option<i64>,
    /// Virtual size of the disk (never known here: no image inspection).
    pub virtual_size: Option<i64>,
    /// MD5 of the data, if known.
    pub checksum: Option<String>,
    /// The algorithm of `os_hash_value` (`sha512` for data uploaded here).
    pub os_hash_algo: Option<String>,
    /// The hex digest of the data by `os_hash_algo`.
    pub os_hash_value: Option<String>,
    /// Protected from deletion.
    pub protected: bool,
    /// Left out of lists unless asked for (`os_hidden`).
    pub os_hidden: bool,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Other properties (`hw_rng_model`, `os_distro`, ...).
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Image {
    /// The EC2 id: `aki-` for kernels, `ari-` for ramdisks, else `ami-`.
    pub fn ec2_id(&self) -> String {
        crate::ec2::ec2_image_id(self.id, self.disk_format.as_deref())
    }
}

/// An image to register (operators, seeding, or an API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewImage {
    /// The uuid; a new one when `None`.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Name.
    pub name: String,
    /// Status (default `active`; the Image API registers `queued` ones).
    #[serde(default = "active")]
    pub status: String,
    /// Visibility (default `public` for admins, else `private`).
    #[serde(default)]
    pub visibility: Option<String>,
    /// Owner project (admins only; default the caller's).
    #[serde(default)]
    pub owner: Option<String>,
    /// Disk format.
    #[serde(default)]
    pub disk_format: Option<String>,
    /// Container format.
    #[serde(default)]
    pub container_format: Option<String>,
    /// Minimum disk (GiB).
    #[serde(default)]
    pub min_disk: i64,
    /// Minimum RAM (MiB).
    #[serde(default)]
    pub min_ram: i64,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Checksum.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Protected.
    #[serde(default)]
    pub protected: bool,
    /// Hidden from lists.
    #[serde(default)]
    pub os_hidden: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Other properties.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

fn active() -> String {
    "active".to_string()
}

impl NewImage {
    /// An active image called `name` with no other fields set.
    pub fn new(name: impl Into<String>) -> Self {
        NewImage {
            uuid: None,
            name: name.into(),
            status: active(),
            visibility: None,
            owner: None,
            disk_format: None,
            container_format: None,
            min_disk: 0,
            min_ram: 0,
            size: None,
            checksum: None,
            protected: false,
            os_hidden: false,
            tags: Vec::new(),
            properties: BTreeMap::new(),
        }
    }
}

/// A change of an image's attributes (Glance's PATCH, the compute API's
/// image metadata). `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageUpdate {
    /// The name (`Some(None)` removes it).
    pub name: Option<Option<String>>,
    /// The visibility.
    pub visibility: Option<String>,
    /// Protected.
    pub protected: Option<bool>,
    /// Hidden.
    pub os_hidden: Option<bool>,
    /// The owner project (admins only).
    pub owner: Option<Option<String>>,
    /// Disk format (only while the image is `queued`).
    pub disk_format: Option<Option<String>>,
    /// Container format (only while the image is `queued`).
    pub container_format: Option<Option<String>>,
    /// Minimum disk (GiB).
    pub min_disk: Option<i64>,
    /// Minimum RAM (MiB).
    pub min_ram: Option<i64>,
    /// The whole set of tags.
    pub tags: Option<Vec<String>>,
    /// Properties to set (`Some`) or remove (`None`).
    pub properties: BTreeMap<String, Option<serde_json::Value>>,
}

/// One key of an image list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSort {
    /// A core attribute (`name`, `created_at`, `size`, ...).
    pub key: String,
    /// Ascending when true.
    pub ascending: bool,
}

/// Filters of an image list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFilter {
    /// Exact name.
    pub name: Option<String>,
    /// Exact status.
    pub status: Option<String>,
    /// Exact visibility (`community` and `shared` widen the list as
    /// Glance's do; `all` is no filter).
    pub visibility: Option<String>,
    /// Only these uuids (glance's `id=in:a,b`).
    pub uuids: Option<Vec<String>>,
    /// Only these integer ids (EC2 ids).
    pub ids: Option<Vec<i64>>,
    /// Only images of this owner.
    pub owner: Option<String>,
    /// Shared images of which the caller is a member with this status
    /// (`pending`, `accepted`, `rejected`, `all`; Glance's default
    /// `accepted`).
    pub member_status: Option<String>,
    /// Hidden images only (`Some(true)`), visible ones only (`None` or
    /// `Some(false)`, Glance's default).
    pub os_hidden: Option<bool>,
    /// Images carrying every one of these tags.
    pub tags: Vec<String>,
    /// Smallest size (bytes).
    pub size_min: Option<i64>,
    /// Largest size (bytes).
    pub size_max: Option<i64>,
    /// Values of other attributes (`disk_format`, `container_format`,
    /// `protected`, or any property), compared as text: an image passes
    /// when its value is one of those given.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The order; empty: oldest first (by integer id).
    pub sort: Vec<ImageSort>,
    /// The uuid of the last image of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

/// Where image data lives and how large it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageStoreConfig {
    /// The directory of the data files (`<state_path>/images`), made on
    /// demand with mode 0700.
    pub data_dir: PathBuf,
    /// `[image] image_size_cap`: the largest image data accepted, in bytes.
    pub size_cap: u64,
}

/// Glance's default `image_size_cap` (1 TiB).
pub const DEFAULT_IMAGE_SIZE_CAP: u64 = 1_099_511_627_776;

impl Default for ImageStoreConfig {
    fn default() -> Self {
        ImageStoreConfig {
            data_dir: PathBuf::from("/var/lib/nova/images"),
            size_cap: DEFAULT_IMAGE_SIZE_CAP,
        }
    }
}
