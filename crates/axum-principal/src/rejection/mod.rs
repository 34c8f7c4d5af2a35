//! Refusals as RFC 6750 responses.
//!
//! Every way a request can be refused is an [`AuthRejection`]: it knows its status, its
//! `WWW-Authenticate` challenge and its JSON body `{"error":…,"error_description":…}`. The
//! description is a fixed sentence per reason; it never contains the token, its claims or
//! key material. A custom renderer ([`AuthConfigBuilder::render_rejections_with`]) can
//! change how refusals look without changing what is refused.
//!
//! A refusal of a gRPC call (its `content-type` is `application/grpc` or a variant) is a
//! gRPC status instead, in a Trailers-Only response: see
//! [`AuthRejection::grpc_response`] and [`AuthRejection::is_grpc`].
//!
//! [`AuthConfigBuilder::render_rejections_with`]: crate::AuthConfigBuilder::render_rejections_with

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::headers::DPOP_NONCE;

mod dpop_proof;
mod grpc;
mod reason;
mod step_up;

pub use dpop_proof::InvalidDpopProof;
pub use grpc::code as grpc_code;
pub use reason::{InsufficientAuthentication, IntrospectionFailure, InvalidRequest, InvalidToken};
pub use step_up::StepUp;

mod renderer;

pub use renderer::RenderFn;
pub(crate) use renderer::{DpopChallenge, Renderer};

/// What went wrong, without how it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No `Authorization` header, or not the Bearer scheme: 401 with a bare challenge.
    MissingCredentials,
    /// A malformed `Authorization` header: 400 `invalid_request`.
    InvalidRequest(InvalidRequest),
    /// A token that does not verify: 401 `invalid_token`.
    InvalidToken(InvalidToken),
    /// A valid token that a guard refuses: 403 `insufficient_scope`; `scope` names the
    /// scopes that were required, when a scope guard refused.
    InsufficientScope {
        /// Space-separated scopes the guard required, if it was a scope guard.
        scope: Option<String>,
    },
    /// The issuer's keys cannot be had and none are cached: 503.
    Unavailable,
    /// An extractor or guard ran on a route without [`AuthLayer`](crate::AuthLayer), or a
    /// layer that needs the principal (such as the rate limiter) was placed outside it: 500.
    MissingLayer,
    /// The principal is over its quota (feature `rate-limit`): 429 with `Retry-After`.
    RateLimited {
        /// Whole seconds until the next request can be allowed, at least 1; the value of
        /// the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// The shared quota store (Redis) did not answer in time and the rate limiter is
    /// configured to fail closed (features `rate-limit` and `redis`): 503 with
    /// `Retry-After: 1`.
    RateLimitUnavailable,
    /// `Authorization: DPoP` with a proof that fails a check: 401 `invalid_dpop_proof`.
    InvalidDpopProof(InvalidDpopProof),
    /// `Authorization: DPoP` with a token that does not verify: 401 with
    /// `DPoP error="invalid_token"`.
    InvalidDpopToken(InvalidToken),
    /// The proof lacks the server's current nonce: 401 `use_dpop_nonce` with a `DPoP-Nonce`
    /// header holding `nonce`.
    UseDpopNonce {
        /// The nonce the next proof must carry.
        nonce: String,
    },
    /// A `Bearer` request where only `DPoP` is accepted: 401 with the `DPoP` challenge.
    DpopRequired,
    /// The DPoP replay store cannot answer, so the proof cannot be checked for replay: 503.
    ReplayStoreUnavailable,
    /// A valid token whose sign-in is not strong or recent enough for the route (RFC 9470):
    /// 401 `insufficient_user_authentication` with `acr_values` and `max_age`.
    InsufficientUserAuthentication(Box<StepUp>),
    /// An opaque token cannot be introspected (RFC 7662) right now: the issuer is
    /// unreachable, slow, failing, or refuses this service's credentials: 503 with
    /// `Retry-After`, never 401 (the token may well be valid).
    IntrospectionUnavailable(IntrospectionFailure),
}

/// A refusal: what happened ([`kind`](Self::kind)) and how it becomes a response.
///
/// It implements [`IntoResponse`], so it is the rejection type of every extractor and guard
/// in this crate. The response follows RFC 6750 and the README's error table.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    kind: RejectionKind,
    renderer: Renderer,
    /// The request's content type when it was a gRPC call (see [`Self::in_reply_to`]);
    /// boxed, so that a `Result<_, AuthRejection>` stays small on the HTTP path.
    grpc: Option<Box<HeaderValue>>,
}

