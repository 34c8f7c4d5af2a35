//! Token → verified claims: pure functions, no I/O (decision 2 in `docs/decisions.md`).
//!
//! A token is parsed once: the size is checked before any decoding, the header and payload
//! are decoded into JSON objects that may not repeat a member (indexed, not built into
//! `serde_json` values: `RawClaims`), and the signature is checked
//! on the raw signing input with a key whose type and curve fit the algorithm. The claim
//! checks follow RFC 7519 and RFC 9068: `iss` exact, `aud` any-of (an empty array is
//! invalid), `exp` required, `nbf`, `iat` not in the future, all with a leeway.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::alg::Algorithm;
use crate::crypto::KeyMaterial;
use crate::rejection::InvalidToken;

pub(crate) use self::claims::{Claim, ClaimRead, RawClaims};
pub(crate) use self::header::HeaderMemo;
pub(crate) use self::json::{quote_or_backslash, Shape};

mod base64url;
mod claims;
mod header;
mod index;
mod json;
#[cfg(test)]
mod json_props;
#[cfg(test)]
mod json_tests;
#[cfg(test)]
mod tests;

/// Which `typ` header values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypPolicy {
    /// Absent, `JWT`, `at+jwt` or `application/at+jwt` (case-insensitive).
    #[default]
    Lenient,
    /// RFC 9068 access tokens only: `at+jwt` or `application/at+jwt` (case-insensitive).
    StrictAccessToken,
}

/// A JSON object decoded into `serde_json` values (a DPoP proof's `jwk`; the unit tests
/// build claims as these).
pub(crate) type Object = serde_json::Map<String, Value>;

/// The parts of the JOSE header this crate acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// `None` for `none` and for names this crate does not know.
    pub(crate) alg: Option<Algorithm>,
    /// Shared, so that a header the [`HeaderMemo`] kept is handed out without copying.
    pub(crate) kid: Option<Arc<str>>,
    pub(crate) typ: Option<Arc<str>>,
    /// An embedded `jwk`: ignored for access tokens, the key of a DPoP proof.
    pub(crate) jwk: Option<Value>,
}

/// A parsed, not yet verified, compact JWS.
pub(crate) struct Jws<'a> {
    pub(crate) header: Header,
    pub(crate) claims: RawClaims,
    signing_input: &'a str,
    signature: Signature,
}

/// A signature's bytes: on the stack up to RSA-4096's 512 (ES512's are 132), else on the
/// heap. Large on purpose: a `Jws` lives on the stack for one verification.
#[allow(clippy::large_enum_variant)]
enum Signature {
    Inline([u8; INLINE_SIGNATURE], usize),
    Heap(Vec<u8>),
}

/// The stack buffer: RSA-4096's 512 bytes.
const INLINE_SIGNATURE: usize = 512;

impl Signature {
    fn decode(b64: &str) -> Result<Self, InvalidToken> {
        let mut buf = [0u8; INLINE_SIGNATURE];
        match base64url::decode_into(b64, &mut buf) {
            Ok(bytes) => {
                let len = bytes.len();
                Ok(Signature::Inline(buf, len))
            }
            Err(base64url::Undecoded::TooLong) => base64url::decode(b64)
                .map(Signature::Heap)
                .ok_or(InvalidToken::Malformed),
            Err(base64url::Undecoded::Invalid) => Err(InvalidToken::Malformed),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Signature::Inline(buf, len) => buf.get(..*len).unwrap_or_default(),
            Signature::Heap(bytes) => bytes,
        }
    }
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
    parse_with(token, max_len, None)
}

/// [`parse`], the header looked up in `headers` first (an access token's; a DPoP proof's
/// header carries its own key and is never kept).
pub(crate) fn parse_with<'a>(
    token: &'a str,
    max_len: usize,
    headers: Option<&HeaderMemo>,
) -> Result<Jws<'a>, InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLarge);
    }
    // The header ends at the first `.`, the signature starts after the last; the payload is
    // what lies between, and a `.` inside it (a fourth segment) is refused by its base64url
    // decoding, so the payload's ~1,000 characters are not searched for one.
    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err(InvalidToken::Malformed);
    };
    let (Some(header_b64), Some(payload_b64), Some(signature_b64)) = (
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) else {
        // One `.` only (first == last): two segments.
        return Err(InvalidToken::Malformed);
    };
    let header = match headers {
        Some(memo) => memo.decode(header_b64)?,
        None => header::decode(header_b64)?,
    };
    let claims = decode_object(payload_b64)?;
    let signature = Signature::decode(signature_b64)?;
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

fn decode_object(b64: &str) -> Result<RawClaims, InvalidToken> {
    let bytes = base64url::decode(b64).ok_or(InvalidToken::Malformed)?;
    let json = String::from_utf8(bytes).map_err(|_| InvalidToken::Malformed)?;
    RawClaims::parse(json).ok_or(InvalidToken::Malformed)
}

