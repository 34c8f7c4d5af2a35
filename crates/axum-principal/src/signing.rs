//! The one thing this crate signs: the client assertions of `private_key_jwt` (RFC 7523
//! §2.2), with a private key parsed once, when it is configured, by the crypto backend the
//! crate features chose (as `crypto.rs` does for verification). Also the random bytes of
//! their `jti`.
//!
//! Keys come as unencrypted PEM: PKCS#8 (`BEGIN PRIVATE KEY`) for every algorithm, or
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`) for RSA. The decoded DER is wiped once parsed. With
//! `aws-lc-rs` the parsed key lives in AWS-LC, which wipes it when it is freed; with
//! `rust-crypto` the DER is kept (wiped on drop) and parsed again for each signature.

use zeroize::Zeroizing;

use crate::alg::Algorithm;

/// A private key ready to sign with one algorithm.
pub(crate) struct SigningKey(Backend);

impl SigningKey {
    /// The key in `pem` for `alg`, or why not (a sentence that names no key material).
    pub(crate) fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, &'static str> {
        let (label, der) = decode_pem(pem).ok_or(
            "not an unencrypted PEM private key (BEGIN PRIVATE KEY, or BEGIN RSA PRIVATE KEY)",
        )?;
        let format =
            match label {
                "PRIVATE KEY" => Format::Pkcs8,
                "RSA PRIVATE KEY" if alg.is_rsa() => Format::Pkcs1,
                _ => return Err(
                    "the PEM must be PKCS#8 (BEGIN PRIVATE KEY), or PKCS#1 for an RSA algorithm",
                ),
            };
        if alg.is_hmac() {
            return Err("HS256/HS384/HS512 are not private-key algorithms");
        }
        Backend::parse(alg, format, &der)
            .map(Self)
            .ok_or("the key does not parse for this algorithm")
    }

    /// The JWS signature of `message`; `None` only if the backend fails.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.0.sign(message)
    }
}

/// How a key's DER is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Pkcs8,
    Pkcs1,
}

/// `n` random bytes from the system's generator; `None` if it fails.
pub(crate) fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    backend_fill(&mut bytes).then_some(bytes)
}

/// The label and the decoded body of the first PEM block, the body wiped when dropped.
fn decode_pem(pem: &[u8]) -> Option<(&'static str, Zeroizing<Vec<u8>>)> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let begin = text.find("-----BEGIN ")?;
    let rest = text.get(begin + "-----BEGIN ".len()..)?;
    let label_end = rest.find("-----")?;
    let label = match rest.get(..label_end)? {
        "PRIVATE KEY" => "PRIVATE KEY",
        "RSA PRIVATE KEY" => "RSA PRIVATE KEY",
        "EC PRIVATE KEY" => "EC PRIVATE KEY",
        _ => return None,
    };
    let body = rest.get(label_end + "-----".len()..)?;
    let end = body.find("-----END ")?;
    let encoded: Zeroizing<String> = Zeroizing::new(
        body.get(..end)?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    let der = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .ok()?;
    Some((label, Zeroizing::new(der)))
}

#[cfg(feature = "aws-lc-rs")]
use aws_lc_backend::{fill as backend_fill, Backend};

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
use rust_crypto_backend::{fill as backend_fill, Backend};

#[cfg(feature = "aws-lc-rs")]
mod aws_lc_backend {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair};

    use super::Format;
    use crate::alg::Algorithm;

    pub(crate) enum Backend {
        Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
        Ec(EcdsaKeyPair),
        Ed(Ed25519KeyPair),
    }

    impl Backend {
        pub(crate) fn parse(alg: Algorithm, format: Format, der: &[u8]) -> Option<Self> {
            let rsa = |encoding: &'static dyn sig::RsaEncoding| {
                let pair = match format {
                    Format::Pkcs8 => RsaKeyPair::from_pkcs8(der),
                    Format::Pkcs1 => RsaKeyPair::from_der(der),
                };
                pair.ok().map(|pair| Self::Rsa(pair, encoding))
            };
            let ec = |signing: &'static sig::EcdsaSigningAlgorithm| {
                EcdsaKeyPair::from_pkcs8(signing, der).ok().map(Self::Ec)
            };
            match alg {
                Algorithm::RS256 => rsa(&sig::RSA_PKCS1_SHA256),
                Algorithm::RS384 => rsa(&sig::RSA_PKCS1_SHA384),
                Algorithm::RS512 => rsa(&sig::RSA_PKCS1_SHA512),
                Algorithm::PS256 => rsa(&sig::RSA_PSS_SHA256),
                Algorithm::PS384 => rsa(&sig::RSA_PSS_SHA384),
                Algorithm::PS512 => rsa(&sig::RSA_PSS_SHA512),
                Algorithm::ES256 => ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING),
                Algorithm::ES384 => ec(&sig::ECDSA_P384_SHA384_FIXED_SIGNING),
                Algorithm::EdDSA => Ed25519KeyPair::from_pkcs8(der).ok().map(Self::Ed),
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => None,
            }
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
            let rng = SystemRandom::new();
            match self {
                Self::Rsa(pair, encoding) => {
                    let mut signature = vec![0u8; pair.public_modulus_len()];
                    pair.sign(*encoding, &rng, message, &mut signature).ok()?;
                    Some(signature)
                }
                Self::Ec(pair) => pair.sign(&rng, message).ok().map(|s| s.as_ref().to_vec()),
                Self::Ed(pair) => Some(pair.sign(message).as_ref().to_vec()),
            }
        }
    }

    pub(crate) fn fill(bytes: &mut [u8]) -> bool {
        aws_lc_rs::rand::fill(bytes).is_ok()
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod rust_crypto_backend {
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    use jsonwebtoken::EncodingKey;
    use zeroize::Zeroizing;

    use super::Format;
    use crate::alg::Algorithm;

    /// The DER jsonwebtoken's RustCrypto signers parse (PKCS#1 for RSA, PKCS#8 otherwise),
    /// checked once by building a signer.
    pub(crate) struct Backend {
        alg: jsonwebtoken::Algorithm,
        der: Zeroizing<Vec<u8>>,
    }

    impl Backend {
        pub(crate) fn parse(alg: Algorithm, format: Format, der: &[u8]) -> Option<Self> {
            let der = match (alg.is_rsa(), format) {
                (true, Format::Pkcs8) => pkcs8_private_key(der)?,
                _ => Zeroizing::new(der.to_vec()),
            };
            let backend = Self {
                alg: crate::crypto::to_jwt(alg),
                der,
            };
            backend.sign(b"check").map(|_| backend)
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
            let key = match self.alg {
                jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::ES384 => {
                    EncodingKey::from_ec_der(&self.der)
                }
                jsonwebtoken::Algorithm::EdDSA => EncodingKey::from_ed_der(&self.der),
                _ => EncodingKey::from_rsa_der(&self.der),
            };
            let signer = (DEFAULT_PROVIDER.signer_factory)(&self.alg, &key).ok()?;
            jsonwebtoken::signature::Signer::try_sign(&*signer, message).ok()
        }
    }

    /// The `privateKey` octet string of a PKCS#8 `PrivateKeyInfo` (RFC 5208): for RSA, the
    /// PKCS#1 key jsonwebtoken parses.
    fn pkcs8_private_key(der: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (tag, info, _) = der_item(der)?;
        if tag != 0x30 {
            return None;
        }
        let (_, _, rest) = der_item(info)?; // version
        let (_, _, rest) = der_item(rest)?; // algorithm
        let (tag, key, _) = der_item(rest)?;
        (tag == 0x04).then(|| Zeroizing::new(key.to_vec()))
    }

    /// One DER item: its tag, its contents, and what follows it.
    fn der_item(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = der.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, rest) = rest.split_at(n);
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, rest)
        };
        if rest.len() < len {
            return None;
        }
        let (contents, rest) = rest.split_at(len);
        Some((tag, contents, rest))
    }

    pub(crate) fn fill(bytes: &mut [u8]) -> bool {
        getrandom::getrandom(bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_private_key_pems_are_read() {
        assert!(decode_pem(b"not a pem").is_none());
        assert!(
            decode_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_none()
        );
        let (label, der) =
            decode_pem(b"-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n")
                .expect("a PKCS#8 block");
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(der.as_slice(), &[0, 1, 2, 3]);
    }

    #[test]
    fn a_bad_key_is_an_error_not_a_panic() {
        let garbage = b"-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----";
        assert!(SigningKey::from_pem(Algorithm::RS256, garbage).is_err());
        assert!(SigningKey::from_pem(Algorithm::HS256, garbage).is_err());
        assert!(SigningKey::from_pem(Algorithm::ES256, b"").is_err());
    }

    #[test]
    fn random_bytes_differ() {
        let a = random_bytes::<16>().expect("random");
        let b = random_bytes::<16>().expect("random");
        assert_ne!(a, b);
    }
}
