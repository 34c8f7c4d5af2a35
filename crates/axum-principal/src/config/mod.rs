//! [`AuthConfig`]: which issuers, audiences and algorithms are trusted, and how keys are
//! fetched. Validated once by [`AuthConfigBuilder::build`]; a bad configuration is an error
//! at start-up, never a panic on a request.

mod build;
#[cfg(test)]
mod build_tests;
mod client_key;
mod introspection;
mod issuer;
mod issuers;
mod limits;
mod opaque;
pub(crate) mod resource;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

use self::resource::Resource;
pub use crate::alg::Algorithm;
use crate::classify::Classifier;
use crate::clock::{Clock, SystemClock};
use crate::dpop::{Dpop, DpopConfig, DpopPolicy};
use crate::jwk::VerifyingKey;
use crate::principal::Policy;
use crate::rejection::{AuthRejection, Renderer};
use crate::scope::ScopeMatcher;

pub(crate) use self::build::check_url;
pub use self::client_key::ClientKey;
pub use self::introspection::Introspection;
pub(crate) use self::introspection::{ClientAuth, Secret};
pub(crate) use self::issuer::oidc_discovery_url;
pub use self::issuer::Issuer;
pub(crate) use self::issuers::{IssuerId, Issuers};
pub use self::limits::TokenCacheLimits;
pub use crate::error::ConfigError;

pub use crate::verify::TypPolicy;

/// Checks `url` by the rule every configured URL follows (issuer, JWKS, resource,
/// introspection endpoint): `https://…`, or `http://` on a loopback host only. For a
/// program that reads URLs from its own settings and wants its message to name where the
/// URL came from before [`AuthConfigBuilder::build`] runs. The error shows the URL with its
/// credentials redacted.
pub fn validate_url(url: &str) -> Result<(), ConfigError> {
    check_url(url).map(drop)
}

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
    pub(crate) issuers: Issuers,
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
    /// This API's resource identifier ([`AuthConfigBuilder::resource`]), checked.
    pub(crate) resource: Option<Resource>,
    /// DPoP, when accepted (policy `Allowed` or `Required`).
    pub(crate) dpop: Option<Dpop>,
    /// How every principal of this configuration is judged (scopes, `auth_time`).
    pub(crate) policy: Arc<Policy>,
}

