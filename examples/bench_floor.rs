//! `bench_floor`: the signature-only floor of `bench/load.sh`.
//!
//! For each request to any path: take the bearer token, decode its header for the `kid`,
//! pick the `DecodingKey` loaded for that `kid` at start, and call
//! `jsonwebtoken::crypto::verify(signature, signing_input, &key, alg)` → 200 `ok` or 401.
//! Nothing else: no claims are read (no `exp`, `iss`, `aud`), no cache. It is the least work
//! any correct verifier must do per new token, so `protected_api / bench_floor` is what the
//! rest of the pipeline (claims, classification, principal, token cache, tracing, JSON
//! response) costs.
//!
//! ```text
//! BIND=127.0.0.1:18082 JWKS_FILE=/tmp/bench/jwks.json cargo run --release --example bench_floor
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Router;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Keys by `kid`, each with the one algorithm it is used with.
type Keys = Arc<HashMap<String, (DecodingKey, Algorithm)>>;

fn load_keys(path: &str) -> Result<Keys, Box<dyn std::error::Error>> {
    let set: JwkSet = serde_json::from_slice(&std::fs::read(path)?)?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), jwk_alg(jwk)) else {
            continue;
        };
        keys.insert(kid, (DecodingKey::from_jwk(jwk)?, alg));
    }
    if keys.is_empty() {
        return Err(format!("{path}: no usable key with a kid and an alg").into());
    }
    Ok(Arc::new(keys))
}

fn jwk_alg(jwk: &Jwk) -> Option<Algorithm> {
    jwk.common.key_algorithm?.to_string().parse().ok()
}

async fn verify(State(keys): State<Keys>, headers: HeaderMap) -> (StatusCode, &'static str) {
    let ok = (|| {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ")?;
        let (input, signature) = token.rsplit_once('.')?;
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let (key, alg) = keys.get(&kid)?;
        jsonwebtoken::crypto::verify(signature, input.as_bytes(), key, *alg).ok()
    })();
    if ok == Some(true) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::UNAUTHORIZED, "")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Chosen explicitly, so that another crate enabling jsonwebtoken's rust_crypto feature
    // cannot make the process-wide default ambiguous.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18082".to_owned())
        .parse()?;
    let jwks_file = std::env::var("JWKS_FILE").map_err(|_| "JWKS_FILE is not set")?;
    let keys = load_keys(&jwks_file)?;
    let app = Router::new().fallback(verify).with_state(keys.clone());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!(
        "bench_floor listening on {} with {} keys",
        listener.local_addr()?,
        keys.len()
    );
    axum::serve(listener, app).await?;
    Ok(())
}
