//! The unit tests of [`GrpcMethodGuards`]: which entry a call's path selects, and the gRPC
//! status of each refusal.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Request};
use serde_json::json;
use tower::{service_fn, Layer, ServiceExt};

use super::tests::{context, principal_of};
use super::*;
use crate::classify::Kind;
use crate::ConfigError;

/// A table of the example's service.
fn guards() -> GrpcMethodGuards {
    GrpcMethodGuards::new()
        .method("/principal.v1.Principal/WhoAmI", RequirePrincipal)
        .method(
            "/principal.v1.Principal/Admin",
            RequireRoleOrMachine::new("admin"),
        )
        .method("/principal.v1.Principal/MachineOnly", RequireMachine)
}

fn user() -> Principal {
    principal_of(Kind::User, json!({"sub": "alice", "roles": []}))
}

fn machine() -> Principal {
    principal_of(Kind::Machine, json!({"sub": "svc"}))
}

/// Who calls: nobody behind the layer, a principal, or nobody without any layer.
enum Caller {
    Anonymous,
    Principal(Principal),
    NoLayer,
}

/// The `grpc-status` of a call of `path` (`None`: it reached the service).
async fn call(guards: &GrpcMethodGuards, path: &str, caller: Caller) -> Option<String> {
    let inner =
        service_fn(|_: Request<Body>| async { Ok::<_, Infallible>(Response::new(Body::empty())) });
    let mut request = Request::post(path)
        .header("content-type", "application/grpc")
        .body(Body::empty())
        .expect("a valid request");
    match caller {
        Caller::Anonymous => {
            request.extensions_mut().insert(context());
        }
        Caller::Principal(p) => {
            request.extensions_mut().insert(context());
            request.extensions_mut().insert(p);
        }
        Caller::NoLayer => {}
    }
    let response = guards
        .layer(inner)
        .oneshot(request)
        .await
        .expect("infallible");
    response
        .headers()
        .get("grpc-status")
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn each_method_has_its_guard_and_a_refusal_is_permission_denied() {
    let guards = guards();
    let who = "/principal.v1.Principal/WhoAmI";
    let admin = "/principal.v1.Principal/Admin";
    let machine_only = "/principal.v1.Principal/MachineOnly";
    assert_eq!(call(&guards, who, Caller::Principal(user())).await, None);
    assert_eq!(
        call(&guards, admin, Caller::Principal(user()))
            .await
            .as_deref(),
        Some("7")
    );
    assert_eq!(
        call(&guards, admin, Caller::Principal(machine())).await,
        None
    );
    assert_eq!(
        call(&guards, machine_only, Caller::Principal(user()))
            .await
            .as_deref(),
        Some("7")
    );
    assert_eq!(
        call(&guards, machine_only, Caller::Principal(machine())).await,
        None
    );
    // No principal: the layer's own answer, 16; no layer at all: 13.
    assert_eq!(
        call(&guards, who, Caller::Anonymous).await.as_deref(),
        Some("16")
    );
    assert_eq!(
        call(&guards, who, Caller::NoLayer).await.as_deref(),
        Some("13")
    );
}

#[tokio::test]
async fn health_and_reflection_are_open_until_closed() {
    let open = guards();
    let health = "/grpc.health.v1.Health/Check";
    let reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    for path in [health, "/grpc.health.v1.Health/Watch", reflection] {
        assert_eq!(call(&open, path, Caller::Anonymous).await, None, "{path}");
        assert_eq!(call(&open, path, Caller::NoLayer).await, None, "{path}");
    }
    let closed = guards().close_health().close_reflection();
    for path in [health, reflection] {
        assert_eq!(
            call(&closed, path, Caller::Anonymous).await.as_deref(),
            Some("16"),
            "{path}"
        );
        // Closed and in no entry: refused like any unlisted method.
        assert_eq!(
            call(&closed, path, Caller::Principal(user()))
                .await
                .as_deref(),
            Some("7"),
            "{path}"
        );
    }
    // An explicit entry for health wins over closing it.
    let guarded = guards()
        .close_health()
        .method("/grpc.health.v1.Health/*", RequirePrincipal);
    assert_eq!(
        call(&guarded, health, Caller::Principal(user())).await,
        None
    );
    // A look-alike service is not the health service.
    let lookalike = "/grpc.health.v1.HealthX/Check";
    assert_eq!(
        call(&open, lookalike, Caller::Anonymous).await.as_deref(),
        Some("16")
    );
}

#[tokio::test]
async fn unlisted_methods_are_refused_unless_allowed() {
    let other = "/principal.v1.Principal/Added";
    let elsewhere = "/other.v1.Other/Call";
    for path in [other, elsewhere, "/healthz", "/"] {
        assert_eq!(
            call(&guards(), path, Caller::Principal(machine()))
                .await
                .as_deref(),
            Some("7"),
            "{path}"
        );
    }
    let allowed = guards().allow_unlisted();
    assert_eq!(call(&allowed, other, Caller::Principal(user())).await, None);
    // Allowed still means "with a principal".
    assert_eq!(
        call(&allowed, other, Caller::Anonymous).await.as_deref(),
        Some("16")
    );
}

#[tokio::test]
async fn a_service_entry_covers_its_methods_and_a_method_entry_wins() {
    let guards = GrpcMethodGuards::new()
        .method("/principal.v1.Principal/*", RequireMachine)
        .method("/principal.v1.Principal/WhoAmI", RequirePrincipal)
        .open("/principal.v1.Principal/Ping");
    let whoami = "/principal.v1.Principal/WhoAmI";
    assert_eq!(call(&guards, whoami, Caller::Principal(user())).await, None);
    let admin = "/principal.v1.Principal/Admin";
    assert_eq!(
        call(&guards, admin, Caller::Principal(user()))
            .await
            .as_deref(),
        Some("7")
    );
    assert_eq!(
        call(&guards, admin, Caller::Principal(machine())).await,
        None
    );
    assert_eq!(
        call(&guards, "/principal.v1.Principal/Ping", Caller::Anonymous).await,
        None
    );
}

#[test]
fn patterns_are_checked() {
    for bad in [
        "",
        "/",
        "principal.v1.Principal/WhoAmI",
        "/principal.v1.Principal",
        "/principal.v1.Principal/",
        "//WhoAmI",
        "/principal.v1.Principal/Who/Am",
        "/principal.v1.Principal/Who Am",
        "/principal.v1.*/WhoAmI",
    ] {
        assert_eq!(
            GrpcMethodGuards::new()
                .try_method(bad, RequirePrincipal)
                .err(),
            Some(ConfigError::InvalidGrpcMethod(bad.to_owned())),
            "{bad:?}"
        );
    }
}

#[test]
#[should_panic(expected = "is not a gRPC method pattern")]
fn a_bad_pattern_in_code_is_found_when_the_table_is_built() {
    let _ = GrpcMethodGuards::new().open("grpc.health.v1.Health");
}
