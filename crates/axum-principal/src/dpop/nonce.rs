//! Server-provided nonces (RFC 9449 §8): off by default. With a [`NonceSource`], a proof
//! must carry a `nonce` the source accepts; one without (or with a stale one) is answered
//! 401 `use_dpop_nonce` with a fresh value in the `DPoP-Nonce` header.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::clock::unix_seconds;
use crate::config::ConfigError;
use crate::crypto::sha256;

/// Issues and checks DPoP nonces. Implement it for nonces kept elsewhere (shared between
/// replicas, say); [`HmacNonces`] needs no storage.
pub trait NonceSource: Send + Sync + 'static {
    /// The nonce to hand out now (the `DPoP-Nonce` header of a `use_dpop_nonce` refusal).
    /// It must be a valid header value of `NQCHAR`s (RFC 9449 §8.1).
    fn current(&self, now: SystemTime) -> String;

    /// Whether a proof's `nonce` is acceptable now.
    fn is_valid(&self, nonce: &str, now: SystemTime) -> bool;
}

/// Stateless nonces: a time step and an HMAC-SHA256 of it under a secret. A nonce is
/// accepted during its own step and the next, so it lives between one and two `lifetime`s.
/// Replicas sharing the secret accept each other's nonces.
#[derive(Clone)]
pub struct HmacNonces {
    key: [u8; 64],
    step_secs: i64,
}

impl fmt::Debug for HmacNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacNonces")
            .field("step_secs", &self.step_secs)
            .finish_non_exhaustive()
    }
}

impl HmacNonces {
    /// Nonces under `secret` (at least 32 bytes) that change every `lifetime` (1 s to 1 h).
    pub fn new(secret: &[u8], lifetime: Duration) -> Result<Self, ConfigError> {
        if secret.len() < 32 {
            return Err(ConfigError::InvalidDpop(
                "the nonce secret must be at least 32 bytes",
            ));
        }
        let secs = lifetime.as_secs();
        if !(1..=3600).contains(&secs) {
            return Err(ConfigError::InvalidDpop(
                "the nonce lifetime must be 1 s to 1 h",
            ));
        }
        let mut key = [0u8; 64];
        if secret.len() > key.len() {
            key[..32].copy_from_slice(&sha256(&[secret]));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        Ok(Self {
            key,
            step_secs: i64::try_from(secs).unwrap_or(3600),
        })
    }

    fn step(&self, now: SystemTime) -> i64 {
        unix_seconds(now).div_euclid(self.step_secs)
    }

    fn mac(&self, step: i64) -> [u8; 32] {
        let pad = |byte: u8| self.key.map(|k| k ^ byte);
        let message = step.to_be_bytes();
        let inner = sha256(&[&pad(0x36), b"dpop-nonce", &message]);
        sha256(&[&pad(0x5c), &inner])
    }

    fn encode(&self, step: i64) -> String {
        let mut raw = step.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.mac(step)[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }
}

impl NonceSource for HmacNonces {
    fn current(&self, now: SystemTime) -> String {
        self.encode(self.step(now))
    }

    fn is_valid(&self, nonce: &str, now: SystemTime) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let (Some(step), Some(mac)) = (raw.get(..8), raw.get(8..)) else {
            return false;
        };
        let Ok(step) = <[u8; 8]>::try_from(step).map(i64::from_be_bytes) else {
            return false;
        };
        let current = self.step(now);
        if step != current && step != current.saturating_sub(1) {
            return false;
        }
        let expected = self.mac(step);
        mac.len() == 16
            && mac
                .iter()
                .zip(&expected[..16])
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_for_its_step_and_the_next() {
        let nonces = HmacNonces::new(&[7u8; 32], Duration::from_secs(60)).expect("valid");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(6_000_000);
        let n = nonces.current(t0);
        assert!(nonces.is_valid(&n, t0));
        assert!(nonces.is_valid(&n, t0 + Duration::from_secs(60)));
        assert!(!nonces.is_valid(&n, t0 + Duration::from_secs(120)));
        assert!(!nonces.is_valid(&n, t0 - Duration::from_secs(60)));
        let other = HmacNonces::new(&[8u8; 32], Duration::from_secs(60)).expect("valid");
        assert!(!other.is_valid(&n, t0));
        for bad in ["", "!!", "AAAA", &n[..n.len() - 2]] {
            assert!(!nonces.is_valid(bad, t0), "{bad}");
        }
        assert!(HmacNonces::new(&[1u8; 31], Duration::from_secs(60)).is_err());
        assert!(HmacNonces::new(&[1u8; 32], Duration::ZERO).is_err());
    }
}
