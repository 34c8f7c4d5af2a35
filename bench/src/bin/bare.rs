//! `bare`: the reference server of `bench/load.sh` and `bench/callgrind.sh`: bare Axum,
//! `GET /me` → 200 `ok`.
//!
//! ```text
//! BIND=127.0.0.1:18081 cargo run --release -p axum-principal-bench --bin bare
//! ```
//!
//! Same runtime as `floor`, `lean` and `protected_api` (tokio's multi-thread runtime; `bench/load.sh` runs every
//! server with `TOKIO_WORKER_THREADS=1` pinned to one core), so that the ratios compare the
//! work per request and not the runtime flavour.

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18081".to_owned())
        .parse()?;
    let app = Router::new().route("/me", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!("bare listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
