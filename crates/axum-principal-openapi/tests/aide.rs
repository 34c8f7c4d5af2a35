//! aide: the document an `ApiRouter` of every kind of extractor and guard produces, checked
//! against the OpenAPI 3.1 schema and for what each operation states.

mod common;

use aide::axum::routing::get;
use aide::axum::ApiRouter;
use aide::openapi::OpenApi;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum_principal::dpop::DpopConfig;
use axum_principal::{
    names, AuthConfig, AuthLayer, Claims, Guarded, Issuer, Machine, Principal, RequireAllScopes,
    RequireRoleOrMachine, RequireScope, User,
};
use axum_principal_openapi::aide::{finish, RouteGuarded};
use axum_principal_openapi::SecuritySchemes;
use axum_principal_testkit::MockIssuer;
use serde_json::{json, Value};
use tower::ServiceExt;

names!(ReadReports = "read:reports");
names!(WriteReports = "write:reports");
names!(Audit = ["audit:read", "audit:export"]);

async fn text() -> String {
    "ok".to_owned()
}
async fn json(_: Principal) -> axum::Json<Value> {
    axum::Json(json!({}))
}
async fn me(_: Principal) -> String {
    text().await
}
async fn maybe(_: Option<Principal>) -> String {
    text().await
}
async fn user(_: User) -> String {
    text().await
}
async fn machine(_: Machine) -> String {
    text().await
}
async fn claims(_: Claims<Value>) -> String {
    text().await
}
async fn read(_: Guarded<RequireScope<ReadReports>>) -> String {
    text().await
}
async fn write(_: Guarded<RequireScope<WriteReports>>, _: Principal) -> String {
    text().await
}
async fn audit(_: Guarded<RequireAllScopes<Audit>>) -> String {
    text().await
}

fn router() -> ApiRouter {
    ApiRouter::new()
        .api_route("/public", get(text))
        .api_route("/me", get(me))
        .api_route("/json", get(json))
        .api_route("/maybe", get(maybe))
        .api_route("/user", get(user))
        .api_route("/machine", get(machine))
        .api_route("/claims", get(claims))
        .api_route("/read", get(read))
        .api_route("/write", get(write))
        .api_route("/audit", get(audit))
        .route_guarded("/admin", get(text), RequireRoleOrMachine::new("admin"))
}

/// Two exact issuers, a tenant template, DPoP accepted.
fn config(issuer: &str) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer)
        .issuer("https://second.example.com/realms/api")
        .issuer(
            Issuer::template("https://login.microsoftonline.com/{tenantid}/v2.0")
                .any_tenant()
                .jwks_uri("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
        )
        .audience("https://api.example.com")
        .dpop(DpopConfig::new("https://api.example.com"))
        .build()
        .expect("a valid configuration")
}

fn document(config: &AuthConfig) -> (axum::Router, Value) {
    let mut api = OpenApi::default();
    api.info.title = "test".to_owned();
    api.info.version = "1".to_owned();
    let app = router().finish_api(&mut api);
    finish(&mut api, &SecuritySchemes::from_config(config)).expect("the document round-trips");
    (
        app,
        serde_json::to_value(&api).expect("the document serializes"),
    )
}

fn operation<'a>(document: &'a Value, path: &str) -> &'a Value {
    &document["paths"][path]["get"]
}

