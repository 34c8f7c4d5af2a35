//! The answer cache (off unless [`Introspection::cache`](crate::Introspection::cache) sets
//! a lifetime): an active answer's principal reused for the same token.
//!
//! * One cache per issuer per [`Authenticator`](crate::Authenticator): an answer accepted
//!   under one configuration (its audiences, its rules) never answers for another.
//! * A hit is the very token asked about: each entry keeps the token's bytes and a lookup
//!   compares them in full (the map's key, the token's last 32 bytes, only finds the
//!   entry). The bytes are wiped when the entry goes, never printed.
//! * An entry lives for at most the configured lifetime and never past the answer's `exp`
//!   (RFC 7662 §4); only active answers that passed every check are kept, never a failure,
//!   and, when asked for, `active: false` for a short negative lifetime.
//! * Bounded by entries and estimated bytes (each entry weighs at least
//!   `max_bytes / max_entries`); expired entries are swept out at most a minute late.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::token::TokenBytes;
use super::Introspected;
use crate::config::TokenCacheLimits;
use crate::token_cache::{locator, principal_weight, shard_count, ENTRY_OVERHEAD};

/// One kept answer.
struct Entry {
    token: TokenBytes,
    /// `None`: the issuer said the token is not active (kept only when asked for).
    answer: Option<Introspected>,
    /// Served while `now < until` (Unix seconds).
    until: i64,
    weight: u64,
}

#[derive(Clone)]
struct Weight {
    floor: u64,
}

impl quick_cache::Weighter<[u8; 32], Arc<Entry>> for Weight {
    fn weight(&self, _key: &[u8; 32], entry: &Arc<Entry>) -> u64 {
        entry.weight.max(self.floor).max(1)
    }
}

/// Expired entries are swept out at most this often (seconds of the configured clock).
const SWEEP_EVERY_SECS: i64 = 60;

/// What the cache holds for a token.
#[derive(Debug)]
pub(crate) enum Hit {
    /// An active answer, checked.
    Active(Introspected),
    /// The issuer said `active: false` a moment ago
    /// ([`Introspection::cache_inactive`](crate::Introspection::cache_inactive)).
    Inactive,
}

/// One issuer's answer cache.
pub(crate) struct AnswerCache {
    entries: quick_cache::sync::Cache<[u8; 32], Arc<Entry>, Weight, foldhash::fast::RandomState>,
    ttl_secs: i64,
    inactive_ttl_secs: i64,
    next_sweep: AtomicI64,
}

impl AnswerCache {
    pub(crate) fn new(ttl_secs: i64, inactive_ttl_secs: i64, limits: TokenCacheLimits) -> Self {
        let max_bytes = limits.max_bytes.max(1);
        let max_entries = limits.max_entries.max(1);
        let shards = shard_count(max_bytes);
        // At most what a shard admits, so that even one entry can be kept.
        let floor = (max_bytes / max_entries).min(max_bytes / shards / 100 * 96);
        let estimated = usize::try_from(max_entries.min(4096)).unwrap_or(4096);
        let mut options = quick_cache::OptionsBuilder::new();
        options
            .estimated_items_capacity(estimated)
            .weight_capacity(max_bytes)
            .shards(usize::try_from(shards).unwrap_or(1));
        let weigher = Weight { floor };
        let hasher = foldhash::fast::RandomState::default();
        let lifecycle = quick_cache::sync::DefaultLifecycle::default();
        let entries = match options.build() {
            Ok(options) => {
                quick_cache::sync::Cache::with_options(options, weigher, hasher, lifecycle)
            }
            // Only when a capacity is missing, and both are set above.
            Err(_) => {
                quick_cache::sync::Cache::with(estimated, max_bytes, weigher, hasher, lifecycle)
            }
        };
        Self {
            entries,
            ttl_secs,
            inactive_ttl_secs,
            next_sweep: AtomicI64::new(i64::MIN),
        }
    }

    /// The answer kept for exactly `token`, while it may still be served at `now`.
    pub(crate) fn get(self: &Arc<Self>, token: &[u8], now: i64) -> Option<Hit> {
        self.sweep_if_due(now);
        let key = locator(token);
        let entry = self.entries.get(&key)?;
        if *entry.token.as_bytes() != *token {
            return None;
        }
        if now >= entry.until {
            self.entries.remove_if(&key, |e| Arc::ptr_eq(e, &entry));
            return None;
        }
        Some(entry.answer.clone().map_or(Hit::Inactive, Hit::Active))
    }

