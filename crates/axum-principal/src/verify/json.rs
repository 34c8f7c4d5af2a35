//! JSON decoding that refuses duplicate members at any depth, in one pass, without building
//! values.
//!
//! A token part is scanned once, byte by byte (RFC 8259's grammar, strictly: no comments,
//! no trailing commas, no `NaN`, no raw control characters in strings, nothing after the
//! object): its top-level members are handed to the caller (the claims' [`Index`](super::index::Index), the
//! header's few fields), and every nested object keeps the keys it has seen, so `{"ext":{"roles":["user"],"roles":["admin"]}}` and
//! `{"\u0072oles":1,"roles":2}` are refused rather than read as whichever member a parser
//! happens to keep (RFC 7515 §5.2, RFC 8725 §3.11); the top level's duplicates are refused by
//! the caller. The rare parts are left to serde_json, so they are decided exactly
//! as it decides them: strings with escapes (lone surrogates, bad escapes), and numbers that
//! are not short integers (`1e400` is out of range). Nesting is bounded by [`MAX_DEPTH`].
//! The same pass counts what the decoded `serde_json::Value` would hold ([`Shape`]), for
//! the token cache's weight.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

/// What a decoded `serde_json::Value` of the document would hold: values (every scalar,
/// array and object), object members, and the bytes of keys and strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) values: usize,
    pub(crate) members: usize,
    pub(crate) bytes: usize,
}

/// Objects and arrays nested deeper than this are refused, the top level counted, so a
/// hostile token cannot exhaust the stack. serde_json's own limit (it refuses a 128th
/// level): what is indexed must decode, or `Principal::claims()` would come back empty.
pub(super) const MAX_DEPTH: usize = 127;

/// Not one JSON object without duplicate members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Invalid;

/// Walks the members of one JSON object, the whole of `json` (whitespace aside), checking
/// every value (nested duplicates refused, nesting bounded): `f` gets each key (decoded)
/// with the offset of its text, the span of its value's text, and what the scan learnt of
/// that value ([`Scalar`]). The duplicate check of the top level is `f`'s. Returns what the decoded `Value` would hold.
pub(super) fn object<'a>(
    json: &'a str,
    mut f: impl FnMut(Cow<'a, str>, usize, Range<usize>, Scalar) -> Result<(), Invalid>,
) -> Result<Shape, Invalid> {
    let mut s = Scanner::new(json);
    s.skip_ws();
    if s.peek() != Some(b'{') {
        return Err(Invalid);
    }
    s.shape.values += 1;
    s.members(1, &mut f)?;
    s.skip_ws();
    if s.pos != json.len() {
        return Err(Invalid);
    }
    Ok(s.shape)
}

/// Calls `f` with each item of `json`, an array (already checked, by [`object`]) that must
/// hold only strings; `Err` at the first item that is not a string, or if `json` is not an
/// array. Items without escapes are borrowed from `json`.
pub(super) fn each_string<'a>(
    json: &'a str,
    mut f: impl FnMut(Cow<'a, str>),
) -> Result<(), Invalid> {
    let mut s = Scanner::new(json);
    s.skip_ws();
    s.expect(b'[')?;
    s.skip_ws();
    if s.peek() == Some(b']') {
        return Ok(());
    }
    loop {
        s.skip_ws();
        f(s.checked_string()?);
        s.skip_ws();
        if !s.list_continues(b']')? {
            return Ok(());
        }
    }
}

/// The end of the string whose text starts at `at` (after its opening quote) in valid JSON:
/// the first quote or backslash, eight bytes at a time (no control byte can be there). Also
/// the principal's reader of plain string arrays.
pub(crate) fn quote_or_backslash(bytes: &[u8], mut at: usize) -> Option<usize> {
    let mut words = bytes.get(at..)?.chunks_exact(8);
    for chunk in words.by_ref() {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        let flags =
            below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1);
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = words.remainder();
    Some(at + tail.iter().position(|b| *b == b'"' || *b == b'\\')?)
}

