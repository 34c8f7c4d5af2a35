//! [`TokenBuilder`]: JWT minting.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use serde_json::{Map, Value};

use crate::jws::{sign_compact, signing_input};
use crate::state::{Shared, SigningKey};
use crate::{b64url, now_unix, DpopKey, Error, KeyAlg};

/// Default token lifetime in seconds.
const DEFAULT_LIFETIME: i64 = 300;

/// Builds and signs one JWT. Obtained from [`MockIssuer::token`](crate::MockIssuer::token),
/// which fills in a valid header and claim set; every method consumes and
/// returns the builder.
///
/// The signing key is chosen when the builder is created (the issuer's
/// current signing key for its default algorithm) and changed only by
/// [`TokenBuilder::alg`] and [`TokenBuilder::key`]; header edits never change
/// which key signs, so `.header("alg", "RS512")` yields an RS256 signature
/// under a lying header.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use axum_principal_testkit::MockIssuer;
/// use serde_json::json;
///
/// let issuer = MockIssuer::start().await?;
/// let builder = issuer
///     .token()
///     .claims(json!({"sub": "svc-7", "scope": "read write"}))
///     .without_claim("aud")
///     .not_before_in(30);
/// assert_eq!(builder.claims_json()["sub"], "svc-7");
/// assert!(builder.claims_json().get("aud").is_none());
/// let jwt = builder.sign();
/// assert_eq!(jwt.split('.').count(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenBuilder {
    shared: Arc<Shared>,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signer: Result<SigningKey, Error>,
    /// `kid` was set by the caller ([`TokenBuilder::kid`] or
    /// [`TokenBuilder::header`]) rather than derived from the signing key.
    kid_explicit: bool,
    now: i64,
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field("signing_kid", &self.signer.as_ref().map(|k| k.kid.as_str()))
            .finish_non_exhaustive()
    }
}

