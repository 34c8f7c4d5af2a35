//! What both strategies do with claims they trust (a JWT's, verified locally, or an
//! introspection answer's members): what they are checked against, then the classification
//! and the principal, so that an opaque token is classified, and carries roles, scopes and
//! an actor, exactly as a JWT of the same issuer.

use super::Authenticator;
use crate::clock::unix_seconds;
use crate::config::Issuer;
use crate::principal::Principal;
use crate::rejection::InvalidToken;
use crate::verify::{ClaimChecks, RawClaims};

impl Authenticator {
    /// What `issuer`'s claims are checked against, now.
    pub(super) fn claim_checks<'a>(
        &'a self,
        issuer: &'a Issuer,
        issuer_url: &'a str,
    ) -> ClaimChecks<'a> {
        let c = &self.inner.config.inner;
        ClaimChecks {
            issuer: issuer_url,
            audiences: issuer.audiences_or(&c.audiences),
            leeway_secs: c.leeway_secs,
            now_secs: unix_seconds(c.clock.now()),
            client_id_as_audience: issuer.client_id_as_audience,
        }
    }

    /// The classification and the principal of checked claims.
    pub(super) fn principal(
        &self,
        claims: RawClaims,
        issuer: &Issuer,
        issuer_url: &str,
        expires_at: i64,
    ) -> Result<Principal, InvalidToken> {
        let c = &self.inner.config.inner;
        let classification = c.classifier.classify_for_issuer(
            issuer.rules,
            issuer.machine_claim.as_ref(),
            &claims,
        )?;
        Ok(Principal::from_claims(
            issuer_url,
            claims,
            expires_at,
            classification,
            issuer.roles_claim.as_deref().unwrap_or(&c.roles_claim),
        )?
        .rendered_by(&self.inner.context.renderer)
        .judged_by(&c.policy))
    }
}
