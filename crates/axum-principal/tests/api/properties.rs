//! Property tests of the entry points that read what clients and issuers send: the
//! `Authorization` header through `AuthLayer`, and the issuer-facing parsers of
//! `axum_principal::internals`.
//!
//! The layer runs over a static JWKS (the mock issuer's public keys), so no case does
//! network I/O. Case counts are kept so the file runs in a few seconds in a debug build.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use axum_principal::internals::{parse_jwks, parse_max_age, parse_metadata};
use axum_principal::{AuthConfig, AuthLayer, Issuer, Principal};
use axum_principal_testkit::{b64url, KeyAlg, MockIssuer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

/// Cases for the properties that go through the layer.
const LAYER_CASES: u32 = 512;
/// Cases for the pure parsers.
const PARSER_CASES: u32 = 2048;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// A mock issuer (keys only: its server is never asked), an attacker with keys of its own,
/// and a router whose layer trusts the issuer through a static JWKS.
struct Fixture {
    rt: tokio::runtime::Runtime,
    issuer: MockIssuer,
    attacker: MockIssuer,
    app: Router,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (issuer, attacker) = rt.block_on(async {
        (
            MockIssuer::start().await.expect("the mock issuer starts"),
            MockIssuer::start()
                .await
                .expect("the attacker's mock issuer starts"),
        )
    });
    let config = AuthConfig::builder()
        .issuer(Issuer::new(issuer.issuer()).static_jwks(issuer.jwks().to_string()))
        .audience(issuer.audience())
        .build();
    let config = config.expect("a valid configuration");
    let app = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::new(config));
    Fixture {
        rt,
        issuer,
        attacker,
        app,
    }
}

impl Fixture {
    /// Sends `GET /me` with these `Authorization` values; returns the status and body.
    fn send(&self, values: &[HeaderValue]) -> (StatusCode, String) {
        let mut request = Request::get("/me");
        for v in values {
            request = request.header(header::AUTHORIZATION, v.clone());
        }
        let request = request.body(Body::empty()).expect("a valid request");
        let reply = self
            .rt
            .block_on(crate::common::send_request(&self.app, request));
        (reply.status, reply.body)
    }

    fn send_token(&self, token: &str) -> Option<(StatusCode, String)> {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        Some(self.send(&[value]))
    }

    fn kid(&self, alg: KeyAlg) -> String {
        self.issuer
            .signing_kid(alg)
            .expect("the mock issuer has a key of every algorithm")
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .expect("the system clock is after 1970 and before 2^63 s")
    }

    /// Valid tokens of each algorithm, for users and machines.
    fn valid_tokens(&self) -> Vec<String> {
        let mut out = Vec::new();
        for alg in KeyAlg::ALL {
            out.push(self.issuer.token().alg(alg).claim("sub", "alice").sign());
            out.push(
                self.issuer
                    .token()
                    .alg(alg)
                    .claim("sub", "svc")
                    .claim("client_id", "svc")
                    .claim("roles", json!(["admin"]))
                    .sign(),
            );
        }
        out
    }
}

/// Refusals of a token are 400 (header grammar) or 401; never 200, never 5xx.
fn refused(status: StatusCode, body: &str, token: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
        "status {status}, body {body}"
    );
    if token.len() >= 16 {
        let needle = String::from_utf8_lossy(token);
        prop_assert!(!body.contains(needle.as_ref()), "the body echoes the token");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The layer

/// Bytes that may appear in a header value (RFC 9110 field-vchar, SP, HTAB, obs-text).
fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => 0x21u8..=0x7e,
        1 => Just(b' '),
        1 => Just(b'\t'),
        1 => 0x80u8..=0xff,
        2 => prop::sample::select(b"Bearer.-_=+/~ ".to_vec()),
    ];
    prop::collection::vec(byte, 0..max)
}

