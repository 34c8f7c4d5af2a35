//! Shared set-up for the integration tests: a mock issuer, a configuration pointed at it,
//! a small router behind `AuthLayer`, and a way to send it requests without a socket.
//!
//! `hostile` holds the case runner of the `hostile_*` tests; `redis_server` starts a real
//! `redis-server` of a test's own; `node_deps` installs the real-provider harness's npm
//! packages; `provision` installs such tools atomically on first use.
#![allow(dead_code)]

pub mod dpop;
pub mod hostile;
pub mod node_deps;
pub mod provision;
pub mod redis_server;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::clock::ManualClock;
use axum_principal::{
    guard_layer, AuthConfig, AuthConfigBuilder, AuthLayer, AuthRejection, Principal,
    RequireRoleOrMachine,
};
use axum_principal_testkit::MockIssuer;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub async fn issuer() -> MockIssuer {
    MockIssuer::start().await.expect("the mock issuer starts")
}

/// A configuration trusting `issuer`, on a manual clock. The fetch timeouts are generous so
/// a busy CI machine does not turn a slow answer into a 503; tests of the timeout itself
/// set their own.
pub fn config(issuer: &MockIssuer, clock: &ManualClock) -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(issuer.audience())
        .clock(clock.clone())
        .connect_timeout(Duration::from_secs(5))
        .fetch_timeout(Duration::from_secs(10))
}

pub fn build(builder: AuthConfigBuilder) -> AuthConfig {
    builder.build().expect("a valid configuration")
}

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

async fn maybe(principal: Option<Principal>) -> String {
    principal.map_or_else(|| "anonymous".to_owned(), |p| p.subject().to_owned())
}

/// `/me` (Principal), `/maybe` (Option<Principal>), `/admin` (RequireRoleOrMachine("admin")).
pub fn router(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(me))
        .route_layer(guard_layer(RequireRoleOrMachine::new("admin")))
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .layer(layer)
}

/// The header [`with_reason_header`] adds to every refusal: its stable reason code
/// (`AuthRejection::reason`, e.g. `malformed`, `id_token`, `missing_token`).
pub const REASON_HEADER: &str = "x-reason";

/// Renders refusals the default way plus a [`REASON_HEADER`], so that tests assert the
/// reason code rather than the English `error_description`.
pub fn with_reason_header(builder: AuthConfigBuilder) -> AuthConfigBuilder {
    builder.render_rejections_with(|rejection: &AuthRejection| {
        let mut response = rejection.default_response();
        response
            .headers_mut()
            .insert(REASON_HEADER, HeaderValue::from_static(rejection.reason()));
        response
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub challenge: Option<String>,
    /// The [`REASON_HEADER`], where the router renders it ([`with_reason_header`]).
    pub reason: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.body))
    }
}

/// Sends `request` to `app` (no socket) and collects the reply.
pub async fn send_request(app: &Router, request: Request<Body>) -> Reply {
    let response: Response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    reply(response).await
}

/// A response collected into a [`Reply`].
pub async fn reply(response: Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().expect("a header of ASCII text").to_owned())
    };
    let challenge = text(header::WWW_AUTHENTICATE.as_str());
    let reason = text(REASON_HEADER);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is read")
        .to_bytes();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Reply {
        status,
        challenge,
        reason,
        headers,
        body,
    }
}

/// A GET of `path` with these `Authorization` header values.
pub async fn send(app: &Router, path: &str, authorization: &[&str]) -> Reply {
    let mut request = Request::get(path);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    send_request(app, request).await
}

pub async fn get_with(app: &Router, path: &str, token: &str) -> Reply {
    send(app, path, &[&format!("Bearer {token}")]).await
}
