//! State shared by every replica, in Redis (feature `redis`): the connection, and the DPoP
//! replay store on it. The rate limiter's Redis backend is
//! [`rate_limit::RedisQuotas`](crate::rate_limit::RedisQuotas) (features `redis` and
//! `rate-limit`).
//!
//! One [`RedisConnection`] per process is enough: clones share one multiplexed connection
//! (the `redis` crate's [`ConnectionManager`]), opened on first use and re-opened by itself
//! after Redis restarts or the network drops, so the service recovers without a restart.
//! Every command is bounded by [`RedisConnection::with_timeout`] (100 ms by default, see
//! [`DEFAULT_TIMEOUT`](RedisConnection::DEFAULT_TIMEOUT) for why): a Redis that is down,
//! unreachable or slow is an answer the caller acts on at once (the replay store refuses;
//! the rate limiter follows its [`FailurePolicy`], by default the instance's own quota),
//! never a hung request.
//!
//! The URL's credentials never reach output: [`InvalidRedisUrl`] shows the URL with its
//! user information replaced by `***` ([`redact_url`](crate::redact_url)), the
//! connection's `Debug` only the address.
//!
//! Keys live under a prefix ([`RedisConnection::with_prefix`], default `axum-principal:`),
//! followed by `replay:` or `quota:` and a fixed-size digest, so a Redis shared with other
//! applications sees only bounded keys of this crate's own namespace.
//!
//! [`FailurePolicy`]: crate::rate_limit::FailurePolicy

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, FromRedisValue, RedisError};

use crate::replay::{ReplayFuture, ReplayStore, ReplayStoreUnavailable, ReplayVerdict};

/// A Redis URL that cannot be used. Its `Display` and `Debug` show the URL with its
/// credentials redacted (`redis://***@host:port`), and the client's reason with any
/// credentials taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRedisUrl {
    /// The URL, redacted.
    url: String,
    /// Why, redacted.
    reason: String,
}

impl InvalidRedisUrl {
    fn new(url: &str, reason: &str) -> Self {
        Self {
            url: crate::redact::redact_url(url).into_owned(),
            reason: crate::redact::scrub(reason, url),
        }
    }
}

impl fmt::Display for InvalidRedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a usable Redis URL ({}): {}", self.url, self.reason)
    }
}

impl std::error::Error for InvalidRedisUrl {}

/// Why a command got no answer; logged, never shown to clients.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// No answer within the timeout.
    Timeout,
    /// Redis answered with an error, or the connection failed.
    Redis(RedisError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("no answer within the timeout"),
            Self::Redis(e) => write!(f, "{e}"),
        }
    }
}

/// A shared, self-reconnecting connection to one Redis server; cheap to clone (clones share
/// the connection).
#[derive(Clone)]
pub struct RedisConnection {
    client: Client,
    manager: Arc<OnceLock<ConnectionManager>>,
    timeout: Duration,
    connect_timeout: Duration,
    prefix: Arc<str>,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: only the address is shown.
        f.debug_struct("RedisConnection")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// The default bound on one command. It is what the *service* waits, not Redis's
    /// round trip: under load the answer also queues behind the other requests' commands
    /// on the one multiplexed connection and waits for a busy runtime to poll it. Measured
    /// with one user's 40,000 requests at most 1,000 at once on 2 vCPUs, Redis on loopback
    /// (`tests/fleet.rs`, `redis_command_latency_under_load`): a command waited p50 7–15 ms,
    /// p99 24–32 ms, at most 42 ms; a 5 ms bound failed 24,123 of the 40,000 quota checks
    /// of a healthy Redis, 20 ms 9,378, 50 ms none. 100 ms leaves twice the worst seen, and
    /// still answers for a dead Redis quickly (after a few such failures the rate
    /// limiter's breaker stops asking it at all, see
    /// [`RedisQuotas`](crate::rate_limit::RedisQuotas)).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

