//! What the wire carries: a refusal is one HEADERS frame that ends the stream (gRPC's
//! Trailers-Only), HTTP 200 with `content-type: application/grpc`, `grpc-status` and
//! `grpc-message`, and never a bare HTTP 401/403/503. And `GET /healthz` answers over
//! HTTP/1.1 on the gRPC port.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::support::{bearer, Server};

/// The response head, whether the stream ended with it, and what followed (data bytes and
/// whether there were trailers).
struct Answer {
    status: http::StatusCode,
    headers: http::HeaderMap,
    ended_with_headers: bool,
    data: usize,
    trailers: bool,
}

/// A unary call of `path` with an empty message, over a raw HTTP/2 connection.
async fn raw_call(server: &Server, path: &str, authorization: Option<&str>) -> Answer {
    let stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connects");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("an HTTP/2 handshake");
    tokio::spawn(connection);
    let mut request = http::Request::post(format!("{}{path}", server.origin()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    // One length-prefixed message: not compressed, zero bytes long.
    let request = request.body(Body::from(vec![0u8; 5])).expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let (head, body) = response.into_parts();
    let ended_with_headers = body.is_end_stream();
    let collected = body.collect().await.expect("the body");
    let trailers = collected.trailers().is_some();
    Answer {
        status: head.status,
        headers: head.headers,
        ended_with_headers,
        data: collected.to_bytes().len(),
        trailers,
    }
}

fn text<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn refusals_are_trailers_only_responses() {
    let server = Server::start(&[]).await;
    let user = server.user();
    let cases = [
        (
            "/principal.v1.Principal/WhoAmI",
            None,
            "16",
            "missing_token",
        ),
        (
            "/principal.v1.Principal/WhoAmI",
            Some(bearer("not.a.jwt")),
            "16",
            "invalid_token",
        ),
        (
            "/principal.v1.Principal/Admin",
            Some(bearer(&user)),
            "7",
            "insufficient_scope",
        ),
        (
            "/principal.v1.Principal/Unlisted",
            Some(bearer(&user)),
            "7",
            "insufficient_scope",
        ),
    ];
    for (path, authorization, status, message) in cases {
        let answer = raw_call(&server, path, authorization.as_deref()).await;
        assert_eq!(answer.status, http::StatusCode::OK, "{path}");
        assert_eq!(text(&answer, "content-type"), Some("application/grpc"));
        assert_eq!(text(&answer, "grpc-status"), Some(status), "{path}");
        assert_eq!(text(&answer, "grpc-message"), Some(message), "{path}");
        assert!(
            text(&answer, "www-authenticate").is_some(),
            "{path}: the challenge"
        );
        assert!(
            answer.ended_with_headers,
            "{path}: HEADERS ended the stream"
        );
        assert_eq!((answer.data, answer.trailers), (0, false), "{path}");
    }
    // An admitted call is a normal gRPC response: data, then the status in trailers.
    let ok = raw_call(
        &server,
        "/principal.v1.Principal/WhoAmI",
        Some(&bearer(&user)),
    )
    .await;
    assert_eq!(text(&ok, "grpc-status"), None);
    assert!(!ok.ended_with_headers && ok.data > 5 && ok.trailers);
}

#[tokio::test]
async fn healthz_answers_over_http1_on_the_same_port() {
    let server = Server::start(&[]).await;
    let addr = server.addr;
    let reply = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("sent");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("an answer");
        reply
    })
    .await
    .expect("the blocking read");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("{\"status\":\"ok\"}"), "{reply}");
}
