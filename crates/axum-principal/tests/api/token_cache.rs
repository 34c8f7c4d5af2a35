//! The verified-token cache: hits, and every reason an entry must not be served.

use crate::common;

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

/// An entry lives at most a day after its token was verified, whatever `exp` says: then the
/// token is verified again (and cached again).
#[tokio::test]
async fn an_entry_is_served_for_at_most_a_day() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let auth = authenticator(config(&issuer, &clock));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer.token().expires_in(3 * 24 * 3600).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(24 * 3600 - 10));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(hits(&auth), 1, "within the day: from the cache");
    clock.advance(Duration::from_secs(20));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    let stats = auth.token_cache_stats().expect("the cache is on");
    // The stale entry was found (a hit), refused by its age, and the token verified anew.
    assert_eq!((stats.hits, stats.misses), (2, 1), "{stats:?}");
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(hits(&auth), 3, "the new entry serves the next request");
}

/// The cache finds an entry by the token's last bytes, but answers only the very token it
/// verified: one that ends the same way and differs anywhere else is verified in full
/// (and refused here: its signature does not cover what it says).
#[tokio::test]
async fn a_token_ending_like_a_cached_one_is_not_answered_from_it() {
    let issuer = issuer().await;
    let auth = authenticator(config(&issuer, &ManualClock::new()));
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let token = issuer.user_token_with_roles("alice", &["admin"]);
    assert_eq!(
        get_with(&app, "/admin", &token).await.status,
        StatusCode::OK
    );
    let (signing_input, signature) = token.rsplit_once('.').expect("a compact JWS");
    let (header, _) = signing_input.split_once('.').expect("header.payload");
    // Another payload (Mallory, also an admin), the same signature: the same last 32 bytes.
    let forged_claims = serde_json::json!({
        "iss": issuer.issuer(), "aud": issuer.audience(), "sub": "mallory",
        "exp": 4_000_000_000i64, "roles": ["admin"],
    });
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        forged_claims.to_string(),
    );
    let forged = format!("{header}.{payload}.{signature}");
    assert_eq!(&forged[forged.len() - 32..], &token[token.len() - 32..]);
    let reply = get_with(&app, "/admin", &forged).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    // One byte of the signature changed, in front of the last 32: not the cached token.
    let mut bytes = token.clone().into_bytes();
    let at = bytes.len() - 40;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).expect("ASCII");
    let reply = get_with(&app, "/admin", &altered).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let stats = auth.token_cache_stats().expect("the cache is on");
    assert_eq!((stats.hits, stats.misses), (0, 3), "{stats:?}");
    // The real token is still answered from its entry.
    assert_eq!(
        get_with(&app, "/admin", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(hits(&auth), 1);
}

/// `max_entries(1)`: the one entry is cached (its weight floor never exceeds what a shard
/// admits), and a second token takes its place.
#[tokio::test]
async fn a_cache_of_one_entry_holds_one_entry() {
    let issuer = issuer().await;
    let auth = authenticator(
        config(&issuer, &ManualClock::new()).token_cache(
            TokenCacheLimits::default()
                .max_entries(1)
                .max_bytes(1 << 20),
        ),
    );
    let app = router(AuthLayer::from_authenticator(auth.clone()));
    let alice = issuer.user_token("alice");
    for _ in 0..2 {
        assert_eq!(get_with(&app, "/me", &alice).await.status, StatusCode::OK);
    }
    assert_eq!(hits(&auth), 1, "the second request was a hit");
    let bob = issuer.user_token("bob");
    assert_eq!(get_with(&app, "/me", &bob).await.status, StatusCode::OK);
    let stats = auth.token_cache_stats().expect("the cache is on");
    assert_eq!(stats.entries, 1, "{stats:?}");
}
