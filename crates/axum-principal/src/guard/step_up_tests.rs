//! Step-up (RFC 9470) and scope matching: [`RequireAuthContext`] against sign-ins of every
//! strength and age, how `or`/`and` combine its refusals, and what the refusal says.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use serde_json::{json, Value};
use tower::Layer;

use super::tests::{call, context, inner, principal_of};
use super::*;
use crate::classify::Kind;
use crate::clock::ManualClock;
use crate::config::ConfigError;
use crate::principal::{AuthContext, Policy};
use crate::rejection::{DpopChallenge, InsufficientAuthentication as Why, Renderer};
use crate::scope::ScopeMatcher;

crate::names!(Mfa = "urn:example:mfa");

/// Now, for every principal of these tests.
const NOW: i64 = 1_800_000_000;
const LEEWAY: i64 = 60;
const MFA: &str = "urn:example:mfa";

fn policy(scopes: ScopeMatcher) -> Arc<Policy> {
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW.unsigned_abs()));
    Arc::new(Policy {
        scopes,
        leeway_secs: LEEWAY,
        clock: Arc::new(clock),
    })
}

/// A user with these extra claims, judged at [`NOW`] with [`LEEWAY`].
fn user(extra: Value) -> Principal {
    let mut claims = json!({"sub": "alice"});
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    principal_of(Kind::User, claims).judged_by(&policy(ScopeMatcher::exact()))
}

fn mfa_route() -> RequireAuthContext {
    RequireAuthContext::acr([MFA]).max_age(Duration::from_secs(300))
}

/// The step-up a refusal asks for.
fn step_up(result: Result<(), Denied>) -> StepUp {
    result
        .expect_err("the guard refuses")
        .step_up
        .expect("the refusal is a step-up")
}

#[test]
fn a_strong_and_recent_sign_in_passes() {
    let guard = mfa_route();
    for age in [0, 300, 300 + LEEWAY] {
        let p = user(json!({"acr": MFA, "auth_time": NOW - age}));
        assert_eq!(guard.check(&p), Ok(()), "{age} s old");
    }
    // A fractional NumericDate is a number too.
    let p = user(json!({"acr": MFA, "auth_time": (NOW - 10) as f64 + 0.5}));
    assert_eq!(guard.check(&p), Ok(()));
    // Within the leeway, a sign-in a little in the future is clock skew.
    let p = user(json!({"acr": MFA, "auth_time": NOW + LEEWAY}));
    assert_eq!(guard.check(&p), Ok(()));
}

#[test]
fn every_shortfall_is_a_step_up_naming_all_the_route_needs() {
    let guard = mfa_route();
    let cases = [
        (json!({"auth_time": NOW}), Why::AcrMissing),
        (json!({"acr": 2, "auth_time": NOW}), Why::AcrMissing),
        (
            json!({"acr": "urn:example:pwd", "auth_time": NOW}),
            Why::AcrNotAccepted,
        ),
        (json!({"acr": MFA}), Why::AuthTimeMissing),
        (
            json!({"acr": MFA, "auth_time": "1800000000"}),
            Why::AuthTimeMissing,
        ),
        (json!({"acr": MFA, "auth_time": null}), Why::AuthTimeMissing),
        (
            json!({"acr": MFA, "auth_time": NOW - 300 - LEEWAY - 1}),
            Why::AuthTimeTooOld,
        ),
        (
            json!({"acr": MFA, "auth_time": i64::MIN}),
            Why::AuthTimeTooOld,
        ),
        (
            json!({"acr": MFA, "auth_time": NOW + LEEWAY + 1}),
            Why::AuthTimeInFuture,
        ),
    ];
    for (claims, why) in cases {
        let asked = step_up(guard.check(&user(claims.clone())));
        assert_eq!(asked.reason, why, "{claims}");
        assert_eq!(asked.acr_values, [MFA], "{claims}");
        assert_eq!(asked.max_age, Some(300), "{claims}");
    }
}

