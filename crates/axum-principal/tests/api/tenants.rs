//! Issuer templates (`{tenantid}`, Entra's multi-tenant issuers), JWK `issuer` members,
//! per-issuer settings, and delegated tokens end to end through the layer.

use crate::common;

use axum::http::StatusCode;
use axum_principal::clock::ManualClock;
use axum_principal::{AuthConfig, AuthLayer, ConfigError, Issuer};
use axum_principal_testkit::{KeyAlg, MockIssuer};
use serde_json::{json, Value};

use common::{build, get_with, router, with_reason_header, Reply};

const T1: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const T2: &str = "11111111-2222-3333-4444-555555555555";

fn template(mock: &MockIssuer) -> String {
    format!("{}/{{tenantid}}/v2.0", mock.issuer())
}

fn iss_for(mock: &MockIssuer, tid: &str) -> String {
    format!("{}/{tid}/v2.0", mock.issuer())
}

fn tenant_app(mock: &MockIssuer, issuer: Issuer) -> axum::Router {
    let config = AuthConfig::builder()
        .issuer(issuer)
        .audience(mock.audience())
        .clock(ManualClock::new());
    router(AuthLayer::new(build(with_reason_header(config))))
}

fn token(mock: &MockIssuer, iss: &str, tid: Option<Value>) -> String {
    let t = mock.token().claim("iss", iss).claim("sub", "alice");
    match tid {
        Some(tid) => t.claim("tid", tid).sign(),
        None => t.sign(),
    }
}

fn refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.reason.as_deref(), Some(reason), "{}", reply.body);
}

#[tokio::test]
async fn a_template_admits_listed_tenants_and_refuses_others_without_network_io() {
    let mock = common::issuer().await;
    let app = tenant_app(
        &mock,
        Issuer::template(template(&mock))
            .tenants([T1])
            .jwks_uri(mock.jwks_uri()),
    );
    let bad = [
        (
            "tenant not listed",
            token(&mock, &iss_for(&mock, T2), Some(json!(T2))),
        ),
        ("no tid", token(&mock, &iss_for(&mock, T1), None)),
        (
            "tid of another tenant than iss",
            token(&mock, &iss_for(&mock, T1), Some(json!(T2))),
        ),
        (
            "iss of another tenant than tid",
            token(&mock, &iss_for(&mock, T2), Some(json!(T1))),
        ),
        (
            "tid not a string",
            token(&mock, &iss_for(&mock, T1), Some(json!([T1]))),
        ),
        (
            "tid with a slash",
            token(&mock, &iss_for(&mock, "a/b"), Some(json!("a/b"))),
        ),
        (
            "empty tid",
            token(&mock, &format!("{}//v2.0", mock.issuer()), Some(json!(""))),
        ),
    ];
    for (what, t) in &bad {
        let reply = get_with(&app, "/me", t).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.body
        );
        assert!(
            matches!(
                reply.reason.as_deref(),
                Some("tenant_not_allowed" | "unknown_issuer")
            ),
            "{what}: {:?}",
            reply.reason
        );
    }
    refused(
        &get_with(&app, "/me", &bad[0].1).await,
        "tenant_not_allowed",
    );
    // The template's own text is no issuer: a token naming it literally is refused.
    let literal = token(&mock, &template(&mock), Some(json!(T1)));
    refused(&get_with(&app, "/me", &literal).await, "tenant_not_allowed");
    assert_eq!(
        mock.jwks_requests() + mock.discovery_requests(),
        0,
        "no network I/O"
    );

    let good = token(&mock, &iss_for(&mock, T1), Some(json!(T1)));
    let reply = get_with(&app, "/me", &good).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["issuer"], json!(iss_for(&mock, T1)));
    assert_eq!(mock.jwks_requests(), 1);
}

