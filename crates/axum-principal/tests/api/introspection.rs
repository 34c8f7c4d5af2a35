//! Opaque tokens through RFC 7662 introspection, against the test kit's issuer: one test
//! per pitfall others fell into (each fails without its guard), and the answer treated as
//! a JWT's claims. Calls are counted at the issuer.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::dpop::DpopConfig;
use axum_principal::{
    AuthConfig, AuthConfigBuilder, AuthLayer, Authenticator, Introspection, Issuer,
};
use axum_principal_testkit::{DpopKey, Fault, IntrospectionFault, KeyAlg, MockIssuer};
use common::{build, get_with, issuer, router, with_reason_header, Reply};

pub(crate) const CLIENT: &str = "orders-api";
pub(crate) const SECRET: &str = "orders-api-secret";

/// A configuration trusting `issuer`, introspecting its opaque tokens as `introspection`
/// says, on `clock`, refusals carrying their reason code. No audience yet.
pub(crate) fn config(
    issuer: &MockIssuer,
    clock: &ManualClock,
    introspection: Introspection,
) -> AuthConfigBuilder {
    with_reason_header(
        AuthConfig::builder()
            .issuer(Issuer::new(issuer.issuer()).introspection(introspection))
            .clock(clock.clone())
            .connect_timeout(Duration::from_secs(5))
            .fetch_timeout(Duration::from_secs(10)),
    )
}

/// The issuer with this service registered as an introspection client.
pub(crate) async fn opaque_issuer() -> MockIssuer {
    let issuer = issuer().await;
    issuer.add_introspection_client(CLIENT, SECRET);
    issuer
}

pub(crate) fn app(
    issuer: &MockIssuer,
    clock: &ManualClock,
    introspection: Introspection,
) -> Router {
    let config = config(issuer, clock, introspection).audience(issuer.audience());
    router(AuthLayer::new(build(config)))
}

pub(crate) fn basic() -> Introspection {
    Introspection::new(CLIENT, SECRET)
}

pub(crate) fn reason(reply: &Reply) -> &str {
    reply
        .reason
        .as_deref()
        .expect("a refusal carries its reason")
}

#[tokio::test]
async fn an_opaque_token_is_admitted_and_classified_like_a_jwt() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic());
    let user = issuer
        .token()
        .claim("sub", "alice")
        .claim("roles", ["admin"])
        .claim("scope", "read write")
        .opaque();
    let reply = get_with(&app, "/admin", &user).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(me["kind"], "user");
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["issuer"], issuer.issuer());
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    assert_eq!(me["scopes"], serde_json::json!(["read", "write"]));
    // A client-credentials answer: `client_id` and no `sub` (RFC 9068's rule: a machine).
    let machine = issuer.opaque_machine_token("billing-batch");
    let reply = get_with(&app, "/admin", &machine).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "machine");
    assert_eq!(reply.json()["subject"], "billing-batch");
    assert_eq!(issuer.introspection_requests(), 2);
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_form() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic().client_secret_post());
    let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// Pitfall: an answer cached under one configuration authenticating under another (Duende
/// GHSA-84rm-mhfq-f476, Quarkus #56319). Two authenticators on the same issuer, the token
/// meant for the first one's API: the second asks for itself and refuses it.
#[tokio::test]
async fn an_answer_accepted_under_one_configuration_never_passes_another() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let cached = || basic().cache(Duration::from_secs(300));
    let orders = app(&issuer, &clock, cached());
    let billing = router(AuthLayer::new(build(
        config(&issuer, &clock, cached()).audience("https://billing.example.test"),
    )));
    let token = issuer.opaque_user_token("alice");
    assert_eq!(
        get_with(&orders, "/me", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&orders, "/me", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        issuer.introspection_requests(),
        1,
        "the second came from the cache"
    );
    let reply = get_with(&billing, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "wrong_audience");
    assert_eq!(
        issuer.introspection_requests(),
        2,
        "billing asked for itself"
    );
}

/// Pitfall: an answer reused past the token's `exp` (RFC 7662 §4).
#[tokio::test]
async fn an_answer_is_never_reused_past_exp() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let app = app(&issuer, &clock, basic().cache(Duration::from_secs(3600)));
    let token = issuer.token().claim("sub", "alice").expires_in(30).opaque();
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(29));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert_eq!(issuer.introspection_requests(), 1, "cached before exp");
    clock.advance(Duration::from_secs(2));
    let _ = get_with(&app, "/me", &token).await;
    assert_eq!(
        issuer.introspection_requests(),
        2,
        "past exp the issuer is asked again, whatever the cache lifetime"
    );
}

