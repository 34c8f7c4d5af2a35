//! Steps 3–7 for a JWT verified locally: the header, the issuer its unverified `iss` selects,
//! the signature with that issuer's keys, the claims, the classification and the principal.
//! The only step here that can wait (on the key store) is the signature's.

use std::borrow::Cow;

use super::Authenticator;
use crate::alg::Algorithm;
use crate::binding::Binding;
use crate::config::{Issuer, IssuerId};
use crate::key_store::LookupError;
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

impl Authenticator {
    /// A JWT, verified with its issuer's keys: every check but the classification, which
    /// [`jwt_principal`](Self::jwt_principal) makes (after an enrichment, if any).
    pub(super) async fn verify_jwt(&self, token: &str) -> Result<LocalJwt, RejectionKind> {
        let c = &self.inner.config.inner;
        let jws = verify::parse_with(token, c.max_token_bytes, Some(&self.inner.headers))
            .map_err(RejectionKind::InvalidToken)?;
        // Step 3: the header.
        let alg = jws.header.alg.ok_or(RejectionKind::InvalidToken(
            InvalidToken::DisallowedAlgorithm,
        ))?;
        verify::check_typ(jws.header.typ.as_deref(), c.typ_policy)
            .map_err(RejectionKind::InvalidToken)?;
        // Step 4: the issuer, by the unverified `iss` (an unknown one causes no network I/O).
        let named = Named {
            iss: jws
                .claims
                .str("iss")
                .ok_or(RejectionKind::InvalidToken(InvalidToken::UnknownIssuer))?,
            tid: jws.claims.str("tid"),
        };
        let id = c
            .issuers
            .select(&named.iss, named.tid.as_deref())
            .map_err(RejectionKind::InvalidToken)?;
        let issuer = c
            .issuers
            .get(id)
            .ok_or(RejectionKind::InvalidToken(InvalidToken::UnknownIssuer))?;
        // Step 5: the signature.
        let key_fingerprint = self.check_signature(&jws, alg, id, &named).await?;
        // A template issuer's tokens are checked against their own `iss`, which `select`
        // found to be the template filled with an allowed `tid`.
        let template_iss = issuer.template.is_some().then(|| named.iss.into_owned());
        let issuer_url = template_iss.as_deref().unwrap_or(&issuer.url);
        // Steps 5–6: the claims.
        let (validity, binding) = self
            .check_jwt_claims(&jws.claims, issuer, issuer_url)
            .map_err(RejectionKind::InvalidToken)?;
        let verified = Verified {
            issuer: id,
            kid: jws.header.kid,
            alg,
            key_fingerprint,
            validity,
            binding,
        };
        Ok(LocalJwt {
            claims: jws.claims,
            verified,
            template_iss,
        })
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

    /// Step 5, the signature: the fingerprint of the key that verified it, for the cache.
    /// The only step that can wait on the network, and the only one that can answer 503.
    async fn check_signature(
        &self,
        jws: &Jws<'_>,
        alg: Algorithm,
        id: IssuerId,
        named: &Named<'_>,
    ) -> Result<[u8; 32], RejectionKind> {
        let keys = &self.inner.keys;
        let invalid = RejectionKind::InvalidToken;
        if alg.is_hmac() {
            let key = keys
                .hmac_key(id)
                .ok_or(invalid(InvalidToken::DisallowedAlgorithm))?;
            return verify::check_signature(jws, &key.material, alg)
                .map(|()| key.fingerprint)
                .map_err(invalid);
        }
        if !self.inner.config.inner.algorithms.contains(&alg) {
            return Err(invalid(InvalidToken::DisallowedAlgorithm));
        }
        let kid = jws.header.kid.as_deref();
        let set = keys.keys_for(id, kid, alg).await.map_err(|e| match e {
            LookupError::Unavailable => RejectionKind::Unavailable,
            LookupError::NoKey => invalid(InvalidToken::UnknownKey),
        })?;
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
        outcome.map_err(invalid)
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
