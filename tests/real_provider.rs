//! End to end against an OpenID provider nobody here wrote: panva's certified `oidc-provider`
//! (Node.js, pinned in `tests/oidc-provider/package.json`), started by each test on
//! 127.0.0.1 by `tests/oidc-provider/harness.mjs`.
//!
//! The provider issues RFC 9068 JWT access tokens (RS256, `typ: at+jwt`) for the resource
//! `https://api.example.test`:
//! * machine tokens from the standard token endpoint (`grant_type=client_credentials` with a
//!   `resource`, client_secret_basic), fetched here with reqwest;
//! * user tokens from the authorization code flow (+ PKCE), which the harness drives against
//!   the provider's own endpoints (see the comment at the top of `harness.mjs`).
//!
//! The first test installs the harness's npm packages itself when they are missing or
//! older than `package-lock.json` (`npm ci`, once; see `crates/axum-principal/tests/common/node_deps.rs`): it needs
//! Node.js >= 20.12 with npm, and the npm registry that once. Without Node.js the tests fail
//! and say so.

// The integration-test helpers of the library crate, shared rather than copied.
#[path = "../crates/axum-principal/tests/common/mod.rs"]
mod common;
mod support;

use std::fmt::Display;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::clock::ManualClock;
use axum_principal::dpop::DpopConfig;
use axum_principal::{
    guard_layer, AuthConfig, AuthConfigBuilder, AuthLayer, Classifier, Guard, Preset, Principal,
    RequireActor, RequireDirect, RequireDirectUser, RequireMachine, RequireUser,
};
use axum_principal_testkit::{DpopKey, KeyAlg};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The custom claim the harness adds with `--m2m-claim` (oidc-provider's `extraTokenClaims`).
const M2M_CLAIM: &str = "https://example.com/is_m2m";
/// The library's unknown-`kid` refresh cooldown, set explicitly in the rotation test.
const COOLDOWN: Duration = Duration::from_secs(30);

// --- the harness process -------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
struct Ready {
    issuer: String,
    admin: String,
    audience: String,
    m2m_claim: Option<String>,
    machine_client: MachineClient,
    user_client: UserClient,
    user: String,
    kids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct MachineClient {
    client_id: String,
    client_secret: String,
}

#[derive(Debug, Clone, Deserialize)]
struct UserClient {
    client_id: String,
}

/// The running `harness.mjs`.
struct Harness {
    _process: support::Process,
    log: support::Log,
    ready: Ready,
    http: reqwest::Client,
}

impl Harness {
    /// Starts the harness (with the `is_m2m` claim or without) and waits for its ready line.
    async fn start(m2m_claim: bool) -> Harness {
        match tokio::task::spawn_blocking(move || Harness::start_blocking(m2m_claim)).await {
            Ok(h) => h,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("harness start-up task: {e}"),
        }
    }

    fn start_blocking(m2m_claim: bool) -> Harness {
        let args: &[&str] = if m2m_claim { &["--m2m-claim"] } else { &[] };
        let (process, log, ready) = support::start_harness::<Ready>(args);
        let http = reqwest::Client::builder()
            .no_proxy()
            // A fresh connection per request: the provider restarts during the rotation test.
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a reqwest client");
        assert_eq!(ready.m2m_claim.as_deref(), m2m_claim.then_some(M2M_CLAIM));
        Harness {
            _process: process,
            log,
            ready,
            http,
        }
    }

    fn log(&self) -> String {
        support::output(&self.log)
    }

    fn fail(&self, what: &str, error: impl Display) -> ! {
        panic!("{what}: {error}\nharness output:\n{}", self.log())
    }

    async fn post_json(&self, url: String, body: Value) -> Value {
        let response = match self.http.post(&url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => self.fail(&format!("POST {url}"), e),
        };
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("POST {url}: body"), e),
        };
        if !status.is_success() {
            self.fail(&format!("POST {url}"), format!("{status} {body}"));
        }
        body
    }

    /// The token endpoint, from the provider's discovery document.
    async fn token_endpoint(&self) -> String {
        let url = format!("{}/.well-known/openid-configuration", self.ready.issuer);
        let metadata: Value = match self.http.get(&url).send().await {
            Ok(r) => match r.json().await {
                Ok(v) => v,
                Err(e) => self.fail("discovery body", e),
            },
            Err(e) => self.fail(&format!("GET {url}"), e),
        };
        assert_eq!(metadata["issuer"], json!(self.ready.issuer));
        match metadata["token_endpoint"].as_str() {
            Some(t) => t.to_owned(),
            None => self.fail("discovery", format!("no token_endpoint in {metadata}")),
        }
    }

    /// POSTs `form` to the token endpoint as the machine client (client_secret_basic); the
    /// JSON answer, which must be 200.
    async fn machine_client_post(&self, grant: &str, pairs: &[(&str, &str)]) -> Value {
        let endpoint = self.token_endpoint().await;
        let client = &self.ready.machine_client;
        let response = match self
            .http
            .post(&endpoint)
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => self.fail(&format!("POST {endpoint}"), e),
        };
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{grant}: token response"), e),
        };
        if status != reqwest::StatusCode::OK {
            self.fail(grant, format!("{status} {body}"));
        }
        body
    }

    /// A machine token: the client credentials grant at the standard token endpoint.
    async fn machine_token(&self) -> String {
        let body = self
            .machine_client_post(
                "client credentials grant",
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", &self.ready.audience),
                    ("scope", "api:read"),
                ],
            )
            .await;
        assert_eq!(body["token_type"], "Bearer", "{body}");
        match body["access_token"].as_str() {
            Some(t) => t.to_owned(),
            None => self.fail(
                "client credentials grant",
                format!("no access_token: {body}"),
            ),
        }
    }

    /// RFC 8693 token exchange at the standard token endpoint: the machine client presents
    /// `subject_token` and receives a delegated token (subject = that token's user, `act` =
    /// the machine client).
    async fn exchange(&self, subject_token: &str) -> String {
        let body = self
            .machine_client_post(
                "token exchange",
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", subject_token),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                ],
            )
            .await;
        assert_eq!(
            body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token",
            "{body}"
        );
        match body["access_token"].as_str() {
            Some(t) => t.to_owned(),
            None => self.fail("token exchange", format!("no access_token: {body}")),
        }
    }

    /// A DPoP-bound machine token for `key`: the token request carries a proof for the
    /// token endpoint (RFC 9449 §5).
    async fn dpop_machine_token(&self, key: &DpopKey) -> String {
        let endpoint = self.token_endpoint().await;
        let proof = key.proof("POST", &endpoint).sign();
        let (token_type, token) = self.client_credentials(Some(proof)).await;
        assert_eq!(token_type, "DPoP");
        token
    }

    /// The client credentials grant, with a DPoP proof or without: `(token_type, token)`.
    async fn client_credentials(&self, dpop_proof: Option<String>) -> (String, String) {
        let endpoint = self.token_endpoint().await;
        let client = &self.ready.machine_client;
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("resource", &self.ready.audience),
            ("scope", "api:read"),
        ]);
        let mut request = self
            .http
            .post(&endpoint)
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(proof) = dpop_proof {
            request = request.header("dpop", proof);
        }
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => self.fail(&format!("POST {endpoint}"), e),
        };
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(e) => self.fail("token response", e),
        };
        if status != reqwest::StatusCode::OK {
            self.fail("client credentials grant", format!("{status} {body}"));
        }
        support::issued_token(&body).unwrap_or_else(|| {
            self.fail(
                "client credentials grant",
                format!("no access_token: {body}"),
            )
        })
    }

    /// A user token: the harness runs the authorization code flow for its fixed user.
    async fn user_token(&self) -> String {
        let url = format!("{}/user-token", self.ready.admin);
        let body = self
            .post_json(url, json!({ "account": self.ready.user }))
            .await;
        match body["access_token"].as_str() {
            Some(t) => t.to_owned(),
            None => self.fail(
                "authorization code flow",
                format!("no access_token: {body}"),
            ),
        }
    }

    /// Restarts the provider on the same port with a new signing key first in its JWKS;
    /// returns the published key ids (the signing key first).
    async fn rotate(&self, keep_previous: bool) -> Vec<String> {
        let url = format!("{}/rotate", self.ready.admin);
        let body = self
            .post_json(url, json!({ "keep_previous": keep_previous }))
            .await;
        match serde_json::from_value(body["kids"].clone()) {
            Ok(kids) => kids,
            Err(e) => self.fail("rotate", e),
        }
    }

    /// Stops the provider (its port is closed; the admin server stays up).
    async fn stop_provider(&self) {
        let url = format!("{}/stop", self.ready.admin);
        let body = self.post_json(url, json!({})).await;
        assert_eq!(body["stopped"], true);
    }
}

