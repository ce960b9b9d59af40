//! nova's API filters other than auth: `FaultWrapper` (panics and internal
//! errors become a well-formed `computeFault`), `LegacyV2CompatibleWrapper`
//! (the `/v2` mode) and `RequestLog` (silent: the server logs each request).

use std::panic::AssertUnwindSafe;

use axum::http::{header, HeaderValue, StatusCode};
use futures::FutureExt;
use nova_paste::http::{HttpFuture, HttpService, Request, Response};

use crate::fault::{fault_response, UNEXPECTED_ERROR};
use crate::microversion::{LegacyV2, API_VERSION_HEADER, LEGACY_API_VERSION_HEADER};

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// `nova.api.openstack:FaultWrapper`: a panic below becomes a 500
/// `computeFault` (the panic is logged, not shown); a bare 413 or 500 from a
/// generic filter below (sizelimit, say) is re-rendered as nova's fault.
/// An answer made at once is checked at once, without a future of its own.
pub fn fault_wrapper(inner: HttpService) -> HttpService {
    HttpService::new(move |request: Request| {
        let uri = request.uri().clone();
        // A filter below may panic while it routes, before it hands back
        // its future, or while that future runs: both are caught.
        let served = std::panic::catch_unwind(AssertUnwindSafe(|| inner.serve(request)));
        let future = match served {
            Ok(future) => future,
            Err(panic) => return HttpFuture::ready(panicked(&uri, &*panic)),
        };
        match future.now() {
            Ok(response) => HttpFuture::ready(nova_fault(response)),
            Err(pending) => HttpFuture::new(async move {
                match AssertUnwindSafe(pending).catch_unwind().await {
                    Ok(Ok(response)) => nova_fault(response),
                    Ok(Err(never)) => match never {},
                    Err(panic) => panicked(&uri, &*panic),
                }
            }),
        }
    })
}

/// The 500 of a panic below [`fault_wrapper`], logged.
fn panicked(uri: &axum::http::Uri, panic: &(dyn std::any::Any + Send)) -> Response {
    let what = nova_paste::http::panic_message(panic).unwrap_or_default();
    tracing::error!(%uri, panic = %what, "Caught error: request handler panicked");
    tracing::info!("{uri} returned with HTTP 500");
    fault_response(StatusCode::INTERNAL_SERVER_ERROR, UNEXPECTED_ERROR)
}

/// `response`, or nova's fault for a bare (not JSON) 413 or 500.
fn nova_fault(response: Response) -> Response {
    // The status first: most answers are neither, and need no look at
    // their content type.
    let status = response.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request is too large.",
        StatusCode::INTERNAL_SERVER_ERROR => UNEXPECTED_ERROR,
        _ => return response,
    };
    if is_json(&response) {
        return response;
    }
    fault_response(status, message)
}

/// `nova.api.openstack:LegacyV2CompatibleWrapper`: requests under `/v2` are
/// served as 2.1 without negotiation, and answers carry no version headers.
pub fn legacy_v2_compatible(inner: HttpService) -> HttpService {
    HttpService::new(move |mut request: Request| {
        request.headers_mut().remove(API_VERSION_HEADER);
        request.headers_mut().remove(LEGACY_API_VERSION_HEADER);
        request.extensions_mut().insert(LegacyV2);
        inner.serve(request).map(|mut response| {
            let headers = response.headers_mut();
            headers.remove(API_VERSION_HEADER);
            headers.remove(LEGACY_API_VERSION_HEADER);
            let vary: Vec<HeaderValue> = headers
                .get_all(header::VARY)
                .iter()
                .filter(|v| {
                    let v = v.to_str().unwrap_or("");
                    !v.eq_ignore_ascii_case(API_VERSION_HEADER)
                        && !v.eq_ignore_ascii_case(LEGACY_API_VERSION_HEADER)
                })
                .cloned()
                .collect();
            headers.remove(header::VARY);
            for v in vary {
                headers.append(header::VARY, v);
            }
            response
        })
    })
}

/// `nova.api.openstack.requestlog:RequestLog`. nova's filter logs a
/// request only when no WSGI server logs it already: under its eventlet
/// server it stays silent (`_should_emit`), and so does ours, because the
/// runtime writes every request's `wsgi_log_format` line itself. One line
/// per request, as operators' log parsers expect.
pub fn request_log(inner: HttpService) -> HttpService {
    inner
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use nova_paste::http::boxed;
    use tower::ServiceExt;

    fn panicking() -> HttpService {
        boxed(tower::service_fn(|_req: Request| async move {
            if true {
                panic!("secret internal detail");
            }
            Ok::<Response, std::convert::Infallible>(Response::new(nova_paste::http::Body::empty()))
        }))
    }

    async fn body(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_panic_becomes_compute_fault_without_detail() {
        let service = fault_wrapper(panicking());
        let response = service
            .oneshot(Request::new(nova_paste::http::Body::empty()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body(response).await;
        assert_eq!(body["computeFault"]["code"], 500);
        assert_eq!(body["computeFault"]["message"], UNEXPECTED_ERROR);
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn a_panic_while_routing_and_a_bare_500_answered_at_once_become_compute_faults() {
        let routing_panics = HttpService::new(|_req| panic!("secret routing detail"));
        let bare_500 = HttpService::new(|_req| {
            let mut response = Response::new(nova_paste::http::Body::from("oops"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            HttpFuture::ready(response)
        });
        for inner in [routing_panics, bare_500] {
            let response = fault_wrapper(inner)
                .oneshot(Request::new(nova_paste::http::Body::empty()))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(
                body(response).await,
                serde_json::json!({"computeFault": {"code": 500, "message": UNEXPECTED_ERROR}})
            );
        }
    }

    #[tokio::test]
    async fn a_bare_413_becomes_over_limit() {
        let inner = boxed(tower::service_fn(|_req: Request| async move {
            let mut response = Response::new(nova_paste::http::Body::from("too big"));
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            Ok::<_, std::convert::Infallible>(response)
        }));
        let response = fault_wrapper(inner)
            .oneshot(Request::new(nova_paste::http::Body::empty()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            body(response).await,
            serde_json::json!({"overLimit": {"code": 413, "message": "Request is too large."}})
        );
    }
}
