//! What an introspection answer must say before its members count as the token's claims
//! (RFC 7662 §2.2, with the checks a resource server owes on top): pure, no I/O.
//!
//! * `active` is the JSON value `true` (anything else, absent included: inactive);
//! * `iss`, optional in an answer, names the issuer asked when present;
//! * the answer is about an access token: not a refresh token (`token_type` or Hydra's
//!   `token_use`), nor an ID, logout or refresh token by the JWT markers;
//! * `exp` is present and not past, `aud` present and one of the accepted audiences
//!   (an issuer answers `active` for tokens of every API it serves), `nbf`/`iat` as for a
//!   JWT;
//! * a `cnf` member binds the token; so does `token_type: DPoP` (without a `cnf.jkt` the
//!   binding cannot be checked, and the token is refused under both schemes).

use crate::binding::Binding;
use crate::rejection::InvalidToken;
use crate::verify::{self, Claim, ClaimChecks, ClaimRead, RawClaims, Validity};

/// Checks an answer from `checks.issuer`'s endpoint: its validity and binding.
pub(crate) fn check(
    claims: &RawClaims,
    checks: ClaimChecks<'_>,
    accept_id_tokens: bool,
) -> Result<(Validity, Binding), InvalidToken> {
    if claims.claim("active") != Some(Claim::Bool(true)) {
        return Err(InvalidToken::Inactive);
    }
    match claims.claim("iss") {
        None => {}
        Some(Claim::Str(iss)) if iss == checks.issuer => {}
        Some(Claim::Str(_)) => return Err(InvalidToken::UnknownIssuer),
        Some(_) => return Err(InvalidToken::InvalidClaim),
    }
    let names_refresh_token = |name: &str| {
        claims.str(name).is_some_and(|v| {
            v.eq_ignore_ascii_case("refresh_token") || v.eq_ignore_ascii_case("refresh")
        })
    };
    if names_refresh_token("token_type") || names_refresh_token("token_use") {
        return Err(InvalidToken::NotAccessToken);
    }
    let checks = ClaimChecks {
        // An answer without `aud` is refused, whatever the issuer's JWT settings allow.
        client_id_as_audience: false,
        ..checks
    };
    let validity = verify::check_registered(claims, checks)?;
    verify::check_access_token(claims, accept_id_tokens)?;
    let mut binding = Binding::from_claims(claims)?;
    let dpop = claims
        .str("token_type")
        .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"));
    if dpop && binding.jkt.is_none() {
        binding.bound = true;
        binding.unknown = true;
    }
    Ok((validity, binding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ISSUER: &str = "https://id.example.com";
    const NOW: i64 = 1_700_000_000;

    fn answer(value: Value) -> RawClaims {
        RawClaims::parse(value.to_string()).expect("an object")
    }

    fn checked(value: Value) -> Result<(Validity, Binding), InvalidToken> {
        let audiences = ["api".to_owned()];
        let checks = ClaimChecks {
            issuer: ISSUER,
            audiences: &audiences,
            leeway_secs: 60,
            now_secs: NOW,
            client_id_as_audience: true,
        };
        check(&answer(value), checks, false)
    }

    fn active() -> Value {
        json!({"active": true, "aud": "api", "exp": NOW + 300, "client_id": "c", "scope": "a"})
    }

    fn with(member: &str, value: Value) -> Value {
        let mut answer = active();
        answer[member] = value;
        answer
    }

    fn without(member: &str) -> Value {
        let mut answer = active();
        answer.as_object_mut().map(|o| o.remove(member));
        answer
    }

    #[test]
    fn an_active_answer_for_this_api_passes() {
        let (validity, binding) = checked(active()).expect("active");
        assert_eq!(validity.expires_at, NOW + 300);
        assert!(!binding.bound);
        assert!(checked(with("iss", json!(ISSUER))).is_ok());
    }

    #[test]
    fn only_the_json_value_true_is_active() {
        for value in [json!(false), json!("true"), json!(1), json!(null)] {
            assert_eq!(
                checked(with("active", value.clone())).map(|_| ()),
                Err(InvalidToken::Inactive),
                "{value}"
            );
        }
        assert_eq!(
            checked(without("active")).map(|_| ()),
            Err(InvalidToken::Inactive)
        );
    }

    #[test]
    fn every_check_has_its_reason() {
        let cases = [
            (
                with("iss", json!("https://other.example.com")),
                InvalidToken::UnknownIssuer,
            ),
            (
                with("aud", json!("another-api")),
                InvalidToken::WrongAudience,
            ),
            (without("aud"), InvalidToken::WrongAudience),
            (without("exp"), InvalidToken::MissingExpiry),
            (with("exp", json!(NOW - 61)), InvalidToken::Expired),
            (
                with("token_type", json!("refresh_token")),
                InvalidToken::NotAccessToken,
            ),
            (
                with("token_use", json!("refresh_token")),
                InvalidToken::NotAccessToken,
            ),
            (with("typ", json!("Refresh")), InvalidToken::NotAccessToken),
            (with("token_use", json!("id")), InvalidToken::IdToken),
        ];
        for (answer, reason) in cases {
            assert_eq!(checked(answer.clone()).map(|_| ()), Err(reason), "{answer}");
        }
    }

    #[test]
    fn cnf_or_token_type_dpop_binds_the_token() {
        let (_, binding) = checked(with("cnf", json!({"jkt": "abc"}))).expect("active");
        assert_eq!(binding.jkt.as_deref(), Some("abc"));
        let (_, binding) = checked(with("token_type", json!("DPoP"))).expect("active");
        assert!(binding.bound && binding.unknown && binding.jkt.is_none());
        let (_, binding) = checked(with("token_type", json!("Bearer"))).expect("active");
        assert!(!binding.bound);
    }
}