/// `application/x-www-form-urlencoded`.
fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A JWT part (header or payload), decoded without verification: only to look at what the
/// provider issued.
fn jwt_part(token: &str, index: usize) -> Value {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let part = token
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("no JWT part {index} in {token}"));
    let mut bytes = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in part.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            panic!("not base64url: {part}");
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT part {index} is not JSON: {e}"))
}

fn kid_of(token: &str) -> String {
    jwt_part(token, 0)["kid"]
        .as_str()
        .expect("the provider's tokens have a kid")
        .to_owned()
}

// --- the service under test ----------------------------------------------------------------

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// The verified claims, as the library hands them to handlers.
async fn claims(principal: Principal) -> Json<Map<String, Value>> {
    Json(principal.claims().clone())
}

fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/claims", get(claims))
        .layer(layer)
}

fn config(harness: &Harness) -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(harness.ready.issuer.clone())
        .audience(harness.ready.audience.clone())
        .connect_timeout(Duration::from_secs(2))
        .fetch_timeout(Duration::from_secs(5))
}

fn layer(builder: AuthConfigBuilder) -> AuthLayer {
    AuthLayer::new(builder.build().expect("a valid configuration"))
}

async fn call(app: &Router, path: &str, token: &str) -> (StatusCode, Value) {
    let reply = common::get_with(app, path, token).await;
    (reply.status, reply.json())
}

