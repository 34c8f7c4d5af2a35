//! One-time use of a value within a window: the store behind DPoP's `jti` replay check.
//!
//! A [`ReplayStore`] answers one question, atomically: has this key been seen within the
//! window? The in-process default, [`InMemoryReplayStore`], is bounded (moka) and holds for
//! one process only: with several replicas behind a load balancer, a proof replayed to
//! another replica is not caught. A store shared across replicas (Redis) implements the same
//! trait.
//!
//! A store that cannot answer says so ([`ReplayStoreUnavailable`]); callers fail closed (a
//! proof that cannot be checked for replay is refused with 503, so clients retry).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Whether a key was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    /// Not seen within the window; it is now recorded.
    Fresh,
    /// Seen before within the window.
    Replayed,
}

/// The store could not answer (unreachable, timed out). Callers must refuse the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayStoreUnavailable;

impl fmt::Display for ReplayStoreUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the replay store is unavailable")
    }
}

impl std::error::Error for ReplayStoreUnavailable {}

/// The future a [`ReplayStore`] returns.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ReplayVerdict, ReplayStoreUnavailable>> + Send + 'a>>;

/// Records keys for one-time use within a window, atomically (check and record in one step,
/// so two concurrent uses of one key cannot both be [`Fresh`](ReplayVerdict::Fresh)).
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` for `window` if it is new. `key` is already namespaced and bounded in
    /// length by the caller (e.g. a digest of the proof key's thumbprint and the `jti`).
    fn first_use<'a>(&'a self, key: &'a str, window: Duration) -> ReplayFuture<'a>;
}

/// The in-process default: a bounded moka cache of keys, each kept for its window. When full,
/// moka evicts; a store that must never forget a key within the window needs room for every
/// proof of one window (`max_keys`). A key costs about 450 bytes (a million ≈ 450 MB); DPoP
/// bounds what one principal may record
/// ([`DpopConfig::max_proofs_per_principal`](crate::dpop::DpopConfig::max_proofs_per_principal)).
#[derive(Clone)]
pub struct InMemoryReplayStore {
    seen: moka::sync::Cache<Box<str>, Instant>,
}

/// Each key lives for the window it was recorded with.
struct UntilWindowEnds;

impl moka::Expiry<Box<str>, Instant> for UntilWindowEnds {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        until: &Instant,
        now: Instant,
    ) -> Option<Duration> {
        Some(until.saturating_duration_since(now))
    }
}

impl InMemoryReplayStore {
    /// The default bound: a million keys.
    pub const DEFAULT_MAX_KEYS: u64 = 1_000_000;

    /// A store holding at most `max_keys` keys.
    pub fn new(max_keys: u64) -> Self {
        Self {
            seen: moka::sync::Cache::builder()
                .max_capacity(max_keys)
                .expire_after(UntilWindowEnds)
                .build(),
        }
    }
}

impl Default for InMemoryReplayStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_KEYS)
    }
}

impl fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("keys", &self.seen.entry_count())
            .finish()
    }
}

impl ReplayStore for InMemoryReplayStore {
    fn first_use<'a>(&'a self, key: &'a str, window: Duration) -> ReplayFuture<'a> {
        let until = Instant::now()
            .checked_add(window)
            .unwrap_or_else(Instant::now);
        // `entry().or_insert_with` is atomic per key: of two concurrent uses, one inserts.
        let entry = self.seen.entry(Box::from(key)).or_insert_with(|| until);
        let verdict = if entry.is_fresh() && until > Instant::now() {
            ReplayVerdict::Fresh
        } else if entry.is_fresh() {
            // A zero window records nothing worth keeping.
            self.seen.invalidate(key);
            ReplayVerdict::Fresh
        } else {
            ReplayVerdict::Replayed
        };
        Box::pin(std::future::ready(Ok(verdict)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_use(store: &InMemoryReplayStore, key: &str) -> ReplayVerdict {
        futures_util::FutureExt::now_or_never(store.first_use(key, Duration::from_secs(60)))
            .expect("the in-memory store answers at once")
            .expect("the in-memory store is always available")
    }

    #[test]
    fn a_key_is_fresh_once_then_replayed() {
        let store = InMemoryReplayStore::default();
        assert_eq!(first_use(&store, "a"), ReplayVerdict::Fresh);
        assert_eq!(first_use(&store, "a"), ReplayVerdict::Replayed);
        assert_eq!(first_use(&store, "b"), ReplayVerdict::Fresh);
    }

    #[test]
    fn concurrent_uses_of_one_key_are_fresh_once() {
        let store = InMemoryReplayStore::default();
        let fresh: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| first_use(&store, "same") == ReplayVerdict::Fresh))
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().expect("no panic")))
                .sum()
        });
        assert_eq!(fresh, 1);
    }
}
