//! The verified-token cache: a repeated token skips decoding and signature verification.
//!
//! * A hit is the very token that was verified: each entry keeps the token's bytes and a
//!   lookup compares them in full, so no other token (not one differing in a single byte of
//!   its signature) is ever answered from an entry. The map is keyed by the token's last 32
//!   bytes (its signature's end) under a randomly seeded hash; that key only finds the
//!   entry to compare with. No digest is computed on the request path: SHA-256 of a whole
//!   token took about as long as the rest of a cache hit together.
//! * The kept token bytes are wiped when the entry is dropped, never logged or shown
//!   (`Debug` prints their length only).
//! * Stores the [`Principal`] built for the token, and what is needed to re-check it.
//! * An entry is served only while verification would still succeed: never after
//!   `exp` + leeway, never before `nbf` − leeway, and only while the key that verified it is
//!   still in the issuer's key set (an entry whose key left the JWKS is dropped).
//! * Bounded both by entries and by memory: each entry weighs at least
//!   `max_bytes / max_entries`, so neither bound can be exceeded (quick_cache evicts by
//!   weight).
//!   An entry is dropped when a lookup finds it expired, and every expired entry at most a
//!   minute later (a sweep on a blocking task, started by the first request after the
//!   minute), so the tokens entries keep do not outlive their use.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::alg::Algorithm;
use crate::binding::Binding;
use crate::config::{IssuerId, TokenCacheLimits};
use crate::principal::Principal;
use crate::verify::{Shape, Validity};

/// What a successful verification used, kept with its principal so that every cache hit
/// can re-check it: the issuer, the key (by `kid`, `alg` and fingerprint) and the time
/// claims.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The issuer that verified it.
    pub(crate) issuer: IssuerId,
    pub(crate) kid: Option<std::sync::Arc<str>>,
    pub(crate) alg: Algorithm,
    /// The fingerprint of the key that verified the signature.
    pub(crate) key_fingerprint: [u8; 32],
    pub(crate) validity: Validity,
    /// What the token's `cnf` binds it to, checked on every use (hit or not).
    pub(crate) binding: Binding,
}

/// A cached principal and what it was verified with.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The token itself, compared in full on every lookup.
    token: StoredToken,
    pub(crate) principal: Principal,
    pub(crate) verified: Verified,
    weight: u32,
    /// When it was verified (Unix seconds): served for at most
    /// [`MAX_ENTRY_LIFETIME_SECS`] after.
    verified_at: i64,
}

/// A verified token's bytes as an entry keeps them: wiped on drop, never printed.
struct StoredToken(Box<[u8]>);

impl Drop for StoredToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut *self.0);
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredToken({} bytes)", self.0.len())
    }
}

/// Where a token is looked for: its last 32 bytes (the end of its signature), zero-padded
/// in front when it is shorter. It only locates an entry; the entry's token decides.
pub(crate) fn locator(token: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let tail = token.len().saturating_sub(key.len());
    let bytes = token.get(tail..).unwrap_or_default();
    let start = key.len().saturating_sub(bytes.len());
    if let Some(slot) = key.get_mut(start..) {
        slot.copy_from_slice(bytes);
    }
    key
}

impl Entry {
    /// An entry weighed by what it holds once decoded (the principal's claims as JSON
    /// values), not by the token's length: a 16 KiB token of short strings decodes to
    /// about 190 KiB.
    pub(crate) fn from_verified(
        token: &[u8],
        principal: Principal,
        verified: Verified,
        now: i64,
    ) -> Self {
        let estimate = ENTRY_OVERHEAD
            .saturating_add(token.len())
            .saturating_add(principal_weight(&principal))
            .saturating_add(verified.kid.as_ref().map_or(0, |kid| kid.len()))
            .saturating_add(verified.binding.weight());
        Self {
            token: StoredToken(token.into()),
            principal,
            verified,
            weight: u32::try_from(estimate).unwrap_or(u32::MAX),
            verified_at: now,
        }
    }

    /// Whether this entry is for exactly `token`.
    pub(crate) fn is_for(&self, token: &[u8]) -> bool {
        *self.token.0 == *token
    }

    /// Whether the entry's time claims still hold at `now` (Unix seconds), and it is less
    /// than a day old.
    pub(crate) fn in_time(&self, now: i64, leeway: i64) -> bool {
        let validity = &self.verified.validity;
        now < self.verified_at.saturating_add(MAX_ENTRY_LIFETIME_SECS)
            && now <= validity.expires_at.saturating_add(leeway)
            && validity
                .not_before
                .is_none_or(|nbf| now.saturating_add(leeway) >= nbf)
    }
}

