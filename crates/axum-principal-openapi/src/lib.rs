//! OpenAPI for [`axum_principal`]: how to authenticate, and what each operation needs,
//! written from the same configuration and guards that decide the requests, so the document
//! and the code cannot drift apart.
//!
//! * [`SecuritySchemes::from_config`]: `components.securitySchemes` from the
//!   [`AuthConfig`](axum_principal::AuthConfig): a bearer `http` scheme (`bearerFormat:
//!   JWT`), one `openIdConnect` scheme per exact issuer (its discovery URL), the DPoP scheme
//!   when DPoP is accepted, and `mutualTLS` when the application says it binds tokens to
//!   client certificates ([`SecuritySchemes::mutual_tls`]).
//! * Per operation, `security` with the scopes its guards require (alternatives where a
//!   guard says "or"), `[{}, {bearer: []}]` where a token is optional, 401/403/503 with the
//!   RFC 6750 error body's schema, and the roles and kinds in the `x-required-roles`
//!   extension ([`ROLES_EXTENSION`]): from the handlers' argument types with **aide**
//!   (feature `aide`), and from [`GuardedRoutes`] for guards that run as a `route_layer`,
//!   which no generator can see (with **utoipa**, feature `utoipa`, for every route).
//!
//! The scheme names are constants ([`BEARER`], [`DPOP`], [`MUTUAL_TLS`],
//! [`openid_connect_scheme`]) shared by the schemes and the requirements, so every name in a
//! `security` list is a scheme of the document. The README (below, compiled as doctests)
//! shows both generators.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod document;
mod routes;
mod schemes;

#[cfg(feature = "aide")]
#[cfg_attr(docsrs, doc(cfg(feature = "aide")))]
pub mod aide;
#[cfg(feature = "utoipa")]
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
pub mod utoipa;

pub use axum_principal::openapi::{
    error_schema, error_schema_ref, openid_connect_scheme, Access, BEARER, DPOP, ERROR_SCHEMA,
    MUTUAL_TLS, OPENID_CONNECT_PREFIX, ROLES_EXTENSION,
};
pub use document::operations_mut;
pub use routes::GuardedRoutes;
pub use schemes::SecuritySchemes;

/// The README's examples (aide and utoipa), compiled as doctests.
#[cfg(all(doctest, feature = "aide", feature = "utoipa"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
