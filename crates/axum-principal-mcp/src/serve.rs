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
//! Without `AUTHZ_ISSUER` the example's development issuer runs inside, minting tokens for
//! the resource.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::AuthLayer;
use axum_principal_example::dev::DevTokens;
use axum_principal_example::serve::shutdown_signal;
use axum_principal_example::{
    auth_config, dev_tokens, resource_metadata, settings_from, start_dev_issuer, ConfigProblem,
    Settings, EXIT_CONFIG, EXIT_RUNTIME,
};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

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
    settings_from(|name| match name {
        "BIND" => Some(bind.clone()),
        "AUTHZ_RESOURCE" => Some(resource.clone()),
        "AUTHZ_AUDIENCE" => value(name).or_else(|| Some(resource.clone())),
        _ => value(name),
    })
}

/// The server: `POST /mcp` (and rmcp's `GET`/`DELETE` of the same path) behind `layer`,
/// the RFC 9728 document and `/healthz` outside it.
pub fn app(layer: AuthLayer) -> Router {
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
    let mcp = StreamableHttpService::new(
        || Ok(PrincipalTools),
        LocalSessionManager::default().into(),
        mcp_config,
    );
    // The tools require no scope.
    let metadata =
        resource_metadata(config, []).map(|m| m.resource_name("axum-principal MCP example"));

    let protected = Router::new().route_service(MCP_PATH, mcp).layer(layer);
    let public = Router::new().route("/healthz", get(healthz));
    let public = match metadata {
        Some(metadata) => public.merge(metadata.router()),
        None => public,
    };
    public
        .merge(protected)
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
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

/// Runs the server with the variables `vars` looks up until Ctrl-C or SIGTERM; the exit
/// status is the example service's (`EXIT_CONFIG` after one line naming the variable,
/// `EXIT_RUNTIME` for a failure at run time).
pub async fn run(vars: impl Fn(&str) -> Option<String>) -> ExitCode {
    let settings = match mcp_settings(vars) {
        Ok(settings) => settings,
        Err(problem) => return config_error(&problem),
    };
    let dev_issuer = if settings.dev_mode() {
        match start_dev_issuer(&settings).await {
            Ok(issuer) => Some(issuer),
            Err(e) => {
                eprintln!("error: cannot start the development issuer: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    } else {
        None
    };
    let config = match auth_config(&settings, dev_issuer.as_ref()) {
        Ok(config) => config,
        Err(problem) => return config_error(&problem),
    };
    let tokens = match &dev_issuer {
        Some(issuer) => match dev_tokens(issuer, &settings) {
            Ok(tokens) => Some(tokens),
            Err(e) => {
                eprintln!("error: cannot mint development tokens: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        },
        None => None,
    };
    let layer = AuthLayer::new(config);
    let listener = match tokio::net::TcpListener::bind(settings.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: BIND: cannot listen on {}: {e}", settings.bind);
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    if let Some(tokens) = &tokens {
        print_dev_banner(&settings, tokens);
    }
    tracing::info!(
        addr = %settings.bind,
        resource = ?settings.resource,
        issuers = ?layer.authenticator().config().issuers().collect::<Vec<_>>(),
        "MCP server listening"
    );
    let served = axum::serve(listener, app(layer))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    drop(dev_issuer);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: server failed: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn config_error(problem: &ConfigProblem) -> ExitCode {
    eprintln!("configuration error: {problem}");
    ExitCode::from(EXIT_CONFIG)
}

/// The development tokens and a first MCP request to paste.
fn print_dev_banner(settings: &Settings, tokens: &DevTokens) {
    let resource = settings.resource.as_deref().unwrap_or(MCP_PATH);
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}"#;
    let lines = [
        "Development mode: AUTHZ_ISSUER is not set, so an embedded mock issuer is running."
            .to_owned(),
        format!("MCP endpoint: {resource} (tokens are issued for it)"),
        String::new(),
        format!("USER_TOKEN={}", tokens.user),
        format!("ADMIN_TOKEN={}", tokens.admin),
        format!("MACHINE_TOKEN={}", tokens.machine),
        String::new(),
        "# without a token: 401, and the challenge names the RFC 9728 document".to_owned(),
        format!("curl -si -X POST {resource}"),
        "# initialize (the answer's Mcp-Session-Id header names the session)".to_owned(),
        format!(
            "curl -si -X POST -H \"Authorization: Bearer $USER_TOKEN\" \
             -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
             -d '{initialize}' {resource}"
        ),
    ];
    println!("{}", lines.join("\n"));
}
