//! The middleware: [`AuthLayer`] → [`AuthService`] → [`ResponseFuture`], in tower-http's
//! shape, and the [`Authenticator`] that does the work.
//!
//! For each request the service reads the bearer token, verifies it with the
//! [`Authenticator`], and either refuses the request (RFC 6750 response) or puts the
//! [`Principal`] into the request's extensions for extractors and guards.
//!
//! In the default mode a request without a token is refused with 401. In optional mode
//! ([`AuthLayer::optional`]) it passes through without a principal, so one router can mix
//! public and private routes; a token that is present but bad is still refused.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Request};
use serde_json::Value;
use tower::{Layer, Service};

use crate::bearer::{bearer_token, check_b64token, Credentials};
use crate::cache::{Entry, TokenCache};
use crate::clock::unix_seconds;
use crate::config::AuthConfig;
use crate::crypto::sha256;
use crate::key_store::{KeyStore, LookupError};
use crate::principal::{AuthContext, Principal};
use crate::rejection::{AuthRejection, InvalidToken, RejectionKind};
use crate::verify::{self, ClaimChecks};

/// Verifies tokens: the whole flow without the HTTP plumbing. Cheap to clone; clones share
/// the key cache. Use it directly to verify tokens outside a router (a WebSocket handshake,
/// a CLI).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    config: AuthConfig,
    jwks: KeyStore,
    cache: Option<TokenCache>,
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
        let jwks = KeyStore::new(&config);
        let cache = config
            .inner
            .token_cache
            .map(|limits| TokenCache::new(limits, config.inner.leeway_secs));
        Self {
            inner: Arc::new(AuthInner {
                config,
                jwks,
                cache,
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
        &self.inner.jwks
    }

    /// The key store's former name.
    #[deprecated(since = "0.2.0", note = "renamed `key_store`")]
    pub fn jwks(&self) -> &KeyStore {
        self.key_store()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    fn rejection(&self, kind: RejectionKind) -> AuthRejection {
        AuthRejection::with_renderer(kind, self.inner.config.inner.renderer.clone())
    }

    fn invalid(&self, reason: InvalidToken) -> AuthRejection {
        self.rejection(RejectionKind::InvalidToken(reason))
    }

    /// Verifies one token and builds its principal. A repeated token is answered from the
    /// verified-token cache while it would still verify.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthRejection> {
        self.verify_bytes(token.as_bytes(), false).await
    }

    /// The shared path of [`verify`](Self::verify) and the layer. `from_header`: the bytes
    /// come straight from `Authorization` and must still pass the `b64token` check (400)
    /// unless the cache already holds them.
    async fn verify_bytes(
        &self,
        token: &[u8],
        from_header: bool,
    ) -> Result<Principal, AuthRejection> {
        let c = &self.inner.config.inner;
        if token.len() > c.max_token_bytes {
            if from_header {
                // A malformed header is 400 whatever its size.
                check_b64token(token)
                    .map_err(|r| self.rejection(RejectionKind::InvalidRequest(r)))?;
            }
            return Err(self.invalid(InvalidToken::TooLarge));
        }
        let digest = self.inner.cache.as_ref().map(|_| sha256(&[token]));
        if let (Some(cache), Some(digest)) = (&self.inner.cache, &digest) {
            if let Some(entry) = cache.get(digest) {
                if self.still_valid(&entry).await {
                    crate::observe::verified(entry.principal.kind(), true);
                    return Ok(entry.principal.clone());
                }
                cache.remove(digest);
            }
        }
        let token = if from_header {
            check_b64token(token).map_err(|r| self.rejection(RejectionKind::InvalidRequest(r)))?
        } else {
            std::str::from_utf8(token).map_err(|_| self.invalid(InvalidToken::Malformed))?
        };
        let (principal, meta) = self.verify_uncached(token).await?;
        crate::observe::verified(principal.kind(), false);
        if let (Some(cache), Some(digest)) = (&self.inner.cache, digest) {
            cache.insert(
                digest,
                Entry::new(
                    principal.clone(),
                    meta.issuer,
                    meta.kid,
                    meta.alg,
                    meta.key_fingerprint,
                    meta.validity.expires_at,
                    meta.validity.not_before,
                ),
            );
        }
        Ok(principal)
    }

    /// Whether a cached verification still holds: its time claims, and its key still in the
    /// issuer's set (which also keeps key refreshes running for cached traffic).
    async fn still_valid(&self, entry: &Entry) -> bool {
        let c = &self.inner.config.inner;
        if !entry.in_time(unix_seconds(c.clock.now()), c.leeway_secs) {
            return false;
        }
        let jwks = &self.inner.jwks;
        if entry.alg.is_hmac() {
            return jwks
                .hmac_key(entry.issuer)
                .is_some_and(|k| k.fingerprint == entry.key_fingerprint);
        }
        let kid = entry.kid.as_deref();
        match jwks.keys_for(entry.issuer, kid, entry.alg).await {
            Ok(set) => set
                .candidates(kid, entry.alg)
                .any(|k| k.fingerprint == entry.key_fingerprint),
            Err(_) => false,
        }
    }

    async fn verify_uncached(&self, token: &str) -> Result<(Principal, Verified), AuthRejection> {
        let c = &self.inner.config.inner;
        let jwks = &self.inner.jwks;
        let jws = verify::parse(token, c.max_token_bytes).map_err(|r| self.invalid(r))?;
        let alg = jws
            .header
            .alg
            .ok_or_else(|| self.invalid(InvalidToken::DisallowedAlgorithm))?;
        verify::check_typ(jws.header.typ.as_deref(), c.typ_policy).map_err(|r| self.invalid(r))?;
        // The unverified `iss` only selects which issuer's keys to try.
        let idx = match jws.claims.get("iss") {
            Some(Value::String(iss)) => jwks.issuer_index(iss),
            _ => None,
        }
        .ok_or_else(|| self.invalid(InvalidToken::UnknownIssuer))?;
        let issuer = c
            .issuers
            .get(idx)
            .ok_or_else(|| self.invalid(InvalidToken::UnknownIssuer))?;
        let key_fingerprint = if alg.is_hmac() {
            let key = jwks
                .hmac_key(idx)
                .ok_or_else(|| self.invalid(InvalidToken::DisallowedAlgorithm))?;
            verify::check_signature(&jws, &key.material, alg).map_err(|r| self.invalid(r))?;
            key.fingerprint
        } else {
            if !c.algorithms.contains(&alg) {
                return Err(self.invalid(InvalidToken::DisallowedAlgorithm));
            }
            let kid = jws.header.kid.as_deref();
            let set = jwks.keys_for(idx, kid, alg).await.map_err(|e| match e {
                LookupError::Unavailable => self.rejection(RejectionKind::Unavailable),
                LookupError::NoKey => self.invalid(InvalidToken::UnknownKey),
            })?;
            let mut outcome = Err(InvalidToken::UnknownKey);
            for key in set.candidates(kid, alg) {
                outcome =
                    verify::check_signature(&jws, &key.material, alg).map(|()| key.fingerprint);
                if outcome.is_ok() {
                    break;
                }
            }
            outcome.map_err(|r| self.invalid(r))?
        };
        let checks = ClaimChecks {
            issuer: &issuer.url,
            audiences: &c.audiences,
            leeway_secs: c.leeway_secs,
            now_secs: unix_seconds(c.clock.now()),
            client_id_as_audience: issuer.client_id_as_audience,
        };
        let validity = verify::check_claims(&jws.claims, checks).map_err(|r| self.invalid(r))?;
        verify::check_access_token(&jws.claims, issuer.accept_id_tokens)
            .map_err(|r| self.invalid(r))?;
        let classification = c
            .classifier
            .classify_for(issuer.rules, &jws.claims)
            .map_err(|r| self.invalid(r))?;
        let kid = jws.header.kid;
        let principal = Principal::from_claims(
            &issuer.url,
            jws.claims,
            validity.expires_at,
            classification,
            &c.roles_claim,
        )
        .map_err(|r| self.invalid(r))?;
        Ok((
            principal,
            Verified {
                issuer: idx,
                kid,
                alg,
                key_fingerprint,
                validity,
            },
        ))
    }

    /// The request's principal: `Ok(None)` when it carries no bearer token.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Principal>, AuthRejection> {
        let result = match bearer_token(headers) {
            Err(reason) => Err(self.rejection(RejectionKind::InvalidRequest(reason))),
            Ok(Credentials::None) => Ok(None),
            Ok(Credentials::Bearer(token)) => self.verify_bytes(token, true).await.map(Some),
        };
        if let Err(r) = &result {
            crate::observe::rejected(r.reason(), r.status().as_u16());
        }
        result
    }
}

