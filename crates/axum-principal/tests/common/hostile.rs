//! The hostile-input case runner and token helpers, shared by the `hostile_*` tests: forged
//! and malformed requests (RFC 8725's attacks and more), each with the exact status and
//! reason code of the error table. None may be answered 200, 5xx, or panic, and no response
//! may echo the token.
//!
//! Run a `hostile_*` test with `--nocapture` to print every case with the status and reason
//! it got.

use aws_lc_rs::hmac;
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::clock::ManualClock;
use axum_principal::{AuthConfigBuilder, AuthLayer, InvalidRequest, InvalidToken, Principal};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

pub use axum_principal_testkit::{b64url, KeyAlg, MockIssuer};
pub use serde_json::{json, Map, Value};

use super::{build, send_request, with_reason_header, Reply};

// ---------------------------------------------------------------------------------------------
// Set-up

/// The default token size cap (`AuthConfigBuilder::max_token_bytes`).
pub const CAP: usize = 16 * 1024;

pub async fn start(builder: axum_principal_testkit::MockIssuerBuilder) -> MockIssuer {
    builder.start().await.expect("the mock issuer starts")
}

/// The real issuer: a path prefix makes look-alike issuers easier to build.
pub async fn real_issuer() -> MockIssuer {
    start(MockIssuer::builder().path_prefix("/realms/main")).await
}

/// An attacker's issuer: its own keys, JWKS URL and request counters.
pub async fn attacker() -> MockIssuer {
    start(MockIssuer::builder().path_prefix("/evil")).await
}

pub fn config(issuer: &MockIssuer) -> AuthConfigBuilder {
    super::config(issuer, &ManualClock::new())
}

pub async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// `/me` (GET and POST) returning the principal as JSON, behind `AuthLayer`; refusals carry
/// their reason code ([`with_reason_header`]).
pub fn app(config: AuthConfigBuilder) -> Router {
    Router::new()
        .route("/me", get(me).post(me))
        .layer(AuthLayer::new(build(with_reason_header(config))))
}

pub fn kid(issuer: &MockIssuer, alg: KeyAlg) -> String {
    issuer
        .signing_kid(alg)
        .expect("the mock issuer has a key of every algorithm")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .expect("the system clock is after 1970 and before 2^63 s")
}

/// A valid claim set for `issuer`.
pub fn claims(issuer: &MockIssuer) -> Map<String, Value> {
    let now = now();
    let v = json!({
        "iss": issuer.issuer(),
        "aud": issuer.audience(),
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "scope": "openid",
    });
    v.as_object().cloned().expect("a JSON object")
}

pub fn claims_with(issuer: &MockIssuer, name: &str, value: Value) -> String {
    let mut c = claims(issuer);
    c.insert(name.to_owned(), value);
    Value::Object(c).to_string()
}

pub fn rs_header(issuer: &MockIssuer) -> String {
    json!({"alg":"RS256","typ":"JWT","kid": kid(issuer, KeyAlg::Rs256)}).to_string()
}

/// Header and payload signed with `issuer`'s RS256 key whatever the header says.
pub fn rs_signed(issuer: &MockIssuer, header: &str, payload: &str) -> String {
    issuer.sign_raw(header, payload, Some(&kid(issuer, KeyAlg::Rs256)))
}

pub fn b64d(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("a base64url segment")
}

pub fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let mut next = || it.next().expect("a token of three segments").to_owned();
    (next(), next(), next())
}

pub fn hmac_token(alg: &str, header: &Value, payload: &str, secret: &[u8]) -> String {
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

pub fn retamper(token: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let (h, p, s) = parts(token);
    let mut claims: Map<String, Value> =
        serde_json::from_slice(&b64d(&p)).expect("a JSON object payload");
    edit(&mut claims);
    format!(
        "{h}.{}.{s}",
        b64url(Value::Object(claims).to_string().as_bytes())
    )
}

pub fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------------------------------------
// The case runner

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// 400 `invalid_request`, with one of `InvalidRequest`'s reason codes.
    BadRequest,
    /// 401 `invalid_token` with this reason code (`None`: any reason).
    Invalid(Option<InvalidToken>),
    /// 401 with a bare challenge and reason `missing_token`: no bearer token was found.
    NoToken,
}