/// The entry, its `Arc`, the cache's key and bookkeeping, and the principal's fixed fields
/// (the token's own bytes are added to it).
pub(crate) const ENTRY_OVERHEAD: usize = 512;
/// One `serde_json::Value` (an enum of 32 bytes on 64-bit targets) with allocator slack.
const VALUE_SIZE: usize = 48;
/// One member of a `serde_json::Map` (a B-tree node slot: key `String` + value, amortised).
const MEMBER_SIZE: usize = 96;

/// What a principal holds on the heap, estimated: its own fields, the claims' JSON text and
/// index, and what the claims' `Map` takes once a handler asks for it
/// ([`Principal::claims`]), so an entry never outgrows its weight later.
pub(crate) fn principal_weight(principal: &Principal) -> usize {
    let fields = principal
        .roles()
        .chain(principal.scopes())
        .fold(0usize, |n, s| n.saturating_add(s.len()).saturating_add(24));
    let strings = principal
        .subject()
        .len()
        .saturating_add(principal.issuer().len())
        .saturating_add(principal.client_id().map_or(0, str::len));
    let (held, shape) = principal.claims_size();
    fields
        .saturating_add(strings)
        .saturating_add(held)
        .saturating_add(shape_weight(shape))
}

/// [`json_weight`] of a decoded value, from the shape counted while it was checked.
fn shape_weight(shape: Shape) -> usize {
    shape
        .values
        .saturating_mul(VALUE_SIZE)
        .saturating_add(shape.members.saturating_mul(MEMBER_SIZE))
        .saturating_add(shape.bytes)
}

/// The heap an owned JSON value holds, estimated: every value, array slot and object
/// member, and the bytes of every string (the reference [`shape_weight`] follows).
#[cfg(test)]
pub(crate) fn json_weight(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => VALUE_SIZE,
        Value::String(s) => VALUE_SIZE.saturating_add(s.len()),
        Value::Array(items) => items
            .iter()
            .fold(VALUE_SIZE, |n, v| n.saturating_add(json_weight(v))),
        Value::Object(members) => members.iter().fold(VALUE_SIZE, |n, (k, v)| {
            n.saturating_add(MEMBER_SIZE)
                .saturating_add(k.len())
                .saturating_add(json_weight(v))
        }),
    }
}

/// Hit and miss counts, for observability.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

/// The cache itself: quick_cache's sharded map, bounded by weight (see the module docs).
/// Read on every request, so its read path is a shard's read lock and one probe; moka,
/// which the crate uses elsewhere, records every read for its admission policy and cost
/// about a third of a cache hit's time under load.
pub(crate) struct TokenCache {
    entries:
        quick_cache::sync::Cache<[u8; 32], Arc<Entry>, EntryWeight, foldhash::fast::RandomState>,
    pub(crate) counters: Counters,
    leeway_secs: i64,
    /// When the next sweep of expired entries is due (Unix seconds).
    next_sweep: AtomicI64,
}

/// Entries live at most a day (then the token is verified again), whatever a signed token's
/// far-future `exp` says.
pub(crate) const MAX_ENTRY_LIFETIME_SECS: i64 = 24 * 3600;

/// An entry's weight, never below `floor` (about `max_bytes / max_entries`), so that
/// neither bound can be exceeded.
#[derive(Clone)]
struct EntryWeight {
    floor: u64,
}

impl quick_cache::Weighter<[u8; 32], Arc<Entry>> for EntryWeight {
    fn weight(&self, _key: &[u8; 32], entry: &Arc<Entry>) -> u64 {
        u64::from(entry.weight).max(self.floor).max(1)
    }
}

/// Typical entries weigh about 2 KiB: what the map is sized for up front (it grows as
/// needed), at most [`MAX_ESTIMATED_ENTRIES`].
const TYPICAL_ENTRY_BYTES: u64 = 2048;
const MAX_ESTIMATED_ENTRIES: u64 = 1 << 16;
/// Each shard holds at least this much (when the cache does), so that the heaviest entry a
/// token within the size limit makes (a few hundred KiB) can be admitted: quick_cache
/// admits nothing heavier than 97 % of a shard.
const MIN_SHARD_BYTES: u64 = 1 << 20;
/// Expired entries are swept out at most this often (seconds of the configured clock), so
/// that the tokens they keep do not outlive their use on a quiet service.
const SWEEP_EVERY_SECS: i64 = 60;

