//! Per-operation scopes (CONTRACT "The MCP example"): the `reports` tool needs
//! `read:reports`, `AUTHZ_MCP_SCOPE` names a scope every call needs; a token without them
//! gets, before the tool runs, HTTP 403 `insufficient_scope` whose `scope` names every
//! scope the call needs and whose `resource_metadata` leads to the RFC 9728 document. The
//! operation is read from the `Mcp-Method`/`Mcp-Name` headers of 2026-07-28 requests (rmcp
//! checks them against the body) and otherwise from a bounded prefix of the body.

use axum_principal::AuthLayer;
use axum_principal_example::auth_config;
use axum_principal_mcp::{app, mcp_settings};
use axum_principal_testkit::MockIssuer;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SESSION_VERSION: &str = "2025-11-25";
const STATELESS_VERSION: &str = "2026-07-28";

struct Server {
    issuer: MockIssuer,
    resource: String,
    metadata: String,
    http: reqwest::Client,
}

/// The MCP server on a free loopback port, configured through `mcp_settings` with `extra`
/// variables on top of `BIND` and `AUTHZ_ISSUER`.
async fn server(extra: &[(&str, &str)]) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let resource = format!("http://{addr}/mcp");
    let issuer = MockIssuer::builder()
        .audience(&resource)
        .start()
        .await
        .expect("the mock issuer starts");
    let mut vars: Vec<(String, String)> = vec![
        ("BIND".into(), addr.to_string()),
        ("AUTHZ_ISSUER".into(), issuer.issuer().to_owned()),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings =
        mcp_settings(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("valid settings");
    let config = auth_config(&settings, None).expect("a valid configuration");
    let router = app(AuthLayer::new(config));
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });
    Server {
        issuer,
        metadata: format!("http://{addr}/.well-known/oauth-protected-resource/mcp"),
        resource,
        http: reqwest::Client::new(),
    }
}

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    session: Option<String>,
    body: String,
}

impl Reply {
    /// The JSON-RPC message, from a JSON or an SSE answer.
    fn message(&self) -> Value {
        let text = self
            .body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .find(|data| data.starts_with('{'))
            .unwrap_or(&self.body);
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The text of a tool result's first content block, and `isError`.
    fn tool_text(&self) -> (bool, String) {
        let message = self.message();
        let result = &message["result"];
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("no tool result: {message}"))
            .to_owned();
        (result["isError"].as_bool().unwrap_or(false), text)
    }

    /// The challenge's parameters, scheme first, quotes removed.
    fn challenge_params(&self) -> Vec<String> {
        let challenge = self.challenge.as_deref().expect("a challenge");
        let (scheme, rest) = challenge.split_once(' ').expect("scheme and parameters");
        let mut all = vec![scheme.to_owned()];
        all.extend(
            rest.split(", ")
                .filter(|p| !p.starts_with("error_description="))
                .map(|p| p.replace('"', "")),
        );
        all
    }
}

/// POSTs `body` (JSON text, sent as is) with `token` and these extra headers.
async fn post_raw(
    server: &Server,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: String,
) -> Reply {
    let mut request = server
        .http
        .post(&server.resource)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(body);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    let text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let challenge = text(WWW_AUTHENTICATE.as_str());
    let session = text("mcp-session-id");
    Reply {
        status: response.status(),
        challenge,
        session,
        body: response.text().await.expect("a body"),
    }
}

/// A session-mode client (2025-11-25): `initialize`, then calls with its session id.
struct Session<'a> {
    server: &'a Server,
    token: String,
    id: Option<String>,
}

impl<'a> Session<'a> {
    fn new(server: &'a Server, token: String) -> Self {
        Self {
            server,
            token,
            id: None,
        }
    }

    async fn post(&self, body: Value) -> Reply {
        let mut headers = vec![];
        if let Some(id) = &self.id {
            headers.push(("Mcp-Session-Id", id.as_str()));
            headers.push(("MCP-Protocol-Version", SESSION_VERSION));
        }
        post_raw(self.server, Some(&self.token), &headers, body.to_string()).await
    }

