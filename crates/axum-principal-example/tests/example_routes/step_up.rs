//! `GET /mfa` (CONTRACT "Routes"): step-up authentication (RFC 9470). A token whose `acr`
//! is `urn:example:mfa` and whose `auth_time` is at most 300 s old (plus
//! `AUTHZ_LEEWAY_SECS`) passes; any other valid token gets 401
//! `insufficient_user_authentication` with `acr_values` and `max_age` (and
//! `resource_metadata` with `AUTHZ_RESOURCE`).

use axum::http::StatusCode;
use axum_principal_testkit::MockIssuer;

use crate::support::*;

const MFA: &str = "urn:example:mfa";

/// A token of `alice` with this `acr` and an `auth_time` `ago` seconds ago, when given.
fn token(issuer: &MockIssuer, acr: Option<&str>, ago: Option<i64>) -> String {
    let mut token = issuer.token().claim("sub", "alice").amr(["pwd", "otp"]);
    if let Some(acr) = acr {
        token = token.acr(acr);
    }
    if let Some(ago) = ago {
        token = token.auth_time_in(-ago);
    }
    token.sign()
}

/// The challenge's parameters, scheme first, quotes removed, without the description.
fn params(challenge: &str) -> Vec<String> {
    let (scheme, rest) = challenge.split_once(' ').expect("a scheme and parameters");
    let mut all = vec![scheme.to_owned()];
    all.extend(
        rest.split(", ")
            .filter(|p| !p.starts_with("error_description="))
            .map(|p| p.replace('"', "")),
    );
    all
}

#[tokio::test]
async fn mfa_admits_a_recent_mfa_sign_in() {
    let h = harness().await;
    for ago in [0, 150, 300] {
        let reply = get_with(&h.router, "/mfa", &token(&h.issuer, Some(MFA), Some(ago))).await;
        assert_eq!(reply.status, StatusCode::OK, "{ago} s: {}", reply.body);
        assert_eq!(reply.json()["route"], "mfa");
    }
}

#[tokio::test]
async fn any_other_valid_token_is_asked_to_step_up() {
    let h = harness_with(&[("AUTHZ_RESOURCE", "https://api.example.test")]).await;
    let refused = [
        token(&h.issuer, Some(MFA), Some(300 + 60 + 30)),
        token(&h.issuer, Some(MFA), None),
        token(&h.issuer, None, Some(0)),
        token(&h.issuer, Some("urn:example:pwd"), Some(0)),
        h.issuer
            .token()
            .claim("acr", MFA)
            .claim("auth_time", "recently")
            .sign(),
        user_token(&h.issuer),
        admin_token(&h.issuer),
        machine_token(&h.issuer),
    ];
    for token in refused {
        let reply = get_with(&h.router, "/mfa", &token).await;
        reply.assert_error(
            StatusCode::UNAUTHORIZED,
            "insufficient_user_authentication",
            Some(&token),
        );
        assert_eq!(
            params(reply.challenge()),
            [
                "Bearer",
                "realm=api",
                "error=insufficient_user_authentication",
                "acr_values=urn:example:mfa",
                "max_age=300",
                "resource_metadata=https://api.example.test/.well-known/oauth-protected-resource",
            ],
            "{}",
            reply.challenge()
        );
    }
    // Without a token it is the usual 401, with no error.
    let none = send(&h.router, "/mfa", &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(!none.challenge().contains("error="), "{}", none.challenge());
}

#[tokio::test]
async fn authz_leeway_secs_applies_to_auth_time() {
    // 330 s ago: within 300 s plus the default 60 s leeway, beyond 300 s plus none.
    let default = harness().await;
    let ago_330 = token(&default.issuer, Some(MFA), Some(330));
    assert_eq!(
        get_with(&default.router, "/mfa", &ago_330).await.status,
        StatusCode::OK
    );
    let strict = harness_with(&[("AUTHZ_LEEWAY_SECS", "0")]).await;
    let ago_330 = token(&strict.issuer, Some(MFA), Some(330));
    let reply = get_with(&strict.router, "/mfa", &ago_330).await;
    reply.assert_error(
        StatusCode::UNAUTHORIZED,
        "insufficient_user_authentication",
        Some(&ago_330),
    );
    assert!(
        reply.challenge().contains("max_age=300"),
        "{}",
        reply.challenge()
    );
}

#[tokio::test]
async fn an_introspected_opaque_token_is_judged_the_same_way() {
    let h = harness_with(&[("AUTHZ_INTROSPECTION_CLIENT", "orders-api:orders-api-secret")]).await;
    h.issuer
        .add_introspection_client("orders-api", "orders-api-secret");
    let opaque = |ago: i64| {
        h.issuer
            .token()
            .claim("sub", "alice")
            .acr(MFA)
            .auth_time_in(-ago)
            .opaque()
    };
    // 330 s: within 300 s plus the default 60 s leeway, which only the configuration's
    // policy knows (a principal judged without it has no leeway).
    let fresh = opaque(330);
    assert_eq!(
        get_with(&h.router, "/mfa", &fresh).await.status,
        StatusCode::OK
    );
    let old = opaque(1000);
    let reply = get_with(&h.router, "/mfa", &old).await;
    reply.assert_error(
        StatusCode::UNAUTHORIZED,
        "insufficient_user_authentication",
        Some(&old),
    );
    assert!(
        reply.challenge().contains("max_age=300"),
        "{}",
        reply.challenge()
    );
}
