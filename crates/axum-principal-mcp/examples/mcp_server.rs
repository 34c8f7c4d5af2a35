//! An MCP server (rmcp, streamable HTTP) at `POST /mcp` behind axum-principal's
//! `AuthLayer`, configured by the example service's `AUTHZ_*` variables:
//!
//! ```text
//! cargo run --release -p axum-principal-mcp --example mcp_server
//! ```
//!
//! Without `AUTHZ_ISSUER` it starts the embedded development issuer and prints tokens.
//! The tools (`whoami`, `user_only`, `machine_or_admin`, `reports`) are in `src/tools.rs`;
//! `AUTHZ_MCP_SCOPE` names a scope every call needs.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    axum_principal_mcp::run(|name| std::env::var(name).ok()).await
}
