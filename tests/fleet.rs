//! What a fleet costs, measured (ignored: they print numbers for the README's "Scaling"
//! section):
//!
//! `cargo test --test fleet -- --ignored --nocapture` (from the workspace root)
//!
//! * `fleet_issuer_load`: 8 replicas (each its own `AuthLayer` and key store) against one
//!   mock issuer, on one manual clock that simulates 8 hours in bounded steps: steady traffic,
//!   two key rotations, an hour-long unknown-`kid` flood. Reports issuer requests per
//!   replica per hour.
//! * `redis_quota_latency`: the added latency of the rate limit, in process and in a real
//!   Redis on loopback, at p50/p99, in one interleaved run.
//! * `redis_command_latency_under_load`: what a Redis command waits in a loaded service
//!   (one user, 40,000 requests at most 1,000 at once), and how many quota checks each
//!   candidate timeout would have failed: the basis of `RedisConnection::DEFAULT_TIMEOUT`.
#![cfg(all(feature = "redis", feature = "rate-limit"))]

// The integration-test helpers of the library crate, shared rather than copied.
#[path = "../crates/axum-principal/tests/common/mod.rs"]
mod common;

use std::num::NonZeroU32;
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_principal::clock::{Clock as _, ManualClock};
use axum_principal::rate_limit::{Quota, RateLimitLayer, RedisQuotas};
use axum_principal::redis::{RedisConnection, RedisReplayStore};
use axum_principal::replay::ReplayStore as _;
use axum_principal::{AuthLayer, Principal};
use axum_principal_testkit::{KeyAlg, MockIssuer};
use common::redis_server::RedisServer;
use common::{build, config, get_with};

const REPLICAS: usize = 8;
const STEP: Duration = Duration::from_secs(10);
/// The library's defaults (no `Cache-Control` from the issuer).
const TTL_SECS: f64 = 900.0;
const COOLDOWN_SECS: f64 = 30.0;

fn unix(clock: &ManualClock) -> i64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn router(auth: AuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.subject().to_owned() }),
        )
        .layer(auth)
}

/// Issuer requests so far (discovery and JWKS).
fn issuer_requests(issuer: &MockIssuer) -> (usize, usize) {
    (issuer.discovery_requests(), issuer.jwks_requests())
}

/// Lets a background refresh that was started reach the issuer (bounded).
async fn settle(issuer: &MockIssuer) {
    let mut last = issuer_requests(issuer);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = issuer_requests(issuer);
        if now == last {
            return;
        }
        last = now;
    }
}

struct Fleet {
    /// Valid tokens refused (a new key signing within a replica's cooldown).
    refused: std::cell::Cell<u64>,
    issuer: MockIssuer,
    clock: ManualClock,
    replicas: Vec<Router>,
}

impl Fleet {
    /// One step of simulated time: every replica serves one request with a token of the
    /// current signing key, and `flood` tokens with unknown `kid`s.
    async fn step(&self, flood: usize, n: &mut u64) {
        self.clock.advance(STEP);
        let now = unix(&self.clock);
        let token = self
            .issuer
            .token()
            .claim("sub", "alice")
            .claim("iat", now)
            .claim("exp", now + 600)
            .sign();
        for app in &self.replicas {
            let reply = get_with(app, "/me", &token).await;
            if reply.status != StatusCode::OK {
                // A key that signs before the replica's cooldown lets it refetch.
                assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
                self.refused.set(self.refused.get() + 1);
            }
        }
        for _ in 0..flood {
            *n += 1;
            let forged = self
                .issuer
                .token()
                .kid(&format!("flood-{n}"))
                .claim("iat", now)
                .claim("exp", now + 600)
                .sign();
            for app in &self.replicas {
                let reply = get_with(app, "/me", &forged).await;
                assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            }
        }
        settle(&self.issuer).await;
    }

