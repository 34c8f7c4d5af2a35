//! Hostile input: forged and malformed requests (RFC 8725's attacks and more), each with the
//! exact status of CONTRACT.md's error table. None may be answered 200, 5xx, or panic, and
//! no response may echo the token.
//!
//! Run with `--nocapture` to print every case with the status it got.

mod common;

use std::time::Duration;

use aws_lc_rs::hmac;
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::clock::ManualClock;
use axum_principal::{
    AuthConfig, AuthConfigBuilder, AuthLayer, Classifier, Issuer, Preset, Principal,
    RequireMachine, TypPolicy,
};
use axum_principal_testkit::{b64url, KeyAlg, MockIssuer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::build;
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Set-up

/// The default token size cap (`AuthConfigBuilder::max_token_bytes`).
const CAP: usize = 16 * 1024;

async fn start(builder: axum_principal_testkit::MockIssuerBuilder) -> MockIssuer {
    match builder.start().await {
        Ok(i) => i,
        Err(e) => panic!("mock issuer did not start: {e}"),
    }
}

/// The real issuer: a path prefix makes look-alike issuers easier to build.
async fn real_issuer() -> MockIssuer {
    start(MockIssuer::builder().path_prefix("/realms/main")).await
}

/// An attacker's issuer: its own keys, JWKS URL and request counters.
async fn attacker() -> MockIssuer {
    start(MockIssuer::builder().path_prefix("/evil")).await
}

fn config(issuer: &MockIssuer) -> AuthConfigBuilder {
    common::config(issuer, &ManualClock::new())
}

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// `/me` (GET and POST) returning the principal as JSON, behind `AuthLayer`.
fn app(config: AuthConfigBuilder) -> Router {
    Router::new()
        .route("/me", get(me).post(me))
        .layer(AuthLayer::new(build(config)))
}

fn kid(issuer: &MockIssuer, alg: KeyAlg) -> String {
    issuer.signing_kid(alg).unwrap_or_default()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// A valid claim set for `issuer`.
fn claims(issuer: &MockIssuer) -> Map<String, Value> {
    let now = now();
    let v = json!({
        "iss": issuer.issuer(),
        "aud": issuer.audience(),
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "scope": "openid",
    });
    v.as_object().cloned().unwrap_or_default()
}

fn claims_with(issuer: &MockIssuer, name: &str, value: Value) -> String {
    let mut c = claims(issuer);
    c.insert(name.to_owned(), value);
    Value::Object(c).to_string()
}

fn rs_header(issuer: &MockIssuer) -> String {
    json!({"alg":"RS256","typ":"JWT","kid": kid(issuer, KeyAlg::Rs256)}).to_string()
}

/// Header and payload signed with `issuer`'s RS256 key whatever the header says.
fn rs_signed(issuer: &MockIssuer, header: &str, payload: &str) -> String {
    issuer.sign_raw(header, payload, Some(&kid(issuer, KeyAlg::Rs256)))
}

fn b64d(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let mut next = || it.next().unwrap_or_default().to_owned();
    (next(), next(), next())
}

fn hmac_token(alg: &str, header: &Value, payload: &str, secret: &[u8]) -> String {
    let mut header = header.clone();
    header["alg"] = json!(alg);
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(payload.as_bytes())
    );
    let algorithm = match alg {
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

// ---- DER / PEM encodings of an RSA public key, as an attacker would use for HS256 --------

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let bytes = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// PKCS#1 `RSAPublicKey` DER.
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    der(0x30, &[der_uint(n), der_uint(e)].concat())
}

/// X.509 `SubjectPublicKeyInfo` DER of an RSA key (rsaEncryption, NULL parameters).
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ENCRYPTION: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let alg_id = der(
        0x30,
        &[der(0x06, &RSA_ENCRYPTION), vec![0x05, 0x00]].concat(),
    );
    let mut bits = vec![0u8];
    bits.extend(rsa_pkcs1_der(n, e));
    der(0x30, &[alg_id, der(0x03, &bits)].concat())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

// ---------------------------------------------------------------------------------------------
// The case runner

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 400 `invalid_request`.
    BadRequest,
    /// 401 `invalid_token` whose description contains this text ("" for any reason).
    Invalid(&'static str),
    /// 401 with a bare challenge: no bearer token was found at all.
    NoToken,
}

// Descriptions (rejection.rs) that name the reason of an `invalid_token`.
const ANY: &str = "";
const TOO_LARGE: &str = "too large";
const MALFORMED: &str = "not a well-formed JWT";
const CRIT: &str = "unsupported header extensions";
const BAD_TYP: &str = "type is not accepted";
const ALG: &str = "signing algorithm is not accepted";
const ISSUER: &str = "issuer is not trusted";
const UNKNOWN_KEY: &str = "unknown key";
const SIGNATURE: &str = "signature is invalid";
const EXPIRED: &str = "has expired";
const CLAIM: &str = "invalid value";
const AUDIENCE: &str = "not meant for this audience";
const NO_SUBJECT: &str = "has no subject";
const ID_TOKEN: &str = "is an ID token";
const BOUND: &str = "bound to a key";

struct Case {
    name: String,
    method: Method,
    path: String,
    /// `Authorization` header values, raw bytes.
    authorization: Vec<Vec<u8>>,
    other_headers: Vec<(&'static str, String)>,
    body: String,
    /// Text that must never appear in a response (tokens).
    secrets: Vec<String>,
    expect: Expect,
}

impl Case {
    fn header_values(name: impl Into<String>, values: Vec<Vec<u8>>, expect: Expect) -> Self {
        let secrets = values
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v)
                    .split([' ', '\t'])
                    .filter(|s| s.len() >= 16)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            name: name.into(),
            method: Method::GET,
            path: "/me".to_owned(),
            authorization: values,
            other_headers: Vec::new(),
            body: String::new(),
            secrets,
            expect,
        }
    }

    fn header(name: impl Into<String>, value: impl Into<Vec<u8>>, expect: Expect) -> Self {
        Self::header_values(name, vec![value.into()], expect)
    }

    fn bearer(name: impl Into<String>, token: &str, expect: Expect) -> Self {
        let mut case = Self::header(name, format!("Bearer {token}"), expect);
        case.secret(token);
        case
    }

    fn secret(&mut self, token: &str) {
        if token.len() >= 16 {
            self.secrets.push(token.to_owned());
        }
        for part in token.split('.').filter(|p| p.len() >= 16) {
            self.secrets.push(part.to_owned());
        }
    }
}

struct Outcome {
    status: StatusCode,
    challenge: Option<String>,
    headers: String,
    body: String,
}

async fn send(app: &Router, request: Request<Body>) -> Outcome {
    let response: Response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers = format!("{:?}", response.headers());
    let body = match response.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => panic!("body: {e}"),
    };
    Outcome {
        status,
        challenge,
        headers,
        body,
    }
}

fn check(case: &Case, out: &Outcome) -> Result<(), String> {
    let json: Value = serde_json::from_str(&out.body).unwrap_or(Value::Null);
    let error = json["error"].as_str().unwrap_or_default();
    let description = json["error_description"].as_str().unwrap_or_default();
    let challenge = out.challenge.as_deref().unwrap_or_default();
    let (status, code, challenge_ok) = match case.expect {
        Expect::BadRequest => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            challenge.contains("error=\"invalid_request\""),
        ),
        Expect::Invalid(_) => (
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            challenge.contains("error=\"invalid_token\""),
        ),
        Expect::NoToken => (
            StatusCode::UNAUTHORIZED,
            "missing_token",
            challenge == "Bearer realm=\"api\"",
        ),
    };
    if out.status != status {
        return Err(format!(
            "status {} (body {}), wanted {status}",
            out.status, out.body
        ));
    }
    if error != code || !challenge_ok {
        return Err(format!(
            "error {error:?}, challenge {challenge:?}, wanted {code}"
        ));
    }
    if let Expect::Invalid(reason) = case.expect {
        if !description.contains(reason) {
            return Err(format!("description {description:?}, wanted {reason:?}"));
        }
    }
    for secret in &case.secrets {
        if out.body.contains(secret.as_str()) || out.headers.contains(secret.as_str()) {
            return Err("the response echoes the token".to_owned());
        }
    }
    Ok(())
}