fn authorization_values() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let one = prop_oneof![
        header_bytes(200),
        header_bytes(200).prop_map(|b| [b"Bearer ".as_slice(), &b].concat()),
        "[A-Za-z0-9_.~+/=-]{0,200}".prop_map(|s| format!("Bearer {s}").into_bytes()),
        any::<Vec<u8>>(),
    ];
    prop::collection::vec(one, 1..3)
}

#[test]
fn arbitrary_authorization_headers_are_never_accepted() {
    let f = fixture();
    let mut runner = TestRunner::new(config(LAYER_CASES));
    let result = runner.run(&authorization_values(), |values| {
        let Ok(headers) = values
            .iter()
            .map(|v| HeaderValue::from_bytes(v))
            .collect::<Result<Vec<_>, _>>()
        else {
            return Ok(()); // not representable as header values at all
        };
        let (status, body) = f.send(&headers);
        for v in &values {
            refused(status, &body, v)?;
        }
        Ok(())
    });
    result.expect("the property holds");
}

fn b64_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,80}",
        "[\\[\\]{}\":,a-z0-9 .-]{0,80}".prop_map(|s| b64url(s.as_bytes())),
        any::<Vec<u8>>().prop_map(|b| b64url(&b)),
    ]
}

/// JSON-ish text: mostly the characters JSON is made of.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\[\\]{}\":,a-zA-Z0-9 .+-]{0,80}",
        "\\{(\"(alg|kid|typ|iss|sub|aud|exp|crit)\":(\"[A-Za-z0-9:/.]{0,12}\"|-?[0-9]{1,12}|true|null|\\[\\]),?){0,5}\\}",
    ]
}

#[test]
fn random_segments_and_json_ish_tokens_are_never_accepted() {
    let f = fixture();
    let kids = [
        f.kid(KeyAlg::Rs256),
        f.kid(KeyAlg::Es256),
        f.kid(KeyAlg::EdDsa),
    ];
    let strategy = prop_oneof![
        (b64_segment(), b64_segment(), b64_segment())
            .prop_map(|(h, p, s)| (format!("{h}.{p}.{s}"), None)),
        (jsonish(), jsonish(), prop::option::of(0usize..3))
            .prop_map(|(h, p, signer)| (String::new(), Some((h, p, signer)))),
    ];
    let mut runner = TestRunner::new(config(LAYER_CASES));
    let result = runner.run(&strategy, |(token, raw)| {
        let token = match raw {
            None => token,
            Some((h, p, signer)) => f.issuer.sign_raw(&h, &p, signer.map(|i| kids[i].as_str())),
        };
        let Some((status, body)) = f.send_token(&token) else {
            return Ok(());
        };
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", body);
        refused(status, &body, token.as_bytes())
    });
    result.expect("the property holds");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    Empty,
    Junk,
    Key(KeyAlg),
    Attacker,
}

#[derive(Debug, Clone)]
struct Shape {
    alg: Option<&'static str>,
    kid: u8, // 0 none, 1 the signer's, 2..=4 the issuer's RS/ES/Ed, 5 unknown, 6 the attacker's
    typ: Option<Value>,
    crit: bool,
    jku: bool,
    iss: u8,
    aud: u8,
    exp: u8,
    nbf: u8,
    sub: u8,
    roles: u8,
    signer: Signer,
}

