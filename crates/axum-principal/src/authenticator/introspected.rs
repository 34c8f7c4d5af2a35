//! Step 3 for an opaque token: introspection (RFC 7662) at the one issuer configured for
//! it; and for a JWT of an issuer in "enrich" mode, after its local verification. The answer cache first (when on), else the call for this token (shared by every
//! request presenting it, on its own task), through the issuer's breaker; then the answer's
//! checks and the same classification and principal as a JWT's. Answers never go into the
//! verified-token cache, whose entries are re-checked against a key set.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::Authenticator;
use crate::clock::unix_seconds;
use crate::config::IssuerId;
use crate::introspect::{self, Hit, Introspected, IssuerState, Outcome, TokenBytes};
use crate::rejection::{IntrospectionFailure, InvalidToken, RejectionKind};

impl Authenticator {
    /// Whether `token` goes to introspection: it is not a JWS and an issuer introspects.
    pub(super) fn introspects(&self, token: &str) -> bool {
        self.inner.introspection.is_some() && !crate::verify::is_jws(token)
    }

    /// An opaque token's principal and binding, and whether the answer cache gave it.
    pub(super) async fn introspect(
        &self,
        token: &str,
    ) -> Result<(Introspected, bool), RejectionKind> {
        let unknown = RejectionKind::InvalidToken(InvalidToken::Malformed);
        let introspectors = self.inner.introspection.as_ref().ok_or(unknown.clone())?;
        // No issuer takes this token (only prefixed ones, and it has none of theirs).
        let state = introspectors.route(token).ok_or(unknown)?;
        self.ask(state, token).await
    }

    /// "Enrich" mode: the state of issuer `id` if its JWTs, verified locally, are completed
    /// by introspection.
    pub(super) fn enricher(&self, id: IssuerId) -> Option<&IssuerState> {
        self.inner.introspection.as_ref()?.enricher(id)
    }

    /// The answer for `token` at `state`'s issuer: the answer cache first (when on), else
    /// the call for this token, shared by every request presenting it.
    pub(super) async fn ask(
        &self,
        state: &IssuerState,
        token: &str,
    ) -> Result<(Introspected, bool), RejectionKind> {
        let now = unix_seconds(self.inner.config.inner.clock.now());
        if let Some(cache) = &state.cache {
            let hit = cache.get(token.as_bytes(), now);
            crate::observe::introspection_cache(hit.is_some());
            match hit {
                Some(Hit::Active(answer)) => return Ok((answer, true)),
                Some(Hit::Inactive) => {
                    return Err(RejectionKind::InvalidToken(InvalidToken::Inactive))
                }
                None => {}
            }
        }
        let id = state.id;
        let auth = self.clone();
        let outcome = state
            .flights
            .run(token.as_bytes(), move |token: Arc<TokenBytes>| async move {
                auth.call_issuer(id, &token).await
            })
            .await;
        outcome.map(|answer| (answer, false))
    }

    /// The call itself, on its own task: the breaker, the endpoint, the exchange, the
    /// checks; an accepted answer is cached before the call leaves the flight map.
    async fn call_issuer(&self, id: IssuerId, token: &TokenBytes) -> Outcome {
        let c = &self.inner.config.inner;
        let state = self
            .inner
            .introspection
            .as_ref()
            .and_then(|i| i.get(id))
            .ok_or(RejectionKind::InvalidToken(InvalidToken::Malformed))?;
        let issuer = c
            .issuers
            .get(id)
            .ok_or(RejectionKind::InvalidToken(InvalidToken::UnknownIssuer))?;
        let millis = || {
            c.clock
                .now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        };
        if !state.breaker.admit(millis()) {
            let failure = IntrospectionFailure::BreakerOpen;
            crate::observe::introspection(&issuer.url, failure.reason(), None);
            return Err(RejectionKind::IntrospectionUnavailable(failure));
        }
        // The bytes passed the b64token check or came as `&str`: UTF-8.
        let token_text = std::str::from_utf8(token.as_bytes())
            .map_err(|_| RejectionKind::InvalidToken(InvalidToken::Malformed))?;
        let started = std::time::Instant::now();
        let answered = self.exchange(state, &issuer.url, token_text).await;
        let elapsed = Some(started.elapsed());
        let claims = match answered {
            Ok(claims) => {
                state.breaker.succeeded();
                claims
            }
            Err(failure) => {
                state.breaker.failed(millis());
                if failure == IntrospectionFailure::CredentialsRefused {
                    tracing::error!(
                        issuer = %issuer.url,
                        client_auth = state.settings.auth.name(),
                        "the introspection endpoint refused this service's client credentials: \
                         a configuration error of this service (check the client id and its \
                         secret or key, and the method registered for it at the issuer)"
                    );
                }
                crate::observe::introspection(&issuer.url, failure.reason(), elapsed);
                return Err(RejectionKind::IntrospectionUnavailable(failure));
            }
        };
        let accepted = if state.settings.enrich {
            self.enrich_answer(claims, issuer, token_text)
        } else {
            self.accept_answer(claims, issuer)
        };
        let result = match &accepted {
            Ok(_) => "active",
            Err(RejectionKind::InvalidToken(reason)) => reason.reason(),
            Err(_) => "refused",
        };
        crate::observe::introspection(&issuer.url, result, elapsed);
        if let Some(cache) = &state.cache {
            let now = unix_seconds(c.clock.now());
            match &accepted {
                Ok(answer) => cache.insert(token.as_bytes(), answer, now),
                Err(RejectionKind::InvalidToken(InvalidToken::Inactive)) => {
                    cache.insert_inactive(token.as_bytes(), now);
                }
                Err(_) => {}
            }
        }
        accepted
    }

