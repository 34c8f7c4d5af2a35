//! RFC 7638 JWK thumbprints: SHA-256 over the key's required members, in lexicographic
//! order, as JSON without whitespace.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::crypto::sha256;
use crate::verify::Object;

/// The base64url SHA-256 thumbprint of a public JWK (`EC`, `RSA` or `OKP`), or `None` when
/// a required member is missing or not a string.
pub(crate) fn thumbprint(jwk: &Object) -> Option<String> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str)? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name).and_then(Value::as_str)?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json escapes exactly as RFC 7638 §3.1 (RFC 8259) asks.
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(value).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(sha256(&[canonical.as_bytes()])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_7638_example() {
        // RFC 7638 §3.1: the RSA key and its thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let jwk = jwk.as_object().expect("an object");
        assert_eq!(
            thumbprint(jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn a_missing_or_odd_member_has_no_thumbprint() {
        for jwk in [
            json!({"kty":"EC","crv":"P-256","x":"a"}),
            json!({"kty":"EC","crv":"P-256","x":"a","y":1}),
            json!({"kty":"oct","k":"a"}),
            json!({"n":"a","e":"b"}),
        ] {
            assert_eq!(
                thumbprint(jwk.as_object().expect("an object")),
                None,
                "{jwk}"
            );
        }
    }
}
