//! Sender-constrained tokens: the `cnf` claim (RFC 7800) and what it binds a token to.
//!
//! * `cnf.jkt` (RFC 9449 §6): the RFC 7638 thumbprint of a DPoP key; such a token is only
//!   accepted with `Authorization: DPoP` and a proof signed by that key
//!   ([`dpop`](crate::dpop)).
//! * `cnf.x5t#S256` (RFC 8705 §3): the SHA-256 of the client certificate of a mutual-TLS
//!   connection. The TLS acceptor of the application (this crate does no TLS) puts the
//!   certificate the client presented into the request's extensions as a
//!   [`ClientCertificate`]; the token is accepted only when it matches.
//!
//! A token with a `cnf` claim of a method this crate does not check, or bound to a DPoP key
//! and presented as a bearer token, is refused: without its proof it is exactly the replay
//! that binding exists to stop.
//!
//! ```
//! use axum::{extract::Request, middleware::Next, response::Response};
//! use axum_principal::binding::ClientCertificate;
//!
//! // What a TLS acceptor (tokio-rustls, axum-server's rustls acceptor) does once the
//! // handshake is done: the leaf certificate's DER goes into the request's extensions,
//! // before `AuthLayer` runs. Here as a middleware, for a certificate known by other means.
//! async fn attach_certificate(mut request: Request, next: Next) -> Response {
//!     let der: Vec<u8> = Vec::new(); // e.g. `tls_stream.get_ref().1.peer_certificates()`
//!     if !der.is_empty() {
//!         request.extensions_mut().insert(ClientCertificate::new(der));
//!     }
//!     next.run(request).await
//! }
//! # let _ = attach_certificate;
//! ```

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::crypto::sha256;
use crate::rejection::InvalidToken;
use crate::verify::{Claim, ClaimRead};

/// The DER of the certificate the client presented in a mutual-TLS handshake (the leaf,
/// first of the chain), put into the request's extensions by the application's TLS acceptor.
/// Tokens bound with `cnf.x5t#S256` (RFC 8705 §3) are accepted only with a matching one.
///
/// Insert it only for a certificate the TLS layer has verified (or, for self-signed client
/// certificates per RFC 8705 §2.2, at least received in a completed handshake): this crate
/// compares digests, it does not validate certificates.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate(Arc<[u8]>);

impl ClientCertificate {
    /// A certificate from its DER bytes.
    pub fn new(der: impl Into<Vec<u8>>) -> Self {
        Self(Arc::from(der.into()))
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.0
    }

    /// `base64url(SHA-256(DER))`: the `x5t#S256` value a bound token carries.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha256(&[&self.0]))
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientCertificate")
            .field(&self.thumbprint())
            .finish()
    }
}

/// What a token's `cnf` claim binds it to, read once when the token is verified and kept
/// with it in the verified-token cache (so a cached bound token is never served to a bearer
/// request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Binding {
    /// `cnf` is present at all.
    pub(crate) bound: bool,
    /// `cnf.jkt`.
    pub(crate) jkt: Option<Box<str>>,
    /// `cnf.x5t#S256`, without padding.
    pub(crate) x5t_s256: Option<Box<str>>,
    /// `cnf` holds something else too (or is not an object): a binding this crate cannot
    /// check.
    pub(crate) unknown: bool,
}

impl Binding {
    /// Reads `cnf`.
    pub(crate) fn from_claims<C: ClaimRead + ?Sized>(claims: &C) -> Result<Self, InvalidToken> {
        // Only bound tokens carry `cnf`: it alone is decoded into a `Value`.
        let Some(cnf) = claims.claim("cnf").map(Claim::into_value) else {
            return Ok(Self::default());
        };
        let mut binding = Self {
            bound: true,
            ..Self::default()
        };
        let Value::Object(cnf) = cnf else {
            binding.unknown = true;
            return Ok(binding);
        };
        // A `cnf` that names no confirmation method still says the token is bound.
        if cnf.is_empty() {
            binding.unknown = true;
        }
        for (name, value) in cnf {
            match (name.as_str(), value) {
                ("jkt", Value::String(jkt)) if !jkt.is_empty() => {
                    binding.jkt = Some(jkt.as_str().into());
                }
                ("x5t#S256", Value::String(x5t)) => {
                    binding.x5t_s256 = Some(x5t.trim_end_matches('=').into());
                }
                ("jkt" | "x5t#S256", _) => return Err(InvalidToken::InvalidClaim),
                _ => binding.unknown = true,
            }
        }
        Ok(binding)
    }

