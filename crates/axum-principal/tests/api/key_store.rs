//! The key store against the mock issuer: discovery, rotation, outages, hostile `kid`s,
//! odd keys, hardened fetching and key freshness. Time moves on a `ManualClock`; nothing
//! sleeps.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthLayer, Issuer};
use axum_principal_testkit::{Discovery, Fault, KeyAlg, MockIssuer};
use common::{build, config, get_with, issuer, router};
use serde_json::json;

/// Tokens in these tests outlive every clock jump they make.
const LONG: i64 = 5 * 24 * 3600;

#[tokio::test]
async fn rotation_is_picked_up_without_restart() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let old = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);

    // The issuer publishes a new key and signs with it.
    let new_kid = issuer.add_key(KeyAlg::Rs256);
    let new = issuer.token().expires_in(LONG).sign();
    assert!(
        new.len() > 10 && issuer.signing_kid(KeyAlg::Rs256).as_deref() == Some(new_kid.as_str())
    );
    clock.advance(Duration::from_secs(31)); // past the unknown-kid cooldown
    let reply = get_with(&app, "/me", &new).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the request that triggered the refresh is answered from the new set"
    );
    assert_eq!(issuer.jwks_requests(), 2);
    // The old key is still published, so old tokens still verify.
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_kid_refresh_waits_for_the_cooldown() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    assert_eq!(
        get_with(&app, "/me", &issuer.token().sign()).await.status,
        StatusCode::OK
    );
    assert_eq!(issuer.jwks_requests(), 1);
    // The first unknown kid: one fetch, and the request is answered from the new set.
    issuer.add_key(KeyAlg::Rs256);
    let second = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &second).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 2);
    // Another new key within the cooldown of that fetch: refused without asking the issuer.
    issuer.add_key(KeyAlg::Rs256);
    let third = issuer.token().expires_in(LONG).sign();
    assert_eq!(
        get_with(&app, "/me", &third).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(issuer.jwks_requests(), 2);
    clock.advance(Duration::from_secs(30));
    assert_eq!(get_with(&app, "/me", &third).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_ahead_of_expiry_does_not_hold_back_a_key_just_published() {
    let issuer = issuer().await; // JWKS max-age=300
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let old = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    // Past three quarters of the max-age: this request starts a refresh ahead of expiry.
    clock.advance(Duration::from_secs(230));
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    assert!(
        jwks_requests_reach(&issuer, 2).await,
        "no background refresh"
    );
    // Right after it, the issuer publishes a key and signs with it: the first token naming
    // it gets one fetch, not the cooldown's refusal (the refresh was not for an unknown kid).
    issuer.add_key(KeyAlg::Rs256);
    let new = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &new).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_fetch_does_not_space_the_next_refresh_by_the_failure_backoff() {
    let issuer = issuer().await;
    issuer.set_cache_control(Some("max-age=2".to_owned()));
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(
        config(&issuer, &clock)
            .key_ttl_range(Duration::from_secs(2), Duration::from_secs(2))
            .failure_backoff(Duration::from_secs(5)),
    )));
    let token = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // 1.6 s: past three quarters of the 2 s life, within the 5 s failure backoff of a fetch
    // that succeeded: the refresh ahead of expiry starts.
    clock.advance(Duration::from_millis(1600));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert!(
        jwks_requests_reach(&issuer, 2).await,
        "the refresh ahead of expiry waited for a backoff no failure started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_random_kids_causes_at_most_two_fetches_per_cooldown() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let burst = |round: usize| {
        let tokens: Vec<String> = (0..1000)
            .map(|i| {
                issuer
                    .token()
                    .kid(&format!("attacker-{round}-{i}-{}", i * 7919 % 1000))
                    .sign()
            })
            .collect();
        let app = app.clone();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for token in tokens {
                let app = app.clone();
                tasks.spawn(async move { get_with(&app, "/me", &token).await.status });
            }
            let mut statuses = Vec::new();
            while let Some(status) = tasks.join_next().await {
                statuses.push(status.expect("the request task did not panic"));
            }
            statuses
        }
    };
    let statuses = burst(0).await;
    assert_eq!(statuses.len(), 1000);
    let odd: Vec<_> = statuses
        .iter()
        .filter(|s| **s != StatusCode::UNAUTHORIZED)
        .collect();
    assert!(
        odd.is_empty(),
        "{} not 401: {:?}",
        odd.len(),
        odd.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        issuer.jwks_requests() <= 2,
        "{} JWKS fetches",
        issuer.jwks_requests()
    );

    clock.advance(Duration::from_secs(31));
    let before = issuer.jwks_requests();
    let statuses = burst(1).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert!(
        issuer.jwks_requests() - before <= 1,
        "{} more fetches",
        issuer.jwks_requests() - before
    );
    // The attacker's kids never reached the issuer.
    assert!(issuer
        .request_log()
        .iter()
        .all(|line| !line.contains("attacker")));
}

