//! Opaque tokens end to end against a provider nobody here wrote: panva's `oidc-provider`
//! (`tests/oidc-provider/harness.mjs --opaque`), whose access tokens for the API are opaque
//! (`accessTokenFormat: 'opaque'`), with its RFC 7662 introspection and RFC 7009 revocation
//! endpoints on. The layer finds the introspection endpoint through the provider's discovery
//! document and authenticates with HTTP Basic as the API's own client.
//!
//! Client-credentials and user (authorization code) tokens are admitted and classified, a
//! DPoP-bound one needs its proof, and each is refused on the request after its revocation.
//!
//! The harness's npm packages are installed by the first test that needs them
//! (`crates/axum-principal/tests/common/node_deps.rs`); without Node.js the tests fail and say
//! so.

// The integration-test helpers of the library crate, shared rather than copied.
#[path = "../crates/axum-principal/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::dpop::DpopConfig;
use axum_principal::{
    guard_layer, Algorithm, AuthConfig, AuthConfigBuilder, AuthLayer, ClientKey, Introspection,
    Issuer, Principal, RequireMachine,
};
use axum_principal_testkit::{DpopKey, KeyAlg};
use common::{build, get_with, with_reason_header, Reply};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Deserialize)]
struct Ready {
    issuer: String,
    admin: String,
    audience: String,
    machine_client: Client,
    user: String,
    introspection_client: Option<Client>,
    introspection_key_client: Option<KeyClient>,
}

/// A client that authenticates with `private_key_jwt`: its id and private key.
#[derive(Debug, Clone, Deserialize)]
struct KeyClient {
    client_id: String,
    private_key_pem: String,
    kid: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Client {
    client_id: String,
    client_secret: String,
}

/// The running `harness.mjs --opaque`; the `node` process is killed (and reaped) on drop,
/// and exits by itself when its stdin closes.
struct Harness {
    _process: support::Process,
    log: support::Log,
    ready: Ready,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Harness {
        match tokio::task::spawn_blocking(Harness::start_blocking).await {
            Ok(h) => h,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("harness start-up task: {e}"),
        }
    }

    fn start_blocking() -> Harness {
        let (process, log, ready) = support::start_harness::<Ready>(&["--opaque"]);
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a reqwest client");
        assert!(
            ready.introspection_client.is_some(),
            "the harness did not start in --opaque mode"
        );
        Harness {
            _process: process,
            log,
            ready,
            http,
        }
    }

    fn fail(&self, what: &str, error: impl std::fmt::Display) -> ! {
        panic!(
            "{what}: {error}\nharness output:\n{}",
            support::output(&self.log)
        )
    }

    fn introspection_client(&self) -> &Client {
        self.ready
            .introspection_client
            .as_ref()
            .unwrap_or_else(|| self.fail("ready line", "no introspection client"))
    }

    async fn post(&self, request: reqwest::RequestBuilder, what: &str) -> Value {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => self.fail(what, e),
        };
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{what}: body"), e),
        };
        if !status.is_success() {
            self.fail(what, format!("{status} {body}"));
        }
        body
    }

    /// The client-credentials grant at the standard token endpoint, with a DPoP proof or
    /// without: `(token_type, access_token)`.
    async fn machine_token(&self, dpop: Option<&DpopKey>) -> (String, String) {
        let endpoint = format!("{}/token", self.ready.issuer);
        let client = &self.ready.machine_client;
        let form = url_form(&[
            ("grant_type", "client_credentials"),
            ("resource", &self.ready.audience),
            ("scope", "api:read"),
        ]);
        let mut request = self
            .http
            .post(&endpoint)
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        if let Some(key) = dpop {
            request = request.header("dpop", key.proof("POST", &endpoint).sign());
        }
        let body = self.post(request, "client credentials grant").await;
        support::issued_token(&body).unwrap_or_else(|| {
            self.fail(
                "client credentials grant",
                format!("no access_token: {body}"),
            )
        })
    }

    /// A user token: the harness runs the authorization code flow (+ PKCE).
    async fn user_token(&self) -> String {
        let request = self
            .http
            .post(format!("{}/user-token", self.ready.admin))
            .json(&json!({ "account": self.ready.user }));
        let body = self.post(request, "authorization code flow").await;
        match body["access_token"].as_str() {
            Some(t) => t.to_owned(),
            None => self.fail(
                "authorization code flow",
                format!("no access_token: {body}"),
            ),
        }
    }

    /// Revokes `token` at the provider's revocation endpoint, as `client` (its owner).
    async fn revoke(&self, token: &str, client: &str) {
        let request = self
            .http
            .post(format!("{}/revoke", self.ready.admin))
            .json(&json!({ "token": token, "client": client }));
        let body = self.post(request, "revocation").await;
        assert_eq!(body["status"], 200, "revocation: {body}");
    }

    /// A configuration trusting the provider, introspecting as the API's client (or with
    /// `secret` in place of its own), refusals carrying their reason code.
    fn config(&self, secret: Option<&str>) -> AuthConfigBuilder {
        let client = self.introspection_client();
        let secret = secret.unwrap_or(&client.client_secret);
        self.config_with(Introspection::new(&client.client_id, secret))
    }

    /// A configuration trusting the provider, introspecting as `introspection` says.
    fn config_with(&self, introspection: Introspection) -> AuthConfigBuilder {
        with_reason_header(
            AuthConfig::builder()
                .issuer(Issuer::new(&self.ready.issuer).introspection(introspection))
                .audience(&self.ready.audience),
        )
    }

    /// Introspection as the API's `private_key_jwt` client (an ES256 key).
    fn private_key_jwt(&self) -> Introspection {
        let Some(client) = &self.ready.introspection_key_client else {
            self.fail("ready line", "no private_key_jwt client")
        };
        let key = ClientKey::from_pem(Algorithm::ES256, &client.private_key_pem)
            .unwrap_or_else(|e| self.fail("the harness's client key", e))
            .kid(&client.kid);
        Introspection::private_key_jwt(&client.client_id, key)
    }
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// `/me`, and `/machine` behind `RequireMachine`.
fn app(config: AuthConfigBuilder) -> Router {
    Router::new()
        .route("/machine", get(me))
        .route_layer(guard_layer(RequireMachine))
        .route("/me", get(me))
        .layer(AuthLayer::new(build(config)))
}

