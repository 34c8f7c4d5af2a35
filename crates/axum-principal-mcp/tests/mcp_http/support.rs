//! The server under test and an MCP client speaking JSON-RPC by hand.

use std::sync::Arc;

use axum::Router;
use axum_principal::AuthLayer;
use axum_principal_example::auth_config;
use axum_principal_mcp::{app_with_sessions, mcp_settings, PrincipalSessions};
use axum_principal_testkit::MockIssuer;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// The server on a free loopback port, trusting `issuer`, configured through the same
/// settings path as `run` (so `AUTHZ_RESOURCE` and the audience take their defaults from
/// `BIND`).
pub struct Server {
    pub issuer: MockIssuer,
    /// `http://127.0.0.1:PORT/mcp`: the endpoint, the resource and the tokens' audience.
    pub resource: String,
    pub http: reqwest::Client,
    /// The server's sessions, to count the live ones.
    pub sessions: Arc<PrincipalSessions>,
    /// The router being served, to call in process (without sockets) on a paused clock.
    pub router: Router,
}

pub async fn server() -> Server {
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
    let sessions = Arc::new(PrincipalSessions::local());
    let router = app_with_sessions(AuthLayer::new(config), None, sessions.clone());
    let served = router.clone();
    tokio::spawn(async move {
        axum::serve(listener, served)
            .await
            .expect("the server runs");
    });
    Server {
        issuer,
        resource,
        http: reqwest::Client::new(),
        sessions,
        router,
    }
}

/// The JSON-RPC message of a reply, whether rmcp answered `application/json` or an SSE
/// stream (`text/event-stream`, whose `data:` line carries it).
pub fn message(content_type: &str, body: &str) -> Value {
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

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn message(&self) -> Value {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        message(content_type, &self.body)
    }
}

/// The `initialize` request.
pub fn initialize_request() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "axum-principal-test", "version": "0"}
        }
    })
}

/// An MCP client session: one token, and the session id the server gave it.
pub struct Client<'a> {
    pub server: &'a Server,
    pub token: String,
    pub session: Option<String>,
    next_id: u64,
}

impl<'a> Client<'a> {
    pub fn new(server: &'a Server, token: String) -> Self {
        Self {
            server,
            token,
            session: None,
            next_id: 1,
        }
    }

    /// An HTTP request of `method` to the endpoint with this client's token and session.
    fn builder(&self, method: Method, accept: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .server
            .http
            .request(method, &self.server.resource)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, accept);
        if let Some(session) = &self.session {
            request = request
                .header("Mcp-Session-Id", session)
                .header("MCP-Protocol-Version", PROTOCOL_VERSION);
        }
        request
    }

    async fn send(request: reqwest::RequestBuilder) -> Reply {
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

    pub async fn post(&self, body: Value) -> Reply {
        let request = self
            .builder(Method::POST, "application/json, text/event-stream")
            .json(&body);
        Self::send(request).await
    }

    /// `GET`, which opens the session's SSE stream; only the status and headers are read,
    /// as the stream of a live session does not end.
    pub async fn get_status(&self) -> StatusCode {
        let request = self.builder(Method::GET, "text/event-stream");
        request.send().await.expect("the server answers").status()
    }

    /// `DELETE`, which ends the session.
    pub async fn delete(&self) -> Reply {
        Self::send(self.builder(Method::DELETE, "application/json, text/event-stream")).await
    }

    /// A JSON-RPC request; the reply as it came.
    pub async fn try_request(&mut self, method: &str, params: Value) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        self.post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    /// A JSON-RPC request; its `result`.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        let reply = self.try_request(method, params).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.body);
        let message = reply.message();
        assert_eq!(message["id"], id, "{message}");
        // The message is in the panic: it holds the error that came instead.
        message
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method}: no result: {message}"))
    }

    /// `initialize` and `notifications/initialized`, keeping the session id.
    pub async fn initialize(&mut self) -> Value {
        self.session = None;
        let reply = self.post(initialize_request()).await;
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
    pub async fn call(&mut self, name: &str) -> (bool, String) {
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

    /// The `subject` of `whoami`'s principal.
    pub async fn whoami_subject(&mut self) -> String {
        let (is_error, text) = self.call("whoami").await;
        assert!(!is_error, "{text}");
        let me: Value = serde_json::from_str(&text).expect("whoami is the principal as JSON");
        me["subject"].as_str().expect("a subject").to_owned()
    }
}

pub fn user_token(server: &Server) -> String {
    server.issuer.user_token("alice")
}

pub fn admin_token(server: &Server) -> String {
    server
        .issuer
        .user_token_with_roles("admin-alice", &["admin"])
}

pub fn machine_token(server: &Server) -> String {
    server.issuer.machine_token("reporting-service")
}