impl AuthRejection {
    /// A rejection of this kind, rendered the default way with realm `api`.
    pub fn new(kind: RejectionKind) -> Self {
        Self::with_renderer(kind, Renderer::default())
    }

    pub(crate) fn with_renderer(kind: RejectionKind, renderer: Renderer) -> Self {
        Self {
            kind,
            renderer,
            grpc: None,
        }
    }

    /// What happened.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The HTTP status of the refusal over HTTP (a gRPC call's refusal is HTTP 200 with
    /// the [`grpc_status`](Self::grpc_status) of the same kind).
    pub fn status(&self) -> StatusCode {
        match self.kind {
            RejectionKind::MissingCredentials
            | RejectionKind::InvalidToken(_)
            | RejectionKind::InvalidDpopProof(_)
            | RejectionKind::InvalidDpopToken(_)
            | RejectionKind::UseDpopNonce { .. }
            | RejectionKind::DpopRequired
            | RejectionKind::InsufficientUserAuthentication(_) => StatusCode::UNAUTHORIZED,
            RejectionKind::ReplayStoreUnavailable | RejectionKind::IntrospectionUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RejectionKind::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RejectionKind::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
            RejectionKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            RejectionKind::RateLimitUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable `error` code of the JSON body (RFC 6750 codes where they apply).
    pub fn error_code(&self) -> &'static str {
        match self.kind {
            RejectionKind::MissingCredentials => "missing_token",
            RejectionKind::InvalidRequest(_) => "invalid_request",
            RejectionKind::InvalidToken(_) | RejectionKind::InvalidDpopToken(_) => "invalid_token",
            RejectionKind::InsufficientScope { .. } => "insufficient_scope",
            RejectionKind::Unavailable
            | RejectionKind::ReplayStoreUnavailable
            | RejectionKind::IntrospectionUnavailable(_) => "temporarily_unavailable",
            RejectionKind::InvalidDpopProof(_) => "invalid_dpop_proof",
            RejectionKind::UseDpopNonce { .. } => "use_dpop_nonce",
            RejectionKind::DpopRequired => "dpop_required",
            RejectionKind::InsufficientUserAuthentication(_) => "insufficient_user_authentication",
            RejectionKind::MissingLayer => "server_error",
            RejectionKind::RateLimited { .. } => "rate_limited",
            RejectionKind::RateLimitUnavailable => "temporarily_unavailable",
        }
    }

    /// A finer, stable reason code for logs and metrics (e.g. `expired`, `unknown_key`).
    pub fn reason(&self) -> &'static str {
        match &self.kind {
            RejectionKind::MissingCredentials => "missing_token",
            RejectionKind::InvalidRequest(r) => r.reason(),
            RejectionKind::InvalidToken(r) | RejectionKind::InvalidDpopToken(r) => r.reason(),
            RejectionKind::InvalidDpopProof(r) => r.reason(),
            RejectionKind::InsufficientUserAuthentication(s) => s.reason.reason(),
            RejectionKind::UseDpopNonce { .. } => "use_dpop_nonce",
            RejectionKind::DpopRequired => "dpop_required",
            RejectionKind::ReplayStoreUnavailable => "replay_store_unavailable",
            RejectionKind::IntrospectionUnavailable(f) => f.reason(),
            RejectionKind::InsufficientScope { .. } => "guard_refused",
            RejectionKind::Unavailable => "keys_unavailable",
            RejectionKind::MissingLayer => "missing_auth_layer",
            RejectionKind::RateLimited { .. } => "rate_limited",
            RejectionKind::RateLimitUnavailable => "rate_limit_unavailable",
        }
    }