// The reasons of an `invalid_token` (`InvalidToken::reason`).
pub const ANY: Option<InvalidToken> = None;
pub const TOO_LARGE: Option<InvalidToken> = Some(InvalidToken::TooLarge);
pub const MALFORMED: Option<InvalidToken> = Some(InvalidToken::Malformed);
pub const CRIT: Option<InvalidToken> = Some(InvalidToken::UnsupportedCritical);
pub const BAD_TYP: Option<InvalidToken> = Some(InvalidToken::BadType);
pub const ALG: Option<InvalidToken> = Some(InvalidToken::DisallowedAlgorithm);
pub const ISSUER: Option<InvalidToken> = Some(InvalidToken::UnknownIssuer);
pub const UNKNOWN_KEY: Option<InvalidToken> = Some(InvalidToken::UnknownKey);
pub const SIGNATURE: Option<InvalidToken> = Some(InvalidToken::BadSignature);
pub const EXPIRED: Option<InvalidToken> = Some(InvalidToken::Expired);
pub const CLAIM: Option<InvalidToken> = Some(InvalidToken::InvalidClaim);
pub const AUDIENCE: Option<InvalidToken> = Some(InvalidToken::WrongAudience);
pub const NO_SUBJECT: Option<InvalidToken> = Some(InvalidToken::MissingSubject);
pub const ID_TOKEN: Option<InvalidToken> = Some(InvalidToken::IdToken);
pub const BOUND: Option<InvalidToken> = Some(InvalidToken::SenderConstrained);

/// The reason codes of a 400 `invalid_request`.
const BAD_REQUEST_REASONS: [InvalidRequest; 4] = [
    InvalidRequest::MultipleAuthorizationHeaders,
    InvalidRequest::EmptyToken,
    InvalidRequest::MultipleTokens,
    InvalidRequest::BadCharacters,
];

pub struct Case {
    pub name: String,
    pub method: Method,
    pub path: String,
    /// `Authorization` header values, raw bytes.
    pub authorization: Vec<Vec<u8>>,
    pub other_headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Text that must never appear in a response (tokens).
    pub secrets: Vec<String>,
    pub expect: Expect,
}

impl Case {
    pub fn header_values(name: impl Into<String>, values: Vec<Vec<u8>>, expect: Expect) -> Self {
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

    pub fn header(name: impl Into<String>, value: impl Into<Vec<u8>>, expect: Expect) -> Self {
        Self::header_values(name, vec![value.into()], expect)
    }

    pub fn bearer(name: impl Into<String>, token: &str, expect: Expect) -> Self {
        let mut case = Self::header(name, format!("Bearer {token}"), expect);
        case.secret(token);
        case
    }

    pub fn secret(&mut self, token: &str) {
        if token.len() >= 16 {
            self.secrets.push(token.to_owned());
        }
        for part in token.split('.').filter(|p| p.len() >= 16) {
            self.secrets.push(part.to_owned());
        }
    }
}

fn check(case: &Case, out: &Reply) -> Result<(), String> {
    let json: Value = serde_json::from_str(&out.body)
        .map_err(|e| format!("the body is not JSON ({e}): {}", out.body))?;
    let error = json["error"]
        .as_str()
        .ok_or_else(|| format!("no error code in {}", out.body))?;
    let challenge = out
        .challenge
        .as_deref()
        .ok_or("no WWW-Authenticate challenge")?;
    let reason = out.reason.as_deref().ok_or("no reason header")?;
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
    let reason_ok = match case.expect {
        Expect::BadRequest => BAD_REQUEST_REASONS.iter().any(|r| r.reason() == reason),
        Expect::Invalid(Some(wanted)) => reason == wanted.reason(),
        Expect::Invalid(None) => !reason.is_empty(),
        Expect::NoToken => reason == "missing_token",
    };
    if !reason_ok {
        return Err(format!("reason {reason:?}, wanted {:?}", case.expect));
    }
    let headers = format!("{:?}", out.headers);
    for secret in &case.secrets {
        if out.body.contains(secret.as_str()) || headers.contains(secret.as_str()) {
            return Err("the response echoes the token".to_owned());
        }
    }
    Ok(())
}

/// Runs every case, prints `name → status`, and fails with the list of cases that did not
/// get what they expected.
pub async fn run(app: &Router, cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let mut request = Request::builder()
            .method(case.method.clone())
            .uri(case.path.as_str());
        for value in &case.authorization {
            let value = HeaderValue::from_bytes(value)
                .expect("each case's Authorization is a header value");
            request = request.header(header::AUTHORIZATION, value);
        }
        for (name, value) in &case.other_headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Body::from(case.body.clone()))
            .expect("each case is a valid request");
        let out = send_request(app, request).await;
        assert!(
            !out.status.is_success() && !out.status.is_server_error(),
            "{}: got {}",
            case.name,
            out.status
        );
        let verdict = check(&case, &out);
        let reason = out.reason.as_deref().unwrap_or("(no reason header)");
        eprintln!("{:<72} {} {reason}", case.name, out.status.as_u16());
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
pub async fn assert_accepts(app: &Router, token: &str) {
    let request = Request::get("/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty());
    let out = send_request(app, request.expect("a valid request")).await;
    assert_eq!(
        out.status,
        StatusCode::OK,
        "valid token refused: {}",
        out.body
    );
}
