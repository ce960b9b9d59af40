//! The HTTP server: it takes a bound listener and a shutdown future and never
//! binds itself (mini-redis' `server::run`). On top of hyper it applies the
//! eventlet limits nova relied on (nova-behaviour §1.4): the request-line
//! limit answered 414, the header-line limit answered 400, the per-socket
//! `client_socket_timeout`, `keep_alive`, at most `default_pool_size`
//! connections at once, TLS, the access log, `x-openstack-request-id` on
//! every answer, and a panic catcher so that no panic reaches a client as
//! anything but a well-formed 500.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request as HttpRequest, StatusCode};
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::access_log::{AccessRecord, LogFormat};
use crate::watchdog::{BodyTimeout, IdleTimeout, Watchdog};
use nova_paste::http::{Body, HttpService, RemoteAddr, RequestId, Response, UrlScheme};

/// The response header every answer carries.
pub use nova_middleware::request_id::OPENSTACK_REQUEST_ID_HEADER as REQUEST_ID_HEADER;

/// eventlet's limit on all header bytes of one request.
const MAX_TOTAL_HEADERS: usize = 65536;

/// How long a drain keeps idle keep-alive connections open before closing
/// them. A client may have sent its next request on such a connection
/// just as the drain began; closing at once would drop those bytes unread
/// and fail a request the client believes was accepted. Within the linger
/// that request is read and answered with `Connection: close`.
pub const DRAIN_LINGER: Duration = Duration::from_secs(1);

/// Serving options that a reload may change; taken per connection.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// nova's name of the API (`osapi_compute`, `ec2`, `metadata`).
    pub name: String,
    /// A request line of this many bytes or more (CRLF included) gets 414.
    pub max_url_len: usize,
    /// A header line of this many bytes or more gets 400.
    pub max_header_line: usize,
    /// How long a read or write may wait on the client without progress
    /// (never how long a handler may run); `None` waits forever.
    pub client_socket_timeout: Option<Duration>,
    /// HTTP/1.1 keep-alive.
    pub keep_alive: bool,
    /// Connections served at once; further ones wait in the listen queue.
    pub pool_size: usize,
    /// The parsed `wsgi_log_format`.
    pub log_format: LogFormat,
    /// TLS, for an API in `enabled_ssl_apis`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long a SIGTERM drain may take; `None` waits for every request.
    pub graceful_shutdown_timeout: Option<Duration>,
}

/// What a worker serves: the app built from the paste pipeline and the
/// options in effect. A reload publishes a new one; open connections keep
/// the one they started with.
#[derive(Clone)]
pub struct Serving {
    /// The paste app.
    pub app: HttpService,
    /// The serving options.
    pub options: Arc<ServerOptions>,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every accepted connection finished.
    Complete,
    /// `graceful_shutdown_timeout` passed with connections still open; they
    /// were cut.
    TimedOut,
}

