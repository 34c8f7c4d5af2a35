//! Signed introspection answers (RFC 9701), asked for with `Introspection::jwt_response`:
//! verified with the issuer's keys, `typ`, `iss`, `aud` and a fresh `iat` checked; anything else is
//! no trustworthy answer, 503 `introspection_unverified_response`, never the token's 401.

use std::time::Duration;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal_testkit::IntrospectionFault;

use crate::common::get_with;
use crate::introspection::{app, basic, opaque_issuer, reason};

#[tokio::test]
async fn a_signed_answer_is_verified_and_used() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic().jwt_response());
    let token = issuer.opaque_user_token("alice");
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["subject"], "alice");
    // An inactive answer, signed, is the token's fault: 401.
    assert!(issuer.revoke(&token));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "inactive");
}

#[tokio::test]
async fn an_answer_that_cannot_be_verified_is_503() {
    let issuer = opaque_issuer().await;
    let token = issuer.opaque_user_token("alice");
    for fault in [
        IntrospectionFault::UnsignedJwt,
        IntrospectionFault::JwtForeignKey,
        IntrospectionFault::JwtWrongTyp,
        // Signed for another client of the issuer: not an answer to this service.
        IntrospectionFault::JwtWrongAudience,
        IntrospectionFault::JsonOnly,
    ] {
        issuer.set_introspection_fault(fault);
        // A fresh authenticator each time, so that no breaker is open yet.
        let app = app(&issuer, &ManualClock::new(), basic().jwt_response());
        let reply = get_with(&app, "/me", &token).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}");
        assert_eq!(
            reason(&reply),
            "introspection_unverified_response",
            "{fault:?}"
        );
    }
    // The same faults do not touch a service that asks for JSON.
    let app = app(&issuer, &ManualClock::new(), basic());
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_signed_answer_from_before_the_call_is_503() {
    // The answer's `iat` is the issuer's clock; ours runs ten minutes ahead, which is what a
    // signed answer captured ten minutes ago and sent back for this call looks like (RFC
    // 9701 answers name no token: a replayed one differs by its `iat` alone).
    let issuer = opaque_issuer().await;
    let token = issuer
        .token()
        .claim("sub", "alice")
        .expires_in(3600)
        .opaque();
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(600));
    let app = app(&issuer, &clock, basic().jwt_response());
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reason(&reply), "introspection_unverified_response");
}
