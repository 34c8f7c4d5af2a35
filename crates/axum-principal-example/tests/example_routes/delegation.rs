//! `/direct`, the actor and profile in `/me`, `AUTHZ_TENANTS` templates, and per-issuer
//! `AUTHZ_M2M_CLAIM` / `AUTHZ_ROLES_CLAIM` lists.

use axum::http::StatusCode;
use axum_principal::AuthLayer;
use axum_principal_example::{app, auth_config};
use axum_principal_testkit::MockIssuer;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn direct_refuses_delegated_tokens_and_me_shows_the_actor() {
    let h = harness().await;
    let own = user_token(&h.issuer);
    let delegated = h
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("act", json!({"sub": "reporting", "client_id": "reporting"}))
        .sign();
    assert_eq!(
        get_with(&h.router, "/direct", &own).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with(&h.router, "/direct", &machine_token(&h.issuer))
            .await
            .status,
        StatusCode::OK
    );
    get_with(&h.router, "/direct", &delegated)
        .await
        .assert_error(StatusCode::FORBIDDEN, "insufficient_scope", None);
    // The kind is the subject's: alice is a user, whoever acts for her.
    assert_eq!(
        get_with(&h.router, "/user", &delegated).await.status,
        StatusCode::OK
    );
    let me = get_with(&h.router, "/me", &delegated).await.json();
    assert_eq!(me["kind"], "user");
    assert_eq!(me["subject"], "alice");
    assert_eq!(
        me["actor"],
        json!({"subject": "reporting", "client_id": "reporting", "actor": null})
    );
    assert_eq!(me["profile"], json!(null));
    let bad = h
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("act", json!({"client_id": "x"}))
        .sign();
    get_with(&h.router, "/me", &bad).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        None,
    );
    let agent = h
        .issuer
        .token()
        .claim("sub", "agent")
        .claim("sub_profile", "ai_agent")
        .sign();
    let me = get_with(&h.router, "/me", &agent).await.json();
    assert_eq!(
        (me["kind"].clone(), me["profile"].clone()),
        (json!("machine"), json!("ai_agent"))
    );
    assert_eq!(me["classified_by"], "profile:ai_agent");
}

#[tokio::test]
async fn an_issuer_template_with_authz_tenants() {
    let mock = MockIssuer::start().await.expect("the mock issuer starts");
    let template = format!("{}/{{tenantid}}/v2.0", mock.issuer());
    let jwks = mock.jwks_uri();
    let s = settings(&[
        ("AUTHZ_ISSUER", &template),
        ("AUTHZ_AUDIENCE", mock.audience()),
        ("AUTHZ_TENANTS", "t1,t2"),
        ("AUTHZ_JWKS_URI", &jwks),
    ])
    .expect("valid settings");
    let router = app(AuthLayer::new(auth_config(&s, None).expect("valid config")));
    let token = |tid: &str| {
        mock.token()
            .claim("iss", format!("{}/{tid}/v2.0", mock.issuer()))
            .claim("tid", tid)
            .sign()
    };
    get_with(&router, "/me", &token("t3")).await.assert_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        None,
    );
    assert_eq!(mock.jwks_requests() + mock.discovery_requests(), 0);
    let reply = get_with(&router, "/me", &token("t2")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json()["issuer"],
        json!(format!("{}/t2/v2.0", mock.issuer()))
    );

    let any = settings(&[
        ("AUTHZ_ISSUER", &template),
        ("AUTHZ_AUDIENCE", mock.audience()),
        ("AUTHZ_TENANTS", "*"),
        ("AUTHZ_JWKS_URI", &jwks),
    ])
    .expect("valid settings");
    let router = app(AuthLayer::new(
        auth_config(&any, None).expect("valid config"),
    ));
    assert_eq!(
        get_with(&router, "/me", &token("t9")).await.status,
        StatusCode::OK
    );
}

