//! Token → verified claims: pure functions, no I/O (decision 2 in `docs/decisions.md`).
//!
//! A token is parsed once: the size is checked before any decoding, the header and payload
//! are decoded into JSON objects that may not repeat a member, and the signature is checked
//! on the raw signing input with a key whose type and curve fit the algorithm. The claim
//! checks follow RFC 7519 and RFC 9068: `iss` exact, `aud` any-of (an empty array is
//! invalid), `exp` required, `nbf`, `iat` not in the future, all with a leeway.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::config::TypPolicy;
use crate::crypto::KeyMaterial;
use crate::rejection::InvalidToken;

/// A JSON object decoded from a token part.
pub(crate) type Object = Map<String, Value>;

/// The parts of the JOSE header this crate acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// `None` for `none` and for names this crate does not know.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// A parsed, not yet verified, compact JWS.
pub(crate) struct Jws<'a> {
    pub(crate) header: Header,
    pub(crate) claims: Object,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl fmt::Debug for Jws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token or its claims.
        f.debug_struct("Jws")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Parses a compact JWS, bounded by `max_len` bytes before anything is decoded.
pub(crate) fn parse(token: &str, max_len: usize) -> Result<Jws<'_>, InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InvalidToken::Malformed);
    };
    let header = decode_object(header_b64)?;
    let header = read_header(&header)?;
    let claims = decode_object(payload_b64)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| InvalidToken::Malformed)?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = token
        .get(..signing_input_len)
        .ok_or(InvalidToken::Malformed)?;
    Ok(Jws {
        header,
        claims,
        signing_input,
        signature,
    })
}

fn read_header(header: &Object) -> Result<Header, InvalidToken> {
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: extensions listed in `crit` must be understood; none are.
        return Err(InvalidToken::UnsupportedCritical);
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_name(name),
        _ => return Err(InvalidToken::Malformed),
    };
    let kid = optional_string(header, "kid").map_err(|()| InvalidToken::Malformed)?;
    let typ = optional_string(header, "typ").map_err(|()| InvalidToken::Malformed)?;
    Ok(Header { alg, kid, typ })
}

fn optional_string(obj: &Object, name: &str) -> Result<Option<String>, ()> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

fn decode_object(b64: &str) -> Result<Object, InvalidToken> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| InvalidToken::Malformed)?;
    match serde_json::from_slice::<UniqueValue>(&bytes) {
        Ok(UniqueValue(Value::Object(object))) => Ok(object),
        _ => Err(InvalidToken::Malformed),
    }
}

/// A JSON value in which no object, at any depth, repeats a member:
/// `{"ext":{"roles":["user"],"roles":["admin"]}}` is refused rather than read as whichever
/// member a parser happens to keep (RFC 7515 §5.2, RFC 8725 §3.11). serde_json's recursion
/// limit still bounds the depth.
struct UniqueValue(Value);

impl<'de> Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = UniqueValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate members")
    }

    fn visit_bool<E>(self, v: bool) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<UniqueValue, E> {
        Ok(UniqueValue(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<UniqueValue, D::Error> {
        UniqueValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueValue, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(UniqueValue(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueValue, A::Error> {
        let mut object = Object::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom("duplicate member"));
            }
            let UniqueValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(UniqueValue(Value::Object(object)))
    }
}

/// Refuses what is not an access token presented as a bearer token (run after the
/// signature and claim checks, so a forgery is reported as one):
/// - an OpenID Connect ID token: `token_use: id` (Cognito), a `typ` claim of `ID`
///   (Keycloak), or an `at_hash` / `c_hash` claim (OpenID Connect Core §3.1.3.6, §3.3.2.11),
///   unless `accept_id_tokens`;
/// - a sender-constrained token (a `cnf` claim, RFC 9449 §6, RFC 8705 §3): without its
///   proof it is exactly the replay that binding exists to stop.
pub(crate) fn check_access_token(
    claims: &Object,
    accept_id_tokens: bool,
) -> Result<(), InvalidToken> {
    if !accept_id_tokens {
        let is_id = |name: &str, value: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        };
        if is_id("token_use", "id")
            || is_id("typ", "ID")
            || claims.contains_key("at_hash")
            || claims.contains_key("c_hash")
        {
            return Err(InvalidToken::IdToken);
        }
    }
    if claims.contains_key("cnf") {
        return Err(InvalidToken::SenderConstrained);
    }
    Ok(())
}

/// Checks `typ` against the policy.
pub(crate) fn check_typ(typ: Option<&str>, policy: TypPolicy) -> Result<(), InvalidToken> {
    let is_access_token =
        |t: &str| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt");
    let ok = match (policy, typ) {
        (TypPolicy::Lenient, None) => true,
        (TypPolicy::Lenient, Some(t)) => t.eq_ignore_ascii_case("JWT") || is_access_token(t),
        (TypPolicy::StrictAccessToken, Some(t)) => is_access_token(t),
        (TypPolicy::StrictAccessToken, None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidToken::BadType)
    }
}

/// Verifies the signature over the raw signing input with `key` and `alg`. The caller has
/// already checked that the key may be used with `alg`.
pub(crate) fn check_signature(
    jws: &Jws<'_>,
    key: &KeyMaterial,
    alg: Algorithm,
) -> Result<(), InvalidToken> {
    if key.verify(alg, jws.signing_input.as_bytes(), &jws.signature) {
        Ok(())
    } else {
        Err(InvalidToken::BadSignature)
    }
}

/// What the claims are checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimChecks<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audiences: &'a [String],
    pub(crate) leeway_secs: i64,
    pub(crate) now_secs: i64,
    /// Without `aud`, accept a `client_id` naming an accepted audience (Cognito).
    pub(crate) client_id_as_audience: bool,
}

/// The checked time claims, for callers that need them (expiry of cached results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) expires_at: i64,
    pub(crate) not_before: Option<i64>,
}

