//! Sessions belong to the principal (`iss`, kind, `sub`) that opened them; one principal
//! holds at most `MAX_SESSIONS_PER_PRINCIPAL`; idle sessions close.

use std::time::Duration;

use axum::body::Body;
use axum_principal_mcp::{MAX_SESSIONS_PER_PRINCIPAL, SESSION_IDLE_TIMEOUT};
use http::Request;
use reqwest::StatusCode;
use serde_json::json;
use tower::ServiceExt as _;

use crate::support::{machine_token, server, user_token, Client, Server, PROTOCOL_VERSION};

#[tokio::test]
async fn another_principals_session_is_not_found_by_any_method() {
    let server = server().await;
    let mut alice = Client::new(&server, user_token(&server));
    alice.initialize().await;
    let session = alice.session.clone().expect("a session");
    assert_eq!(server.sessions.live(), 1);

    // Another user; a machine; and a machine whose subject is alice's (same `sub`, other
    // kind: another principal).
    for token in [
        server.issuer.user_token("bob"),
        machine_token(&server),
        server.issuer.machine_token("alice"),
    ] {
        let mut intruder = Client::new(&server, token);
        intruder.session = Some(session.clone());
        let reply = intruder
            .try_request("tools/call", json!({"name": "whoami"}))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "POST: {}", reply.body);
        let reply = intruder
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "POST: {}", reply.body);
        assert_eq!(intruder.get_status().await, StatusCode::NOT_FOUND, "GET");
        let reply = intruder.delete().await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "DELETE: {}",
            reply.body
        );
    }

    // The session is untouched: its owner calls a tool and pings, then ends it.
    assert_eq!(alice.whoami_subject().await, "alice");
    assert_eq!(alice.request("ping", json!({})).await, json!({}));
    assert_eq!(server.sessions.live(), 1);
    let reply = alice.delete().await;
    assert!(
        reply.status.is_success(),
        "{}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(
        server.sessions.live(),
        0,
        "a closed session leaves the table"
    );
    let reply = alice.try_request("ping", json!({})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
}

#[tokio::test]
async fn a_session_id_header_that_is_not_text_is_not_found() {
    let server = server().await;
    let mut alice = Client::new(&server, user_token(&server));
    alice.initialize().await;
    for value in [&b"\xff\xfe"[..], b"", b"not-a-session"] {
        let response = server
            .http
            .post(&server.resource)
            .header("Authorization", format!("Bearer {}", alice.token))
            .header("Accept", "application/json, text/event-stream")
            .header(
                "Mcp-Session-Id",
                http::HeaderValue::from_bytes(value).expect("a header value"),
            )
            .header("MCP-Protocol-Version", PROTOCOL_VERSION)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{value:?}");
    }
    // Two session headers, the first alice's own: every one must be hers.
    let session = alice.session.clone().expect("a session");
    let response = server
        .http
        .post(&server.resource)
        .header("Authorization", format!("Bearer {}", alice.token))
        .header("Accept", "application/json, text/event-stream")
        .header("Mcp-Session-Id", &session)
        .header("Mcp-Session-Id", "someone-else")
        .header("MCP-Protocol-Version", PROTOCOL_VERSION)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(alice.request("ping", json!({})).await, json!({}));
}

#[tokio::test]
async fn one_principal_holds_at_most_the_cap_and_its_oldest_session_closes() {
    let server = server().await;
    let mut bob = Client::new(&server, server.issuer.user_token("bob"));
    bob.initialize().await;

    let mut first = Client::new(&server, user_token(&server));
    first.initialize().await;
    let mut last = Client::new(&server, user_token(&server));
    for _ in 1..MAX_SESSIONS_PER_PRINCIPAL {
        last.initialize().await;
    }
    // Alice holds the cap; bob his one.
    assert_eq!(server.sessions.live(), MAX_SESSIONS_PER_PRINCIPAL + 1);
    assert_eq!(first.whoami_subject().await, "alice");

    // One more: her oldest closes.
    last.initialize().await;
    assert_eq!(server.sessions.live(), MAX_SESSIONS_PER_PRINCIPAL + 1);
    let reply = first.try_request("ping", json!({})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(last.whoami_subject().await, "alice");
    assert_eq!(
        bob.whoami_subject().await,
        "bob",
        "another principal is unaffected"
    );
}

/// `ping` in `session` with `token`, through the router in process: the status. The whole
/// answer is read, so the session has handled the ping (and whatever came before it)
/// when this returns.
async fn ping_in_process(server: &Server, token: &str, session: &str) -> StatusCode {
    let host = server
        .resource
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let request = Request::post(&server.resource)
        .header("host", host)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 7, "method": "ping"}).to_string(),
        ))
        .expect("a request");
    let response = server
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("the whole answer");
    status
}

/// Lets the runtime's other tasks run until `done`, at most a bounded number of turns
/// (each a yield, not a wait for time to pass).
async fn run_others_until(done: impl Fn() -> bool) -> bool {
    for _ in 0..10_000 {
        if done() {
            return true;
        }
        tokio::task::yield_now().await;
    }
    done()
}

#[tokio::test]
async fn an_idle_session_closes_after_the_idle_timeout() {
    let server = server().await;
    let mut alice = Client::new(&server, user_token(&server));
    // Over the socket, so that the signing keys are fetched before the clock stops.
    alice.initialize().await;
    let session = alice.session.clone().expect("a session");
    assert_eq!(
        ping_in_process(&server, &alice.token, &session).await,
        StatusCode::OK
    );

    // The tokio clock (rmcp's keep-alive runs on it) now moves only when told to.
    tokio::time::pause();
    tokio::time::advance(SESSION_IDLE_TIMEOUT - Duration::from_secs(1)).await;
    assert!(!run_others_until(|| server.sessions.live() == 0).await);
    assert_eq!(
        ping_in_process(&server, &alice.token, &session).await,
        StatusCode::OK,
        "a session used within the timeout stays"
    );

    tokio::time::advance(SESSION_IDLE_TIMEOUT - Duration::from_secs(1)).await;
    assert!(!run_others_until(|| server.sessions.live() == 0).await);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(
        run_others_until(|| server.sessions.live() == 0).await,
        "idle for the whole timeout, the session closed and left the table"
    );
    assert_eq!(
        ping_in_process(&server, &alice.token, &session).await,
        StatusCode::NOT_FOUND
    );
}
