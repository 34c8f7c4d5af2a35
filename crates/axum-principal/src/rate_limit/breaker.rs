//! Telling a slow Redis from a down one, for the Redis quotas.
//!
//! One command without an answer in time is *slow*: that request alone uses the in-process
//! quota. [`Breaker::threshold`] failures in a row mean *down*: for a cool-down no request
//! asks Redis (each goes straight to the in-process quota, so a burst does not queue
//! thousands of doomed commands behind a dead connection), then one request, the probe,
//! asks again: an answer closes the breaker, no answer starts another cool-down. The
//! opening is logged once (a warning) and the closing once (info); everything between is
//! at debug level.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The breaker's state, shared by every request of one [`RedisQuotas`](super::RedisQuotas).
#[derive(Debug)]
pub(super) struct Breaker {
    pub(super) threshold: u32,
    pub(super) cool_down: Duration,
    /// The origin of the millisecond timestamps below.
    start: Instant,
    /// Redis calls that got no answer since the last one that did.
    consecutive: AtomicU32,
    /// While Redis is down: the end of the cool-down, in milliseconds since `start`, plus
    /// one. 0: Redis is up.
    down_until: AtomicU64,
    /// A probe is asking Redis now; the others keep to the in-process quota.
    probing: AtomicBool,
}

/// Whether a request asks Redis.
pub(super) enum Route<'a> {
    /// Redis is up: ask it.
    Redis,
    /// Redis is down and this request is the probe: ask it, and report how it went.
    Probe(Probe<'a>),
    /// Redis is down: do not ask it.
    Skip,
}

/// The one request that asks a Redis marked down. Dropped without a report (the request
/// was cancelled), it counts as no answer, so the breaker never stays half-open.
pub(super) struct Probe<'a> {
    breaker: &'a Breaker,
    reported: bool,
}

impl Breaker {
    pub(super) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down: cool_down.max(Duration::from_millis(1)),
            start: Instant::now(),
            consecutive: AtomicU32::new(0),
            down_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn until(&self) -> u64 {
        let cool_down = u64::try_from(self.cool_down.as_millis()).unwrap_or(u64::MAX);
        self.now().saturating_add(cool_down).saturating_add(1)
    }

    /// Whether Redis is marked down (in a cool-down, or waiting for its probe).
    pub(super) fn is_down(&self) -> bool {
        self.down_until.load(Ordering::Relaxed) != 0
    }

    pub(super) fn route(&self) -> Route<'_> {
        let until = self.down_until.load(Ordering::Relaxed);
        if until == 0 {
            return Route::Redis;
        }
        if self.now().saturating_add(1) < until {
            return Route::Skip;
        }
        match self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => Route::Probe(Probe {
                breaker: self,
                reported: false,
            }),
            Err(_) => Route::Skip,
        }
    }

    /// Redis answered a request that was not the probe.
    pub(super) fn answered(&self) {
        // Only the probe closes the breaker: a late answer to a command sent before it
        // opened says little about a Redis that keeps timing out, and would make it flap.
        self.consecutive.store(0, Ordering::Relaxed);
    }

    /// Redis did not answer a request that was not the probe; opens the breaker on the
    /// `threshold`-th failure in a row. `error` is only logged.
    pub(super) fn no_answer(&self, error: &dyn std::fmt::Display, policy: &'static str) {
        let failures = self
            .consecutive
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if failures < self.threshold {
            tracing::debug!(%error, failures, "rate limit: Redis is slow; this request uses the in-process quota");
            return;
        }
        let opened = self
            .down_until
            .compare_exchange(0, self.until(), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if opened {
            tracing::warn!(
                %error,
                failures,
                cool_down_ms = u64::try_from(self.cool_down.as_millis()).unwrap_or(u64::MAX),
                policy,
                "rate limit: Redis marked down; no request asks it until a probe after the \
                 cool-down gets an answer (meanwhile: policy {policy}, `local` = this \
                 instance's own quota)"
            );
        } else {
            tracing::debug!(%error, "rate limit: Redis still does not answer");
        }
    }
}

impl Probe<'_> {
    /// The probe got an answer: Redis is up again.
    pub(super) fn answered(mut self) {
        self.reported = true;
        let breaker = self.breaker;
        breaker.consecutive.store(0, Ordering::Relaxed);
        breaker.down_until.store(0, Ordering::Release);
        breaker.probing.store(false, Ordering::Release);
        tracing::info!("rate limit: Redis answers again; quotas are shared again");
    }

    /// The probe got no answer: another cool-down.
    pub(super) fn no_answer(mut self, error: &dyn std::fmt::Display) {
        self.reported = true;
        tracing::debug!(%error, "rate limit: Redis probe got no answer; cooling down again");
        self.rearm();
    }

    fn rearm(&self) {
        let breaker = self.breaker;
        breaker.down_until.store(breaker.until(), Ordering::Release);
        breaker.probing.store(false, Ordering::Release);
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.rearm();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(breaker: &Breaker) -> bool {
        matches!(breaker.route(), Route::Skip)
    }

    /// Waits (bounded) for the 1 ms cool-down to pass; not a timing assertion.
    fn probe_after_cool_down(breaker: &Breaker) -> Option<Probe<'_>> {
        for _ in 0..1_000 {
            match breaker.route() {
                Route::Probe(probe) => return Some(probe),
                Route::Redis => return None,
                Route::Skip => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        None
    }

    #[test]
    fn opens_after_the_threshold_in_a_row_only() {
        let breaker = Breaker::new(3, Duration::from_secs(3600));
        breaker.no_answer(&"timeout", "local");
        breaker.no_answer(&"timeout", "local");
        breaker.answered();
        breaker.no_answer(&"timeout", "local");
        breaker.no_answer(&"timeout", "local");
        assert!(matches!(breaker.route(), Route::Redis), "slow, not down");
        breaker.no_answer(&"timeout", "local");
        assert!(breaker.is_down());
        assert!(skips(&breaker), "no Redis call during the cool-down");
        // A late answer to a command sent earlier does not close it.
        breaker.answered();
        assert!(skips(&breaker));
    }

    #[test]
    fn one_probe_after_the_cool_down_closes_or_rearms_it() {
        let breaker = Breaker::new(1, Duration::from_millis(1));
        breaker.no_answer(&"refused", "local");
        assert!(breaker.is_down());
        let probe = probe_after_cool_down(&breaker).expect("a probe once the cool-down is over");
        assert!(skips(&breaker), "one probe at a time");
        probe.no_answer(&"refused");
        assert!(breaker.is_down(), "no answer: another cool-down");
        // A cancelled probe re-arms the cool-down instead of leaving it half-open.
        drop(probe_after_cool_down(&breaker).expect("a second probe"));
        assert!(breaker.is_down());
        probe_after_cool_down(&breaker)
            .expect("a third probe")
            .answered();
        assert!(!breaker.is_down());
        assert!(matches!(breaker.route(), Route::Redis));
    }
}
