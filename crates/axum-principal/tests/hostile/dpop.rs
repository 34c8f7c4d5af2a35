//! Hostile DPoP requests: one case per check of RFC 9449 §4.3 (and the binding rules), each
//! with its exact reason code, refused with 401 and the `DPoP` challenge. Every case differs
//! from an accepted request in exactly one way, so each fails without its own check.

use crate::common;

use axum::http::{Method, StatusCode};
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::dpop::DpopConfig;
use axum_principal_testkit::{b64url, DpopKey, KeyAlg, MockIssuer};
use serde_json::json;

use common::dpop::{app, challenges, url, Call, ORIGIN};

struct Case {
    name: &'static str,
    call: Call<'static>,
    reason: &'static str,
    /// `invalid_dpop_proof`, or `invalid_token` for a token refused under DPoP.
    error: &'static str,
}

async fn run(app: &Router, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let out = case.call.send(app).await;
        let reason = out.reason.clone().unwrap_or_default();
        eprintln!("{:<60} {} {reason}", case.name, out.status.as_u16());
        let first = challenges(&out).into_iter().next().unwrap_or_default();
        let error = out.json()["error"].as_str().unwrap_or_default().to_owned();
        if out.status != StatusCode::UNAUTHORIZED
            || reason != case.reason
            || error != case.error
            || !first.starts_with(&format!("DPoP error=\"{}\"", case.error))
        {
            failures.push(format!(
                "{}: {} {reason} {error} {first:?}, wanted {} {}",
                case.name, out.status, case.reason, case.error
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn key(alg: KeyAlg) -> DpopKey {
    DpopKey::generate(alg).expect("a DPoP key")
}

fn dpop(token: &str, proof: String) -> Call<'static> {
    Call::dpop("/me", token, proof)
}

async fn setup() -> (MockIssuer, Router) {
    let issuer = common::issuer().await;
    let app = app(
        common::config(&issuer, &ManualClock::new()),
        DpopConfig::new(ORIGIN),
    );
    (issuer, app)
}

#[tokio::test]
async fn every_proof_check_refuses_its_own_forgery() {
    let (issuer, app) = setup().await;
    let key = key(KeyAlg::Es256);
    let other = DpopKey::generate(KeyAlg::Es256).expect("a key");
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = || key.proof("GET", &url("/me")).access_token(&token);
    // The accepted request every case departs from.
    let ok = dpop(&token, proof().sign()).send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let replayed = proof().sign();
    assert_eq!(
        dpop(&token, replayed.clone()).send(&app).await.status,
        StatusCode::OK
    );
    let unbound = issuer.token().sign();
    let unknown_cnf = issuer
        .token()
        .claim("cnf", json!({"jkt": key.thumbprint(), "kid": "k"}))
        .sign();
    let p = |c: Call<'static>| c;
    let cases = vec![
        Case { name: "no DPoP header", call: Call { proofs: vec![], ..dpop(&token, String::new()) }, reason: "dpop_proof_missing", error: "invalid_dpop_proof" },
        Case { name: "two DPoP headers", call: Call { proofs: vec![proof().sign(), proof().sign()], ..dpop(&token, String::new()) }, reason: "dpop_proof_multiple", error: "invalid_dpop_proof" },
        Case { name: "two proofs in one header", call: dpop(&token, format!("{}, {}", proof().sign(), proof().sign())), reason: "dpop_proof_multiple", error: "invalid_dpop_proof" },
        Case { name: "not a JWS", call: dpop(&token, "not.a.jws".into()), reason: "dpop_proof_malformed", error: "invalid_dpop_proof" },
        Case { name: "an oversized proof", call: dpop(&token, proof().claim("pad", "x".repeat(9000)).sign()), reason: "dpop_proof_too_large", error: "invalid_dpop_proof" },
        Case { name: "crit in the header", call: dpop(&token, proof().header("crit", json!(["x"])).sign()), reason: "dpop_proof_malformed", error: "invalid_dpop_proof" },
        Case { name: "typ JWT", call: dpop(&token, proof().header("typ", "JWT").sign()), reason: "dpop_bad_typ", error: "invalid_dpop_proof" },
        Case { name: "no typ", call: dpop(&token, proof().without_header("typ").sign()), reason: "dpop_bad_typ", error: "invalid_dpop_proof" },
        Case { name: "alg none", call: dpop(&token, proof().header("alg", "none").sign()), reason: "dpop_disallowed_alg", error: "invalid_dpop_proof" },
        Case { name: "alg HS256", call: dpop(&token, proof().header("alg", "HS256").sign()), reason: "dpop_disallowed_alg", error: "invalid_dpop_proof" },
        Case { name: "alg that does not fit the jwk", call: dpop(&token, proof().header("alg", "RS256").sign()), reason: "dpop_bad_jwk", error: "invalid_dpop_proof" },
        Case { name: "no jwk", call: dpop(&token, proof().without_header("jwk").sign()), reason: "dpop_bad_jwk", error: "invalid_dpop_proof" },
        Case { name: "jwk off the curve", call: dpop(&token, proof().header("jwk", json!({"kty":"EC","crv":"P-256","x":b64url(&[1u8;32]),"y":b64url(&[2u8;32])})).sign()), reason: "dpop_bad_jwk", error: "invalid_dpop_proof" },
        Case { name: "private jwk (d)", call: dpop(&token, proof().private_jwk().sign()), reason: "dpop_private_jwk", error: "invalid_dpop_proof" },
        Case { name: "oct jwk", call: dpop(&token, proof().header("jwk", json!({"kty":"oct","k":"c2VjcmV0"})).sign()), reason: "dpop_private_jwk", error: "invalid_dpop_proof" },
        Case { name: "signed by another key", call: dpop(&token, proof().sign_with(&other)), reason: "dpop_bad_signature", error: "invalid_dpop_proof" },
        Case { name: "no jti", call: dpop(&token, proof().without_claim("jti").sign()), reason: "dpop_missing_claim", error: "invalid_dpop_proof" },
        Case { name: "no ath", call: dpop(&token, proof().without_claim("ath").sign()), reason: "dpop_missing_claim", error: "invalid_dpop_proof" },
        Case { name: "iat a string", call: dpop(&token, proof().claim("iat", "now").sign()), reason: "dpop_missing_claim", error: "invalid_dpop_proof" },
        Case { name: "htm POST on a GET", call: dpop(&token, key.proof("POST", &url("/me")).access_token(&token).sign()), reason: "dpop_htm_mismatch", error: "invalid_dpop_proof" },
        Case { name: "htm get (case)", call: dpop(&token, key.proof("get", &url("/me")).access_token(&token).sign()), reason: "dpop_htm_mismatch", error: "invalid_dpop_proof" },
        Case { name: "htu of another path", call: dpop(&token, key.proof("GET", &url("/admin")).access_token(&token).sign()), reason: "dpop_htu_mismatch", error: "invalid_dpop_proof" },
        Case { name: "htu of another origin", call: dpop(&token, key.proof("GET", "https://evil.example.test/me").access_token(&token).sign()), reason: "dpop_htu_mismatch", error: "invalid_dpop_proof" },
        Case { name: "htu over http", call: dpop(&token, key.proof("GET", "http://api.example.test/me").access_token(&token).sign()), reason: "dpop_htu_mismatch", error: "invalid_dpop_proof" },
        Case { name: "iat 5 minutes ago", call: dpop(&token, proof().issued_at_in(-300).sign()), reason: "dpop_expired", error: "invalid_dpop_proof" },
        Case { name: "iat 5 minutes ahead", call: dpop(&token, proof().issued_at_in(300).sign()), reason: "dpop_issued_in_future", error: "invalid_dpop_proof" },
        Case { name: "ath of another token", call: dpop(&token, key.proof("GET", &url("/me")).access_token("another-token").sign()), reason: "dpop_ath_mismatch", error: "invalid_dpop_proof" },
        Case { name: "proof from a key the token is not bound to", call: dpop(&token, other.proof("GET", &url("/me")).access_token(&token).sign()), reason: "dpop_jkt_mismatch", error: "invalid_dpop_proof" },
        Case { name: "replayed jti", call: dpop(&token, replayed), reason: "dpop_replayed", error: "invalid_dpop_proof" },
        Case { name: "token without cnf.jkt", call: dpop(&unbound, key.proof("GET", &url("/me")).access_token(&unbound).sign()), reason: "dpop_token_unbound", error: "invalid_dpop_proof" },
        Case { name: "cnf with an unknown method too", call: p(dpop(&unknown_cnf, key.proof("GET", &url("/me")).access_token(&unknown_cnf).sign())), reason: "bound_token_as_bearer", error: "invalid_token" },
        Case { name: "expired token with a good proof", call: { let t = issuer.token().dpop_bound(&key).expires_in(-600).sign(); dpop(&t, key.proof("GET", &url("/me")).access_token(&t).sign()) }, reason: "expired", error: "invalid_token" },
        Case { name: "forged token signature with a good proof", call: { let a = issuer.token().dpop_bound(&key).sign(); let b = issuer.token().claim("sub", "mallory").dpop_bound(&key).sign(); let (body, sig) = (a.rsplit_once('.').expect("a JWS").0, b.rsplit_once('.').expect("a JWS").1); let t = format!("{body}.{sig}"); dpop(&t, key.proof("GET", &url("/me")).access_token(&t).sign()) }, reason: "bad_signature", error: "invalid_token" },
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn a_proof_for_one_method_or_url_is_not_one_for_another() {
    let (issuer, app) = setup().await;
    let key = key(KeyAlg::Rs256);
    let token = issuer.token().dpop_bound(&key).sign();
    let post = key.proof("POST", &url("/me")).access_token(&token).sign();
    let ok = dpop(&token, post).method(Method::POST).send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let get = key.proof("GET", &url("/me")).access_token(&token).sign();
    run(
        &app,
        vec![Case {
            name: "GET proof on a POST",
            call: dpop(&token, get).method(Method::POST),
            reason: "dpop_htm_mismatch",
            error: "invalid_dpop_proof",
        }],
    )
    .await;
}
