//! An MCP server on the [`rmcp`] crate (streamable HTTP, on axum) behind
//! [`axum_principal::AuthLayer`]: `cargo run --release -p axum-principal-mcp --example
//! mcp_server`.
//!
//! * [`tools`]: the MCP tools, which read the caller's [`Principal`](axum_principal::Principal)
//!   from the HTTP request parts rmcp hands every tool call, and refuse with a tool result
//!   `isError: true` when a guard of the library says no;
//! * [`serve`]: the settings (the example service's `AUTHZ_*` variables, with this server's
//!   defaults), the router (`POST /mcp` behind the layer, the RFC 9728 document outside
//!   it) and the start-up.
//!
//! A request without a valid token never reaches rmcp: the layer answers 401 with a
//! challenge whose `resource_metadata` leads the client to the document, and from there
//! to the authorization server.

#![forbid(unsafe_code)]

pub mod serve;
pub mod tools;

pub use serve::{app, mcp_settings, run, DEFAULT_BIND};
pub use tools::PrincipalTools;
