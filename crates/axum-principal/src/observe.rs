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
//! | `axum_principal_introspections_total` | `issuer`, `result` (`active`, a refusal's reason such as `inactive`, or a failure's such as `introspection_timeout`) | introspection calls, and calls the breaker spared |
//! | `axum_principal_introspection_seconds` (histogram) | `issuer` | how long introspection calls took |
//! | `axum_principal_introspection_cache_total` | `result` (`hit`/`miss`) | answer-cache lookups |
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

/// One introspection call and how it ended (`result`: `active`, a refusal's reason code, or
/// a failure's); `elapsed` is `None` when no call was made (the breaker was open).
pub(crate) fn introspection(
    issuer: &str,
    result: &'static str,
    elapsed: Option<std::time::Duration>,
) {
    tracing::debug!(
        issuer,
        result,
        elapsed_ms = elapsed.map(|d| d.as_millis()),
        "token introspection"
    );
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(
            "axum_principal_introspections_total",
            "issuer" => issuer.to_owned(),
            "result" => result
        )
        .increment(1);
        if let Some(elapsed) = elapsed {
            metrics::histogram!("axum_principal_introspection_seconds", "issuer" => issuer.to_owned())
                .record(elapsed.as_secs_f64());
        }
    }
}

/// An answer-cache lookup.
pub(crate) fn introspection_cache(hit: bool) {
    #[cfg(feature = "metrics")]
    if hit {
        metrics::counter!("axum_principal_introspection_cache_total", "result" => "hit")
            .increment(1);
    } else {
        metrics::counter!("axum_principal_introspection_cache_total", "result" => "miss")
            .increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = hit;
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
