//! `lean`: the library alone, for `bench/load.sh` and `bench/callgrind.sh`: bare Axum's
//! `GET /me` → 200 `ok` behind [`AuthLayer`], nothing else (no tracing, no JSON body).
//!
//! ```text
//! BIND=127.0.0.1:18083 ISSUER=… AUDIENCE=… JWKS_FILE=/tmp/bench/jwks.json \
//!     TOKEN_CACHE=off cargo run --release -p axum-principal-bench --bin lean
//! ```
//!
//! The keys come from `JWKS_FILE` (`Issuer::static_jwks`), the same file `floor` loads, so
//! neither server fetches anything while measured. `TOKEN_CACHE=off` (the default) verifies
//! every token in full; `TOKEN_CACHE=on` uses the default verified-token cache (100 000
//! entries / 64 MiB). Same runtime as `bare` and `floor` (multi-thread; the
//! scripts set `TOKIO_WORKER_THREADS=1` and pin it to one core).

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use axum_principal::{AuthConfig, AuthLayer, Issuer, TokenCacheLimits};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18083".to_owned())
        .parse()?;
    let jwks = std::fs::read_to_string(var("JWKS_FILE")?)?;
    let issuer = Issuer::new(var("ISSUER")?).static_jwks(jwks);
    let builder = AuthConfig::builder()
        .issuer(issuer)
        .audience(var("AUDIENCE")?);
    let cache = std::env::var("TOKEN_CACHE").unwrap_or_else(|_| "off".to_owned());
    let builder = match cache.as_str() {
        "off" => builder.without_token_cache(),
        "on" => builder.token_cache(TokenCacheLimits::default()),
        other => return Err(format!("TOKEN_CACHE must be on or off, not {other:?}").into()),
    };
    let app = Router::new()
        .route("/me", get(|| async { "ok" }))
        .layer(AuthLayer::new(builder.build()?));
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!(
        "lean listening on {} (token cache {cache})",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
