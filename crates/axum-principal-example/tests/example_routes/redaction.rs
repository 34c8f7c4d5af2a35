//! `AUTHZ_REDIS_URL` (and any other URL) never shows its password: not in the start-up
//! error line, not in a problem's `Display` or `Debug`, not in the settings' or the
//! connection's `Debug`, whether the URL is valid or not.

use axum_principal_example::{config_error_line, rate_limit_layer, redis_connection};

use crate::support::*;

const SECRET: &str = "s3cret-Pa55";

fn assert_hidden(text: &str, what: &str) {
    assert!(!text.contains(SECRET), "{what} shows the password: {text}");
    assert!(!text.contains("s3cret"), "{what} shows part of it: {text}");
}

#[test]
fn a_bad_redis_url_never_shows_its_password() {
    let bad = [
        format!("redis://:{SECRET}@redis:notaport"),
        format!("redis://user:{SECRET}@redis:notaport"),
        format!("redis://user:{SECRET}@redis:6379/notadb"),
        format!("redis://user:{SECRET}@"),
        format!("redis://:{SECRET} x@redis:port"),
        format!("redis://:s3cret\"{SECRET}@redis:x"),
        format!("http://:{SECRET}@redis:6379"),
        format!("redis//:{SECRET}@redis:6379"),
    ];
    for url in bad {
        let problem =
            settings(&[("AUTHZ_REDIS_URL", &url)]).expect_err("an unusable Redis URL is refused");
        assert_eq!(problem.variable, "AUTHZ_REDIS_URL");
        assert_hidden(&config_error_line(&problem), "the start-up error line");
        assert_hidden(&problem.to_string(), "Display");
        assert_hidden(&format!("{problem:?}"), "Debug");
        assert!(
            config_error_line(&problem).starts_with("configuration error: AUTHZ_REDIS_URL: "),
            "{}",
            config_error_line(&problem)
        );
    }
}

#[test]
fn a_valid_redis_url_with_a_password_is_kept_but_never_shown() {
    for url in [
        format!("redis://:{SECRET}@redis:6379"),
        format!("redis://user:{SECRET}@redis:6379/2"),
        // The client accepts (and encodes) a space in the password.
        format!("redis://:{SECRET} x@redis:6379"),
        // TLS (CONTRACT.md: `rediss://` for TLS).
        format!("rediss://:{SECRET}@redis.example.com:6380"),
    ] {
        let s = settings(&[("AUTHZ_REDIS_URL", &url), ("AUTHZ_RATE_LIMIT", "5,5")])
            .expect("a valid URL");
        // The connection still gets the password …
        assert_eq!(s.redis_url.as_deref(), Some(url.as_str()));
        // … and nothing shows it.
        assert_hidden(&format!("{s:?}"), "Settings' Debug");
        let redis = redis_connection(&s).expect("valid").expect("set");
        assert_hidden(&format!("{redis:?}"), "the connection's Debug");
        let limits = rate_limit_layer(&s, Some(&redis)).expect("AUTHZ_RATE_LIMIT is set");
        assert_hidden(&format!("{limits:?}"), "the rate limit's Debug");
    }
}

#[test]
fn other_urls_with_credentials_are_not_shown_either() {
    let cases = [
        (
            "AUTHZ_ISSUER",
            format!("http://user:{SECRET}@idp.example.com"),
        ),
        (
            "AUTHZ_ISSUER",
            format!("https://user:{SECRET}@idp.example.com:bad"),
        ),
        (
            "AUTHZ_RESOURCE",
            format!("ftp://user:{SECRET}@api.example.com"),
        ),
    ];
    for (variable, url) in cases {
        let problem = settings(&[(variable, &url), ("AUTHZ_AUDIENCE", "api")])
            .expect_err("a URL the settings refuse");
        assert_eq!(problem.variable, variable, "{problem}");
        assert_hidden(&config_error_line(&problem), "the start-up error line");
        assert_hidden(&format!("{problem:?}"), "Debug");
    }
    let jwks = format!("https://user:{SECRET}@idp.example.com/jwks");
    let s = settings(&[
        ("AUTHZ_ISSUER", "https://idp.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", &jwks),
    ])
    .expect("valid");
    assert_hidden(&format!("{s:?}"), "Settings' Debug");
}