#[tokio::test]
async fn any_tenant_admits_every_well_formed_tenant() {
    let mock = common::issuer().await;
    let app = tenant_app(
        &mock,
        Issuer::template(template(&mock))
            .any_tenant()
            .jwks_uri(mock.jwks_uri()),
    );
    for tid in [T1, T2] {
        let reply = get_with(
            &app,
            "/me",
            &token(&mock, &iss_for(&mock, tid), Some(json!(tid))),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["issuer"], json!(iss_for(&mock, tid)));
    }
    let t = token(&mock, &iss_for(&mock, "a?b"), Some(json!("a?b")));
    refused(&get_with(&app, "/me", &t).await, "tenant_not_allowed");
}

#[tokio::test]
async fn a_jwk_issuer_member_limits_the_key_to_its_issuer() {
    let mock = common::issuer().await;
    let kid = mock.signing_kid(KeyAlg::Rs256).expect("an RS256 key");
    let jwk = |issuer: &str| {
        let mut jwk = mock.public_jwk(&kid).expect("the public key");
        jwk["issuer"] = json!(issuer);
        json!({"keys": [jwk]}).to_string()
    };
    // The key names tenant T1 only.
    let app = tenant_app(
        &mock,
        Issuer::template(template(&mock))
            .tenants([T1, T2])
            .static_jwks(jwk(&iss_for(&mock, T1))),
    );
    let t1 = token(&mock, &iss_for(&mock, T1), Some(json!(T1)));
    let t2 = token(&mock, &iss_for(&mock, T2), Some(json!(T2)));
    assert_eq!(get_with(&app, "/me", &t1).await.status, StatusCode::OK);
    refused(&get_with(&app, "/me", &t2).await, "unknown_key");
    // A key naming the template (as Entra's common keys do) serves every tenant.
    let app = tenant_app(
        &mock,
        Issuer::template(template(&mock))
            .tenants([T1, T2])
            .static_jwks(jwk(&template(&mock))),
    );
    assert_eq!(get_with(&app, "/me", &t1).await.status, StatusCode::OK);
    assert_eq!(get_with(&app, "/me", &t2).await.status, StatusCode::OK);
    // An exact issuer with a key that names another issuer.
    let config = AuthConfig::builder()
        .issuer(Issuer::new(mock.issuer()).static_jwks(jwk("https://elsewhere.example.com")))
        .audience(mock.audience());
    let app = router(AuthLayer::new(build(with_reason_header(config))));
    refused(
        &get_with(&app, "/me", &mock.user_token("u")).await,
        "unknown_key",
    );
}

#[test]
fn template_mistakes_are_configuration_errors() {
    let t = "https://login.example.com/{tenantid}/v2.0";
    let keys = "https://login.example.com/common/keys";
    let base = || AuthConfig::builder().audience("api");
    let cases = vec![
        (
            base().issuer(Issuer::template(t).jwks_uri(keys)),
            ConfigError::NoTenants(t.into()),
        ),
        (
            base().issuer(
                Issuer::template(t)
                    .tenants(Vec::<String>::new())
                    .jwks_uri(keys),
            ),
            ConfigError::NoTenants(t.into()),
        ),
        (
            base().issuer(Issuer::template(t).any_tenant()),
            ConfigError::TemplateWithoutJwks(t.into()),
        ),
        (
            base().issuer(Issuer::template(t).tenants(["a/b"]).jwks_uri(keys)),
            ConfigError::InvalidTenant("a/b".into()),
        ),
        (
            base().issuer(
                Issuer::template("https://x.example.com/")
                    .any_tenant()
                    .jwks_uri(keys),
            ),
            ConfigError::InvalidTemplate("https://x.example.com/".into()),
        ),
        (
            base().issuer(
                Issuer::template("https://x.example.com/{tenantid}/{tenantid}")
                    .any_tenant()
                    .jwks_uri(keys),
            ),
            ConfigError::InvalidTemplate("https://x.example.com/{tenantid}/{tenantid}".into()),
        ),
        (
            base().issuer(Issuer::new(t)),
            ConfigError::InvalidTemplate(t.into()),
        ),
        (
            base().issuer(Issuer::new("https://x.example.com/").tenants(["a"])),
            ConfigError::TenantsWithoutTemplate("https://x.example.com/".into()),
        ),
        (
            AuthConfig::builder().issuer(Issuer::new("https://x.example.com/")),
            ConfigError::NoAudience,
        ),
        (
            base().issuer(Issuer::new("https://x.example.com/").audience("")),
            ConfigError::EmptyAudience,
        ),
        (
            base().issuer(Issuer::new("https://x.example.com/").roles_claim("a..b")),
            ConfigError::InvalidRolesClaim,
        ),
    ];
    for (builder, expected) in cases {
        assert_eq!(builder.build().err(), Some(expected));
    }
    let own_audience_only = AuthConfig::builder()
        .issuer(Issuer::new("https://x.example.com/").audience("own"))
        .build();
    assert!(own_audience_only.is_ok(), "{own_audience_only:?}");
}

