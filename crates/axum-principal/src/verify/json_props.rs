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

fn checks() -> super::ClaimChecks<'static> {
    super::ClaimChecks {
        issuer: "https://iss",
        audiences: &[],
        leeway_secs: 0,
        now_secs: 1_000_000,
        client_id_as_audience: false,
    }
}

/// The registered claims' checks answer the same on the index as on the decoded `Map`.
fn same_checks(
    raw: &super::RawClaims,
    map: &Map<String, Value>,
    checks: super::ClaimChecks<'_>,
    json: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        super::check_registered(raw, checks),
        super::check_registered(map, checks),
        "checks of {:?} at {} for {:?}",
        json,
        checks.now_secs,
        checks.audiences
    );
    Ok(())
}

#[test]
fn a_date_written_with_escapes_in_its_name_is_still_checked() {
    use crate::rejection::InvalidToken;
    for (text, expected) in [
        (r#"{"\u0065xp":1}"#, InvalidToken::Expired),
        (
            r#"{"exp":2000000,"n\u0062f":1500000}"#,
            InvalidToken::NotYetValid,
        ),
        (
            r#"{"exp":2000000,"\u0069\u0061\u0074":1500000}"#,
            InvalidToken::IssuedInFuture,
        ),
        (r#"{"exp":"1"}"#, InvalidToken::InvalidClaim),
        (r#"{"exp":1e400}"#, InvalidToken::Malformed),
        (r#"{"exp":01}"#, InvalidToken::Malformed),
        (
            r#"{"exp":18446744073709551615}"#,
            InvalidToken::InvalidClaim,
        ),
        (r#"{"exp":1e30}"#, InvalidToken::InvalidClaim),
        (r#"{"exp":-0}"#, InvalidToken::Expired),
        (r#"{"exp":-1}"#, InvalidToken::Expired),
        (r#"{"exp":999999.9}"#, InvalidToken::Expired),
        (r#"{"exp":1,"\u0065xp":3000000}"#, InvalidToken::Malformed),
        (r#"{"e\u0078p":3000000,"exp":1}"#, InvalidToken::Malformed),
    ] {
        let verdict = super::RawClaims::parse(text.to_owned())
            .ok_or(InvalidToken::Malformed)
            .and_then(|claims| super::check_registered(&claims, checks()).map(|_| ()));
        assert_eq!(verdict, Err(expected), "{text}");
    }
}

#[test]
fn a_header_member_written_with_escapes_is_acted_on() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use crate::rejection::InvalidToken;
    let decode = |json: &str| super::header::decode(&URL_SAFE_NO_PAD.encode(json));
    let memo = super::HeaderMemo::default();
    for (json, expected) in [
        (
            r#"{"alg":"RS256","\u0063rit":["b64"],"b64":false}"#,
            InvalidToken::UnsupportedCritical,
        ),
        (
            r#"{"alg":"RS256","kid":"a","\u006bid":"b"}"#,
            InvalidToken::Malformed,
        ),
        (
            r#"{"alg":"RS256","typ":"JWT","t\u0079p":"at+jwt"}"#,
            InvalidToken::Malformed,
        ),
        (r#"{"\u0061lg":"RS256","kid":1}"#, InvalidToken::Malformed),
        (
            r#"{"alg":"RS256","jwk":{"k":1,"\u006b":2}}"#,
            InvalidToken::Malformed,
        ),
        ("\u{feff}{\"alg\":\"RS256\"}", InvalidToken::Malformed),
        ("{\"alg\":\"RS256\"}\u{0}", InvalidToken::Malformed),
    ] {
        assert_eq!(decode(json), Err(expected), "{json}");
        let segment = URL_SAFE_NO_PAD.encode(json);
        assert_eq!(memo.decode(&segment), Err(expected), "memo, {json}");
    }
    let header =
        decode(r#"{"\u0061lg":"RS\u0032\u0035\u0036","k\u0069d":"a\"b"}"#).expect("a valid header");
    assert_eq!(header.alg, Some(crate::alg::Algorithm::RS256));
    assert_eq!(header.kid.as_deref(), Some("a\"b"));
}

#[test]
fn arbitrary_text_is_judged_as_serde_json_judges_it_and_never_panics() {
    let text = prop::collection::vec(any::<char>(), 0..40).prop_map(|c| c.into_iter().collect());
    runner()
        .run(&text, |json: String| {
            let _ = super::header::decode(&base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &json,
            ));
            agrees(&json)
        })
        .expect("the scanner and serde_json agree");
    runner()
        .run(&"[ -~]{0,64}", |segment: String| {
            let memo = super::HeaderMemo::default();
            prop_assert_eq!(memo.decode(&segment), super::header::decode(&segment));
            prop_assert_eq!(memo.decode(&segment), super::header::decode(&segment));
            Ok(())
        })
        .expect("the memo answers as decoding does");
}

/// A number as a token may spell it: any sign, up to 21 digits (leading zeros too, which
/// JSON forbids), a fraction, an exponent, whitespace around.
fn number_text() -> impl Strategy<Value = String> {
    (
        "[ \t\n\r]{0,2}",
        "-?[0-9]{1,21}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
        "[ \t\n\r]{0,2}",
    )
        .prop_map(|(before, number, after)| format!("{before}{number}{after}"))
}

/// Dates (and any number) read through the index's scalars are what serde_json decodes,
/// and the checks on them decide as they decide on the decoded `Map`.
#[test]
fn numbers_are_read_and_checked_as_from_the_decoded_map() {
    let names = prop::sample::select(&["exp", "nbf", "iat", "\\u0065xp", "n\\u0062f", "x"][..]);
    let members = prop::collection::vec((names, number_text()), 0..4);
    runner()
        .run(&members, |members| {
            let body: Vec<String> = members
                .iter()
                .map(|(name, number)| format!("\"{name}\":{number}"))
                .collect();
            let json = format!("{{{}}}", body.join(","));
            let map = serde_json::from_str::<Map<String, Value>>(&json)
                .ok()
                .filter(|_| strict(&json));
            let raw = super::RawClaims::parse(json.clone());
            prop_assert_eq!(raw.is_some(), map.is_some(), "{:?}", json);
            let (Some(raw), Some(map)) = (raw, map) else {
                return Ok(());
            };
            prop_assert_eq!(raw.map(), &map, "map of {:?}", json);
            for name in ["exp", "nbf", "iat", "x"] {
                prop_assert_eq!(raw.claim(name), map.claim(name), "{} of {:?}", name, json);
                prop_assert_eq!(
                    super::numeric_date(&raw, name),
                    super::numeric_date(&map, name),
                    "date {} of {:?}",
                    name,
                    json
                );
            }
            for now_secs in [0, 999_999_999_999_999_999, i64::MAX] {
                let checks = super::ClaimChecks {
                    now_secs,
                    ..checks()
                };
                same_checks(&raw, &map, checks, &json)?;
            }
            Ok(())
        })
        .expect("dates read from the index are serde_json's");
}

/// Arrays (`aud`) are read item by item as the decoded `Map` holds them: escapes, quotes,
/// backslashes and non-ASCII in items at every place of the eight-byte words, items of
/// other types refused.
#[test]
fn string_arrays_are_read_as_from_the_decoded_map() {
    let item = prop::sample::select(
        &[
            "\"a\"",
            "\"\"",
            "\"api\"",
            "\"https://api.example.com/orders\"",
            "\"a\\\"b\"",
            "\"\\\\\"",
            "\"\\\\\\\"\"",
            "\"\\u0061pi\"",
            "\"é😀,]\"",
            "\"abcdefg\\\\\"",
            "\"abcdefgh\\\"\"",
            "1",
            "null",
            "[\"api\"]",
            "{\"a\":\"api\"}",
        ][..],
    );
    let ws = || "[ \t\n\r]{0,2}";
    let items = prop::collection::vec((ws(), item, ws()), 0..6);
    runner()
        .run(&items, |items| {
            let body: Vec<String> = items.iter().map(|(a, i, b)| format!("{a}{i}{b}")).collect();
            let json = format!("{{\"aud\":[{}],\"exp\":2}}", body.join(","));
            let raw = super::RawClaims::parse(json.clone()).expect("valid JSON");
            let map: Map<String, Value> = serde_json::from_str(&json).expect("valid JSON");
            let strings = |claims: &dyn ClaimRead| match claims.claim("aud") {
                Some(Claim::Array(list)) => list.strings().map(|items| {
                    items
                        .into_iter()
                        .map(|s| s.into_owned())
                        .collect::<Vec<_>>()
                }),
                _ => Err(()),
            };
            prop_assert_eq!(strings(&raw), strings(&map), "{:?}", json);
            for accepted in ["api", "a\"b", "\\", "é😀,]", "abcdefgh\""] {
                let audiences = [accepted.to_owned()];
                let checks = super::ClaimChecks {
                    audiences: &audiences,
                    now_secs: 1,
                    ..checks()
                };
                same_checks(&raw, &map, checks, &json)?;
            }
            Ok(())
        })
        .expect("arrays read from the index are serde_json's");
}