impl TokenBuilder {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let now = now_unix();
        let mut claims = Map::new();
        claims.insert("iss".into(), shared.issuer.clone().into());
        claims.insert("aud".into(), shared.audience.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), now.saturating_add(DEFAULT_LIFETIME).into());
        claims.insert("sub".into(), "user-1".into());
        let mut header = Map::new();
        header.insert("typ".into(), "JWT".into());
        let alg = shared.default_alg;
        TokenBuilder {
            shared,
            header,
            claims,
            signer: Err(Error::NoSigningKey(alg)),
            kid_explicit: false,
            now,
        }
        .alg(alg)
    }

    /// Sets claim `name` to `value` (anything convertible to a JSON value:
    /// strings, numbers, bools, arrays/slices, [`serde_json::Value`]…).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Merges the members of a JSON object into the claims, overwriting
    /// existing ones. A value that is not an object is ignored.
    pub fn claims(mut self, obj: Value) -> Self {
        if let Value::Object(members) = obj {
            self.claims.extend(members);
        }
        self
    }

    /// Removes claim `name` (e.g. `"exp"`, `"aud"`, `"iss"`).
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets header parameter `name` to `value`. Does not change the signing
    /// key, even for `"alg"` or `"kid"`.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        if name == "kid" {
            self.kid_explicit = true;
        }
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes header parameter `name` (e.g. `"kid"`, `"typ"`).
    pub fn without_header(mut self, name: &str) -> Self {
        if name == "kid" {
            self.kid_explicit = false;
        }
        self.header.remove(name);
        self
    }

    /// Signs with the issuer's current signing key for `alg`; sets the header
    /// `alg` and `kid` accordingly. If the issuer has no such key,
    /// [`TokenBuilder::sign`] panics (and [`TokenBuilder::try_sign`] fails).
    pub fn alg(mut self, alg: KeyAlg) -> Self {
        self.header.insert("alg".into(), alg.as_str().into());
        self.kid_explicit = false;
        match self.shared.signing_key(alg) {
            Some(key) => {
                self.header.insert("kid".into(), key.kid.clone().into());
                self.signer = Ok(key);
            }
            None => {
                self.header.remove("kid");
                self.signer = Err(Error::NoSigningKey(alg));
            }
        }
        self
    }

    /// Signs with the key `kid`, even if it is retired or removed from the
    /// JWKS; sets the header `alg` and `kid` accordingly. If the issuer never
    /// created such a key, [`TokenBuilder::sign`] panics (and
    /// [`TokenBuilder::try_sign`] fails); to put an unknown `kid` in the
    /// header use [`TokenBuilder::kid`].
    pub fn key(mut self, kid: &str) -> Self {
        self.kid_explicit = false;
        self.header.insert("kid".into(), kid.into());
        match self.shared.key_by_kid(kid) {
            Some(key) => {
                self.header
                    .insert("alg".into(), key.material.alg().as_str().into());
                self.signer = Ok(key);
            }
            None => self.signer = Err(Error::UnknownKey(kid.to_owned())),
        }
        self
    }

    /// Sets the header `kid` only; the signing key is unchanged. Use it to
    /// produce tokens whose `kid` is unknown to the JWKS.
    pub fn kid(self, kid: &str) -> Self {
        self.header("kid", kid)
    }

    /// Binds the token to a DPoP key (RFC 9449 §6): `cnf` = `{"jkt": <its thumbprint>}`.
    pub fn dpop_bound(self, key: &DpopKey) -> Self {
        self.claim("cnf", serde_json::json!({ "jkt": key.thumbprint() }))
    }

    /// Binds the token to a client certificate (RFC 8705 §3.1): `cnf` =
    /// `{"x5t#S256": base64url(SHA-256(der))}`.
    pub fn mtls_bound(self, certificate_der: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, certificate_der);
        self.claim(
            "cnf",
            serde_json::json!({ "x5t#S256": b64url(digest.as_ref()) }),
        )
    }

    /// Sets `exp` to now + `secs` (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        let exp = self.now.saturating_add(secs);
        self.claim("exp", exp)
    }

    /// Sets `nbf` to now + `secs` (positive: not yet valid).
    pub fn not_before_in(self, secs: i64) -> Self {
        let nbf = self.now.saturating_add(secs);
        self.claim("nbf", nbf)
    }

    /// Sets `iat` to now + `secs` (positive: issued in the future).
    pub fn issued_at_in(self, secs: i64) -> Self {
        let iat = self.now.saturating_add(secs);
        self.claim("iat", iat)
    }

    /// Sets `acr`, the authentication context class the user signed in with (OpenID
    /// Connect Core §2), for step-up tests (RFC 9470).
    pub fn acr(self, acr: &str) -> Self {
        self.claim("acr", acr)
    }

    /// Sets `amr`, the authentication methods used (RFC 8176: `pwd`, `otp`, `hwk`, …).
    pub fn amr<I, S>(self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let methods: Vec<Value> = methods.into_iter().map(|m| Value::from(m.into())).collect();
        self.claim("amr", methods)
    }

    /// Sets `auth_time`, when the user signed in, to now + `secs` (negative: that many
    /// seconds ago).
    pub fn auth_time_in(self, secs: i64) -> Self {
        let auth_time = self.now.saturating_add(secs);
        self.claim("auth_time", auth_time)
    }

    /// The JOSE header as it would be signed by [`TokenBuilder::sign`].
    pub fn header_json(&self) -> Value {
        Value::Object(self.header.clone())
    }

    /// The claim set.
    pub fn claims_json(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    /// `b64url(header) + "." + b64url(claims)`.
    fn signing_input(&self) -> String {
        signing_input(&self.header, &self.claims)
    }

    /// Serializes and signs the token, returning its compact JWS form
    /// `header.payload.signature`.
    ///
    /// # Panics
    ///
    /// Panics if there is no key to sign with (the issuer has no published,
    /// non-retired key of the requested algorithm, or [`TokenBuilder::key`]
    /// named an unknown key). Use [`TokenBuilder::try_sign`] to get an error
    /// instead.
    pub fn sign(self) -> String {
        match self.try_sign() {
            Ok(token) => token,
            Err(err) => panic!("TokenBuilder::sign: {err}"),
        }
    }

    /// Like [`TokenBuilder::sign`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`], [`Error::UnknownKey`] or [`Error::Crypto`].
    pub fn try_sign(self) -> Result<String, Error> {
        let key = self.signer.clone()?;
        sign_compact(self.signing_input(), &key.material)
    }

    /// Signs with HMAC-SHA256 under `secret` instead of an issuer key. The
    /// header `alg` becomes `"HS256"`, and the `kid` is dropped unless it was
    /// set explicitly with [`TokenBuilder::kid`] or [`TokenBuilder::header`].
    /// Handy for algorithm-confusion tests (e.g. using a published public key
    /// as the secret).
    pub fn sign_hs256(mut self, secret: &[u8]) -> String {
        self.header.insert("alg".into(), "HS256".into());
        if !self.kid_explicit {
            self.header.remove("kid");
        }
        let signing_input = self.signing_input();
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&key, signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(tag.as_ref()))
    }

    /// An opaque token (`mock_at_` and random hex, not a JWT) whose introspection at the
    /// issuer's `POST {issuer}/introspect` answers these claims with `"active":true` (until
    /// it expires or is [revoked](crate::MockIssuer::revoke)). The header is ignored.
    pub fn opaque(self) -> String {
        self.shared.issue_opaque(self.claims)
    }

    /// Signs the JWT (as [`sign`](Self::sign)) and makes the issuer's introspection endpoint
    /// answer for it: its claims, plus `extra`'s members (an object) where the JWT lacks
    /// them, with `"active":true` until it expires or is
    /// [revoked](crate::MockIssuer::revoke). A Keycloak *lightweight access token*: the JWT
    /// leaves out what introspection gives (roles, `client_id`…).
    ///
    /// # Panics
    ///
    /// As [`sign`](Self::sign).
    pub fn sign_introspectable(self, extra: Value) -> String {
        let mut answer = self.claims.clone();
        if let Value::Object(extra) = extra {
            for (name, value) in extra {
                answer.entry(name).or_insert(value);
            }
        }
        let shared = Arc::clone(&self.shared);
        let token = self.sign();
        shared.state().introspection.issue(token.clone(), answer);
        token
    }

    /// An unsecured JWS: header `alg` `"none"` (other header parameters,
    /// including `kid`, are kept) and an empty signature: `header.payload.`.
    pub fn unsigned(mut self) -> String {
        self.header.insert("alg".into(), "none".into());
        format!("{}.", self.signing_input())
    }
}
