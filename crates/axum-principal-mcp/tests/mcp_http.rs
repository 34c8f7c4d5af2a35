//! The MCP server driven over HTTP as an MCP client would, with JSON-RPC by hand:
//! `initialize`, `notifications/initialized` (with the `Mcp-Session-Id` it got),
//! `tools/list`, `tools/call` as a user, an admin and a machine, and a 401 whose challenge
//! leads to the RFC 9728 document.

use axum_principal::AuthLayer;
use axum_principal_example::auth_config;
use axum_principal_mcp::{app, mcp_settings};
use axum_principal_testkit::MockIssuer;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PROTOCOL_VERSION: &str = "2025-06-18";

/// The server on a free loopback port, trusting `issuer`, configured through the same
/// settings path as `run` (so `AUTHZ_RESOURCE` and the audience take their defaults from
/// `BIND`).
struct Server {
    issuer: MockIssuer,
    /// `http://127.0.0.1:PORT/mcp`: the endpoint, the resource and the tokens' audience.
    resource: String,
    http: reqwest::Client,
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let resource = format!("http://{addr}/mcp");
    // The issuer mints tokens for the resource, as an RFC 8707 client asks it to.
    let issuer = MockIssuer::builder()
        .audience(&resource)
        .start()
        .await
        .expect("the mock issuer starts");
    let bind = addr.to_string();
    let issuer_url = issuer.issuer().to_owned();
    let settings = mcp_settings(|name| match name {
        "BIND" => Some(bind.clone()),
        "AUTHZ_ISSUER" => Some(issuer_url.clone()),
        _ => None,
    })
    .expect("valid settings");
    assert_eq!(settings.resource.as_deref(), Some(resource.as_str()));
    assert_eq!(settings.audiences, [resource.as_str()]);
    let config = auth_config(&settings, None).expect("a valid configuration");
    let router = app(AuthLayer::new(config));
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("the server runs");
    });
    Server {
        issuer,
        resource,
        http: reqwest::Client::new(),
    }
}

/// The JSON-RPC message of a reply, whether rmcp answered `application/json` or an SSE
/// stream (`text/event-stream`, whose `data:` line carries it).
fn message(content_type: &str, body: &str) -> Value {
    let text = if content_type.starts_with("text/event-stream") {
        body.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .find(|data| data.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON-RPC message in the stream: {body}"))
    } else {
        body
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn message(&self) -> Value {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        message(content_type, &self.body)
    }
}

/// An MCP client session: one token, and the session id the server gave it.
struct Client<'a> {
    server: &'a Server,
    token: String,
    session: Option<String>,
    next_id: u64,
}

impl<'a> Client<'a> {
    fn new(server: &'a Server, token: String) -> Self {
        Self {
            server,
            token,
            session: None,
            next_id: 1,
        }
    }

    async fn post(&self, body: Value) -> Reply {
        let mut request = self
            .server
            .http
            .post(&self.server.resource)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = &self.session {
            request = request
                .header("Mcp-Session-Id", session)
                .header("MCP-Protocol-Version", PROTOCOL_VERSION);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON-RPC request; its `result`.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let reply = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.body);
        let message = reply.message();
        assert_eq!(message["id"], id, "{message}");
        match message.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method}: no result: {message}"),
        }
    }

    /// `initialize` and `notifications/initialized`, keeping the session id.
    async fn initialize(&mut self) -> Value {
        let reply = self
            .post(json!({
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "axum-principal-test", "version": "0"}
                }
            }))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "initialize: {}", reply.body);
        let session = reply
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("initialize answers an Mcp-Session-Id")
            .to_owned();
        self.session = Some(session);
        let result = reply.message()["result"].clone();
        let initialized = self
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(
            initialized.status,
            StatusCode::ACCEPTED,
            "{}",
            initialized.body
        );
        result
    }

    /// `tools/call` of `name`: (`isError`, the text of its first content block).
    async fn call(&mut self, name: &str) -> (bool, String) {
        let result = self
            .request("tools/call", json!({"name": name, "arguments": {}}))
            .await;
        let is_error = result["isError"].as_bool().unwrap_or(false);
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no text content: {result}"))
            .to_owned();
        (is_error, text)
    }
}

fn user_token(server: &Server) -> String {
    server.issuer.user_token("alice")
}

fn admin_token(server: &Server) -> String {
    server
        .issuer
        .user_token_with_roles("admin-alice", &["admin"])
}

fn machine_token(server: &Server) -> String {
    server.issuer.machine_token("reporting-service")
}

#[tokio::test]
async fn a_user_lists_the_tools_and_calls_them() {
    let server = server().await;
    let mut user = Client::new(&server, user_token(&server));
    let info = user.initialize().await;
    assert_eq!(info["serverInfo"]["name"], "axum-principal-mcp", "{info}");
    assert!(info["capabilities"]["tools"].is_object(), "{info}");

    let tools = user.request("tools/list", json!({})).await;
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .expect("a list of tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["machine_or_admin", "reports", "user_only", "whoami"]
    );

    let (is_error, text) = user.call("whoami").await;
    assert!(!is_error, "{text}");
    let me: Value = serde_json::from_str(&text).expect("whoami is the principal as JSON");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["issuer"], server.issuer.issuer());
    assert_eq!(me["scopes"], json!(["openid", "profile"]));
    assert_eq!(me["actor"], Value::Null);

    let (is_error, text) = user.call("user_only").await;
    assert!(!is_error, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON")["subject"],
        "alice"
    );
    let (is_error, text) = user.call("machine_or_admin").await;
    assert!(is_error, "a user without role admin is refused: {text}");
}

