//! `lean_dpop`: the library alone with DPoP required, for `bench/dpop_callgrind.sh`: bare
//! Axum's `GET /me` → 200 `ok` behind [`AuthLayer`], token cache off, every request a
//! DPoP-bound token with its proof (RFC 9449), checked in full.
//!
//! ```text
//! BIND=127.0.0.1:18085 ISSUER=… AUDIENCE=… JWKS_FILE=/tmp/bench/jwks.json \
//!     cargo run --release -p axum-principal-bench --bin lean_dpop
//! ```
//!
//! The keys come from `JWKS_FILE` (`Issuer::static_jwks`), as `lean`. DPoP:
//! [`DpopPolicy::Required`], origin `https://api.bench.test` (the `htu` `dpop_mint` puts in
//! its proofs), every other setting its default: the 60 s window, the in-process replay
//! store, 6 000 proofs per principal per window, no nonce. `DPOP_POLICY=allowed` accepts
//! `Bearer` too (the same work for a DPoP request).

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Router, ServiceExt};
use axum_principal::dpop::{DpopConfig, DpopPolicy};
use axum_principal::{AuthConfig, AuthLayer, Issuer};
use tower::Layer as _;

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18085".to_owned())
        .parse()?;
    let jwks = std::fs::read_to_string(var("JWKS_FILE")?)?;
    let policy = match std::env::var("DPOP_POLICY").as_deref() {
        Ok("allowed") => DpopPolicy::Allowed,
        Ok("required") | Err(_) => DpopPolicy::Required,
        Ok(other) => {
            return Err(format!("DPOP_POLICY must be required or allowed, not {other:?}").into())
        }
    };
    let config = AuthConfig::builder()
        .issuer(Issuer::new(var("ISSUER")?).static_jwks(jwks))
        .audience(var("AUDIENCE")?)
        .without_token_cache()
        .dpop(DpopConfig::new("https://api.bench.test").policy(policy))
        .build()?;
    // Around the router, as `lean` (its module docs): the router's path is the floor's.
    let app = AuthLayer::new(config).layer(Router::new().route("/me", get(|| async { "ok" })));
    let app = ServiceExt::<axum::extract::Request>::into_make_service(app);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!(
        "lean_dpop listening on {} (token cache off, DPoP {policy:?})",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
