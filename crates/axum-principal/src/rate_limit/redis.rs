//! The Redis backend (features `rate-limit` and `redis`): one quota per identity for the
//! whole fleet, as GCRA in one server-side script, so each request costs one round trip;
//! the instance's in-process quota as the floor when Redis cannot answer.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::Script;
use governor::clock::DefaultClock;
use governor::Quota;

use super::breaker::{Breaker, Route};
use super::local::{Key, Limits};
use crate::redis::{RedisConnection, StoreError};

/// GCRA (the algorithm governor uses in process), atomically in Redis. The key holds the
/// theoretical arrival time (TAT) in microseconds of Redis's own clock, so replicas whose
/// clocks disagree still share one schedule. `ARGV[1]`: the emission interval (µs per
/// request), `ARGV[2]`: the burst tolerance (interval × (burst − 1)). Returns 0 when the
/// request is allowed (and recorded), otherwise the microseconds to wait. The key expires
/// when the quota is full again, so Redis holds only identities that are using theirs.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA));

/// What the rate limiter does with a request when Redis cannot answer: it is down,
/// unreachable, or slower than the connection's timeout. No policy lets a request through
/// unlimited: Redis is a shared store, and its failure never turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Check the request against this instance's own in-process quota (the same quota,
    /// kept as [`RateLimitLayer::new`](super::RateLimitLayer::new) keeps it). That quota
    /// counts every request this instance lets through, whether Redis or it decided, so
    /// it is already spent by what this instance admitted when Redis stops answering:
    /// across N instances at most N × the quota pass in a window, even under a burst.
    #[default]
    LocalQuota,
    /// Refuse the request with 503 `temporarily_unavailable` and `Retry-After: 1`
    /// ([`RejectionKind::RateLimitUnavailable`](crate::RejectionKind::RateLimitUnavailable)).
    FailClosed,
}

impl FailurePolicy {
    fn as_str(self) -> &'static str {
        match self {
            Self::LocalQuota => "local",
            Self::FailClosed => "closed",
        }
    }
}

/// Quotas kept in Redis, shared by every replica using the same Redis and key prefix; give
/// it to [`RateLimitLayer::with_redis`](super::RateLimitLayer::with_redis). Keys are
/// `{prefix}quota:` and the hex SHA-256 digest of (`iss`, kind, `sub`).
///
/// Every request this instance lets through is also counted in its in-process quota, so
/// that falling back to it ([`FailurePolicy::LocalQuota`]) starts from what this instance
/// really admitted, not from a full quota. A request is let through only when Redis
/// allows it *and* the in-process quota has room: while Redis answers, the in-process
/// quota never refuses what Redis allows (this instance cannot admit more than the whole
/// fleet's quota), except just after a fallback or a Redis that lost its keys, when the
/// instance's own count is the stricter one. Redis counts the request first (one round
/// trip, as before), so a request refused by the in-process quota still used one of the
/// fleet's requests: counting one too many is the safe side.
///
/// A Redis that does not answer in time is *slow*: that request uses the in-process
/// quota. [`with_breaker`](Self::with_breaker)'s number of failures in a row marks it
/// *down*: for a cool-down no request asks Redis, then one request probes it again. The
/// change to down is logged once (a warning), the change back once (info). Every command
/// that got no answer is counted ([`failures`](Self::failures), and the
/// `axum_principal_rate_limit_store_failures_total` counter).
///
/// Clones share the connection, the failure count and the breaker.
#[derive(Clone, Debug)]
pub struct RedisQuotas {
    redis: RedisConnection,
    policy: FailurePolicy,
    health: Arc<Health>,
}

#[derive(Debug)]
struct Health {
    failures: AtomicU64,
    breaker: Breaker,
}

impl Health {
    fn new(threshold: u32, cool_down: Duration) -> Arc<Self> {
        Arc::new(Self {
            failures: AtomicU64::new(0),
            breaker: Breaker::new(threshold, cool_down),
        })
    }
}

/// Why a request is not let through.
pub(super) enum Refusal {
    /// Over quota: wait this long.
    Wait(Duration),
    /// Redis did not answer and the policy is to fail closed.
    Unavailable,
}

