//! The one-pass scanner against serde_json: it accepts exactly the JSON serde_json accepts
//! (duplicate members aside, which it refuses), and its index finds every member.

use serde_json::Value;

use super::index::index;
use super::json::{check, Invalid, Shape, MAX_DEPTH};

/// Values of every kind, valid and not, in the corners where hand-written scanners go wrong.
const VALUES: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "01",
    "-",
    "--1",
    "+1",
    "1.",
    ".5",
    "1.5",
    "1.5e3",
    "1e",
    "1e+",
    "1E-2",
    "1e400",
    "-1e400",
    "1.0e-400",
    "123456789012345678",
    "-12345678901234567",
    "1234567890123456789",
    "99999999999999999999",
    "18446744073709551616",
    "1000000000000000000000000000000",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "True",
    "truex",
    "\"\"",
    "\"a\"",
    "\"a",
    "\"\\\"\"",
    "\"\\\\\"",
    "\"\\/\"",
    "\"\\b\\f\\n\\r\\t\"",
    "\"\\u0041\"",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800x\"",
    "\"\\u12\"",
    "\"\\x41\"",
    "\"\\a\"",
    "\"\\\"",
    "\"a\u{1}b\"",
    "\"a\tb\"",
    "\"a\u{7f}b\"",
    "\"é€😀\"",
    "[]",
    "[ ]",
    "[1,2]",
    "[1,]",
    "[,1]",
    "[1 2]",
    "[",
    "]",
    "[[[]]]",
    "[\"a\",[\"b\"]]",
    "{}",
    "{ }",
    "{\"a\":1}",
    "{\"a\":1,}",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "{\"a\" : 1 , \"b\" : [ ]}",
    "{\"a\":1 \"b\":2}",
    "{1:1}",
    "{\"\\u0061\":{\"b\":[{}]}}",
    " 1",
    "1 ",
    "\n\t\r 1",
    "\u{a0}1",
    "/*c*/1",
    "",
];

fn serde_accepts(json: &str) -> bool {
    serde_json::from_str::<Value>(json).is_ok()
}

#[test]
fn values_are_accepted_exactly_when_serde_json_accepts_them() {
    for value in VALUES {
        assert_eq!(
            check(value).is_ok(),
            serde_accepts(value),
            "value {value:?}"
        );
        let member = format!("{{\"v\":{value}}}");
        assert_eq!(
            index(&member).is_ok(),
            serde_accepts(&member),
            "member {member:?}"
        );
        let nested = format!("{{\"a\":[{{\"v\":{value}}}]}}");
        assert_eq!(
            index(&nested).is_ok(),
            serde_accepts(&nested),
            "nested {nested:?}"
        );
    }
}

#[test]
fn only_an_object_is_indexed() {
    for json in [
        "[]", "1", "\"a\"", "null", "", " ", "{} {}", "{}x", "{}\u{0}",
    ] {
        assert_eq!(index(json).map(|_| ()), Err(Invalid), "{json:?}");
    }
    assert!(index(" {} ").is_ok());
}

#[test]
fn nesting_is_bounded() {
    let arrays = |n: usize| format!("{{\"x\":{}{}}}", "[".repeat(n), "]".repeat(n));
    assert!(index(&arrays(MAX_DEPTH - 1)).is_ok());
    assert_eq!(index(&arrays(MAX_DEPTH)).map(|_| ()), Err(Invalid));
    assert_eq!(index(&arrays(100_000)).map(|_| ()), Err(Invalid));
}

/// What `serde_json::Value` holds: values, members, bytes of keys and strings.
fn shape_of(value: &Value, shape: &mut Shape) {
    shape.values += 1;
    match value {
        Value::String(s) => shape.bytes += s.len(),
        Value::Array(items) => items.iter().for_each(|v| shape_of(v, shape)),
        Value::Object(map) => {
            for (k, v) in map {
                shape.members += 1;
                shape.bytes += k.len();
                shape_of(v, shape);
            }
        }
        _ => {}
    }
}

#[test]
fn the_shape_is_what_the_decoded_value_holds() {
    let json =
        r#"{"s\u0075b":"a\"b","n":-1.5,"aud":["x","\u0079"],"o":{"r":[1,{"k":null}]},"e":{}}"#;
    let value: Value = serde_json::from_str(json).expect("valid JSON");
    let mut expected = Shape::default();
    shape_of(&value, &mut expected);
    assert_eq!(index(json).expect("valid JSON").shape, expected);
}