    async fn initialize(&mut self) -> Reply {
        let reply = self
            .post(json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": SESSION_VERSION, "capabilities": {},
                           "clientInfo": {"name": "scopes-test", "version": "0"}}
            }))
            .await;
        if reply.status == StatusCode::OK {
            self.id = reply.session.clone();
            let done = self
                .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            assert_eq!(done.status, StatusCode::ACCEPTED, "{}", done.body);
        }
        reply
    }

    async fn call(&self, tool: &str) -> Reply {
        self.post(json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": tool, "arguments": {}}
        }))
        .await
    }
}

fn token(server: &Server, scope: &str) -> String {
    server
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("scope", scope)
        .sign()
}

/// The 403 a call without its scopes gets, naming `scopes`.
fn assert_insufficient_scope(reply: &Reply, scopes: &str, metadata: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(
        reply.challenge_params(),
        [
            "Bearer".to_owned(),
            "realm=api".to_owned(),
            "error=insufficient_scope".to_owned(),
            format!("scope={scopes}"),
            format!("resource_metadata={metadata}"),
        ]
    );
    let body: Value = serde_json::from_str(&reply.body).expect("a JSON error body");
    assert_eq!(body["error"], "insufficient_scope");
}

#[tokio::test]
async fn reports_without_its_scope_is_403_before_the_tool_runs_and_a_stepped_up_token_succeeds() {
    let server = server(&[]).await;
    let mut session = Session::new(&server, token(&server, "openid"));
    assert_eq!(session.initialize().await.status, StatusCode::OK);
    let refused = session.call("reports").await;
    assert_insufficient_scope(&refused, "read:reports", &server.metadata);
    assert!(!refused.body.contains("reports for"), "{}", refused.body);
    // Other tools need no scope.
    let (is_error, _) = session.call("whoami").await.tool_text();
    assert!(!is_error);
    // The client re-authorizes with the challenged scope and retries in the same session.
    session.token = token(&server, "openid read:reports");
    let (is_error, text) = session.call("reports").await.tool_text();
    assert!(!is_error, "{text}");
    assert_eq!(text, "reports for alice");
    // The document lists the scope.
    let document: Value = server
        .http
        .get(&server.metadata)
        .send()
        .await
        .expect("the document")
        .json()
        .await
        .expect("JSON");
    assert_eq!(document["scopes_supported"], json!(["read:reports"]));
}

#[tokio::test]
async fn authz_mcp_scope_is_named_by_the_401_and_needed_by_every_call() {
    let server = server(&[("AUTHZ_MCP_SCOPE", "mcp:tools")]).await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": SESSION_VERSION, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}
    })
    .to_string();
    // No token: 401 naming the scope and the document.
    let none = post_raw(&server, None, &[], initialize).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let params = none.challenge_params();
    assert_eq!(
        params,
        [
            "Bearer".to_owned(),
            "realm=api".to_owned(),
            "scope=mcp:tools".to_owned(),
            format!("resource_metadata={}", server.metadata),
        ]
    );
    // Without it, even initialize is refused; with it, reports still needs read:reports,
    // and the 403 names both.
    let mut without = Session::new(&server, token(&server, "read:reports"));
    assert_insufficient_scope(&without.initialize().await, "mcp:tools", &server.metadata);
    let mut tools_only = Session::new(&server, token(&server, "mcp:tools"));
    assert_eq!(tools_only.initialize().await.status, StatusCode::OK);
    assert_insufficient_scope(
        &tools_only.call("reports").await,
        "mcp:tools read:reports",
        &server.metadata,
    );
    let (is_error, _) = tools_only.call("whoami").await.tool_text();
    assert!(!is_error);
    tools_only.token = token(&server, "mcp:tools read:reports");
    assert_eq!(
        tools_only.call("reports").await.tool_text(),
        (false, "reports for alice".to_owned())
    );
    let document: Value = server
        .http
        .get(&server.metadata)
        .send()
        .await
        .expect("the document")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        document["scopes_supported"],
        json!(["mcp:tools", "read:reports"])
    );
    // A value that is not one scope is a configuration error naming the variable.
    let problem = mcp_settings(|name| match name {
        "AUTHZ_MCP_SCOPE" => Some("two scopes".to_owned()),
        _ => None,
    })
    .expect_err("not a scope token");
    assert_eq!(problem.variable, "AUTHZ_MCP_SCOPE");
}

