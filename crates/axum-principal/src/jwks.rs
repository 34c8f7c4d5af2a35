//! The key store: discovery, fetching, per-key JWKS parsing and a [`JwksCache`] that keeps
//! one key set per issuer fresh (decisions 3–5 in `docs/decisions.md`). The only part that
//! does network I/O.
//!
//! * **Freshness.** A set lives for `Cache-Control: max-age`, clamped to a configured range
//!   (default 10 min when absent). From three quarters of its life on, a request that uses it
//!   starts one background refresh; requests never wait for a refresh of keys they have.
//! * **Unknown `kid`.** At most one refresh per issuer per cooldown; concurrent requests share
//!   it, and the request that triggered it is answered from the new set. The token's `kid` is
//!   never sent anywhere.
//! * **Fetches are not owned by requests** (decision 12). Each fetch runs on its own task,
//!   at most one per issuer at a time; callers that need its result wait on a `watch`
//!   channel it answers. A caller that goes away (a client hanging up) only stops waiting:
//!   the fetch runs to completion and stores its set, so the attempt it started is never
//!   wasted and the cooldown or backoff it set does not shut everyone else out.
//! * **Outages.** When refreshes fail the last good set keeps serving for a bounded stale
//!   window; before any set was fetched, requests get 503 (lazy start: the service starts
//!   while the issuer is down). Failed attempts, including refreshes ahead of expiry, are
//!   retried at most once per backoff, counted from the start of the last attempt and from
//!   the end of the last failed one (so an attempt that hangs until its timeout is not
//!   retried at once).
//! * **Hardened fetching.** One shared `reqwest::Client`, connect and total timeouts, a body
//!   cap, no redirects, https except on loopback, and discovery's `issuer` must equal the
//!   configured one.
//! * **Tolerant parsing.** Each JWKS entry is parsed on its own; encryption keys, unknown key
//!   types, unsupported curves and malformed entries are skipped, never failing the set.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::clock::{elapsed_since, Clock};
use crate::config::{check_url, Algorithm, AuthConfig, KeyPolicy};
use crate::crypto::{sha256, KeyMaterial};

/// A verification key from a JWKS (or a configured HMAC secret), parsed once.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<String>,
    family: KeyFamily,
    jwk_alg: Option<Algorithm>,
    pub(crate) material: KeyMaterial,
    /// SHA-256 of the key's public components, to tell whether a refreshed set still holds
    /// the same key (the token cache drops entries whose key left the set).
    pub(crate) fingerprint: [u8; 32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
    Hmac,
}

impl VerifyingKey {
    pub(crate) fn hmac(secret: &[u8]) -> Self {
        Self {
            kid: None,
            family: KeyFamily::Hmac,
            jwk_alg: None,
            material: KeyMaterial::hmac(secret),
            fingerprint: sha256(&[b"oct", secret]),
        }
    }

    /// The key decides the algorithm: its type and curve must fit, and a JWK's own `alg`,
    /// when present, must equal the token's.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        use Algorithm as A;
        let family_fits = match self.family {
            KeyFamily::Rsa => matches!(
                alg,
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
            ),
            KeyFamily::EcP256 => alg == A::ES256,
            KeyFamily::EcP384 => alg == A::ES384,
            KeyFamily::Ed25519 => alg == A::EdDSA,
            KeyFamily::Hmac => alg.is_hmac(),
        };
        family_fits && self.jwk_alg.is_none_or(|a| a == alg)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.jwk_alg)
            .finish_non_exhaustive()
    }
}

/// Tokens without a `kid` are tried against at most this many fitting keys.
const MAX_KIDLESS_CANDIDATES: usize = 4;

/// One fetched key set of one issuer.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
    version: u64,
    refresh_at: SystemTime,
    fresh_until: SystemTime,
    usable_until: SystemTime,
}

impl KeySet {
    /// The keys a token with this `kid` and `alg` may be verified with.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Arc<VerifyingKey>> + 'a {
        let limit = if kid.is_some() {
            1
        } else {
            MAX_KIDLESS_CANDIDATES
        };
        self.keys
            .iter()
            .filter(move |k| match kid {
                Some(kid) => k.kid.as_deref() == Some(kid),
                None => true,
            })
            .filter(move |k| k.fits(alg))
            .take(limit)
    }

    fn fixed(keys: Vec<Arc<VerifyingKey>>) -> Self {
        let forever = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 4);
        Self {
            keys,
            version: 0,
            refresh_at: forever,
            fresh_until: forever,
            usable_until: forever,
        }
    }

    fn has_candidate(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.candidates(kid, alg).next().is_some()
    }
}

