//! One issuer's parsed key set, its lifetimes, and which of its keys a token may be
//! verified with.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::alg::Algorithm;
use crate::config::KeyPolicy;
use crate::jwk::VerifyingKey;

/// Tokens without a `kid` are tried against at most this many fitting keys.
const MAX_KIDLESS_CANDIDATES: usize = 4;

/// One fetched (or configured) key set of one issuer.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(super) keys: Vec<Arc<VerifyingKey>>,
    pub(super) version: u64,
    pub(super) refresh_at: SystemTime,
    pub(super) fresh_until: SystemTime,
    pub(super) usable_until: SystemTime,
}

impl KeySet {
    /// The keys a token with this `kid` and `alg` may be verified with.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Arc<VerifyingKey>> + 'a {
        let limit = if kid.is_some() {
            1
        } else {
            MAX_KIDLESS_CANDIDATES
        };
        self.keys
            .iter()
            .filter(move |k| match kid {
                Some(kid) => k.kid.as_deref() == Some(kid),
                None => true,
            })
            .filter(move |k| k.fits(alg))
            .take(limit)
    }

    /// Keys given in the configuration: never expire, never refreshed.
    pub(super) fn fixed(keys: Vec<Arc<VerifyingKey>>) -> Self {
        let forever = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 4);
        Self {
            keys,
            version: 0,
            refresh_at: forever,
            fresh_until: forever,
            usable_until: forever,
        }
    }

    /// A set fetched at `now` whose response allowed caching for `max_age` (clamped to the
    /// policy's range): refreshed from three quarters of its life, served stale for the
    /// policy's stale window after it.
    pub(super) fn fetched(
        keys: Vec<Arc<VerifyingKey>>,
        version: u64,
        now: SystemTime,
        max_age: Option<Duration>,
        policy: &KeyPolicy,
    ) -> Self {
        let p = policy;
        let ttl = max_age.unwrap_or(p.default_ttl).clamp(p.min_ttl, p.max_ttl);
        let fresh_until = now + ttl;
        Self {
            keys,
            version,
            refresh_at: now + ttl.mul_f64(0.75),
            fresh_until,
            usable_until: fresh_until + p.stale_window,
        }
    }

    pub(super) fn has_candidate(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.candidates(kid, alg).next().is_some()
    }
}
