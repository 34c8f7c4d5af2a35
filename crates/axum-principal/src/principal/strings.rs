//! The issuer, the subject, the client id, roles and scopes as spans of the claims' JSON
//! text, which the principal keeps anyway: nothing is copied per string. A string with
//! escapes (rare), and the issuer's URL when `iss` is not it as is, are kept decoded in one
//! side buffer.
//!
//! Spans are `u32` pairs and roles and scopes share one list, so that the principal's one
//! allocation stays small and a token's dozen strings cost no allocation of their own.

use std::borrow::Cow;
use std::fmt;

use crate::rejection::InvalidToken;
use crate::verify::quote_or_backslash;

/// One string read from claims: a span of the claims' JSON text, or of the decoded
/// strings ([`Strings::decoded`]). `Copy`, so a list of them has nothing to drop.
#[derive(Clone, Copy, Default)]
pub(super) struct Item {
    start: u32,
    end: u32,
    decoded: bool,
}

/// The texts items point into: the claims' JSON text and the decoded strings.
#[derive(Clone, Copy)]
pub(super) struct Texts<'a> {
    pub(super) json: &'a str,
    pub(super) decoded: &'a str,
}

impl Item {
    /// The span `start..end` of the JSON text (`decoded`: of the decoded strings).
    #[inline]
    fn span(start: usize, end: usize, decoded: bool) -> Result<Self, InvalidToken> {
        // As in `fits`.
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Ok(Item {
                start,
                end,
                decoded,
            }),
            _ => Err(InvalidToken::InvalidClaim),
        }
    }

    /// The span `start..end` of the JSON text, for readers that checked with [`fits`] that
    /// the text they read ends below 4 GiB (so neither cast truncates).
    #[inline]
    fn at(start: usize, end: usize) -> Self {
        Item {
            start: start as u32,
            end: end as u32,
            decoded: false,
        }
    }

    /// The string.
    pub(super) fn get(self, texts: Texts<'_>) -> &str {
        let text = if self.decoded {
            texts.decoded
        } else {
            texts.json
        };
        let (start, end) = (self.start as usize, self.end as usize);
        text.get(start..end).unwrap_or_default()
    }
}

/// How many roles and scopes [`Strings`] keeps in place.
const INLINE: usize = 16;

/// The roles then the scopes of a principal, in one list (the first [`INLINE`] in place,
/// all of them on the heap once there are more), and the decoded strings.
#[derive(Default)]
pub(super) struct Strings {
    inline: [Item; INLINE],
    /// Holds the whole list once it is longer than [`INLINE`].
    heap: Vec<Item>,
    len: usize,
    /// How many of the list are roles (the rest are scopes).
    roles: usize,
    /// Strings that had escapes in the JSON text, decoded, and the issuer's URL when the
    /// claims do not hold it as is: empty (no allocation) for most tokens.
    decoded: String,
}

/// Where a list stood, to go back to when a fast reader gives up.
#[derive(Clone, Copy)]
struct Mark {
    len: usize,
    decoded: usize,
}

impl Strings {
    /// The texts the items point into, `json` being the claims' JSON text.
    pub(super) fn texts<'a>(&'a self, json: &'a str) -> Texts<'a> {
        Texts {
            json,
            decoded: &self.decoded,
        }
    }

    /// `s`, read from `json`: a span of it when it is a slice of it, else decoded.
    pub(super) fn item(&mut self, json: &str, s: Cow<'_, str>) -> Result<Item, InvalidToken> {
        if let Cow::Borrowed(s) = s {
            if let Some(start) = offset_in(json, s) {
                return Item::span(start, start + s.len(), false);
            }
        }
        let start = self.decoded.len();
        self.decoded.push_str(&s);
        Item::span(start, self.decoded.len(), true)
    }