fn reason(reply: &Reply) -> &str {
    reply.reason.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn an_opaque_client_credentials_token_is_a_machine_until_revoked() {
    let h = Harness::start().await;
    let app = app(h.config(None));
    let (token_type, token) = h.machine_token(None).await;
    assert_eq!(token_type, "Bearer");
    assert_eq!(
        token.split('.').count(),
        1,
        "oidc-provider issued an opaque token"
    );
    let reply = get_with(&app, "/machine", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(me["kind"], "machine");
    assert_eq!(
        me["subject"], "svc-reporting",
        "the client id, as there is no sub"
    );
    assert_eq!(me["client_id"], "svc-reporting");
    assert_eq!(me["scopes"], json!(["api:read"]));
    assert_eq!(me["issuer"], h.ready.issuer);
    h.revoke(&token, "svc-reporting").await;
    let reply = get_with(&app, "/machine", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reason(&reply), "inactive");
}

#[tokio::test]
async fn an_opaque_user_token_is_a_user_until_revoked() {
    let h = Harness::start().await;
    let app = app(h.config(None));
    let token = h.user_token().await;
    assert_eq!(
        token.split('.').count(),
        1,
        "oidc-provider issued an opaque token"
    );
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(
        (me["kind"].as_str(), me["subject"].as_str()),
        (Some("user"), Some("alice"))
    );
    assert_eq!(me["client_id"], "web-app");
    let refused = get_with(&app, "/machine", &token).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a user is no machine"
    );
    h.revoke(&token, "web-app").await;
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reason(&reply), "inactive");
}

/// oidc-provider reports a DPoP-bound opaque token's `cnf.jkt` (and `token_type: DPoP`):
/// refused as Bearer, admitted with a proof by its key.
#[tokio::test]
async fn a_dpop_bound_opaque_token_needs_its_proof() {
    let h = Harness::start().await;
    let key = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let (token_type, token) = h.machine_token(Some(&key)).await;
    assert_eq!(token_type, "DPoP");
    let app = common::dpop::app(h.config(None), DpopConfig::new(common::dpop::ORIGIN));
    let reply = common::dpop::Call::bearer("/me", &token).send(&app).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reason(&reply), "bound_token_as_bearer");
    let proof = key
        .proof("GET", &common::dpop::url("/me"))
        .access_token(&token)
        .sign();
    let reply = common::dpop::Call::dpop("/me", &token, proof)
        .send(&app)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["kind"], "machine");
}

/// The provider refusing this service's own credentials is 503, never 401.
#[tokio::test]
async fn wrong_introspection_credentials_are_503() {
    let h = Harness::start().await;
    let app = app(h.config(Some("not-the-secret")));
    let (_, token) = h.machine_token(None).await;
    let reply = get_with(&app, "/me", &token).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reason(&reply), "introspection_credentials_refused");
}

/// `private_key_jwt` (RFC 7523 §2.2): oidc-provider checks each call's client assertion
/// (signature with the registered key, `iss`/`sub`, `aud` = its issuer identifier, `exp`,
/// a `jti` it has not seen) and answers; two calls, two assertions.
#[tokio::test]
async fn private_key_jwt_authenticates_the_introspection_calls() {
    let h = Harness::start().await;
    let app = app(h.config_with(h.private_key_jwt()));
    for _ in 0..2 {
        let (_, token) = h.machine_token(None).await;
        let reply = get_with(&app, "/machine", &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["subject"], "svc-reporting");
    }
}

/// RFC 9701 signed answers (oidc-provider's `features.jwtIntrospection`, the client's
/// `introspection_signed_response_alg`): the answer is a JWS verified with the provider's
/// JWKS (`typ`, `iss`, `aud` = this client, `iat`), and its `token_introspection` decides.
#[tokio::test]
async fn a_signed_introspection_answer_is_verified_with_the_providers_keys() {
    let h = Harness::start().await;
    let client = h.introspection_client().clone();
    let introspection = Introspection::new(&client.client_id, &client.client_secret).jwt_response();
    let app = app(h.config_with(introspection));
    let (_, token) = h.machine_token(None).await;
    let reply = get_with(&app, "/machine", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["subject"], "svc-reporting");
    h.revoke(&token, "svc-reporting").await;
    let reply = get_with(&app, "/machine", &token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reason(&reply), "inactive");
}
