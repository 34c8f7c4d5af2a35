//! `AUTHZ_RATE_LIMIT` and `AUTHZ_REDIS_URL`: the quotas, and where they (and the DPoP
//! replay store) live. With `AUTHZ_REDIS_URL` every instance shares them through Redis;
//! when Redis does not answer, quotas fail open (counted and logged) and the replay store
//! fails closed (a DPoP request is refused with 503).

use std::sync::Arc;

use axum_principal::rate_limit::{FailurePolicy, Quota, RateLimitLayer, RedisQuotas};
use axum_principal::redis::{RedisConnection, RedisReplayStore};
use axum_principal::replay::{InMemoryReplayStore, ReplayStore};

use crate::settings::{ConfigProblem, Settings};

/// The connection to `AUTHZ_REDIS_URL` (shared by the quotas and the replay store; nothing
/// is connected until the first request), or `None` when it is unset.
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

/// The quotas of `AUTHZ_RATE_LIMIT` (none when unset): in Redis, failing open, when there
/// is a `redis` connection; in process otherwise.
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
            RedisQuotas::new(redis.clone()).on_failure(FailurePolicy::FailOpen),
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
