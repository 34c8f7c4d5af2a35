//! `AUTHZ_RESOURCE`: the RFC 9728 document and the `resource_metadata` parameter of every
//! 401 and 403 challenge (CONTRACT "Protected resource metadata").

use axum::http::StatusCode;
use axum_principal_example::auth_config;
use serde_json::json;

use crate::support::*;

const RESOURCE: &str = "https://api.example.test";
const METADATA_URL: &str = "https://api.example.test/.well-known/oauth-protected-resource";

#[tokio::test]
async fn with_authz_resource_the_document_is_served_without_a_token() {
    let h = harness_with(&[("AUTHZ_RESOURCE", RESOURCE)]).await;
    assert_eq!(h.settings.resource.as_deref(), Some(RESOURCE));
    let reply = send(&h.router, "/.well-known/oauth-protected-resource", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let doc = reply.json();
    assert_eq!(doc["resource"], RESOURCE, "exactly the configured value");
    assert_eq!(doc["authorization_servers"], json!([h.issuer.issuer()]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc["scopes_supported"], json!(["read:reports"]));
    // AUTHZ_DPOP defaults to `allowed`: the DPoP algorithms are listed, bound tokens are
    // not required.
    let algs = doc["dpop_signing_alg_values_supported"]
        .as_array()
        .expect("dpop_signing_alg_values_supported is a list");
    assert!(algs.contains(&json!("ES256")), "{doc}");
    assert!(!algs
        .iter()
        .any(|a| a.as_str().is_some_and(|a| a.starts_with("HS"))));
    assert_eq!(doc["dpop_bound_access_tokens_required"], false);
    // No key was needed to answer it.
    assert_eq!(h.issuer.jwks_requests(), 0);
}

#[tokio::test]
async fn the_document_of_a_resource_with_a_path_is_at_the_inserted_path() {
    let h = harness_with(&[("AUTHZ_RESOURCE", "https://api.example.test/v1/")]).await;
    let reply = send(&h.router, "/.well-known/oauth-protected-resource/v1/", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["resource"], "https://api.example.test/v1/");
    let bare = send(&h.router, "/.well-known/oauth-protected-resource", &[]).await;
    assert_eq!(bare.status, StatusCode::NOT_FOUND);
    let challenge = send(&h.router, "/me", &[]).await;
    assert!(
        challenge.challenge().contains(
            "resource_metadata=\"https://api.example.test/.well-known/oauth-protected-resource/v1/\""
        ),
        "{}",
        challenge.challenge()
    );
}

#[tokio::test]
async fn every_401_and_403_challenge_names_the_document() {
    let h = harness_with(&[("AUTHZ_RESOURCE", RESOURCE)]).await;
    let user = user_token(&h.issuer);
    let param = format!("resource_metadata=\"{METADATA_URL}\"");
    let cases = [
        ("no token", send(&h.router, "/me", &[]).await, 401),
        (
            "bad token",
            get_with(&h.router, "/me", "not.a.jwt").await,
            401,
        ),
        (
            "expired",
            get_with(&h.router, "/me", &h.issuer.token().expires_in(-3600).sign()).await,
            401,
        ),
        (
            "route guard",
            get_with(&h.router, "/admin", &user).await,
            403,
        ),
        (
            "kind guard",
            get_with(&h.router, "/machine", &user).await,
            403,
        ),
        (
            "scope guard argument",
            get_with(&h.router, "/reports", &user).await,
            403,
        ),
    ];
    for (what, reply, status) in cases {
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        let challenge = reply.challenge();
        assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
        assert!(challenge.contains(&param), "{what}: {challenge}");
    }
}

#[tokio::test]
async fn without_authz_resource_there_is_no_document_and_no_parameter() {
    let h = harness().await;
    assert_eq!(h.settings.resource, None);
    let reply = send(&h.router, "/.well-known/oauth-protected-resource", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let refused = send(&h.router, "/me", &[]).await;
    assert_eq!(refused.challenge(), "Bearer realm=\"api\"");
}

#[test]
fn a_bad_authz_resource_names_the_variable() {
    let base = [
        ("AUTHZ_ISSUER", "https://issuer.example.test/"),
        ("AUTHZ_AUDIENCE", "api"),
    ];
    for bad in [
        "api.example.test",
        "http://api.example.test",
        "https://api.example.test/mcp?x=1",
        "https://api.example.test/mcp#top",
    ] {
        let mut vars = base.to_vec();
        vars.push(("AUTHZ_RESOURCE", bad));
        // Checked by the settings (not a URL, not https) or by the library (query or
        // fragment); either way the message names AUTHZ_RESOURCE.
        let problem = settings(&vars)
            .and_then(|s| auth_config(&s, None))
            .expect_err("refused by the settings or by the library's configuration");
        assert_eq!(problem.variable, "AUTHZ_RESOURCE", "{bad}: {problem}");
    }
}
