//! The pipeline: from a bearer token to a [`Principal`], without the HTTP plumbing.
//!
//! [`Authenticator::authenticate`] (what the layer calls) and [`Authenticator::verify`] (for
//! tokens that come another way: a WebSocket handshake, a CLI) run the same steps:
//!
//! 1. size and syntax: RFC 6750's `b64token` for a header value, UTF-8 for a string;
//! 2. the verified-token cache, which answers only the very token it verified (compared
//!    byte for byte), re-checked on every hit;
//! 3. [`verify`] decodes header and claims, and the header's `alg` and `typ` are checked;
//! 4. the unverified `iss` selects a configured issuer, whose key store gives the keys to
//!    try (an unknown issuer causes no network I/O);
//! 5. the signature, then the registered claims and the access-token checks;
//! 6. [`classify`](crate::classify) decides user or machine;
//! 7. the [`Principal`] is built from the claims ([`principal`](crate::principal));
//! 8. a sender-constrained token ([`binding`](crate::binding)) is checked against its proof:
//!    under `Bearer` only a matching client certificate (RFC 8705) lets it through; under
//!    `DPoP` the [`dpop`](crate::dpop) proof is checked in full, on every request, cached
//!    token or not.
//!
//! Every step returns a plain [`RejectionKind`] (or an [`InvalidToken`]); the configured
//! renderer is attached once, when [`Authenticator::verify`] or
//! [`Authenticator::authenticate`] (or the layer, for a missing token) hands back an
//! [`AuthRejection`].

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::{HeaderMap, Method, Request, Uri};

use crate::alg::Algorithm;
use crate::bearer::{bearer_token, check_b64token, Credentials};
use crate::binding::{Binding, ClientCertificate};
use crate::cache::{Entry, TokenCache, Verified};
use crate::clock::unix_seconds;
use crate::config::{AuthConfig, Issuer};
use crate::dpop::{InvalidDpopProof, ProofRequest};
use crate::key_store::{KeyStore, LookupError};
use crate::principal::{AuthContext, Principal};
use crate::rejection::{AuthRejection, InvalidToken, RejectionKind};
use crate::verify::{self, ClaimChecks, ClaimRead, Jws, RawClaims, Validity};

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
    /// What the layer puts into every request (built once: one reference count to share).
    context: AuthContext,
}

/// What the cache held for a token before the pipeline ran: the entry found, still to be
/// re-checked, or none. Handed from [`Authenticator::cached_bearer`] to the pipeline so a
/// token is looked up and counted once.
pub(crate) struct Lookup {
    entry: Option<Arc<Entry>>,
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

/// Where a token's bytes come from, which decides how they are checked.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Straight from `Authorization`: must pass RFC 6750's `b64token` check (400) unless the
    /// cache already holds them.
    Header,
    /// Handed to [`Authenticator::verify`]: must be UTF-8.
    Caller,
}

/// What the pipeline reads of a request: the method and path a DPoP proof is checked
/// against, the headers, and the client certificate of a mutual-TLS connection. The layer
/// builds it with [`AuthRequest::from_request`].
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    client_certificate: Option<&'a ClientCertificate>,
}

