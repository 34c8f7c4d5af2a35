//! Step-up authentication (RFC 9470) and scope matching through the real layer, with
//! tokens signed by the mock issuer: the 401 `insufficient_user_authentication` and every
//! parameter of its challenge, the leeway of the configuration applied to `auth_time`, the
//! scope named by every 401 (`challenge_scope`), and the configured `ScopeMatcher` deciding
//! the scope guards.

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::dpop::DpopConfig;
use axum_principal::guard::{MaxAgeSecs, RequireAuthContext};
use axum_principal::scope::ScopeMatcher;
use axum_principal::{
    guard_layer, names, AuthLayer, ConfigError, Guarded, RequireAllScopes, RequireScope,
};
use axum_principal_testkit::MockIssuer;
use common::{build, config, get_with, issuer, send, with_reason_header};

const MFA: &str = "urn:example:mfa";
const RESOURCE: &str = "https://api.example.test/api";
const METADATA: &str = "https://api.example.test/.well-known/oauth-protected-resource/api";

names!(Mfa = "urn:example:mfa");

/// `/mfa` (route layer), `/mfa-arg` (handler argument), `/files` and `/both` (scopes).
fn app(layer: AuthLayer) -> Router {
    async fn ok() -> &'static str {
        "ok"
    }
    async fn by_argument(_: Guarded<RequireAuthContext<Mfa, MaxAgeSecs<300>>>) -> &'static str {
        "ok"
    }
    Router::new()
        .route("/mfa", get(ok))
        .route_layer(guard_layer(
            RequireAuthContext::acr([MFA]).max_age(Duration::from_secs(300)),
        ))
        .route("/mfa-arg", get(by_argument))
        .merge(
            Router::new()
                .route("/files", get(ok))
                .route_layer(guard_layer(RequireScope::new("files:read"))),
        )
        .merge(
            Router::new()
                .route("/both", get(ok))
                .route_layer(guard_layer(RequireAllScopes::new([
                    "read",
                    "offline_access",
                ]))),
        )
        .layer(layer)
}

/// The parameters of a challenge, as `name=value` with quotes removed, scheme first.
fn params(challenge: &str) -> Vec<String> {
    let (scheme, rest) = challenge.split_once(' ').expect("a scheme and parameters");
    let mut all = vec![scheme.to_owned()];
    all.extend(
        rest.split(", ")
            .filter(|p| !p.starts_with("error_description="))
            .map(|p| p.replace('"', "")),
    );
    all
}

async fn step_up_app(issuer: &MockIssuer, leeway: u64) -> Router {
    let config = with_reason_header(config(issuer, &ManualClock::new()))
        .leeway(Duration::from_secs(leeway))
        .resource(RESOURCE)
        .audience(RESOURCE);
    app(AuthLayer::new(build(config)))
}

#[tokio::test]
async fn a_strong_recent_sign_in_passes_and_any_other_is_asked_to_step_up() {
    let issuer = issuer().await;
    let app = step_up_app(&issuer, 30).await;
    let token = |acr: Option<&str>, auth_time: Option<i64>| {
        let mut t = issuer.token().claim("sub", "alice").amr(["pwd", "otp"]);
        if let Some(acr) = acr {
            t = t.acr(acr);
        }
        if let Some(ago) = auth_time {
            t = t.auth_time_in(-ago);
        }
        t.sign()
    };
    for path in ["/mfa", "/mfa-arg"] {
        // At most 300 s old, plus the 30 s leeway (a little less, for the test's own time).
        for ago in [0, 300, 325] {
            let reply = get_with(&app, path, &token(Some(MFA), Some(ago))).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}, {ago} s old");
        }
        let refused = [
            (token(Some(MFA), Some(400)), "auth_time_too_old"),
            (token(Some(MFA), None), "auth_time_missing"),
            (token(None, Some(0)), "acr_missing"),
            (token(Some("urn:example:pwd"), Some(0)), "acr_not_accepted"),
            (
                issuer
                    .token()
                    .claim("acr", MFA)
                    .claim("auth_time", "now")
                    .sign(),
                "auth_time_missing",
            ),
        ];
        for (token, reason) in refused {
            let reply = get_with(&app, path, &token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} {reason}");
            assert_eq!(reply.reason.as_deref(), Some(reason), "{path}");
            let challenge = reply.challenge.clone().expect("a 401 has a challenge");
            assert_eq!(
                params(&challenge),
                [
                    "Bearer".to_owned(),
                    "realm=api".to_owned(),
                    "error=insufficient_user_authentication".to_owned(),
                    format!("acr_values={MFA}"),
                    "max_age=300".to_owned(),
                    format!("resource_metadata={METADATA}"),
                ],
                "{path} {reason}: {challenge}"
            );
            assert_eq!(reply.json()["error"], "insufficient_user_authentication");
        }
    }
}