/// A 2026-07-28 `tools/call` of `body_tool`, its `Mcp-Name` saying `header_tool`: served
/// statelessly by rmcp (no `initialize`, no session).
async fn stateless_call(server: &Server, token: &str, header_tool: &str, body_tool: &str) -> Reply {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": body_tool, "arguments": {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}
        }}
    });
    let headers = [
        ("MCP-Protocol-Version", STATELESS_VERSION),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", header_tool),
    ];
    post_raw(server, Some(token), &headers, body.to_string()).await
}

#[tokio::test]
async fn on_2026_07_28_requests_the_headers_decide_and_rmcp_holds_them_to_the_body() {
    let server = server(&[]).await;
    // rmcp 3.11 serves 2026-07-28 requests statelessly, beside the session mode.
    let scoped = token(&server, "read:reports");
    let reply = stateless_call(&server, &scoped, "reports", "reports").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.session, None, "no session in the 2026-07-28 mode");
    assert_eq!(reply.tool_text(), (false, "reports for alice".to_owned()));
    let plain = token(&server, "openid");
    assert_insufficient_scope(
        &stateless_call(&server, &plain, "reports", "reports").await,
        "read:reports",
        &server.metadata,
    );
    // Headers that name a harmless tool for a body that calls `reports`: the layer goes by
    // the headers, and rmcp refuses the disagreement before dispatch.
    let lying = stateless_call(&server, &plain, "whoami", "reports").await;
    assert_eq!(lying.status, StatusCode::BAD_REQUEST, "{}", lying.body);
    assert_eq!(lying.message()["error"]["code"], -32020);
    assert!(!lying.body.contains("reports for"), "{}", lying.body);
    // The same lie under an older protocol version is not believed: the body decides.
    let old = post_raw(
        &server,
        Some(&plain),
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", "whoami")],
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "reports", "arguments": {}}})
        .to_string(),
    )
    .await;
    assert_insufficient_scope(&old, "read:reports", &server.metadata);
}

#[tokio::test]
async fn a_body_that_hides_its_operation_is_refused() {
    let server = server(&[]).await;
    let plain = token(&server, "openid");
    let mut session = Session::new(&server, plain.clone());
    assert_eq!(session.initialize().await.status, StatusCode::OK);
    let id = session.id.clone().expect("a session");
    let headers = [
        ("Mcp-Session-Id", id.as_str()),
        ("MCP-Protocol-Version", SESSION_VERSION),
    ];
    let send = |body: String| post_raw(&server, Some(&plain), &headers, body);
    let pad = "x".repeat(70 * 1024);
    // Within the prefix: a repeated target, or not one message, is refused by the layer.
    for body in [
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","name":"reports"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","meth\u006fd":"tools/call","params":{"name":"reports"}}"#.to_owned(),
        r#"[{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"reports"}}]"#.to_owned(),
    ] {
        let reply = send(body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.body);
        let error: Value = serde_json::from_str(&reply.body).expect("a JSON error body");
        assert_eq!(error["error"], "invalid_request");
    }
    // The target only after the prefix: 413, never a guess.
    let late = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"arguments":{{"pad":"{pad}"}},"name":"reports"}}}}"#
    );
    assert_eq!(send(late).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A second target beyond the prefix: the layer went by the first (whoami, no scope),
    // and rmcp refuses the repeated member, so `reports` never runs.
    for late_duplicate in [
        format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"whoami","arguments":{{"pad":"{pad}"}},"name":"reports"}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"whoami","arguments":{{"pad":"{pad}"}}}},"params":{{"name":"reports"}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{{"pad":"{pad}"}},"method":"tools/call"}}"#
        ),
    ] {
        let reply = send(late_duplicate).await;
        assert!(!reply.body.contains("reports for"), "{}", reply.body);
        if reply.status == StatusCode::OK {
            let message = reply.message();
            assert!(message.get("error").is_some(), "no tool result: {message}");
        } else {
            assert!(reply.status.is_client_error(), "{}", reply.status);
        }
    }
    // A large call whose target comes first (as clients write it) is read and handed on
    // whole.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{{"name":"reports","arguments":{{"pad":"{pad}"}}}}}}"#
    );
    let scoped = token(&server, "read:reports");
    let reply = post_raw(&server, Some(&scoped), &headers, big).await;
    assert_eq!(reply.tool_text(), (false, "reports for alice".to_owned()));
}
