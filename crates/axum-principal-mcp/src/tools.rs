//! The tools: `whoami`, `user_only`, `machine_or_admin` and `reports`, and the scopes they
//! need ([`operation_scopes`]).

//!
//! rmcp's streamable HTTP service puts the request's [`http::request::Parts`] into the
//! extensions of every request it hands a handler ([`RequestContext::extensions`]); the
//! [`AuthLayer`](axum_principal::AuthLayer) in front of it has already put the verified
//! [`Principal`] into those parts' extensions. A tool therefore reads the principal of the
//! very HTTP request that carried the call, never one remembered by the MCP session.
//!
//! Who may call what is decided by the library's guards ([`RequireUser`],
//! [`RequireRoleOrMachine`]), so a tool refuses exactly as the HTTP routes of the example
//! service do; MCP reports a refused tool call as a tool result with `isError: true`.
//!
//! Scopes are different: a client can act on a missing scope (re-authorize with it), so
//! `reports`' scope is checked before the tool runs, by the
//! [`OperationScopes`] layer, with an HTTP 403 naming every scope
//! the call needs. The tool checks it again, in case the layer is left out.

use std::sync::Arc;

use axum_principal::{
    ConfigError, Guard, Principal, RequireRoleOrMachine, RequireScope, RequireUser,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};

use crate::operation_scopes::OperationScopes;

/// The server's tools, stateless: every call reads its principal from its own request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrincipalTools;

/// Tool names.
const WHOAMI: &str = "whoami";
const USER_ONLY: &str = "user_only";
const MACHINE_OR_ADMIN: &str = "machine_or_admin";
const REPORTS: &str = "reports";

/// The scope `reports` needs (besides whatever every call needs).
pub const READ_REPORTS: &str = "read:reports";

/// The scopes of this server's operations: `every_call` (`AUTHZ_MCP_SCOPE`) for every
/// request, and [`READ_REPORTS`] for the `reports` tool.
pub fn operation_scopes(every_call: Option<&str>) -> OperationScopes {
    OperationScopes::new()
        .every_call(every_call)
        .tool(REPORTS, [READ_REPORTS])
}

/// `AUTHZ_MCP_SCOPE`: one scope token, or unset.
pub fn mcp_scope(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(scope) => RequireScope::try_new(scope.clone()).map(|_| Some(scope)),
        None => Ok(None),
    }
}

/// The role `machine_or_admin` admits users with.
const ADMIN_ROLE: &str = "admin";

impl PrincipalTools {
    /// The tools this server lists, each without arguments.
    pub fn tools() -> Vec<Tool> {
        let mut schema = Map::new();
        schema.insert("type".into(), Value::from("object"));
        schema.insert("properties".into(), Value::Object(Map::new()));
        let no_arguments = Arc::new(schema);
        [
            (
                WHOAMI,
                "The caller's verified principal as JSON (the example service's /me).",
            ),
            (USER_ONLY, "For users only; a machine's call is refused."),
            (
                MACHINE_OR_ADMIN,
                "For machines, and users holding role admin; others are refused.",
            ),
            (
                REPORTS,
                "The caller's reports; needs the scope read:reports (HTTP 403 without it).",
            ),
        ]
        .into_iter()
        .map(|(name, description)| Tool::new(name, description, no_arguments.clone()))
        .collect()
    }

    /// Runs tool `name` for `principal`.
    fn call(name: &str, principal: &Principal) -> Option<CallToolResult> {
        Some(match name {
            WHOAMI => match serde_json::to_string(principal) {
                Ok(json) => CallToolResult::success(vec![ContentBlock::text(json)]),
                Err(_) => refused("the principal cannot be shown as JSON"),
            },
            USER_ONLY => guarded(
                &RequireUser,
                name,
                principal,
                "user_only is for users; this token is a machine's",
            ),
            MACHINE_OR_ADMIN => guarded(
                &RequireRoleOrMachine::new(ADMIN_ROLE),
                name,
                principal,
                "machine_or_admin is for machines and users with role admin",
            ),
            REPORTS => match RequireScope::new(READ_REPORTS).check(principal) {
                Ok(()) => CallToolResult::success(vec![ContentBlock::text(format!(
                    "reports for {}",
                    principal.subject()
                ))]),
                Err(_) => refused("reports needs the scope read:reports"),
            },
            _ => return None,
        })
    }
}

/// The tool's answer when `guard` admits `principal`, else a refusal saying `why`.
fn guarded(guard: &impl Guard, tool: &str, principal: &Principal, why: &str) -> CallToolResult {
    match guard.check(principal) {
        Ok(()) => {
            let body = json!({
                "ok": true,
                "tool": tool,
                "subject": principal.subject(),
                "kind": principal.kind(),
            });
            CallToolResult::success(vec![ContentBlock::text(body.to_string())])
        }
        Err(_) => refused(why),
    }
}

fn refused(why: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why)])
}

/// The principal the layer put into the HTTP request that carried this MCP request.
fn principal_of(context: &RequestContext<RoleServer>) -> Result<Principal, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>())
        .cloned()
        .ok_or_else(|| {
            ErrorData::internal_error(
                "no principal: axum_principal::AuthLayer is not in front of the MCP service",
                None,
            )
        })
}

impl ServerHandler for PrincipalTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Tools that show and check the caller's verified principal (axum-principal).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(Self::tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        Self::tools().into_iter().find(|tool| tool.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let principal = principal_of(&context)?;
        match Self::call(&request.name, &principal) {
            Some(result) => Ok(result.into()),
            None => Err(ErrorData::invalid_params(
                format!("no tool named {:?}", request.name),
                None,
            )),
        }
    }
}
