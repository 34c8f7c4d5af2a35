//! Hostile input: look-alike issuers (refused without network I/O), a wrong `typ` in strict
//! mode, and claims of the wrong type.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use axum_principal::{Classifier, InvalidToken, Preset, TypPolicy};
use common::hostile::*;

// ---------------------------------------------------------------------------------------------
// Look-alike issuers, wrong `typ`

#[tokio::test]
async fn look_alike_issuers_are_refused_without_network_io() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let real = issuer.issuer().to_owned();
    let port = real
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .expect("the issuer URL has a port")
        .to_owned();
    let look_alikes: Vec<(&str, Value)> = vec![
        ("trailing slash", json!(format!("{real}/"))),
        ("upper-case scheme", json!(real.replacen("http", "HTTP", 1))),
        ("different path case", json!(real.replace("main", "Main"))),
        (
            "https instead of http",
            json!(real.replacen("http", "https", 1)),
        ),
        (
            "Cyrillic homoglyph in the path",
            json!(real.replace("main", "m\u{0430}in")),
        ),
        (
            "issuer as a host prefix",
            json!(format!("http://127.0.0.1:{port}.evil.com/realms/main")),
        ),
        (
            "userinfo trick",
            json!(format!("http://127.0.0.1:{port}@evil.com/realms/main")),
        ),
        (
            "localhost instead of 127.0.0.1",
            json!(format!("http://localhost:{port}/realms/main")),
        ),
        (
            "short IPv4 form",
            json!(format!("http://127.1:{port}/realms/main")),
        ),
        (
            "IPv4-mapped IPv6",
            json!(format!("http://[::ffff:127.0.0.1]:{port}/realms/main")),
        ),
        (
            "leading zero in the port",
            json!(format!("http://127.0.0.1:0{port}/realms/main")),
        ),
        ("dot segments", json!(format!("{real}/../main"))),
        ("percent-encoded slash", json!(format!("{real}%2F"))),
        ("query string", json!(format!("{real}?x=1"))),
        ("fragment", json!(format!("{real}#x"))),
        (
            "path prefix of the issuer",
            json!(real.trim_end_matches("/main")),
        ),
        ("the issuer plus a suffix", json!(format!("{real}2"))),
        ("leading space", json!(format!(" {real}"))),
        ("trailing NUL", json!(format!("{real}\u{0}"))),
        ("trailing newline", json!(format!("{real}\n"))),
        ("the attacker's issuer", json!("http://127.0.0.1:1/evil")),
        ("empty string", json!("")),
    ];
    let mut cases = Vec::new();
    for (what, iss) in look_alikes {
        let payload = claims_with(&issuer, "iss", iss.clone());
        cases.push(Case::bearer(
            format!("iss look-alike: {what} ({iss})"),
            &rs_signed(&issuer, &rs_header(&issuer), &payload),
            Expect::Invalid(ISSUER),
        ));
    }
    for iss in [json!([real]), json!({"iss": real}), json!(null), json!(1)] {
        cases.push(Case::bearer(
            format!("iss of the wrong type: {iss}"),
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &claims_with(&issuer, "iss", iss.clone()),
            ),
            Expect::Invalid(ISSUER),
        ));
    }
    let mut no_iss = claims(&issuer);
    no_iss.remove("iss");
    cases.push(Case::bearer(
        "no iss at all",
        &rs_signed(
            &issuer,
            &rs_header(&issuer),
            &Value::Object(no_iss).to_string(),
        ),
        Expect::Invalid(ISSUER),
    ));
    run(&app, cases).await;
    // The unverified `iss` picked no issuer: nothing was fetched from the real one.
    assert_eq!(issuer.request_log(), Vec::<String>::new());
    // The set-up is sound: the real issuer's token passes (and only now are keys fetched).
    assert_accepts(&app, &issuer.user_token("alice")).await;
    assert!(!issuer.request_log().is_empty());
}

