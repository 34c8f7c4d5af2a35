//! `AUTHZ_DPOP` and `AUTHZ_RESOURCE` (CONTRACT "DPoP (RFC 9449)"): the challenges of each
//! policy and DPoP requests end to end through the example's router.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use axum_principal_testkit::{DpopKey, KeyAlg};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{harness_with, settings};

struct Out {
    status: StatusCode,
    challenges: Vec<String>,
    body: Value,
}

async fn call(
    router: &Router,
    path: &str,
    authorization: Option<String>,
    proofs: &[String],
) -> Out {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    for proof in proofs {
        request = request.header("dpop", proof.as_str());
    }
    let request = request.body(Body::empty()).expect("a request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let challenges = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Out {
        status,
        challenges,
        body,
    }
}

/// `GET /me` with `Authorization: DPoP {token}` and a fresh proof by `key` for `htu`.
async fn with_proof(router: &Router, key: &DpopKey, token: &str, htu: &str) -> Out {
    let proof = key.proof("GET", htu).access_token(token).sign();
    call(router, "/me", Some(format!("DPoP {token}")), &[proof]).await
}

fn key() -> DpopKey {
    DpopKey::generate(KeyAlg::Es256).expect("a DPoP key")
}

#[tokio::test]
async fn allowed_by_default_every_401_offers_bearer_and_dpop() {
    let h = harness_with(&[]).await;
    let out = call(&h.router, "/me", None, &[]).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.challenges.len(), 2, "{:?}", out.challenges);
    assert_eq!(out.challenges[0], "Bearer realm=\"api\"");
    assert!(
        out.challenges[1].starts_with("DPoP algs=\""),
        "{:?}",
        out.challenges
    );
    assert!(out.challenges[1].contains("ES256"));
    let expired = h.issuer.token().expires_in(-600).sign();
    let out = call(&h.router, "/me", Some(format!("Bearer {expired}")), &[]).await;
    assert!(out.challenges[0].starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    assert!(out.challenges[1].starts_with("DPoP algs="));
}

#[tokio::test]
async fn a_dpop_request_end_to_end_checked_against_http_bind() {
    let h = harness_with(&[("BIND", "127.0.0.1:3000")]).await;
    let key = key();
    let token = h
        .issuer
        .token()
        .claim("sub", "alice")
        .dpop_bound(&key)
        .sign();
    let proof = key
        .proof("GET", "http://127.0.0.1:3000/me")
        .access_token(&token)
        .sign();
    let ok = call(
        &h.router,
        "/me",
        Some(format!("DPoP {token}")),
        std::slice::from_ref(&proof),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["subject"], "alice");

    // The same proof again, a proof for another URL, the token as Bearer, no proof.
    let replay = call(&h.router, "/me", Some(format!("DPoP {token}")), &[proof]).await;
    let elsewhere = key
        .proof("GET", "https://api.example.test/me")
        .access_token(&token)
        .sign();
    let other_url = call(
        &h.router,
        "/me",
        Some(format!("DPoP {token}")),
        &[elsewhere],
    )
    .await;
    let no_proof = call(&h.router, "/me", Some(format!("DPoP {token}")), &[]).await;
    for out in [&replay, &other_url, &no_proof] {
        assert_eq!(out.status, StatusCode::UNAUTHORIZED);
        assert_eq!(out.body["error"], "invalid_dpop_proof");
        assert!(
            out.challenges[0].starts_with("DPoP error=\"invalid_dpop_proof\", algs=\""),
            "{:?}",
            out.challenges
        );
        assert_eq!(out.challenges[1], "Bearer realm=\"api\"");
    }
    let as_bearer = call(&h.router, "/me", Some(format!("Bearer {token}")), &[]).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_bearer.body["error"], "invalid_token");

    let bad_token = format!("{token}x");
    let out = with_proof(&h.router, &key, &bad_token, "http://127.0.0.1:3000/me").await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert!(
        out.challenges[0].starts_with("DPoP error=\"invalid_token\""),
        "{:?}",
        out.challenges
    );
}

#[tokio::test]
async fn htu_is_checked_against_the_resource_origin_when_set() {
    let h = harness_with(&[("AUTHZ_RESOURCE", "https://api.example.test/mcp")]).await;
    let key = key();
    let token = h.issuer.token().dpop_bound(&key).sign();
    let ok = with_proof(&h.router, &key, &token, "https://api.example.test/me").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let out = with_proof(&h.router, &key, &token, "http://127.0.0.1:3000/me").await;
    assert_eq!(out.body["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn required_refuses_bearer_with_the_dpop_challenge() {
    let h = harness_with(&[("AUTHZ_DPOP", "required")]).await;
    let out = call(
        &h.router,
        "/me",
        Some(format!("Bearer {}", h.issuer.user_token("alice"))),
        &[],
    )
    .await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.challenges.len(), 1, "{:?}", out.challenges);
    assert!(out.challenges[0].starts_with("DPoP algs=\""));
    let key = key();
    let token = h.issuer.token().dpop_bound(&key).sign();
    let ok = with_proof(&h.router, &key, &token, "http://127.0.0.1:3000/me").await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn off_accepts_only_bearer() {
    let h = harness_with(&[("AUTHZ_DPOP", "off")]).await;
    let out = call(&h.router, "/me", None, &[]).await;
    assert_eq!(out.challenges, ["Bearer realm=\"api\""]);
    let key = key();
    let token = h.issuer.token().dpop_bound(&key).sign();
    let out = with_proof(&h.router, &key, &token, "http://127.0.0.1:3000/me").await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.challenges, ["Bearer realm=\"api\""]);
    assert_eq!(out.body["error"], "missing_token");
}

#[test]
fn authz_dpop_and_authz_resource_are_checked() {
    for (value, ok) in [
        ("allowed", true),
        ("REQUIRED", true),
        ("off", true),
        ("maybe", false),
    ] {
        let result = settings(&[("AUTHZ_DPOP", value)]);
        assert_eq!(result.is_ok(), ok, "{value}");
        if let Err(e) = result {
            assert_eq!(e.variable, "AUTHZ_DPOP");
        }
    }
    for value in ["not a url", "ftp://x.example", "/relative"] {
        let e = settings(&[("AUTHZ_RESOURCE", value)]).expect_err(value);
        assert_eq!(e.variable, "AUTHZ_RESOURCE");
    }
}