/// How many shards: quick_cache's own choice (4 per core, a power of two), but none
/// smaller than [`MIN_SHARD_BYTES`].
pub(crate) fn shard_count(max_bytes: u64) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let wanted = u64::try_from(cores).unwrap_or(1).saturating_mul(4);
    let fits = (max_bytes / MIN_SHARD_BYTES).max(1);
    let most = wanted.min(fits).max(1);
    // The largest power of two not above `most`.
    1u64 << (63 - most.leading_zeros())
}

impl TokenCache {
    pub(crate) fn new(limits: TokenCacheLimits, leeway_secs: i64) -> Self {
        let max_bytes = limits.max_bytes.max(1);
        let max_entries = limits.max_entries.max(1);
        let shards = shard_count(max_bytes);
        // At most what a shard admits (96 % of the smallest shard), so that even
        // `max_entries(1)` caches its one entry; when that caps it, fewer entries than
        // `max_entries` fit anyway.
        let floor = (max_bytes / max_entries).min(max_bytes / shards / 100 * 96);
        let estimated = max_entries
            .min(max_bytes / TYPICAL_ENTRY_BYTES)
            .clamp(1, MAX_ESTIMATED_ENTRIES);
        let mut options = quick_cache::OptionsBuilder::new();
        options
            .estimated_items_capacity(usize::try_from(estimated).unwrap_or(1))
            .weight_capacity(max_bytes)
            .shards(usize::try_from(shards).unwrap_or(1));
        let weigher = EntryWeight { floor };
        // Keys are the ends of signatures a caller sends: a randomly seeded hash, fast on
        // 32 bytes, keeps where they land unpredictable.
        let hasher = foldhash::fast::RandomState::default();
        let lifecycle = quick_cache::sync::DefaultLifecycle::default();
        let entries = match options.build() {
            Ok(options) => {
                quick_cache::sync::Cache::with_options(options, weigher, hasher, lifecycle)
            }
            // Only when a capacity is missing, and both are set above.
            Err(_) => quick_cache::sync::Cache::with(
                usize::try_from(estimated).unwrap_or(1),
                max_bytes,
                weigher,
                hasher,
                lifecycle,
            ),
        };
        Self {
            entries,
            counters: Counters::default(),
            leeway_secs,
            next_sweep: AtomicI64::new(i64::MIN),
        }
    }

