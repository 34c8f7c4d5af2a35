//! The service's switches: leeway, token cache, DPoP, quotas and the shared Redis.

use std::num::NonZeroU32;
use std::time::Duration;

use axum_principal::dpop::DpopPolicy;

use super::{ConfigProblem, RateLimitSetting};

/// `AUTHZ_LEEWAY_SECS`: whole seconds; unset: 60.
pub(super) fn leeway(value: Option<String>) -> Result<Duration, ConfigProblem> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(60));
    };
    value.parse::<u64>().map(Duration::from_secs).map_err(|_| {
        ConfigProblem::new(
            "AUTHZ_LEEWAY_SECS",
            format!("{value:?} is not a whole number of seconds"),
        )
    })
}

/// `AUTHZ_TOKEN_CACHE`: `on` (the default) or `off`.
pub(super) fn token_cache(value: Option<&str>) -> Result<bool, ConfigProblem> {
    match value {
        None | Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(ConfigProblem::new(
            "AUTHZ_TOKEN_CACHE",
            format!("{other:?} is neither \"on\" nor \"off\""),
        )),
    }
}

/// `AUTHZ_DPOP`: `allowed` (the default), `required` or `off`, in any case.
pub(super) fn dpop(value: Option<String>) -> Result<DpopPolicy, ConfigProblem> {
    match value.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("allowed") => Ok(DpopPolicy::Allowed),
        Some("required") => Ok(DpopPolicy::Required),
        Some("off") => Ok(DpopPolicy::Off),
        Some(other) => Err(ConfigProblem::new(
            "AUTHZ_DPOP",
            format!("{other:?} is not one of \"allowed\", \"required\", \"off\""),
        )),
    }
}

/// `AUTHZ_RATE_LIMIT`, `USER,MACHINE`: two whole numbers of requests per minute, each at
/// least 1.
pub(super) fn rate_limit(value: &str) -> Result<RateLimitSetting, ConfigProblem> {
    let problem = || {
        ConfigProblem::new(
            "AUTHZ_RATE_LIMIT",
            format!(
                "{value:?} is not USER,MACHINE requests per minute (two whole numbers of at \
                 least 1, e.g. 60,600)"
            ),
        )
    };
    let (users, machines) = value.split_once(',').ok_or_else(problem)?;
    let per_minute = |n: &str| n.trim().parse::<NonZeroU32>().map_err(|_| problem());
    Ok(RateLimitSetting {
        users_per_minute: per_minute(users)?,
        machines_per_minute: per_minute(machines)?,
    })
}

/// `AUTHZ_REDIS_URL`: `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS, as
/// the library's client accepts it. The message never shows the password: the library's
/// error redacts the URL, and the scheme check quotes nothing of it.
pub(super) fn check_redis_url(url: &str) -> Result<(), ConfigProblem> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(ConfigProblem::new(
            "AUTHZ_REDIS_URL",
            "not a redis://host:port or rediss://host:port URL",
        ));
    }
    axum_principal::redis::RedisConnection::open(url)
        .map(drop)
        .map_err(|e| ConfigProblem::new("AUTHZ_REDIS_URL", e.to_string()))
}