/// Accepts connections on `listener` until `shutdown` resolves, then stops
/// accepting and lets open connections finish for at most the current
/// `graceful_shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    serving: watch::Receiver<Serving>,
    shutdown: impl Future<Output = ()>,
) -> Drain {
    let pool_size = serving.borrow().options.pool_size.max(1);
    nova_middleware::metrics::recorder::global().set_pool_size(pool_size);
    let pool = Arc::new(Semaphore::new(pool_size));
    let draining = Arc::new(AtomicBool::new(false));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Waiting for a pool slot before accept() is the back-pressure:
        // beyond `default_pool_size`, connections queue in the kernel.
        let permit = tokio::select! {
            permit = pool.clone().acquire_owned() => permit.expect("the pool is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        spawn_connection(stream, peer, permit, &serving, &graceful, &draining);
    }
    let drain_started = Instant::now();
    draining.store(true, Ordering::Relaxed);
    // Connections the kernel completed before we stopped accepting are, to
    // their clients, accepted: serve them too rather than let the socket's
    // close reset them. Each gets a pool permit, made for it if need be.
    let backlog = take_backlog(listener);
    let permits = pool_size + backlog.len();
    pool.add_permits(backlog.len());
    for (stream, peer) in backlog {
        let permit = pool
            .clone()
            .acquire_owned()
            .await
            .expect("the pool is never closed");
        spawn_connection(stream, peer, permit, &serving, &graceful, &draining);
    }
    // Every open connection holds a pool permit: the linger ends early
    // once all of them have closed.
    let all_closed = pool.acquire_many(u32::try_from(permits).unwrap_or(u32::MAX));
    let _ = tokio::time::timeout(DRAIN_LINGER, all_closed).await;
    let drain_timeout = serving.borrow().options.graceful_shutdown_timeout;
    match drain_timeout {
        Some(limit) => match tokio::time::timeout(
            limit.saturating_sub(drain_started.elapsed()),
            graceful.shutdown(),
        )
        .await
        {
            Ok(()) => Drain::Complete,
            Err(_) => Drain::TimedOut,
        },
        None => {
            graceful.shutdown().await;
            Drain::Complete
        }
    }
}

/// Serves one accepted connection on its own task, with the serving
/// options in effect now; `permit` is its pool slot, freed when it ends.
fn spawn_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
    serving: &watch::Receiver<Serving>,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    draining: &Arc<AtomicBool>,
) {
    let current = serving.borrow().clone();
    let watcher = graceful.watcher();
    let draining = draining.clone();
    let open = nova_middleware::metrics::recorder::global().connection_opened();
    tokio::spawn(async move {
        let _permit = permit;
        let _open = open;
        serve_connection(stream, peer, current, watcher, draining).await;
    });
}

