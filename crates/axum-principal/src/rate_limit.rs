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
//! without a principal (optional mode) are not limited here.
//!
//! # Memory, and identities that are not tracked
//! At most [`max_principals`](RateLimitLayer::max_principals) identities are tracked, each
//! with its own limiter. An identity is only ever forgotten once its quota has fully
//! replenished (no request for the time it takes to refill the whole burst), because only
//! then is a new, full limiter the same as the one forgotten; so forgetting never gives
//! anyone more requests. When the table is full and no tracked identity can be forgotten
//! yet, a newcomer is *not tracked*: its requests draw on one quota per kind shared by every
//! untracked identity (the user or machine quota). An identity flood therefore slows down
//! newcomers; it never makes anyone unlimited, and it never pushes out the limiters of
//! identities that are using their quota.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use governor::clock::{Clock, DefaultClock, Reference as _};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::RateLimiter;
use http::{header, HeaderValue, Request};
use tower::{Layer, Service};

use crate::classify::Kind;
use crate::principal::{AuthContext, Principal, PrincipalId};
use crate::rejection::{AuthRejection, RejectionKind};

pub use governor::Quota;

/// A full-table sweep for replenished identities runs at most this often, so that an
/// identity flood cannot make every request scan the table.
const SWEEP_GAP: Duration = Duration::from_secs(1);

/// The layer: quotas for users and for machines, and the bound on tracked identities.
#[derive(Clone)]
pub struct RateLimitLayer {
    inner: Arc<Limits<DefaultClock>>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("users", &self.inner.users)
            .field("machines", &self.inner.machines)
            .field("max_principals", &self.inner.max_principals)
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

    /// As [`new`](Self::new), tracking at most `max_principals` identities (at least 1);
    /// see the [module docs](self) for what happens to the others.
    pub fn with_max_principals(users: Quota, machines: Quota, max_principals: u64) -> Self {
        Self {
            inner: Arc::new(Limits::new(
                users,
                machines,
                max_principals,
                DefaultClock::default(),
            )),
        }
    }

    /// The bound on tracked identities.
    pub fn max_principals(&self) -> u64 {
        u64::try_from(self.inner.max_principals).unwrap_or(u64::MAX)
    }

    /// How many identities are tracked now.
    pub fn tracked_principals(&self) -> u64 {
        u64::try_from(self.inner.tracked()).unwrap_or(u64::MAX)
    }
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// An identity as stored: the owned form of [`PrincipalId`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    issuer: Box<str>,
    kind: Kind,
    subject: Box<str>,
}

impl From<PrincipalId<'_>> for Key {
    fn from(id: PrincipalId<'_>) -> Self {
        Self {
            issuer: id.issuer().into(),
            kind: id.kind(),
            subject: id.subject().into(),
        }
    }
}

struct Slot<C: Clock> {
    limiter: Limiter<C>,
    /// The last request seen (allowed or not); the quota is full again once the whole burst
    /// has had time to replenish after it.
    last_seen: C::Instant,
}

struct Table<C: Clock> {
    slots: HashMap<Key, Slot<C>>,
    /// No sweep before this instant: nothing can be forgotten earlier, or a sweep ran less
    /// than [`SWEEP_GAP`] ago.
    next_sweep: Option<C::Instant>,
}

/// The state shared by every clone of the layer. Generic over the clock for the tests.
struct Limits<C: Clock> {
    users: Quota,
    machines: Quota,
    max_principals: usize,
    clock: C,
    table: Mutex<Table<C>>,
    /// The quotas shared by identities that cannot be tracked (the table is full).
    untracked_users: Limiter<C>,
    untracked_machines: Limiter<C>,
}

impl<C: Clock + Clone> Limits<C> {
    fn new(users: Quota, machines: Quota, max_principals: u64, clock: C) -> Self {
        Self {
            users,
            machines,
            max_principals: usize::try_from(max_principals.max(1)).unwrap_or(usize::MAX),
            table: Mutex::new(Table {
                slots: HashMap::new(),
                next_sweep: None,
            }),
            untracked_users: RateLimiter::direct_with_clock(users, clock.clone()),
            untracked_machines: RateLimiter::direct_with_clock(machines, clock.clone()),
            clock,
        }
    }

    fn quota(&self, kind: Kind) -> Quota {
        match kind {
            Kind::User => self.users,
            Kind::Machine => self.machines,
        }
    }

