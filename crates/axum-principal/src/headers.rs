//! The DPoP header names, shared by the proof checks and the rendering of refusals.

use http::HeaderName;

/// The `DPoP` request header that carries the proof (RFC 9449 §4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header that carries a server nonce (RFC 9449 §8).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");