impl RedisQuotas {
    /// Failures in a row after which Redis is marked down.
    pub const DEFAULT_BREAKER_FAILURES: u32 = 5;

    /// How long Redis stays marked down before a request probes it again: short enough
    /// that a restarted Redis is shared again within seconds, long enough that a dead one
    /// costs one failed command per cool-down rather than one per request.
    pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(5);

    /// Quotas on `redis`, falling back to the in-process quota
    /// ([`FailurePolicy::LocalQuota`]) with the default breaker.
    pub fn new(redis: RedisConnection) -> Self {
        Self {
            redis,
            policy: FailurePolicy::default(),
            health: Health::new(Self::DEFAULT_BREAKER_FAILURES, Self::DEFAULT_COOL_DOWN),
        }
    }

    /// What to do when Redis does not answer in time.
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Marks Redis down after `failures` commands in a row without an answer (at least 1;
    /// default [`DEFAULT_BREAKER_FAILURES`](Self::DEFAULT_BREAKER_FAILURES)), for
    /// `cool_down` (at least 1 ms; default [`DEFAULT_COOL_DOWN`](Self::DEFAULT_COOL_DOWN)).
    /// Resets the failure count.
    pub fn with_breaker(mut self, failures: u32, cool_down: Duration) -> Self {
        self.health = Health::new(failures, cool_down);
        self
    }

    /// The configured failure policy.
    pub fn policy(&self) -> FailurePolicy {
        self.policy
    }

    /// How many Redis commands got no answer in time since start-up (requests during a
    /// cool-down send none).
    pub fn failures(&self) -> u64 {
        self.health.failures.load(Ordering::Relaxed)
    }

    /// Whether Redis is marked down now (requests do not ask it until a probe gets an
    /// answer).
    pub fn is_down(&self) -> bool {
        self.health.breaker.is_down()
    }

    /// Lets the request through (counted in Redis and in `local`), or says how long to
    /// wait, or refuses it when Redis cannot say and the policy is to fail closed.
    pub(super) async fn check(
        &self,
        key: Key,
        quota: Quota,
        local: &Limits<DefaultClock>,
    ) -> Result<(), Refusal> {
        let breaker = &self.health.breaker;
        let answer = match breaker.route() {
            Route::Skip => None,
            Route::Redis => match self.ask(&key, quota).await {
                Ok(wait) => {
                    breaker.answered();
                    Some(wait)
                }
                Err(error) => {
                    self.count_failure();
                    breaker.no_answer(&error, self.policy.as_str());
                    None
                }
            },
            Route::Probe(probe) => match self.ask(&key, quota).await {
                Ok(wait) => {
                    probe.answered();
                    Some(wait)
                }
                Err(error) => {
                    self.count_failure();
                    probe.no_answer(&error);
                    None
                }
            },
        };
        match answer {
            // Allowed by the fleet's quota: counted here too, and this instance's own
            // count may still say no (see the type's docs).
            Some(0) => local.check(key).map_err(Refusal::Wait),
            Some(wait) => Err(Refusal::Wait(Duration::from_micros(wait))),
            None => match self.policy {
                FailurePolicy::LocalQuota => local.check(key).map_err(Refusal::Wait),
                FailurePolicy::FailClosed => Err(Refusal::Unavailable),
            },
        }
    }

    fn count_failure(&self) {
        self.health.failures.fetch_add(1, Ordering::Relaxed);
        crate::observe::rate_limit_store_failure(self.policy.as_str());
    }

    /// One round trip: 0 when allowed (and recorded), else the microseconds to wait.
    async fn ask(&self, key: &Key, quota: Quota) -> Result<u64, StoreError> {
        let interval = micros(quota.replenish_interval()).max(1);
        let tolerance = interval.saturating_mul(u64::from(quota.burst_size().get()) - 1);
        let mut name = String::with_capacity(64);
        for byte in key.digest {
            let _ = write!(name, "{byte:02x}");
        }
        let name = self.redis.key("quota:", name.as_bytes());
        self.redis
            .invoke::<u64>(&SCRIPT, &name, &[interval, tolerance])
            .await
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