/// Runs every case, prints `name → status`, and fails with the list of cases that did not
/// get what they expected.
async fn run(app: &Router, cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let mut request = Request::builder()
            .method(case.method.clone())
            .uri(case.path.as_str());
        for value in &case.authorization {
            match HeaderValue::from_bytes(value) {
                Ok(v) => request = request.header(header::AUTHORIZATION, v),
                Err(e) => panic!("{}: not a header value: {e}", case.name),
            }
        }
        for (name, value) in &case.other_headers {
            request = request.header(*name, value.as_str());
        }
        let request = match request.body(Body::from(case.body.clone())) {
            Ok(r) => r,
            Err(e) => panic!("{}: request: {e}", case.name),
        };
        let out = send(app, request).await;
        assert!(
            !out.status.is_success() && !out.status.is_server_error(),
            "{}: got {}",
            case.name,
            out.status
        );
        let verdict = check(&case, &out);
        let description = serde_json::from_str::<Value>(&out.body)
            .ok()
            .and_then(|j| j["error_description"].as_str().map(str::to_owned))
            .unwrap_or_default();
        eprintln!("{:<72} {} {}", case.name, out.status.as_u16(), description);
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A valid token gets through this app: the refusals above are not an accident of set-up.
async fn assert_accepts(app: &Router, token: &str) {
    let request = Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty());
    let out = send(app, request.unwrap_or_default()).await;
    assert_eq!(
        out.status,
        StatusCode::OK,
        "valid token refused: {}",
        out.body
    );
}

// ---------------------------------------------------------------------------------------------
// RFC 8725 §2.1 / §3.1: `alg: none`, algorithm confusion

#[tokio::test]
async fn alg_none_in_every_spelling_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let mut cases = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE", "none ", "", "null"] {
        let with_kid = json!({"alg": alg, "typ": "JWT", "kid": rs}).to_string();
        let without_kid = json!({"alg": alg, "typ": "JWT"}).to_string();
        cases.push(Case::bearer(
            format!("alg {alg:?}, empty signature"),
            &issuer.sign_raw(&without_kid, &payload, None),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with the real kid, empty signature"),
            &issuer.sign_raw(&with_kid, &payload, None),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with a real RS256 signature over it"),
            &issuer.sign_raw(&with_kid, &payload, Some(&rs)),
            Expect::Invalid(ALG),
        ));
        cases.push(Case::bearer(
            format!("alg {alg:?} with a junk signature"),
            &format!(
                "{}c2lnbmF0dXJl",
                issuer.sign_raw(&without_kid, &payload, None)
            ),
            Expect::Invalid(ALG),
        ));
    }
    let stripped = format!(
        "{}.{}",
        b64url(json!({"alg":"none"}).to_string().as_bytes()),
        b64url(payload.as_bytes())
    );
    cases.push(Case::bearer(
        "alg none without the signature part (two segments)",
        &stripped,
        Expect::Invalid(MALFORMED),
    ));
    cases.push(Case::bearer(
        "TokenBuilder::unsigned()",
        &issuer.token().claim("roles", json!(["admin"])).unsigned(),
        Expect::Invalid(ALG),
    ));
    for alg in [
        "rs256", "RS256 ", "RSA256", "HS1", "ES512", "ES256K", "Ed25519", "RSA-OAEP",
    ] {
        cases.push(Case::bearer(
            format!("unknown alg {alg:?} over a real RS256 signature"),
            &rs_signed(
                &issuer,
                &json!({"alg": alg, "kid": rs}).to_string(),
                &payload,
            ),
            Expect::Invalid(ALG),
        ));
    }
    for alg in [
        json!(["RS256"]),
        json!(null),
        json!(256),
        json!({"name":"RS256"}),
    ] {
        cases.push(Case::bearer(
            format!("alg of the wrong type: {alg}"),
            &rs_signed(
                &issuer,
                &json!({"alg": alg, "kid": rs}).to_string(),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ));
    }
    cases.push(Case::bearer(
        "no alg member at all",
        &rs_signed(&issuer, &json!({"kid": rs}).to_string(), &payload),
        Expect::Invalid(MALFORMED),
    ));
    run(&app, cases).await;
}

#[tokio::test]
async fn hmac_signed_with_the_rsa_public_key_in_any_encoding_is_refused() {
    let issuer = real_issuer().await;
    let rs = kid(&issuer, KeyAlg::Rs256);
    let jwk = issuer.public_jwk(&rs).unwrap_or_default();
    let n = b64d(jwk["n"].as_str().unwrap_or_default());
    let e = b64d(jwk["e"].as_str().unwrap_or_default());
    let pkcs1 = rsa_pkcs1_der(&n, &e);
    let spki = rsa_spki_der(&n, &e);
    // The encodings are right: an RSA-2048 SPKI always starts like this, and the PKCS#1 form
    // verifies the issuer's own RS256 signature.
    let spki_pem = pem("PUBLIC KEY", &spki);
    assert!(
        spki_pem.contains("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
        "{spki_pem}"
    );
    let good = issuer.user_token("alice");
    let (h, p, s) = parts(&good);
    let verified = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &pkcs1,
    )
    .verify(format!("{h}.{p}").as_bytes(), &b64d(&s));
    assert!(verified.is_ok(), "PKCS#1 DER encoding is wrong");

    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the JWK as published (JSON)", jwk.to_string().into_bytes()),
        ("the JWK pretty-printed", {
            serde_json::to_vec_pretty(&jwk).unwrap_or_default()
        }),
        (
            "the whole JWKS document",
            issuer.jwks().to_string().into_bytes(),
        ),
        (
            "n, base64url text",
            jwk["n"].as_str().unwrap_or_default().as_bytes().to_vec(),
        ),
        ("n, raw bytes", n.clone()),
        ("SPKI DER", spki.clone()),
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        (
            "SPKI PEM without the final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        (
            "SPKI PEM with CRLF",
            spki_pem.replace('\n', "\r\n").into_bytes(),
        ),
        ("PKCS#1 DER", pkcs1.clone()),
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("the kid", rs.clone().into_bytes()),
        ("an empty secret", Vec::new()),
    ];
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let mut cases = Vec::new();
    for (what, secret) in &secrets {
        for alg in ["HS256", "HS384", "HS512"] {
            let header = json!({"typ":"JWT","kid": rs});
            cases.push(Case::bearer(
                format!("{alg} keyed with {what}, RSA kid"),
                &hmac_token(alg, &header, &payload, secret),
                Expect::Invalid(ALG),
            ));
            cases.push(Case::bearer(
                format!("{alg} keyed with {what}, no kid"),
                &hmac_token(alg, &json!({"typ":"JWT"}), &payload, secret),
                Expect::Invalid(ALG),
            ));
        }
    }
    // The testkit's own helper, too.
    cases.push(Case::bearer(
        "TokenBuilder::sign_hs256 with the JWK JSON",
        &issuer
            .token()
            .kid(&rs)
            .sign_hs256(jwk.to_string().as_bytes()),
        Expect::Invalid(ALG),
    ));
    let app = app(config(&issuer));
    assert_accepts(&app, &good).await;
    run(&app, cases).await;

    // An issuer that does have an HMAC secret: the public key is still not the secret.
    let secret = [7u8; 32];
    let with_secret = router_with_hmac(&issuer, &secret);
    assert_accepts(&with_secret, &issuer.token().sign_hs256(&secret)).await;
    assert_accepts(&with_secret, &good).await;
    let mut cases = Vec::new();
    for (what, key) in &secrets {
        cases.push(Case::bearer(
            format!("HS256 keyed with {what}, issuer has its own HMAC secret"),
            &hmac_token("HS256", &json!({"typ":"JWT"}), &payload, key),
            Expect::Invalid(SIGNATURE),
        ));
    }
    run(&with_secret, cases).await;
}

fn router_with_hmac(issuer: &MockIssuer, secret: &[u8]) -> Router {
    app(AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).hmac_secret(secret.to_vec()))
        .audience(issuer.audience())
        .clock(ManualClock::new())
        .connect_timeout(Duration::from_secs(5))
        .fetch_timeout(Duration::from_secs(10)))
}

