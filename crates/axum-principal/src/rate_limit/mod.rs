//! Per-principal rate limits (feature `rate-limit`): a quota per identity — (`iss`, kind,
//! `sub`), see [`Principal::id`] — with separate quotas for users and machines, answering
//! 429 with `Retry-After`.
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
//! Refusals are [`AuthRejection`]s of kind [`RejectionKind::RateLimited`], shown by the
//! renderer configured with
//! [`render_rejections_with`](crate::AuthConfigBuilder::render_rejections_with) (by default
//! the JSON body `{"error":"rate_limited",…}`); the response always carries `Retry-After`
//! in whole seconds, at least 1, even when a custom renderer leaves it out.
//!
//! A limiter placed outside the `AuthLayer` sees no request the layer has handled, so it
//! could limit nobody: it answers every request with 500 (`MissingLayer`, naming
//! `AuthLayer`) rather than letting them through unlimited. Requests the layer let through
//! without a principal (optional mode) are not limited here. "Behind the layer" means the
//! request carries what the layer puts there: its context, or a principal an
//! [`Authenticator`](crate::Authenticator) made (one your own middleware inserted after
//! [`Authenticator::verify`](crate::Authenticator::verify) counts too, and is limited).
//!
//! # Quotas shared in Redis (feature `redis`)
//! `RateLimitLayer::with_redis` keeps the quotas in Redis, one per identity for the whole
//! fleet. Each instance still keeps them in process too, counting every request it lets
//! through, and that count decides when Redis is slow or down (`FailurePolicy::LocalQuota`,
//! the default; see `RedisQuotas`): a shared store's failure never turns a limit off, and N
//! instances pass at most N × the quota in a window.
//!
//! # Memory, and identities that are not tracked
//! Each kind (user, machine) tracks at most
//! [`max_principals`](RateLimitLayer::max_principals) identities (112 bytes each, about
//! 15 MB per kind at the default bound) and forgets one only once its quota has fully
//! refilled, so forgetting never gives anyone more requests. Newcomers that find their
//! kind's table full share 1024 quotas of that kind, picked by a keyed hash: a flood of
//! identities slows its own kind's newcomers in proportion, never makes anyone unlimited,
//! and never touches the other kind. The reasoning, and what a flood can and cannot do, is
//! in `docs/threats.md`.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use governor::clock::DefaultClock;
use http::{header, HeaderValue, Request};
use tower::{Layer, Service};

use crate::principal::{layer_context, Principal};
use crate::rejection::{AuthRejection, RejectionKind};

#[cfg(feature = "redis")]
mod breaker;
mod local;
#[cfg(feature = "redis")]
mod redis;

use local::{Key, Limits};
#[cfg(feature = "redis")]
pub use redis::{FailurePolicy, RedisQuotas};

pub use governor::Quota;

/// The layer: quotas for users and for machines, and where they are kept (in process by
/// default; in Redis with [`with_redis`](Self::with_redis), feature `redis`).
#[derive(Clone)]
pub struct RateLimitLayer {
    users: Quota,
    machines: Quota,
    backend: Backend,
}

/// Where the quotas are kept.
#[derive(Clone)]
enum Backend {
    /// This process only (governor): each replica has its own quotas.
    Local(Arc<Limits<DefaultClock>>),
    /// Redis, shared by every replica, with this process's own quotas counting what it
    /// admits and standing in when Redis cannot answer.
    #[cfg(feature = "redis")]
    Redis(Arc<RedisQuotas>, Arc<Limits<DefaultClock>>),
}

impl Backend {
    /// The in-process quotas (with Redis: the fallback's).
    fn local(&self) -> &Limits<DefaultClock> {
        match self {
            Self::Local(limits) => limits,
            #[cfg(feature = "redis")]
            Self::Redis(_, limits) => limits,
        }
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RateLimitLayer");
        debug
            .field("users", &self.users)
            .field("machines", &self.machines);
        debug.field("max_principals", &self.backend.local().users.max_tracked);
        #[cfg(feature = "redis")]
        if let Backend::Redis(quotas, _) = &self.backend {
            debug.field("redis", quotas);
        }
        debug.finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Default bound on tracked identities of each kind.
    pub const DEFAULT_MAX_PRINCIPALS: u64 = 100_000;

    /// One quota for each user and one for each machine.
    pub fn new(users: Quota, machines: Quota) -> Self {
        Self::with_max_principals(users, machines, Self::DEFAULT_MAX_PRINCIPALS)
    }

    /// As [`new`](Self::new), tracking at most `max_principals` users and, separately, at
    /// most `max_principals` machines (at least 1 each); see the [module docs](self) for
    /// what happens to the others.
    pub fn with_max_principals(users: Quota, machines: Quota, max_principals: u64) -> Self {
        Self {
            users,
            machines,
            backend: Backend::Local(Arc::new(Limits::new(
                users,
                machines,
                max_principals,
                DefaultClock::default(),
            ))),
        }
    }

    /// The same quotas kept in Redis (feature `redis`), so that they hold across every
    /// replica sharing that Redis and key prefix, and across restarts. Each request costs
    /// one round trip. This process also keeps the quotas itself, as
    /// [`new`](Self::new) does, counting every request it lets through: when Redis cannot
    /// answer within its timeout, `quotas`' [`FailurePolicy`] decides, by default that
    /// in-process quota, so a limit never turns off (see [`RedisQuotas`]). Redis holds each
    /// identity only while its quota is not full again; the in-process table is bounded by
    /// [`DEFAULT_MAX_PRINCIPALS`](Self::DEFAULT_MAX_PRINCIPALS) per kind.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn with_redis(users: Quota, machines: Quota, quotas: RedisQuotas) -> Self {
        let local = Limits::new(
            users,
            machines,
            Self::DEFAULT_MAX_PRINCIPALS,
            DefaultClock::default(),
        );
        Self {
            users,
            machines,
            backend: Backend::Redis(Arc::new(quotas), Arc::new(local)),
        }
    }