#[tokio::test]
async fn wrong_typ_is_refused_in_strict_mode() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer).typ_policy(TypPolicy::StrictAccessToken));
    assert_accepts(&app, &issuer.token().header("typ", "at+jwt").sign()).await;
    let mut cases = vec![Case::bearer(
        "strict: typ missing",
        &issuer.token().without_header("typ").sign(),
        Expect::Invalid(BAD_TYP),
    )];
    for typ in [
        "JWT",
        "jwt",
        "jwt+at",
        "at+jwt ",
        " at+jwt",
        "at+jwt\u{0}",
        "at+jwt;v=1",
        "application/jwt",
        "application/at+jwt+x",
        "at%2Bjwt",
        "at jwt",
        "JOSE",
        "JOSE+JSON",
        "id_token+jwt",
        "logout+jwt",
        "",
    ] {
        cases.push(Case::bearer(
            format!("strict: typ {typ:?}"),
            &issuer.token().header("typ", typ).sign(),
            Expect::Invalid(BAD_TYP),
        ));
    }
    for typ in [json!(["at+jwt"]), json!(1), json!(null)] {
        cases.push(Case::bearer(
            format!("strict: typ of the wrong type {typ}"),
            &issuer.token().header("typ", typ.clone()).sign(),
            Expect::Invalid(MALFORMED),
        ));
    }
    run(&app, cases).await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let issuer = real_issuer().await;
    const M2M: &str = "https://example.com/is_m2m";
    let app = app(config(&issuer).classifier(Classifier::new(Preset::Generic).machine_claim(M2M)));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    assert_accepts(&app, &issuer.token().claim(M2M, true).sign()).await;
    // A client id of another JSON type is no client id, and no error (the contract: "a
    // numeric `client_id` makes that rule not fire; it is not an error").
    assert_accepts(&app, &issuer.token().claim("client_id", 5).sign()).await;
    assert_accepts(&app, &issuer.token().claim("azp", json!(["app"])).sign()).await;
    let aud = issuer.audience().to_owned();
    let table: Vec<(&str, Value, Option<InvalidToken>)> = vec![
        ("exp", json!("9999999999"), CLAIM),
        ("exp", json!(true), CLAIM),
        ("exp", json!([now() + 300]), CLAIM),
        ("exp", json!({"$date": now() + 300}), CLAIM),
        ("exp", json!(null), CLAIM),
        ("nbf", json!({}), CLAIM),
        ("nbf", json!("0"), CLAIM),
        ("iat", json!("now"), CLAIM),
        ("iat", json!([0]), CLAIM),
        ("aud", json!(5), CLAIM),
        ("aud", json!([aud, 5]), CLAIM),
        ("aud", json!([5, aud]), CLAIM),
        ("aud", json!({ aud.clone(): true }), CLAIM),
        ("aud", json!([[aud]]), CLAIM),
        ("aud", json!(null), CLAIM),
        ("aud", json!([]), AUDIENCE),
        ("aud", json!(""), AUDIENCE),
        ("aud", json!(format!("{aud} other")), AUDIENCE),
        ("iss", json!([issuer.issuer()]), ISSUER),
        ("sub", json!(5), CLAIM),
        ("sub", json!(["alice"]), CLAIM),
        ("sub", json!({"id":"alice"}), CLAIM),
        ("sub", json!(null), CLAIM),
        ("sub", json!(""), NO_SUBJECT),
        ("scope", json!(5), CLAIM),
        ("scope", json!({"read":true}), CLAIM),
        ("scope", json!([1, 2]), CLAIM),
        ("scp", json!(true), ANY),
        ("roles", json!({"admin":true}), CLAIM),
        ("roles", json!(5), CLAIM),
        ("roles", json!(["admin", 1]), CLAIM),
        (M2M, json!("true"), CLAIM),
        (M2M, json!(1), CLAIM),
        (M2M, json!("false"), CLAIM),
        (M2M, json!(null), CLAIM),
        (M2M, json!([true]), CLAIM),
    ];
    let mut cases = Vec::new();
    for (name, value, reason) in table {
        let payload = if name == "scp" {
            // `scp` is read only when `scope` is absent.
            let mut c = claims(&issuer);
            c.remove("scope");
            c.insert("scp".into(), value.clone());
            Value::Object(c).to_string()
        } else {
            claims_with(&issuer, name, value.clone())
        };
        cases.push(Case::bearer(
            format!("claim {name} = {value}"),
            &rs_signed(&issuer, &rs_header(&issuer), &payload),
            Expect::Invalid(reason),
        ));
    }
    run(&app, cases).await;
}
