//! The refresh state machine: when a fetch of an issuer's keys may start, and who waits for
//! it. At most one fetch per issuer is in flight; it runs on its own task (never owned by the
//! request that started it) and answers everyone waiting through a `watch` channel. The
//! unknown-`kid` cooldown (counted from the last fetch for an unknown `kid`) and the failure
//! backoff (counted from the last failed fetch) decide whether a new one may start.
//!
//! The ordering matters (it is what the race fixes in the history settled): the issuer's
//! bookkeeping is kept under one lock; `in_flight` and `last_attempt` are set together when
//! a fetch starts, and `in_flight` is cleared only after the fetched set is stored, by a
//! drop guard, so a caller always sees the fetch in flight or its stored set.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::{lock, KeySet, KeyStore};
use crate::clock::elapsed_since;

/// What a fetch ends with: the new set, or `None` when it failed.
type Outcome = Option<Arc<KeySet>>;

/// Where a fetch task publishes its [`Outcome`]; `None` while it runs.
type OutcomeRx = watch::Receiver<Option<Outcome>>;

/// One issuer's fetch bookkeeping. Kept under one lock, so a caller always sees either the
/// fetch in flight or the outcome of the last one (never an attempt time without either).
#[derive(Default)]
pub(super) struct FetchState {
    /// The fetch in flight, if any; cleared only after its set is stored.
    in_flight: Option<OutcomeRx>,
    /// When the last fetch started; after a failure the backoff counts from it.
    last_attempt: Option<SystemTime>,
    /// When the last fetch for an unknown `kid` started; the cooldown counts from it alone, so
    /// a refresh ahead of expiry (or the first fetch) never holds back a key the issuer has
    /// just published and signs with.
    last_unknown_key_attempt: Option<SystemTime>,
    /// When the last fetch failed, if it did; the backoff also counts from it.
    failed_at: Option<SystemTime>,
    /// The version of the newest set a fetch stored.
    stored_version: u64,
}

/// What [`KeyStore::begin`] decided.
enum Begin {
    /// A fetch is running (started by this caller or earlier): its outcome arrives here.
    Wait(OutcomeRx),
    /// No fetch: a newer set than the caller's is stored, or the cooldown or backoff holds.
    Skip {
        /// The unknown-`kid` cooldown held (counted as such).
        cooldown: bool,
    },
}

/// A started fetch, owned by its task. However the task ends (done, panicked, or dropped
/// unpolled or mid-fetch with its runtime) the issuer's `in_flight` entry is cleared and
/// the waiters are answered; an end without a set counts as a failure.
struct FetchTask {
    cache: KeyStore,
    idx: usize,
    tx: Option<watch::Sender<Option<Outcome>>>,
}

impl FetchTask {
    async fn run(mut self, reason: Reason) {
        let cache = self.cache.clone();
        let Some(issuer) = cache.inner.issuers.get(self.idx) else {
            return;
        };
        let outcome = match cache.fetch(issuer, reason).await {
            Ok(set) => {
                let set = Arc::new(set);
                // Stored before `in_flight` is cleared: whoever finds no fetch in flight
                // and may not start one finds this set.
                issuer.store(Arc::clone(&set));
                Some(set)
            }
            Err(error) => {
                tracing::warn!(
                    issuer = %issuer.issuer,
                    %error,
                    has_cached_keys = issuer.held().is_some(),
                    "key refresh failed"
                );
                None
            }
        };
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: Outcome) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        if let Some(issuer) = self.cache.inner.issuers.get(self.idx) {
            let mut state = lock(&issuer.fetch);
            state.in_flight = None;
            match &outcome {
                Some(set) => {
                    state.failed_at = None;
                    state.stored_version = state.stored_version.max(set.version);
                }
                None => state.failed_at = Some(self.cache.inner.clock.now()),
            }
        }
        tx.send_replace(Some(outcome));
    }
}

impl Drop for FetchTask {
    fn drop(&mut self) {
        self.finish(None);
    }
}

/// What holds a fetch back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// The last fetch failed less than the failure backoff ago.
    Backoff,
    /// A fetch for an unknown `kid` started less than the cooldown ago.
    Cooldown,
}

/// Why a fetch is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    /// No usable set at all.
    NoKeys,
    /// A token names a key the set does not have.
    UnknownKey,
    /// The set is near or past its expiry.
    Scheduled,
}

