//! Hostile input: only access tokens pass (no ID tokens, no bound tokens sent as Bearer), and
//! a user never passes as a machine under each issuer's own rules.
//!
//! The case runner is `common::hostile`; run with `--nocapture` to print every case with
//! the status and reason code it got.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::{
    guard_layer, AuthConfig, AuthConfigBuilder, AuthLayer, Issuer, Preset, RequireMachine,
};
use common::hostile::*;
use common::{build, send_request};

// ---------------------------------------------------------------------------------------------
// Only access tokens: ID tokens, bound tokens sent as Bearer, duplicates at any depth

#[tokio::test]
async fn id_tokens_and_bound_tokens_sent_as_bearer_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let header = rs_header(&issuer);
    let signed =
        |name: &str, value: Value| rs_signed(&issuer, &header, &claims_with(&issuer, name, value));
    let cases = vec![
        Case::bearer(
            "Cognito ID token (token_use: id) with admin groups",
            &rs_signed(&issuer, &header, &{
                let mut c = claims(&issuer);
                c.insert("token_use".into(), json!("id"));
                c.insert("cognito:groups".into(), json!(["admin"]));
                Value::Object(c).to_string()
            }),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "Keycloak ID token (typ claim ID)",
            &signed("typ", json!("ID")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "typ claim id, lower case",
            &signed("typ", json!("id")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "OIDC ID token with at_hash",
            &signed("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "OIDC ID token with c_hash",
            &signed("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "at_hash of another type still marks an ID token",
            &signed("at_hash", json!(1)),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "DPoP-bound token (cnf.jkt) as Bearer",
            &signed(
                "cnf",
                json!({"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
            ),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "mTLS-bound token (cnf.x5t#S256) as Bearer",
            &signed(
                "cnf",
                json!({"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            ),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "cnf of an unknown confirmation method as Bearer",
            &signed("cnf", json!({"kid":"k"})),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "an unsigned ID token is reported as a bad signature, not an ID token",
            &{
                let t = signed("token_use", json!("id"));
                let (h, p, _) = parts(&t);
                format!("{h}.{p}.{}", b64url(b"not a signature"))
            },
            Expect::Invalid(SIGNATURE),
        ),
    ];
    run(&app, cases).await;
    assert_accepts(&app, &signed("token_use", json!("access"))).await;
    assert_accepts(&app, &signed("typ", json!("Bearer"))).await;
}

#[tokio::test]
async fn id_tokens_pass_only_for_an_issuer_that_lifts_the_rule() {
    let issuer = real_issuer().await;
    let lifted = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).accept_id_tokens())
        .audience(issuer.audience())
        .clock(ManualClock::new());
    let app = app(lifted);
    let header = rs_header(&issuer);
    let id_token = rs_signed(
        &issuer,
        &header,
        &claims_with(&issuer, "at_hash", json!("x")),
    );
    assert_accepts(&app, &id_token).await;
    // Lifting the ID-token rule never lets a bound token through as Bearer.
    let bound = rs_signed(
        &issuer,
        &header,
        &claims_with(&issuer, "cnf", json!({"jkt":"x"})),
    );
    run(
        &app,
        vec![Case::bearer(
            "bound token, ID tokens allowed",
            &bound,
            Expect::Invalid(BOUND),
        )],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// A user never passes as a machine: the spoofing shapes of each provider, end to end

async fn machine_route_status(app: &Router, token: &str) -> (StatusCode, String) {
    let request = Request::get("/machine")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("a valid request");
    let out = send_request(app, request).await;
    (out.status, out.body)
}

fn machine_app(config: AuthConfigBuilder) -> Router {
    Router::new()
        .route("/machine", get(me))
        .route_layer(guard_layer(RequireMachine))
        .layer(AuthLayer::new(build(config)))
}

#[tokio::test]
async fn spoofed_machine_shapes_stay_users_under_each_issuers_own_rules() {
    // `/realms/…` in the issuer URL: `auto` picks the Keycloak rules for this issuer.
    let keycloak = real_issuer().await;
    let auth0 = start(MockIssuer::builder().path_prefix("/tenant")).await;
    let config = AuthConfig::builder()
        .issuer(keycloak.issuer())
        .issuer(Issuer::new(auth0.issuer()).provider(Preset::Auth0))
        .audience(keycloak.audience())
        .audience(auth0.audience())
        .clock(ManualClock::new());
    let app = machine_app(config);
    let mint = |issuer: &MockIssuer, claims: Value| issuer.token().claims(claims).sign();
    let users = [
        (
            "keycloak: a person registered service-account-x, web client",
            mint(
                &keycloak,
                json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-x"}),
            ),
        ),
        (
            "keycloak: a brokered login named service-account-web",
            mint(
                &keycloak,
                json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-web"}),
            ),
        ),
        (
            "keycloak: service-account- username of another client",
            mint(
                &keycloak,
                json!({"sub":"7a6b","client_id":"web","preferred_username":"service-account-reporting"}),
            ),
        ),
        (
            "keycloak issuer: an Auth0-shaped machine is no machine here",
            mint(
                &keycloak,
                json!({"sub":"svc@clients","azp":"svc","gty":"client-credentials"}),
            ),
        ),
        (
            "keycloak issuer: a Hydra-shaped machine is no machine here",
            mint(&keycloak, json!({"sub":"svc","client_id":"svc"})),
        ),
        (
            "auth0: enterprise connection sub samlp|evilcorp|x@clients",
            mint(
                &auth0,
                json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
            ),
        ),
        (
            "auth0: sub of another client @clients",
            mint(&auth0, json!({"sub":"Gdy3@clients","azp":"AbC123"})),
        ),
        (
            "auth0: gty as an array",
            mint(
                &auth0,
                json!({"sub":"auth0|u","gty":["client-credentials"]}),
            ),
        ),
        (
            "auth0 issuer: a Keycloak service account shape is no machine here",
            mint(
                &auth0,
                json!({"sub":"u","client_id":"x","preferred_username":"service-account-x"}),
            ),
        ),
    ];
    for (name, token) in &users {
        let (status, body) = machine_route_status(&app, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
    }
    let machines = [
        (
            "keycloak service account",
            mint(
                &keycloak,
                json!({"sub":"3f1e7c5a","azp":"reporting","client_id":"reporting","preferred_username":"service-account-reporting"}),
            ),
        ),
        (
            "auth0 client credentials",
            mint(
                &auth0,
                json!({"sub":"Gdy3@clients","azp":"Gdy3","gty":"client-credentials"}),
            ),
        ),
        (
            "auth0 RFC 9068 profile",
            mint(&auth0, json!({"sub":"Gdy3@clients","client_id":"Gdy3"})),
        ),
    ];
    for (name, token) in &machines {
        let (status, body) = machine_route_status(&app, token).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
}