#[tokio::test]
async fn per_issuer_audience_roles_claim_and_machine_claim() {
    let staff = common::issuer().await;
    let customers = common::issuer().await;
    let config = AuthConfig::builder()
        .issuer(
            Issuer::new(staff.issuer())
                .audience("staff-api")
                .roles_claim("realm_access.roles")
                .machine_claim("https://staff.example/is_m2m"),
        )
        .issuer(customers.issuer())
        .audience(customers.audience())
        .roles_claim("roles");
    let app = router(AuthLayer::new(build(with_reason_header(config))));

    let staff_token = staff
        .token()
        .claim("aud", "staff-api")
        .claim("realm_access", json!({"roles": ["admin"]}))
        .claim("https://staff.example/is_m2m", false)
        .claim("sub", "bob")
        .claim("client_id", "bob")
        .sign();
    let reply = get_with(&app, "/me", &staff_token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["roles"], json!(["admin"]));
    assert_eq!(
        body["kind"], "user",
        "the issuer's own claim decided: {body}"
    );
    assert_eq!(
        body["classified_by"],
        "claim:https://staff.example/is_m2m=false"
    );
    // The global audience is not the staff issuer's.
    let wrong = staff.token().claim("aud", customers.audience()).sign();
    refused(&get_with(&app, "/me", &wrong).await, "wrong_audience");
    // The customers' issuer keeps the global settings.
    let customer = customers.user_token_with_roles("carol", &["viewer"]);
    let reply = get_with(&app, "/me", &customer).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["roles"], json!(["viewer"]));
}

#[tokio::test]
async fn delegated_tokens_through_the_layer() {
    let mock = common::issuer().await;
    let config = common::config(&mock, &ManualClock::new());
    let app = router(AuthLayer::new(build(with_reason_header(config))));
    let delegated = mock
        .token()
        .claim("sub", "alice")
        .claim(
            "act",
            json!({"sub": "svc", "client_id": "svc", "act": {"sub": "first"}}),
        )
        .sign();
    let reply = get_with(&app, "/me", &delegated).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["subject"], "alice");
    assert_eq!(body["kind"], "user");
    assert_eq!(
        body["actor"],
        json!({"subject": "svc", "client_id": "svc",
               "actor": {"subject": "first", "client_id": null, "actor": null}})
    );
    let bad = [
        (json!("svc"), "invalid_actor"),
        (json!({"client_id": "svc"}), "invalid_actor"),
        (json!({"sub": 1}), "invalid_actor"),
        (json!([{"sub": "svc"}]), "invalid_actor"),
        (
            json!({"sub":"1","act":{"sub":"2","act":{"sub":"3","act":{"sub":"4","act":{"sub":"5","act":{"sub":"6"}}}}}}),
            "actor_chain_too_deep",
        ),
    ];
    for (act, reason) in bad {
        let t = mock
            .token()
            .claim("sub", "alice")
            .claim("act", act.clone())
            .sign();
        let reply = get_with(&app, "/me", &t).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{act}: {}",
            reply.body
        );
        assert_eq!(reply.reason.as_deref(), Some(reason), "{act}");
    }
    let agent = mock
        .token()
        .claim("sub", "agent-7")
        .claim("sub_profile", "ai_agent")
        .sign();
    let body = get_with(&app, "/me", &agent).await.json();
    assert_eq!(body["kind"], "machine");
    assert_eq!(body["profile"], "ai_agent");
    assert_eq!(body["classified_by"], "profile:ai_agent");
}
