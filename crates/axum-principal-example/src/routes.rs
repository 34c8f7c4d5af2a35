//! The router: `/healthz` and `/openapi.json` outside the auth layer, every other route behind
//! it, all added through aide so that `/openapi.json` documents each with its requirement
//! (see [`crate::openapi`]).
//!
//! Guards are shown both ways the library offers them, with the same answers:
//!
//! * as a **`route_layer`**, added with `route_guarded` (`/admin`, `/machine`, `/user`,
//!   `/direct`, `/mfa`): the guard runs before the handler and its extractors, and the document
//!   states its requirement;
//! * as a **handler argument** (`/reports`: `_: Guarded<RequireScope<ReadReports>>`, the scope named
//!   at compile time with [`names!`]), and the kind extractors [`Machine`] and [`User`],
//!   which hand the handler the principal they checked.

use std::sync::Arc;
use std::time::Duration;

use aide::axum::routing::{get, get_with};
use aide::axum::ApiRouter;
use aide::openapi::OpenApi;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json, Router};
use axum_principal::guard::{Name, RequireAuthContext};
use axum_principal::rate_limit::RateLimitLayer;
use axum_principal::{
    names, AuthLayer, Guarded, Machine, Principal, ProtectedResourceMetadata, RequireDirect,
    RequireMachine, RequireRoleOrMachine, RequireScope, RequireUser, User,
};
use axum_principal_openapi::aide::RouteGuarded;
use serde_json::{json, Value};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::metadata::resource_metadata;
use crate::openapi::{self, OPENAPI_PATH};

// The scope `/reports` requires, as a type: `RequireScope<ReadReports>`.
names!(pub ReadReports = "read:reports");

/// The authentication context class `/mfa` requires (`acr`).
pub const MFA_ACR: &str = "urn:example:mfa";

/// How recent a sign-in `/mfa` requires (`auth_time`), before the leeway.
pub const MFA_MAX_AGE: Duration = Duration::from_secs(300);

/// The whole service: `/healthz` (and, with `AUTHZ_RESOURCE`, the RFC 9728 document)
/// outside the auth layer, every other route behind `layer`, each guard applied to its own
/// route only.
pub fn app(layer: AuthLayer) -> Router {
    app_with_rate_limit(layer, None)
}

/// As [`app`], with per-principal quotas (`AUTHZ_RATE_LIMIT`, see
/// [`rate_limit_layer`](crate::shared::rate_limit_layer)) on every authenticated route.
pub fn app_with_rate_limit(layer: AuthLayer, limits: Option<RateLimitLayer>) -> Router {
    let config = layer.authenticator().config().clone();
    // The scopes the routes require: `scopes_supported` of the metadata document.
    let metadata = resource_metadata(&config, [ReadReports.name()]);
    let mut protected = ApiRouter::new()
        .api_route("/me", get_with(me, |op| op.response::<200, Json<Value>>()))
        // The guard is a handler argument here.
        .api_route("/reports", get(reports))
        .route_guarded("/admin", get(admin), RequireRoleOrMachine::new("admin"))
        .route_guarded("/machine", get(machine), RequireMachine)
        .route_guarded("/user", get(user), RequireUser)
        // A principal acting for itself: a delegated token (an `act` claim) → 403.
        .route_guarded("/direct", get(direct), RequireDirect)
        // Step-up (RFC 9470): an MFA sign-in at most 5 minutes old (AUTHZ_LEEWAY_SECS
        // applies); any other token → 401 insufficient_user_authentication.
        .route_guarded(
            "/mfa",
            get(mfa),
            RequireAuthContext::acr([MFA_ACR]).max_age(MFA_MAX_AGE),
        );
    // Inside the auth layer, which supplies the principal.
    if let Some(limits) = limits {
        protected = protected.layer(limits);
    }
    let documented = ApiRouter::new()
        .api_route("/healthz", get(healthz))
        .api_route(
            OPENAPI_PATH,
            get_with(openapi::serve, |op| op.response::<200, Json<Value>>()),
        )
        .merge(protected.layer(layer));
    let documented = openapi::document_metadata_route(documented, metadata.as_ref());
    let mut api = OpenApi::default();
    let router = documented.finish_api(&mut api);
    let document = Arc::new(openapi::document(api, &config));
    with_service_layers(router.layer(Extension(document)), metadata)
}

/// `protected` (routes behind the auth layer) with what the services of this crate add
/// around it: `/healthz`, the RFC 9728 document when there is one, a JSON 404, tracing,
/// and `Authorization` marked sensitive.
pub fn with_public_routes(
    protected: Router,
    metadata: Option<ProtectedResourceMetadata>,
) -> Router {
    with_service_layers(
        Router::new()
            .route("/healthz", axum::routing::get(healthz))
            .merge(protected),
        metadata,
    )
}

/// `routes` with the RFC 9728 document when there is one, a JSON 404, tracing, and
/// `Authorization` marked sensitive.
fn with_service_layers(routes: Router, metadata: Option<ProtectedResourceMetadata>) -> Router {
    let routes = match metadata {
        Some(metadata) => routes.merge(metadata.router()),
        None => routes,
    };
    routes
        // Set after the merge so that unknown paths answer 404 without reading a token.
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        // Outermost, so the trace layer (and anything else) sees the header as sensitive.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            axum_principal::dpop::DPOP,
        ]))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": "no such route" })),
    )
}

/// Documented as JSON (`get_with` in [`app_with_rate_limit`]): `Principal` has no schema.
async fn me(principal: Principal) -> axum::response::Response {
    Json(principal).into_response()
}

fn allowed(route: &str, principal: &Principal) -> Json<Value> {
    Json(json!({
        "ok": true,
        "route": route,
        "subject": principal.subject(),
        "kind": principal.kind(),
    }))
}

async fn admin(principal: Principal) -> Json<Value> {
    allowed("admin", &principal)
}

async fn machine(Machine(principal): Machine) -> Json<Value> {
    allowed("machine", &principal)
}

async fn user(User(principal): User) -> Json<Value> {
    allowed("user", &principal)
}

async fn direct(principal: Principal) -> Json<Value> {
    allowed("direct", &principal)
}

async fn mfa(principal: Principal) -> Json<Value> {
    allowed("mfa", &principal)
}

/// Runs only when the caller's scopes include `read:reports`; otherwise the argument
/// answers 403 with `scope="read:reports"` in the challenge.
async fn reports(_: Guarded<RequireScope<ReadReports>>, principal: Principal) -> Json<Value> {
    allowed("reports", &principal)
}
