//! The metadata application: identifies the caller, checks IMDSv2 tokens,
//! looks the instance up (through the cache) and answers the routed path.
//! Every error becomes a response here, in [`MetadataError::into_response`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use nova_paste::http::{Body, HttpService, RemoteAddr, Request, Response};

use crate::cache::ExpiringCache;
use crate::config::MetadataConfig;
use crate::error::MetadataError;
use crate::identity::{identify, Caller};
use crate::instance::{InstanceSource, InstanceView, SourceError};
use crate::password::MAX_SIZE;
use crate::paths::{self, OsItem, Route};
use crate::render;
use crate::token::{self, TokenSigner, TOKEN_HEADER, TTL_HEADER};
use crate::vendordata::Vendordata;
use crate::versions;

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";
const TEXT_HTML: &str = "text/html; charset=UTF-8";
const APPLICATION_JSON: &str = "application/json";

/// The metadata service of one worker.
pub struct MetadataService {
    config: MetadataConfig,
    source: Arc<dyn InstanceSource>,
    cache: ExpiringCache<String, InstanceView>,
    vendordata: Vendordata,
    tokens: TokenSigner,
}

impl std::fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MetadataService {
    /// Builds the service over the compute domain `source`. Fails on a
    /// broken StaticJSON file, certificate file or token key file.
    pub fn new(
        config: MetadataConfig,
        source: Arc<dyn InstanceSource>,
    ) -> anyhow::Result<MetadataService> {
        let tokens = TokenSigner::from_options(&config.imds)?;
        Self::with_token_signer(config, source, tokens)
    }

    /// As [`MetadataService::new`], with the token key given (tests, or a
    /// binary that derives it elsewhere).
    pub fn with_token_signer(
        config: MetadataConfig,
        source: Arc<dyn InstanceSource>,
        tokens: TokenSigner,
    ) -> anyhow::Result<MetadataService> {
        if config.neutron.service_metadata_proxy
            && config.neutron.metadata_proxy_shared_secret.is_empty()
        {
            tracing::warn!(
                "metadata_proxy_shared_secret is not configured, the metadata information \
                 returned by the proxy cannot be trusted"
            );
        }
        let vendordata = Vendordata::new(&config.api)?;
        Ok(MetadataService {
            cache: ExpiringCache::new(Duration::from_secs(config.api.metadata_cache_expiration)),
            config,
            source,
            vendordata,
            tokens,
        })
    }

    /// The token signer (shared key) of this service.
    pub fn token_signer(&self) -> &TokenSigner {
        &self.tokens
    }

    /// The service as a ready-to-serve HTTP application.
    pub fn into_http_service(self: Arc<Self>) -> HttpService {
        nova_paste::http::boxed(self.router())
    }