    /// Adds `item` to the list.
    #[inline]
    fn push(&mut self, item: Item) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = item,
            None => self.spill(item),
        }
        self.len += 1;
    }

    /// Adds `item` past the ones kept in place.
    #[cold]
    fn spill(&mut self, item: Item) {
        if self.heap.len() != self.len {
            // Spilling (or spilling again after a fast reader gave up).
            self.heap.clear();
            self.heap.reserve(2 * INLINE);
            self.heap.extend_from_slice(&self.inline);
        }
        self.heap.push(item);
    }

    /// Adds `s`, read from `json`.
    pub(super) fn push_str(&mut self, json: &str, s: Cow<'_, str>) -> Result<(), InvalidToken> {
        let item = self.item(json, s)?;
        self.push(item);
        Ok(())
    }

    /// The items read so far are the roles; the next are the scopes.
    pub(super) fn end_roles(&mut self) {
        self.roles = self.len;
    }

    fn mark(&self) -> Mark {
        Mark {
            len: self.len,
            decoded: self.decoded.len(),
        }
    }

    fn reset(&mut self, mark: Mark) {
        self.len = mark.len;
        self.heap.truncate(mark.len);
        self.decoded.truncate(mark.decoded);
    }

    fn list(&self) -> &[Item] {
        if self.len <= INLINE {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.heap
        }
    }

    /// The roles, `json` being the claims' JSON text.
    pub(super) fn roles<'a>(&'a self, json: &'a str) -> ClaimStrings<'a> {
        let list = self.list();
        ClaimStrings {
            items: list.get(..self.roles).unwrap_or_default().iter(),
            texts: self.texts(json),
        }
    }

    /// The scopes, `json` being the claims' JSON text.
    pub(super) fn scopes<'a>(&'a self, json: &'a str) -> ClaimStrings<'a> {
        let list = self.list();
        ClaimStrings {
            items: list.get(self.roles..).unwrap_or_default().iter(),
            texts: self.texts(json),
        }
    }

    /// Adds the space-separated words of `s`, read from `json`: in place when `s` is an
    /// ASCII slice of `json` (no control characters either: they would be escaped, so its
    /// only whitespace is the space), else split at Unicode whitespace.
    pub(super) fn push_words(&mut self, json: &str, s: Cow<'_, str>) -> Result<(), InvalidToken> {
        match s {
            Cow::Borrowed(s) => {
                if let Some(offset) = offset_in(json, s) {
                    let mark = self.mark();
                    if self.push_ascii_words(offset, s.as_bytes())? {
                        return Ok(());
                    }
                    self.reset(mark);
                }
                s.split_whitespace()
                    .try_for_each(|word| self.push_str(json, Cow::Borrowed(word)))
            }
            Cow::Owned(s) => s
                .split_whitespace()
                .try_for_each(|word| self.push_str(json, Cow::Owned(word.to_owned()))),
        }
    }

    /// Adds the runs of `bytes` (at `offset` of the JSON text) between spaces, eight bytes
    /// at a time (a byte loop, or `split(' ')` with its memchr per item, costs several
    /// times more); `false` when `bytes` are not all ASCII (the caller then drops what was
    /// added).
    fn push_ascii_words(&mut self, offset: usize, bytes: &[u8]) -> Result<bool, InvalidToken> {
        fits(offset + bytes.len())?;
        let (mut start, mut base, mut high) = (0, 0, 0);
        // The padding of the last word is zero bytes: no spaces.
        for word in words(bytes) {
            high |= word;
            let mut flags = equal(word, b' ');
            while flags != 0 {
                let at = base + (flags.trailing_zeros() / 8) as usize;
                if at > start {
                    self.push(Item::at(offset + start, offset + at));
                }
                start = at + 1;
                flags &= flags - 1;
            }
            base += 8;
        }
        if start < bytes.len() {
            self.push(Item::at(offset + start, offset + bytes.len()));
        }
        Ok(high & 0x8080_8080_8080_8080 == 0)
    }

    /// Adds the items of `text`, a JSON array at `offset` of the JSON text (so valid JSON),
    /// when every item is a string without escapes: each is then the text between its
    /// quotes. `false`, with nothing added, for any other array (escapes, items of another
    /// type), which the general reader then reads or refuses.
    pub(super) fn push_plain_strings(
        &mut self,
        offset: usize,
        text: &str,
    ) -> Result<bool, InvalidToken> {
        let bytes = text.as_bytes();
        fits(offset + bytes.len())?;
        let mark = self.mark();
        let mut at = skip_ws(bytes, 0);
        if bytes.get(at) != Some(&b'[') {
            return Ok(false);
        }
        at = skip_ws(bytes, at + 1);
        if bytes.get(at) == Some(&b']') {
            return Ok(true);
        }
        while bytes.get(at) == Some(&b'"') {
            let start = at + 1;
            let Some(end) = quote_or_backslash(bytes, start) else {
                break;
            };
            if bytes.get(end) != Some(&b'"') {
                break;
            }
            self.push(Item::at(offset + start, offset + end));
            at = skip_ws(bytes, end + 1);
            match bytes.get(at) {
                Some(b',') => at = skip_ws(bytes, at + 1),
                Some(b']') => return Ok(true),
                _ => break,
            }
        }
        self.reset(mark);
        Ok(false)
    }
}

