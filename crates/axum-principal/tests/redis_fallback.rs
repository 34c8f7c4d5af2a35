//! A Redis that is slow or down never turns a quota off, not even under a burst: each
//! instance falls back to its own in-process quota, which already counts what that instance
//! admitted while Redis answered (features `redis` and `rate-limit`; needs `redis-server`
//! on PATH). One principal sends 2,000 requests, at most 200 at once, through
//! `RateLimitLayer`; the admissions are counted.
//!
//! `cargo test -p axum-principal --features rate-limit,redis --test redis_fallback`.
#![cfg(all(feature = "redis", feature = "rate-limit"))]

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::rate_limit::{Quota, RateLimitLayer, RedisQuotas};
use axum_principal::redis::RedisConnection;
use axum_principal::{AuthLayer, Principal};
use axum_principal_testkit::MockIssuer;
use common::redis_server::RedisServer;
use common::{build, config, get_with, issuer};
use tokio::task::JoinSet;

/// Each user's quota: 5 requests an hour, so that none comes back during a test.
const QUOTA: usize = 5;
const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 200;
/// Generous for a busy machine: what the breaker saves is the wait, not the test.
const TIMEOUT: Duration = Duration::from_millis(200);

fn quotas(server: &RedisServer) -> RedisQuotas {
    let redis = RedisConnection::open(&server.url())
        .expect("a valid URL")
        .with_timeout(TIMEOUT);
    RedisQuotas::new(redis)
}

fn instance(issuer: &MockIssuer, quotas: RedisQuotas) -> Router {
    let per_hour = |n: usize| {
        let n = u32::try_from(n).expect("small");
        Quota::per_hour(NonZeroU32::new(n).expect("a quota of at least one request"))
    };
    let auth = AuthLayer::new(build(config(issuer, &ManualClock::new())));
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.subject().to_owned() }),
        )
        .layer(RateLimitLayer::with_redis(
            per_hour(QUOTA),
            per_hour(100),
            quotas,
        ))
        .layer(auth)
}

/// Sends [`REQUESTS`] requests for `token`, at most [`CONCURRENCY`] at once, spread in turn
/// over `instances`; the 200s each instance answered. Any other answer than 200 or 429
/// fails the test.
async fn burst(instances: &[&Router], token: &str) -> Vec<usize> {
    let mut admitted = vec![0; instances.len()];
    let mut running = JoinSet::new();
    let mut record = |done: Result<(usize, StatusCode), _>| {
        let (i, status) = done.expect("no panic");
        assert!(
            matches!(status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "instance {i} answered {status}"
        );
        if status == StatusCode::OK {
            admitted[i] += 1;
        }
    };
    for n in 0..REQUESTS {
        if running.len() >= CONCURRENCY {
            record(running.join_next().await.expect("a running request"));
        }
        let i = n % instances.len();
        let app = instances[i].clone();
        let token = token.to_owned();
        running.spawn(async move { (i, get_with(&app, "/me", &token).await.status) });
    }
    while let Some(done) = running.join_next().await {
        record(done);
    }
    admitted
}

/// Fewer Redis commands than requests: once Redis is marked down, requests stop asking it.
/// Those already under way when it was (at most [`CONCURRENCY`]), and those started while
/// the first failures came in, are all that may have.
fn assert_breaker_opened(quotas: &RedisQuotas) {
    assert!(quotas.is_down(), "Redis is marked down");
    let failures = quotas.failures();
    let bound = CONCURRENCY + RedisQuotas::DEFAULT_BREAKER_FAILURES as usize;
    assert!(failures >= 1, "no request asked Redis");
    assert!(
        failures <= bound as u64,
        "{failures} requests asked a Redis marked down (at most {bound} may have)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_while_redis_is_paused_admits_at_most_the_quota() {
    let server = RedisServer::start();
    let issuer = issuer().await;
    let quotas = quotas(&server);
    let app = instance(&issuer, quotas.clone());
    // Connected, and the script loaded, before Redis stops answering.
    let warm = get_with(&app, "/me", &issuer.user_token("warm-up")).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.body);
    assert_eq!(quotas.failures(), 0);

    // Every client's commands wait (a Redis that does not answer), far longer than the
    // burst takes; the server is killed at the end of the test.
    assert_eq!(
        server.command("CLIENT PAUSE 60000 ALL").as_deref(),
        Some("+OK")
    );
    let admitted = burst(&[&app], &issuer.user_token("alice")).await;

    // The in-process quota, neither unlimited nor closed.
    assert_eq!(admitted, [QUOTA], "admissions with Redis paused");
    assert_breaker_opened(&quotas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_while_redis_is_stopped_admits_at_most_the_quota_per_instance() {
    let mut server = RedisServer::start();
    let issuer = issuer().await;
    let (qa, qb) = (quotas(&server), quotas(&server));
    let (a, b) = (instance(&issuer, qa.clone()), instance(&issuer, qb.clone()));
    let alice = issuer.user_token("alice");
    // Two of alice's requests go through instance a while Redis answers: a counts them.
    for _ in 0..2 {
        let reply = get_with(&a, "/me", &alice).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!((qa.failures(), qb.failures()), (0, 0));

    server.stop();
    let admitted = burst(&[&a, &b], &alice).await;

    // a had admitted 2 already: 3 more; b its whole quota. 2 instances: at most 2 × 5.
    assert_eq!(admitted, [QUOTA - 2, QUOTA], "admissions per instance");
    assert_breaker_opened(&qa);
    assert_breaker_opened(&qb);
}
