//! CONTRACT.md, "Opaque tokens": `AUTHZ_INTROSPECTION_CLIENT` and
//! `AUTHZ_INTROSPECTION_CACHE_SECS` against the test kit's issuer (its introspection
//! endpoint found through its discovery document, calls counted there).

use axum::http::StatusCode;
use axum_principal_testkit::{IntrospectionFault, OTHER_AUDIENCE};

use crate::support::*;

const CLIENT: &str = "orders-api:orders-api-secret";

/// The example configured with `AUTHZ_INTROSPECTION_CLIENT` (and `extra`), the issuer
/// knowing this service as an introspection client.
async fn introspecting(extra: &[(&str, &str)]) -> Harness {
    let mut vars = vec![("AUTHZ_INTROSPECTION_CLIENT", CLIENT)];
    vars.extend_from_slice(extra);
    let h = harness_with(&vars).await;
    h.issuer
        .add_introspection_client("orders-api", "orders-api-secret");
    h
}

#[tokio::test]
async fn opaque_tokens_are_admitted_classified_and_guarded_like_jwts() {
    let h = introspecting(&[]).await;
    let user = h.issuer.opaque_user_token("alice");
    let reply = get_with(&h.router, "/me", &user).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(
        (me["kind"].as_str(), me["subject"].as_str()),
        (Some("user"), Some("alice"))
    );
    get_with(&h.router, "/admin", &user).await.assert_error(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        Some(&user),
    );
    // A client-credentials answer (`client_id`, no `sub`): rfc9068 makes it a machine.
    let machine = h.issuer.opaque_machine_token("reporting-service");
    for path in ["/machine", "/admin", "/reports"] {
        let reply = get_with(&h.router, path, &machine).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let admin = h
        .issuer
        .token()
        .claim("sub", "admin-alice")
        .claim("roles", ["admin"])
        .opaque();
    assert_eq!(
        get_with(&h.router, "/admin", &admin).await.status,
        StatusCode::OK
    );
    // JWTs are still verified locally.
    assert_eq!(
        get_with(&h.router, "/me", &user_token(&h.issuer))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(h.issuer.introspection_requests(), 6);
}

#[tokio::test]
async fn unset_an_opaque_token_is_invalid_with_no_network_io() {
    let h = harness().await;
    h.issuer
        .add_introspection_client("orders-api", "orders-api-secret");
    let token = h.issuer.opaque_user_token("alice");
    get_with(&h.router, "/me", &token).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        Some(&token),
    );
    assert_eq!(h.issuer.introspection_requests(), 0);
    assert_eq!(h.issuer.discovery_requests(), 0);
}

#[tokio::test]
async fn what_the_answer_must_say() {
    let h = introspecting(&[]).await;
    for token in [
        h.issuer.token().claim("aud", OTHER_AUDIENCE).opaque(),
        h.issuer.token().without_claim("aud").opaque(),
        h.issuer.token().without_claim("exp").opaque(),
        h.issuer
            .token()
            .claim("iss", "https://evil.example.test")
            .opaque(),
        h.issuer.token().expires_in(-120).opaque(),
    ] {
        get_with(&h.router, "/me", &token).await.assert_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            Some(&token),
        );
    }
    let token = h.issuer.opaque_user_token("alice");
    h.issuer
        .set_introspection_fault(IntrospectionFault::Inactive);
    get_with(&h.router, "/me", &token).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        Some(&token),
    );
}

#[tokio::test]
async fn a_bound_opaque_token_is_refused_as_bearer() {
    let h = introspecting(&[]).await;
    let token = h
        .issuer
        .token()
        .claim(
            "cnf",
            serde_json::json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        )
        .opaque();
    get_with(&h.router, "/me", &token).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        Some(&token),
    );
}

#[tokio::test]
async fn an_issuer_that_cannot_answer_is_503_never_401() {
    for fault in [
        IntrospectionFault::Status(500),
        IntrospectionFault::Garbage,
        IntrospectionFault::RefuseCredentials,
    ] {
        let h = introspecting(&[]).await;
        let token = h.issuer.opaque_user_token("alice");
        h.issuer.set_introspection_fault(fault);
        let reply = get_with(&h.router, "/me", &token).await;
        reply.assert_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            Some(&token),
        );
        assert!(reply.www_authenticate.is_none(), "{fault:?}");
    }
    // Our own credentials wrong: 503 as well.
    let h = harness_with(&[("AUTHZ_INTROSPECTION_CLIENT", "orders-api:stale")]).await;
    h.issuer
        .add_introspection_client("orders-api", "orders-api-secret");
    let token = h.issuer.opaque_user_token("alice");
    get_with(&h.router, "/me", &token).await.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        Some(&token),
    );
}

#[tokio::test]
async fn without_a_cache_every_request_asks_and_a_revoked_token_is_refused_at_once() {
    let h = introspecting(&[("AUTHZ_INTROSPECTION_CACHE_SECS", "0")]).await;
    let token = h.issuer.opaque_user_token("alice");
    for _ in 0..3 {
        assert_eq!(
            get_with(&h.router, "/me", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(h.issuer.introspection_requests(), 3);
    assert!(h.issuer.revoke(&token));
    get_with(&h.router, "/me", &token).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        Some(&token),
    );
}

#[tokio::test]
async fn with_a_cache_the_same_token_costs_one_call() {
    let h = introspecting(&[("AUTHZ_INTROSPECTION_CACHE_SECS", "300")]).await;
    let token = h.issuer.opaque_user_token("alice");
    for _ in 0..5 {
        assert_eq!(
            get_with(&h.router, "/me", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(h.issuer.introspection_requests(), 1);
    let other = h.issuer.opaque_user_token("bob");
    assert_eq!(
        get_with(&h.router, "/me", &other).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.issuer.introspection_requests(),
        2,
        "another token asks again"
    );
}

#[test]
fn settings_mistakes_name_their_variable() {
    let base = [
        ("AUTHZ_ISSUER", "https://id.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ];
    let with = |extra: (&'static str, &'static str)| {
        let mut vars = base.to_vec();
        vars.push(extra);
        settings(&vars)
    };
    let problem = with(("AUTHZ_INTROSPECTION_CLIENT", "no-secret")).expect_err("no colon");
    assert_eq!(problem.variable, "AUTHZ_INTROSPECTION_CLIENT");
    let problem = with(("AUTHZ_INTROSPECTION_CACHE_SECS", "ten")).expect_err("not a number");
    assert_eq!(problem.variable, "AUTHZ_INTROSPECTION_CACHE_SECS");
    let settings = with(("AUTHZ_INTROSPECTION_CLIENT", "api:top-secret")).expect("valid");
    assert!(
        !format!("{settings:?}").contains("top-secret"),
        "Debug shows no secret"
    );
}
