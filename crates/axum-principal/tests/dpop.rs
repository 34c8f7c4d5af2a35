//! DPoP (RFC 9449) and mTLS-bound tokens (RFC 8705) through the layer: bound tokens admitted
//! with their proof, the challenges of every policy, the verified-token cache never
//! shortening the proof check, nonces, and a replay store that cannot answer.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum_principal::binding::ClientCertificate;
use axum_principal::clock::ManualClock;
use axum_principal::dpop::{DpopConfig, DpopPolicy, HmacNonces, DPOP_NONCE};
use axum_principal::replay::{ReplayFuture, ReplayStore, ReplayStoreUnavailable};
use axum_principal::{AuthConfig, Authenticator};
use axum_principal_testkit::{DpopKey, KeyAlg, MockIssuer};

use common::dpop::{app, challenges, url, Call, ORIGIN};

fn key(alg: KeyAlg) -> DpopKey {
    DpopKey::generate(alg).expect("a DPoP key")
}

async fn setup(dpop: DpopConfig) -> (MockIssuer, axum::Router) {
    let issuer = common::issuer().await;
    let app = app(common::config(&issuer, &ManualClock::new()), dpop);
    (issuer, app)
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_is_admitted_for_es256_rs256_and_eddsa() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN)).await;
    for alg in KeyAlg::ALL {
        let key = key(alg);
        let token = issuer.token().claim("sub", "alice").dpop_bound(&key).sign();
        for _ in 0..2 {
            // The second request is a cache hit for the token; its new proof is checked anew.
            let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
            let out = Call::dpop("/me", &token, proof).send(&app).await;
            assert_eq!(out.status, StatusCode::OK, "{alg}: {}", out.body);
            assert_eq!(out.json()["subject"], "alice");
        }
    }
}

#[tokio::test]
async fn every_401_offers_both_schemes_when_dpop_is_allowed() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN).algorithms([
        axum_principal::Algorithm::ES256,
        axum_principal::Algorithm::RS256,
    ]))
    .await;
    let none = common::send(&app, "/me", &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&none),
        ["Bearer realm=\"api\"", "DPoP algs=\"ES256 RS256\""]
    );
    let expired = issuer.token().expires_in(-600).sign();
    let bad_bearer = common::get_with(&app, "/me", &expired).await;
    let all = challenges(&bad_bearer);
    assert!(
        all[0].starts_with("Bearer realm=\"api\", error=\"invalid_token\""),
        "{all:?}"
    );
    assert_eq!(all[1], "DPoP algs=\"ES256 RS256\"");

    let key = key(KeyAlg::Es256);
    let bound = issuer.token().dpop_bound(&key).expires_in(-600).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&bound).sign();
    let bad_token = Call::dpop("/me", &bound, proof).send(&app).await;
    let all = challenges(&bad_token);
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
    assert!(
        all[0].starts_with("DPoP error=\"invalid_token\", algs=\"ES256 RS256\""),
        "{all:?}"
    );
    assert_eq!(all[1], "Bearer realm=\"api\"");
    assert_eq!(bad_token.json()["error"], "invalid_token");

    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("POST", &url("/me")).access_token(&token).sign();
    let bad_proof = Call::dpop("/me", &token, proof).send(&app).await;
    let all = challenges(&bad_proof);
    assert!(
        all[0].starts_with("DPoP error=\"invalid_dpop_proof\", algs=\"ES256 RS256\""),
        "{all:?}"
    );
    assert_eq!(all[1], "Bearer realm=\"api\"");
    assert_eq!(bad_proof.json()["error"], "invalid_dpop_proof");
    assert_eq!(bad_proof.reason.as_deref(), Some("dpop_htm_mismatch"));
}

#[tokio::test]
async fn required_refuses_bearer_with_the_dpop_challenge_only() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN).policy(DpopPolicy::Required)).await;
    let out = common::get_with(&app, "/me", &issuer.user_token("alice")).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    let all = challenges(&out);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].starts_with("DPoP algs=\""), "{all:?}");
    assert_eq!(out.reason.as_deref(), Some("dpop_required"));
    let none = common::send(&app, "/me", &[]).await;
    assert_eq!(challenges(&none).len(), 1);
    assert!(challenges(&none)[0].starts_with("DPoP "));
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
    let ok = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn off_is_bearer_only_as_without_dpop() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN).policy(DpopPolicy::Off)).await;
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
    let out = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.reason.as_deref(), Some("missing_token"));
    assert_eq!(challenges(&out), ["Bearer realm=\"api\""]);
    let plain = common::get_with(&app, "/me", &issuer.user_token("alice")).await;
    assert_eq!(plain.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cached_bound_token_is_never_served_to_a_bearer_request() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN)).await;
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
    let ok = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(ok.status, StatusCode::OK);
    let as_bearer = common::get_with(&app, "/me", &token).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_bearer.reason.as_deref(), Some("bound_token_as_bearer"));
    // And an unbound token that the cache holds is not a DPoP token either.
    let plain = issuer.user_token("bob");
    assert_eq!(
        common::get_with(&app, "/me", &plain).await.status,
        StatusCode::OK
    );
    let proof = key.proof("GET", &url("/me")).access_token(&plain).sign();
    let out = Call::dpop("/me", &plain, proof).send(&app).await;
    assert_eq!(out.reason.as_deref(), Some("dpop_token_unbound"));
}

