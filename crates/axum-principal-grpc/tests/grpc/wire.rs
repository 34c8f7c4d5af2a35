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
    let reply = http1(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("{\"status\":\"ok\"}"), "{reply}");
}

/// One HTTP/1.1 exchange (`Connection: close`), read to the end (bounded by a timeout).
async fn http1(server: &Server, request: Vec<u8>) -> String {
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        stream.write_all(&request).expect("sent");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).expect("an answer");
        String::from_utf8_lossy(&reply).into_owned()
    })
    .await
    .expect("the blocking read")
}

/// The value of header `name` in an HTTP/1.1 reply.
fn http1_header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let head = reply.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[tokio::test]
async fn a_grpc_web_refusal_is_readable_by_a_browser() {
    let server = Server::start(&[]).await;
    // The preflight carries no token, and is answered.
    let preflight = http1(
        &server,
        b"OPTIONS /principal.v1.Principal/WhoAmI HTTP/1.1\r\nHost: localhost\r\n\
          Origin: http://app.example\r\nAccess-Control-Request-Method: POST\r\n\
          Access-Control-Request-Headers: authorization,content-type,x-grpc-web\r\n\
          Connection: close\r\n\r\n"
            .to_vec(),
    )
    .await;
    assert!(preflight.starts_with("HTTP/1.1 200 OK\r\n"), "{preflight}");
    let allowed = http1_header(&preflight, "access-control-allow-headers").unwrap_or_default();
    assert!(allowed.contains("authorization"), "{preflight}");

    let mut call = b"POST /principal.v1.Principal/WhoAmI HTTP/1.1\r\nHost: localhost\r\n\
          Origin: http://app.example\r\nContent-Type: application/grpc-web+proto\r\n\
          X-Grpc-Web: 1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
        .to_vec();
    call.extend([0u8; 5]);
    let reply = http1(&server, call).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert_eq!(http1_header(&reply, "grpc-status"), Some("16"), "{reply}");
    assert_eq!(http1_header(&reply, "grpc-message"), Some("missing_token"));
    assert_eq!(
        http1_header(&reply, "content-type"),
        Some("application/grpc-web+proto")
    );
    assert_eq!(
        http1_header(&reply, "www-authenticate"),
        Some("Bearer realm=\"api\"")
    );
    assert_eq!(
        http1_header(&reply, "access-control-allow-origin"),
        Some("*")
    );
    let exposed = http1_header(&reply, "access-control-expose-headers").unwrap_or_default();
    for name in ["grpc-status", "grpc-message", "www-authenticate"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
}
