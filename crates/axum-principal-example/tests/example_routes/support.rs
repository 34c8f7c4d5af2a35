//! The shared helpers: settings from a list of variables, a mock issuer with the example's
//! router configured against it, and one request → [`Reply`].

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::Router;
use axum_principal::AuthLayer;
use axum_principal_example::{
    app_with_rate_limit, auth_config, rate_limit_layer, redis_connection, settings_from,
    ConfigProblem, Settings,
};
use axum_principal_testkit::MockIssuer;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The custom machine claim the classification tests configure (`AUTHZ_M2M_CLAIM`).
pub(crate) const M2M_CLAIM: &str = "https://example.com/is_m2m";

pub(crate) fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigProblem> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    settings_from(move |name| map.get(name).cloned())
}

/// A mock issuer and the example's router configured against it through the example's own
/// settings → config path, with `extra` variables on top of AUTHZ_ISSUER/AUTHZ_AUDIENCE.
pub(crate) struct Harness {
    pub(crate) issuer: MockIssuer,
    pub(crate) settings: Settings,
    pub(crate) router: Router,
}

pub(crate) async fn harness_with(extra: &[(&str, &str)]) -> Harness {
    let issuer = MockIssuer::start().await.expect("the mock issuer starts");
    let mut vars = vec![
        ("AUTHZ_ISSUER", issuer.issuer().to_owned()),
        ("AUTHZ_AUDIENCE", issuer.audience().to_owned()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let settings = settings(&vars).expect("valid settings");
    let config = auth_config(&settings, None).expect("a valid configuration");
    // As serve.rs does: quotas (AUTHZ_RATE_LIMIT), in Redis with AUTHZ_REDIS_URL.
    let redis = redis_connection(&settings).expect("a usable AUTHZ_REDIS_URL");
    let limits = rate_limit_layer(&settings, redis.as_ref());
    Harness {
        router: app_with_rate_limit(AuthLayer::new(config), limits),
        issuer,
        settings,
    }
}

pub(crate) async fn harness() -> Harness {
    harness_with(&[]).await
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        // The body is in the message: a failure shows what came instead of JSON.
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    pub(crate) fn challenge(&self) -> &str {
        self.www_authenticate
            .as_deref()
            .unwrap_or_else(|| panic!("no WWW-Authenticate header (status {})", self.status))
    }

    /// An RFC 6750 error: JSON with `error` and `error_description`, and no token in it.
    pub(crate) fn assert_error(&self, status: StatusCode, error: &str, token: Option<&str>) {
        assert_eq!(self.status, status, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["error"], error, "body: {}", self.body);
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "no error_description: {}",
            self.body
        );
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            assert!(!self.body.contains(token), "the body echoes the token");
            for part in token.split('.').filter(|p| p.len() > 8) {
                assert!(
                    !self.body.contains(part),
                    "the body echoes part of the token"
                );
            }
            assert!(
                !self
                    .www_authenticate
                    .as_deref()
                    .unwrap_or("")
                    .contains(token),
                "the challenge echoes the token"
            );
        }
    }
}

pub(crate) async fn send(router: &Router, path: &str, authorization: &[&str]) -> Reply {
    let mut request = Request::get(path);
    for value in authorization {
        let value = HeaderValue::from_str(value).expect("a valid test header");
        request = request.header(header::AUTHORIZATION, value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    let response = match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let header_str = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let www_authenticate = header_str(header::WWW_AUTHENTICATE);
    let content_type = header_str(header::CONTENT_TYPE);
    let retry_after = header_str(header::RETRY_AFTER);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is read")
        .to_bytes();
    Reply {
        status,
        www_authenticate,
        content_type,
        retry_after,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn get_with(router: &Router, path: &str, token: &str) -> Reply {
    send(router, path, &[&format!("Bearer {token}")]).await
}

pub(crate) fn user_token(issuer: &MockIssuer) -> String {
    issuer.user_token("alice")
}

pub(crate) fn admin_token(issuer: &MockIssuer) -> String {
    issuer.user_token_with_roles("admin-alice", &["admin"])
}

pub(crate) fn machine_token(issuer: &MockIssuer) -> String {
    issuer.machine_token("reporting-service")
}
