//! Settings, router and start-up of the MCP server.
//!
//! The variables are the example service's (`AUTHZ_ISSUER`, `AUTHZ_AUDIENCE`, …, read by
//! [`settings_from`]), with three defaults of its own:
//!
//! * `BIND`: [`DEFAULT_BIND`] (`127.0.0.1:3001`);
//! * `AUTHZ_RESOURCE`: `http://{BIND}/mcp`, the URL MCP clients connect to, so the RFC
//!   9728 document is at `/.well-known/oauth-protected-resource/mcp`;
//! * `AUTHZ_AUDIENCE`: the resource identifier. MCP clients ask for tokens for the
//!   server's URL (RFC 8707 `resource`), and the MCP authorization spec requires a server
//!   to accept only tokens issued for it; set `AUTHZ_AUDIENCE` to accept another audience.
//!
//! and one of its own, `AUTHZ_MCP_SCOPE`: a scope every MCP call needs, named by every 401
//! (see [`operation_scopes`](crate::tools::operation_scopes)).
//!
//! Without `AUTHZ_ISSUER` the example's development issuer runs inside, minting tokens for
//! the resource.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::Router;
use axum_principal::rate_limit::RateLimitLayer;
use axum_principal::AuthLayer;
use axum_principal_example::routes::with_public_routes;
use axum_principal_example::{
    config_error, resource_metadata, run_with, settings_from, ConfigProblem, DevTokens, Settings,
};
use axum_principal_testkit::MockIssuer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::sessions::{only_the_owner, PrincipalSessions};
use crate::tools::PrincipalTools;

/// Where the MCP server listens when `BIND` is not set.
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 3001);

/// The path of the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";

/// The example's settings with this server's defaults for `BIND`, `AUTHZ_RESOURCE` and
/// `AUTHZ_AUDIENCE` (see the [module](self) documentation). `vars` looks a variable up
/// as for [`settings_from`]; an empty value counts as unset.
pub fn mcp_settings(vars: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigProblem> {
    let value = |name: &str| vars(name).filter(|v| !v.trim().is_empty());
    let bind = value("BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
    let resource = value("AUTHZ_RESOURCE").unwrap_or_else(|| format!("http://{bind}{MCP_PATH}"));
    let mut settings = settings_from(|name| match name {
        "BIND" => Some(bind.clone()),
        "AUTHZ_RESOURCE" => Some(resource.clone()),
        "AUTHZ_AUDIENCE" => value(name).or_else(|| Some(resource.clone())),
        _ => value(name),
    })?;
    settings.challenge_scope =
        crate::tools::mcp_scope(value("AUTHZ_MCP_SCOPE")).map_err(|e| ConfigProblem {
            variable: "AUTHZ_MCP_SCOPE",
            message: e.to_string(),
        })?;
    Ok(settings)
}

/// The server: `POST /mcp` (and rmcp's `GET`/`DELETE` of the same path) behind `layer`,
/// the RFC 9728 document and `/healthz` outside it. Sessions belong to their principal,
/// with the limits of [`PrincipalSessions::local`].
pub fn app(layer: AuthLayer) -> Router {
    app_with_rate_limit(layer, None)
}

/// As [`app`], with per-principal quotas (`AUTHZ_RATE_LIMIT`) in front of MCP, inside the
/// auth layer.
pub fn app_with_rate_limit(layer: AuthLayer, limits: Option<RateLimitLayer>) -> Router {
    app_with_sessions(layer, limits, Arc::new(PrincipalSessions::local()))
}

/// As [`app_with_rate_limit`], keeping the sessions in `sessions` (to watch
/// [`PrincipalSessions::live`], or to set other limits).
pub fn app_with_sessions(
    layer: AuthLayer,
    limits: Option<RateLimitLayer>,
    sessions: Arc<PrincipalSessions<LocalSessionManager>>,
) -> Router {
    let config = layer.authenticator().config();
    let mut mcp_config = StreamableHttpServerConfig::default();
    // rmcp accepts only loopback `Host`s by default (DNS rebinding); the resource's host
    // is where clients reach this server.
    if let Some(authority) = config
        .resource()
        .and_then(|r| r.parse::<http::Uri>().ok())
        .and_then(|uri| uri.authority().map(|a| a.as_str().to_owned()))
    {
        mcp_config.allowed_hosts.push(authority);
    }
    let mcp = StreamableHttpService::new(|| Ok(PrincipalTools), sessions.clone(), mcp_config);
    // Scopes, checked before a tool runs: AUTHZ_MCP_SCOPE (the configuration's 401 scope)
    // for every call, read:reports for `reports`.
    let scopes = crate::tools::operation_scopes(config.challenge_scope());
    let metadata = resource_metadata(config, scopes.scopes().iter().map(String::as_str))
        .map(|m| m.resource_name("axum-principal MCP example"));
    let mcp = tower::Layer::layer(
        &scopes
            .layer()
            .expect("scope tokens: checked by AuthConfigBuilder::build"),
        mcp,
    );

    // Inside the auth layer (it needs the principal), in front of rmcp.
    let mut protected = Router::new()
        .route_service(MCP_PATH, mcp)
        .layer(from_fn_with_state(sessions, only_the_owner));
    if let Some(limits) = limits {
        protected = protected.layer(limits);
    }
    with_public_routes(protected.layer(layer), metadata)
}

/// Runs the server with the variables `vars` looks up until Ctrl-C or SIGTERM, through
/// the example service's start-up ([`run_with`]); the exit status is the example's
/// ([`EXIT_CONFIG`](axum_principal_example::EXIT_CONFIG) after one line naming the
/// variable, [`EXIT_RUNTIME`](axum_principal_example::EXIT_RUNTIME) for a failure at run
/// time).
pub async fn run(vars: impl Fn(&str) -> Option<String>) -> ExitCode {
    match mcp_settings(vars) {
        Ok(settings) => run_with(settings, app_with_rate_limit, print_dev_banner).await,
        Err(problem) => config_error(&problem),
    }
}

/// The development tokens and a first MCP request to paste.
fn print_dev_banner(_issuer: &MockIssuer, tokens: &DevTokens, addr: SocketAddr) {
    let endpoint = format!("http://{addr}{MCP_PATH}");
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}"#;
    let lines = [
        "Development mode: AUTHZ_ISSUER is not set, so an embedded mock issuer is running."
            .to_owned(),
        format!("MCP endpoint: {endpoint} (the tokens are issued for AUTHZ_RESOURCE)"),
        String::new(),
        format!("USER_TOKEN={}", tokens.user),
        format!("ADMIN_TOKEN={}", tokens.admin),
        format!("MACHINE_TOKEN={}", tokens.machine),
        String::new(),
        "# without a token: 401, and the challenge names the RFC 9728 document".to_owned(),
        format!("curl -si -X POST {endpoint}"),
        "# initialize (the answer's Mcp-Session-Id header names the session)".to_owned(),
        format!(
            "curl -si -X POST -H \"Authorization: Bearer $USER_TOKEN\" \
             -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
             -d '{initialize}' {endpoint}"
        ),
    ];
    println!("{}", lines.join("\n"));
}
