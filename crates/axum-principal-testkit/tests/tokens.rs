//! Token minting: defaults, builder edits, and signature verification against
//! the JWKS served over HTTP.

mod common;

use aws_lc_rs::hmac;
use axum_principal_testkit::{b64url, Error, KeyAlg, MockIssuer, DEFAULT_AUDIENCE};
use common::{claims, find_jwk, get_json, header, verify_with_jwk};
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn every_alg_verifies_against_the_served_jwks() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let jwks = get_json(&issuer.jwks_uri()).await;
    for alg in KeyAlg::ALL {
        let token = issuer.token().alg(alg).claim("sub", "alice").sign();
        let h = header(&token);
        assert_eq!(h["alg"], alg.as_str());
        assert_eq!(h["typ"], "JWT");
        let kid = h["kid"].as_str().expect("a string");
        assert_eq!(Some(kid.to_owned()), issuer.signing_kid(alg));
        let jwk = find_jwk(&jwks, kid).expect("kid published");
        assert_eq!(jwk["alg"], alg.as_str());
        assert!(verify_with_jwk(&token, jwk), "{alg} signature verifies");

        // A tampered payload does not verify.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64url(br#"{"sub":"mallory"}"#);
        parts[1] = &forged;
        assert!(
            !verify_with_jwk(&parts.join("."), jwk),
            "{alg} tamper detected"
        );
    }
}

#[tokio::test]
async fn es256_signatures_are_fixed_64_bytes_and_eddsa_64_bytes() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    for (alg, len) in [
        (KeyAlg::Rs256, 256),
        (KeyAlg::Es256, 64),
        (KeyAlg::EdDsa, 64),
    ] {
        let token = issuer.token().alg(alg).sign();
        let sig = common::b64d(token.rsplit('.').next().expect("a segment"));
        assert_eq!(sig.len(), len, "{alg}");
    }
}

#[tokio::test]
async fn default_token_has_valid_header_and_claims() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let builder = issuer.token();
    assert_eq!(
        builder.header_json(),
        json!({"alg": "RS256", "typ": "JWT", "kid": issuer.signing_kid(KeyAlg::Rs256).expect("a signing key of that algorithm")})
    );
    let token = builder.sign();
    let c = claims(&token);
    let now = now();
    assert_eq!(c["iss"], issuer.issuer());
    assert_eq!(c["aud"], DEFAULT_AUDIENCE);
    assert_eq!(issuer.audience(), "https://api.example.test");
    assert_eq!(c["sub"], "user-1");
    let iat = c["iat"].as_i64().expect("a number");
    assert!((now - iat).abs() <= 2);
    assert_eq!(c["exp"].as_i64().expect("a number"), iat + 300);
    assert!(c.get("nbf").is_none());
    let jwk = issuer
        .public_jwk(header(&token)["kid"].as_str().expect("a string"))
        .expect("the issuer publishes that key");
    assert!(verify_with_jwk(&token, &jwk));
}

#[tokio::test]
async fn builder_audience_and_default_alg_are_used() {
    let issuer = MockIssuer::builder()
        .audience("orders")
        .keys([KeyAlg::EdDsa, KeyAlg::EdDsa])
        .default_alg(KeyAlg::EdDsa)
        .start()
        .await
        .expect("the mock issuer starts");
    let kids = issuer.published_kids();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], kids[1]);
    assert!(kids.iter().all(|k| k.starts_with("eddsa-")));
    let token = issuer.token().sign();
    assert_eq!(claims(&token)["aud"], "orders");
    assert_eq!(header(&token)["alg"], "EdDSA");
    // The newest key of an alg is its signer.
    assert_eq!(header(&token)["kid"], kids[1]);
    assert_eq!(issuer.signing_kid(KeyAlg::Rs256), None);
}

#[tokio::test]
async fn claim_and_header_edits_are_reflected() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let token = issuer
        .token()
        .claim("sub", "bob")
        .claim("roles", ["a", "b"])
        .claims(json!({"scope": "x y", "tenant": 7}))
        .without_claim("aud")
        .header("cty", "JWT")
        .without_header("typ")
        .expires_in(-60)
        .not_before_in(30)
        .issued_at_in(10)
        .sign();
    let (h, c) = (header(&token), claims(&token));
    let now = now();
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["roles"], json!(["a", "b"]));
    assert_eq!(c["scope"], "x y");
    assert_eq!(c["tenant"], 7);
    assert!(c.get("aud").is_none());
    assert!((c["exp"].as_i64().expect("a number") - (now - 60)).abs() <= 2);
    assert!((c["nbf"].as_i64().expect("a number") - (now + 30)).abs() <= 2);
    assert!((c["iat"].as_i64().expect("a number") - (now + 10)).abs() <= 2);
    assert_eq!(h["cty"], "JWT");
    assert!(h.get("typ").is_none());
    // Still correctly signed.
    let jwk = issuer
        .public_jwk(h["kid"].as_str().expect("a string"))
        .expect("the issuer publishes that key");
    assert!(verify_with_jwk(&token, &jwk));
}

#[tokio::test]
async fn convenience_tokens_have_user_and_machine_shapes() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let user = claims(&issuer.user_token("alice"));
    assert_eq!(user["sub"], "alice");
    assert_eq!(user["scope"], "openid profile");
    assert!(user.get("roles").is_none());

    let admin = claims(&issuer.user_token_with_roles("carol", &["admin", "ops"]));
    assert_eq!(admin["sub"], "carol");
    assert_eq!(admin["roles"], json!(["admin", "ops"]));
    assert_eq!(admin["scope"], "openid profile");

    let machine_token = issuer.machine_token("billing-svc");
    let machine = claims(&machine_token);
    assert_eq!(machine["sub"], "billing-svc");
    assert_eq!(machine["client_id"], "billing-svc");
    assert_eq!(machine["scope"], "read:reports");
    assert!(machine.get("gty").is_none());
    let jwk = issuer
        .public_jwk(header(&machine_token)["kid"].as_str().expect("a string"))
        .expect("the issuer publishes that key");
    assert!(verify_with_jwk(&machine_token, &jwk));
}

