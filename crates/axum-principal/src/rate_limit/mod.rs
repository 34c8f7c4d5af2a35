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
//! # Design, memory, and identities that are not tracked
//! Each kind (user, machine) has its own table of tracked identities, bounded by
//! [`max_principals`](RateLimitLayer::max_principals) per kind, and its own quotas for the
//! identities it cannot track: nothing the identities of one kind do changes what the other
//! kind gets. A tracked identity has its own limiter, keyed by a SHA-256 digest of the
//! length-prefixed `iss`, kind and `sub` rather than the strings, so an entry is 112 bytes
//! (digest, limiter, time of the last request; nothing on the heap) however long the
//! subject is. With the hash table's spare room that is at most about 15 MB per kind at the
//! default bound (131 072 slots of 113 bytes).
//!
//! An identity is only ever forgotten once its quota has fully replenished (no request for
//! the time it takes to refill the whole burst), because only then is a new, full limiter
//! the same as the one forgotten; so forgetting never gives anyone more requests. When its
//! kind's table is full and nobody there can be forgotten yet, a newcomer is *not tracked*:
//! it draws on one of 1024 quotas of its kind (each the user or machine quota), picked by a
//! hash of its digest keyed with a secret chosen at start-up. Untracked identities in the
//! same bucket share its quota; those in different buckets do not.
//!
//! # What an identity flood can and cannot do
//! Someone who can mint many identities of one kind (self-signup users, say) can keep that
//! kind's table full. They cannot make anyone unlimited, push out the limiter of an identity
//! that is using its quota, or make a quota refill early; and they cannot touch the other
//! kind at all (a user flood leaves every machine its table room and quota). Newcomers of
//! the flooded kind, and tracked identities idle for a whole refill period (which may be
//! forgotten), are slowed down only in proportion: each shares its bucket with about one in
//! 1024 of the flood, so starving every bucket takes about 1024 times what one identity may
//! send, and the secret key keeps the flood from aiming at one newcomer's bucket. An
//! identity that moves from a bucket into the table (once there is room) starts with a full
//! quota of its own, so within one refill period it may also have had its bucket's share.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher as _;
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
use crate::crypto::sha256;
use crate::principal::{AuthContext, Principal, PrincipalId};
use crate::rejection::{AuthRejection, RejectionKind};

pub use governor::Quota;

/// A full-table sweep for replenished identities runs at most this often, so that an
/// identity flood cannot make every request scan the table.
const SWEEP_GAP: Duration = Duration::from_secs(1);

/// How many quotas (per kind) the identities that are not tracked are spread over.
const UNTRACKED_BUCKETS: usize = 1024;

/// The layer: quotas for users and for machines, and the bound on tracked identities.
#[derive(Clone)]
pub struct RateLimitLayer {
    inner: Arc<Limits<DefaultClock>>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("users", &self.inner.users.quota)
            .field("machines", &self.inner.machines.quota)
            .field("max_principals", &self.inner.users.max_tracked)
            .finish_non_exhaustive()
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
            inner: Arc::new(Limits::new(
                users,
                machines,
                max_principals,
                DefaultClock::default(),
            )),
        }
    }

    /// The bound on tracked identities of each kind.
    pub fn max_principals(&self) -> u64 {
        u64::try_from(self.inner.users.max_tracked).unwrap_or(u64::MAX)
    }

    /// How many identities (users and machines together) are tracked now.
    pub fn tracked_principals(&self) -> u64 {
        u64::try_from(self.inner.tracked()).unwrap_or(u64::MAX)
    }
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// An identity as stored: its kind, which picks the table, and a SHA-256 digest of the
/// whole [`PrincipalId`], so that an entry has the same size however long `iss` and `sub`
/// are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    kind: Kind,
    digest: [u8; 32],
}

impl Key {
    fn new(issuer: &str, kind: Kind, subject: &str) -> Self {
        // Every field is length-prefixed, so no two identities give the same input.
        let len = |s: &str| u64::try_from(s.len()).unwrap_or(u64::MAX).to_be_bytes();
        let kind_name = kind.as_str();
        let digest = sha256(&[
            b"axum-principal rate-limit identity\0",
            &len(issuer),
            issuer.as_bytes(),
            &len(kind_name),
            kind_name.as_bytes(),
            &len(subject),
            subject.as_bytes(),
        ]);
        Self { kind, digest }
    }
}

impl From<PrincipalId<'_>> for Key {
    fn from(id: PrincipalId<'_>) -> Self {
        Self::new(id.issuer(), id.kind(), id.subject())
    }
}

struct Slot<C: Clock> {
    limiter: Limiter<C>,
    /// The last request seen (allowed or not); the quota is full again once the whole burst
    /// has had time to replenish after it.
    last_seen: C::Instant,
}

