//! Classification settings: `AUTHZ_M2M_CLAIM`, `AUTHZ_PROVIDER`, spoofed machine tokens.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn m2m_claim_true_makes_a_machine_classified_by_the_claim() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    // A subject that no provider rule would call a machine.
    let token = h
        .issuer
        .token()
        .claim("sub", "batch-job")
        .claim(M2M_CLAIM, true)
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["kind"], "machine");
    assert_eq!(body["classified_by"], format!("claim:{M2M_CLAIM}=true"));
    assert_eq!(
        get_with(&h.router, "/machine", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn m2m_claim_false_overrides_the_subject_pattern() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "svc")
        .claim("client_id", "svc")
        .claim(M2M_CLAIM, false)
        .sign();
    let body = get_with(&h.router, "/me", &token).await.json();
    assert_eq!(body["kind"], "user");
    assert_eq!(body["classified_by"], format!("claim:{M2M_CLAIM}=false"));
}

#[tokio::test]
async fn m2m_claim_that_is_not_a_boolean_is_401() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "batch-job")
        .claim(M2M_CLAIM, "yes")
        .sign();
    for path in ["/me", "/machine", "/admin"] {
        let reply = get_with(&h.router, path, &token).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_token", Some(&token));
    }
}

#[tokio::test]
async fn provider_auth0_classifies_a_clients_subject_as_a_machine() {
    let h = harness_with(&[("AUTHZ_PROVIDER", "auth0")]).await;
    assert_eq!(
        h.settings
            .issuers
            .iter()
            .map(|i| i.provider)
            .collect::<Vec<_>>(),
        [axum_principal::Preset::Auth0]
    );
    let token = h
        .issuer
        .token()
        .claim("sub", "Gdy3xyz@clients")
        .claim("azp", "Gdy3xyz")
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["kind"], "machine");
    assert_eq!(body["classified_by"], "auth0:sub-is-client-id@clients");
    assert_eq!(
        get_with(&h.router, "/machine", &token).await.status,
        StatusCode::OK
    );
    // The auth0 preset alone does not know the hydra rule.
    let hydra_style = machine_token(&h.issuer);
    assert_eq!(
        get_with(&h.router, "/me", &hydra_style).await.json()["kind"],
        "user"
    );
}

/// The spoofing tokens of the trust issue stay users end to end: a person who registered
/// `service-account-x` at Keycloak gets 403 on `/admin`, as does an Auth0 enterprise
/// connection's `samlp|evilcorp|x@clients`; the real machine shapes get in.
#[tokio::test]
async fn spoofed_machine_tokens_are_users_and_admin_refuses_them() {
    for (provider, spoof, real) in [
        (
            "keycloak",
            json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-x"}),
            json!({"sub":"3f1e7c5a","azp":"svc","client_id":"svc","preferred_username":"service-account-svc"}),
        ),
        (
            "auth0",
            json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
            json!({"sub":"Gdy3@clients","azp":"Gdy3","gty":"client-credentials"}),
        ),
    ] {
        let h = harness_with(&[("AUTHZ_PROVIDER", provider)]).await;
        let spoof = h.issuer.token().claims(spoof).sign();
        let me = get_with(&h.router, "/me", &spoof).await;
        assert_eq!(me.status, StatusCode::OK, "{provider}: {}", me.body);
        assert_eq!(me.json()["kind"], "user", "{provider}");
        assert_eq!(me.json()["classified_by"], "default:user", "{provider}");
        for path in ["/admin", "/machine"] {
            get_with(&h.router, path, &spoof).await.assert_error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(&spoof),
            );
        }
        let real = h.issuer.token().claims(real).sign();
        assert_eq!(
            get_with(&h.router, "/admin", &real).await.status,
            StatusCode::OK,
            "{provider}"
        );
    }
}

/// ID tokens and bound tokens sent as Bearer never open the API, whatever their roles.
#[tokio::test]
async fn id_tokens_and_bound_bearer_tokens_are_invalid() {
    let h = harness().await;
    for (name, value) in [
        ("token_use", json!("id")),
        ("typ", json!("ID")),
        ("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
        (
            "cnf",
            json!({"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        ),
        (
            "cnf",
            json!({"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        ),
    ] {
        let token = h
            .issuer
            .token()
            .claim("sub", "alice")
            .claim("roles", ["admin"])
            .claim(name, value)
            .sign();
        for path in ["/me", "/admin"] {
            get_with(&h.router, path, &token).await.assert_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(&token),
            );
        }
    }
}

/// A claim a rule reads with an unexpected JSON type makes the rule not fire, and is not an
/// error: a numeric or array `client_id` (or `azp`) is no client id, the token a user.
#[tokio::test]
async fn a_client_id_of_another_json_type_is_no_client_id_and_no_error() {
    for provider in ["auto", "generic", "rfc9068", "hydra"] {
        let h = harness_with(&[("AUTHZ_PROVIDER", provider)]).await;
        for (name, value) in [
            ("client_id", json!(1)),
            ("client_id", json!(["a"])),
            ("azp", json!(1)),
            ("cid", json!({"id": 1})),
        ] {
            let token = h
                .issuer
                .token()
                .claim("sub", "1")
                .claim(name, value.clone())
                .sign();
            let me = get_with(&h.router, "/me", &token).await;
            assert_eq!(
                me.status,
                StatusCode::OK,
                "{provider} {name}={value}: {}",
                me.body
            );
            assert_eq!(me.json()["kind"], "user", "{provider} {name}={value}");
            assert_eq!(
                me.json()["client_id"],
                Value::Null,
                "{provider} {name}={value}"
            );
        }
    }
}
