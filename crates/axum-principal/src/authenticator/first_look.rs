//! The layer's first look at a request, which never waits: a `Bearer` token the
//! verified-token cache holds, or a new one whose issuer's keys are at hand (nearly every
//! request), is decided here, in the layer's `call`, with no future of its own. Anything that
//! may wait (a key fetch, introspection, DPoP's proof checks, the cache's re-check against a
//! key set being refreshed) goes to [`finish`](Authenticator::finish) as [`Pending`], which
//! decides (and refuses) exactly as the full pipeline does.

use http::HeaderMap;

use super::cached::Lookup;
use super::credentials::Scheme;
use super::{admitted, Authenticator, Pending, Source};
use crate::binding::ClientCertificate;
use crate::principal::Principal;
use crate::rejection::{AuthRejection, InvalidToken, RejectionKind};

/// What the first look decided.
pub(crate) enum FirstLook {
    /// Let through with this principal.
    Admitted(Principal),
    /// Refused.
    Refused(AuthRejection),
    /// Not decided without waiting: for [`Authenticator::finish`].
    Pending(Pending),
}

/// What the first look can do with a request's credentials.
enum Route {
    /// The cache holds the token: re-checked on what is in memory.
    Cached,
    /// A new `Bearer` token, verified now if its keys are at hand.
    Fresh,
    /// Anything else.
    Wait,
}

impl Authenticator {
    /// The first look (module docs).
    pub(crate) fn first_look(
        &self,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> FirstLook {
        let mut pending = self.read(headers);
        let c = &self.inner.config.inner;
        let route = match (&pending.credentials, &pending.lookup) {
            (Ok(Some(presented)), _)
                if presented.scheme != Scheme::Bearer
                    || c.dpop.as_ref().is_some_and(|d| d.required) =>
            {
                Route::Wait
            }
            (Ok(Some(_)), Lookup::Found(_)) => Route::Cached,
            // Introspection may be needed for any token: the full pipeline decides.
            (Ok(Some(_)), _) if self.inner.introspection.is_none() => Route::Fresh,
            _ => Route::Wait,
        };
        // The client certificate is looked for only when a token is bound to one.
        let certificate = || extensions.get::<ClientCertificate>();
        match route {
            Route::Wait => FirstLook::Pending(pending),
            Route::Cached => {
                let (Ok(Some(presented)), Lookup::Found(entry)) =
                    (&pending.credentials, &pending.lookup)
                else {
                    return FirstLook::Pending(pending);
                };
                let binding = &entry.verified.binding;
                let unbound_or_matching =
                    || !binding.bound || binding.check_bearer(certificate()).is_ok();
                match self.valid_now(entry) {
                    Some(true) if unbound_or_matching() => {
                        FirstLook::Admitted(admitted(entry.principal.clone(), true))
                    }
                    Some(false) => {
                        self.forget(presented.token());
                        pending.lookup = Lookup::Miss;
                        FirstLook::Pending(pending)
                    }
                    _ => FirstLook::Pending(pending),
                }
            }
            Route::Fresh => {
                let Ok(Some(presented)) = &pending.credentials else {
                    return FirstLook::Pending(pending);
                };
                let Some(outcome) = self.verify_token_now(presented.token()) else {
                    return FirstLook::Pending(pending);
                };
                let outcome = outcome.and_then(|(principal, binding)| {
                    binding
                        .check_bearer(certificate())
                        .map_err(RejectionKind::InvalidToken)?;
                    Ok(principal)
                });
                match outcome {
                    Ok(principal) => FirstLook::Admitted(admitted(principal, false)),
                    Err(kind) => FirstLook::Refused(self.reject(kind)),
                }
            }
        }
    }

    /// [`verify_token`](Self::verify_token) for a new header token without introspection,
    /// when the issuer's keys are at hand; `None` when it would wait for them.
    fn verify_token_now(
        &self,
        token: &[u8],
    ) -> Option<Result<(Principal, crate::binding::Binding), RejectionKind>> {
        let deferred = true;
        let text = match self.token_text(token, Source::Header, deferred) {
            Ok(text) => text,
            Err(kind) => return Some(Err(kind)),
        };
        let local = if text.len() > self.inner.config.inner.max_token_bytes {
            Err(RejectionKind::InvalidToken(InvalidToken::TooLarge))
        } else {
            // `Err`: the keys it names must be fetched; the full pipeline waits for them.
            self.verify_jwt_now(text).ok()?
        };
        let fresh = local.and_then(|local| self.jwt_principal(local));
        Some(
            self.settle(fresh, token, deferred)
                .map(|(principal, verified)| self.keep(token, principal, verified)),
        )
    }
}
