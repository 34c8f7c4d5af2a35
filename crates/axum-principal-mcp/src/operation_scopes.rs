//! Per-operation scopes for MCP: a tower layer between
//! [`AuthLayer`](axum_principal::AuthLayer) and rmcp's service that refuses a call the
//! token's scopes do not cover **before the tool runs**, with the HTTP 403 the MCP
//! authorization spec's "Scope Challenge Handling" asks for:
//!
//! ```text
//! HTTP/1.1 403 Forbidden
//! WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="mcp:tools read:reports", resource_metadata="…"
//! ```
//!
//! `scope` names every scope the call needs (those of [`every_call`] and the operation's
//! own), so a client that re-authorizes with exactly those gets a token that works.
//!
//! Which operation a request is comes from:
//!
//! * the `Mcp-Method` and `Mcp-Name` headers (SEP-2243), when the request declares
//!   `MCP-Protocol-Version` 2026-07-28 or later. **This relies on the server checking that
//!   the headers agree with the body**: rmcp 3.11 does, for every such request (it answers a
//!   mismatch with HTTP 400 before dispatch). Behind a server that does not, set
//!   [`trust_headers(false)`](OperationScopes::trust_headers);
//! * otherwise a bounded prefix of the JSON-RPC body (at most
//!   [`max_body_prefix`](OperationScopes::max_body_prefix) bytes, read for at most
//!   [`body_timeout`](OperationScopes::body_timeout)): its `method` and its `params.name`
//!   (tools, prompts) or `params.uri` (resources). The bytes read are handed on, so rmcp
//!   reads the body the client sent. A body that is not one JSON object, or that repeats a
//!   member the operation depends on, is refused (400) rather than guessed at; one whose
//!   method and target do not come within the prefix is refused with 413.
//!
//! The body is read only when the table names an operation; with [`every_call`] alone,
//! nothing but the principal is looked at.
//!
//! [`every_call`]: OperationScopes::every_call

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_principal::guard::authorize;
use axum_principal::{AuthRejection, ConfigError, Guard, RequireAllScopes};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Extensions, HeaderMap, Method, Request, StatusCode};
use serde_json::json;
use tower::{Layer, Service};

use crate::body_prefix::{read_prefix, Read};
use crate::scan::{names_a_target, scan, Operation, Scan, NAMED_BY_URI};

/// A guard run on the request's extensions (the principal the auth layer put there).
type Check = Arc<dyn Fn(&HeaderMap, &Extensions) -> Result<(), AuthRejection> + Send + Sync>;

/// What one operation needs: scopes, and optionally a guard.
#[derive(Clone, Default)]
struct Need {
    scopes: Vec<String>,
    guard: Option<Check>,
}

/// The kinds of operation the table names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Tool,
    Resource,
    Prompt,
}

/// The table: which scopes (and guards) every MCP call and each tool, resource and prompt
/// need. Build it, then [`layer`](Self::layer) it between the auth layer and rmcp:
///
/// ```
/// use axum_principal::RequireUser;
/// use axum_principal_mcp::OperationScopes;
///
/// # fn main() -> Result<(), axum_principal::ConfigError> {
/// let scopes = OperationScopes::new()
///     .every_call(["mcp:tools"])
///     .tool("reports", ["read:reports"])
///     .tool_guarded("delete_report", ["write:reports"], RequireUser)
///     .resource("file:///reports/latest", ["read:reports"])
///     .prompt("summarize", ["read:reports"]);
/// assert_eq!(scopes.scopes(), ["mcp:tools", "read:reports", "write:reports"]);
/// let layer = scopes.layer()?;
/// // Router::new().route_service("/mcp", ServiceBuilder::new().layer(layer).service(mcp))
/// //     .layer(AuthLayer::new(config))
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OperationScopes {
    every_call: Vec<String>,
    table: HashMap<(Kind, String), Need>,
    /// The table's keys in the order they were first named.
    order: Vec<(Kind, String)>,
    max_body_prefix: usize,
    body_timeout: Duration,
    trust_headers: bool,
}