fn shapes() -> impl Strategy<Value = Shape> {
    let alg = prop::option::weighted(
        0.95,
        prop::sample::select(vec![
            "RS256", "ES256", "EdDSA", "HS256", "none", "PS256", "RS512", "ES384",
        ]),
    );
    let typ = prop::option::of(prop::sample::select(vec![
        json!("JWT"),
        json!("at+jwt"),
        json!("id_token+jwt"),
        json!(1),
    ]));
    let signer = prop_oneof![
        1 => Just(Signer::Empty),
        1 => Just(Signer::Junk),
        6 => prop::sample::select(KeyAlg::ALL.to_vec()).prop_map(Signer::Key),
        1 => Just(Signer::Attacker),
    ];
    // Mostly the valid choice (0) for each member, so that valid tokens are generated too.
    let mostly_valid = |n: u8| prop_oneof![3 => Just(0u8), 1 => 0..n];
    (
        (
            alg,
            prop::bool::weighted(0.7),
            prop_oneof![1 => Just(0u8), 1 => Just(1u8), 1 => 0u8..7],
            typ,
            prop::bool::weighted(0.1),
            any::<bool>(),
        ),
        (
            mostly_valid(5),
            mostly_valid(6),
            mostly_valid(4),
            mostly_valid(3),
            mostly_valid(4),
            mostly_valid(4),
            signer,
        ),
    )
        .prop_map(
            |((alg, same_alg, kid, typ, crit, jku), (iss, aud, exp, nbf, sub, roles, signer))| {
                Shape {
                    alg: match signer {
                        // The header names the signing key's algorithm, most of the time.
                        Signer::Key(key_alg) if same_alg => Some(key_alg.as_str()),
                        _ => alg,
                    },
                    kid,
                    typ,
                    crit,
                    jku,
                    iss,
                    aud,
                    exp,
                    nbf,
                    sub,
                    roles,
                    signer,
                }
            },
        )
}

impl Fixture {
    /// The token `shape` describes, and whether the layer must accept it.
    fn build(&self, s: &Shape) -> (String, bool) {
        let now = Self::now();
        let issuer = self.issuer.issuer();
        let aud = self.issuer.audience();
        let signer_kid = match s.signer {
            Signer::Key(alg) => Some(self.kid(alg)),
            Signer::Attacker => self.attacker.signing_kid(KeyAlg::Rs256),
            Signer::Empty | Signer::Junk => None,
        };
        let mut h = Map::new();
        if let Some(alg) = s.alg {
            h.insert("alg".into(), json!(alg));
        }
        let kid = match s.kid {
            1 => signer_kid.clone().unwrap_or_else(|| "none".into()),
            2 => self.kid(KeyAlg::Rs256),
            3 => self.kid(KeyAlg::Es256),
            4 => self.kid(KeyAlg::EdDsa),
            5 => "no-such-key".into(),
            6 => self
                .attacker
                .signing_kid(KeyAlg::Rs256)
                .expect("the mock issuer has a key of every algorithm"),
            _ => String::new(),
        };
        if s.kid != 0 {
            h.insert("kid".into(), json!(kid));
        }
        if let Some(t) = &s.typ {
            h.insert("typ".into(), t.clone());
        }
        if s.crit {
            h.insert("crit".into(), json!(["exp"]));
        }
        if s.jku {
            h.insert("jku".into(), json!(self.attacker.jwks_uri()));
        }
        let mut c = Map::new();
        match s.iss {
            0 => Some(json!(issuer)),
            1 => Some(json!(format!("{issuer}/"))),
            2 => Some(json!(self.attacker.issuer())),
            3 => Some(json!([issuer])),
            _ => None,
        }
        .map(|v| c.insert("iss".into(), v));
        match s.aud {
            0 => Some(json!(aud)),
            1 => Some(json!(["x", aud])),
            2 => Some(json!("other")),
            3 => Some(json!([])),
            4 => Some(json!(7)),
            _ => None,
        }
        .map(|v| c.insert("aud".into(), v));
        match s.exp {
            0 => Some(json!(now + 300)),
            1 => Some(json!(now - 3600)),
            2 => Some(json!("soon")),
            _ => None,
        }
        .map(|v| c.insert("exp".into(), v));
        match s.nbf {
            1 => Some(json!(now + 3600)),
            2 => Some(json!(now - 10)),
            _ => None,
        }
        .map(|v| c.insert("nbf".into(), v));
        match s.sub {
            0 => Some(json!("alice")),
            1 => Some(json!("")),
            2 => Some(json!(5)),
            _ => None,
        }
        .map(|v| c.insert("sub".into(), v));
        match s.roles {
            1 => Some(json!(["admin"])),
            2 => Some(json!("admin")),
            3 => Some(json!({"admin": true})),
            _ => None,
        }
        .map(|v| c.insert("roles".into(), v));
        c.insert("iat".into(), json!(now));
        let header = Value::Object(h).to_string();
        let payload = Value::Object(c).to_string();
        let token = match (s.signer, &signer_kid) {
            (Signer::Key(_), Some(k)) => self.issuer.sign_raw(&header, &payload, Some(k)),
            (Signer::Attacker, Some(k)) => self.attacker.sign_raw(&header, &payload, Some(k)),
            (Signer::Junk, _) => format!(
                "{}{}",
                self.issuer.sign_raw(&header, &payload, None),
                b64url(&[7u8; 64])
            ),
            _ => self.issuer.sign_raw(&header, &payload, None),
        };
        let valid = match s.signer {
            Signer::Key(key_alg) => {
                s.alg == Some(key_alg.as_str())
                    && (s.kid == 0
                        || s.kid == 1
                        || (s.kid == 2 && key_alg == KeyAlg::Rs256)
                        || (s.kid == 3 && key_alg == KeyAlg::Es256)
                        || (s.kid == 4 && key_alg == KeyAlg::EdDsa))
            }
            _ => false,
        } && matches!(&s.typ, None | Some(Value::String(_)))
            && s.typ != Some(json!("id_token+jwt"))
            && !s.crit
            && s.iss == 0
            && s.aud <= 1
            && s.exp == 0
            && s.nbf != 1
            && s.sub == 0
            && s.roles != 3;
        (token, valid)
    }
}

