//! JSON decoding that refuses duplicate members at any depth, without building values.
//!
//! A token part is read once into an index of its top-level members (key and the span of
//! the value's text); nested objects and arrays are walked by a streaming visitor that keeps
//! only the keys of the objects it is inside (borrowed from the input unless escaped), so
//! `{"ext":{"roles":["user"],"roles":["admin"]}}` and `{"\u0072oles":1,"roles":2}` are
//! refused rather than read as whichever member a parser happens to keep (RFC 7515 §5.2,
//! RFC 8725 §3.11). serde_json's recursion limit still bounds the depth. The same walk counts
//! what the decoded `serde_json::Value` would hold ([`Shape`]), for the token cache's weight.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a decoded `serde_json::Value` of the document would hold: values (every scalar,
/// array and object), object members, and the bytes of keys and strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) values: usize,
    pub(crate) members: usize,
    pub(crate) bytes: usize,
}

/// A top-level member: its key and the span of its value's JSON text.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) key: MemberKey,
    pub(super) value: Range<usize>,
}

/// A key as a span of the input, or decoded when it had escapes.
#[derive(Debug)]
pub(super) enum MemberKey {
    At(Range<usize>),
    Owned(Box<str>),
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

/// The keys of one object seen so far: a short list, a hash set once the object is large
/// (so a hostile object of thousands of members costs linear time, not quadratic).
#[derive(Default)]
struct Seen<'de> {
    small: Vec<Cow<'de, str>>,
    large: Option<HashSet<Cow<'de, str>>>,
}

const SMALL: usize = 16;

impl<'de> Seen<'de> {
    /// `false` when `key` was seen before.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key);
        }
        if self.small.contains(&key) {
            return false;
        }
        if self.small.len() < SMALL {
            self.small.push(key);
        } else {
            let mut set: HashSet<Cow<'de, str>> = self.small.drain(..).collect();
            set.insert(key);
            self.large = Some(set);
        }
        true
    }
}

fn duplicate<E: de::Error>() -> E {
    E::custom("duplicate member")
}

/// Indexes a JSON object's top-level members; `Err` for anything that is not one object
/// without duplicate members at any depth.
pub(super) fn index(json: &str) -> Result<(Vec<Member>, Shape), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let mut shape = Shape {
        values: 1,
        ..Shape::default()
    };
    let members = de.deserialize_map(TopVisitor {
        base: json.as_ptr() as usize,
        shape: &mut shape,
    })?;
    de.end()?;
    Ok((members, shape))
}

/// The offset of `part` (a slice of the input) in the input.
fn span(base: usize, part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(base);
    start..start + part.len()
}

struct TopVisitor<'s> {
    base: usize,
    shape: &'s mut Shape,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Vec<Member>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object without duplicate members")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Member>, A::Error> {
        let mut members = Vec::with_capacity(16);
        let mut seen = Seen::default();
        while let Some(Text(key)) = map.next_key()? {
            let raw: &'de RawValue = map.next_value()?;
            let text = raw.get();
            self.shape.members += 1;
            self.shape.bytes += key.len();
            if text.starts_with('"') && !text.contains('\\') {
                // A string without escapes is valid as skipped; anything else (numbers out
                // of range, escapes such as lone surrogates, nested values) is decoded once
                // here, so what is indexed always decodes later.
                self.shape.values += 1;
                self.shape.bytes += text.len().saturating_sub(2);
            } else {
                check_nested(text, self.shape).map_err(de::Error::custom)?;
            }
            let key = match key {
                Cow::Borrowed(k) => {
                    let at = span(self.base, k);
                    if !seen.insert(Cow::Borrowed(k)) {
                        return Err(duplicate());
                    }
                    MemberKey::At(at)
                }
                Cow::Owned(k) => {
                    if !seen.insert(Cow::Owned(k.clone())) {
                        return Err(duplicate());
                    }
                    MemberKey::Owned(k.into_boxed_str())
                }
            };
            members.push(Member {
                key,
                value: span(self.base, text),
            });
        }
        Ok(members)
    }
}

/// Decodes a value without keeping it: no member repeated in any object, at any depth.
fn check_nested(json: &str, shape: &mut Shape) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    Unique(shape).deserialize(&mut de)
}

struct Unique<'s>(&'s mut Shape);

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate members")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.values += 1;
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.values += 1;
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.values += 1;
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.values += 1;
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.values += 1;
        self.0.bytes += v.len();
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.values += 1;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.values += 1;
        while seq.next_element_seed(Unique(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.values += 1;
        let mut seen = Seen::default();
        while let Some(Text(key)) = map.next_key()? {
            self.0.members += 1;
            self.0.bytes += key.len();
            if !seen.insert(key) {
                return Err(duplicate());
            }
            map.next_value_seed(Unique(&mut *self.0))?;
        }
        Ok(())
    }
}
