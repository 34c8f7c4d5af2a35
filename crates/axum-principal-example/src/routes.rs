//! The router: `/healthz` outside the auth layer, every other route behind it.
//!
//! Guards are shown both ways the library offers them, with the same answers:
//!
//! * as a **`route_layer`** (`/admin`, `/machine`, `/user`): the guard runs before the
//!   handler and its extractors;
//! * as a **handler argument** (`/reports`: `_: Guarded<RequireScope<ReadReports>>`, the scope named
//!   at compile time with [`names!`]), and the kind extractors [`Machine`] and [`User`],
//!   which hand the handler the principal they checked.

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::{
    guard_layer, names, AuthLayer, Guarded, Machine, Principal, RequireMachine,
    RequireRoleOrMachine, RequireScope, RequireUser, User,
};
use serde_json::{json, Value};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

// The scope `/reports` requires, as a type: `RequireScope<ReadReports>`.
names!(pub ReadReports = "read:reports");

/// The whole service: `/healthz` outside the auth layer, every other route behind `layer`,
/// each guard applied to its own route only.
pub fn app(layer: AuthLayer) -> Router {
    let protected = Router::new()
        .route("/me", get(me))
        // The guard is a handler argument here.
        .route("/reports", get(reports))
        .merge(
            Router::new()
                .route("/admin", get(admin))
                .route_layer(guard_layer(RequireRoleOrMachine::new("admin"))),
        )
        .merge(
            Router::new()
                .route("/machine", get(machine))
                .route_layer(guard_layer(RequireMachine)),
        )
        .merge(
            Router::new()
                .route("/user", get(user))
                .route_layer(guard_layer(RequireUser)),
        )
        .layer(layer);

    Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
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

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
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

/// Runs only when the caller's scopes include `read:reports`; otherwise the argument
/// answers 403 with `scope="read:reports"` in the challenge.
async fn reports(_: Guarded<RequireScope<ReadReports>>, principal: Principal) -> Json<Value> {
    allowed("reports", &principal)
}
