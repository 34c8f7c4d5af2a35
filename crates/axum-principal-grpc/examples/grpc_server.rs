//! The gRPC example: `principal.v1.Principal` (and `grpc.health.v1.Health`) on tonic behind
//! axum-principal's `AuthLayer`, configured by the example service's `AUTHZ_*` variables:
//!
//! ```text
//! cargo run --release -p axum-principal-grpc --example grpc_server
//! ```
//!
//! Without `AUTHZ_ISSUER` it starts the embedded development issuer and prints tokens and
//! `grpcurl` lines. Refusals are gRPC statuses (16, 7, 8, 14) with the `www-authenticate`
//! challenge as metadata.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    axum_principal_grpc::run(|name| std::env::var(name).ok()).await
}
