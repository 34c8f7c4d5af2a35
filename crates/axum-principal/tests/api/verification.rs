//! Verification policy and the extractor/guard surface, end to end through the layer.

use crate::common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_principal::clock::ManualClock;
use axum_principal::{
    guard_layer, names, AuthConfig, AuthLayer, Claims, Guard, Guarded, Issuer, Machine, Preset,
    Principal, RequireMachine, RequireRole, RequireRoleOrMachine, RequireScope, TypPolicy, User,
};
use axum_principal_testkit::KeyAlg;
use common::{build, config, get_with, issuer, router, send};
use serde_json::json;

#[tokio::test]
async fn algorithm_confusion_with_the_rsa_public_key_is_refused() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let kid = issuer
        .signing_kid(KeyAlg::Rs256)
        .expect("the mock issuer has a key of every algorithm");
    let jwk = issuer
        .public_jwk(&kid)
        .expect("the issuer publishes its RS256 key");
    // HS256 "signed" with the RSA public key's bytes, in several encodings an attacker tries.
    for secret in [
        jwk.to_string(),
        jwk["n"].as_str().expect("an RSA JWK has n").to_owned(),
    ] {
        let forged = issuer.token().kid(&kid).sign_hs256(secret.as_bytes());
        let reply = get_with(&app, "/me", &forged).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_key_decides_the_algorithm() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let es_kid = issuer
        .signing_kid(KeyAlg::Es256)
        .expect("the mock issuer has a key of every algorithm");
    // An RS256 signature presented under the EC key's kid: the key does not fit RS256.
    let token = issuer.token().kid(&es_kid).sign();
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The JWK says RS256; the header claims RS512 over an RS256 signature.
    let token = issuer.token().header("alg", "RS512").sign();
    assert_eq!(
        get_with(&app, "/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_allow_list_without_an_algorithm_refuses_it_before_fetching_keys() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).algorithms([axum_principal::Algorithm::ES256]),
    )));
    let reply = get_with(&app, "/me", &issuer.token().alg(KeyAlg::Rs256).sign()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.jwks_requests(), 0);
    let reply = get_with(&app, "/me", &issuer.token().alg(KeyAlg::Es256).sign()).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn hmac_works_only_with_a_configured_secret() {
    let issuer = issuer().await;
    let secret = [42u8; 32];
    let with_secret = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).hmac_secret(secret.to_vec()))
        .audience(issuer.audience());
    let app = router(AuthLayer::new(build(with_secret)));
    let token = issuer.token().sign_hs256(&secret);
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
    let wrong = issuer.token().sign_hs256(&[1u8; 32]);
    assert_eq!(
        get_with(&app, "/me", &wrong).await.status,
        StatusCode::UNAUTHORIZED
    );
    // HMAC never touches the JWKS.
    assert_eq!(issuer.jwks_requests(), 0);
}

#[tokio::test]
async fn typ_policy_lenient_and_strict() {
    let issuer = issuer().await;
    let lenient = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let strict = router(AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).typ_policy(TypPolicy::StrictAccessToken),
    )));
    let cases = [
        (None, true, false),
        (Some("JWT"), true, false),
        (Some("at+JWT"), true, true),
        (Some("application/at+jwt"), true, true),
        (Some("id_token+jwt"), false, false),
    ];
    for (typ, lenient_ok, strict_ok) in cases {
        let token = match typ {
            Some(t) => issuer.token().header("typ", t).sign(),
            None => issuer.token().without_header("typ").sign(),
        };
        let status = |ok: bool| {
            if ok {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            }
        };
        assert_eq!(
            get_with(&lenient, "/me", &token).await.status,
            status(lenient_ok),
            "{typ:?}"
        );
        assert_eq!(
            get_with(&strict, "/me", &token).await.status,
            status(strict_ok),
            "{typ:?}"
        );
    }
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_decoding() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(
        config(&issuer, &ManualClock::new()).max_token_bytes(2048),
    )));
    let big = issuer.token().claim("padding", "x".repeat(4096)).sign();
    let reply = get_with(&app, "/me", &big).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.json()["error_description"]
        .as_str()
        .expect("a refusal has a description")
        .contains("too large"));
    assert_eq!(
        issuer.jwks_requests(),
        0,
        "nothing was decoded, so no key was needed"
    );
}

