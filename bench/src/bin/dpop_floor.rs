//! `dpop_floor`: the floor of a DPoP request (RFC 9449) for `bench/dpop_callgrind.sh`: the
//! two signatures a new token with a fresh proof needs, and nothing else.
//!
//! ```text
//! BIND=127.0.0.1:18084 JWKS_FILE=/tmp/bench/jwks.json \
//!     cargo run --release -p axum-principal-bench --bin dpop_floor
//! ```
//!
//! At start, once: every key of `JWKS_FILE` parsed into an aws-lc-rs [`ParsedPublicKey`],
//! one per `kid` (as `floor`).
//!
//! Per request to `GET /me` with `Authorization: DPoP <token>` and `DPoP: <proof>`:
//! 1. the access token as `floor` checks it: split at its last `.`, the signature
//!    base64url-decoded into a stack buffer, the key looked up by the raw header segment (a
//!    map filled on first sight of a header), `verify_sig`;
//! 2. the proof the same way, its key looked up by the proof's raw header segment: the
//!    header (`typ`, `alg`, `jwk`) is the same bytes in every proof of one client key, so a
//!    map from those bytes to the `jwk` parsed once is the least any verifier does (a header
//!    seen for the first time is decoded and its `jwk` parsed, then remembered).
//!
//! No claim of either is read (no `cnf.jkt`, `ath`, `htm`, `htu`, `iat`, `jti`, no replay
//! store): `lean_dpop / dpop_floor` is what everything the library checks costs beyond the
//! two signatures.

#[path = "../shared/signature.rs"]
mod signature_b64;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// At most this many distinct header segments are remembered per map (the first ones seen).
const MAX_HEADERS: usize = 64;

/// The key a raw header segment names, found on first sight and remembered.
type ByHeader = RwLock<HashMap<Box<str>, Option<Arc<ParsedPublicKey>>>>;

struct Floor {
    /// The issuer's keys: (`kid`, `alg`, key).
    keys: Vec<(String, &'static str, Arc<ParsedPublicKey>)>,
    tokens: ByHeader,
    proofs: ByHeader,
}

/// A JWK of `alg` parsed for verification (RSA or EC; `None` for anything else).
fn parse_jwk(jwk: &Value, alg: &str) -> Option<ParsedPublicKey> {
    let b64 = |name: &str| URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok();
    match alg {
        "RS256" => RsaPublicKeyComponents {
            n: b64("n")?,
            e: b64("e")?,
        }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .ok(),
        "ES256" => {
            let point = [&[4u8][..], &b64("x")?, &b64("y")?].concat();
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .parse()
                .ok()
        }
        _ => None,
    }
}

/// A JOSE header segment decoded (on first sight only).
fn header_json(segment: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

impl Floor {
    /// The key `header` names in `map`, found with `first_sight` the first time.
    fn key_for(
        map: &ByHeader,
        header: &str,
        first_sight: impl FnOnce(&str) -> Option<Arc<ParsedPublicKey>>,
    ) -> Option<Arc<ParsedPublicKey>> {
        if let Some(known) = map.read().ok()?.get(header) {
            return known.clone();
        }
        let key = first_sight(header);
        let mut seen = map.write().ok()?;
        if seen.len() < MAX_HEADERS {
            seen.insert(header.into(), key.clone());
        }
        key
    }

    /// The issuer's key for an access token's header (its `kid` and `alg`).
    fn token_key(&self, header: &str) -> Option<Arc<ParsedPublicKey>> {
        Self::key_for(&self.tokens, header, |segment| {
            let json = header_json(segment)?;
            let (kid, alg) = (json.get("kid")?.as_str()?, json.get("alg")?.as_str()?);
            let found = self.keys.iter().find(|(k, a, _)| k == kid && *a == alg);
            found.map(|(_, _, key)| Arc::clone(key))
        })
    }

    /// The key in a proof's header (its `jwk`, for its `alg`).
    fn proof_key(&self, header: &str) -> Option<Arc<ParsedPublicKey>> {
        Self::key_for(&self.proofs, header, |segment| {
            let json = header_json(segment)?;
            parse_jwk(json.get("jwk")?, json.get("alg")?.as_str()?).map(Arc::new)
        })
    }
}

/// Whether `jws`'s signature verifies with the key its header segment names.
fn signature_valid(jws: &str, key: impl FnOnce(&str) -> Option<Arc<ParsedPublicKey>>) -> bool {
    let Some((input, signature)) = jws.rsplit_once('.') else {
        return false;
    };
    let Some((header, _claims)) = input.split_once('.') else {
        return false;
    };
    let mut buf = [0u8; signature_b64::MAX_SIGNATURE];
    let Some(sig) = signature_b64::decode(signature, &mut buf) else {
        return false;
    };
    key(header).is_some_and(|key| key.verify_sig(input.as_bytes(), sig).is_ok())
}

/// Steps 1–2 of the module doc.
fn both_valid(floor: &Floor, request: &Request) -> bool {
    let headers = request.headers();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("DPoP "));
    let proof = headers.get("dpop").and_then(|v| v.to_str().ok());
    let (Some(token), Some(proof)) = (token, proof) else {
        return false;
    };
    signature_valid(token, |h| floor.token_key(h)) && signature_valid(proof, |h| floor.proof_key(h))
}

async fn me(State(floor): State<Arc<Floor>>, request: Request) -> (StatusCode, &'static str) {
    if both_valid(&floor, &request) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::UNAUTHORIZED, "")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18084".to_owned())
        .parse()?;
    let jwks_file = std::env::var("JWKS_FILE").map_err(|_| "JWKS_FILE is not set")?;
    let jwks: Value = serde_json::from_slice(&std::fs::read(&jwks_file)?)?;
    let mut keys = Vec::new();
    for jwk in jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kid = jwk.get("kid").and_then(Value::as_str);
        let alg = match jwk.get("alg").and_then(Value::as_str) {
            Some("RS256") => "RS256",
            Some("ES256") => "ES256",
            _ => continue,
        };
        if let (Some(kid), Some(key)) = (kid, parse_jwk(jwk, alg)) {
            keys.push((kid.to_owned(), alg, Arc::new(key)));
        }
    }
    if keys.is_empty() {
        return Err(format!("{jwks_file}: no RS256 or ES256 key with a kid").into());
    }
    let count = keys.len();
    let floor = Arc::new(Floor {
        keys,
        tokens: RwLock::default(),
        proofs: RwLock::default(),
    });
    let app = Router::new().route("/me", get(me)).with_state(floor);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!(
        "dpop_floor listening on {} with {count} keys",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
