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
