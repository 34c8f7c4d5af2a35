//! `cache_memory`: memory of the verified-token cache under a flood of distinct valid
//! tokens (issue 11, item 4). A bounded loop, no HTTP:
//!
//! ```text
//! cargo run --release -p axum-principal-bench --bin cache_memory -- [TOKENS] [MAX_ENTRIES] [MAX_BYTES]
//! ```
//!
//! Defaults: 1 000 000 tokens against the default cache bounds (100 000 entries / 64 MiB).
//! Each token is distinct (its own `sub` and `jti`), minted in-process with HS256 against the
//! issuer's secret (minting RS256 tokens would take ~1 ms each) and verified with
//! [`Authenticator::verify`], so each one is a cache miss and an insert. The claims have the
//! shape of `issuer`'s `small` tokens. Every 100 000 tokens, and at the end, it prints the
//! process RSS (from `/proc/self/statm`), the cache's entries and weight, and the RSS growth
//! since start per cached entry. Passes when the final RSS stays within `MAX_BYTES` plus a
//! fixed overhead (`SLACK_MIB`, default 32 MiB) above the RSS before the first token.

use std::time::{SystemTime, UNIX_EPOCH};

use axum_principal::{AuthConfig, Authenticator, Issuer, TokenCacheLimits};
use jsonwebtoken::{EncodingKey, Header};

const ISSUER: &str = "https://issuer.bench.test/";
const AUDIENCE: &str = "https://api.bench.test";
const SECRET: &[u8] = b"bench-cache-memory-secret-of-32-bytes-or-more";

/// Resident set size in bytes (Linux), or 0 where `/proc` is missing.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn arg(n: usize, default: u64) -> Result<u64, String> {
    match std::env::args().nth(n) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {n}: {s:?} is not a number")),
        None => Ok(default),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let tokens = arg(1, 1_000_000)?;
    let max_entries = arg(2, 100_000)?;
    let max_bytes = arg(3, 64 << 20)?;
    let slack: u64 = std::env::var("SLACK_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        << 20;
    let config = AuthConfig::builder()
        .issuer(Issuer::new(ISSUER).hmac_secret(SECRET).without_jwks())
        .audience(AUDIENCE)
        .token_cache(
            TokenCacheLimits::default()
                .max_entries(max_entries)
                .max_bytes(max_bytes),
        )
        .build()?;
    let auth = Authenticator::new(config);
    let key = EncodingKey::from_secret(SECRET);
    let header = Header::new(jsonwebtoken::Algorithm::HS256);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    let start_rss = rss();
    println!("tokens {tokens}, cache bound {max_entries} entries / {max_bytes} bytes; RSS at start {start_rss}");
    let report = |done: u64, auth: &Authenticator| {
        let stats = auth.token_cache_stats().unwrap_or_default();
        let now_rss = rss();
        let grown = now_rss.saturating_sub(start_rss);
        println!(
            "{done:>9} tokens: RSS {:>6.1} MiB (+{:>6.1}), {:>7} entries, weight {:>6.1} MiB, {:>5} B RSS per entry, {:>5} B weight per entry",
            now_rss as f64 / 1048576.0,
            grown as f64 / 1048576.0,
            stats.entries,
            stats.weighted_size as f64 / 1048576.0,
            grown.checked_div(stats.entries).unwrap_or(0),
            stats.weighted_size.checked_div(stats.entries).unwrap_or(0),
        );
        grown
    };
    for i in 0..tokens {
        let claims = serde_json::json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": format!("flood-user-{i:07}"),
            "jti": format!("flood-HS256-{i:07}"),
            "scope": "openid profile",
            "iat": now,
            "exp": now + 6 * 3600,
        });
        let token = jsonwebtoken::encode(&header, &claims, &key)?;
        auth.verify(&token)
            .await
            .map_err(|e| format!("token {i}: {e}"))?;
        if (i + 1) % 100_000 == 0 {
            report(i + 1, &auth);
        }
    }
    let grown = report(tokens, &auth);
    let limit = max_bytes + slack;
    if grown > limit {
        return Err(
            format!("RSS grew by {grown} bytes, over the bound {max_bytes} + {slack}").into(),
        );
    }
    println!("ok: RSS grew by {grown} bytes, within {max_bytes} + {slack}");
    Ok(())
}
