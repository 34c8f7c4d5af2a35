//! Verified OAuth2/OIDC bearer tokens for [Axum](https://docs.rs/axum): a Tower layer that
//! fetches and caches each issuer's JWKS, verifies bearer tokens, tells users from machines,
//! and hands handlers a typed [`Principal`]; route guards such as [`RequireRoleOrMachine`]
//! then say who may call what.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use axum_principal::{AuthConfig, AuthLayer, Principal, RequireRoleOrMachine};
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
//!     .route_layer(RequireRoleOrMachine::new("admin"))
//!     .route("/me", get(me))
//!     .layer(AuthLayer::new(config));
//! # let _ = app; Ok(()) }
//! ```
//!
//! The flow of one request is `layer` → [`verify`] → [`classify`] → [`principal`]:
//!
//! 1. the [`AuthLayer`] takes the token from `Authorization: Bearer` (never the query string),
//! 2. the unverified `iss` picks one of the configured issuers (an issuer not on the list
//!    causes no network I/O and is refused),
//! 3. the issuer's [`JwksCache`] entry gives the key named by `kid` (an unknown `kid` causes
//!    at most one coalesced refresh per cooldown),
//! 4. the signature, `iss`, `aud`, `exp`, `nbf`, `iat` and `typ` are checked,
//! 5. the [`Classifier`] decides user or machine and records why,
//! 6. the [`Principal`] is put into the request's extensions for extractors and guards.
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

pub mod classify;
pub mod clock;
pub mod config;
pub mod guard;
pub mod jwks;
pub mod layer;
pub mod principal;
pub mod rejection;
pub mod verify;

mod bearer;
mod cache;
mod crypto;

pub use classify::{ClassifiedBy, Classifier, Kind, Preset, Rule};
pub use config::{Algorithm, AuthConfig, AuthConfigBuilder, ConfigError, Issuer, TypPolicy};
pub use guard::{
    AllOf, AnyOf, Guard, Names, RequireAnyRole, RequireMachine, RequireRole, RequireRoleOrMachine,
    RequireScope, RequireUser,
};
pub use jwks::JwksCache;
pub use layer::{AuthLayer, AuthService, Authenticator, TokenCacheStats};
pub use principal::{Claims, Machine, Principal, User};
pub use rejection::{AuthRejection, InvalidRequest, InvalidToken, RejectionKind};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