struct Table<C: Clock> {
    slots: HashMap<[u8; 32], Slot<C>>,
    /// No sweep before this instant: nothing can be forgotten earlier, or a sweep ran less
    /// than [`SWEEP_GAP`] ago.
    next_sweep: Option<C::Instant>,
}

/// The limits of one kind: its own table, bound and untracked buckets, so that one kind's
/// identities can never take the room or the quotas of the other's.
struct PerKind<C: Clock> {
    quota: Quota,
    max_tracked: usize,
    table: Mutex<Table<C>>,
    /// The quotas shared by the identities that cannot be tracked (the table is full), each
    /// drawing on the one its digest picks.
    untracked: Vec<Limiter<C>>,
}

/// The state shared by every clone of the layer. Generic over the clock for the tests.
struct Limits<C: Clock> {
    users: PerKind<C>,
    machines: PerKind<C>,
    clock: C,
    /// Keys the choice of bucket with a secret of this process, so that nobody can pick
    /// subjects that crowd into the bucket of someone else.
    buckets: RandomState,
}

impl<C: Clock + Clone> PerKind<C> {
    fn new(quota: Quota, max_tracked: usize, clock: &C) -> Self {
        Self {
            quota,
            max_tracked,
            table: Mutex::new(Table {
                slots: HashMap::new(),
                next_sweep: None,
            }),
            untracked: (0..UNTRACKED_BUCKETS)
                .map(|_| RateLimiter::direct_with_clock(quota, clock.clone()))
                .collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table<C>> {
        // Nothing panics while the lock is held; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the identities whose quota has fully replenished (a new limiter for them is
    /// the same as theirs), at most once per [`SWEEP_GAP`] and never before one can be.
    fn sweep(&self, table: &mut Table<C>, now: C::Instant) {
        if table.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        let full = self.quota.burst_size_replenished_in();
        let mut earliest: Option<Duration> = None;
        table.slots.retain(|_, slot| {
            let idle = Duration::from(now.duration_since(slot.last_seen));
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

impl<C: Clock + Clone> Limits<C> {
    fn new(users: Quota, machines: Quota, max_principals: u64, clock: C) -> Self {
        let max_tracked = usize::try_from(max_principals.max(1)).unwrap_or(usize::MAX);
        Self {
            users: PerKind::new(users, max_tracked, &clock),
            machines: PerKind::new(machines, max_tracked, &clock),
            clock,
            buckets: RandomState::new(),
        }
    }

    fn of(&self, kind: Kind) -> &PerKind<C> {
        match kind {
            Kind::User => &self.users,
            Kind::Machine => &self.machines,
        }
    }

    fn tracked(&self) -> usize {
        self.users.lock().slots.len() + self.machines.lock().slots.len()
    }

    /// The untracked bucket of `key`, below [`UNTRACKED_BUCKETS`].
    fn bucket(&self, key: &Key) -> usize {
        let buckets = u64::try_from(UNTRACKED_BUCKETS).unwrap_or(u64::MAX);
        usize::try_from(self.buckets.hash_one(key.digest) % buckets).unwrap_or(0)
    }

    /// `Ok` to let the request through, or how long to wait.
    fn check(&self, key: Key) -> Result<(), Duration> {
        let now = self.clock.now();
        let limits = self.of(key.kind);
        let mut table = limits.lock();
        if let Some(slot) = table.slots.get_mut(&key.digest) {
            slot.last_seen = now;
            return decide(&slot.limiter, now);
        }
        if table.slots.len() >= limits.max_tracked {
            limits.sweep(&mut table, now);
        }
        if table.slots.len() < limits.max_tracked {
            let limiter = RateLimiter::direct_with_clock(limits.quota, self.clock.clone());
            let verdict = decide(&limiter, now);
            let slot = Slot {
                limiter,
                last_seen: now,
            };
            table.slots.insert(key.digest, slot);
            return verdict;
        }
        drop(table);
        let bucket = self.bucket(&key);
        tracing::debug!(
            kind = key.kind.as_str(),
            max_principals = limits.max_tracked,
            bucket,
            "rate limit: identity table full; using a shared quota for untracked identities"
        );
        match limits.untracked.get(bucket) {
            Some(shared) => decide(shared, now),
            // Not reached (`bucket` is in range); refuse rather than let it through.
            None => Err(limits.quota.burst_size_replenished_in()),
        }
    }
}

fn decide<C: Clock>(limiter: &Limiter<C>, now: C::Instant) -> Result<(), Duration> {
    limiter
        .check()
        .map_err(|not_until| not_until.wait_time_from(now))
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
mod tests;
