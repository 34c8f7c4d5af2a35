//! The example service (`examples/protected_api.rs`) against CONTRACT.md: every route and
//! every status, driven through `protected_api::app` with `oneshot` (no socket for the
//! service; the mock issuer listens on 127.0.0.1).

#[path = "../examples/protected_api.rs"]
mod protected_api;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::Router;
use axum_principal::AuthLayer;
use axum_principal_testkit::MockIssuer;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use protected_api::{app, auth_config, dev_tokens, settings_from, ConfigProblem, Settings};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigProblem> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    settings_from(move |name| map.get(name).cloned())
}

/// A mock issuer and the example's router configured against it through the example's own
/// settings → config path, with `extra` variables on top of AUTHZ_ISSUER/AUTHZ_AUDIENCE.
struct Harness {
    issuer: MockIssuer,
    settings: Settings,
    router: Router,
}

async fn harness_with(extra: &[(&str, &str)]) -> Harness {
    let issuer = match MockIssuer::start().await {
        Ok(issuer) => issuer,
        Err(e) => panic!("mock issuer did not start: {e}"),
    };
    let mut vars = vec![
        ("AUTHZ_ISSUER", issuer.issuer().to_owned()),
        ("AUTHZ_AUDIENCE", issuer.audience().to_owned()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let settings = match settings(&vars) {
        Ok(s) => s,
        Err(e) => panic!("settings: {e}"),
    };
    let config = match auth_config(&settings, None) {
        Ok(c) => c,
        Err(e) => panic!("config: {e}"),
    };
    Harness {
        router: app(AuthLayer::new(config)),
        issuer,
        settings,
    }
}

async fn harness() -> Harness {
    harness_with(&[]).await
}

struct Reply {
    status: StatusCode,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        match serde_json::from_str(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("body is not JSON ({e}): {}", self.body),
        }
    }

    fn challenge(&self) -> &str {
        match &self.www_authenticate {
            Some(c) => c,
            None => panic!("no WWW-Authenticate header (status {})", self.status),
        }
    }

    /// An RFC 6750 error: JSON with `error` and `error_description`, and no token in it.
    fn assert_error(&self, status: StatusCode, error: &str, token: Option<&str>) {
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

async fn send(router: &Router, path: &str, authorization: &[&str]) -> Reply {
    let mut request = Request::get(path);
    for value in authorization {
        match HeaderValue::from_str(value) {
            Ok(v) => request = request.header(header::AUTHORIZATION, v),
            Err(e) => panic!("bad test header {value:?}: {e}"),
        }
    }
    let request = match request.body(Body::empty()) {
        Ok(r) => r,
        Err(e) => panic!("request: {e}"),
    };
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
    let bytes = match response.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => panic!("body: {e}"),
    };
    Reply {
        status,
        www_authenticate,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get_with(router: &Router, path: &str, token: &str) -> Reply {
    send(router, path, &[&format!("Bearer {token}")]).await
}

fn user_token(issuer: &MockIssuer) -> String {
    issuer.user_token("alice")
}

fn admin_token(issuer: &MockIssuer) -> String {
    issuer.user_token_with_roles("admin-alice", &["admin"])
}

fn machine_token(issuer: &MockIssuer) -> String {
    issuer.machine_token("reporting-service")
}

// ---------------------------------------------------------------------------------------
// /healthz
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn healthz_is_200_without_a_token() {
    let h = harness().await;
    let reply = send(&h.router, "/healthz", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.www_authenticate, None);
}

#[tokio::test]
async fn healthz_is_200_with_a_garbage_authorization_header_since_no_token_is_read() {
    let h = harness().await;
    for garbage in [
        "Bearer",
        "Bearer a b",
        "Bearer not-a-jwt",
        "Basic Zm9vOmJhcg==",
    ] {
        let reply = send(&h.router, "/healthz", &[garbage]).await;
        assert_eq!(reply.status, StatusCode::OK, "{garbage:?}");
    }
    let reply = send(&h.router, "/healthz", &["Bearer x", "Bearer y"]).await;
    assert_eq!(reply.status, StatusCode::OK, "two headers");
    // Not even a key fetch happened on the issuer's side.
    assert_eq!(h.issuer.jwks_requests(), 0);
}

// ---------------------------------------------------------------------------------------
// /me
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn me_with_a_user_token_returns_the_principal_as_json() {
    let h = harness().await;
    let token = h
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("azp", "web-app")
        .claim("roles", ["editor", "viewer"])
        .claim("scope", "openid profile")
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        reply.content_type
    );
    assert_eq!(
        reply.json(),
        json!({
            "kind": "user",
            "issuer": h.issuer.issuer(),
            "subject": "alice",
            "client_id": "web-app",
            "roles": ["editor", "viewer"],
            "scopes": ["openid", "profile"],
            "classified_by": "default:user",
        })
    );
}

#[tokio::test]
async fn me_with_a_machine_token_is_a_machine_by_the_hydra_rule() {
    let h = harness().await;
    let reply = get_with(&h.router, "/me", &machine_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json(),
        json!({
            "kind": "machine",
            "issuer": h.issuer.issuer(),
            "subject": "reporting-service",
            "client_id": "reporting-service",
            "roles": [],
            "scopes": ["read:reports"],
            "classified_by": "rfc9068:sub-equals-client_id",
        })
    );
}

#[tokio::test]
async fn me_reads_scopes_from_scp_and_roles_from_the_configured_claim() {
    let h = harness_with(&[("AUTHZ_ROLES_CLAIM", "realm_access.roles")]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "bob")
        .claim("scp", ["a", "b"])
        .claim("realm_access", json!({"roles": ["admin"]}))
        .sign();
    let body = get_with(&h.router, "/me", &token).await.json();
    assert_eq!(body["scopes"], json!(["a", "b"]));
    assert_eq!(body["roles"], json!(["admin"]));
    let admin = get_with(&h.router, "/admin", &token).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.body);
}

// ---------------------------------------------------------------------------------------
// Guards
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_refuses_a_user_without_the_role_with_403_insufficient_scope() {
    let h = harness().await;
    let token = user_token(&h.issuer);
    let reply = get_with(&h.router, "/admin", &token).await;
    reply.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(
        reply.challenge().contains("error=\"insufficient_scope\""),
        "{}",
        reply.challenge()
    );
}

#[tokio::test]
async fn admin_admits_a_user_with_role_admin() {
    let h = harness().await;
    let reply = get_with(&h.router, "/admin", &admin_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["route"], "admin");
    assert_eq!(body["subject"], "admin-alice");
}

#[tokio::test]
async fn admin_admits_a_machine() {
    let h = harness().await;
    let reply = get_with(&h.router, "/admin", &machine_token(&h.issuer)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["subject"], "reporting-service");
}

#[tokio::test]
async fn machine_route_refuses_a_user_and_admits_a_machine() {
    let h = harness().await;
    let token = admin_token(&h.issuer);
    let refused = get_with(&h.router, "/machine", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(refused.challenge().contains("error=\"insufficient_scope\""));

    let admitted = get_with(&h.router, "/machine", &machine_token(&h.issuer)).await;
    assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
    assert_eq!(admitted.json()["route"], "machine");
}

#[tokio::test]
async fn user_route_refuses_a_machine_and_admits_a_user() {
    let h = harness().await;
    let token = machine_token(&h.issuer);
    let refused = get_with(&h.router, "/user", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    assert!(refused.challenge().contains("error=\"insufficient_scope\""));

    let admitted = get_with(&h.router, "/user", &user_token(&h.issuer)).await;
    assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
    let body = admitted.json();
    assert_eq!(body["route"], "user");
    assert_eq!(body["subject"], "alice");
}

#[tokio::test]
async fn reports_refuses_without_read_reports_naming_the_scope_and_admits_with_it() {
    let h = harness().await;
    // An admin user, but without the scope.
    let token = admin_token(&h.issuer);
    let refused = get_with(&h.router, "/reports", &token).await;
    refused.assert_error(StatusCode::FORBIDDEN, "insufficient_scope", Some(&token));
    let challenge = refused.challenge();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"read:reports\""), "{challenge}");

    // A user holding the scope is admitted too: the guard is about the scope, not the kind.
    let scoped_user = h
        .issuer
        .token()
        .claim("sub", "carol")
        .claim("scope", "openid read:reports")
        .sign();
    for token in [machine_token(&h.issuer), scoped_user] {
        let admitted = get_with(&h.router, "/reports", &token).await;
        assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.body);
        assert_eq!(admitted.json()["route"], "reports");
    }
}

#[tokio::test]
async fn each_guard_applies_to_its_own_route_only() {
    let h = harness().await;
    // A plain user passes /me and /user although /admin, /machine and /reports refuse it.
    let token = user_token(&h.issuer);
    for (path, status) in [
        ("/me", StatusCode::OK),
        ("/user", StatusCode::OK),
        ("/admin", StatusCode::FORBIDDEN),
        ("/machine", StatusCode::FORBIDDEN),
        ("/reports", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            get_with(&h.router, path, &token).await.status,
            status,
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Missing and malformed credentials
// ---------------------------------------------------------------------------------------

const PROTECTED: [&str; 5] = ["/me", "/admin", "/machine", "/user", "/reports"];

#[tokio::test]
async fn no_token_is_401_with_a_realm_challenge_and_no_error_on_every_protected_route() {
    let h = harness().await;
    for path in PROTECTED {
        let reply = send(&h.router, path, &[]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        let challenge = reply.challenge();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains("realm="), "{challenge}");
        assert!(!challenge.contains("error="), "{challenge}");
        let body = reply.json();
        assert!(body["error"].is_string() && body["error_description"].is_string());
    }
}

#[tokio::test]
async fn basic_authorization_is_401_like_no_token() {
    let h = harness().await;
    let reply = send(&h.router, "/me", &["Basic YWxpY2U6c2VjcmV0"]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.challenge();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("realm="));
    assert!(!challenge.contains("error="), "{challenge}");
    assert!(!reply.body.contains("YWxpY2U6c2VjcmV0"));
}

#[tokio::test]
async fn bearer_with_an_empty_token_is_400_invalid_request() {
    let h = harness().await;
    for value in ["Bearer", "Bearer ", "Bearer    "] {
        let reply = send(&h.router, "/me", &[value]).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", None);
        assert!(
            reply.challenge().contains("error=\"invalid_request\""),
            "{value:?}: {}",
            reply.challenge()
        );
    }
}

#[tokio::test]
async fn two_tokens_are_400_invalid_request() {
    let h = harness().await;
    let a = user_token(&h.issuer);
    let b = machine_token(&h.issuer);
    // Two tokens in one header…
    let reply = send(&h.router, "/me", &[&format!("Bearer {a} {b}")]).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some(&a));
    assert!(reply.challenge().contains("error=\"invalid_request\""));
    assert!(!reply.body.contains(&b));
    // …and two Authorization headers.
    let reply = send(
        &h.router,
        "/admin",
        &[&format!("Bearer {a}"), &format!("Bearer {b}")],
    )
    .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some(&b));
    assert!(reply.challenge().contains("error=\"invalid_request\""));
}

#[tokio::test]
async fn bad_characters_in_the_token_are_400_invalid_request() {
    let h = harness().await;
    let reply = send(&h.router, "/me", &["Bearer abc,def"]).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request", Some("abc,def"));
}

// ---------------------------------------------------------------------------------------
// Invalid tokens
// ---------------------------------------------------------------------------------------

async fn assert_invalid_token(h: &Harness, token: &str) {
    for path in ["/me", "/admin"] {
        let reply = get_with(&h.router, path, token).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_token", Some(token));
        assert!(
            reply.challenge().contains("error=\"invalid_token\""),
            "{}",
            reply.challenge()
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_401_invalid_token() {
    let h = harness().await;
    // Well past the default 60 s leeway.
    let token = h
        .issuer
        .token()
        .claim("sub", "alice")
        .issued_at_in(-7200)
        .expires_in(-3600)
        .sign();
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_401_invalid_token() {
    let h = harness().await;
    let token = h
        .issuer
        .token()
        .claim("aud", "https://some-other-api.example")
        .sign();
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_401_invalid_token() {
    let h = harness().await;
    // Signed with the trusted issuer's key but claiming another `iss`…
    let forged_iss = h
        .issuer
        .token()
        .claim("iss", "https://evil.example.com")
        .sign();
    assert_invalid_token(&h, &forged_iss).await;
    // …and a genuine token from an issuer that is not configured.
    let other = match MockIssuer::start().await {
        Ok(i) => i,
        Err(e) => panic!("second mock issuer: {e}"),
    };
    let foreign = other.user_token("mallory");
    assert_invalid_token(&h, &foreign).await;
    assert_eq!(other.jwks_requests(), 0, "an unknown issuer caused a fetch");
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_401_invalid_token() {
    let h = harness().await;
    let token = admin_token(&h.issuer);
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        panic!("not a JWS: {token}");
    };
    // Flip one character in the middle of the signature (the last one may carry padding
    // bits that do not change the decoded bytes).
    let mut chars: Vec<char> = signature.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signing_input}.{}", chars.into_iter().collect::<String>());
    assert_ne!(tampered, token);
    assert_invalid_token(&h, &tampered).await;
    // The untampered token is fine, so the 401 was the signature's doing.
    assert_eq!(
        get_with(&h.router, "/admin", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unsigned_token_is_401_invalid_token() {
    let h = harness().await;
    let token = h.issuer.token().claim("sub", "alice").unsigned();
    // `alg: none` ends with '.', which the b64token grammar allows.
    assert_invalid_token(&h, &token).await;
}

#[tokio::test]
async fn error_bodies_are_json_and_never_contain_the_token() {
    let h = harness().await;
    let user = user_token(&h.issuer);
    let expired = h.issuer.token().expires_in(-3600).sign();
    let cases: Vec<(String, &str, StatusCode)> = vec![
        (user.clone(), "/admin", StatusCode::FORBIDDEN),
        (user.clone(), "/reports", StatusCode::FORBIDDEN),
        (machine_token(&h.issuer), "/user", StatusCode::FORBIDDEN),
        (expired, "/me", StatusCode::UNAUTHORIZED),
        (format!("{user}x"), "/me", StatusCode::UNAUTHORIZED),
        ("not-a-jwt".to_owned(), "/me", StatusCode::UNAUTHORIZED),
    ];
    for (token, path, status) in cases {
        let reply = get_with(&h.router, path, &token).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(
            reply
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "{path}: {:?}",
            reply.content_type
        );
        let body = reply.json();
        assert!(body["error"].is_string(), "{}", reply.body);
        assert!(body["error_description"].is_string(), "{}", reply.body);
        assert!(
            !reply.body.contains(&token),
            "{path}: body echoes the token"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Classification settings
// ---------------------------------------------------------------------------------------

const M2M_CLAIM: &str = "https://example.com/is_m2m";

#[tokio::test]
async fn m2m_claim_true_makes_a_machine_classified_by_the_claim() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    // A subject that no provider rule would call a machine.
    let token = h
        .issuer
        .token()
        .claim("sub", "batch-job")
        .claim(M2M_CLAIM, true)
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["kind"], "machine");
    assert_eq!(body["classified_by"], format!("claim:{M2M_CLAIM}=true"));
    assert_eq!(
        get_with(&h.router, "/machine", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn m2m_claim_false_overrides_the_subject_pattern() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "svc")
        .claim("client_id", "svc")
        .claim(M2M_CLAIM, false)
        .sign();
    let body = get_with(&h.router, "/me", &token).await.json();
    assert_eq!(body["kind"], "user");
    assert_eq!(body["classified_by"], format!("claim:{M2M_CLAIM}=false"));
}

#[tokio::test]
async fn m2m_claim_that_is_not_a_boolean_is_401() {
    let h = harness_with(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]).await;
    let token = h
        .issuer
        .token()
        .claim("sub", "batch-job")
        .claim(M2M_CLAIM, "yes")
        .sign();
    for path in ["/me", "/machine", "/admin"] {
        let reply = get_with(&h.router, path, &token).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_token", Some(&token));
    }
}

#[tokio::test]
async fn provider_auth0_classifies_a_clients_subject_as_a_machine() {
    let h = harness_with(&[("AUTHZ_PROVIDER", "auth0")]).await;
    assert_eq!(h.settings.providers, [axum_principal::Preset::Auth0]);
    let token = h
        .issuer
        .token()
        .claim("sub", "Gdy3xyz@clients")
        .claim("azp", "Gdy3xyz")
        .sign();
    let reply = get_with(&h.router, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["kind"], "machine");
    assert_eq!(body["classified_by"], "auth0:sub-is-client-id@clients");
    assert_eq!(
        get_with(&h.router, "/machine", &token).await.status,
        StatusCode::OK
    );
    // The auth0 preset alone does not know the hydra rule.
    let hydra_style = machine_token(&h.issuer);
    assert_eq!(
        get_with(&h.router, "/me", &hydra_style).await.json()["kind"],
        "user"
    );
}

/// The spoofing tokens of the trust issue stay users end to end: a person who registered
/// `service-account-x` at Keycloak gets 403 on `/admin`, as does an Auth0 enterprise
/// connection's `samlp|evilcorp|x@clients`; the real machine shapes get in.
#[tokio::test]
async fn spoofed_machine_tokens_are_users_and_admin_refuses_them() {
    for (provider, spoof, real) in [
        (
            "keycloak",
            json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-x"}),
            json!({"sub":"3f1e7c5a","azp":"svc","client_id":"svc","preferred_username":"service-account-svc"}),
        ),
        (
            "auth0",
            json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
            json!({"sub":"Gdy3@clients","azp":"Gdy3","gty":"client-credentials"}),
        ),
    ] {
        let h = harness_with(&[("AUTHZ_PROVIDER", provider)]).await;
        let spoof = h.issuer.token().claims(spoof).sign();
        let me = get_with(&h.router, "/me", &spoof).await;
        assert_eq!(me.status, StatusCode::OK, "{provider}: {}", me.body);
        assert_eq!(me.json()["kind"], "user", "{provider}");
        assert_eq!(me.json()["classified_by"], "default:user", "{provider}");
        for path in ["/admin", "/machine"] {
            get_with(&h.router, path, &spoof).await.assert_error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(&spoof),
            );
        }
        let real = h.issuer.token().claims(real).sign();
        assert_eq!(
            get_with(&h.router, "/admin", &real).await.status,
            StatusCode::OK,
            "{provider}"
        );
    }
}

/// ID tokens and bound tokens sent as Bearer never open the API, whatever their roles.
#[tokio::test]
async fn id_tokens_and_bound_bearer_tokens_are_invalid() {
    let h = harness().await;
    for (name, value) in [
        ("token_use", json!("id")),
        ("typ", json!("ID")),
        ("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
        (
            "cnf",
            json!({"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        ),
        (
            "cnf",
            json!({"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        ),
    ] {
        let token = h
            .issuer
            .token()
            .claim("sub", "alice")
            .claim("roles", ["admin"])
            .claim(name, value)
            .sign();
        for path in ["/me", "/admin"] {
            get_with(&h.router, path, &token).await.assert_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(&token),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The development-mode tokens the example prints
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn printed_dev_tokens_behave_as_the_banner_says() {
    let Ok(settings) = settings(&[]) else {
        panic!("empty environment must be valid");
    };
    assert!(settings.dev_mode());
    let issuer = match protected_api::start_dev_issuer(&settings).await {
        Ok(i) => i,
        Err(e) => panic!("dev issuer: {e}"),
    };
    let config = match auth_config(&settings, Some(&issuer)) {
        Ok(c) => c,
        Err(e) => panic!("config: {e}"),
    };
    assert_eq!(config.audiences(), [issuer.audience().to_owned()]);
    let router = app(AuthLayer::new(config));
    let tokens = match dev_tokens(&issuer, &settings) {
        Ok(t) => t,
        Err(e) => panic!("tokens: {e}"),
    };
    let me = get_with(&router, "/me", &tokens.machine).await.json();
    assert_eq!(me["kind"], "machine");
    assert_eq!(me["classified_by"], "rfc9068:sub-equals-client_id");
    assert_eq!(me["subject"], "reporting-service");
    let me = get_with(&router, "/me", &tokens.user).await.json();
    assert_eq!(
        (me["kind"].clone(), me["subject"].clone()),
        (json!("user"), json!("alice"))
    );
    for (token, path, status) in [
        (&tokens.user, "/admin", StatusCode::FORBIDDEN),
        (&tokens.admin, "/admin", StatusCode::OK),
        (&tokens.machine, "/admin", StatusCode::OK),
        (&tokens.machine, "/reports", StatusCode::OK),
        (&tokens.user, "/user", StatusCode::OK),
    ] {
        assert_eq!(
            get_with(&router, path, token).await.status,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn dev_machine_token_follows_the_configured_provider_and_claim() {
    for provider in [
        "auth0", "hydra", "keycloak", "okta", "entra", "cognito", "duende",
    ] {
        let Ok(settings) = settings(&[("AUTHZ_PROVIDER", provider)]) else {
            panic!("{provider} must be accepted");
        };
        let issuer = match protected_api::start_dev_issuer(&settings).await {
            Ok(i) => i,
            Err(e) => panic!("dev issuer: {e}"),
        };
        let router = match auth_config(&settings, Some(&issuer)) {
            Ok(c) => app(AuthLayer::new(c)),
            Err(e) => panic!("config: {e}"),
        };
        let tokens = match dev_tokens(&issuer, &settings) {
            Ok(t) => t,
            Err(e) => panic!("tokens: {e}"),
        };
        let me = get_with(&router, "/me", &tokens.machine).await.json();
        assert_eq!(me["kind"], "machine", "{provider}: {me}");
        assert!(
            me["classified_by"]
                .as_str()
                .is_some_and(|c| c.starts_with(&format!("{provider}:"))),
            "{provider}: {me}"
        );
        let me = get_with(&router, "/me", &tokens.user).await.json();
        assert_eq!(me["kind"], "user", "{provider}: {me}");
    }

    let Ok(settings) = settings(&[("AUTHZ_M2M_CLAIM", M2M_CLAIM)]) else {
        panic!("claim must be accepted");
    };
    let issuer = match protected_api::start_dev_issuer(&settings).await {
        Ok(i) => i,
        Err(e) => panic!("dev issuer: {e}"),
    };
    let router = match auth_config(&settings, Some(&issuer)) {
        Ok(c) => app(AuthLayer::new(c)),
        Err(e) => panic!("config: {e}"),
    };
    let tokens = match dev_tokens(&issuer, &settings) {
        Ok(t) => t,
        Err(e) => panic!("tokens: {e}"),
    };
    let me = get_with(&router, "/me", &tokens.machine).await.json();
    assert_eq!(me["classified_by"], format!("claim:{M2M_CLAIM}=true"));
    let me = get_with(&router, "/me", &tokens.admin).await.json();
    assert_eq!(me["classified_by"], format!("claim:{M2M_CLAIM}=false"));
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

fn problem(vars: &[(&str, &str)]) -> ConfigProblem {
    match settings(vars) {
        Ok(s) => panic!("expected a configuration error, got {s:?}"),
        Err(p) => p,
    }
}

#[test]
fn defaults_match_the_contract() {
    let Ok(s) = settings(&[]) else {
        panic!("empty environment must be valid");
    };
    assert_eq!(s.bind.to_string(), "127.0.0.1:3000");
    assert!(s.issuers.is_empty() && s.dev_mode());
    assert_eq!(s.jwks_uri, None);
    assert_eq!(s.m2m_claim, None);
    assert_eq!(s.roles_claim, "roles");
    assert_eq!(s.providers, [axum_principal::Preset::Auto]);
    assert_eq!(s.leeway.as_secs(), 60);
}

#[test]
fn every_variable_is_read() {
    let s = match settings(&[
        ("BIND", "0.0.0.0:8080"),
        (
            "AUTHZ_ISSUER",
            "https://a.example.com/, https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "api-1,api-2"),
        ("AUTHZ_M2M_CLAIM", "https://example.com/is_m2m"),
        ("AUTHZ_ROLES_CLAIM", "realm_access.roles"),
        ("AUTHZ_PROVIDER", "Keycloak"),
        ("AUTHZ_LEEWAY_SECS", "5"),
    ]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(s.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(
        s.issuers,
        ["https://a.example.com/", "https://b.example.com"]
    );
    assert_eq!(s.audiences, ["api-1", "api-2"]);
    assert_eq!(s.m2m_claim.as_deref(), Some("https://example.com/is_m2m"));
    assert_eq!(s.roles_claim, "realm_access.roles");
    assert_eq!(
        s.providers,
        [
            axum_principal::Preset::Keycloak,
            axum_principal::Preset::Keycloak
        ]
    );
    assert_eq!(s.leeway.as_secs(), 5);
    let config = match auth_config(&s, None) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        config.issuers().collect::<Vec<_>>(),
        ["https://a.example.com/", "https://b.example.com"]
    );
    assert_eq!(config.audiences(), ["api-1", "api-2"]);
}

#[test]
fn missing_audience_names_authz_audience() {
    let p = problem(&[("AUTHZ_ISSUER", "https://issuer.example.com")]);
    assert_eq!(p.variable, "AUTHZ_AUDIENCE");
    assert_eq!(
        p.to_string(),
        "AUTHZ_AUDIENCE: required when AUTHZ_ISSUER is set"
    );
    let p = problem(&[
        ("AUTHZ_ISSUER", "https://issuer.example.com"),
        ("AUTHZ_AUDIENCE", " , "),
    ]);
    assert_eq!(p.variable, "AUTHZ_AUDIENCE");
}

#[test]
fn unknown_provider_names_authz_provider() {
    let p = problem(&[("AUTHZ_PROVIDER", "ping")]);
    assert_eq!(p.variable, "AUTHZ_PROVIDER");
    assert!(p.message.contains("ping"), "{p}");
    assert!(p.to_string().starts_with("AUTHZ_PROVIDER: "), "{p}");
}

#[test]
fn bad_leeway_names_authz_leeway_secs() {
    for bad in ["soon", "-5", "1.5", "60s"] {
        let p = problem(&[("AUTHZ_LEEWAY_SECS", bad)]);
        assert_eq!(p.variable, "AUTHZ_LEEWAY_SECS", "{bad}");
    }
}

#[test]
fn token_cache_switch_is_on_or_off() {
    let p = problem(&[("AUTHZ_TOKEN_CACHE", "maybe")]);
    assert_eq!(p.variable, "AUTHZ_TOKEN_CACHE");
    let on = protected_api::settings_from(|_| None).map(|s| s.token_cache);
    assert_eq!(on.ok(), Some(true));
    let off =
        protected_api::settings_from(|k| (k == "AUTHZ_TOKEN_CACHE").then(|| "off".to_owned()))
            .map(|s| s.token_cache);
    assert_eq!(off.ok(), Some(false));
}

#[test]
fn plain_http_issuer_off_loopback_names_authz_issuer() {
    let p = problem(&[
        ("AUTHZ_ISSUER", "http://issuer.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ]);
    assert_eq!(p.variable, "AUTHZ_ISSUER");
    assert!(p.message.contains("https"), "{p}");
    // Loopback http is fine.
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:8080/realms/x",
        "http://[::1]:9",
    ] {
        assert!(
            settings(&[("AUTHZ_ISSUER", ok), ("AUTHZ_AUDIENCE", "api")]).is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn unparsable_issuer_names_authz_issuer() {
    let p = problem(&[("AUTHZ_ISSUER", "not a url"), ("AUTHZ_AUDIENCE", "api")]);
    assert_eq!(p.variable, "AUTHZ_ISSUER");
}

#[test]
fn jwks_uri_with_two_issuers_names_authz_jwks_uri() {
    let p = problem(&[
        (
            "AUTHZ_ISSUER",
            "https://a.example.com,https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "https://a.example.com/jwks"),
    ]);
    assert_eq!(p.variable, "AUTHZ_JWKS_URI");
    // With a single issuer it is accepted and used.
    let s = match settings(&[
        ("AUTHZ_ISSUER", "https://a.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "https://a.example.com/jwks"),
    ]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(s.jwks_uri.as_deref(), Some("https://a.example.com/jwks"));
    assert!(auth_config(&s, None).is_ok());
}

#[test]
fn insecure_jwks_uri_names_authz_jwks_uri() {
    let p = problem(&[
        ("AUTHZ_ISSUER", "https://a.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
        ("AUTHZ_JWKS_URI", "http://keys.example.com/jwks"),
    ]);
    assert_eq!(p.variable, "AUTHZ_JWKS_URI");
}

#[test]
fn bad_bind_names_bind() {
    for bad in ["3000", "127.0.0.1", "nowhere:80", "127.0.0.1:99999"] {
        assert_eq!(problem(&[("BIND", bad)]).variable, "BIND", "{bad}");
    }
}

#[test]
fn bad_roles_claim_names_authz_roles_claim() {
    assert_eq!(
        problem(&[("AUTHZ_ROLES_CLAIM", "realm_access..roles")]).variable,
        "AUTHZ_ROLES_CLAIM"
    );
}

#[test]
fn empty_values_count_as_unset() {
    let Ok(s) = settings(&[("AUTHZ_ISSUER", ""), ("AUTHZ_PROVIDER", " "), ("BIND", "")]) else {
        panic!("empty values must be ignored");
    };
    assert!(s.dev_mode());
    assert_eq!(s.providers, [axum_principal::Preset::Auto]);
}

#[test]
fn provider_list_gives_one_preset_per_issuer_in_order() {
    use axum_principal::Preset;
    let issuers = (
        "AUTHZ_ISSUER",
        "https://t.auth0.com/,https://sso.example.com/realms/s",
    );
    let audience = ("AUTHZ_AUDIENCE", "api");
    let s = settings(&[issuers, audience, ("AUTHZ_PROVIDER", "auth0, keycloak")])
        .expect("a list as long as AUTHZ_ISSUER is valid");
    assert_eq!(s.providers, [Preset::Auth0, Preset::Keycloak]);
    let s = settings(&[issuers, audience]).expect("unset is valid");
    assert_eq!(s.providers, [Preset::Auto, Preset::Auto]);
    for wrong in ["auth0,keycloak,okta", "auth0,,keycloak"] {
        let p = problem(&[issuers, audience, ("AUTHZ_PROVIDER", wrong)]);
        assert_eq!(p.variable, "AUTHZ_PROVIDER", "{wrong}");
    }
    let p = problem(&[issuers, audience, ("AUTHZ_PROVIDER", "auth0,nope")]);
    assert_eq!(p.variable, "AUTHZ_PROVIDER");
}

#[test]
fn dev_mode_off_loopback_refuses_naming_authz_issuer_unless_authz_dev_is_1() {
    for bind in [
        "0.0.0.0:3000",
        "[::]:3000",
        "192.168.1.10:3000",
        "[::ffff:10.0.0.1]:3000",
    ] {
        let p = problem(&[("BIND", bind)]);
        assert_eq!(p.variable, "AUTHZ_ISSUER", "{bind}: {p}");
        // The bind address as parsed (the same text for these).
        let shown = bind
            .parse::<std::net::SocketAddr>()
            .expect("a socket address");
        assert_eq!(
            p.to_string(),
            format!(
                "AUTHZ_ISSUER: not set, and BIND={shown} is not loopback: set AUTHZ_ISSUER \
                 (and AUTHZ_AUDIENCE) for a real issuer, or AUTHZ_DEV=1 to run the \
                 development issuer anyway"
            ),
            "{bind}"
        );
        assert!(!p.to_string().contains('\n'), "one line: {p}");
        // AUTHZ_DEV=0 is the same as unset.
        let p = problem(&[("BIND", bind), ("AUTHZ_DEV", "0")]);
        assert_eq!(p.variable, "AUTHZ_ISSUER", "{bind}: {p}");
        // AUTHZ_DEV=1: development mode on that address after all.
        let s = settings(&[("BIND", bind), ("AUTHZ_DEV", "1")])
            .unwrap_or_else(|p| panic!("AUTHZ_DEV=1 allows {bind}, yet: {p}"));
        assert!(s.dev_mode(), "{bind}");
        assert_eq!(s.bind, shown, "{bind}");
    }
}

#[test]
fn dev_mode_on_loopback_needs_no_authz_dev() {
    for (bind, parsed) in [
        ("127.0.0.1:3000", "127.0.0.1:3000"),
        ("127.0.0.2:3000", "127.0.0.2:3000"),
        ("[::1]:3000", "[::1]:3000"),
        ("localhost:3000", "127.0.0.1:3000"),
        ("[::ffff:127.0.0.1]:3000", "[::ffff:127.0.0.1]:3000"),
    ] {
        let s =
            settings(&[("BIND", bind)]).unwrap_or_else(|p| panic!("{bind} is loopback, yet: {p}"));
        assert!(s.dev_mode(), "{bind}");
        assert_eq!(s.bind.to_string(), parsed, "{bind}");
    }
}

#[test]
fn a_real_issuer_may_listen_anywhere_and_authz_dev_must_be_0_or_1() {
    let s = settings(&[
        ("BIND", "0.0.0.0:3000"),
        ("AUTHZ_ISSUER", "https://issuer.example.com"),
        ("AUTHZ_AUDIENCE", "api"),
    ])
    .expect("a real issuer needs no loopback BIND");
    assert!(!s.dev_mode());
    for bad in ["yes", "true", "2"] {
        let p = problem(&[("BIND", "0.0.0.0:3000"), ("AUTHZ_DEV", bad)]);
        assert_eq!(p.variable, "AUTHZ_DEV", "{bad}: {p}");
        assert!(p.message.contains(bad), "{p}");
    }
}

// ---------------------------------------------------------------------------------------
// Availability and unknown routes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn issuer_down_with_no_cached_keys_is_503_without_a_challenge() {
    let h = harness().await;
    h.issuer.set_fault(axum_principal_testkit::Fault::Down);
    let token = machine_token(&h.issuer);
    let reply = get_with(&h.router, "/admin", &token).await;
    reply.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        Some(&token),
    );
    assert_eq!(reply.www_authenticate, None);
    assert!(reply.body.contains("unavailable"), "{}", reply.body);
    // /healthz does not depend on the issuer.
    assert_eq!(
        send(&h.router, "/healthz", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_route_is_404_without_reading_a_token() {
    let h = harness().await;
    for auth in [&[][..], &["Bearer garbage"][..]] {
        let reply = send(&h.router, "/nope", auth).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{auth:?}");
        assert_eq!(reply.www_authenticate, None);
    }
}
