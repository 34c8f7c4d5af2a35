//! `AUTHZ_RATE_LIMIT` and `AUTHZ_REDIS_URL`: parsing, each mistake naming its variable, the
//! quotas on every authenticated route, and quotas falling back to the instance's own when
//! Redis is unreachable (never unlimited).

use std::net::{Ipv4Addr, TcpListener};

use axum::http::StatusCode;
use axum_principal::replay::{ReplayStoreUnavailable, ReplayVerdict};
use axum_principal_example::{redis_connection, replay_store};

use crate::support::*;

fn problem_with(vars: &[(&str, &str)]) -> axum_principal_example::ConfigProblem {
    settings(vars).expect_err("a configuration error")
}

/// A loopback URL where nothing listens.
fn unreachable_redis() -> String {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("redis://127.0.0.1:{port}")
}

#[test]
fn rate_limit_and_redis_url_are_read_and_default_to_unset() {
    let defaults = settings(&[]).expect("an empty environment is valid");
    assert_eq!((defaults.rate_limit, defaults.redis_url), (None, None));
    let s = settings(&[
        ("AUTHZ_RATE_LIMIT", " 60, 600 "),
        ("AUTHZ_REDIS_URL", "redis://redis:6379"),
    ])
    .expect("valid");
    let limits = s.rate_limit.expect("set");
    assert_eq!(
        (
            limits.users_per_minute.get(),
            limits.machines_per_minute.get()
        ),
        (60, 600)
    );
    assert_eq!(s.redis_url.as_deref(), Some("redis://redis:6379"));
}

#[test]
fn bad_rate_limits_and_redis_urls_name_their_variable() {
    for bad in ["60", "0,600", "60,0", "a,b", "60,600,1", "-1,5"] {
        let p = problem_with(&[("AUTHZ_RATE_LIMIT", bad)]);
        assert_eq!(p.variable, "AUTHZ_RATE_LIMIT", "{bad}");
    }
    for bad in ["http://redis:6379", "redis:6379", "redis://"] {
        let p = problem_with(&[("AUTHZ_REDIS_URL", bad)]);
        assert_eq!(p.variable, "AUTHZ_REDIS_URL", "{bad}: {p}");
    }
}

#[tokio::test]
async fn over_quota_is_429_with_retry_after_and_a_json_body_on_every_route() {
    let h = harness_with(&[("AUTHZ_RATE_LIMIT", "2,3")]).await;
    let user = user_token(&h.issuer);
    for path in ["/me", "/user"] {
        assert_eq!(
            get_with(&h.router, path, &user).await.status,
            StatusCode::OK
        );
    }
    let reply = get_with(&h.router, "/me", &user).await;
    reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", Some(&user));
    let retry: u64 = reply
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(retry >= 1);
    // Machines have their own quota.
    let machine = machine_token(&h.issuer);
    for _ in 0..3 {
        assert_eq!(
            get_with(&h.router, "/machine", &machine).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get_with(&h.router, "/machine", &machine).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // /healthz is not authenticated, so not limited.
    for _ in 0..5 {
        assert_eq!(
            send(&h.router, "/healthz", &[]).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn redis_unreachable_quotas_fall_back_to_the_instance_and_the_replay_store_fails_closed() {
    let url = unreachable_redis();
    let h = harness_with(&[("AUTHZ_RATE_LIMIT", "2,1"), ("AUTHZ_REDIS_URL", &url)]).await;
    let user = user_token(&h.issuer);
    for _ in 0..2 {
        assert_eq!(
            get_with(&h.router, "/me", &user).await.status,
            StatusCode::OK
        );
    }
    // This instance's own quota: never unlimited.
    for _ in 0..3 {
        let reply = get_with(&h.router, "/me", &user).await;
        reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", Some(&user));
    }
    let machine = machine_token(&h.issuer);
    assert_eq!(
        get_with(&h.router, "/machine", &machine).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&h.router, "/machine", &machine).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let redis = redis_connection(&h.settings).expect("valid").expect("set");
    let store = replay_store(Some(&redis));
    assert_eq!(
        store
            .first_use("jti", std::time::Duration::from_secs(60))
            .await,
        Err(ReplayStoreUnavailable)
    );
    // Without AUTHZ_REDIS_URL, the replay store is in process.
    let local = replay_store(None);
    assert_eq!(
        local
            .first_use("jti", std::time::Duration::from_secs(60))
            .await,
        Ok(ReplayVerdict::Fresh)
    );
}