impl AuthConfig {
    /// Starts a configuration.
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder::default()
    }

    /// The trusted issuers, in the order configured.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|(_, i)| i.url.as_str())
    }

    /// The trusted issuers with their settings, in the order configured: for documents
    /// that describe how to get a token ([`Issuer::is_template`],
    /// [`Issuer::discovery_url`]).
    pub fn issuer_settings(&self) -> impl Iterator<Item = &Issuer> {
        self.inner.issuers.iter().map(|(_, i)| i)
    }

    /// Which `Authorization` schemes the layer accepts: [`DpopPolicy::Off`] (`Bearer`
    /// only) without [`AuthConfigBuilder::dpop`].
    pub fn dpop_policy(&self) -> DpopPolicy {
        match &self.inner.dpop {
            None => DpopPolicy::Off,
            Some(dpop) if dpop.required => DpopPolicy::Required,
            Some(_) => DpopPolicy::Allowed,
        }
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// This API's resource identifier, exactly as configured ([`AuthConfigBuilder::resource`]).
    pub fn resource(&self) -> Option<&str> {
        self.inner.resource.as_ref().map(|r| &*r.id)
    }

    /// The scopes every 401 challenge names ([`AuthConfigBuilder::challenge_scope`]),
    /// space-separated.
    pub fn challenge_scope(&self) -> Option<&str> {
        self.inner.renderer.scope.as_deref()
    }

    /// How granted scopes satisfy required ones ([`AuthConfigBuilder::scope_matcher`]).
    pub fn scope_matcher(&self) -> &ScopeMatcher {
        &self.inner.policy.scopes
    }

    /// The URL of this API's RFC 9728 metadata document, which every 401 and 403 challenge
    /// names in `resource_metadata` (`None` without [`AuthConfigBuilder::resource`]).
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.inner.resource.as_ref().map(|r| &*r.metadata_url)
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
    resource: Option<String>,
    require_resource_audience: bool,
    dpop: Option<DpopConfig>,
    scope_matcher: ScopeMatcher,
    challenge_scope: Vec<String>,
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
                default_ttl: Duration::from_secs(900),
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
            token_cache: Some(TokenCacheLimits::default()),
            resource: None,
            require_resource_audience: false,
            dpop: None,
            scope_matcher: ScopeMatcher::exact(),
            challenge_scope: Vec::new(),
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
    /// custom claim, and [`Preset::Auto`](crate::Preset::Auto) for every issuer without its own
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

    /// Key lifetime when the JWKS response has no `Cache-Control: max-age` (default 15 min: with refreshes from ¾ of a set's life,
    /// 5⅓ fetches an hour per replica).
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

    /// At most one refresh per issuer per this period for unknown `kid`s (default 30 s),
    /// counted from the last refresh an unknown `kid` started: a refresh ahead of expiry does
    /// not hold back a key the issuer has just begun to sign with.
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.keys.refresh_cooldown = cooldown;
        self
    }

    /// Wait at least this long after a failed fetch (from its start and from its end) before
    /// trying again (default 5 s). A successful fetch holds nothing back.
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

    /// Bounds of the verified-token cache, as [`TokenCacheLimits`]
    /// (default 100 000 entries and 64 MiB, whichever is reached first). A repeated token is
    /// answered from the cache while its `exp`/`nbf` still hold, the key that verified it
    /// is still in the issuer's set, and for at most a day.
    ///
    /// The cache keeps each token it verified (it answers only that very token, compared
    /// byte for byte): while an entry lives, a dump of the process's memory shows a usable
    /// token, as the request buffers do while a request is read. Entries go when they
    /// expire (swept at most a minute later) or are evicted; their bytes are wiped then.
    /// Where that is not acceptable, use [`without_token_cache`](Self::without_token_cache).
    pub fn token_cache(mut self, limits: TokenCacheLimits) -> Self {
        self.token_cache = Some(limits);
        self
    }

    /// Verifies every token in full, every time (and keeps no token in memory).
    pub fn without_token_cache(mut self) -> Self {
        self.token_cache = None;
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Renders every rejection (from the layer, extractors, guards and the rate limiter)
    /// with this function instead of the default JSON body. [`AuthRejection::default_response`]
    /// is a starting point. Refusals of gRPC calls come here too:
    /// [`AuthRejection::is_grpc`] says so, and [`AuthRejection::grpc_response`] is their
    /// default (a Trailers-Only response, which has no body to change).
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

    /// This API's resource identifier (RFC 8707, RFC 9728): an absolute `https://` URL
    /// (`http://` on loopback only) without query or fragment, checked by
    /// [`build`](Self::build). Every 401 and 403 challenge then carries
    /// `resource_metadata="…"`, the URL of the document that
    /// [`ProtectedResourceMetadata`](crate::ProtectedResourceMetadata) serves (RFC 9728 §3.1
    /// path insertion: `https://api.example.com/mcp` →
    /// `https://api.example.com/.well-known/oauth-protected-resource/mcp`).
    pub fn resource(mut self, url: impl Into<String>) -> Self {
        self.resource = Some(url.into());
        self
    }

    /// Accepts only tokens issued for this resource (RFC 8707): the audience check then
    /// requires `aud` to name the [`resource`](Self::resource) identifier itself, exactly,
    /// and [`audience`](Self::audience) is not needed (another audience, global or an
    /// issuer's own, or [`Issuer::client_id_as_audience`](crate::Issuer::client_id_as_audience),
    /// is a configuration error).
    pub fn require_resource_audience(mut self) -> Self {
        self.require_resource_audience = true;
        self
    }

    /// Accepts DPoP-bound tokens (RFC 9449) with `Authorization: DPoP` and a proof, as
    /// [`DpopConfig`] says (its policy defaults to [`Allowed`](crate::dpop::DpopPolicy::Allowed):
    /// both schemes). Without it only `Bearer` is accepted, since a proof's `htu` can only be
    /// checked against an origin the service knows (never one taken from `Host`).
    pub fn dpop(mut self, dpop: DpopConfig) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// How the scopes a token grants satisfy the scopes a guard requires (default:
    /// [`ScopeMatcher::exact`]); [`Principal::has_scope`](crate::Principal::has_scope), and
    /// so every scope guard, asks it. Its names are checked by [`build`](Self::build).
    pub fn scope_matcher(mut self, matcher: ScopeMatcher) -> Self {
        self.scope_matcher = matcher;
        self
    }

    /// Scopes every 401 challenge names (RFC 6750 §3 `scope`; the MCP authorization spec
    /// asks for it): those a client should request to call this API at all. Call once per
    /// scope. Only the challenge says it; enforcing it is a guard's job
    /// ([`RequireScope`](crate::RequireScope)). `offline_access` is never named; a name that
    /// is not a scope token is an error of [`build`](Self::build).
    pub fn challenge_scope(mut self, scope: impl Into<String>) -> Self {
        self.challenge_scope.push(scope.into());
        self
    }
}
