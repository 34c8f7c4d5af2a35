//! The subject, the client id, roles and scopes as spans of the claims' JSON text, which
//! the principal keeps anyway: nothing is copied per string (one with escapes, rare, is
//! kept decoded).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// A list of strings read from claims: the first [`INLINE`] in place (a token's handful of
/// roles or scopes costs no allocation of its own), the rest on the heap.
#[derive(Default)]
pub(super) struct Items {
    inline: [Item; INLINE],
    len: usize,
    more: Vec<Item>,
}

/// How many items [`Items`] keeps in place.
const INLINE: usize = 8;

/// One string read from claims.
#[derive(Clone)]
pub(super) enum Item {
    /// A span of the claims' JSON text.
    At(Range<usize>),
    /// Decoded (it had escapes in the JSON text).
    Owned(Box<str>),
}

impl Default for Item {
    fn default() -> Self {
        Item::At(0..0)
    }
}

impl Item {
    /// `item`, read from `json`: a span when it is a slice of `json`.
    pub(super) fn new(json: &str, item: Cow<'_, str>) -> Self {
        let base = json.as_ptr() as usize;
        let start = (item.as_ptr() as usize).wrapping_sub(base);
        match item {
            Cow::Borrowed(s) if start <= json.len() && s.len() <= json.len() - start => {
                Item::At(start..start + s.len())
            }
            other => Item::Owned(other.into_owned().into_boxed_str()),
        }
    }

    /// The string, `json` being the text it was read from.
    pub(super) fn get<'a>(&'a self, json: &'a str) -> &'a str {
        match self {
            Item::At(at) => json.get(at.clone()).unwrap_or_default(),
            Item::Owned(s) => s,
        }
    }
}

impl Items {
    /// Adds `item`, read from `json`.
    pub(super) fn push(&mut self, json: &str, item: Cow<'_, str>) {
        let item = Item::new(json, item);
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = item,
            None => self.more.push(item),
        }
        self.len += 1;
    }

    /// The strings, `json` being the text they were read from.
    pub(super) fn iter<'a>(&'a self, json: &'a str) -> ClaimStrings<'a> {
        let inline = self.inline.get(..self.len.min(INLINE)).unwrap_or_default();
        ClaimStrings {
            items: inline.iter().chain(self.more.iter()),
            json,
        }
    }
}

/// The roles or the scopes of a [`Principal`](super::Principal), in token order:
/// `principal.roles()` iterates over `&str`, borrowed from the token's claims.
#[derive(Clone)]
pub struct ClaimStrings<'a> {
    items: std::iter::Chain<std::slice::Iter<'a, Item>, std::slice::Iter<'a, Item>>,
    json: &'a str,
}

impl<'a> Iterator for ClaimStrings<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        Some(self.items.next()?.get(self.json))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for ClaimStrings<'_> {}

impl fmt::Debug for ClaimStrings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl serde::Serialize for ClaimStrings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.clone())
    }
}
