//! Per-principal rate limits (feature `rate-limit`):
//! `cargo test -p axum-principal --features rate-limit --test rate_limit` (or `cargo test`
//! from the workspace root, whose default features turn `rate-limit` on).
#![cfg(feature = "rate-limit")]

mod common;

use std::num::NonZeroU32;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::rate_limit::{Quota, RateLimitLayer};
use axum_principal::{AuthLayer, Principal};
use common::{build, config, get_with, issuer, send};

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).expect("a quota of at least one request"))
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
    let response = oneshot(&app, &token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // One request per hour: the next one is about an hour away.
    let retry_after = retry_after(&response);
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
}

/// The raw response, for its headers.
async fn oneshot(app: &Router, token: &str) -> Response {
    let request = axum::http::Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("a well-formed request");
    let Ok(response) = tower::ServiceExt::oneshot(app.clone(), request).await;
    response
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .expect("Retry-After is ASCII")
        .parse()
        .expect("Retry-After is whole seconds")
}

#[tokio::test]
async fn a_user_and_a_machine_with_the_same_subject_have_separate_quotas() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new())));
    let app = app(RateLimitLayer::new(per_hour(1), per_hour(1)), auth);
    // The machine's `sub` is its client id; a person may be given the same `sub`.
    let machine = issuer.machine_token("svc");
    let user = issuer.user_token("svc");
    // Same issuer, same subject, different kinds (checked without the limiter).
    let plain = common::router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let (as_machine, as_user) = (
        get_with(&plain, "/me", &machine).await.json(),
        get_with(&plain, "/me", &user).await.json(),
    );
    assert_eq!(
        (&as_machine["kind"], &as_user["kind"]),
        (&"machine".into(), &"user".into())
    );
    assert_eq!(as_machine["subject"], as_user["subject"]);
    assert_eq!(get_with(&app, "/me", &machine).await.status, StatusCode::OK);
    // The user is not the client with the same name: its quota is its own.
    assert_eq!(get_with(&app, "/me", &user).await.status, StatusCode::OK);
    assert_eq!(
        get_with(&app, "/me", &user).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get_with(&app, "/me", &machine).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
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
    let mut allowed = 0;
    for i in 0..500 {
        let token = issuer.user_token(&format!("user-{i}"));
        let status = get_with(&app, "/me", &token).await.status;
        assert!(
            matches!(status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "user-{i}: {status}"
        );
        if status == StatusCode::OK {
            allowed += 1;
        }
    }
    // 50 identities with their own quota; the other 450 (nobody's quota refills during the
    // test, so no tracked identity can be forgotten) are spread over 1024 shared quotas of
    // 10: a refusal would need 10 of them in one bucket (odds about 1 in 10^9).
    assert_eq!(allowed, 500);
    assert_eq!(limits.max_principals(), 50);
    let tracked = limits.tracked_principals();
    assert!(tracked <= 50 && tracked > 0, "{tracked} limiters kept");
}

#[tokio::test]
async fn requests_without_a_principal_are_not_limited_here() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new()))).allow_anonymous();
    let app = Router::new()
        .route("/public", get(|| async { "hi" }))
        .layer(RateLimitLayer::new(per_hour(1), per_hour(1)))
        .layer(auth);
    for _ in 0..3 {
        assert_eq!(send(&app, "/public", &[]).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn an_identity_the_table_cannot_hold_is_still_limited() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).without_token_cache(),
    ));
    // Room for two identities, one request an hour each.
    let limits = RateLimitLayer::with_max_principals(per_hour(1), per_hour(1), 2);
    let app = app(limits.clone(), auth);
    let (a, b) = (issuer.user_token("a"), issuer.user_token("b"));
    for token in [&a, &b] {
        assert_eq!(get_with(&app, "/me", token).await.status, StatusCode::OK);
        for _ in 0..20 {
            assert_eq!(
                get_with(&app, "/me", token).await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
        }
    }
    // The table is full of identities still using their quota. A newcomer, however often
    // it comes back and however many others come with it, gets at most one request.
    let late = issuer.user_token("late");
    let mut allowed = 0;
    for round in 0..100 {
        if get_with(&app, "/me", &late).await.status == StatusCode::OK {
            allowed += 1;
        }
        let other = issuer.user_token(&format!("other-{round}"));
        let _ = get_with(&app, "/me", &other).await;
    }
    assert!(allowed <= 1, "an untracked identity got {allowed} requests");
    // And the tracked identities were not pushed out to make room.
    for token in [&a, &b] {
        assert_eq!(
            get_with(&app, "/me", token).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert!(limits.tracked_principals() <= 2);
}

#[tokio::test]
async fn a_refusal_is_shown_by_the_configured_renderer() {
    let issuer = issuer().await;
    let config = config(&issuer, &ManualClock::new()).render_rejections_with(|rejection| {
        (rejection.status(), format!("custom {}", rejection.reason())).into_response()
    });
    let app = app(
        RateLimitLayer::new(per_hour(1), per_hour(1)),
        AuthLayer::new(build(config)),
    );
    let token = issuer.user_token("alice");
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    let response = oneshot(&app, &token).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The renderer chose the body; the contract's Retry-After is still there.
    assert!((3500..=3600).contains(&retry_after(&response)));
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("a body")
        .to_bytes();
    assert_eq!(&body[..], b"custom rate_limited");
}

#[tokio::test]
async fn a_limiter_outside_the_auth_layer_is_a_server_error() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new())));
    // Wrong order: the limiter wraps the AuthLayer, so it never sees a principal.
    let outside = Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.subject().to_owned() }),
        )
        .layer(auth)
        .layer(RateLimitLayer::new(per_hour(1), per_hour(1)));
    let token = issuer.user_token("alice");
    for _ in 0..3 {
        let reply = get_with(&outside, "/me", &token).await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            reply.body
        );
        assert_eq!(reply.json()["error"], "server_error");
        let description = reply.json()["error_description"].to_string();
        assert!(description.contains("AuthLayer"), "{description}");
    }
    // No AuthLayer at all: the same, even on a route that reads no principal.
    let bare = Router::new()
        .route("/public", get(|| async { "hi" }))
        .layer(RateLimitLayer::new(per_hour(1), per_hour(1)));
    assert_eq!(
        send(&bare, "/public", &[]).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn a_user_flood_leaves_machines_their_own_quotas() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).without_token_cache(),
    ));
    let limits = RateLimitLayer::with_max_principals(per_hour(1), per_hour(2), 3);
    let app = app(limits.clone(), auth);
    // Self-signup users keep the table full.
    for i in 0..50 {
        let _ = get_with(&app, "/me", &issuer.user_token(&format!("flood-{i}"))).await;
    }
    // Machines arriving afterwards each still get their own quota of 2.
    for svc in ["svc-a", "svc-b", "svc-c"] {
        let token = issuer.machine_token(svc);
        for _ in 0..2 {
            assert_eq!(
                get_with(&app, "/me", &token).await.status,
                StatusCode::OK,
                "{svc}"
            );
        }
        assert_eq!(
            get_with(&app, "/me", &token).await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{svc}"
        );
    }
    assert_eq!(limits.tracked_principals(), 3 + 3);
}

