//! [`DpopKey`] and [`DpopProof`]: a client's DPoP key (RFC 9449) and the proofs it signs,
//! valid ones and broken ones, for testing a resource server.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use serde_json::{Map, Value};

use crate::jws::{sign_compact, signing_input};
use crate::keys::{random_hex, KeyMaterial};
use crate::{b64url, now_unix, Error, KeyAlg};

/// A client's DPoP key pair: it signs proofs, and its RFC 7638 thumbprint is what a bound
/// token's `cnf.jkt` names ([`TokenBuilder::dpop_bound`](crate::TokenBuilder::dpop_bound)).
///
/// ```
/// use axum_principal_testkit::{DpopKey, KeyAlg};
///
/// let key = DpopKey::generate(KeyAlg::Es256)?;
/// let proof = key
///     .proof("GET", "https://api.example.test/me")
///     .access_token("eyJ…")
///     .sign();
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.thumbprint().len(), 43);
/// # Ok::<(), axum_principal_testkit::Error>(())
/// ```
#[derive(Clone)]
pub struct DpopKey {
    material: Arc<KeyMaterial>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg())
            .field("jkt", &self.thumbprint())
            .finish()
    }
}

impl DpopKey {
    /// A fresh key for `alg` (RS256 keys are 2048-bit).
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] if key generation fails.
    pub fn generate(alg: KeyAlg) -> Result<Self, Error> {
        KeyMaterial::generate(alg).map(|m| Self {
            material: Arc::new(m),
        })
    }

    /// The algorithm proofs are signed with.
    pub fn alg(&self) -> KeyAlg {
        self.material.alg()
    }

    /// The public key as the proof's `jwk` header carries it (`kty` and its public
    /// members, nothing else).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.material.public_jwk("");
        if let Value::Object(members) = &mut jwk {
            members.remove("kid");
            members.remove("use");
            members.remove("alg");
        }
        jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url: the `cnf.jkt` of tokens
    /// bound to this key.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        let member = |name: &str| {
            let value = jwk.get(name).and_then(Value::as_str).unwrap_or_default();
            format!("{}:{}", Value::from(name), Value::from(value))
        };
        let names: &[&str] = match self.alg() {
            KeyAlg::Rs256 => &["e", "kty", "n"],
            KeyAlg::Es256 => &["crv", "kty", "x", "y"],
            KeyAlg::EdDsa => &["crv", "kty", "x"],
        };
        let canonical = format!(
            "{{{}}}",
            names
                .iter()
                .map(|n| member(n))
                .collect::<Vec<_>>()
                .join(",")
        );
        b64url(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// A valid proof for `method` and `url` (its `htu`, used as given), issued now with a
    /// random `jti`. Add the access token with [`DpopProof::access_token`].
    pub fn proof(&self, method: &str, url: &str) -> DpopProof {
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), self.alg().as_str().into());
        header.insert("jwk".into(), self.public_jwk());
        let mut claims = Map::new();
        claims.insert("jti".into(), random_hex(16).into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), url.into());
        claims.insert("iat".into(), now_unix().into());
        DpopProof {
            key: self.clone(),
            header,
            claims,
        }
    }
}

/// `base64url(SHA-256(token))`: a proof's `ath` for `token`.
pub fn access_token_hash(token: &str) -> String {
    b64url(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// One DPoP proof, from [`DpopKey::proof`]: every method edits it, [`sign`](Self::sign)
/// signs it. The broken variants a resource server must refuse are one call away.
#[derive(Clone, Debug)]
pub struct DpopProof {
    key: DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl DpopProof {
    /// Binds the proof to `token`: `ath` = base64url(SHA-256(token)).
    pub fn access_token(self, token: &str) -> Self {
        self.claim("ath", access_token_hash(token))
    }

    /// Sets `iat` to now + `secs` (negative: an old proof).
    pub fn issued_at_in(self, secs: i64) -> Self {
        self.claim("iat", now_unix().saturating_add(secs))
    }

    /// Sets `jti` (reuse one to make a replay).
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", jti)
    }

    /// Sets the server-provided `nonce`.
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce)
    }

    /// Sets claim `name`.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes claim `name`.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets header parameter `name` (`typ`, `alg`, `jwk`…); the signing key is unchanged.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes header parameter `name`.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Adds a private member (`d`) to the `jwk` header: a proof that leaks its key, which a
    /// resource server must refuse.
    pub fn private_jwk(mut self) -> Self {
        if let Some(Value::Object(jwk)) = self.header.get_mut("jwk") {
            jwk.insert("d".into(), b64url(&[7u8; 32]).into());
        }
        self
    }

    /// The `jti`.
    pub fn jti_value(&self) -> Option<&str> {
        self.claims.get("jti").and_then(Value::as_str)
    }

    /// The claims as they would be signed.
    pub fn claims_json(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    fn signing_input(&self) -> String {
        signing_input(&self.header, &self.claims)
    }

    /// Signs with the proof's key.
    ///
    /// # Panics
    ///
    /// If the crypto library fails to sign; [`try_sign`](Self::try_sign) returns the error.
    pub fn sign(self) -> String {
        match self.try_sign() {
            Ok(proof) => proof,
            Err(e) => panic!("DpopProof::sign: {e}"),
        }
    }

    /// Like [`sign`](Self::sign), returning an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`].
    pub fn try_sign(self) -> Result<String, Error> {
        sign_compact(self.signing_input(), &self.key.material)
    }

    /// Signs with `other`'s private key while the header keeps this key's `jwk`: a bad
    /// signature.
    ///
    /// # Panics
    ///
    /// If the crypto library fails to sign.
    pub fn sign_with(self, other: &DpopKey) -> String {
        match sign_compact(self.signing_input(), &other.material) {
            Ok(proof) => proof,
            Err(e) => panic!("DpopProof::sign_with: {e}"),
        }
    }
}
