//! Fixtures for the metadata tests: a sample instance, a service builder
//! over an in-memory compute domain, and request helpers that drive the
//! router in-process.

pub mod memory;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use metadata_api::instance::{InstanceView, KeypairView, SubnetView, VifView};
use metadata_api::token::TokenSigner;
use metadata_api::{MetadataConfig, MetadataService};
use nova_paste::http::{Body, RemoteAddr};

pub use memory::MemoryCompute;

/// The sample instance's uuid.
pub const UUID: &str = "d8e02d56-2648-49a3-bf97-6be8f1204f38";
/// Its project.
pub const PROJECT: &str = "6f70656e737461636b20342065766572";
/// Its fixed address.
pub const FIXED_IP: &str = "10.0.0.3";
/// Its public key.
pub const PUBKEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyMaterial kp1";
/// Its user data.
pub const USER_DATA: &[u8] = b"#cloud-config\nhostname: vm1\n";
/// The shared secret of the proxy tests.
pub const SECRET: &str = "proxy-s3cr3t";

/// A booted instance with a keypair, user data, metadata and one network.
pub fn sample_instance() -> InstanceView {
    let mut metadata = BTreeMap::new();
    metadata.insert("role".to_owned(), "web".to_owned());
    let mut bdm = BTreeMap::new();
    bdm.insert("ami".to_owned(), "vda".to_owned());
    bdm.insert("root".to_owned(), "/dev/vda".to_owned());
    InstanceView {
        uuid: UUID.to_owned(),
        project_id: PROJECT.to_owned(),
        name: "vm1".to_owned(),
        hostname: "vm1".to_owned(),
        launch_index: 0,
        reservation_id: "r-3fhqq9ys".to_owned(),
        availability_zone: Some("nova".to_owned()),
        ec2_instance_id: "i-00000001".to_owned(),
        ec2_ami_id: "ami-00000001".to_owned(),
        ec2_kernel_id: None,
        ec2_ramdisk_id: None,
        image_ref: "155d900f-4e14-4e4c-a73d-069cbf4541e6".to_owned(),
        flavor_name: "m1.tiny".to_owned(),
        key_name: Some("kp1".to_owned()),
        key_data: Some(PUBKEY.to_owned()),
        keypair: Some(KeypairView {
            name: "kp1".to_owned(),
            kind: "ssh".to_owned(),
            public_key: PUBKEY.to_owned(),
        }),
        user_data_b64: Some("I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogdm0xCg==".to_owned()),
        user_data: Some(USER_DATA.to_vec()),
        metadata,
        boot_roles: "member,reader".to_owned(),
        security_groups: vec!["default".to_owned()],
        fixed_ips: vec![FIXED_IP.to_owned()],
        floating_ips: Vec::new(),
        block_device_mapping: bdm,
        vifs: vec![VifView {
            id: "0b4ab1c3-7d5e-4a34-a8d4-4b1b0a5ad1f0".to_owned(),
            devname: Some("tap0b4ab1c3-7d".to_owned()),
            mac: "fa:16:3e:00:00:01".to_owned(),
            mtu: Some(1450),
            network_id: "a0f5a0a6-5b8a-4f5c-9b6f-0c3d8f6a6c11".to_owned(),
            ipv4: Some(SubnetView {
                address: FIXED_IP.parse().unwrap(),
                netmask: "255.255.255.0".to_owned(),
                gateway: Some("10.0.0.1".to_owned()),
                dns: vec!["8.8.8.8".to_owned()],
                dhcp: false,
            }),
            ipv6: None,
        }],
        files: Vec::new(),
    }
}

/// A service over `compute` with `config` and a fixed token key.
pub fn service(config: MetadataConfig, compute: Arc<MemoryCompute>) -> Arc<MetadataService> {
    Arc::new(
        MetadataService::with_token_signer(config, compute, TokenSigner::new(b"test-key"))
            .expect("service builds"),
    )
}

/// The default configuration with caching off, so that tests see changes
/// at once unless they test the cache.
pub fn config() -> MetadataConfig {
    let mut c = MetadataConfig::default();
    c.api.metadata_cache_expiration = 0;
    c
}

/// The proxy-mode configuration.
pub fn proxy_config() -> MetadataConfig {
    let mut c = config();
    c.neutron.service_metadata_proxy = true;
    c.neutron.metadata_proxy_shared_secret = SECRET.to_owned();
    c
}

/// A compute domain holding the sample instance.
pub fn compute_with_sample() -> Arc<MemoryCompute> {
    let compute = Arc::new(MemoryCompute::default());
    compute.put(sample_instance());
    compute
}

/// A finished response: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The Content-Type header.
    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

/// A request under construction.
pub struct Call {
    method: Method,
    path: String,
    remote: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A GET of `path`.
pub fn get(path: &str) -> Call {
    Call {
        method: Method::GET,
        path: path.to_owned(),
        remote: None,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Call {
    /// Changes the method.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets the peer address (the `RemoteAddr` extension).
    pub fn from(mut self, ip: &str) -> Self {
        self.remote = Some(ip.to_owned());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds the signed headers of a neutron metadata proxy for `uuid`.
    pub fn signed(self, uuid: &str, tenant: &str, secret: &str) -> Self {
        let signature = metadata_api::identity::sign(secret, uuid);
        self.header("X-Instance-ID", uuid)
            .header("X-Tenant-ID", tenant)
            .header("X-Instance-ID-Signature", &signature)
            .header("X-Forwarded-For", FIXED_IP)
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request through the service's router.
    pub async fn send(self, service: &Arc<MetadataService>) -> Answer {
        let mut builder = axum::http::Request::builder()
            .method(self.method)
            .uri(self.path.as_str());
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let mut req = builder.body(Body::from(self.body)).expect("request builds");
        if let Some(ip) = self.remote {
            let addr: SocketAddr = SocketAddr::new(ip.parse().unwrap(), 40000);
            req.extensions_mut().insert(RemoteAddr(addr));
        }
        let resp = service
            .clone()
            .router()
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }
}