#[test]
fn structured_tokens_are_accepted_exactly_when_valid() {
    let f = fixture();
    let mut runner = TestRunner::new(config(LAYER_CASES));
    let accepted = std::cell::Cell::new(0u32);
    let result = runner.run(&shapes(), |shape| {
        let (token, valid) = f.build(&shape);
        let Some((status, body)) = f.send_token(&token) else {
            return Err(TestCaseError::fail("token is not a header value"));
        };
        if valid {
            prop_assert_eq!(status, StatusCode::OK, "valid token refused: {}", body);
            accepted.set(accepted.get() + 1);
        } else {
            prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{:?}: {}", shape, body);
            refused(status, &body, token.as_bytes())?;
        }
        Ok(())
    });
    result.expect("the property holds");
    // The generator reaches valid tokens too, or the property says little.
    eprintln!(
        "{} of {LAYER_CASES} generated tokens were valid",
        accepted.get()
    );
    assert!(accepted.get() > 0, "no valid token was generated");
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
    Replace { at: usize, byte: u8 },
    Truncate { at: usize },
    Swap { a: usize, b: usize },
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let byte = prop_oneof![
        4 => prop::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~".to_vec()
        ),
        1 => any::<u8>(),
    ];
    let one = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), byte.clone()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap { a, b }),
    ];
    prop::collection::vec(one, 1..4)
}

fn mutate(token: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut t = token.to_vec();
    for m in mutations {
        let len = t.len().max(1);
        match *m {
            Mutation::Flip { at, bit } => {
                if let Some(b) = t.get_mut(at % len) {
                    *b ^= 1 << bit;
                }
            }
            Mutation::Insert { at, byte } => t.insert(at % (t.len() + 1), byte),
            Mutation::Delete { at } => {
                if !t.is_empty() {
                    t.remove(at % len);
                }
            }
            Mutation::Replace { at, byte } => {
                if let Some(b) = t.get_mut(at % len) {
                    *b = byte;
                }
            }
            Mutation::Truncate { at } => t.truncate(at % len),
            Mutation::Swap { a, b } => {
                if !t.is_empty() {
                    t.swap(a % len, b % len);
                }
            }
        }
    }
    t
}

