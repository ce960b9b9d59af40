//! The proxy through real sockets: started on a loopback port 0 over a
//! test store, with tokens issued by compute's `get_remote_console` (what
//! osapi-compute calls), and spoken to as tempest's test client does: a
//! hand-written WebSocket upgrade, then RFB frames.

use std::net::SocketAddr;
use std::path::Path;

use compute::{Compute, ComputeConfig, CreateInstance, RequestContext, Store, StoreOptions};
use novncproxy::config::ProxyConfig;
use novncproxy::proxy::{serve, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A running proxy over a fresh store with one active instance.
struct Fixture {
    addr: SocketAddr,
    compute: Compute,
    instance: String,
    _stop: oneshot::Sender<()>,
    dir: tempfile::TempDir,
}

const INSTANCE_NAME: &str = "console-vm";

impl Fixture {
    async fn start() -> Fixture {
        Fixture::with(ComputeConfig::instant(), Vec::new()).await
    }

    async fn with(config: ComputeConfig, allowed_origins: Vec<String>) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let web = dir.path().join("web");
        std::fs::create_dir_all(web.join("app")).unwrap();
        std::fs::write(
            web.join("vnc_lite.html"),
            "<html><script src=\"app/ui.js\"></script>noVNC</html>",
        )
        .unwrap();
        std::fs::write(web.join("app/ui.js"), "export default 1;").unwrap();
        // Outside the web directory: never served.
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        let url = format!("sqlite:///{}", dir.path().join("nova.sqlite").display());
        let store = Store::connect(&url, StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let compute = Compute::new(store, config);
        let instance = compute
            .create_instances(
                &owner(),
                CreateInstance {
                    name: INSTANCE_NAME.into(),
                    flavor_id: "1".into(),
                    image_ref: compute::CIRROS_IMAGE_UUID.into(),
                    ..Default::default()
                },
            )
            .await
            .expect("create")
            .instances
            .remove(0)
            .uuid;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Proxy::new(
            compute.clone(),
            ProxyConfig {
                host: "127.0.0.1".into(),
                port: 0,
                web,
                allowed_origins,
            },
        );
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, proxy, async move {
            let _ = stopped.await;
        }));
        Fixture {
            addr,
            compute,
            instance,
            _stop: stop,
            dir,
        }
    }

    /// A fresh token for the instance's noVNC console, as
    /// `os-getVNCConsole` issues it.
    async fn token(&self) -> String {
        let url = self
            .compute
            .get_remote_console(&owner(), &self.instance, "vnc", "novnc")
            .await
            .expect("console");
        let at = url.find("token%3D").expect("a token") + "token%3D".len();
        url[at..].to_owned()
    }

    /// Opens a WebSocket with `request_line` and `extra` headers; returns
    /// the response head and the connection.
    async fn websocket(&self, target: &str, extra: &str) -> (String, WsClient) {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: binary\r\n{extra}\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let (head, rest) = read_head(&mut stream).await;
        (
            head,
            WsClient {
                stream,
                buffered: rest,
            },
        )
    }

    /// A plain HTTP GET of `target` (sent as written: no normalising).
    async fn get(&self, target: &str) -> (String, Vec<u8>) {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.unwrap();
        let end = find(&all, b"\r\n\r\n").expect("a response head") + 4;
        (
            String::from_utf8_lossy(&all[..end]).into_owned(),
            all[end..].to_vec(),
        )
    }
}

fn owner() -> RequestContext {
    RequestContext::new("alice", "project-a")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end + 4]).into_owned();
            return (head, data[end + 4..].to_vec());
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the response head");
        data.extend_from_slice(&chunk[..n]);
    }
}

/// The client side of a WebSocket, frame by frame.
struct WsClient {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl WsClient {
    async fn fill(&mut self, n: usize) -> bool {
        let mut chunk = [0u8; 65536];
        while self.buffered.len() < n {
            let got = self.stream.read(&mut chunk).await.unwrap_or(0);
            if got == 0 {
                return false;
            }
            self.buffered.extend_from_slice(&chunk[..got]);
        }
        true
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        self.fill(n)
            .await
            .then(|| self.buffered.drain(..n).collect())
    }