#[test]
fn every_member_is_found_by_name_and_a_duplicate_anywhere_is_refused() {
    for n in [0, 1, 15, 16, 17, 100, 1000] {
        let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
        let json = format!("{{{}}}", members.join(","));
        let indexed = index(&json).expect("distinct keys");
        assert_eq!(indexed.members.len(), n);
        for i in 0..n {
            let member = indexed.get(&json, &format!("k{i}")).expect("present");
            assert_eq!(json.get(member.value.clone()), Some(i.to_string().as_str()));
        }
        for absent in ["k", "", "kk0", &format!("k{n}")] {
            assert!(indexed.get(&json, absent).is_none(), "{absent} in {n}");
        }
        if n > 0 {
            // The same key again, last; and spelled with an escape.
            let again = format!("{{{},\"k{}\":0}}", members.join(","), n / 2);
            assert_eq!(index(&again).map(|_| ()), Err(Invalid), "{n}");
            let escaped = format!("{{{},\"\\u006b{}\":0}}", members.join(","), n - 1);
            assert_eq!(index(&escaped).map(|_| ()), Err(Invalid), "{n}");
        }
    }
}

#[test]
fn the_claims_read_by_name_have_slots_that_find_them_and_refuse_their_duplicates() {
    // Every known claim among 20 others, found by name; the others still through the table.
    let known = super::index::KNOWN;
    let mut members: Vec<String> = (0..20).map(|i| format!("\"k{i}\":{i}")).collect();
    members.extend(known.iter().map(|name| format!("\"{name}\":\"{name}!\"")));
    let json = format!("{{{}}}", members.join(","));
    let indexed = index(&json).expect("distinct keys");
    for name in known {
        let member = indexed.get(&json, name).expect("present");
        assert_eq!(
            json.get(member.value.clone()),
            Some(format!("\"{name}!\"").as_str())
        );
        // Absent from a document without it; a duplicate, plain or escaped, refused.
        assert!(index("{\"k\":1}")
            .expect("valid")
            .get("{\"k\":1}", name)
            .is_none());
        let again = format!("{{{},\"{name}\":0}}", members.join(","));
        assert_eq!(index(&again).map(|_| ()), Err(Invalid), "{name}");
        let escaped = format!(
            "{{\"{name}\":1,\"\\u{:04x}{}\":2}}",
            name.as_bytes()[0],
            &name[1..]
        );
        assert_eq!(index(&escaped).map(|_| ()), Err(Invalid), "{escaped}");
    }
    for i in 0..20 {
        let member = indexed.get(&json, &format!("k{i}")).expect("present");
        assert_eq!(json.get(member.value.clone()), Some(i.to_string().as_str()));
    }
}

/// The first byte of an 8-byte word that is a quote, a backslash or a control character,
/// found byte by byte.
fn first_special(bytes: [u8; 8]) -> Option<usize> {
    bytes
        .iter()
        .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)
}

#[test]
fn the_word_at_a_time_scan_stops_at_the_first_special_byte() {
    let flagged = |bytes: [u8; 8]| {
        let flags = super::json::special(u64::from_le_bytes(bytes));
        (flags != 0).then(|| flags.trailing_zeros() as usize / 8)
    };
    // Every byte value at every position, among ordinary bytes and after special ones.
    for fill in [b'a', 0x80, 0xff, 0x20, 0x21, 0x01] {
        for at in 0..8 {
            for b in 0..=u8::MAX {
                let mut bytes = [fill; 8];
                bytes[at] = b;
                assert_eq!(flagged(bytes), first_special(bytes), "{bytes:?}");
            }
        }
    }
    // Pseudo-random words (xorshift), biased towards the bytes near the boundaries.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes().map(|b| match b % 4 {
            0 => b'"' ^ (b >> 6),
            1 => b'\\' ^ (b >> 6),
            2 => 0x1e + (b >> 6),
            _ => b,
        });
        assert_eq!(flagged(bytes), first_special(bytes), "{bytes:?}");
    }
}

#[test]
fn a_special_byte_is_found_at_every_position_of_every_length() {
    for len in 0..40 {
        let plain = vec![b'a'; len];
        assert!(!super::json::has_special(&plain), "{len}");
        for at in 0..len {
            for byte in [b'\\', b'"', 0x1f, 0] {
                let mut bytes = plain.clone();
                bytes[at] = byte;
                assert!(super::json::has_special(&bytes), "{len} {at} {byte}");
            }
        }
    }
}
