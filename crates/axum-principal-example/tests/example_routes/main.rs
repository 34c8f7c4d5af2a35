//! The example service (`cargo run --example protected_api`) against its documented
//! interface: every route and every status, driven through `axum_principal_example::app` with `oneshot` (no socket
//! for the service; the mock issuer listens on 127.0.0.1).

use axum::http::StatusCode;
use axum_principal_testkit::MockIssuer;
use serde_json::json;

mod classification;
mod delegation;
mod dev_mode;
mod dpop;
mod opaque;
mod openapi;
mod rate_limit;
mod redaction;
mod resource_metadata;
mod settings;
mod step_up;
mod support;

use crate::support::*;

// ---------------------------------------------------------------------------------------
// /healthz
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn healthz_is_200_without_a_token() {
    let h = harness().await;
    let reply = send(&h.router, "/healthz", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.www_authenticate, None);
}

#[tokio::test]
async fn healthz_is_200_with_a_garbage_authorization_header_since_no_token_is_read() {
    let h = harness().await;
    for garbage in [
        "Bearer",
        "Bearer a b",
        "Bearer not-a-jwt",
        "Basic Zm9vOmJhcg==",
    ] {
        let reply = send(&h.router, "/healthz", &[garbage]).await;
        assert_eq!(reply.status, StatusCode::OK, "{garbage:?}");
    }
    let reply = send(&h.router, "/healthz", &["Bearer x", "Bearer y"]).await;
    assert_eq!(reply.status, StatusCode::OK, "two headers");
    // Not even a key fetch happened on the issuer's side.
    assert_eq!(h.issuer.jwks_requests(), 0);
}

// ---------------------------------------------------------------------------------------
// /me
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn me_with_a_user_token_returns_the_principal_as_json() {
    let h = harness().await;
    let token = h
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("azp", "web-app")
        .claim("roles", ["editor", "viewer"])
        .claim("scope", "openid profile")
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        reply.content_type
    );
    assert_eq!(
        reply.json(),
        json!({
            "kind": "user",
            "issuer": h.issuer.issuer(),
            "subject": "alice",
            "client_id": "web-app",
            "roles": ["editor", "viewer"],
            "scopes": ["openid", "profile"],
            "classified_by": "default:user",
            "profile": null,
            "actor": null,
        })
    );
}

#[tokio::test]
async fn me_with_a_machine_token_is_a_machine_by_the_hydra_rule() {
    let h = harness().await;
    let reply = get_with(&h.router, "/me", &machine_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "kind": "machine",
            "issuer": h.issuer.issuer(),
            "subject": "reporting-service",
            "client_id": "reporting-service",
            "roles": [],
            "scopes": ["read:reports"],
            "classified_by": "rfc9068:sub-equals-client_id",
            "profile": null,
            "actor": null,
        })
    );
}

#[tokio::test]
async fn me_reads_scopes_from_scp_and_roles_from_the_configured_claim() {
    let h = harness_with(&[("AUTHZ_ROLES_CLAIM", "realm_access.roles")]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "bob")
        .claim("scp", ["a", "b"])
        .claim("realm_access", json!({"roles": ["admin"]}))
        .sign();
    let body = get_with(&h.router, "/me", &token).await.json();
    assert_eq!(body["scopes"], json!(["a", "b"]));
    assert_eq!(body["roles"], json!(["admin"]));
    let admin = get_with(&h.router, "/admin", &token).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
}

// ---------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_refuses_a_user_without_the_role_with_403_insufficient_scope() {
    let h = harness().await;
    let token = user_token(&h.issuer);
    let reply = get_with(&h.router, "/admin", &token).await;
    reply.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(
        reply.challenge().contains("error=\"insufficient_scope\""),
        "{}",
        reply.challenge()
    );
}

#[tokio::test]
async fn admin_admits_a_user_with_role_admin() {
    let h = harness().await;
    let reply = get_with(&h.router, "/admin", &admin_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["route"], "admin");
    assert_eq!(body["subject"], "admin-alice");
}

#[tokio::test]
async fn admin_admits_a_machine() {
    let h = harness().await;
    let reply = get_with(&h.router, "/admin", &machine_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["subject"], "reporting-service");
}

