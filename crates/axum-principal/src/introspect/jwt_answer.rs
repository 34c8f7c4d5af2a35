//! What a signed introspection answer (RFC 9701) must say before its `token_introspection`
//! member is taken as the answer; its signature is checked with the issuer's keys by the
//! caller (`authenticator/introspected.rs`), between the header's checks and the claims'.
//! Pure, no I/O. Every failure is the issuer's or the path's, not the token's: 503
//! `introspection_unverified_response` (RFC 9701 §5).

use std::ops::RangeInclusive;

use crate::alg::Algorithm;
use crate::rejection::IntrospectionFailure;
use crate::verify::{numeric_date, Claim, ClaimRead, Jws, RawClaims};

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

/// The claims of a signed answer: `iss` the issuer, `aud` naming `client_id`, an `iat`
/// within `fresh` (the call's own span, widened by the clock leeway: an answer signed
/// before this call was made is a replayed one, and RFC 9701 names no token to tell it
/// by), an `exp` if any not past; the answer is the `token_introspection` object.
pub(crate) fn check_jwt_answer(
    claims: &RawClaims,
    issuer: &str,
    client_id: &str,
    fresh: RangeInclusive<i64>,
) -> Result<RawClaims, IntrospectionFailure> {
    if claims.str("iss").as_deref() != Some(issuer) {
        return Err(UNVERIFIED);
    }
    let names_us = match claims.claim("aud") {
        Some(Claim::Str(aud)) => aud == client_id,
        Some(Claim::Array(auds)) => {
            let mut named = false;
            auds.each_string(|aud| named |= aud == client_id).is_ok() && named
        }
        _ => false,
    };
    let iat = numeric_date(claims, "iat");
    if !names_us || !matches!(iat, Ok(Some(iat)) if fresh.contains(&iat)) {
        return Err(UNVERIFIED);
    }
    match numeric_date(claims, "exp") {
        Ok(None) => {}
        Ok(Some(exp)) if exp > *fresh.start() => {}
        _ => return Err(UNVERIFIED),
    }
    match claims.claim("token_introspection").map(Claim::into_value) {
        Some(serde_json::Value::Object(answer)) => Ok(RawClaims::from(answer)),
        _ => Err(UNVERIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ISSUER: &str = "https://id.example.com";
    const NOW: i64 = 1_700_000_000;

    fn checked(value: Value) -> Result<RawClaims, IntrospectionFailure> {
        let claims = RawClaims::parse(value.to_string()).expect("an object");
        check_jwt_answer(&claims, ISSUER, "orders-api", NOW - 60..=NOW + 60)
    }

    fn signed() -> Value {
        json!({
            "iss": ISSUER, "aud": "orders-api", "iat": NOW,
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

    /// A signed answer with `member` set to `value` is refused as unverified.
    fn assert_unverified_with(member: &str, value: Value) {
        let mut claims = signed();
        claims[member] = value.clone();
        assert_eq!(
            checked(claims).map(|_| ()),
            Err(UNVERIFIED),
            "{member}: {value}"
        );
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
            assert_unverified_with(member, value);
        }
        let mut claims = signed();
        claims.as_object_mut().map(|o| o.remove("iat"));
        assert_eq!(checked(claims).map(|_| ()), Err(UNVERIFIED), "no iat");
    }

    #[test]
    fn an_answer_signed_before_the_call_is_a_replay() {
        // A signed answer captured an hour ago (the token active then, revoked since) and
        // sent back for this call: RFC 9701 names no token, only `iat` tells it apart.
        for (member, value) in [
            ("iat", json!(NOW - 3600)),
            ("iat", json!(NOW - 61)),
            ("iat", json!(NOW + 61)),
            ("exp", json!(NOW - 61)),
            ("exp", json!("tomorrow")),
        ] {
            assert_unverified_with(member, value);
        }
        let mut within = signed();
        within["iat"] = json!(NOW - 59);
        within["exp"] = json!(NOW + 60);
        assert!(checked(within).is_ok(), "within the leeway");
    }
}