/// `/me` must answer 200; returns the principal's JSON.
async fn principal(app: &Router, token: &str) -> Value {
    let (status, body) = call(app, "/me", token).await;
    assert_eq!(status, StatusCode::OK, "/me refused the token: {body}");
    body
}

async fn assert_unknown_key(app: &Router, token: &str) {
    let (status, body) = call(app, "/me", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(
        body["error_description"], "the token was signed with an unknown key",
        "{body}"
    );
}

async fn cached_kids(layer: &AuthLayer, issuer: &str) -> Vec<String> {
    layer
        .authenticator()
        .key_store()
        .key_ids(issuer)
        .await
        .expect("the issuer is configured")
}

// --- the tests -----------------------------------------------------------------------------

#[tokio::test]
async fn default_auto_preset_classifies_client_credentials_as_machine_and_code_flow_as_user() {
    let harness = Harness::start(false).await;
    let app = app(layer(config(&harness)));
    let r = &harness.ready;

    let machine = harness.machine_token().await;
    let header = jwt_part(&machine, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], json!(r.kids[0]));
    // oidc-provider's client credentials JWT: `sub` is the client id, and `client_id` too.
    let (status, claims) = call(&app, "/claims", &machine).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], json!(r.machine_client.client_id));
    assert_eq!(claims["client_id"], json!(r.machine_client.client_id));
    assert_eq!(claims["iss"], json!(r.issuer));
    assert_eq!(claims["aud"], json!(r.audience));
    assert_eq!(claims["scope"], "api:read");
    assert!(claims.get(M2M_CLAIM).is_none(), "{claims}");
    let p = principal(&app, &machine).await;
    assert_eq!(p["kind"], "machine", "{p}");
    assert_eq!(p["classified_by"], "rfc9068:sub-equals-client_id", "{p}");
    assert_eq!(p["subject"], json!(r.machine_client.client_id));
    assert_eq!(p["client_id"], json!(r.machine_client.client_id));
    assert_eq!(p["issuer"], json!(r.issuer));
    assert_eq!(p["scopes"], json!(["api:read"]));

    let user = harness.user_token().await;
    assert_eq!(jwt_part(&user, 0)["typ"], "at+jwt");
    let (status, claims) = call(&app, "/claims", &user).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], json!(r.user));
    assert_eq!(claims["client_id"], json!(r.user_client.client_id));
    assert!(claims.get(M2M_CLAIM).is_none(), "{claims}");
    let p = principal(&app, &user).await;
    assert_eq!(p["kind"], "user", "{p}");
    assert_eq!(p["classified_by"], "default:user", "{p}");
    assert_eq!(p["subject"], json!(r.user));
    assert_eq!(p["client_id"], json!(r.user_client.client_id));
    assert_eq!(p["scopes"], json!(["api:read", "api:write"]));
}

