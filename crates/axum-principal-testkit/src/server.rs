//! The HTTP side: accept loop, routing and fault injection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::introspection::Reply;
use crate::introspection_jwt::{signed_answer, JWT_ANSWER};
use crate::state::Shared;
use crate::{Discovery, Fault, IntrospectionFault};

type Body = Full<Bytes>;

/// Accepts connections until `shutdown` changes or its sender is dropped
/// (i.e. the last `MockIssuer` handle is gone).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if shared.state().fault == Fault::Down {
            drop(stream);
            continue;
        }

        let shared = Arc::clone(&shared);
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&shared), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                // Connection errors (including the deliberate ones under
                // `Fault::Down`) just end the connection.
                _ = conn => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    OidcDiscovery,
    Rfc8414,
    Jwks,
    Introspect,
    NotFound,
}

fn route(shared: &Shared, method: &Method, path: &str) -> Route {
    let prefix = shared.path_prefix.as_str();
    if method == Method::POST && path.strip_prefix(prefix) == Some("/introspect") {
        return Route::Introspect;
    }
    if method != Method::GET && method != Method::HEAD {
        return Route::NotFound;
    }
    if let Some(rest) = path.strip_prefix(prefix) {
        match rest {
            "/.well-known/openid-configuration" => return Route::OidcDiscovery,
            "/jwks" => return Route::Jwks,
            _ => {}
        }
    }
    if let Some(rest) = path.strip_prefix("/.well-known/oauth-authorization-server") {
        if rest == prefix {
            return Route::Rfc8414;
        }
    }
    Route::NotFound
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> io::Result<Response<Body>> {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    shared.record_request(format!("{} {}", req.method(), path_and_query));

    let route = route(&shared, req.method(), req.uri().path());
    match route {
        Route::OidcDiscovery | Route::Rfc8414 => shared.count_discovery(),
        Route::Jwks => shared.count_jwks(),
        Route::Introspect => shared.count_introspection(),
        Route::NotFound => {}
    }
    if route == Route::Introspect && shared.state().fault != Fault::Down {
        return introspect(&shared, req).await;
    }

    let (fault, discovery, cache_control) = {
        let state = shared.state();
        (state.fault, state.discovery, state.cache_control.clone())
    };
    if fault == Fault::Down {
        // An error from the service makes hyper drop the connection without
        // writing a response.
        return Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "mock issuer is down",
        ));
    }

    let served = match route {
        Route::OidcDiscovery => discovery == Discovery::Oidc,
        Route::Rfc8414 => discovery != Discovery::None,
        Route::Jwks => true,
        Route::Introspect | Route::NotFound => false,
    };
    if !served {
        return Ok(text(StatusCode::NOT_FOUND, "not found\n".to_owned()));
    }

    match fault {
        Fault::None | Fault::Down => {}
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(text(status, format!("mock issuer fault: status {code}\n")));
        }
        Fault::Slow(delay) => tokio::time::sleep(delay).await,
        Fault::Garbage => return Ok(json_response("not json {{{".to_owned())),
        Fault::Oversized(len) => return Ok(json_response(oversized_body(len))),
    }

    let response = match route {
        Route::Jwks => {
            let mut response = json_response(shared.jwks().to_string());
            if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(CACHE_CONTROL, value);
            }
            response
        }
        _ => json_response(Value::to_string(&shared.discovery_document())),
    };
    Ok(response)
}

/// `POST {issuer}/introspect`: the answer, after the endpoint's own fault's delay.
async fn introspect(shared: &Shared, req: Request<Incoming>) -> io::Result<Response<Body>> {
    let authorization = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let wants_jwt = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(JWT_ANSWER));
    let body = http_body_util::BodyExt::collect(req.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let fault = shared.state().introspection.fault;
    if let IntrospectionFault::Slow(delay) = fault {
        tokio::time::sleep(delay).await;
    }
    let reply =
        shared
            .state()
            .introspection
            .answer(&shared.issuer, authorization.as_deref(), &body);
    let status = |code| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok(match reply {
        Reply::Json(code, body) => {
            let mut response = json_response(body);
            *response.status_mut() = status(code);
            response
        }
        Reply::Text(code, body) => text(status(code), body),
        Reply::Answer { client, answer } if wants_jwt && fault != IntrospectionFault::JsonOnly => {
            match signed_answer(shared, fault, &client, answer) {
                Ok(jwt) => {
                    let mut response = text(StatusCode::OK, jwt);
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(JWT_ANSWER));
                    response
                }
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
            }
        }
        Reply::Answer { answer, .. } => json_response(answer.to_string()),
    })
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json_response(body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A syntactically valid JSON document of exactly `len` bytes.
fn oversized_body(len: usize) -> String {
    const HEAD: &str = r#"{"keys":[],"pad":""#;
    const TAIL: &str = r#""}"#;
    const SMALL: &str = r#"{"keys":[]}"#;
    if len >= HEAD.len() + TAIL.len() {
        let mut body = String::with_capacity(len);
        body.push_str(HEAD);
        body.extend(std::iter::repeat_n('x', len - HEAD.len() - TAIL.len()));
        body.push_str(TAIL);
        body
    } else if len >= SMALL.len() {
        // Trailing whitespace is allowed in JSON.
        format!("{SMALL:<len$}")
    } else if len >= 2 {
        format!("{:<len$}", "{}")
    } else {
        "0".repeat(len)
    }
}

#[cfg(test)]
mod tests {
    use super::oversized_body;

    #[test]
    fn oversized_body_is_valid_json_of_exact_length() {
        for len in 1..64 {
            let body = oversized_body(len);
            assert_eq!(body.len(), len, "length for {len}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&body).is_ok(),
                "valid JSON for {len}: {body:?}"
            );
        }
        let big = oversized_body(1 << 20);
        assert_eq!(big.len(), 1 << 20);
        let parsed: serde_json::Value = serde_json::from_str(&big).unwrap_or_default();
        assert_eq!(parsed["keys"], serde_json::json!([]));
    }
}
