//! Claims as decoded once: the payload's JSON text and an index of its top-level members.
//! The checks, the classification and the principal read the few claims they need straight
//! from that text ([`ClaimRead`]); the full `serde_json::Map` is built only when someone
//! asks for it ([`RawClaims::map`], behind [`Principal::claims`](crate::Principal::claims)).

use std::borrow::Cow;
use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use super::index::{self, Index, Member};
use super::json::{self, Scalar, Shape, Text};

/// A decoded JSON object (header or claims), checked for duplicate members at every depth.
pub(crate) struct RawClaims {
    json: String,
    index: Index,
    map: OnceLock<Map<String, Value>>,
}

/// One claim's value, read on demand: scalars decoded, arrays and objects left as JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Claim<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    Number(Number),
    Null,
    Array(Json<'a>),
    Object(Json<'a>),
}

/// An array or object: JSON text of a [`RawClaims`], or a `Value` of a `Map`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Json<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// Reading claims by name, from a [`RawClaims`] or from a `serde_json::Map`.
pub(crate) trait ClaimRead {
    /// The claim `name`, `None` when absent.
    fn claim(&self, name: &str) -> Option<Claim<'_>>;

    /// All claims as a `serde_json::Map` (for custom classification rules).
    fn map(&self) -> &Map<String, Value>;

    /// Whether the claim is present, whatever its type.
    #[inline(always)]
    fn has(&self, name: &str) -> bool {
        self.claim(name).is_some()
    }

    /// The claim when it is a string.
    #[inline(always)]
    fn str(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.claim(name)? {
            Claim::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl RawClaims {
    /// Indexes `json`: `None` unless it is one JSON object without duplicate members.
    pub(crate) fn parse(json: String) -> Option<Self> {
        let index = index::index(&json).ok()?;
        Some(Self {
            json,
            index,
            map: OnceLock::new(),
        })
    }

    /// The JSON text (what [`Claim`]s read from it borrow).
    pub(crate) fn json(&self) -> &str {
        &self.json
    }

    /// How many top-level members.
    pub(crate) fn len(&self) -> usize {
        self.index.members.len()
    }

    /// What the decoded `Value` holds (for the token cache's weight).
    pub(crate) fn shape(&self) -> Shape {
        self.index.shape
    }

    /// The bytes held now: the JSON text and the index.
    pub(crate) fn held_bytes(&self) -> usize {
        self.json.len().saturating_add(
            self.index
                .members
                .len()
                .saturating_mul(std::mem::size_of::<Member>() + 2 * std::mem::size_of::<u32>()),
        )
    }

    /// The members as a `serde_json::Map`, decoded on first use.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.map
            .into_inner()
            .unwrap_or_else(|| decode_map(&self.json))
    }

    /// Member `name`: its slot for a claim the library reads, else one hash and one probe
    /// of the index.
    #[inline(always)]
    fn member(&self, name: &str) -> Option<&Member> {
        self.index.get(&self.json, name)
    }
}

/// The indexed (so valid, duplicate-free) JSON as a `Map`.
fn decode_map(json: &str) -> Map<String, Value> {
    // Cannot fail: `index` accepted the same text as one JSON object.
    serde_json::from_str(json).unwrap_or_default()
}

impl From<Map<String, Value>> for RawClaims {
    fn from(map: Map<String, Value>) -> Self {
        let json = Value::Object(map).to_string();
        let index = index::index(&json).unwrap_or_default();
        let map = OnceLock::new();
        let _ = map.set(decode_map(&json));
        Self { json, index, map }
    }
}

impl ClaimRead for RawClaims {
    /// Inlined with [`Index::get`](super::index::Index::get): a literal name's slot is then
    /// found at compile time.
    #[inline(always)]
    fn claim(&self, name: &str) -> Option<Claim<'_>> {
        let member = self.member(name)?;
        match member.scalar {
            Scalar::PlainString => {
                // The text between the quotes is the string (no escapes: the scan said so).
                let inner = member.value.start + 1..member.value.end.saturating_sub(1);
                self.json.get(inner).map(|s| Claim::Str(Cow::Borrowed(s)))
            }
            Scalar::Integer(n) => Some(Claim::Number(Number::from(n))),
            Scalar::Other => read_text(self.json.get(member.value.clone())?),
        }
    }

    fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| decode_map(&self.json))
    }
}

impl ClaimRead for Map<String, Value> {
    fn claim(&self, name: &str) -> Option<Claim<'_>> {
        Some(read_value(self.get(name)?))
    }

    fn map(&self) -> &Map<String, Value> {
        self
    }
}

