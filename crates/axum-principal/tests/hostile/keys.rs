//! Hostile input: keys named or embedded by the token itself (`jwk`, `jku`, `x5u`, `x5c`;
//! RFC 8725 §3.10, RFC 7515 §4.1), never used or fetched, and `kid` tricks.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use common::hostile::*;

// ---------------------------------------------------------------------------------------------
// RFC 8725 §3.10 and RFC 7515 §4.1: keys named or embedded by the token itself

#[tokio::test]
async fn keys_injected_through_jwk_jku_x5u_x5c_are_never_used_or_fetched() {
    let issuer = real_issuer().await;
    let evil = attacker().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let mut cases = Vec::new();
    for alg in KeyAlg::ALL {
        let evil_kid = kid(&evil, alg);
        let evil_jwk = evil
            .public_jwk(&evil_kid)
            .expect("the attacker publishes its key");
        let real_kid = kid(&issuer, alg);
        let by_evil = |header: Value| evil.sign_raw(&header.to_string(), &payload, Some(&evil_kid));
        let a = alg.as_str();
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, attacker's kid"),
            &by_evil(json!({"alg": a, "kid": evil_kid, "jwk": evil_jwk})),
            Expect::Invalid(UNKNOWN_KEY),
        ));
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, real kid"),
            &by_evil(json!({"alg": a, "kid": real_kid, "jwk": evil_jwk})),
            Expect::Invalid(SIGNATURE),
        ));
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, no kid"),
            &by_evil(json!({"alg": a, "jwk": evil_jwk})),
            Expect::Invalid(SIGNATURE),
        ));
        for (member, url) in [
            ("jku", evil.jwks_uri()),
            ("x5u", evil.jwks_uri()),
            ("jku", evil.discovery_url()),
        ] {
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, attacker's kid"),
                &by_evil(json!({"alg": a, "kid": evil_kid, member: url})),
                Expect::Invalid(UNKNOWN_KEY),
            ));
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, real kid"),
                &by_evil(json!({"alg": a, "kid": real_kid, member: url})),
                Expect::Invalid(SIGNATURE),
            ));
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, no kid"),
                &by_evil(json!({"alg": a, member: url})),
                Expect::Invalid(SIGNATURE),
            ));
        }
        for x5c in [
            json!(["MIIjunk"]),
            json!(["!!not base64!!"]),
            json!([]),
            json!("MIIB"),
            json!([{"x":1}]),
        ] {
            cases.push(Case::bearer(
                format!("{a}: junk `x5c` {x5c}, real kid, attacker's signature"),
                &by_evil(json!({"alg": a, "kid": real_kid, "x5c": x5c})),
                Expect::Invalid(SIGNATURE),
            ));
        }
        cases.push(Case::bearer(
            format!("{a}: everything at once (jwk + jku + x5u + x5c), attacker's kid"),
            &by_evil(
                json!({"alg": a, "kid": evil_kid, "jwk": evil_jwk, "jku": evil.jwks_uri(),
                "x5u": evil.jwks_uri(), "x5c": ["MIIjunk"]}),
            ),
            Expect::Invalid(UNKNOWN_KEY),
        ));
    }
    // The attacker's own, perfectly valid, token for its own issuer.
    cases.push(Case::bearer(
        "a valid token of an untrusted issuer",
        &evil.user_token("alice"),
        Expect::Invalid(ISSUER),
    ));
    run(&app, cases).await;
    assert_eq!(
        evil.request_log(),
        Vec::<String>::new(),
        "the attacker's server was contacted"
    );
}

// ---------------------------------------------------------------------------------------------
// `kid` tricks

#[tokio::test]
async fn kid_tricks_are_refused() {
    let issuer = real_issuer().await;
    let evil = attacker().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = Value::Object(claims(&issuer)).to_string();
    let rs = kid(&issuer, KeyAlg::Rs256);
    let es = kid(&issuer, KeyAlg::Es256);
    let long_kid = "k".repeat(10 * 1024);
    let mut cases = Vec::new();
    let strings: Vec<(&str, String)> = vec![
        ("path traversal", "../../dev/null".into()),
        ("absolute path", "/etc/passwd".into()),
        ("file URL", "file:///dev/null".into()),
        ("SQL injection", "' OR 1=1--".into()),
        ("SQL injection, real kid prefix", format!("{rs}' OR '1'='1")),
        ("empty string", String::new()),
        ("a NUL", "\u{0}".into()),
        ("real kid + NUL", format!("{rs}\u{0}")),
        ("real kid + space", format!("{rs} ")),
        ("real kid upper-cased", rs.to_uppercase()),
        ("real kid as a prefix", rs[..rs.len() - 1].to_owned()),
        ("the EC key's kid under RS256", es.clone()),
        ("the attacker's kid", kid(&evil, KeyAlg::Rs256)),
        ("10 KiB long", long_kid.clone()),
    ];
    for (what, k) in &strings {
        cases.push(Case::bearer(
            format!("kid {what}, real RS256 signature"),
            &rs_signed(
                &issuer,
                &json!({"alg":"RS256","kid": k}).to_string(),
                &payload,
            ),
            Expect::Invalid(UNKNOWN_KEY),
        ));
    }
    let long = rs_signed(
        &issuer,
        &json!({"alg":"RS256","kid": long_kid}).to_string(),
        &payload,
    );
    assert!(
        long.len() < CAP,
        "the long-kid token must stay under the cap"
    );
    for k in [
        json!(1),
        json!(-0.5),
        json!({"kid": rs}),
        json!([rs]),
        json!(null),
        json!(true),
    ] {
        cases.push(Case::bearer(
            format!("kid of the wrong type: {k}"),
            &rs_signed(
                &issuer,
                &json!({"alg":"RS256","kid": k}).to_string(),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ));
    }
    let evil_kid = kid(&evil, KeyAlg::Rs256);
    cases.push(Case::bearer(
        "kid of another issuer's key, signed by that key, our iss",
        &evil.sign_raw(
            &json!({"alg":"RS256","kid": evil_kid}).to_string(),
            &payload,
            Some(&evil_kid),
        ),
        Expect::Invalid(UNKNOWN_KEY),
    ));
    cases.push(Case::bearer(
        "real kid, signed by another issuer's key",
        &evil.sign_raw(
            &json!({"alg":"RS256","kid": rs}).to_string(),
            &payload,
            Some(&evil_kid),
        ),
        Expect::Invalid(SIGNATURE),
    ));
    run(&app, cases).await;
    assert!(evil.request_log().is_empty());
}
