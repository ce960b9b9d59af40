//! Paste's own debugging apps (`egg:Paste#test`, `egg:Paste#slow`), which
//! operators and our tests use to check a server without any API behind it.
//! `slow` answers after `delay` seconds (default 1) and after reading the
//! whole request body, so drains and timeouts can be watched.

use std::time::Duration;

use axum::body::to_bytes;
use http::StatusCode;

use nova_paste::http::{boxed, Body, HttpService, Request, Response};
use nova_paste::{FactoryContext, Registry};

/// Registers the two apps under paste's names.
pub fn register(registry: &mut Registry) {
    registry.register_app("egg:Paste#test", |_ctx: &FactoryContext<'_>| {
        Ok(make(Duration::ZERO))
    });
    registry.register_app("egg:Paste#slow", |ctx: &FactoryContext<'_>| {
        let delay: f64 = match ctx.local_conf.get("delay") {
            Some(value) => value.parse().map_err(|_| {
                anyhow::anyhow!("[{}] delay = {value:?} is not a number", ctx.section)
            })?,
            None => 1.0,
        };
        Ok(make(Duration::from_secs_f64(delay.max(0.0))))
    });
}

fn make(delay: Duration) -> HttpService {
    boxed(tower::service_fn(move |req: Request| async move {
        tokio::time::sleep(delay).await;
        let (status, text) = match to_bytes(req.into_body(), 16 * 1024 * 1024).await {
            Ok(body) => (StatusCode::OK, format!("ok, {} bytes read\n", body.len())),
            Err(_) => (StatusCode::BAD_REQUEST, "unreadable body\n".to_owned()),
        };
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        Ok::<_, std::convert::Infallible>(response)
    }))
}