#[tokio::test]
async fn machine_route_refuses_a_user_and_admits_a_machine() {
    let h = harness().await;
    let token = admin_token(&h.issuer);
    let refused = get_with(&h.router, "/machine", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(refused.challenge().contains("error=\"insufficient_scope\""));

    let admitted = get_with(&h.router, "/machine", &machine_token(&h.issuer)).await;
    assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
    assert_eq!(admitted.json()["route"], "machine");
}

#[tokio::test]
async fn user_route_refuses_a_machine_and_admits_a_user() {
    let h = harness().await;
    let token = machine_token(&h.issuer);
    let refused = get_with(&h.router, "/user", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(refused.challenge().contains("error=\"insufficient_scope\""));

    let admitted = get_with(&h.router, "/user", &user_token(&h.issuer)).await;
    assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
    let body = admitted.json();
    assert_eq!(body["route"], "user");
    assert_eq!(body["subject"], "alice");
}

#[tokio::test]
async fn reports_refuses_without_read_reports_naming_the_scope_and_admits_with_it() {
    let h = harness().await;
    // An admin user, but without the scope.
    let token = admin_token(&h.issuer);
    let refused = get_with(&h.router, "/reports", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    let challenge = refused.challenge();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read:reports\""), "{challenge}");

    // A user holding the scope is admitted too: the guard is about the scope, not the kind.
    let scoped_user = h
        .issuer
        .token()
        .claim("sub", "carol")
        .claim("scope", "openid read:reports")
        .sign();
    for token in [machine_token(&h.issuer), scoped_user] {
        let admitted = get_with(&h.router, "/reports", &token).await;
        assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
        assert_eq!(admitted.json()["route"], "reports");
    }
}

#[tokio::test]
async fn each_guard_applies_to_its_own_route_only() {
    let h = harness().await;
    // A plain user passes /me and /user although /admin, /machine and /reports refuse it.
    let token = user_token(&h.issuer);
    for (path, status) in [
        ("/me", StatusCode::OK),
        ("/user", StatusCode::OK),
        ("/admin", StatusCode::FORBIDDEN),
        ("/machine", StatusCode::FORBIDDEN),
        ("/reports", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            get_with(&h.router, path, &token).await.status,
            status,
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Missing and malformed credentials
// ---------------------------------------------------------------------------------------

const PROTECTED: [&str; 5] = ["/me", "/admin", "/machine", "/user", "/reports"];

#[tokio::test]
async fn no_token_is_401_with_a_realm_challenge_and_no_error_on_every_protected_route() {
    let h = harness().await;
    for path in PROTECTED {
        let reply = send(&h.router, path, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        let challenge = reply.challenge();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains("realm="), "{challenge}");
        assert!(!challenge.contains("error="), "{challenge}");
        let body = reply.json();
        assert!(body["error"].is_string() && body["error_description"].is_string());
    }
}

#[tokio::test]
async fn basic_authorization_is_401_like_no_token() {
    let h = harness().await;
    let reply = send(&h.router, "/me", &["Basic YWxpY2U6c2VjcmV0"]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.challenge();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("realm="));
    assert!(!challenge.contains("error="), "{challenge}");
    assert!(!reply.body.contains("YWxpY2U6c2VjcmV0"));
}

#[tokio::test]
async fn bearer_with_an_empty_token_is_400_invalid_request() {
    let h = harness().await;
    for value in ["Bearer", "Bearer ", "Bearer    "] {
        let reply = send(&h.router, "/me", &[value]).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", None);
        assert!(
            reply.challenge().contains("error=\"invalid_request\""),
            "{value:?}: {}",
            reply.challenge()
        );
    }
}

#[tokio::test]
async fn two_tokens_are_400_invalid_request() {
    let h = harness().await;
    let a = user_token(&h.issuer);
    let b = machine_token(&h.issuer);
    // Two tokens in one header…
    let reply = send(&h.router, "/me", &[&format!("Bearer {a} {b}")]).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some(&a));
    assert!(reply.challenge().contains("error=\"invalid_request\""));
    assert!(!reply.body.contains(&b));
    // …and two Authorization headers.
    let reply = send(
        &h.router,
        "/admin",
        &[&format!("Bearer {a}"), &format!("Bearer {b}")],
    )
    .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some(&b));
    assert!(reply.challenge().contains("error=\"invalid_request\""));
}

#[tokio::test]
async fn bad_characters_in_the_token_are_400_invalid_request() {
    let h = harness().await;
    let reply = send(&h.router, "/me", &["Bearer abc,def"]).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some("abc,def"));
}

// ---------------------------------------------------------------------------------------
// Invalid tokens
// ---------------------------------------------------------------------------------------

async fn assert_invalid_token(h: &Harness, token: &str) {
    for path in ["/me", "/admin"] {
        let reply = get_with(&h.router, path, token).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_token", Some(token));
        assert!(
            reply.challenge().contains("error=\"invalid_token\""),
            "{}",
            reply.challenge()
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_401_invalid_token() {
    let h = harness().await;
    // Well past the default 60 s leeway.
    let token = h
        .issuer
        .token()
        .claim("sub", "alice")
        .issued_at_in(-7200)
        .expires_in(-3600)
        .sign();
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_401_invalid_token() {
    let h = harness().await;
    let token = h
        .issuer
        .token()
        .claim("aud", "https://some-other-api.example")
        .sign();
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_401_invalid_token() {
    let h = harness().await;
    // Signed with the trusted issuer's key but claiming another `iss`…
    let forged_iss = h
        .issuer
        .token()
        .claim("iss", "https://evil.example.com")
        .sign();
    assert_invalid_token(&h, &forged_iss).await;
    // …and a genuine token from an issuer that is not configured.
    let other = MockIssuer::start()
        .await
        .expect("a second mock issuer starts");
    let foreign = other.user_token("mallory");
    assert_invalid_token(&h, &foreign).await;
    assert_eq!(other.jwks_requests(), 0, "an unknown issuer caused a fetch");
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_401_invalid_token() {
    let h = harness().await;
    let token = admin_token(&h.issuer);
    let (signing_input, signature) = token
        .rsplit_once('.')
        .expect("a JWS: header.payload.signature");
    // Flip one character in the middle of the signature (the last one may carry padding
    // bits that do not change the decoded bytes).
    let mut chars: Vec<char> = signature.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signing_input}.{}", chars.into_iter().collect::<String>());
    assert_ne!(tampered, token);
    assert_invalid_token(&h, &tampered).await;
    // The untampered token is fine, so the 401 was the signature's doing.
    assert_eq!(
        get_with(&h.router, "/admin", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unsigned_token_is_401_invalid_token() {
    let h = harness().await;
    let token = h.issuer.token().claim("sub", "alice").unsigned();
    // `alg: none` ends with '.', which the b64token grammar allows.
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn error_bodies_are_json_and_never_contain_the_token() {
    let h = harness().await;
    let user = user_token(&h.issuer);
    let expired = h.issuer.token().expires_in(-3600).sign();
    let cases: Vec<(String, &str, StatusCode)> = vec![
        (user.clone(), "/admin", StatusCode::FORBIDDEN),
        (user.clone(), "/reports", StatusCode::FORBIDDEN),
        (machine_token(&h.issuer), "/user", StatusCode::FORBIDDEN),
        (expired, "/me", StatusCode::UNAUTHORIZED),
        (format!("{user}x"), "/me", StatusCode::UNAUTHORIZED),
        ("not-a-jwt".to_owned(), "/me", StatusCode::UNAUTHORIZED),
    ];
    for (token, path, status) in cases {
        let reply = get_with(&h.router, path, &token).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(
            reply
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "{path}: {:?}",
            reply.content_type
        );
        let body = reply.json();
        assert!(body["error"].is_string(), "{}", reply.body);
        assert!(body["error_description"].is_string(), "{}", reply.body);
        assert!(
            !reply.body.contains(&token),
            "{path}: body echoes the token"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Availability and unknown routes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn issuer_down_with_no_cached_keys_is_503_without_a_challenge() {
    let h = harness().await;
    h.issuer.set_fault(axum_principal_testkit::Fault::Down);
    let token = machine_token(&h.issuer);
    let reply = get_with(&h.router, "/admin", &token).await;
    reply.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        Some(&token),
    );
    assert_eq!(reply.www_authenticate, None);
    assert!(reply.body.contains("unavailable"), "{}", reply.body);
    // /healthz does not depend on the issuer.
    assert_eq!(
        send(&h.router, "/healthz", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_route_is_404_without_reading_a_token() {
    let h = harness().await;
    for auth in [&[][..], &["Bearer garbage"][..]] {
        let reply = send(&h.router, "/nope", auth).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{auth:?}");
        assert_eq!(reply.www_authenticate, None);
    }
}
