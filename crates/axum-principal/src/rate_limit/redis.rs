//! The Redis backend (features `rate-limit` and `redis`): one quota per identity for the
//! whole fleet, as GCRA in one server-side script, so each request costs one round trip.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::Script;
use governor::Quota;

use super::local::Key;
use crate::redis::RedisConnection;

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

/// What the rate limiter does with a request when Redis cannot answer within the
/// connection's timeout (down, unreachable, or slow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Let the request through, unlimited; counted ([`RedisQuotas::failures`], and the
    /// `axum_principal_rate_limit_store_failures_total` counter) and logged (a warning when
    /// Redis stops answering, one line when it answers again).
    #[default]
    FailOpen,
    /// Refuse the request with 503 `temporarily_unavailable` and `Retry-After: 1`
    /// ([`RejectionKind::RateLimitUnavailable`](crate::RejectionKind::RateLimitUnavailable)),
    /// counted and logged the same way.
    FailClosed,
}

impl FailurePolicy {
    fn as_str(self) -> &'static str {
        match self {
            Self::FailOpen => "open",
            Self::FailClosed => "closed",
        }
    }
}

/// Quotas kept in Redis, shared by every replica using the same Redis and key prefix; give
/// it to [`RateLimitLayer::with_redis`](super::RateLimitLayer::with_redis). Keys are
/// `{prefix}quota:` and the hex SHA-256 digest of (`iss`, kind, `sub`). Clones share the
/// connection and the failure count.
#[derive(Clone, Debug)]
pub struct RedisQuotas {
    redis: RedisConnection,
    policy: FailurePolicy,
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Health {
    failures: AtomicU64,
    failing: AtomicBool,
}

/// Why a request is not let through.
pub(super) enum Refusal {
    /// Over quota: wait this long.
    Wait(Duration),
    /// Redis did not answer and the policy is to fail closed.
    Unavailable,
}

impl RedisQuotas {
    /// Quotas on `redis`, failing open ([`FailurePolicy::FailOpen`]).
    pub fn new(redis: RedisConnection) -> Self {
        Self {
            redis,
            policy: FailurePolicy::default(),
            health: Arc::default(),
        }
    }

    /// What to do when Redis does not answer in time.
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The configured failure policy.
    pub fn policy(&self) -> FailurePolicy {
        self.policy
    }

    /// How many requests Redis could not answer in time (let through or refused, per the
    /// policy) since start-up.
    pub fn failures(&self) -> u64 {
        self.health.failures.load(Ordering::Relaxed)
    }

    /// One round trip: allowed (and recorded), or how long to wait, or the policy's answer
    /// when Redis cannot say.
    pub(super) async fn check(&self, key: &Key, quota: Quota) -> Result<(), Refusal> {
        let interval = micros(quota.replenish_interval()).max(1);
        let tolerance = interval.saturating_mul(u64::from(quota.burst_size().get()) - 1);
        let mut name = String::with_capacity(64);
        for byte in key.digest {
            let _ = write!(name, "{byte:02x}");
        }
        let name = self.redis.key("quota:", name.as_bytes());
        match self
            .redis
            .invoke::<u64>(&SCRIPT, &name, &[interval, tolerance])
            .await
        {
            Ok(wait) => {
                if self.health.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limit: Redis answers again; quotas are shared again");
                }
                match wait {
                    0 => Ok(()),
                    wait => Err(Refusal::Wait(Duration::from_micros(wait))),
                }
            }
            Err(error) => {
                self.health.failures.fetch_add(1, Ordering::Relaxed);
                crate::observe::rate_limit_store_failure(self.policy.as_str());
                if !self.health.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        policy = self.policy.as_str(),
                        "rate limit: Redis does not answer; failing {} until it does",
                        self.policy.as_str()
                    );
                } else {
                    tracing::debug!(%error, "rate limit: Redis still does not answer");
                }
                match self.policy {
                    FailurePolicy::FailOpen => Ok(()),
                    FailurePolicy::FailClosed => Err(Refusal::Unavailable),
                }
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