/// Checks the registered claims. `iss` was used to pick the issuer; it is checked again here.
pub(crate) fn check_claims(
    claims: &Object,
    checks: ClaimChecks<'_>,
) -> Result<Validity, InvalidToken> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == checks.issuer => {}
        Some(Value::String(_)) | None => return Err(InvalidToken::UnknownIssuer),
        Some(_) => return Err(InvalidToken::InvalidClaim),
    }
    match claims.get("sub") {
        None | Some(Value::String(_)) => {}
        Some(_) => return Err(InvalidToken::InvalidClaim),
    }
    let now = checks.now_secs;
    let leeway = checks.leeway_secs;
    let expires_at = numeric_date(claims, "exp")?.ok_or(InvalidToken::MissingExpiry)?;
    if now > expires_at.saturating_add(leeway) {
        return Err(InvalidToken::Expired);
    }
    let not_before = numeric_date(claims, "nbf")?;
    if let Some(nbf) = not_before {
        if now.saturating_add(leeway) < nbf {
            return Err(InvalidToken::NotYetValid);
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > now.saturating_add(leeway) {
            return Err(InvalidToken::IssuedInFuture);
        }
    }
    match (claims.get("aud"), claims.get("client_id")) {
        (None, Some(Value::String(client_id))) if checks.client_id_as_audience => {
            if !checks.audiences.iter().any(|a| a == client_id) {
                return Err(InvalidToken::WrongAudience);
            }
        }
        (aud, _) => check_audience(aud, checks.audiences)?,
    }
    Ok(Validity {
        expires_at,
        not_before,
    })
}

fn check_audience(aud: Option<&Value>, accepted: &[String]) -> Result<(), InvalidToken> {
    let accepts = |a: &str| accepted.iter().any(|x| x == a);
    match aud {
        Some(Value::String(a)) if accepts(a) => Ok(()),
        Some(Value::Array(list)) => {
            let mut found = false;
            for item in list {
                match item {
                    Value::String(a) => found |= accepts(a),
                    _ => return Err(InvalidToken::InvalidClaim),
                }
            }
            if found {
                Ok(())
            } else {
                Err(InvalidToken::WrongAudience)
            }
        }
        Some(Value::String(_)) | None => Err(InvalidToken::WrongAudience),
        Some(_) => Err(InvalidToken::InvalidClaim),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.
fn numeric_date(claims: &Object, name: &str) -> Result<Option<i64>, InvalidToken> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| {
                // Only dates an i64 of seconds can hold: a value beyond that (10^30, u64::MAX,
                // 1e300) is refused rather than clamped into "never expires" or "always
                // valid". NaN and infinities cannot come from JSON.
                #[allow(clippy::cast_precision_loss)]
                let (min, max) = (i64::MIN as f64, i64::MAX as f64);
                *f >= min && *f < max
            }) {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(f.floor() as i64))
            } else {
                Err(InvalidToken::InvalidClaim)
            }
        }
        Some(_) => Err(InvalidToken::InvalidClaim),
    }
}

