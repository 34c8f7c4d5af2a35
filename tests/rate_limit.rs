//! Per-principal rate limits (feature `rate-limit`):
//! `cargo test --features rate-limit --test rate_limit`.
#![cfg(feature = "rate-limit")]

mod common;

use std::num::NonZeroU32;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::rate_limit::{Quota, RateLimitLayer};
use axum_principal::{AuthLayer, Principal};
use common::{build, config, get_with, issuer, send};

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn app(limits: RateLimitLayer, auth: AuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.subject().to_owned() }),
        )
        .layer(limits)
        .layer(auth)
}

#[tokio::test]
async fn users_and_machines_have_separate_quotas() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new())));
    let app = app(RateLimitLayer::new(per_hour(2), per_hour(5)), auth);
    let alice = issuer.user_token("alice");
    let svc = issuer.machine_token("svc");
    for _ in 0..2 {
        assert_eq!(get_with(&app, "/me", &alice).await.status, StatusCode::OK);
    }
    let limited = get_with(&app, "/me", &alice).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json()["error"], "rate_limited");
    // The machine has its own, larger quota.
    for _ in 0..5 {
        assert_eq!(get_with(&app, "/me", &svc).await.status, StatusCode::OK);
    }
    assert_eq!(
        get_with(&app, "/me", &svc).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another user is not affected by alice's use, and a fresh token for alice is.
    assert_eq!(
        get_with(&app, "/me", &issuer.user_token("bob"))
            .await
            .status,
        StatusCode::OK
    );
    let alice_again = issuer
        .token()
        .claim("sub", "alice")
        .claim("jti", "another")
        .sign();
    assert_eq!(
        get_with(&app, "/me", &alice_again).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_refusal_says_when_to_retry() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new())));
    let app = app(RateLimitLayer::new(per_hour(1), per_hour(1)), auth);
    let token = issuer.user_token("alice");
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    let request = axum::http::Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap_or_default();
    let response = tower::ServiceExt::oneshot(app, request).await;
    let Ok(response) = response;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // One request per hour: the next one is about an hour away.
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn identity_is_the_issuer_and_subject_pair() {
    let a = issuer().await;
    let b = issuer().await;
    let config = axum_principal::AuthConfig::builder()
        .issuer(a.issuer())
        .issuer(b.issuer())
        .audience(a.audience());
    let app = app(
        RateLimitLayer::new(per_hour(1), per_hour(1)),
        AuthLayer::new(build(config)),
    );
    assert_eq!(
        get_with(&app, "/me", &a.user_token("same")).await.status,
        StatusCode::OK
    );
    // The same `sub` at another issuer is another principal with its own quota.
    assert_eq!(
        get_with(&app, "/me", &b.user_token("same")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&app, "/me", &a.user_token("same")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn memory_stays_bounded_under_many_distinct_principals() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).without_token_cache(),
    ));
    let limits = RateLimitLayer::with_max_principals(per_hour(10), per_hour(10), 50);
    let app = app(limits.clone(), auth);
    for i in 0..500 {
        let token = issuer.user_token(&format!("user-{i}"));
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    assert_eq!(limits.max_principals(), 50);
    let tracked = limits.tracked_principals();
    assert!(tracked <= 50 && tracked > 0, "{tracked} limiters kept");
}

#[tokio::test]
async fn requests_without_a_principal_are_not_limited_here() {
    let issuer = issuer().await;
    let auth = AuthLayer::optional(build(config(&issuer, &ManualClock::new())));
    let app = Router::new()
        .route("/public", get(|| async { "hi" }))
        .layer(RateLimitLayer::new(per_hour(1), per_hour(1)))
        .layer(auth);
    for _ in 0..3 {
        assert_eq!(send(&app, "/public", &[]).await.status, StatusCode::OK);
    }
}
