//! `floor`: the true floor of `bench/load.sh` and `bench/callgrind.sh`, the least work any
//! correct verifier does for a new token.
//!
//! ```text
//! BIND=127.0.0.1:18082 JWKS_FILE=/tmp/bench/jwks.json \
//!     cargo run --release -p axum-principal-bench --bin floor
//! ```
//!
//! At start, once: every key of `JWKS_FILE` is parsed into an aws-lc-rs [`ParsedPublicKey`]
//! (`RsaPublicKeyComponents::to_parsed_public_key` for RSA, `UnparsedPublicKey::parse` for
//! EC), one per `kid`, for the one algorithm its JWK names.
//!
//! Per request to `GET /me` (bare's route, so `floor − bare` is the verification alone):
//! 1. the bearer token from `Authorization`, split at its last `.` into the signing input
//!    and the signature, and the signing input at its first `.` into the header segment;
//! 2. the signature base64url-decoded into a stack buffer (no allocation; base64-simd, the
//!    library's decoder);
//! 3. the key looked up by the raw header segment (a `HashMap` from the segment's text to
//!    the key; a header seen for the first time is decoded once, its `kid` and `alg` matched
//!    to a key, and the answer, key or none, remembered: no JSON per request after that);
//! 4. `ParsedPublicKey::verify_sig(signing input, signature)` → 200 `ok`, else 401.
//!
//! No claim is read (no `exp`, `iss`, `aud`), nothing is cached per token: it is the
//! signature alone, so `lean / floor` is what everything the library checks costs beyond it.

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

/// At most this many distinct header segments are remembered (the first ones seen).
const MAX_HEADERS: usize = 64;

/// One key of the JWKS, parsed once.
struct Key {
    kid: String,
    alg: &'static str,
    parsed: ParsedPublicKey,
}

/// The keys, and the key each header segment seen so far names (`None`: no usable key).
struct Floor {
    keys: Vec<Key>,
    by_header: RwLock<HashMap<Box<str>, Option<usize>>>,
}

impl Floor {
    /// The key the header segment `header` names, decoding the header on first sight only.
    fn key_for(&self, header: &str) -> Option<&ParsedPublicKey> {
        let known = self.by_header.read().ok()?.get(header).copied();
        let index = match known {
            Some(index) => index,
            None => {
                let index = self.first_sight(header);
                let mut seen = self.by_header.write().ok()?;
                if seen.len() < MAX_HEADERS {
                    seen.insert(header.into(), index);
                }
                index
            }
        };
        index.map(|i| &self.keys[i].parsed)
    }

    /// Decodes a header segment (the only JSON the floor ever reads per header) and finds
    /// the key its `kid` names, if that key is for its `alg`.
    fn first_sight(&self, header: &str) -> Option<usize> {
        let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let (kid, alg) = (json.get("kid")?.as_str()?, json.get("alg")?.as_str()?);
        self.keys.iter().position(|k| k.kid == kid && k.alg == alg)
    }
}

/// How a JWK's `alg` is verified.
enum Scheme {
    Rsa(&'static signature::RsaParameters),
    Ec(&'static signature::EcdsaVerificationAlgorithm),
}

/// The algorithms the floor verifies (the library's common ones).
const ALGS: [(&str, Scheme); 5] = [
    ("RS256", Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256)),
    ("RS384", Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384)),
    ("RS512", Scheme::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512)),
    ("ES256", Scheme::Ec(&signature::ECDSA_P256_SHA256_FIXED)),
    ("ES384", Scheme::Ec(&signature::ECDSA_P384_SHA384_FIXED)),
];

/// Parses every usable key of a JWKS, once, for the one algorithm its JWK names.
fn load_keys(jwks: &Value) -> Vec<Key> {
    let text = |jwk: &Value, name: &str| jwk.get(name).and_then(Value::as_str).map(str::to_owned);
    let b64 = |jwk: &Value, name: &str| URL_SAFE_NO_PAD.decode(text(jwk, name)?).ok();
    let mut keys = Vec::new();
    for jwk in jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(kid), Some(alg)) = (text(jwk, "kid"), text(jwk, "alg")) else {
            continue;
        };
        let Some((alg, scheme)) = ALGS.iter().find(|(name, _)| *name == alg) else {
            continue;
        };
        let parsed = match scheme {
            Scheme::Rsa(params) => b64(jwk, "n").zip(b64(jwk, "e")).and_then(|(n, e)| {
                RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(params)
                    .ok()
            }),
            Scheme::Ec(algorithm) => b64(jwk, "x").zip(b64(jwk, "y")).and_then(|(x, y)| {
                let point = [&[4u8][..], &x, &y].concat();
                UnparsedPublicKey::new(*algorithm, point).parse().ok()
            }),
        };
        if let Some(parsed) = parsed {
            keys.push(Key { kid, alg, parsed });
        }
    }
    keys
}

/// Steps 1–4 of the module doc: whether the request's bearer token has a valid signature.
fn signature_valid(floor: &Floor, request: &Request) -> bool {
    let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Some((header, _claims)) = input.split_once('.') else {
        return false;
    };
    let mut buf = [0u8; signature_b64::MAX_SIGNATURE];
    let Some(sig) = signature_b64::decode(signature, &mut buf) else {
        return false;
    };
    floor
        .key_for(header)
        .is_some_and(|key| key.verify_sig(input.as_bytes(), sig).is_ok())
}

async fn me(State(floor): State<Arc<Floor>>, request: Request) -> (StatusCode, &'static str) {
    if signature_valid(&floor, &request) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::UNAUTHORIZED, "")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:18082".to_owned())
        .parse()?;
    let jwks_file = std::env::var("JWKS_FILE").map_err(|_| "JWKS_FILE is not set")?;
    let jwks: Value = serde_json::from_slice(&std::fs::read(&jwks_file)?)?;
    let keys = load_keys(&jwks);
    if keys.is_empty() {
        return Err(format!("{jwks_file}: no RS256/384/512 or ES256/384 key with a kid").into());
    }
    let count = keys.len();
    let floor = Arc::new(Floor {
        keys,
        by_header: RwLock::new(HashMap::new()),
    });
    let app = Router::new().route("/me", get(me)).with_state(floor);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!(
        "floor listening on {} with {count} keys",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
