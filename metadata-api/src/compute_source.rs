//! The compute domain as the metadata service reads it: instances by fixed
//! IP or uuid turned into [`InstanceView`] snapshots, and the password,
//! all with an admin context (the service has already decided who asks).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::future::BoxFuture;
use futures::FutureExt;

use compute::{Compute, Instance, RequestContext};

use crate::instance::{
    InjectedFileView, InstanceSource, InstanceView, KeypairView, SourceError, SubnetView, VifView,
};

/// [`InstanceSource`] over the shared compute domain.
#[derive(Debug, Clone)]
pub struct ComputeSource {
    compute: Compute,
    ctx: RequestContext,
}

impl ComputeSource {
    /// A source reading `compute` with admin rights.
    pub fn new(compute: Compute) -> ComputeSource {
        ComputeSource {
            compute,
            ctx: RequestContext::admin("nova-metadata", "service"),
        }
    }

    async fn view(&self, instance: Instance) -> Result<InstanceView, SourceError> {
        let image = self
            .compute
            .get_image(&self.ctx, &instance.image_ref)
            .await
            .ok();
        let ec2_ami_id = image
            .as_ref()
            .map(|i| i.ec2_id())
            .unwrap_or_else(|| "ami-00000000".to_owned());
        let mut kernel = None;
        let mut ramdisk = None;
        if let Some(image) = &image {
            for (property, slot) in [("kernel_id", &mut kernel), ("ramdisk_id", &mut ramdisk)] {
                if let Some(uuid) = image.properties.get(property).and_then(|v| v.as_str()) {
                    if let Ok(found) = self.compute.get_image(&self.ctx, uuid).await {
                        *slot = Some(found.ec2_id());
                    }
                }
            }
        }
        let keypair = match (&instance.key_name, &instance.key_data) {
            (Some(name), Some(data)) => {
                // The key was copied onto the instance at boot; the keypair
                // record (when it still exists) only tells its type.
                let kind = match self
                    .compute
                    .get_keypair(&self.ctx, name, Some(&instance.user_id))
                    .await
                {
                    Ok(kp) => kp.key_type.as_str().to_owned(),
                    Err(_) if data.starts_with("-----BEGIN CERTIFICATE") => "x509".to_owned(),
                    Err(_) => "ssh".to_owned(),
                };
                Some(KeypairView {
                    name: name.clone(),
                    kind,
                    public_key: data.clone(),
                })
            }
            _ => None,
        };
        let user_data = instance.user_data.as_deref().map(decode_base64);
        let files = self
            .compute
            .injected_files(&self.ctx, &instance.uuid)
            .await
            .map_err(source_error)?
            .into_iter()
            .map(|file| InjectedFileView {
                contents: decode_base64(&file.contents),
                path: file.path,
            })
            .collect();
        let mut bdm = BTreeMap::new();
        bdm.insert("ami".to_owned(), "vda".to_owned());
        bdm.insert("root".to_owned(), "/dev/vda".to_owned());
        if instance.flavor.ephemeral > 0 {
            bdm.insert("ephemeral0".to_owned(), "/dev/vdb".to_owned());
        }
        if instance.flavor.swap > 0 {
            let dev = if instance.flavor.ephemeral > 0 {
                "/dev/vdc"
            } else {
                "/dev/vdb"
            };
            bdm.insert("swap".to_owned(), dev.to_owned());
        }
        let vifs = self.vifs(&instance).await?;
        Ok(InstanceView {
            ec2_instance_id: instance.ec2_id(),
            ec2_ami_id,
            ec2_kernel_id: kernel,
            ec2_ramdisk_id: ramdisk,
            keypair,
            user_data,
            files,
            block_device_mapping: bdm,
            vifs,
            fixed_ips: instance
                .vifs
                .iter()
                .flat_map(|v| &v.fixed_ips)
                .map(|ip| ip.address.to_string())
                .collect(),
            floating_ips: instance
                .vifs
                .iter()
                .flat_map(|v| &v.floating_ips)
                .map(Ipv4Addr::to_string)
                .collect(),
            security_groups: instance
                .security_groups()
                .into_iter()
                .map(|g| g.name.clone())
                .collect(),
            boot_roles: String::new(),
            uuid: instance.uuid,
            project_id: instance.project_id,
            name: instance.name,
            hostname: instance.hostname,
            launch_index: instance.launch_index,
            reservation_id: instance.reservation_id,
            availability_zone: Some(instance.availability_zone),
            image_ref: instance.image_ref,
            flavor_name: instance.flavor.name,
            key_name: instance.key_name,
            key_data: instance.key_data,
            user_data_b64: instance.user_data,
            metadata: instance.metadata,
        })
    }