impl Default for OperationScopes {
    fn default() -> Self {
        Self {
            every_call: Vec::new(),
            table: HashMap::new(),
            order: Vec::new(),
            max_body_prefix: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            trust_headers: true,
        }
    }
}

impl fmt::Debug for OperationScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationScopes")
            .field("every_call", &self.every_call)
            .field("operations", &self.table.len())
            .field("max_body_prefix", &self.max_body_prefix)
            .field("body_timeout", &self.body_timeout)
            .field("trust_headers", &self.trust_headers)
            .finish()
    }
}

impl OperationScopes {
    /// An empty table: no call needs any scope.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scopes every MCP request needs, whatever it asks for (`initialize`, `tools/list`, a
    /// `GET` stream, …).
    pub fn every_call<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.every_call.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Scopes a `tools/call` of tool `name` needs, besides [`every_call`](Self::every_call)'s.
    pub fn tool<I, S>(self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.need(Kind::Tool, name.into(), scopes, None)
    }

    /// As [`tool`](Self::tool), and `guard` must admit the principal too (its refusal is
    /// the guard's own: 403, or 401 for a step-up).
    pub fn tool_guarded<I, S, G: Guard>(self, name: impl Into<String>, scopes: I, guard: G) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.need(Kind::Tool, name.into(), scopes, Some(check(guard)))
    }

    /// Scopes a `resources/read` (or `subscribe`, `unsubscribe`) of `uri` needs.
    pub fn resource<I, S>(self, uri: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.need(Kind::Resource, uri.into(), scopes, None)
    }

    /// Scopes a `prompts/get` of prompt `name` needs.
    pub fn prompt<I, S>(self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.need(Kind::Prompt, name.into(), scopes, None)
    }

    /// Also runs `guard` on every call of `name` of that kind, whatever its scopes.
    fn need<I, S>(mut self, kind: Kind, name: String, scopes: I, guard: Option<Check>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let key = (kind, name);
        if !self.table.contains_key(&key) {
            self.order.push(key.clone());
        }
        let need = self.table.entry(key).or_default();
        need.scopes.extend(scopes.into_iter().map(Into::into));
        if guard.is_some() {
            need.guard = guard;
        }
        self
    }

    /// The most bytes of a body looked at to find its operation (default 64 KiB).
    pub fn max_body_prefix(mut self, bytes: usize) -> Self {
        self.max_body_prefix = bytes;
        self
    }

    /// How long the prefix may take to arrive (default 10 s); slower: 408.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Whether `Mcp-Method`/`Mcp-Name` are believed on 2026-07-28 requests (default
    /// `true`; see the [module](self) documentation for why that is sound behind rmcp).
    pub fn trust_headers(mut self, trust: bool) -> Self {
        self.trust_headers = trust;
        self
    }

    /// Every scope the table names, each once, in the order first named (for
    /// `scopes_supported` of the RFC 9728 document).
    pub fn scopes(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        let in_order = self.order.iter().filter_map(|key| self.table.get(key));
        let named = self
            .every_call
            .iter()
            .chain(in_order.flat_map(|need| &need.scopes));
        for scope in named {
            if !all.contains(scope) {
                all.push(scope.clone());
            }
        }
        all
    }

    /// The layer; every scope must be a scope token (RFC 6749 §3.3) and the prefix cap
    /// non-zero.
    pub fn layer(self) -> Result<OperationScopeLayer, ConfigError> {
        RequireAllScopes::try_new(self.scopes())?;
        if self.max_body_prefix == 0 || self.body_timeout.is_zero() {
            return Err(ConfigError::InvalidDuration("MCP body prefix limits"));
        }
        Ok(OperationScopeLayer {
            table: Arc::new(self),
        })
    }

    /// What `operation` needs: its scopes (every call's first) and its guard.
    fn needs(&self, operation: Option<&Operation>) -> (Vec<String>, Option<&Check>) {
        let mut scopes = self.every_call.clone();
        let own = operation.and_then(|op| {
            let method = op.method.as_deref()?;
            let kind = match method {
                "tools/call" => Kind::Tool,
                "prompts/get" => Kind::Prompt,
                m if NAMED_BY_URI.contains(&m) => Kind::Resource,
                _ => return None,
            };
            self.table.get(&(kind, op.name.clone()?))
        });
        if let Some(need) = own {
            scopes.extend(need.scopes.iter().cloned());
        }
        (scopes, own.and_then(|need| need.guard.as_ref()))
    }

    /// The operation as the headers name it, when they are to be believed.
    fn named_by_headers(&self, headers: &HeaderMap) -> Option<Operation> {
        if !self.trust_headers {
            return None;
        }
        let version = single(headers, "mcp-protocol-version")?;
        if version < STANDARD_HEADERS {
            return None;
        }
        let method = single(headers, "mcp-method")?;
        let name = if names_a_target(method) {
            Some(decode_header_value(single(headers, "mcp-name")?)?)
        } else {
            None
        };
        Some(Operation {
            method: Some(method.to_owned()),
            name,
        })
    }
}