    fn tracked(&self) -> usize {
        self.lock().slots.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table<C>> {
        // Nothing panics while the lock is held; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Ok` to let the request through, or how long to wait.
    fn check(&self, key: Key) -> Result<(), Duration> {
        let now = self.clock.now();
        let kind = key.kind;
        let mut table = self.lock();
        if let Some(slot) = table.slots.get_mut(&key) {
            slot.last_seen = now;
            return self.decide(&slot.limiter, now);
        }
        if table.slots.len() >= self.max_principals {
            self.sweep(&mut table, now);
        }
        if table.slots.len() < self.max_principals {
            let limiter = RateLimiter::direct_with_clock(self.quota(key.kind), self.clock.clone());
            let verdict = self.decide(&limiter, now);
            table.slots.insert(
                key,
                Slot {
                    limiter,
                    last_seen: now,
                },
            );
            return verdict;
        }
        drop(table);
        tracing::debug!(
            kind = kind.as_str(),
            max_principals = self.max_principals,
            "rate limit: identity table full; using the shared quota for untracked identities"
        );
        let shared = match kind {
            Kind::User => &self.untracked_users,
            Kind::Machine => &self.untracked_machines,
        };
        self.decide(shared, now)
    }

    fn decide(&self, limiter: &Limiter<C>, now: C::Instant) -> Result<(), Duration> {
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Forgets the identities whose quota has fully replenished (a new limiter for them is
    /// the same as theirs), at most once per [`SWEEP_GAP`] and never before one can be.
    fn sweep(&self, table: &mut Table<C>, now: C::Instant) {
        if table.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        let refill = |kind| self.quota(kind).burst_size_replenished_in();
        let mut earliest: Option<Duration> = None;
        table.slots.retain(|key, slot| {
            let idle = Duration::from(now.duration_since(slot.last_seen));
            let full = refill(key.kind);
            if idle >= full {
                return false;
            }
            let left = full - idle;
            earliest = Some(earliest.map_or(left, |e| e.min(left)));
            true
        });
        let wait = earliest.unwrap_or_default().max(SWEEP_GAP);
        // `Duration` → governor's nanoseconds cannot overflow here: the wait is at most one
        // quota's refill time, which `Quota` itself holds in nanoseconds.
        let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        table.next_sweep = Some(now + governor::nanos::Nanos::from(wait));
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
        let extensions = request.extensions();
        let Some(context) = extensions.get::<AuthContext>() else {
            // Outside the AuthLayer (or no AuthLayer at all): nothing here knows who is
            // calling, and passing the request on would leave it unlimited.
            tracing::error!(
                "axum_principal RateLimitLayer is not inside AuthLayer; add the rate limit \
                 layer before `.layer(AuthLayer::new(config))` so the AuthLayer wraps it"
            );
            let rejection = AuthRejection::new(RejectionKind::MissingLayer);
            return Either::Left(std::future::ready(Ok(rejection.into_response())));
        };
        let verdict = match extensions.get::<Principal>() {
            Some(principal) => self.limits.inner.check(Key::from(principal.id())),
            None => Ok(()),
        };
        match verdict {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(wait) => {
                let secs = whole_seconds(wait);
                let rejection = AuthRejection::with_renderer(
                    RejectionKind::RateLimited {
                        retry_after_secs: secs,
                    },
                    context.renderer.clone(),
                );
                let mut response = rejection.into_response();
                // The contract's header, whatever the renderer did with the body.
                response
                    .headers_mut()
                    .entry(header::RETRY_AFTER)
                    .or_insert_with(|| HeaderValue::from(secs));
                Either::Left(std::future::ready(Ok(response)))
            }
        }
    }
}

/// `wait` rounded up to whole seconds, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn key(kind: Kind, sub: &str) -> Key {
        Key {
            issuer: "https://iss".into(),
            kind,
            subject: sub.into(),
        }
    }

    fn check(limits: &Limits<FakeRelativeClock>, key: &Key) -> Result<(), Duration> {
        limits.check(key.clone())
    }

    fn per_minute(n: u32) -> Quota {
        Quota::per_minute(NonZeroU32::new(n).expect("a non-zero quota"))
    }

    #[test]
    fn a_full_table_forgets_only_replenished_identities() {
        let clock = FakeRelativeClock::default();
        let limits = Limits::new(per_minute(1), per_minute(1), 2, clock.clone());
        let (a, b, c) = (
            key(Kind::User, "a"),
            key(Kind::User, "b"),
            key(Kind::User, "c"),
        );
        assert_eq!(check(&limits, &a), Ok(()));
        assert_eq!(check(&limits, &b), Ok(()));
        // Full, and nobody's quota has come back: `c` is not tracked but shares a quota.
        assert_eq!(check(&limits, &c), Ok(()));
        assert!(check(&limits, &c).is_err(), "the shared quota is used up");
        assert_eq!(limits.tracked(), 2);
        assert!(check(&limits, &a).is_err(), "a is still tracked and over");
        // A minute later every quota is full again: `c` takes a forgotten slot.
        clock.advance(Duration::from_secs(61));
        assert_eq!(check(&limits, &c), Ok(()));
        assert!(check(&limits, &c).is_err(), "c now has its own limiter");
        assert_eq!(limits.tracked(), 1);
    }

    #[test]
    fn sweeps_are_spaced_out() {
        let clock = FakeRelativeClock::default();
        let every_100ms = Quota::with_period(Duration::from_millis(100)).expect("a period");
        let limits = Limits::new(every_100ms, per_minute(1), 1, clock.clone());
        let (a, b) = (key(Kind::User, "a"), key(Kind::User, "b"));
        assert_eq!(check(&limits, &a), Ok(()));
        // Full: a sweep runs, finds nothing to forget, and waits SWEEP_GAP for the next.
        assert_eq!(check(&limits, &b), Ok(()));
        assert_eq!(limits.tracked(), 1);
        // `a` has replenished after 100 ms, but no sweep runs before the gap has passed.
        clock.advance(Duration::from_millis(500));
        assert_eq!(check(&limits, &b), Ok(()));
        assert!(limits.lock().slots.contains_key(&a));
        clock.advance(Duration::from_millis(501));
        assert_eq!(check(&limits, &b), Ok(()));
        assert!(limits.lock().slots.contains_key(&b));
        assert!(!limits.lock().slots.contains_key(&a));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3600)), 3600);
        assert_eq!(whole_seconds(Duration::MAX), u64::MAX);
    }
}
