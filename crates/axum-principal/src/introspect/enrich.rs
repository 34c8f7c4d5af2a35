//! "Enrich" mode's merge (Keycloak's lightweight access tokens): a JWT verified locally,
//! completed by its introspection answer. Pure, no I/O.
//!
//! * the answer is `active` (the JSON value `true`), else the token is inactive;
//! * where the answer names `iss`, `sub` or `aud`, it names what the JWT does (the issuer's
//!   URL for `iss`; `aud` as the same set, a string or an array): an answer about another
//!   token, subject or API is refused;
//! * the JWT's own claims win; the answer's other members (but `active`) are added, and
//!   `client_id` only to a JWT that names no client (`azp`): an answer's `client_id` is the
//!   client the token was issued to, in every answer, while Keycloak writes a `client_id`
//!   claim into a service account's token only and its rule reads it so. Taken from the
//!   answer, it would make a user whose username is `service-account-` + the client they
//!   signed in through a machine.

use serde_json::Value;

use crate::rejection::InvalidToken;
use crate::verify::{Claim, ClaimRead, RawClaims};

/// The JWT's claims completed by `answer`, once the answer is found to be about it.
pub(crate) fn merge(
    jwt: RawClaims,
    answer: RawClaims,
    issuer: &str,
) -> Result<RawClaims, InvalidToken> {
    if answer.claim("active") != Some(Claim::Bool(true)) {
        return Err(InvalidToken::Inactive);
    }
    let mut claims = jwt.into_map();
    let answer = answer.into_map();
    match answer.get("iss") {
        None => {}
        Some(Value::String(iss)) if iss == issuer => {}
        Some(_) => return Err(InvalidToken::UnknownIssuer),
    }
    if let (Some(theirs), Some(ours)) = (answer.get("sub"), claims.get("sub")) {
        if theirs != ours {
            return Err(InvalidToken::InvalidClaim);
        }
    }
    if let (Some(theirs), Some(ours)) = (answer.get("aud"), claims.get("aud")) {
        if audiences(theirs).ok_or(InvalidToken::WrongAudience)?
            != audiences(ours).ok_or(InvalidToken::WrongAudience)?
        {
            return Err(InvalidToken::WrongAudience);
        }
    }
    let names_client = claims.contains_key("azp");
    for (name, value) in answer {
        let metadata = name == "active" || (name == "client_id" && names_client);
        if !metadata && !claims.contains_key(&name) {
            claims.insert(name, value);
        }
    }
    Ok(RawClaims::from(claims))
}

/// An `aud` as a sorted set of strings; `None` if it is neither a string nor strings.
fn audiences(aud: &Value) -> Option<Vec<&str>> {
    let mut set: Vec<&str> = match aud {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().map(Value::as_str).collect::<Option<_>>()?,
        _ => return None,
    };
    set.sort_unstable();
    set.dedup();
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://sso.example.com/realms/acme";

    fn claims(value: Value) -> RawClaims {
        RawClaims::parse(value.to_string()).expect("an object")
    }

    fn jwt() -> RawClaims {
        claims(json!({"iss": ISSUER, "sub": "alice", "aud": ["api", "account"], "exp": 10}))
    }

    #[test]
    fn the_answer_adds_what_the_jwt_lacks_and_never_overrides_it() {
        let answer = claims(json!({
            "active": true, "iss": ISSUER, "sub": "alice", "aud": ["account", "api"],
            "exp": 99, "realm_access": {"roles": ["admin"]}, "client_id": "web"
        }));
        let merged = merge(jwt(), answer, ISSUER).expect("agrees").into_map();
        assert_eq!(merged["realm_access"], json!({"roles": ["admin"]}));
        assert_eq!(merged["client_id"], "web");
        assert_eq!(merged["exp"], 10, "the JWT's own claims win");
        assert!(!merged.contains_key("active"));
        // A JWT that names its client (`azp`) gets no `client_id` from the answer.
        let keycloak = claims(json!({"iss": ISSUER, "sub": "u1", "azp": "web", "exp": 10}));
        let answer = claims(json!({
            "active": true, "client_id": "web", "preferred_username": "service-account-web"
        }));
        let merged = merge(keycloak, answer, ISSUER).expect("agrees").into_map();
        assert!(!merged.contains_key("client_id"), "{merged:?}");
        assert_eq!(merged["preferred_username"], "service-account-web");
        // An answer that names none of iss/sub/aud agrees by default.
        let bare = claims(json!({"active": true, "roles": ["x"]}));
        assert!(merge(jwt(), bare, ISSUER).is_ok());
    }

    #[test]
    fn an_inactive_or_disagreeing_answer_is_refused() {
        let cases = [
            (json!({"active": false}), InvalidToken::Inactive),
            (json!({"active": "true"}), InvalidToken::Inactive),
            (json!({"roles": ["x"]}), InvalidToken::Inactive),
            (
                json!({"active": true, "iss": "https://other.example.com"}),
                InvalidToken::UnknownIssuer,
            ),
            (
                json!({"active": true, "sub": "mallory"}),
                InvalidToken::InvalidClaim,
            ),
            (
                json!({"active": true, "aud": "api"}),
                InvalidToken::WrongAudience,
            ),
            (
                json!({"active": true, "aud": ["api", "other"]}),
                InvalidToken::WrongAudience,
            ),
        ];
        for (answer, reason) in cases {
            assert_eq!(
                merge(jwt(), claims(answer.clone()), ISSUER).map(|_| ()),
                Err(reason),
                "{answer}"
            );
        }
    }
}