/// What a fetch ends with: the new set, or `None` when it failed.
type Outcome = Option<Arc<KeySet>>;

/// Where a fetch task publishes its [`Outcome`]; `None` while it runs.
type OutcomeRx = watch::Receiver<Option<Outcome>>;

/// One issuer's fetch bookkeeping. Kept under one lock, so a caller always sees either the
/// fetch in flight or the outcome of the last one (never an attempt time without either).
#[derive(Default)]
struct FetchState {
    /// The fetch in flight, if any; cleared only after its set is stored.
    in_flight: Option<OutcomeRx>,
    /// When the last fetch started; the unknown-`kid` cooldown and the backoff count from it.
    last_attempt: Option<SystemTime>,
    /// When the last fetch failed, if it did; the backoff also counts from it.
    failed_at: Option<SystemTime>,
    /// The version of the newest set a fetch stored.
    stored_version: u64,
}

/// What [`JwksCache::begin`] decided.
enum Begin {
    /// A fetch is running (started by this caller or earlier): its outcome arrives here.
    Wait(OutcomeRx),
    /// No fetch: a newer set than the caller's is stored, or the cooldown or backoff holds.
    Skip {
        /// The unknown-`kid` cooldown held (counted as such).
        cooldown: bool,
    },
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A started fetch, owned by its task. However the task ends (done, panicked, or dropped
/// unpolled or mid-fetch with its runtime) the issuer's `in_flight` entry is cleared and
/// the waiters are answered; an end without a set counts as a failure.
struct FetchTask {
    cache: JwksCache,
    idx: usize,
    tx: Option<watch::Sender<Option<Outcome>>>,
}

impl FetchTask {
    async fn run(mut self, reason: Reason) {
        let cache = self.cache.clone();
        let Some(issuer) = cache.inner.issuers.get(self.idx) else {
            return;
        };
        let outcome = match cache.fetch(issuer, reason).await {
            Ok(set) => {
                let set = Arc::new(set);
                // Stored before `in_flight` is cleared: whoever finds no fetch in flight
                // and may not start one finds this set.
                cache.inner.sets.insert(self.idx, Arc::clone(&set)).await;
                Some(set)
            }
            Err(error) => {
                tracing::warn!(
                    issuer = %issuer.issuer,
                    %error,
                    has_cached_keys = cache.inner.sets.contains_key(&self.idx),
                    "key refresh failed"
                );
                None
            }
        };
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: Outcome) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        if let Some(issuer) = self.cache.inner.issuers.get(self.idx) {
            let mut state = lock(&issuer.fetch);
            state.in_flight = None;
            match &outcome {
                Some(set) => {
                    state.failed_at = None;
                    state.stored_version = state.stored_version.max(set.version);
                }
                None => state.failed_at = Some(self.cache.inner.clock.now()),
            }
        }
        tx.send_replace(Some(outcome));
    }
}

impl Drop for FetchTask {
    fn drop(&mut self) {
        self.finish(None);
    }
}

/// Why a key could not be had for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// No keys are cached and none can be fetched: 503.
    Unavailable,
    /// Keys exist but none fits the token's `kid` and `alg`, even after a refresh: 401.
    NoKey,
}

