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
//! The flow of one request follows the files: [`layer`] → [`authenticator`] → [`verify`] →
//! [`classify`] → [`principal`], with the [`key_store`] ([`KeyStore`]) for the issuers'
//! keys:
//!
//! 1. [`layer`]: the [`AuthLayer`], only the tower adapter, takes the token from
//!    `Authorization: Bearer` (never the query string) and hands it to the
//!    [`Authenticator`];
//! 2. [`authenticator`]: the pipeline. A repeated token is answered from the verified-token
//!    cache (bounded by [`TokenCacheLimits`]) while it would still verify. Otherwise the
//!    unverified `iss` picks one of the configured issuers (an issuer not on the list causes
//!    no network I/O and is refused), and that issuer's [`KeyStore`] gives the key named by
//!    `kid` (an unknown `kid` causes at most one coalesced refresh per cooldown);
//! 3. [`verify`]: the signature, `iss`, `aud`, `exp`, `nbf`, `iat` and `typ` are checked;
//! 4. [`classify`]: the [`Classifier`] decides user or machine and records why;
//! 5. [`principal`]: the [`Principal`] is put into the request's extensions for extractors
//!    and [`guard`]s.
//!
//! Every refusal is an RFC 6750 response ([`AuthRejection`]); no response ever contains the
//! token or key material.
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

pub mod authenticator;
pub mod binding;
pub mod classify;
pub mod clock;
pub mod config;
pub mod dpop;
pub mod guard;
pub mod key_store;
pub mod layer;
pub mod principal;
#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
pub mod rejection;
pub mod replay;
pub mod resource_metadata;
pub mod verify;

mod alg;
mod bearer;
mod cache;
mod crypto;
mod error;
mod headers;
mod jwk;
pub mod observe;
mod redact;
mod tenant;

pub use authenticator::{AuthRequest, Authenticator, TokenCacheStats};
pub use config::TokenCacheLimits;

#[doc(hidden)]
pub mod internals;

pub use alg::Algorithm;
pub use classify::{ClassifiedBy, Classifier, EntityProfile, Kind, Preset, Rule};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError, Issuer, TypPolicy};
pub use guard::{
    guard_layer, AllOf, AnyOf, Denied, Guard, GuardLayer, Guarded, Names, RequireActor,
    RequireAllRoles, RequireAllScopes, RequireAnyRole, RequireDirect, RequireDirectUser,
    RequireMachine, RequireRole, RequireRoleOrMachine, RequireScope, RequireUser,
};
pub use key_store::KeyStore;
pub use layer::{AuthLayer, AuthService};
pub use principal::{Actor, Claims, Machine, Principal, User};
pub use redact::{redact_credentials, redact_url};
pub use rejection::{AuthRejection, InvalidRequest, InvalidToken, RejectionKind};
pub use resource_metadata::ProtectedResourceMetadata;

/// The README's examples, compiled as doctests (they use the `rate-limit` and `redis`
/// features, which `.ci/run` turns on for the doctests).
#[cfg(all(doctest, feature = "rate-limit", feature = "redis"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The provider recipes' examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/providers.md")]
pub struct ProviderRecipesDoctests;

/// The key store's former name.
#[deprecated(since = "0.2.0", note = "renamed `KeyStore`")]
pub type JwksCache = KeyStore;

/// The key store's former module.
#[deprecated(since = "0.2.0", note = "renamed `key_store`")]
#[doc(hidden)]
pub mod jwks {
    pub use crate::key_store::{KeyStore as JwksCache, WarmError};
}
