//! [`Introspection`]: how one issuer's opaque tokens are introspected, as the user wrote it
//! (the machinery is `introspect/`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{ClientKey, TokenCacheLimits};

/// How this service authenticates at the introspection endpoint (RFC 7662 §2.1, with the
/// client authentication methods of RFC 6749 §2.3 / OpenID Connect Core §9).
#[derive(Debug, Clone)]
pub(crate) enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret.
    Basic(Secret),
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post(Secret),
    /// `private_key_jwt`: a client assertion signed with this key (RFC 7523 §2.2).
    PrivateKeyJwt(ClientKey),
}

impl ClientAuth {
    /// The method's registered name, for logs.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Basic(_) => "client_secret_basic",
            Self::Post(_) => "client_secret_post",
            Self::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

/// A client secret: never shown (`Debug` prints `<redacted>`), wiped from memory when the
/// last configuration holding it goes.
#[derive(Clone)]
pub(crate) struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Opaque tokens of an [`Issuer`](crate::Issuer), verified by asking the issuer (RFC 7662
/// token introspection). Set with [`Issuer::introspection`](crate::Issuer::introspection).
///
/// A bearer token that is not a JWS (three dot-separated base64url segments whose first
/// decodes to a JSON object) goes to the one issuer configured for opaque tokens; with
/// several, each needs a [`token_prefix`](Self::token_prefix) (a token names no issuer, and
/// is never sent to more than one). JWTs are still verified locally, and a JWT that fails
/// local verification is never introspected.
///
/// The answer decides: `active` must be the JSON value `true`; `iss`, when present, must be
/// the issuer; `aud` must be present and name an accepted audience; `exp` must be present
/// and not past. Its members are then the token's claims: the same classification, roles,
/// scopes, actor and guards as for a JWT of that issuer; a `cnf` member or `token_type`
/// `DPoP` makes it a bound token. An issuer that cannot answer (unreachable, slow, 5xx, not
/// JSON, refusing this service's credentials) gives 503, never 401.
///
/// Options: client authentication by [`client_secret_post`](Self::client_secret_post) or
/// [`private_key_jwt`](Self::private_key_jwt) instead of HTTP Basic; [`enrich`](Self::enrich)
/// for JWTs that lack claims (Keycloak's lightweight tokens); signed answers
/// ([`jwt_response`](Self::jwt_response), RFC 9701); an answer cache
/// ([`cache`](Self::cache), [`cache_inactive`](Self::cache_inactive)).
///
/// ```
/// use std::time::Duration;
/// use axum_principal::{AuthConfig, Introspection, Issuer};
///
/// let config = AuthConfig::builder()
///     .issuer(
///         Issuer::new("https://hydra.example.com/")
///             .introspection(Introspection::new("orders-api", "s3cret").cache(Duration::from_secs(30))),
///     )
///     .audience("https://orders.example.com")
///     .build()?;
/// # let _ = config;
/// # Ok::<(), axum_principal::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Introspection {
    pub(crate) client_id: Arc<str>,
    pub(crate) auth: ClientAuth,
    pub(crate) endpoint: Option<String>,
    pub(crate) token_prefix: Option<String>,
    pub(crate) enrich: bool,
    pub(crate) jwt_response: bool,
    pub(crate) cache_ttl: Duration,
    pub(crate) inactive_ttl: Duration,
    pub(crate) cache_limits: TokenCacheLimits,
    pub(crate) timeout: Duration,
    pub(crate) max_calls: usize,
    pub(crate) breaker_threshold: u32,
    pub(crate) breaker_cooldown: Duration,
}

impl Introspection {
    /// Introspection with these client credentials, sent as HTTP Basic
    /// (`client_secret_basic`, the default of RFC 6749 and RFC 7662). The endpoint is the
    /// `introspection_endpoint` of the issuer's discovery document unless
    /// [`endpoint`](Self::endpoint) names it. No cache; a 15 s timeout.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        let secret = Secret(Arc::new(Zeroizing::new(client_secret.into())));
        Self::with_auth(client_id.into(), ClientAuth::Basic(secret))
    }

