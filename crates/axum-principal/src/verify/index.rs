//! The claims' top-level members, indexed in the one scan of their JSON text
//! ([`json::object`]): each key's and value's span, and a hash table over the keys, seeded
//! once per process. Inserting a member is the top level's duplicate check (`{"sub":"a",
//! "sub":"b"}` and `{"\u0073ub":"a","sub":"b"}` are refused), and a claim is then found by
//! name with one hash and one probe, not a scan of every member. The claims the library
//! itself reads ([`KNOWN`]) skip the hash: each has a slot of its own, filled as the scan
//! meets it (a second one is the duplicate), so reading `exp` or an absent `nbf` is one
//! match on the name and one load.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::OnceLock;

use super::json::{self, Invalid, Scalar, Shape};

/// A top-level member: its key, the span of its value's JSON text, what the scan learnt of
/// that value (a plain string or a date is read without a second look), and its key's hash (`None` for a
/// [`KNOWN`] claim, which has a slot of its own instead of one in the table).
#[derive(Debug)]
pub(super) struct Member {
    pub(super) key: MemberKey,
    pub(super) value: Range<usize>,
    pub(super) scalar: Scalar,
    hash: Option<u64>,
}

/// The claims read by name on a request's path (checks, classification, principal): each
/// has a slot in [`Index::known`].
pub(super) const KNOWN: [&str; 34] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "azp",
    "client_id",
    "cid",
    "scope",
    "scp",
    "typ",
    "token_use",
    "at_hash",
    "c_hash",
    "events",
    "cnf",
    "act",
    "tid",
    "username",
    "uid",
    "auth_time",
    "amr",
    "sid",
    "roles",
    "permissions",
    "acr",
    "jti",
    "gty",
    "appid",
    "sub_profile",
    "idtyp",
    "oid",
    "preferred_username",
];

/// `name`'s slot in [`Index::known`], when it is one of [`KNOWN`]. Inlined, so that a
/// lookup by a literal name (every lookup on the request's path) is decided at compile time.
#[inline(always)]
fn known(name: &str) -> Option<usize> {
    // A match on the name's bytes: a decision tree on its length, then byte by byte.
    Some(match name.as_bytes() {
        [b'i', b's', b's'] => 0,
        [b's', b'u', b'b'] => 1,
        [b'a', b'u', b'd'] => 2,
        [b'e', b'x', b'p'] => 3,
        [b'n', b'b', b'f'] => 4,
        [b'i', b'a', b't'] => 5,
        [b'a', b'z', b'p'] => 6,
        [b'c', b'l', b'i', b'e', b'n', b't', b'_', b'i', b'd'] => 7,
        [b'c', b'i', b'd'] => 8,
        [b's', b'c', b'o', b'p', b'e'] => 9,
        [b's', b'c', b'p'] => 10,
        [b't', b'y', b'p'] => 11,
        [b't', b'o', b'k', b'e', b'n', b'_', b'u', b's', b'e'] => 12,
        [b'a', b't', b'_', b'h', b'a', b's', b'h'] => 13,
        [b'c', b'_', b'h', b'a', b's', b'h'] => 14,
        [b'e', b'v', b'e', b'n', b't', b's'] => 15,
        [b'c', b'n', b'f'] => 16,
        [b'a', b'c', b't'] => 17,
        [b't', b'i', b'd'] => 18,
        [b'u', b's', b'e', b'r', b'n', b'a', b'm', b'e'] => 19,
        [b'u', b'i', b'd'] => 20,
        [b'a', b'u', b't', b'h', b'_', b't', b'i', b'm', b'e'] => 21,
        [b'a', b'm', b'r'] => 22,
        [b's', b'i', b'd'] => 23,
        [b'r', b'o', b'l', b'e', b's'] => 24,
        [b'p', b'e', b'r', b'm', b'i', b's', b's', b'i', b'o', b'n', b's'] => 25,
        [b'a', b'c', b'r'] => 26,
        [b'j', b't', b'i'] => 27,
        [b'g', b't', b'y'] => 28,
        [b'a', b'p', b'p', b'i', b'd'] => 29,
        [b's', b'u', b'b', b'_', b'p', b'r', b'o', b'f', b'i', b'l', b'e'] => 30,
        [b'i', b'd', b't', b'y', b'p'] => 31,
        [b'o', b'i', b'd'] => 32,
        [b'p', b'r', b'e', b'f', b'e', b'r', b'r', b'e', b'd', b'_', b'u', b's', b'e', b'r', b'n', b'a', b'm', b'e'] => {
            33
        }
        _ => return None,
    })
}

