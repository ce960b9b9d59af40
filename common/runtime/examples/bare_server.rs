//! The benchmarks' reference: a bare axum server that answers every GET with
//! the bytes of a file, on a given port, with N runtime threads. Nothing of
//! nova's runtime is in it, so the figures beside it show what our runtime
//! costs.
//!
//! Usage: `bare_server <port> <body-file> <content-type> [threads]`

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map(|p| p.parse()).transpose()?.unwrap_or(0);
    let body = std::fs::read(args.get(2).ok_or_else(|| anyhow::anyhow!("body file"))?)?;
    let content_type = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "application/json".into());
    let threads: usize = args.get(4).map(|t| t.parse()).transpose()?.unwrap_or(1);
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async move {
        let app = Router::new().fallback(get(move || {
            let body = body.clone();
            let content_type = content_type.clone();
            async move { ([(CONTENT_TYPE, content_type)], body) }
        }));
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        println!(
            "bare listening on 127.0.0.1:{}",
            listener.local_addr()?.port()
        );
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}