#[tokio::test]
async fn outage_after_keys_were_cached_keeps_verifying_for_the_stale_window() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(
        config(&issuer, &clock).stale_window(Duration::from_secs(3600)),
    )));
    let token = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    issuer.set_fault(Fault::Down);
    // Past the set's 300 s max-age: refreshes fail, the last good keys keep serving.
    clock.advance(Duration::from_secs(400));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(1800));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // Beyond the stale window the keys are gone and none can be had.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // The issuer comes back: the next attempt (after the failure backoff) recovers.
    issuer.set_fault(Fault::None);
    clock.advance(Duration::from_secs(6));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn outage_before_any_keys_is_503_until_the_issuer_is_back() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    issuer.set_fault(Fault::Down);
    // Lazy start: building the layer does not need the issuer.
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let token = issuer.token().expires_in(LONG).sign();
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    issuer.set_fault(Fault::None);
    // Within the failure backoff no new attempt is made.
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_unusable_key_never_breaks_the_others() {
    let issuer = issuer().await;
    issuer.add_raw_jwk(json!({"kty":"RSA","kid":"enc-1","use":"enc","n":"AQAB","e":"AQAB"}));
    issuer.add_raw_jwk(json!({"kty":"PQC","kid":"future-1","x":"AAAA"}));
    issuer.add_raw_jwk(json!({"kty":"EC","kid":"k1","crv":"secp256k1","x":"AAAA","y":"AAAA"}));
    issuer.add_raw_jwk(json!({"kty":"RSA","kid":"broken","n":"%%%","e":"AQAB"}));
    issuer.add_raw_jwk(json!("not even an object"));
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    for alg in [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa] {
        let reply = get_with(&app, "/me", &issuer.token().alg(alg).sign()).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}");
    }
    // A token naming the unusable key is refused as an unknown key, not a server error.
    let reply = get_with(&app, "/me", &issuer.token().kid("enc-1").sign()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_issuer_not_on_the_list_causes_no_network_io() {
    let trusted = issuer().await;
    let other = issuer().await;
    let app = router(AuthLayer::new(build(config(&trusted, &ManualClock::new()))));
    let reply = get_with(&app, "/me", &other.token().sign()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    for i in [&trusted, &other] {
        assert_eq!(i.discovery_requests() + i.jwks_requests(), 0);
    }
}

#[tokio::test]
async fn rfc8414_metadata_is_the_fallback_for_issuers_with_a_path() {
    let issuer = MockIssuer::builder()
        .path_prefix("/realms/test")
        .discovery(Discovery::Rfc8414Only)
        .start()
        .await
        .expect("the mock issuer starts");
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    assert_eq!(
        get_with(&app, "/me", &issuer.user_token("alice"))
            .await
            .status,
        StatusCode::OK
    );
    let log = issuer.request_log().join("\n");
    assert!(log.contains("/.well-known/openid-configuration"), "{log}");
    assert!(
        log.contains("/.well-known/oauth-authorization-server/realms/test"),
        "{log}"
    );
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let issuer = issuer().await;
    issuer.set_discovery_issuer(Some("https://impostor.example.com".to_owned()));
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    assert_eq!(
        get_with(&app, "/me", &issuer.user_token("alice"))
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        issuer.jwks_requests(),
        0,
        "the JWKS of a mismatched document is never fetched"
    );
}

#[tokio::test]
async fn a_configured_jwks_uri_skips_discovery() {
    let issuer = issuer().await;
    issuer.set_discovery(Discovery::None);
    let config = axum_principal::AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).jwks_uri(issuer.jwks_uri()))
        .audience(issuer.audience());
    let app = router(AuthLayer::new(build(config)));
    assert_eq!(
        get_with(&app, "/me", &issuer.user_token("alice"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(issuer.discovery_requests(), 0);
}

#[tokio::test]
async fn faulty_key_responses_give_503_never_a_crash() {
    let faults = [
        Fault::Status(500),
        Fault::Status(302),
        Fault::Garbage,
        Fault::Oversized(2 * 1024 * 1024),
        Fault::Slow(Duration::from_secs(3)),
    ];
    for fault in faults {
        let issuer = issuer().await;
        issuer.set_fault(fault);
        let app = router(AuthLayer::new(build(
            config(&issuer, &ManualClock::new())
                .max_response_bytes(1024 * 1024)
                .fetch_timeout(Duration::from_millis(500)),
        )));
        let reply = get_with(&app, "/me", &issuer.user_token("alice")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}");
    }
}

#[tokio::test]
async fn the_tokens_kid_is_never_sent_to_the_issuer() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    for kid in ["../../admin", "kid?x=1", "zzz-unknown"] {
        clock.advance(Duration::from_secs(31));
        let _ = get_with(&app, "/me", &issuer.token().kid(kid).sign()).await;
    }
    let log = issuer.request_log();
    assert!(issuer.jwks_requests() >= 2);
    for line in &log {
        assert!(
            !line.contains("admin") && !line.contains("x=1") && !line.contains("zzz"),
            "{line}"
        );
    }
}

/// Waits, with a deadline, until the mock has served `n` JWKS requests (a background refresh
/// runs on another task). Returns whether it happened.
async fn jwks_requests_reach(issuer: &MockIssuer, n: usize) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        while issuer.jwks_requests() < n {
            tokio::task::yield_now().await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_refreshed_ahead_of_expiry_off_the_request_path() {
    let issuer = issuer().await; // JWKS max-age=300
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let old_kid = issuer
        .signing_kid(KeyAlg::Rs256)
        .expect("the mock issuer has a key of every algorithm");
    let old = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    // Before three quarters of the max-age: no refresh.
    clock.advance(Duration::from_secs(200));
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1);
    // The issuer retires and removes the old key.
    issuer.add_key(KeyAlg::Rs256);
    issuer.remove_key(&old_kid);
    // Past 225 s: this request is answered from the cached set and starts a refresh.
    clock.advance(Duration::from_secs(30));
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    assert!(
        jwks_requests_reach(&issuer, 2).await,
        "no background refresh"
    );
    // Once the refresh has landed, the removed key is gone.
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if get_with(&app, "/me", &old).await.status == StatusCode::UNAUTHORIZED {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the removed key kept verifying");
}

#[tokio::test]
async fn max_age_is_clamped_to_the_configured_range() {
    let issuer = issuer().await;
    issuer.set_cache_control(Some("max-age=5".to_owned()));
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(
        config(&issuer, &clock).key_ttl_range(Duration::from_secs(120), Duration::from_secs(600)),
    )));
    let token = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    // 5 s would have expired long ago; the 120 s floor keeps the set fresh (no refresh
    // before 90 s).
    clock.advance(Duration::from_secs(60));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1);
}

