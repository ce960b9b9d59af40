//! oslo.middleware's `RequestBodySizeLimiter`: 413 when `Content-Length`
//! exceeds `max_request_body_size`, or when a body without a length
//! (chunked) streams past it.
//!
//! The 413 this filter makes is plain text ("Request is too large.") and
//! carries a [`RequestTooLarge`] marker in its extensions. How a 413 looks
//! is the enclosing API's business: each API's fault-wrap filter (outside
//! this one in the pipeline) recognises the marker and renders the error in
//! its own format.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

use crate::{call, filter_fn, option, wrap};
use nova_paste::http::{Body, HttpService, Response};
use nova_paste::{FactoryContext, Filter};

/// oslo's default `[oslo_middleware] max_request_body_size` (112 KiB).
pub const DEFAULT_MAX_REQUEST_BODY_SIZE: u64 = 114_688;

/// The body of the 413.
pub const TOO_LARGE_MESSAGE: &str = "Request is too large.";

/// Marks a 413 made by this filter, for the API's fault wrapper to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTooLarge {
    /// The limit that was exceeded.
    pub limit: u64,
}

/// The error a streamed body yields once past the limit.
#[derive(Debug, thiserror::Error)]
#[error("request body larger than {limit} bytes")]
pub struct BodyTooLarge {
    /// The limit.
    pub limit: u64,
}

/// The paste factory: `max_request_body_size` from the local conf, else
/// the global conf (nova.conf's `[oslo_middleware]`), else the default.
pub fn factory(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let max = option(ctx, Some("oslo_middleware"), "max_request_body_size", |v| {
        v.trim().parse::<u64>().ok()
    })?
    .unwrap_or(DEFAULT_MAX_REQUEST_BODY_SIZE);
    Ok(filter_fn(move |inner| layer(inner, max)))
}

/// Wraps `inner` with a body limit of `max` bytes.
pub fn layer(inner: HttpService, max: u64) -> HttpService {
    wrap(inner, move |inner, req| async move {
        let length = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match length {
            Some(len) if len > max => {
                tracing::info!("Request is too large. Larger than max_request_body_size ({max}).");
                too_large(max)
            }
            Some(_) => call(inner, req).await,
            None => {
                let exceeded = Arc::new(AtomicBool::new(false));
                let req = req.map(|body| limited(body, max, exceeded.clone()));
                let resp = call(inner, req).await;
                // The app met the limit while reading: whatever it answered,
                // the client gets the 413 (oslo raises from the reader).
                if exceeded.load(Ordering::SeqCst) {
                    tracing::info!("Request is too large. Larger than {max}.");
                    too_large(max)
                } else {
                    resp
                }
            }
        }
    })
}

/// A body that fails with [`BodyTooLarge`] once more than `max` bytes went by.
fn limited(body: Body, max: u64, exceeded: Arc<AtomicBool>) -> Body {
    let stream = futures::stream::unfold(
        (body.into_data_stream(), 0u64, false),
        move |(mut stream, seen, done)| {
            let exceeded = exceeded.clone();
            async move {
                if done {
                    return None;
                }
                match stream.next().await? {
                    Ok(chunk) => {
                        let seen = seen.saturating_add(chunk.len() as u64);
                        if seen > max {
                            exceeded.store(true, Ordering::SeqCst);
                            let err: Result<Bytes, axum::BoxError> =
                                Err(Box::new(BodyTooLarge { limit: max }));
                            Some((err, (stream, seen, true)))
                        } else {
                            Some((Ok(chunk), (stream, seen, false)))
                        }
                    }
                    Err(e) => Some((Err(Box::new(e) as axum::BoxError), (stream, seen, true))),
                }
            }
        },
    );
    Body::from_stream(stream)
}

fn too_large(limit: u64) -> Response {
    let mut resp = Response::new(Body::from(TOO_LARGE_MESSAGE));
    *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp.extensions_mut().insert(RequestTooLarge { limit });
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{echo, make_filter, send, text};
    use nova_paste::http::Request;

    fn chunked(parts: &'static [&'static str]) -> Body {
        Body::from_stream(futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p.as_bytes()))),
        ))
    }

    #[tokio::test]
    async fn content_length_over_the_limit_is_413_with_the_marker() {
        let service =
            make_filter(factory, &[], &[("max_request_body_size", "10")]).unwrap()(echo());
        let req = http::Request::builder()
            .header("content-length", "11")
            .body(Body::from("01234567890"))
            .unwrap();
        let resp = send(&service, req).await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            resp.extensions().get::<RequestTooLarge>(),
            Some(&RequestTooLarge { limit: 10 })
        );
        assert_eq!(text(resp).await, "Request is too large.");

        let req = http::Request::builder()
            .header("content-length", "10")
            .body(Body::from("0123456789"))
            .unwrap();
        let resp = send(&service, req).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(text(resp).await, "0123456789");
    }

    #[tokio::test]
    async fn chunked_body_streaming_past_the_limit_is_413() {
        let service = make_filter(
            factory,
            &[("max_request_body_size", "8")],
            &[("max_request_body_size", "1000")],
        )
        .unwrap()(echo());
        let resp = send(&service, Request::new(chunked(&["12345", "6789"]))).await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let resp = send(&service, Request::new(chunked(&["1234", "5678"]))).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(text(resp).await, "12345678");
    }

    #[test]
    fn default_limit_and_bad_values() {
        assert!(make_filter(factory, &[], &[]).is_ok());
        let err = make_filter(factory, &[("max_request_body_size", "lots")], &[])
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "invalid value \"lots\" for option 'max_request_body_size' of [filter:test]"
        );
    }

    #[tokio::test]
    async fn default_limit_is_114688() {
        let service = make_filter(factory, &[], &[]).unwrap()(echo());
        let req = http::Request::builder()
            .header("content-length", "114689")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&service, req).await.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let req = http::Request::builder()
            .header("content-length", "114688")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&service, req).await.status(), StatusCode::OK);
    }
}