#[test]
fn mutated_valid_tokens_are_never_accepted() {
    let f = fixture();
    let valid = f.valid_tokens();
    for t in &valid {
        assert_eq!(f.send_token(t).map(|r| r.0), Some(StatusCode::OK));
    }
    let strategy = (prop::sample::select(valid), mutations());
    let mut runner = TestRunner::new(config(LAYER_CASES));
    let result = runner.run(&strategy, |(token, muts)| {
        let mutated = mutate(token.as_bytes(), &muts);
        let Ok(value) = HeaderValue::from_bytes(&[b"Bearer ".as_slice(), &mutated].concat()) else {
            return Ok(());
        };
        let (status, body) = f.send(&[value]);
        // Only a no-op (spaces or tabs around the token are not part of it) may pass.
        let trimmed = mutated
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .map_or(&[][..], |start| {
                let end = mutated
                    .iter()
                    .rposition(|b| *b != b' ' && *b != b'\t')
                    .map_or(start, |e| e + 1);
                &mutated[start..end]
            });
        if trimmed == token.as_bytes() {
            prop_assert_eq!(status, StatusCode::OK);
        } else {
            refused(status, &body, &mutated)?;
        }
        Ok(())
    });
    result.expect("the property holds");
}

// ---------------------------------------------------------------------------------------------
// The issuer-facing parsers

fn b64_bytes(lens: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), lens).prop_map(|b| b64url(&b)),
        "[A-Za-z0-9_=+/!-]{0,12}",
    ]
}

fn jwk_entry() -> impl Strategy<Value = Value> {
    let pick = |v: Vec<Value>| prop::option::of(prop::sample::select(v));
    (
        pick(vec![
            json!("RSA"),
            json!("EC"),
            json!("OKP"),
            json!("oct"),
            json!("rsa"),
            json!(1),
        ]),
        pick(vec![json!("sig"), json!("enc"), json!(5)]),
        pick(vec![
            json!("RS256"),
            json!("PS512"),
            json!("ES256"),
            json!("ES384"),
            json!("EdDSA"),
            json!("HS256"),
            json!("none"),
        ]),
        pick(vec![
            json!("P-256"),
            json!("P-384"),
            json!("Ed25519"),
            json!("secp256k1"),
            json!("X25519"),
        ]),
        prop::option::of(b64_bytes(250..260)),
        prop::option::of(b64_bytes(0..10)),
        prop::option::of(b64_bytes(30..50)),
        prop::option::of(b64_bytes(30..50)),
        (
            prop::option::of("[a-z0-9-]{0,8}"),
            pick(vec![json!(["verify"]), json!(["encrypt"]), json!("verify")]),
        ),
    )
        .prop_map(|(kty, use_, alg, crv, n, e, x, y, (kid, ops))| {
            let mut m = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            };
            put("kty", kty);
            put("use", use_);
            put("alg", alg);
            put("crv", crv);
            put("n", n.map(Value::from));
            put("e", e.map(Value::from));
            put("x", x.map(Value::from));
            put("y", y.map(Value::from));
            put("kid", kid.map(Value::from));
            put("key_ops", ops);
            Value::Object(m)
        })
}

#[test]
fn parse_jwks_never_panics_and_keeps_at_most_one_key_per_entry() {
    let issuer_jwks = {
        let f = fixture();
        f.issuer.jwks()
    };
    assert_eq!(parse_jwks(issuer_jwks.to_string().as_bytes()), Some(3));
    let real_keys = issuer_jwks["keys"]
        .as_array()
        .cloned()
        .expect("a JWKS has a keys array");
    let entry = prop_oneof![
        6 => jwk_entry(),
        1 => prop::sample::select(real_keys),
        1 => "[a-z]{0,5}".prop_map(Value::from),
    ];
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(&prop::collection::vec(entry, 0..8), |entries| {
        let doc = json!({ "keys": entries }).to_string();
        let n = parse_jwks(doc.as_bytes());
        prop_assert!(matches!(n, Some(k) if k <= entries.len()), "{:?}", n);
        Ok(())
    });
    result.expect("the property holds");
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(
        &prop_oneof![any::<Vec<u8>>(), jsonish().prop_map(String::into_bytes)],
        |bytes| {
            let _ = parse_jwks(&bytes);
            Ok(())
        },
    );
    result.expect("the property holds");
}