#[tokio::test]
async fn a_header_alg_that_does_not_fit_the_key_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let es = kid(&issuer, KeyAlg::Es256);
    let ed = kid(&issuer, KeyAlg::EdDsa);
    let payload = Value::Object(claims(&issuer)).to_string();
    let signed = |alg: &str, kid_in_header: Option<&str>, signer: &str| {
        let mut h = json!({"alg": alg, "typ": "JWT"});
        if let Some(k) = kid_in_header {
            h["kid"] = json!(k);
        }
        issuer.sign_raw(&h.to_string(), &payload, Some(signer))
    };
    let cases = vec![
        Case::bearer(
            "ES256 header, RSA kid, RSA signature",
            &signed("ES256", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "ES256 header, no kid, RSA signature",
            &signed("ES256", None, &rs),
            Expect::Invalid(SIGNATURE),
        ),
        Case::bearer(
            "ES384 header, EC kid, ES256 signature",
            &signed("ES384", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "EdDSA header, EC kid, ES256 signature",
            &signed("EdDSA", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "EdDSA header, no kid, ES256 signature",
            &signed("EdDSA", None, &es),
            Expect::Invalid(SIGNATURE),
        ),
        Case::bearer(
            "ES256 header, Ed25519 kid, EdDSA signature",
            &signed("ES256", Some(&ed), &ed),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS256 header, EC kid, ES256 signature",
            &signed("RS256", Some(&es), &es),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "PS256 header over an RS256 (PKCS#1 v1.5) signature",
            &signed("PS256", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS512 header over an RS256 signature",
            &signed("RS512", Some(&rs), &rs),
            Expect::Invalid(UNKNOWN_KEY),
        ),
        Case::bearer(
            "RS256 header, RSA kid, EdDSA signature",
            &signed("RS256", Some(&rs), &ed),
            Expect::Invalid(SIGNATURE),
        ),
    ];
    run(&app, cases).await;
}

// ---------------------------------------------------------------------------------------------
// RFC 8725 §3.10 and RFC 7515 §4.1: keys named or embedded by the token itself

#[tokio::test]
async fn keys_injected_through_jwk_jku_x5u_x5c_are_never_used_or_fetched() {
    let issuer = real_issuer().await;
    let evil = attacker().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = claims_with(&issuer, "roles", json!(["admin"]));
    let mut cases = Vec::new();
    for alg in KeyAlg::ALL {
        let evil_kid = kid(&evil, alg);
        let evil_jwk = evil.public_jwk(&evil_kid).unwrap_or_default();
        let real_kid = kid(&issuer, alg);
        let by_evil = |header: Value| evil.sign_raw(&header.to_string(), &payload, Some(&evil_kid));
        let a = alg.as_str();
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, attacker's kid"),
            &by_evil(json!({"alg": a, "kid": evil_kid, "jwk": evil_jwk})),
            Expect::Invalid(UNKNOWN_KEY),
        ));
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, real kid"),
            &by_evil(json!({"alg": a, "kid": real_kid, "jwk": evil_jwk})),
            Expect::Invalid(SIGNATURE),
        ));
        cases.push(Case::bearer(
            format!("{a}: attacker's key in `jwk`, no kid"),
            &by_evil(json!({"alg": a, "jwk": evil_jwk})),
            Expect::Invalid(SIGNATURE),
        ));
        for (member, url) in [
            ("jku", evil.jwks_uri()),
            ("x5u", evil.jwks_uri()),
            ("jku", evil.discovery_url()),
        ] {
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, attacker's kid"),
                &by_evil(json!({"alg": a, "kid": evil_kid, member: url})),
                Expect::Invalid(UNKNOWN_KEY),
            ));
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, real kid"),
                &by_evil(json!({"alg": a, "kid": real_kid, member: url})),
                Expect::Invalid(SIGNATURE),
            ));
            cases.push(Case::bearer(
                format!("{a}: `{member}` = attacker's {url}, no kid"),
                &by_evil(json!({"alg": a, member: url})),
                Expect::Invalid(SIGNATURE),
            ));
        }
        for x5c in [
            json!(["MIIjunk"]),
            json!(["!!not base64!!"]),
            json!([]),
            json!("MIIB"),
            json!([{"x":1}]),
        ] {
            cases.push(Case::bearer(
                format!("{a}: junk `x5c` {x5c}, real kid, attacker's signature"),
                &by_evil(json!({"alg": a, "kid": real_kid, "x5c": x5c})),
                Expect::Invalid(SIGNATURE),
            ));
        }
        cases.push(Case::bearer(
            format!("{a}: everything at once (jwk + jku + x5u + x5c), attacker's kid"),
            &by_evil(
                json!({"alg": a, "kid": evil_kid, "jwk": evil_jwk, "jku": evil.jwks_uri(),
                "x5u": evil.jwks_uri(), "x5c": ["MIIjunk"]}),
            ),
            Expect::Invalid(UNKNOWN_KEY),
        ));
    }
    // The attacker's own, perfectly valid, token for its own issuer.
    cases.push(Case::bearer(
        "a valid token of an untrusted issuer",
        &evil.user_token("alice"),
        Expect::Invalid(ISSUER),
    ));
    run(&app, cases).await;
    assert_eq!(
        evil.request_log(),
        Vec::<String>::new(),
        "the attacker's server was contacted"
    );
}

// ---------------------------------------------------------------------------------------------
// `kid` tricks

#[tokio::test]
async fn kid_tricks_are_refused() {
    let issuer = real_issuer().await;
    let evil = attacker().await;
    let app = app(config(&issuer));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let payload = Value::Object(claims(&issuer)).to_string();
    let rs = kid(&issuer, KeyAlg::Rs256);
    let es = kid(&issuer, KeyAlg::Es256);
    let long_kid = "k".repeat(10 * 1024);
    let mut cases = Vec::new();
    let strings: Vec<(&str, String)> = vec![
        ("path traversal", "../../dev/null".into()),
        ("absolute path", "/etc/passwd".into()),
        ("file URL", "file:///dev/null".into()),
        ("SQL injection", "' OR 1=1--".into()),
        ("SQL injection, real kid prefix", format!("{rs}' OR '1'='1")),
        ("empty string", String::new()),
        ("a NUL", "\u{0}".into()),
        ("real kid + NUL", format!("{rs}\u{0}")),
        ("real kid + space", format!("{rs} ")),
        ("real kid upper-cased", rs.to_uppercase()),
        ("real kid as a prefix", rs[..rs.len() - 1].to_owned()),
        ("the EC key's kid under RS256", es.clone()),
        ("the attacker's kid", kid(&evil, KeyAlg::Rs256)),
        ("10 KiB long", long_kid.clone()),
    ];
    for (what, k) in &strings {
        cases.push(Case::bearer(
            format!("kid {what}, real RS256 signature"),
            &rs_signed(
                &issuer,
                &json!({"alg":"RS256","kid": k}).to_string(),
                &payload,
            ),
            Expect::Invalid(UNKNOWN_KEY),
        ));
    }
    let long = rs_signed(
        &issuer,
        &json!({"alg":"RS256","kid": long_kid}).to_string(),
        &payload,
    );
    assert!(
        long.len() < CAP,
        "the long-kid token must stay under the cap"
    );
    for k in [
        json!(1),
        json!(-0.5),
        json!({"kid": rs}),
        json!([rs]),
        json!(null),
        json!(true),
    ] {
        cases.push(Case::bearer(
            format!("kid of the wrong type: {k}"),
            &rs_signed(
                &issuer,
                &json!({"alg":"RS256","kid": k}).to_string(),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ));
    }
    let evil_kid = kid(&evil, KeyAlg::Rs256);
    cases.push(Case::bearer(
        "kid of another issuer's key, signed by that key, our iss",
        &evil.sign_raw(
            &json!({"alg":"RS256","kid": evil_kid}).to_string(),
            &payload,
            Some(&evil_kid),
        ),
        Expect::Invalid(UNKNOWN_KEY),
    ));
    cases.push(Case::bearer(
        "real kid, signed by another issuer's key",
        &evil.sign_raw(
            &json!({"alg":"RS256","kid": rs}).to_string(),
            &payload,
            Some(&evil_kid),
        ),
        Expect::Invalid(SIGNATURE),
    ));
    run(&app, cases).await;
    assert!(evil.request_log().is_empty());
}

// ---------------------------------------------------------------------------------------------
// `crit`, signatures, tampering

#[tokio::test]
async fn critical_header_extensions_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let mut cases = Vec::new();
    for (what, extra) in [
        (
            "unknown crit extension",
            json!({"crit":["x-unknown"],"x-unknown":1}),
        ),
        (
            "crit naming a registered claim",
            json!({"crit":["exp"],"exp":1}),
        ),
        (
            "crit b64:false (RFC 7797), payload still encoded",
            json!({"crit":["b64"],"b64":false}),
        ),
        ("empty crit list", json!({"crit":[]})),
        ("crit not a list", json!({"crit":"b64"})),
        ("crit null", json!({"crit":null})),
    ] {
        let mut h = json!({"alg":"RS256","kid": rs});
        if let (Some(h), Some(extra)) = (h.as_object_mut(), extra.as_object()) {
            h.extend(extra.clone());
        }
        cases.push(Case::bearer(
            format!("{what}: {h}"),
            &rs_signed(&issuer, &h.to_string(), &payload),
            Expect::Invalid(CRIT),
        ));
    }
    // RFC 7797's unencoded payload in compact form: the JSON is not a b64token at all.
    let header = json!({"alg":"RS256","kid": rs,"crit":["b64"],"b64":false}).to_string();
    let token = rs_signed(&issuer, &header, &payload);
    let (h, _, s) = parts(&token);
    cases.push(Case::bearer(
        "crit b64:false with the raw JSON payload in the token",
        &format!("{h}.{payload}.{s}"),
        Expect::BadRequest,
    ));
    run(&app, cases).await;
}

fn flip_bit(sig: &str, byte: usize, bit: u8) -> String {
    let mut raw = b64d(sig);
    let i = byte.min(raw.len().saturating_sub(1));
    if let Some(b) = raw.get_mut(i) {
        *b ^= 1 << bit;
    }
    b64url(&raw)
}

fn retamper(token: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let (h, p, s) = parts(token);
    let mut claims: Map<String, Value> = serde_json::from_slice(&b64d(&p)).unwrap_or_default();
    edit(&mut claims);
    format!(
        "{h}.{}.{s}",
        b64url(Value::Object(claims).to_string().as_bytes())
    )
}

