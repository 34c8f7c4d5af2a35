//! [`ClientKey`]: the private key this service proves its identity with at an issuer
//! (`private_key_jwt`, RFC 7523 §2.2 / OpenID Connect Core §9).

use std::fmt;
use std::sync::Arc;

use crate::alg::Algorithm;
use crate::error::ConfigError;
use crate::signing::SigningKey;

/// A private key for `private_key_jwt` client authentication, parsed once, here: a key that
/// does not parse is a [`ConfigError::InvalidClientKey`] now, never a failure on a request.
/// The key is never shown (`Debug` prints its algorithm and `kid` only) and the PEM's
/// decoded bytes are wiped once parsed. Set with
/// [`Introspection::private_key_jwt`](crate::Introspection::private_key_jwt).
///
/// The PEM is unencrypted PKCS#8 (`BEGIN PRIVATE KEY`) for every algorithm, or PKCS#1
/// (`BEGIN RSA PRIVATE KEY`) for RSA; the algorithms are RS256/384/512, PS256/384/512,
/// ES256, ES384 and EdDSA (Ed25519). The issuer knows the public half from the client's
/// registration (`jwks` or `jwks_uri`); [`kid`](Self::kid) names it when it has several.
///
/// ```
/// use axum_principal::{Algorithm, ClientKey, ConfigError};
///
/// let refused = ClientKey::from_pem(Algorithm::ES256, "not a key");
/// assert!(matches!(refused, Err(ConfigError::InvalidClientKey(_))));
/// ```
#[derive(Clone)]
pub struct ClientKey {
    pub(crate) key: Arc<SigningKey>,
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Arc<str>>,
}

impl ClientKey {
    /// The private key in `pem`, to sign with `alg`.
    pub fn from_pem(alg: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let key = SigningKey::from_pem(alg, pem.as_ref()).map_err(ConfigError::InvalidClientKey)?;
        Ok(Self {
            key: Arc::new(key),
            alg,
            kid: None,
        })
    }

    /// The `kid` the assertions' header names (default: none, for an issuer that tries
    /// every key the client registered).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(Arc::from(kid.into()));
        self
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}
