//! Criterion benchmarks of the stages of one verification, and of the whole layer.
//!
//! ```text
//! cargo bench -p axum-principal --bench stages
//! cargo bench -p axum-principal --bench stages -- signature   # one group
//! ```
//!
//! Groups (see `bench/README.md` for how to read them):
//!
//! * `header`: decode the JOSE header only (`internals::parse_header`);
//! * `decode`: decode header and claims, no verification (`internals::parse_token`; with
//!   `parse_token_to_map` also the claims' `Map` a handler's `claims()` call builds), for
//!   a typical token and one with a large claim set;
//! * `cache_key`: where the token cache looks a token up (`internals::token_locator`, its
//!   last 32 bytes), beside the SHA-256 of the whole token it computed before
//!   (`internals::token_digest`);
//! * `keys`: the key-set lookup. Nothing public isolates `keys_for`, so this group measures
//!   the diagnostic `KeyStore::key_ids` (set lookup + a `Vec` of kids) for a static set and
//!   a fetched set, and `Authenticator::verify` on a token-cache hit (cache get + whole-token
//!   compare + time re-check + key-still-present check), which is the lookup path a
//!   repeated token takes;
//! * `introspection`: `Authenticator::verify` on a verified-token-cache hit (a JWT) beside
//!   an introspection answer-cache hit (an opaque token of the mock issuer, introspected
//!   once before measuring);
//! * `signature`: the signature check alone per algorithm, with this crate's prepared key
//!   (`internals::PreparedKey`) beside `jsonwebtoken::crypto::verify` (aws-lc-rs
//!   provider), both over the same token;
//! * `classify`: `Classifier::new(Preset::Generic).classify` on a user and a machine claim set;
//! * `verify`: `Authenticator::verify` end to end, token cache off (every stage) per algorithm;
//! * `layer`: one request through an axum `Router` with `AuthLayer` via
//!   `tower::ServiceExt::oneshot` (token cache on with a repeated token; an opaque token
//!   from the introspection answer cache; cache off), and the same router without the layer
//!   as the reference.
//!
//! Tokens are minted by a `MockIssuer` started here; the authenticators use a static JWKS
//! (`Issuer::static_jwks`), so nothing touches the network while measuring (the one fetched
//! set in `keys` is fetched once, before measuring, and is fresh for 5 minutes).

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use axum_principal::internals::{
    parse_header, parse_token, parse_token_to_map, token_digest, token_locator, PreparedKey,
};
use axum_principal::{
    AuthConfig, AuthLayer, Authenticator, Classifier, Introspection, Issuer, Preset, Principal,
};
use axum_principal_testkit::{KeyAlg, MockIssuer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::{header, Request, StatusCode};
use serde_json::{json, Map, Value};
use tokio::runtime::Runtime;
use tower::ServiceExt;

const ALGS: [KeyAlg; 3] = [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa];

/// Everything the benchmarks share: the issuer, its tokens, and a runtime.
struct Fixture {
    rt: Runtime,
    mock: MockIssuer,
    /// A typical user token per algorithm (same claims, different signature).
    user: Vec<(KeyAlg, String)>,
    /// An RS256 user token with a large claim set (many roles, groups, a nested object).
    large: String,
    /// An RS256 machine token.
    machine: String,
}

impl Fixture {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mock = rt
            .block_on(MockIssuer::builder().audience("bench-api").start())
            .expect("mock issuer");
        let user = ALGS
            .iter()
            .map(|&alg| {
                let token = mock
                    .token()
                    .alg(alg)
                    .claim("sub", "alice")
                    .claim("scope", "openid profile read:reports")
                    .claim("roles", json!(["reader", "writer"]))
                    .claim("jti", format!("bench-{alg}"))
                    .expires_in(4 * 3600)
                    .sign();
                (alg, token)
            })
            .collect();
        let roles: Vec<String> = (0..40).map(|i| format!("role-{i:02}")).collect();
        let groups: Vec<String> = (0..40).map(|i| format!("/org/unit-{i:02}/team")).collect();
        let large = mock
            .token()
            .alg(KeyAlg::Rs256)
            .claim("sub", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
            .claim("scope", "openid profile email offline_access read:reports")
            .claim("roles", roles)
            .claim("groups", groups)
            .claim(
                "realm_access",
                json!({ "roles": ["default-roles", "offline_access", "uma_authorization"] }),
            )
            .claim("preferred_username", "alice@example.com")
            .claim("email", "alice@example.com")
            .claim("email_verified", true)
            .claim("name", "Alice Example")
            .expires_in(4 * 3600)
            .sign();
        let machine = mock
            .token()
            .alg(KeyAlg::Rs256)
            .claim("sub", "reporting-service")
            .claim("client_id", "reporting-service")
            .claim("scope", "read:reports")
            .expires_in(4 * 3600)
            .sign();
        Self {
            rt,
            mock,
            user,
            large,
            machine,
        }
    }

    fn token(&self, alg: KeyAlg) -> &str {
        &self
            .user
            .iter()
            .find(|(a, _)| *a == alg)
            .expect("token for alg")
            .1
    }

    /// A configuration trusting the mock issuer through its JWKS, given statically.
    fn config(&self, token_cache: bool) -> AuthConfig {
        let builder = AuthConfig::builder()
            .issuer(Issuer::new(self.mock.issuer()).static_jwks(self.mock.jwks().to_string()))
            .audience(self.mock.audience());
        let builder = if token_cache {
            builder
        } else {
            builder.without_token_cache()
        };
        builder.build().expect("config")
    }
}

fn claims_of(token: &str) -> Map<String, Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}

