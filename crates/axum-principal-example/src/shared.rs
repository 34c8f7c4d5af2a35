//! `AUTHZ_RATE_LIMIT` and `AUTHZ_REDIS_URL`: the quotas, and where they (and the DPoP
//! replay store) live. With `AUTHZ_REDIS_URL` every instance shares them through Redis.
//! When Redis is down or too slow to answer (the library's default timeout, 100 ms), a
//! DPoP request is refused with 503 (its proof cannot be checked for replay), and quotas
//! fall back to this instance's own in-process quota, which counts every request this
//! instance admits: a quota never becomes unlimited, not even under a burst; across N
//! instances at most N × the quota pass in a window. Counted and logged (a warning when
//! Redis is marked down, a line when it answers again).

use std::sync::Arc;

use axum_principal::rate_limit::{FailurePolicy, Quota, RateLimitLayer, RedisQuotas};
use axum_principal::redis::{RedisConnection, RedisReplayStore};
use axum_principal::replay::{InMemoryReplayStore, ReplayStore};

use crate::settings::{ConfigProblem, Settings};

/// The connection to `AUTHZ_REDIS_URL` (shared by the quotas and the replay store; nothing
/// is connected until the first request), or `None` when it is unset. The problem never
/// shows the URL's password.
pub fn redis_connection(settings: &Settings) -> Result<Option<RedisConnection>, ConfigProblem> {
    settings
        .redis_url
        .as_deref()
        .map(|url| {
            RedisConnection::open(url)
                .map_err(|e| ConfigProblem::new("AUTHZ_REDIS_URL", e.to_string()))
        })
        .transpose()
}

/// The quotas of `AUTHZ_RATE_LIMIT` (none when unset): in Redis, falling back to this
/// instance's in-process quota, when there is a `redis` connection; in process otherwise.
pub fn rate_limit_layer(
    settings: &Settings,
    redis: Option<&RedisConnection>,
) -> Option<RateLimitLayer> {
    let limits = settings.rate_limit?;
    let users = Quota::per_minute(limits.users_per_minute);
    let machines = Quota::per_minute(limits.machines_per_minute);
    Some(match redis {
        Some(redis) => RateLimitLayer::with_redis(
            users,
            machines,
            RedisQuotas::new(redis.clone()).on_failure(FailurePolicy::LocalQuota),
        ),
        None => RateLimitLayer::new(users, machines),
    })
}

/// The DPoP replay store: in Redis when there is a `redis` connection (so a proof replayed
/// to another instance is caught; fails closed), in process otherwise.
pub fn replay_store(redis: Option<&RedisConnection>) -> Arc<dyn ReplayStore> {
    match redis {
        Some(redis) => Arc::new(RedisReplayStore::new(redis.clone())),
        None => Arc::new(InMemoryReplayStore::default()),
    }
}