    /// The endpoint (found once) and the exchange.
    async fn exchange(
        &self,
        state: &IssuerState,
        issuer_url: &str,
        token: &str,
    ) -> Result<crate::verify::RawClaims, IntrospectionFailure> {
        let c = &self.inner.config.inner;
        let max_bytes = c.keys.max_response_bytes;
        let endpoint = state.endpoint.get(&c.http, issuer_url, max_bytes).await?;
        let started = unix_seconds(c.clock.now());
        let call = introspect::Call {
            http: &c.http,
            endpoint: &endpoint,
            settings: &state.settings,
            issuer: issuer_url,
            now: started,
            max_bytes,
        };
        match introspect::introspect(call, token).await? {
            introspect::Reply::Json(_) if state.settings.jwt_response => {
                Err(IntrospectionFailure::UnverifiedResponse)
            }
            introspect::Reply::Json(claims) => Ok(*claims),
            introspect::Reply::Jwt(jwt) => {
                // Signed during this call, give or take the clock leeway.
                let leeway = c.leeway_secs;
                let fresh = started.saturating_sub(leeway)
                    ..=unix_seconds(c.clock.now()).saturating_add(leeway);
                let answer = self
                    .verify_jwt_answer(state, issuer_url, &jwt, max_bytes, fresh)
                    .await;
                answer.ok_or(IntrospectionFailure::UnverifiedResponse)
            }
        }
    }

    /// A signed answer (RFC 9701), verified with the issuer's keys: its
    /// `token_introspection` member, or `None` if anything about it does not hold.
    async fn verify_jwt_answer(
        &self,
        state: &IssuerState,
        issuer_url: &str,
        jwt: &str,
        max_bytes: usize,
        fresh: std::ops::RangeInclusive<i64>,
    ) -> Option<crate::verify::RawClaims> {
        let jws = crate::verify::parse(jwt, max_bytes).ok()?;
        let alg = introspect::jwt_answer::check_header(&jws).ok()?;
        self.check_signature_of(&jws, alg, state.id, issuer_url)
            .await
            .ok()?;
        let client_id = &state.settings.client_id;
        introspect::check_jwt_answer(&jws.claims, issuer_url, client_id, fresh).ok()
    }

    /// An answer's checks, then its members as the token's claims.
    fn accept_answer(
        &self,
        claims: crate::verify::RawClaims,
        issuer: &crate::config::Issuer,
    ) -> Outcome {
        let invalid = RejectionKind::InvalidToken;
        let checks = self.claim_checks(issuer, &issuer.url);
        let checked =
            introspect::check(&claims, checks, issuer.accept_id_tokens).map_err(invalid)?;
        self.introspected(claims, issuer, checked)
    }

    /// "Enrich" mode: the JWT `token` (verified locally by every request that waits for
    /// this call) completed by the answer, then checked and classified as a JWT.
    fn enrich_answer(
        &self,
        answer: crate::verify::RawClaims,
        issuer: &crate::config::Issuer,
        token: &str,
    ) -> Outcome {
        let invalid = RejectionKind::InvalidToken;
        let jws = crate::verify::parse(token, self.inner.config.inner.max_token_bytes)
            .map_err(invalid)?;
        let claims = introspect::merge(jws.claims, answer, &issuer.url).map_err(invalid)?;
        let checked = self
            .check_jwt_claims(&claims, issuer, &issuer.url)
            .map_err(invalid)?;
        self.introspected(claims, issuer, checked)
    }

    /// Checked claims' principal, as an introspection result.
    fn introspected(
        &self,
        claims: crate::verify::RawClaims,
        issuer: &crate::config::Issuer,
        (validity, binding): (crate::verify::Validity, crate::binding::Binding),
    ) -> Outcome {
        let principal = self
            .principal(claims, issuer, &issuer.url, validity.expires_at)
            .map_err(RejectionKind::InvalidToken)?;
        Ok(Introspected {
            principal,
            binding,
            expires_at: validity.expires_at,
        })
    }
}