/// [`known`] for a name read from a token (one copy of the decision tree, not one per
/// caller).
#[inline(never)]
fn known_out_of_line(name: &str) -> Option<usize> {
    known(name)
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
#[derive(Debug)]
pub(super) struct Index {
    pub(super) members: Vec<Member>,
    slots: Slots,
    /// The [`KNOWN`] claims' positions + 1 (0: absent).
    known: [u32; KNOWN.len()],
    pub(super) shape: Shape,
}

/// The hash table: in place for up to 16 members (a typical token's), else on the heap.
#[derive(Debug)]
enum Slots {
    Inline([u32; INLINE_SLOTS]),
    Heap(Vec<u32>),
}

const INLINE_SLOTS: usize = 32;

impl Default for Index {
    fn default() -> Self {
        Self {
            members: Vec::new(),
            slots: Slots::default(),
            known: [0; KNOWN.len()],
            shape: Shape::default(),
        }
    }
}

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
    #[inline(always)]
    pub(super) fn get(&self, json: &str, name: &str) -> Option<&Member> {
        if let Some(k) = known(name) {
            let position = usize::try_from(*self.known.get(k)?).ok()?;
            return self.members.get(position.checked_sub(1)?);
        }
        self.get_hashed(json, name)
    }

    /// [`get`](Self::get) for a name that is not one of [`KNOWN`].
    fn get_hashed(&self, json: &str, name: &str) -> Option<&Member> {
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
            if member.hash == Some(h) && member.key(json) == name {
                return Some(member);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds a [`KNOWN`] member (`k` is its slot); `Err` when its key is already there.
    fn insert_known(&mut self, k: usize, member: Member) -> Result<(), Invalid> {
        let position = u32::try_from(self.members.len() + 1).map_err(|_| Invalid)?;
        let slot = self.known.get_mut(k).ok_or(Invalid)?;
        if *slot != 0 {
            return Err(Invalid);
        }
        *slot = position;
        self.members.push(member);
        Ok(())
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
        let mut at = (member.hash.unwrap_or_default() as usize) & mask;
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
            // The known claims have slots of their own.
            let Some(h) = member.hash else { continue };
            #[allow(clippy::cast_possible_truncation)]
            let mut at = (h as usize) & mask;
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
    let shape = json::object(json, |key, key_start, value, scalar| {
        // Decided on the decoded key: `"\u0073ub"` is `sub`'s slot too.
        let slot = known_out_of_line(&key);
        let hash = if slot.is_some() {
            None
        } else {
            Some(hash(&key))
        };
        let key = match key {
            Cow::Borrowed(k) => MemberKey::At(key_start..key_start + k.len()),
            Cow::Owned(k) => MemberKey::Owned(k.into_boxed_str()),
        };
        let member = Member {
            key,
            value,
            scalar,
            hash,
        };
        match slot {
            Some(k) => index.insert_known(k, member),
            None => index.insert(json, member),
        }
    })?;
    index.shape = shape;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::{known, known_out_of_line, KNOWN};

    /// Each known claim has its own slot, found for its exact name only: not for a prefix,
    /// an extension, the name with NUL bytes after it (same eight-byte word, other length),
    /// another case, or one byte changed.
    #[test]
    fn every_known_name_has_its_own_slot_and_nothing_else_does() {
        for (slot, name) in KNOWN.iter().enumerate() {
            assert_eq!(known(name), Some(slot), "{name}");
            assert_eq!(known_out_of_line(name), Some(slot), "{name}");
            let mut near: Vec<String> = vec![
                format!("{name}\0"),
                format!("{name}\0\0"),
                format!("{name}x"),
                name.to_uppercase(),
            ];
            if let Some((last, _)) = name.char_indices().last() {
                near.push(name[..last].to_owned());
            }
            for at in 0..name.len() {
                let mut bytes = name.as_bytes().to_vec();
                bytes[at] ^= 0x20;
                near.extend(String::from_utf8(bytes).ok());
            }
            for other in near {
                let expected = KNOWN.iter().position(|k| *k == other);
                assert_eq!(known_out_of_line(&other), expected, "{other:?}");
            }
        }
        assert_eq!(known_out_of_line(""), None);
        assert_eq!(known_out_of_line("\0\0\0"), None);
    }
}