    /// The checks for a token presented with `Authorization: Bearer` (or to
    /// [`Authenticator::verify`](crate::Authenticator::verify)): unbound, or bound only to the
    /// client certificate of this connection.
    pub(crate) fn check_bearer(
        &self,
        cert: Option<&ClientCertificate>,
    ) -> Result<(), InvalidToken> {
        if !self.bound {
            return Ok(());
        }
        if self.jkt.is_some() || self.unknown {
            return Err(InvalidToken::SenderConstrained);
        }
        self.check_certificate(cert)
    }

    /// The certificate check alone (also run for a DPoP token that is bound to both).
    pub(crate) fn check_certificate(
        &self,
        cert: Option<&ClientCertificate>,
    ) -> Result<(), InvalidToken> {
        let Some(expected) = &self.x5t_s256 else {
            return Ok(());
        };
        match cert {
            // No certificate at all: the token was presented as a plain bearer token.
            None => Err(InvalidToken::SenderConstrained),
            Some(cert) if cert.thumbprint() == **expected => Ok(()),
            Some(_) => Err(InvalidToken::CertificateMismatch),
        }
    }

    /// Estimated heap bytes, for the token cache's weigher.
    pub(crate) fn weight(&self) -> usize {
        self.jkt.as_ref().map_or(0, |j| j.len()) + self.x5t_s256.as_ref().map_or(0, |x| x.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Object;
    use serde_json::json;

    fn binding(cnf: Value) -> Result<Binding, InvalidToken> {
        let claims = json!({ "cnf": cnf });
        Binding::from_claims(claims.as_object().expect("an object"))
    }

    #[test]
    fn bearer_refuses_every_binding_it_cannot_check() {
        let cert = ClientCertificate::new(b"certificate".to_vec());
        let other = ClientCertificate::new(b"another".to_vec());
        let x5t = cert.thumbprint();
        let cases = [
            (
                json!({"jkt":"abc"}),
                Some(&cert),
                Err(InvalidToken::SenderConstrained),
            ),
            (
                json!({"kid":"k"}),
                Some(&cert),
                Err(InvalidToken::SenderConstrained),
            ),
            (json!(null), None, Err(InvalidToken::SenderConstrained)),
            // An empty `cnf` still marks the token as bound.
            (json!({}), Some(&cert), Err(InvalidToken::SenderConstrained)),
            (
                json!({"x5t#S256": x5t}),
                None,
                Err(InvalidToken::SenderConstrained),
            ),
            (
                json!({"x5t#S256": x5t}),
                Some(&other),
                Err(InvalidToken::CertificateMismatch),
            ),
            (json!({"x5t#S256": x5t}), Some(&cert), Ok(())),
            (
                json!({"x5t#S256": x5t, "kid": "k"}),
                Some(&cert),
                Err(InvalidToken::SenderConstrained),
            ),
        ];
        for (cnf, cert, expected) in cases {
            let b = binding(cnf.clone()).expect("a readable cnf");
            assert_eq!(b.check_bearer(cert), expected, "{cnf}");
        }
        assert_eq!(binding(json!({"jkt": 1})), Err(InvalidToken::InvalidClaim));
        let garbled = binding(json!({"x5t#S256": "!!"})).expect("a string");
        assert_eq!(
            garbled.check_bearer(Some(&cert)),
            Err(InvalidToken::CertificateMismatch)
        );
        let unbound = Binding::from_claims(&Object::new()).expect("no cnf");
        assert_eq!(unbound.check_bearer(None), Ok(()));
    }
}
