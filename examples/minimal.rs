//! The smallest service worth copying: one issuer, the auth layer, `/me`, and a guard each
//! way (as a `route_layer` on `/admin`, as a handler argument on `/jobs`).
//!
//! ```text
//! AUTHZ_ISSUER=https://issuer.example.com/ AUTHZ_AUDIENCE=https://api.example.com \
//!     cargo run --example minimal
//! ```
//!
//! `protected_api` is the full service: every setting, and a development issuer.

use std::error::Error;
use std::process::ExitCode;

use axum::{routing::get, Router};
use axum_principal::{
    guard_layer, AuthConfig, AuthLayer, Guarded, Principal, RequireMachine, RequireRoleOrMachine,
};

/// Any valid token; the verified caller.
async fn me(principal: Principal) -> String {
    format!("{} is a {}\n", principal.subject(), principal.kind())
}

/// The guard as an argument: a user gets 403 and this body never runs.
async fn jobs(_: Guarded<RequireMachine>, principal: Principal) -> String {
    format!("jobs of {}\n", principal.subject())
}

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}"); // one line, e.g. "error: AUTHZ_ISSUER is not set"
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn Error>> {
    let var = |name| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let config = AuthConfig::builder()
        .issuer(var("AUTHZ_ISSUER")?) // the tokens' exact `iss`; keys via OIDC discovery
        .audience(var("AUTHZ_AUDIENCE")?) // a token must name it in `aud`
        .build()?;
    let app = Router::new()
        .route("/admin", get(me))
        .route_layer(guard_layer(RequireRoleOrMachine::new("admin"))) // guards the routes above it
        .route("/me", get(me))
        .route("/jobs", get(jobs))
        .layer(AuthLayer::new(config)); // every route: a valid token, or 401
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    Ok(axum::serve(listener, app).await?)
}
