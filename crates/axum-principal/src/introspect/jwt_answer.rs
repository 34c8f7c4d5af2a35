//! What a signed introspection answer (RFC 9701) must say before its `token_introspection`
//! member is taken as the answer; its signature is checked with the issuer's keys by the
//! caller (`authenticator/introspected.rs`), between the header's checks and the claims'.
//! Pure, no I/O. Every failure is the issuer's or the path's, not the token's: 503
//! `introspection_unverified_response` (RFC 9701 §5).

use crate::alg::Algorithm;
use crate::rejection::IntrospectionFailure;
use crate::verify::{Claim, ClaimRead, Jws, RawClaims};

const UNVERIFIED: IntrospectionFailure = IntrospectionFailure::UnverifiedResponse;

/// The header: `typ` `token-introspection+jwt` (or with its `application/` prefix, RFC
/// 7515 §4.1.9), and a signing algorithm (`none` is no signature).
pub(crate) fn check_header(jws: &Jws<'_>) -> Result<Algorithm, IntrospectionFailure> {
    let typ = jws.header.typ.as_deref().unwrap_or_default();
    let typ = typ
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("application/"))
        .map_or(typ, |_| typ.get(12..).unwrap_or_default());
    if !typ.eq_ignore_ascii_case("token-introspection+jwt") {
        return Err(UNVERIFIED);
    }
    jws.header.alg.ok_or(UNVERIFIED)
}

/// The claims of a signed answer: `iss` the issuer, `aud` naming `client_id`, an `iat`;
/// the answer is the `token_introspection` object.
pub(crate) fn check_jwt_answer(
    claims: &RawClaims,
    issuer: &str,
    client_id: &str,
) -> Result<RawClaims, IntrospectionFailure> {
    if claims.str("iss").as_deref() != Some(issuer) {
        return Err(UNVERIFIED);
    }
    let names_us = match claims.claim("aud") {
        Some(Claim::Str(aud)) => aud == client_id,
        Some(Claim::Array(auds)) => auds
            .strings()
            .is_ok_and(|auds| auds.iter().any(|a| a == client_id)),
        _ => false,
    };
    if !names_us || !matches!(claims.claim("iat"), Some(Claim::Number(_))) {
        return Err(UNVERIFIED);
    }
    match claims.value("token_introspection") {
        Some(serde_json::Value::Object(answer)) => Ok(RawClaims::from(answer)),
        _ => Err(UNVERIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ISSUER: &str = "https://id.example.com";

    fn checked(value: Value) -> Result<RawClaims, IntrospectionFailure> {
        let claims = RawClaims::parse(value.to_string()).expect("an object");
        check_jwt_answer(&claims, ISSUER, "orders-api")
    }

    fn signed() -> Value {
        json!({
            "iss": ISSUER, "aud": "orders-api", "iat": 1,
            "token_introspection": {"active": true, "sub": "alice"}
        })
    }

    #[test]
    fn the_answer_is_the_token_introspection_member() {
        let answer = checked(signed()).expect("verified");
        assert_eq!(answer.str("sub").as_deref(), Some("alice"));
        let mut listed = signed();
        listed["aud"] = json!(["other", "orders-api"]);
        assert!(checked(listed).is_ok());
    }

    #[test]
    fn a_wrong_issuer_audience_iat_or_answer_is_unverified() {
        for (member, value) in [
            ("iss", json!("https://evil.example.com")),
            ("aud", json!("another-client")),
            ("aud", json!(["another-client"])),
            ("iat", json!("yesterday")),
            ("token_introspection", json!("active")),
        ] {
            let mut claims = signed();
            claims[member] = value.clone();
            assert_eq!(
                checked(claims).map(|_| ()),
                Err(UNVERIFIED),
                "{member}: {value}"
            );
        }
        let mut claims = signed();
        claims.as_object_mut().map(|o| o.remove("iat"));
        assert_eq!(checked(claims).map(|_| ()), Err(UNVERIFIED), "no iat");
    }
}
