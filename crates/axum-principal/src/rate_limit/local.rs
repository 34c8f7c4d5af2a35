//! The in-process backend: a table of governor limiters per kind, and shared buckets for
//! the identities that cannot be tracked (see the [module docs](super)).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, Reference as _};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::classify::Kind;
use crate::crypto::sha256;
use crate::principal::PrincipalId;

/// A full-table sweep for replenished identities runs at most this often, so that an
/// identity flood cannot make every request scan the table.
const SWEEP_GAP: Duration = Duration::from_secs(1);

/// How many quotas (per kind) the identities that are not tracked are spread over.
const UNTRACKED_BUCKETS: usize = 1024;

pub(super) type Limiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// An identity as stored: its kind, which picks the table, and a SHA-256 digest of the
/// whole [`PrincipalId`], so that an entry has the same size however long `iss` and `sub`
/// are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key {
    pub(super) kind: Kind,
    pub(super) digest: [u8; 32],
}

impl Key {
    pub(super) fn new(issuer: &str, kind: Kind, subject: &str) -> Self {
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

pub(super) struct Slot<C: Clock> {
    limiter: Limiter<C>,
    /// The last request seen (allowed or not); the quota is full again once the whole burst
    /// has had time to replenish after it.
    last_seen: C::Instant,
}

pub(super) struct Table<C: Clock> {
    pub(super) slots: HashMap<[u8; 32], Slot<C>>,
    /// No sweep before this instant: nothing can be forgotten earlier, or a sweep ran less
    /// than [`SWEEP_GAP`] ago.
    next_sweep: Option<C::Instant>,
}

/// The limits of one kind: its own table, bound and untracked buckets, so that one kind's
/// identities can never take the room or the quotas of the other's.
pub(super) struct PerKind<C: Clock> {
    pub(super) quota: Quota,
    pub(super) max_tracked: usize,
    table: Mutex<Table<C>>,
    /// The quotas shared by the identities that cannot be tracked (the table is full), each
    /// drawing on the one its digest picks.
    untracked: Vec<Limiter<C>>,
}

/// The state shared by every clone of the layer. Generic over the clock for the tests.
pub(super) struct Limits<C: Clock> {
    pub(super) users: PerKind<C>,
    pub(super) machines: PerKind<C>,
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Table<C>> {
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
    pub(super) fn new(users: Quota, machines: Quota, max_principals: u64, clock: C) -> Self {
        let max_tracked = usize::try_from(max_principals.max(1)).unwrap_or(usize::MAX);
        Self {
            users: PerKind::new(users, max_tracked, &clock),
            machines: PerKind::new(machines, max_tracked, &clock),
            clock,
            buckets: RandomState::new(),
        }
    }

    pub(super) fn of(&self, kind: Kind) -> &PerKind<C> {
        match kind {
            Kind::User => &self.users,
            Kind::Machine => &self.machines,
        }
    }

    pub(super) fn tracked(&self) -> usize {
        self.users.lock().slots.len() + self.machines.lock().slots.len()
    }

    /// The untracked bucket of `key`, below [`UNTRACKED_BUCKETS`].
    pub(super) fn bucket(&self, key: &Key) -> usize {
        let buckets = u64::try_from(UNTRACKED_BUCKETS).unwrap_or(u64::MAX);
        usize::try_from(self.buckets.hash_one(key.digest) % buckets).unwrap_or(0)
    }

    /// `Ok` to let the request through, or how long to wait.
    pub(super) fn check(&self, key: Key) -> Result<(), Duration> {
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
