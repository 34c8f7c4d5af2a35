//! The MCP server driven over HTTP as an MCP client would, with JSON-RPC by hand:
//! `initialize`, `notifications/initialized` (with the `Mcp-Session-Id` it got),
//! `tools/list`, `tools/call` as a user, an admin and a machine, and a 401 whose challenge
//! leads to the RFC 9728 document. [`sessions`]: sessions belong to their principal and are
//! bounded; [`memory`]: an `initialize` flood against the release build (ignored).

mod memory;
mod sessions;
mod support;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use axum_principal_mcp::mcp_settings;
use support::{admin_token, machine_token, server, user_token, Client, PROTOCOL_VERSION};

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
    let (is_error, text) = client.call("machine_or_admin").await;
    assert!(is_error, "alice's first token holds no role admin: {text}");
    // Same session, a new token of the same principal (iss, kind, sub) that holds role
    // admin: the tools see the token of this request.
    client.token = server.issuer.user_token_with_roles("alice", &["admin"]);
    let (is_error, text) = client.call("machine_or_admin").await;
    assert!(!is_error, "{text}");
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