#[tokio::test]
async fn a_machine_is_refused_user_only_and_admitted_to_machine_or_admin() {
    let server = server().await;
    let mut machine = Client::new(&server, machine_token(&server));
    machine.initialize().await;
    let (is_error, text) = machine.call("whoami").await;
    assert!(!is_error, "{text}");
    let me: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(me["kind"], "machine");
    assert_eq!(me["client_id"], "reporting-service");
    let (is_error, text) = machine.call("user_only").await;
    assert!(is_error, "a machine is refused: {text}");
    let (is_error, text) = machine.call("machine_or_admin").await;
    assert!(!is_error, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON")["kind"],
        "machine"
    );

    // A user holding role admin is admitted too.
    let mut admin = Client::new(&server, admin_token(&server));
    admin.initialize().await;
    let (is_error, text) = admin.call("machine_or_admin").await;
    assert!(!is_error, "{text}");
}

#[tokio::test]
async fn each_call_runs_as_the_token_of_its_own_request() {
    let server = server().await;
    let mut client = Client::new(&server, user_token(&server));
    client.initialize().await;
    // Same session, another valid token: the tools see the principal of this request.
    client.token = machine_token(&server);
    let (_, text) = client.call("whoami").await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON")["kind"],
        "machine"
    );
    // Same session, no valid token: refused before MCP.
    client.token = "not.a.jwt".to_owned();
    let reply = client
        .post(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}}))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

/// The `resource_metadata` parameter of a challenge.
fn metadata_url(challenge: &str) -> &str {
    let (_, rest) = challenge
        .split_once("resource_metadata=\"")
        .unwrap_or_else(|| panic!("no resource_metadata in {challenge}"));
    rest.split('"').next().expect("a quoted value")
}

#[tokio::test]
async fn without_a_valid_token_the_401_leads_to_the_metadata_document() {
    let server = server().await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}
    });
    // No token, a forged one, and a token of the issuer for another resource (RFC 8707).
    let other_audience = server
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("aud", "https://api.example.test")
        .sign();
    for token in [None, Some("not.a.jwt".to_owned()), Some(other_audience)] {
        let mut request = server
            .http
            .post(&server.resource)
            .header(ACCEPT, "application/json, text/event-stream")
            .json(&initialize);
        if let Some(token) = &token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(
            response.headers().get("mcp-session-id").is_none(),
            "rmcp never saw the request"
        );
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .expect("a 401 carries a challenge")
            .to_owned();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        let url = metadata_url(&challenge);
        assert_eq!(
            url,
            server
                .resource
                .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
        );

        // The client follows it to the document, which names this resource and its issuer.
        let document = server.http.get(url).send().await.expect("the document");
        assert_eq!(document.status(), StatusCode::OK);
        assert_eq!(
            document
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let document: Value = document.json().await.expect("a JSON document");
        assert_eq!(document["resource"], server.resource.as_str());
        assert_eq!(
            document["authorization_servers"],
            json!([server.issuer.issuer()])
        );
        assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    }
}

#[test]
fn by_default_the_server_is_its_own_resource_and_audience() {
    let settings = mcp_settings(|_| None).expect("no variables is development mode");
    assert!(settings.dev_mode());
    assert_eq!(settings.bind.to_string(), "127.0.0.1:3001");
    assert_eq!(
        settings.resource.as_deref(),
        Some("http://127.0.0.1:3001/mcp")
    );
    assert_eq!(settings.audiences, ["http://127.0.0.1:3001/mcp"]);

    let set = |name: &str| match name {
        "BIND" => Some("127.0.0.1:4000".to_owned()),
        "AUTHZ_RESOURCE" => Some("https://mcp.example.test/mcp".to_owned()),
        "AUTHZ_ISSUER" => Some("https://issuer.example.test/".to_owned()),
        "AUTHZ_AUDIENCE" => Some("api://mcp".to_owned()),
        _ => None,
    };
    let settings = mcp_settings(set).expect("valid settings");
    assert_eq!(
        settings.resource.as_deref(),
        Some("https://mcp.example.test/mcp")
    );
    assert_eq!(settings.audiences, ["api://mcp"], "AUTHZ_AUDIENCE wins");

    // A non-loopback BIND cannot be the plain-http default resource: name AUTHZ_RESOURCE.
    let problem = mcp_settings(|name| match name {
        "BIND" => Some("0.0.0.0:3001".to_owned()),
        "AUTHZ_ISSUER" => Some("https://issuer.example.test/".to_owned()),
        _ => None,
    })
    .expect_err("http://0.0.0.0:3001/mcp is not a resource identifier");
    assert_eq!(problem.variable, "AUTHZ_RESOURCE");
}