#[tokio::test]
async fn kid_sets_header_only_and_key_selects_signer() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let rs = issuer
        .signing_kid(KeyAlg::Rs256)
        .expect("a signing key of that algorithm");
    let rs_jwk = issuer
        .public_jwk(&rs)
        .expect("the issuer publishes that key");

    // Unknown kid in the header, still signed with the RS256 key.
    let token = issuer.token().kid("not-a-key").sign();
    assert_eq!(header(&token)["kid"], "not-a-key");
    assert_eq!(header(&token)["alg"], "RS256");
    assert!(verify_with_jwk(&token, &rs_jwk));

    // A removed key still signs via key(), but is no longer published.
    let old = issuer.add_key(KeyAlg::Rs256);
    assert!(issuer.remove_key(&old));
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert!(find_jwk(&jwks, &old).is_none());
    let token = issuer.token().key(&old).sign();
    assert_eq!(header(&token)["kid"], old);
    assert!(verify_with_jwk(
        &token,
        &issuer
            .public_jwk(&old)
            .expect("the issuer publishes that key")
    ));
    assert!(!verify_with_jwk(&token, &rs_jwk));
    // The default signer fell back to the original key.
    assert_eq!(issuer.signing_kid(KeyAlg::Rs256), Some(rs.clone()));

    // key() switches algorithms.
    let ed = issuer
        .signing_kid(KeyAlg::EdDsa)
        .expect("a signing key of that algorithm");
    let token = issuer.token().key(&ed).sign();
    assert_eq!(header(&token)["alg"], "EdDSA");
    assert!(verify_with_jwk(
        &token,
        &issuer
            .public_jwk(&ed)
            .expect("the issuer publishes that key")
    ));

    // A retired key stays usable via key() as well.
    assert!(issuer.retire_key(&ed));
    let token = issuer.token().key(&ed).sign();
    assert!(verify_with_jwk(
        &token,
        &issuer
            .public_jwk(&ed)
            .expect("the issuer publishes that key")
    ));

    // Lying alg header: signature still RS256.
    let token = issuer.token().header("alg", "RS512").sign();
    assert_eq!(header(&token)["alg"], "RS512");
    assert!(verify_with_jwk(&token, &rs_jwk));
}

#[tokio::test]
async fn missing_keys_are_reported_by_try_sign() {
    let issuer = MockIssuer::builder()
        .keys([KeyAlg::Es256])
        .start()
        .await
        .expect("the mock issuer starts");
    // Default alg RS256 but no RS256 key exists.
    assert_eq!(
        issuer.token().try_sign(),
        Err(Error::NoSigningKey(KeyAlg::Rs256))
    );
    assert_eq!(
        issuer.token().key("ghost").try_sign(),
        Err(Error::UnknownKey("ghost".into()))
    );
    let es = issuer
        .signing_kid(KeyAlg::Es256)
        .expect("a signing key of that algorithm");
    assert!(issuer.retire_key(&es));
    assert_eq!(
        issuer.token().alg(KeyAlg::Es256).try_sign(),
        Err(Error::NoSigningKey(KeyAlg::Es256))
    );
    assert!(issuer.token().key(&es).try_sign().is_ok());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| issuer.token().sign()));
    assert!(result.is_err(), "sign() panics without a key");
}

#[tokio::test]
async fn hs256_and_unsigned_tokens() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let secret = b"top secret";
    let token = issuer.token().sign_hs256(secret);
    let h = header(&token);
    assert_eq!(h["alg"], "HS256");
    assert!(h.get("kid").is_none(), "kid dropped unless explicit");
    let (input, sig) = token.rsplit_once('.').expect("a signature segment");
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    assert!(hmac::verify(&key, input.as_bytes(), &common::b64d(sig)).is_ok());
    assert!(hmac::verify(&key, b"other", &common::b64d(sig)).is_err());

    let token = issuer.token().kid("hmac-1").sign_hs256(secret);
    assert_eq!(header(&token)["kid"], "hmac-1");

    let token = issuer.token().claim("sub", "x").unsigned();
    assert!(token.ends_with('.'));
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(header(&token)["alg"], "none");
    assert_eq!(claims(&token)["sub"], "x");
}

#[tokio::test]
async fn sign_raw_encodes_bytes_exactly_and_signs_with_the_named_key() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let es = issuer
        .signing_kid(KeyAlg::Es256)
        .expect("a signing key of that algorithm");
    // Duplicate members and odd spacing survive untouched.
    let header_text = format!(r#"{{"alg":"ES256", "kid":"{es}","alg":"ES256"}}"#);
    let payload_text = r#"{"sub":"raw" , "exp": 1e20}"#;
    let token = issuer.sign_raw(&header_text, payload_text, Some(&es));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(common::b64d(parts[0]), header_text.as_bytes());
    assert_eq!(common::b64d(parts[1]), payload_text.as_bytes());
    assert!(verify_with_jwk(
        &token,
        &issuer
            .public_jwk(&es)
            .expect("the issuer publishes that key")
    ));

    let unsigned = issuer.sign_raw("not json", "{}", None);
    assert_eq!(
        unsigned,
        format!("{}.{}.", b64url(b"not json"), b64url(b"{}"))
    );

    assert_eq!(
        issuer.try_sign_raw("{}", "{}", Some("ghost")),
        Err(Error::UnknownKey("ghost".into()))
    );
}
