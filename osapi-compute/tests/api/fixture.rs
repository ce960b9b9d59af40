//! The fixture: [`TestApp`] builds the whole osapi_compute pipeline from
//! this crate's api-paste.ini and answers calls in process.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use nova_paste::http::HttpService;

use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use osapi_compute::config::ApiConfig;
use osapi_compute::state::ApiState;

/// The answer to one call.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Answer {
    /// Every value of header `name`.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
    /// The one value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// The paste file of this crate.
pub fn paste_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("api-paste.ini")
}

/// A running in-process API.
pub struct TestApp {
    service: HttpService,
    pub state: ApiState,
    _dir: tempfile::TempDir,
}

/// A change to the factory registry (see [`Builder::registry`]).
type RegistryHook = Box<dyn FnOnce(&mut nova_paste::Registry)>;

/// Builds a [`TestApp`].
pub struct Builder {
    config: ApiConfig,
    paste: Option<std::path::PathBuf>,
    registry: Vec<RegistryHook>,
    image_size_cap: Option<u64>,
    compute: Option<ComputeHook>,
}

/// A change to the compute domain's configuration (see [`Builder::compute`]).
type ComputeHook = Box<dyn FnOnce(&mut compute::ComputeConfig)>;

impl Builder {
    /// `[api] max_limit`.
    pub fn max_limit(mut self, n: usize) -> Self {
        self.config.max_limit = n;
        self
    }
    /// `[DEFAULT] ec2_listen_port`.
    pub fn ec2_listen_port(mut self, port: u16) -> Self {
        self.config.ec2_listen_port = port;
        self
    }
    /// `[image] image_size_cap`.
    pub fn image_size_cap(mut self, bytes: u64) -> Self {
        self.image_size_cap = Some(bytes);
        self
    }
    /// `[api] auth_strategy = keystone` with no Keystone configured: the
    /// identity app in store mode and the compute API behind `authtoken`
    /// validating against the store.
    pub fn identity_in_store(mut self) -> Self {
        self.config.auth_strategy = "keystone".into();
        self
    }
    /// `[neutron] default_floating_pool`.
    pub fn default_floating_pool(mut self, pool: &str) -> Self {
        self.config.default_floating_pool = pool.to_string();
        self
    }
    /// Another paste file.
    pub fn paste(mut self, path: std::path::PathBuf) -> Self {
        self.paste = Some(path);
        self
    }
    /// Changes the factory registry after the crate's factories are in
    /// (e.g. to swap one app's factory for a variant).
    pub fn registry(mut self, f: impl FnOnce(&mut nova_paste::Registry) + 'static) -> Self {
        self.registry.push(Box::new(f));
        self
    }
    /// Changes the compute domain's configuration (instant steps by
    /// default).
    pub fn compute(mut self, f: impl FnOnce(&mut compute::ComputeConfig) + 'static) -> Self {
        self.compute = Some(Box::new(f));
        self
    }
    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
        let store = compute::Store::connect(&url, compute::StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let mut config = compute::ComputeConfig::instant();
        config.images.data_dir = dir.path().join("images");
        if let Some(cap) = self.image_size_cap {
            config.images.size_cap = cap;
        }
        if let Some(f) = self.compute {
            f(&mut config);
        }
        let compute = compute::Compute::new(store, config);
        let mut registry = nova_runtime::api::builtin_registry(&self.config.auth_strategy);
        let state = ApiState::new(Arc::new(compute), self.config);
        osapi_compute::factories::register_factories(&mut registry);
        for f in self.registry {
            f(&mut registry);
        }
        let path = self.paste.unwrap_or_else(paste_path);
        let spec = nova_paste::load(&path, "osapi_compute", &BTreeMap::new(), &registry).unwrap();
        let service = spec
            .build(
                &registry,
                &osapi_compute::factories::resources(state.clone()),
            )
            .unwrap();
        TestApp {
            service,
            state,
            _dir: dir,
        }
    }
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder {
            config: ApiConfig {
                auth_strategy: "noauth2".into(),
                ..ApiConfig::default()
            },
            paste: None,
            registry: Vec::new(),
            image_size_cap: None,
            compute: None,
        }
    }

    pub async fn new() -> TestApp {
        Self::builder().build().await
    }

    /// Sends one request. `token` becomes `X-Auth-Token`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request = request.header("Host", "openstack.example.com");
        }
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                request = request.header("Content-Type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .service
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// Sends a request built by the caller.
    pub async fn raw(&self, request: axum::http::Request<Body>) -> Answer {
        let response = self.service.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// GET as `token` at microversion `version` (None: no header).
    pub async fn get(&self, path: &str, token: &str, version: Option<&str>) -> Answer {
        let header = version.map(|v| format!("compute {v}"));
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("OpenStack-API-Version", h.as_str()))
            .collect();
        self.call(Method::GET, path, Some(token), &headers, None)
            .await
    }

    /// A call with a JSON body at `version`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        version: &str,
        body: Value,
    ) -> Answer {
        let header = format!("compute {version}");
        self.call(
            method,
            path,
            Some(token),
            &[("OpenStack-API-Version", &header)],
            Some(body),
        )
        .await
    }

    /// Creates a server named `name` as `token` and returns its id.
    pub async fn create_server(&self, token: &str, name: &str) -> String {
        let answer = self
            .send(
                Method::POST,
                "/v2.1/servers",
                token,
                "2.1",
                serde_json::json!({"server": {"name": name, "imageRef": compute::CIRROS_IMAGE_UUID, "flavorRef": "1"}}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
        answer.body["server"]["id"].as_str().unwrap().to_string()
    }
}

/// Replaces what changes from run to run (ids, times, hashes, passwords,
/// addresses) with stable placeholders, for snapshots.
pub fn normalize(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap();
    let rules: [(&str, &str); 7] = [
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "[time]"),
        (r#""[0-9a-f]{56}""#, r#""[hostId]""#),
        (r#""adminPass": "[^"]*""#, r#""adminPass": "[password]""#),
        (r"fa:16:3e(:[0-9a-f]{2}){3}", "[mac]"),
        (r"r-[0-9a-z]{8}", "[reservation]"),
        (r"instance-[0-9a-f]{8}", "instance-[id]"),
    ];
    let mut out = text;
    for (pattern, replacement) in rules {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, replacement)
            .to_string();
    }
    out
}

/// The noauth2 admin token (`user:project`).
pub const ADMIN: &str = "admin:admin";
/// A member of project `alpha`.
pub const ALICE: &str = "alice:alpha";
/// A member of project `beta`.
pub const BOB: &str = "bob:beta";

impl Answer {
    /// The `message` of a nova fault body (`{"<name>": {"message": ...}}`).
    pub fn fault_message(&self) -> String {
        self.body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|f| f.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// The fault name (`badRequest`, `forbidden`, ...).
    pub fn fault_name(&self) -> String {
        self.body
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default()
    }
}

/// The compute API under `/v2.1` of a [`TestApp`], called with a noauth2
/// token and an optional microversion (the resources' tests).
pub struct TestApi {
    app: TestApp,
    /// The compute domain behind the pipeline, for set-up.
    pub compute: Arc<compute::Compute>,
}

impl TestApi {
    /// The real pipeline over a fresh seeded store.
    pub async fn new() -> Self {
        let app = TestApp::new().await;
        TestApi {
            compute: app.state.compute.clone(),
            app,
        }
    }

    /// Sends one request to `/v2.1{path}` as `token`; `version` is the
    /// compute microversion header (none: 2.1).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        version: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let header = version.map(|v| format!("compute {v}"));
        let mut headers = vec![("Host", "api.example.com")];
        if let Some(h) = &header {
            headers.push(("OpenStack-API-Version", h.as_str()));
        }
        self.app
            .call(method, &format!("/v2.1{path}"), Some(token), &headers, body)
            .await
    }

    /// GET as `token` at `version`.
    pub async fn get(&self, path: &str, token: &str, version: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, version, None).await
    }

    /// Sends a request built by the caller through the whole pipeline.
    pub async fn raw(&self, request: axum::http::Request<Body>) -> Answer {
        self.app.raw(request).await
    }
}
