//! Observability: every event the crate reports, in one place.
//!
//! Events go to `tracing` (key fetches get a `jwks_fetch` span with issuer, reason,
//! `outcome`, `http.status`, keys and duration; rejections are logged at debug with their
//! reason code). With the `metrics` feature the same events also increment counters
//! through the [`metrics`](https://docs.rs/metrics) facade, for whatever recorder
//! (Prometheus, StatsD, …) the service installs:
//!
//! | counter | labels | counts |
//! |---|---|---|
//! | `axum_principal_verifications_total` | `kind` (`user`/`machine`), `cached` (`true`/`false`) | accepted tokens |
//! | `axum_principal_rejections_total` | `reason` (e.g. `expired`, `unknown_key`, `guard_refused`) | refused requests |
//! | `axum_principal_token_cache_total` | `result` (`hit`/`miss`) | token-cache lookups |
//! | `axum_principal_key_refreshes_total` | `issuer`, `result` (`ok`/`error`) | JWKS fetches |
//! | `axum_principal_key_refresh_cooldowns_total` | `issuer` | unknown-`kid` refreshes skipped by the cooldown |
//! | `axum_principal_stale_keys_total` | `issuer` | requests served from keys past their lifetime |
//! | `axum_principal_rate_limit_store_failures_total` | `policy` (`local`/`closed`) | commands the shared quota store (Redis) did not answer in time (the request then used the in-process quota, or was refused) |
//!
//! Labels never carry tokens, subjects or key ids. A refusal is counted once, by its
//! [reason code](crate::AuthRejection::reason), when it becomes a response.
//!
//! This module is a leaf (it imports nothing of the crate), so any part may report to it.

/// An accepted token; `kind` is the principal's [`Kind`](crate::Kind) as a static label
/// (`user`/`machine`). Every label is a literal, so the counter's key is static: no
/// allocation per request.
pub(crate) fn verified(kind: &'static str, cached: bool) {
    #[cfg(feature = "metrics")]
    {
        const NAME: &str = "axum_principal_verifications_total";
        match (kind, cached) {
            ("machine", true) => metrics::counter!(NAME, "kind" => "machine", "cached" => "true"),
            ("machine", false) => {
                metrics::counter!(NAME, "kind" => "machine", "cached" => "false")
            }
            (_, true) => metrics::counter!(NAME, "kind" => "user", "cached" => "true"),
            (_, false) => metrics::counter!(NAME, "kind" => "user", "cached" => "false"),
        }
        .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, cached);
}

/// A refusal, by its reason code; called only from `AuthRejection`'s `IntoResponse`.
pub(crate) fn rejected(reason: &'static str, status: u16) {
    tracing::debug!(reason, status, "request rejected");
    #[cfg(feature = "metrics")]
    metrics::counter!("axum_principal_rejections_total", "reason" => reason).increment(1);
}

pub(crate) fn token_cache(hit: bool) {
    #[cfg(feature = "metrics")]
    if hit {
        metrics::counter!("axum_principal_token_cache_total", "result" => "hit").increment(1);
    } else {
        metrics::counter!("axum_principal_token_cache_total", "result" => "miss").increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = hit;
}

pub(crate) fn key_refresh(issuer: &str, ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "axum_principal_key_refreshes_total",
        "issuer" => issuer.to_owned(),
        "result" => if ok { "ok" } else { "error" }
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, ok);
}

pub(crate) fn refresh_cooldown(issuer: &str) {
    tracing::debug!(issuer, "unknown kid: refresh skipped, cooldown in effect");
    #[cfg(feature = "metrics")]
    metrics::counter!("axum_principal_key_refresh_cooldowns_total", "issuer" => issuer.to_owned())
        .increment(1);
}

pub(crate) fn stale_keys(issuer: &str) {
    tracing::debug!(issuer, "serving keys past their lifetime while refreshing");
    #[cfg(feature = "metrics")]
    metrics::counter!("axum_principal_stale_keys_total", "issuer" => issuer.to_owned())
        .increment(1);
}

/// The shared quota store (Redis) did not answer; `policy` is what was done (`open`: let
/// through, `closed`: refused with 503).
#[cfg(all(feature = "rate-limit", feature = "redis"))]
pub(crate) fn rate_limit_store_failure(policy: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("axum_principal_rate_limit_store_failures_total", "policy" => policy)
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = policy;
}
