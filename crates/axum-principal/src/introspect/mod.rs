//! Opaque tokens, verified by asking their issuer (RFC 7662 token introspection): the
//! second verification strategy beside local JWT verification. The strategy itself (the
//! order of the steps) is `authenticator/introspected.rs`; the machinery is here, one job
//! per file:
//!
//! - `endpoint`: where the endpoint is (configured, or found by discovery);
//! - `call`: the HTTP exchange, bounded in time and size;
//! - `jwt_answer`: what a signed answer (RFC 9701) must say, its signature aside;
//! - `answer`: what an answer must say before its members count as claims;
//! - `enrich`: how an answer completes a JWT verified locally ("enrich" mode);
//! - `breaker`: no calls while an issuer keeps failing;
//! - `cache` and `flight`: answers reused, and calls shared, per token;
//! - `token`: a token's bytes as they are kept (wiped, never printed).
//!
//! Routing: only a token that is not a JWS comes here (`verify::is_jws`), and it goes to
//! the one issuer configured for opaque tokens (by `Introspection::token_prefix` when
//! there are several; `build()` refuses an ambiguous set-up). A JWS whose local
//! verification fails is never introspected, so a client-chosen `kid` causes no call. An
//! issuer in "enrich" mode takes no opaque tokens: its JWTs, once verified locally, are
//! introspected for the claims they lack.

mod answer;
mod assertion;
mod breaker;
mod cache;
mod call;
mod endpoint;
mod enrich;
mod flight;
pub(crate) mod jwt_answer;
mod token;

use std::sync::Arc;

pub(crate) use self::answer::check;
use self::breaker::Breaker;
pub(crate) use self::cache::{AnswerCache, Hit};
pub(crate) use self::call::{introspect, Call, Reply};
pub(crate) use self::endpoint::Endpoint;
pub(crate) use self::enrich::merge;
pub(crate) use self::flight::{Flights, Outcome};
pub(crate) use self::jwt_answer::check_jwt_answer;
pub(crate) use self::token::TokenBytes;
use crate::binding::Binding;
use crate::config::{AuthConfig, Introspection, IssuerId};
use crate::principal::Principal;

/// An accepted answer: the principal built from its members, what binds the token, and
/// its `exp` (an answer is never reused past it).
#[derive(Clone, Debug)]
pub(crate) struct Introspected {
    pub(crate) principal: Principal,
    pub(crate) binding: Binding,
    pub(crate) expires_at: i64,
}

/// One introspecting issuer's state in an authenticator.
pub(crate) struct IssuerState {
    pub(crate) id: IssuerId,
    pub(crate) settings: Introspection,
    pub(crate) endpoint: Endpoint,
    pub(crate) breaker: Breaker,
    pub(crate) cache: Option<Arc<AnswerCache>>,
    pub(crate) flights: Arc<Flights>,
}

/// Every introspecting issuer of an authenticator, and which opaque token goes where.
pub(crate) struct Introspectors {
    issuers: Vec<IssuerState>,
}

impl Introspectors {
    /// The state for `config`'s introspecting issuers; `None` when it has none.
    pub(crate) fn new(config: &AuthConfig) -> Option<Self> {
        let issuers: Vec<IssuerState> = config
            .inner
            .issuers
            .iter()
            .filter_map(|(id, issuer)| {
                let settings = issuer.introspection.clone()?;
                let ttl = i64::try_from(settings.cache_ttl.as_secs()).unwrap_or(i64::MAX);
                let inactive_ttl =
                    i64::try_from(settings.inactive_ttl.as_secs()).unwrap_or(i64::MAX);
                let cooldown_ms =
                    u64::try_from(settings.breaker_cooldown.as_millis()).unwrap_or(u64::MAX);
                Some(IssuerState {
                    id,
                    endpoint: Endpoint::new(issuer.introspection_endpoint.clone()),
                    breaker: Breaker::new(settings.breaker_threshold, cooldown_ms),
                    cache: (ttl > 0 || inactive_ttl > 0).then(|| {
                        Arc::new(AnswerCache::new(ttl, inactive_ttl, settings.cache_limits))
                    }),
                    flights: Arc::new(Flights::new(settings.max_calls)),
                    settings,
                })
            })
            .collect();
        (!issuers.is_empty()).then_some(Self { issuers })
    }

    /// The issuer an opaque token goes to: the one whose prefix it starts with, else the
    /// one without a prefix (`build()` made sure there is at most one of each). Enriching
    /// issuers take none.
    pub(crate) fn route(&self, token: &str) -> Option<&IssuerState> {
        let opaque = || self.issuers.iter().filter(|s| !s.settings.enrich);
        let prefixed = opaque().find(|s| {
            s.settings
                .token_prefix
                .as_deref()
                .is_some_and(|p| token.starts_with(p))
        });
        prefixed.or_else(|| opaque().find(|s| s.settings.token_prefix.is_none()))
    }

    /// The state of issuer `id` if it enriches its JWTs.
    pub(crate) fn enricher(&self, id: IssuerId) -> Option<&IssuerState> {
        self.get(id).filter(|s| s.settings.enrich)
    }

    /// The state of issuer `id`, if it introspects.
    pub(crate) fn get(&self, id: IssuerId) -> Option<&IssuerState> {
        self.issuers.iter().find(|s| s.id == id)
    }
}
