//! Step 8: what each scheme requires of the sender. A `Bearer` token bound to nothing
//! passes; one bound to a client certificate (RFC 8705) passes only over that certificate;
//! one bound to a key (`cnf.jkt`) never passes as `Bearer`. A `DPoP` token must be bound to
//! a key, and its proof is checked in full on every request, cached token or not.

use super::credentials::Scheme;
use super::{AuthRequest, Authenticator};
use crate::binding::{Binding, ClientCertificate};
use crate::dpop::{InvalidDpopProof, ProofRequest};
use crate::principal::Principal;
use crate::rejection::{InvalidToken, RejectionKind};

impl Authenticator {
    /// Whether the sender may use this verified token with `scheme`: `request` is `None`
    /// when the token came without one ([`Authenticator::authenticate`]), and then a
    /// `DPoP` proof cannot be checked.
    pub(super) async fn check_sender(
        &self,
        scheme: Scheme,
        token: &[u8],
        principal: &Principal,
        binding: &Binding,
        request: Option<AuthRequest<'_>>,
    ) -> Result<(), RejectionKind> {
        let certificate = request.and_then(|r| r.client_certificate);
        let Scheme::Dpop = scheme else {
            return binding
                .check_bearer(certificate)
                .map_err(RejectionKind::InvalidToken);
        };
        let c = &self.inner.config.inner;
        let (Some(dpop), Some(request)) = (c.dpop.as_ref(), request) else {
            return Err(RejectionKind::InvalidDpopProof(
                InvalidDpopProof::NoRequestContext,
            ));
        };
        Self::check_dpop_binding(binding, certificate)?;
        let jkt = binding.jkt.as_deref().unwrap_or_default();
        // The token passed the b64token check: ASCII.
        let access_token = std::str::from_utf8(token)
            .map_err(|_| RejectionKind::InvalidDpopToken(InvalidToken::Malformed))?;
        let proof = ProofRequest {
            method: request.method.as_str(),
            path: request.uri.path(),
            headers: request.headers,
            access_token,
            jkt,
            principal: principal.id(),
        };
        // Boxed: the proof's checks (a replay store that may be Redis) would make every
        // request's future, bearer ones too, that much larger to move.
        Box::pin(dpop.check(&proof, c.clock.now(), c.leeway_secs)).await
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
}