/// The first MCP protocol version whose requests carry `Mcp-Method`/`Mcp-Name`, checked
/// by the server against the body (as rmcp compares versions: as strings).
const STANDARD_HEADERS: &str = "2026-07-28";

/// The one value of header `name`, as text.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok()
}

/// SEP-2243's value encoding: `=?base64?…?=` wraps a value that cannot travel as is.
fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|inner| inner.strip_suffix("?="))
    {
        Some(inner) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(inner)
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(value.to_owned()),
    }
}

fn check<G: Guard>(guard: G) -> Check {
    Arc::new(move |headers, extensions| authorize(&guard, headers, extensions))
}

/// The [`Layer`] of an [`OperationScopes`] table; made by [`OperationScopes::layer`].
#[derive(Clone, Debug)]
pub struct OperationScopeLayer {
    table: Arc<OperationScopes>,
}

impl<S> Layer<S> for OperationScopeLayer {
    type Service = OperationScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OperationScopeService {
            table: Arc::clone(&self.table),
            inner,
        }
    }
}

/// The service of [`OperationScopeLayer`]: refuses, or calls the inner service with the
/// request as it came (its body whole).
#[derive(Clone, Debug)]
pub struct OperationScopeService<S> {
    table: Arc<OperationScopes>,
    inner: S,
}

impl<S, ResBody> Service<Request<Body>> for OperationScopeService<S>
where
    S: Service<Request<Body>, Response = http::Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this request; the fresh clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let table = Arc::clone(&self.table);
        Box::pin(async move {
            let (request, operation) = match identify(&table, request).await {
                Ok(found) => found,
                Err(refusal) => return Ok(refusal),
            };
            let (scopes, guard) = table.needs(operation.as_ref());
            if !scopes.is_empty() {
                let all = match RequireAllScopes::try_new(scopes) {
                    Ok(all) => all,
                    // Checked when the layer was built.
                    Err(_) => return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
                };
                if let Err(refusal) = authorize(&all, request.headers(), request.extensions()) {
                    return Ok(refusal.into_response());
                }
            }
            if let Some(guard) = guard {
                if let Err(refusal) = guard(request.headers(), request.extensions()) {
                    return Ok(refusal.into_response());
                }
            }
            match inner.call(request).await {
                Ok(response) => Ok(response.map(Body::new)),
                Err(never) => match never {},
            }
        })
    }
}