/// A value from its (valid) JSON text.
pub(super) fn read_text(text: &str) -> Option<Claim<'_>> {
    Some(match text.as_bytes().first()? {
        b'"' => {
            let inner = text.get(1..text.len().saturating_sub(1))?;
            // Read from valid JSON: a special byte inside is a backslash.
            if json::has_special(inner.as_bytes()) {
                Claim::Str(serde_json::from_str::<Text<'_>>(text).ok()?.0)
            } else {
                Claim::Str(Cow::Borrowed(inner))
            }
        }
        b't' => Claim::Bool(true),
        b'f' => Claim::Bool(false),
        b'n' => Claim::Null,
        b'[' => Claim::Array(Json::Text(text)),
        b'{' => Claim::Object(Json::Text(text)),
        // Dates are short non-negative integers: read without serde_json, checked and
        // summed in one pass (18 digits cannot overflow a `u64`; negatives go to
        // serde_json, which reads `-0` as a float).
        _ if text.len() <= 18 => match short_integer(text) {
            Some(n) => Claim::Number(Number::from(n)),
            None => Claim::Number(serde_json::from_str(text).ok()?),
        },
        _ => Claim::Number(serde_json::from_str(text).ok()?),
    })
}

/// `text` as a non-negative integer when it is at most 18 ASCII digits.
fn short_integer(text: &str) -> Option<u64> {
    if text.len() > 18 {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

fn read_value(value: &Value) -> Claim<'_> {
    match value {
        Value::String(s) => Claim::Str(Cow::Borrowed(s)),
        Value::Bool(b) => Claim::Bool(*b),
        Value::Number(n) => Claim::Number(n.clone()),
        Value::Null => Claim::Null,
        Value::Array(_) => Claim::Array(Json::Value(value)),
        Value::Object(_) => Claim::Object(Json::Value(value)),
    }
}

impl Claim<'_> {
    /// This claim as a `serde_json::Value` (for the rare claims read whole: `act`, `cnf`).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Claim::Str(s) => Value::String(s.into_owned()),
            Claim::Bool(b) => Value::Bool(b),
            Claim::Number(n) => Value::Number(n),
            Claim::Null => Value::Null,
            Claim::Array(json) | Claim::Object(json) => json.into_value(),
        }
    }
}

impl<'a> Json<'a> {
    /// This array or object as a `serde_json::Value`.
    pub(crate) fn into_value(self) -> Value {
        match self {
            // Cannot fail: the text is a member of an indexed (valid) JSON object.
            Json::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Json::Value(value) => value.clone(),
        }
    }

    /// The JSON text, when this is read from one (a [`RawClaims`]'s).
    pub(crate) fn text(self) -> Option<&'a str> {
        match self {
            Json::Text(text) => Some(text),
            Json::Value(_) => None,
        }
    }

    /// Calls `f` with each item of an array that holds only strings; `Err` if any item is
    /// not a string (or this is not an array). Items are borrowed unless escaped.
    pub(crate) fn each_string(self, mut f: impl FnMut(Cow<'a, str>)) -> Result<(), ()> {
        match self {
            Json::Text(text) => json::each_string(text, f).map_err(|_| ()),
            Json::Value(Value::Array(items)) => {
                for item in items {
                    f(Cow::Borrowed(item.as_str().ok_or(())?));
                }
                Ok(())
            }
            Json::Value(_) => Err(()),
        }
    }

    /// The items of an array that holds only strings; `Err` if any item is not a string
    /// (or this is not an array).
    #[cfg(test)]
    pub(crate) fn strings(self) -> Result<Vec<Cow<'a, str>>, ()> {
        let mut items = Vec::new();
        self.each_string(|item| items.push(item))?;
        Ok(items)
    }

    /// Member `name` of an object (`None` when absent or this is not an object).
    pub(crate) fn member(self, name: &str) -> Option<Claim<'a>> {
        match self {
            Json::Text(text) => {
                let members = object_members(text)?;
                let (_, raw) = members.into_iter().find(|(k, _)| k.0 == name)?;
                read_text(raw.get())
            }
            Json::Value(Value::Object(map)) => map.get(name).map(read_value),
            Json::Value(_) => None,
        }
    }
}

/// The members of a JSON object's text, in order (duplicates were refused when indexed).
fn object_members(text: &str) -> Option<Vec<(Text<'_>, &RawValue)>> {
    struct Members;
    impl<'de> serde::de::Visitor<'de> for Members {
        type Value = Vec<(Text<'de>, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    use serde::Deserializer as _;
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Members)
        .ok()
}