/// Accepts, without waiting, every connection already queued on
/// `listener`, then closes it.
fn take_backlog(listener: TcpListener) -> Vec<(tokio::net::TcpStream, SocketAddr)> {
    let mut taken = Vec::new();
    let Ok(listener) = listener.into_std() else {
        return taken;
    };
    // The std listener is still non-blocking: accept stops at WouldBlock.
    while let Ok((stream, peer)) = listener.accept() {
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream));
        match stream {
            Ok(stream) => taken.push((stream, peer)),
            Err(err) => tracing::debug!("cannot serve a queued connection from {peer}: {err}"),
        }
    }
    taken
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    serving: Serving,
    watcher: hyper_util::server::graceful::Watcher,
    draining: Arc<AtomicBool>,
) {
    let _ = stream.set_nodelay(true);
    let watchdog = Watchdog::new();
    let stream = IdleTimeout::new(
        stream,
        serving.options.client_socket_timeout,
        watchdog.clone(),
    );
    match serving.options.tls.clone() {
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            let handshake_limit = serving
                .options
                .client_socket_timeout
                .unwrap_or(Duration::from_secs(60));
            match tokio::time::timeout(handshake_limit, acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => {
                    run_http(
                        tls_stream, peer, "https", serving, watcher, draining, watchdog,
                    )
                    .await
                }
                Ok(Err(err)) => tracing::debug!("TLS handshake with {peer} failed: {err}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        }
        None => run_http(stream, peer, "http", serving, watcher, draining, watchdog).await,
    }
}

async fn run_http<IO>(
    io: IO,
    peer: SocketAddr,
    scheme: &'static str,
    serving: Serving,
    watcher: hyper_util::server::graceful::Watcher,
    draining: Arc<AtomicBool>,
    watchdog: Watchdog,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let options = serving.options.clone();
    // Formatted once for the access log lines of every request on it.
    let client_ip: Arc<str> = Arc::from(peer.ip().to_string());
    let timer = watchdog.timer();
    let body_timeout = options.client_socket_timeout;
    let service = hyper::service::service_fn(move |req: HttpRequest<Incoming>| {
        // From here until the answer is made the server works and the
        // client waits: the socket timeout is not running against it.
        let handling = watchdog.handling();
        let req = req.map(|body| request_body(body, body_timeout, &watchdog));
        let serving = serving.clone();
        let draining = draining.clone();
        let client_ip = client_ip.clone();
        async move {
            let _handling = handling;
            let mut response = handle(req, peer, &client_ip, scheme, serving).await;
            if draining.load(Ordering::Relaxed) {
                // The worker is going away: the client must not reuse
                // this connection (hyper closes it after this answer).
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(timer)
        .keep_alive(options.keep_alive)
        .header_read_timeout(options.client_socket_timeout)
        .max_buf_size((options.max_url_len + MAX_TOTAL_HEADERS).max(8192) * 2);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(conn).await {
        tracing::debug!("connection from {peer} ended: {err}");
    }
}

/// The request body as the app reads it: while the handler waits for it,
/// each wait is bounded by the socket timeout (the socket's own reads are
/// not timed while a handler runs). A request without a body needs no
/// timer.
fn request_body(body: Incoming, timeout: Option<Duration>, watchdog: &Watchdog) -> Body {
    match timeout {
        Some(timeout) if !body.is_end_stream() => {
            Body::new(BodyTimeout::new(body, timeout, watchdog.clone()))
        }
        _ => Body::new(body),
    }
}

/// Serves one request: the eventlet limits, then the app, then the log line.
async fn handle(
    mut req: nova_paste::http::Request,
    peer: SocketAddr,
    client_ip: &str,
    scheme: &str,
    serving: Serving,
) -> Response {
    let started = Instant::now();
    let options = &serving.options;
    let request_line = request_line(&req);
    // Made once; the app's copy in the extensions shares its bytes.
    let request_id = RequestId::generate();
    let mut response = if request_line.len() + 2 >= options.max_url_len {
        raw_error(StatusCode::URI_TOO_LONG)
    } else if let Some(status) = header_violation(&req, options.max_header_line) {
        raw_error(status)
    } else {
        let ext = req.extensions_mut();
        ext.insert(RemoteAddr(peer));
        if scheme != "http" {
            ext.insert(UrlScheme(scheme.to_owned()));
        }
        ext.insert(request_id.clone());
        // The call is caught as well as the future it returns: a filter
        // routes (and may panic) before it hands its future back.
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| serving.app.serve(req))) {
            Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(panic) => {
                let what = nova_paste::http::panic_message(&*panic).unwrap_or_default();
                tracing::error!("{} unhandled panic in the app: {what}", request_id.as_str());
                internal_error()
            }
        }
    };
    if let http::header::Entry::Vacant(entry) = response.headers_mut().entry(REQUEST_ID_HEADER) {
        entry.insert(request_id.header_value().clone());
    }
    let record = AccessRecord {
        client_ip,
        client_port: peer.port(),
        request_line: &request_line,
        status_code: response.status().as_u16(),
        body_length: body_length(&response),
        wall: started.elapsed(),
    };
    crate::logging::wsgi_info(|line| options.log_format.render_into(&record, line));
    response
}

/// The request line as the client sent it, without its CRLF.
fn request_line(req: &nova_paste::http::Request) -> String {
    let version = match req.version() {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    };
    let method = req.method().as_str();
    let mut line = match req.uri().path_and_query() {
        Some(pq) if req.uri().scheme().is_none() => {
            let mut line = String::with_capacity(method.len() + pq.as_str().len() + 10);
            line.push_str(method);
            line.push(' ');
            line.push_str(pq.as_str());
            line
        }
        _ => format!("{method} {}", req.uri()),
    };
    line.push(' ');
    line.push_str(version);
    line
}

/// eventlet's header checks: one line too long, or all of them together.
fn header_violation(req: &nova_paste::http::Request, max_header_line: usize) -> Option<StatusCode> {
    let mut total = 0;
    for (name, value) in req.headers() {
        let line = name.as_str().len() + 2 + value.len() + 2;
        if line >= max_header_line {
            return Some(StatusCode::BAD_REQUEST);
        }
        total += line;
    }
    (total > MAX_TOTAL_HEADERS).then_some(StatusCode::BAD_REQUEST)
}

/// The bare answer eventlet gives before the app runs: no body, and the
/// connection closed.
fn raw_error(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// eventlet's answer when the app fails before sending headers.
fn internal_error() -> Response {
    let mut response = raw_error(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn body_length(response: &Response) -> u64 {
    response.body().size_hint().exact().unwrap_or_else(|| {
        response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn serving(pool_size: usize) -> Serving {
        let app =
            nova_paste::http::boxed(tower::service_fn(|_req: nova_paste::http::Request| async {
                Ok::<_, Infallible>(Response::new(Body::from("ok")))
            }));
        Serving {
            app,
            options: Arc::new(ServerOptions {
                name: "test".into(),
                max_url_len: 8192,
                max_header_line: 16384,
                client_socket_timeout: Some(Duration::from_secs(5)),
                keep_alive: true,
                pool_size,
                log_format: LogFormat::parse("%(status_code)s"),
                tls: None,
                graceful_shutdown_timeout: Some(Duration::from_secs(5)),
            }),
        }
    }

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// A panic while the app is called, before it hands back its future
    /// (a filter's routing, say), is answered 500 like a panic while the
    /// future runs: the connection is not dropped without an answer.
    #[tokio::test]
    async fn a_panic_while_the_app_is_called_is_a_500() {
        let mut serving = serving(1);
        serving.app = HttpService::new(|_req| panic!("routing failed"));
        let req = http::Request::builder()
            .uri("/")
            .body(Body::empty())
            .unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let response = handle(req, peer, "127.0.0.1", "http", serving).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// Reads one response (headers and the 2-byte body) from `conn`.
    async fn read_response(conn: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.ends_with(b"\r\n\r\nok") {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8(buf).unwrap().to_ascii_lowercase()
    }

    async fn start(
        pool_size: usize,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Drain>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (_tx, rx) = watch::channel(serving(pool_size));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _keep = _tx;
            serve(listener, rx, async move {
                let _ = stopped.await;
            })
            .await
        });
        (addr, stop, server)
    }

    #[tokio::test]
    async fn a_request_sent_on_a_kept_alive_connection_as_the_drain_begins_is_answered() {
        let (addr, stop, server) = start(10).await;
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(REQUEST).await.unwrap();
        assert!(read_response(&mut conn).await.starts_with("http/1.1 200"));

        // The drain begins while the connection is idle; the client, not
        // yet aware, sends its next request on it.
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        conn.write_all(REQUEST).await.unwrap();

        let second = read_response(&mut conn).await;
        assert!(second.starts_with("http/1.1 200"), "{second:?}");
        assert!(second.contains("connection: close"), "{second:?}");
        assert_eq!(server.await.unwrap(), Drain::Complete);
    }

    #[tokio::test]
    async fn a_drain_with_no_open_connection_ends_without_lingering() {
        let (_addr, stop, server) = start(10).await;
        let started = Instant::now();
        stop.send(()).unwrap();
        assert_eq!(server.await.unwrap(), Drain::Complete);
        assert!(
            started.elapsed() < DRAIN_LINGER / 2,
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn connections_queued_in_the_kernel_when_the_drain_begins_are_answered() {
        // A pool of one, held by an idle keep-alive connection: the next
        // connection completes its handshake but waits in the kernel's queue.
        let (addr, stop, server) = start(1).await;
        let mut holder = tokio::net::TcpStream::connect(addr).await.unwrap();
        holder.write_all(REQUEST).await.unwrap();
        assert!(read_response(&mut holder).await.starts_with("http/1.1 200"));
        let mut queued = tokio::net::TcpStream::connect(addr).await.unwrap();
        queued.write_all(REQUEST).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;

        stop.send(()).unwrap();

        let answer = read_response(&mut queued).await;
        assert!(answer.starts_with("http/1.1 200"), "{answer:?}");
        assert!(answer.contains("connection: close"), "{answer:?}");
        assert_eq!(server.await.unwrap(), Drain::Complete);
    }
}
