//! JWK parsing: one JWKS entry into a ready-to-verify [`VerifyingKey`], one entry at a time.
//! Pure (no I/O) and a leaf: it builds on [`Algorithm`] and the crypto backend only, so the
//! configuration can parse a static JWKS once and the key store can parse fetched ones.
//!
//! Tolerant by design: encryption keys, unknown key types, unsupported curves and malformed
//! entries are skipped (and logged at debug), never failing the set.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::alg::Algorithm;
use crate::crypto::{sha256, KeyMaterial};

/// A verification key from a JWKS (or a configured HMAC secret), parsed once.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<String>,
    family: KeyFamily,
    jwk_alg: Option<Algorithm>,
    pub(crate) material: KeyMaterial,
    /// SHA-256 of the key's public components, to tell whether a refreshed set still holds
    /// the same key (the token cache drops entries whose key left the set).
    pub(crate) fingerprint: [u8; 32],
    /// The JWK's `issuer` member (Microsoft's JWKS extension): when present the key verifies
    /// only tokens of that issuer; a `{tenantid}` in it is filled with the token's `tid`.
    pub(crate) issuer: Option<Box<str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
    Hmac,
}

impl VerifyingKey {
    /// The key of a configured HMAC secret (never from a JWKS).
    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Self {
            kid: None,
            family: KeyFamily::Hmac,
            jwk_alg: None,
            material: KeyMaterial::hmac(secret),
            fingerprint: sha256(&[b"oct", secret]),
            issuer: None,
        }
    }

    /// Whether this key may verify a token with this `iss` (and `tid`): always for a key
    /// without an `issuer` member; otherwise only when the member equals `iss`, or, for a
    /// member with `{tenantid}`, when filling it with the token's `tid` gives `iss`.
    pub(crate) fn serves(&self, iss: &str, tid: Option<&str>) -> bool {
        let Some(own) = self.issuer.as_deref() else {
            return true;
        };
        match own.split_once(crate::tenant::PLACEHOLDER) {
            None => own == iss,
            Some((prefix, suffix)) => tid.is_some_and(|tid| {
                crate::tenant::is_tenant_id(tid) && crate::tenant::fills(prefix, suffix, tid, iss)
            }),
        }
    }

    /// The key decides the algorithm: its type and curve must fit, and a JWK's own `alg`,
    /// when present, must equal the token's.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        use Algorithm as A;
        let family_fits = match self.family {
            KeyFamily::Rsa => alg.is_rsa(),
            KeyFamily::EcP256 => alg == A::ES256,
            KeyFamily::EcP384 => alg == A::ES384,
            KeyFamily::Ed25519 => alg == A::EdDSA,
            KeyFamily::Hmac => alg.is_hmac(),
        };
        family_fits && self.jwk_alg.is_none_or(|a| a == alg)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.jwk_alg)
            .finish_non_exhaustive()
    }
}

/// Why a JWKS document was refused as a whole (single keys are skipped, never refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwksError {
    /// The body is not JSON.
    NotJson,
    /// The JSON has no `keys` array.
    NotJwks,
}

/// Parses a JWKS one key at a time, keeping at most `max_keys` usable keys with distinct
/// `kid`s; unusable keys are skipped and logged at debug.
pub(crate) fn parse_jwks(
    body: &[u8],
    algorithms: &[Algorithm],
    max_keys: usize,
) -> Result<Vec<Arc<VerifyingKey>>, JwksError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| JwksError::NotJson)?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err(JwksError::NotJwks);
    };
    let mut keys: Vec<Arc<VerifyingKey>> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if keys.len() >= max_keys {
            tracing::debug!(
                max_keys,
                "JWKS has more keys than the cap; ignoring the rest"
            );
            break;
        }
        match parse_jwk(entry, algorithms) {
            Ok(key) => {
                if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
                    tracing::debug!(index, "skipping JWKS key: duplicate kid");
                    continue;
                }
                keys.push(Arc::new(key));
            }
            Err(reason) => tracing::debug!(index, reason, "skipping JWKS key"),
        }
    }
    Ok(keys)
}

