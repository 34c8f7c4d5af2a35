//! [`Issuer`]: one trusted issuer and where its keys come from.

use std::fmt;
use std::sync::Arc;

use crate::classify::Preset;

/// One trusted issuer: its exact `iss` value and where its keys come from.
#[derive(Clone)]
pub struct Issuer {
    pub(crate) url: String,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) hmac_secret: Option<Arc<[u8]>>,
    pub(crate) use_jwks: bool,
    pub(crate) static_jwks: Option<Arc<str>>,
    pub(crate) client_id_as_audience: bool,
    pub(crate) provider: Option<Preset>,
    pub(crate) accept_id_tokens: bool,
    /// The concrete preset whose rules classify this issuer's tokens, resolved by `build()`
    /// from [`Issuer::provider`] or the classifier's default (`None`: no provider rules).
    pub(crate) rules: Option<Preset>,
}

impl Issuer {
    /// An issuer identified by `url`, which must equal the tokens' `iss` exactly. Keys are
    /// found through OIDC discovery, falling back to RFC 8414 metadata.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            jwks_uri: None,
            hmac_secret: None,
            use_jwks: true,
            static_jwks: None,
            client_id_as_audience: false,
            provider: None,
            accept_id_tokens: false,
            rules: None,
        }
    }

    /// Classify this issuer's tokens with `preset`'s rules, and only this issuer's tokens
    /// (default: the classifier's preset, [`Preset::Auto`] unless set, which picks the
    /// preset from this issuer's URL). In a service that trusts several issuers each runs
    /// its own rules only.
    pub fn provider(mut self, preset: Preset) -> Self {
        self.provider = Some(preset);
        self
    }

    /// Accept OpenID Connect ID tokens from this issuer as if they were access tokens. By
    /// default a token with `token_use: id`, a `typ` claim of `ID`, or an `at_hash` or
    /// `c_hash` claim is refused (`id_token`): an ID token tells a client who logged in, it
    /// does not authorize calls to an API, and its audience is a client id. Only for the
    /// rare issuer that issues nothing else.
    pub fn accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// Fetch keys from this JWKS URL and skip discovery.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Accept HS256/HS384/HS512 tokens from this issuer, verified with this secret (at least
    /// 32 bytes). HMAC is never accepted with keys from a JWKS.
    pub fn hmac_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_secret = Some(Arc::from(secret.into()));
        self
    }

    /// Use this JWKS document (`{"keys":[…]}`) and never fetch keys: for services with
    /// pinned keys, offline tests and fuzzing. Keys cannot rotate without a restart.
    pub fn static_jwks(mut self, jwks_json: impl Into<String>) -> Self {
        self.static_jwks = Some(Arc::from(jwks_json.into()));
        self
    }

    /// For issuers whose access tokens carry no `aud` but a `client_id` (Amazon Cognito):
    /// a token without `aud` passes the audience check when its `client_id` is one of the
    /// configured audiences. Tokens that do carry `aud` are checked as usual.
    pub fn client_id_as_audience(mut self) -> Self {
        self.client_id_as_audience = true;
        self
    }

    /// Never fetch a JWKS for this issuer (for issuers that only use an HMAC secret).
    pub fn without_jwks(mut self) -> Self {
        self.use_jwks = false;
        self
    }

    /// The issuer's `iss` value.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &self.url)
            .field("jwks_uri", &self.jwks_uri)
            .field(
                "hmac_secret",
                &self.hmac_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("use_jwks", &self.use_jwks)
            .field("static_jwks", &self.static_jwks.is_some())
            .field("provider", &self.provider)
            .field("accept_id_tokens", &self.accept_id_tokens)
            .finish()
    }
}

impl From<&str> for Issuer {
    fn from(url: &str) -> Self {
        Self::new(url)
    }
}

impl From<String> for Issuer {
    fn from(url: String) -> Self {
        Self::new(url)
    }
}