/// What a successful verification used, for the token cache.
struct Verified {
    issuer: usize,
    kid: Option<String>,
    alg: crate::alg::Algorithm,
    key_fingerprint: [u8; 32],
    validity: verify::Validity,
}

/// Verifies bearer tokens on every request: `.layer(AuthLayer::new(config))`.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    auth: Authenticator,
    optional: bool,
}

impl AuthLayer {
    /// A layer that refuses requests without a valid token.
    pub fn new(config: AuthConfig) -> Self {
        Self::from_authenticator(Authenticator::new(config))
    }

    /// A layer that lets requests without a token through without a principal (bad tokens
    /// are still refused). Handlers take `Option<Principal>`, or guards refuse with 401.
    pub fn optional(config: AuthConfig) -> Self {
        Self::new(config).allow_anonymous()
    }

    /// A layer sharing an existing authenticator (and its key cache).
    pub fn from_authenticator(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: false,
        }
    }

    /// Switches to optional mode (see [`AuthLayer::optional`]).
    pub fn allow_anonymous(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The authenticator behind this layer.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
            optional: self.optional,
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    auth: Authenticator,
    optional: bool,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The service that was polled ready is `self.inner`; take it and leave a clone in its
        // place (tower's "be careful when cloning inner services").
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let optional = self.optional;
        ResponseFuture {
            inner: Box::pin(async move {
                match auth.authenticate(request.headers()).await {
                    Ok(Some(principal)) => {
                        request.extensions_mut().insert(principal);
                    }
                    Ok(None) if optional => {}
                    Ok(None) => {
                        return Ok(auth
                            .rejection(RejectionKind::MissingCredentials)
                            .into_response())
                    }
                    Err(rejection) => return Ok(rejection.into_response()),
                }
                request.extensions_mut().insert(AuthContext {
                    renderer: auth.inner.config.inner.renderer.clone(),
                });
                inner.call(request).await
            }),
        }
    }
}

/// The response future of [`AuthService`].
pub struct ResponseFuture<E> {
    inner: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>,
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