/// Polls `done` (yielding in between) until it holds or the bounded wait runs out.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let reached = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(reached.is_ok(), "timed out waiting until {what}");
}

/// Starts a request on its own task, waits until the issuer has received the fetch it
/// triggered (`received` holds), then aborts it mid-fetch, like a client hanging up.
async fn request_dropped_mid_fetch(
    app: &axum::Router,
    token: &str,
    what: &str,
    received: impl FnMut() -> bool,
) {
    let (app, token) = (app.clone(), token.to_owned());
    let request = tokio::spawn(async move { get_with(&app, "/me", &token).await.status });
    until(what, received).await;
    request.abort();
    let dropped = request
        .await
        .expect_err("the request was meant to be dropped mid-fetch");
    assert!(dropped.is_cancelled(), "{dropped}");
}

#[tokio::test]
async fn a_dropped_request_does_not_cancel_the_first_fetch() {
    let issuer = issuer().await;
    // Discovery and the JWKS each take half a second to answer.
    issuer.set_fault(Fault::Slow(Duration::from_millis(500)));
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let token = issuer.token().expires_in(LONG).sign();
    // The first request starts the first fetch, and its client hangs up during discovery.
    request_dropped_mid_fetch(&app, &token, "discovery is requested", || {
        issuer.discovery_requests() >= 1
    })
    .await;
    // Inside the failure backoff (the clock has not moved): the next request is answered
    // from the fetch the dropped one started, which went on without it.
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(issuer.discovery_requests(), 1);
    assert_eq!(issuer.jwks_requests(), 1, "exactly one JWKS fetch");
}