    /// Introspection authenticated with `private_key_jwt` (RFC 7523 §2.2, OpenID Connect
    /// Core §9): each call carries a fresh client assertion, a JWT signed with `key` whose
    /// `iss` and `sub` are `client_id`, whose `aud` is the issuer identifier, with a random
    /// `jti`, `iat` now and `exp` 60 s later. The issuer has the key's public half in the
    /// client's registration (`token_endpoint_auth_method` or
    /// `introspection_endpoint_auth_method` `private_key_jwt`).
    ///
    /// The `aud` is the issuer identifier, the one value every server accepts since the
    /// 2025 audience-injection fixes (draft-ietf-oauth-rfc7523bis; oidc-provider accepts the
    /// issuer, the endpoint or the token endpoint, Keycloak the issuer): an assertion made
    /// for one endpoint is no use at another server.
    ///
    /// ```
    /// use axum_principal::{Algorithm, ClientKey, Introspection};
    ///
    /// # fn load(pem: &str) -> Result<Introspection, axum_principal::ConfigError> {
    /// let key = ClientKey::from_pem(Algorithm::ES256, pem)?.kid("orders-api-2026");
    /// Ok(Introspection::private_key_jwt("orders-api", key))
    /// # }
    /// ```
    pub fn private_key_jwt(client_id: impl Into<String>, key: ClientKey) -> Self {
        Self::with_auth(client_id.into(), ClientAuth::PrivateKeyJwt(key))
    }

    fn with_auth(client_id: String, auth: ClientAuth) -> Self {
        Self {
            client_id: Arc::from(client_id),
            auth,
            endpoint: None,
            token_prefix: None,
            enrich: false,
            jwt_response: false,
            cache_ttl: Duration::ZERO,
            inactive_ttl: Duration::ZERO,
            cache_limits: TokenCacheLimits::default()
                .max_entries(10_000)
                .max_bytes(16 << 20),
            timeout: Duration::from_secs(15),
            max_calls: 256,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(5),
        }
    }

    /// Sends the credentials in the form body (`client_secret_post`) instead of HTTP Basic.
    /// No effect with [`private_key_jwt`](Self::private_key_jwt).
    pub fn client_secret_post(mut self) -> Self {
        if let ClientAuth::Basic(secret) = self.auth {
            self.auth = ClientAuth::Post(secret);
        }
        self
    }