impl<'a> AuthRequest<'a> {
    /// A request's method, URI (only its path is read) and headers, without a client
    /// certificate.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
            client_certificate: None,
        }
    }

    /// The client certificate of the connection (RFC 8705), if it presented one.
    #[must_use]
    pub fn client_certificate(mut self, certificate: Option<&'a ClientCertificate>) -> Self {
        self.client_certificate = certificate;
        self
    }

    /// Everything from a request, the [`ClientCertificate`] from its extensions.
    pub fn from_request<B>(request: &'a Request<B>) -> Self {
        // Under `Router::nest` the request's URI has lost the prefix; DPoP's `htu` names the
        // URL the client called.
        let uri = request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or(request.uri(), |original| &original.0);
        Self::new(request.method(), uri, request.headers())
            .client_certificate(request.extensions().get::<ClientCertificate>())
    }
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
        Self {
            inner: Arc::new(AuthInner {
                config,
                keys,
                cache,
                context,
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

    /// The key store; renamed [`key_store`](Self::key_store).
    #[deprecated(since = "0.2.0", note = "renamed `key_store`")]
    pub fn jwks(&self) -> &KeyStore {
        self.key_store()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Verifies one token and builds its principal. A repeated token is answered from the
    /// verified-token cache while it would still verify.
    /// A token bound to a key or certificate (`cnf`) is refused here: it needs its proof.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthRejection> {
        let verified = self
            .verify_token(token.as_bytes(), Source::Caller, None)
            .await;
        verified
            .and_then(|(principal, binding, cached)| {
                binding
                    .check_bearer(None)
                    .map_err(RejectionKind::InvalidToken)?;
                crate::observe::verified(principal.kind().as_str(), cached);
                Ok(principal)
            })
            .map_err(|kind| self.reject(kind))
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
        self.principal_of(headers, None, None)
            .await
            .map_err(|kind| self.reject(kind))
    }

    /// The request's principal: `Ok(None)` when it carries no token. `Bearer` tokens, and
    /// `DPoP` tokens with their proof when DPoP is configured; a token bound to a client
    /// certificate passes with the matching [`ClientCertificate`].
    pub async fn authenticate_request(
        &self,
        request: AuthRequest<'_>,
    ) -> Result<Option<Principal>, AuthRejection> {
        self.authenticate_after(request, None).await
    }

    /// [`authenticate_request`](Self::authenticate_request) after
    /// [`cached_bearer`](Self::cached_bearer) found no answer, with what its lookup found.
    pub(crate) async fn authenticate_after(
        &self,
        request: AuthRequest<'_>,
        lookup: Option<Lookup>,
    ) -> Result<Option<Principal>, AuthRejection> {
        self.principal_of(request.headers, Some(request), lookup)
            .await
            .map_err(|kind| self.reject(kind))
    }

    /// The layer's fast path, which never waits: the principal of a `Bearer` token that the
    /// verified-token cache holds and whose re-checks (time, key still in the issuer's set,
    /// no binding it fails) pass on what is in memory. `Err` for anything else — no cache,
    /// a miss, `DPoP`, keys that need a fetch, any refusal — with the cache lookup when one
    /// was made; the caller then runs [`authenticate_after`](Self::authenticate_after),
    /// which decides (and refuses) exactly as the full pipeline does.
    pub(crate) fn cached_bearer(
        &self,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Principal, Option<Lookup>> {
        let c = &self.inner.config.inner;
        let Some(cache) = &self.inner.cache else {
            return Err(None);
        };
        let dpop = c.dpop.as_ref();
        let token = match bearer_token(headers, dpop.is_some()) {
            Ok(Credentials::Bearer(token)) if !dpop.is_some_and(|d| d.required) => token,
            _ => return Err(None),
        };
        if token.len() > c.max_token_bytes {
            return Err(None);
        }
        let lookup = self.lookup(cache, token);
        let Some(entry) = &lookup.entry else {
            return Err(Some(lookup));
        };
        // The client certificate is looked for only when the token is bound to one.
        let binding = &entry.verified.binding;
        let unbound_or_matching = || {
            !binding.bound
                || binding
                    .check_bearer(extensions.get::<ClientCertificate>())
                    .is_ok()
        };
        match self.valid_now(entry) {
            Some(true) if unbound_or_matching() => {
                crate::observe::verified(entry.principal.kind().as_str(), true);
                Ok(entry.principal.clone())
            }
            Some(false) => {
                cache.remove(token);
                Err(Some(Lookup { entry: None }))
            }
            _ => Err(Some(lookup)),
        }
    }

    /// Step 2: what the cache holds for the token (counted here, once).
    fn lookup(&self, cache: &Arc<TokenCache>, token: &[u8]) -> Lookup {
        Lookup {
            entry: cache.get(token),
        }
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

    async fn principal_of(
        &self,
        headers: &HeaderMap,
        request: Option<AuthRequest<'_>>,
        lookup: Option<Lookup>,
    ) -> Result<Option<Principal>, RejectionKind> {
        let c = &self.inner.config.inner;
        let dpop = c.dpop.as_ref();
        let certificate = request.and_then(|r| r.client_certificate);
        match bearer_token(headers, dpop.is_some()).map_err(RejectionKind::InvalidRequest)? {
            Credentials::None => Ok(None),
            Credentials::Bearer(_) if dpop.is_some_and(|d| d.required) => {
                Err(RejectionKind::DpopRequired)
            }
            Credentials::Bearer(token) => {
                let (principal, binding, cached) =
                    self.verify_token(token, Source::Header, lookup).await?;
                binding
                    .check_bearer(certificate)
                    .map_err(RejectionKind::InvalidToken)?;
                crate::observe::verified(principal.kind().as_str(), cached);
                Ok(Some(principal))
            }
            Credentials::Dpop(token) => {
                let (Some(dpop), Some(request)) = (dpop, request) else {
                    return Err(RejectionKind::InvalidDpopProof(
                        InvalidDpopProof::NoRequestContext,
                    ));
                };
                let (principal, binding, cached) = self
                    .verify_token(token, Source::Header, lookup)
                    .await
                    .map_err(|kind| match kind {
                        RejectionKind::InvalidToken(r) => RejectionKind::InvalidDpopToken(r),
                        other => other,
                    })?;
                Self::check_dpop_binding(&binding, certificate)?;
                let jkt = binding.jkt.as_deref().unwrap_or_default();
                // The token passed the b64token check: ASCII.
                let access_token = std::str::from_utf8(token)
                    .map_err(|_| RejectionKind::InvalidDpopToken(InvalidToken::Malformed))?;
                let proof = ProofRequest {
                    method: request.method.as_str(),
                    path: request.uri.path(),
                    headers,
                    access_token,
                    jkt,
                    principal: principal.id(),
                };
                dpop.check(&proof, c.clock.now(), c.leeway_secs).await?;
                crate::observe::verified(principal.kind().as_str(), cached);
                Ok(Some(principal))
            }
        }
    }

    /// A token presented with `DPoP` must be bound to a key (`cnf.jkt`), and to nothing this
    /// crate cannot check; if it is bound to a certificate as well, that must match too.
    fn check_dpop_binding(
        binding: &Binding,
        certificate: Option<&ClientCertificate>,
    ) -> Result<(), RejectionKind> {
        if binding.jkt.is_none() {
            return Err(RejectionKind::InvalidDpopProof(InvalidDpopProof::Unbound));
        }
        if binding.unknown {
            return Err(RejectionKind::InvalidDpopToken(
                InvalidToken::SenderConstrained,
            ));
        }
        binding
            .check_certificate(certificate)
            .map_err(RejectionKind::InvalidDpopToken)
    }

    /// Steps 1–2: size and syntax, then the cache (unless `lookup` says what it holds); a
    /// miss is verified in full and cached. The token's binding comes back with it, for the
    /// caller to check against the scheme, and whether the cache answered (the caller
    /// counts the verification once everything passed).
    async fn verify_token(
        &self,
        token: &[u8],
        source: Source,
        lookup: Option<Lookup>,
    ) -> Result<(Principal, Binding, bool), RejectionKind> {
        let c = &self.inner.config.inner;
        if token.len() > c.max_token_bytes {
            if let Source::Header = source {
                // A malformed header is 400 whatever its size.
                check_b64token(token).map_err(RejectionKind::InvalidRequest)?;
            }
            return Err(RejectionKind::InvalidToken(InvalidToken::TooLarge));
        }
        let cached = self.inner.cache.as_ref().map(|cache| {
            let mut lookup = lookup.unwrap_or_else(|| self.lookup(cache, token));
            // A lookup handed in is for this very token; one that is not is no answer.
            lookup.entry = lookup.entry.filter(|entry| entry.is_for(token));
            (cache, lookup)
        });
        if let Some((cache, Lookup { entry: Some(entry) })) = &cached {
            if self.still_valid(entry).await {
                let binding = entry.verified.binding.clone();
                return Ok((entry.principal.clone(), binding, true));
            }
            cache.remove(token);
        }
        let token = match source {
            Source::Header => check_b64token(token).map_err(RejectionKind::InvalidRequest)?,
            Source::Caller => std::str::from_utf8(token)
                .map_err(|_| RejectionKind::InvalidToken(InvalidToken::Malformed))?,
        };
        let (principal, verified) = self.verify_uncached(token).await?;
        let binding = verified.binding.clone();
        if let Some((cache, _)) = cached {
            let bytes = token.as_bytes();
            let now = unix_seconds(c.clock.now());
            let entry = Entry::from_verified(bytes, principal.clone(), verified, now);
            cache.insert(bytes, entry);
            cache.sweep_if_due(now);
        }
        Ok((principal, binding, false))
    }

    /// Whether a cached verification still holds: its time claims, and its key still in the
    /// issuer's set (which also keeps key refreshes running for cached traffic).
    async fn still_valid(&self, entry: &Entry) -> bool {
        if let Some(valid) = self.valid_now(entry) {
            return valid;
        }
        let v = &entry.verified;
        let kid = v.kid.as_deref();
        match self.inner.keys.keys_for(v.issuer, kid, v.alg).await {
            Ok(set) => set
                .candidates(kid, v.alg)
                .any(|k| k.fingerprint == v.key_fingerprint),
            Err(_) => false,
        }
    }

    /// [`still_valid`](Self::still_valid) on what is in memory: `None` when only the key
    /// store can tell, after a fetch.
    fn valid_now(&self, entry: &Entry) -> Option<bool> {
        let c = &self.inner.config.inner;
        let now = unix_seconds(c.clock.now());
        if let Some(cache) = &self.inner.cache {
            cache.sweep_if_due(now);
        }
        if !entry.in_time(now, c.leeway_secs) {
            return Some(false);
        }
        let keys = &self.inner.keys;
        let v = &entry.verified;
        if v.alg.is_hmac() {
            return Some(
                keys.hmac_key(v.issuer)
                    .is_some_and(|k| k.fingerprint == v.key_fingerprint),
            );
        }
        keys.still_holds(v.issuer, v.kid.as_deref(), v.alg, &v.key_fingerprint)
    }

    /// Steps 3–7, for a token the cache does not hold.
    async fn verify_uncached(&self, token: &str) -> Result<(Principal, Verified), RejectionKind> {
        let c = &self.inner.config.inner;
        let jws = verify::parse(token, c.max_token_bytes).map_err(RejectionKind::InvalidToken)?;
        let (alg, idx, issuer) = self.select(&jws).map_err(RejectionKind::InvalidToken)?;
        let key_fingerprint = self.check_signature(&jws, alg, idx).await?;
        let kid = jws.header.kid;
        let (principal, validity, binding) = self
            .accept(jws.claims, issuer)
            .map_err(RejectionKind::InvalidToken)?;
        let verified = Verified {
            issuer: idx,
            kid,
            alg,
            key_fingerprint,
            validity,
            binding,
        };
        Ok((principal, verified))
    }

    /// Steps 3–4: the header's `alg` and `typ`, and the issuer the unverified `iss` names
    /// (it only selects which issuer's keys to try).
    fn select(&self, jws: &Jws<'_>) -> Result<(Algorithm, usize, &Issuer), InvalidToken> {
        let c = &self.inner.config.inner;
        let alg = jws.header.alg.ok_or(InvalidToken::DisallowedAlgorithm)?;
        verify::check_typ(jws.header.typ.as_deref(), c.typ_policy)?;
        let idx = match jws.claims.str("iss") {
            Some(iss) => match self.inner.keys.issuer_index(&iss) {
                Some(idx) => Some(idx),
                // Not an exact issuer: a tenant template, checked against the token's `tid`
                // before any key is looked up.
                None => crate::config::template_issuer(
                    &c.issuers,
                    &iss,
                    jws.claims.str("tid").as_deref(),
                )?,
            },
            None => None,
        }
        .ok_or(InvalidToken::UnknownIssuer)?;
        let issuer = c.issuers.get(idx).ok_or(InvalidToken::UnknownIssuer)?;
        Ok((alg, idx, issuer))
    }

    /// Step 5, the signature: the fingerprint of the key that verified it, for the cache.
    /// The only step that can wait on the network, and the only one that can answer 503.
    async fn check_signature(
        &self,
        jws: &Jws<'_>,
        alg: Algorithm,
        idx: usize,
    ) -> Result<[u8; 32], RejectionKind> {
        let jwks = &self.inner.keys;
        if alg.is_hmac() {
            let key = jwks.hmac_key(idx).ok_or(RejectionKind::InvalidToken(
                InvalidToken::DisallowedAlgorithm,
            ))?;
            return verify::check_signature(jws, &key.material, alg)
                .map(|()| key.fingerprint)
                .map_err(RejectionKind::InvalidToken);
        }
        if !self.inner.config.inner.algorithms.contains(&alg) {
            return Err(RejectionKind::InvalidToken(
                InvalidToken::DisallowedAlgorithm,
            ));
        }
        let kid = jws.header.kid.as_deref();
        let set = jwks.keys_for(idx, kid, alg).await.map_err(|e| match e {
            LookupError::Unavailable => RejectionKind::Unavailable,
            LookupError::NoKey => RejectionKind::InvalidToken(InvalidToken::UnknownKey),
        })?;
        let mut outcome = Err(InvalidToken::UnknownKey);
        // A key whose JWK `issuer` member names another issuer (or tenant) is not used.
        let iss = jws.claims.str("iss");
        let iss = iss.as_deref().unwrap_or_default();
        let tid = jws.claims.str("tid");
        let tid = tid.as_deref();
        for key in set.candidates(kid, alg).filter(|k| k.serves(iss, tid)) {
            outcome = verify::check_signature(jws, &key.material, alg).map(|()| key.fingerprint);
            if outcome.is_ok() {
                break;
            }
        }
        outcome.map_err(RejectionKind::InvalidToken)
    }

    /// Steps 5–7 after the signature: the registered claims, the access-token checks, the
    /// classification and the principal.
    fn accept(
        &self,
        claims: RawClaims,
        issuer: &Issuer,
    ) -> Result<(Principal, Validity, Binding), InvalidToken> {
        let c = &self.inner.config.inner;
        // A template issuer's tokens are checked against their own `iss`, which `select`
        // already found to be the template filled with an allowed `tid`.
        let resolved;
        let issuer_url = if issuer.template.is_some() {
            resolved = claims.str("iss").unwrap_or_default().into_owned();
            resolved.as_str()
        } else {
            issuer.url.as_str()
        };
        let checks = ClaimChecks {
            issuer: issuer_url,
            audiences: issuer.audiences_or(&c.audiences),
            leeway_secs: c.leeway_secs,
            now_secs: unix_seconds(c.clock.now()),
            client_id_as_audience: issuer.client_id_as_audience,
        };
        let validity = verify::check_claims(&claims, checks)?;
        verify::check_access_token(&claims, issuer.accept_id_tokens)?;
        let binding = Binding::from_claims(&claims)?;
        let classification = c.classifier.classify_for_issuer(
            issuer.rules,
            issuer.machine_claim.as_ref(),
            &claims,
        )?;
        let principal = Principal::from_claims(
            issuer_url,
            claims,
            validity.expires_at,
            classification,
            issuer.roles_claim.as_deref().unwrap_or(&c.roles_claim),
        )?
        .rendered_by(&self.inner.context.renderer);
        Ok((principal, validity, binding))
    }
}