fn stages(c: &mut Criterion) {
    let fx = Fixture::new();
    let rs = fx.token(KeyAlg::Rs256).to_owned();

    // --- header, decode, digest -------------------------------------------------------
    let mut g = c.benchmark_group("header");
    g.bench_function("parse_header", |b| {
        b.iter(|| parse_header(black_box(&rs)).expect("header"))
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.bench_function(BenchmarkId::new("parse_token", "typical"), |b| {
        b.iter(|| parse_token(black_box(&rs)).expect("token"))
    });
    g.bench_function(BenchmarkId::new("parse_token", "large_claims"), |b| {
        b.iter(|| parse_token(black_box(&fx.large)).expect("token"))
    });
    // The claims' `Map`, built only when a handler asks for `Principal::claims()`.
    g.bench_function(BenchmarkId::new("parse_token_to_map", "typical"), |b| {
        b.iter(|| parse_token_to_map(black_box(&rs)).expect("token"))
    });
    g.bench_function(
        BenchmarkId::new("parse_token_to_map", "large_claims"),
        |b| b.iter(|| parse_token_to_map(black_box(&fx.large)).expect("token")),
    );
    g.finish();

    let mut g = c.benchmark_group("cache_key");
    g.bench_function("token_locator", |b| {
        b.iter(|| token_locator(black_box(&rs)))
    });
    g.bench_function("token_sha256_before", |b| {
        b.iter(|| token_digest(black_box(&rs)))
    });
    g.finish();

    // --- key lookup -------------------------------------------------------------------
    let mut g = c.benchmark_group("keys");
    let static_auth = Authenticator::new(fx.config(true));
    let fetched_auth = Authenticator::new(
        AuthConfig::builder()
            .issuer(Issuer::new(fx.mock.issuer()))
            .audience(fx.mock.audience())
            .build()
            .expect("config"),
    );
    fx.rt
        .block_on(fetched_auth.key_store().warm())
        .expect("fetch the mock issuer's JWKS");
    let iss = fx.mock.issuer().to_owned();
    g.bench_function(BenchmarkId::new("key_ids", "static_set"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { static_auth.key_store().key_ids(black_box(&iss)).await })
    });
    g.bench_function(BenchmarkId::new("key_ids", "fetched_set"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { fetched_auth.key_store().key_ids(black_box(&iss)).await })
    });
    // Prime the token caches, then measure the hit path.
    fx.rt.block_on(async {
        static_auth.verify(&rs).await.expect("verifies");
        fetched_auth.verify(&rs).await.expect("verifies");
    });
    g.bench_function(BenchmarkId::new("verify_cache_hit", "static_set"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { static_auth.verify(black_box(&rs)).await.expect("hit") })
    });
    g.bench_function(BenchmarkId::new("verify_cache_hit", "fetched_set"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { fetched_auth.verify(black_box(&rs)).await.expect("hit") })
    });
    g.finish();
    let stats = static_auth.token_cache_stats().expect("cache on");
    assert!(stats.hits > 0 && stats.misses == 1, "{stats:?}");

    // --- introspection: an answer-cache hit beside a verified-token-cache hit ----------
    let mut g = c.benchmark_group("introspection");
    fx.mock
        .add_introspection_client("bench-api", "bench-secret");
    let opaque = fx.mock.opaque_user_token("alice");
    let introspecting = Authenticator::new(
        AuthConfig::builder()
            .issuer(Issuer::new(fx.mock.issuer()).introspection(
                Introspection::new("bench-api", "bench-secret").cache(Duration::from_secs(3600)),
            ))
            .audience(fx.mock.audience())
            .build()
            .expect("config"),
    );
    // One real call (discovery, then introspection) fills the answer cache.
    fx.rt
        .block_on(introspecting.verify(&opaque))
        .expect("the mock issuer calls it active");
    let calls = fx.mock.introspection_requests();
    g.bench_function(BenchmarkId::new("verify", "token_cache_hit"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { static_auth.verify(black_box(&rs)).await.expect("hit") })
    });
    g.bench_function(BenchmarkId::new("verify", "introspection_cache_hit"), |b| {
        b.to_async(&fx.rt)
            .iter(|| async { introspecting.verify(black_box(&opaque)).await.expect("hit") })
    });
    g.finish();
    assert_eq!(
        fx.mock.introspection_requests(),
        calls,
        "every measured verification was an answer-cache hit"
    );

    // --- signature --------------------------------------------------------------------
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let mut g = c.benchmark_group("signature");
    for &alg in &ALGS {
        let token = fx.token(alg);
        let kid = fx.mock.signing_kid(alg).expect("signing kid");
        let jwk = fx.mock.public_jwk(&kid).expect("public jwk");

        let ours = PreparedKey::from_jwk(&jwk, alg.as_str()).expect("prepared key");
        assert!(ours.verify(token), "{alg}: ours must verify");

        let jwt_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).expect("jwk");
        let jwt_key = jsonwebtoken::DecodingKey::from_jwk(&jwt_jwk).expect("decoding key");
        let jwt_alg: jsonwebtoken::Algorithm = alg.as_str().parse().expect("alg");
        let (input, sig) = token.rsplit_once('.').expect("compact JWS");
        assert!(
            jsonwebtoken::crypto::verify(sig, input.as_bytes(), &jwt_key, jwt_alg)
                .expect("jsonwebtoken verify"),
            "{alg}: jsonwebtoken must verify"
        );

        g.bench_function(BenchmarkId::new("axum_principal", alg), |b| {
            b.iter(|| ours.verify(black_box(token)))
        });
        g.bench_function(BenchmarkId::new("jsonwebtoken", alg), |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(
                    black_box(sig),
                    black_box(input.as_bytes()),
                    &jwt_key,
                    jwt_alg,
                )
                .expect("verify")
            })
        });
    }
    g.finish();

    // --- classification ---------------------------------------------------------------
    let mut g = c.benchmark_group("classify");
    let classifier = Classifier::new(Preset::Generic);
    let user_claims = claims_of(&rs);
    let machine_claims = claims_of(&fx.machine);
    assert_eq!(
        classifier.classify(&user_claims).expect("user").kind,
        axum_principal::Kind::User
    );
    assert_eq!(
        classifier.classify(&machine_claims).expect("machine").kind,
        axum_principal::Kind::Machine
    );
    g.bench_function(BenchmarkId::new("generic", "user"), |b| {
        b.iter(|| classifier.classify(black_box(&user_claims)))
    });
    g.bench_function(BenchmarkId::new("generic", "machine"), |b| {
        b.iter(|| classifier.classify(black_box(&machine_claims)))
    });
    g.finish();

    // --- verify, every stage, no token cache -----------------------------------------
    let mut g = c.benchmark_group("verify");
    let uncached = Authenticator::new(fx.config(false));
    for &alg in &ALGS {
        let token = fx.token(alg);
        g.bench_function(BenchmarkId::new("no_token_cache", alg), |b| {
            b.to_async(&fx.rt)
                .iter(|| async { uncached.verify(black_box(token)).await.expect("valid") })
        });
    }
    g.bench_function(
        BenchmarkId::new("no_token_cache", "RS256_large_claims"),
        |b| {
            b.to_async(&fx.rt)
                .iter(|| async { uncached.verify(black_box(&fx.large)).await.expect("valid") })
        },
    );
    g.finish();

    // --- the whole layer --------------------------------------------------------------
    let mut g = c.benchmark_group("layer");
    async fn me(principal: Principal) -> &'static str {
        black_box(principal.subject());
        "ok"
    }
    let bare: Router = Router::new().route("/me", get(|| async { "ok" }));
    let cached: Router = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::new(fx.config(true)));
    let no_cache: Router = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::new(fx.config(false)));
    let request = |token: &str| {
        Request::builder()
            .uri("/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    let call = |app: &Router, token: &str| {
        let app = app.clone();
        let req = request(token);
        async move {
            let res = app.oneshot(req).await.expect("infallible");
            assert_eq!(res.status(), StatusCode::OK);
            res
        }
    };
    g.bench_function("bare_router", |b| {
        b.to_async(&fx.rt).iter(|| call(&bare, &rs))
    });
    g.bench_function(BenchmarkId::new("token_cache_hit", "RS256"), |b| {
        b.to_async(&fx.rt).iter(|| call(&cached, &rs))
    });
    let introspected: Router = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::from_authenticator(introspecting.clone()));
    g.bench_function(BenchmarkId::new("introspection_cache_hit", "opaque"), |b| {
        b.to_async(&fx.rt).iter(|| call(&introspected, &opaque))
    });
    for &alg in &ALGS {
        let token = fx.token(alg);
        g.bench_function(BenchmarkId::new("no_token_cache", alg), |b| {
            b.to_async(&fx.rt).iter(|| call(&no_cache, token))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .without_plots();
    targets = stages
}
criterion_main!(benches);
