//! How many fresh proofs one principal may have the replay store remember.
//!
//! Every accepted proof's `jti` is kept for its whole window, and the replay check runs inside
//! the authenticator, before any quota: without a bound, one token holder sending fresh
//! proofs as fast as it can fills the store (a million keys in minutes), evicting everyone
//! else's. So each principal (`iss`, kind, `sub`) may record at most
//! [`DpopConfig::max_proofs_per_principal`](super::DpopConfig::max_proofs_per_principal)
//! proofs per window (counted in fixed slots of one window); beyond that its requests are
//! refused with 429 and `Retry-After` until the next slot, and nothing more is recorded.
//! A key lives at most window + leeway + 1 s, so one principal holds at most
//! `(2 + ⌈(leeway + 1) / window⌉) × max` keys.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::clock::unix_seconds;
use crate::principal::PrincipalId;

/// The counters of the principals seen in the current and the previous slot; bounded, so a
/// flood of principals cannot grow it (an evicted counter starts again at zero, which only
/// loosens the per-principal bound, never the store's own).
const MAX_PRINCIPALS: u64 = 100_000;

pub(crate) struct ProofBudget {
    per_slot: u32,
    slot_secs: u64,
    /// (slot number, principal digest) → proofs recorded in that slot. A counter of a past
    /// slot is never read again and goes when the map needs room (quick_cache: a shard's read
    /// lock and one probe per proof; moka's admission bookkeeping cost ~10k instructions per
    /// DPoP request, `bench/dpop_callgrind.sh`).
    counts: quick_cache::sync::Cache<
        (u64, [u8; 32]),
        Arc<AtomicU32>,
        quick_cache::UnitWeighter,
        foldhash::fast::RandomState,
    >,
}

impl ProofBudget {
    /// At most `per_slot` proofs per principal in each slot of `slot_secs` (≥ 1) seconds.
    pub(crate) fn new(per_slot: u32, slot_secs: u64) -> Self {
        let slot_secs = slot_secs.max(1);
        Self {
            per_slot,
            slot_secs,
            counts: quick_cache::sync::Cache::with(
                usize::try_from(MAX_PRINCIPALS).unwrap_or(usize::MAX),
                MAX_PRINCIPALS,
                quick_cache::UnitWeighter,
                // Keys come from callers' identities: a randomly seeded hash.
                foldhash::fast::RandomState::default(),
                quick_cache::sync::DefaultLifecycle::default(),
            ),
        }
    }

    /// Takes one proof from `principal`'s budget, or says how many whole seconds (≥ 1) until
    /// the next slot.
    pub(crate) fn take(&self, principal: PrincipalId<'_>, now: SystemTime) -> Result<(), u64> {
        let now = u64::try_from(unix_seconds(now)).unwrap_or(0);
        let slot = now / self.slot_secs;
        let digest = principal.digest(b"axum-principal dpop proof budget\0");
        let count = self
            .counts
            .get_or_insert_with(&(slot, digest), || {
                Ok::<_, Infallible>(Arc::new(AtomicU32::new(0)))
            })
            .unwrap_or_else(|never| match never {});
        // Saturating, so a counter held at its limit can never wrap back to zero.
        let taken = count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.per_slot).then_some(n + 1)
            })
            .is_ok();
        if taken {
            Ok(())
        } else {
            let next_slot = slot.saturating_add(1).saturating_mul(self.slot_secs);
            Err(next_slot.saturating_sub(now).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Kind;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn each_principal_has_its_own_budget_per_slot() {
        let budget = ProofBudget::new(3, 60);
        let alice = PrincipalId::new("https://issuer", Kind::User, "alice");
        let bob = PrincipalId::new("https://issuer", Kind::User, "bob");
        let alice_machine = PrincipalId::new("https://issuer", Kind::Machine, "alice");
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        for _ in 0..3 {
            assert_eq!(budget.take(alice, at(6_000)), Ok(()));
        }
        // The fourth in the same slot is refused until the slot ends.
        assert_eq!(budget.take(alice, at(6_010)), Err(50));
        assert_eq!(budget.take(alice, at(6_059)), Err(1));
        // Others are untouched: another subject, and the same subject of another kind.
        assert_eq!(budget.take(bob, at(6_010)), Ok(()));
        assert_eq!(budget.take(alice_machine, at(6_010)), Ok(()));
        // The next slot starts afresh.
        assert_eq!(budget.take(alice, at(6_060)), Ok(()));
    }
}