const META_ISSUER: &str = "https://issuer.example.com";

/// A `jwks_uri` the library may use: https, or plain http on loopback.
fn acceptable(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => !host.is_empty(),
        "http" => {
            host.eq_ignore_ascii_case("localhost")
                || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
                || host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .and_then(|h| h.parse::<Ipv6Addr>().ok())
                    .is_some_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

fn uri() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "http",
        "https",
        "HTTP",
        "HtTpS",
        "ftp",
        "file",
        "javascript",
        "ws",
        "",
    ]);
    let host = prop::sample::select(vec![
        "127.0.0.1",
        "127.1",
        "127.255.255.254",
        "localhost",
        "LOCALHOST",
        "localhost.evil.com",
        "evil.com@127.0.0.1",
        "127.0.0.1@evil.com",
        "127.0.0.1.nip.io",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::]",
        "0",
        "0x7f.1",
        "2130706433",
        "10.0.0.1",
        "169.254.169.254",
        "issuer.example.com",
        "",
    ]);
    let port = prop::option::of(0u32..70_000);
    prop_oneof![
        4 => (scheme, host, port, "(/[a-z.%?#]{0,8}){0,3}").prop_map(|(s, h, p, path)| {
            let port = p.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{s}://{h}{port}{path}")
        }),
        1 => "\\PC{0,40}",
    ]
}

#[test]
fn parse_metadata_returns_only_https_or_loopback_http() {
    let issuer = prop::sample::select(vec![
        json!(META_ISSUER),
        json!(format!("{META_ISSUER}/")),
        json!("https://evil.example.com"),
        json!([META_ISSUER]),
    ]);
    let jwks_uri = prop_oneof![
        8 => uri().prop_map(Value::from),
        1 => Just(json!(null)),
        1 => Just(json!(["https://issuer.example.com/jwks"])),
    ];
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(&(issuer, jwks_uri), |(iss, jwks_uri)| {
        let doc = json!({"issuer": iss, "jwks_uri": jwks_uri}).to_string();
        match parse_metadata(doc.as_bytes(), META_ISSUER) {
            Some(uri) => {
                prop_assert!(acceptable(&uri), "accepted {:?}", uri);
                prop_assert_eq!(iss, json!(META_ISSUER), "issuer mismatch accepted");
            }
            None => {
                // Refused: must be for a reason (wrong issuer, or not an acceptable URL).
                let ok_doc = iss == json!(META_ISSUER) && jwks_uri.as_str().is_some_and(acceptable);
                prop_assert!(!ok_doc, "refused a good document: {}", doc);
            }
        }
        Ok(())
    });
    result.expect("the property holds");
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(&any::<Vec<u8>>(), |bytes| {
        if let Some(uri) = parse_metadata(&bytes, META_ISSUER) {
            prop_assert!(acceptable(&uri), "accepted {:?}", uri);
        }
        Ok(())
    });
    result.expect("the property holds");
}

#[test]
fn parse_max_age_never_panics() {
    let values = prop::collection::vec(
        prop_oneof![
            any::<Vec<u8>>(),
            "(max-age|MAX-AGE|s-maxage|no-cache|no-store|public)(=\"?[0-9]{0,25}\"?)?(, ?[a-z-]{0,8})?"
                .prop_map(String::into_bytes),
        ],
        0..4,
    );
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(&values, |values| {
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let _ = parse_max_age(&refs);
        Ok(())
    });
    result.expect("the property holds");
    let mut runner = TestRunner::new(config(PARSER_CASES));
    let result = runner.run(&any::<u64>(), |secs| {
        let value = format!("public, max-age={secs}");
        prop_assert_eq!(
            parse_max_age(&[value.as_bytes()]),
            Some(Duration::from_secs(secs))
        );
        Ok(())
    });
    result.expect("the property holds");
}