#[test]
fn a_ladder_accepts_its_minimum_and_everything_above() {
    let ladder = ["pwd", "mfa", "hwk"];
    let guard = RequireAuthContext::acr_ladder(ladder, "mfa");
    for (acr, ok) in [
        ("pwd", false),
        ("mfa", true),
        ("hwk", true),
        ("other", false),
    ] {
        assert_eq!(guard.check(&user(json!({"acr": acr}))).is_ok(), ok, "{acr}");
    }
    let asked = step_up(guard.check(&user(json!({"acr": "pwd"}))));
    assert_eq!(asked.acr_values, ["mfa", "hwk"]);
    assert_eq!(asked.max_age, None);
    assert_eq!(
        RequireAuthContext::try_acr_ladder(ladder, "gold").err(),
        Some(ConfigError::InvalidAcrValue("gold".into()))
    );
    assert_eq!(
        RequireAuthContext::try_acr(["has space"]).err(),
        Some(ConfigError::InvalidAcrValue("has space".into()))
    );
}

#[test]
fn freshness_alone_accepts_any_acr_and_a_guard_requiring_nothing_refuses() {
    let fresh = RequireAuthContext::fresh(Duration::from_secs(60));
    assert_eq!(fresh.check(&user(json!({"auth_time": NOW - 30}))), Ok(()));
    let asked = step_up(fresh.check(&user(json!({"auth_time": NOW - 200}))));
    assert_eq!((asked.acr_values.len(), asked.max_age), (0, Some(60)));
    // An empty list of values and a type-level guard without requirements fail closed.
    let none: [&str; 0] = [];
    let p = user(json!({"acr": MFA, "auth_time": NOW}));
    assert!(RequireAuthContext::acr(none).check(&p).is_err());
    let nothing = RequireAuthContext::<AnyAcr, Option<Duration>>::default();
    assert_eq!(nothing.check(&p), Err(Denied::default()));
}

#[test]
fn or_answers_with_the_step_up_that_would_let_the_caller_in() {
    let p = user(json!({"acr": "pwd", "auth_time": NOW - 1000}));
    // Not an admin, and not signed in with MFA: stepping up is what helps.
    let asked = step_up(RequireRole::new("admin").or(mfa_route()).check(&p));
    assert_eq!(asked.acr_values, [MFA]);
    // Two step-ups: every acr that would do, the smallest max_age.
    let other = RequireAuthContext::acr(["hwk"]).max_age(Duration::from_secs(60));
    let asked = step_up(mfa_route().or(other).check(&p));
    assert_eq!(asked.acr_values, [MFA, "hwk"]);
    assert_eq!(asked.max_age, Some(60));
    // One branch accepting any acr: the merged refusal names none.
    let asked = step_up(
        mfa_route()
            .or(RequireAuthContext::fresh(Duration::from_secs(600)))
            .check(&p),
    );
    assert!(asked.acr_values.is_empty());
    assert_eq!(asked.max_age, Some(300));
    // The admin passes the `or`, whatever the sign-in.
    let admin = user(json!({"roles": ["admin"]}));
    assert_eq!(
        RequireRole::new("admin").or(mfa_route()).check(&admin),
        Ok(())
    );
    // `and` refuses with the first refusal.
    let denied = RequireScope::new("write")
        .and(mfa_route())
        .check(&p)
        .expect_err("refused");
    assert_eq!(
        (denied.required_scope.as_deref(), denied.step_up),
        (Some("write"), None)
    );
}

/// The challenges `guard`'s refusal of `p` sends, rendered by `renderer`.
fn challenges(guard: &impl Guard, p: Principal, renderer: Renderer) -> (StatusCode, Vec<String>) {
    let mut extensions = Extensions::new();
    extensions.insert(AuthContext {
        renderer: Arc::new(renderer),
    });
    extensions.insert(p);
    let refusal = authorize(guard, &http::HeaderMap::new(), &extensions).expect_err("refused");
    assert_eq!(refusal.error_code(), "insufficient_user_authentication");
    (refusal.status(), refusal.challenges())
}