#[test]
fn authz_tenants_mistakes_name_the_variable() {
    let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let keys = "https://login.microsoftonline.com/common/discovery/v2.0/keys";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("AUTHZ_ISSUER", t), ("AUTHZ_JWKS_URI", keys)],
            "AUTHZ_TENANTS",
        ),
        (
            vec![("AUTHZ_ISSUER", t), ("AUTHZ_TENANTS", "a")],
            "AUTHZ_JWKS_URI",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", "https://i.example.com"),
                ("AUTHZ_TENANTS", "a"),
            ],
            "AUTHZ_TENANTS",
        ),
        (
            vec![
                ("AUTHZ_ISSUER", t),
                ("AUTHZ_TENANTS", "a,*"),
                ("AUTHZ_JWKS_URI", keys),
            ],
            "AUTHZ_TENANTS",
        ),
        (
            vec![
                (
                    "AUTHZ_ISSUER",
                    "https://a.example.com,https://b.example.com",
                ),
                ("AUTHZ_M2M_CLAIM", "x,y,z"),
            ],
            "AUTHZ_M2M_CLAIM",
        ),
        (
            vec![
                (
                    "AUTHZ_ISSUER",
                    "https://a.example.com,https://b.example.com",
                ),
                ("AUTHZ_ROLES_CLAIM", "roles,a..b"),
            ],
            "AUTHZ_ROLES_CLAIM",
        ),
    ];
    for (mut vars, variable) in cases {
        vars.push(("AUTHZ_AUDIENCE", "api"));
        let problem = settings(&vars)
            .and_then(|s| auth_config(&s, None))
            .expect_err("refused by the settings or by the library's configuration");
        assert_eq!(problem.variable, variable, "{vars:?}: {problem}");
    }
    let bad_tenant = settings(&[
        ("AUTHZ_ISSUER", t),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_TENANTS", "a/b"),
        ("AUTHZ_JWKS_URI", keys),
    ])
    .expect("settings parse");
    let problem = auth_config(&bad_tenant, None).expect_err("a bad tenant id is refused");
    assert_eq!(problem.variable, "AUTHZ_TENANTS");
}

#[tokio::test]
async fn per_issuer_m2m_and_roles_claims_follow_authz_issuer_order() {
    let a = MockIssuer::start().await.expect("mock issuer a");
    let b = MockIssuer::start().await.expect("mock issuer b");
    let issuers = format!("{},{}", a.issuer(), b.issuer());
    let s = settings(&[
        ("AUTHZ_ISSUER", &issuers),
        ("AUTHZ_AUDIENCE", a.audience()),
        ("AUTHZ_M2M_CLAIM", "https://a.example/m2m,"),
        ("AUTHZ_ROLES_CLAIM", "realm_access.roles,"),
    ])
    .expect("valid settings");
    let claims: Vec<_> = s
        .issuers
        .iter()
        .map(|i| (i.m2m_claim.as_deref(), i.roles_claim.as_str()))
        .collect();
    assert_eq!(
        claims,
        [
            (Some("https://a.example/m2m"), "realm_access.roles"),
            (None, "roles")
        ]
    );
    let router = app(AuthLayer::new(auth_config(&s, None).expect("valid config")));
    let from_a = a
        .token()
        .claim("sub", "u")
        .claim("https://a.example/m2m", true)
        .claim("realm_access", json!({"roles": ["admin"]}))
        .sign();
    let me = get_with(&router, "/me", &from_a).await.json();
    assert_eq!(me["kind"], "machine", "{me}");
    assert_eq!(me["roles"], json!(["admin"]));
    // Issuer b has no machine claim: the same claim decides nothing there.
    let from_b = b
        .token()
        .claim("aud", a.audience())
        .claim("sub", "u")
        .claim("https://a.example/m2m", true)
        .claim("roles", ["viewer"])
        .sign();
    let me = get_with(&router, "/me", &from_b).await.json();
    assert_eq!(me["kind"], "user", "{me}");
    assert_eq!(me["roles"], json!(["viewer"]));
}
