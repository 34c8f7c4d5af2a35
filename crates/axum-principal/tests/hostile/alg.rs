//! Hostile input: `alg: none` in every spelling and algorithm confusion (RFC 8725 §2.1,
//! §3.1): HMAC keyed with the RSA public key, header algorithms that do not fit the key.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use std::time::Duration;

use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthConfig, Issuer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::hostile::*;

// ---- DER / PEM encodings of an RSA public key, as an attacker would use for HS256 --------

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let bytes = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// PKCS#1 `RSAPublicKey` DER.
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    der(0x30, &[der_uint(n), der_uint(e)].concat())
}

/// X.509 `SubjectPublicKeyInfo` DER of an RSA key (rsaEncryption, NULL parameters).
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ENCRYPTION: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let alg_id = der(
        0x30,
        &[der(0x06, &RSA_ENCRYPTION), vec![0x05, 0x00]].concat(),
    );
    let mut bits = vec![0u8];
    bits.extend(rsa_pkcs1_der(n, e));
    der(0x30, &[alg_id, der(0x03, &bits)].concat())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

// ---------------------------------------------------------------------------------------------
// RFC 8725 §2.1 / §3.1: `alg: none`, algorithm confusion

#[tokio::test]
async fn alg_none_in_every_spelling_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let mut cases = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE", "none ", "", "null"] {
        let with_kid = json!({"alg": alg, "typ": "JWT", "kid": rs}).to_string();
        let without_kid = json!({"alg": alg, "typ": "JWT"}).to_string();
        cases.push(Case::bearer(
            format!("alg {alg:?}, empty signature"),
            &issuer.sign_raw(&without_kid, &payload, None),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with the real kid, empty signature"),
            &issuer.sign_raw(&with_kid, &payload, None),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with a real RS256 signature over it"),
            &issuer.sign_raw(&with_kid, &payload, Some(&rs)),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with a junk signature"),
            &format!(
                "{}c2lnbmF0dXJl",
                issuer.sign_raw(&without_kid, &payload, None)
            ),
            Expect::Invalid(ALG),
        ));
    }
    let stripped = format!(
        "{}.{}",
        b64url(json!({"alg":"none"}).to_string().as_bytes()),
        b64url(payload.as_bytes())
    );
    cases.push(Case::bearer(
        "alg none without the signature part (two segments)",
        &stripped,
        Expect::Invalid(MALFORMED),
    ));
    cases.push(Case::bearer(
        "TokenBuilder::unsigned()",
        &issuer.token().claim("roles", json!(["admin"])).unsigned(),
        Expect::Invalid(ALG),
    ));
    for alg in [
        "rs256", "RS256 ", "RSA256", "HS1", "ES512", "ES256K", "Ed25519", "RSA-OAEP",
    ] {
        cases.push(Case::bearer(
            format!("unknown alg {alg:?} over a real RS256 signature"),
            &rs_signed(
                &issuer,
                &json!({"alg": alg, "kid": rs}).to_string(),
                &payload,
            ),
            Expect::Invalid(ALG),
        ));
    }
    for alg in [
        json!(["RS256"]),
        json!(null),
        json!(256),
        json!({"name":"RS256"}),
    ] {
        cases.push(Case::bearer(
            format!("alg of the wrong type: {alg}"),
            &rs_signed(
                &issuer,
                &json!({"alg": alg, "kid": rs}).to_string(),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ));
    }
    cases.push(Case::bearer(
        "no alg member at all",
        &rs_signed(&issuer, &json!({"kid": rs}).to_string(), &payload),
        Expect::Invalid(MALFORMED),
    ));
    run(&app, cases).await;
}