    /// The default bound on opening (or re-opening) the connection.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "axum-principal:";

    /// A connection to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://…` for
    /// TLS, verified against the system's root certificates). Nothing is connected yet: the connection is opened on first use, so a
    /// Redis that is down at start-up only makes the first requests follow the failure
    /// policy. The error never shows the URL's credentials.
    pub fn open(url: &str) -> Result<Self, InvalidRedisUrl> {
        let client = Client::open(url).map_err(|e| InvalidRedisUrl::new(url, &e.to_string()))?;
        Ok(Self {
            client,
            manager: Arc::new(OnceLock::new()),
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            prefix: Arc::from(Self::DEFAULT_PREFIX),
        })
    }

    /// Bounds every command (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)); at least
    /// 1 ms.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Bounds each attempt to open the connection in the background (default
    /// [`DEFAULT_CONNECT_TIMEOUT`](Self::DEFAULT_CONNECT_TIMEOUT)); requests meanwhile
    /// still wait at most [`with_timeout`](Self::with_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The prefix of every key (default [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX)), so that
    /// several services, or a test, can share one Redis without sharing quotas.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// The bound on one command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared connection manager, created (lazily connecting) on first use; needs a
    /// Tokio runtime, which a request always has.
    fn manager(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            // Our own timeout bounds each command; a reconnect retries quickly, and after
            // its retries the next command starts another.
            .set_response_timeout(None)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(500))
            .set_number_of_retries(3);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(StoreError::Redis)?;
        // Of two first uses at once, one manager is kept; the other is dropped unused.
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    /// Runs one command within the timeout.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        cmd: &::redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.manager()?;
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(result) => result.map_err(StoreError::Redis),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// Runs a server-side script (EVALSHA, loading it on NOSCRIPT) within the timeout.
    #[cfg(feature = "rate-limit")]
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &::redis::Script,
        key: &[u8],
        args: &[u64],
    ) -> Result<T, StoreError> {
        let mut conn = self.manager()?;
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        match tokio::time::timeout(self.timeout, invocation.invoke_async::<T>(&mut conn)).await {
            Ok(result) => result.map_err(StoreError::Redis),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// `prefix` + `kind` + the key: the full name of a key of this crate.
    pub(crate) fn key(&self, kind: &str, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + kind.len() + key.len());
        full.extend_from_slice(self.prefix.as_bytes());
        full.extend_from_slice(kind.as_bytes());
        full.extend_from_slice(key);
        full
    }
}

/// The DPoP replay store shared by every replica: `SET key 1 NX PX window` (atomic: of two
/// uses of one key, anywhere in the fleet, one is [`Fresh`](ReplayVerdict::Fresh)). Fails
/// closed: Redis down, unreachable or slower than the timeout →
/// [`ReplayStoreUnavailable`], and the proof is refused.
#[derive(Clone, Debug)]
pub struct RedisReplayStore {
    redis: RedisConnection,
}

impl RedisReplayStore {
    /// A replay store on `redis`, its keys under `{prefix}replay:`.
    pub fn new(redis: RedisConnection) -> Self {
        Self { redis }
    }
}

impl ReplayStore for RedisReplayStore {
    fn first_use<'a>(&'a self, key: &'a str, window: Duration) -> ReplayFuture<'a> {
        Box::pin(async move {
            let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
            if millis == 0 {
                // A zero window records nothing (as the in-process store); Redis refuses PX 0.
                return Ok(ReplayVerdict::Fresh);
            }
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(self.redis.key("replay:", key.as_bytes()))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis);
            match self.redis.query::<Option<String>>(&cmd).await {
                Ok(Some(_)) => Ok(ReplayVerdict::Fresh),
                Ok(None) => Ok(ReplayVerdict::Replayed),
                Err(error) => {
                    tracing::warn!(%error, "DPoP replay store (Redis) unavailable; refusing the proof");
                    Err(ReplayStoreUnavailable)
                }
            }
        })
    }
}