    /// The bound on identities of each kind tracked in this process (with Redis too: the
    /// in-process quotas that count what this process admits).
    pub fn max_principals(&self) -> u64 {
        u64::try_from(self.backend.local().users.max_tracked).unwrap_or(u64::MAX)
    }

    /// How many identities (users and machines together) are tracked in this process now.
    pub fn tracked_principals(&self) -> u64 {
        u64::try_from(self.backend.local().tracked()).unwrap_or(u64::MAX)
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

/// The future of [`RateLimit`]: an answer at once (refused in process), the inner service's
/// (allowed in process), or a check in Redis followed by the inner service.
pub type RateLimitFuture<F, E> = Either<
    std::future::Ready<Result<Response, E>>,
    Either<F, BoxFuture<'static, Result<Response, E>>>,
>;

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let extensions = request.extensions();
        let Some(renderer) = layer_context(extensions) else {
            // Outside the AuthLayer (or no AuthLayer at all): nothing here knows who is
            // calling, and passing the request on would leave it unlimited.
            tracing::error!(
                "axum_principal RateLimitLayer is not inside AuthLayer; add the rate limit \
                 layer before `.layer(AuthLayer::new(config))` so the AuthLayer wraps it"
            );
            let rejection =
                AuthRejection::new(RejectionKind::MissingLayer).in_reply_to(request.headers());
            return Either::Left(std::future::ready(Ok(rejection.into_response())));
        };
        let Some(principal) = extensions.get::<Principal>() else {
            return Either::Right(Either::Left(self.inner.call(request)));
        };
        let key = Key::from(principal.id());
        match &self.limits.backend {
            Backend::Local(limits) => match limits.check(key) {
                Ok(()) => Either::Right(Either::Left(self.inner.call(request))),
                Err(wait) => Either::Left(std::future::ready(Ok(limited(
                    wait,
                    (**renderer).clone(),
                    request.headers(),
                )))),
            },
            #[cfg(feature = "redis")]
            Backend::Redis(quotas, local) => {
                let quota = match key.kind {
                    crate::Kind::User => self.limits.users,
                    crate::Kind::Machine => self.limits.machines,
                };
                let quotas = Arc::clone(quotas);
                let local = Arc::clone(local);
                let renderer = (**renderer).clone();
                // The service that was made ready goes with the request; a clone stays.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Either::Right(Either::Right(Box::pin(async move {
                    match quotas.check(key, quota, &local).await {
                        Ok(()) => inner.call(request).await,
                        Err(redis::Refusal::Wait(wait)) => {
                            Ok(limited(wait, renderer, request.headers()))
                        }
                        Err(redis::Refusal::Unavailable) => Ok(AuthRejection::with_renderer(
                            RejectionKind::RateLimitUnavailable,
                            renderer,
                        )
                        .in_reply_to(request.headers())
                        .into_response()),
                    }
                })))
            }
        }
    }
}

/// The 429 (or gRPC's 8) for a principal over its quota, with `Retry-After` whatever the
/// renderer did.
fn limited(
    wait: Duration,
    renderer: crate::rejection::Renderer,
    headers: &http::HeaderMap,
) -> Response {
    let secs = whole_seconds(wait);
    let rejection = AuthRejection::with_renderer(
        RejectionKind::RateLimited {
            retry_after_secs: secs,
        },
        renderer,
    )
    .in_reply_to(headers);
    let mut response = rejection.into_response();
    response
        .headers_mut()
        .entry(header::RETRY_AFTER)
        .or_insert_with(|| HeaderValue::from(secs));
    response
}

/// `wait` rounded up to whole seconds, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests;