#[tokio::test]
async fn hmac_signed_with_the_rsa_public_key_in_any_encoding_is_refused() {
    let issuer = real_issuer().await;
    let rs = kid(&issuer, KeyAlg::Rs256);
    let jwk = issuer
        .public_jwk(&rs)
        .expect("the issuer publishes its RS256 key");
    let n = b64d(jwk["n"].as_str().expect("an RSA JWK has n"));
    let e = b64d(jwk["e"].as_str().expect("an RSA JWK has e"));
    let pkcs1 = rsa_pkcs1_der(&n, &e);
    let spki = rsa_spki_der(&n, &e);
    // The encodings are right: an RSA-2048 SPKI always starts like this, and the PKCS#1 form
    // verifies the issuer's own RS256 signature.
    let spki_pem = pem("PUBLIC KEY", &spki);
    assert!(
        spki_pem.contains("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
        "{spki_pem}"
    );
    let good = issuer.user_token("alice");
    let (h, p, s) = parts(&good);
    let verified = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &pkcs1,
    )
    .verify(format!("{h}.{p}").as_bytes(), &b64d(&s));
    assert!(verified.is_ok(), "PKCS#1 DER encoding is wrong");

    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the JWK as published (JSON)", jwk.to_string().into_bytes()),
        ("the JWK pretty-printed", {
            serde_json::to_vec_pretty(&jwk).expect("a JWK serializes")
        }),
        (
            "the whole JWKS document",
            issuer.jwks().to_string().into_bytes(),
        ),
        (
            "n, base64url text",
            jwk["n"]
                .as_str()
                .expect("an RSA JWK has n")
                .as_bytes()
                .to_vec(),
        ),
        ("n, raw bytes", n.clone()),
        ("SPKI DER", spki.clone()),
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        (
            "SPKI PEM without the final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        (
            "SPKI PEM with CRLF",
            spki_pem.replace('\n', "\r\n").into_bytes(),
        ),
        ("PKCS#1 DER", pkcs1.clone()),
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("the kid", rs.clone().into_bytes()),
        ("an empty secret", Vec::new()),
    ];
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let mut cases = Vec::new();
    for (what, secret) in &secrets {
        for alg in ["HS256", "HS384", "HS512"] {
            let header = json!({"typ":"JWT","kid": rs});
            cases.push(Case::bearer(
                format!("{alg} keyed with {what}, RSA kid"),
                &hmac_token(alg, &header, &payload, secret),
                Expect::Invalid(ALG),
            ));
            cases.push(Case::bearer(
                format!("{alg} keyed with {what}, no kid"),
                &hmac_token(alg, &json!({"typ":"JWT"}), &payload, secret),
                Expect::Invalid(ALG),
            ));
        }
    }
    // The testkit's own helper, too.
    cases.push(Case::bearer(
        "TokenBuilder::sign_hs256 with the JWK JSON",
        &issuer
            .token()
            .kid(&rs)
            .sign_hs256(jwk.to_string().as_bytes()),
        Expect::Invalid(ALG),
    ));
    let app = app(config(&issuer));
    assert_accepts(&app, &good).await;
    run(&app, cases).await;

    // An issuer that does have an HMAC secret: the public key is still not the secret.
    let secret = [7u8; 32];
    let with_secret = router_with_hmac(&issuer, &secret);
    assert_accepts(&with_secret, &issuer.token().sign_hs256(&secret)).await;
    assert_accepts(&with_secret, &good).await;
    let mut cases = Vec::new();
    for (what, key) in &secrets {
        cases.push(Case::bearer(
            format!("HS256 keyed with {what}, issuer has its own HMAC secret"),
            &hmac_token("HS256", &json!({"typ":"JWT"}), &payload, key),
            Expect::Invalid(SIGNATURE),
        ));
    }
    run(&with_secret, cases).await;
}

fn router_with_hmac(issuer: &MockIssuer, secret: &[u8]) -> Router {
    app(AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).hmac_secret(secret.to_vec()))
        .audience(issuer.audience())
        .clock(ManualClock::new())
        .connect_timeout(Duration::from_secs(5))
        .fetch_timeout(Duration::from_secs(10)))
}

#[tokio::test]
async fn a_header_alg_that_does_not_fit_the_key_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let es = kid(&issuer, KeyAlg::Es256);
    let ed = kid(&issuer, KeyAlg::EdDsa);
    let payload = Value::Object(claims(&issuer)).to_string();
    let signed = |alg: &str, kid_in_header: Option<&str>, signer: &str| {
        let mut h = json!({"alg": alg, "typ": "JWT"});
        if let Some(k) = kid_in_header {
            h["kid"] = json!(k);
        }
        issuer.sign_raw(&h.to_string(), &payload, Some(signer))
    };
    let cases = vec![
        Case::bearer(
            "ES256 header, RSA kid, RSA signature",
            &signed("ES256", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "ES256 header, no kid, RSA signature",
            &signed("ES256", None, &rs),
            Expect::Invalid(SIGNATURE),
        ),
        Case::bearer(
            "ES384 header, EC kid, ES256 signature",
            &signed("ES384", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "EdDSA header, EC kid, ES256 signature",
            &signed("EdDSA", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "EdDSA header, no kid, ES256 signature",
            &signed("EdDSA", None, &es),
            Expect::Invalid(SIGNATURE),
        ),
        Case::bearer(
            "ES256 header, Ed25519 kid, EdDSA signature",
            &signed("ES256", Some(&ed), &ed),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS256 header, EC kid, ES256 signature",
            &signed("RS256", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "PS256 header over an RS256 (PKCS#1 v1.5) signature",
            &signed("PS256", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS512 header over an RS256 signature",
            &signed("RS512", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS256 header, RSA kid, EdDSA signature",
            &signed("RS256", Some(&rs), &ed),
            Expect::Invalid(SIGNATURE),
        ),
    ];
    run(&app, cases).await;
}
