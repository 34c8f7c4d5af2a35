//! Quotas and the replay store in a real Redis (features `redis` and `rate-limit`): every
//! test starts its own server on a free loopback port, the `redis-server` on PATH or one
//! installed on first use (`common/redis_server.rs`).
//! `cargo test -p axum-principal --features rate-limit,redis --test redis`, or `cargo test`
//! from the workspace root.
#![cfg(all(feature = "redis", feature = "rate-limit"))]

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::rate_limit::{FailurePolicy, Quota, RateLimitLayer, RedisQuotas};
use axum_principal::redis::{RedisConnection, RedisReplayStore};
use axum_principal::replay::{ReplayStore, ReplayStoreUnavailable, ReplayVerdict};
use axum_principal::{AuthLayer, Principal};
use axum_principal_testkit::MockIssuer;
use common::redis_server::RedisServer;
use common::{build, config, get_with, issuer, with_reason_header, Reply};

/// Generous for a busy CI machine; the slow-Redis test sets its own.
const TIMEOUT: Duration = Duration::from_millis(500);

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).expect("a quota of at least one request"))
}

fn connection(server: &RedisServer, timeout: Duration) -> RedisConnection {
    RedisConnection::open(&server.url())
        .expect("a valid URL")
        .with_timeout(timeout)
}

/// One service instance: its own AuthLayer (own key store and token cache) and its own
/// Redis connection, quotas of 2 per user and 5 per machine per hour.
fn instance(issuer: &MockIssuer, quotas: RedisQuotas) -> Router {
    let auth = AuthLayer::new(build(with_reason_header(config(
        issuer,
        &ManualClock::new(),
    ))));
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.subject().to_owned() }),
        )
        .layer(RateLimitLayer::with_redis(per_hour(2), per_hour(5), quotas))
        .layer(auth)
}

fn assert_limited(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["error"], "rate_limited");
    let retry: u64 = reply.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds");
    assert!(retry >= 1, "{retry}");
}

fn assert_unavailable(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert_eq!(reply.reason.as_deref(), Some("rate_limit_unavailable"));
    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
}

