//! One DPoP proof, checked against one request: pure, no I/O (RFC 9449 §4.3 checks 1–11
//! except the replay check, which needs the store, and the nonce, which needs its source).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::htu::Origin;
use super::proof_keys::{ProofKey, ProofKeys};
use super::thumbprint::thumbprint;
use super::InvalidDpopProof;
use crate::alg::Algorithm;
use crate::crypto::sha256;
use crate::jwk;
use crate::rejection::InvalidToken;
use crate::verify::{self, Claim, ClaimRead as _};

/// JWK members that hold private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The longest `jti` accepted (it is hashed into the replay key, so only for sanity).
const MAX_JTI_BYTES: usize = 256;

/// What one request expects of its proof.
pub(crate) struct Expected<'a> {
    pub(crate) method: &'a str,
    pub(crate) origin: &'a Origin,
    pub(crate) path: &'a str,
    pub(crate) access_token: &'a str,
    pub(crate) algorithms: &'a [Algorithm],
    pub(crate) now_secs: i64,
    pub(crate) window_secs: i64,
    pub(crate) leeway_secs: i64,
    pub(crate) max_bytes: usize,
    /// Headers already checked, with their keys.
    pub(crate) keys: &'a ProofKeys,
}

/// A proof that passed every check here.
#[derive(Debug)]
pub(crate) struct Checked {
    /// RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) nonce: Option<String>,
    /// The proof's `iat`, in whole seconds: it fixes the last instant the proof is accepted.
    pub(crate) iat: i64,
}

/// Checks `proof` against `expected`: everything but `cnf.jkt`, the nonce and replay.
pub(crate) fn check(proof: &str, expected: &Expected<'_>) -> Result<Checked, InvalidDpopProof> {
    let jws = verify::parse(proof, expected.max_bytes).map_err(|e| match e {
        InvalidToken::TooLarge => InvalidDpopProof::TooLarge,
        _ => InvalidDpopProof::Malformed,
    })?;
    // 4 and 6: the header (typ, an asymmetric allowed alg, a public key; checked once per
    // distinct header bytes), then the signature, by that key.
    let segment = proof.split_once('.').map_or(proof, |(header, _)| header);
    let key = expected
        .keys
        .get_or_check(segment, || header_key(&jws, expected.algorithms))?;
    verify::check_signature(&jws, &key.material, key.alg)
        .map_err(|_| InvalidDpopProof::BadSignature)?;
    // A proof's few claims are read by name from its index (no `Map` is built).
    let claims = &jws.claims;
    let jti = claims
        .str("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES);
    let (Some(jti), Some(htm), Some(htu), Some(ath), Ok(Some(iat))) = (
        jti,
        claims.str("htm"),
        claims.str("htu"),
        claims.str("ath"),
        verify::numeric_date(claims, "iat"),
    ) else {
        return Err(InvalidDpopProof::MissingClaim);
    };
    let nonce = match claims.claim("nonce") {
        None => None,
        Some(Claim::Str(n)) => Some(n.into_owned()),
        Some(_) => return Err(InvalidDpopProof::MissingClaim),
    };
    // 8, 9: method and URL.
    if *htm != *expected.method {
        return Err(InvalidDpopProof::MethodMismatch);
    }
    if !expected.origin.matches(&htu, expected.path) {
        return Err(InvalidDpopProof::UrlMismatch);
    }
    // 11: iat within the window (and not in the future), with the leeway.
    let now = expected.now_secs;
    if iat > now.saturating_add(expected.leeway_secs) {
        return Err(InvalidDpopProof::IssuedInFuture);
    }
    if now.saturating_sub(iat) > expected.window_secs.saturating_add(expected.leeway_secs) {
        return Err(InvalidDpopProof::Expired);
    }
    // 12: ath, the proof made for this token.
    let token_hash = URL_SAFE_NO_PAD.encode(sha256(&[expected.access_token.as_bytes()]));
    if *ath != *token_hash {
        return Err(InvalidDpopProof::AccessTokenHash);
    }
    Ok(Checked {
        jkt: key.jkt.clone(),
        jti: jti.into_owned(),
        iat,
        nonce,
    })
}

/// Check 4 of RFC 9449 §4.3 on the proof's header: `typ` `dpop+jwt`, an allowed asymmetric
/// `alg`, and a `jwk` holding a public key of that algorithm; with the key's thumbprint.
fn header_key(
    jws: &verify::Jws<'_>,
    algorithms: &[Algorithm],
) -> Result<ProofKey, InvalidDpopProof> {
    if !jws
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(InvalidDpopProof::BadType);
    }
    let alg = jws
        .header
        .alg
        .filter(|a| !a.is_hmac() && algorithms.contains(a))
        .ok_or(InvalidDpopProof::DisallowedAlgorithm)?;
    let Some(Value::Object(jwk)) = &jws.header.jwk else {
        return Err(InvalidDpopProof::BadKey);
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m))
        || jwk.get("kty").and_then(Value::as_str) == Some("oct")
    {
        return Err(InvalidDpopProof::PrivateKey);
    }
    let key = jwk::parse_jwk(&Value::Object(jwk.clone()), &[alg])
        .ok()
        .filter(|k| k.fits(alg))
        .ok_or(InvalidDpopProof::BadKey)?;
    let jkt = thumbprint(jwk).ok_or(InvalidDpopProof::BadKey)?;
    Ok(ProofKey {
        alg,
        material: key.material,
        jkt,
    })
}
