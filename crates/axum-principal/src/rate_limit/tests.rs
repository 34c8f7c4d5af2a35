//! Unit tests of the rate limiter.
use std::num::NonZeroU32;

use governor::clock::FakeRelativeClock;

use super::local::{Key, Limits, Slot};
use super::*;
use crate::classify::Kind;

fn key(kind: Kind, sub: &str) -> Key {
    Key::new("https://iss", kind, sub)
}

fn check(limits: &Limits<FakeRelativeClock>, key: &Key) -> Result<(), Duration> {
    limits.check(*key)
}

fn is_tracked(limits: &Limits<FakeRelativeClock>, key: &Key) -> bool {
    limits.of(key.kind).lock().slots.contains_key(&key.digest)
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
    assert!(is_tracked(&limits, &a));
    clock.advance(Duration::from_millis(501));
    assert_eq!(check(&limits, &b), Ok(()));
    assert!(is_tracked(&limits, &b));
    assert!(!is_tracked(&limits, &a));
}

#[test]
fn retry_after_is_whole_seconds_at_least_one() {
    assert_eq!(whole_seconds(Duration::ZERO), 1);
    assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
    assert_eq!(whole_seconds(Duration::from_secs(3600)), 3600);
    assert_eq!(whole_seconds(Duration::MAX), u64::MAX);
}
/// Review probe: users filling the table (once shared by both kinds) pushed every newly
/// arriving machine into one quota shared by all untracked machines.
#[test]
fn review_probe_user_flood_makes_new_machines_share_one_quota() {
    let clock = FakeRelativeClock::default();
    let limits = Limits::new(per_minute(60), per_minute(1), 2, clock.clone());
    assert_eq!(check(&limits, &key(Kind::User, "flood-1")), Ok(()));
    assert_eq!(check(&limits, &key(Kind::User, "flood-2")), Ok(()));
    // Two distinct machines, each well within its own quota of 1/min:
    assert_eq!(check(&limits, &key(Kind::Machine, "svc-a")), Ok(()));
    assert_eq!(
        check(&limits, &key(Kind::Machine, "svc-b")),
        Ok(()),
        "svc-b's first request is refused: it shares svc-a's quota"
    );
}

#[test]
fn a_user_flood_leaves_machines_their_own_quotas() {
    let clock = FakeRelativeClock::default();
    let limits = Limits::new(per_minute(60), per_minute(2), 3, clock.clone());
    for i in 0..500 {
        let _ = check(&limits, &key(Kind::User, &format!("flood-{i}")));
    }
    for svc in ["svc-a", "svc-b", "svc-c"] {
        let machine = key(Kind::Machine, svc);
        assert_eq!(check(&limits, &machine), Ok(()), "{svc}");
        assert_eq!(check(&limits, &machine), Ok(()), "{svc}");
        assert!(
            check(&limits, &machine).is_err(),
            "{svc} is over its own quota"
        );
        assert!(is_tracked(&limits, &machine), "{svc} has its own limiter");
    }
    assert_eq!(limits.tracked(), 3 + 3);
}

/// The first untracked user `newcomer-N` that `wanted` accepts.
fn newcomer(wanted: impl Fn(&Key) -> bool) -> Key {
    (0..1_000_000)
        .map(|i| key(Kind::User, &format!("newcomer-{i}")))
        .find(wanted)
        .expect("a million subjects fill every bucket many times over")
}

#[test]
fn untracked_identities_share_a_quota_only_within_a_bucket() {
    let clock = FakeRelativeClock::default();
    let limits = Limits::new(per_minute(1), per_minute(1), 1, clock.clone());
    assert_eq!(check(&limits, &key(Kind::User, "tracked")), Ok(()));
    let x = newcomer(|_| true);
    let y = newcomer(|k| limits.bucket(k) != limits.bucket(&x));
    let z = newcomer(|k| limits.bucket(k) == limits.bucket(&x) && *k != x);
    assert_eq!(check(&limits, &x), Ok(()));
    assert!(check(&limits, &x).is_err(), "x's bucket is used up");
    // Another bucket: a quota of its own, although x and y are both untracked.
    assert_eq!(check(&limits, &y), Ok(()), "y shares x's quota");
    // The same bucket: shared (still limited, never unlimited).
    assert!(check(&limits, &z).is_err(), "z shares x's bucket");
    assert_eq!(limits.tracked(), 1);
}

#[test]
fn a_key_is_a_fixed_size_digest_of_issuer_kind_and_subject() {
    let long = "s".repeat(16 * 1024);
    let key = Key::new("https://iss", Kind::User, &long);
    let _: &[u8; 32] = &key.digest;
    // Length prefixes: moving bytes between fields gives another identity.
    let split = |iss: &str, sub: &str| Key::new(iss, Kind::User, sub);
    assert_ne!(split("https://iss", "ab"), split("https://issa", "b"));
    assert_ne!(
        Key::new("i", Kind::User, "s").digest,
        Key::new("i", Kind::Machine, "s").digest
    );
    // What a tracked identity costs, whatever its subject (see the module docs).
    let entry = std::mem::size_of::<([u8; 32], Slot<DefaultClock>)>();
    assert!(entry <= 112, "{entry} bytes per entry");
}
