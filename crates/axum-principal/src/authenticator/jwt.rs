//! Steps 3–7 for a JWT verified locally: the header, the issuer its unverified `iss` selects,
//! the signature with that issuer's keys, the claims, the classification and the principal.
//! The only step here that can wait (on the key store) is the signature's.

use std::borrow::Cow;
use std::sync::Arc;

use super::Authenticator;
use crate::alg::Algorithm;
use crate::binding::Binding;
use crate::config::{Issuer, IssuerId};
use crate::key_store::{KeySet, LookupError};
use crate::principal::Principal;
use crate::rejection::{InvalidToken, RejectionKind};
use crate::token_cache::Verified;
use crate::verify::{self, ClaimRead, Jws, RawClaims};

/// The issuer a token names, read once from its unverified claims: `iss` selects the issuer
/// (with `tid` for a template), keys whose JWK `issuer` member names another are skipped,
/// and a template issuer's claims are checked against this very `iss`.
struct Named<'a> {
    iss: Cow<'a, str>,
    tid: Option<Cow<'a, str>>,
}

/// A JWT verified locally, before its principal is built: its checked claims, what the
/// verification used (for the verified-token cache) and its validity.
pub(super) struct LocalJwt {
    pub(super) claims: RawClaims,
    pub(super) verified: Verified,
    /// The `iss` a template issuer's claims were checked against (`None`: the issuer's URL).
    template_iss: Option<String>,
}

/// The keys a token names, when the store must wait for them.
pub(super) struct WantedKeys {
    id: IssuerId,
    kid: Option<String>,
    alg: Algorithm,
}

impl Authenticator {
    /// A JWT, verified with its issuer's keys: every check but the classification, which
    /// [`jwt_principal`](Self::jwt_principal) makes (after an enrichment, if any). Without
    /// waiting when the keys are at hand (nearly always); otherwise the wait for them is
    /// boxed, so that the futures of every request stay small (each layer of futures is
    /// moved when it starts).
    pub(super) async fn verify_jwt(&self, token: &str) -> Result<LocalJwt, RejectionKind> {
        // Not a `match` around the `.await`: its scrutinee (a whole verified token) would
        // live across it, in the future.
        let wanted = match self.verify_jwt_now(token) {
            Ok(verified) => return verified,
            Err(wanted) => wanted,
        };
        Box::pin(self.verify_jwt_waiting(token, wanted)).await
    }

    /// [`verify_jwt`](Self::verify_jwt) with the keys at hand; `Err` with the keys it needs
    /// when the store would have to wait for them.
    pub(super) fn verify_jwt_now(
        &self,
        token: &str,
    ) -> Result<Result<LocalJwt, RejectionKind>, WantedKeys> {
        let keys = &self.inner.keys;
        let mut wanted = None;
        let verified = self.verify_jwt_with(token, |id, kid, alg| {
            keys.keys_now(id, kid, alg).or_else(|| {
                wanted = Some(WantedKeys {
                    id,
                    kid: kid.map(str::to_owned),
                    alg,
                });
                None
            })
        });
        match (verified, wanted) {
            (Some(verified), _) => Ok(verified),
            (None, Some(wanted)) => Err(wanted),
            // Not reached: no answer means the keys were asked for and `wanted` set.
            (None, None) => Ok(Err(RejectionKind::Unavailable)),
        }
    }

    /// The token names keys the store must wait for: wait, then verify with them.
    async fn verify_jwt_waiting(
        &self,
        token: &str,
        wanted: WantedKeys,
    ) -> Result<LocalJwt, RejectionKind> {
        let set = self
            .inner
            .keys
            .keys_for(wanted.id, wanted.kid.as_deref(), wanted.alg)
            .await;
        self.verify_jwt_with(token, |_, _, _| Some(set))
            .unwrap_or(Err(RejectionKind::Unavailable))
    }

    /// Steps 3–6 with the key set `keys` gives for (issuer, `kid`, `alg`); `None` when it
    /// gives none (it would have to wait).
    fn verify_jwt_with(
        &self,
        token: &str,
        keys: impl FnOnce(IssuerId, Option<&str>, Algorithm) -> Option<Result<Arc<KeySet>, LookupError>>,
    ) -> Option<Result<LocalJwt, RejectionKind>> {
        let c = &self.inner.config.inner;
        let invalid = |reason| Some(Err(RejectionKind::InvalidToken(reason)));
        let jws = match verify::parse_with(token, c.max_token_bytes, Some(&self.inner.headers)) {
            Ok(jws) => jws,
            Err(reason) => return invalid(reason),
        };
        // Step 3: the header.
        let Some(alg) = jws.header.alg else {
            return invalid(InvalidToken::DisallowedAlgorithm);
        };
        if let Err(reason) = verify::check_typ(jws.header.typ.as_deref(), c.typ_policy) {
            return invalid(reason);
        }
        // Step 4: the issuer, by the unverified `iss` (an unknown one causes no network I/O).
        let Some(iss) = jws.claims.str("iss") else {
            return invalid(InvalidToken::UnknownIssuer);
        };
        let named = Named {
            iss,
            tid: jws.claims.str("tid"),
        };
        let id = match c.issuers.select(&named.iss, named.tid.as_deref()) {
            Ok(id) => id,
            Err(reason) => return invalid(reason),
        };
        let Some(issuer) = c.issuers.get(id) else {
            return invalid(InvalidToken::UnknownIssuer);
        };
        // Step 5: the signature.
        let key_fingerprint = match self.signature_with(&jws, alg, id, &named, keys)? {
            Ok(fingerprint) => fingerprint,
            Err(refusal) => return Some(Err(refusal)),
        };
        // A template issuer's tokens are checked against their own `iss`, which `select`
        // found to be the template filled with an allowed `tid`.
        let template_iss = issuer.template.is_some().then(|| named.iss.into_owned());
        let issuer_url = template_iss.as_deref().unwrap_or(&issuer.url);
        // Steps 5–6: the claims.
        let (validity, binding) = match self.check_jwt_claims(&jws.claims, issuer, issuer_url) {
            Ok(checked) => checked,
            Err(reason) => return invalid(reason),
        };
        let verified = Verified {
            issuer: id,
            kid: jws.header.kid,
            alg,
            key_fingerprint,
            validity,
            binding,
        };
        Some(Ok(LocalJwt {
            claims: jws.claims,
            verified,
            template_iss,
        }))
    }

