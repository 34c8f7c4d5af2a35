//! Step 2: the verified-token cache's policy. What a lookup found, whether an entry may
//! still answer (its time claims, and its key still in the issuer's set), and remembering a
//! fresh verification. The store itself is [`token_cache`](crate::token_cache).

use std::sync::Arc;

use super::Authenticator;
use crate::clock::unix_seconds;
use crate::principal::Principal;
use crate::token_cache::{Entry, Verified};

/// What the cache held for a token when it was looked up, carried with the token so that a
/// token is looked up (and counted) once.
pub(crate) enum Lookup {
    /// Not looked up: the cache is off, or the token is too large to be in it.
    NotLooked,
    /// Looked up; nothing held (or the entry held no longer answers).
    Miss,
    /// The entry for this very token (the cache compares it byte for byte), still to be
    /// re-checked.
    Found(Arc<Entry>),
}

impl Authenticator {
    /// What the cache holds for `token`.
    pub(super) fn lookup(&self, token: &[u8]) -> Lookup {
        let Some(cache) = &self.inner.cache else {
            return Lookup::NotLooked;
        };
        if token.len() > self.inner.config.inner.max_token_bytes {
            return Lookup::NotLooked;
        }
        cache.get(token).map_or(Lookup::Miss, Lookup::Found)
    }

    /// Whether a cached verification still holds: its time claims, and its key still in the
    /// issuer's set (which also keeps key refreshes running for cached traffic).
    pub(super) async fn still_valid(&self, entry: &Entry) -> bool {
        if let Some(valid) = self.valid_now(entry) {
            return valid;
        }
        let v = &entry.verified;
        let kid = v.kid.as_deref();
        match self.inner.keys.keys_for(v.issuer, kid, v.alg).await {
            Ok(set) => set
                .candidates(kid, v.alg)
                .any(|k| k.fingerprint == v.key_fingerprint),
            Err(_) => false,
        }
    }

    /// [`still_valid`](Self::still_valid) on what is in memory: `None` when only the key
    /// store can tell, after a fetch.
    pub(super) fn valid_now(&self, entry: &Entry) -> Option<bool> {
        let c = &self.inner.config.inner;
        let now = unix_seconds(c.clock.now());
        if let Some(cache) = &self.inner.cache {
            cache.sweep_if_due(now);
        }
        if !entry.in_time(now, c.leeway_secs) {
            return Some(false);
        }
        let keys = &self.inner.keys;
        let v = &entry.verified;
        if v.alg.is_hmac() {
            return Some(
                keys.hmac_key(v.issuer)
                    .is_some_and(|k| k.fingerprint == v.key_fingerprint),
            );
        }
        keys.still_holds(v.issuer, v.kid.as_deref(), v.alg, &v.key_fingerprint)
    }

    /// Drops the entry for `token`, which no longer answers.
    pub(super) fn forget(&self, token: &[u8]) {
        if let Some(cache) = &self.inner.cache {
            cache.remove(token);
        }
    }

    /// Caches a fresh verification of `token` (when the cache is on).
    pub(super) fn remember(&self, token: &[u8], principal: &Principal, verified: Verified) {
        let Some(cache) = &self.inner.cache else {
            return;
        };
        let now = unix_seconds(self.inner.config.inner.clock.now());
        let entry = Entry::from_verified(token, principal.clone(), verified, now);
        cache.insert(token, entry);
        cache.sweep_if_due(now);
    }
}
