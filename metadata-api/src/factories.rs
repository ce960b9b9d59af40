//! The paste factories of the metadata service, under nova's dotted names,
//! so that nova's own api-paste.ini (2013.2 or 2025.1) loads unchanged.
//!
//! Havana's metadata pipeline is `ec2faultwrap logrequest metaapp`; its two
//! filters live in nova's EC2 package. The EC2 API crate is no dependency of
//! this one, so metadata-local equivalents are registered under those names:
//! a fault wrapper that turns a panic into the metadata 500, and a request
//! log line per request.

use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use tower::{Service, ServiceExt};

use nova_paste::http::{HttpService, Request, Response};
use nova_paste::{FactoryContext, Filter, Registry};

use crate::app::MetadataService;
use crate::error::MetadataError;

/// nova's metadata app factory.
pub const METADATA_APP: &str = "nova.api.metadata.handler:MetadataRequestHandler.factory";
/// Havana's EC2 fault wrapper, used by its metadata pipeline.
pub const EC2_FAULT_WRAPPER: &str = "nova.api.ec2:FaultWrapper.factory";
/// Havana's EC2 request logger, used by its metadata pipeline.
pub const EC2_REQUEST_LOGGING: &str = "nova.api.ec2:RequestLogging.factory";

/// Registers the metadata factories. The app factory takes the worker's
/// `Arc<MetadataService>` from the factory context's resources.
pub fn register_factories(registry: &mut Registry) {
    registry.register_app(METADATA_APP, metadata_app);
    registry.register_filter(EC2_FAULT_WRAPPER, |_ctx| {
        Ok(Box::new(fault_wrapper) as Filter)
    });
    registry.register_filter(EC2_REQUEST_LOGGING, |_ctx| {
        Ok(Box::new(request_logging) as Filter)
    });
}

fn metadata_app(ctx: &FactoryContext<'_>) -> anyhow::Result<HttpService> {
    let service = ctx
        .resources
        .get::<Arc<MetadataService>>()
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "[{}] {}: the worker has no metadata service to serve",
                ctx.section,
                ctx.factory
            )
        })?;
    Ok(service.into_http_service())
}

/// Catches a panic anywhere inside and answers nova's metadata 500 instead.
pub fn fault_wrapper(inner: HttpService) -> HttpService {
    nova_paste::http::boxed(tower::service_fn(move |req: Request| {
        let inner = inner.clone();
        async move {
            let headers = req.headers().clone();
            let call = std::panic::AssertUnwindSafe(async move { inner.oneshot(req).await });
            match call.catch_unwind().await {
                Ok(result) => result,
                Err(_) => {
                    tracing::error!("metadata request panicked; answered 500");
                    Ok(MetadataError::Internal.into_response(&headers))
                }
            }
        }
    }))
}

/// Logs one line per request: address, method, path, status, time.
pub fn request_logging(inner: HttpService) -> HttpService {
    nova_paste::http::boxed(tower::service_fn(move |req: Request| {
        let mut inner = inner.clone();
        async move {
            let started = Instant::now();
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let remote = req
                .extensions()
                .get::<nova_paste::http::RemoteAddr>()
                .map(|r| r.0.ip().to_string())
                .unwrap_or_default();
            inner.ready().await?;
            let response: Response = inner.call(req).await?;
            tracing::info!(
                remote = %remote,
                method = %method,
                path = %path,
                status = response.status().as_u16(),
                elapsed = format_args!("{:.6}", started.elapsed().as_secs_f64()),
                "metadata request"
            );
            Ok(response)
        }
    }))
}
