//! Per-principal rate limits (feature `rate-limit`): a quota per identity — the pair
//! (`iss`, `sub`) — with separate quotas for users and machines, answering 429 with
//! `Retry-After`.
//!
//! Place it inside [`AuthLayer`](crate::AuthLayer), which supplies the principal (layers
//! added later wrap the ones added earlier):
//!
//! ```
//! use std::num::NonZeroU32;
//! use axum::{routing::get, Router};
//! use axum_principal::rate_limit::{Quota, RateLimitLayer};
//! # fn config() -> axum_principal::AuthConfig { unimplemented!() }
//! # fn build() -> Router {
//! let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
//! let app: Router = Router::new()
//!     .route("/me", get(|| async { "ok" }))
//!     .layer(RateLimitLayer::new(per_minute(60), per_minute(600)))
//!     .layer(axum_principal::AuthLayer::new(config()));
//! # app }
//! ```
//!
//! Memory is bounded: the limiters of at most [`RateLimitLayer::max_principals`] identities
//! are kept (least recently used first out; an evicted identity starts again with a full
//! quota). Requests without a principal (optional mode) are not limited here.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use governor::clock::{Clock as _, DefaultClock};
use governor::DefaultDirectRateLimiter;
use http::{header, HeaderValue, Request, StatusCode};
use tower::{Layer, Service};

use crate::classify::Kind;
use crate::principal::Principal;

pub use governor::Quota;

/// The layer: quotas for users and for machines, and the bound on tracked identities.
#[derive(Clone)]
pub struct RateLimitLayer {
    inner: Arc<Limits>,
}

struct Limits {
    users: Quota,
    machines: Quota,
    limiters: moka::sync::Cache<String, Arc<DefaultDirectRateLimiter>>,
    clock: DefaultClock,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("users", &self.inner.users)
            .field("machines", &self.inner.machines)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Default bound on tracked identities.
    pub const DEFAULT_MAX_PRINCIPALS: u64 = 100_000;

    /// One quota for each user and one for each machine.
    pub fn new(users: Quota, machines: Quota) -> Self {
        Self::with_max_principals(users, machines, Self::DEFAULT_MAX_PRINCIPALS)
    }

    /// As [`new`](Self::new), tracking at most `max_principals` identities.
    pub fn with_max_principals(users: Quota, machines: Quota, max_principals: u64) -> Self {
        Self {
            inner: Arc::new(Limits {
                users,
                machines,
                limiters: moka::sync::Cache::builder()
                    .max_capacity(max_principals.max(1))
                    .build(),
                clock: DefaultClock::default(),
            }),
        }
    }

    /// The bound on tracked identities.
    pub fn max_principals(&self) -> u64 {
        self.inner.limiters.policy().max_capacity().unwrap_or(0)
    }

    /// How many identities are tracked now.
    pub fn tracked_principals(&self) -> u64 {
        self.inner.limiters.run_pending_tasks();
        self.inner.limiters.entry_count()
    }

    /// `Ok` to let the request through, or how long to wait.
    fn check(&self, principal: &Principal) -> Result<(), std::time::Duration> {
        let (iss, sub) = principal.id();
        // Identity is the pair; the separator cannot occur in a URL issuer.
        let key = format!("{iss}\u{0}{sub}");
        let quota = match principal.kind() {
            Kind::User => self.inner.users,
            Kind::Machine => self.inner.machines,
        };
        let limiter = self
            .inner
            .limiters
            .get_with(key, || Arc::new(DefaultDirectRateLimiter::direct(quota)));
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.inner.clock.now()))
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            limits: self.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    limits: RateLimitLayer,
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<std::future::Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let verdict = request
            .extensions()
            .get::<Principal>()
            .map_or(Ok(()), |p| self.limits.check(p));
        match verdict {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(wait) => {
                crate::observe::rejected("rate_limited", 429);
                Either::Left(std::future::ready(Ok(too_many_requests(wait))))
            }
        }
    }
}

fn too_many_requests(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let body = serde_json::json!({
        "error": "rate_limited",
        "error_description": "too many requests for this principal; retry later",
    });
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}