    /// Step 7: the classification and the principal of a JWT verified locally.
    pub(super) fn jwt_principal(
        &self,
        local: LocalJwt,
    ) -> Result<(Principal, Verified), RejectionKind> {
        let c = &self.inner.config.inner;
        let issuer = c
            .issuers
            .get(local.verified.issuer)
            .ok_or(RejectionKind::InvalidToken(InvalidToken::UnknownIssuer))?;
        let issuer_url = local.template_iss.as_deref().unwrap_or(&issuer.url);
        let expires_at = local.verified.validity.expires_at;
        let principal = self
            .principal(local.claims, issuer, issuer_url, expires_at)
            .map_err(RejectionKind::InvalidToken)?;
        Ok((principal, local.verified))
    }

    /// A JWS `issuer_url` signed (not an access token: a signed introspection answer),
    /// checked with that issuer's keys as its tokens are.
    pub(super) async fn check_signature_of(
        &self,
        jws: &Jws<'_>,
        alg: Algorithm,
        id: IssuerId,
        issuer_url: &str,
    ) -> Result<(), RejectionKind> {
        let named = Named {
            iss: Cow::Borrowed(issuer_url),
            tid: None,
        };
        self.check_signature(jws, alg, id, &named).await.map(|_| ())
    }

    /// Step 5, the signature, with the keys of the store (waiting for them if it must).
    async fn check_signature(
        &self,
        jws: &Jws<'_>,
        alg: Algorithm,
        id: IssuerId,
        named: &Named<'_>,
    ) -> Result<[u8; 32], RejectionKind> {
        let set = self
            .inner
            .keys
            .keys_for(id, jws.header.kid.as_deref(), alg)
            .await;
        self.signature_with(jws, alg, id, named, |_, _, _| Some(set))
            .unwrap_or(Err(RejectionKind::Unavailable))
    }

    /// Step 5, the signature: the fingerprint of the key that verified it, for the cache.
    /// `keys` gives the issuer's key set for the `kid` and `alg` (`None`: not without
    /// waiting, and so no answer here); an HMAC secret is the configuration's.
    fn signature_with(
        &self,
        jws: &Jws<'_>,
        alg: Algorithm,
        id: IssuerId,
        named: &Named<'_>,
        keys: impl FnOnce(IssuerId, Option<&str>, Algorithm) -> Option<Result<Arc<KeySet>, LookupError>>,
    ) -> Option<Result<[u8; 32], RejectionKind>> {
        let invalid = RejectionKind::InvalidToken;
        if alg.is_hmac() {
            let Some(key) = self.inner.keys.hmac_key(id) else {
                return Some(Err(invalid(InvalidToken::DisallowedAlgorithm)));
            };
            return Some(
                verify::check_signature(jws, &key.material, alg)
                    .map(|()| key.fingerprint)
                    .map_err(invalid),
            );
        }
        if !self.inner.config.inner.algorithms.contains(&alg) {
            return Some(Err(invalid(InvalidToken::DisallowedAlgorithm)));
        }
        let kid = jws.header.kid.as_deref();
        let set = match keys(id, kid, alg)? {
            Ok(set) => set,
            Err(LookupError::Unavailable) => return Some(Err(RejectionKind::Unavailable)),
            Err(LookupError::NoKey) => return Some(Err(invalid(InvalidToken::UnknownKey))),
        };
        let mut outcome = Err(InvalidToken::UnknownKey);
        // A key whose JWK `issuer` member names another issuer (or tenant) is not used.
        let tid = named.tid.as_deref();
        for key in set
            .candidates(kid, alg)
            .filter(|k| k.serves(&named.iss, tid))
        {
            outcome = verify::check_signature(jws, &key.material, alg).map(|()| key.fingerprint);
            if outcome.is_ok() {
                break;
            }
        }
        Some(outcome.map_err(invalid))
    }

    /// Steps 5–6 after the signature: the registered claims, the access-token checks and
    /// the binding.
    pub(super) fn check_jwt_claims(
        &self,
        claims: &RawClaims,
        issuer: &Issuer,
        issuer_url: &str,
    ) -> Result<(verify::Validity, Binding), InvalidToken> {
        let validity = verify::check_claims(claims, self.claim_checks(issuer, issuer_url))?;
        verify::check_access_token(claims, issuer.accept_id_tokens)?;
        let binding = Binding::from_claims(claims)?;
        Ok((validity, binding))
    }
}
