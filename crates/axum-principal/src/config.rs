//! [`AuthConfig`]: which issuers, audiences and algorithms are trusted, and how keys are
//! fetched. Validated once by [`AuthConfigBuilder::build`]; a bad configuration is an error
//! at start-up, never a panic on a request.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

pub use crate::alg::Algorithm;
use crate::cache::TokenCacheLimits;
use crate::classify::{Classifier, Preset};
use crate::clock::{Clock, SystemClock};
use crate::jwk::{self, VerifyingKey};
use crate::rejection::{AuthRejection, Renderer};

impl FromStr for Algorithm {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| ConfigError::UnknownAlgorithm(s.to_owned()))
    }
}

/// Which `typ` header values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypPolicy {
    /// Absent, `JWT`, `at+jwt` or `application/at+jwt` (case-insensitive).
    #[default]
    Lenient,
    /// RFC 9068 access tokens only: `at+jwt` or `application/at+jwt` (case-insensitive).
    StrictAccessToken,
}

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

/// A configuration mistake, found by [`AuthConfigBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No issuer was configured.
    NoIssuer,
    /// The same issuer was configured twice.
    DuplicateIssuer(String),
    /// An issuer or JWKS URL does not parse.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `http://` URL that is not on loopback; only `https://` is accepted elsewhere.
    InsecureUrl(String),
    /// No audience was configured; every token must be checked against one.
    NoAudience,
    /// An empty audience string.
    EmptyAudience,
    /// The algorithm allow-list is empty.
    NoAlgorithms,
    /// An unknown algorithm name.
    UnknownAlgorithm(String),
    /// HS* in the allow-list: HMAC is enabled per issuer with [`Issuer::hmac_secret`].
    HmacInAllowList,
    /// An HMAC secret shorter than 32 bytes.
    HmacSecretTooShort,
    /// An issuer with neither a JWKS nor an HMAC secret has no way to verify anything.
    NoKeySource(String),
    /// A static JWKS with no usable signing key.
    UnusableStaticJwks(String),
    /// A duration or size setting out of its range (min > max, zero, or too long to add to
    /// a point in time).
    InvalidDuration(&'static str),
    /// A `realm` that cannot be written into a `WWW-Authenticate` challenge (it must be
    /// printable ASCII without `"` or `\\`).
    InvalidRealm,
    /// An empty roles claim path.
    InvalidRolesClaim,
    /// A scope a guard requires that cannot be named in a `WWW-Authenticate` challenge (not
    /// an RFC 6749 scope token).
    InvalidScope(String),
    /// The HTTP client could not be built.
    HttpClient(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIssuer => f.write_str("no issuer configured"),
            Self::DuplicateIssuer(i) => write!(f, "issuer configured twice: {i}"),
            Self::InvalidUrl { url, reason } => write!(f, "invalid URL {url:?}: {reason}"),
            Self::InsecureUrl(u) => write!(
                f,
                "{u:?} must use https (plain http is accepted only on loopback)"
            ),
            Self::NoAudience => f.write_str("no audience configured"),
            Self::EmptyAudience => f.write_str("an audience is empty"),
            Self::NoAlgorithms => f.write_str("the algorithm allow-list is empty"),
            Self::UnknownAlgorithm(a) => write!(f, "unknown algorithm {a:?}"),
            Self::HmacInAllowList => f.write_str(
                "HS256/HS384/HS512 cannot be allow-listed; configure Issuer::hmac_secret",
            ),
            Self::HmacSecretTooShort => f.write_str("an HMAC secret must be at least 32 bytes"),
            Self::NoKeySource(i) => {
                write!(f, "issuer {i} has neither a JWKS nor an HMAC secret")
            }
            Self::UnusableStaticJwks(i) => {
                write!(f, "the static JWKS of issuer {i} has no usable signing key")
            }
            Self::InvalidDuration(what) => write!(f, "invalid duration setting: {what}"),
            Self::InvalidRealm => f.write_str(
                "the realm must be printable ASCII without '\"' or '\\' (it goes into WWW-Authenticate)",
            ),
            Self::InvalidRolesClaim => f.write_str("the roles claim path is empty"),
            Self::InvalidScope(s) => write!(
                f,
                "{s:?} is not a scope (RFC 6749 §3.3: printable ASCII without space, '\"' or '\\')"
            ),
            Self::HttpClient(e) => write!(f, "cannot build the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// How the key store fetches and keeps keys: set here, read by
/// [`KeyStore`](crate::KeyStore).
#[derive(Debug, Clone)]
pub(crate) struct KeyPolicy {
    pub(crate) default_ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) refresh_cooldown: Duration,
    pub(crate) failure_backoff: Duration,
    pub(crate) stale_window: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_keys: usize,
}

/// A validated configuration. Cheap to clone.
#[derive(Clone)]
pub struct AuthConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

/// Where one issuer's keys come from, as [`AuthConfigBuilder::build`] parsed them.
pub(crate) struct KeySource {
    /// Where its JWKS comes from.
    pub(crate) jwks: JwksSource,
    /// The key of its HMAC secret, if it has one.
    pub(crate) hmac: Option<Arc<VerifyingKey>>,
}

/// Where an issuer's JWKS comes from.
pub(crate) enum JwksSource {
    /// A static JWKS ([`Issuer::static_jwks`]), parsed: never fetched, never refreshed.
    Static(Vec<Arc<VerifyingKey>>),
    /// Fetched from a configured URL ([`Issuer::jwks_uri`]).
    Uri(reqwest::Url),
    /// Fetched from the URL that discovery finds, starting from the issuer's URL.
    Discovery(reqwest::Url),
    /// None ([`Issuer::without_jwks`]): only an HMAC secret verifies its tokens.
    None,
}

pub(crate) struct ConfigInner {
    pub(crate) issuers: Vec<Issuer>,
    /// One per issuer, in the same order.
    pub(crate) key_sources: Vec<KeySource>,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway_secs: i64,
    pub(crate) typ_policy: TypPolicy,
    pub(crate) max_token_bytes: usize,
    pub(crate) classifier: Classifier,
    pub(crate) roles_claim: String,
    pub(crate) keys: KeyPolicy,
    pub(crate) http: reqwest::Client,
    pub(crate) token_cache: Option<TokenCacheLimits>,
    pub(crate) renderer: Renderer,
    pub(crate) clock: Arc<dyn Clock>,
}

impl AuthConfig {
    /// Starts a configuration.
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder::default()
    }

    /// The trusted issuers, in the order configured.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| i.url.as_str())
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("AuthConfig")
            .field("issuers", &c.issuers)
            .field("audiences", &c.audiences)
            .field("algorithms", &c.algorithms)
            .field("leeway_secs", &c.leeway_secs)
            .field("typ_policy", &c.typ_policy)
            .field("classifier", &c.classifier)
            .field("roles_claim", &c.roles_claim)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthConfig`]. Every setting has a safe default except the issuer and the
/// audience, which must be given.
pub struct AuthConfigBuilder {
    issuers: Vec<Issuer>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    typ_policy: TypPolicy,
    max_token_bytes: usize,
    classifier: Classifier,
    roles_claim: String,
    keys: KeyPolicy,
    connect_timeout: Duration,
    fetch_timeout: Duration,
    realm: String,
    renderer: Option<Arc<crate::rejection::RenderFn>>,
    clock: Arc<dyn Clock>,
    token_cache: Option<TokenCacheLimits>,
}

impl Default for AuthConfigBuilder {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            audiences: Vec::new(),
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            leeway: Duration::from_secs(60),
            typ_policy: TypPolicy::Lenient,
            max_token_bytes: 16 * 1024,
            classifier: Classifier::default(),
            roles_claim: "roles".to_owned(),
            keys: KeyPolicy {
                default_ttl: Duration::from_secs(600),
                min_ttl: Duration::from_secs(60),
                max_ttl: Duration::from_secs(24 * 3600),
                refresh_cooldown: Duration::from_secs(30),
                failure_backoff: Duration::from_secs(5),
                stale_window: Duration::from_secs(24 * 3600),
                max_response_bytes: 1024 * 1024,
                max_keys: 100,
            },
            connect_timeout: Duration::from_secs(3),
            fetch_timeout: Duration::from_secs(5),
            realm: "api".to_owned(),
            renderer: None,
            clock: Arc::new(SystemClock),
            token_cache: Some(TokenCacheLimits {
                max_entries: 100_000,
                max_bytes: 64 * 1024 * 1024,
            }),
        }
    }
}

impl fmt::Debug for AuthConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfigBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl AuthConfigBuilder {
    /// Trusts an issuer (a URL, or an [`Issuer`] with its own settings). Call once per issuer.
    pub fn issuer(mut self, issuer: impl Into<Issuer>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens whose `aud` names this audience. Call once per audience; a token must
    /// name at least one.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the asymmetric algorithm allow-list (default: RS*, PS*, ES256, ES384, EdDSA).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Which `typ` header values are accepted (default [`TypPolicy::Lenient`]).
    pub fn typ_policy(mut self, policy: TypPolicy) -> Self {
        self.typ_policy = policy;
        self
    }

    /// Longest token accepted, in bytes, checked before any decoding (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// How tokens are classified as user or machine (default: [`Classifier::default`]: no
    /// custom claim, and [`Preset::Auto`] for every issuer without its own
    /// [`Issuer::provider`]).
    pub fn classifier(mut self, classifier: Classifier) -> Self {
        self.classifier = classifier;
        self
    }

    /// Where roles are read: a claim name, or a dotted path such as `realm_access.roles`
    /// (default `roles`). A claim whose name contains dots (`https://example.com/roles`) is
    /// found by its full name first.
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claim = path.into();
        self
    }

    /// Key lifetime when the JWKS response has no `Cache-Control: max-age` (default 10 min).
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.keys.default_ttl = ttl;
        self
    }

    /// The range `max-age` is clamped to (default 1 min – 24 h).
    pub fn key_ttl_range(mut self, min: Duration, max: Duration) -> Self {
        self.keys.min_ttl = min;
        self.keys.max_ttl = max;
        self
    }

    /// At most one refresh per issuer per this period for unknown `kid`s (default 30 s).
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.keys.refresh_cooldown = cooldown;
        self
    }

    /// Wait at least this long after a failed fetch before trying again (default 5 s).
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.keys.failure_backoff = backoff;
        self
    }

    /// How long past their expiry the last good keys serve while refreshes fail
    /// (default 24 h).
    pub fn stale_window(mut self, window: Duration) -> Self {
        self.keys.stale_window = window;
        self
    }

    /// Connect timeout for discovery and JWKS requests (default 3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Total timeout for one discovery or JWKS request (default 5 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Largest discovery or JWKS body read (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.keys.max_response_bytes = bytes;
        self
    }

    /// Bounds of the verified-token cache (default 100 000 entries and 64 MiB, whichever is
    /// reached first). A repeated token is answered from the cache while its `exp`/`nbf`
    /// still hold and the key that verified it is still in the issuer's set.
    pub fn token_cache(mut self, max_entries: u64, max_bytes: u64) -> Self {
        self.token_cache = Some(TokenCacheLimits {
            max_entries,
            max_bytes,
        });
        self
    }

    /// Verifies every token in full, every time.
    pub fn without_token_cache(mut self) -> Self {
        self.token_cache = None;
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Renders every rejection (from the layer, extractors and guards) with this function
    /// instead of the default JSON body. [`AuthRejection::default_response`] is a starting
    /// point.
    pub fn render_rejections_with<F>(mut self, render: F) -> Self
    where
        F: Fn(&AuthRejection) -> Response + Send + Sync + 'static,
    {
        self.renderer = Some(Arc::new(render));
        self
    }

    /// The time source (default the system clock); tests use
    /// [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks everything and builds the configuration.
    pub fn build(mut self) -> Result<AuthConfig, ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuer);
        }
        // The issuer's URL and its JWKS URL, as parsed here.
        let mut urls = Vec::with_capacity(self.issuers.len());
        for (i, issuer) in self.issuers.iter().enumerate() {
            if self.issuers[..i].iter().any(|o| o.url == issuer.url) {
                return Err(ConfigError::DuplicateIssuer(issuer.url.clone()));
            }
            let issuer_url = check_url(&issuer.url)?;
            let jwks_uri = issuer.jwks_uri.as_deref().map(check_url).transpose()?;
            urls.push((issuer_url, jwks_uri));
            if let Some(secret) = &issuer.hmac_secret {
                if secret.len() < 32 {
                    return Err(ConfigError::HmacSecretTooShort);
                }
            }
            if !issuer.use_jwks && issuer.hmac_secret.is_none() {
                return Err(ConfigError::NoKeySource(issuer.url.clone()));
            }
        }
        if self.audiences.is_empty() {
            return Err(ConfigError::NoAudience);
        }
        if self.audiences.iter().any(|a| a.is_empty()) {
            return Err(ConfigError::EmptyAudience);
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if self.algorithms.iter().any(|a| a.is_hmac()) {
            return Err(ConfigError::HmacInAllowList);
        }
        let mut key_sources = Vec::with_capacity(self.issuers.len());
        for (issuer, (issuer_url, jwks_uri)) in self.issuers.iter().zip(urls) {
            let jwks = match (&issuer.static_jwks, jwks_uri) {
                (Some(doc), _) => {
                    match jwk::parse_jwks(doc.as_bytes(), &self.algorithms, self.keys.max_keys) {
                        Ok(keys) if !keys.is_empty() => JwksSource::Static(keys),
                        _ => return Err(ConfigError::UnusableStaticJwks(issuer.url.clone())),
                    }
                }
                (None, _) if !issuer.use_jwks => JwksSource::None,
                (None, Some(uri)) => JwksSource::Uri(uri),
                (None, None) => JwksSource::Discovery(issuer_url),
            };
            let hmac = issuer
                .hmac_secret
                .as_deref()
                .map(|secret| Arc::new(VerifyingKey::hmac(secret)));
            key_sources.push(KeySource { jwks, hmac });
        }
        let default_preset = self.classifier.preset();
        for issuer in &mut self.issuers {
            issuer.rules = issuer
                .provider
                .or(default_preset)
                .map(|p| p.for_issuer(&issuer.url));
        }
        if self.roles_claim.is_empty() || self.roles_claim.split('.').any(str::is_empty) {
            return Err(ConfigError::InvalidRolesClaim);
        }
        let k = &self.keys;
        if k.min_ttl.is_zero() || k.min_ttl > k.max_ttl {
            return Err(ConfigError::InvalidDuration("key TTL range"));
        }
        if self.fetch_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ConfigError::InvalidDuration("fetch timeouts"));
        }
        // Every duration is added to points in time on the request path: bound them here,
        // so no setting can overflow `SystemTime` there.
        let bounded = [
            (
                k.default_ttl,
                MAX_KEY_DURATION,
                "key TTL must be at most 30 days",
            ),
            (
                k.max_ttl,
                MAX_KEY_DURATION,
                "key TTL range must end within 30 days",
            ),
            (
                k.refresh_cooldown,
                MAX_KEY_DURATION,
                "refresh cooldown must be at most 30 days",
            ),
            (
                k.failure_backoff,
                MAX_KEY_DURATION,
                "failure backoff must be at most 30 days",
            ),
            (
                k.stale_window,
                MAX_KEY_DURATION,
                "stale window must be at most 30 days",
            ),
            (self.leeway, MAX_LEEWAY, "leeway must be at most 1 day"),
            (
                self.connect_timeout,
                MAX_TIMEOUT,
                "connect timeout must be at most 5 minutes",
            ),
            (
                self.fetch_timeout,
                MAX_TIMEOUT,
                "fetch timeout must be at most 5 minutes",
            ),
        ];
        if let Some((_, _, what)) = bounded.iter().find(|(d, max, _)| d > max) {
            return Err(ConfigError::InvalidDuration(what));
        }
        if k.default_ttl.is_zero() {
            return Err(ConfigError::InvalidDuration("key TTL"));
        }
        if self.realm.is_empty()
            || !self
                .realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::InvalidRealm);
        }
        if k.max_response_bytes == 0 || self.max_token_bytes == 0 {
            return Err(ConfigError::InvalidDuration("size limits"));
        }
        if self
            .token_cache
            .is_some_and(|c| c.max_entries == 0 || c.max_bytes == 0)
        {
            return Err(ConfigError::InvalidDuration("token cache limits"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.fetch_timeout)
            .user_agent(concat!("axum-principal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let leeway_secs = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        Ok(AuthConfig {
            inner: Arc::new(ConfigInner {
                issuers: self.issuers,
                key_sources,
                audiences: self.audiences,
                algorithms: self.algorithms,
                leeway_secs,
                typ_policy: self.typ_policy,
                max_token_bytes: self.max_token_bytes,
                classifier: self.classifier,
                roles_claim: self.roles_claim,
                keys: self.keys,
                http,
                token_cache: self.token_cache,
                renderer: Renderer {
                    realm: Arc::from(self.realm),
                    custom: self.renderer,
                },
                clock: self.clock,
            }),
        })
    }
}