#[tokio::test]
async fn duplicate_claims_and_wrong_types_are_refused() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let kid = issuer
        .signing_kid(KeyAlg::Rs256)
        .expect("the mock issuer has a key of every algorithm");
    let header = format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (iss, aud) = (issuer.issuer(), issuer.audience());
    let payloads = [
        format!(
            r#"{{"iss":"{iss}","aud":"{aud}","exp":{},"sub":"alice","sub":"admin"}}"#,
            now + 300
        ),
        format!(
            r#"{{"iss":"{iss}","aud":"{aud}","exp":"{}","sub":"alice"}}"#,
            now + 300
        ),
        format!(
            r#"{{"iss":"{iss}","aud":"{aud}","exp":{},"sub":["alice"]}}"#,
            now + 300
        ),
        format!(
            r#"{{"iss":"{iss}","aud":[],"exp":{},"sub":"alice"}}"#,
            now + 300
        ),
    ];
    for payload in payloads {
        let token = issuer.sign_raw(&header, &payload, Some(&kid));
        assert_eq!(
            get_with(&app, "/me", &token).await.status,
            StatusCode::UNAUTHORIZED,
            "{payload}"
        );
    }
    // The same shape, well-formed, is accepted: the refusals above are about the defects.
    let ok = format!(
        r#"{{"iss":"{iss}","aud":"{aud}","exp":{},"sub":"alice"}}"#,
        now + 300
    );
    let token = issuer.sign_raw(&header, &ok, Some(&kid));
    assert_eq!(get_with(&app, "/me", &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn option_principal_is_none_without_a_token_and_a_bad_token_is_still_refused() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))).allow_anonymous());
    let anonymous = send(&app, "/maybe", &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    let known = get_with(&app, "/maybe", &issuer.user_token("alice")).await;
    assert_eq!(
        (known.status, known.body.as_str()),
        (StatusCode::OK, "alice")
    );
    let bad = get_with(&app, "/maybe", &issuer.token().expires_in(-3600).sign()).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // In optional mode a route that needs a principal still says 401, and guards too.
    assert_eq!(
        send(&app, "/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, "/admin", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_default_mode_refuses_requests_without_a_token() {
    let issuer = issuer().await;
    let app = router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    assert_eq!(
        send(&app, "/maybe", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn extractors_without_the_layer_answer_500_naming_it() {
    async fn me(p: Principal) -> String {
        p.subject().to_owned()
    }
    let app = Router::new()
        .route("/me", get(me))
        .route("/admin", get(|| async { "x" }))
        .route_layer(guard_layer(RequireMachine));
    for path in ["/me", "/admin"] {
        let reply = send(&app, path, &["Bearer abc"]).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(reply.body.contains("AuthLayer"), "{path}: {}", reply.body);
    }
}

#[tokio::test]
async fn rejections_can_be_rendered_differently() {
    let issuer = issuer().await;
    let config = config(&issuer, &ManualClock::new()).render_rejections_with(|r| {
        (
            r.status(),
            format!("custom:{}:{}", r.error_code(), r.reason()),
        )
            .into_response()
    });
    let app = router(AuthLayer::new(build(config)));
    let reply = get_with(&app, "/me", &issuer.token().expires_in(-3600).sign()).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::UNAUTHORIZED, "custom:invalid_token:expired")
    );
    // Guards render through the same hook.
    let reply = get_with(&app, "/admin", &issuer.user_token("alice")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            StatusCode::FORBIDDEN,
            "custom:insufficient_scope:guard_refused"
        )
    );
}

names!(Admin = "admin");
names!(Reports = "read:reports");

#[derive(serde::Deserialize)]
struct TenantClaims {
    tenant: String,
}

fn typed_router(layer: AuthLayer) -> Router {
    async fn user(u: User) -> String {
        format!("user {}", u.subject())
    }
    async fn machine(m: Machine) -> String {
        format!("machine {}", m.subject())
    }
    async fn admin(_: Guarded<RequireRoleOrMachine<Admin>>, p: Principal) -> String {
        format!("admin {}", p.subject())
    }
    async fn reports(_: Guarded<RequireScope<Reports>>) -> &'static str {
        "reports"
    }
    async fn tenant(Claims(c): Claims<TenantClaims>) -> String {
        c.tenant
    }
    async fn create(Json(body): Json<serde_json::Value>) -> String {
        body.to_string()
    }
    Router::new()
        .route("/user", get(user))
        .route("/machine", get(machine))
        .route("/admin", get(admin))
        .route("/reports", get(reports))
        .route("/tenant", get(tenant))
        .merge(
            Router::new()
                .route("/create", post(create))
                .route_layer(guard_layer(
                    RequireRole::new("writer")
                        .or(RequireMachine)
                        .and(RequireScope::new("write")),
                )),
        )
        .layer(layer)
}

#[tokio::test]
async fn typed_extractors_and_guards_as_handler_arguments() {
    let issuer = issuer().await;
    let app = typed_router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let user = issuer.user_token("alice");
    let admin = issuer.user_token_with_roles("root", &["admin"]);
    let machine = issuer.machine_token("svc");
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        ("/user", &user, StatusCode::OK, "user alice"),
        ("/user", &machine, StatusCode::FORBIDDEN, ""),
        ("/machine", &machine, StatusCode::OK, "machine svc"),
        ("/machine", &user, StatusCode::FORBIDDEN, ""),
        ("/admin", &admin, StatusCode::OK, "admin root"),
        ("/admin", &machine, StatusCode::OK, "admin svc"),
        ("/admin", &user, StatusCode::FORBIDDEN, ""),
        ("/reports", &machine, StatusCode::OK, "reports"),
        ("/reports", &user, StatusCode::FORBIDDEN, ""),
    ];
    for (path, token, status, body) in cases {
        let reply = get_with(&app, path, token).await;
        assert_eq!(reply.status, status, "{path}");
        if status == StatusCode::OK {
            assert_eq!(reply.body, body, "{path}");
        }
    }
    let reply = get_with(&app, "/reports", &user).await;
    assert!(reply
        .challenge
        .expect("a 403 has a challenge")
        .contains("scope=\"read:reports\""));
    let with_tenant = issuer.token().claim("tenant", "acme").sign();
    assert_eq!(get_with(&app, "/tenant", &with_tenant).await.body, "acme");
    assert_eq!(
        get_with(&app, "/tenant", &user).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_route_layer_guard_answers_before_the_handlers_extractors() {
    let issuer = issuer().await;
    let app = typed_router(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    // No JSON body at all: the handler's Json extractor would say 415/422, the guard says 403.
    let user = issuer.user_token("alice");
    let request = axum::http::Request::post("/create")
        .header("authorization", format!("Bearer {user}"))
        .body(axum::body::Body::empty())
        .expect("a valid request");
    let response = tower::ServiceExt::oneshot(app.clone(), request).await;
    let status = response
        .map(|r| r.status())
        .expect("the router is infallible");
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A writer with the scope passes both guards and reaches the handler.
    let writer = issuer
        .token()
        .claim("roles", json!(["writer"]))
        .claim("scope", "write")
        .sign();
    let request = axum::http::Request::post("/create")
        .header("authorization", format!("Bearer {writer}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"a\":1}"))
        .expect("a valid request");
    let response = tower::ServiceExt::oneshot(app, request).await;
    let status = response
        .map(|r| r.status())
        .expect("the router is infallible");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn guards_never_remove_the_principal_for_the_next_one() {
    let issuer = issuer().await;
    async fn me(p: Principal) -> String {
        p.subject().to_owned()
    }
    let app = Router::new()
        .route("/", get(me))
        .route_layer(guard_layer(RequireScope::new("a")))
        .route_layer(guard_layer(RequireRoleOrMachine::new("admin")))
        .layer(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let token = issuer
        .token()
        .claim("sub", "bob")
        .claim("roles", json!(["admin"]))
        .claim("scope", "a b")
        .sign();
    let reply = get_with(&app, "/", &token).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "bob"));
}

/// A guard the library does not know: callers of one tenant.
#[derive(Clone, Default)]
struct AcmeOnly;

impl Guard for AcmeOnly {
    fn check(&self, p: &Principal) -> Result<(), axum_principal::Denied> {
        match p.claim("tenant").and_then(|t| t.as_str()) {
            Some("acme") => Ok(()),
            _ => Err(axum_principal::Denied::default()),
        }
    }
}

#[tokio::test]
async fn a_users_own_guard_works_as_route_layer_and_as_handler_argument() {
    let issuer = issuer().await;
    async fn me(_: Guarded<AcmeOnly>, p: Principal) -> String {
        p.subject().to_owned()
    }
    async fn create(_: Guarded<AcmeOnly>, Json(body): Json<serde_json::Value>) -> String {
        body.to_string()
    }
    let app = Router::new()
        .route("/argument", get(me))
        .route("/create", post(create))
        .merge(
            Router::new()
                .route(
                    "/layer",
                    get(|p: Principal| async move { p.subject().to_owned() }),
                )
                .route_layer(guard_layer(AcmeOnly.or(RequireMachine))),
        )
        .layer(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let acme = issuer
        .token()
        .claim("sub", "ann")
        .claim("tenant", "acme")
        .sign();
    let other = issuer
        .token()
        .claim("sub", "oz")
        .claim("tenant", "other")
        .sign();
    let machine = issuer.machine_token("svc");
    let cases = [
        ("/argument", &acme, StatusCode::OK),
        ("/argument", &other, StatusCode::FORBIDDEN),
        ("/argument", &machine, StatusCode::FORBIDDEN),
        ("/layer", &acme, StatusCode::OK),
        ("/layer", &other, StatusCode::FORBIDDEN),
        ("/layer", &machine, StatusCode::OK),
    ];
    for (path, token, status) in cases {
        let reply = get_with(&app, path, token).await;
        assert_eq!(reply.status, status, "{path}");
        if status == StatusCode::FORBIDDEN {
            let challenge = reply.challenge.expect("a 403 carries a challenge");
            assert!(
                challenge.contains("error=\"insufficient_scope\""),
                "{challenge}"
            );
        }
    }
    assert_eq!(get_with(&app, "/argument", &acme).await.body, "ann");
    // As a handler argument it still answers before the body extractor: 403, not 415/422.
    let request = axum::http::Request::post("/create")
        .header("authorization", format!("Bearer {other}"))
        .body(axum::body::Body::empty())
        .expect("a valid request");
    let response = tower::ServiceExt::oneshot(app, request)
        .await
        .expect("the router is infallible");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn multiple_issuers_never_merge_and_each_uses_its_own_keys() {
    let a = issuer().await;
    let b = issuer().await;
    let config = AuthConfig::builder()
        .issuer(a.issuer())
        .issuer(b.issuer())
        .audience(a.audience());
    let app = router(AuthLayer::new(build(config)));
    let from_a = get_with(&app, "/me", &a.token().claim("sub", "same").sign()).await;
    let from_b = get_with(&app, "/me", &b.token().claim("sub", "same").sign()).await;
    assert_eq!(from_a.json()["issuer"], a.issuer());
    assert_eq!(from_b.json()["issuer"], b.issuer());
    // A token claiming issuer A but signed by B's key (same kid) is refused.
    let kid_b = b
        .signing_kid(KeyAlg::Rs256)
        .expect("the mock issuer has a key of every algorithm");
    let forged = b.token().claim("iss", a.issuer()).kid(&kid_b).sign();
    assert_eq!(
        get_with(&app, "/me", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_static_jwks_verifies_without_any_network_io() {
    let issuer = issuer().await;
    let config = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).static_jwks(issuer.jwks().to_string()))
        .audience(issuer.audience());
    let app = router(AuthLayer::new(build(config)));
    for alg in [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa] {
        assert_eq!(
            get_with(&app, "/me", &issuer.token().alg(alg).sign())
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get_with(&app, "/me", &issuer.token().kid("other").sign())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(issuer.jwks_requests() + issuer.discovery_requests(), 0);
    let unusable = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).static_jwks(r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#))
        .audience(issuer.audience())
        .build();
    assert!(matches!(
        unusable,
        Err(axum_principal::ConfigError::UnusableStaticJwks(_))
    ));
}

#[tokio::test]
async fn cognito_style_tokens_pass_with_client_id_as_audience() {
    let issuer = issuer().await;
    let config = AuthConfig::builder()
        .issuer(
            Issuer::new(issuer.issuer())
                .client_id_as_audience()
                .provider(Preset::Cognito),
        )
        .audience("app-client-1");
    let app = router(AuthLayer::new(build(config)));
    // Cognito's client-credentials shape: no `aud`, `sub == client_id`, and `auth_time`
    // equal to `iat` (Cognito records it on machine tokens too).
    let machine = issuer.token().without_claim("aud");
    let iat = machine.claims_json()["iat"].clone();
    let machine = machine
        .claim("sub", "app-client-1")
        .claim("client_id", "app-client-1")
        .claim("token_use", "access")
        .claim("scope", "sample/read")
        .claim("auth_time", iat)
        .claim("version", 2)
        .sign();
    let reply = get_with(&app, "/me", &machine).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "machine");
    assert_eq!(
        reply.json()["classified_by"],
        "cognito:sub-equals-client_id-without-username"
    );
    let other_client = issuer
        .token()
        .without_claim("aud")
        .claim("client_id", "app-client-2")
        .sign();
    assert_eq!(
        get_with(&app, "/me", &other_client).await.status,
        StatusCode::UNAUTHORIZED
    );
    let no_client = issuer.token().without_claim("aud").sign();
    assert_eq!(
        get_with(&app, "/me", &no_client).await.status,
        StatusCode::UNAUTHORIZED
    );
}