#[tokio::test]
async fn a_dropped_unknown_kid_request_does_not_waste_the_cooldown() {
    let issuer = issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(config(&issuer, &clock))));
    let old = issuer.token().expires_in(LONG).sign();
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1);
    // The issuer rotates; its JWKS is slow to answer.
    issuer.add_key(KeyAlg::Rs256);
    let new = issuer.token().expires_in(LONG).sign();
    issuer.set_fault(Fault::Slow(Duration::from_millis(500)));
    clock.advance(Duration::from_secs(31)); // past the unknown-kid cooldown
                                            // The first new-key token starts the refresh, and its client hangs up mid-fetch.
    request_dropped_mid_fetch(&app, &new, "the refresh is requested", || {
        issuer.jwks_requests() >= 2
    })
    .await;
    // Inside the cooldown that refresh started: the next new-key token is answered from
    // the new set, without another fetch.
    assert_eq!(get_with(&app, "/me", &new).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 2, "exactly one refresh");
    assert_eq!(get_with(&app, "/me", &old).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_outage_starts_at_most_one_background_refresh_per_backoff() {
    const N: usize = 50;
    let issuer = issuer().await;
    let clock = ManualClock::new();
    // A configured jwks_uri: every attempt is exactly one JWKS request. A short fetch
    // timeout: the hung issuer below fails each attempt after 1.5 s.
    let config = axum_principal::AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).jwks_uri(issuer.jwks_uri()))
        .audience(issuer.audience())
        .clock(clock.clone())
        .connect_timeout(Duration::from_secs(5))
        .fetch_timeout(Duration::from_millis(1500));
    let app = router(AuthLayer::new(build(config)));
    let token = issuer.token().expires_in(LONG).sign();
    // A token naming no key: inside the cooldown it starts no fetch but waits for the one
    // in flight, if any, so it tells the test when an attempt is over.
    let unknown = issuer.token().kid("not-published").expires_in(LONG).sign();
    let burst = || async {
        for _ in 0..N {
            assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
            // Let any task a request spawned run up to its network I/O.
            tokio::task::yield_now().await;
        }
    };
    let wait_for_the_attempt_in_flight = || async {
        let status = get_with(&app, "/me", &unknown).await.status;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    };
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(issuer.jwks_requests(), 1);

    // The issuer hangs, and the cached set (max-age 300 s) is due for a refresh at 225 s.
    issuer.set_fault(Fault::Slow(Duration::from_secs(60)));
    clock.advance(Duration::from_secs(230));
    burst().await;
    until("the background refresh reaches the issuer", || {
        issuer.jwks_requests() >= 2
    })
    .await;
    burst().await;
    assert_eq!(issuer.jwks_requests(), 2, "one attempt for {N} requests");
    // The attempt outlasts the backoff (as one does when the fetch timeout is as long as
    // the backoff), then fails.
    clock.advance(Duration::from_secs(6));
    burst().await;
    wait_for_the_attempt_in_flight().await;
    // Requests right after the failure start nothing: the backoff counts from it.
    burst().await;
    wait_for_the_attempt_in_flight().await;
    assert_eq!(
        issuer.jwks_requests(),
        2,
        "no retry within a backoff of the failure"
    );

    // One backoff after the failure: exactly one more attempt.
    clock.advance(Duration::from_secs(5));
    burst().await;
    until("the next background refresh reaches the issuer", || {
        issuer.jwks_requests() >= 3
    })
    .await;
    burst().await;
    wait_for_the_attempt_in_flight().await;
    burst().await;
    wait_for_the_attempt_in_flight().await;
    assert_eq!(issuer.jwks_requests(), 3, "one attempt per backoff");
}
