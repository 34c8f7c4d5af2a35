//! Helpers shared by the integration tests: JWT decoding and independent
//! signature verification with aws-lc-rs against a published JWK.

#![allow(dead_code)]

use aws_lc_rs::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

pub fn b64d(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("valid base64url")
}

/// Decodes segment `idx` (0 = header, 1 = payload) of a compact JWS as JSON.
pub fn segment(token: &str, idx: usize) -> Value {
    let part = token.split('.').nth(idx).expect("segment present");
    serde_json::from_slice(&b64d(part)).expect("segment is JSON")
}

pub fn header(token: &str) -> Value {
    segment(token, 0)
}

pub fn claims(token: &str) -> Value {
    segment(token, 1)
}

fn member(jwk: &Value, name: &str) -> Vec<u8> {
    b64d(jwk[name].as_str().expect("JWK member is a string"))
}

/// Verifies `token`'s signature with `jwk` using the algorithm implied by the
/// JWK's `kty` (RS256, ES256 or EdDSA).
pub fn verify_with_jwk(token: &str, jwk: &Value) -> bool {
    let (signing_input, sig) = token.rsplit_once('.').expect("compact JWS");
    let sig = b64d(sig);
    let msg = signing_input.as_bytes();
    match jwk["kty"].as_str() {
        Some("RSA") => {
            let (n, e) = (member(jwk, "n"), member(jwk, "e"));
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, msg, &sig)
                .is_ok()
        }
        Some("EC") => {
            let (x, y) = (member(jwk, "x"), member(jwk, "y"));
            assert_eq!(x.len(), 32);
            assert_eq!(y.len(), 32);
            let mut point = vec![0x04];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(msg, &sig)
                .is_ok()
        }
        Some("OKP") => UnparsedPublicKey::new(&ED25519, member(jwk, "x"))
            .verify(msg, &sig)
            .is_ok(),
        other => panic!("unexpected kty {other:?}"),
    }
}

/// Finds the JWK with `kid` in a JWKS document.
pub fn find_jwk<'a>(jwks: &'a Value, kid: &str) -> Option<&'a Value> {
    jwks["keys"]
        .as_array()
        .expect("keys array")
        .iter()
        .find(|k| k["kid"] == kid)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

pub async fn get_json(url: &str) -> Value {
    let response = client().get(url).send().await.expect("request succeeds");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("JSON body")
}