/// Decodes a token's header and claims without verifying anything, for diagnostics (the
/// `inspect` tool). Never use the result for an authorization decision.
pub fn decode_unverified(token: &str, max_len: usize) -> Result<(Value, Value), InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return Err(InvalidToken::Malformed);
    };
    Ok((
        Value::Object(decode_object(h)?),
        Value::Object(decode_object(p)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    #[test]
    fn parse_reads_header_and_claims() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#,
            r#"{"sub":"a"}"#,
        );
        let jws = parse(&t, 16 * 1024)
            .map_err(|e| e.reason())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jws.header.alg, Some(Algorithm::RS256));
        assert_eq!(jws.header.kid.as_deref(), Some("k1"));
        assert_eq!(jws.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(jws.claims.get("sub"), Some(&json!("a")));
        assert_eq!(jws.signature, b"sig");
    }

    #[test]
    fn parse_refuses_bad_shapes() {
        let ok_header = r#"{"alg":"RS256"}"#;
        let cases: Vec<(String, InvalidToken)> = vec![
            ("a".repeat(100), InvalidToken::TooLarge),
            ("abc".into(), InvalidToken::Malformed),
            ("a.b".into(), InvalidToken::Malformed),
            ("a.b.c.d.e".into(), InvalidToken::Malformed),
            (
                format!("{}.{}.!!", b64(ok_header), b64("{}")),
                InvalidToken::Malformed,
            ),
            (format!("***.{}.", b64("{}")), InvalidToken::Malformed),
            (
                format!("{}=.{}.", b64(ok_header), b64("{}")),
                InvalidToken::Malformed,
            ),
            (token("[1]", "{}"), InvalidToken::Malformed),
            (token(ok_header, "not json"), InvalidToken::Malformed),
            (token(ok_header, r#""a string""#), InvalidToken::Malformed),
            (
                token(ok_header, r#"{"sub":"a","sub":"b"}"#),
                InvalidToken::Malformed,
            ),
            (
                token(r#"{"alg":"RS256","alg":"none"}"#, "{}"),
                InvalidToken::Malformed,
            ),
            (token(r#"{"alg":5}"#, "{}"), InvalidToken::Malformed),
            (token(r#"{"kid":"x"}"#, "{}"), InvalidToken::Malformed),
            (
                token(r#"{"alg":"RS256","kid":7}"#, "{}"),
                InvalidToken::Malformed,
            ),
            (
                token(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "{}"),
                InvalidToken::UnsupportedCritical,
            ),
        ];
        for (t, expected) in cases {
            match parse(&t, 64) {
                Ok(_) => panic!("accepted {t}"),
                Err(e) => assert_eq!(e, expected, "{t}"),
            }
        }
    }

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        let ok_header = r#"{"alg":"RS256"}"#;
        for t in [
            token(ok_header, r#"{"ext":{"roles":["user"],"roles":["admin"]}}"#),
            token(ok_header, r#"{"a":[{"b":{"c":1,"c":2}}]}"#),
            token(
                ok_header,
                r#"{"realm_access":{"roles":[],"roles":["admin"]}}"#,
            ),
            token(r#"{"alg":"RS256","jwk":{"kty":"RSA","kty":"oct"}}"#, "{}"),
        ] {
            match parse(&t, 1024) {
                Ok(_) => panic!("accepted {t}"),
                Err(e) => assert_eq!(e, InvalidToken::Malformed, "{t}"),
            }
        }
    }

    #[test]
    fn unique_members_at_depth_still_parse() {
        let t = token(
            r#"{"alg":"RS256"}"#,
            r#"{"ext":{"roles":["user"],"n":[1,-2,3.5,true,null,{"roles":["x"]}]},"roles":"y"}"#,
        );
        let jws = parse(&t, 1024).expect("a token without duplicates parses");
        assert_eq!(
            Value::Object(jws.claims),
            json!({"ext":{"roles":["user"],"n":[1,-2,3.5,true,null,{"roles":["x"]}]},"roles":"y"})
        );
    }

    #[test]
    fn only_access_tokens_pass() {
        let object = |v: Value| v.as_object().cloned().expect("an object");
        let cases = [
            (json!({"sub":"u"}), false, Ok(())),
            (json!({"sub":"u","token_use":"access"}), false, Ok(())),
            (json!({"sub":"u","typ":"Bearer"}), false, Ok(())),
            (json!({"token_use":"id"}), false, Err(InvalidToken::IdToken)),
            (json!({"typ":"ID"}), false, Err(InvalidToken::IdToken)),
            (json!({"at_hash":"x"}), false, Err(InvalidToken::IdToken)),
            (json!({"c_hash":null}), false, Err(InvalidToken::IdToken)),
            (json!({"token_use":"id","at_hash":"x"}), true, Ok(())),
            (
                json!({"cnf":{"jkt":"abc"}}),
                false,
                Err(InvalidToken::SenderConstrained),
            ),
            (
                json!({"cnf":{"x5t#S256":"abc"}}),
                true,
                Err(InvalidToken::SenderConstrained),
            ),
            (
                json!({"cnf":null}),
                false,
                Err(InvalidToken::SenderConstrained),
            ),
        ];
        for (claims, accept_id, expected) in cases {
            assert_eq!(
                check_access_token(&object(claims.clone()), accept_id),
                expected,
                "{claims} accept_id_tokens={accept_id}"
            );
        }
    }

    #[test]
    fn none_and_unknown_algorithms_parse_as_no_algorithm() {
        for alg in ["none", "None", "rs256", "HS1", ""] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            let jws = parse(&t, 1024)
                .map_err(|e| e.reason())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(jws.header.alg, None, "{alg}");
        }
    }

    #[test]
    fn typ_policy_table() {
        use TypPolicy::{Lenient as L, StrictAccessToken as S};
        let cases = [
            (L, None, true),
            (L, Some("JWT"), true),
            (L, Some("jwt"), true),
            (L, Some("at+jwt"), true),
            (L, Some("AT+JWT"), true),
            (L, Some("application/at+jwt"), true),
            (L, Some("id_token+jwt"), false),
            (L, Some("JOSE"), false),
            (S, None, false),
            (S, Some("JWT"), false),
            (S, Some("at+JWT"), true),
            (S, Some("Application/At+Jwt"), true),
        ];
        for (policy, typ, ok) in cases {
            assert_eq!(check_typ(typ, policy).is_ok(), ok, "{policy:?} {typ:?}");
        }
    }

    fn checks(audiences: &[String]) -> ClaimChecks<'_> {
        ClaimChecks {
            issuer: "https://iss",
            audiences,
            leeway_secs: 60,
            now_secs: 1_000_000,
            client_id_as_audience: false,
        }
    }

    #[test]
    fn claim_checks_table() {
        let auds = vec!["api".to_owned(), "other".to_owned()];
        let base = json!({"iss":"https://iss","sub":"u","aud":"api","exp":1_000_100});
        let with = |k: &str, v: Value| {
            let mut o = base.as_object().cloned().unwrap_or_default();
            if v.is_null() {
                o.remove(k);
            } else {
                o.insert(k.into(), v);
            }
            o
        };
        let cases: Vec<(Object, Result<(), InvalidToken>)> = vec![
            (with("sub", json!("u")), Ok(())),
            (
                with("iss", json!("https://iss/")),
                Err(InvalidToken::UnknownIssuer),
            ),
            (with("iss", Value::Null), Err(InvalidToken::UnknownIssuer)),
            (
                with("iss", json!(["https://iss"])),
                Err(InvalidToken::InvalidClaim),
            ),
            (with("sub", json!(12)), Err(InvalidToken::InvalidClaim)),
            (with("exp", Value::Null), Err(InvalidToken::MissingExpiry)),
            (
                with("exp", json!("1000100")),
                Err(InvalidToken::InvalidClaim),
            ),
            (with("exp", json!(999_940)), Ok(())),
            (with("exp", json!(999_939)), Err(InvalidToken::Expired)),
            (with("exp", json!(1_000_100.5)), Ok(())),
            (with("nbf", json!(1_000_060)), Ok(())),
            (
                with("nbf", json!(1_000_061)),
                Err(InvalidToken::NotYetValid),
            ),
            (with("nbf", json!(true)), Err(InvalidToken::InvalidClaim)),
            (with("iat", json!(1_000_060)), Ok(())),
            (
                with("iat", json!(1_000_061)),
                Err(InvalidToken::IssuedInFuture),
            ),
            (with("aud", json!(["x", "other"])), Ok(())),
            (with("aud", json!([])), Err(InvalidToken::WrongAudience)),
            (with("aud", json!("x")), Err(InvalidToken::WrongAudience)),
            (with("aud", Value::Null), Err(InvalidToken::WrongAudience)),
            (
                with("aud", json!(["api", 3])),
                Err(InvalidToken::InvalidClaim),
            ),
            (
                with("aud", json!({"api":true})),
                Err(InvalidToken::InvalidClaim),
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                check_claims(&claims, checks(&auds)).map(|_| ()),
                expected,
                "{claims:?}"
            );
        }
    }

    #[test]
    fn client_id_stands_in_for_a_missing_aud_only_when_configured() {
        let auds = vec!["app-client".to_owned()];
        let cognito =
            json!({"iss":"https://iss","sub":"u","client_id":"app-client","exp":1_000_100});
        let cognito = cognito.as_object().cloned().unwrap_or_default();
        let strict = checks(&auds);
        let lenient = ClaimChecks {
            client_id_as_audience: true,
            ..checks(&auds)
        };
        assert_eq!(
            check_claims(&cognito, strict).map(|_| ()),
            Err(InvalidToken::WrongAudience)
        );
        assert_eq!(check_claims(&cognito, lenient).map(|_| ()), Ok(()));
        let mut other = cognito.clone();
        other.insert("client_id".into(), json!("someone-else"));
        assert_eq!(
            check_claims(&other, lenient).map(|_| ()),
            Err(InvalidToken::WrongAudience)
        );
        let mut with_aud = cognito.clone();
        with_aud.insert("aud".into(), json!("x"));
        assert_eq!(
            check_claims(&with_aud, lenient).map(|_| ()),
            Err(InvalidToken::WrongAudience)
        );
    }
}
