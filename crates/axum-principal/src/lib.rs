//! Verified OAuth2/OIDC bearer tokens for [Axum](https://docs.rs/axum): a Tower layer that
//! fetches and caches each issuer's JWKS, verifies bearer tokens, tells users from machines,
//! and hands handlers a typed [`Principal`]; route guards such as [`RequireRoleOrMachine`]
//! then say who may call what.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use axum_principal::{guard_layer, AuthConfig, AuthLayer, Principal, RequireRoleOrMachine};
//!
//! async fn me(principal: Principal) -> String {
//!     format!("{} ({:?})", principal.subject(), principal.kind())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthConfig::builder()
//!     .issuer("https://issuer.example.com/")
//!     .audience("https://api.example.com")
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/admin", get(me))
//!     .route_layer(guard_layer(RequireRoleOrMachine::new("admin")))
//!     .route("/me", get(me))
//!     .layer(AuthLayer::new(config));
//! # let _ = app; Ok(()) }
//! ```
//!
//! The flow of one request: the [`AuthLayer`] takes the token from `Authorization: Bearer`
//! (never the query string) and hands it to the [`Authenticator`]. A repeated token is
//! answered from the verified-token cache (bounded by [`TokenCacheLimits`]) while it would
//! still verify. Otherwise the unverified `iss` picks one of the configured issuers (an
//! issuer not on the list causes no network I/O and is refused), and that issuer's
//! [`KeyStore`] gives the key named by `kid` (an unknown `kid` causes at most one coalesced
//! refresh per cooldown); the signature, `iss`, `aud`, `exp`, `nbf`, `iat` and `typ` are
//! checked; the [`Classifier`] decides user or machine and records why; the [`Principal`] is
//! put into the request's extensions for extractors and [`guard`]s. A token that is not a
//! JWT goes, when an [`Issuer`] is configured for it with [`Introspection`], to that
//! issuer's RFC 7662 introspection endpoint, whose answer is checked and classified the
//! same way. `docs/architecture.md` follows the same request file by file.
//!
//! Every refusal is an RFC 6750 response ([`AuthRejection`]); no response ever contains the
//! token or key material. A gRPC call (a tonic service behind the layer; the library knows
//! gRPC by its `content-type` alone) is refused with a gRPC status instead, in a
//! Trailers-Only response ([`AuthRejection::grpc_response`]), and [`GrpcMethodGuards`] puts
//! a guard on each gRPC method.
//!
//! # Metrics
//! Events go to `tracing` (key fetches get a span; rejections are logged at debug with their
//! reason code). With the `metrics` feature the same events increment counters through the
//! [`metrics`](https://docs.rs/metrics) facade:
//!
//! | counter | labels | counts |
//! |---|---|---|
//! | `axum_principal_verifications_total` | `kind` (`user`/`machine`), `cached` (`true`/`false`) | accepted tokens |
//! | `axum_principal_rejections_total` | `reason` (e.g. `expired`, `unknown_key`, `guard_refused`) | refused requests |
//! | `axum_principal_token_cache_total` | `result` (`hit`/`miss`) | token-cache lookups |
//! | `axum_principal_key_refreshes_total` | `issuer`, `result` (`ok`/`error`) | JWKS fetches |
//! | `axum_principal_key_refresh_cooldowns_total` | `issuer` | unknown-`kid` refreshes skipped by the cooldown |
//! | `axum_principal_stale_keys_total` | `issuer` | requests served from keys past their lifetime |
//! | `axum_principal_rate_limit_store_failures_total` | `policy` | requests the shared quota store (Redis) did not answer in time |
//! | `axum_principal_introspections_total` | `issuer`, `result` | introspection calls (RFC 7662), and calls the breaker spared |
//! | `axum_principal_introspection_seconds` (histogram) | `issuer` | how long introspection calls took |
//! | `axum_principal_introspection_cache_total` | `result` (`hit`/`miss`) | introspection-answer cache lookups |
//! | `axum_principal_introspections_total` | `issuer`, `result` (`active`, or a refusal's or failure's reason) | introspection calls (and calls the breaker spared) |
//! | `axum_principal_introspection_seconds` (histogram) | `issuer` | introspection call latency |
//! | `axum_principal_introspection_cache_total` | `result` (`hit`/`miss`) | introspection answer-cache lookups |
//!
//! Labels never carry tokens, subjects or key ids. A refusal is counted once, by its
//! [reason code](crate::AuthRejection::reason), when it becomes a response.
//!
//! # Crypto backend
//! Exactly one of the features `aws-lc-rs` (default) and `rust-crypto` must be enabled.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, clippy::await_holding_lock)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(all(feature = "aws-lc-rs", feature = "rust-crypto"))]
compile_error!(
    "axum-principal: enable exactly one crypto backend; both `aws-lc-rs` and `rust-crypto` are enabled \
     (use `default-features = false, features = [\"rust-crypto\"]` to pick rust-crypto)"
);
#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "axum-principal: enable exactly one crypto backend: feature `aws-lc-rs` (the default) or `rust-crypto`"
);

mod authenticator;
pub mod binding;
pub mod classify;
pub mod clock;
pub mod config;
pub mod dpop;
pub mod guard;
mod key_store;
mod layer;
pub mod openapi;
pub mod principal;
#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod rejection;
pub mod replay;
mod resource_metadata;
pub mod scope;
mod verify;

mod alg;
mod crypto;
mod error;
mod headers;
mod introspect;
mod jwk;
mod observe;
mod redact;
mod signing;
mod tenant;
mod token_cache;

#[doc(hidden)]
pub mod internals;

pub use alg::Algorithm;
pub use authenticator::{AuthRequest, Authenticator, TokenCacheStats};
pub use classify::{ClassifiedBy, Classifier, EntityProfile, Kind, Preset, Rule};
pub use config::{
    AuthConfig, AuthConfigBuilder, ClientKey, ConfigError, Introspection, Issuer, TokenCacheLimits,
    TypPolicy,
};
pub use guard::{
    guard_layer, AllOf, AnyOf, Denied, GrpcMethodGuards, Guard, GuardLayer, Guarded, Names,
    RequireActor, RequireAllRoles, RequireAllScopes, RequireAnyRole, RequireAuthContext,
    RequireDirect, RequireDirectUser, RequireMachine, RequirePrincipal, RequireRole,
    RequireRoleOrMachine, RequireScope, RequireUser,
};
pub use key_store::{KeyStore, WarmError};
pub use layer::{AuthLayer, AuthService, AuthServiceFuture};
pub use principal::{Actor, ClaimStrings, Claims, Machine, Principal, User};
pub use redact::{redact_credentials, redact_url};
pub use rejection::{
    AuthRejection, InsufficientAuthentication, IntrospectionFailure, InvalidRequest, InvalidToken,
    RejectionKind, StepUp,
};
pub use resource_metadata::ProtectedResourceMetadata;
pub use scope::ScopeMatcher;

/// The provider recipes' examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/providers.md")]
pub struct ProviderRecipesDoctests;
