//! Entry points into internal stages for the fuzz targets (`fuzz/`), the property tests,
//! the criterion benchmarks (`benches/`) and the CLI's `inspect`. Not part of the stable API: hidden from the docs
//! and free to change in any release.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::alg::Algorithm;
use crate::crypto::{sha256, KeyMaterial};
use crate::rejection::InvalidToken;

/// Decodes a token's header and claims without verifying anything, for diagnostics (the
/// CLI's `inspect`). Never use the result for an authorization decision.
pub fn decode_unverified(token: &str, max_len: usize) -> Result<(Value, Value), InvalidToken> {
    crate::verify::decode_unverified(token, max_len)
}

// The parsers that read what an issuer sends (fuzzing and property tests).

/// Parses a JWKS body; returns how many usable keys it holds, or `None` if the document
/// itself is refused.
pub fn parse_jwks(body: &[u8]) -> Option<usize> {
    crate::jwk::parse_jwks(body, &Algorithm::ASYMMETRIC, 100)
        .ok()
        .map(|k| k.len())
}

/// Reads `jwks_uri` from a metadata document that must name `issuer`.
pub fn parse_metadata(body: &[u8], issuer: &str) -> Option<String> {
    crate::key_store::jwks_uri_from_metadata(body, issuer)
        .ok()
        .map(String::from)
}

/// Parses `Cache-Control` values into the max-age they give.
pub fn parse_max_age(values: &[&[u8]]) -> Option<std::time::Duration> {
    let mut headers = http::HeaderMap::new();
    for v in values {
        if let Ok(v) = http::HeaderValue::from_bytes(v) {
            headers.append(http::header::CACHE_CONTROL, v);
        }
    }
    crate::key_store::max_age(&headers)
}

// The stages of one verification (benchmarks).

/// Decodes header and claims of a compact JWS (no verification); returns how many claims.
pub fn parse_token(token: &str) -> Result<usize, InvalidToken> {
    crate::verify::parse(token, 64 * 1024).map(|jws| jws.claims.len())
}

/// Decodes header and claims, then builds the claims' `serde_json::Map` (what
/// `Principal::claims` does on its first call); returns how many claims.
pub fn parse_token_to_map(token: &str) -> Result<usize, InvalidToken> {
    crate::verify::parse(token, 64 * 1024).map(|jws| jws.claims.into_map().len())
}

/// Decodes only the header (the first segment); returns its `kid`.
pub fn parse_header(token: &str) -> Result<Option<String>, InvalidToken> {
    let header = token.split('.').next().unwrap_or_default();
    let fake = format!("{header}.e30.");
    crate::verify::parse(&fake, 64 * 1024).map(|jws| jws.header.kid.map(|kid| kid.to_string()))
}

/// SHA-256 of a token: what the token cache keyed entries by before it compared whole
/// tokens (kept for the benchmark that compares the two).
pub fn token_digest(token: &str) -> [u8; 32] {
    sha256(&[token.as_bytes()])
}

/// Where the token cache looks a token up (its last 32 bytes); the entry found is then
/// compared with the whole token.
pub fn token_locator(token: &str) -> [u8; 32] {
    crate::token_cache::locator(token.as_bytes())
}

/// A verification key prepared once from a public JWK, as the key store holds it.
pub struct PreparedKey {
    key: KeyMaterial,
    alg: Algorithm,
}

impl PreparedKey {
    /// Prepares `jwk` for `alg`; `None` if the key is unusable.
    pub fn from_jwk(jwk: &Value, alg: &str) -> Option<Self> {
        let alg = Algorithm::from_name(alg)?;
        let key = crate::jwk::parse_jwk(jwk, &[alg]).ok()?;
        Some(Self {
            key: key.material,
            alg,
        })
    }

    /// Verifies the token's signature over its raw signing input.
    pub fn verify(&self, token: &str) -> bool {
        let Some((input, sig)) = token.rsplit_once('.') else {
            return false;
        };
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        self.key.verify(self.alg, input.as_bytes(), &sig)
    }
}
