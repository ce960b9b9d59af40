//! What the metadata service knows about one instance: a snapshot taken
//! from the compute domain when the instance is looked up, and the trait
//! through which the service reads and writes the compute domain.

use std::collections::BTreeMap;
use std::net::IpAddr;

use futures::future::BoxFuture;

/// A keypair as guests see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeypairView {
    /// The keypair's name.
    pub name: String,
    /// `ssh` or `x509`.
    pub kind: String,
    /// The public key (or certificate) text.
    pub public_key: String,
}

/// One subnet a network interface is on, as `network_data.json` needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetView {
    /// The instance's address on this subnet.
    pub address: IpAddr,
    /// The netmask (IPv4 dotted, IPv6 expanded).
    pub netmask: String,
    /// The default gateway, if any.
    pub gateway: Option<String>,
    /// DNS servers.
    pub dns: Vec<String>,
    /// Whether the subnet is served by DHCP (then only the kind is given).
    pub dhcp: bool,
}

/// One network interface (VIF) of the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VifView {
    /// The port/VIF id.
    pub id: String,
    /// The device name, if known (`tapXXXX`); else `interface<N>`.
    pub devname: Option<String>,
    /// The MAC address.
    pub mac: String,
    /// The MTU, if known.
    pub mtu: Option<u32>,
    /// The network's id.
    pub network_id: String,
    /// First IPv4 subnet, if any.
    pub ipv4: Option<SubnetView>,
    /// First IPv6 subnet, if any.
    pub ipv6: Option<SubnetView>,
}

/// A personality file the instance was booted (or rebuilt) with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFileView {
    /// Where the guest puts it.
    pub path: String,
    /// The decoded contents.
    pub contents: Vec<u8>,
}

/// The snapshot of one instance from which every metadata path is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceView {
    /// The instance uuid.
    pub uuid: String,
    /// The owning project.
    pub project_id: String,
    /// `display_name`.
    pub name: String,
    /// The short hostname (without `dhcp_domain`).
    pub hostname: String,
    /// `launch_index`.
    pub launch_index: i64,
    /// `r-xxxxxxxx`.
    pub reservation_id: String,
    /// The availability zone, if scheduled.
    pub availability_zone: Option<String>,
    /// EC2 instance id, `i-%08x`.
    pub ec2_instance_id: String,
    /// EC2 image id, `ami-%08x`.
    pub ec2_ami_id: String,
    /// EC2 kernel id, if the image has one.
    pub ec2_kernel_id: Option<String>,
    /// EC2 ramdisk id, if the image has one.
    pub ec2_ramdisk_id: Option<String>,
    /// The image uuid (`image_ref`).
    pub image_ref: String,
    /// The flavor's name.
    pub flavor_name: String,
    /// `key_name`, when the instance was booted with a keypair.
    pub key_name: Option<String>,
    /// `key_data`: the public key stored with the instance.
    pub key_data: Option<String>,
    /// The keypair record, when it still exists.
    pub keypair: Option<KeypairView>,
    /// User data as stored: base64 text (what dynamic vendordata receives).
    pub user_data_b64: Option<String>,
    /// User data decoded (what the guest receives).
    pub user_data: Option<Vec<u8>>,
    /// The instance metadata (`meta`).
    pub metadata: BTreeMap<String, String>,
    /// `system_metadata['boot_roles']`.
    pub boot_roles: String,
    /// Security group names.
    pub security_groups: Vec<String>,
    /// Fixed addresses, first first.
    pub fixed_ips: Vec<String>,
    /// Floating addresses.
    pub floating_ips: Vec<String>,
    /// `block-device-mapping/` entries (`ami`, `root`, `ephemeral0`, ...).
    pub block_device_mapping: BTreeMap<String, String>,
    /// Network interfaces for `network_data.json`.
    pub vifs: Vec<VifView>,
    /// Personality files, in request order (`files` of `meta_data.json`,
    /// `openstack/content/<key>`).
    pub files: Vec<InjectedFileView>,
}

/// Errors of the compute domain as the metadata service needs them.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No such instance (any more).
    #[error("instance not found")]
    NotFound,
    /// The store failed; the message is for the log only.
    #[error("compute failure: {0}")]
    Backend(String),
}

/// The compute domain as seen by the metadata service. Every call acts with
/// admin rights: the service itself has already decided which instance asks.
pub trait InstanceSource: Send + Sync + 'static {
    /// The instance that owns this fixed address, if any.
    fn by_address(
        &self,
        address: IpAddr,
    ) -> BoxFuture<'_, Result<Option<InstanceView>, SourceError>>;
    /// The uuid of the live instance that owns this fixed address now, if
    /// any: a cheap check that a cached answer still belongs to the caller.
    fn address_owner(&self, address: IpAddr) -> BoxFuture<'_, Result<Option<String>, SourceError>>;
    /// The instance with this uuid, if any (deleted ones are none).
    fn by_uuid<'a>(
        &'a self,
        uuid: &'a str,
    ) -> BoxFuture<'a, Result<Option<InstanceView>, SourceError>>;
    /// The instance's stored password, `None` when unset or cleared.
    fn password<'a>(&'a self, uuid: &'a str) -> BoxFuture<'a, Result<Option<String>, SourceError>>;
    /// Stores the password the guest posts; `Ok(false)` when one is set
    /// already (nothing is changed then).
    fn set_password<'a>(
        &'a self,
        uuid: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<bool, SourceError>>;
}