    /// The next frame's opcode and payload; `None` when the connection
    /// closed.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let head = self.take(2).await?;
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let b = self.take(2).await?;
                usize::from(u16::from_be_bytes([b[0], b[1]]))
            }
            127 => {
                let b = self.take(8).await?;
                usize::try_from(u64::from_be_bytes(b.try_into().unwrap())).unwrap()
            }
            n => usize::from(n),
        };
        let payload = self.take(len).await?;
        Some((opcode, payload))
    }

    /// The next binary message.
    async fn binary(&mut self) -> Vec<u8> {
        let (opcode, payload) = self.frame().await.expect("a frame");
        assert_eq!(opcode, 2, "expected a binary frame, got {payload:?}");
        payload
    }

    /// Sends `data` as one masked binary frame (as tempest does).
    async fn send(&mut self, data: &[u8]) {
        assert!(data.len() < 126);
        let mask = [7u8, 2, 1, 9];
        let mut frame = vec![0x82, 0x80 | data.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Asserts the server closed without a byte of RFB: an empty Close
    /// frame, then the end of the connection.
    async fn assert_refused(mut self) {
        let (opcode, payload) = self.frame().await.expect("a close frame");
        assert_eq!((opcode, payload), (8, Vec::new()));
        assert_eq!(self.frame().await, None);
    }
}

#[tokio::test]
async fn a_valid_token_opens_the_guest_console_up_to_server_init() {
    let f = Fixture::start().await;
    let token = f.token().await;
    let (head, mut ws) = f.websocket(&format!("/?token={token}"), "").await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("upgrade: websocket"), "{head}");
    assert!(lower.contains("sec-websocket-protocol: binary"), "{head}");

    assert_eq!(ws.binary().await, b"RFB 003.008\n");
    ws.send(b"RFB 003.008\n").await;
    assert_eq!(ws.binary().await, vec![1, 1]);
    ws.send(&[1]).await;
    assert_eq!(ws.binary().await, vec![0, 0, 0, 0]);
    ws.send(&[1]).await;
    let init = ws.binary().await;
    assert_eq!(&init[..4], &[3, 32, 2, 88], "800x600");
    assert_eq!(init[4], 32, "bits per pixel");
    let name_len = u32::from_be_bytes(init[20..24].try_into().unwrap()) as usize;
    assert_eq!(init.len(), 24 + name_len);
    assert_eq!(&init[24..], INSTANCE_NAME.as_bytes());

    // The whole screen, raw.
    ws.send(&[3, 0, 0, 0, 0, 0, 3, 32, 2, 88]).await;
    let update = ws.binary().await;
    assert_eq!(&update[..4], &[0, 0, 0, 1]);
    assert_eq!(update.len(), 16 + 800 * 600 * 4);
}

#[tokio::test]
async fn the_token_cookie_on_websockify_opens_the_console_too() {
    let f = Fixture::start().await;
    let token = f.token().await;
    let (head, mut ws) = f
        .websocket(
            "/websockify",
            &format!("Cookie: lang=en; token={token}\r\n"),
        )
        .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(ws.binary().await, b"RFB 003.008\n");
}

#[tokio::test]
async fn a_bad_token_is_closed_without_sending_data() {
    let f = Fixture::start().await;
    let token = f.token().await;
    // tempest's test_novnc_bad_token: the token prefixed, and the URL's
    // query as a cookie.
    let (head, ws) = f
        .websocket(
            &format!("/?token=bad{token}"),
            &format!("Cookie: path=%3Ftoken%3Dbad{token}\r\n"),
        )
        .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ws.assert_refused().await;
    let (_, ws) = f.websocket("/websockify", "").await;
    ws.assert_refused().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let mut config = ComputeConfig::instant();
    config.consoles.token_ttl = 0;
    let f = Fixture::with(config, Vec::new()).await;
    let token = f.token().await;
    let (_, ws) = f.websocket(&format!("/?token={token}"), "").await;
    ws.assert_refused().await;
}

#[tokio::test]
async fn a_browser_from_another_origin_is_refused_unless_allowed() {
    let f = Fixture::start().await;
    let token = f.token().await;
    let (_, ws) = f
        .websocket(
            &format!("/?token={token}"),
            "Origin: http://evil.example\r\n",
        )
        .await;
    ws.assert_refused().await;
    // The proxy's own host, in the console URL's scheme, is fine.
    let own = format!("Origin: http://{}\r\n", f.addr);
    let (_, mut ws) = f.websocket(&format!("/?token={token}"), &own).await;
    assert_eq!(ws.binary().await, b"RFB 003.008\n");
    // ... and so is an origin the operator allowed.
    let allowed = Fixture::with(ComputeConfig::instant(), vec!["evil.example".into()]).await;
    let token = allowed.token().await;
    let (_, mut ws) = allowed
        .websocket(
            &format!("/?token={token}"),
            "Origin: http://evil.example\r\n",
        )
        .await;
    assert_eq!(ws.binary().await, b"RFB 003.008\n");
}

#[tokio::test]
async fn garbage_instead_of_rfb_closes_the_console_with_a_protocol_error() {
    let f = Fixture::start().await;
    let token = f.token().await;
    let (_, mut ws) = f.websocket(&format!("/?token={token}"), "").await;
    assert_eq!(ws.binary().await, b"RFB 003.008\n");
    ws.send(b"GET / HTTP/1.1\r\n").await;
    let (opcode, payload) = ws.frame().await.expect("a close frame");
    assert_eq!(opcode, 8);
    assert_eq!(&payload[..2], &1002u16.to_be_bytes());
}

#[tokio::test]
async fn client_files_are_served_with_their_content_type() {
    let f = Fixture::start().await;
    let (head, body) = f.get("/vnc_lite.html?path=%3Ftoken%3Dx").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(String::from_utf8_lossy(&body).contains("noVNC"));
    let (head, _) = f.get("/app/ui.js").await;
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/javascript"),
        "{head}"
    );
    let (head, _) = f.get("/vnc_missing.html").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = f.get("/app").await;
    assert!(head.starts_with("HTTP/1.1 404"), "a directory: {head}");
    let (head, _) = f.get("/healthcheck").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn no_path_reaches_a_file_outside_the_web_directory() {
    let f = Fixture::start().await;
    assert!(Path::new(&f.dir.path().join("secret.txt")).exists());
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/app/..%2f..%2fsecret.txt",
        "/app/%2E%2E/%2E%2E/secret.txt",
    ] {
        let (head, body) = f.get(target).await;
        assert!(head.starts_with("HTTP/1.1 404"), "{target}: {head}");
        assert!(
            !String::from_utf8_lossy(&body).contains("secret"),
            "{target}"
        );
    }
}
