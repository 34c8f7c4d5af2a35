//! DPoP (RFC 9449) and mTLS-bound tokens (RFC 8705) through the layer: bound tokens admitted
//! with their proof, the challenges of every policy, the verified-token cache never
//! shortening the proof check, nonces, and a replay store that cannot answer.

use crate::common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use axum_principal::binding::ClientCertificate;
use axum_principal::clock::{Clock, ManualClock};
use axum_principal::dpop::{DpopConfig, DpopPolicy, HmacNonces, DPOP_NONCE};
use axum_principal::replay::{ReplayFuture, ReplayStore, ReplayStoreUnavailable, ReplayVerdict};
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

/// A replay store that keeps time by the test's clock, so the end of a window is reached
/// without waiting.
struct OnClock {
    clock: ManualClock,
    until: Mutex<HashMap<String, SystemTime>>,
}

impl ReplayStore for OnClock {
    fn first_use<'a>(&'a self, key: &'a str, window: Duration) -> ReplayFuture<'a> {
        let now = self.clock.now();
        let mut until = self.until.lock().expect("not poisoned");
        let verdict = match until.get(key) {
            Some(end) if *end > now => ReplayVerdict::Replayed,
            _ => {
                until.insert(key.to_owned(), now + window);
                ReplayVerdict::Fresh
            }
        };
        Box::pin(std::future::ready(Ok(verdict)))
    }
}

#[tokio::test]
async fn a_proof_replayed_in_the_last_partial_second_of_its_window_is_refused() {
    let issuer = common::issuer().await;
    let clock = ManualClock::new();
    let store = OnClock {
        clock: clock.clone(),
        until: Mutex::default(),
    };
    let dpop = DpopConfig::new(ORIGIN)
        .window(Duration::from_secs(60))
        .replay_store(store);
    let app = app(common::config(&issuer, &clock).leeway(Duration::ZERO), dpop);
    let key = key(KeyAlg::Es256);
    let token = issuer.token().dpop_bound(&key).sign();
    let proof = key.proof("GET", &url("/me")).access_token(&token);
    let iat = proof.claims_json()["iat"]
        .as_u64()
        .expect("the proof has a numeric iat");
    let proof = proof.sign();
    let at = |millis: u64| UNIX_EPOCH + Duration::from_secs(iat) + Duration::from_millis(millis);
    // First used 10 ms into its first second; accepted while ⌊now⌋ − iat ≤ 60.
    clock.set(at(10));
    let first = Call::dpop("/me", &token, proof.clone()).send(&app).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    for replay_at in [60_160, 60_999] {
        clock.set(at(replay_at));
        let replay = Call::dpop("/me", &token, proof.clone()).send(&app).await;
        assert_eq!(
            replay.reason.as_deref(),
            Some("dpop_replayed"),
            "replayed at iat + {replay_at} ms: {}",
            replay.status
        );
    }
    // From the next second on the proof is too old, whatever the store says.
    clock.set(at(61_000));
    let late = Call::dpop("/me", &token, proof).send(&app).await;
    assert_eq!(late.reason.as_deref(), Some("dpop_expired"));
}

/// Counts the keys recorded.
#[derive(Clone, Default)]
struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl ReplayStore for Counting {
    fn first_use<'a>(&'a self, _key: &'a str, _window: Duration) -> ReplayFuture<'a> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(ReplayVerdict::Fresh)))
    }
}

#[tokio::test]
async fn one_principal_cannot_fill_the_replay_store() {
    let recorded = Counting::default();
    let (issuer, app) = setup(
        DpopConfig::new(ORIGIN)
            .max_proofs_per_principal(3)
            .replay_store(recorded.clone()),
    )
    .await;
    let send = |sub: &'static str| {
        let key = key(KeyAlg::Es256);
        let token = issuer.token().claim("sub", sub).dpop_bound(&key).sign();
        let app = app.clone();
        async move {
            let proof = key.proof("GET", &url("/me")).access_token(&token).sign();
            Call::dpop("/me", &token, proof).send(&app).await
        }
    };
    for _ in 0..3 {
        assert_eq!(send("alice").await.status, StatusCode::OK);
    }
    // Fresh, valid proofs (with new keys and tokens, even), but alice's budget is spent.
    for _ in 0..5 {
        let over = send("alice").await;
        assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(over.reason.as_deref(), Some("rate_limited"));
        let retry_after: u64 = over
            .headers
            .get("retry-after")
            .expect("a Retry-After header")
            .to_str()
            .expect("ASCII")
            .parse()
            .expect("whole seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    assert_eq!(recorded.0.load(std::sync::atomic::Ordering::SeqCst), 3);
    // Another principal has its own budget.
    assert_eq!(send("bob").await.status, StatusCode::OK);
    assert_eq!(recorded.0.load(std::sync::atomic::Ordering::SeqCst), 4);
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

/// Under `Router::nest` the layer sees the path without the prefix, but `htu` names the URL
/// the client called: the proof is checked against the original URI.
#[tokio::test]
async fn htu_is_checked_against_the_original_uri_under_a_nested_router() {
    let (issuer, inner) = setup(DpopConfig::new(ORIGIN)).await;
    let app = axum::Router::new().nest("/api", inner);
    let key = key(KeyAlg::Es256);
    let token = issuer.token().claim("sub", "alice").dpop_bound(&key).sign();
    let called = key
        .proof("GET", &url("/api/me"))
        .access_token(&token)
        .sign();
    let out = Call::dpop("/api/me", &token, called).send(&app).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    // A proof for the path without the prefix is for another URL.
    let stripped = key.proof("GET", &url("/me")).access_token(&token).sign();
    let out = Call::dpop("/api/me", &token, stripped).send(&app).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.body);
    assert_eq!(out.reason.as_deref(), Some("dpop_htu_mismatch"));
}

#[tokio::test]
async fn a_proof_header_seen_before_still_has_its_signature_and_key_checked() {
    // Proof headers are kept, checked, by their bytes; a caller chooses those bytes, so a
    // header seen before must never stand in for the signature or for the token's key.
    let (issuer, app) = setup(DpopConfig::new(ORIGIN)).await;
    let (alice_key, mallory_key) = (key(KeyAlg::Es256), key(KeyAlg::Es256));
    let alice = issuer
        .token()
        .claim("sub", "alice")
        .dpop_bound(&alice_key)
        .sign();
    let mallory = issuer
        .token()
        .claim("sub", "mallory")
        .dpop_bound(&mallory_key)
        .sign();
    let proof = |key: &DpopKey, token: &str| key.proof("GET", &url("/me")).access_token(token);
    // Both headers are now kept.
    for (key, token) in [(&alice_key, &alice), (&mallory_key, &mallory)] {
        let out = Call::dpop("/me", token, proof(key, token).sign())
            .send(&app)
            .await;
        assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    }
    // Alice's header, signed by Mallory's key: refused for its signature.
    let forged = proof(&alice_key, &alice).sign_with(&mallory_key);
    let out = Call::dpop("/me", &alice, forged).send(&app).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.body);
    assert_eq!(out.reason.as_deref(), Some("dpop_bad_signature"));
    // Mallory's own (kept) header and signature on Alice's token: refused for the key.
    let out = Call::dpop("/me", &alice, proof(&mallory_key, &alice).sign())
        .send(&app)
        .await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{}", out.body);
    assert_eq!(out.reason.as_deref(), Some("dpop_jkt_mismatch"));
    // Alice, with a fresh proof, is unharmed.
    let out = Call::dpop("/me", &alice, proof(&alice_key, &alice).sign())
        .send(&app)
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
}
