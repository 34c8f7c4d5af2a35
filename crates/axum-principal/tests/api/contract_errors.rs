//! Every row of CONTRACT.md's error table, through `AuthLayer` in front of a router.

use crate::common;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::AuthLayer;
use axum_principal_testkit::{Fault, KeyAlg};
use common::{build, config, get_with, issuer, router, send};

#[tokio::test]
async fn no_header_or_another_scheme_is_401_with_a_bare_challenge() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    for auth in [
        &[][..],
        &["Basic YWxhZGRpbjpvcGVuc2VzYW1l"][..],
        &["Token abc"][..],
    ] {
        let reply = send(&app, "/me", auth).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some("Bearer realm=\"api\""),
            "{auth:?}"
        );
        assert_eq!(reply.json()["error"], "missing_token");
    }
    // No token was read, so the issuer was never asked for keys.
    assert_eq!(issuer.jwks_requests() + issuer.discovery_requests(), 0);
}

#[tokio::test]
async fn malformed_header_is_400_invalid_request() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let token = issuer.user_token("alice");
    let two_tokens = format!("Bearer {token} {token}");
    let two_headers = format!("Bearer {token}");
    let cases: Vec<Vec<&str>> = vec![
        vec!["Bearer"],
        vec!["Bearer   "],
        vec![&two_tokens],
        vec!["Bearer abc,def"],
        vec!["Bearer a\"b"],
        vec![&two_headers, &two_headers],
    ];
    for auth in cases {
        let reply = send(&app, "/me", &auth).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{auth:?}");
        let challenge = reply.challenge.clone().expect("a refusal has a challenge");
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
        assert_eq!(reply.json()["error"], "invalid_request");
        assert!(!reply.body.contains(&token));
    }
}

#[tokio::test]
async fn invalid_tokens_are_401_invalid_token() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let good = issuer.user_token("alice");
    // Change one character in the middle of the signature (the last one may carry padding
    // bits, which would make the token malformed rather than badly signed).
    let mut bad_signature = good.clone().into_bytes();
    let at = bad_signature.len() - 20;
    bad_signature[at] = if bad_signature[at] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let bad_signature = String::from_utf8(bad_signature).expect("base64url text is ASCII");
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed", "not-a-jwt".to_owned(), "not a well-formed JWT"),
        ("bad signature", bad_signature, "signature is invalid"),
        (
            "expired",
            issuer.token().expires_in(-3600).sign(),
            "has expired",
        ),
        (
            "not yet valid",
            issuer.token().not_before_in(3600).sign(),
            "not valid yet",
        ),
        (
            "wrong iss",
            issuer
                .token()
                .claim("iss", "https://evil.example.com")
                .sign(),
            "issuer is not trusted",
        ),
        (
            "wrong aud",
            issuer.token().claim("aud", "https://other.example").sign(),
            "not meant for this audience",
        ),
        (
            "alg none",
            issuer.token().unsigned(),
            "signing algorithm is not accepted",
        ),
        (
            "HS256 without a secret",
            issuer.token().sign_hs256(&[7u8; 32]),
            "signing algorithm is not accepted",
        ),
        (
            "unknown key after refresh",
            issuer.token().kid("no-such-key").sign(),
            "unknown key",
        ),
    ];
    for (name, token, description) in cases {
        let reply = get_with(&app, "/me", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        let challenge = reply.challenge.clone().expect("a refusal has a challenge");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
        let body = reply.json();
        assert_eq!(body["error"], "invalid_token", "{name}");
        assert!(body["error_description"].is_string(), "{name}");
        assert!(
            !reply.body.contains(&token),
            "{name}: body echoes the token"
        );
        let text = body["error_description"]
            .as_str()
            .expect("a refusal has a description");
        assert!(text.contains(description), "{name}: {text}");
    }
}

#[tokio::test]
async fn guard_refusal_is_403_insufficient_scope() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let reply = get_with(&app, "/admin", &issuer.user_token("alice")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let challenge = reply.challenge.clone().expect("a refusal has a challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert_eq!(reply.json()["error"], "insufficient_scope");
    let admin = get_with(
        &app,
        "/admin",
        &issuer.user_token_with_roles("root", &["admin"]),
    )
    .await;
    assert_eq!(admin.status, StatusCode::OK);
    let machine = get_with(&app, "/admin", &issuer.machine_token("svc")).await;
    assert_eq!(machine.status, StatusCode::OK);
}

#[tokio::test]
async fn no_keys_obtainable_is_503_without_a_challenge() {
    let issuer = issuer().await;
    issuer.set_fault(Fault::Down);
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let token = issuer.token().alg(KeyAlg::Es256).sign();
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.challenge, None);
    let body = reply.json();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .expect("a refusal has a description")
            .contains("authorization server is unavailable"),
        "{body}"
    );
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    for alg in [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa] {
        let reply = get_with(
            &app,
            "/me",
            &issuer.token().alg(alg).claim("sub", "alice").sign(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.body);
        assert_eq!(reply.json()["subject"], "alice");
        assert_eq!(reply.json()["issuer"], issuer.issuer());
    }
}