    /// Starts a sweep of expired entries when one is due (at most once per
    /// [`SWEEP_EVERY_SECS`]), off the request path when there is a runtime.
    pub(crate) fn sweep_if_due(self: &Arc<Self>, now: i64) {
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
        let sweep = move || cache.sweep(now);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(sweep)),
            Err(_) => sweep(),
        }
    }

    /// Drops every entry that is no longer in time at `now`.
    pub(crate) fn sweep(&self, now: i64) {
        let leeway = self.leeway_secs;
        self.entries.retain(|_, entry| entry.in_time(now, leeway));
    }

    /// The entry for exactly `token`, counted as a hit or a miss.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<Entry>> {
        let found = self
            .entries
            .get(&locator(token))
            .filter(|entry| entry.is_for(token));
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        crate::observe::token_cache(found.is_some());
        found
    }

    /// Caches `entry` (made for `token`), in place of any entry under the same locator.
    pub(crate) fn insert(&self, token: &[u8], entry: Entry) {
        self.entries.insert(locator(token), Arc::new(entry));
    }

    /// Drops the entry for `token`, if the one held is for it.
    pub(crate) fn remove(&self, token: &[u8]) {
        self.entries
            .remove_if(&locator(token), |entry| entry.is_for(token));
    }

    /// Entries and total weight.
    pub(crate) fn usage(&self) -> (u64, u64) {
        let entries = u64::try_from(self.entries.len()).unwrap_or(u64::MAX);
        (entries, self.entries.weight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Classification, ClassifiedBy, Kind};
    use serde_json::json;

    /// An entry for `token` verified at `now`, expiring at `exp`.
    fn entry(token: &str, now: i64, exp: i64) -> Entry {
        let claims = json!({"sub": "s"}).as_object().cloned().unwrap_or_default();
        let classification = Classification {
            kind: Kind::User,
            classified_by: ClassifiedBy::Default,
        };
        let principal = Principal::from_claims("https://iss", claims, exp, classification, "roles")
            .expect("the claims are well-formed");
        let verified = Verified {
            issuer: IssuerId::FIRST,
            kid: None,
            alg: Algorithm::RS256,
            key_fingerprint: [0; 32],
            validity: Validity {
                expires_at: exp,
                not_before: None,
            },
            binding: Binding::default(),
        };
        Entry::from_verified(token.as_bytes(), principal, verified, now)
    }

    fn cache() -> Arc<TokenCache> {
        Arc::new(TokenCache::new(TokenCacheLimits::default(), 60))
    }

    #[test]
    fn a_sweep_drops_the_entries_out_of_time_and_only_them() {
        let cache = cache();
        cache.insert(b"old.token.aaaa", entry("old.token.aaaa", 1_000, 1_100));
        cache.insert(b"new.token.bbbb", entry("new.token.bbbb", 1_000, 9_000));
        cache.sweep(1_100 + 60);
        assert_eq!(cache.usage().0, 2, "exp + leeway is still in time");
        cache.sweep(1_100 + 61);
        assert_eq!(cache.usage().0, 1);
        assert!(cache.get(b"new.token.bbbb").is_some());
        assert!(cache.get(b"old.token.aaaa").is_none());
        // A day after its verification, even a far `exp` is out of time.
        cache.sweep(1_000 + MAX_ENTRY_LIFETIME_SECS);
        assert_eq!(cache.usage().0, 0);
    }

    /// Outside a runtime the sweep runs at once; it runs again only a minute later.
    #[test]
    fn sweeps_are_due_once_a_minute() {
        let cache = cache();
        cache.sweep_if_due(0);
        cache.insert(b"a.token.cccc", entry("a.token.cccc", 0, 100));
        cache.sweep_if_due(500);
        assert_eq!(
            cache.usage().0,
            0,
            "the first sweep after a minute dropped it"
        );
        cache.insert(b"b.token.dddd", entry("b.token.dddd", 500, 450));
        cache.sweep_if_due(559);
        assert_eq!(
            cache.usage().0,
            1,
            "not due before {}",
            500 + SWEEP_EVERY_SECS
        );
        cache.sweep_if_due(560);
        assert_eq!(cache.usage().0, 0);
    }

    #[test]
    fn shards_hold_at_least_a_mebibyte_and_are_a_power_of_two() {
        for max_bytes in [1, 1 << 19, 1 << 20, 3 << 20, 64 << 20, u64::MAX] {
            let shards = shard_count(max_bytes);
            assert!(shards.is_power_of_two(), "{max_bytes}: {shards}");
            assert!(
                shards == 1 || max_bytes / shards >= MIN_SHARD_BYTES,
                "{max_bytes}: {shards}"
            );
        }
    }

    /// A token of many short strings decodes to far more than its length: the weight must
    /// follow the decoded size (about 190 KiB for 16 KiB of `"a",`), not `3 × token length`.
    /// The weight counted while checking a token's JSON is at least what the decoded
    /// `Value` weighs.
    #[test]
    fn shape_weight_covers_the_decoded_value() {
        let claims =
            json!({"sub":"u","aud":["a","b"],"ext":{"roles":["x","y"],"n":[1,2.5,null]},"k":true});
        let map = claims.as_object().expect("an object").clone();
        let raw = crate::verify::RawClaims::from(map);
        let weight = shape_weight(raw.shape());
        assert!(
            weight >= json_weight(&claims),
            "{weight} vs {}",
            json_weight(&claims)
        );
        assert!(weight <= json_weight(&claims) + VALUE_SIZE, "{weight}");
    }

    #[test]
    fn a_kept_token_is_never_printed() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        let shown = format!("{:?}", StoredToken(token.as_bytes().into()));
        assert_eq!(shown, format!("StoredToken({} bytes)", token.len()));
    }

    #[test]
    fn the_locator_is_the_last_32_bytes_zero_padded_in_front() {
        let long = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
        assert_eq!(&locator(long)[..], &long[long.len() - 32..]);
        let short = locator(b"abc");
        assert_eq!(&short[29..], b"abc");
        assert!(short[..29].iter().all(|&b| b == 0));
        assert_eq!(locator(b""), [0u8; 32]);
    }

    #[test]
    fn weight_follows_the_decoded_size_not_the_token_length() {
        let many_short = serde_json::Value::Array(vec![json!("a"); 4000]);
        let encoded = serde_json::to_string(&many_short).expect("serialises");
        assert!(encoded.len() <= 16 * 1024, "{}", encoded.len());
        let weight = json_weight(&many_short);
        assert!(
            weight >= 4000 * 48,
            "weight {weight} for a 4000-item array of one-byte strings"
        );
        assert!(weight > 10 * encoded.len(), "{weight} vs {}", encoded.len());
        let one_long = json!("a".repeat(16 * 1024));
        let long_weight = json_weight(&one_long);
        assert!(
            (16 * 1024..17 * 1024).contains(&long_weight),
            "{long_weight}"
        );
    }
}
