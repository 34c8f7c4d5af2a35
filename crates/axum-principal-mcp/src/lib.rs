//! An MCP server on the [`rmcp`] crate (streamable HTTP, on axum) behind
//! [`axum_principal::AuthLayer`]: `cargo run --release -p axum-principal-mcp --example
//! mcp_server`.
//!
//! * [`tools`]: the MCP tools, which read the caller's [`Principal`](axum_principal::Principal)
//!   from the HTTP request parts rmcp hands every tool call, and refuse with a tool result
//!   `isError: true` when a guard of the library says no;
//! * [`operation_scopes`]: the scopes each operation needs, checked between the auth
//!   layer and rmcp before a tool runs (HTTP 403 `insufficient_scope` naming every scope
//!   the call needs), from the `Mcp-Method`/`Mcp-Name` headers of 2026-07-28 requests or a
//!   bounded prefix of the JSON-RPC body;
//! * [`serve`]: the settings (the example service's `AUTHZ_*` variables, with this server's
//!   defaults), the router (`POST /mcp` behind the layer, the RFC 9728 document outside
//!   it) and the start-up;
//! * [`sessions`]: MCP sessions that belong to the principal who opened them (404 to any
//!   other), at most [`MAX_SESSIONS_PER_PRINCIPAL`] per principal, closed after
//!   [`SESSION_IDLE_TIMEOUT`] idle.
//!
//! A request without a valid token never reaches rmcp: the layer answers 401 with a
//! challenge whose `resource_metadata` leads the client to the document, and from there
//! to the authorization server.
//!
//! rmcp 3.11 serves both transports of the streamable HTTP endpoint on the same path: the
//! session mode (`initialize`, `Mcp-Session-Id`) for protocol versions up to 2025-11-25,
//! and, for requests that declare 2026-07-28, the stateless mode of that revision (no
//! `initialize`, per-request `_meta`, `Mcp-Method`/`Mcp-Name` headers it checks against
//! the body). This server offers both.

#![forbid(unsafe_code)]

mod body_prefix;
pub mod operation_scopes;
mod scan;
pub mod serve;
pub mod sessions;
pub mod tools;

pub use operation_scopes::{OperationScopeLayer, OperationScopeService, OperationScopes};
pub use serve::{app, app_with_sessions, mcp_settings, run, DEFAULT_BIND};
pub use sessions::{PrincipalSessions, MAX_SESSIONS_PER_PRINCIPAL, SESSION_IDLE_TIMEOUT};
pub use tools::PrincipalTools;