    /// The service as an axum router (every path goes to [`Self::handle`]).
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new().fallback(move |req: Request| {
            let service = self.clone();
            async move { service.handle(req).await }
        })
    }

    /// Answers one request. Never fails: errors are responses.
    pub async fn handle(&self, req: Request) -> Response {
        let headers = req.headers().clone();
        match self.answer(req).await {
            Ok(response) => response,
            Err(err) => err.into_response(&headers),
        }
    }

    async fn answer(&self, req: Request) -> Result<Response, MetadataError> {
        let path = paths::decode_path(req.uri().path());
        let remote = req.extensions().get::<RemoteAddr>().map(|r| r.0.ip());
        if req.method() == Method::PUT && paths::is_token_path(&path) {
            return self.issue_token(req.headers(), remote).await;
        }
        let mut caller = None;
        let presented = req.headers().get(TOKEN_HEADER).cloned();
        if presented.is_some() || self.config.imds.imds_tokens_required {
            let who = identify(req.headers(), remote, &self.config.neutron)?;
            let Some(presented) = presented else {
                return Err(MetadataError::Unauthorized);
            };
            let token = presented
                .to_str()
                .map_err(|_| MetadataError::Unauthorized)?;
            if let Err(e) = self.tokens.verify(token, &who.token_subject(), unix_now()) {
                tracing::info!(error = %e, "metadata session token refused");
                return Err(MetadataError::Unauthorized);
            }
            caller = Some(who);
        }
        let route = paths::route(&path);
        if route == Route::Root {
            return Ok(text(versions::ec2_listing().join("\n"), TEXT_PLAIN));
        }
        let caller = match caller {
            Some(c) => c,
            None => identify(req.headers(), remote, &self.config.neutron)?,
        };
        let instance = self.instance_for(&caller).await?;
        let address = match &caller {
            Caller::Address(ip) => Some(ip.to_string()),
            Caller::Instance { address, .. } => address.clone(),
            Caller::Provider { address, .. } => Some(address.clone()),
            Caller::Nobody => None,
        };
        match route {
            Route::Root => Ok(text(versions::ec2_listing().join("\n"), TEXT_PLAIN)),
            Route::Ec2Versions => Ok(text(versions::ec2_listing().join("\n"), TEXT_PLAIN)),
            Route::OpenStackVersions => {
                let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
                Ok(text(
                    versions::openstack_listing(&today).join("\n"),
                    TEXT_PLAIN,
                ))
            }
            Route::Ec2 { version, rest } => {
                let tree = render::ec2_tree(
                    &instance,
                    version,
                    &self.config.api.dhcp_domain,
                    address.as_deref(),
                );
                let node = tree.find(&rest).ok_or(MetadataError::NotFound)?;
                Ok(bytes(node.print(), TEXT_PLAIN))
            }
            Route::OpenStack { version, item } => match item {
                OsItem::Listing => Ok(text(
                    render::openstack_listing(&instance, version).join("\n"),
                    TEXT_PLAIN,
                )),
                OsItem::MetaData => Ok(json(&render::meta_data_json(
                    &instance,
                    version,
                    &self.config.api.dhcp_domain,
                ))),
                OsItem::UserData => instance
                    .user_data
                    .clone()
                    .map(|ud| bytes(ud, TEXT_PLAIN))
                    .ok_or(MetadataError::NotFound),
                // nova leaves the type of network_data.json at text/plain.
                OsItem::NetworkData => Ok(bytes(
                    serde_json::to_vec(&render::network_data_json(&instance)).unwrap_or_default(),
                    TEXT_PLAIN,
                )),
                OsItem::VendorData => match self.vendordata.vendor_data() {
                    Ok(Some(v)) => Ok(json(&v)),
                    Ok(None) => Err(MetadataError::NotFound),
                    Err(e) => {
                        tracing::error!(error = %e, "vendor_data.json failed");
                        Err(MetadataError::Internal)
                    }
                },
                OsItem::VendorData2 => match self.vendordata.vendor_data2(&instance).await {
                    Ok(v) => Ok(json(&v)),
                    Err(e) => {
                        tracing::error!(error = %e, "vendor_data2.json failed");
                        Err(MetadataError::Internal)
                    }
                },
                OsItem::Password => self.password(req, &instance).await,
            },
            // nova's content directory is outside the versions, as on a
            // config drive: `openstack/content/0000`.
            Route::Content(key) => render::content(&instance, &key)
                .map(|contents| bytes(contents.to_vec(), TEXT_PLAIN))
                .ok_or(MetadataError::NotFound),
            Route::NotFound => Err(MetadataError::NotFound),
        }
    }

    /// The instance behind `caller`, through the cache; 404 when there is
    /// none or it belongs to another tenant than the proxy says.
    async fn instance_for(&self, caller: &Caller) -> Result<Arc<InstanceView>, MetadataError> {
        let unknown = |e: SourceError, what: &str| {
            tracing::error!(error = %e, "Failed to get metadata for {what}");
            MetadataError::Internal
        };
        match caller {
            Caller::Nobody => Err(MetadataError::NotFound),
            Caller::Address(ip) => {
                let key = format!("metadata-{ip}");
                if let Some(hit) = self.cache.get(&key) {
                    // An address outlives its instance: answer from the
                    // cache only while the instance cached is still the
                    // one at this address.
                    match self.source.address_owner(*ip).await {
                        Ok(Some(owner)) if owner == hit.uuid => return Ok(hit),
                        Ok(_) => self.cache.remove(&key),
                        Err(e) => return Err(unknown(e, &format!("IP {ip}"))),
                    }
                }
                match self.source.by_address(*ip).await {
                    Ok(Some(found)) => {
                        let found = Arc::new(found);
                        self.cache.insert(key, found.clone());
                        Ok(found)
                    }
                    Ok(None) | Err(SourceError::NotFound) => {
                        tracing::error!(address = %ip, "Failed to get metadata for IP: no metadata");
                        Err(MetadataError::NotFound)
                    }
                    Err(e) => Err(unknown(e, &format!("IP {ip}"))),
                }
            }
            Caller::Instance {
                instance_id,
                tenant_id,
                ..
            } => {
                let key = format!("metadata-{instance_id}");
                let found = match self.cache.get(&key) {
                    Some(hit) => hit,
                    None => match self.source.by_uuid(instance_id).await {
                        Ok(Some(found)) => {
                            let found = Arc::new(found);
                            self.cache.insert(key, found.clone());
                            found
                        }
                        Ok(None) | Err(SourceError::NotFound) => {
                            tracing::error!(instance_id = %instance_id, "Failed to get metadata for instance id");
                            return Err(MetadataError::NotFound);
                        }
                        Err(e) => return Err(unknown(e, &format!("instance id {instance_id}"))),
                    },
                };
                if &found.project_id != tenant_id {
                    tracing::warn!(
                        tenant_id = %tenant_id,
                        instance_id = %instance_id,
                        "Tenant_id does not match tenant_id of instance"
                    );
                    return Err(MetadataError::NotFound);
                }
                Ok(found)
            }
            // Metadata providers are neutron's advanced services; no
            // provider has subnets here, which nova answers with a 400.
            Caller::Provider { provider_id, .. } => Err(MetadataError::BadRequest(format!(
                "Could not find any subnets for provider {provider_id}"
            ))),
        }
    }

    /// `GET`/`POST /openstack/<v>/password`.
    async fn password(
        &self,
        req: Request,
        instance: &InstanceView,
    ) -> Result<Response, MetadataError> {
        let backend = |e: SourceError| match e {
            SourceError::NotFound => {
                MetadataError::BadRequest(format!("Instance {} could not be found.", instance.uuid))
            }
            other => {
                tracing::error!(error = %other, "password storage failed");
                MetadataError::Internal
            }
        };
        match *req.method() {
            Method::GET | Method::HEAD => {
                let stored = self
                    .source
                    .password(&instance.uuid)
                    .await
                    .map_err(backend)?;
                Ok(text(stored.unwrap_or_default(), TEXT_HTML))
            }
            Method::POST => {
                if self
                    .source
                    .password(&instance.uuid)
                    .await
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(MetadataError::Conflict);
                }
                let too_large = || MetadataError::BadRequest("Request is too large.".to_owned());
                let declared = req
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > MAX_SIZE as u64) {
                    return Err(too_large());
                }
                let body = axum::body::to_bytes(req.into_body(), MAX_SIZE)
                    .await
                    .map_err(|_| too_large())?;
                let password = std::str::from_utf8(&body).map_err(|_| {
                    MetadataError::BadRequest("The password must be UTF-8 text.".to_owned())
                })?;
                if !self
                    .source
                    .set_password(&instance.uuid, password)
                    .await
                    .map_err(backend)?
                {
                    return Err(MetadataError::Conflict);
                }
                Ok(text(String::new(), TEXT_HTML))
            }
            _ => Err(MetadataError::BadRequest(
                "GET and POST only are supported.".to_owned(),
            )),
        }
    }

    /// `PUT /latest/api/token`: a session token for the caller.
    async fn issue_token(
        &self,
        headers: &HeaderMap,
        remote: Option<IpAddr>,
    ) -> Result<Response, MetadataError> {
        // AWS refuses a token PUT that went through a proxy (X-Forwarded-For),
        // to keep tokens out of reach of SSRF through a guest's own reverse
        // proxy. Behind neutron's metadata proxy every request carries the one
        // address that proxy adds, so there only more than one hop is refused.
        let forwarded: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        let hops = forwarded
            .iter()
            .map(|v| v.split(|b| *b == b',').count())
            .sum::<usize>();
        let allowed_hops = usize::from(self.config.neutron.service_metadata_proxy);
        if hops > allowed_hops {
            return Err(MetadataError::Forbidden(
                "Session token requests through a forwarding proxy are not allowed.".to_owned(),
            ));
        }
        let ttl = token::requested_ttl(headers)?;
        let caller = identify(headers, remote, &self.config.neutron)?;
        // Only instances get tokens: anyone else learns nothing here either.
        self.instance_for(&caller).await?;
        let token = self.tokens.issue(&caller.token_subject(), ttl, unix_now());
        let mut response = text(token, "text/plain");
        response
            .headers_mut()
            .insert(TTL_HEADER, HeaderValue::from(ttl));
        Ok(response)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn bytes(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn text(body: String, content_type: &'static str) -> Response {
    bytes(body.into_bytes(), content_type)
}

fn json(value: &Value) -> Response {
    bytes(
        serde_json::to_vec(value).unwrap_or_default(),
        APPLICATION_JSON,
    )
}
