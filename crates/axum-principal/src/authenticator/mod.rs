//! The pipeline: from the credentials of a request to a [`Principal`], without the HTTP
//! plumbing. One direction, one file per job:
//!
//! 1. [`credentials`]: `Authorization` read once into a [`Presented`] token (scheme and
//!    bytes), which then travels with the request;
//! 2. [`cached`]: the verified-token cache answers only the very token it verified, while
//!    it would still verify (the layer asks it first, without waiting);
//! 3. a fresh token goes to its verification strategy, chosen in
//!    [`Authenticator::verify_fresh`]: a JWS is verified locally ([`jwt`]: header, the
//!    issuer its `iss` selects, signature, claims); an opaque token is introspected
//!    (RFC 7662, [`introspected`]) at the one issuer configured for it. Both end in the
//!    same classification and principal ([`claims`]);
//! 4. [`sender`]: what the scheme requires of the sender (a bound token's certificate or
//!    DPoP proof), on every request, cached token or not.
//!
//! Every step returns a plain [`RejectionKind`]; the configured renderer is attached once,
//! when an entry point hands back an [`AuthRejection`].

mod cached;
mod claims;
mod credentials;
mod first_look;
mod introspected;
mod jwt;
mod request;
mod sender;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::HeaderMap;

use self::cached::Lookup;
use self::credentials::{check_b64token, Presented, Scheme};
pub(crate) use self::first_look::FirstLook;
pub use self::request::AuthRequest;
use crate::binding::Binding;
use crate::config::AuthConfig;
use crate::introspect::Introspectors;
use crate::key_store::KeyStore;
use crate::principal::{AuthContext, Principal};
use crate::rejection::{AuthRejection, InvalidRequest, InvalidToken, RejectionKind};
use crate::token_cache::{TokenCache, Verified};

/// Verifies tokens: the whole flow without the HTTP plumbing. Cheap to clone; clones share
/// the key cache and the verified-token cache. Use it directly to verify tokens outside a
/// router (a WebSocket handshake, a CLI), or share one between several
/// [`AuthLayer`](crate::AuthLayer)s with [`AuthLayer::from_authenticator`](crate::AuthLayer::from_authenticator).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    config: AuthConfig,
    keys: KeyStore,
    cache: Option<Arc<TokenCache>>,
    /// The introspecting issuers' state (endpoints, breakers, answer caches, calls in
    /// flight): this authenticator's own, never shared with another configuration.
    introspection: Option<Introspectors>,
    /// What the layer puts into every request (built once: one reference count to share).
    context: AuthContext,
    /// The issuers' recurring JOSE headers, decoded once.
    headers: crate::verify::HeaderMemo,
}

/// Counters of the verified-token cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Lookups answered from the cache (before the per-hit re-checks).
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
    /// Their total weight (estimated bytes, at least `max_bytes / max_entries` each).
    pub weighted_size: u64,
}

/// A request the layer's first look could not answer: its credentials as read (once), and
/// what the cache held for the token. Owned, so it travels into the full pipeline.
pub(crate) struct Pending {
    credentials: Result<Option<Presented>, InvalidRequest>,
    lookup: Lookup,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator with its own key cache.
    pub fn new(config: AuthConfig) -> Self {
        let keys = KeyStore::new(&config);
        let leeway = config.inner.leeway_secs;
        let cache = config
            .inner
            .token_cache
            .map(|limits| Arc::new(TokenCache::new(limits, leeway)));
        let context = AuthContext {
            renderer: Arc::new(config.inner.renderer.clone()),
        };
        let introspection = Introspectors::new(&config);
        Self {
            inner: Arc::new(AuthInner {
                config,
                keys,
                cache,
                introspection,
                context,
                headers: crate::verify::HeaderMemo::default(),
            }),
        }
    }

    /// The verified-token cache's counters (`None` when the cache is off).
    pub fn token_cache_stats(&self) -> Option<TokenCacheStats> {
        let cache = self.inner.cache.as_ref()?;
        let (entries, weighted_size) = cache.usage();
        Some(TokenCacheStats {
            hits: cache.counters.hits.load(Ordering::Relaxed),
            misses: cache.counters.misses.load(Ordering::Relaxed),
            entries,
            weighted_size,
        })
    }

    /// The key store (to [`warm`](KeyStore::warm) it at start-up, for example).
    pub fn key_store(&self) -> &KeyStore {
        &self.inner.keys
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Verifies one token and builds its principal. A repeated token is answered from the
    /// verified-token cache while it would still verify.
    /// A token bound to a key or certificate (`cnf`) is refused here: it needs its proof.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthRejection> {
        let token = token.as_bytes();
        let lookup = self.lookup(token);
        let outcome = async {
            let (principal, binding, cached) =
                self.verify_token(token, Source::Caller, lookup).await?;
            binding
                .check_bearer(None)
                .map_err(RejectionKind::InvalidToken)?;
            Ok(admitted(principal, cached))
        };
        outcome.await.map_err(|kind| self.reject(kind))
    }