    /// A fixed, human-readable sentence. Never contains the token or key material.
    pub fn description(&self) -> &'static str {
        match &self.kind {
            RejectionKind::MissingCredentials => "a bearer token is required",
            RejectionKind::InvalidRequest(r) => r.description(),
            RejectionKind::InvalidToken(r) | RejectionKind::InvalidDpopToken(r) => r.description(),
            RejectionKind::InvalidDpopProof(r) => r.description(),
            RejectionKind::InsufficientUserAuthentication(s) => s.reason.description(),
            RejectionKind::UseDpopNonce { .. } => "the DPoP proof must carry the server's nonce",
            RejectionKind::DpopRequired => {
                "this resource accepts only DPoP-bound tokens (Authorization: DPoP)"
            }
            RejectionKind::ReplayStoreUnavailable => {
                "the DPoP replay store is unavailable; try again later"
            }
            RejectionKind::IntrospectionUnavailable(_) => {
                "the authorization server cannot check the token right now; try again later"
            }
            RejectionKind::InsufficientScope { .. } => {
                "the token does not grant access to this resource"
            }
            RejectionKind::Unavailable => {
                "the authorization server is unavailable; try again later"
            }
            RejectionKind::MissingLayer => {
                "axum_principal::AuthLayer is not installed on this route; \
                 add `.layer(AuthLayer::new(config))` to the router"
            }
            RejectionKind::RateLimited { .. } => {
                "too many requests for this principal; retry later"
            }
            RejectionKind::RateLimitUnavailable => {
                "the rate limit cannot be checked right now; try again shortly"
            }
        }
    }

    /// The first `WWW-Authenticate` challenge (the one of the scheme the request used), if
    /// this kind of refusal carries one; [`challenges`](Self::challenges) has them all.
    pub fn www_authenticate(&self) -> Option<String> {
        self.challenges().into_iter().next()
    }

    /// Every `WWW-Authenticate` challenge, each sent as its own header value, the one of the
    /// scheme the request used first, each ending with `resource_metadata="…"` when a resource
    /// identifier is configured. With DPoP accepted every 401 offers both `Bearer` and
    /// `DPoP algs="…"` (RFC 9449 §7.1), only `DPoP` when DPoP is required; proof failures
    /// are `DPoP error="invalid_dpop_proof"` or `use_dpop_nonce`, a bad token under DPoP is
    /// `DPoP error="invalid_token"`.
    pub fn challenges(&self) -> Vec<String> {
        let params = self.renderer.challenge_params();
        let mut all = self.challenges_without_params();
        for challenge in &mut all {
            challenge.push_str(&params);
        }
        all
    }

    /// [`challenges`](Self::challenges) before the parameters every challenge ends with.
    fn challenges_without_params(&self) -> Vec<String> {
        let realm = &self.renderer.realm;
        let Some(dpop) = &self.renderer.dpop else {
            return self.bearer_challenge().into_iter().collect();
        };
        // RFC 9449 §7.1's shape: the error first, as in its examples.
        let dpop_challenge = |error: Option<&str>| match error {
            Some(error) => format!(
                "DPoP error=\"{error}\", algs=\"{}\", error_description=\"{}\"",
                dpop.algs,
                self.description()
            ),
            None => format!("DPoP algs=\"{}\"{}", dpop.algs, self.scope_param()),
        };
        let dpop_error = match &self.kind {
            RejectionKind::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            RejectionKind::InvalidDpopToken(_) => Some("invalid_token"),
            RejectionKind::UseDpopNonce { .. } => Some("use_dpop_nonce"),
            _ => None,
        };
        match &self.kind {
            _ if dpop_error.is_some() => {
                let mut all = vec![dpop_challenge(dpop_error)];
                if !dpop.required {
                    all.push(format!("Bearer realm=\"{realm}\""));
                }
                all
            }
            RejectionKind::DpopRequired => vec![dpop_challenge(None)],
            // RFC 9470 §3 with the scheme of RFC 9449 §7.1: the same error and parameters
            // under `DPoP` too, as for the other 401s.
            RejectionKind::InsufficientUserAuthentication(step_up) => {
                let dpop_step_up = format!(
                    "{}{}",
                    dpop_challenge(Some("insufficient_user_authentication")),
                    step_up.challenge_params()
                );
                let mut all: Vec<String> = if dpop.required {
                    Vec::new()
                } else {
                    self.bearer_challenge().into_iter().collect()
                };
                all.push(dpop_step_up);
                all
            }
            RejectionKind::MissingCredentials if dpop.required => vec![dpop_challenge(None)],
            RejectionKind::MissingCredentials | RejectionKind::InvalidToken(_) => {
                let mut all: Vec<String> = self.bearer_challenge().into_iter().collect();
                all.push(dpop_challenge(None));
                all
            }
            _ => self.bearer_challenge().into_iter().collect(),
        }
    }

    /// The `Bearer` challenge's scheme and own parameters (RFC 6750 §3).
    fn bearer_challenge(&self) -> Option<String> {
        let realm = &self.renderer.realm;
        match &self.kind {
            RejectionKind::MissingCredentials => {
                Some(format!("Bearer realm=\"{realm}\"{}", self.scope_param()))
            }
            RejectionKind::InvalidRequest(_) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{}\"",
                self.description()
            )),
            RejectionKind::InvalidToken(_) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"{}",
                self.description(),
                self.scope_param()
            )),
            RejectionKind::InsufficientUserAuthentication(step_up) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_user_authentication\", \
                 error_description=\"{}\"{}",
                self.description(),
                step_up.challenge_params()
            )),
            RejectionKind::InsufficientScope { scope: Some(scope) } => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{}\"",
                sanitize_quoted(scope)
            )),
            RejectionKind::InsufficientScope { scope: None } => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\""
            )),
            RejectionKind::Unavailable
            | RejectionKind::MissingLayer
            | RejectionKind::RateLimited { .. }
            | RejectionKind::RateLimitUnavailable
            | RejectionKind::InvalidDpopProof(_)
            | RejectionKind::InvalidDpopToken(_)
            | RejectionKind::UseDpopNonce { .. }
            | RejectionKind::DpopRequired
            | RejectionKind::ReplayStoreUnavailable
            | RejectionKind::IntrospectionUnavailable(_) => None,
        }
    }

    /// `, scope="…"` for the 401s that ask for a token, when the configuration names scopes
    /// there ([`AuthConfigBuilder::challenge_scope`](crate::AuthConfigBuilder::challenge_scope)).
    fn scope_param(&self) -> String {
        match &self.renderer.scope {
            Some(scope) => format!(", scope=\"{}\"", sanitize_quoted(scope)),
            None => String::new(),
        }
    }

    /// The challenge as a header value. The realm is checked by `build()` and scopes by
    /// the guards' constructors; a scope that still cannot be written (one from `names!`)
    /// is left out of the challenge rather than losing the challenge itself.
    pub fn challenge_header(&self) -> Option<HeaderValue> {
        let challenge = self.www_authenticate()?;
        HeaderValue::from_str(&challenge).ok().or_else(|| {
            let fallback = match &self.kind {
                RejectionKind::InsufficientScope { .. } => Self::with_renderer(
                    RejectionKind::InsufficientScope { scope: None },
                    self.renderer.clone(),
                )
                .www_authenticate()?,
                _ => format!(
                    "Bearer realm=\"{}\"{}",
                    sanitize_quoted(&self.renderer.realm),
                    self.renderer.challenge_params()
                ),
            };
            HeaderValue::from_str(&fallback).ok()
        })
    }

    /// The response this crate sends by default, ignoring any custom renderer: the gRPC
    /// status of [`grpc_response`](Self::grpc_response) when the request was a gRPC call
    /// ([`is_grpc`](Self::is_grpc)), else the HTTP status with the JSON body
    /// `{"error":…,"error_description":…}`. A custom renderer may start from it and change
    /// the body (of an HTTP refusal: a gRPC one has none).
    pub fn default_response(&self) -> Response {
        if self.is_grpc() {
            return self.grpc_response();
        }
        let body = serde_json::json!({
            "error": self.error_code(),
            "error_description": self.description(),
        });
        let mut response = (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        )
            .into_response();
        self.add_metadata(response.headers_mut());
        response
    }

    /// What an HTTP refusal and a gRPC one both carry: every `WWW-Authenticate` challenge,
    /// `DPoP-Nonce`, and `Retry-After` where the refusal says when to come back.
    fn add_metadata(&self, headers: &mut HeaderMap) {
        if let Some(value) = self.challenge_header() {
            headers.insert(header::WWW_AUTHENTICATE, value);
            for other in self.challenges().iter().skip(1) {
                if let Ok(value) = HeaderValue::from_str(other) {
                    headers.append(header::WWW_AUTHENTICATE, value);
                }
            }
        }
        match &self.kind {
            RejectionKind::UseDpopNonce { nonce } => {
                if let Ok(value) = HeaderValue::from_str(nonce) {
                    headers.insert(DPOP_NONCE, value);
                }
            }
            RejectionKind::Unavailable
            | RejectionKind::ReplayStoreUnavailable
            | RejectionKind::IntrospectionUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            RejectionKind::RateLimited { retry_after_secs } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after_secs).max(1)),
                );
            }
            RejectionKind::RateLimitUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
    }
}

/// Scope names are configured by the service, but keep the challenge well-formed anyway.
fn sanitize_quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (c.is_ascii_graphic() || *c == ' ') && *c != '"' && *c != '\\')
        .collect()
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code(), self.description())
    }
}

impl std::error::Error for AuthRejection {}

/// The one place a refusal is counted: every refusal (layer, extractors, guards, rate
/// limiter) becomes a response exactly once, through here.
impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        crate::observe::rejected(self.reason(), self.status().as_u16());
        match &self.renderer.custom {
            Some(render) => render(&self),
            None => self.default_response(),
        }
    }
}

#[cfg(test)]
mod grpc_tests;
#[cfg(test)]
mod tests;