/// Refuses what is not an access token presented as a bearer token (run after the
/// signature and claim checks, so a forgery is reported as one):
/// - an OpenID Connect ID token: `token_use: id` (Cognito), a `typ` claim of `ID`
///   (Keycloak), or an `at_hash` / `c_hash` claim (OpenID Connect Core §3.1.3.6, §3.3.2.11),
///   unless `accept_id_tokens`;
/// - a refresh, offline or logout token (`typ` claim) or a security event token (`events`).
///
/// A sender-constrained token (a `cnf` claim) is checked against its proof by the caller
/// ([`Binding`](crate::binding::Binding)).
pub(crate) fn check_access_token<C: ClaimRead + ?Sized>(
    claims: &C,
    accept_id_tokens: bool,
) -> Result<(), InvalidToken> {
    let is = |name: &str, value: &str| {
        claims
            .str(name)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    // `typ` is read once for its four comparisons.
    let typ = claims.str("typ");
    let typ_is = |value: &str| {
        typ.as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(value))
    };
    // An Entra ID token carries none of these markers; telling it from an app-only access
    // token by the claims it lacks (`azp`, `appid`) would refuse minimal access tokens too,
    // so an Entra API keeps ID tokens out by an audience of its own (docs/providers.md).
    let id_token =
        is("token_use", "id") || typ_is("ID") || claims.has("at_hash") || claims.has("c_hash");
    if id_token && !accept_id_tokens {
        return Err(InvalidToken::IdToken);
    }
    // Keycloak's refresh, offline and logout tokens (a `typ` claim) and security event
    // tokens such as OpenID back-channel logout tokens (`events`, RFC 8417) are not access
    // tokens either, whatever an issuer signs them with.
    if ["Refresh", "Offline", "Logout"].iter().any(|t| typ_is(t)) || claims.has("events") {
        return Err(InvalidToken::NotAccessToken);
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
    if key.verify(alg, jws.signing_input.as_bytes(), jws.signature.bytes()) {
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
pub(crate) fn check_claims<C: ClaimRead + ?Sized>(
    claims: &C,
    checks: ClaimChecks<'_>,
) -> Result<Validity, InvalidToken> {
    match claims.claim("iss") {
        Some(Claim::Str(iss)) if iss == checks.issuer => {}
        Some(Claim::Str(_)) | None => return Err(InvalidToken::UnknownIssuer),
        Some(_) => return Err(InvalidToken::InvalidClaim),
    }
    check_registered(claims, checks)
}

/// The registered claims but `iss`: `sub`'s type, `exp` (required), `nbf`, `iat` and `aud`.
/// An introspection answer, whose `iss` is optional, is checked with this alone after its
/// own `iss` check.
pub(crate) fn check_registered<C: ClaimRead + ?Sized>(
    claims: &C,
    checks: ClaimChecks<'_>,
) -> Result<Validity, InvalidToken> {
    match claims.claim("sub") {
        None | Some(Claim::Str(_)) => {}
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
    // `client_id` is looked up only when it may stand in for a missing `aud`.
    let aud = claims.claim("aud");
    let client_id = match &aud {
        None if checks.client_id_as_audience => claims.claim("client_id"),
        _ => None,
    };
    match (aud, client_id) {
        (None, Some(Claim::Str(client_id))) => {
            if !checks.audiences.iter().any(|a| *a == client_id) {
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

fn check_audience(aud: Option<Claim<'_>>, accepted: &[String]) -> Result<(), InvalidToken> {
    let accepts = |a: &str| accepted.iter().any(|x| x == a);
    match aud {
        Some(Claim::Str(a)) if accepts(&a) => Ok(()),
        Some(Claim::Array(list)) => {
            // Every item must be a string, the accepted one or not.
            let mut accepted = false;
            list.each_string(|a| accepted |= accepts(&a))
                .map_err(|()| InvalidToken::InvalidClaim)?;
            if accepted {
                Ok(())
            } else {
                Err(InvalidToken::WrongAudience)
            }
        }
        Some(Claim::Str(_)) | None => Err(InvalidToken::WrongAudience),
        Some(_) => Err(InvalidToken::InvalidClaim),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.
pub(crate) fn numeric_date<C: ClaimRead + ?Sized>(
    claims: &C,
    name: &str,
) -> Result<Option<i64>, InvalidToken> {
    match claims.claim(name) {
        None => Ok(None),
        Some(Claim::Number(n)) => {
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

/// Whether `token` is a JWS compact serialization: three dot-separated base64url segments
/// whose first decodes to a JSON object. Only such a token is verified locally; anything
/// else (Hydra's `ory_at_….…` has two segments) is an opaque token, for introspection. Cheap
/// and allocation-light: the header alone is decoded.
pub(crate) fn is_jws(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !(base64url(header) && base64url(payload) && base64url(signature)) {
        return false;
    }
    base64url::decode(header).is_some_and(|bytes| {
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok()
            && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    })
}

/// Decodes a token's header and claims without verifying anything, for diagnostics (the
/// `inspect` tool, through `internals`). Never use the result for an authorization decision.
pub(crate) fn decode_unverified(
    token: &str,
    max_len: usize,
) -> Result<(Value, Value), InvalidToken> {
    if token.len() > max_len {
        return Err(InvalidToken::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return Err(InvalidToken::Malformed);
    };
    Ok((
        Value::Object(decode_object(h)?.into_map()),
        Value::Object(decode_object(p)?.into_map()),
    ))
}
