//! What introspection costs the issuer: calls per token with the answer cache off and on,
//! and with concurrent requests for one token (one shared call), counted at the test kit's
//! issuer. `cargo test -p axum-principal --test api introspection_cost -- --nocapture` prints
//! the table.

use crate::common;

use std::time::Duration;

use axum_principal::clock::ManualClock;
use axum_principal::{AuthConfig, Authenticator, Introspection, Issuer};
use axum_principal_testkit::{IntrospectionFault, MockIssuer};

const TOKENS: usize = 20;
const REQUESTS_PER_TOKEN: usize = 10;

fn authenticator(issuer: &MockIssuer, cache: Duration) -> Authenticator {
    let config = AuthConfig::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .introspection(Introspection::new("api", "api-secret").cache(cache)),
        )
        .audience(issuer.audience())
        .clock(ManualClock::new())
        .build()
        .expect("a valid configuration");
    Authenticator::new(config)
}

/// `REQUESTS_PER_TOKEN` rounds over `TOKENS` tokens; the introspection calls they made.
async fn calls_for(cache: Duration) -> usize {
    let issuer = common::issuer().await;
    issuer.add_introspection_client("api", "api-secret");
    let auth = authenticator(&issuer, cache);
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| issuer.opaque_user_token(&format!("user-{i}")))
        .collect();
    for _ in 0..REQUESTS_PER_TOKEN {
        for token in &tokens {
            auth.verify(token).await.expect("active");
        }
    }
    issuer.introspection_requests()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_calls_per_token_with_the_cache_off_and_on() {
    let off = calls_for(Duration::ZERO).await;
    let on = calls_for(Duration::from_secs(60)).await;
    // Concurrent requests for one token while its call is under way share it.
    let issuer = common::issuer().await;
    issuer.add_introspection_client("api", "api-secret");
    let auth = authenticator(&issuer, Duration::ZERO);
    let token = issuer.opaque_user_token("alice");
    auth.verify(&token).await.expect("active");
    issuer.set_introspection_fault(IntrospectionFault::Slow(Duration::from_millis(300)));
    let concurrent: Vec<_> = (0..REQUESTS_PER_TOKEN)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.verify(&token).await.map(|_| ()) })
        })
        .collect();
    for request in concurrent {
        request.await.expect("ends").expect("active");
    }
    let shared = issuer.introspection_requests() - 1;
    let requests = TOKENS * REQUESTS_PER_TOKEN;
    println!("| answer cache | requests | distinct tokens | issuer calls | calls per token |");
    println!("|---|---|---|---|---|");
    #[allow(clippy::cast_precision_loss)]
    let per = |calls: usize, tokens: usize| calls as f64 / tokens as f64;
    println!(
        "| off | {requests} | {TOKENS} | {off} | {:.1} |",
        per(off, TOKENS)
    );
    println!(
        "| 60 s | {requests} | {TOKENS} | {on} | {:.1} |",
        per(on, TOKENS)
    );
    println!(
        "| off, {REQUESTS_PER_TOKEN} concurrent | {REQUESTS_PER_TOKEN} | 1 | {shared} | {:.1} |",
        per(shared, 1)
    );
    assert_eq!(off, requests, "without a cache every request asks");
    assert_eq!(on, TOKENS, "with one, each token is asked about once");
    assert!(shared <= 2, "concurrent requests share calls: {shared}");
}

/// `cache_inactive`: a dead token retried costs one call per negative lifetime, not one per
/// request; it is off by default, and never keeps a failure to answer.
#[tokio::test]
async fn an_inactive_answer_is_remembered_only_when_asked_and_briefly() {
    use axum_principal::rejection::{InvalidToken, RejectionKind};
    let issuer = common::issuer().await;
    issuer.add_introspection_client("api", "api-secret");
    let clock = ManualClock::new();
    let auth = |introspection: Introspection| {
        let config = AuthConfig::builder()
            .issuer(Issuer::new(issuer.issuer()).introspection(introspection))
            .audience(issuer.audience())
            .clock(clock.clone())
            .build()
            .expect("a valid configuration");
        Authenticator::new(config)
    };
    let dead = issuer.opaque_user_token("alice");
    assert!(issuer.revoke(&dead));
    let inactive = |r: Result<_, axum_principal::AuthRejection>| {
        matches!(
            r.expect_err("inactive").kind(),
            RejectionKind::InvalidToken(InvalidToken::Inactive)
        )
    };
    let plain = auth(Introspection::new("api", "api-secret").cache(Duration::from_secs(60)));
    for _ in 0..3 {
        assert!(inactive(plain.verify(&dead).await));
    }
    assert_eq!(issuer.introspection_requests(), 3, "off by default");
    issuer.reset_counters();
    let negative =
        auth(Introspection::new("api", "api-secret").cache_inactive(Duration::from_secs(5)));
    for _ in 0..3 {
        assert!(inactive(negative.verify(&dead).await));
    }
    assert_eq!(issuer.introspection_requests(), 1, "remembered");
    clock.advance(Duration::from_secs(5));
    assert!(inactive(negative.verify(&dead).await));
    assert_eq!(issuer.introspection_requests(), 2, "for 5 s only");
    // A failure to answer is never remembered.
    let live = issuer.opaque_user_token("bob");
    issuer.set_introspection_fault(IntrospectionFault::Status(500));
    assert!(negative.verify(&live).await.is_err());
    issuer.set_introspection_fault(IntrospectionFault::None);
    negative.verify(&live).await.expect("asked again, active");
}
