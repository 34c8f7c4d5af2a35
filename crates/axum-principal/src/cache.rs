//! The verified-token cache: a repeated token skips decoding and signature verification.
//!
//! * Keyed by the SHA-256 of the whole token — a full cryptographic hash, never a 64-bit one,
//!   so no two tokens share an entry.
//! * Stores the [`Principal`] built for the token, and what is needed to re-check it.
//! * An entry is served only while verification would still succeed: never after
//!   `exp` + leeway, never before `nbf` − leeway, and only while the key that verified it is
//!   still in the issuer's key set (an entry whose key left the JWKS is dropped).
//! * Bounded both by entries and by memory: each entry weighs at least
//!   `max_bytes / max_entries`, so neither bound can be exceeded (moka evicts by weight).
//!   Entries also expire on their own at `exp` + leeway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Algorithm;
use crate::principal::Principal;

/// How big the cache may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenCacheLimits {
    pub(crate) max_entries: u64,
    pub(crate) max_bytes: u64,
}

/// What a cached entry was verified with, to re-check on every hit.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) principal: Principal,
    pub(crate) issuer: usize,
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key_fingerprint: [u8; 32],
    pub(crate) expires_at: i64,
    pub(crate) not_before: Option<i64>,
    weight: u32,
}

impl Entry {
    /// An entry for a token of `token_len` bytes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        principal: Principal,
        issuer: usize,
        kid: Option<String>,
        alg: Algorithm,
        key_fingerprint: [u8; 32],
        expires_at: i64,
        not_before: Option<i64>,
        token_len: usize,
    ) -> Self {
        // Claims are held as JSON values: a few times the token's size, plus the principal.
        let estimate = token_len.saturating_mul(3).saturating_add(512);
        Self {
            principal,
            issuer,
            kid,
            alg,
            key_fingerprint,
            expires_at,
            not_before,
            weight: u32::try_from(estimate).unwrap_or(u32::MAX),
        }
    }

    /// Whether the entry's time claims still hold at `now` (Unix seconds).
    pub(crate) fn in_time(&self, now: i64, leeway: i64) -> bool {
        now <= self.expires_at.saturating_add(leeway)
            && self
                .not_before
                .is_none_or(|nbf| now.saturating_add(leeway) >= nbf)
    }
}

/// Hit and miss counts, for observability.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

/// The cache itself.
pub(crate) struct TokenCache {
    entries: moka::sync::Cache<[u8; 32], Arc<Entry>>,
    pub(crate) counters: Counters,
}

const MAX_ENTRY_LIFETIME_SECS: u64 = 24 * 3600;

struct ExpireAtExp {
    leeway: i64,
}

impl moka::Expiry<[u8; 32], Arc<Entry>> for ExpireAtExp {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Entry>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let until = u64::try_from(value.expires_at.saturating_add(self.leeway)).unwrap_or(0);
        // Entries live at most a day (then the token is verified again), whatever a signed
        // token's far-future `exp` says.
        Some(Duration::from_secs(
            until.saturating_sub(now).min(MAX_ENTRY_LIFETIME_SECS),
        ))
    }
}

impl TokenCache {
    pub(crate) fn new(limits: TokenCacheLimits, leeway: i64) -> Self {
        let floor = u32::try_from(limits.max_bytes / limits.max_entries.max(1)).unwrap_or(u32::MAX);
        let entries = moka::sync::Cache::builder()
            .max_capacity(limits.max_bytes)
            .weigher(move |_key: &[u8; 32], entry: &Arc<Entry>| entry.weight.max(floor).max(1))
            .expire_after(ExpireAtExp { leeway })
            .build();
        Self {
            entries,
            counters: Counters::default(),
        }
    }

    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<Arc<Entry>> {
        let found = self.entries.get(digest);
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        crate::observe::token_cache(found.is_some());
        found
    }

    pub(crate) fn insert(&self, digest: [u8; 32], entry: Entry) {
        self.entries.insert(digest, Arc::new(entry));
    }

    pub(crate) fn remove(&self, digest: &[u8; 32]) {
        self.entries.invalidate(digest);
    }

    /// Entries and total weight, after pending maintenance.
    pub(crate) fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}
