//! Refusals of gRPC calls: a Trailers-Only response (HTTP 200, the call's gRPC content
//! type, `grpc-status` and `grpc-message` as headers, no body), so that any gRPC client,
//! not only tonic, reads a status code instead of guessing one from an HTTP status. The
//! metadata an HTTP refusal carries (`www-authenticate`, `dpop-nonce`, `retry-after`) is
//! kept as headers, which gRPC clients expose as metadata.
//!
//! The library knows gRPC only from the request's `content-type` (no tonic here): a call is
//! gRPC when it is `application/grpc`, `application/grpc+…` (`+proto`, `+json`, …) or one of
//! grpc-web's (`application/grpc-web`, `-web+…`, `-web-text`, `-web-text+…`), whose
//! clients read a Trailers-Only answer from the headers too.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::{AuthRejection, RejectionKind};

/// `grpc-status`.
pub(crate) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`.
pub(crate) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// The gRPC status codes a refusal uses (the numbers of gRPC's `status.proto`).
pub mod code {
    /// `PERMISSION_DENIED`: a valid token that a guard refuses.
    pub const PERMISSION_DENIED: i32 = 7;
    /// `RESOURCE_EXHAUSTED`: over quota.
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// `INTERNAL`: the auth layer is missing in front of an extractor, guard or limiter.
    pub const INTERNAL: i32 = 13;
    /// `UNAVAILABLE`: keys, introspection, the replay store or the quota store cannot
    /// answer; worth retrying.
    pub const UNAVAILABLE: i32 = 14;
    /// `UNAUTHENTICATED`: no token, a malformed `Authorization` header, a token (or DPoP
    /// proof) that is not accepted.
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The request's content type when it is a gRPC one (see the [module](self) docs).
pub(crate) fn grpc_content_type(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(http::header::CONTENT_TYPE)?;
    is_grpc_media_type(value.as_bytes()).then(|| value.clone())
}

/// `application/grpc` and its variants, compared without case (RFC 9110 §8.3.1), with any
/// parameters after `;`.
fn is_grpc_media_type(value: &[u8]) -> bool {
    const PREFIX: &[u8] = b"application/grpc";
    let Some(head) = value.get(..PREFIX.len()) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(PREFIX) {
        return false;
    }
    let rest = value.get(PREFIX.len()..).unwrap_or_default();
    let rest = strip_prefix_ignore_case(rest, b"-web").unwrap_or(rest);
    let rest = strip_prefix_ignore_case(rest, b"-text").unwrap_or(rest);
    matches!(rest.first(), None | Some(b'+' | b';' | b' ' | b'\t'))
}

fn strip_prefix_ignore_case<'a>(value: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| value.get(prefix.len()..).unwrap_or_default())
}

/// gRPC's percent-encoding of `grpc-message`: every byte outside visible ASCII and space,
/// and `%` itself, as `%XX`.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl AuthRejection {
    /// Answers in the protocol of the request with these headers: a gRPC refusal (see
    /// [`grpc_response`](Self::grpc_response)) when its `content-type` is gRPC's, the HTTP
    /// one otherwise. The layer, the guards, the extractors and the rate limiter do this for
    /// every refusal they make; call it on a rejection of your own.
    #[must_use]
    pub fn in_reply_to(mut self, headers: &HeaderMap) -> Self {
        self.grpc = grpc_content_type(headers).map(Box::new);
        self
    }

    /// Whether the refused request was a gRPC call, so that
    /// [`default_response`](Self::default_response) is a gRPC status: what a custom renderer
    /// ([`render_rejections_with`](crate::AuthConfigBuilder::render_rejections_with)) reads
    /// to answer a gRPC call in kind.
    pub fn is_grpc(&self) -> bool {
        self.grpc.is_some()
    }

    /// The gRPC status code of this refusal (see [`code`]): 16 `UNAUTHENTICATED` for every
    /// 401 and for a malformed `Authorization` header (HTTP's 400), 7 `PERMISSION_DENIED`
    /// for 403, 8 `RESOURCE_EXHAUSTED` for 429, 14 `UNAVAILABLE` for 503, 13 `INTERNAL`
    /// for a missing layer.
    pub fn grpc_status(&self) -> i32 {
        match self.kind {
            RejectionKind::MissingCredentials
            | RejectionKind::InvalidRequest(_)
            | RejectionKind::InvalidToken(_)
            | RejectionKind::InvalidDpopProof(_)
            | RejectionKind::InvalidDpopToken(_)
            | RejectionKind::UseDpopNonce { .. }
            | RejectionKind::DpopRequired
            | RejectionKind::InsufficientUserAuthentication(_) => code::UNAUTHENTICATED,
            RejectionKind::InsufficientScope { .. } => code::PERMISSION_DENIED,
            RejectionKind::RateLimited { .. } => code::RESOURCE_EXHAUSTED,
            RejectionKind::Unavailable
            | RejectionKind::ReplayStoreUnavailable
            | RejectionKind::IntrospectionUnavailable(_)
            | RejectionKind::RateLimitUnavailable => code::UNAVAILABLE,
            RejectionKind::MissingLayer => code::INTERNAL,
        }
    }

    /// The refusal as a gRPC Trailers-Only response: HTTP 200, the request's gRPC content
    /// type (`application/grpc` when the request was not gRPC), `grpc-status`, and
    /// `grpc-message` holding the [`error_code`](Self::error_code) only (never the token,
    /// a claim or a key), percent-encoded; `www-authenticate` (every challenge),
    /// `dpop-nonce` and `retry-after` as over HTTP, which clients read as metadata. No
    /// body.
    pub fn grpc_response(&self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            self.grpc
                .as_deref()
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("application/grpc")),
        );
        headers.insert(GRPC_STATUS, HeaderValue::from(self.grpc_status()));
        if let Ok(message) = HeaderValue::from_str(&percent_encode(self.error_code())) {
            headers.insert(GRPC_MESSAGE, message);
        }
        self.add_metadata(headers);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types_are_recognised_and_others_are_not() {
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "Application/GRPC+Proto",
            "application/grpc; charset=utf-8",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
        ] {
            assert!(is_grpc_media_type(grpc.as_bytes()), "{grpc}");
        }
        for other in [
            "",
            "application/json",
            "application/grp",
            "application/grpcx",
            "application/grpc-webx",
            "application/grpc-websocket",
            "text/application/grpc",
        ] {
            assert!(!is_grpc_media_type(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn messages_are_percent_encoded_as_grpc_says() {
        assert_eq!(percent_encode("invalid_token"), "invalid_token");
        assert_eq!(percent_encode("50% off\n"), "50%25 off%0A");
        assert_eq!(percent_encode("caf\u{e9}"), "caf%C3%A9");
    }
}
