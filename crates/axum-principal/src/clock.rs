//! The time source for token validity and key freshness.
//!
//! Production code uses [`SystemClock`]. Tests move a [`ManualClock`] forward instead of
//! sleeping, so expiry, key TTLs, cooldowns and stale windows are tested without waiting.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, as wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until moved; for tests. Clones share the same time.
#[derive(Clone)]
pub struct ManualClock {
    millis_since_epoch: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock set to the current system time.
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock set to `time`.
    pub fn at(time: SystemTime) -> Self {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            millis_since_epoch: Arc::new(AtomicU64::new(millis)),
        }
    }

    /// Sets the clock to `time` (which may be in the past).
    pub fn set(&self, time: SystemTime) {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.millis_since_epoch.store(millis, Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis_since_epoch.fetch_add(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis_since_epoch.load(Ordering::SeqCst))
    }
}

/// Seconds since the Unix epoch (negative before it), for comparing with JWT NumericDates.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// How long ago `then` was; a clock that went backwards counts as "long ago", so a wall
/// clock jump never blocks key refreshes.
pub(crate) fn elapsed_since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1000));
        assert_eq!(unix_seconds(clock.now()), 1000);
        clock.advance(Duration::from_secs(61));
        assert_eq!(unix_seconds(clock.clone().now()), 1061);
    }

    #[test]
    fn backwards_clock_counts_as_long_ago() {
        let now = UNIX_EPOCH + Duration::from_secs(10);
        let later = now + Duration::from_secs(5);
        assert_eq!(elapsed_since(now, later), Duration::MAX);
        assert_eq!(elapsed_since(later, now), Duration::from_secs(5));
    }
}