#[tokio::test]
async fn server_nonces_are_demanded_then_accepted() {
    let nonces = HmacNonces::new(&[9u8; 32], Duration::from_secs(60)).expect("nonces");
    let (issuer, app) = setup(DpopConfig::new(ORIGIN).nonces(nonces)).await;
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
    let first = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.json()["error"], "use_dpop_nonce");
    assert!(challenges(&first)[0].starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = first
        .headers
        .get(DPOP_NONCE)
        .expect("a DPoP-Nonce header")
        .to_str()
        .expect("ASCII")
        .to_owned();
    let proof = key
        .proof("GET", &url("/me"))
        .access_token(&token)
        .nonce(&nonce)
        .sign();
    let second = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let proof = key
        .proof("GET", &url("/me"))
        .access_token(&token)
        .nonce("not-the-nonce")
        .sign();
    let wrong = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(wrong.json()["error"], "use_dpop_nonce");
}

struct Down;

impl ReplayStore for Down {
    fn first_use<'a>(&'a self, _key: &'a str, _window: Duration) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(Err(ReplayStoreUnavailable)))
    }
}

#[tokio::test]
async fn a_replay_store_that_cannot_answer_is_503_never_401_or_200() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN).replay_store(Down)).await;
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
    let out = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(out.reason.as_deref(), Some("replay_store_unavailable"));
    assert!(out.body.contains("replay store"), "{}", out.body);
    assert!(challenges(&out).is_empty());
    // Bearer requests do not need the store.
    let plain = common::get_with(&app, "/me", &issuer.user_token("alice")).await;
    assert_eq!(plain.status, StatusCode::OK);
}

#[tokio::test]
async fn htu_is_the_configured_origin_plus_the_path_never_the_host_header() {
    let (issuer, app) = setup(DpopConfig::new("https://API.example.test:443/ignored")).await;
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key
        .proof("GET", "HTTPS://api.EXAMPLE.test/reports/%61b?x=1")
        .access_token(&token)
        .sign();
    let mut call = Call::dpop("/reports/ab?y=2", &token, proof);
    call.method = Method::GET;
    let ok = call.send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A proof for the Host an attacker sends is still a proof for another origin.
    let proof = key
        .proof("GET", "https://evil.example/me")
        .access_token(&token)
        .sign();
    let request = axum::http::Request::get("/me")
        .header("host", "evil.example")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .body(axum::body::Body::empty())
        .expect("a request");
    let out = common::send_request(&app, request).await;
    assert_eq!(out.reason.as_deref(), Some("dpop_htu_mismatch"));
}

#[tokio::test]
async fn authenticate_without_the_request_refuses_dpop() {
    let issuer = common::issuer().await;
    let config =
        common::build(common::config(&issuer, &ManualClock::new()).dpop(DpopConfig::new(ORIGIN)));
    let auth = Authenticator::new(config);
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("DPoP {token}").parse().expect("a header value"),
    );
    let refused = auth
        .authenticate(&headers)
        .await
        .expect_err("no request context");
    assert_eq!(refused.reason(), "dpop_no_request_context");
    let refused = auth.verify(&token).await.expect_err("bound");
    assert_eq!(refused.reason(), "bound_token_as_bearer");
}

#[test]
fn bad_dpop_settings_are_configuration_errors() {
    let base = || {
        AuthConfig::builder()
            .issuer("https://issuer.example.test")
            .audience("api")
    };
    for dpop in [
        DpopConfig::new("not a url"),
        DpopConfig::new("ftp://x.example"),
        DpopConfig::new(ORIGIN).window(Duration::ZERO),
        DpopConfig::new(ORIGIN).window(Duration::from_secs(3600)),
        DpopConfig::new(ORIGIN).algorithms([]),
        DpopConfig::new(ORIGIN).algorithms([axum_principal::Algorithm::HS256]),
    ] {
        let shown = format!("{dpop:?}");
        assert!(
            matches!(
                base().dpop(dpop).build(),
                Err(axum_principal::ConfigError::InvalidDpop(_))
            ),
            "{shown}"
        );
    }
    assert!(base()
        .dpop(DpopConfig::new("not a url").policy(DpopPolicy::Off))
        .build()
        .is_ok());
}

// ---------------------------------------------------------------------------------------------
// mTLS-bound tokens (RFC 8705 §3)

/// A stand-in for the DER a TLS acceptor reads from the handshake (tokio-rustls:
/// `connection.peer_certificates()[0]`); the library compares digests only.
const CLIENT_CERT: &[u8] = b"0\x82\x01\x0a test client certificate DER";

#[tokio::test]
async fn a_certificate_bound_token_passes_as_bearer_only_with_its_certificate() {
    let (issuer, app) = setup(DpopConfig::new(ORIGIN)).await;
    let token = issuer
        .token()
        .claim("sub", "svc")
        .mtls_bound(CLIENT_CERT)
        .sign();
    let mut call = Call::bearer("/me", &token);
    call.certificate = Some(ClientCertificate::new(CLIENT_CERT.to_vec()));
    let ok = call.send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["subject"], "svc");

    let mut other = Call::bearer("/me", &token);
    other.certificate = Some(ClientCertificate::new(b"another certificate".to_vec()));
    let out = other.send(&app).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.reason.as_deref(), Some("certificate_mismatch"));

    let none = Call::bearer("/me", &token).send(&app).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.reason.as_deref(), Some("bound_token_as_bearer"));
    assert_eq!(
        ClientCertificate::new(CLIENT_CERT.to_vec())
            .thumbprint()
            .len(),
        43
    );
}
