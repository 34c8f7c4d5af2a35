//! Hostile input: bad base64url, bad JSON (without overflowing the stack), and duplicate
//! members at any depth.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use common::hostile::*;

// ---------------------------------------------------------------------------------------------
// Bad base64url and bad JSON

fn to_standard_alphabet(s: &str) -> String {
    s.replace('-', "+").replace('_', "/")
}

fn non_canonical_last_char(seg: &str) -> String {
    // The last character of a segment whose length is 2 or 3 mod 4 carries unused low bits;
    // setting one gives a different text that a lenient decoder maps to the same bytes.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = seg.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        if let Some(i) = ALPHABET.iter().position(|c| c == last) {
            *last = ALPHABET[i ^ 1];
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn bad_base64url_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let token = issuer.user_token("alice");
    let (h, p, s) = parts(&token);
    assert_eq!(
        s.len() % 4,
        2,
        "an RS256 signature has 4 unused bits in its last char"
    );
    let mut standard = to_standard_alphabet(&token);
    if standard == token {
        standard = format!("{h}.{p}.+{s}");
    }
    let cases = vec![
        Case::bearer(
            "padding '=' on the signature",
            &format!("{token}="),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "padding '==' on the signature",
            &format!("{token}=="),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "standard alphabet ('+', '/') instead of base64url",
            &standard,
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'+' in the header segment",
            &format!("+{h}.{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'/' in the payload segment",
            &format!("{h}.{p}/.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'~' in the signature segment",
            &format!("{h}.{p}.{s}~"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "one extra character (impossible length)",
            &format!("{h}A.{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "non-canonical trailing bits in the signature",
            &format!("{h}.{p}.{}", non_canonical_last_char(&s)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "empty header, payload and signature",
            "..",
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "base64url of base64url (double encoding)",
            &format!("{}.{}.{s}", b64url(h.as_bytes()), b64url(p.as_bytes())),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

#[tokio::test]
async fn bad_json_is_refused_without_overflowing_the_stack() {
    let issuer = real_issuer().await;
    // A large cap so the nesting reaches the JSON parser.
    let app = app(config(&issuer).max_token_bytes(1 << 20));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let header = rs_header(&issuer);
    let payload = Value::Object(claims(&issuer)).to_string();
    let with_claim_text = |name: &str, raw: &str| {
        let mut c = payload.clone();
        c.pop();
        format!("{c},\"{name}\":{raw}}}")
    };
    let signed = |h: &str, p: &str| rs_signed(&issuer, h, p);
    let unsigned_bytes =
        |h: &[u8], p: &[u8]| format!("{}.{}.{}", b64url(h), b64url(p), b64url(b"sig"));
    let mut cases = vec![
        Case::bearer("header is an array", &signed("[\"RS256\"]", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is a string", &signed("\"RS256\"", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is null", &signed("null", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is a number", &signed("1", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is unterminated", &signed("{\"alg\":\"RS256\"", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with single quotes", &signed("{'alg':'RS256'}", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with a comment", &signed("{\"alg\":\"RS256\"/*x*/}", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with trailing garbage", &signed(&format!("{header}x"), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with a byte-order mark", &signed(&format!("\u{feff}{header}"), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is an array", &signed(&header, &format!("[{payload}]")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is a string", &signed(&header, "\"alice\""), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is empty", &signed(&header, ""), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with trailing garbage", &signed(&header, &format!("{payload}garbage")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload followed by a second object", &signed(&header, &format!("{payload}{{}}")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a trailing comma", &signed(&header, &format!("{},}}", &payload[..payload.len() - 1])), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with NaN", &signed(&header, &with_claim_text("x", "NaN")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with Infinity", &signed(&header, &with_claim_text("x", "Infinity")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a lone surrogate", &signed(&header, &with_claim_text("x", "\"\\ud800\"")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a raw control character", &signed(&header, &with_claim_text("x", "\"a\u{1}b\"")), Expect::Invalid(MALFORMED)),
        Case::bearer("invalid UTF-8 in the payload JSON", &unsigned_bytes(header.as_bytes(), &[b"{\"sub\":\"".as_slice(), b"\xff\xfe", b"\"}"].concat()), Expect::Invalid(MALFORMED)),
        Case::bearer("invalid UTF-8 in the header JSON", &unsigned_bytes(b"{\"alg\":\"RS\xff256\"}", payload.as_bytes()), Expect::Invalid(MALFORMED)),
        Case::bearer("overlong UTF-8 encoding in the payload", &unsigned_bytes(header.as_bytes(), b"{\"sub\":\"\xc0\xaf\"}"), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays in a claim", &signed(&header, &with_claim_text("deep", &nested_arrays(10_000))), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested objects in a claim", &signed(&header, &with_claim_text("deep", &nested_objects(10_000))), Expect::Invalid(MALFORMED)),
        Case::bearer("129 nested arrays (just past serde_json's limit)", &signed(&header, &with_claim_text("deep", &nested_arrays(129))), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays as the payload", &signed(&header, &nested_arrays(10_000)), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays in the header", &signed(&format!("{{\"alg\":\"RS256\",\"x\":{}}}", nested_arrays(10_000)), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = 1e400 (overflows f64)", &signed(&header, &with_claim_text("exp", "1e400").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = -1e400", &signed(&header, &with_claim_text("exp", "-1e400").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = -1", &signed(&header, &claims_with(&issuer, "exp", json!(-1))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = 0", &signed(&header, &claims_with(&issuer, "exp", json!(0))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = i64::MIN", &signed(&header, &claims_with(&issuer, "exp", json!(i64::MIN))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = -1e300 (beyond i64 seconds)", &signed(&header, &claims_with(&issuer, "exp", json!(-1e300))), Expect::Invalid(CLAIM)),
        Case::bearer("exp = -(10^30), a huge negative integer (beyond i64)", &signed(&header, &with_claim_text("exp", "-1000000000000000000000000000000").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 10^30, a huge positive integer (regression: was clamped to i64::MAX and accepted)", &signed(&header, &with_claim_text("exp", "1000000000000000000000000000000").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = u64::MAX (beyond i64; was accepted)", &signed(&header, &claims_with(&issuer, "exp", json!(u64::MAX))), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 2^63 as a float (first value beyond i64)", &signed(&header, &with_claim_text("exp", "9223372036854775808.0").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 1e300 (beyond i64; was accepted)", &signed(&header, &claims_with(&issuer, "exp", json!(1e300))), Expect::Invalid(CLAIM)),
        Case::bearer("nbf = -(10^30) (beyond i64)", &signed(&header, &with_claim_text("nbf", "-1000000000000000000000000000000")), Expect::Invalid(CLAIM)),
        Case::bearer("iat = u64::MAX (beyond i64)", &signed(&header, &claims_with(&issuer, "iat", json!(u64::MAX))), Expect::Invalid(CLAIM)),
        Case::bearer("nbf = 1e400", &signed(&header, &with_claim_text("nbf", "1e400")), Expect::Invalid(MALFORMED)),
        Case::bearer("iat = 1e400", &signed(&header, &with_claim_text("iat", "1e400")), Expect::Invalid(MALFORMED)),
    ];
    // The same nesting under the default cap: refused as too large, before parsing.
    let default_cap = self::app(config(&issuer));
    run(&app, std::mem::take(&mut cases)).await;
    cases.push(Case::bearer(
        "10 000 nested arrays, default cap",
        &signed(&header, &with_claim_text("deep", &nested_arrays(10_000))),
        Expect::Invalid(TOO_LARGE),
    ));
    run(&default_cap, cases).await;
}

#[tokio::test]
async fn duplicate_members_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let body = &payload[1..payload.len() - 1];
    let evil_iss = "http://127.0.0.1:1/evil";
    let cases = vec![
        Case::bearer(
            "header alg twice (same value)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice (none, then RS256)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice (RS256, then none)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"kid\":\"{rs}\",\"alg\":\"none\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header kid twice",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice, one escaped (\\u0061lg)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"\\u0061lg\":\"none\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload sub twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"sub\":\"admin\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload sub twice, one escaped (s\\u0075b)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"s\\u0075b\":\"admin\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload iss twice (evil first)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{\"iss\":\"{evil_iss}\",{body}}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload iss twice (evil last)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"iss\":\"{evil_iss}\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload exp twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"exp\":1}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload aud twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"aud\":\"other\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn duplicate_members_are_refused_at_any_depth() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer).roles_claim("ext.roles"));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let body = &payload[1..payload.len() - 1];
    let with = |extra: &str| format!("{{{body},{extra}}}");
    let header = rs_header(&issuer);
    let cases = vec![
        Case::bearer(
            "ext.roles twice (user, then admin)",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""ext":{"roles":["user"],"roles":["admin"]}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "realm_access.roles twice",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""realm_access":{"roles":[],"roles":["admin"]}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "duplicate in an object inside an array",
            &rs_signed(&issuer, &header, &with(r#""list":[{"a":1},{"b":1,"b":2}]"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "duplicate three objects deep",
            &rs_signed(&issuer, &header, &with(r#""a":{"b":{"c":{"d":1,"d":1}}}"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "act.sub twice",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""act":{"sub":"svc","sub":"admin"}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "cnf.jkt twice",
            &rs_signed(&issuer, &header, &with(r#""cnf":{"jkt":"a","jkt":"b"}"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header: jwk.kty twice",
            &rs_signed(
                &issuer,
                &format!(r#"{{"alg":"RS256","kid":"{rs}","jwk":{{"kty":"RSA","kty":"oct"}}}}"#),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
    let roles = rs_signed(
        &issuer,
        &header,
        &with(r#""ext":{"roles":["user"],"n":[{"roles":["x"]}]}"#),
    );
    assert_accepts(&app, &roles).await;
}