/// The `bearer` entries of an operation's security (one per alternative).
fn bearer(document: &Value, path: &str) -> Value {
    let entries = operation(document, path)["security"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| {
                    e.as_object()
                        .is_some_and(|e| e.is_empty() || e.contains_key("bearer"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Value::Array(entries)
}

fn statuses(document: &Value, path: &str) -> Vec<String> {
    let responses = operation(document, path)["responses"].as_object();
    let mut statuses: Vec<String> = responses
        .into_iter()
        .flat_map(|r| r.keys().cloned())
        .collect();
    statuses.sort();
    statuses
}

#[tokio::test]
async fn the_document_is_valid_and_every_security_name_resolves() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let (_, document) = document(&config(issuer.issuer()));
    common::assert_valid(&document);
    assert_eq!(document["openapi"], "3.1.0");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        schemes["bearer"],
        json!({
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": schemes["bearer"]["description"].clone(),
        })
    );
    assert_eq!(schemes["dpop"]["scheme"], "DPoP");
    // One openIdConnect scheme per exact issuer, at the URL the key store reads.
    assert_eq!(schemes["oidc-1"]["type"], "openIdConnect");
    assert_eq!(
        schemes["oidc-1"]["openIdConnectUrl"],
        issuer.discovery_url()
    );
    assert_eq!(
        schemes["oidc-2"]["openIdConnectUrl"],
        "https://second.example.com/realms/api/.well-known/openid-configuration"
    );
    assert!(
        schemes.get("oidc-3").is_none(),
        "a template has no discovery URL"
    );
    assert!(schemes["bearer"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("{tenantid}")));
    assert!(
        schemes.get("mutualTLS").is_none(),
        "mTLS is off unless the application says so"
    );
}

#[test]
fn the_validator_refuses_an_invalid_document() {
    common::validate(&common::invalid_document()).expect_err("a document without info.version");
}

#[tokio::test]
async fn each_operation_states_what_its_extractors_and_guards_require() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let (_, document) = document(&config(issuer.issuer()));

    assert!(operation(&document, "/public").get("security").is_none());
    assert_eq!(bearer(&document, "/me"), json!([{ "bearer": [] }]));
    assert_eq!(bearer(&document, "/claims"), json!([{ "bearer": [] }]));
    // Optional auth: the empty requirement first.
    assert_eq!(bearer(&document, "/maybe"), json!([{}, { "bearer": [] }]));
    // Each scope where its guard is, and only there.
    assert_eq!(
        bearer(&document, "/read"),
        json!([{ "bearer": ["read:reports"] }])
    );
    assert_eq!(
        bearer(&document, "/write"),
        json!([{ "bearer": ["write:reports"] }])
    );
    assert_eq!(
        bearer(&document, "/audit"),
        json!([{ "bearer": ["audit:export", "audit:read"] }])
    );
    // Each requirement repeated for the other schemes a token may come with.
    assert_eq!(
        operation(&document, "/read")["security"],
        json!([
            { "bearer": ["read:reports"] },
            { "dpop": ["read:reports"] },
            { "oidc-1": ["read:reports"] },
            { "oidc-2": ["read:reports"] },
        ])
    );
    // Roles and kinds are not scopes.
    assert_eq!(bearer(&document, "/admin"), json!([{ "bearer": [] }]));
    assert_eq!(
        operation(&document, "/admin")["x-required-roles"],
        json!([{ "roles": ["admin"] }, { "kind": "machine" }])
    );
    assert_eq!(
        operation(&document, "/user")["x-required-roles"],
        json!([{ "kind": "user" }])
    );
    assert_eq!(
        operation(&document, "/machine")["x-required-roles"],
        json!([{ "kind": "machine" }])
    );
    assert!(operation(&document, "/read")
        .get("x-required-roles")
        .is_none());

    // Refusals: 401 and 503 for a token, 403 where a guard can refuse.
    assert_eq!(statuses(&document, "/me"), ["200", "401", "503"]);
    for guarded in ["/read", "/write", "/audit", "/admin", "/user", "/machine"] {
        assert_eq!(
            statuses(&document, guarded),
            ["200", "401", "403", "503"],
            "{guarded}"
        );
    }
    assert_eq!(statuses(&document, "/public"), ["200"]);
    let unauthorized = &operation(&document, "/admin")["responses"]["401"];
    assert_eq!(
        unauthorized["content"]["application/json"]["schema"],
        axum_principal_openapi::error_schema_ref()
    );
    assert_eq!(
        document["components"]["schemas"]["AuthError"],
        axum_principal_openapi::error_schema()
    );
}

#[tokio::test]
async fn dpop_required_leaves_bearer_out_of_the_requirements() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .dpop(
            DpopConfig::new("https://api.example.com")
                .policy(axum_principal::dpop::DpopPolicy::Required),
        )
        .build()
        .expect("a valid configuration");
    let (_, document) = document(&config);
    common::assert_valid(&document);
    assert_eq!(
        operation(&document, "/read")["security"],
        json!([{ "dpop": ["read:reports"] }, { "oidc-1": ["read:reports"] }])
    );
}

#[tokio::test]
async fn route_guarded_guards_the_route_it_documents() {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .build()
        .expect("a valid configuration");
    let (app, _) = document(&config);
    let app = app.layer(AuthLayer::new(config));
    let call = |token: String| {
        let app = app.clone();
        async move {
            let request = Request::get("/admin")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("a request");
            app.oneshot(request).await.expect("a response").status()
        }
    };
    assert_eq!(
        call(issuer.user_token("alice")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(issuer.user_token_with_roles("carol", &["admin"])).await,
        StatusCode::OK
    );
    assert_eq!(call(issuer.machine_token("billing")).await, StatusCode::OK);
}
