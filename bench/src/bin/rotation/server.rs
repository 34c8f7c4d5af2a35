//! `rotation server`: the library behind `AuthLayer`, keys by discovery, and a probe that
//! counts the requests whose `kid` the key store did not hold on arrival.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_principal::{AuthConfig, AuthLayer, Authenticator, Issuer, TokenCacheLimits};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::{env, unix_ms, Error};

/// At most this many unknown-`kid` arrival times are kept (8 MB; the count is exact).
const MAX_TIMES: usize = 1_000_000;

struct Probe {
    auth: Authenticator,
    issuer: String,
    /// Token header segment → its `kid` (the few headers of the run's keys).
    kids: RwLock<HashMap<Box<str>, Option<String>>>,
    requests: AtomicU64,
    unknown: AtomicU64,
    unknown_at_ms: Mutex<Vec<u64>>,
}

impl Probe {
    fn kid(&self, request: &Request) -> Option<String> {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        let segment = token.split('.').next()?;
        if let Some(kid) = self.kids.read().ok()?.get(segment) {
            return kid.clone();
        }
        let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()?;
        let kid = json.get("kid").and_then(Value::as_str).map(str::to_owned);
        let mut kids = self.kids.write().ok()?;
        if kids.len() < 64 {
            kids.insert(segment.into(), kid.clone());
        }
        kid
    }
}

/// Counts the requests whose `kid` the key store did not hold on arrival.
async fn count_unknown_kid(State(p): State<Arc<Probe>>, request: Request, next: Next) -> Response {
    p.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(kid) = p.kid(&request) {
        let held = p.auth.key_store().key_ids(&p.issuer).await;
        if !held.is_some_and(|kids| kids.contains(&kid)) {
            p.unknown.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut times) = p.unknown_at_ms.lock() {
                if times.len() < MAX_TIMES {
                    times.push(unix_ms());
                }
            }
        }
    }
    next.run(request).await
}

async fn stats(State(p): State<Arc<Probe>>) -> String {
    let times = p
        .unknown_at_ms
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    json!({
        "requests": p.requests.load(Ordering::Relaxed),
        "unknown_kid": p.unknown.load(Ordering::Relaxed),
        "unknown_kid_at_ms": times,
    })
    .to_string()
}

pub async fn server() -> Result<(), Error> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let bind: SocketAddr = var("BIND")?.parse()?;
    let issuer = var("ISSUER")?;
    let builder = AuthConfig::builder()
        .issuer(Issuer::new(issuer.clone()))
        .audience(var("AUDIENCE")?)
        .key_ttl_range(Duration::from_secs(1), Duration::from_secs(3600))
        .refresh_cooldown(Duration::from_millis(env("REFRESH_COOLDOWN_MS", 100)))
        .failure_backoff(Duration::from_millis(env("FAILURE_BACKOFF_MS", 500)));
    let builder = match var("TOKEN_CACHE")?.as_str() {
        "on" => builder.token_cache(TokenCacheLimits::default()),
        _ => builder.without_token_cache(),
    };
    let layer = AuthLayer::new(builder.build()?);
    let auth = layer.authenticator().clone();
    // The first fetch is not part of the measurement.
    auth.key_store().warm().await?;
    let probe = Arc::new(Probe {
        auth,
        issuer,
        kids: RwLock::default(),
        requests: AtomicU64::new(0),
        unknown: AtomicU64::new(0),
        unknown_at_ms: Mutex::default(),
    });
    let app = Router::new()
        .route("/me", get(|| async { "ok" }))
        .layer(layer)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&probe),
            count_unknown_kid,
        ))
        .merge(Router::new().route("/stats", get(stats)).with_state(probe));
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!("rotation server listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
