//! "Enrich" mode (Keycloak's lightweight access tokens): a JWT verified locally, then
//! introspected for the claims it lacks. Calls are counted at the test kit's endpoint.

use std::time::Duration;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthConfig, AuthLayer, Introspection, Issuer, Preset};
use axum_principal_testkit::{IntrospectionFault, MockIssuer};
use serde_json::json;

use crate::common::{build, get_with, router, with_reason_header};
use crate::introspection::{app, basic, opaque_issuer, reason};

fn enrich() -> Introspection {
    basic().enrich()
}

/// A JWT without roles whose introspection answer has them.
fn lightweight(issuer: &MockIssuer) -> String {
    issuer
        .token()
        .claim("sub", "alice")
        .sign_introspectable(json!({"roles": ["admin"], "client_id": "web-app"}))
}

#[tokio::test]
async fn the_answer_gives_a_lightweight_jwt_its_roles() {
    let issuer = opaque_issuer().await;
    let token = lightweight(&issuer);
    // Verified locally only, the JWT has no role: the admin route refuses it.
    let plain = app(&issuer, &ManualClock::new(), basic());
    assert_eq!(
        get_with(&plain, "/admin", &token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(issuer.introspection_requests(), 0);
    let enriched = app(&issuer, &ManualClock::new(), enrich());
    let reply = get_with(&enriched, "/admin", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(me["client_id"], "web-app");
    assert_eq!(me["subject"], "alice", "the JWT's own claims");
    assert_eq!(issuer.introspection_requests(), 1);
}

/// Without an answer cache every request asks (the verified-token cache, on by default,
/// never holds an enriched token): a revocation is seen on the next request.
#[tokio::test]
async fn an_inactive_answer_is_401_on_the_next_request() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), enrich());
    let token = lightweight(&issuer);
    assert_eq!(
        get_with(&app, "/admin", &token).await.status,
        StatusCode::OK
    );
    assert!(issuer.revoke(&token));
    let reply = get_with(&app, "/admin", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "inactive");
    assert_eq!(issuer.introspection_requests(), 2);
}

#[tokio::test]
async fn an_answer_about_another_api_is_refused() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), enrich());
    issuer.set_introspection_fault(IntrospectionFault::WrongAudience);
    let reply = get_with(&app, "/me", &lightweight(&issuer)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "wrong_audience");
}

#[tokio::test]
async fn a_jwt_that_fails_locally_is_never_introspected() {
    let issuer = opaque_issuer().await;
    let app = app(&issuer, &ManualClock::new(), enrich());
    let expired = issuer
        .token()
        .claim("sub", "alice")
        .expires_in(-600)
        .sign_introspectable(json!({"roles": ["admin"]}));
    let valid = lightweight(&issuer);
    let (head, _) = valid.rsplit_once('.').expect("a JWS");
    let bad_signature = format!("{head}.{}", "A".repeat(342));
    let unknown_kid = issuer
        .token()
        .kid("no-such-key")
        .sign_introspectable(json!({"roles": ["admin"]}));
    let other_api = issuer
        .token()
        .claim("aud", "https://other.example.test")
        .sign_introspectable(json!({"roles": ["admin"]}));
    for (token, expected) in [
        (expired, "expired"),
        (bad_signature, "bad_signature"),
        (unknown_kid, "unknown_key"),
        (other_api, "wrong_audience"),
    ] {
        let reply = get_with(&app, "/admin", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{expected}");
        assert_eq!(reason(&reply), expected);
    }
    assert_eq!(
        issuer.introspection_requests(),
        0,
        "no call for any of them"
    );
}

/// With the answer cache on, the answer is reused (each request still verifies the JWT
/// locally first); an opaque token is not routed to an enriching issuer.
#[tokio::test]
async fn the_answer_cache_serves_enriched_tokens_and_opaque_ones_go_nowhere() {
    let issuer = opaque_issuer().await;
    let app = app(
        &issuer,
        &ManualClock::new(),
        enrich().cache(Duration::from_secs(60)),
    );
    let token = lightweight(&issuer);
    for _ in 0..3 {
        assert_eq!(
            get_with(&app, "/admin", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(issuer.introspection_requests(), 1);
    let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "malformed");
    assert_eq!(issuer.introspection_requests(), 1);
}

/// Keycloak writes a `client_id` claim into a service account's token only, and its
/// introspection puts `client_id` (the client the token was issued to) into every answer.
/// A user who chose the username `service-account-web` (self-registration, a brokered
/// login) and signed in through the client `web` must stay a user once enriched, as the
/// same token verified as a full JWT would: the answer's `client_id` is not the JWT's.
#[tokio::test]
async fn the_answers_client_id_makes_no_keycloak_user_a_service_account() {
    let issuer = opaque_issuer().await;
    let config = with_reason_header(
        AuthConfig::builder()
            .issuer(
                Issuer::new(issuer.issuer())
                    .provider(Preset::Keycloak)
                    .introspection(enrich()),
            )
            .clock(ManualClock::new()),
    )
    .audience(issuer.audience());
    let app = router(AuthLayer::new(build(config)));
    let user = issuer
        .token()
        .claim("sub", "4c3e0c1d-user")
        .claim("azp", "web")
        .sign_introspectable(json!({
            "preferred_username": "service-account-web",
            "username": "service-account-web",
            "client_id": "web",
        }));
    let reply = get_with(&app, "/me", &user).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "user", "{}", reply.body);
    assert_eq!(
        reply.json()["client_id"],
        "web",
        "the JWT's azp names its client"
    );
    // Machine-only (or `admin`) routes stay closed to it.
    let reply = get_with(&app, "/admin", &user).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    // A service account's own token carries `client_id`, and is still classified by it.
    let service = issuer
        .token()
        .claim("sub", "9f1a-service")
        .claim("azp", "reports")
        .claim("client_id", "reports")
        .sign_introspectable(json!({"preferred_username": "service-account-reports"}));
    let reply = get_with(&app, "/me", &service).await;
    assert_eq!(reply.json()["kind"], "machine", "{}", reply.body);
}
