//! Signing keys: generation, signing and public JWK export.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use serde_json::{json, Value};

use crate::{b64url, Error, KeyAlg};

/// Private key material of one generated key.
pub(crate) enum KeyMaterial {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print private material.
        write!(f, "KeyMaterial({})", self.alg())
    }
}

impl KeyMaterial {
    /// Generates a fresh key pair for `alg`.
    pub(crate) fn generate(alg: KeyAlg) -> Result<Self, Error> {
        match alg {
            KeyAlg::Rs256 => rsa::KeyPair::generate(rsa::KeySize::Rsa2048)
                .map(Self::Rsa)
                .map_err(|_| Error::Crypto("RSA-2048 key generation failed")),
            KeyAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map(Self::Ec)
                .map_err(|_| Error::Crypto("P-256 key generation failed")),
            KeyAlg::EdDsa => Ed25519KeyPair::generate()
                .map(Self::Ed)
                .map_err(|_| Error::Crypto("Ed25519 key generation failed")),
        }
    }

    /// A fresh key pair for `alg` and its private key as PKCS#8 DER (for a client that
    /// hands its key to the code under test).
    pub(crate) fn generate_pkcs8(alg: KeyAlg) -> Result<(Self, Vec<u8>), Error> {
        let rng = SystemRandom::new();
        let failed = |_| Error::Crypto("key generation failed");
        let pkcs8 = match alg {
            KeyAlg::Rs256 => {
                let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).map_err(failed)?;
                let der = AsDer::<Pkcs8V1Der>::as_der(&pair).map_err(failed)?;
                return Ok((Self::Rsa(pair), der.as_ref().to_vec()));
            }
            KeyAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            KeyAlg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        let parsed = match alg {
            KeyAlg::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                .map(Self::Ec)
                .map_err(|_| Error::Crypto("P-256 key parsing failed"))?,
            _ => Ed25519KeyPair::from_pkcs8(&pkcs8)
                .map(Self::Ed)
                .map_err(|_| Error::Crypto("Ed25519 key parsing failed"))?,
        };
        Ok((parsed, pkcs8))
    }

    /// Whether `signature` over `msg` is this key's.
    pub(crate) fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{
            UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
        };
        match self {
            Self::Rsa(kp) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, kp.public_key().as_ref())
                    .verify(msg, signature)
                    .is_ok()
            }
            Self::Ec(kp) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, kp.public_key().as_ref())
                    .verify(msg, signature)
                    .is_ok()
            }
            Self::Ed(kp) => UnparsedPublicKey::new(&ED25519, kp.public_key().as_ref())
                .verify(msg, signature)
                .is_ok(),
        }
    }

    /// The JWS algorithm this key signs with.
    pub(crate) fn alg(&self) -> KeyAlg {
        match self {
            Self::Rsa(_) => KeyAlg::Rs256,
            Self::Ec(_) => KeyAlg::Es256,
            Self::Ed(_) => KeyAlg::EdDsa,
        }
    }

    /// Signs `msg` and returns the raw JWS signature bytes
    /// (PKCS#1 v1.5 for RS256, fixed `r || s` for ES256, 64 bytes for EdDSA).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Self::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(|_| Error::Crypto("RS256 signing failed"))?;
                Ok(sig)
            }
            Self::Ec(kp) => kp
                .sign(&SystemRandom::new(), msg)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| Error::Crypto("ES256 signing failed")),
            Self::Ed(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }

    /// The public half of this key as a JWK carrying `kid`.
    pub(crate) fn public_jwk(&self, kid: &str) -> Value {
        match self {
            Self::Rsa(kp) => {
                let public = kp.public_key();
                json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": kid,
                    "n": b64url(public.modulus().big_endian_without_leading_zero()),
                    "e": b64url(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Self::Ec(kp) => {
                // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = kp.public_key().as_ref();
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                json!({
                    "kty": "EC",
                    "use": "sig",
                    "alg": "ES256",
                    "crv": "P-256",
                    "kid": kid,
                    "x": b64url(x),
                    "y": b64url(y),
                })
            }
            Self::Ed(kp) => json!({
                "kty": "OKP",
                "use": "sig",
                "alg": "EdDSA",
                "crv": "Ed25519",
                "kid": kid,
                "x": b64url(kp.public_key().as_ref()),
            }),
        }
    }
}

/// Returns `n` random bytes as lower-case hex; falls back to a process-wide
/// counter if the system RNG is unavailable (uniqueness is what matters here).
pub(crate) fn random_hex(n: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static FALLBACK: AtomicU64 = AtomicU64::new(0x5eed_0000);

    let mut bytes = vec![0u8; n];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        let counter = FALLBACK.fetch_add(1, Ordering::Relaxed);
        let hex = format!("{counter:0width$x}", width = 2 * n);
        return hex[hex.len() - 2 * n..].to_string();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
