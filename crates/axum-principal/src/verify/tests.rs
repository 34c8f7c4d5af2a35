//! Unit tests of parsing and the claim checks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::*;
use serde_json::json;

fn b64(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn token(header: &str, payload: &str) -> String {
    format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
}

#[test]
fn parse_reads_header_and_claims() {
    let t = token(
        r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#,
        r#"{"sub":"a"}"#,
    );
    let jws = parse(&t, 16 * 1024)
        .map_err(|e| e.reason())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jws.header.alg, Some(Algorithm::RS256));
    assert_eq!(jws.header.kid.as_deref(), Some("k1"));
    assert_eq!(jws.header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(jws.claims.map().get("sub"), Some(&json!("a")));
    assert_eq!(jws.signature.bytes(), b"sig");
    // A signature too long for the stack buffer (RSA-8192's 1 024 bytes) is decoded too.
    let long = [7u8; 1024];
    let t = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256"}"#),
        b64("{}"),
        URL_SAFE_NO_PAD.encode(long)
    );
    let jws = parse(&t, 16 * 1024).expect("a long signature parses");
    assert_eq!(jws.signature.bytes(), long);
    for len in [510, 511, 512, 513] {
        let sig = vec![9u8; len];
        let t = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256"}"#),
            b64("{}"),
            URL_SAFE_NO_PAD.encode(&sig)
        );
        let jws = parse(&t, 16 * 1024).expect("a signature parses");
        assert_eq!(jws.signature.bytes(), sig, "{len}");
    }
}