impl KeyStore {
    /// Whether a new fetch may start now, and if not, whether the unknown-`kid` cooldown is
    /// what holds it. After a failed fetch every reason waits for the backoff, counted from
    /// both the start and the end of that attempt (so an attempt that hung until its timeout
    /// is not retried at once); a successful fetch holds nothing back. A fetch for an unknown
    /// `kid` also waits for the cooldown since the last such fetch: whatever `kid`s callers
    /// send, they cause at most one fetch per cooldown.
    fn attempt_allowed(
        &self,
        state: &FetchState,
        reason: Reason,
        now: SystemTime,
    ) -> Result<(), Held> {
        let policy = &self.inner.policy;
        let waited = |since: Option<SystemTime>, wait: Duration| {
            since.is_none_or(|t| elapsed_since(now, t) >= wait)
        };
        let backoff_over = state.failed_at.is_none()
            || (waited(state.last_attempt, policy.failure_backoff)
                && waited(state.failed_at, policy.failure_backoff));
        if !backoff_over {
            return Err(Held::Backoff);
        }
        if reason == Reason::UnknownKey
            && !waited(state.last_unknown_key_attempt, policy.refresh_cooldown)
        {
            return Err(Held::Cooldown);
        }
        Ok(())
    }

    /// Joins the fetch in flight for issuer `idx`, or starts one on its own task if allowed
    /// (no newer set than `seen_version` is stored, and the cooldown or backoff has passed).
    /// Never waits: the decision and the start happen under the issuer's lock.
    fn begin(&self, idx: usize, reason: Reason, seen_version: u64) -> Begin {
        let Some(issuer) = self.inner.issuers.get(idx) else {
            return Begin::Skip { cooldown: false };
        };
        let mut state = lock(&issuer.fetch);
        if let Some(rx) = &state.in_flight {
            return Begin::Wait(rx.clone());
        }
        if state.stored_version > seen_version {
            return Begin::Skip { cooldown: false };
        }
        let now = self.inner.clock.now();
        if let Err(held) = self.attempt_allowed(&state, reason, now) {
            return Begin::Skip {
                cooldown: held == Held::Cooldown,
            };
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(issuer = %issuer.issuer, "no tokio runtime: keys cannot be fetched");
            return Begin::Skip { cooldown: false };
        };
        let (tx, rx) = watch::channel(None);
        state.in_flight = Some(rx.clone());
        state.last_attempt = Some(now);
        if reason == Reason::UnknownKey {
            state.last_unknown_key_attempt = Some(now);
        }
        drop(state);
        // Built here, not inside the task: a task dropped before its first poll still
        // drops it, which clears `in_flight`.
        let task = FetchTask {
            cache: self.clone(),
            idx,
            tx: Some(tx),
        };
        drop(runtime.spawn(task.run(reason)));
        Begin::Wait(rx)
    }

    /// One coalesced refresh: joins the issuer's fetch in flight or starts one (if allowed),
    /// and waits for it. Returns the newest stored set: the fetched one, or, when no fetch
    /// was allowed or it failed, whatever is cached. Dropping this future only stops the
    /// waiting; the fetch goes on.
    pub(super) async fn refresh(
        &self,
        idx: usize,
        reason: Reason,
        seen_version: u64,
    ) -> Option<Arc<KeySet>> {
        match self.begin(idx, reason, seen_version) {
            Begin::Wait(mut rx) => {
                // An error means the task ended without answering, which `FetchTask` rules
                // out; it is treated as a failed fetch.
                let outcome = match rx.wait_for(Option::is_some).await {
                    Ok(outcome) => outcome.clone().flatten(),
                    Err(_) => None,
                };
                if outcome.is_some() {
                    return outcome;
                }
            }
            Begin::Skip { cooldown } => {
                if cooldown {
                    if let Some(issuer) = self.inner.issuers.get(idx) {
                        crate::observe::refresh_cooldown(&issuer.issuer);
                    }
                }
            }
        }
        self.inner.issuers.get(idx)?.held()
    }

    /// Refresh ahead of expiry, off the request path: starts a fetch unless one is in
    /// flight, a newer set is stored, or the backoff holds (so an outage sees at most one
    /// attempt per backoff, however many requests come), and never waits for it.
    pub(super) fn refresh_ahead(&self, idx: usize, seen_version: u64) {
        // The fetch, if started, answers nobody in particular; the next request finds its set.
        let _ = self.begin(idx, Reason::Scheduled, seen_version);
    }
}
