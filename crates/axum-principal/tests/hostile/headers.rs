//! Hostile input: oversized tokens, odd `Authorization` headers, several of them, and tokens
//! anywhere but the `Authorization` header.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::hostile::*;
use common::send_request;

// ---------------------------------------------------------------------------------------------
// Sizes and odd `Authorization` headers

/// A validly signed token of exactly `len` bytes, if one can be made (a `pad` claim and a
/// header member adjust the length).
fn token_of_len(issuer: &MockIssuer, len: usize) -> Option<String> {
    for header_pad in 0..4 {
        let mut header = json!({"alg":"RS256","typ":"JWT","kid": kid(issuer, KeyAlg::Rs256)});
        header["x"] = json!("y".repeat(header_pad));
        let header = header.to_string();
        let empty = rs_signed(issuer, &header, &claims_with(issuer, "pad", json!("")));
        if empty.len() > len {
            return None;
        }
        let mut pad = (len - empty.len()) * 3 / 4;
        while pad > 0
            && rs_signed(
                issuer,
                &header,
                &claims_with(issuer, "pad", json!("p".repeat(pad))),
            )
            .len()
                > len
        {
            pad -= 1;
        }
        for p in pad..pad + 4 {
            let t = rs_signed(
                issuer,
                &header,
                &claims_with(issuer, "pad", json!("p".repeat(p))),
            );
            if t.len() == len {
                return Some(t);
            }
        }
    }
    None
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_any_key_fetch() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let over = token_of_len(&issuer, CAP + 1).or_else(|| token_of_len(&issuer, CAP + 2));
    let over = over.expect("a signed token just over the cap");
    assert!(over.len() > CAP && over.len() <= CAP + 2, "{}", over.len());
    let huge_payload = claims_with(&issuer, "pad", json!("p".repeat(64 * 1024)));
    let cases = vec![
        Case::bearer(
            format!("validly signed token of {} bytes (cap {CAP})", over.len()),
            &over,
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB of 'A'",
            &"A".repeat(64 * 1024),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB validly signed token",
            &rs_signed(&issuer, &rs_header(&issuer), &huge_payload),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB of dots",
            &".".repeat(64 * 1024),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::header(
            "64 KiB of '!' (not b64token)",
            format!("Bearer {}", "!".repeat(64 * 1024)),
            Expect::BadRequest,
        ),
        Case::header(
            "Bearer and 64 KiB of spaces",
            format!("Bearer{}", " ".repeat(64 * 1024)),
            Expect::BadRequest,
        ),
        Case::header(
            "64 KiB of 'A' without a scheme",
            "A".repeat(64 * 1024),
            Expect::NoToken,
        ),
    ];
    run(&app, cases).await;
    assert_eq!(
        issuer.request_log(),
        Vec::<String>::new(),
        "keys were fetched for an oversized token"
    );
    // The cap is exact: a validly signed token of exactly the cap is accepted.
    let at_cap = token_of_len(&issuer, CAP).or_else(|| token_of_len(&issuer, CAP - 1));
    assert_accepts(&app, &at_cap.expect("a signed token at the cap")).await;
}

#[tokio::test]
async fn odd_authorization_headers_get_the_contract_status() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let token = issuer.user_token("alice");
    let t = token.as_str();
    let (h, p, s) = parts(t);
    let jwe_header = b64url(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let cases = vec![
        Case::header(
            "Bearer + tab + token (tab is not SP: no Bearer credentials)",
            format!("Bearer\t{t}"),
            Expect::NoToken,
        ),
        Case::header("token without a scheme", t, Expect::NoToken),
        Case::header(
            "Bearer: token (colon)",
            format!("Bearer: {t}"),
            Expect::NoToken,
        ),
        Case::header("Bearer=token", format!("Bearer={t}"), Expect::NoToken),
        Case::header("JWT scheme", format!("JWT {t}"), Expect::NoToken),
        Case::header("DPoP scheme", format!("DPoP {t}"), Expect::NoToken),
        Case::header(
            "Basic with the token as credentials",
            format!("Basic {}", STANDARD.encode(format!("{t}:"))),
            Expect::NoToken,
        ),
        Case::header("Bearer and a tab only", "Bearer \t", Expect::BadRequest),
        Case::header(
            "two tokens separated by a tab",
            format!("Bearer {t}\t{t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two tokens separated by spaces",
            format!("Bearer {t}   {t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two tokens separated by a comma",
            format!("Bearer {t},{t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two credentials, comma and scheme",
            format!("Bearer {t}, Bearer {t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "token in quotes",
            format!("Bearer \"{t}\""),
            Expect::BadRequest,
        ),
        Case::header(
            "non-ASCII (obs-text) byte in the token",
            [b"Bearer ".as_slice(), t.as_bytes(), b"\xc3\xa9"].concat(),
            Expect::BadRequest,
        ),
        Case::header(
            "'=' inside a segment",
            format!("Bearer {h}=.{p}.{s}"),
            Expect::BadRequest,
        ),
        Case::bearer(
            "JWE shape: 5 segments",
            &format!(
                "{jwe_header}.{}.{}.{}.{}",
                b64url(b"k"),
                b64url(b"iv"),
                b64url(b"ct"),
                b64url(b"tag")
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "valid token plus two more segments",
            &format!("{t}.{s}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "4 segments: valid token and a trailing dot",
            &format!("{t}."),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "2 segments: header.payload",
            &format!("{h}.{p}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "1 segment: the payload alone",
            &p,
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer("only dots", "..", Expect::Invalid(MALFORMED)),
        Case::bearer(
            "empty header segment",
            &format!(".{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "empty payload segment",
            &format!("{h}..{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer("leading dot", &format!(".{t}"), Expect::Invalid(MALFORMED)),
    ];
    run(&app, cases).await;
    assert_eq!(issuer.jwks_requests(), 0);
}

/// Formatting RFC 6750 and RFC 9110 allow around a valid token: accepted, and recorded here
/// so that a change is deliberate. (`credentials = "Bearer" 1*SP b64token`; OWS around a
/// field value is not part of it.)
#[tokio::test]
async fn tolerated_formatting_around_a_valid_token() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    for value in [
        format!("Bearer {t}"),
        format!("bearer {t}"),
        format!("BEARER {t}"),
        format!("Bearer {}{t}", " ".repeat(10_000)),
        format!("Bearer {t}   "),
        format!("Bearer {t}\t"),
    ] {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, value.as_str())
            .body(Body::empty());
        let out = send_request(&app, request.expect("a valid request")).await;
        assert_eq!(
            out.status,
            StatusCode::OK,
            "{:?}",
            &value[..value.len().min(40)]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Where the token may not come from

#[tokio::test]
async fn several_authorization_headers_are_a_bad_request() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    let u = issuer.user_token("bob");
    let bearer = |x: &str| format!("Bearer {x}").into_bytes();
    let cases = vec![
        Case::header_values(
            "two valid tokens in two headers",
            vec![bearer(&t), bearer(&u)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "the same valid token twice",
            vec![bearer(&t), bearer(&t)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and an empty header",
            vec![bearer(&t), Vec::new()],
            Expect::BadRequest,
        ),
        Case::header_values(
            "empty header and a valid token",
            vec![Vec::new(), bearer(&t)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and Basic credentials",
            vec![bearer(&t), b"Basic dXNlcjpwYXNz".to_vec()],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and a garbage token",
            vec![bearer(&t), bearer("garbage")],
            Expect::BadRequest,
        ),
        Case::header_values("ten valid tokens", vec![bearer(&t); 10], Expect::BadRequest),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn tokens_outside_the_authorization_header_are_ignored() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    let mut cases = Vec::new();
    for param in ["access_token", "token", "id_token", "bearer"] {
        let mut c = Case::header_values(
            format!("query string ?{param}=<valid>, no header"),
            Vec::new(),
            Expect::NoToken,
        );
        c.path = format!("/me?{param}={t}");
        c.secret(&t);
        cases.push(c);
    }
    let mut c = Case::header_values(
        "form body access_token=<valid> (POST), no header",
        Vec::new(),
        Expect::NoToken,
    );
    c.method = Method::POST;
    c.other_headers
        .push(("content-type", "application/x-www-form-urlencoded".into()));
    c.body = format!("access_token={t}");
    c.secret(&t);
    cases.push(c);
    let mut c = Case::header_values(
        "JSON body {\"access_token\":<valid>} (POST), no header",
        Vec::new(),
        Expect::NoToken,
    );
    c.method = Method::POST;
    c.other_headers
        .push(("content-type", "application/json".into()));
    c.body = json!({"access_token": t}).to_string();
    c.secret(&t);
    cases.push(c);
    for (name, value) in [
        ("cookie", format!("access_token={t}")),
        ("x-access-token", t.clone()),
        ("x-forwarded-authorization", format!("Bearer {t}")),
        ("proxy-authorization", format!("Bearer {t}")),
        ("authorization-bearer", t.clone()),
    ] {
        let mut c = Case::header_values(
            format!("{name} header with the token, no Authorization"),
            Vec::new(),
            Expect::NoToken,
        );
        c.other_headers.push((name, value));
        c.secret(&t);
        cases.push(c);
    }
    run(&app, cases).await;
    assert_eq!(issuer.request_log(), Vec::<String>::new());
}
