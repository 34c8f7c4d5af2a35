//! The client assertion of `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT
//! this service signs for each call, so that a captured one is of no use for long
//! (`exp` 60 s) nor twice (a random `jti` the issuer remembers).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use zeroize::Zeroizing;

use crate::config::ClientKey;

/// How long an assertion is valid: long enough for clock skew and one call, no more.
pub(crate) const ASSERTION_LIFETIME_SECS: i64 = 60;

/// The form value of `client_assertion_type` (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fresh assertion by `client_id` for `audience` (the issuer identifier), issued at
/// `now`; `None` only if the system's random generator or the signer fails.
pub(crate) fn client_assertion(
    key: &ClientKey,
    client_id: &str,
    audience: &str,
    now: i64,
) -> Option<Zeroizing<String>> {
    let jti = URL_SAFE_NO_PAD.encode(crate::signing::random_bytes::<18>()?);
    let mut header = json!({"alg": key.alg.as_str(), "typ": "JWT"});
    if let Some(kid) = &key.kid {
        header["kid"] = json!(&**kid);
    }
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now.saturating_add(ASSERTION_LIFETIME_SECS),
    });
    let mut jwt = Zeroizing::new(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ));
    let signature = key.key.sign(jwt.as_bytes())?;
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Some(jwt)
}

#[cfg(all(test, feature = "aws-lc-rs"))]
mod tests {
    use super::*;
    use crate::alg::Algorithm;
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair as _};
    use serde_json::Value;

    fn pem(der: &[u8]) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    }

    #[test]
    fn an_assertion_is_signed_and_says_who_for_whom_and_until_when() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("a key");
        let pair = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .expect("parses");
        let key = ClientKey::from_pem(Algorithm::ES256, pem(pkcs8.as_ref()))
            .expect("a PKCS#8 key")
            .kid("k1");
        let jwt =
            client_assertion(&key, "orders-api", "https://id.example.com", 1000).expect("signed");
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, signature] = parts.as_slice() else {
            panic!("three parts");
        };
        let decode = |s: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("json")
        };
        assert_eq!(
            decode(header),
            json!({"alg": "ES256", "typ": "JWT", "kid": "k1"})
        );
        let claims_json = decode(claims);
        assert_eq!(claims_json["iss"], "orders-api");
        assert_eq!(claims_json["sub"], "orders-api");
        assert_eq!(claims_json["aud"], "https://id.example.com");
        assert_eq!(claims_json["iat"], 1000);
        assert_eq!(claims_json["exp"], 1060);
        let public = sig::UnparsedPublicKey::new(
            &sig::ECDSA_P256_SHA256_FIXED,
            pair.public_key().as_ref().to_vec(),
        );
        let signed = format!("{header}.{claims}");
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
            )
            .expect("signed by the key");
        let again =
            client_assertion(&key, "orders-api", "https://id.example.com", 1000).expect("signed");
        let jti = |jwt: &str| decode(jwt.split('.').nth(1).expect("claims"))["jti"].clone();
        assert_ne!(jti(&jwt), jti(&again), "a new jti for every call");
    }
}