/// Checks that `json` is one JSON value of any type without duplicate members, as
/// [`object`] checks a member's value (for the tests that compare it with serde_json).
#[cfg(test)]
pub(super) fn check(json: &str) -> Result<(), Invalid> {
    let mut s = Scanner::new(json);
    s.skip_ws();
    s.value(0)?;
    s.skip_ws();
    if s.pos == json.len() {
        Ok(())
    } else {
        Err(Invalid)
    }
}

/// What the scan learnt of a value on its way, so that reading it again costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    /// A string without escapes: its text between the quotes is the string.
    PlainString,
    /// A non-negative integer of at most 18 digits (a date), with its value.
    Integer(u64),
    /// Anything else: read from its text when asked for.
    Other,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` below `n` (`n` ≤ 128), little-endian: no byte below
/// `n` is missed, and the lowest flag is always right (a wrong one can only follow a right
/// one).
fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
}

/// Flags for the bytes of `word` that are a quote, a backslash or a control character.
pub(super) fn special(word: u64) -> u64 {
    below(word ^ (ONES * u64::from(b'"')), 1)
        | below(word ^ (ONES * u64::from(b'\\')), 1)
        | below(word, 0x20)
}

/// Whether `bytes` hold a quote, a backslash or a control character, eight bytes at a time
/// (in a string read from valid JSON, only a backslash can be there: an escape).
pub(super) fn has_special(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let any_word = words.by_ref().any(|chunk| {
        <[u8; 8]>::try_from(chunk).is_ok_and(|word| special(u64::from_le_bytes(word)) != 0)
    });
    any_word
        || words
            .remainder()
            .iter()
            .any(|b| *b == b'"' || *b == b'\\' || *b < 0x20)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    shape: Shape,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            shape: Shape::default(),
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Result<(), Invalid> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// After an item of an object or array: `true` on `,`, `false` on `close`.
    #[inline(always)]
    fn list_continues(&mut self, close: u8) -> Result<bool, Invalid> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Invalid),
        }
    }

    /// A string (at its opening quote), borrowed from the input unless it has escapes.
    /// Inlined into its callers (most of a token's bytes are strings: the call would cost
    /// more than a short one's scan).
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, Invalid> {
        self.expect(b'"')?;
        let start = self.pos;
        // Eight bytes at a time: straight to the first byte that ends the string or needs a
        // look (the lowest flagged byte is always a true one: a false flag only follows a
        // true one, borrows running towards the higher bytes).
        while let Some(word) = self
            .bytes
            .get(self.pos..self.pos + 8)
            .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
        {
            let flags = special(u64::from_le_bytes(word));
            if flags != 0 {
                self.pos += (flags.trailing_zeros() / 8) as usize;
                break;
            }
            self.pos += 8;
        }
        loop {
            match *self.bytes.get(self.pos).ok_or(Invalid)? {
                b'"' => {
                    let s = self.text.get(start..self.pos).ok_or(Invalid)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => return self.escaped(start),
                0..=0x1f => return Err(Invalid),
                _ => self.pos += 1,
            }
        }
    }

    /// A string of text already checked to be valid JSON (at its opening quote): its end
    /// found by quotes and backslashes alone.
    #[inline(always)]
    fn checked_string(&mut self) -> Result<Cow<'a, str>, Invalid> {
        self.expect(b'"')?;
        let start = self.pos;
        self.pos = quote_or_backslash(self.bytes, start).ok_or(Invalid)?;
        match self.peek() {
            Some(b'"') => {
                let s = self.text.get(start..self.pos).ok_or(Invalid)?;
                self.pos += 1;
                Ok(Cow::Borrowed(s))
            }
            _ => self.escaped(start),
        }
    }

    /// The rest of a string with escapes: its end found here, its escapes decoded (and
    /// judged: lone surrogates, unknown escapes) by serde_json.
    fn escaped(&mut self, start: usize) -> Result<Cow<'a, str>, Invalid> {
        loop {
            match *self.bytes.get(self.pos).ok_or(Invalid)? {
                b'\\' => self.pos += 2,
                b'"' => break,
                0..=0x1f => return Err(Invalid),
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        let quoted = self.text.get(start - 1..self.pos).ok_or(Invalid)?;
        let decoded: Text<'_> = serde_json::from_str(quoted).map_err(|_| Invalid)?;
        Ok(Cow::Owned(decoded.0.into_owned()))
    }

    /// Any value, at `depth` (the objects and arrays it is inside), and what was learnt of
    /// it on the way.
    fn value(&mut self, depth: usize) -> Result<Scalar, Invalid> {
        self.shape.values += 1;
        match self.peek().ok_or(Invalid)? {
            b'"' => {
                let s = self.string()?;
                self.shape.bytes += s.len();
                return Ok(match s {
                    Cow::Borrowed(_) => Scalar::PlainString,
                    Cow::Owned(_) => Scalar::Other,
                });
            }
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => return self.number(),
            _ => Err(Invalid),
        }?;
        Ok(Scalar::Other)
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Invalid> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`. An integer of up to
    /// 18 characters fits an `i64`; anything else is judged by serde_json (`1e400` is
    /// refused as out of range, `10^30` read as a float), as before.
    fn number(&mut self) -> Result<Scalar, Invalid> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // The integer part's value, summed on the way (wrapping: only kept when short).
        let mut value: u64 = 0;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
                    self.pos += 1;
                }
            }
            _ => return Err(Invalid),
        }
        let mut short_integer = self.pos - start <= 18;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Invalid);
            }
            short_integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Invalid);
            }
            short_integer = false;
        }
        if !short_integer {
            let text = self.text.get(start..self.pos).ok_or(Invalid)?;
            serde_json::from_str::<serde_json::Number>(text).map_err(|_| Invalid)?;
            return Ok(Scalar::Other);
        }
        // A negative one is left to serde_json when read (it reads `-0` as a float).
        Ok(if negative {
            Scalar::Other
        } else {
            Scalar::Integer(value)
        })
    }

    /// At an object's or array's opening byte: past it and any whitespace; `false` when
    /// `close` follows at once (empty, and consumed).
    fn open(&mut self, depth: usize, close: u8) -> Result<bool, Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid);
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    fn array(&mut self, depth: usize) -> Result<(), Invalid> {
        if !self.open(depth, b']')? {
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value(depth)?;
            self.skip_ws();
            if !self.list_continues(b']')? {
                return Ok(());
            }
        }
    }

    /// A nested object: no key repeated.
    fn object(&mut self, depth: usize) -> Result<(), Invalid> {
        let mut seen = Seen::default();
        self.members(depth, &mut |key, _, _, _| {
            if seen.insert(key) {
                Ok(())
            } else {
                Err(Invalid)
            }
        })
    }

    /// At an object's `{`: each member handed to `f` (its key, where the key's text starts,
    /// the span of its value's text, whether the value is a string without escapes) once its
    /// value is checked.
    fn members<F>(&mut self, depth: usize, f: &mut F) -> Result<(), Invalid>
    where
        F: FnMut(Cow<'a, str>, usize, Range<usize>, Scalar) -> Result<(), Invalid>,
    {
        if !self.open(depth, b'}')? {
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key_start = self.pos + 1;
            let key = self.string()?;
            self.shape.members += 1;
            self.shape.bytes += key.len();
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value_start = self.pos;
            let scalar = self.value(depth)?;
            f(key, key_start, value_start..self.pos, scalar)?;
            self.skip_ws();
            if !self.list_continues(b'}')? {
                return Ok(());
            }
        }
    }
}

/// The keys of one nested object seen so far: a short list on the stack, a hash set once
/// the object is large (so a hostile object of thousands of members costs linear time, not
/// quadratic).
#[derive(Default)]
pub(super) struct Seen<'de> {
    small: [Option<Cow<'de, str>>; SMALL],
    len: usize,
    large: Option<HashSet<Cow<'de, str>>>,
}

const SMALL: usize = 16;

impl<'de> Seen<'de> {
    /// `false` when `key` was seen before.
    pub(super) fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key);
        }
        let seen = self.small.get(..self.len).unwrap_or_default();
        if seen.iter().flatten().any(|k| *k == key) {
            return false;
        }
        if let Some(free) = self.small.get_mut(self.len) {
            *free = Some(key);
            self.len += 1;
        } else {
            let mut set: HashSet<Cow<'de, str>> =
                self.small.iter_mut().filter_map(Option::take).collect();
            set.insert(key);
            self.large = Some(set);
        }
        true
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
pub(super) struct Text<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}