#[tokio::test]
async fn a_grpc_call_over_quota_is_resource_exhausted_with_retry_after() {
    let issuer = issuer().await;
    let auth = AuthLayer::new(build(config(&issuer, &ManualClock::new())));
    let app = Router::new()
        .route(
            "/principal.v1.Principal/WhoAmI",
            axum::routing::post(|_: Principal| async {}),
        )
        .layer(RateLimitLayer::new(per_hour(1), per_hour(1)))
        .layer(auth);
    let token = issuer.user_token("alice");
    let grpc_call = || {
        axum::http::Request::post("/principal.v1.Principal/WhoAmI")
            .header("content-type", "application/grpc")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("a valid request")
    };
    let send = |request| async {
        let Ok(response) = tower::ServiceExt::oneshot(app.clone(), request).await;
        response
    };
    let first = send(grpc_call()).await;
    assert_eq!(first.headers().get("grpc-status"), None, "within the quota");
    let limited = send(grpc_call()).await;
    assert_eq!(
        limited.status(),
        StatusCode::OK,
        "gRPC refusals are HTTP 200"
    );
    assert_eq!(
        limited.headers().get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"8"[..])
    );
    assert_eq!(
        limited.headers().get("grpc-message").map(|v| v.as_bytes()),
        Some(&b"rate_limited"[..])
    );
    assert!((3500..=3600).contains(&retry_after(&limited)));
}
