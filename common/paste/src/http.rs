//! The HTTP types that every layer of the runtime passes around: the boxed
//! service that paste apps and filters produce, and the request extensions
//! that stand in for the WSGI environ keys nova's middleware reads.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::ServiceExt;

/// The body type of requests and responses everywhere in the runtime.
pub type Body = axum::body::Body;
/// A request as the runtime hands it to an app.
pub type Request = http::Request<Body>;
/// A response as an app hands it back.
pub type Response = http::Response<Body>;

/// A ready-to-serve HTTP application: what a paste app factory returns and
/// what a paste filter wraps. It never fails: errors are responses.
///
/// Cloning it is a reference count. Every filter clones the app it wraps
/// for each request (a tower service is consumed by the call), and tower's
/// `BoxCloneSyncService` allocated a new box for each of those clones.
#[derive(Clone)]
pub struct HttpService(Arc<dyn Fn(Request) -> HttpFuture + Send + Sync>);

/// What an [`HttpService`] answers a request with: an answer already made
/// (an app that answers without waiting, such as the version documents,
/// allocates no future), or one still being worked out, boxed.
pub struct HttpFuture(Answer);

enum Answer {
    Ready(Option<Response>),
    Pending(BoxFuture<'static, Response>),
}

impl HttpFuture {
    /// The answer `response`, already made.
    pub fn ready(response: Response) -> Self {
        HttpFuture(Answer::Ready(Some(response)))
    }

    /// The answer `future` will make.
    pub fn new(future: impl Future<Output = Response> + Send + 'static) -> Self {
        HttpFuture(Answer::Pending(Box::pin(future)))
    }

    /// The answer, if it is already made; else this future, unchanged.
    // Both sides are a response's size, and boxing either would cost the
    // allocation this exists to save.
    #[allow(clippy::result_large_err)]
    pub fn now(self) -> Result<Response, HttpFuture> {
        match self.0 {
            Answer::Ready(Some(response)) => Ok(response),
            answer => Err(HttpFuture(answer)),
        }
    }

    /// This answer as `f` reworks it: at once if it is already made (a
    /// filter around an app that answers at once then allocates nothing),
    /// else once it is.
    pub fn map(self, f: impl FnOnce(Response) -> Response + Send + 'static) -> Self {
        match self.now() {
            Ok(response) => HttpFuture::ready(f(response)),
            Err(pending) => HttpFuture::new(async move {
                match pending.await {
                    Ok(response) => f(response),
                    Err(never) => match never {},
                }
            }),
        }
    }
}

impl Future for HttpFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Answer::Ready(response) => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("HttpFuture polled after it answered"),
            },
            Answer::Pending(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

impl HttpService {
    /// A service from a function of the request. A filter that only looks
    /// at the request before passing it on can hand back the inner
    /// service's own future ([`HttpService::serve`]) instead of boxing one
    /// more around it.
    pub fn new(f: impl Fn(Request) -> HttpFuture + Send + Sync + 'static) -> Self {
        HttpService(Arc::new(f))
    }

    /// Starts answering `request` (the service is always ready).
    pub fn serve(&self, request: Request) -> HttpFuture {
        (self.0)(request)
    }

    /// Answers `request`.
    pub async fn answer(&self, request: Request) -> Response {
        match self.serve(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

impl tower::Service<Request> for HttpService {
    type Response = Response;
    type Error = Infallible;
    type Future = HttpFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each call drives its own clone of the wrapped service through
        // its readiness (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.serve(request)
    }
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpService")
    }
}

/// Boxes any cloneable tower service (an axum `Router`, say) as an [`HttpService`].
pub fn boxed<S>(service: S) -> HttpService
where
    S: tower::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    HttpService::new(move |request| {
        let answer = service.clone().oneshot(request);
        HttpFuture::new(async move {
            match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    })
}

/// WSGI's `SCRIPT_NAME`: the path prefix that a urlmap consumed before the
/// request reached the app. The request's URI path is then the rest
/// (`PATH_INFO`). Apps use it to build absolute links. Absent means empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptName(pub String);

/// WSGI's `REMOTE_ADDR`: the peer of the connection, or the client named by
/// `X-Forwarded-For` once `http_proxy_to_wsgi` trusted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// The request's scheme as the client used it (`http` or `https`), possibly
/// rewritten by `http_proxy_to_wsgi` from `X-Forwarded-Proto`. The server
/// sets it on TLS listeners only: absent means `http` (read it with
/// [`url_scheme`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlScheme(pub String);

/// WSGI's `wsgi.url_scheme` of a request: its [`UrlScheme`], else `http`.
pub fn url_scheme(extensions: &http::Extensions) -> &str {
    extensions
        .get::<UrlScheme>()
        .map_or("http", |s| s.0.as_str())
}

/// The message of a caught panic, when it panicked with text.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> Option<&str> {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
}

/// A header's text as a WSGI app reads it: its bytes as ISO-8859-1 (PEP
/// 3333), so a value that is not ASCII is text like any other rather than
/// no value at all. ASCII is borrowed as is.
pub fn latin1(value: &http::HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(value.as_bytes().iter().map(|&b| char::from(b)).collect()),
    }
}

/// The header value a WSGI server sends for `text` set by an app: each
/// character as the one ISO-8859-1 byte that [`latin1`] reads back as it.
/// `None` for a character beyond U+00FF or one no header may carry.
pub fn latin1_header_value(text: &str) -> Option<http::HeaderValue> {
    let bytes = text
        .chars()
        .map(|c| u8::try_from(c).ok())
        .collect::<Option<Vec<u8>>>()?;
    http::HeaderValue::from_bytes(&bytes).ok()
}

/// `openstack.request_id`: the `req-<uuid>` id of this request, set by the
/// request-id middleware before anything else runs.
///
/// The id is held as the header value it is sent in, made once: the log,
/// the filters and the answer share it by reference count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(http::HeaderValue);

impl RequestId {
    /// A new `req-<uuid4>` id.
    pub fn generate() -> Self {
        let mut buf = [0u8; 40];
        buf[..4].copy_from_slice(b"req-");
        uuid::Uuid::new_v4()
            .hyphenated()
            .encode_lower(&mut buf[4..]);
        let value = http::HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&buf))
            .expect("req- and a hyphenated uuid are visible ASCII");
        RequestId(value)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("")
    }

    /// The id as the header value it is sent in.
    pub fn header_value(&self) -> &http::HeaderValue {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_that_is_not_ascii_reads_as_latin1_and_writes_back_the_same_bytes() {
        let value = http::HeaderValue::from_bytes(b"\xe9l\xe8ve:caf\xe9").unwrap();
        let text = latin1(&value);
        assert_eq!(text, "\u{e9}l\u{e8}ve:caf\u{e9}");
        assert_eq!(latin1_header_value(&text), Some(value));
        // UTF-8 bytes are read byte by byte, as a WSGI server reads them.
        let utf8 = http::HeaderValue::from_str("\u{e9}").unwrap();
        assert_eq!(latin1(&utf8), "\u{c3}\u{a9}");
        assert_eq!(latin1_header_value("\u{3a9}mega"), None);
        assert_eq!(latin1_header_value("line\nbreak"), None);
    }

    #[test]
    fn a_panic_message_is_its_text_whether_static_or_formatted() {
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        let literal = caught(|| panic!("static text"));
        let formatted = caught(|| panic!("formatted {}", 42));
        let other = caught(|| std::panic::panic_any(7_u8));
        assert_eq!(panic_message(&*literal), Some("static text"));
        assert_eq!(panic_message(&*formatted), Some("formatted 42"));
        assert_eq!(panic_message(&*other), None);
    }
}