    /// The introspection endpoint, instead of discovery's `introspection_endpoint`
    /// (`https://`, or `http://` on loopback).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Only opaque tokens starting with `prefix` go to this issuer (Hydra's access tokens
    /// start with `ory_at_`). Needed when several issuers introspect.
    pub fn token_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.token_prefix = Some(prefix.into());
        self
    }

    /// "Enrich" mode, for JWTs that leave claims out (Keycloak's *lightweight access
    /// tokens* carry no roles, no `client_id`…): this issuer's JWTs are verified locally
    /// as always (every check; a JWT that fails one is refused without any call), then
    /// introspected, and the answer's members the JWT lacks are added to its claims before
    /// the classification, roles and guards (but the answer's `client_id` when the JWT names
    /// its client by `azp`: Keycloak answers carry it for every token, while its rule reads
    /// a `client_id` claim as a service account's). The JWT's own claims win; the answer must be
    /// active (else 401 `inactive`) and agree with the JWT on `iss`, `sub` and `aud` where
    /// it names them (else 401: `unknown_issuer`, `invalid_claim`, `wrong_audience`). The
    /// cache, breaker and failures (503) are those of opaque tokens; an enriched token never
    /// enters the verified-token cache, so with no answer cache every request asks the
    /// issuer.
    ///
    /// An enriching issuer takes no opaque tokens (so it needs no
    /// [`token_prefix`](Self::token_prefix), and routes none).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_principal::{AuthConfig, Introspection, Issuer};
    ///
    /// let config = AuthConfig::builder()
    ///     .issuer(Issuer::new("https://sso.example.com/realms/acme").introspection(
    ///         Introspection::new("orders-api", "s3cret")
    ///             .enrich()
    ///             .cache(Duration::from_secs(60)),
    ///     ))
    ///     .audience("orders-api")
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), axum_principal::ConfigError>(())
    /// ```
    pub fn enrich(mut self) -> Self {
        self.enrich = true;
        self
    }

    /// Asks for signed answers (RFC 9701: `Accept: application/token-introspection+jwt`)
    /// and accepts nothing else: the answer must be a JWS with `typ`
    /// `token-introspection+jwt`, signed by one of the issuer's keys (its JWKS, as for its
    /// tokens, with the configuration's algorithms), whose `iss` is the issuer, whose `aud`
    /// names this client id, with an `iat` within the call's span give or take the clock
    /// leeway (an older answer is a replayed one: RFC 9701 answers name no token), and an
    /// `exp`, if any, not past; its `token_introspection` member is the answer.
    /// Anything else (a plain JSON answer, an unsigned or wrongly signed one, another `typ`,
    /// `iss` or `aud`) is 503 `introspection_unverified_response`: no trustworthy answer
    /// arrived, which is not the token's fault (RFC 9701 §5). Worth it when the answer
    /// crosses something this service does not trust to keep it intact (a proxy, a
    /// gateway), or when answers are kept as evidence.
    ///
    /// The issuer must be set up for it (oidc-provider: `features.jwtIntrospection` and the
    /// client's `introspection_signed_response_alg`).
    pub fn jwt_response(mut self) -> Self {
        self.jwt_response = true;
        self
    }

    /// Reuses an active answer for the same token (compared byte for byte, in this
    /// authenticator, for this issuer) for at most `ttl`, and never past the answer's
    /// `exp` (default: no cache, every request asks the issuer). A token revoked at the
    /// issuer keeps working here for up to `ttl`. Inactive answers and failures are never
    /// cached. At most a day.
    pub fn cache(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Also remembers an `active: false` answer for the same token for `ttl` (default:
    /// never; at most 5 minutes), so that a client retrying a dead token costs the issuer
    /// one call per `ttl` instead of one per request. Only `active: false` is kept: an
    /// answer failing another check, and any failure to get an answer, never is. A token
    /// the issuer reports inactive by mistake (a lost session store) stays refused for up to
    /// `ttl` after the issuer recovers. Shares the bounds of [`cache`](Self::cache).
    pub fn cache_inactive(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = ttl;
        self
    }

    /// Bounds of the answer cache (default 10 000 entries and 16 MiB).
    pub fn cache_limits(mut self, limits: TokenCacheLimits) -> Self {
        self.cache_limits = limits;
        self
    }

    /// How long one introspection call may take, answer read included (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most introspection calls in flight to this issuer at once (default 256); a
    /// request for another token beyond it gets 503. Requests presenting the same token
    /// share one call.
    pub fn max_concurrent_calls(mut self, calls: usize) -> Self {
        self.max_calls = calls;
        self
    }

    /// After `failures` calls in a row fail (the issuer unreachable, slow, answering an
    /// error), no call is made for `cooldown`: requests get 503 at once, so an outage
    /// costs the issuer no call per request. Then one call tries again (default 3 and 5 s).
    pub fn breaker(mut self, failures: u32, cooldown: Duration) -> Self {
        self.breaker_threshold = failures;
        self.breaker_cooldown = cooldown;
        self
    }
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("endpoint", &self.endpoint)
            .field("token_prefix", &self.token_prefix)
            .field("enrich", &self.enrich)
            .field("jwt_response", &self.jwt_response)
            .field("cache_ttl", &self.cache_ttl)
            .field("inactive_ttl", &self.inactive_ttl)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_never_shown() {
        let shown = format!("{:?}", Introspection::new("api", "hunter2-secret"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("api"), "{shown}");
    }
}