/// The longest key TTL, refresh cooldown, backoff and stale window accepted.
const MAX_KEY_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(24 * 3600);
/// The longest connect or fetch timeout accepted.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// `https://…`, or `http://` on loopback only.
pub(crate) fn check_url(url: &str) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(ConfigError::InsecureUrl(url.to_owned())),
        other => Err(ConfigError::InvalidUrl {
            url: url.to_owned(),
            reason: format!("unsupported scheme {other:?}"),
        }),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AuthConfigBuilder {
        AuthConfig::builder()
            .issuer("https://issuer.example.com/")
            .audience("api")
    }

    #[test]
    fn a_minimal_config_builds() {
        assert!(base().build().is_ok());
    }

    #[test]
    fn mistakes_are_errors() {
        let cases: Vec<(AuthConfigBuilder, ConfigError)> = vec![
            (AuthConfig::builder().audience("api"), ConfigError::NoIssuer),
            (
                AuthConfig::builder().issuer("https://i.example.com"),
                ConfigError::NoAudience,
            ),
            (base().audience(""), ConfigError::EmptyAudience),
            (
                base().issuer("https://issuer.example.com/"),
                ConfigError::DuplicateIssuer("https://issuer.example.com/".into()),
            ),
            (
                base().issuer("http://issuer.example.com"),
                ConfigError::InsecureUrl("http://issuer.example.com".into()),
            ),
            (base().algorithms([]), ConfigError::NoAlgorithms),
            (
                base().algorithms([Algorithm::HS256]),
                ConfigError::HmacInAllowList,
            ),
            (
                base().issuer(Issuer::new("https://h.example.com").hmac_secret(b"short".to_vec())),
                ConfigError::HmacSecretTooShort,
            ),
            (
                base().issuer(Issuer::new("https://h.example.com").without_jwks()),
                ConfigError::NoKeySource("https://h.example.com".into()),
            ),
            (base().roles_claim("a..b"), ConfigError::InvalidRolesClaim),
            (
                base().key_ttl_range(Duration::from_secs(10), Duration::from_secs(5)),
                ConfigError::InvalidDuration("key TTL range"),
            ),
            (
                base().stale_window(Duration::MAX),
                ConfigError::InvalidDuration("stale window must be at most 30 days"),
            ),
            (
                base().refresh_cooldown(Duration::from_secs(u64::MAX)),
                ConfigError::InvalidDuration("refresh cooldown must be at most 30 days"),
            ),
            (
                base().failure_backoff(Duration::MAX),
                ConfigError::InvalidDuration("failure backoff must be at most 30 days"),
            ),
            (
                base().key_ttl(Duration::MAX),
                ConfigError::InvalidDuration("key TTL must be at most 30 days"),
            ),
            (
                base().key_ttl_range(Duration::from_secs(60), Duration::MAX),
                ConfigError::InvalidDuration("key TTL range must end within 30 days"),
            ),
            (
                base().leeway(Duration::MAX),
                ConfigError::InvalidDuration("leeway must be at most 1 day"),
            ),
            (
                base().fetch_timeout(Duration::MAX),
                ConfigError::InvalidDuration("fetch timeout must be at most 5 minutes"),
            ),
            (base().realm("a\"b"), ConfigError::InvalidRealm),
            (base().realm("line\nbreak"), ConfigError::InvalidRealm),
            (base().realm("caf\u{e9}"), ConfigError::InvalidRealm),
            (base().realm(""), ConfigError::InvalidRealm),
        ];
        for (builder, expected) in cases {
            match builder.build() {
                Ok(_) => panic!("expected {expected:?}"),
                Err(e) => assert_eq!(e, expected),
            }
        }
    }

    #[test]
    fn each_issuer_gets_its_own_resolved_preset() {
        let config = AuthConfig::builder()
            .issuer("https://tenant.auth0.com/")
            .issuer("https://sso.example.com/realms/staff")
            .issuer(Issuer::new("https://login.example.com/").provider(Preset::Hydra))
            .issuer("https://other.example.com/")
            .audience("api")
            .build()
            .expect("a valid configuration");
        let rules: Vec<_> = config.inner.issuers.iter().map(|i| i.rules).collect();
        assert_eq!(
            rules,
            [
                Some(Preset::Auth0),
                Some(Preset::Keycloak),
                Some(Preset::Hydra),
                Some(Preset::Rfc9068)
            ]
        );
        let none = base()
            .classifier(Classifier::without_rules())
            .build()
            .expect("a valid configuration");
        assert_eq!(none.inner.issuers[0].rules, None);
        let generic = base()
            .classifier(Classifier::new(Preset::Generic))
            .build()
            .expect("a valid configuration");
        assert_eq!(generic.inner.issuers[0].rules, Some(Preset::Generic));
    }

    #[test]
    fn a_printable_realm_is_kept_as_given() {
        let config = base()
            .realm("my api (v2)")
            .build()
            .expect("a valid configuration");
        assert_eq!(&*config.inner.renderer.realm, "my api (v2)");
    }

    #[test]
    fn loopback_http_is_allowed_elsewhere_https_is_required() {
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://localhost:8080/realms/x").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://10.0.0.1").is_err());
        assert!(check_url("ftp://127.0.0.1").is_err());
        assert!(check_url("not a url").is_err());
    }
}