#[tokio::test]
async fn stripped_swapped_truncated_and_altered_signatures_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let mut cases = Vec::new();
    for alg in KeyAlg::ALL {
        let a = alg.as_str();
        let token = issuer.token().alg(alg).claim("sub", "alice").sign();
        let other = issuer.token().alg(alg).claim("sub", "mallory").sign();
        assert_accepts(&app, &token).await;
        let (h, p, s) = parts(&token);
        let (_, _, other_sig) = parts(&other);
        let sig_len = b64d(&s).len();
        cases.extend([
            Case::bearer(
                format!("{a}: signature stripped (h.p.)"),
                &format!("{h}.{p}."),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature and its dot stripped (h.p)"),
                &format!("{h}.{p}"),
                Expect::Invalid(MALFORMED),
            ),
            Case::bearer(
                format!("{a}: signature of another token"),
                &format!("{h}.{p}.{other_sig}"),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature text truncated by 4 chars"),
                &format!("{h}.{p}.{}", &s[..s.len() - 4]),
                Expect::Invalid(ANY),
            ),
            Case::bearer(
                format!("{a}: signature truncated by 4 bytes"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s)[..sig_len - 4])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature truncated to half"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s)[..sig_len / 2])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature with a byte appended"),
                &format!("{h}.{p}.{}", b64url(&[b64d(&s), vec![0]].concat())),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: signature doubled"),
                &format!("{h}.{p}.{}", b64url(&b64d(&s).repeat(2))),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: first signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, 0, 7)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: middle signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, sig_len / 2, 3)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: last signature bit flipped"),
                &format!("{h}.{p}.{}", flip_bit(&s, sig_len, 0)),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: all-zero signature (psychic signature)"),
                &format!("{h}.{p}.{}", b64url(&vec![0u8; sig_len])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: all-0xff signature"),
                &format!("{h}.{p}.{}", b64url(&vec![0xffu8; sig_len])),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload sub changed, old signature"),
                &retamper(&token, |c| {
                    c.insert("sub".into(), json!("admin"));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload roles added, old signature"),
                &retamper(&token, |c| {
                    c.insert("roles".into(), json!(["admin"]));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload exp extended, old signature"),
                &retamper(&token, |c| {
                    c.insert("exp".into(), json!(now() + 86_400 * 365));
                }),
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: payload re-serialized with spaces, old signature"),
                &{
                    let claims: Value = serde_json::from_slice(&b64d(&p)).unwrap_or_default();
                    let pretty = serde_json::to_string_pretty(&claims).unwrap_or_default();
                    format!("{h}.{}.{s}", b64url(pretty.as_bytes()))
                },
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: header typ changed, old signature"),
                &{
                    let mut header: Value = serde_json::from_slice(&b64d(&h)).unwrap_or_default();
                    header["typ"] = json!("at+jwt");
                    format!("{}.{p}.{s}", b64url(header.to_string().as_bytes()))
                },
                Expect::Invalid(SIGNATURE),
            ),
            Case::bearer(
                format!("{a}: header and payload of another token"),
                &{
                    let (oh, op, _) = parts(&other);
                    format!("{oh}.{op}.{s}")
                },
                Expect::Invalid(SIGNATURE),
            ),
        ]);
    }
    // An expired token re-dated with the signature kept.
    let expired = issuer.token().expires_in(-3600).sign();
    cases.push(Case::bearer(
        "RS256: expired token with exp pushed forward, old signature",
        &retamper(&expired, |c| {
            c.insert("exp".into(), json!(now() + 3600));
        }),
        Expect::Invalid(SIGNATURE),
    ));
    run(&app, cases).await;
}

// ---------------------------------------------------------------------------------------------
// Look-alike issuers, wrong `typ`

#[tokio::test]
async fn look_alike_issuers_are_refused_without_network_io() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let real = issuer.issuer().to_owned();
    let port = real
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let look_alikes: Vec<(&str, Value)> = vec![
        ("trailing slash", json!(format!("{real}/"))),
        ("upper-case scheme", json!(real.replacen("http", "HTTP", 1))),
        ("different path case", json!(real.replace("main", "Main"))),
        (
            "https instead of http",
            json!(real.replacen("http", "https", 1)),
        ),
        (
            "Cyrillic homoglyph in the path",
            json!(real.replace("main", "m\u{0430}in")),
        ),
        (
            "issuer as a host prefix",
            json!(format!("http://127.0.0.1:{port}.evil.com/realms/main")),
        ),
        (
            "userinfo trick",
            json!(format!("http://127.0.0.1:{port}@evil.com/realms/main")),
        ),
        (
            "localhost instead of 127.0.0.1",
            json!(format!("http://localhost:{port}/realms/main")),
        ),
        (
            "short IPv4 form",
            json!(format!("http://127.1:{port}/realms/main")),
        ),
        (
            "IPv4-mapped IPv6",
            json!(format!("http://[::ffff:127.0.0.1]:{port}/realms/main")),
        ),
        (
            "leading zero in the port",
            json!(format!("http://127.0.0.1:0{port}/realms/main")),
        ),
        ("dot segments", json!(format!("{real}/../main"))),
        ("percent-encoded slash", json!(format!("{real}%2F"))),
        ("query string", json!(format!("{real}?x=1"))),
        ("fragment", json!(format!("{real}#x"))),
        (
            "path prefix of the issuer",
            json!(real.trim_end_matches("/main")),
        ),
        ("the issuer plus a suffix", json!(format!("{real}2"))),
        ("leading space", json!(format!(" {real}"))),
        ("trailing NUL", json!(format!("{real}\u{0}"))),
        ("trailing newline", json!(format!("{real}\n"))),
        ("the attacker's issuer", json!("http://127.0.0.1:1/evil")),
        ("empty string", json!("")),
    ];
    let mut cases = Vec::new();
    for (what, iss) in look_alikes {
        let payload = claims_with(&issuer, "iss", iss.clone());
        cases.push(Case::bearer(
            format!("iss look-alike: {what} ({iss})"),
            &rs_signed(&issuer, &rs_header(&issuer), &payload),
            Expect::Invalid(ISSUER),
        ));
    }
    for iss in [json!([real]), json!({"iss": real}), json!(null), json!(1)] {
        cases.push(Case::bearer(
            format!("iss of the wrong type: {iss}"),
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &claims_with(&issuer, "iss", iss.clone()),
            ),
            Expect::Invalid(ISSUER),
        ));
    }
    let mut no_iss = claims(&issuer);
    no_iss.remove("iss");
    cases.push(Case::bearer(
        "no iss at all",
        &rs_signed(
            &issuer,
            &rs_header(&issuer),
            &Value::Object(no_iss).to_string(),
        ),
        Expect::Invalid(ISSUER),
    ));
    run(&app, cases).await;
    // The unverified `iss` picked no issuer: nothing was fetched from the real one.
    assert_eq!(issuer.request_log(), Vec::<String>::new());
    // The set-up is sound: the real issuer's token passes (and only now are keys fetched).
    assert_accepts(&app, &issuer.user_token("alice")).await;
    assert!(!issuer.request_log().is_empty());
}

#[tokio::test]
async fn wrong_typ_is_refused_in_strict_mode() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer).typ_policy(TypPolicy::StrictAccessToken));
    assert_accepts(&app, &issuer.token().header("typ", "at+jwt").sign()).await;
    let mut cases = vec![Case::bearer(
        "strict: typ missing",
        &issuer.token().without_header("typ").sign(),
        Expect::Invalid(BAD_TYP),
    )];
    for typ in [
        "JWT",
        "jwt",
        "jwt+at",
        "at+jwt ",
        " at+jwt",
        "at+jwt\u{0}",
        "at+jwt;v=1",
        "application/jwt",
        "application/at+jwt+x",
        "at%2Bjwt",
        "at jwt",
        "JOSE",
        "JOSE+JSON",
        "id_token+jwt",
        "logout+jwt",
        "",
    ] {
        cases.push(Case::bearer(
            format!("strict: typ {typ:?}"),
            &issuer.token().header("typ", typ).sign(),
            Expect::Invalid(BAD_TYP),
        ));
    }
    for typ in [json!(["at+jwt"]), json!(1), json!(null)] {
        cases.push(Case::bearer(
            format!("strict: typ of the wrong type {typ}"),
            &issuer.token().header("typ", typ.clone()).sign(),
            Expect::Invalid(MALFORMED),
        ));
    }
    run(&app, cases).await;
}

// ---------------------------------------------------------------------------------------------
// Sizes and odd `Authorization` headers