#[tokio::test]
async fn custom_is_m2m_claim_from_extra_token_claims_decides_the_kind() {
    let harness = Harness::start(true).await;
    let classifier = Classifier::new(Preset::Generic).machine_claim(M2M_CLAIM);
    let app = app(layer(config(&harness).classifier(classifier)));
    let r = &harness.ready;

    let machine = harness.machine_token().await;
    assert_eq!(jwt_part(&machine, 1)[M2M_CLAIM], true);
    let p = principal(&app, &machine).await;
    assert_eq!(p["kind"], "machine", "{p}");
    assert_eq!(p["classified_by"], format!("claim:{M2M_CLAIM}=true"), "{p}");
    assert_eq!(p["subject"], json!(r.machine_client.client_id));

    let user = harness.user_token().await;
    assert_eq!(jwt_part(&user, 1)[M2M_CLAIM], false);
    let p = principal(&app, &user).await;
    assert_eq!(p["kind"], "user", "{p}");
    assert_eq!(
        p["classified_by"],
        format!("claim:{M2M_CLAIM}=false"),
        "{p}"
    );
    assert_eq!(p["subject"], json!(r.user));
}

#[tokio::test]
async fn provider_key_rotation_verifies_new_tokens_without_restarting_the_service() {
    let harness = Harness::start(false).await;
    let issuer = harness.ready.issuer.clone();
    let old_kid = harness.ready.kids[0].clone();
    let clock = ManualClock::new();
    let auth = layer(
        config(&harness)
            .clock(clock.clone())
            .refresh_cooldown(COOLDOWN),
    );
    let app = app(auth.clone());

    // Keys fetched and cached with the provider's first key.
    let old_machine = harness.machine_token().await;
    assert_eq!(kid_of(&old_machine), old_kid);
    assert_eq!(principal(&app, &old_machine).await["kind"], "machine");
    assert_eq!(cached_kids(&auth, &issuer).await, vec![old_kid.clone()]);

    // The provider restarts with a new signing key first and the old one still published.
    let kids = harness.rotate(true).await;
    let new_kid = kids[0].clone();
    assert_eq!(kids, [new_kid.clone(), old_kid.clone()]);
    let new_machine = harness.machine_token().await;
    let new_user = harness.user_token().await;
    assert_eq!(kid_of(&new_machine), new_kid);
    assert_eq!(kid_of(&new_user), new_kid);

    // The first token with the new kid refreshes the keys and verifies (the cooldown counts
    // from the last fetch an unknown kid started; the first fetch was not one).
    let p = principal(&app, &new_machine).await;
    assert_eq!(p["kind"], "machine");
    assert_eq!(p["classified_by"], "rfc9068:sub-equals-client_id");
    let p = principal(&app, &new_user).await;
    assert_eq!(p["kind"], "user");
    assert_eq!(p["classified_by"], "default:user");
    assert_eq!(
        cached_kids(&auth, &issuer).await,
        [new_kid.clone(), old_kid.clone()]
    );
    // The old key is still published, so tokens signed with it still verify.
    assert_eq!(principal(&app, &old_machine).await["kind"], "machine");

    // Second rotation: only the newest key is published.
    let kids = harness.rotate(false).await;
    let newest_kid = kids[0].clone();
    assert_eq!(kids, vec![newest_kid.clone()]);
    let newest_user = harness.user_token().await;
    assert_eq!(kid_of(&newest_user), newest_kid);
    // Within the cooldown of the refresh the first rotation's kid started, this unknown kid
    // causes no refresh...
    assert_unknown_key(&app, &newest_user).await;
    // ...after it, it does, and the token verifies.
    clock.advance(COOLDOWN + Duration::from_secs(1));
    let p = principal(&app, &newest_user).await;
    assert_eq!(p["kind"], "user");
    assert_eq!(p["subject"], json!(harness.ready.user));
    assert_eq!(cached_kids(&auth, &issuer).await, [newest_kid]);
    // Keys the provider no longer publishes are no longer trusted.
    assert_unknown_key(&app, &old_machine).await;
    assert_unknown_key(&app, &new_machine).await;
}