async fn first_use(
    store: &RedisReplayStore,
    key: &str,
) -> Result<ReplayVerdict, ReplayStoreUnavailable> {
    store.first_use(key, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_quota() {
    let server = RedisServer::start();
    let issuer = issuer().await;
    let a = instance(&issuer, RedisQuotas::new(connection(&server, TIMEOUT)));
    let b = instance(&issuer, RedisQuotas::new(connection(&server, TIMEOUT)));
    let alice = issuer.user_token("alice");
    // Two for alice in all, wherever they land.
    assert_eq!(get_with(&a, "/me", &alice).await.status, StatusCode::OK);
    assert_eq!(get_with(&b, "/me", &alice).await.status, StatusCode::OK);
    assert_limited(&get_with(&a, "/me", &alice).await);
    assert_limited(&get_with(&b, "/me", &alice).await);
    // Machines have their own quota, shared too; other users are not touched.
    let svc = issuer.machine_token("svc");
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(get_with(app, "/me", &svc).await.status, StatusCode::OK);
    }
    assert_limited(&get_with(&b, "/me", &svc).await);
    let bob = issuer.user_token("bob");
    assert_eq!(get_with(&b, "/me", &bob).await.status, StatusCode::OK);
    // The keys are digests under the prefix: no subject in Redis.
    let keys = server.command("KEYS *").expect("an answer");
    assert_eq!(keys, "*3", "alice, svc and bob");
    assert_eq!(server.command("KEYS *alice*").as_deref(), Some("*0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_replay_store() {
    let server = RedisServer::start();
    let a = RedisReplayStore::new(connection(&server, TIMEOUT));
    let b = RedisReplayStore::new(connection(&server, TIMEOUT));
    assert_eq!(first_use(&a, "jti-1").await, Ok(ReplayVerdict::Fresh));
    assert_eq!(first_use(&b, "jti-1").await, Ok(ReplayVerdict::Replayed));
    assert_eq!(first_use(&a, "jti-1").await, Ok(ReplayVerdict::Replayed));
    assert_eq!(first_use(&b, "jti-2").await, Ok(ReplayVerdict::Fresh));
    // Concurrent uses of one key across both stores: exactly one is fresh.
    let uses = (0..16).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { first_use(&store, "jti-3").await })
    });
    let mut fresh = 0;
    for task in uses {
        if task.await.expect("no panic") == Ok(ReplayVerdict::Fresh) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    // The window is the key's expiry; a zero window records nothing.
    let ttl = server
        .command("PTTL axum-principal:replay:jti-1")
        .expect("an answer");
    let ttl: i64 = ttl.trim_start_matches(':').parse().expect("an integer");
    assert!((1..=60_000).contains(&ttl), "{ttl}");
    assert_eq!(
        a.first_use("z", Duration::ZERO).await,
        Ok(ReplayVerdict::Fresh)
    );
    assert_eq!(
        b.first_use("z", Duration::ZERO).await,
        Ok(ReplayVerdict::Fresh)
    );
}

/// Retries `attempt` (bounded) until it says the service has recovered.
async fn until_recovered<F, Fut>(mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if attempt().await {
            return;
        }
        // Gives the connection manager's reconnect a moment; not a timing assertion.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no recovery within 300 attempts");
}

/// A cool-down short enough that recovery is quick; the breaker itself is tested in
/// `redis_fallback.rs` and in the unit tests.
fn short_breaker(quotas: RedisQuotas) -> RedisQuotas {
    quotas.with_breaker(
        RedisQuotas::DEFAULT_BREAKER_FAILURES,
        Duration::from_millis(20),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_then_restarted_policy_then_recovery() {
    let mut server = RedisServer::start();
    let issuer = issuer().await;
    let local = short_breaker(RedisQuotas::new(connection(&server, TIMEOUT)));
    let closed = short_breaker(
        RedisQuotas::new(connection(&server, TIMEOUT)).on_failure(FailurePolicy::FailClosed),
    );
    assert_eq!(local.policy(), FailurePolicy::LocalQuota);
    let store = RedisReplayStore::new(connection(&server, TIMEOUT));
    let a = instance(&issuer, local.clone());
    let b = instance(&issuer, closed.clone());
    let alice = issuer.user_token("alice");
    let bob = issuer.user_token("bob");
    // alice: one request on each instance, her quota of 2 is used up in Redis.
    assert_eq!(get_with(&a, "/me", &alice).await.status, StatusCode::OK);
    assert_eq!(get_with(&b, "/me", &alice).await.status, StatusCode::OK);
    assert_limited(&get_with(&a, "/me", &alice).await);
    assert_eq!(first_use(&store, "jti").await, Ok(ReplayVerdict::Fresh));
    assert_eq!((local.failures(), closed.failures()), (0, 0));

    server.stop();
    // The in-process quota: a admitted one of alice's requests, so one more, then 429;
    // bob has his whole quota on a. Never unlimited. Counted.
    assert_eq!(get_with(&a, "/me", &alice).await.status, StatusCode::OK);
    assert_limited(&get_with(&a, "/me", &alice).await);
    for _ in 0..2 {
        assert_eq!(get_with(&a, "/me", &bob).await.status, StatusCode::OK);
    }
    assert_limited(&get_with(&a, "/me", &bob).await);
    assert!(local.failures() >= 1);
    // Fail closed: 503 (clients retry), counted.
    assert_unavailable(&get_with(&b, "/me", &alice).await);
    assert!(closed.failures() >= 1);
    // The replay store always fails closed.
    assert_eq!(
        first_use(&store, "jti-new").await,
        Err(ReplayStoreUnavailable)
    );

    server.restart();
    // No restart of the service: each connection comes back by itself, found by a probe
    // after the cool-down. A new user each time, so that the in-process quota allows it.
    let mut n = 0;
    for (app, quotas) in [(&a, &local), (&b, &closed)] {
        until_recovered(|| {
            n += 1;
            let token = issuer.user_token(&format!("probe-{n}"));
            async move {
                let before = quotas.failures();
                let status = get_with(app, "/me", &token).await.status;
                status == StatusCode::OK && quotas.failures() == before && !quotas.is_down()
            }
        })
        .await;
    }
    // The restarted Redis is empty (and the script is loaded again on NOSCRIPT): carol's
    // quota is shared again by both instances (a alone would still allow her a second).
    let carol = issuer.user_token("carol");
    assert_eq!(get_with(&a, "/me", &carol).await.status, StatusCode::OK);
    assert_eq!(get_with(&b, "/me", &carol).await.status, StatusCode::OK);
    assert_limited(&get_with(&a, "/me", &carol).await);
    // alice's two requests on a, with Redis down, still count there within the hour,
    // though the new Redis has never seen her.
    assert_limited(&get_with(&a, "/me", &alice).await);
    until_recovered(|| async { first_use(&store, "jti-after").await.is_ok() }).await;
    assert_eq!(
        first_use(&store, "jti-after").await,
        Ok(ReplayVerdict::Replayed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_hits_the_timeout() {
    let server = RedisServer::start();
    let issuer = issuer().await;
    let short = Duration::from_millis(100);
    let local = RedisQuotas::new(connection(&server, short));
    let closed = RedisQuotas::new(connection(&server, short)).on_failure(FailurePolicy::FailClosed);
    let store = RedisReplayStore::new(connection(&server, short));
    let a = instance(&issuer, local.clone());
    let b = instance(&issuer, closed.clone());
    let alice = issuer.user_token("alice");
    // Connected and the script loaded before Redis slows down.
    assert_eq!(get_with(&a, "/me", &alice).await.status, StatusCode::OK);
    assert_eq!(get_with(&b, "/me", &alice).await.status, StatusCode::OK);
    assert_eq!(first_use(&store, "warm").await, Ok(ReplayVerdict::Fresh));

    // Each check: Redis sleeps 0.5 s; requests go on until one lands in the sleep (gets no
    // answer within 100 ms, and the policy applies) or the sleep is over, at most 2,000 (the
    // sleeping connection may start after the first requests were answered).
    let sleeping = server.sleep_in_background(0.5);
    let mut hit = false;
    // A new user each time, so that a request Redis does answer is allowed too, and the
    // in-process quota (which has room for a new user) decides the one it does not.
    for i in 0..2_000 {
        let reply = get_with(&a, "/me", &issuer.user_token(&format!("local-{i}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "local quota: {}", reply.body);
        if local.failures() > 0 {
            hit = true;
            break;
        }
        if sleeping.is_finished() {
            break;
        }
    }
    assert!(hit, "local quota: no request hit the timeout");
    // One timeout is a slow Redis, not a down one: the next request asks it again.
    assert_eq!(local.failures(), 1);
    assert!(!local.is_down(), "one timeout marked Redis down");
    let answer = tokio::task::spawn_blocking(move || sleeping.join())
        .await
        .expect("no panic");
    assert_eq!(answer.expect("no panic").as_deref(), Some("+OK"));

    let sleeping = server.sleep_in_background(0.5);
    let mut hit = false;
    for i in 0..2_000 {
        let reply = get_with(&b, "/me", &issuer.user_token(&format!("closed-{i}"))).await;
        if closed.failures() > 0 {
            assert_unavailable(&reply);
            hit = true;
            break;
        }
        if sleeping.is_finished() {
            break;
        }
    }
    assert!(hit, "fail closed: no request hit the timeout");
    let _ = tokio::task::spawn_blocking(move || sleeping.join()).await;

    let sleeping = server.sleep_in_background(0.5);
    let mut hit = false;
    for i in 0..2_000 {
        if first_use(&store, &format!("slow-{i}")).await == Err(ReplayStoreUnavailable) {
            hit = true;
            break;
        }
        if sleeping.is_finished() {
            break;
        }
    }
    assert!(hit, "replay store: no use hit the timeout");
    let _ = tokio::task::spawn_blocking(move || sleeping.join()).await;

    // Awake again: answers from Redis, on the same connections. Alice had one request on
    // each instance before (2 per hour): over quota now, as Redis says.
    until_recovered(|| async {
        let before = local.failures();
        let reply = get_with(&a, "/me", &alice).await;
        local.failures() == before && reply.status == StatusCode::TOO_MANY_REQUESTS
    })
    .await;
    assert_limited(&get_with(&b, "/me", &alice).await);
    assert_eq!(first_use(&store, "warm").await, Ok(ReplayVerdict::Replayed));
}

#[test]
fn an_unusable_url_never_shows_its_password() {
    let secret = "s3cret-Pa55";
    for url in [
        format!("redis://:{secret}@host:notaport"),
        format!("redis://user:{secret}@host:notaport"),
        format!("redis://user:{secret}@host:6379/notadb"),
        format!("redis://:{secret}@host:6379/?protocol=resp9"),
        format!("redis://user:{secret}@"),
        format!("redis//:{secret}@host:6379"),
        format!("http://:{secret}@host:6379"),
    ] {
        let error = RedisConnection::open(&url).expect_err("an unusable URL");
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("s3cret"), "{url}: {shown}");
        }
        // It names the URL, redacted, so that the operator sees which one.
        let redacted = axum_principal::redact_url(&url);
        assert!(redacted.contains("***@"), "{redacted}");
        assert!(error.to_string().contains(redacted.as_ref()), "{error}");
    }
    // A usable one keeps its password for the connection, and its Debug hides it.
    let redis =
        RedisConnection::open(&format!("redis://user:{secret}@host:6379/1")).expect("a usable URL");
    let quotas = RedisQuotas::new(redis.clone());
    for shown in [format!("{redis:?}"), format!("{quotas:?}")] {
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("host:6379"), "{shown}");
    }
}

#[tokio::test]
async fn a_rediss_url_speaks_tls_and_a_failed_handshake_is_an_unavailable_store() {
    // A loopback listener that is no Redis: it keeps the first bytes the client sends.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener
        .local_addr()
        .expect("the listener's address")
        .port();
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the client connects");
        let mut buf = [0u8; 3];
        tokio::io::AsyncReadExt::read_exact(&mut socket, &mut buf)
            .await
            .expect("the client sends a first record");
        buf
    });
    let store = RedisReplayStore::new(
        RedisConnection::open(&format!("rediss://:secret@127.0.0.1:{port}"))
            .expect("a rediss:// URL is accepted (TLS is built in)")
            .with_timeout(TIMEOUT),
    );
    let verdict = first_use(&store, "tls-probe").await;
    let sent = tokio::time::timeout(Duration::from_secs(5), first_bytes)
        .await
        .expect("the client connected within the bound")
        .expect("the listener task did not panic");
    // A TLS record of type handshake (22), version 3.x: a ClientHello, not `AUTH`/`HELLO`
    // in clear text (which would start with `*`).
    assert_eq!(sent[0], 0x16, "first bytes {sent:?}");
    assert_eq!(sent[1], 0x03, "first bytes {sent:?}");
    // The listener never answers the handshake: the store is unavailable, never "fresh".
    assert_eq!(verdict, Err(ReplayStoreUnavailable));
}