/// A validly signed token of exactly `len` bytes, if one can be made (a `pad` claim and a
/// header member adjust the length).
fn token_of_len(issuer: &MockIssuer, len: usize) -> Option<String> {
    for header_pad in 0..4 {
        let mut header = json!({"alg":"RS256","typ":"JWT","kid": kid(issuer, KeyAlg::Rs256)});
        header["x"] = json!("y".repeat(header_pad));
        let header = header.to_string();
        let empty = rs_signed(issuer, &header, &claims_with(issuer, "pad", json!("")));
        if empty.len() > len {
            return None;
        }
        let mut pad = (len - empty.len()) * 3 / 4;
        while pad > 0
            && rs_signed(
                issuer,
                &header,
                &claims_with(issuer, "pad", json!("p".repeat(pad))),
            )
            .len()
                > len
        {
            pad -= 1;
        }
        for p in pad..pad + 4 {
            let t = rs_signed(
                issuer,
                &header,
                &claims_with(issuer, "pad", json!("p".repeat(p))),
            );
            if t.len() == len {
                return Some(t);
            }
        }
    }
    None
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_any_key_fetch() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let over = token_of_len(&issuer, CAP + 1).or_else(|| token_of_len(&issuer, CAP + 2));
    let over = over.unwrap_or_default();
    assert!(over.len() > CAP && over.len() <= CAP + 2, "{}", over.len());
    let huge_payload = claims_with(&issuer, "pad", json!("p".repeat(64 * 1024)));
    let cases = vec![
        Case::bearer(
            format!("validly signed token of {} bytes (cap {CAP})", over.len()),
            &over,
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB of 'A'",
            &"A".repeat(64 * 1024),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB validly signed token",
            &rs_signed(&issuer, &rs_header(&issuer), &huge_payload),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::bearer(
            "64 KiB of dots",
            &".".repeat(64 * 1024),
            Expect::Invalid(TOO_LARGE),
        ),
        Case::header(
            "64 KiB of '!' (not b64token)",
            format!("Bearer {}", "!".repeat(64 * 1024)),
            Expect::BadRequest,
        ),
        Case::header(
            "Bearer and 64 KiB of spaces",
            format!("Bearer{}", " ".repeat(64 * 1024)),
            Expect::BadRequest,
        ),
        Case::header(
            "64 KiB of 'A' without a scheme",
            "A".repeat(64 * 1024),
            Expect::NoToken,
        ),
    ];
    run(&app, cases).await;
    assert_eq!(
        issuer.request_log(),
        Vec::<String>::new(),
        "keys were fetched for an oversized token"
    );
    // The cap is exact: a validly signed token of exactly the cap is accepted.
    let at_cap = token_of_len(&issuer, CAP).or_else(|| token_of_len(&issuer, CAP - 1));
    assert_accepts(&app, &at_cap.unwrap_or_default()).await;
}

#[tokio::test]
async fn odd_authorization_headers_get_the_contract_status() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let token = issuer.user_token("alice");
    let t = token.as_str();
    let (h, p, s) = parts(t);
    let jwe_header = b64url(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let cases = vec![
        Case::header(
            "Bearer + tab + token (tab is not SP: no Bearer credentials)",
            format!("Bearer\t{t}"),
            Expect::NoToken,
        ),
        Case::header("token without a scheme", t, Expect::NoToken),
        Case::header(
            "Bearer: token (colon)",
            format!("Bearer: {t}"),
            Expect::NoToken,
        ),
        Case::header("Bearer=token", format!("Bearer={t}"), Expect::NoToken),
        Case::header("JWT scheme", format!("JWT {t}"), Expect::NoToken),
        Case::header("DPoP scheme", format!("DPoP {t}"), Expect::NoToken),
        Case::header(
            "Basic with the token as credentials",
            format!("Basic {}", STANDARD.encode(format!("{t}:"))),
            Expect::NoToken,
        ),
        Case::header("Bearer and a tab only", "Bearer \t", Expect::BadRequest),
        Case::header(
            "two tokens separated by a tab",
            format!("Bearer {t}\t{t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two tokens separated by spaces",
            format!("Bearer {t}   {t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two tokens separated by a comma",
            format!("Bearer {t},{t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "two credentials, comma and scheme",
            format!("Bearer {t}, Bearer {t}"),
            Expect::BadRequest,
        ),
        Case::header(
            "token in quotes",
            format!("Bearer \"{t}\""),
            Expect::BadRequest,
        ),
        Case::header(
            "non-ASCII (obs-text) byte in the token",
            [b"Bearer ".as_slice(), t.as_bytes(), b"\xc3\xa9"].concat(),
            Expect::BadRequest,
        ),
        Case::header(
            "'=' inside a segment",
            format!("Bearer {h}=.{p}.{s}"),
            Expect::BadRequest,
        ),
        Case::bearer(
            "JWE shape: 5 segments",
            &format!(
                "{jwe_header}.{}.{}.{}.{}",
                b64url(b"k"),
                b64url(b"iv"),
                b64url(b"ct"),
                b64url(b"tag")
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "valid token plus two more segments",
            &format!("{t}.{s}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "4 segments: valid token and a trailing dot",
            &format!("{t}."),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "2 segments: header.payload",
            &format!("{h}.{p}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "1 segment: the payload alone",
            &p,
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer("only dots", "..", Expect::Invalid(MALFORMED)),
        Case::bearer(
            "empty header segment",
            &format!(".{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "empty payload segment",
            &format!("{h}..{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer("leading dot", &format!(".{t}"), Expect::Invalid(MALFORMED)),
    ];
    run(&app, cases).await;
    assert_eq!(issuer.jwks_requests(), 0);
}

/// Formatting RFC 6750 and RFC 9110 allow around a valid token: accepted, and recorded here
/// so that a change is deliberate. (`credentials = "Bearer" 1*SP b64token`; OWS around a
/// field value is not part of it.)
#[tokio::test]
async fn tolerated_formatting_around_a_valid_token() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    for value in [
        format!("Bearer {t}"),
        format!("bearer {t}"),
        format!("BEARER {t}"),
        format!("Bearer {}{t}", " ".repeat(10_000)),
        format!("Bearer {t}   "),
        format!("Bearer {t}\t"),
    ] {
        let request = Request::get("/me")
            .header(header::AUTHORIZATION, value.as_str())
            .body(Body::empty());
        let out = send(&app, request.unwrap_or_default()).await;
        assert_eq!(
            out.status,
            StatusCode::OK,
            "{:?}",
            &value[..value.len().min(40)]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad base64url and bad JSON

fn to_standard_alphabet(s: &str) -> String {
    s.replace('-', "+").replace('_', "/")
}

fn non_canonical_last_char(seg: &str) -> String {
    // The last character of a segment whose length is 2 or 3 mod 4 carries unused low bits;
    // setting one gives a different text that a lenient decoder maps to the same bytes.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = seg.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        if let Some(i) = ALPHABET.iter().position(|c| c == last) {
            *last = ALPHABET[i ^ 1];
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn bad_base64url_is_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let token = issuer.user_token("alice");
    let (h, p, s) = parts(&token);
    assert_eq!(
        s.len() % 4,
        2,
        "an RS256 signature has 4 unused bits in its last char"
    );
    let mut standard = to_standard_alphabet(&token);
    if standard == token {
        standard = format!("{h}.{p}.+{s}");
    }
    let cases = vec![
        Case::bearer(
            "padding '=' on the signature",
            &format!("{token}="),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "padding '==' on the signature",
            &format!("{token}=="),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "standard alphabet ('+', '/') instead of base64url",
            &standard,
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'+' in the header segment",
            &format!("+{h}.{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'/' in the payload segment",
            &format!("{h}.{p}/.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "'~' in the signature segment",
            &format!("{h}.{p}.{s}~"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "one extra character (impossible length)",
            &format!("{h}A.{p}.{s}"),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "non-canonical trailing bits in the signature",
            &format!("{h}.{p}.{}", non_canonical_last_char(&s)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "empty header, payload and signature",
            "..",
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "base64url of base64url (double encoding)",
            &format!("{}.{}.{s}", b64url(h.as_bytes()), b64url(p.as_bytes())),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

#[tokio::test]
async fn bad_json_is_refused_without_overflowing_the_stack() {
    let issuer = real_issuer().await;
    // A large cap so the nesting reaches the JSON parser.
    let app = app(config(&issuer).max_token_bytes(1 << 20));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    let header = rs_header(&issuer);
    let payload = Value::Object(claims(&issuer)).to_string();
    let with_claim_text = |name: &str, raw: &str| {
        let mut c = payload.clone();
        c.pop();
        format!("{c},\"{name}\":{raw}}}")
    };
    let signed = |h: &str, p: &str| rs_signed(&issuer, h, p);
    let unsigned_bytes =
        |h: &[u8], p: &[u8]| format!("{}.{}.{}", b64url(h), b64url(p), b64url(b"sig"));
    let mut cases = vec![
        Case::bearer("header is an array", &signed("[\"RS256\"]", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is a string", &signed("\"RS256\"", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is null", &signed("null", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is a number", &signed("1", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header is unterminated", &signed("{\"alg\":\"RS256\"", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with single quotes", &signed("{'alg':'RS256'}", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with a comment", &signed("{\"alg\":\"RS256\"/*x*/}", &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with trailing garbage", &signed(&format!("{header}x"), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("header with a byte-order mark", &signed(&format!("\u{feff}{header}"), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is an array", &signed(&header, &format!("[{payload}]")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is a string", &signed(&header, "\"alice\""), Expect::Invalid(MALFORMED)),
        Case::bearer("payload is empty", &signed(&header, ""), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with trailing garbage", &signed(&header, &format!("{payload}garbage")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload followed by a second object", &signed(&header, &format!("{payload}{{}}")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a trailing comma", &signed(&header, &format!("{},}}", &payload[..payload.len() - 1])), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with NaN", &signed(&header, &with_claim_text("x", "NaN")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with Infinity", &signed(&header, &with_claim_text("x", "Infinity")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a lone surrogate", &signed(&header, &with_claim_text("x", "\"\\ud800\"")), Expect::Invalid(MALFORMED)),
        Case::bearer("payload with a raw control character", &signed(&header, &with_claim_text("x", "\"a\u{1}b\"")), Expect::Invalid(MALFORMED)),
        Case::bearer("invalid UTF-8 in the payload JSON", &unsigned_bytes(header.as_bytes(), &[b"{\"sub\":\"".as_slice(), b"\xff\xfe", b"\"}"].concat()), Expect::Invalid(MALFORMED)),
        Case::bearer("invalid UTF-8 in the header JSON", &unsigned_bytes(b"{\"alg\":\"RS\xff256\"}", payload.as_bytes()), Expect::Invalid(MALFORMED)),
        Case::bearer("overlong UTF-8 encoding in the payload", &unsigned_bytes(header.as_bytes(), b"{\"sub\":\"\xc0\xaf\"}"), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays in a claim", &signed(&header, &with_claim_text("deep", &nested_arrays(10_000))), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested objects in a claim", &signed(&header, &with_claim_text("deep", &nested_objects(10_000))), Expect::Invalid(MALFORMED)),
        Case::bearer("129 nested arrays (just past serde_json's limit)", &signed(&header, &with_claim_text("deep", &nested_arrays(129))), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays as the payload", &signed(&header, &nested_arrays(10_000)), Expect::Invalid(MALFORMED)),
        Case::bearer("10 000 nested arrays in the header", &signed(&format!("{{\"alg\":\"RS256\",\"x\":{}}}", nested_arrays(10_000)), &payload), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = 1e400 (overflows f64)", &signed(&header, &with_claim_text("exp", "1e400").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = -1e400", &signed(&header, &with_claim_text("exp", "-1e400").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(MALFORMED)),
        Case::bearer("exp = -1", &signed(&header, &claims_with(&issuer, "exp", json!(-1))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = 0", &signed(&header, &claims_with(&issuer, "exp", json!(0))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = i64::MIN", &signed(&header, &claims_with(&issuer, "exp", json!(i64::MIN))), Expect::Invalid(EXPIRED)),
        Case::bearer("exp = -1e300 (beyond i64 seconds)", &signed(&header, &claims_with(&issuer, "exp", json!(-1e300))), Expect::Invalid(CLAIM)),
        Case::bearer("exp = -(10^30), a huge negative integer (beyond i64)", &signed(&header, &with_claim_text("exp", "-1000000000000000000000000000000").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 10^30, a huge positive integer (regression: was clamped to i64::MAX and accepted)", &signed(&header, &with_claim_text("exp", "1000000000000000000000000000000").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = u64::MAX (beyond i64; was accepted)", &signed(&header, &claims_with(&issuer, "exp", json!(u64::MAX))), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 2^63 as a float (first value beyond i64)", &signed(&header, &with_claim_text("exp", "9223372036854775808.0").replacen("\"exp\":", "\"old_exp\":", 1)), Expect::Invalid(CLAIM)),
        Case::bearer("exp = 1e300 (beyond i64; was accepted)", &signed(&header, &claims_with(&issuer, "exp", json!(1e300))), Expect::Invalid(CLAIM)),
        Case::bearer("nbf = -(10^30) (beyond i64)", &signed(&header, &with_claim_text("nbf", "-1000000000000000000000000000000")), Expect::Invalid(CLAIM)),
        Case::bearer("iat = u64::MAX (beyond i64)", &signed(&header, &claims_with(&issuer, "iat", json!(u64::MAX))), Expect::Invalid(CLAIM)),
        Case::bearer("nbf = 1e400", &signed(&header, &with_claim_text("nbf", "1e400")), Expect::Invalid(MALFORMED)),
        Case::bearer("iat = 1e400", &signed(&header, &with_claim_text("iat", "1e400")), Expect::Invalid(MALFORMED)),
    ];
    // The same nesting under the default cap: refused as too large, before parsing.
    let default_cap = self::app(config(&issuer));
    run(&app, std::mem::take(&mut cases)).await;
    cases.push(Case::bearer(
        "10 000 nested arrays, default cap",
        &signed(&header, &with_claim_text("deep", &nested_arrays(10_000))),
        Expect::Invalid(TOO_LARGE),
    ));
    run(&default_cap, cases).await;
}

// ---------------------------------------------------------------------------------------------
// Only access tokens: ID tokens, bound tokens sent as Bearer, duplicates at any depth

#[tokio::test]
async fn id_tokens_and_bound_tokens_sent_as_bearer_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let header = rs_header(&issuer);
    let signed =
        |name: &str, value: Value| rs_signed(&issuer, &header, &claims_with(&issuer, name, value));
    let cases = vec![
        Case::bearer(
            "Cognito ID token (token_use: id) with admin groups",
            &rs_signed(&issuer, &header, &{
                let mut c = claims(&issuer);
                c.insert("token_use".into(), json!("id"));
                c.insert("cognito:groups".into(), json!(["admin"]));
                Value::Object(c).to_string()
            }),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "Keycloak ID token (typ claim ID)",
            &signed("typ", json!("ID")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "typ claim id, lower case",
            &signed("typ", json!("id")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "OIDC ID token with at_hash",
            &signed("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "OIDC ID token with c_hash",
            &signed("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "at_hash of another type still marks an ID token",
            &signed("at_hash", json!(1)),
            Expect::Invalid(ID_TOKEN),
        ),
        Case::bearer(
            "DPoP-bound token (cnf.jkt) as Bearer",
            &signed(
                "cnf",
                json!({"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
            ),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "mTLS-bound token (cnf.x5t#S256) as Bearer",
            &signed(
                "cnf",
                json!({"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            ),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "cnf of an unknown confirmation method as Bearer",
            &signed("cnf", json!({"kid":"k"})),
            Expect::Invalid(BOUND),
        ),
        Case::bearer(
            "an unsigned ID token is reported as a bad signature, not an ID token",
            &{
                let t = signed("token_use", json!("id"));
                let (h, p, _) = parts(&t);
                format!("{h}.{p}.{}", b64url(b"not a signature"))
            },
            Expect::Invalid(SIGNATURE),
        ),
    ];
    run(&app, cases).await;
    assert_accepts(&app, &signed("token_use", json!("access"))).await;
    assert_accepts(&app, &signed("typ", json!("Bearer"))).await;
}

#[tokio::test]
async fn id_tokens_pass_only_for_an_issuer_that_lifts_the_rule() {
    let issuer = real_issuer().await;
    let lifted = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).accept_id_tokens())
        .audience(issuer.audience())
        .clock(ManualClock::new());
    let app = app(lifted);
    let header = rs_header(&issuer);
    let id_token = rs_signed(
        &issuer,
        &header,
        &claims_with(&issuer, "at_hash", json!("x")),
    );
    assert_accepts(&app, &id_token).await;
    // Lifting the ID-token rule never lets a bound token through as Bearer.
    let bound = rs_signed(
        &issuer,
        &header,
        &claims_with(&issuer, "cnf", json!({"jkt":"x"})),
    );
    run(
        &app,
        vec![Case::bearer(
            "bound token, ID tokens allowed",
            &bound,
            Expect::Invalid(BOUND),
        )],
    )
    .await;
}

#[tokio::test]
async fn duplicate_members_are_refused_at_any_depth() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer).roles_claim("ext.roles"));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let body = &payload[1..payload.len() - 1];
    let with = |extra: &str| format!("{{{body},{extra}}}");
    let header = rs_header(&issuer);
    let cases = vec![
        Case::bearer(
            "ext.roles twice (user, then admin)",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""ext":{"roles":["user"],"roles":["admin"]}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "realm_access.roles twice",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""realm_access":{"roles":[],"roles":["admin"]}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "duplicate in an object inside an array",
            &rs_signed(&issuer, &header, &with(r#""list":[{"a":1},{"b":1,"b":2}]"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "duplicate three objects deep",
            &rs_signed(&issuer, &header, &with(r#""a":{"b":{"c":{"d":1,"d":1}}}"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "act.sub twice",
            &rs_signed(
                &issuer,
                &header,
                &with(r#""act":{"sub":"svc","sub":"admin"}"#),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "cnf.jkt twice",
            &rs_signed(&issuer, &header, &with(r#""cnf":{"jkt":"a","jkt":"b"}"#)),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header: jwk.kty twice",
            &rs_signed(
                &issuer,
                &format!(r#"{{"alg":"RS256","kid":"{rs}","jwk":{{"kty":"RSA","kty":"oct"}}}}"#),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
    let roles = rs_signed(
        &issuer,
        &header,
        &with(r#""ext":{"roles":["user"],"n":[{"roles":["x"]}]}"#),
    );
    assert_accepts(&app, &roles).await;
}

// ---------------------------------------------------------------------------------------------
// A user never passes as a machine: the spoofing shapes of each provider, end to end

async fn machine_route_status(app: &Router, token: &str) -> (StatusCode, String) {
    let request = Request::get("/machine")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("a valid request");
    let out = send(app, request).await;
    (out.status, out.body)
}

fn machine_app(config: AuthConfigBuilder) -> Router {
    Router::new()
        .route("/machine", get(me))
        .route_layer(RequireMachine)
        .layer(AuthLayer::new(build(config)))
}

#[tokio::test]
async fn spoofed_machine_shapes_stay_users_under_each_issuers_own_rules() {
    // `/realms/…` in the issuer URL: `auto` picks the Keycloak rules for this issuer.
    let keycloak = real_issuer().await;
    let auth0 = start(MockIssuer::builder().path_prefix("/tenant")).await;
    let config = AuthConfig::builder()
        .issuer(keycloak.issuer())
        .issuer(Issuer::new(auth0.issuer()).provider(Preset::Auth0))
        .audience(keycloak.audience())
        .audience(auth0.audience())
        .clock(ManualClock::new());
    let app = machine_app(config);
    let mint = |issuer: &MockIssuer, claims: Value| issuer.token().claims(claims).sign();
    let users = [
        (
            "keycloak: a person registered service-account-x, web client",
            mint(
                &keycloak,
                json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-x"}),
            ),
        ),
        (
            "keycloak: a brokered login named service-account-web",
            mint(
                &keycloak,
                json!({"sub":"7a6b5c4d-3e2f","azp":"web","preferred_username":"service-account-web"}),
            ),
        ),
        (
            "keycloak: service-account- username of another client",
            mint(
                &keycloak,
                json!({"sub":"7a6b","client_id":"web","preferred_username":"service-account-reporting"}),
            ),
        ),
        (
            "keycloak issuer: an Auth0-shaped machine is no machine here",
            mint(
                &keycloak,
                json!({"sub":"svc@clients","azp":"svc","gty":"client-credentials"}),
            ),
        ),
        (
            "keycloak issuer: a Hydra-shaped machine is no machine here",
            mint(&keycloak, json!({"sub":"svc","client_id":"svc"})),
        ),
        (
            "auth0: enterprise connection sub samlp|evilcorp|x@clients",
            mint(
                &auth0,
                json!({"sub":"samlp|evilcorp|x@clients","azp":"AbC123"}),
            ),
        ),
        (
            "auth0: sub of another client @clients",
            mint(&auth0, json!({"sub":"Gdy3@clients","azp":"AbC123"})),
        ),
        (
            "auth0: gty as an array",
            mint(
                &auth0,
                json!({"sub":"auth0|u","gty":["client-credentials"]}),
            ),
        ),
        (
            "auth0 issuer: a Keycloak service account shape is no machine here",
            mint(
                &auth0,
                json!({"sub":"u","client_id":"x","preferred_username":"service-account-x"}),
            ),
        ),
    ];
    for (name, token) in &users {
        let (status, body) = machine_route_status(&app, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
    }
    let machines = [
        (
            "keycloak service account",
            mint(
                &keycloak,
                json!({"sub":"3f1e7c5a","azp":"reporting","client_id":"reporting","preferred_username":"service-account-reporting"}),
            ),
        ),
        (
            "auth0 client credentials",
            mint(
                &auth0,
                json!({"sub":"Gdy3@clients","azp":"Gdy3","gty":"client-credentials"}),
            ),
        ),
        (
            "auth0 RFC 9068 profile",
            mint(&auth0, json!({"sub":"Gdy3@clients","client_id":"Gdy3"})),
        ),
    ];
    for (name, token) in &machines {
        let (status, body) = machine_route_status(&app, token).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
}

#[tokio::test]
async fn duplicate_members_are_refused() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let rs = kid(&issuer, KeyAlg::Rs256);
    let payload = Value::Object(claims(&issuer)).to_string();
    let body = &payload[1..payload.len() - 1];
    let evil_iss = "http://127.0.0.1:1/evil";
    let cases = vec![
        Case::bearer(
            "header alg twice (same value)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice (none, then RS256)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice (RS256, then none)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"kid\":\"{rs}\",\"alg\":\"none\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header kid twice",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "header alg twice, one escaped (\\u0061lg)",
            &rs_signed(
                &issuer,
                &format!("{{\"alg\":\"RS256\",\"\\u0061lg\":\"none\",\"kid\":\"{rs}\"}}"),
                &payload,
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload sub twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"sub\":\"admin\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload sub twice, one escaped (s\\u0075b)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"s\\u0075b\":\"admin\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload iss twice (evil first)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{\"iss\":\"{evil_iss}\",{body}}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload iss twice (evil last)",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"iss\":\"{evil_iss}\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload exp twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"exp\":1}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
        Case::bearer(
            "payload aud twice",
            &rs_signed(
                &issuer,
                &rs_header(&issuer),
                &format!("{{{body},\"aud\":\"other\"}}"),
            ),
            Expect::Invalid(MALFORMED),
        ),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_refused() {
    let issuer = real_issuer().await;
    const M2M: &str = "https://example.com/is_m2m";
    let app = app(config(&issuer).classifier(Classifier::new(Preset::Generic).machine_claim(M2M)));
    assert_accepts(&app, &issuer.user_token("alice")).await;
    assert_accepts(&app, &issuer.token().claim(M2M, true).sign()).await;
    let aud = issuer.audience().to_owned();
    let table: Vec<(&str, Value, &str)> = vec![
        ("exp", json!("9999999999"), CLAIM),
        ("exp", json!(true), CLAIM),
        ("exp", json!([now() + 300]), CLAIM),
        ("exp", json!({"$date": now() + 300}), CLAIM),
        ("exp", json!(null), CLAIM),
        ("nbf", json!({}), CLAIM),
        ("nbf", json!("0"), CLAIM),
        ("iat", json!("now"), CLAIM),
        ("iat", json!([0]), CLAIM),
        ("aud", json!(5), CLAIM),
        ("aud", json!([aud, 5]), CLAIM),
        ("aud", json!([5, aud]), CLAIM),
        ("aud", json!({ aud.clone(): true }), CLAIM),
        ("aud", json!([[aud]]), CLAIM),
        ("aud", json!(null), CLAIM),
        ("aud", json!([]), AUDIENCE),
        ("aud", json!(""), AUDIENCE),
        ("aud", json!(format!("{aud} other")), AUDIENCE),
        ("iss", json!([issuer.issuer()]), ISSUER),
        ("sub", json!(5), CLAIM),
        ("sub", json!(["alice"]), CLAIM),
        ("sub", json!({"id":"alice"}), CLAIM),
        ("sub", json!(null), CLAIM),
        ("sub", json!(""), NO_SUBJECT),
        ("scope", json!(5), CLAIM),
        ("scope", json!({"read":true}), CLAIM),
        ("scope", json!([1, 2]), CLAIM),
        ("scp", json!(true), ANY),
        ("roles", json!({"admin":true}), CLAIM),
        ("roles", json!(5), CLAIM),
        ("roles", json!(["admin", 1]), CLAIM),
        ("client_id", json!(5), CLAIM),
        ("azp", json!(["app"]), CLAIM),
        (M2M, json!("true"), CLAIM),
        (M2M, json!(1), CLAIM),
        (M2M, json!("false"), CLAIM),
        (M2M, json!(null), CLAIM),
        (M2M, json!([true]), CLAIM),
    ];
    let mut cases = Vec::new();
    for (name, value, reason) in table {
        let payload = if name == "scp" {
            // `scp` is read only when `scope` is absent.
            let mut c = claims(&issuer);
            c.remove("scope");
            c.insert("scp".into(), value.clone());
            Value::Object(c).to_string()
        } else {
            claims_with(&issuer, name, value.clone())
        };
        cases.push(Case::bearer(
            format!("claim {name} = {value}"),
            &rs_signed(&issuer, &rs_header(&issuer), &payload),
            Expect::Invalid(reason),
        ));
    }
    run(&app, cases).await;
}

// ---------------------------------------------------------------------------------------------
// Where the token may not come from

#[tokio::test]
async fn several_authorization_headers_are_a_bad_request() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    let u = issuer.user_token("bob");
    let bearer = |x: &str| format!("Bearer {x}").into_bytes();
    let cases = vec![
        Case::header_values(
            "two valid tokens in two headers",
            vec![bearer(&t), bearer(&u)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "the same valid token twice",
            vec![bearer(&t), bearer(&t)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and an empty header",
            vec![bearer(&t), Vec::new()],
            Expect::BadRequest,
        ),
        Case::header_values(
            "empty header and a valid token",
            vec![Vec::new(), bearer(&t)],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and Basic credentials",
            vec![bearer(&t), b"Basic dXNlcjpwYXNz".to_vec()],
            Expect::BadRequest,
        ),
        Case::header_values(
            "valid token and a garbage token",
            vec![bearer(&t), bearer("garbage")],
            Expect::BadRequest,
        ),
        Case::header_values("ten valid tokens", vec![bearer(&t); 10], Expect::BadRequest),
    ];
    run(&app, cases).await;
}

#[tokio::test]
async fn tokens_outside_the_authorization_header_are_ignored() {
    let issuer = real_issuer().await;
    let app = app(config(&issuer));
    let t = issuer.user_token("alice");
    let mut cases = Vec::new();
    for param in ["access_token", "token", "id_token", "bearer"] {
        let mut c = Case::header_values(
            format!("query string ?{param}=<valid>, no header"),
            Vec::new(),
            Expect::NoToken,
        );
        c.path = format!("/me?{param}={t}");
        c.secret(&t);
        cases.push(c);
    }
    let mut c = Case::header_values(
        "form body access_token=<valid> (POST), no header",
        Vec::new(),
        Expect::NoToken,
    );
    c.method = Method::POST;
    c.other_headers
        .push(("content-type", "application/x-www-form-urlencoded".into()));
    c.body = format!("access_token={t}");
    c.secret(&t);
    cases.push(c);
    let mut c = Case::header_values(
        "JSON body {\"access_token\":<valid>} (POST), no header",
        Vec::new(),
        Expect::NoToken,
    );
    c.method = Method::POST;
    c.other_headers
        .push(("content-type", "application/json".into()));
    c.body = json!({"access_token": t}).to_string();
    c.secret(&t);
    cases.push(c);
    for (name, value) in [
        ("cookie", format!("access_token={t}")),
        ("x-access-token", t.clone()),
        ("x-forwarded-authorization", format!("Bearer {t}")),
        ("proxy-authorization", format!("Bearer {t}")),
        ("authorization-bearer", t.clone()),
    ] {
        let mut c = Case::header_values(
            format!("{name} header with the token, no Authorization"),
            Vec::new(),
            Expect::NoToken,
        );
        c.other_headers.push((name, value));
        c.secret(&t);
        cases.push(c);
    }
    run(&app, cases).await;
    assert_eq!(issuer.request_log(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Seeds for the fuzz targets (fuzz/): `cargo test --test hostile -- --ignored write_fuzz_seeds`

#[tokio::test]
#[ignore = "writes fuzz/jwks.json, fuzz/valid_tokens.txt and fuzz/corpus seeds"]
async fn write_fuzz_seeds() {
    use std::fs;
    const FUZZ_ISSUER: &str = "https://issuer.example.com";
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let issuer = start(MockIssuer::builder()).await;
    let write = |path: &str, data: &[u8]| {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Err(e) = fs::write(&path, data) {
            panic!("{}: {e}", path.display());
        }
    };
    let jwks = serde_json::to_string_pretty(&issuer.jwks()).unwrap_or_default();
    write("jwks.json", jwks.as_bytes());
    // Valid until 2100 for https://issuer.example.com; one per algorithm, users and machines.
    let base = |alg: KeyAlg| {
        issuer
            .token()
            .alg(alg)
            .claim("iss", FUZZ_ISSUER)
            .claim("iat", 1_700_000_000)
            .claim("exp", 4_102_444_800_i64)
    };
    let mut valid = Vec::new();
    for alg in KeyAlg::ALL {
        let a = alg.as_str().to_lowercase();
        let user = base(alg)
            .claim("sub", "alice")
            .claim("roles", json!(["admin"]))
            .claim("scope", "openid profile")
            .sign();
        let machine = base(alg)
            .claim("sub", "svc")
            .claim("client_id", "svc")
            .claim("scope", "read:reports")
            .sign();
        write(&format!("corpus/token/valid_{a}_user"), user.as_bytes());
        write(
            &format!("corpus/token/valid_{a}_machine"),
            machine.as_bytes(),
        );
        write(
            &format!("corpus/authorization_header/valid_{a}_user"),
            format!("Bearer {user}").as_bytes(),
        );
        valid.push(user);
        valid.push(machine);
    }
    write(
        "valid_tokens.txt",
        format!("{}\n", valid.join("\n")).as_bytes(),
    );
    let rs = kid(&issuer, KeyAlg::Rs256);
    let user = valid[0].clone();
    let (h, p, s) = parts(&user);
    let claims_text = String::from_utf8_lossy(&b64d(&p)).into_owned();
    let hostile: Vec<(&str, String)> = vec![
        ("alg_none", base(KeyAlg::Rs256).unsigned()),
        (
            "hs256_confusion",
            base(KeyAlg::Rs256).kid(&rs).sign_hs256(
                issuer
                    .public_jwk(&rs)
                    .unwrap_or_default()
                    .to_string()
                    .as_bytes(),
            ),
        ),
        (
            "crit",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":rs,"crit":["b64"],"b64":false}).to_string(),
                &claims_text,
                Some(&rs),
            ),
        ),
        (
            "kid_traversal",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":"../../dev/null"}).to_string(),
                &claims_text,
                Some(&rs),
            ),
        ),
        ("jwe_shape", format!("{h}.{p}.{s}.{s}.{s}")),
        ("padding", format!("{user}==")),
        (
            "tampered",
            retamper(&user, |c| {
                c.insert("sub".into(), json!("admin"));
            }),
        ),
        (
            "duplicate_alg",
            issuer.sign_raw(
                &format!("{{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"{rs}\"}}"),
                &claims_text,
                Some(&rs),
            ),
        ),
        (
            "nested",
            issuer.sign_raw(
                &rs_header(&issuer),
                &format!("{{\"x\":{}}}", nested_arrays(200)),
                Some(&rs),
            ),
        ),
        (
            "exp_string",
            issuer.sign_raw(
                &json!({"alg":"RS256","kid":rs}).to_string(),
                &claims_text.replace("4102444800", "\"4102444800\""),
                Some(&rs),
            ),
        ),
    ];
    for (name, token) in &hostile {
        write(&format!("corpus/token/{name}"), token.as_bytes());
        write(
            &format!("corpus/authorization_header/{name}"),
            format!("Bearer {token}").as_bytes(),
        );
    }
    for (name, value) in [
        ("two_headers", format!("Bearer {user}\nBearer {user}")),
        ("two_tokens", format!("Bearer {user} {user}")),
        ("basic", "Basic dXNlcjpwYXNz".to_owned()),
        ("empty", "Bearer ".to_owned()),
        ("lowercase", format!("bearer   {user}\t")),
    ] {
        write(
            &format!("corpus/authorization_header/{name}"),
            value.as_bytes(),
        );
    }
    write("corpus/jwks_document/mock_jwks", jwks.as_bytes());
    let mut odd = issuer.jwks();
    if let Some(keys) = odd["keys"].as_array_mut() {
        keys.extend([
            json!({"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}),
            json!({"kty":"EC","kid":"k1","crv":"secp256k1","x":"AA","y":"AA"}),
            json!({"kty":"oct","kid":"h","k":"c2VjcmV0"}),
            json!({"kty":"OKP","crv":"X25519","x":"AA"}),
            json!({"kty":"RSA","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}),
            json!("not an object"),
        ]);
    }
    write(
        "corpus/jwks_document/odd_entries",
        odd.to_string().as_bytes(),
    );
    write("corpus/jwks_document/empty", b"{\"keys\":[]}");
    write("corpus/jwks_document/keys_not_array", b"{\"keys\":{}}");
    for (name, doc) in [
        (
            "oidc",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": format!("{FUZZ_ISSUER}/jwks"),
            "authorization_endpoint": format!("{FUZZ_ISSUER}/authorize"), "id_token_signing_alg_values_supported": ["RS256"]}),
        ),
        (
            "loopback_http",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "http://127.0.0.1:8080/jwks"}),
        ),
        (
            "insecure_http",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "http://issuer.example.com/jwks"}),
        ),
        (
            "other_issuer",
            json!({"issuer": "https://evil.example.com", "jwks_uri": "https://evil.example.com/jwks"}),
        ),
        (
            "file_scheme",
            json!({"issuer": FUZZ_ISSUER, "jwks_uri": "file:///etc/passwd"}),
        ),
        ("no_jwks_uri", json!({"issuer": FUZZ_ISSUER})),
    ] {
        write(
            &format!("corpus/discovery_document/{name}"),
            doc.to_string().as_bytes(),
        );
    }
    write(
        "corpus/discovery_document/cache_control",
        b"{\"issuer\":\"https://issuer.example.com\"}\nmax-age=300, public\nno-cache",
    );
}