/// Smallest and largest RSA moduli accepted, in bytes (2048 and 8192 bits).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

/// Parses one JWKS entry into a key for the allowed `algorithms` it fits; the error says
/// (for the debug log) why the entry was skipped.
pub(crate) fn parse_jwk(
    entry: &Value,
    algorithms: &[Algorithm],
) -> Result<VerifyingKey, &'static str> {
    let Value::Object(jwk) = entry else {
        return Err("not an object");
    };
    let field = |name: &str| -> Result<Option<&str>, &'static str> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err("a member has the wrong type"),
        }
    };
    let required = |name: &str| field(name)?.ok_or("a required member is missing");
    if let Some(usage) = field("use")? {
        if usage != "sig" {
            return Err("not a signing key (use)");
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verifies {
            return Err("not a verification key (key_ops)");
        }
    }
    let kid = field("kid")?.map(str::to_owned);
    let issuer: Option<Box<str>> = field("issuer")?.map(Box::from);
    let jwk_alg = match field("alg")? {
        None => None,
        Some(name) => {
            let alg = Algorithm::from_name(name).ok_or("unsupported alg")?;
            if alg.is_hmac() {
                return Err("symmetric keys are never taken from a JWKS");
            }
            if !algorithms.contains(&alg) {
                return Err("alg not on the allow-list");
            }
            Some(alg)
        }
    };
    let fits_jwk_alg = |alg: &Algorithm| jwk_alg.is_none_or(|a| a == *alg);
    let (family, material, fingerprint) = match required("kty")? {
        "RSA" => {
            let n = b64(required("n")?)?;
            let e = b64(required("e")?)?;
            let n = n
                .iter()
                .skip_while(|b| **b == 0)
                .copied()
                .collect::<Vec<u8>>();
            if !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len()) {
                return Err("RSA modulus size out of range");
            }
            if e.is_empty() || e.len() > 8 {
                return Err("RSA exponent out of range");
            }
            let rsa_algs: Vec<Algorithm> = algorithms
                .iter()
                .copied()
                .filter(|a| a.is_rsa())
                .filter(fits_jwk_alg)
                .collect();
            if rsa_algs.is_empty() {
                return Err("no allowed algorithm fits this key");
            }
            let material = KeyMaterial::rsa(&n, &e, &rsa_algs).ok_or("bad RSA key")?;
            (KeyFamily::Rsa, material, sha256(&[b"RSA", &n, b".", &e]))
        }
        "EC" => {
            let (family, alg, size) = match required("crv")? {
                "P-256" => (KeyFamily::EcP256, Algorithm::ES256, 32),
                "P-384" => (KeyFamily::EcP384, Algorithm::ES384, 48),
                _ => return Err("unsupported curve"),
            };
            if !algorithms.contains(&alg) || !fits_jwk_alg(&alg) {
                return Err("no allowed algorithm fits this key");
            }
            let x = b64(required("x")?)?;
            let y = b64(required("y")?)?;
            if x.len() != size || y.len() != size {
                return Err("EC coordinate has the wrong length");
            }
            let material = KeyMaterial::ec(alg, &x, &y).ok_or("bad EC key")?;
            (family, material, sha256(&[b"EC", &x, &y]))
        }
        "OKP" => {
            if required("crv")? != "Ed25519" {
                return Err("unsupported curve");
            }
            if !algorithms.contains(&Algorithm::EdDSA) || !fits_jwk_alg(&Algorithm::EdDSA) {
                return Err("no allowed algorithm fits this key");
            }
            let x = b64(required("x")?)?;
            if x.len() != 32 {
                return Err("Ed25519 key has the wrong length");
            }
            let material = KeyMaterial::ed25519(&x).ok_or("bad OKP key")?;
            (KeyFamily::Ed25519, material, sha256(&[b"OKP", &x]))
        }
        "oct" => return Err("symmetric keys are never taken from a JWKS"),
        _ => return Err("unknown kty"),
    };
    // The fingerprint names what the key may verify, not only its material: a cached token
    // is served only while its key is held with the same `issuer` restriction.
    let fingerprint = match issuer.as_deref() {
        Some(own) => sha256(&[&fingerprint, b"\0issuer\0", own.as_bytes()]),
        None => fingerprint,
    };
    Ok(VerifyingKey {
        kid,
        family,
        jwk_alg,
        material,
        fingerprint,
        issuer,
    })
}