#[tokio::test]
async fn without_leeway_the_boundary_is_max_age_itself() {
    let issuer = issuer().await;
    let app = step_up_app(&issuer, 0).await;
    let at = |ago: i64| issuer.token().acr(MFA).auth_time_in(-ago).sign();
    assert_eq!(
        get_with(&app, "/mfa", &at(290)).await.status,
        StatusCode::OK
    );
    let reply = get_with(&app, "/mfa", &at(320)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.reason.as_deref(), Some("auth_time_too_old"));
}

#[tokio::test]
async fn with_dpop_accepted_the_step_up_is_offered_under_both_schemes() {
    let issuer = issuer().await;
    let config =
        config(&issuer, &ManualClock::new()).dpop(DpopConfig::new("https://api.example.test"));
    let app = app(AuthLayer::new(build(config)));
    let token = issuer.token().acr("urn:example:pwd").auth_time_in(0).sign();
    let reply = send(&app, "/mfa", &[&format!("Bearer {token}")]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let all: Vec<String> = reply
        .headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        params(&all[0])[..3],
        [
            "Bearer",
            "realm=api",
            "error=insufficient_user_authentication"
        ]
    );
    let dpop = params(&all[1]);
    assert_eq!(
        dpop[..2],
        ["DPoP", "error=insufficient_user_authentication"]
    );
    assert!(dpop.iter().any(|p| p.starts_with("algs=")), "{dpop:?}");
    for challenge in &all {
        let p = params(challenge);
        assert!(p.contains(&format!("acr_values={MFA}")), "{p:?}");
        assert!(p.contains(&"max_age=300".to_owned()), "{p:?}");
    }
}

#[tokio::test]
async fn every_401_names_the_configured_scope_and_403s_never_name_offline_access() {
    let issuer = issuer().await;
    let config = config(&issuer, &ManualClock::new())
        .resource(RESOURCE)
        .audience(RESOURCE)
        .challenge_scope("mcp:tools")
        .challenge_scope("offline_access");
    let config = build(config);
    assert_eq!(config.challenge_scope(), Some("mcp:tools"));
    let app = app(AuthLayer::new(config));
    let expected = [
        "Bearer".to_owned(),
        "realm=api".to_owned(),
        "scope=mcp:tools".to_owned(),
        format!("resource_metadata={METADATA}"),
    ];
    let none = send(&app, "/files", &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(params(&none.challenge.expect("a challenge")), expected);
    let expired = get_with(&app, "/files", &issuer.token().expires_in(-600).sign()).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    let expired = params(&expired.challenge.expect("a challenge"));
    assert!(
        expired.contains(&"error=invalid_token".to_owned()),
        "{expired:?}"
    );
    assert!(
        expired.contains(&"scope=mcp:tools".to_owned()),
        "{expired:?}"
    );
    let forbidden = get_with(
        &app,
        "/both",
        &issuer.token().claim("scope", "other").sign(),
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        params(&forbidden.challenge.expect("a challenge")),
        [
            "Bearer".to_owned(),
            "realm=api".to_owned(),
            "error=insufficient_scope".to_owned(),
            "scope=read".to_owned(),
            format!("resource_metadata={METADATA}"),
        ]
    );
}

#[tokio::test]
async fn the_configured_matcher_decides_the_scope_guards() {
    let issuer = issuer().await;
    let with = |matcher: ScopeMatcher| {
        app(AuthLayer::new(build(
            config(&issuer, &ManualClock::new()).scope_matcher(matcher),
        )))
    };
    let exact = with(ScopeMatcher::exact());
    let wide = with(
        ScopeMatcher::exact()
            .prefix_wildcards()
            .implies("admin", ["read", "files:*"]),
    );
    let token = |scope: &str| issuer.token().claim("scope", scope).sign();
    let cases = [
        ("files:*", "/files", StatusCode::FORBIDDEN, StatusCode::OK),
        ("admin", "/files", StatusCode::FORBIDDEN, StatusCode::OK),
        (
            "admin offline_access",
            "/both",
            StatusCode::FORBIDDEN,
            StatusCode::OK,
        ),
        (
            "files:write",
            "/files",
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN,
        ),
        ("files:read", "/files", StatusCode::OK, StatusCode::OK),
    ];
    for (scope, path, exact_status, wide_status) in cases {
        assert_eq!(
            get_with(&exact, path, &token(scope)).await.status,
            exact_status,
            "{scope} {path}"
        );
        assert_eq!(
            get_with(&wide, path, &token(scope)).await.status,
            wide_status,
            "{scope} {path}"
        );
    }
}

#[tokio::test]
async fn names_that_cannot_be_written_in_a_challenge_are_configuration_errors() {
    let issuer = issuer().await;
    let bad_table = config(&issuer, &ManualClock::new())
        .scope_matcher(ScopeMatcher::exact().implies("admin", ["two words"]));
    assert_eq!(
        bad_table.build().err(),
        Some(ConfigError::InvalidScope("two words".into()))
    );
    let bad_scope = config(&issuer, &ManualClock::new()).challenge_scope("a\"b");
    assert_eq!(
        bad_scope.build().err(),
        Some(ConfigError::InvalidScope("a\"b".into()))
    );
}
