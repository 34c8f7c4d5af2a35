//! The verified-token cache: hits, and every reason an entry must not be served.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthLayer, Authenticator, TokenCacheLimits};
use axum_principal_testkit::KeyAlg;
use common::{build, config, get_with, issuer, router};

fn authenticator(builder: axum_principal::AuthConfigBuilder) -> Authenticator {
    Authenticator::new(build(builder))
}

fn hits(auth: &Authenticator) -> u64 {
    auth.token_cache_stats().map_or(0, |s| s.hits)
}

#[tokio::test]
async fn a_repeated_token_is_answered_from_the_cache() {
    let issuer = issuer().await;
    let auth = authenticator(config(&issuer, &ManualClock::new()));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer.user_token_with_roles("alice", &["admin"]);
    let first = get_with(&app, "/admin", &token).await;
    let second = get_with(&app, "/admin", &token).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(
        first.body, second.body,
        "the cached principal is the same principal"
    );
    assert_eq!(hits(&auth), 1);
    assert_eq!(auth.token_cache_stats().map(|s| s.entries), Some(1));
}

#[tokio::test]
async fn an_entry_never_outlives_exp_plus_leeway() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let auth = authenticator(config(&issuer, &clock));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer.token().expires_in(120).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // Just inside exp + leeway (the token was minted up to a second after the clock was
    // read, so allow a second each way): still valid, from the cache.
    clock.advance(Duration::from_secs(120 + 60 - 1));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(hits(&auth), 1);
    clock.advance(Duration::from_secs(3));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("expired"), "{}", reply.body);
}

#[tokio::test]
async fn an_entry_is_never_served_before_nbf() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let start = std::time::SystemTime::now();
    let auth = authenticator(config(&issuer, &clock));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    // nbf 30 s ahead is within the 60 s leeway: accepted now, and cached.
    let token = issuer.token().not_before_in(30).expires_in(3600).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // The clock is set back (an NTP step): the token is not valid yet, cached or not.
    clock.set(start - Duration::from_secs(100));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("not valid yet"), "{}", reply.body);
}

#[tokio::test]
async fn an_entry_is_dropped_when_its_key_leaves_the_jwks() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let auth = authenticator(config(&issuer, &clock));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let old_kid = issuer
        .signing_kid(KeyAlg::Es256)
        .expect("the mock issuer has a key of every algorithm");
    let token = issuer.token().alg(KeyAlg::Es256).expires_in(3600).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // The issuer rotates: a new key, the old one unpublished.
    issuer.add_key(KeyAlg::Es256);
    issuer.remove_key(&old_kid);
    let fresh = issuer.token().alg(KeyAlg::Es256).expires_in(3600).sign();
    clock.advance(Duration::from_secs(31));
    // A token with the new kid makes the service refresh its set...
    assert_eq!(get_with(&app, "/me", &fresh).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 2);
    // ...after which the cached token's key is gone, and so is the token.
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("unknown key"), "{}", reply.body);
}

#[tokio::test]
async fn the_cache_is_bounded_by_entries() {
    let issuer = issuer().await;
    let auth = authenticator(
        config(&issuer, &ManualClock::new()).token_cache(
            TokenCacheLimits::default()
                .max_entries(10)
                .max_bytes(1 << 20),
        ),
    );
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    for i in 0..60 {
        let token = issuer.user_token(&format!("user-{i}"));
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    let stats = auth.token_cache_stats().expect("the token cache is on");
    assert!(stats.entries <= 10, "{stats:?}");
    assert!(stats.entries > 0, "{stats:?}");
}

#[tokio::test]
async fn the_cache_is_bounded_by_memory() {
    let issuer = issuer().await;
    let auth = authenticator(
        config(&issuer, &ManualClock::new()).token_cache(
            TokenCacheLimits::default()
                .max_entries(1000)
                .max_bytes(64 * 1024),
        ),
    );
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    for i in 0..40 {
        // About 6 KB per token, 4.5 KB of it one string: each entry weighs about 6 KB.
        let token = issuer
            .token()
            .claim("sub", format!("u{i}"))
            .claim("pad", "x".repeat(4500))
            .sign();
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    let stats = auth.token_cache_stats().expect("the cache is on");
    assert!(stats.weighted_size <= 64 * 1024, "{stats:?}");
    assert!((1..=11).contains(&stats.entries), "{stats:?}");
}

/// A token of many short strings decodes to many times its length: an entry weighs what its
/// claims hold once decoded, so the memory bound holds for such tokens too.
#[tokio::test]
async fn entries_weigh_their_decoded_claims_not_the_token_length() {
    let issuer = issuer().await;
    let auth = authenticator(
        config(&issuer, &ManualClock::new()).token_cache(
            TokenCacheLimits::default()
                .max_entries(100_000)
                .max_bytes(1 << 30),
        ),
    );
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer
        .token()
        .claim("sub", "u")
        .claim("pad", vec!["a"; 2500])
        .sign();
    assert!(token.len() < 14 * 1024, "{}", token.len());
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    let stats = auth.token_cache_stats().expect("the cache is on");
    assert_eq!(stats.entries, 1, "{stats:?}");
    // 2,500 JSON values of at least 48 bytes each, whatever the token's length.
    assert!(stats.weighted_size >= 2500 * 48, "{stats:?}");
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let issuer = issuer().await;
    let auth = authenticator(config(&issuer, &ManualClock::new()).without_token_cache());
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer.user_token("alice");
    for _ in 0..2 {
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    assert!(auth.token_cache_stats().is_none());
}

#[tokio::test]
async fn a_cached_token_is_still_refused_for_an_oversized_copy() {
    // The size cap applies before the cache is consulted.
    let issuer = issuer().await;
    let auth = authenticator(config(&issuer, &ManualClock::new()).max_token_bytes(4096));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let big = issuer.token().claim("pad", "x".repeat(5000)).sign();
    assert_eq!(
        get_with(&app, "/me", &big).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(auth.token_cache_stats().map(|s| s.hits + s.misses), Some(0));
}

#[tokio::test]
async fn a_far_future_exp_is_cached_without_overflow() {
    let issuer = issuer().await;
    let auth = authenticator(config(&issuer, &ManualClock::new()));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    // Year ~31 million: a valid NumericDate that no clock arithmetic should choke on.
    let token = issuer.token().claim("exp", 1_000_000_000_000_000i64).sign();
    for _ in 0..2 {
        assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    }
    assert_eq!(hits(&auth), 1);
}