fn b64(s: &str) -> Result<Vec<u8>, &'static str> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| "bad base64url")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Real public keys (generated once for these tests): key material is validated when
    // parsed, so made-up bytes would be refused.
    const RSA_N: &str = "roX4eOdMZClDu_wcKxKOWCK0HFgNkysPhWfl3V-WyIwj3-QWbbzmLkU7huuE896YZjvcTYyAAu07lb0BXhnwmXEGJDasqtLhhR8-edM5rb1pcSyMa0rN5V1FNWpPWErBfdnqKF_n_TQKHzxZanClA9CgFt4BX0iHVfJo5vGVS96x6xEbx-R5gQGy3KI1Gmmxlm_sLkxwxaAke1nBVWQ7lb1aEUXYeF2rzFgUxXaWtNu8CEER8QsgiFGXtS9Wdhk8ILp-8yw-6GcM0qkFnL9l0bEDZL6PH2JgBAaXMtN8eJ7ammCXShGmH35JnYnNh3WqV2SDik6tkowX-faKrl3x0w";
    const P256_X: &str = "8phgc2fp8g0ZGPfz3eRZxHIu8Xl0Z9w2RTa8kqqjIjQ";
    const P256_Y: &str = "gw98sTfRaDN6fhmrHAOY0GCmVDzZL3F19p1cD5PzeW8";
    const ED_X: &str = "W-06xkm-nUzz8G7_xLlEAfw33d3OksTzK_E-tXTyzek";

    fn n_2048() -> String {
        RSA_N.to_owned()
    }

    fn p256() -> (String, String) {
        (P256_X.to_owned(), P256_Y.to_owned())
    }

    #[test]
    fn one_odd_key_never_empties_the_set() {
        let (x, y) = p256();
        let doc = json!({"keys": [
            {"kty":"RSA","kid":"enc","use":"enc","n":n_2048(),"e":"AQAB"},
            {"kty":"weird","kid":"w"},
            {"kty":"EC","kid":"secp256k1","crv":"secp256k1","x":x,"y":y},
            {"kty":"RSA","kid":"small","n":URL_SAFE_NO_PAD.encode([7u8; 128]),"e":"AQAB"},
            {"kty":"RSA","kid":"bad-b64","n":"!!!","e":"AQAB"},
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"hs-alg","alg":"HS256","n":n_2048(),"e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":n_2048(),"e":"AQAB"},
            "not an object",
            {"kty":"RSA","kid":"good-rsa","use":"sig","alg":"RS256","n":n_2048(),"e":"AQAB"},
            {"kty":"EC","kid":"good-ec","crv":"P-256","x":x,"y":y},
            {"kty":"OKP","kid":"good-ed","crv":"Ed25519","x":ED_X},
            {"kty":"EC","kid":"off-curve","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8; 32]),"y":URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty":"RSA","kid":"good-rsa","n":n_2048(),"e":"AQAB"}
        ]});
        let body = serde_json::to_vec(&doc).expect("a JSON value serializes");
        let keys = parse_jwks(&body, &Algorithm::ASYMMETRIC, 100).expect("a JWKS document");
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["good-rsa", "good-ec", "good-ed"]);
    }

    #[test]
    fn not_a_jwks_is_an_error() {
        assert!(matches!(
            parse_jwks(b"nope", &Algorithm::ASYMMETRIC, 10),
            Err(JwksError::NotJson)
        ));
        assert!(matches!(
            parse_jwks(b"{\"keys\":{}}", &Algorithm::ASYMMETRIC, 10),
            Err(JwksError::NotJwks)
        ));
    }

    #[test]
    fn the_key_decides_the_algorithm() {
        let rsa = parse_jwk(
            &json!({"kty":"RSA","n":n_2048(),"e":"AQAB"}),
            &Algorithm::ASYMMETRIC,
        );
        let rsa = rsa.unwrap_or_else(|e| panic!("{e}"));
        assert!(rsa.fits(Algorithm::RS256) && rsa.fits(Algorithm::PS512));
        assert!(!rsa.fits(Algorithm::ES256) && !rsa.fits(Algorithm::HS256));
        let pinned = parse_jwk(
            &json!({"kty":"RSA","alg":"RS256","n":n_2048(),"e":"AQAB"}),
            &Algorithm::ASYMMETRIC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(pinned.fits(Algorithm::RS256) && !pinned.fits(Algorithm::RS384));
        let (x, y) = p256();
        let ec = parse_jwk(
            &json!({"kty":"EC","crv":"P-256","x":x,"y":y}),
            &Algorithm::ASYMMETRIC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(ec.fits(Algorithm::ES256) && !ec.fits(Algorithm::ES384));
        let mismatched = parse_jwk(
            &json!({"kty":"EC","crv":"P-256","alg":"ES384","x":x,"y":y}),
            &Algorithm::ASYMMETRIC,
        );
        assert!(mismatched.is_err());
        let hmac = VerifyingKey::hmac(&[0u8; 32]);
        assert!(hmac.fits(Algorithm::HS256) && !hmac.fits(Algorithm::RS256));
    }

    #[test]
    fn an_issuer_member_limits_the_key_to_that_issuer() {
        let key = |issuer: Value| {
            parse_jwk(
                &json!({"kty":"OKP","crv":"Ed25519","x":ED_X,"issuer":issuer}),
                &Algorithm::ASYMMETRIC,
            )
        };
        let plain = parse_jwk(
            &json!({"kty":"OKP","crv":"Ed25519","x":ED_X}),
            &Algorithm::ASYMMETRIC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(plain.serves("https://any.example.com", None));
        let exact = key(json!("https://a.example.com")).unwrap_or_else(|e| panic!("{e}"));
        assert!(exact.serves("https://a.example.com", None));
        assert!(!exact.serves("https://b.example.com", None));
        let template = key(json!("https://login.example.com/{tenantid}/v2.0"))
            .unwrap_or_else(|e| panic!("{e}"));
        let iss = "https://login.example.com/t1/v2.0";
        assert!(template.serves(iss, Some("t1")));
        assert!(!template.serves(iss, Some("t2")));
        assert!(!template.serves(iss, None));
        assert!(!template.serves("https://login.example.com/a/b/v2.0", Some("a/b")));
        assert!(
            key(json!(7)).is_err(),
            "a non-string issuer member skips the key"
        );
    }

    /// The fingerprint a cached token is re-checked against covers the key's `issuer`
    /// restriction: the same material restricted differently is another key.
    #[test]
    fn the_fingerprint_covers_the_issuer_member() {
        let key =
            |jwk: Value| parse_jwk(&jwk, &Algorithm::ASYMMETRIC).unwrap_or_else(|e| panic!("{e}"));
        let plain = key(json!({"kty":"OKP","crv":"Ed25519","x":ED_X}));
        let a = key(json!({"kty":"OKP","crv":"Ed25519","x":ED_X,"issuer":"https://a.example.com"}));
        let b = key(json!({"kty":"OKP","crv":"Ed25519","x":ED_X,"issuer":"https://b.example.com"}));
        let a_again = key(
            json!({"kty":"OKP","crv":"Ed25519","x":ED_X,"issuer":"https://a.example.com","kid":"k"}),
        );
        assert_ne!(plain.fingerprint, a.fingerprint);
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(
            a.fingerprint, a_again.fingerprint,
            "the kid is not part of it"
        );
    }

    #[test]
    fn keys_outside_the_allow_list_are_skipped() {
        let only_es = [Algorithm::ES256];
        assert!(parse_jwk(&json!({"kty":"RSA","n":n_2048(),"e":"AQAB"}), &only_es).is_err());
    }
}
