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
//!
//! `LAYER=around` (the default) puts the layer around the router (`AuthLayer::layer(router)`,
//! what `ServiceBuilder` does): the router's own path is then exactly bare's, so `lean − bare`
//! and `lean − floor` are what the library adds. `LAYER=route` uses `Router::layer`, where
//! axum wraps the route in a boxed, cloned-per-request service of its own (the same for any
//! layer): measured too, as the cost a user of that placement pays (bench/README.md).

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Router, ServiceExt};
use axum_principal::{AuthConfig, AuthLayer, Issuer, TokenCacheLimits};
use tower::Layer as _;

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
    let routes = Router::new().route("/me", get(|| async { "ok" }));
    let layer = AuthLayer::new(builder.build()?);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let placement = std::env::var("LAYER").unwrap_or_else(|_| "around".to_owned());
    eprintln!(
        "lean listening on {} (token cache {cache}, layer {placement})",
        listener.local_addr()?
    );
    match placement.as_str() {
        // Around the router (tower's `Layer::layer`, as `ServiceBuilder` would): the
        // router's own path is bare's, so `lean - bare` is what the library adds.
        "around" => {
            let app = layer.layer(routes);
            let app = ServiceExt::<axum::extract::Request>::into_make_service(app);
            axum::serve(listener, app).await?
        }
        // `Router::layer`: axum wraps each route in the layer, one boxed service more
        // per request (axum's, the same for any layer).
        "route" => axum::serve(listener, routes.layer(layer)).await?,
        other => return Err(format!("LAYER must be around or route, not {other:?}").into()),
    }
    Ok(())
}