#[test]
fn the_refusal_is_a_401_with_acr_values_max_age_and_resource_metadata() {
    let p = user(json!({"acr": "pwd", "auth_time": NOW}));
    let renderer = Renderer {
        resource_metadata: Some(
            "https://api.example.test/.well-known/oauth-protected-resource".into(),
        ),
        ..Renderer::default()
    };
    let (status, all) = challenges(&mfa_route(), p.clone(), renderer.clone());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        all,
        [format!(
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
             error_description=\"a stronger authentication is required for this resource\", \
             acr_values=\"{MFA}\", max_age=300, \
             resource_metadata=\"https://api.example.test/.well-known/oauth-protected-resource\""
        )]
    );
    // With DPoP accepted, the DPoP challenge carries the same error and parameters.
    let dpop = Renderer {
        dpop: Some(std::sync::Arc::new(DpopChallenge {
            algs: "ES256".into(),
            required: false,
        })),
        ..renderer
    };
    let (_, all) = challenges(&mfa_route(), p.clone(), dpop.clone());
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[0].starts_with("Bearer realm=\"api\", error=\"insufficient_user_authentication\""));
    assert!(
        all[1].starts_with("DPoP error=\"insufficient_user_authentication\", algs=\"ES256\""),
        "{all:?}"
    );
    for challenge in &all {
        assert!(
            challenge.contains(&format!("acr_values=\"{MFA}\", max_age=300")),
            "{challenge}"
        );
        assert!(
            challenge.ends_with("oauth-protected-resource\""),
            "{challenge}"
        );
    }
    // DPoP required: only the DPoP challenge.
    let required = Renderer {
        dpop: Some(std::sync::Arc::new(DpopChallenge {
            algs: "ES256".into(),
            required: true,
        })),
        ..dpop
    };
    let (_, all) = challenges(&mfa_route(), p, required);
    assert_eq!(all.len(), 1);
    assert!(all[0].starts_with("DPoP error=\"insufficient_user_authentication\""));
}

#[tokio::test]
async fn the_layer_and_the_extractor_answer_401() {
    let weak = user(json!({"acr": "pwd", "auth_time": NOW}));
    let strong = user(json!({"acr": MFA, "auth_time": NOW}));
    let layer = guard_layer(mfa_route());
    assert_eq!(
        call(layer.layer(inner()), Some(strong.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        call(layer.layer(inner()), Some(weak.clone())).await,
        StatusCode::UNAUTHORIZED
    );
    async fn extract(principal: Principal) -> Result<(), AuthRejection> {
        let mut request = http::Request::new(());
        request.extensions_mut().insert(context());
        request.extensions_mut().insert(principal);
        let (mut parts, ()) = request.into_parts();
        type Route = Guarded<RequireAuthContext<Mfa, MaxAgeSecs<300>>>;
        <Route as axum::extract::FromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .map(|_| ())
    }
    assert!(extract(strong).await.is_ok());
    let refusal = extract(weak)
        .await
        .expect_err("a password sign-in is refused");
    assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refusal.reason(), "acr_not_accepted");
}

#[test]
fn the_configured_matcher_decides_scopes_and_challenges_skip_offline_access() {
    let claims = json!({"sub": "svc", "scope": "files:* admin"});
    let matcher = ScopeMatcher::exact()
        .prefix_wildcards()
        .implies("admin", ["read"]);
    let exact = principal_of(Kind::Machine, claims.clone());
    let wide = principal_of(Kind::Machine, claims).judged_by(&policy(matcher));
    for (required, exact_ok) in [("files:read", false), ("read", false), ("admin", true)] {
        assert_eq!(RequireScope::new(required).check(&exact).is_ok(), exact_ok);
        assert!(
            RequireScope::new(required).check(&wide).is_ok(),
            "{required}"
        );
    }
    assert!(RequireAllScopes::new(["files:write", "read"])
        .check(&wide)
        .is_ok());
    assert!(RequireScope::new("write").check(&wide).is_err());

    let mut extensions = Extensions::new();
    extensions.insert(context());
    extensions.insert(exact);
    let refusal = authorize(
        &RequireAllScopes::new(["offline_access", "read", "read"]),
        &http::HeaderMap::new(),
        &extensions,
    )
    .expect_err("refused");
    assert_eq!(
        refusal.kind(),
        &RejectionKind::InsufficientScope {
            scope: Some("read".into())
        }
    );
}