    /// Keeps an active answer for `token` for the configured lifetime, or until its `exp`
    /// if that comes first.
    pub(crate) fn insert(&self, token: &[u8], answer: &Introspected, now: i64) {
        let until = now.saturating_add(self.ttl_secs).min(answer.expires_at);
        if until <= now {
            return;
        }
        let weight = ENTRY_OVERHEAD
            .saturating_add(token.len())
            .saturating_add(principal_weight(&answer.principal))
            .saturating_add(answer.binding.weight());
        let entry = Entry {
            token: TokenBytes::new(token),
            answer: Some(answer.clone()),
            until,
            weight: u64::try_from(weight).unwrap_or(u64::MAX),
        };
        self.entries.insert(locator(token), Arc::new(entry));
    }

    /// Keeps "not active" for `token` for the configured (short) negative lifetime, if any.
    pub(crate) fn insert_inactive(&self, token: &[u8], now: i64) {
        if self.inactive_ttl_secs <= 0 {
            return;
        }
        let weight = ENTRY_OVERHEAD.saturating_add(token.len());
        let entry = Entry {
            token: TokenBytes::new(token),
            answer: None,
            until: now.saturating_add(self.inactive_ttl_secs),
            weight: u64::try_from(weight).unwrap_or(u64::MAX),
        };
        self.entries.insert(locator(token), Arc::new(entry));
    }

    /// Entries held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops every entry past its time, at most once a minute, off the request path when
    /// there is a runtime.
    fn sweep_if_due(self: &Arc<Self>, now: i64) {
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(SWEEP_EVERY_SECS);
        if self
            .next_sweep
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let cache = Arc::clone(self);
        let sweep = move || cache.entries.retain(|_, entry| now < entry.until);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(sweep)),
            Err(_) => sweep(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::Binding;
    use crate::classify::{Classification, ClassifiedBy, Kind};
    use crate::principal::Principal;

    fn answer(exp: i64) -> Introspected {
        let claims = serde_json::json!({"sub": "s", "active": true});
        let claims = claims.as_object().cloned().unwrap_or_default();
        let classification = Classification {
            kind: Kind::User,
            classified_by: ClassifiedBy::Default,
        };
        let principal = Principal::from_claims("https://iss", claims, exp, classification, "roles")
            .expect("well-formed claims");
        Introspected {
            principal,
            binding: Binding::default(),
            expires_at: exp,
        }
    }

    fn cache(ttl: i64) -> Arc<AnswerCache> {
        Arc::new(AnswerCache::new(ttl, 0, TokenCacheLimits::default()))
    }

    #[test]
    fn inactive_is_kept_only_when_asked_and_only_briefly() {
        let off = cache(60);
        off.insert_inactive(b"revoked", 1_000);
        assert!(off.get(b"revoked", 1_000).is_none(), "off by default");
        let on = Arc::new(AnswerCache::new(60, 5, TokenCacheLimits::default()));
        on.insert_inactive(b"revoked", 1_000);
        assert!(matches!(on.get(b"revoked", 1_004), Some(Hit::Inactive)));
        assert!(on.get(b"revoked", 1_005).is_none(), "5 s, no more");
        // A later active answer replaces it.
        on.insert_inactive(b"t", 1_000);
        on.insert(b"t", &answer(10_000), 1_001);
        assert!(matches!(on.get(b"t", 1_002), Some(Hit::Active(_))));
    }

    #[test]
    fn an_answer_lives_for_the_lifetime_and_never_past_exp() {
        let cache = cache(60);
        cache.insert(b"ory_at_long", &answer(10_000), 1_000);
        cache.insert(b"ory_at_short", &answer(1_010), 1_000);
        assert!(cache.get(b"ory_at_short", 1_009).is_some());
        assert!(
            cache.get(b"ory_at_short", 1_010).is_none(),
            "exp came first"
        );
        assert!(cache.get(b"ory_at_long", 1_059).is_some());
        assert!(
            cache.get(b"ory_at_long", 1_060).is_none(),
            "the lifetime ended"
        );
    }

    #[test]
    fn only_the_very_token_is_answered() {
        let cache = cache(60);
        let token = b"0123456789abcdefghijklmnopqrstuvwxyz-same-tail-of-32-bytes";
        cache.insert(token, &answer(10_000), 1_000);
        let mut other = token.to_vec();
        other[0] = b'X';
        assert!(cache.get(&other, 1_001).is_none(), "same last 32 bytes");
        assert!(cache.get(token, 1_001).is_some());
    }

    #[test]
    fn an_answer_already_expired_is_not_kept() {
        let cache = cache(60);
        cache.insert(b"t", &answer(999), 1_000);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn bounded_in_entries() {
        let cache = Arc::new(AnswerCache::new(
            60,
            0,
            TokenCacheLimits::default()
                .max_entries(10)
                .max_bytes(1 << 20),
        ));
        for i in 0..100 {
            cache.insert(format!("token-{i}").as_bytes(), &answer(10_000), 1_000);
        }
        assert!(cache.len() <= 10, "{}", cache.len());
    }
}
