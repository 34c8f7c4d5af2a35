//! The unit tests of a refusal's gRPC form: the status of each kind (CONTRACT.md's table),
//! and what a Trailers-Only response carries.

use std::sync::Arc;

use super::*;
use crate::rejection::grpc::{GRPC_MESSAGE, GRPC_STATUS};

/// Headers of a gRPC call with this content type.
fn grpc_call(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn is_empty(response: Response) -> bool {
    use axum::body::HttpBody as _;
    response.into_body().is_end_stream()
}

#[test]
fn each_kind_has_the_grpc_status_of_the_contract_table() {
    let table = [
        (RejectionKind::MissingCredentials, 16),
        // A malformed header is 400 over HTTP; gRPC groups it with the 401s.
        (
            RejectionKind::InvalidRequest(InvalidRequest::MultipleTokens),
            16,
        ),
        (RejectionKind::InvalidToken(InvalidToken::Expired), 16),
        (
            RejectionKind::InvalidDpopProof(InvalidDpopProof::Replayed),
            16,
        ),
        (RejectionKind::InvalidDpopToken(InvalidToken::Expired), 16),
        (RejectionKind::UseDpopNonce { nonce: "n".into() }, 16),
        (RejectionKind::DpopRequired, 16),
        (RejectionKind::InsufficientScope { scope: None }, 7),
        (
            RejectionKind::RateLimited {
                retry_after_secs: 3,
            },
            8,
        ),
        (RejectionKind::Unavailable, 14),
        (RejectionKind::ReplayStoreUnavailable, 14),
        (RejectionKind::RateLimitUnavailable, 14),
        (RejectionKind::MissingLayer, 13),
    ];
    for (kind, code) in table {
        let rejection =
            AuthRejection::new(kind.clone()).in_reply_to(&grpc_call("application/grpc"));
        assert_eq!(rejection.grpc_status(), code, "{kind:?}");
        let response = rejection.default_response();
        assert_eq!(response.status(), StatusCode::OK, "{kind:?}");
        assert_eq!(
            header(&response, GRPC_STATUS.as_str()),
            Some(code.to_string().as_str()),
            "{kind:?}"
        );
        assert_eq!(
            header(&response, GRPC_MESSAGE.as_str()),
            Some(rejection.error_code()),
            "{kind:?}"
        );
        assert!(is_empty(response), "Trailers-Only: no body ({kind:?})");
    }
}

#[test]
fn a_grpc_refusal_keeps_the_challenge_and_the_content_type_as_metadata() {
    let rejection = AuthRejection::new(RejectionKind::InvalidToken(InvalidToken::Expired))
        .in_reply_to(&grpc_call("application/grpc+proto"));
    assert!(rejection.is_grpc());
    let response = rejection.default_response();
    assert_eq!(
        header(&response, "content-type"),
        Some("application/grpc+proto")
    );
    assert_eq!(header(&response, "grpc-message"), Some("invalid_token"));
    let challenge = header(&response, "www-authenticate").expect("the 401's challenge");
    assert!(
        challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""),
        "{challenge}"
    );

    let forbidden = AuthRejection::new(RejectionKind::InsufficientScope {
        scope: Some("admin".into()),
    })
    .in_reply_to(&grpc_call("application/grpc"))
    .default_response();
    let challenge = header(&forbidden, "www-authenticate").expect("the 403's challenge");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
}

#[test]
fn over_quota_over_grpc_says_when_to_retry() {
    let response = AuthRejection::new(RejectionKind::RateLimited {
        retry_after_secs: 42,
    })
    .in_reply_to(&grpc_call("application/grpc"))
    .default_response();
    assert_eq!(header(&response, "grpc-status"), Some("8"));
    assert_eq!(header(&response, "retry-after"), Some("42"));
    assert_eq!(header(&response, "www-authenticate"), None);
}

#[test]
fn a_request_that_is_not_grpc_keeps_the_http_refusal() {
    for headers in [HeaderMap::new(), grpc_call("application/json")] {
        let rejection = AuthRejection::new(RejectionKind::MissingCredentials).in_reply_to(&headers);
        assert!(!rejection.is_grpc());
        let response = rejection.default_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&response, "grpc-status"), None);
        assert_eq!(header(&response, "content-type"), Some("application/json"));
    }
}

#[test]
fn a_custom_renderer_learns_that_the_call_was_grpc() {
    let renderer = Renderer {
        custom: Some(Arc::new(|r: &AuthRejection| {
            let mut response = r.default_response();
            let protocol = if r.is_grpc() { "grpc" } else { "http" };
            response
                .headers_mut()
                .insert("x-protocol", HeaderValue::from_static(protocol));
            response
        })),
        ..Renderer::default()
    };
    let grpc = AuthRejection::with_renderer(RejectionKind::MissingCredentials, renderer.clone())
        .in_reply_to(&grpc_call("application/grpc"))
        .into_response();
    assert_eq!(header(&grpc, "x-protocol"), Some("grpc"));
    assert_eq!(header(&grpc, "grpc-status"), Some("16"));
    let http =
        AuthRejection::with_renderer(RejectionKind::MissingCredentials, renderer).into_response();
    assert_eq!(header(&http, "x-protocol"), Some("http"));
    assert_eq!(http.status(), StatusCode::UNAUTHORIZED);
}
