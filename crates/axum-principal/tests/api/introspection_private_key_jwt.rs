//! `private_key_jwt` at the introspection endpoint (RFC 7523 §2.2): the test kit's endpoint
//! checks every assertion as a strict server does (the registered key's signature, `iss` =
//! `sub` = the client, `aud`, `exp`, a `jti` never used before) and refuses anything else,
//! which the layer reports as its own misconfiguration (503), never as the token's fault.

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::{Algorithm, ClientKey, ConfigError, Introspection};
use axum_principal_testkit::{AssertionKey, KeyAlg};

use crate::common::get_with;
use crate::introspection::{app, opaque_issuer, reason, CLIENT};

fn introspection(key: &AssertionKey, alg: Algorithm) -> Introspection {
    let client_key = ClientKey::from_pem(alg, key.private_key_pem())
        .expect("a PKCS#8 key")
        .kid(key.kid());
    Introspection::private_key_jwt(CLIENT, client_key)
}

#[tokio::test]
async fn a_signed_assertion_authenticates_each_call() {
    let issuer = opaque_issuer().await;
    for (alg, ours) in [
        (KeyAlg::Es256, Algorithm::ES256),
        (KeyAlg::Rs256, Algorithm::RS256),
        (KeyAlg::EdDsa, Algorithm::EdDSA),
    ] {
        let key = AssertionKey::generate(alg).expect("a key");
        issuer.add_introspection_client_key(CLIENT, &key);
        let app = app(&issuer, &ManualClock::new(), introspection(&key, ours));
        // No cache: each request is a call, each with a fresh assertion (the endpoint
        // refuses a `jti` it has seen).
        for _ in 0..2 {
            let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
            assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.body);
            assert_eq!(reply.json()["subject"], "alice");
        }
    }
    assert_eq!(issuer.introspection_requests(), 6);
}

/// The issuer knows another public key for this client (a rotation this service missed):
/// the assertion is refused, and that is this service's misconfiguration, 503.
#[tokio::test]
async fn an_assertion_the_issuer_refuses_is_our_misconfiguration_503() {
    let issuer = opaque_issuer().await;
    let registered = AssertionKey::generate(KeyAlg::Es256).expect("a key");
    let ours = AssertionKey::generate(KeyAlg::Es256).expect("a key");
    issuer.add_introspection_client_key(CLIENT, &registered);
    let app = app(
        &issuer,
        &ManualClock::new(),
        introspection(&ours, Algorithm::ES256),
    );
    let reply = get_with(&app, "/me", &issuer.opaque_user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reason(&reply), "introspection_credentials_refused");
    assert_eq!(issuer.introspection_requests(), 1);
}

#[test]
fn a_key_that_cannot_sign_is_a_configuration_error() {
    let es256 = AssertionKey::generate(KeyAlg::Es256).expect("a key");
    for (alg, pem) in [
        (Algorithm::ES256, "not a pem".to_owned()),
        // A P-256 key is not an RSA key, nor an Ed25519 one.
        (Algorithm::RS256, es256.private_key_pem()),
        (Algorithm::EdDSA, es256.private_key_pem()),
        // HMAC is `client_secret_jwt`, not a private key.
        (Algorithm::HS256, es256.private_key_pem()),
        (
            Algorithm::ES256,
            "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n".to_owned(),
        ),
    ] {
        let refused = ClientKey::from_pem(alg, &pem).expect_err("cannot sign");
        assert!(
            matches!(refused, ConfigError::InvalidClientKey(_)),
            "{alg:?}: {refused:?}"
        );
    }
    let key = ClientKey::from_pem(Algorithm::ES256, es256.private_key_pem()).expect("signs");
    let shown = format!(
        "{:?}",
        Introspection::private_key_jwt(CLIENT, key.kid("k1"))
    );
    assert!(
        shown.contains("<redacted>") && shown.contains("k1"),
        "{shown}"
    );
    let body = es256.private_key_pem();
    let middle = body.lines().nth(1).expect("a body line");
    assert!(!shown.contains(middle), "the key is never shown");
}
