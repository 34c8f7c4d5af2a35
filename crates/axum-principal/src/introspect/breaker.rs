//! The per-issuer breaker: after a run of failed calls no call is made for a cool-down,
//! so an issuer outage costs it no call per request (and each request no timeout); then
//! one call at a time probes until one succeeds. It never answers for the issuer: while it
//! is open requests get 503, never a stale or guessed answer.

use std::sync::Mutex;

/// The breaker's state, behind a lock held for a few comparisons, never across an await.
#[derive(Debug, Default)]
struct State {
    /// Failed calls since the last success.
    failures: u32,
    /// Open until then (milliseconds of the configured clock).
    open_until: Option<u64>,
    /// A probe call is under way (after the cool-down); others wait for its outcome.
    probing: bool,
}

/// One issuer's breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown_ms: u64,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown_ms: u64) -> Self {
        Self {
            state: Mutex::new(State::default()),
            threshold: threshold.max(1),
            cooldown_ms,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may be made now; after the cool-down, only one (the probe).
    pub(crate) fn admit(&self, now_ms: u64) -> bool {
        let mut state = self.state();
        match state.open_until {
            None => true,
            Some(until) if now_ms < until || state.probing => false,
            Some(_) => {
                state.probing = true;
                true
            }
        }
    }

    /// A call was answered (whatever the answer said about the token).
    pub(crate) fn succeeded(&self) {
        *self.state() = State::default();
    }

    /// A call failed for the issuer's (or this service's) fault.
    pub(crate) fn failed(&self, now_ms: u64) {
        let mut state = self.state();
        state.failures = state.failures.saturating_add(1);
        state.probing = false;
        if state.failures >= self.threshold {
            state.open_until = Some(now_ms.saturating_add(self.cooldown_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_then_lets_one_probe_through() {
        let breaker = Breaker::new(2, 1_000);
        assert!(breaker.admit(0));
        breaker.failed(0);
        assert!(breaker.admit(10), "one failure is below the threshold");
        breaker.failed(10);
        assert!(!breaker.admit(11), "open");
        assert!(!breaker.admit(1_009), "still cooling down");
        assert!(breaker.admit(1_010), "the probe");
        assert!(!breaker.admit(1_011), "one probe at a time");
        breaker.failed(1_500);
        assert!(!breaker.admit(1_501), "a failed probe opens it again");
        assert!(breaker.admit(2_500));
        breaker.succeeded();
        assert!(breaker.admit(2_501) && breaker.admit(2_502), "closed");
    }
}
