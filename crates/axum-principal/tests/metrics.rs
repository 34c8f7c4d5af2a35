//! Counters through the `metrics` facade (feature `metrics`):
//! `cargo test -p axum-principal --features metrics --test metrics` (or `cargo test` from the
//! workspace root, whose default features turn `metrics` on).
#![cfg(feature = "metrics")]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::{guard_layer, AuthLayer, Guarded, RequireMachine, RequireUser, User};
use common::{build, config, get_with, issuer, router, send};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::CompositeKey;

type Entry = (
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

/// One snapshot: the debugging recorder drains what it reports.
fn snapshot(snapshotter: &Snapshotter) -> Vec<Entry> {
    snapshotter.snapshot().into_vec()
}

fn counter(snapshot: &[Entry], name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| {
            let key = key.key();
            key.name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(c) => *c,
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn every_event_is_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("no metrics recorder was installed before this test's");
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let user = issuer.token().expires_in(3 * 24 * 3600).sign();
    let machine = issuer.machine_token("svc");

    assert_eq!(get_with(&app, "/me", &user).await.status, StatusCode::OK);
    assert_eq!(get_with(&app, "/me", &user).await.status, StatusCode::OK);
    assert_eq!(
        get_with(&app, "/admin", &machine).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&app, "/admin", &user).await.status,
        StatusCode::FORBIDDEN
    );
    let expired = issuer.token().expires_in(-3600).sign();
    assert_eq!(
        get_with(&app, "/me", &expired).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An unknown kid: one refresh, then refused; another within that refresh's cooldown:
    // refused without a refresh.
    for kid in ["nope", "nope-again"] {
        let unknown = issuer.token().kid(kid).sign();
        assert_eq!(
            get_with(&app, "/me", &unknown).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The issuer goes down and the keys pass their lifetime: stale keys keep serving.
    issuer.set_fault(axum_principal_testkit::Fault::Down);
    clock.advance(Duration::from_secs(400));
    let fresh_user = issuer
        .token()
        .expires_in(3 * 24 * 3600)
        .claim("sub", "bob")
        .sign();
    assert_eq!(
        get_with(&app, "/me", &fresh_user).await.status,
        StatusCode::OK
    );

    let s = &snapshot(&snapshotter);
    assert_eq!(
        counter(
            s,
            "axum_principal_verifications_total",
            &[("kind", "user"), ("cached", "false")]
        ),
        2
    );
    assert_eq!(
        counter(
            s,
            "axum_principal_verifications_total",
            &[("kind", "user"), ("cached", "true")]
        ),
        2
    );
    assert_eq!(
        counter(
            s,
            "axum_principal_verifications_total",
            &[("kind", "machine")]
        ),
        1
    );
    assert_eq!(
        counter(
            s,
            "axum_principal_rejections_total",
            &[("reason", "guard_refused")]
        ),
        1
    );
    assert_eq!(
        counter(
            s,
            "axum_principal_rejections_total",
            &[("reason", "expired")]
        ),
        1
    );
    assert_eq!(
        counter(
            s,
            "axum_principal_rejections_total",
            &[("reason", "unknown_key")]
        ),
        2
    );
    assert_eq!(
        counter(s, "axum_principal_token_cache_total", &[("result", "hit")]),
        2
    );
    assert_eq!(
        counter(s, "axum_principal_key_refreshes_total", &[("result", "ok")]),
        2
    );
    assert_eq!(
        counter(s, "axum_principal_key_refresh_cooldowns_total", &[]),
        1
    );
    assert!(counter(s, "axum_principal_stale_keys_total", &[]) >= 1);
}

/// Every refusal is counted exactly once, by its reason code, wherever it was decided: the
/// layer (also a missing token in required mode), a guard layer, a guard or kind extractor.
/// A recorder local to this test's thread, so it sees only this test's requests (the
/// runtime of `#[tokio::test]` runs them all on this thread).
#[tokio::test]
async fn every_refusal_is_counted_once_by_its_reason() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let required = router(AuthLayer::new(build(config(&issuer, &clock))));
    let guarded = Router::new()
        .route(
            "/argument",
            get(|_: Guarded<RequireMachine>| async { "ok" }),
        )
        .route(
            "/user",
            get(|u: User| async move { u.subject().to_owned() }),
        )
        .merge(
            Router::new()
                .route("/layer", get(|| async { "ok" }))
                .route_layer(guard_layer(RequireMachine))
                .route_layer(guard_layer(RequireUser)),
        )
        .layer(AuthLayer::new(build(config(&issuer, &clock))));
    let user = issuer.user_token("alice");
    let machine = issuer.machine_token("svc");

    // No token at all, in required mode: refused by the layer itself.
    assert_eq!(
        send(&required, "/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&required, "/admin", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A malformed header.
    assert_eq!(
        send(&required, "/me", &["Bearer a b"]).await.status,
        StatusCode::BAD_REQUEST
    );
    // Guards: as route layers (the outer one passes, the inner one refuses), as a handler
    // argument, and the `User` extractor refusing a machine.
    assert_eq!(
        get_with(&required, "/admin", &user).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(&guarded, "/layer", &user).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(&guarded, "/argument", &user).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(&guarded, "/user", &machine).await.status,
        StatusCode::FORBIDDEN
    );
    // Accepted requests are no refusals.
    assert_eq!(
        get_with(&guarded, "/argument", &machine).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&required, "/me", &user).await.status,
        StatusCode::OK
    );

    let s = &snapshot(&snapshotter);
    let rejected = |reason| counter(s, "axum_principal_rejections_total", &[("reason", reason)]);
    assert_eq!(rejected("missing_token"), 2);
    assert_eq!(rejected("multiple_tokens"), 1);
    assert_eq!(rejected("guard_refused"), 4);
    assert_eq!(counter(s, "axum_principal_rejections_total", &[]), 7);
}

/// A token refused after its verification (bound to a DPoP key but presented as `Bearer`)
/// is counted as a refusal only, never as a verification, whether the cache held it or not.
#[tokio::test]
async fn a_token_refused_after_its_verification_is_not_counted_as_verified() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let key = axum_principal_testkit::DpopKey::generate(axum_principal_testkit::KeyAlg::Es256)
        .expect("a DPoP key");
    let bound = issuer.token().dpop_bound(&key).sign();
    for _ in 0..2 {
        assert_eq!(
            get_with(&app, "/me", &bound).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let s = &snapshot(&snapshotter);
    assert_eq!(counter(s, "axum_principal_verifications_total", &[]), 0);
    assert_eq!(
        counter(
            s,
            "axum_principal_rejections_total",
            &[("reason", "bound_token_as_bearer")]
        ),
        2
    );
    // The second use was answered by the cache, and refused all the same.
    assert_eq!(
        counter(s, "axum_principal_token_cache_total", &[("result", "hit")]),
        1
    );
}

/// Introspection (RFC 7662): calls by result, their latency, and answer-cache lookups.
#[tokio::test]
async fn introspection_calls_latency_and_cache_hits_are_counted() {
    use axum_principal::{AuthConfig, Introspection, Issuer};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let issuer = issuer().await;
    issuer.add_introspection_client("orders-api", "orders-api-secret");
    let introspection =
        Introspection::new("orders-api", "orders-api-secret").cache(Duration::from_secs(60));
    let config = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).introspection(introspection))
        .audience(issuer.audience())
        .clock(ManualClock::new());
    let app = router(AuthLayer::new(build(config)));
    let token = issuer.opaque_user_token("alice");
    for _ in 0..3 {
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    let revoked = issuer.opaque_user_token("bob");
    assert!(issuer.revoke(&revoked));
    assert_eq!(
        get_with(&app, "/me", &revoked).await.status,
        StatusCode::UNAUTHORIZED
    );
    let snapshot = snapshot(&snapshotter);
    let calls = "axum_principal_introspections_total";
    assert_eq!(counter(&snapshot, calls, &[("result", "active")]), 1);
    assert_eq!(counter(&snapshot, calls, &[("result", "inactive")]), 1);
    let issuer_label = [("issuer", issuer.issuer())];
    assert_eq!(counter(&snapshot, calls, &issuer_label), 2);
    let cache = "axum_principal_introspection_cache_total";
    assert_eq!(counter(&snapshot, cache, &[("result", "hit")]), 2);
    assert_eq!(counter(&snapshot, cache, &[("result", "miss")]), 2);
    let timed: usize = snapshot
        .iter()
        .filter(|(key, _, _, _)| key.key().name() == "axum_principal_introspection_seconds")
        .map(|(_, _, _, value)| match value {
            DebugValue::Histogram(samples) => samples.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(timed, 2, "one latency sample per call");
}

/// Keys past their lifetime are counted once per request that is served from them, however
/// many times the request's verification looks at them: an unknown `kid` (the layer's
/// first look, the full pipeline's, then the wait for a fetch) counts one, as a known one.
#[tokio::test]
async fn stale_keys_are_counted_once_per_request() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(
        config(&issuer, &clock).without_token_cache(),
    )));
    let user = issuer.token().expires_in(3 * 24 * 3600).sign();
    assert_eq!(get_with(&app, "/me", &user).await.status, StatusCode::OK);
    issuer.set_fault(axum_principal_testkit::Fault::Down);
    clock.advance(Duration::from_secs(400));
    let stale = |s: &[Entry]| counter(s, "axum_principal_stale_keys_total", &[]);
    let _ = snapshot(&snapshotter);
    let unknown = issuer.token().kid("nope").expires_in(3 * 24 * 3600).sign();
    assert_eq!(
        get_with(&app, "/me", &unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(stale(&snapshot(&snapshotter)), 1, "an unknown kid");
    assert_eq!(get_with(&app, "/me", &user).await.status, StatusCode::OK);
    assert_eq!(stale(&snapshot(&snapshotter)), 1, "a known kid");
}
