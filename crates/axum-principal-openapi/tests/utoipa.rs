//! utoipa: the document of `#[utoipa::path]` handlers with the requirements recorded by
//! `GuardedRoutes`, written by the `SecurityAddon` modifier.

mod common;

use axum::routing::get;
use axum::Router;
use axum_principal::{AuthConfig, RequireRoleOrMachine, RequireScope};
use axum_principal_openapi::utoipa::SecurityAddon;
use axum_principal_openapi::{Access, GuardedRoutes, SecuritySchemes};
use serde_json::{json, Value};
use utoipa::{Modify, OpenApi};

#[utoipa::path(get, path = "/public", responses((status = 200, description = "always")))]
async fn public() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/me", responses((status = 200, description = "the caller")))]
async fn me() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/maybe", responses((status = 200, description = "anyone")))]
async fn maybe() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/reports", responses((status = 200, description = "reports")))]
async fn reports() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/exports", responses((status = 200, description = "exports")))]
async fn exports() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/admin", responses((status = 200, description = "admin")))]
async fn admin() -> &'static str {
    "ok"
}

#[derive(OpenApi)]
#[openapi(
    info(title = "test", version = "1"),
    paths(public, me, maybe, reports, exports, admin)
)]
struct ApiDoc;

fn app(guarded: &mut GuardedRoutes) -> Router {
    let router = Router::new()
        .route("/public", get(public))
        .route("/me", get(me))
        .route("/maybe", get(maybe));
    let router = guarded.route_guarded(
        router,
        "/reports",
        get(reports),
        RequireScope::new("read:reports"),
    );
    let router = guarded.route_guarded(
        router,
        "/exports",
        get(exports),
        RequireScope::new("export"),
    );
    let router = guarded.route_guarded(
        router,
        "/admin",
        get(admin),
        RequireRoleOrMachine::new("admin"),
    );
    // Extractors utoipa cannot see: stated where the route is added.
    guarded.record("/me", Access::token());
    guarded.record("/maybe", Access::optional_token());
    router
}

fn document() -> Value {
    let config = AuthConfig::builder()
        .issuer("https://issuer.example.com/")
        .audience("https://api.example.com")
        .build()
        .expect("a valid configuration");
    let mut guarded = GuardedRoutes::default();
    let _app = app(&mut guarded);
    let schemes = SecuritySchemes::from_config(&config).mutual_tls(true);
    let mut api = ApiDoc::openapi();
    SecurityAddon::new(schemes, guarded).modify(&mut api);
    serde_json::to_value(&api).expect("the document serializes")
}

#[test]
fn the_document_is_valid_and_every_security_name_resolves() {
    let document = document();
    common::assert_valid(&document);
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["mutualTLS"]["type"], "mutualTLS");
    assert_eq!(
        schemes["oidc-1"]["openIdConnectUrl"],
        "https://issuer.example.com/.well-known/openid-configuration"
    );
    assert!(
        schemes.get("dpop").is_none(),
        "DPoP is off in this configuration"
    );
}

#[test]
fn the_recorded_requirements_reach_their_operations() {
    let document = document();
    let security = |path: &str| document["paths"][path]["get"]["security"].clone();
    assert_eq!(security("/public"), Value::Null);
    assert_eq!(security("/me"), json!([{ "bearer": [] }, { "oidc-1": [] }]));
    assert_eq!(
        security("/maybe"),
        json!([{}, { "bearer": [] }, { "oidc-1": [] }])
    );
    assert_eq!(
        security("/reports"),
        json!([{ "bearer": ["read:reports"] }, { "oidc-1": ["read:reports"] }])
    );
    assert_eq!(
        security("/exports"),
        json!([{ "bearer": ["export"] }, { "oidc-1": ["export"] }])
    );
    assert_eq!(
        document["paths"]["/admin"]["get"]["x-required-roles"],
        json!([{ "roles": ["admin"] }, { "kind": "machine" }])
    );
    let responses = &document["paths"]["/reports"]["get"]["responses"];
    assert_eq!(
        responses["200"]["description"], "reports",
        "the handler's own response stays"
    );
    assert_eq!(
        responses["403"]["content"]["application/json"]["schema"],
        axum_principal_openapi::error_schema_ref()
    );
    assert_eq!(
        document["components"]["schemas"]["AuthError"],
        axum_principal_openapi::error_schema()
    );
    assert!(document["paths"]["/me"]["get"]["responses"]
        .get("403")
        .is_none());
}