/// The request (its body whole again) and the operation it asks for: `None` for a request
/// without one (`GET`, `DELETE`) or when the table names no operation.
async fn identify(
    table: &OperationScopes,
    request: Request<Body>,
) -> Result<(Request<Body>, Option<Operation>), Response> {
    if table.table.is_empty() || request.method() != Method::POST {
        return Ok((request, None));
    }
    if let Some(operation) = table.named_by_headers(request.headers()) {
        return Ok((request, Some(operation)));
    }
    let (parts, body) = request.into_parts();
    let (read, body) = read_prefix(
        body,
        table.max_body_prefix,
        table.body_timeout,
        |bytes, complete| match scan(bytes, complete) {
            Scan::Done(operation) => Some(Ok(operation)),
            Scan::Invalid => Some(Err(())),
            Scan::NeedMore => None,
        },
    )
    .await;
    match read {
        Read::Decided(Ok(operation)) => Ok((Request::from_parts(parts, body), Some(operation))),
        Read::Decided(Err(())) => Err(refused(
            StatusCode::BAD_REQUEST,
            "the body is not one JSON-RPC message whose method and target are each given once",
        )),
        Read::TooLarge => Err(refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the JSON-RPC method and its target must come within the first bytes of the body",
        )),
        Read::TimedOut => Err(refused(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )),
        Read::Failed => Err(refused(StatusCode::BAD_REQUEST, "the request body failed")),
    }
}

/// A refusal of the request itself, in the shape of the library's error bodies.
fn refused(status: StatusCode, description: &'static str) -> Response {
    let error = if status == StatusCode::REQUEST_TIMEOUT {
        "request_timeout"
    } else {
        "invalid_request"
    };
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn headers_are_believed_only_from_2026_07_28_on_and_only_when_single() {
        let table = OperationScopes::new().tool("reports", ["read:reports"]);
        let call = |version| {
            headers(&[
                ("mcp-protocol-version", version),
                ("mcp-method", "tools/call"),
                ("mcp-name", "reports"),
            ])
        };
        let reports = Some(Operation {
            method: Some("tools/call".into()),
            name: Some("reports".into()),
        });
        assert_eq!(table.named_by_headers(&call("2026-07-28")), reports);
        assert_eq!(table.named_by_headers(&call("2025-11-25")), None);
        assert_eq!(
            table
                .clone()
                .trust_headers(false)
                .named_by_headers(&call("2026-07-28")),
            None
        );
        let twice = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "whoami"),
            ("mcp-name", "reports"),
        ]);
        assert_eq!(table.named_by_headers(&twice), None);
        let no_name = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
        ]);
        assert_eq!(table.named_by_headers(&no_name), None);
        let encoded = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?cmVwb3J0cw==?="),
        ]);
        assert_eq!(table.named_by_headers(&encoded), reports);
    }

    #[test]
    fn a_call_needs_every_call_scopes_then_its_own() {
        let table = OperationScopes::new()
            .every_call(["mcp:tools"])
            .tool("reports", ["read:reports"])
            .resource("file:///r", ["read:files"])
            .prompt("p", ["read:prompts"]);
        let op = |method: &str, name: Option<&str>| Operation {
            method: Some(method.into()),
            name: name.map(Into::into),
        };
        let cases = [
            (
                Some(op("tools/call", Some("reports"))),
                vec!["mcp:tools", "read:reports"],
            ),
            (Some(op("tools/call", Some("whoami"))), vec!["mcp:tools"]),
            (Some(op("tools/list", None)), vec!["mcp:tools"]),
            (
                Some(op("resources/read", Some("file:///r"))),
                vec!["mcp:tools", "read:files"],
            ),
            (
                Some(op("resources/subscribe", Some("file:///r"))),
                vec!["mcp:tools", "read:files"],
            ),
            (
                Some(op("prompts/get", Some("p"))),
                vec!["mcp:tools", "read:prompts"],
            ),
            // A tool named like a prompt is not the prompt.
            (Some(op("tools/call", Some("p"))), vec!["mcp:tools"]),
            (None, vec!["mcp:tools"]),
        ];
        for (operation, expected) in cases {
            assert_eq!(table.needs(operation.as_ref()).0, expected, "{operation:?}");
        }
        assert_eq!(
            table.scopes(),
            ["mcp:tools", "read:reports", "read:files", "read:prompts"]
        );
    }

    #[test]
    fn scopes_must_be_scope_tokens() {
        let bad = OperationScopes::new().tool("t", ["two words"]);
        assert_eq!(
            bad.layer().err(),
            Some(ConfigError::InvalidScope("two words".into()))
        );
    }
}