    /// The request's principal from its headers alone: `Ok(None)` when it carries no token.
    /// Without the method and path a DPoP proof cannot be checked, so a DPoP request is
    /// refused here; [`authenticate_request`](Self::authenticate_request) (what the layer
    /// calls) checks everything.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, AuthRejection> {
        // Refusals are counted once, when they are rendered (`AuthRejection::into_response`).
        self.finish(self.read(headers), None).await
    }

    /// The request's principal: `Ok(None)` when it carries no token. `Bearer` tokens, and
    /// `DPoP` tokens with their proof when DPoP is configured; a token bound to a client
    /// certificate passes with the matching [`ClientCertificate`](crate::binding::ClientCertificate).
    pub async fn authenticate_request(
        &self,
        request: AuthRequest<'_>,
    ) -> Result<Option<Principal>, AuthRejection> {
        self.finish(self.read(request.headers), Some(request)).await
    }

    /// Step 1, and step 2's lookup: the credentials, read once, and what the cache holds
    /// for them.
    fn read(&self, headers: &HeaderMap) -> Pending {
        let accept_dpop = self.inner.config.inner.dpop.is_some();
        let credentials = credentials::read(headers, accept_dpop);
        let lookup = match &credentials {
            Ok(Some(presented)) => self.lookup(presented.token()),
            _ => Lookup::NotLooked,
        };
        Pending {
            credentials,
            lookup,
        }
    }

    /// The full pipeline for a request whose credentials were read (and looked up) once.
    pub(crate) async fn finish(
        &self,
        pending: Pending,
        request: Option<AuthRequest<'_>>,
    ) -> Result<Option<Principal>, AuthRejection> {
        self.principal_of(pending, request)
            .await
            .map_err(|kind| self.reject(kind))
    }

    /// A refusal shown with the configured renderer (realm, custom body): the one place a
    /// [`RejectionKind`] of the pipeline becomes an [`AuthRejection`].
    pub(crate) fn reject(&self, kind: RejectionKind) -> AuthRejection {
        AuthRejection::with_renderer(kind, self.inner.config.inner.renderer.clone())
    }

    /// What the layer puts into every request it passes on, so extractors and guards refuse
    /// with the same renderer.
    pub(crate) fn context(&self) -> AuthContext {
        self.inner.context.clone()
    }

    /// The scheme dispatch: what each scheme needs before the token is verified, the
    /// verification, then what the scheme requires of the sender.
    async fn principal_of(
        &self,
        pending: Pending,
        request: Option<AuthRequest<'_>>,
    ) -> Result<Option<Principal>, RejectionKind> {
        let c = &self.inner.config.inner;
        let Some(presented) = pending.credentials.map_err(RejectionKind::InvalidRequest)? else {
            return Ok(None);
        };
        let token = presented.token();
        let (principal, binding, cached) = match presented.scheme {
            Scheme::Bearer if c.dpop.as_ref().is_some_and(|d| d.required) => {
                return Err(RejectionKind::DpopRequired)
            }
            Scheme::Bearer => {
                self.verify_token(token, Source::Header, pending.lookup)
                    .await?
            }
            // Without the request a proof cannot be checked: refused before any work.
            Scheme::Dpop if request.is_none() => {
                return Err(RejectionKind::InvalidDpopProof(
                    crate::dpop::InvalidDpopProof::NoRequestContext,
                ))
            }
            Scheme::Dpop => self
                .verify_token(token, Source::Header, pending.lookup)
                .await
                .map_err(|kind| match kind {
                    RejectionKind::InvalidToken(r) => RejectionKind::InvalidDpopToken(r),
                    other => other,
                })?,
        };
        self.check_sender(presented.scheme, token, &principal, &binding, request)
            .await?;
        Ok(Some(admitted(principal, cached)))
    }

    /// Steps 2–3 for one token: the cache's answer when it still holds, else a fresh
    /// verification, remembered. The token's binding comes back with it, for the scheme's
    /// check, and whether the cache answered.
    async fn verify_token(
        &self,
        token: &[u8],
        source: Source,
        lookup: Lookup,
    ) -> Result<(Principal, Binding, bool), RejectionKind> {
        if let Lookup::Found(entry) = lookup {
            if self.still_valid(&entry).await {
                let binding = entry.verified.binding.clone();
                return Ok((entry.principal.clone(), binding, true));
            }
            self.forget(token);
        }
        // A token that may go to introspection is checked against RFC 6750's `b64token`
        // first; otherwise only on a refusal (see `settle`).
        let deferred = matches!(source, Source::Header) && self.inner.introspection.is_none();
        let text = self.token_text(token, source, deferred)?;
        let fresh = if text.len() > self.inner.config.inner.max_token_bytes {
            Err(RejectionKind::InvalidToken(InvalidToken::TooLarge))
        } else {
            self.verify_fresh(text).await
        };
        match self.settle(fresh, token, deferred)? {
            Fresh::Jwt(principal, verified) => {
                let (principal, binding) = self.keep(token, principal, verified);
                Ok((principal, binding, false))
            }
            // Not for the verified-token cache: its entries are re-checked against the
            // issuer's keys; introspection keeps its own cache.
            Fresh::Introspected(answer, cached) => Ok((answer.principal, answer.binding, cached)),
        }
    }

    /// The token as text: UTF-8 (a `Caller`'s within the size limit first), and a header's
    /// checked against RFC 6750's `b64token` unless `deferred`.
    fn token_text<'t>(
        &self,
        token: &'t [u8],
        source: Source,
        deferred: bool,
    ) -> Result<&'t str, RejectionKind> {
        let malformed = RejectionKind::InvalidToken(InvalidToken::Malformed);
        match source {
            Source::Header if deferred => simdutf8::basic::from_utf8(token)
                .map_err(|_| malformed_header(token).unwrap_or(malformed)),
            Source::Header => check_b64token(token).map_err(RejectionKind::InvalidRequest),
            Source::Caller if token.len() > self.inner.config.inner.max_token_bytes => {
                Err(RejectionKind::InvalidToken(InvalidToken::TooLarge))
            }
            Source::Caller => simdutf8::basic::from_utf8(token).map_err(|_| malformed),
        }
    }

    /// A malformed header (RFC 6750's `b64token`) is 400 whatever its size and whatever
    /// else is wrong with the token. Without introspection every token is verified as a
    /// JWS, and one that verifies has only base64url characters and dots, all allowed: the
    /// check then runs only on a refusal (`deferred`), to decide it.
    fn settle<T>(
        &self,
        outcome: Result<T, RejectionKind>,
        token: &[u8],
        deferred: bool,
    ) -> Result<T, RejectionKind> {
        match outcome {
            Err(refusal) if deferred => Err(malformed_header(token).unwrap_or(refusal)),
            outcome => outcome,
        }
    }

    /// A token verified here, remembered by the verified-token cache.
    fn keep(&self, token: &[u8], principal: Principal, verified: Verified) -> (Principal, Binding) {
        let binding = verified.binding.clone();
        self.remember(token, &principal, verified);
        (principal, binding)
    }

    /// The verification strategy for a token the cache does not hold. A JWS is verified
    /// locally with its issuer's keys ([`jwt`]); a token that is not one is introspected
    /// (RFC 7662, [`introspected`]) at the one issuer configured for opaque tokens, or
    /// refused as malformed without any I/O when none is. A JWS is never handed to
    /// introspection because its local verification failed (an unknown `kid` included);
    /// one that passed is, when its issuer is in "enrich" mode, for the claims it lacks
    /// (and then, like an opaque token's answer, never enters the verified-token cache).
    async fn verify_fresh(&self, token: &str) -> Result<Fresh, RejectionKind> {
        // The introspection calls are boxed: their futures (an HTTP exchange, ~3 KB) would
        // otherwise make every request's future that large, and every move of it copy that
        // much, for a path that waits on the network anyway.
        if self.introspects(token) {
            let (answer, cached) = Box::pin(self.introspect(token)).await?;
            return Ok(Fresh::Introspected(answer, cached));
        }
        // "Enrich" mode: only a JWT that passed every local check is introspected. (In a
        // block: the verified token must not live across the introspection's `.await`.)
        let state = {
            let local = self.verify_jwt(token).await?;
            match self.enricher(local.verified.issuer) {
                Some(state) => state,
                None => {
                    let (principal, verified) = self.jwt_principal(local)?;
                    return Ok(Fresh::Jwt(principal, verified));
                }
            }
        };
        let (answer, cached) = Box::pin(self.ask(state, token)).await?;
        Ok(Fresh::Introspected(answer, cached))
    }
}

/// What a strategy verified.
enum Fresh {
    /// A JWT verified locally, and what its verification used (for the token cache).
    Jwt(Principal, Verified),
    /// An introspection answer, and whether the answer cache gave it.
    Introspected(crate::introspect::Introspected, bool),
}

/// Where a token's bytes come from, which decides how they are checked.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Straight from `Authorization`: must pass RFC 6750's `b64token` check (400) unless the
    /// cache already holds them.
    Header,
    /// Handed to [`Authenticator::verify`]: must be UTF-8.
    Caller,
}

/// The refusal a token that is not RFC 6750's `b64token` gets, if it is not one.
fn malformed_header(token: &[u8]) -> Option<RejectionKind> {
    check_b64token(token)
        .err()
        .map(RejectionKind::InvalidRequest)
}

/// A principal let through, counted once (cached or not).
fn admitted(principal: Principal, cached: bool) -> Principal {
    crate::observe::verified(principal.kind().as_str(), cached);
    principal
}
