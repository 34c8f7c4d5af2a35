//! A mock OpenID provider for testing services that verify OAuth2/OIDC bearer
//! tokens (for example with `axum-principal`).
//!
//! [`MockIssuer`] listens on an ephemeral `127.0.0.1` port and serves
//! OIDC discovery, RFC 8414 authorization-server metadata and a JWKS. It mints
//! JWTs signed with RS256, ES256 or EdDSA keys it generated itself (or HS256
//! with a secret you supply), can rotate, retire and unpublish keys, inject
//! faults into its HTTP responses and counts the requests it receives.
//!
//! ```
//! use axum_principal_testkit::{KeyAlg, MockIssuer};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let issuer = MockIssuer::start().await?;
//!
//!     // Point the service under test at these:
//!     println!("issuer   = {}", issuer.issuer()); // http://127.0.0.1:<port>
//!     println!("jwks_uri = {}", issuer.jwks_uri());
//!
//!     // Mint tokens. The defaults are valid for 5 minutes and carry the
//!     // issuer's `iss` and `aud`.
//!     let user = issuer.user_token("alice");
//!     let token = issuer
//!         .token()
//!         .alg(KeyAlg::Es256)
//!         .claim("sub", "bob")
//!         .claim("roles", ["admin"])
//!         .expires_in(60)
//!         .sign();
//!     assert_eq!(user.split('.').count(), 3);
//!     assert_eq!(token.split('.').count(), 3);
//!
//!     // Hostile variants for negative tests.
//!     let expired = issuer.token().expires_in(-120).sign();
//!     let unknown_kid = issuer.token().kid("no-such-key").sign();
//!     let alg_none = issuer.token().unsigned();
//!     assert!(alg_none.ends_with('.'));
//!     # let _ = (expired, unknown_kid);
//!     Ok(())
//! }
//! ```
//!
//! # Endpoints
//!
//! With `issuer = http://127.0.0.1:PORT{prefix}` (the prefix is optional, see
//! [`MockIssuerBuilder::path_prefix`]):
//!
//! | Request | Response |
//! |---|---|
//! | `GET {issuer}/.well-known/openid-configuration` | OIDC discovery document |
//! | `GET http://127.0.0.1:PORT/.well-known/oauth-authorization-server{prefix}` | RFC 8414 metadata (same document) |
//! | `GET {issuer}/jwks` | `{"keys":[…]}` with `Cache-Control: max-age=300` |
//! | `POST {issuer}/introspect` | RFC 7662 token introspection of the opaque tokens it issued ([`TokenBuilder::opaque`]), for the clients registered with [`MockIssuer::add_introspection_client`] (HTTP Basic or form credentials), or with `private_key_jwt` for those registered with [`MockIssuer::add_introspection_client_key`]; a signed answer (RFC 9701) to `Accept: application/token-introspection+jwt` |
//! | anything else | `404` |
//!
//! The discovery documents can be switched off ([`Discovery`]) or made to
//! report a different issuer ([`MockIssuer::set_discovery_issuer`]), and all
//! of the above can be broken on purpose with [`MockIssuer::set_fault`].
//!
//! # Lifetime
//!
//! [`MockIssuer`] is a cheap, clonable handle. The server runs as a task on
//! the tokio runtime that called [`MockIssuer::start`] and stops when the last
//! handle is dropped, when [`MockIssuer::shutdown`] is called, or when the
//! runtime itself shuts down.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod client_auth;
mod dpop;
mod introspection;
mod introspection_jwt;
mod issuer;
mod jws;
mod keys;
mod server;
mod state;
mod token;

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

pub use builder::MockIssuerBuilder;
pub use client_auth::AssertionKey;
pub use dpop::{access_token_hash, DpopKey, DpopProof};
pub use introspection::IntrospectionFault;
pub use issuer::MockIssuer;
pub use token::TokenBuilder;

/// The audience [`MockIssuer`] puts in tokens unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "https://api.example.test";

/// The audience [`IntrospectionFault::WrongAudience`] answers with: another API of the same
/// issuer.
pub const OTHER_AUDIENCE: &str = "https://other-api.example.test";

/// The `Cache-Control` value served with the JWKS unless configured otherwise.
pub const DEFAULT_JWKS_CACHE_CONTROL: &str = "max-age=300";

/// Encodes `bytes` as base64url without padding, as used by JWS and JWK.
///
/// ```
/// assert_eq!(axum_principal_testkit::b64url(b"{\"alg\":\"none\"}"), "eyJhbGciOiJub25lIn0");
/// ```
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An asymmetric signing algorithm the mock issuer can generate keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 on a 2048-bit RSA key.
    Rs256,
    /// ECDSA on P-256 with SHA-256 (fixed-size `r || s` signatures).
    Es256,
    /// Ed25519.
    EdDsa,
}

impl KeyAlg {
    /// All supported algorithms, in the order keys are created by default.
    pub const ALL: [KeyAlg; 3] = [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa];

    /// The JWS `alg` header value: `"RS256"`, `"ES256"` or `"EdDSA"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::Es256 => "ES256",
            KeyAlg::EdDsa => "EdDSA",
        }
    }

    /// Prefix used for generated key ids (`"rs256"`, `"es256"`, `"eddsa"`).
    fn kid_prefix(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "rs256",
            KeyAlg::Es256 => "es256",
            KeyAlg::EdDsa => "eddsa",
        }
    }
}

impl fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault injected into the discovery and JWKS responses, see
/// [`MockIssuer::set_fault`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer normally.
    #[default]
    None,
    /// Fail at the connection level: new connections are closed as soon as
    /// they are accepted and requests on already-open keep-alive connections
    /// make the server close the connection without answering. Applies to
    /// every path, not only discovery and JWKS.
    Down,
    /// Answer with this HTTP status code and a short plain-text body.
    Status(u16),
    /// Wait this long before answering normally.
    Slow(Duration),
    /// Answer `200 OK` with `Content-Type: application/json` and the body
    /// `not json {{{`.
    Garbage,
    /// Answer `200 OK` with a syntactically valid JSON body of exactly this
    /// many bytes (`{"keys":[],"pad":"xxxx…"}` when at least 20 bytes).
    Oversized(usize),
}

/// Which discovery documents the mock issuer serves, see
/// [`MockIssuer::set_discovery`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Discovery {
    /// Serve both the OIDC discovery document and the RFC 8414 metadata.
    #[default]
    Oidc,
    /// Serve only the RFC 8414 metadata; the OIDC path answers `404`.
    Rfc8414Only,
    /// Serve no discovery document at all; both paths answer `404`.
    None,
}

/// Why a token could not be signed, or an issuer could not be created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// There is no published, non-retired key for this algorithm to sign with
    /// by default. Add one with [`MockIssuer::add_key`] or pick a specific key
    /// with [`TokenBuilder::key`].
    NoSigningKey(KeyAlg),
    /// No key with this `kid` was ever created by the issuer.
    UnknownKey(String),
    /// The cryptographic library reported a failure.
    Crypto(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSigningKey(alg) => write!(
                f,
                "the mock issuer has no published, non-retired {alg} key to sign with"
            ),
            Error::UnknownKey(kid) => write!(f, "the mock issuer has no key with kid {kid:?}"),
            Error::Crypto(what) => write!(f, "crypto failure: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::other(err)
    }
}

/// Seconds since the Unix epoch, per the system clock.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