#[test]
fn parse_refuses_bad_shapes() {
    let ok_header = r#"{"alg":"RS256"}"#;
    let cases: Vec<(String, InvalidToken)> = vec![
        ("a".repeat(100), InvalidToken::TooLarge),
        ("abc".into(), InvalidToken::Malformed),
        ("a.b".into(), InvalidToken::Malformed),
        ("a.b.c.d.e".into(), InvalidToken::Malformed),
        (
            format!("{}.{}.!!", b64(ok_header), b64("{}")),
            InvalidToken::Malformed,
        ),
        (format!("***.{}.", b64("{}")), InvalidToken::Malformed),
        (
            format!("{}=.{}.", b64(ok_header), b64("{}")),
            InvalidToken::Malformed,
        ),
        (token("[1]", "{}"), InvalidToken::Malformed),
        (token(ok_header, "not json"), InvalidToken::Malformed),
        (token(ok_header, r#""a string""#), InvalidToken::Malformed),
        (
            token(ok_header, r#"{"sub":"a","sub":"b"}"#),
            InvalidToken::Malformed,
        ),
        (
            token(r#"{"alg":"RS256","alg":"none"}"#, "{}"),
            InvalidToken::Malformed,
        ),
        (token(r#"{"alg":5}"#, "{}"), InvalidToken::Malformed),
        (token(r#"{"kid":"x"}"#, "{}"), InvalidToken::Malformed),
        (
            token(r#"{"alg":"RS256","kid":7}"#, "{}"),
            InvalidToken::Malformed,
        ),
        (
            token(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "{}"),
            InvalidToken::UnsupportedCritical,
        ),
    ];
    for (t, expected) in cases {
        match parse(&t, 64) {
            Ok(_) => panic!("accepted {t}"),
            Err(e) => assert_eq!(e, expected, "{t}"),
        }
    }
}

#[test]
fn duplicate_members_are_refused_at_any_depth() {
    let ok_header = r#"{"alg":"RS256"}"#;
    for t in [
        token(ok_header, r#"{"ext":{"roles":["user"],"roles":["admin"]}}"#),
        token(ok_header, r#"{"a":[{"b":{"c":1,"c":2}}]}"#),
        token(
            ok_header,
            r#"{"realm_access":{"roles":[],"roles":["admin"]}}"#,
        ),
        token(r#"{"alg":"RS256","jwk":{"kty":"RSA","kty":"oct"}}"#, "{}"),
    ] {
        match parse(&t, 1024) {
            Ok(_) => panic!("accepted {t}"),
            Err(e) => assert_eq!(e, InvalidToken::Malformed, "{t}"),
        }
    }
}

#[test]
fn unique_members_at_depth_still_parse() {
    let t = token(
        r#"{"alg":"RS256"}"#,
        r#"{"ext":{"roles":["user"],"n":[1,-2,3.5,true,null,{"roles":["x"]}]},"roles":"y"}"#,
    );
    let jws = parse(&t, 1024).expect("a token without duplicates parses");
    assert_eq!(
        Value::Object(jws.claims.into_map()),
        json!({"ext":{"roles":["user"],"n":[1,-2,3.5,true,null,{"roles":["x"]}]},"roles":"y"})
    );
}

#[test]
fn only_access_tokens_pass() {
    let object = |v: Value| v.as_object().cloned().expect("an object");
    let cases = [
        (json!({"sub":"u"}), false, Ok(())),
        (json!({"sub":"u","token_use":"access"}), false, Ok(())),
        (json!({"sub":"u","typ":"Bearer"}), false, Ok(())),
        (json!({"token_use":"id"}), false, Err(InvalidToken::IdToken)),
        (json!({"typ":"ID"}), false, Err(InvalidToken::IdToken)),
        (json!({"at_hash":"x"}), false, Err(InvalidToken::IdToken)),
        (json!({"c_hash":null}), false, Err(InvalidToken::IdToken)),
        (json!({"token_use":"id","at_hash":"x"}), true, Ok(())),
        // `cnf` is read by `binding::Binding` (its tests), not here.
        (json!({"cnf":{"jkt":"abc"}}), false, Ok(())),
    ];
    for (claims, accept_id, expected) in cases {
        assert_eq!(
            check_access_token(&object(claims.clone()), accept_id),
            expected,
            "{claims} accept_id_tokens={accept_id}"
        );
    }
}

#[test]
fn none_and_unknown_algorithms_parse_as_no_algorithm() {
    for alg in ["none", "None", "rs256", "HS1", ""] {
        let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
        let jws = parse(&t, 1024)
            .map_err(|e| e.reason())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jws.header.alg, None, "{alg}");
    }
}

#[test]
fn typ_policy_table() {
    use TypPolicy::{Lenient as L, StrictAccessToken as S};
    let cases = [
        (L, None, true),
        (L, Some("JWT"), true),
        (L, Some("jwt"), true),
        (L, Some("at+jwt"), true),
        (L, Some("AT+JWT"), true),
        (L, Some("application/at+jwt"), true),
        (L, Some("id_token+jwt"), false),
        (L, Some("JOSE"), false),
        (S, None, false),
        (S, Some("JWT"), false),
        (S, Some("at+JWT"), true),
        (S, Some("Application/At+Jwt"), true),
    ];
    for (policy, typ, ok) in cases {
        assert_eq!(check_typ(typ, policy).is_ok(), ok, "{policy:?} {typ:?}");
    }
}

fn checks(audiences: &[String]) -> ClaimChecks<'_> {
    ClaimChecks {
        issuer: "https://iss",
        audiences,
        leeway_secs: 60,
        now_secs: 1_000_000,
        client_id_as_audience: false,
    }
}

#[test]
fn claim_checks_table() {
    let auds = vec!["api".to_owned(), "other".to_owned()];
    let base = json!({"iss":"https://iss","sub":"u","aud":"api","exp":1_000_100});
    let with = |k: &str, v: Value| {
        let mut o = base.as_object().cloned().unwrap_or_default();
        if v.is_null() {
            o.remove(k);
        } else {
            o.insert(k.into(), v);
        }
        o
    };
    let cases: Vec<(Object, Result<(), InvalidToken>)> = vec![
        (with("sub", json!("u")), Ok(())),
        (
            with("iss", json!("https://iss/")),
            Err(InvalidToken::UnknownIssuer),
        ),
        (with("iss", Value::Null), Err(InvalidToken::UnknownIssuer)),
        (
            with("iss", json!(["https://iss"])),
            Err(InvalidToken::InvalidClaim),
        ),
        (with("sub", json!(12)), Err(InvalidToken::InvalidClaim)),
        (with("exp", Value::Null), Err(InvalidToken::MissingExpiry)),
        (
            with("exp", json!("1000100")),
            Err(InvalidToken::InvalidClaim),
        ),
        (with("exp", json!(999_940)), Ok(())),
        (with("exp", json!(999_939)), Err(InvalidToken::Expired)),
        (with("exp", json!(1_000_100.5)), Ok(())),
        (with("nbf", json!(1_000_060)), Ok(())),
        (
            with("nbf", json!(1_000_061)),
            Err(InvalidToken::NotYetValid),
        ),
        (with("nbf", json!(true)), Err(InvalidToken::InvalidClaim)),
        (with("iat", json!(1_000_060)), Ok(())),
        (
            with("iat", json!(1_000_061)),
            Err(InvalidToken::IssuedInFuture),
        ),
        (with("aud", json!(["x", "other"])), Ok(())),
        (with("aud", json!([])), Err(InvalidToken::WrongAudience)),
        (with("aud", json!("x")), Err(InvalidToken::WrongAudience)),
        (with("aud", Value::Null), Err(InvalidToken::WrongAudience)),
        (
            with("aud", json!(["api", 3])),
            Err(InvalidToken::InvalidClaim),
        ),
        (
            with("aud", json!({"api":true})),
            Err(InvalidToken::InvalidClaim),
        ),
    ];
    for (claims, expected) in cases {
        assert_eq!(
            check_claims(&claims, checks(&auds)).map(|_| ()),
            expected,
            "{claims:?}"
        );
    }
}

#[test]
fn client_id_stands_in_for_a_missing_aud_only_when_configured() {
    let auds = vec!["app-client".to_owned()];
    let cognito = json!({"iss":"https://iss","sub":"u","client_id":"app-client","exp":1_000_100});
    let cognito = cognito.as_object().cloned().unwrap_or_default();
    let strict = checks(&auds);
    let lenient = ClaimChecks {
        client_id_as_audience: true,
        ..checks(&auds)
    };
    assert_eq!(
        check_claims(&cognito, strict).map(|_| ()),
        Err(InvalidToken::WrongAudience)
    );
    assert_eq!(check_claims(&cognito, lenient).map(|_| ()), Ok(()));
    let mut other = cognito.clone();
    other.insert("client_id".into(), json!("someone-else"));
    assert_eq!(
        check_claims(&other, lenient).map(|_| ()),
        Err(InvalidToken::WrongAudience)
    );
    let mut with_aud = cognito.clone();
    with_aud.insert("aud".into(), json!("x"));
    assert_eq!(
        check_claims(&with_aud, lenient).map(|_| ()),
        Err(InvalidToken::WrongAudience)
    );
}

#[test]
fn refresh_logout_and_event_tokens_are_refused_entra_shapes_are_not() {
    let object = |v: Value| v.as_object().cloned().expect("an object");
    let cases = [
        // An Entra ID token carries none of the markers: it is not refused here (an
        // audience of the API's own keeps it out; docs/providers.md).
        (
            json!({"oid":"o","sub":"s","tid":"t","ver":"2.0","nonce":"n"}),
            Ok(()),
        ),
        (json!({"sub":"s","oid":"s","idtyp":"app"}), Ok(())),
        (json!({"typ":"Refresh"}), Err(InvalidToken::NotAccessToken)),
        (json!({"typ":"Offline"}), Err(InvalidToken::NotAccessToken)),
        (json!({"typ":"Logout"}), Err(InvalidToken::NotAccessToken)),
        (
            json!({"events":{"http://schemas.openid.net/event/backchannel-logout":{}}}),
            Err(InvalidToken::NotAccessToken),
        ),
        (json!({"typ":"Bearer"}), Ok(())),
    ];
    for (claims, expected) in cases {
        assert_eq!(
            check_access_token(&object(claims.clone()), false),
            expected,
            "{claims}"
        );
    }
    assert_eq!(
        check_access_token(&object(json!({"typ":"Logout"})), true),
        Err(InvalidToken::NotAccessToken)
    );
}

/// The indexing decoder (issue 11): escaped keys are compared decoded, large objects
/// switch to a hash set, and everything a `Value` parse refused is still refused.
#[test]
fn indexed_decoding_refuses_what_a_value_parse_refused() {
    let ok_header = r#"{"alg":"RS256"}"#;
    let many: String = (0..40).map(|i| format!(r#""k{i}":{i},"#)).collect();
    for payload in [
        r#"{"\u0072oles":["admin"],"roles":["user"]}"#.to_owned(),
        r#"{"ext":{"\u0072oles":1,"roles":2}}"#.to_owned(),
        r#"{"a":1,"b":2,"a":3}"#.to_owned(),
        format!(r#"{{{many}"k7":0}}"#),
        format!(r#"{{"ext":{{{many}"k39":0}}}}"#),
        r#"{"exp":1e400}"#.to_owned(),
        r#"{"x":[1e400]}"#.to_owned(),
        r#"{"sub":"\ud800"}"#.to_owned(),
        r#"{"sub":"a"} {"#.to_owned(),
        r#"["sub"]"#.to_owned(),
        r#"{"sub":"a",}"#.to_owned(),
    ] {
        let t = token(ok_header, &payload);
        match parse(&t, 4096) {
            Ok(_) => panic!("accepted {payload}"),
            Err(e) => assert_eq!(e, InvalidToken::Malformed, "{payload}"),
        }
    }
}

#[test]
fn indexed_claims_read_like_the_decoded_map() {
    let payload = r#"{"s\u0075b":"a\"b","n":-12.5,"d":1700000000,"zero":0,"m":-0,"neg":-5,"big":18446744073709551615,"t":true,"z":null,"arr":["x","\u0079"],"o":{"roles":["r"]},"many":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17}}"#;
    let t = token(r#"{"alg":"RS256"}"#, payload);
    let jws = parse(&t, 4096).expect("valid claims parse");
    let map: Object = serde_json::from_str(payload).expect("valid JSON");
    for name in [
        "sub", "n", "d", "zero", "m", "neg", "big", "t", "z", "absent",
    ] {
        assert_eq!(jws.claims.claim(name), map.claim(name), "{name}");
    }
    assert_eq!(jws.claims.str("sub").as_deref(), Some("a\"b"));
    match jws.claims.claim("arr") {
        Some(Claim::Array(items)) => assert_eq!(items.strings(), Ok(vec!["x".into(), "y".into()])),
        other => panic!("arr read as {other:?}"),
    }
    match jws.claims.claim("o") {
        Some(Claim::Object(o)) => assert_eq!(
            o.member("roles").map(|r| matches!(r, Claim::Array(_))),
            Some(true)
        ),
        other => panic!("o read as {other:?}"),
    }
    assert_eq!(jws.claims.len(), map.len());
    assert_eq!(jws.claims.map(), &map);
}

/// CONTRACT.md's definition: three dot-separated base64url segments whose first decodes to
/// a JSON object. Anything else is opaque (and goes to introspection when configured).
#[test]
fn a_jws_is_three_base64url_segments_with_an_object_first() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let array = URL_SAFE_NO_PAD.encode(b"[1]");
    for (token, jws) in [
        (format!("{header}.e30.c2ln"), true),
        (format!("{header}.e30."), true),
        (format!("{header}.e30"), false),
        (format!("{header}.e30.c2ln.x"), false),
        (format!("{array}.e30.c2ln"), false),
        (format!("{header}.e3+0.c2ln"), false),
        (format!("{header}=.e30.c2ln"), false),
        ("ory_at_Zm9vYmFy.c2lnbmF0dXJl".to_owned(), false),
        ("opaque-token".to_owned(), false),
        ("a.b.c".to_owned(), false),
        (".e30.c2ln".to_owned(), false),
    ] {
        assert_eq!(super::is_jws(&token), jws, "{token}");
    }
}

/// The split takes the first and the last `.` and leaves a `.` inside the payload to its
/// base64url decoding: a token with one more `.` anywhere (an empty segment, a dot at
/// either end, a fourth or fifth segment), at every payload length around the decoder's
/// blocks, is refused as malformed, with or without the header memo.
#[test]
fn one_more_dot_anywhere_is_refused() {
    let memo = HeaderMemo::default();
    let header = b64(r#"{"alg":"RS256","kid":"k1"}"#);
    let signature = URL_SAFE_NO_PAD.encode([5u8; 64]);
    for pad in 0..80 {
        let payload = b64(&format!(r#"{{"sub":"{}","exp":1}}"#, "a".repeat(pad)));
        let good = format!("{header}.{payload}.{signature}");
        assert!(parse(&good, 4096).is_ok(), "{good}");
        for at in 0..=good.len() {
            let mut bad = good.clone();
            bad.insert(at, '.');
            assert_eq!(
                parse(&bad, 4096).err(),
                Some(InvalidToken::Malformed),
                "{bad}"
            );
            let memoized = parse_with(&bad, 4096, Some(&memo)).err();
            assert_eq!(memoized, Some(InvalidToken::Malformed), "memo, {bad}");
        }
    }
    for bad in [
        ".", "..", "...", "....", "a..", "..a", ".a.", "a.b.c.", ".a.b.c",
    ] {
        assert_eq!(
            parse(bad, 4096).err(),
            Some(InvalidToken::Malformed),
            "{bad}"
        );
    }
}
