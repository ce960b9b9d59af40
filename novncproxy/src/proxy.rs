//! The proxy's HTTP side: a WebSocket upgrade on `/` or `/websockify`
//! opens a console, any other request gets a noVNC client file
//! ([`crate::files`]), `/healthcheck` answers load balancers.
//!
//! As in nova's proxy the WebSocket is accepted first and the client
//! checked after: a bad, expired or foreign token and a refused origin
//! close the connection with an empty Close frame and nothing else, the
//! answer tempest's `test_novnc_bad_token` expects. A client let in talks
//! RFB with the simulated guest's VNC server ([`crate::rfb`]), one binary
//! WebSocket message per RFB answer.

use std::future::Future;
use std::sync::{Arc, RwLock};

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use compute::Compute;
use http::{HeaderMap, Method, StatusCode};

use crate::access::{self, Refusal};
use crate::config::ProxyConfig;
use crate::files;
use crate::rfb::{Desktop, Session, SERVER_VERSION};

/// The console type this proxy opens.
pub const CONSOLE_TYPE: &str = "novnc";

/// What every request of the proxy works with.
#[derive(Clone)]
pub struct Proxy {
    compute: Compute,
    /// Replaced on reload; a request works with the one it started with.
    config: Arc<RwLock<Arc<ProxyConfig>>>,
}

impl Proxy {
    /// A proxy validating tokens against `compute`'s store.
    pub fn new(compute: Compute, config: ProxyConfig) -> Self {
        Proxy {
            compute,
            config: Arc::new(RwLock::new(Arc::new(config))),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> Arc<ProxyConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `config` in force for the requests to come (a reload).
    pub fn set_config(&self, config: ProxyConfig) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    /// The router of the proxy.
    pub fn router(self) -> Router {
        Router::new().fallback(handle).with_state(self)
    }

    /// Whether a WebSocket client holding `token` and sending `headers`
    /// may open a console, and what its screen shows.
    async fn admit(&self, token: &str, headers: &HeaderMap) -> Result<Desktop, Refusal> {
        if token.is_empty() {
            return Err(Refusal::InvalidToken);
        }
        let auth = match self.compute.validate_console_token(token).await {
            Ok(auth) => auth,
            Err(compute::Error::NotFound { .. }) => return Err(Refusal::InvalidToken),
            Err(err) => {
                tracing::error!("cannot validate a console token: {err}");
                return Err(Refusal::InvalidToken);
            }
        };
        if auth.console_type != CONSOLE_TYPE {
            return Err(Refusal::ConsoleType(auth.console_type));
        }
        access::check_origin(
            headers,
            &self.config().allowed_origins,
            &auth.access_url_base,
        )?;
        tracing::info!(
            "console of instance {} opened ({} port {})",
            auth.instance_uuid,
            auth.host.as_deref().unwrap_or("-"),
            auth.port
        );
        Ok(Desktop::plain(&auth.instance_name))
    }
}

/// Serves the proxy on `listener` until `shutdown` resolves (mini-redis'
/// `server::run`: the caller binds).
pub async fn serve(
    listener: tokio::net::TcpListener,
    proxy: Proxy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, proxy.router())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if path == "/healthcheck" && (method == Method::GET || method == Method::HEAD) {
        return (StatusCode::OK, "OK").into_response();
    }
    if wants_websocket(request.headers()) && (path == "/" || path == "/websockify") {
        let (mut parts, _body) = request.into_parts();
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &proxy).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => return rejection.into_response(),
        };
        let token = access::token(parts.uri.query(), &parts.headers);
        let headers = parts.headers;
        return upgrade
            .protocols(["binary"])
            .on_upgrade(move |socket| console(socket, proxy, token, headers));
    }
    files::serve(&proxy.config().web, &method, &path).await
}

/// Whether the request asks for a WebSocket (`Upgrade: websocket`).
fn wants_websocket(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
}

/// One console connection: the client's checks, then RFB until either
/// side closes.
async fn console(mut socket: WebSocket, proxy: Proxy, token: String, headers: HeaderMap) {
    let desktop = match proxy.admit(&token, &headers).await {
        Ok(desktop) => desktop,
        Err(refusal) => {
            tracing::info!("console refused: {refusal}");
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let mut session = Session::new(desktop);
    if socket
        .send(Message::Binary(SERVER_VERSION.to_vec().into()))
        .await
        .is_err()
    {
        return;
    }
    while let Some(received) = socket.recv().await {
        let data = match received {
            Ok(Message::Binary(data)) => data,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Text(_)) => {
                refuse(socket, "binary frames only").await;
                return;
            }
            Ok(Message::Close(_)) | Err(_) => return,
        };
        match session.receive(&data) {
            Ok(replies) => {
                for reply in replies {
                    if socket.send(Message::Binary(reply.into())).await.is_err() {
                        return;
                    }
                }
            }
            Err(err) => {
                tracing::info!("console closed: {err}");
                if let Some(farewell) = err.farewell(session.version()) {
                    let _ = socket.send(Message::Binary(farewell.into())).await;
                }
                refuse(socket, "RFB protocol error").await;
                return;
            }
        }
    }
}

/// Ends a session the client broke the protocol of: a Close frame with
/// the protocol-error code.
async fn refuse(mut socket: WebSocket, reason: &'static str) {
    let frame = CloseFrame {
        code: close_code::PROTOCOL,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
