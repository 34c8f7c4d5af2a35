//! The key store: one key set per issuer, kept fresh ([`KeyStore`]). The only part of the
//! crate that does network I/O.
//!
//! * **Freshness.** A set lives for `Cache-Control: max-age`, clamped to a configured range
//!   (default 15 min when absent). From three quarters of its life on, a request that uses it
//!   starts one background refresh; requests never wait for a refresh of keys they have.
//! * **Unknown `kid`.** At most one refresh per issuer per cooldown; concurrent requests share
//!   it, and the request that triggered it is answered from the new set. The token's `kid` is
//!   never sent anywhere.
//! * **Fetches are not owned by requests.** Each fetch runs on its own task, at most one per
//!   issuer at a time; callers that need its result wait on a `watch` channel it answers. A
//!   caller that goes away (a client hanging up) only stops waiting: the fetch runs to
//!   completion and stores its set, so the attempt it started is never wasted and the
//!   cooldown or backoff it set does not shut everyone else out.
//! * **Outages.** When refreshes fail the last good set keeps serving for a bounded stale
//!   window; before any set was fetched, requests get 503 (lazy start: the service starts
//!   while the issuer is down). Failed attempts, including refreshes ahead of expiry, are
//!   retried at most once per backoff, counted from the start of the last attempt and from
//!   the end of the last failed one (so an attempt that hangs until its timeout is not
//!   retried at once).
//! * **Hardened fetching.** One shared `reqwest::Client`, connect and total timeouts, a body
//!   cap, no redirects, https except on loopback, and discovery's `issuer` must equal the
//!   configured one.
//! * **Tolerant parsing.** Each JWKS entry is parsed on its own (the `jwk` module); one odd
//!   entry never fails the set.
//!
//! The parts: `refresh` (the state machine deciding when a fetch starts, and who waits for
//! it), `fetch` (the HTTP side: discovery, bounded bodies, `max-age`) and `set` (a parsed key
//! set and which of its keys a token may be verified with).

mod fetch;
mod refresh;
mod set;

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::alg::Algorithm;
use crate::clock::Clock;
use crate::config::{AuthConfig, IssuerId, JwksSource, KeyPolicy};
use crate::jwk::VerifyingKey;

pub(crate) use self::fetch::{jwks_uri_from_metadata, max_age, rfc8414_url};
use self::refresh::{FetchState, Reason};
pub(crate) use self::set::KeySet;

/// Why a key could not be had for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// No keys are cached and none can be fetched: 503.
    Unavailable,
    /// Keys exist but none fits the token's `kid` and `alg`, even after a refresh: 401.
    NoKey,
}

/// Where one issuer's keys come from, with what discovery found.
enum Keys {
    /// Keys given in the configuration ([`Issuer::static_jwks`](crate::Issuer::static_jwks)):
    /// never fetched, never refreshed.
    Fixed(Arc<KeySet>),
    /// Fetched from a JWKS.
    Fetched(fetch::Location),
    /// No JWKS ([`Issuer::without_jwks`](crate::Issuer::without_jwks)).
    None,
}

struct IssuerKeys {
    issuer: String,
    keys: Keys,
    hmac: Option<Arc<VerifyingKey>>,
    fetch: Mutex<FetchState>,
    /// The last good fetched set (`Keys::Fetched` only): read on every request, written
    /// once per fetch. A lock held for a pointer copy, never across an `await`.
    set: RwLock<Option<Arc<KeySet>>>,
}

impl IssuerKeys {
    /// The fetched set held now.
    fn held(&self) -> Option<Arc<KeySet>> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the held set.
    fn store(&self, set: Arc<KeySet>) {
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Some(set);
    }
}

/// Every configured issuer's keys, kept fresh. Cheap to clone; clones share the store.
///
/// Each [`Authenticator`](crate::Authenticator) builds one; reach it with
/// [`Authenticator::key_store`](crate::Authenticator::key_store), to share it (share the
/// authenticator) or to [`warm`](Self::warm) it at start-up.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerKeys>,
    http: reqwest::Client,
    policy: KeyPolicy,
    algorithms: Vec<Algorithm>,
    clock: Arc<dyn Clock>,
    versions: AtomicU64,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore")
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