/// `bytes` as little-endian words, eight bytes each, the last padded with zero bytes.
fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let chunks = bytes.chunks_exact(8);
    let mut tail = [0u8; 8];
    tail.iter_mut()
        .zip(chunks.remainder())
        .for_each(|(slot, byte)| *slot = *byte);
    chunks
        .map(|chunk| <[u8; 8]>::try_from(chunk).unwrap_or_default())
        .chain([tail])
        .map(u64::from_le_bytes)
}

/// `Ok` when a text ending at `end` has spans [`Item::at`] can hold. Claims are bounded by
/// `max_token_bytes`: a text past 4 GiB never gets here.
fn fits(end: usize) -> Result<(), InvalidToken> {
    u32::try_from(end)
        .map(|_| ())
        .map_err(|_| InvalidToken::InvalidClaim)
}

/// Where `s` starts in `json`, when it is a slice of it.
pub(super) fn offset_in(json: &str, s: &str) -> Option<usize> {
    let start = (s.as_ptr() as usize).wrapping_sub(json.as_ptr() as usize);
    (start <= json.len() && s.len() <= json.len() - start).then_some(start)
}

/// The first position from `at` in `bytes` that is not JSON whitespace.
fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The high bit of each byte of `word` (little-endian) that is `byte`, exactly: no carry
/// crosses from one byte into the next.
fn equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The roles or the scopes of a [`Principal`](super::Principal), in token order:
/// `principal.roles()` iterates over `&str`, borrowed from the token's claims.
#[derive(Clone)]
pub struct ClaimStrings<'a> {
    items: std::slice::Iter<'a, Item>,
    texts: Texts<'a>,
}

impl<'a> Iterator for ClaimStrings<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        Some(self.items.next()?.get(self.texts))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_flags_exactly_the_bytes_asked_for() {
        let word = *b"a b!  ~\x00";
        let flags = equal(u64::from_le_bytes(word), b' ');
        let at: Vec<u32> = (0..8).filter(|i| flags >> (i * 8 + 7) & 1 == 1).collect();
        assert_eq!(at, [1, 4, 5]);
        assert_eq!(flags & !0x8080_8080_8080_8080, 0);
    }

    #[test]
    fn words_are_split_as_split_whitespace_splits_them() {
        // Every length around the eight-byte words, spaces at every place.
        let mut texts = Vec::new();
        for len in 0..20 {
            for space in 0..len {
                let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                if let Some(b) = s.get_mut(space) {
                    *b = b' ';
                }
                if let Some(b) = s.get_mut((space * 7) % len.max(1)) {
                    *b = b' ';
                }
                texts.push(String::from_utf8(s).expect("ASCII"));
            }
        }
        texts.push("  openid profile email read:orders  write:orders offline_access ".into());
        for text in texts {
            let mut strings = Strings::default();
            strings
                .push_words(&text, Cow::Borrowed(&text))
                .expect("short text");
            strings.end_roles();
            let got: Vec<&str> = strings.roles(&text).collect();
            let expected: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn plain_string_arrays_are_read_in_place_and_others_left_to_the_general_reader() {
        let read = |text: &str| {
            let mut strings = Strings::default();
            let whole = strings.push_plain_strings(0, text).expect("short text");
            strings.end_roles();
            let items: Vec<String> = strings.roles(text).map(str::to_owned).collect();
            (whole, items, strings.decoded.len())
        };
        assert_eq!(read(r#"[]"#), (true, vec![], 0));
        assert_eq!(read(" [ ] "), (true, vec![], 0));
        assert_eq!(read(r#"["a"]"#), (true, vec!["a".into()], 0));
        assert_eq!(
            read("[ \"a\" ,\n\t\"\" , \"é c\"\r]"),
            (true, vec!["a".into(), "".into(), "é c".into()], 0)
        );
        assert_eq!(
            read(r#"["a,b", "[c]" ,"dé]", "a long role name past eight bytes"]"#),
            (
                true,
                vec![
                    "a,b".into(),
                    "[c]".into(),
                    "dé]".into(),
                    "a long role name past eight bytes".into()
                ],
                0
            )
        );
        for other in [
            r#"["a","b\"c"]"#,
            r#"["a",1]"#,
            r#"[1,"a"]"#,
            r#"["a",null,"b"]"#,
            r#"["a",["b"]]"#,
            r#"[["a"]]"#,
            r#"[{"a":"b"}]"#,
            "{}",
            "\"a\"",
            "[1]",
        ] {
            assert_eq!(read(other), (false, vec![], 0), "{other}");
        }
    }
}
