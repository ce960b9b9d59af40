//! Binding the listening socket as nova's WSGI server did (nova-behaviour
//! §1.3): resolve the host (IPv4 or IPv6), `SO_REUSEADDR`, backlog 128, then
//! `SO_KEEPALIVE` and `TCP_KEEPIDLE`; port 0 is read back from the socket.
//!
//! The socket is bound once, in the parent, and inherited by every worker:
//! the kernel keeps queueing connections while workers die or are replaced.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// eventlet's listen backlog, which nova never changed.
pub const BACKLOG: i32 = 128;

/// Why a socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The host did not resolve to any address.
    #[error("cannot resolve listen address {host}:{port}: {reason}")]
    Resolve {
        /// The configured host.
        host: String,
        /// The configured port.
        port: u16,
        /// What the resolver said.
        reason: String,
    },
    /// bind() or listen() failed (address in use, permission, ...).
    #[error("Could not bind to {host}:{port}: {source}")]
    Bind {
        /// The configured host.
        host: String,
        /// The configured port.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Binds `host:port` and returns the listener with its real local address.
pub fn bind(
    host: &str,
    port: u16,
    tcp_keepidle: u64,
) -> Result<(TcpListener, SocketAddr), BindError> {
    let addr = resolve(host, port)?;
    let bind_err = |source| BindError::Bind {
        host: host.to_owned(),
        port,
        source,
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(bind_err)?;
    socket.set_reuse_address(true).map_err(bind_err)?;
    if addr.is_ipv6() {
        // An IPv6 wildcard also accepts IPv4, as on a default Linux host.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into()).map_err(bind_err)?;
    socket.listen(BACKLOG).map_err(bind_err)?;
    set_keepalive(&socket, tcp_keepidle).map_err(bind_err)?;
    let listener: TcpListener = socket.into();
    let local = listener.local_addr().map_err(bind_err)?;
    Ok((listener, local))
}

/// `SO_KEEPALIVE` and `TCP_KEEPIDLE` on a listening socket; accepted
/// sockets inherit both on Linux.
fn set_keepalive(socket: &Socket, tcp_keepidle: u64) -> std::io::Result<()> {
    let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(tcp_keepidle.max(1)));
    SockRef::from(socket).set_tcp_keepalive(&keepalive)
}

/// The first address `host:port` resolves to; IPv6 literals may come with
/// or without brackets.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, BindError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let resolve_err = |reason: String| BindError::Resolve {
        host: host.to_owned(),
        port,
        reason,
    };
    (bare, port)
        .to_socket_addrs()
        .map_err(|e| resolve_err(e.to_string()))?
        .next()
        .ok_or_else(|| resolve_err("no address".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_read_back() {
        let (_listener, addr) = bind("127.0.0.1", 0, 600).expect("bind");
        assert_ne!(addr.port(), 0);
        assert!(addr.ip().is_loopback());
    }

    #[test]
    fn ipv6_literal_binds_with_or_without_brackets() {
        for host in ["::1", "[::1]"] {
            let (_listener, addr) = bind(host, 0, 600).expect("bind ::1");
            assert!(addr.is_ipv6());
        }
    }

    #[test]
    fn a_taken_port_names_host_and_port() {
        let (_held, addr) = bind("127.0.0.1", 0, 600).expect("bind");
        // SO_REUSEADDR does not allow two listeners on one port.
        let err = bind("127.0.0.1", addr.port(), 600).expect_err("second bind");
        assert_eq!(
            err.to_string()
                .split(':')
                .take(2)
                .collect::<Vec<_>>()
                .join(":"),
            format!("Could not bind to 127.0.0.1:{}", addr.port())
        );
    }
}
