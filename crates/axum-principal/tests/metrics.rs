//! Counters through the `metrics` facade (feature `metrics`):
//! `cargo test -p axum-principal --features metrics --test metrics` (or `cargo test` from the
//! workspace root, whose default features turn `metrics` on).
#![cfg(feature = "metrics")]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::AuthLayer;
use common::{build, config, get_with, issuer, router};
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
    if recorder.install().is_err() {
        panic!("a metrics recorder was already installed");
    }
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
    // An unknown kid within the cooldown of the first fetch: refused without a refresh.
    let unknown = issuer.token().kid("nope").sign();
    assert_eq!(
        get_with(&app, "/me", &unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
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
        1
    );
    assert_eq!(
        counter(s, "axum_principal_token_cache_total", &[("result", "hit")]),
        2
    );
    assert_eq!(
        counter(s, "axum_principal_key_refreshes_total", &[("result", "ok")]),
        1
    );
    assert_eq!(
        counter(s, "axum_principal_key_refresh_cooldowns_total", &[]),
        1
    );
    assert!(counter(s, "axum_principal_stale_keys_total", &[]) >= 1);
}