/// Pitfall: an inactive answer cached, so a token the issuer answers for again stays
/// refused (or, worse, the other way round for failures).
#[tokio::test]
async fn inactive_answers_and_failures_are_never_cached() {
    let issuer = opaque_issuer().await;
    let app = app(
        &issuer,
        &ManualClock::new(),
        basic().cache(Duration::from_secs(300)),
    );
    let token = issuer.opaque_user_token("alice");
    issuer.set_introspection_fault(IntrospectionFault::Inactive);
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "inactive");
    issuer.set_introspection_fault(IntrospectionFault::Status(500));
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    issuer.set_introspection_fault(IntrospectionFault::None);
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(issuer.introspection_requests(), 3);
}

/// Pitfall: a revoked token working on. Without a cache the very next request asks the
/// issuer; with one, it works on for at most the configured lifetime.
#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_request_without_a_cache() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic());
    let token = issuer.opaque_user_token("alice");
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert!(issuer.revoke(&token));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "inactive");
    assert_eq!(issuer.introspection_requests(), 2);
}

#[tokio::test]
async fn with_a_cache_a_revoked_token_works_on_for_at_most_its_lifetime() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let app = app(&issuer, &clock, basic().cache(Duration::from_secs(30)));
    let token = issuer.opaque_user_token("alice");
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    assert!(issuer.revoke(&token));
    clock.advance(Duration::from_secs(29));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "inactive");
}

/// Pitfall: the issuer's outage read as "token invalid" (401). Every way of not answering
/// is 503, each with its reason.
#[tokio::test]
async fn an_issuer_that_cannot_answer_gives_503_never_401() {
    let issuer = opaque_issuer().await;
    let token = issuer.opaque_user_token("alice");
    let short = || basic().timeout(Duration::from_millis(300));
    for (fault, expected) in [
        (
            IntrospectionFault::Status(500),
            "introspection_error_status",
        ),
        (
            IntrospectionFault::Status(400),
            "introspection_error_status",
        ),
        (IntrospectionFault::Garbage, "introspection_bad_response"),
        (
            IntrospectionFault::Slow(Duration::from_secs(3)),
            "introspection_timeout",
        ),
    ] {
        issuer.set_introspection_fault(fault);
        // A fresh authenticator each time, so that no breaker is open yet.
        let reply = get_with(&app(&issuer, &ManualClock::new(), short()), "/me", &token).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}");
        assert_eq!(reason(&reply), expected, "{fault:?}");
        assert!(reply.headers.contains_key("retry-after"), "{fault:?}");
        assert!(!reply.body.contains(&token), "the token is never echoed");
    }
    issuer.set_introspection_fault(IntrospectionFault::None);
    issuer.set_fault(Fault::Down);
    let reply = get_with(&app(&issuer, &ManualClock::new(), short()), "/me", &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason(&reply), "introspection_unreachable");
}

/// Pitfall: the service's own wrong credentials turning every request into 401.
#[tokio::test]
async fn refused_credentials_are_our_misconfiguration_503() {
    let issuer = opaque_issuer().await;
    let token = issuer.opaque_user_token("alice");
    let wrong = app(
        &issuer,
        &ManualClock::new(),
        Introspection::new(CLIENT, "stale"),
    );
    let reply = get_with(&wrong, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason(&reply), "introspection_credentials_refused");
    issuer.set_introspection_fault(IntrospectionFault::RefuseCredentials);
    let reply = get_with(&app(&issuer, &ManualClock::new(), basic()), "/me", &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason(&reply), "introspection_credentials_refused");
}

/// An outage costs the issuer no call per request: after the breaker's threshold, requests
/// get 503 at once; after its cool-down one call probes.
#[tokio::test]
async fn the_breaker_spares_a_failing_issuer() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let app = app(&issuer, &clock, basic().breaker(3, Duration::from_secs(5)));
    let token = issuer.opaque_user_token("alice");
    issuer.set_introspection_fault(IntrospectionFault::Status(503));
    let mut reasons = Vec::new();
    for _ in 0..10 {
        let reply = get_with(&app, "/me", &token).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        reasons.push(reason(&reply).to_owned());
    }
    assert_eq!(issuer.introspection_requests(), 3, "{reasons:?}");
    assert_eq!(
        reasons.last().map(String::as_str),
        Some("introspection_breaker_open")
    );
    issuer.set_introspection_fault(IntrospectionFault::None);
    clock.advance(Duration::from_secs(5));
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the probe closes it: {}",
        reply.body
    );
    assert_eq!(issuer.introspection_requests(), 4);
}

