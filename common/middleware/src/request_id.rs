//! oslo.middleware's `RequestId`: every request gets a `req-<uuid4>` id in
//! its extensions, and every response carries it (plus any compat headers
//! an API adds, such as nova's `x-compute-request-id`).

use http::header::Entry;
use http::HeaderValue;

use crate::filter_fn;
use nova_paste::http::{HttpService, RequestId};
use nova_paste::Filter;

/// The response header oslo always sets.
pub const OPENSTACK_REQUEST_ID: &str = "x-openstack-request-id";

/// [`OPENSTACK_REQUEST_ID`], parsed once.
pub const OPENSTACK_REQUEST_ID_HEADER: http::HeaderName =
    http::HeaderName::from_static(OPENSTACK_REQUEST_ID);

/// `openstack.global_request_id`: a caller-supplied
/// `X-Openstack-Request-Id` of the right form (`req-<uuid>`), kept for
/// logging and for passing on to other services; it never replaces the
/// request's own id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalRequestId(pub String);

/// Whether `id` matches oslo's `^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`.
pub fn is_request_id(id: &str) -> bool {
    let Some(uuid) = id.strip_prefix("req-") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// The request-id filter, adding `compat_headers` beside
/// `x-openstack-request-id`.
pub fn filter(compat_headers: &'static [http::HeaderName]) -> Filter {
    filter_fn(move |inner| layer(inner, compat_headers))
}

/// Wraps `inner`. A [`RequestId`] already in the request (the server sets
/// one before the app runs, for its access log) is kept so that the log and
/// the response agree; otherwise a new id is generated, as oslo does.
pub fn layer(inner: HttpService, compat_headers: &'static [http::HeaderName]) -> HttpService {
    HttpService::new(move |mut req| {
        let global = req
            .headers()
            .get(&OPENSTACK_REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_request_id(v))
            .map(|v| GlobalRequestId(v.to_string()));
        if let Some(global) = global {
            req.extensions_mut().insert(global);
        }
        let id = match req.extensions().get::<RequestId>() {
            Some(id) => id.clone(),
            None => {
                let id = RequestId::generate();
                req.extensions_mut().insert(id.clone());
                id
            }
        };
        inner.serve(req).map(move |mut resp| {
            let value: &HeaderValue = id.header_value();
            let headers = resp.headers_mut();
            // oslo's order: its own header first, then the compat ones.
            if let Entry::Vacant(entry) = headers.entry(OPENSTACK_REQUEST_ID_HEADER) {
                entry.insert(value.clone());
            }
            for name in compat_headers {
                if let Entry::Vacant(entry) = headers.entry(name) {
                    entry.insert(value.clone());
                }
            }
            resp
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compat header, as an API adds (nova's compute API's).
    const COMPUTE_REQUEST_ID: http::HeaderName =
        http::HeaderName::from_static("x-compute-request-id");
    use crate::testing::{echo, send};
    use nova_paste::http::{Body, Request};

    #[tokio::test]
    async fn every_response_gets_a_fresh_req_uuid_id_in_both_headers() {
        static COMPAT: [http::HeaderName; 1] = [COMPUTE_REQUEST_ID];
        let service = filter(&COMPAT)(echo());
        let resp = send(&service, Request::new(Body::empty())).await;
        let id = resp.headers()[OPENSTACK_REQUEST_ID]
            .to_str()
            .unwrap()
            .to_string();
        assert!(is_request_id(&id), "{id}");
        assert_eq!(resp.headers()[&COMPUTE_REQUEST_ID], id.as_str());
        assert_eq!(resp.headers()["x-seen-request-id"], id.as_str());
        let again = send(&service, Request::new(Body::empty())).await;
        assert_ne!(again.headers()[OPENSTACK_REQUEST_ID], id.as_str());
    }

    #[tokio::test]
    async fn inbound_id_is_only_a_global_request_id() {
        let inbound = "req-12345678-1234-1234-1234-123456789abc";
        let inner = nova_paste::http::boxed(tower::service_fn(|req: Request| async move {
            let global = req
                .extensions()
                .get::<GlobalRequestId>()
                .map(|g| g.0.clone())
                .unwrap_or_default();
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from(global)))
        }));
        let service = filter(&[])(inner);
        let req = http::Request::builder()
            .header("X-Openstack-Request-Id", inbound)
            .body(Body::empty())
            .unwrap();
        let resp = send(&service, req).await;
        assert_ne!(resp.headers()[OPENSTACK_REQUEST_ID], inbound);
        assert!(resp.headers().get(&COMPUTE_REQUEST_ID).is_none());
        assert_eq!(crate::testing::text(resp).await, inbound);

        let req = http::Request::builder()
            .header("X-Openstack-Request-Id", "req-bogus")
            .body(Body::empty())
            .unwrap();
        assert_eq!(crate::testing::text(send(&service, req).await).await, "");
    }

    #[test]
    fn request_id_format_is_checked_exactly() {
        assert!(is_request_id("req-12345678-1234-1234-1234-123456789abc"));
        assert!(!is_request_id("req-12345678-1234-1234-1234-123456789ABC"));
        assert!(!is_request_id("12345678-1234-1234-1234-123456789abc"));
        assert!(!is_request_id("req-12345678-1234-1234-1234-123456789abc-"));
    }
}