/// A fetch failure reported by [`KeyStore::warm`].
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl KeyStore {
    /// A store for the issuers of `config`. Nothing is fetched until first needed (or
    /// [`warm`](Self::warm) is called).
    pub(crate) fn new(config: &AuthConfig) -> Self {
        let c = &config.inner;
        let issuers = c
            .issuers
            .iter()
            .zip(&c.key_sources)
            .map(|((_, issuer), source)| IssuerKeys {
                issuer: issuer.url.clone(),
                keys: match &source.jwks {
                    JwksSource::Static(keys) => Keys::Fixed(Arc::new(KeySet::fixed(keys.clone()))),
                    JwksSource::Uri(uri) => Keys::Fetched(fetch::Location::configured(uri)),
                    JwksSource::Discovery(issuer_url) => {
                        Keys::Fetched(fetch::Location::discovered(issuer_url))
                    }
                    JwksSource::None => Keys::None,
                },
                hmac: source.hmac.clone(),
                fetch: Mutex::new(FetchState::default()),
                set: RwLock::new(None),
            })
            .collect::<Vec<_>>();
        Self {
            inner: Arc::new(Inner {
                issuers,
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
            if !matches!(issuer.keys, Keys::Fetched(_)) {
                continue;
            }
            let seen = issuer.held().map_or(0, |s| s.version);
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

    /// The key ids currently held for `issuer` (in JWKS order; for a template, its URL as
    /// configured, `{tenantid}` and all), or `None` when no set is held. For diagnostics.
    pub async fn key_ids(&self, issuer: &str) -> Option<Vec<String>> {
        let idx = self.inner.issuers.iter().position(|i| i.issuer == issuer)?;
        let issuer = self.inner.issuers.get(idx)?;
        let set = match &issuer.keys {
            Keys::Fixed(fixed) => Arc::clone(fixed),
            _ => issuer.held()?,
        };
        Some(set.keys.iter().filter_map(|k| k.kid.clone()).collect())
    }

    /// Whether the issuer's keys still hold the key with this `fingerprint` (for `kid`
    /// and `alg`), answered without waiting from the fixed set or the fetched one while it
    /// is usable (starting a refresh ahead of expiry when it is due). `None` when only a
    /// fetch could tell (no usable set is held).
    pub(crate) fn still_holds(
        &self,
        id: IssuerId,
        kid: Option<&str>,
        alg: Algorithm,
        fingerprint: &[u8; 32],
    ) -> Option<bool> {
        let idx = id.index();
        let issuer = self.inner.issuers.get(idx)?;
        let holds = |set: &KeySet| {
            set.candidates(kid, alg)
                .any(|key| key.fingerprint == *fingerprint)
        };
        match &issuer.keys {
            Keys::Fixed(fixed) => Some(holds(fixed)),
            Keys::Fetched(_) => self.usable(idx, issuer).map(|set| holds(&set)),
            Keys::None => None,
        }
    }

    /// A fetched set that may still be used, refreshed ahead of expiry when due.
    fn usable(&self, idx: usize, issuer: &IssuerKeys) -> Option<Arc<KeySet>> {
        self.still_usable(idx, issuer, issuer.held()?)
    }

    /// `set`, the issuer's held one, if it may still be used: [`usable`](Self::usable)'s
    /// checks, its refresh ahead of expiry and its count of stale keys.
    fn still_usable(
        &self,
        idx: usize,
        issuer: &IssuerKeys,
        set: Arc<KeySet>,
    ) -> Option<Arc<KeySet>> {
        let now = self.inner.clock.now();
        if now >= set.usable_until {
            return None;
        }
        if now >= set.refresh_at {
            if now >= set.fresh_until {
                crate::observe::stale_keys(&issuer.issuer);
            }
            self.refresh_ahead(idx, set.version);
        }
        Some(set)
    }

    /// The key of the issuer's HMAC secret, if it has one.
    pub(crate) fn hmac_key(&self, id: IssuerId) -> Option<Arc<VerifyingKey>> {
        self.inner
            .issuers
            .get(id.index())
            .and_then(|i| i.hmac.clone())
    }

    /// [`keys_for`](Self::keys_for)'s answer when it needs no waiting (fixed keys, or a
    /// usable fetched set that has a candidate: nearly every request); `None` when it would
    /// wait for a fetch (no usable set, or a `kid` the set lacks).
    pub(crate) fn keys_now(
        &self,
        id: IssuerId,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Result<Arc<KeySet>, LookupError>> {
        let idx = id.index();
        let Some(issuer) = self.inner.issuers.get(idx) else {
            return Some(Err(LookupError::NoKey));
        };
        match &issuer.keys {
            Keys::Fixed(fixed) => Some(if fixed.has_candidate(kid, alg) {
                Ok(Arc::clone(fixed))
            } else {
                Err(LookupError::NoKey)
            }),
            Keys::None => Some(Err(LookupError::NoKey)),
            // A set without a candidate is left to `keys_for`'s slow path untouched: a
            // request may look here several times (the layer's first look, the pipeline's)
            // before it waits, and its refresh ahead and stale-keys count happen once, there.
            Keys::Fetched(_) => {
                let set = issuer.held().filter(|set| set.has_candidate(kid, alg))?;
                self.still_usable(idx, issuer, set).map(Ok)
            }
        }
    }

    /// The key set to verify a token with `kid`/`alg` from the issuer, refreshing as the
    /// module docs describe.
    pub(crate) async fn keys_for(
        &self,
        id: IssuerId,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<KeySet>, LookupError> {
        if let Some(answer) = self.keys_now(id, kid, alg) {
            return answer;
        }
        let idx = id.index();
        let issuer = self.inner.issuers.get(idx).ok_or(LookupError::NoKey)?;
        // `keys_now` touched no set without a candidate, and found no usable one with a
        // candidate: the refresh ahead of expiry and the stale-keys count are made here.
        let set = match self.usable(idx, issuer) {
            Some(set) => set,
            None => {
                let seen = issuer.held().map_or(0, |s| s.version);
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
}
