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

use crate::alg::Algorithm;
use crate::binding::Binding;
use crate::config::TokenCacheLimits;
use crate::principal::Principal;
use crate::verify::{Shape, Validity};

/// What a successful verification used, kept with its principal so that every cache hit
/// can re-check it: the issuer, the key (by `kid`, `alg` and fingerprint) and the time
/// claims.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The issuer's index in the configuration.
    pub(crate) issuer: usize,
    pub(crate) kid: Option<String>,
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
    pub(crate) principal: Principal,
    pub(crate) verified: Verified,
    weight: u32,
}

impl Entry {
    /// An entry weighed by what it holds once decoded (the principal's claims as JSON
    /// values), not by the token's length: a 16 KiB token of short strings decodes to
    /// about 190 KiB.
    pub(crate) fn from_verified(principal: Principal, verified: Verified) -> Self {
        let estimate = ENTRY_OVERHEAD
            .saturating_add(principal_weight(&principal))
            .saturating_add(verified.kid.as_ref().map_or(0, String::len))
            .saturating_add(verified.binding.weight());
        Self {
            principal,
            verified,
            weight: u32::try_from(estimate).unwrap_or(u32::MAX),
        }
    }

    /// Whether the entry's time claims still hold at `now` (Unix seconds).
    pub(crate) fn in_time(&self, now: i64, leeway: i64) -> bool {
        let validity = &self.verified.validity;
        now <= validity.expires_at.saturating_add(leeway)
            && validity
                .not_before
                .is_none_or(|nbf| now.saturating_add(leeway) >= nbf)
    }
}

/// The entry, its `Arc`, the cache's key and bookkeeping, and the principal's fixed fields.
const ENTRY_OVERHEAD: usize = 512;
/// One `serde_json::Value` (an enum of 32 bytes on 64-bit targets) with allocator slack.
const VALUE_SIZE: usize = 48;
/// One member of a `serde_json::Map` (a B-tree node slot: key `String` + value, amortised).
const MEMBER_SIZE: usize = 96;

/// What a principal holds on the heap, estimated: its own fields, the claims' JSON text and
/// index, and what the claims' `Map` takes once a handler asks for it
/// ([`Principal::claims`]), so an entry never outgrows its weight later.
fn principal_weight(principal: &Principal) -> usize {
    let fields = principal
        .roles()
        .iter()
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
        let until = u64::try_from(
            value
                .verified
                .validity
                .expires_at
                .saturating_add(self.leeway),
        )
        .unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