#[tokio::test]
async fn cached_keys_keep_verifying_after_the_provider_stops() {
    let harness = Harness::start(false).await;
    let issuer = harness.ready.issuer.clone();
    let clock = ManualClock::new();
    // The shortest key lifetime, so that the clock can be moved past it below.
    let key_ttl = Duration::from_secs(60);
    let auth = layer(config(&harness).clock(clock.clone()).key_ttl(key_ttl));
    let app = app(auth.clone());

    let machine = harness.machine_token().await;
    let user = harness.user_token().await;
    assert_eq!(principal(&app, &machine).await["kind"], "machine");
    assert_eq!(principal(&app, &user).await["kind"], "user");

    harness.stop_provider().await;
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let down = harness.http.get(&discovery).send().await;
    assert!(
        down.as_ref().is_err_and(|e| e.is_connect()),
        "the provider still answers: {down:?}"
    );

    // Served from the cached keys, no network needed.
    let p = principal(&app, &machine).await;
    assert_eq!(p["kind"], "machine");
    assert_eq!(p["classified_by"], "rfc9068:sub-equals-client_id");
    let p = principal(&app, &user).await;
    assert_eq!(p["kind"], "user");
    assert_eq!(p["classified_by"], "default:user");

    // Past the keys' lifetime the refresh fails (the provider is down), and the last good
    // keys keep serving within the stale window.
    clock.advance(key_ttl * 2);
    assert_eq!(principal(&app, &machine).await["kind"], "machine");
    assert_eq!(principal(&app, &user).await["kind"], "user");
    assert_eq!(
        cached_kids(&auth, &issuer).await,
        [harness.ready.kids[0].clone()]
    );
}