/// Why a discovery or JWKS fetch failed. Logged; never shown to callers.
#[derive(Debug)]
enum FetchError {
    Network(reqwest::Error),
    Status(u16),
    TooLarge,
    NotJson,
    NotJwks,
    IssuerMismatch,
    BadJwksUri(String),
    NoUsableKeys,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(e) => write!(f, "request failed: {e}"),
            Self::Status(s) => write!(f, "unexpected HTTP status {s}"),
            Self::TooLarge => f.write_str("response body exceeds the size cap"),
            Self::NotJson => f.write_str("response is not JSON"),
            Self::NotJwks => f.write_str("response is not a JWKS or metadata document"),
            Self::IssuerMismatch => f.write_str("discovery document names a different issuer"),
            Self::BadJwksUri(e) => write!(f, "unacceptable jwks_uri: {e}"),
            Self::NoUsableKeys => f.write_str("the JWKS has no usable signing key"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// No usable set at all.
    NoKeys,
    /// A token names a key the set does not have.
    UnknownKey,
    /// The set is near or past its expiry.
    Scheduled,
}

struct IssuerKeys {
    issuer: String,
    /// Keys given in the configuration ([`Issuer::static_jwks`](crate::Issuer::static_jwks)):
    /// never fetched, never refreshed.
    fixed: Option<Arc<KeySet>>,
    configured_jwks_uri: Option<reqwest::Url>,
    discovered_jwks_uri: Mutex<Option<reqwest::Url>>,
    use_jwks: bool,
    hmac: Option<Arc<VerifyingKey>>,
    fetch: Mutex<FetchState>,
}

/// Every configured issuer's keys, kept fresh. Cheap to clone; clones share the cache.
///
/// [`AuthLayer`](crate::AuthLayer) builds one; build your own with [`JwksCache::new`] to
/// share it, or to [`warm`](Self::warm) it at start-up.
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerKeys>,
    sets: moka::future::Cache<usize, Arc<KeySet>>,
    http: reqwest::Client,
    policy: KeyPolicy,
    algorithms: Vec<Algorithm>,
    clock: Arc<dyn Clock>,
    versions: AtomicU64,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| &i.issuer)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A fetch failure reported by [`JwksCache::warm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmError {
    /// The issuers whose keys could not be fetched.
    pub issuers: Vec<String>,
}

impl fmt::Display for WarmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "keys could not be fetched for: {}",
            self.issuers.join(", ")
        )
    }
}

impl std::error::Error for WarmError {}

impl JwksCache {
    /// A cache for the issuers of `config`. Nothing is fetched until first needed (or
    /// [`warm`](Self::warm) is called).
    pub fn new(config: &AuthConfig) -> Self {
        let c = &config.inner;
        let issuers = c
            .issuers
            .iter()
            .map(|i| IssuerKeys {
                issuer: i.url.clone(),
                fixed: i.static_jwks.as_deref().map(|jwks| {
                    // Checked by AuthConfigBuilder::build; an unusable set holds no keys.
                    let keys = parse_jwks(jwks.as_bytes(), &c.algorithms, c.keys.max_keys)
                        .unwrap_or_default();
                    Arc::new(KeySet::fixed(keys))
                }),
                // Validated by AuthConfigBuilder::build.
                configured_jwks_uri: i.jwks_uri.as_deref().and_then(|u| check_url(u).ok()),
                discovered_jwks_uri: Mutex::new(None),
                use_jwks: i.use_jwks,
                hmac: i
                    .hmac_secret
                    .as_deref()
                    .map(|s| Arc::new(VerifyingKey::hmac(s))),
                fetch: Mutex::new(FetchState::default()),
            })
            .collect::<Vec<_>>();
        // One entry per configured issuer, so the cache is bounded by construction; no
        // capacity is set, which also keeps moka from ever evicting a last good set.
        let sets = moka::future::Cache::builder().build();
        Self {
            inner: Arc::new(Inner {
                issuers,
                sets,
                http: c.http.clone(),
                policy: c.keys.clone(),
                algorithms: c.algorithms.clone(),
                clock: Arc::clone(&c.clock),
                versions: AtomicU64::new(1),
            }),
        }
    }

    /// Fetches every issuer's keys now. Optional: the layer fetches lazily; a service that
    /// warms at start-up answers its first requests without waiting.
    pub async fn warm(&self) -> Result<(), WarmError> {
        let mut failed = Vec::new();
        for (idx, issuer) in self.inner.issuers.iter().enumerate() {
            if !issuer.use_jwks || issuer.fixed.is_some() {
                continue;
            }
            let seen = self.inner.sets.get(&idx).await.map_or(0, |s| s.version);
            let now = self.inner.clock.now();
            match self.refresh(idx, Reason::NoKeys, seen).await {
                Some(set) if now < set.usable_until => {}
                _ => failed.push(issuer.issuer.clone()),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(WarmError { issuers: failed })
        }
    }

    /// The key ids currently cached for `issuer` (in JWKS order), or `None` when no set is
    /// cached. For diagnostics.
    pub async fn key_ids(&self, issuer: &str) -> Option<Vec<String>> {
        let idx = self.issuer_index(issuer)?;
        let set = match self.inner.issuers.get(idx).and_then(|i| i.fixed.clone()) {
            Some(fixed) => fixed,
            None => self.inner.sets.get(&idx).await?,
        };
        Some(set.keys.iter().filter_map(|k| k.kid.clone()).collect())
    }

    pub(crate) fn issuer_index(&self, iss: &str) -> Option<usize> {
        self.inner.issuers.iter().position(|i| i.issuer == iss)
    }

    pub(crate) fn hmac_key(&self, idx: usize) -> Option<Arc<VerifyingKey>> {
        self.inner.issuers.get(idx).and_then(|i| i.hmac.clone())
    }

    /// The key set to verify a token with `kid`/`alg` from issuer `idx`, refreshing as the
    /// module docs describe.
    pub(crate) async fn keys_for(
        &self,
        idx: usize,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, LookupError> {
        let issuer = self.inner.issuers.get(idx).ok_or(LookupError::NoKey)?;
        if let Some(fixed) = &issuer.fixed {
            return if fixed.has_candidate(kid, alg) {
                Ok(Arc::clone(fixed))
            } else {
                Err(LookupError::NoKey)
            };
        }
        if !issuer.use_jwks {
            return Err(LookupError::NoKey);
        }
        let now = self.inner.clock.now();
        let existing = self.inner.sets.get(&idx).await;
        let set = match existing {
            Some(set) if now < set.usable_until => {
                if now >= set.refresh_at {
                    if now >= set.fresh_until {
                        crate::observe::stale_keys(&issuer.issuer);
                    }
                    self.refresh_ahead(idx, set.version);
                }
                set
            }
            other => {
                let seen = other.map_or(0, |s| s.version);
                match self.refresh(idx, Reason::NoKeys, seen).await {
                    Some(set) if self.inner.clock.now() < set.usable_until => set,
                    _ => return Err(LookupError::Unavailable),
                }
            }
        };
        if set.has_candidate(kid, alg) {
            return Ok(set);
        }
        match self.refresh(idx, Reason::UnknownKey, set.version).await {
            Some(newer) if newer.version != set.version && newer.has_candidate(kid, alg) => {
                Ok(newer)
            }
            _ => Err(LookupError::NoKey),
        }
    }

    /// Whether a new fetch may start now. Both times count: the start of the last attempt
    /// (the cooldown for unknown `kid`s, the backoff otherwise) and the end of the last failed
    /// one (the backoff), so an attempt that outlasted the backoff is not retried at once.
    fn attempt_allowed(&self, state: &FetchState, reason: Reason, now: SystemTime) -> bool {
        let policy = &self.inner.policy;
        let wait = match reason {
            Reason::UnknownKey => policy.refresh_cooldown,
            Reason::NoKeys | Reason::Scheduled => policy.failure_backoff,
        };
        let waited = |since: Option<SystemTime>, wait: Duration| {
            since.is_none_or(|t| elapsed_since(now, t) >= wait)
        };
        waited(state.last_attempt, wait) && waited(state.failed_at, policy.failure_backoff)
    }

    /// Joins the fetch in flight for issuer `idx`, or starts one on its own task if allowed
    /// (no newer set than `seen_version` is stored, and the cooldown or backoff has passed).
    /// Never waits: the decision and the start happen under the issuer's lock.
    fn begin(&self, idx: usize, reason: Reason, seen_version: u64) -> Begin {
        let Some(issuer) = self.inner.issuers.get(idx) else {
            return Begin::Skip { cooldown: false };
        };
        let mut state = lock(&issuer.fetch);
        if let Some(rx) = &state.in_flight {
            return Begin::Wait(rx.clone());
        }
        if state.stored_version > seen_version {
            return Begin::Skip { cooldown: false };
        }
        let now = self.inner.clock.now();
        if !self.attempt_allowed(&state, reason, now) {
            return Begin::Skip {
                cooldown: reason == Reason::UnknownKey,
            };
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(issuer = %issuer.issuer, "no tokio runtime: keys cannot be fetched");
            return Begin::Skip { cooldown: false };
        };
        let (tx, rx) = watch::channel(None);
        state.in_flight = Some(rx.clone());
        state.last_attempt = Some(now);
        drop(state);
        // Built here, not inside the task: a task dropped before its first poll still
        // drops it, which clears `in_flight`.
        let task = FetchTask {
            cache: self.clone(),
            idx,
            tx: Some(tx),
        };
        drop(runtime.spawn(task.run(reason)));
        Begin::Wait(rx)
    }

    /// One coalesced refresh: joins the issuer's fetch in flight or starts one (if allowed),
    /// and waits for it. Returns the newest stored set: the fetched one, or, when no fetch
    /// was allowed or it failed, whatever is cached. Dropping this future only stops the
    /// waiting; the fetch goes on.
    async fn refresh(&self, idx: usize, reason: Reason, seen_version: u64) -> Option<Arc<KeySet>> {
        match self.begin(idx, reason, seen_version) {
            Begin::Wait(mut rx) => {
                // An error means the task ended without answering, which `FetchTask` rules
                // out; it is treated as a failed fetch.
                let outcome = rx
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|outcome| outcome.clone())
                    .flatten();
                if outcome.is_some() {
                    return outcome;
                }
            }
            Begin::Skip { cooldown } => {
                if cooldown {
                    if let Some(issuer) = self.inner.issuers.get(idx) {
                        crate::observe::refresh_cooldown(&issuer.issuer);
                    }
                }
            }
        }
        self.inner.sets.get(&idx).await
    }

    /// Refresh ahead of expiry, off the request path: starts a fetch unless one is in
    /// flight, a newer set is stored, or the backoff holds (so an outage sees at most one
    /// attempt per backoff, however many requests come), and never waits for it.
    fn refresh_ahead(&self, idx: usize, seen_version: u64) {
        // The fetch, if started, answers nobody in particular; the next request finds its set.
        let _ = self.begin(idx, Reason::Scheduled, seen_version);
    }

    async fn fetch(&self, issuer: &IssuerKeys, reason: Reason) -> Result<KeySet, FetchError> {
        let span = tracing::info_span!(
            "jwks_fetch",
            issuer = %issuer.issuer,
            reason = ?reason,
            status = tracing::field::Empty,
            keys = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self.fetch_inner(issuer).instrument(span.clone()).await;
        crate::observe::key_refresh(&issuer.issuer, result.is_ok());
        span.record("duration_ms", started.elapsed().as_millis());
        match &result {
            Ok(set) => {
                span.record("status", "ok");
                span.record("keys", set.keys.len());
                span.in_scope(|| tracing::info!("keys fetched"));
            }
            Err(_) => {
                span.record("status", "error");
            }
        }
        result
    }

    async fn fetch_inner(&self, issuer: &IssuerKeys) -> Result<KeySet, FetchError> {
        let jwks_uri = match &issuer.configured_jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let cached = issuer
                    .discovered_jwks_uri
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match cached {
                    Some(uri) => uri,
                    None => {
                        let uri = self.discover(&issuer.issuer).await?;
                        *issuer
                            .discovered_jwks_uri
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) = Some(uri.clone());
                        uri
                    }
                }
            }
        };
        let fetched = self.get_bounded(&jwks_uri).await;
        let (body, max_age) = match fetched {
            Ok(ok) => ok,
            Err(e) => {
                // The issuer may have moved its JWKS: discover again next time.
                *issuer
                    .discovered_jwks_uri
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
                return Err(e);
            }
        };
        let keys = parse_jwks(&body, &self.inner.algorithms, self.inner.policy.max_keys)?;
        if keys.is_empty() {
            return Err(FetchError::NoUsableKeys);
        }
        let p = &self.inner.policy;
        let ttl = max_age.unwrap_or(p.default_ttl).clamp(p.min_ttl, p.max_ttl);
        let now = self.inner.clock.now();
        let fresh_until = now + ttl;
        Ok(KeySet {
            keys,
            version: self.inner.versions.fetch_add(1, Ordering::Relaxed) + 1,
            refresh_at: now + ttl.mul_f64(0.75),
            fresh_until,
            usable_until: fresh_until + p.stale_window,
        })
    }

    /// OIDC discovery, falling back to RFC 8414 metadata. A document that names another
    /// issuer is refused outright (no fallback).
    async fn discover(&self, issuer: &str) -> Result<reqwest::Url, FetchError> {
        let oidc = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        match self.metadata_jwks_uri(&oidc, issuer).await {
            Ok(uri) => Ok(uri),
            Err(FetchError::IssuerMismatch) => Err(FetchError::IssuerMismatch),
            Err(oidc_error) => match rfc8414_url(issuer) {
                Some(url) => self.metadata_jwks_uri(&url, issuer).await,
                None => Err(oidc_error),
            },
        }
    }

    async fn metadata_jwks_uri(&self, url: &str, issuer: &str) -> Result<reqwest::Url, FetchError> {
        let url = check_url(url).map_err(|e| FetchError::BadJwksUri(e.to_string()))?;
        let (body, _) = self.get_bounded(&url).await?;
        jwks_uri_from_metadata(&body, issuer)
    }

    /// GET with the body capped; returns the body and `Cache-Control: max-age`.
    async fn get_bounded(
        &self,
        url: &reqwest::Url,
    ) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let limit = self.inner.policy.max_response_bytes;
        let mut response = self
            .inner
            .http
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(FetchError::Network)?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(FetchError::TooLarge);
        }
        let max_age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::Network)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// The `jwks_uri` of a discovery or RFC 8414 metadata document, which must name `issuer`.
fn jwks_uri_from_metadata(body: &[u8], issuer: &str) -> Result<reqwest::Url, FetchError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| FetchError::NotJson)?;
    match doc.get("issuer") {
        Some(Value::String(i)) if i == issuer => {}
        Some(Value::String(_)) => return Err(FetchError::IssuerMismatch),
        _ => return Err(FetchError::NotJwks),
    }
    let Some(Value::String(jwks_uri)) = doc.get("jwks_uri") else {
        return Err(FetchError::NotJwks);
    };
    check_url(jwks_uri).map_err(|e| FetchError::BadJwksUri(e.to_string()))
}

/// Entry points for fuzzing and property tests of the parsers that read what an issuer
/// sends. Not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// Parses a JWKS body; returns how many usable keys it holds, or `None` if the document
    /// itself is refused.
    pub fn parse_jwks(body: &[u8]) -> Option<usize> {
        super::parse_jwks(body, &Algorithm::ASYMMETRIC, 100)
            .ok()
            .map(|k| k.len())
    }

    /// Reads `jwks_uri` from a metadata document that must name `issuer`.
    pub fn parse_metadata(body: &[u8], issuer: &str) -> Option<String> {
        jwks_uri_from_metadata(body, issuer).ok().map(String::from)
    }

    /// Parses `Cache-Control` values into the max-age they give.
    pub fn parse_max_age(values: &[&[u8]]) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        for v in values {
            if let Ok(v) = http::HeaderValue::from_bytes(v) {
                headers.append(http::header::CACHE_CONTROL, v);
            }
        }
        max_age(&headers)
    }
}

/// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
fn rfc8414_url(issuer: &str) -> Option<String> {
    let url = reqwest::Url::parse(issuer).ok()?;
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let path = url.path().trim_end_matches('/');
    Some(format!(
        "{}://{host}{port}/.well-known/oauth-authorization-server{path}",
        url.scheme()
    ))
}

/// `Cache-Control: max-age=N`; `no-cache`/`no-store` count as 0 (then clamped up).
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let mut result = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = lower.strip_prefix("max-age=") {
                if let Ok(secs) = secs.trim_matches('"').parse::<u64>() {
                    result = Some(Duration::from_secs(secs));
                }
            }
        }
    }
    result
}

/// The first usable key of a JWKS document, for the benchmarks.
pub(crate) fn parse_jwks_for_bench(body: &[u8], alg: Algorithm) -> Option<KeyMaterial> {
    let mut keys = parse_jwks(body, &[alg], 1).ok()?;
    let key = keys.pop()?;
    Arc::try_unwrap(key).ok().map(|k| k.material)
}

/// How many usable keys a JWKS document holds (for configuration checks).
pub(crate) fn usable_keys(body: &[u8], algorithms: &[Algorithm], max_keys: usize) -> usize {
    parse_jwks(body, algorithms, max_keys).map_or(0, |k| k.len())
}

/// Parses a JWKS one key at a time; unusable keys are skipped and logged at debug.
fn parse_jwks(
    body: &[u8],
    algorithms: &[Algorithm],
    max_keys: usize,
) -> Result<Vec<Arc<VerifyingKey>>, FetchError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| FetchError::NotJson)?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err(FetchError::NotJwks);
    };
    let mut keys: Vec<Arc<VerifyingKey>> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if keys.len() >= max_keys {
            tracing::debug!(
                max_keys,
                "JWKS has more keys than the cap; ignoring the rest"
            );
            break;
        }
        match parse_jwk(entry, algorithms) {
            Ok(key) => {
                if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
                    tracing::debug!(index, "skipping JWKS key: duplicate kid");
                    continue;
                }
                keys.push(Arc::new(key));
            }
            Err(reason) => tracing::debug!(index, reason, "skipping JWKS key"),
        }
    }
    Ok(keys)
}

/// Smallest and largest RSA moduli accepted, in bytes (2048 and 8192 bits).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

fn parse_jwk(entry: &Value, algorithms: &[Algorithm]) -> Result<VerifyingKey, &'static str> {
    let Value::Object(jwk) = entry else {
        return Err("not an object");
    };
    let field = |name: &str| -> Result<Option<&str>, &'static str> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err("a member has the wrong type"),
        }
    };
    let required = |name: &str| field(name)?.ok_or("a required member is missing");
    if let Some(usage) = field("use")? {
        if usage != "sig" {
            return Err("not a signing key (use)");
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verifies {
            return Err("not a verification key (key_ops)");
        }
    }
    let kid = field("kid")?.map(str::to_owned);
    let jwk_alg = match field("alg")? {
        None => None,
        Some(name) => {
            let alg = Algorithm::from_name(name).ok_or("unsupported alg")?;
            if alg.is_hmac() {
                return Err("symmetric keys are never taken from a JWKS");
            }
            if !algorithms.contains(&alg) {
                return Err("alg not on the allow-list");
            }
            Some(alg)
        }
    };
    let fits_jwk_alg = |alg: &Algorithm| jwk_alg.is_none_or(|a| a == *alg);
    let (family, material, fingerprint) = match required("kty")? {
        "RSA" => {
            let n = b64(required("n")?)?;
            let e = b64(required("e")?)?;
            let n = n
                .iter()
                .skip_while(|b| **b == 0)
                .copied()
                .collect::<Vec<u8>>();
            if !(RSA_MIN_BYTES..=RSA_MAX_BYTES).contains(&n.len()) {
                return Err("RSA modulus size out of range");
            }
            if e.is_empty() || e.len() > 8 {
                return Err("RSA exponent out of range");
            }
            let rsa_algs: Vec<Algorithm> = algorithms
                .iter()
                .copied()
                .filter(|a| {
                    matches!(
                        a,
                        Algorithm::RS256
                            | Algorithm::RS384
                            | Algorithm::RS512
                            | Algorithm::PS256
                            | Algorithm::PS384
                            | Algorithm::PS512
                    )
                })
                .filter(fits_jwk_alg)
                .collect();
            if rsa_algs.is_empty() {
                return Err("no allowed algorithm fits this key");
            }
            let material = KeyMaterial::rsa(&n, &e, &rsa_algs).ok_or("bad RSA key")?;
            (KeyFamily::Rsa, material, sha256(&[b"RSA", &n, b".", &e]))
        }
        "EC" => {
            let (family, alg, size) = match required("crv")? {
                "P-256" => (KeyFamily::EcP256, Algorithm::ES256, 32),
                "P-384" => (KeyFamily::EcP384, Algorithm::ES384, 48),
                _ => return Err("unsupported curve"),
            };
            if !algorithms.contains(&alg) || !fits_jwk_alg(&alg) {
                return Err("no allowed algorithm fits this key");
            }
            let x = b64(required("x")?)?;
            let y = b64(required("y")?)?;
            if x.len() != size || y.len() != size {
                return Err("EC coordinate has the wrong length");
            }
            let material = KeyMaterial::ec(alg, &x, &y).ok_or("bad EC key")?;
            (family, material, sha256(&[b"EC", &x, &y]))
        }
        "OKP" => {
            if required("crv")? != "Ed25519" {
                return Err("unsupported curve");
            }
            if !algorithms.contains(&Algorithm::EdDSA) || !fits_jwk_alg(&Algorithm::EdDSA) {
                return Err("no allowed algorithm fits this key");
            }
            let x = b64(required("x")?)?;
            if x.len() != 32 {
                return Err("Ed25519 key has the wrong length");
            }
            let material = KeyMaterial::ed25519(&x).ok_or("bad OKP key")?;
            (KeyFamily::Ed25519, material, sha256(&[b"OKP", &x]))
        }
        "oct" => return Err("symmetric keys are never taken from a JWKS"),
        _ => return Err("unknown kty"),
    };
    Ok(VerifyingKey {
        kid,
        family,
        jwk_alg,
        material,
        fingerprint,
    })
}

fn b64(s: &str) -> Result<Vec<u8>, &'static str> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| "bad base64url")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Real public keys (generated once for these tests): key material is validated when
    // parsed, so made-up bytes would be refused.
    const RSA_N: &str = "roX4eOdMZClDu_wcKxKOWCK0HFgNkysPhWfl3V-WyIwj3-QWbbzmLkU7huuE896YZjvcTYyAAu07lb0BXhnwmXEGJDasqtLhhR8-edM5rb1pcSyMa0rN5V1FNWpPWErBfdnqKF_n_TQKHzxZanClA9CgFt4BX0iHVfJo5vGVS96x6xEbx-R5gQGy3KI1Gmmxlm_sLkxwxaAke1nBVWQ7lb1aEUXYeF2rzFgUxXaWtNu8CEER8QsgiFGXtS9Wdhk8ILp-8yw-6GcM0qkFnL9l0bEDZL6PH2JgBAaXMtN8eJ7ammCXShGmH35JnYnNh3WqV2SDik6tkowX-faKrl3x0w";
    const P256_X: &str = "8phgc2fp8g0ZGPfz3eRZxHIu8Xl0Z9w2RTa8kqqjIjQ";
    const P256_Y: &str = "gw98sTfRaDN6fhmrHAOY0GCmVDzZL3F19p1cD5PzeW8";
    const ED_X: &str = "W-06xkm-nUzz8G7_xLlEAfw33d3OksTzK_E-tXTyzek";

    fn n_2048() -> String {
        RSA_N.to_owned()
    }

    fn p256() -> (String, String) {
        (P256_X.to_owned(), P256_Y.to_owned())
    }

    #[test]
    fn one_odd_key_never_empties_the_set() {
        let (x, y) = p256();
        let doc = json!({"keys": [
            {"kty":"RSA","kid":"enc","use":"enc","n":n_2048(),"e":"AQAB"},
            {"kty":"weird","kid":"w"},
            {"kty":"EC","kid":"secp256k1","crv":"secp256k1","x":x,"y":y},
            {"kty":"RSA","kid":"small","n":URL_SAFE_NO_PAD.encode([7u8; 128]),"e":"AQAB"},
            {"kty":"RSA","kid":"bad-b64","n":"!!!","e":"AQAB"},
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"hs-alg","alg":"HS256","n":n_2048(),"e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":n_2048(),"e":"AQAB"},
            "not an object",
            {"kty":"RSA","kid":"good-rsa","use":"sig","alg":"RS256","n":n_2048(),"e":"AQAB"},
            {"kty":"EC","kid":"good-ec","crv":"P-256","x":x,"y":y},
            {"kty":"OKP","kid":"good-ed","crv":"Ed25519","x":ED_X},
            {"kty":"EC","kid":"off-curve","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8; 32]),"y":URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty":"RSA","kid":"good-rsa","n":n_2048(),"e":"AQAB"}
        ]});
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        let keys = parse_jwks(&body, &Algorithm::ASYMMETRIC, 100).unwrap_or_default();
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["good-rsa", "good-ec", "good-ed"]);
    }

    #[test]
    fn not_a_jwks_is_an_error() {
        assert!(matches!(
            parse_jwks(b"nope", &Algorithm::ASYMMETRIC, 10),
            Err(FetchError::NotJson)
        ));
        assert!(matches!(
            parse_jwks(b"{\"keys\":{}}", &Algorithm::ASYMMETRIC, 10),
            Err(FetchError::NotJwks)
        ));
    }

    #[test]
    fn the_key_decides_the_algorithm() {
        let rsa = parse_jwk(
            &json!({"kty":"RSA","n":n_2048(),"e":"AQAB"}),
            &Algorithm::ASYMMETRIC,
        );
        let rsa = rsa.unwrap_or_else(|e| panic!("{e}"));
        assert!(rsa.fits(Algorithm::RS256) && rsa.fits(Algorithm::PS512));
        assert!(!rsa.fits(Algorithm::ES256) && !rsa.fits(Algorithm::HS256));
        let pinned = parse_jwk(
            &json!({"kty":"RSA","alg":"RS256","n":n_2048(),"e":"AQAB"}),
            &Algorithm::ASYMMETRIC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(pinned.fits(Algorithm::RS256) && !pinned.fits(Algorithm::RS384));
        let (x, y) = p256();
        let ec = parse_jwk(
            &json!({"kty":"EC","crv":"P-256","x":x,"y":y}),
            &Algorithm::ASYMMETRIC,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(ec.fits(Algorithm::ES256) && !ec.fits(Algorithm::ES384));
        let mismatched = parse_jwk(
            &json!({"kty":"EC","crv":"P-256","alg":"ES384","x":x,"y":y}),
            &Algorithm::ASYMMETRIC,
        );
        assert!(mismatched.is_err());
        let hmac = VerifyingKey::hmac(&[0u8; 32]);
        assert!(hmac.fits(Algorithm::HS256) && !hmac.fits(Algorithm::RS256));
    }

    #[test]
    fn keys_outside_the_allow_list_are_skipped() {
        let only_es = [Algorithm::ES256];
        assert!(parse_jwk(&json!({"kty":"RSA","n":n_2048(),"e":"AQAB"}), &only_es).is_err());
    }

    #[test]
    fn cache_control_max_age() {
        let mut h = http::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=120"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(120)));
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        assert_eq!(max_age(&h), Some(Duration::ZERO));
        h.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("max-age=abc"),
        );
        assert_eq!(max_age(&h), None);
    }

    #[test]
    fn rfc8414_inserts_the_well_known_segment_before_the_path() {
        assert_eq!(
            rfc8414_url("https://a.example.com/realms/x/").as_deref(),
            Some("https://a.example.com/.well-known/oauth-authorization-server/realms/x")
        );
        assert_eq!(
            rfc8414_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/oauth-authorization-server")
        );
    }
}
