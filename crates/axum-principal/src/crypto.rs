//! The one place that names the crypto backend chosen by crate features: ready-to-verify key
//! material and the token digest.
//!
//! With `aws-lc-rs` (the default) every key is parsed once, when its JWKS is fetched, into an
//! aws-lc-rs `ParsedPublicKey` per algorithm it may be used with; verification then costs only
//! the signature check itself. With `rust-crypto` the key is kept as a jsonwebtoken
//! `DecodingKey` and verified through jsonwebtoken's RustCrypto provider, chosen explicitly
//! rather than through jsonwebtoken's process-wide default, so that another crate enabling
//! jsonwebtoken's other backend cannot turn verification into a runtime panic.
//!
//! Which algorithm may be used with which key is decided before this module is reached
//! (`jwk::VerifyingKey::fits`); this module only refuses what it was not prepared for.

use crate::alg::Algorithm;

/// A public key (or HMAC secret) ready to verify signatures.
pub(crate) struct KeyMaterial(Backend);

/// SHA-256, for token-cache keys and key fingerprints.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    backend_sha256(parts)
}

impl KeyMaterial {
    /// An RSA key for every algorithm in `algorithms` (all RSA ones).
    pub(crate) fn rsa(n: &[u8], e: &[u8], algorithms: &[Algorithm]) -> Option<Self> {
        Backend::rsa(n, e, algorithms).map(Self)
    }

    /// An EC key on P-256 (`ES256`) or P-384 (`ES384`), from its affine coordinates.
    pub(crate) fn ec(alg: Algorithm, x: &[u8], y: &[u8]) -> Option<Self> {
        Backend::ec(alg, x, y).map(Self)
    }

    /// An Ed25519 public key.
    pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
        Backend::ed25519(x).map(Self)
    }

    /// An HMAC secret for HS256/HS384/HS512.
    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Self(Backend::hmac(secret))
    }

    /// Whether `signature` over `message` verifies with this key and `alg`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify(alg, message, signature)
    }
}

#[cfg(feature = "aws-lc-rs")]
use aws_lc_backend::{sha256 as backend_sha256, Backend};

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
pub(crate) use rust_crypto_backend::to_jwt;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
use rust_crypto_backend::{sha256 as backend_sha256, Backend};

#[cfg(feature = "aws-lc-rs")]
mod aws_lc_backend {
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
    use aws_lc_rs::{digest, hmac};

    use crate::alg::Algorithm;

    pub(crate) enum Backend {
        /// One parsed key per algorithm it may verify.
        Public(Vec<(Algorithm, ParsedPublicKey)>),
        /// HS256, HS384, HS512.
        Hmac(Box<[hmac::Key; 3]>),
    }

    fn rsa_params(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
        Some(match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }

    impl Backend {
        pub(crate) fn rsa(n: &[u8], e: &[u8], algorithms: &[Algorithm]) -> Option<Self> {
            let components = RsaPublicKeyComponents { n, e };
            let mut parsed = Vec::new();
            for alg in algorithms {
                if let Some(params) = rsa_params(*alg) {
                    parsed.push((*alg, components.to_parsed_public_key(params).ok()?));
                }
            }
            (!parsed.is_empty()).then_some(Self::Public(parsed))
        }

        pub(crate) fn ec(alg: Algorithm, x: &[u8], y: &[u8]) -> Option<Self> {
            let verification: &'static sig::EcdsaVerificationAlgorithm = match alg {
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
                _ => return None,
            };
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            let parsed = ParsedPublicKey::new(verification, point).ok()?;
            Some(Self::Public(vec![(alg, parsed)]))
        }

        pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
            let parsed = ParsedPublicKey::new(&sig::ED25519, x).ok()?;
            Some(Self::Public(vec![(Algorithm::EdDSA, parsed)]))
        }

        pub(crate) fn hmac(secret: &[u8]) -> Self {
            Self::Hmac(Box::new([
                hmac::Key::new(hmac::HMAC_SHA256, secret),
                hmac::Key::new(hmac::HMAC_SHA384, secret),
                hmac::Key::new(hmac::HMAC_SHA512, secret),
            ]))
        }

        pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
            match self {
                Self::Public(keys) => keys
                    .iter()
                    .find(|(a, _)| *a == alg)
                    .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok()),
                Self::Hmac(keys) => {
                    let [hs256, hs384, hs512] = &**keys;
                    let key = match alg {
                        Algorithm::HS256 => hs256,
                        Algorithm::HS384 => hs384,
                        Algorithm::HS512 => hs512,
                        _ => return false,
                    };
                    hmac::verify(key, message, signature).is_ok()
                }
            }
        }
    }

    pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for part in parts {
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod rust_crypto_backend {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    use jsonwebtoken::DecodingKey;
    use sha2::Digest as _;

    use crate::alg::Algorithm;

    pub(crate) struct Backend(DecodingKey);

    impl Backend {
        pub(crate) fn rsa(n: &[u8], e: &[u8], _algorithms: &[Algorithm]) -> Option<Self> {
            Some(Self(DecodingKey::from_rsa_raw_components(n, e)))
        }

        pub(crate) fn ec(_alg: Algorithm, x: &[u8], y: &[u8]) -> Option<Self> {
            DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y))
                .ok()
                .map(Self)
        }

        pub(crate) fn ed25519(x: &[u8]) -> Option<Self> {
            DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(x))
                .ok()
                .map(Self)
        }

        pub(crate) fn hmac(secret: &[u8]) -> Self {
            Self(DecodingKey::from_secret(secret))
        }

        pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
            let Ok(verifier) = (DEFAULT_PROVIDER.verifier_factory)(&to_jwt(alg), &self.0) else {
                return false;
            };
            verifier.verify(message, &signature.to_vec()).is_ok()
        }
    }

    pub(crate) fn to_jwt(alg: Algorithm) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match alg {
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::EdDSA => J::EdDSA,
        }
    }

    pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}