    /// The instance's ports, with the first IPv4 and the first IPv6
    /// address of each and what their subnets say of them.
    async fn vifs(&self, instance: &Instance) -> Result<Vec<VifView>, SourceError> {
        let mut out = Vec::with_capacity(instance.vifs.len());
        for vif in &instance.vifs {
            let mtu = match self.compute.get_network(&self.ctx, &vif.network_id).await {
                Ok(n) => u32::try_from(n.mtu).ok(),
                Err(_) => None,
            };
            let mut view = VifView {
                id: vif.port_id.clone(),
                devname: None,
                mac: vif.mac_address.clone(),
                mtu,
                network_id: vif.network_id.clone(),
                ipv4: None,
                ipv6: None,
            };
            for ip in &vif.fixed_ips {
                let slot = if ip.address.is_ipv4() {
                    &mut view.ipv4
                } else {
                    &mut view.ipv6
                };
                if slot.is_some() {
                    continue;
                }
                let Ok(subnet) = self.compute.get_subnet(&self.ctx, &ip.subnet_id).await else {
                    continue;
                };
                let netmask = subnet
                    .cidr
                    .parse::<ipnet::IpNet>()
                    .map(|net| net.netmask().to_string())
                    .unwrap_or_default();
                *slot = Some(SubnetView {
                    address: ip.address,
                    netmask,
                    gateway: subnet.gateway_ip,
                    dns: subnet.dns_nameservers,
                    dhcp: subnet.enable_dhcp,
                });
            }
            out.push(view);
        }
        Ok(out)
    }
}

/// Base64 text as the compute API took it (user data, personality files),
/// decoded; text that is not base64 is given as it is.
fn decode_base64(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact.as_bytes())
        .unwrap_or_else(|_| text.as_bytes().to_vec())
}

fn source_error(e: compute::Error) -> SourceError {
    match e {
        compute::Error::NotFound { .. } => SourceError::NotFound,
        other => SourceError::Backend(other.to_string()),
    }
}

impl InstanceSource for ComputeSource {
    fn by_address(
        &self,
        address: IpAddr,
    ) -> BoxFuture<'_, Result<Option<InstanceView>, SourceError>> {
        async move {
            match self
                .compute
                .get_instance_by_fixed_ip(&self.ctx, address.to_canonical())
                .await
            {
                Ok(instance) => self.view(instance).await.map(Some),
                Err(compute::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(source_error(e)),
            }
        }
        .boxed()
    }

    fn address_owner(&self, address: IpAddr) -> BoxFuture<'_, Result<Option<String>, SourceError>> {
        async move {
            self.compute
                .fixed_ip_owner(address.to_canonical())
                .await
                .map_err(source_error)
        }
        .boxed()
    }

    fn by_uuid<'a>(
        &'a self,
        uuid: &'a str,
    ) -> BoxFuture<'a, Result<Option<InstanceView>, SourceError>> {
        async move {
            match self.compute.get_instance(&self.ctx, uuid).await {
                Ok(instance) => self.view(instance).await.map(Some),
                Err(compute::Error::NotFound { .. }) => Ok(None),
                // A malformed id is simply no instance to the metadata service.
                Err(compute::Error::Invalid(_)) => Ok(None),
                Err(e) => Err(source_error(e)),
            }
        }
        .boxed()
    }

    fn password<'a>(&'a self, uuid: &'a str) -> BoxFuture<'a, Result<Option<String>, SourceError>> {
        async move {
            self.compute
                .get_instance_password(&self.ctx, uuid)
                .await
                .map_err(source_error)
        }
        .boxed()
    }

    fn set_password<'a>(
        &'a self,
        uuid: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<bool, SourceError>> {
        async move {
            match self
                .compute
                .set_instance_password(&self.ctx, uuid, password)
                .await
            {
                Ok(()) => Ok(true),
                Err(compute::Error::Conflict(_)) => Ok(false),
                Err(e) => Err(source_error(e)),
            }
        }
        .boxed()
    }
}
