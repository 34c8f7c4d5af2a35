//! Proof keys parsed once. A client signs all its proofs with one key, so their JOSE header
//! (`typ`, `alg`, `jwk`) is the same bytes every time: the checks on it, the parsed public key
//! and its RFC 7638 thumbprint are kept by the header segment's exact bytes, and a proof whose
//! header was seen before only has its signature and claims checked. The header's checks
//! depend on nothing but its bytes and the configuration this cache belongs to, so a hit
//! gives what checking again would. Only headers that passed are kept; the cache is bounded
//! in bytes, so a caller minting a key per proof only evicts entries, at the cost the check
//! had without the cache.

use std::sync::Arc;

use super::InvalidDpopProof;
use crate::alg::Algorithm;
use crate::crypto::KeyMaterial;

/// What a proof's header established: its algorithm, its key, and that key's thumbprint.
pub(crate) struct ProofKey {
    pub(crate) alg: Algorithm,
    pub(crate) material: KeyMaterial,
    /// RFC 7638 thumbprint (base64url), compared with the token's `cnf.jkt`.
    pub(crate) jkt: String,
}

/// Bytes the cache may hold: at ~1 KiB per RSA header, ~1,000 clients' keys (~2,500 EC).
const MAX_BYTES: u64 = 1 << 20;
/// What an entry costs beyond its header's bytes: the parsed key, the thumbprint, the map.
const ENTRY_OVERHEAD: u64 = 512;

/// An entry's weight: its header bytes plus a fixed overhead.
#[derive(Clone)]
struct HeaderWeight;

impl quick_cache::Weighter<Box<str>, Arc<ProofKey>> for HeaderWeight {
    fn weight(&self, header: &Box<str>, _key: &Arc<ProofKey>) -> u64 {
        u64::try_from(header.len())
            .unwrap_or(u64::MAX)
            .saturating_add(ENTRY_OVERHEAD)
    }
}

/// The cache of checked proof headers (one per DPoP configuration).
pub(crate) struct ProofKeys {
    entries: quick_cache::sync::Cache<
        Box<str>,
        Arc<ProofKey>,
        HeaderWeight,
        foldhash::fast::RandomState,
    >,
}

impl ProofKeys {
    pub(crate) fn new() -> Self {
        let estimated = usize::try_from(MAX_BYTES / (ENTRY_OVERHEAD * 2)).unwrap_or(1);
        Self {
            entries: quick_cache::sync::Cache::with(
                estimated,
                MAX_BYTES,
                HeaderWeight,
                // Keys are chosen by callers: a randomly seeded hash.
                foldhash::fast::RandomState::default(),
                quick_cache::sync::DefaultLifecycle::default(),
            ),
        }
    }

    /// The checked key of the proof header `segment` (base64url, as sent): from the cache,
    /// or from `check` (kept when it passes; a refusal is never kept).
    pub(crate) fn get_or_check(
        &self,
        segment: &str,
        check: impl FnOnce() -> Result<ProofKey, InvalidDpopProof>,
    ) -> Result<Arc<ProofKey>, InvalidDpopProof> {
        if let Some(key) = self.entries.get(segment) {
            return Ok(key);
        }
        let key = Arc::new(check()?);
        self.entries.insert(Box::from(segment), Arc::clone(&key));
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_key() -> ProofKey {
        ProofKey {
            alg: Algorithm::HS256,
            material: KeyMaterial::hmac(b"not a real proof key"),
            jkt: "jkt".to_owned(),
        }
    }

    #[test]
    fn a_header_is_checked_once_and_a_refusal_every_time() {
        let keys = ProofKeys::new();
        let mut checks = 0;
        for _ in 0..3 {
            let key = keys
                .get_or_check("header-a", || {
                    checks += 1;
                    Ok(a_key())
                })
                .expect("the check passes");
            assert_eq!(key.jkt, "jkt");
        }
        assert_eq!(checks, 1, "the same header bytes are checked once");
        keys.get_or_check("header-b", || {
            checks += 1;
            Ok(a_key())
        })
        .expect("the check passes");
        assert_eq!(checks, 2, "other header bytes are checked");
        for _ in 0..2 {
            let refused = keys
                .get_or_check("header-bad", || {
                    checks += 1;
                    Err(InvalidDpopProof::BadKey)
                })
                .err()
                .expect("the check refuses");
            assert_eq!(refused, InvalidDpopProof::BadKey);
        }
        assert_eq!(checks, 4, "a refused header is checked again");
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let keys = ProofKeys::new();
        let header = "h".repeat(4096);
        for i in 0..2000 {
            keys.get_or_check(&format!("{i}{header}"), || Ok(a_key()))
                .expect("the check passes");
        }
        assert!(
            keys.entries.weight() <= MAX_BYTES,
            "{}",
            keys.entries.weight()
        );
    }
}