    async fn run(&self, span: Duration, flood: usize, n: &mut u64) -> (f64, f64) {
        let before = issuer_requests(&self.issuer);
        let steps = span.as_secs() / STEP.as_secs();
        for _ in 0..steps {
            self.step(flood, n).await;
        }
        let after = issuer_requests(&self.issuer);
        let per_replica = |a: usize, b: usize| (a - b) as f64 / REPLICAS as f64;
        (
            per_replica(after.0, before.0),
            per_replica(after.1, before.1),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn fleet_issuer_load() {
    let issuer = MockIssuer::builder()
        // No Cache-Control: every replica uses the default key TTL.
        .cache_control(None)
        .start()
        .await
        .expect("mock issuer");
    let clock = ManualClock::new();
    let replicas = (0..REPLICAS)
        .map(|_| {
            let cfg = config(&issuer, &clock).without_token_cache();
            router(AuthLayer::new(build(cfg)))
        })
        .collect();
    let fleet = Fleet {
        refused: std::cell::Cell::new(0),
        issuer,
        clock,
        replicas,
    };
    let mut n = 0;
    let hour = Duration::from_secs(3600);
    // The first fetch of each replica (start-up) is not part of the hourly cost.
    fleet.step(0, &mut n).await;
    let started = issuer_requests(&fleet.issuer);
    println!("start-up: {started:?} (discovery, jwks) for {REPLICAS} replicas");

    let (d, j) = fleet.run(hour * 3, 0, &mut n).await;
    let steady = (d + j) / 3.0;
    println!(
        "steady, 3 h: {:.2} issuer requests per replica per hour ({:.2} discovery + {:.2} JWKS)",
        steady,
        d / 3.0,
        j / 3.0
    );

    // Two rotations, one hour apart, the new key signing at once (the worst case: no
    // pre-publication).
    let mut rotation_hours = (0.0, 0.0);
    for _ in 0..2 {
        let old = fleet
            .issuer
            .signing_kid(KeyAlg::Rs256)
            .expect("a signing key");
        fleet.issuer.add_key(KeyAlg::Rs256);
        let (d, j) = fleet.run(hour, 0, &mut n).await;
        fleet.issuer.retire_key(&old);
        rotation_hours.0 += d;
        rotation_hours.1 += j;
    }
    let with_rotations = (rotation_hours.0 + rotation_hours.1) / 2.0;
    println!(
        "valid tokens of a new key refused within a replica's cooldown: {} of {} requests",
        fleet.refused.get(),
        2 * 360 * REPLICAS
    );
    println!(
        "an hour with one rotation: {with_rotations:.2} per replica (steady {steady:.2}; \
         +{:.2} per rotation)",
        with_rotations - steady
    );

    // An hour-long flood: every replica gets one token with a new unknown kid per second.
    let (d, j) = fleet.run(hour, 10, &mut n).await;
    let flood = d + j;
    let bound = 3600.0 / COOLDOWN_SECS;
    println!(
        "an hour of unknown-kid flood ({} forged tokens per replica): {flood:.2} per replica \
         (steady {steady:.2}; cooldown bound {bound:.0} + steady)",
        3600 / STEP.as_secs() * 10
    );

    let (d, j) = fleet.run(hour, 0, &mut n).await;
    let after = d + j;
    println!("the hour after the flood: {after:.2} per replica");

    // The refresh ahead of expiry starts at 3/4 of the TTL: at most 3600 / (0.75 × TTL)
    // refreshes an hour (each a discovery and a JWKS request).
    let refreshes_per_hour = 3600.0 / (0.75 * TTL_SECS);
    assert!(
        after <= 2.0 * (refreshes_per_hour + 1.0),
        "after the flood: {after}"
    );
    assert!(
        steady <= 2.0 * (refreshes_per_hour + 1.0),
        "steady {steady} per replica per hour"
    );
    // The goal: at most 6 fetches per replica per hour at the default TTL.
    assert!(steady <= 6.0, "steady {steady} per replica per hour");
    assert!(
        flood <= 2.0 * (bound + 1.0) + steady,
        "flood {flood} per replica per hour"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn redis_quota_latency() {
    let server = RedisServer::start();
    let issuer = common::issuer().await;
    let clock = ManualClock::new();
    let plenty = Quota::per_second(NonZeroU32::new(1_000_000).expect("non-zero"));
    let auth = || AuthLayer::new(build(config(&issuer, &clock)));
    let redis = RedisConnection::open(&server.url())
        .expect("URL")
        .with_timeout(Duration::from_millis(100));
    let none = router(auth());
    // The limiter inside the AuthLayer, which supplies the principal.
    let inside = |limits: RateLimitLayer| {
        Router::new()
            .route(
                "/me",
                get(|p: Principal| async move { p.subject().to_owned() }),
            )
            .layer(limits)
            .layer(auth())
    };
    let local = inside(RateLimitLayer::new(plenty, plenty));
    let shared = inside(RateLimitLayer::with_redis(
        plenty,
        plenty,
        RedisQuotas::new(redis),
    ));
    let token = issuer.user_token("alice");
    // Warm: keys fetched, token cached, script loaded.
    for app in [&none, &local, &shared] {
        for _ in 0..100 {
            assert_eq!(get_with(app, "/me", &token).await.status, StatusCode::OK);
        }
    }
    const N: usize = 5000;
    let mut times: [Vec<Duration>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..N {
        for (i, app) in [&none, &local, &shared].into_iter().enumerate() {
            let start = Instant::now();
            let status = get_with(app, "/me", &token).await.status;
            times[i].push(start.elapsed());
            assert_eq!(status, StatusCode::OK);
        }
    }
    let names = ["no limit", "in process", "Redis"];
    let mut p = [[Duration::ZERO; 2]; 3];
    for (i, t) in times.iter_mut().enumerate() {
        t.sort();
        p[i] = [percentile(t, 0.5), percentile(t, 0.99)];
        println!(
            "{:>10}: p50 {:>8.1?}  p99 {:>8.1?}",
            names[i], p[i][0], p[i][1]
        );
    }
    for i in 1..3 {
        println!(
            "{:>10} adds: p50 {:>8.1?}  p99 {:>8.1?}",
            names[i],
            p[i][0].saturating_sub(p[0][0]),
            p[i][1].saturating_sub(p[0][1])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn redis_command_latency_under_load() {
    const REQUESTS: usize = 40_000;
    const CONCURRENCY: usize = 1_000;
    let server = RedisServer::start();
    let issuer = common::issuer().await;
    let clock = ManualClock::new();
    // Every request asks Redis and is allowed: the load is all quota checks.
    let plenty = Quota::per_second(NonZeroU32::new(1_000_000).expect("non-zero"));
    let token = issuer.user_token("alice");
    for timeout_ms in [5, 20, 50, 100, 250] {
        let redis = RedisConnection::open(&server.url())
            .expect("URL")
            .with_timeout(Duration::from_millis(timeout_ms))
            .with_prefix(format!("t{timeout_ms}:"));
        // Never marked down: every request asks Redis, and every late answer is counted.
        let quotas = RedisQuotas::new(redis.clone()).with_breaker(u32::MAX, Duration::from_secs(1));
        let app = Router::new()
            .route(
                "/me",
                get(|p: Principal| async move { p.subject().to_owned() }),
            )
            .layer(RateLimitLayer::with_redis(plenty, plenty, quotas.clone()))
            .layer(AuthLayer::new(build(config(&issuer, &clock))));
        for _ in 0..10 {
            assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
        }
        let before = quotas.failures();
        // A sampler on the same connection and runtime: one SET NX PX (a round trip, like
        // the quota's EVALSHA) after another, with a timeout nothing reaches.
        let sampler = RedisReplayStore::new(redis.with_timeout(Duration::from_secs(10)));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampling = tokio::spawn({
            let done = done.clone();
            async move {
                let mut times = Vec::new();
                let mut n = 0u64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) && n < 1_000_000 {
                    n += 1;
                    let start = Instant::now();
                    let _ = sampler
                        .first_use(&format!("s{n}"), Duration::from_secs(1))
                        .await;
                    times.push(start.elapsed());
                }
                times
            }
        });
        let started = Instant::now();
        let mut running = tokio::task::JoinSet::new();
        let mut statuses = [0usize; 2];
        let mut record = |status: StatusCode| statuses[usize::from(status != StatusCode::OK)] += 1;
        for _ in 0..REQUESTS {
            if running.len() >= CONCURRENCY {
                record(
                    running
                        .join_next()
                        .await
                        .expect("running")
                        .expect("no panic"),
                );
            }
            let (app, token) = (app.clone(), token.clone());
            running.spawn(async move { get_with(&app, "/me", &token).await.status });
        }
        while let Some(done) = running.join_next().await {
            record(done.expect("no panic"));
        }
        let elapsed = started.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut times = sampling.await.expect("no panic");
        times.sort();
        println!(
            "timeout {timeout_ms:>3} ms: {} of {REQUESTS} quota checks without an answer in time \
             ({} not 200); {:.0} req/s; a command on the loaded connection: p50 {:.1?} p99 \
             {:.1?} max {:.1?} ({} samples)",
            quotas.failures() - before,
            statuses[1],
            REQUESTS as f64 / elapsed.as_secs_f64(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default(),
            times.len()
        );
    }
}
