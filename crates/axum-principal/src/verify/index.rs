//! The claims' top-level members, indexed in the one scan of their JSON text
//! ([`json::object`]): each key's and value's span, and a hash table over the keys, seeded
//! once per process. Inserting a member is the top level's duplicate check (`{"sub":"a",
//! "sub":"b"}` and `{"\u0073ub":"a","sub":"b"}` are refused), and a claim is then found by
//! name with one hash and one probe, not a scan of every member.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::OnceLock;

use super::json::{self, Invalid, Shape};

/// A top-level member: its key, the span of its value's JSON text, and its key's hash.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) key: MemberKey,
    pub(super) value: Range<usize>,
    hash: u64,
}

/// A key as a span of the input, or decoded when it had escapes.
#[derive(Debug)]
pub(super) enum MemberKey {
    At(Range<usize>),
    Owned(Box<str>),
}

/// The top-level members of an object, in document order, and a hash table over their keys
/// (open addressing, linear probing: a member's position + 1, 0 for a free slot; at least
/// twice as many slots as members).
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) members: Vec<Member>,
    slots: Slots,
    pub(super) shape: Shape,
}

/// The hash table: in place for up to 16 members (a typical token's), else on the heap.
#[derive(Debug)]
enum Slots {
    Inline([u32; INLINE_SLOTS]),
    Heap(Vec<u32>),
}

const INLINE_SLOTS: usize = 32;

impl Default for Slots {
    fn default() -> Self {
        Slots::Inline([0; INLINE_SLOTS])
    }
}

impl Slots {
    fn get(&self) -> &[u32] {
        match self {
            Slots::Inline(slots) => slots,
            Slots::Heap(slots) => slots,
        }
    }

    fn get_mut(&mut self) -> &mut [u32] {
        match self {
            Slots::Inline(slots) => slots,
            Slots::Heap(slots) => slots,
        }
    }
}

/// The keys' hash: seeded once per process, so where a key lands cannot be predicted by
/// whoever writes the token (colliding keys would make the table a list).
fn hash(key: &str) -> u64 {
    static STATE: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    STATE.get_or_init(Default::default).hash_one(key)
}

impl Member {
    /// The key (`json` is the indexed text).
    pub(super) fn key<'a>(&'a self, json: &'a str) -> &'a str {
        match &self.key {
            MemberKey::At(at) => json.get(at.clone()).unwrap_or_default(),
            MemberKey::Owned(key) => key,
        }
    }
}

impl Index {
    /// The member named `name` (`json` is the indexed text).
    pub(super) fn get(&self, json: &str, name: &str) -> Option<&Member> {
        if self.members.is_empty() {
            return None;
        }
        let h = hash(name);
        let slots = self.slots.get();
        let mask = slots.len().wrapping_sub(1);
        #[allow(clippy::cast_possible_truncation)]
        let mut at = (h as usize) & mask;
        loop {
            let slot = *slots.get(at)?;
            let member = self
                .members
                .get(usize::try_from(slot).ok()?.checked_sub(1)?)?;
            if member.hash == h && member.key(json) == name {
                return Some(member);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds a member; `Err` when its key is already there.
    fn insert(&mut self, json: &str, member: Member) -> Result<(), Invalid> {
        if (self.members.len() + 1) * 2 > self.slots.get().len() {
            self.grow();
        }
        let key = member.key(json);
        let slots = self.slots.get_mut();
        let mask = slots.len() - 1;
        #[allow(clippy::cast_possible_truncation)]
        let mut at = (member.hash as usize) & mask;
        let position = u32::try_from(self.members.len() + 1).map_err(|_| Invalid)?;
        loop {
            let slot = *slots.get(at).ok_or(Invalid)?;
            let Some(other) = (slot as usize)
                .checked_sub(1)
                .and_then(|i| self.members.get(i))
            else {
                break;
            };
            if other.hash == member.hash && other.key(json) == key {
                return Err(Invalid);
            }
            at = (at + 1) & mask;
        }
        if let Some(free) = slots.get_mut(at) {
            *free = position;
        }
        self.members.push(member);
        Ok(())
    }

    /// Doubles the table.
    fn grow(&mut self) {
        let len = self.slots.get().len() * 2;
        let mut slots = vec![0u32; len];
        let mask = len - 1;
        for (i, member) in self.members.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)]
            let mut at = (member.hash as usize) & mask;
            while slots.get(at).is_some_and(|slot| *slot != 0) {
                at = (at + 1) & mask;
            }
            if let Some(free) = slots.get_mut(at) {
                // `insert` keeps the count within u32.
                *free = u32::try_from(i + 1).unwrap_or(u32::MAX);
            }
        }
        self.slots = Slots::Heap(slots);
    }
}

/// Indexes a JSON object's top-level members; `Err` for anything that is not one object
/// without duplicate members at any depth.
pub(super) fn index(json: &str) -> Result<Index, Invalid> {
    let mut index = Index {
        members: Vec::with_capacity(16),
        ..Index::default()
    };
    let shape = json::object(json, |key, key_start, value| {
        let hash = hash(&key);
        let key = match key {
            Cow::Borrowed(k) => MemberKey::At(key_start..key_start + k.len()),
            Cow::Owned(k) => MemberKey::Owned(k.into_boxed_str()),
        };
        index.insert(json, Member { key, value, hash })
    })?;
    index.shape = shape;
    Ok(index)
}
