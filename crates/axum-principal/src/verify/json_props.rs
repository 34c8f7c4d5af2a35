//! The scanner against serde_json on generated, hostile JSON: it accepts exactly what
//! serde_json accepts once duplicate members (at any depth, compared after unescaping) are
//! refused, and every claim it reads is the value serde_json decodes.

use std::collections::HashSet;
use std::fmt;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::claims::read_text;
use super::index::index;
use super::json::check;
use super::{Claim, ClaimRead};

/// Any JSON value serde_json accepts, with no member repeated in any object (keys compared
/// decoded): the reference the scanner must agree with.
struct Strict;

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate members")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key) {
                return Err(serde::de::Error::custom("duplicate member"));
            }
            map.next_value::<Strict>()?;
        }
        Ok(Strict)
    }
}

fn strict(json: &str) -> bool {
    serde_json::from_str::<Strict>(json).is_ok()
}

/// Fragments a hostile token's JSON is made of: keys that collide once unescaped, numbers
/// at the edges of the fast paths, escapes, surrogates, control characters, non-ASCII.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\t",
    "\n",
    "\u{feff}",
    "\u{a0}",
    "\"",
    "\\",
    "\"exp\"",
    "\"\\u0065xp\"",
    "\"e\\u0078p\"",
    "\"exp \"",
    "\"sub\"",
    "\"s\\u0075b\"",
    "\"a\\\"b\"",
    "\"\\\\\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"\u{1}\"",
    "\"é😀\"",
    "\"\\u00e9\"",
    "0",
    "-0",
    "01",
    "-1",
    "1.0",
    "1e400",
    "-1e400",
    "1E2",
    "123456789012345678",
    "1234567890123456789",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "true",
    "false",
    "null",
    "nul",
    "x",
];

fn pieces() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat())
}

/// Objects whose members are near-valid values made of the pieces.
fn objects() -> impl Strategy<Value = String> {
    let key = || prop::sample::select(&PIECES[13..20]);
    let value = prop::sample::select(&PIECES[13..]).prop_map(str::to_owned);
    let value = value.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|m| {
                let members: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    prop::collection::vec((key(), value), 0..5).prop_map(|m| {
        let members: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", members.join(","))
    })
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 4000,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The scanner's verdict on `json` is the reference's, and what it reads is what
/// serde_json decodes.
fn agrees(json: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(check(json).is_ok(), strict(json), "value {:?}", json);
    let object = serde_json::from_str::<Map<String, Value>>(json).ok();
    let indexed = index(json);
    prop_assert_eq!(
        indexed.is_ok(),
        object.is_some() && strict(json),
        "object {:?}",
        json
    );
    if let (Ok(_), Some(object)) = (indexed, object) {
        let claims = super::RawClaims::parse(json.to_owned()).expect("indexed above");
        prop_assert_eq!(claims.map(), &object, "map of {:?}", json);
        for (name, value) in &object {
            let read = claims.claim(name).map(Claim::into_value);
            prop_assert_eq!(read.as_ref(), Some(value), "claim {:?} of {:?}", name, json);
        }
    }
    Ok(())
}

#[test]
fn random_pieces_are_judged_as_serde_json_judges_them() {
    runner()
        .run(&pieces(), |json| agrees(&json))
        .expect("the scanner and serde_json agree");
}

#[test]
fn generated_objects_are_judged_and_read_as_serde_json_reads_them() {
    runner()
        .run(&objects(), |json| agrees(&json))
        .expect("the scanner and serde_json agree");
}

#[test]
fn every_member_value_is_read_as_serde_json_reads_it() {
    for piece in &PIECES[13..] {
        let Ok(value) = serde_json::from_str::<Value>(piece) else {
            continue;
        };
        let read = read_text(piece).map(Claim::into_value);
        assert_eq!(read, Some(value), "{piece:?}");
    }
}

#[test]
fn nesting_the_scanner_accepts_serde_json_decodes() {
    for depth in 120..135 {
        let json = format!("{{\"x\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(index(&json).is_ok(), strict(&json), "depth {depth}");
        let json = format!("{}1{}", "{\"x\":".repeat(depth), "}".repeat(depth));
        assert_eq!(index(&json).is_ok(), strict(&json), "objects {depth}");
    }
}