#[tokio::test]
async fn token_exchange_issues_a_delegated_token_whose_actor_each_guard_judges() {
    let harness = Harness::start(false).await;
    let r = &harness.ready;
    let actor = r.machine_client.client_id.clone();
    let guarded = |path: &'static str| Router::new().route(path, get(me));
    let app = Router::new()
        .route("/me", get(me))
        .merge(guarded("/user").route_layer(guard_layer(RequireUser)))
        .merge(guarded("/machine").route_layer(guard_layer(RequireMachine)))
        .merge(guarded("/direct").route_layer(guard_layer(RequireDirect)))
        .merge(guarded("/direct-user").route_layer(guard_layer(RequireDirectUser)))
        .merge(
            guarded("/reporting-only")
                .route_layer(guard_layer(RequireActor::client_id(actor.clone()))),
        )
        .merge(guarded("/reporting-or-direct").route_layer(guard_layer(
            RequireDirect.or(RequireActor::client_id(actor.clone()).issuer(r.issuer.clone())),
        )))
        .merge(guarded("/someone-else").route_layer(guard_layer(RequireActor::client_id("other"))))
        .layer(layer(config(&harness)));

    let user = harness.user_token().await;
    let delegated = harness.exchange(&user).await;
    // What the provider issued: the user as subject, the machine client as actor.
    let claims = jwt_part(&delegated, 1);
    assert_eq!(claims["sub"], json!(r.user), "{claims}");
    assert_eq!(claims["client_id"], json!(actor), "{claims}");
    assert_eq!(
        claims["act"],
        json!({"sub": actor, "client_id": actor}),
        "{claims}"
    );
    assert!(jwt_part(&user, 1).get("act").is_none());

    let p = principal(&app, &delegated).await;
    assert_eq!(p["kind"], "user", "the kind is the subject's: {p}");
    assert_eq!(p["subject"], json!(r.user));
    assert_eq!(
        p["actor"],
        json!({"subject": actor, "client_id": actor, "actor": null}),
        "{p}"
    );
    assert_eq!(principal(&app, &user).await["actor"], Value::Null);

    // A chain: the delegated token exchanged again nests the first actor.
    let chained = harness.exchange(&delegated).await;
    let p = principal(&app, &chained).await;
    assert_eq!(
        p["actor"],
        json!({"subject": actor, "client_id": actor,
               "actor": {"subject": actor, "client_id": actor, "actor": null}}),
        "{p}"
    );

    let machine = harness.machine_token().await;
    let routes: [(&str, [StatusCode; 3]); 7] = [
        (
            "/user",
            [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "/machine",
            [StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK],
        ),
        (
            "/direct",
            [StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::OK],
        ),
        (
            "/direct-user",
            [StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN],
        ),
        (
            "/reporting-only",
            [StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "/reporting-or-direct",
            [StatusCode::OK, StatusCode::OK, StatusCode::OK],
        ),
        (
            "/someone-else",
            [
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
            ],
        ),
    ];
    for (path, expected) in routes {
        for (token, (who, status)) in [&user, &delegated, &machine].into_iter().zip(
            [
                "alice herself",
                "svc-reporting for alice",
                "svc-reporting itself",
            ]
            .into_iter()
            .zip(expected),
        ) {
            let (got, body) = call(&app, path, token).await;
            assert_eq!(got, status, "{path} for {who}: {body}");
        }
    }
}

#[tokio::test]
async fn a_dpop_bound_token_from_oidc_provider_is_admitted_with_a_fresh_proof_only() {
    use common::dpop::{url, Call, ORIGIN};
    let harness = Harness::start(false).await;
    let key = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let token = harness.dpop_machine_token(&key).await;
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["cnf"]["jkt"], json!(key.thumbprint()), "{claims}");
    let app = app(layer(
        common::with_reason_header(config(&harness)).dpop(DpopConfig::new(ORIGIN)),
    ));
    let proof = || key.proof("GET", &url("/me")).access_token(&token);

    let fresh = proof().sign();
    let ok = Call::dpop("/me", &token, fresh.clone()).send(&app).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["kind"], "machine");
    let again = Call::dpop("/me", &token, proof().sign()).send(&app).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a second fresh proof: {}",
        again.body
    );

    let other_key = DpopKey::generate(KeyAlg::Es256).expect("a DPoP key");
    let forgeries = [
        (
            "replayed proof",
            Call::dpop("/me", &token, fresh),
            "dpop_replayed",
        ),
        (
            "proof for another URL",
            Call::dpop(
                "/me",
                &token,
                key.proof("GET", &url("/claims"))
                    .access_token(&token)
                    .sign(),
            ),
            "dpop_htu_mismatch",
        ),
        (
            "proof for another method",
            Call::dpop(
                "/me",
                &token,
                key.proof("POST", &url("/me")).access_token(&token).sign(),
            ),
            "dpop_htm_mismatch",
        ),
        (
            "proof from another key",
            Call::dpop(
                "/me",
                &token,
                other_key
                    .proof("GET", &url("/me"))
                    .access_token(&token)
                    .sign(),
            ),
            "dpop_jkt_mismatch",
        ),
        (
            "expired proof",
            Call::dpop("/me", &token, proof().issued_at_in(-600).sign()),
            "dpop_expired",
        ),
        (
            "the token as Bearer",
            Call::bearer("/me", &token),
            "bound_token_as_bearer",
        ),
    ];
    for (what, call, reason) in forgeries {
        let out = call.send(&app).await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{what}: {}", out.body);
        assert_eq!(out.reason.as_deref(), Some(reason), "{what}");
    }
}
