//! `GET /openapi.json` against CONTRACT.md's Routes table, and against the router itself:
//! every route the router serves is in the document, with the access it enforces. A route
//! added without aide, or added with no requirement while it refuses callers, fails here.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};

use crate::support::*;

#[path = "../../../axum-principal-openapi/tests/common/mod.rs"]
mod validator;

/// With and without the RFC 9728 metadata route.
const CONFIGURATIONS: [&[(&str, &str)]; 2] =
    [&[], &[("AUTHZ_RESOURCE", "http://127.0.0.1:8080/api")]];

async fn document(router: &Router) -> Value {
    let reply = send(router, "/openapi.json", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    reply.json()
}

/// The paths the router serves, from axum's `Debug` of its route table (`path_router`, with
/// `RouteId(n): "/path"`; the `fallback_router` after it holds axum's own fallback routes).
fn router_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let (routes, _) = debug
        .split_once("fallback_router:")
        .expect("axum's Debug output changed; this test reads routes from it");
    let paths: BTreeSet<String> = routes
        .split("RouteId(")
        .filter_map(|s| {
            let (_, rest) = s.split_once("): \"")?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .filter(|p| !p.contains("__private__"))
        .collect();
    assert!(
        paths.contains("/healthz") && paths.contains("/me"),
        "axum's Debug output changed; this test reads routes from it: {paths:?}"
    );
    paths
}

fn documented_paths(document: &Value) -> BTreeSet<String> {
    document["paths"]
        .as_object()
        .expect("the document has paths")
        .keys()
        .cloned()
        .collect()
}

fn get<'a>(document: &'a Value, path: &str) -> &'a Value {
    &document["paths"][path]["get"]
}

/// Whether the operation needs a token: a `security` list without `{}`.
fn needs_token(operation: &Value) -> bool {
    operation["security"].as_array().is_some_and(|s| {
        !s.is_empty()
            && s.iter()
                .all(|e| e.as_object().is_some_and(|e| !e.is_empty()))
    })
}

/// Whether the operation names what its guard wants: a scope or `x-required-roles`.
fn names_a_requirement(operation: &Value) -> bool {
    let scoped = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|e| e.values())
        .any(|scopes| scopes.as_array().is_some_and(|s| !s.is_empty()));
    scoped || operation.get("x-required-roles").is_some()
}

#[tokio::test]
async fn openapi_json_is_a_valid_openapi_3_1_document_served_without_a_token() {
    for extra in CONFIGURATIONS {
        let h = harness_with(extra).await;
        let document = document(&h.router).await;
        validator::assert_valid(&document);
        assert_eq!(document["openapi"], "3.1.0");
        // Serving it reads no token and fetches no key.
        assert_eq!(h.issuer.jwks_requests(), 0);
    }
}

#[tokio::test]
async fn the_document_says_what_the_contract_says() {
    let h = harness_with(&[("AUTHZ_RESOURCE", "http://127.0.0.1:8080/api")]).await;
    let document = document(&h.router).await;
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["oidc-1"]["type"], "openIdConnect");
    assert_eq!(
        schemes["oidc-1"]["openIdConnectUrl"],
        h.issuer.discovery_url()
    );

    let reports = get(&document, "/reports");
    assert!(reports["security"]
        .as_array()
        .expect("/reports has security")
        .contains(&json!({ "bearer": ["read:reports"] })));
    for path in ["/me", "/admin", "/machine", "/user", "/direct"] {
        let operation = get(&document, path);
        assert!(needs_token(operation), "{path}");
        assert!(
            !operation["security"].to_string().contains("read:reports"),
            "{path} lists a scope it does not require"
        );
    }
    for path in [
        "/healthz",
        "/openapi.json",
        "/.well-known/oauth-protected-resource/api",
    ] {
        assert!(get(&document, path).is_object(), "{path} is documented");
        assert!(get(&document, path).get("security").is_none(), "{path}");
    }
    for path in ["/me", "/reports", "/admin", "/machine", "/user", "/direct"] {
        let responses = &get(&document, path)["responses"];
        assert_eq!(
            responses["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/AuthError",
            "{path}"
        );
    }
    for path in ["/reports", "/admin", "/machine", "/user", "/direct"] {
        assert!(
            get(&document, path)["responses"]["403"].is_object(),
            "{path}"
        );
    }
    let error = &document["components"]["schemas"]["AuthError"];
    assert_eq!(error["properties"]["error"]["type"], "string");
    assert_eq!(error["properties"]["error_description"]["type"], "string");
    assert_eq!(
        get(&document, "/admin")["x-required-roles"],
        json!([{ "roles": ["admin"] }, { "kind": "machine" }])
    );
}

#[tokio::test]
async fn every_route_of_the_router_is_documented_with_the_access_it_enforces() {
    for extra in CONFIGURATIONS {
        let h = harness_with(extra).await;
        let document = document(&h.router).await;
        let served = router_paths(&h.router);
        assert_eq!(
            served,
            documented_paths(&document),
            "routes vs. documented paths"
        );

        // A caller with a valid token but no role, no scope, acting for itself.
        let token = format!("Bearer {}", h.issuer.user_token("alice"));
        for path in &served {
            let operation = get(&document, path);
            assert!(operation.is_object(), "{path} documents GET");
            let anonymous = send(&h.router, path, &[]).await.status;
            assert_eq!(
                anonymous == StatusCode::UNAUTHORIZED,
                needs_token(operation),
                "{path}: answered {anonymous} without a token; documented security: {}",
                operation["security"]
            );
            let with_token = send(&h.router, path, &[&token]).await.status;
            if with_token == StatusCode::FORBIDDEN {
                assert!(
                    operation["responses"]["403"].is_object(),
                    "{path} documents 403"
                );
                assert!(
                    names_a_requirement(operation),
                    "{path} refuses a plain token but names no scope or role"
                );
            }
        }
    }
}