/// Pitfall: `aud` not checked, so a token for another API of the same issuer is `active`.
#[tokio::test]
async fn the_audience_of_an_answer_is_checked() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic());
    let other_api = issuer
        .token()
        .claim("aud", "https://other-api.example.test")
        .opaque();
    let reply = get_with(&app, "/me", &other_api).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "wrong_audience");
    let no_aud = issuer.token().without_claim("aud").opaque();
    assert_eq!(
        reason(&get_with(&app, "/me", &no_aud).await),
        "wrong_audience"
    );
    issuer.set_introspection_fault(IntrospectionFault::WrongAudience);
    let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "wrong_audience");
}

#[tokio::test]
async fn exp_is_required_and_iss_must_be_the_issuer() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic());
    let no_exp = issuer.token().without_claim("exp").opaque();
    assert_eq!(reason(&get_with(&app, "/me", &no_exp).await), "missing_exp");
    let other_iss = issuer
        .token()
        .claim("iss", "https://evil.example.test")
        .opaque();
    assert_eq!(
        reason(&get_with(&app, "/me", &other_iss).await),
        "unknown_issuer"
    );
    let no_iss = issuer.token().without_claim("iss").opaque();
    assert_eq!(get_with(&app, "/me", &no_iss).await.status, StatusCode::OK);
}

/// Pitfall: a JWT whose `kid` is unknown (or whose signature fails) falling back to
/// introspection, so a client-chosen `kid` makes network calls.
#[tokio::test]
async fn a_jwt_that_fails_locally_is_never_introspected() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), basic());
    let unknown_kid = issuer.token().kid("no-such-key").sign();
    let reply = get_with(&app, "/me", &unknown_kid).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "unknown_key");
    let mut forged = issuer.user_token("alice");
    forged.push_str("AA");
    assert_eq!(reply.status, get_with(&app, "/me", &forged).await.status);
    let expired = issuer.token().expires_in(-3600).sign();
    assert_eq!(reason(&get_with(&app, "/me", &expired).await), "expired");
    assert_eq!(
        issuer.introspection_requests(),
        0,
        "no JWS reaches introspection"
    );
    // JWTs still verify locally.
    let reply = get_with(&app, "/me", &issuer.user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(issuer.introspection_requests(), 0);
}

/// Without introspection configured, an opaque token is refused as before, with no I/O.
#[tokio::test]
async fn without_introspection_an_opaque_token_is_malformed_and_costs_nothing() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let app = router(AuthLayer::new(build(with_reason_header(common::config(
        &issuer, &clock,
    )))));
    let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "malformed");
    assert_eq!(
        issuer.introspection_requests() + issuer.discovery_requests(),
        0
    );
}

/// Requests presenting one token at once share one call (single flight).
#[tokio::test]
async fn concurrent_requests_for_one_token_share_one_call() {
    let issuer = opaque_issuer().await;
    issuer.set_introspection_fault(IntrospectionFault::Slow(Duration::from_millis(300)));
    let auth = Authenticator::new(build(
        config(&issuer, &ManualClock::new(), basic()).audience(issuer.audience()),
    ));
    let token = issuer.opaque_user_token("alice");
    // Discovery first, so that every request below finds the call in flight.
    assert!(auth.verify(&token).await.is_ok());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let auth = auth.clone();
            let token = token.clone();
            tokio::spawn(async move { auth.verify(&token).await.map(|p| p.subject().to_owned()) })
        })
        .collect();
    for call in calls {
        let subject = call.await.expect("the task ends").expect("admitted");
        assert_eq!(subject, "alice");
    }
    assert_eq!(
        issuer.introspection_requests(),
        2,
        "the warm-up call, then one for 8 concurrent requests"
    );
}

/// `cnf` makes an introspected token a bound one: refused as Bearer, admitted with its
/// DPoP proof.
#[tokio::test]
async fn a_dpop_bound_opaque_token_needs_its_proof() {
    let issuer = opaque_issuer().await;
    let clock = ManualClock::new();
    let key = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let token = issuer
        .token()
        .claim("sub", "alice")
        .dpop_bound(&key)
        .opaque();
    let config = config(&issuer, &clock, basic()).audience(issuer.audience());
    let app = common::dpop::app(config, DpopConfig::new(common::dpop::ORIGIN));
    let reply = common::dpop::Call::bearer("/me", &token).send(&app).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "bound_token_as_bearer");
    let proof = key
        .proof("GET", &common::dpop::url("/me"))
        .access_token(&token)
        .sign();
    let reply = common::dpop::Call::dpop("/me", &token, proof)
        .send(&app)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let other = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let proof = other
        .proof("GET", &common::dpop::url("/me"))
        .access_token(&token)
        .sign();
    let reply = common::dpop::Call::dpop("/me", &token, proof)
        .send(&app)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "a proof by another key"
    );
}
