//! CONTRACT.md's gRPC table through the real `AuthLayer`, the route guard, the gRPC method
//! table and the extractors: a call with a gRPC `content-type` is refused with a gRPC status
//! in a Trailers-Only response, and the same refusal over HTTP is unchanged.

use crate::common::{build, config, issuer, send_request, Reply};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use axum::Router;
use axum_principal::clock::ManualClock;
use axum_principal::{
    AuthLayer, GrpcMethodGuards, Machine, Principal, RequireMachine, RequirePrincipal,
};
use axum_principal_testkit::{Fault, KeyAlg};

/// `/principal.v1.Principal/{WhoAmI,MachineOnly}` behind the method table, and a route whose
/// `Machine` extractor refuses on its own.
fn grpc_app(layer: AuthLayer) -> Router {
    let guards = GrpcMethodGuards::new()
        .method("/principal.v1.Principal/WhoAmI", RequirePrincipal)
        .method("/principal.v1.Principal/MachineOnly", RequireMachine)
        .method("/principal.v1.Principal/Extractor", RequirePrincipal);
    Router::new()
        .route(
            "/principal.v1.Principal/WhoAmI",
            post(|_: Principal| async {}),
        )
        .route(
            "/principal.v1.Principal/MachineOnly",
            post(|_: Principal| async {}),
        )
        .route(
            "/principal.v1.Principal/Extractor",
            post(|_: Machine| async {}),
        )
        .route("/grpc.health.v1.Health/Check", post(|| async { "serving" }))
        .layer(guards)
        .layer(layer)
}

/// A gRPC call of `path` with these `Authorization` values and content type.
async fn call(app: &Router, path: &str, authorization: &[&str], content_type: &str) -> Reply {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    send_request(app, request.body(Body::empty()).expect("a valid request")).await
}

fn text<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A Trailers-Only refusal with this status and message, whose metadata never carries
/// `secret`.
fn assert_grpc(reply: &Reply, status: &str, message: &str, secret: &str) {
    assert_eq!(reply.status, StatusCode::OK, "gRPC refusals are HTTP 200");
    assert_eq!(text(reply, "grpc-status"), Some(status));
    assert_eq!(text(reply, "grpc-message"), Some(message));
    assert!(
        reply.body.is_empty(),
        "Trailers-Only: no body, got {:?}",
        reply.body
    );
    for (name, value) in &reply.headers {
        let value = value.to_str().unwrap_or_default();
        assert!(
            secret.is_empty() || !value.contains(secret),
            "{name} carries the token"
        );
    }
}

#[tokio::test]
async fn the_layer_refuses_grpc_calls_with_unauthenticated_and_its_challenge() {
    let issuer = issuer().await;
    let app = grpc_app(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let who = "/principal.v1.Principal/WhoAmI";

    let none = call(&app, who, &[], "application/grpc").await;
    assert_grpc(&none, "16", "missing_token", "");
    assert_eq!(none.challenge.as_deref(), Some("Bearer realm=\"api\""));
    assert_eq!(text(&none, "content-type"), Some("application/grpc"));

    let expired = issuer.token().claim("exp", 1).sign();
    let bad = call(
        &app,
        who,
        &[&format!("Bearer {expired}")],
        "application/grpc+proto",
    )
    .await;
    assert_grpc(&bad, "16", "invalid_token", &expired);
    let challenge = bad
        .challenge
        .as_deref()
        .expect("the invalid_token challenge");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(text(&bad, "content-type"), Some("application/grpc+proto"));

    // A malformed header is 400 over HTTP; over gRPC, 16 with the invalid_request challenge.
    let two = issuer.user_token("alice");
    let malformed = call(
        &app,
        who,
        &[&format!("Bearer {two} {two}")],
        "application/grpc",
    )
    .await;
    assert_grpc(&malformed, "16", "invalid_request", &two);
    let challenge = malformed
        .challenge
        .as_deref()
        .expect("the invalid_request challenge");
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );

    let ok = call(&app, who, &[&format!("Bearer {two}")], "application/grpc").await;
    assert_eq!(text(&ok, "grpc-status"), None, "reached the handler");
}

#[tokio::test]
async fn guards_and_extractors_refuse_grpc_calls_with_permission_denied() {
    let issuer = issuer().await;
    let app = grpc_app(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let alice = issuer.user_token("alice");
    let bearer = format!("Bearer {alice}");
    for path in [
        "/principal.v1.Principal/MachineOnly",
        "/principal.v1.Principal/Extractor",
    ] {
        let reply = call(&app, path, &[&bearer], "application/grpc").await;
        assert_grpc(&reply, "7", "insufficient_scope", &alice);
        let challenge = reply
            .challenge
            .as_deref()
            .expect("the insufficient_scope challenge");
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
    }
    // An unlisted method is refused too.
    let unlisted = call(
        &app,
        "/principal.v1.Principal/Other",
        &[&bearer],
        "application/grpc",
    )
    .await;
    assert_grpc(&unlisted, "7", "insufficient_scope", &alice);
}

#[tokio::test]
async fn keys_that_cannot_be_had_are_unavailable() {
    let issuer = issuer().await;
    issuer.set_fault(Fault::Down);
    let app = grpc_app(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let token = issuer.token().alg(KeyAlg::Es256).sign();
    let reply = call(
        &app,
        "/principal.v1.Principal/WhoAmI",
        &[&format!("Bearer {token}")],
        "application/grpc",
    )
    .await;
    assert_grpc(&reply, "14", "temporarily_unavailable", &token);
    assert_eq!(reply.challenge, None);
}

#[tokio::test]
async fn health_is_open_behind_an_optional_layer_and_the_rest_still_needs_a_token() {
    let issuer = issuer().await;
    let app =
        grpc_app(AuthLayer::new(build(config(&issuer, &ManualClock::new()))).allow_anonymous());
    let health = call(
        &app,
        "/grpc.health.v1.Health/Check",
        &[],
        "application/grpc",
    )
    .await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(text(&health, "grpc-status"), None);
    assert_eq!(health.body, "serving");
    let who = call(
        &app,
        "/principal.v1.Principal/WhoAmI",
        &[],
        "application/grpc",
    )
    .await;
    assert_grpc(&who, "16", "missing_token", "");
    assert_eq!(who.challenge.as_deref(), Some("Bearer realm=\"api\""));
}

#[tokio::test]
async fn without_the_layer_a_grpc_call_is_internal() {
    let app = Router::new().route(
        "/principal.v1.Principal/WhoAmI",
        post(|_: Principal| async {}),
    );
    let reply = call(
        &app,
        "/principal.v1.Principal/WhoAmI",
        &[],
        "application/grpc",
    )
    .await;
    assert_grpc(&reply, "13", "server_error", "");
}

#[tokio::test]
async fn the_same_refusals_over_http_are_unchanged() {
    let issuer = issuer().await;
    let app = grpc_app(AuthLayer::new(build(config(&issuer, &ManualClock::new()))));
    let none = call(
        &app,
        "/principal.v1.Principal/WhoAmI",
        &[],
        "application/json",
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(text(&none, "grpc-status"), None);
    assert_eq!(none.json()["error"], "missing_token");
}
